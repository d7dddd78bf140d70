"""Stage 2: the feedback dataset built from feedback.jsonl."""

from __future__ import annotations

import json

import pytest

from tests.unit.training.fixtures import feedback_records, write_feedback
from tracer1.actions import Answer, Tool, parse_action
from tracer1.policy.base import PlanRequest
from tracer1.training.stage2 import feedback_rows
from tracer1.trajectory import observation_from_json


@pytest.fixture(scope="module")
def records():
    return feedback_records(seeds=range(1))


@pytest.fixture(scope="module")
def rows(records, tmp_path_factory):
    directory = write_feedback(tmp_path_factory.mktemp("fb"), records)
    return feedback_rows(directory, horizon=3, history=2)


def test_rows_render_the_recorded_state(records, rows):
    assert len(rows) == len(records)
    rec, row = records[1], rows[1]
    past = tuple(parse_action(a) for a in rec["history"])
    obs = observation_from_json(rec["observation"], "observation")
    assert row["prompt"] == PlanRequest(rec["instruction"], obs, past).prompt(3, 2)
    assert row["history"] == rec["history"]  # the full history, for the replay
    kinds = set()
    for rec, row in zip(records, rows, strict=True):
        ref = parse_action(rec["reference_action"])
        kinds.add(type(ref))
        if isinstance(ref, Tool):  # the expert's executed output is the reference
            assert row["reference_text"] == rec["reference_executed"]["output"]
        else:  # the expert answers: the task's answer is the reference
            assert row["reference_text"] == rec["reference_answer"]
    assert kinds == {Tool, Answer}


def test_duplicates_and_failed_references_are_dropped(records, tmp_path):
    broken = dict(records[0], reference_executed={**records[0]["reference_executed"], "ok": False})
    write_feedback(tmp_path, [records[0], records[0], broken | {"seed": 99}, records[1]])
    assert len(feedback_rows(tmp_path, horizon=1, history=2)) == 2


def test_feedback_file_errors_name_the_line(tmp_path):
    (tmp_path / "feedback.jsonl").write_text(json.dumps({"suite": "tooluse"}) + "\n")
    with pytest.raises(ValueError, match="feedback.jsonl:1"):
        feedback_rows(tmp_path, horizon=1, history=2)
