from tracer1.actions import Answer, Box, Click, Done, parse_plan
from tracer1.data.windows import windows
from tracer1.trajectory import Episode, Observation, Step


def episode(n):
    steps = tuple(
        Step(i, Observation(text=f"s{i}"), Click(i * 10, i * 10, box=Box(0, 0, 5 + i, 5 + i)))
        for i in range(n - 1)
    ) + (Step(n - 1, Observation(text="end"), Answer("x")),)
    return Episode("e", "s", "f", 0, "train", "Do it.", steps, success=True)


def test_one_window_per_step_with_padding_and_history():
    ws = windows(episode(4), horizon=3, history=2)
    assert [w.step for w in ws] == [0, 1, 2, 3]
    assert ws[0].reference == (Click(0, 0), Click(10, 10), Click(20, 20))
    assert ws[3].reference == (Answer("x"), Done(), Done())
    assert ws[3].history == (Click(10, 10), Click(20, 20))
    assert ws[0].history == ()


def test_record_is_a_parseable_reference_with_boxes():
    rec = windows(episode(3), horizon=4, history=1)[1].to_record()
    assert "Do it." in rec["prompt"] and "s1" in rec["prompt"]
    parsed = parse_plan(rec["reference"])
    assert parsed.ok and len(parsed.actions) == 4
    assert rec["reference_boxes"] == [[0, 0, 6, 6], None, None, None]
