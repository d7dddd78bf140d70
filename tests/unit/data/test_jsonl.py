import json

import pytest

from tracer1.actions import Answer, Box, Click, Done, Tool, Type
from tracer1.data.jsonl import (
    DataFileError,
    iter_episodes,
    read_episodes,
    read_split_dir,
    write_episodes,
)
from tracer1.trajectory import Element, Episode, Observation, Step, episode_to_json

BOX = Box(10, 20, 90, 40)


def make_episode(i: int = 0, split: str = "train") -> Episode:
    page = Observation(text="login page", elements=(Element("e1", "input", "user", BOX),))
    return Episode(
        episode_id=f"gui/login/{i}", suite="gui", family="login", seed=i, split=split,
        instruction="Log in as alice.",
        steps=(
            Step(0, page, Click(50, 30, target="user", box=BOX), {"point": [50, 30]}),
            Step(1, page, Type("alice", target="user", box=BOX)),
            Step(2, Observation(text="ok"), Tool.of("calculator", {"expression": "1+1"})),
            Step(3, Observation(text="2"), Answer("2"), reward=1.0),
            Step(4, Observation(), Done()),
        ),
        success=True,
        meta={"source": "test"},
    )


def write_lines(path, lines) -> None:
    """Write raw lines (dicts become compact JSON), so tests control every byte."""
    text = "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")


def record(i: int = 0) -> dict:
    return episode_to_json(make_episode(i))


def test_round_trip_keeps_everything(tmp_path):
    episodes = [make_episode(i) for i in range(3)]
    path = tmp_path / "sub" / "train.jsonl"
    assert write_episodes(path, episodes) == 3
    back = read_episodes(path)
    assert back == episodes
    # Boxes, `executed` and `meta` are excluded from equality: compare the JSON form too.
    assert [episode_to_json(e) for e in back] == [episode_to_json(e) for e in episodes]
    assert back[0].steps[0].action.box == BOX
    assert sorted(p.name for p in path.parent.iterdir()) == ["train.jsonl"]  # no temp leftovers


def test_blank_lines_are_skipped_and_lines_counted(tmp_path):
    path = tmp_path / "train.jsonl"
    write_lines(path, ["", record(0), "   ", record(1), ""])
    assert [(line, ep.seed) for line, ep in iter_episodes(path)] == [(2, 0), (4, 1)]


def test_empty_file_reads_as_no_episodes(tmp_path):
    path = tmp_path / "val.jsonl"
    path.write_text("")
    assert read_episodes(path) == []


def _missing_instruction(r):
    r.pop("instruction")


def _string_seed(r):
    r["seed"] = "3"


def _bool_index(r):
    r["steps"][1]["index"] = True


def _short_box(r):
    r["steps"][0]["target_box"] = [1, 2, 3]


def _box_on_answer(r):
    r["steps"][3]["target_box"] = [0, 0, 5, 5]


def _bad_element_box(r):
    r["steps"][0]["observation"]["elements"][0]["box"] = [0, 0, "9", 9]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (_missing_instruction, "instruction: missing required field"),
        (_string_seed, "seed: expected integer, got str"),
        (_bool_index, "steps[1].index: expected integer, got bool"),
        (_short_box,
         "steps[0].target_box: expected [left, top, right, bottom] integers, got [1, 2, 3]"),
        (_box_on_answer, "steps[3].target_box: a answer() action cannot carry a target box"),
        (_bad_element_box, "steps[0].observation.elements[0].box: expected [left, top, right, "
                           "bottom] integers, got [0, 0, '9', 9]"),
    ],
)
def test_schema_problems_name_file_line_and_field(tmp_path, mutate, message):
    bad = record(2)
    mutate(bad)
    path = tmp_path / "train.jsonl"
    write_lines(path, [record(0), "", bad, record(3)])
    with pytest.raises(DataFileError) as err:
        read_episodes(path)
    assert str(err.value) == f"{path}:3: {message}"
    assert err.value.line == 3 and err.value.file == str(path)


def test_bad_json_names_the_column(tmp_path):
    path = tmp_path / "train.jsonl"
    write_lines(path, [record(0), '{"a": 1 "b": 2}'])
    with pytest.raises(DataFileError) as err:
        read_episodes(path)
    assert str(err.value) == f"{path}:2: <json>: Expecting ',' delimiter at column 9"


