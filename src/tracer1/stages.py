"""The pipeline stages: one function per stage = read inputs, run the core, track, write outputs.

The CLI (`tracer1 <stage>`), `dvc.yaml` and the Kubeflow components all call
these functions, so no stage logic lives in an orchestrator. Each stage opens
one MLflow run named like the stage (`sft/anticipatory` for a variant), grouped
under the pipeline's parent run (`tracer1.tracking.stage_run`).

Every path comes from `tracer1.layout.Layout`, rooted at the working directory (the
repo root under `dvc repro`, the scratch project under `tracer1.workspace`).

Beside each full record a stage writes its *summary*: a small flat JSON of the numbers a
person compares across commits (`Layout.summary`, or `metrics.json` in a stage's own
folder). Those are the files `dvc.yaml` declares as metrics, kept in git (`cache: false`,
not ignored) so `dvc metrics diff` and `dvc exp show` compare them across commits and
experiments; the full records are DVC-cached outputs (strings, per-family tables: too
wide for a table).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tracer1.config import CANDIDATE_POLICIES, DEFAULT_PARAMS, Params
from tracer1.layout import DIR_SUMMARY, Layout, summary_path

TRAJECTORIES = "trajectories"  # the MLflow dataset name of the expert trajectories

SUMMARY_KEYS: dict[str, tuple[str, ...]] = {
    "build_dataset": ("expert_success_rate", "splits.train.episodes", "splits.val.episodes",
                      "splits.test.episodes"),
    "sft": ("final_loss", "probe.trajectory_reward", "probe.format_valid"),
    "stage1_grpo": ("reward", "reward_last10"),
    "stage2_rft": ("reward", "reward_last10"),
    "collect_feedback": ("success_rate", "first_action_agreement"),
}
"""Per stage: the flattened keys of its full record that go into its summary."""


def summary(stage: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The `SUMMARY_KEYS` of `metrics` that are numbers, rounded: a short row of
    `dvc metrics show`. A key the record lacks (no probe, no training steps) is left out."""
    flat = _flat_numbers(metrics)
    return {key: _tidy(flat[key]) for key in SUMMARY_KEYS[stage] if key in flat}


def _tidy(value: float) -> float | int:
    # Whole numbers print as counts; rates are rounded so float noise shows no change.
    return int(value) if value.is_integer() else round(value, 6)


def write_summary(path: str | Path, numbers: dict[str, Any]) -> None:
    """Write a summary, flattened: finite numbers only (a bool as 0/1), because DVC
    tabulates every value and a string or a list would be a column of its own."""
    import math

    from tracer1.io import write_json
    from tracer1.tracking import flatten

    flat = {k: int(v) if isinstance(v, bool) else v for k, v in flatten(numbers).items()
            if isinstance(v, int | float)}
    write_json(path, {k: v for k, v in flat.items() if math.isfinite(v)})


def load_params(path: str | Path = DEFAULT_PARAMS,
                overrides: dict[str, Any] | None = None) -> Params:
    """params.yaml as the stages run it: `tracer1.config.load_params` (keys, types and the
    checks across sections) plus the checks of the packages that read a section: the
    policy's kind and base model (`policy.source.check_policy`), the importers' formats
    and options (`data.importers.check_imports`). A `ConfigError` names the file and key."""
    from tracer1 import config
    from tracer1.policy.source import check_policy

    params = config.load_params(path, overrides)
    source = str(path) + (f" (with overrides {', '.join(sorted(overrides))})"
                          if overrides else "")
    check_policy(params.policy, source)
    if params.build_dataset.imports:
        from tracer1.data.importers import check_imports  # loads the formats

        check_imports(params.build_dataset.imports, source)
    return params


