"""One vocabulary: every stage has the same name in params.yaml, dvc.yaml and the CLI,
and dvc.yaml's outputs are where the code writes them."""

import dataclasses

import yaml
from typer.testing import CliRunner

from tests.helpers import REPO
from tracer1.cli import app
from tracer1.config import Params

STAGES = [
    "build_dataset", "validate_dataset", "prepare_base", "sft", "stage1_grpo",
    "collect_feedback", "stage2_rft", "evaluate", "promote",
]
NOT_STAGES = {"forecast", "policy", "suites", "tracking"}  # shared sections, not stages


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


def _paths(entries) -> set[str]:
    return {e if isinstance(e, str) else next(iter(e)) for e in entries or ()}


def _declared(stage: dict) -> tuple[set[str], set[str]]:
    """(outs + metrics + plots, deps) of a dvc.yaml stage."""
    body = stage.get("do") or stage
    return (_paths(body.get("outs")) | _paths(body.get("metrics")) | _paths(body.get("plots")),
            _paths(body.get("deps")))


def _layout_io() -> dict[str, tuple[set, set]]:
    """What each stage writes and reads by `tracer1.layout`, in dvc.yaml's interpolations."""
    from tracer1.data.validation.stage import DOCS_DIR
    from tracer1.evaluation.report import CURVES_PLOT, MARKDOWN_FILE, METRICS_FILE, SUCCESS_PLOT
    from tracer1.layout import DIR_SUMMARY, Layout, summary_path

    lay = Layout(variant="${key}")
    cand, base = lay.of("${forecast.candidate}"), lay.of("${forecast.baseline}")
    code = "src/tracer1"

    def trained(stage: str) -> set:
        return {lay.model(stage), lay.record(stage), lay.curve(stage), lay.summary(stage),
                lay.curve_plot(stage)}

    io = {
        "build_dataset": ({lay.trajectories, lay.build_record, summary_path(lay.build_record)},
                          {code}),
        "validate_dataset": ({lay.validation / DOCS_DIR, lay.validation_result,
                              lay.validation / DIR_SUMMARY}, {lay.trajectories, code}),
        "prepare_base": ({lay.base}, {code}),
        "sft": (trained("sft"), {lay.trajectories, lay.base, lay.validation_result, code}),
        "stage1_grpo": (trained("stage1_grpo"),
                        {lay.trajectories, lay.base, lay.sft_model, code}),
        "collect_feedback": ({lay.feedback, lay.feedback_record,
                              lay.summary("collect_feedback")},
                             {lay.base, lay.stage1_model, code}),
        "stage2_rft": (trained("stage2_rft"), {lay.feedback, lay.base, lay.stage1_model, code}),
        "evaluate": ({lay.eval_report, lay.eval_dir / MARKDOWN_FILE, lay.eval_dir / METRICS_FILE,
                      lay.eval_dir / SUCCESS_PLOT, lay.eval_dir / CURVES_PLOT},
                     {lay.trajectories, lay.base, cand.sft_model, cand.stage1_model,
                      cand.stage2_model, base.stage2_model, cand.curve("sft"),
                      cand.curve("stage1_grpo"), cand.curve("stage2_rft"), code}),
        "promote": ({lay.decision, lay.decision.parent / DIR_SUMMARY},
                    {lay.eval_report, lay.build_record, lay.base, cand.stage2_model, code}),
    }
    return {name: ({str(p) for p in outs}, {str(p) for p in deps})
            for name, (outs, deps) in io.items()}


def test_dvc_paths_are_the_layout():
    """Every path dvc.yaml declares is the one `tracer1.layout` derives, and nothing more:
    the stages write where DVC looks, and read what DVC tracks as their inputs."""
    dvc = dvc_stages()
    for name, (outs, deps) in _layout_io().items():
        assert _declared(dvc[name]) == (outs, deps), name


def test_every_stage_that_loads_a_planner_depends_on_the_prepared_base():
    from tracer1.layout import Layout

    base = str(Layout().base)
    dvc = dvc_stages()
    for name in ("sft", "stage1_grpo", "collect_feedback", "stage2_rft", "evaluate", "promote"):
        assert base in (dvc[name].get("do") or dvc[name])["deps"], name
    assert {"policy.base_model", "policy.kind"} <= set(
        dvc["prepare_base"]["params"])
