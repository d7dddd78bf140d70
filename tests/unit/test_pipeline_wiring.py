"""One vocabulary: every stage has the same name in params.yaml, dvc.yaml and the CLI,
and dvc.yaml's outputs are where the code writes them."""

import dataclasses

import yaml
from typer.testing import CliRunner

from tests.helpers import REPO
from tracer1 import stages
from tracer1.cli import app
from tracer1.config import Params, load_params

STAGES = [
    "build_dataset", "validate_dataset", "prepare_base", "sft", "stage1_grpo",
    "collect_feedback", "stage2_rft", "evaluate", "promote",
]
NOT_STAGES = {"forecast", "policy", "tracking"}  # shared sections, not stages


def dvc_stages():
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def test_params_sections_are_the_stages_plus_shared_ones():
    sections = {f.name for f in dataclasses.fields(Params)}
    assert sections - NOT_STAGES == set(STAGES)


def test_dvc_has_every_stage_and_each_runs_its_cli_command():
    dvc = dvc_stages()
    assert list(dvc) == STAGES
    for name, stage in dvc.items():
        cmd = (stage.get("do") or stage)["cmd"]
        assert cmd.startswith(f"tracer1 {name.replace('_', '-')} "), cmd
        assert "src/tracer1" in (stage.get("do") or stage)["deps"]


def test_cli_has_every_stage():
    out = CliRunner().invoke(app, ["--help"]).output
    for name in STAGES:
        assert name.replace("_", "-") in out


def test_dvc_outputs_match_the_config():
    params = load_params(REPO / "params.yaml")
    dvc = dvc_stages()
    for variant in params.forecast.variants:
        for stage in ("sft", "stage1_grpo", "stage2_rft"):
            outs = [o if isinstance(o, str) else next(iter(o)) for o in dvc[stage]["do"]["outs"]]
            expected = str(stages.model_dir(params, stage, variant))
            assert expected.replace(variant, "${key}") in outs
            assert str(stages.metrics_path(stage, variant)).replace(variant, "${key}") in outs
            summary = stages.summary_path(stages.metrics_path(stage, variant))
            metrics = [next(iter(m)) for m in dvc[stage]["do"]["metrics"]]
            assert str(summary).replace(variant, "${key}") in metrics
            plots = [next(iter(m)) for m in dvc[stage]["do"]["plots"]]
            assert str(stages.curve_plot_path(stage, variant)).replace(variant, "${key}") in plots
        fb = dvc["collect_feedback"]["do"]
        assert params.collect_feedback.out_dir.replace("{variant}", "${key}") in fb["outs"]
        assert params.collect_feedback.metrics_path.replace("{variant}", "${key}") in fb["outs"]
        fb_metrics = [next(iter(m)) for m in fb["metrics"]]
        summary = str(stages.summary_path(params.collect_feedback.metrics_path))
        assert summary.replace("{variant}", "${key}") in fb_metrics
    assert params.build_dataset.out_dir in dvc["build_dataset"]["outs"]
    assert dvc["prepare_base"]["outs"] == [params.prepare_base.out_dir]
    promote_outs = [o if isinstance(o, str) else next(iter(o)) for o in dvc["promote"]["outs"]]
    assert params.promote.decision_path in promote_outs


def test_every_stage_that_loads_a_planner_depends_on_the_prepared_base():
    params = load_params(REPO / "params.yaml")
    base = params.prepare_base.out_dir
    dvc = dvc_stages()
    for name in ("sft", "stage1_grpo", "collect_feedback", "stage2_rft", "evaluate", "promote"):
        assert base in (dvc[name].get("do") or dvc[name])["deps"], name
    assert {"policy.base_model", "policy.kind", "prepare_base"} <= set(
        dvc["prepare_base"]["params"])
