import pytest

from tracer1.actions import Answer, Box, Click, Done, Tool
from tracer1.trajectory import (
    Element,
    Episode,
    Observation,
    SchemaError,
    Step,
    episode_from_json,
    episode_to_json,
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
    ],
)
def test_schema_errors_name_the_field(mutate, field):
    record = episode_to_json(make_episode())
    mutate(record)
    with pytest.raises(SchemaError) as err:
        episode_from_json(record)
    assert err.value.field == field
