import pytest

from tracer1.actions import Answer, Box, Click, Done, Tool
from tracer1.trajectory import (
    MAX_DEPTH,
    Element,
    Episode,
    Observation,
    SchemaError,
    Step,
    check_values,
    episode_from_json,
    episode_to_json,
    observation_from_json,
)


def make_episode():
    obs = Observation(text="page", elements=(Element("e1", "button", "OK", Box(10, 20, 30, 40)),))
    return Episode(
        episode_id="s/f/1", suite="s", family="f", seed=1, split="train", instruction="Press OK",
        steps=(
            Step(0, obs, Click(20, 30, target="OK", box=Box(10, 20, 30, 40)), {"point": [20, 30]}),
            Step(1, Observation(), Tool.of("calculator", {"expression": "1+1"})),
            Step(2, Observation(text="2"), Answer("2"), reward=1.0),
            Step(3, Observation(), Done()),
        ),
        success=True,
    )


def test_round_trip_keeps_target_boxes():
    ep = make_episode()
    back = episode_from_json(episode_to_json(ep))
    assert back == ep
    assert back.steps[0].action.box == Box(10, 20, 30, 40)
    assert back.steps[0].observation.elements[0].box == Box(10, 20, 30, 40)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r.pop("instruction"), "instruction"),
        (lambda r: r.__setitem__("seed", "7"), "seed"),
        (lambda r: r["steps"][2].__setitem__("action", "clik(x=1, y=2)"), "steps[2].action"),
        (lambda r: r["steps"][0].__setitem__("target_box", [1, 2, 3]), "steps[0].target_box"),
        (lambda r: r["steps"][1]["observation"].pop("text"), "steps[1].observation.text"),
        (lambda r: r["steps"][0]["observation"]["elements"][0].__setitem__("box", "x"),
         "steps[0].observation.elements[0].box"),
        (lambda r: r["steps"][3].__setitem__("index", True), "steps[3].index"),
        # Fields the schema does not name, at every level.
        (lambda r: r.__setitem__("sucess", True), "sucess"),
        (lambda r: r["steps"][1].__setitem__("done", True), "steps[1].done"),
        (lambda r: r["steps"][1]["observation"].__setitem__("url", "x"),
         "steps[1].observation.url"),
        (lambda r: r["steps"][0]["observation"]["elements"][0].__setitem__("role", "b"),
         "steps[0].observation.elements[0].role"),
        # Values only Python can hold (pandas / pyarrow / JSON writers choke on them).
        (lambda r: r["steps"][2].__setitem__("reward", float("nan")), "steps[2].reward"),
        (lambda r: r.__setitem__("seed", 10**30), "seed"),
        (lambda r: r["steps"][0]["executed"].__setitem__("point", [20, -(2**63) - 1]),
         "steps[0].executed.point[1]"),
        (lambda r: r["meta"].__setitem__("note", "\udc80"), "meta.note"),
    ],
)
def test_schema_errors_name_the_field(mutate, field):
    record = episode_to_json(make_episode())
    mutate(record)
    with pytest.raises(SchemaError) as err:
        episode_from_json(record)
    assert err.value.field == field


def test_deep_nesting_is_refused_without_recursing():
    value: list = []
    for _ in range(100_000):  # far past Python's recursion limit: the walk is iterative
        value = [value]
    with pytest.raises(SchemaError, match=f"nested deeper than {MAX_DEPTH} levels"):
        check_values({"meta": value})
    check_values({"meta": [[[1.5, "ok", None, True]]]})


def test_a_bare_observation_may_carry_more_fields():
    # Serving requests (the pyfunc model) send observations; extra keys there are the
    # client's business, only episode files are held to the exact schema.
    obs = observation_from_json({"text": "t", "elements": [], "url": "x"}, "observation")
    assert obs == Observation(text="t")
    with pytest.raises(SchemaError, match="observation.url: unknown field"):
        observation_from_json({"text": "t", "elements": [], "url": "x"}, "observation",
                              known_only=True)