def _flat_numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """Nested metrics → {"a.b": number} for MLflow (strings, lists, bools dropped)."""
    from tracer1.tracking import flatten

    return {
        k: float(v)
        for k, v in flatten(metrics).items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def _run(params: Params, params_path: str, stage: str, section: Any, variant: str | None = None):
    from tracer1.tracking import stage_run

    return stage_run(stage, section, variant=variant, cfg=params.tracking, params_path=params_path)


def _log_trajectories(run: Any) -> None:
    from tracer1 import lineage

    data = Layout().trajectories
    run.log_dataset(str(data), TRAJECTORIES, lineage.dvc_out_hash(out_path=str(data)))


# ----------------------------------------------------------------------------- data


def build_dataset(params: Params, params_path: str, *, progress: bool = False,
                  dvc_repo: str | None = None, dvc_rev: str | None = None) -> dict[str, Any]:
    """Build the expert trajectories, or with `dvc_rev` (and `dvc_repo`, a git URL or path)
    fetch those that revision tracks from the DVC remote; the revision and the data's
    hash become tags of the run."""
    from tracer1 import lineage
    from tracer1.data.build import build_dataset as build

    lay = Layout()
    with _run(params, params_path, "build_dataset", params.build_dataset) as run:
        if dvc_rev:
            metrics = _fetch_dataset(lay, dvc_repo or ".", dvc_rev)
        else:
            metrics = build(params.build_dataset, lay.trajectories, lay.build_record,
                            progress=progress, limits=params.validate_dataset)
        run.set_tags(lineage.data_tags(lay.build_record))
        write_summary(summary_path(lay.build_record), summary("build_dataset", metrics))
        run.log_metrics(_flat_numbers(metrics))
        run.log_artifact(lay.build_record)
    return metrics


def _fetch_dataset(lay: Layout, repo: str, rev: str) -> dict[str, Any]:
    from tracer1.data.fetch import fetch_trajectories
    from tracer1.io import write_json
    from tracer1.lineage import tree_digest

    fetched = fetch_trajectories(repo, rev, lay.trajectories)
    episodes = {p.stem: sum(1 for line in p.open(encoding="utf-8") if line.strip())
                for p in sorted(lay.trajectories.glob("*.jsonl"))}
    metrics = {"source": "dvc", "dvc_repo": repo, "dvc_rev": rev,
               "data_md5": fetched.data_md5, "data_sha256": tree_digest(lay.trajectories),
               "splits": {k: {"episodes": n} for k, n in episodes.items()}}
    write_json(lay.build_record, metrics)
    return metrics


def validation_summary(report: Any) -> dict[str, Any]:
    """The verdict (1: valid) and how many expectations failed; each one is in result.json."""
    return {"success": bool(report.success), "failed_expectations": len(report.failures)}


def validate_dataset(
    params: Params, params_path: str, *, input_dir: str | None = None, out_dir: str | None = None
) -> Any:
    """Validate `input_dir` (default: the trajectories) into `out_dir` (default: the
    validation folder of the layout)."""
    from tracer1.data.validation import validate_dataset as validate

    lay = Layout()
    source = Path(input_dir) if input_dir else lay.trajectories
    out = Path(out_dir) if out_dir else lay.validation
    cfg = params.validate_dataset
    with _run(params, params_path, "validate_dataset", cfg) as run:
        report = validate(cfg, source, out)
        write_summary(out / DIR_SUMMARY, validation_summary(report))
        run.log_metrics({"success": float(report.success)})
        for path in report.paths.values():
            if path and Path(path).is_file():
                run.log_artifact(path)
        docs = out / "docs"
        if docs.is_dir():
            run.log_artifacts(docs, "data_docs")
    return report


# ------------------------------------------------------------------------- training


def prepare_base(params: Params, params_path: str) -> dict[str, Any]:
    """Convert `policy.base_model` once into `Layout.base` (GGUF de-quantised, a hub
    or local model saved there); `source.json` alone for the tiny model. Returns the
    `source.json` record; the source and its sha256 become tags of the run."""
    from tracer1 import lineage
    from tracer1.policy.source import SOURCE_FILE
    from tracer1.policy.source import prepare_base as prepare

    cfg = params.prepare_base
    with _run(params, params_path, "prepare_base", cfg) as run:
        run.log_params({"base_model": params.policy.base_model, "kind": params.policy.kind})
        record = prepare(params.policy, Layout().base)
        run.set_tags(lineage.source_tags(record))
        if record.get("parameters"):
            run.log_metrics({"parameters": float(record["parameters"])})
        run.log_artifact(Layout().base / SOURCE_FILE)
    return record


CURVE_COLUMN = {"sft": "loss", "stage1_grpo": "reward", "stage2_rft": "reward"}
"""The curve column a training stage's figure draws (and `dvc.yaml` names)."""


def _write_stage_outputs(stage: str, lay: Layout, metrics: dict[str, Any]) -> None:
    from tracer1 import distributed
    from tracer1.evaluation.plots import plot_curves
    from tracer1.io import write_json
    from tracer1.training.curve import write_curve

    rows = metrics.pop("curve", None) or []
    if not distributed.is_main():  # rank 0 writes a distributed stage's reports
        return
    write_curve(lay.curve(stage), rows)
    column = CURVE_COLUMN[stage]
    points = [(int(r["step"]), float(r[column])) for r in rows
              if r.get(column) is not None and r.get("step") is not None]
    plot_curves({f"{stage}/{lay.variant} {column}": points}, lay.curve_plot(stage),
                ylabel=column, title=f"{stage} {column}")
    write_json(lay.record(stage), metrics)
    write_summary(lay.summary(stage), summary(stage, metrics))


def sft(params: Params, params_path: str, variant: str) -> dict[str, Any]:
    from tracer1.policy.source import prepared_policy
    from tracer1.training.sft import run_sft

    # The base loads from prepare_base's directory, never from the source itself; the model
    # dir's tracer1.json then names that directory (models/base).
    lay = Layout(variant=variant)
    policy = prepared_policy(params.policy, lay.base)
    with _run(params, params_path, "sft", params.sft, variant) as run:
        run.log_params({"policy": dataclasses.asdict(params.policy),
                        "horizon": params.forecast.horizon(variant)})
        _log_trajectories(run)
        metrics = run_sft(dataclasses.replace(params, policy=policy), variant,
                          log=run.step_logger(), layout=lay)
        _write_stage_outputs("sft", lay, metrics)
        run.log_metrics(_flat_numbers(metrics))
    return metrics


def stage1_grpo(params: Params, params_path: str, variant: str) -> dict[str, Any]:
    from tracer1.training.stage1 import run_stage1

    with _run(params, params_path, "stage1_grpo", params.stage1_grpo, variant) as run:
        run.log_params({"horizon": params.forecast.horizon(variant)})
        _log_trajectories(run)
        lay = Layout(variant=variant)
        metrics = run_stage1(params, variant, log=run.step_logger(), layout=lay)
        _write_stage_outputs("stage1_grpo", lay, metrics)
        run.log_metrics(_flat_numbers(metrics))
    return metrics


@contextlib.contextmanager
def _suites(params: Params) -> Iterator[dict[str, Any]]:
    """The configured suites for one stage; closed (browsers and all) when it ends."""
    from tracer1.envs.base import close_suite, make_suites

    suites = make_suites(params.suites)
    try:
        yield suites
    finally:
        for suite in suites.values():
            close_suite(suite)


def collect_feedback(params: Params, params_path: str, variant: str) -> dict[str, Any]:
    from tracer1.evaluation.tasks import split_tasks
    from tracer1.feedback import collect_feedback as collect
    from tracer1.policy import load_agent

    cfg, lay = params.collect_feedback, Layout(variant=variant)
    metrics_file = lay.feedback_record
    with _run(params, params_path, "collect_feedback", cfg, variant) as run:
        # Only the first action of each forecast executes: decode no further (`first_action`).
        planner = load_agent(lay.stage1_model, first_action=True)
        with _suites(params) as suites:
            tasks = split_tasks(params.build_dataset, cfg.split, cfg.episodes_per_family, suites)
            metrics = collect(planner, tasks, cfg, lay.feedback, metrics_file, suites=suites)
        write_summary(lay.summary("collect_feedback"), summary("collect_feedback", metrics))
        run.log_metrics(_flat_numbers(metrics))
        run.log_artifact(metrics_file)
    return metrics


def stage2_rft(params: Params, params_path: str, variant: str) -> dict[str, Any]:
    from tracer1.training.stage2 import run_stage2

    lay = Layout(variant=variant)
    with _run(params, params_path, "stage2_rft", params.stage2_rft, variant) as run:
        run.log_params({"horizon": params.forecast.horizon(variant)})
        run.log_dataset(str(lay.feedback), "feedback", None)
        metrics = run_stage2(params, variant, lay.feedback, log=run.step_logger(), layout=lay)
        _write_stage_outputs("stage2_rft", lay, metrics)
        run.log_metrics(_flat_numbers(metrics))
    return metrics


# ----------------------------------------------------------------------- evaluation


def _curves(params: Params) -> dict[str, list[tuple[int, float]]]:
    """The candidate's training curves (SFT loss, GRPO rewards) for the report's plot."""
    variant = params.forecast.candidate
    lay = Layout(variant=variant)
    curves: dict[str, list[tuple[int, float]]] = {}
    for stage, column in (("sft", "loss"), ("stage1_grpo", "reward"), ("stage2_rft", "reward")):
        path = lay.curve(stage)
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as fh:
            points = [
                (int(float(row["step"])), float(row[column]))
                for row in csv.DictReader(fh)
                if row.get(column) not in (None, "")
            ]
        curves[f"{stage}/{variant} {column}"] = points
    return curves


def evaluate(params: Params, params_path: str) -> dict[str, Any]:
    from tracer1.config import BASE_POLICY
    from tracer1.data.jsonl import read_episodes
    from tracer1.evaluation.harness import evaluate_planners, group_by_suite
    from tracer1.evaluation.report import write_report
    from tracer1.evaluation.tasks import offline_episodes, split_file_tasks
    from tracer1.evaluation.zero_shot import base_planner
    from tracer1.policy import load_agent
    from tracer1.registry import mlflow_registry

    cfg, fc = params.evaluate, params.forecast
    cand, base = fc.candidate, fc.baseline
    lay = Layout(variant=cand)
    # A VLM reads the recorded screenshots of the offline steps from the trajectories.
    shots = lay.trajectories
    planners: dict[str, Any] = {}
    notes: list[str] = []  # policies asked for but not scored, and why (the report's notes)
    for name in cfg.policies:
        if name == BASE_POLICY:  # the untrained base, zero-shot; none for the tiny model
            agent, note = base_planner(params, screenshot_root=shots, first_action=True)
            if agent is None:
                notes.append(note)
            else:
                planners[name] = agent
            continue
        planners[name] = load_agent(lay.model(CANDIDATE_POLICIES[name]),
                                    screenshot_root=shots, first_action=True)
    # A baseline that is the candidate itself (one-variant runs, e.g. the ablations) is
    # the same model: scored once, under the candidate's name.
    baseline = "stage2" if base == cand else "reactive"
    if baseline == "reactive":
        planners["reactive"] = load_agent(lay.of(base).stage2_model,
                                          screenshot_root=shots, first_action=True)
    with _run(params, params_path, "evaluate", cfg) as run:
        roles: dict[str, str | None] = {
            "candidate": "stage2", "baseline": baseline, "champion": None,
        }
        champion = mlflow_registry.champion_version(params.promote.model_name)
        if champion is not None:
            planners["champion"] = mlflow_registry.load_champion(params.promote.model_name)
            roles.update(champion="champion", champion_version=champion)
        with _suites(params) as suites:
            tasks = split_file_tasks(params.build_dataset, cfg.split, lay.split_file(cfg.split),
                                     cfg.episodes_per_family, suites)
            # Offline step metrics on the expert trajectories of the very tasks run closed-loop.
            chosen = {task.task_id for suite_tasks in tasks.values() for task in suite_tasks}
            episodes = read_episodes(lay.split_file(cfg.split))
            heldout = group_by_suite(episodes, chosen, cfg.offline_per_family)
            # Imported suites: no environment to run; scored offline on their recorded split.
            imported = offline_episodes(params.build_dataset, episodes,
                                        cfg.offline_episodes_per_family)
            report = evaluate_planners(planners, tasks, heldout, cfg, roles=roles, suites=suites,
                                       offline_only=imported, notes=notes)
        paths = write_report(report, lay.eval_dir, curves=_curves(params))
        run.log_parent(_headline(report))
        for name, policy in report["policies"].items():
            for suite, section in policy["suites"].items():
                run.log_metrics({f"{name}.{suite}.success_rate": section["success_rate"]})
            for suite, section in policy.get("offline_only", {}).items():
                run.log_metrics({f"{name}.{suite}.offline.{k}": v for k, v in
                                 _flat_numbers(section["offline"]).items()})
        for key, comparison in report["paired"].items():  # e.g. paired.stage2-stage1.tooluse.all
            for suite, cells in comparison["suites"].items():
                run.log_metrics({f"paired.{key}.{suite}.{subset}.difference": cell["difference"]
                                 for subset, cell in cells.items()})
        if notes:
            run.set_tags({"tracer1.eval_notes": " | ".join(notes)})
        for path in paths.values():
            run.log_artifact(path)
    return report


def _headline(report: dict[str, Any]) -> dict[str, float]:
    """The candidate's closed-loop success per suite (``candidate.<suite>.success_rate``),
    for the pipeline's parent run: the numbers one run is compared with the next by."""
    candidate = report.get("roles", {}).get("candidate")
    suites = report["policies"].get(candidate, {}).get("suites", {})
    return {f"candidate.{suite}.success_rate": section["success_rate"]
            for suite, section in suites.items()}


def gate(params: Params, params_path: str) -> Any:
    """The gate alone (no registry write): the `Decision` on the eval report against the
    registry's current champion. Kubeflow branches on it; `promote` decides again, the same
    way, before it moves any alias."""
    from tracer1.registry.stage import gate_decision, read_report

    cfg = params.promote
    report = read_report(Layout().eval_report)
    with _run(params, params_path, "gate", cfg) as run:
        decision = gate_decision(report, cfg)
        run.set_tags({"tracer1.decision": decision.decision})
        # On Kubeflow a rejection ends the pipeline here (promote never runs): the parent
        # must say so itself. `promote` overwrites the tag with its final verdict.
        run.log_parent({"gate.promote": float(decision.promoted)},
                       tags={"tracer1.decision": decision.decision})
    return decision


def promote_summary(outcome: Any) -> dict[str, Any]:
    """The gate's decision as a number (1: promoted, 0: rejected); the reasons are in
    decision.json."""
    return {"promoted": outcome.decision.decision == "promote"}


def training_params(params: Params, variant: str) -> dict[str, Any]:
    """The settings the `variant` planner was trained with: the LoggedModel's params."""
    fc = params.forecast
    return {"policy": params.policy, "sft": params.sft, "stage1_grpo": params.stage1_grpo,
            "collect_feedback": params.collect_feedback, "stage2_rft": params.stage2_rft,
            "forecast": {"variant": variant, "horizon": fc.horizon(variant),
                         "history": fc.history}}


def promote(params: Params, params_path: str) -> Any:
    """The gate, then the registry; the decision (1: promoted) is its summary metric."""
    from tracer1.registry.stage import promote_stage

    lay = Layout(variant=params.forecast.candidate)
    outcome = promote_stage(
        params.promote,
        params.tracking,
        report_path=lay.eval_report,
        model_dir=lay.stage2_model,
        decision_path=lay.decision,
        params_path=params_path,
        data_metrics_path=lay.build_record,
        model_params=training_params(params, params.forecast.candidate),
    )
    write_summary(lay.decision.parent / DIR_SUMMARY, promote_summary(outcome))
    return outcome
