"""The stage-to-stage records: JSON round trips, and one check that names file, line and field."""

from __future__ import annotations

import doctest
import json

import pytest

import tracer1.records as records_module
from tests.unit.training.fixtures import feedback_records, write_feedback
from tracer1.actions import Box, Click
from tracer1.data.jsonl import DataFileError
from tracer1.records import FEEDBACK_KEYS, FeedbackRecord, read_feedback


@pytest.fixture(scope="module")
def recorded():
    return feedback_records(seeds=range(1))


def test_recorded_feedback_round_trips(recorded, tmp_path):
    write_feedback(tmp_path, recorded)
    back = read_feedback(tmp_path / "feedback.jsonl")
    assert [r.to_json() for r in back] == json.loads(json.dumps(recorded))
    assert all(tuple(r.to_json()) == FEEDBACK_KEYS for r in back)


def test_the_reference_box_rides_on_the_action(recorded):
    rec = {**recorded[0], "reference_action": "click(x=12, y=12)", "reference_box": [5, 5, 20, 20]}
    record = FeedbackRecord.from_json(rec)
    assert record.reference_action == Click(12, 12, box=Box(5, 5, 20, 20))
    assert record.to_json()["reference_box"] == [5, 5, 20, 20]


@pytest.mark.parametrize("change, field", [
    ({"seed": "3"}, "seed"),
    ({"history": ["clik()"]}, "history[0]"),
    ({"reference_action": 7}, "reference_action"),
    ({"reference_action": "click(x=1, y=1)", "reference_box": [1, 2]}, "reference_box"),
    ({"observation": {"elements": []}}, "observation.text"),
])
def test_a_bad_record_names_file_line_and_field(recorded, tmp_path, change, field):
    write_feedback(tmp_path, [recorded[0], {**recorded[1], **change}])
    with pytest.raises(DataFileError) as info:
        read_feedback(tmp_path / "feedback.jsonl")
    assert (info.value.line, info.value.field) == (2, field)
    assert str(info.value).startswith(f"{tmp_path / 'feedback.jsonl'}:2: {field}: ")


def test_docstring_examples():
    result = doctest.testmod(records_module)
    assert result.attempted > 0 and result.failed == 0
