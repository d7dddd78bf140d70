"""docs/serve_request.json, the request docs/operations.md sends to `mlflow models serve`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tracer1.registry.pyfunc import requests_from_frame

REQUEST = Path(__file__).resolve().parents[3] / "docs" / "serve_request.json"


def test_the_documented_request_is_a_valid_planner_input():
    body = json.loads(REQUEST.read_text(encoding="utf-8"))
    [request] = requests_from_frame(pd.DataFrame(body["dataframe_records"]))
    assert request.instruction and request.observation.text and len(request.history) == 1
