"""Pyfunc input rows ↔ PlanRequests (pure: pandas, no MLflow)."""

import json

import numpy as np
import pandas as pd
import pytest

from tracer1.actions import Box, Click, Tool
from tracer1.policy.base import PlanRequest
from tracer1.registry import pyfunc
from tracer1.trajectory import Element, Observation, observation_to_json

OBS = Observation(
    text="Login page",
    elements=(Element("e1", "button", "Submit", Box(10, 20, 30, 40)),),
)


def test_round_trip_through_a_frame():
    requests = [
        PlanRequest("Log in.", OBS, (Click(x=20, y=30),)),
        PlanRequest("Add 2 and 3.", Observation(text="tools: calculator"),
                    (Tool.of("calculator", {"expression": "2+3"}),)),
    ]
    frame = pyfunc.frame_from_requests(requests)
    assert list(frame.columns) == ["instruction", "observation", "history"]
    assert pyfunc.requests_from_frame(frame) == requests


def test_plain_text_observation_and_missing_history():
    frame = pd.DataFrame({"instruction": ["do it"], "observation": ["just some text"]})
    (req,) = pyfunc.requests_from_frame(frame)
    assert req.observation == Observation(text="just some text") and req.history == ()


@pytest.mark.parametrize("text", ["42", "[1, 2]", "null", "{not json"])
def test_json_that_is_not_an_object_is_text(text):
    frame = pd.DataFrame({"instruction": ["x"], "observation": [text], "history": [[]]})
    assert pyfunc.requests_from_frame(frame)[0].observation.text == text


@pytest.mark.parametrize(
    "history",
    [np.array(['press(key="enter")', "done()"]), ['press(key="enter")', "done()"],
     '["press(key=\\"enter\\")", "done()"]', 'press(key="enter")\ndone()'],
)
def test_history_forms(history):
    frame = pd.DataFrame({"instruction": ["x"], "observation": ["t"], "history": [history]})
    (req,) = pyfunc.requests_from_frame(frame)
    assert [type(a).__name__ for a in req.history] == ["Press", "Done"]


@pytest.mark.parametrize("history", [None, float("nan"), []])
def test_empty_history_forms(history):
    frame = pd.DataFrame({"instruction": ["x"], "observation": ["t"], "history": [history]})
    assert pyfunc.requests_from_frame(frame)[0].history == ()


def test_bad_rows_name_the_row_and_field():
    good = json.dumps(observation_to_json(OBS))
    frame = pd.DataFrame({"instruction": ["a", "b"], "observation": [good, good],
                          "history": [[], ["clik(x=1)"]]})
    with pytest.raises(ValueError, match=r"row 1: history\[0\]: unknown verb 'clik'"):
        pyfunc.requests_from_frame(frame)
    bad_obs = json.dumps({"text": "x", "elements": [{"ref": "e1"}]})
    frame = pd.DataFrame({"instruction": ["a"], "observation": [bad_obs], "history": [[]]})
    with pytest.raises(ValueError, match=r"row 0: observation.elements\[0\].tag"):
        pyfunc.requests_from_frame(frame)
    with pytest.raises(ValueError, match="missing column"):
        pyfunc.requests_from_frame(pd.DataFrame({"instruction": ["a"]}))


def test_requirements_are_exact_pins_without_local_labels():
    pins = pyfunc.pip_requirements()
    assert any(p.startswith("mlflow==") for p in pins)
    assert all("==" in p and "+" not in p for p in pins)


def test_requirements_never_name_tracer1():
    # tracer1 is no published package: a pin would have a virtualenv env manager install
    # whatever an index serves under that name. Its code ships with the model instead.
    assert not [p for p in pyfunc.pip_requirements() if p.split("==")[0].lower() == "tracer1"]
    assert (pyfunc.PACKAGE_DIR / "__init__.py").is_file()
    assert pyfunc.PACKAGE_DIR.name == "tracer1"


def test_planner_model_is_re_exported_lazily():
    # Defined in planner_model (MLflow at import); pyfunc only forwards the name on access.
    assert "PlannerModel" not in vars(pyfunc)
    assert pyfunc.MODEL_CODE.is_file()