def test_truncated_last_line_is_an_error_not_a_short_file(tmp_path):
    path = tmp_path / "train.jsonl"
    write_lines(path, [record(0), json.dumps(record(1))[:40]])
    with pytest.raises(DataFileError, match=rf"^{path}:2: <json>: Unterminated string"):
        read_episodes(path)


def test_non_object_line(tmp_path):
    path = tmp_path / "train.jsonl"
    write_lines(path, ["[1, 2]"])
    with pytest.raises(DataFileError) as err:
        read_episodes(path)
    assert str(err.value) == f"{path}:1: <record>: expected an object, got list"


def test_unparseable_action_names_the_step(tmp_path):
    bad = record(1)
    bad["steps"][2]["action"] = "clik(x=1, y=2)"
    path = tmp_path / "train.jsonl"
    write_lines(path, [record(0), bad])
    with pytest.raises(DataFileError) as err:
        read_episodes(path)
    # The problem text is the action parser's; the location is ours.
    assert str(err.value).startswith(f"{path}:2: steps[2].action: ")
    assert err.value.field == "steps[2].action" and err.value.problem


def test_out_of_grid_click_is_refused_by_the_reader(tmp_path):
    bad = record(1)
    bad["steps"][0]["action"] = "click(x=1200, y=30)"
    path = tmp_path / "train.jsonl"
    write_lines(path, [bad])
    with pytest.raises(DataFileError) as err:
        read_episodes(path)
    assert str(err.value).startswith(f"{path}:1: steps[0].action: ")


def test_invalid_utf8_names_line_and_column(tmp_path):
    path = tmp_path / "train.jsonl"
    good = json.dumps(record(0)).encode()
    path.write_bytes(good + b"\n" + b'{"x": "caf\xff"}\n')
    with pytest.raises(DataFileError) as err:
        read_episodes(path)
    assert str(err.value) == f"{path}:2: <encoding>: invalid UTF-8 byte 0xff at column 11"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.jsonl"
    with pytest.raises(DataFileError) as err:
        read_episodes(path)
    assert str(err.value) == f"{path}: <file>: no such file"
    assert err.value.line is None


def test_read_split_dir_reads_every_split(tmp_path):
    for i, split in enumerate(("train", "val", "test")):
        write_episodes(tmp_path / f"{split}.jsonl", [make_episode(i, split)])
    splits = read_split_dir(tmp_path)
    assert list(splits) == ["train", "val", "test"]
    assert [eps[0].seed for eps in splits.values()] == [0, 1, 2]


def test_read_split_dir_requires_every_split_file(tmp_path):
    write_episodes(tmp_path / "train.jsonl", [make_episode(0)])
    write_episodes(tmp_path / "val.jsonl", [])
    with pytest.raises(DataFileError) as err:
        read_split_dir(tmp_path)
    assert str(err.value) == f"{tmp_path / 'test.jsonl'}: <file>: missing split file for 'test'"


def test_read_split_dir_custom_splits(tmp_path):
    write_episodes(tmp_path / "dev.jsonl", [make_episode(0, "dev")])
    assert list(read_split_dir(tmp_path, ("dev",))) == ["dev"]



@pytest.mark.parametrize("key, raw, message", [
    ("seed", "9" * 5000, "seed: an integer of 5000 digits does not fit in 64 bits"),
    ("seed", "-" + "1" * 25, "seed: an integer of 25 digits does not fit in 64 bits"),
    ("seed", "NaN", "seed: not a finite number (nan); JSON has no NaN or Infinity"),
    ("meta", "[" * 100_000 + "]" * 100_000, "<json>: nested too deeply to parse"),
    ("instruction", '"\\ud800"', "instruction: not valid Unicode: lone surrogate U+D800 at "
                                   "character 1"),
])
def test_unrepresentable_values_name_line_and_field(tmp_path, key, raw, message):
    rec = record()
    rec[key] = "@@raw@@"
    path = tmp_path / "train.jsonl"
    write_lines(path, [record(1), json.dumps(rec).replace('"@@raw@@"', raw)])
    with pytest.raises(DataFileError) as err:
        read_episodes(path)
    assert str(err.value) == f"{path}:2: {message}"
