"""`tracer1 validate-dataset`: validating another directory never touches the pipeline's
reports (a DVC output of the pipeline's own dataset)."""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracer1 import stages
from tracer1.actions import Done
from tracer1.cli import app
from tracer1.trajectory import Episode, Observation, Step, episode_to_json


class _Run:
    """Stands in for the MLflow run: these tests are about files, not tracking."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


@pytest.fixture
def project(tmp_path, tmp_path_factory, monkeypatch):
    """A working directory with params, the pipeline's reports, and another dataset."""
    monkeypatch.chdir(tmp_path)
    # The temporary report directories land in pytest's tree, not in the system's /tmp.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("system-tmp")))
    monkeypatch.setattr(stages, "_run", lambda *a, **k: contextlib.nullcontext(_Run()))
    Path("params.yaml").write_text("validate_dataset: {}\n")
    docs = Path("reports/validation/docs")
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("the pipeline's Data Docs")
    Path("reports/validation/result.json").write_text('{"success": true}')
    episode = Episode("tooluse/calc/0", "tooluse", "calc", 0, "train", "Add 2 and 3.",
                      (Step(0, Observation(text="5"), Done(), reward=1.0),), success=True)
    other = Path("elsewhere")
    other.mkdir()
    (other / "train.jsonl").write_text(json.dumps(episode_to_json(episode)) + "\n")
    return tmp_path


def _pipeline_reports_untouched():
    assert Path("reports/validation/docs/index.html").read_text() == "the pipeline's Data Docs"
    assert Path("reports/validation/result.json").read_text() == '{"success": true}'


def _result_path(output: str) -> Path:
    return Path(re.search(r"result_json: (\S+)", output).group(1))


@pytest.mark.parametrize("corrupt", [False, True], ids=["ge-runs", "unreadable"])
def test_another_input_without_out_reports_to_a_temporary_directory(project, corrupt):
    if corrupt:  # refused before GE: the path that used to delete the pipeline's docs
        Path("elsewhere/train.jsonl").write_text("{not json\n")
    result = CliRunner().invoke(app, ["validate-dataset", "--input", "elsewhere"])
    assert result.exit_code == 1, result.output  # val and test are missing / a bad line
    _pipeline_reports_untouched()
    written = _result_path(result.output)
    assert written.name == "result.json" and written.parent.name.startswith("tracer1-validate-")
    assert not written.is_relative_to(project)
    assert json.loads(written.read_text())["success"] is False


def test_an_explicit_out_is_used(project):
    result = CliRunner().invoke(app, ["validate-dataset", "--input", "elsewhere", "--out",
                                      "mine"])
    assert result.exit_code == 1
    _pipeline_reports_untouched()
    assert _result_path(result.output) == Path("mine/result.json")


def test_the_pipeline_dataset_still_reports_to_the_params_out_dir(project):
    Path("data/trajectories").mkdir(parents=True)
    Path("data/trajectories/train.jsonl").write_text("{not json\n")
    result = CliRunner().invoke(app, ["validate-dataset", "--input", "data/trajectories"])
    assert result.exit_code == 1
    assert _result_path(result.output) == Path("reports/validation/result.json")
    assert json.loads(Path("reports/validation/result.json").read_text())["success"] is False


def test_help_says_where_the_reports_go():
    result = CliRunner().invoke(app, ["validate-dataset", "--help"])
    assert "temporary directory" in " ".join(result.output.split())
