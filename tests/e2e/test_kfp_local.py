"""The Kubeflow pipeline run locally with `kfp.local` at the tiny budget: every component
really executes (`tracer1 run-stage`, the command a pod runs, in subprocesses), artifacts
flow between them, the gate passes and the champion lands in the registry."""

import json

import pytest

from tests.conftest import SMALL_PARAMS
from tests.kfp_local import use_local_cli

pytestmark = pytest.mark.e2e


def test_pipeline_runs_end_to_end_with_kfp_local(tmp_path, monkeypatch):
    from kfp import local

    from pipelines.pipeline import build_pipeline

    params = tmp_path / "params.yaml"
    params.write_text(SMALL_PARAMS)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    monkeypatch.chdir(tmp_path)
    use_local_cli(monkeypatch)
    local.init(runner=local.SubprocessRunner(use_venv=False),
               pipeline_root=str(tmp_path / "kfp-root"), raise_on_error=True)

    pipeline = build_pipeline(params)
    pipeline(params_file=str(params), seed="7")  # a run-level training seed

    root = tmp_path / "kfp-root"
    cards = sorted(root.rglob("tracer1.json"))
    stages = {json.loads(p.read_text())["stage"] for p in cards}
    assert {"sft", "stage1_grpo", "stage2_rft"} <= stages, cards
    reports = list(root.rglob("report.json"))
    assert reports and {"sft", "stage1", "stage2", "reactive"} <= set(
        json.loads(reports[0].read_text())["policies"])
    assert next(root.glob("*/gate/decision")).read_text() == "promote"  # output parameter
    page = next(root.glob("*/evaluate/page"))
    assert page.is_file() and "data:image/png;base64," in page.read_text()
    decision = json.loads(next(root.glob("*/promote/decision")).read_text())
    assert decision["decision"] == "promote"
    summary = next(root.glob("*/evaluate/summary")).read_text()  # the Markdown artifact
    assert summary.startswith("# Evaluation on the test split")
    assert "## miniwob: success per task family" in summary
    build_metrics = json.loads(next(root.glob("*/build-dataset/metrics")).read_text())

    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    aliases = client.get_registered_model("tracer1-planner").aliases
    assert str(aliases["champion"]) == str(aliases["challenger"]) == "1"
    # The data's identity reached the registry version (no dvc.lock in a pod).
    tags = client.get_model_version("tracer1-planner", "1").tags
    assert tags["tracer1.data_sha256"] == build_metrics["data_sha256"]
    assert tags["tracer1.base_source"] == "none"  # the tiny model: prepare_base found no base
    # Every stage's MLflow run sits under one pipeline parent run.
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    names = {r.info.run_name for r in runs}
    assert {"build_dataset", "prepare_base", "sft/anticipatory", "stage2_rft/reactive",
            "evaluate", "gate", "promote"} <= names, names
    sft_run = next(r for r in runs if r.info.run_name == "sft/anticipatory")
    assert sft_run.data.params["seed"] == "7"  # the run parameter reached the stage
    parents = {r.data.tags.get("mlflow.parentRunId") for r in runs
               if not r.info.run_name.startswith("pipeline")}
    assert len(parents) == 1 and None not in parents
