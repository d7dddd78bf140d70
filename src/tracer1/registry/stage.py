"""`promote`: eval report + candidate model → gate decision, registry version, decision.json.

Order matters: the registry's current champion is read first and handed to the
gate, so a report scored against an older champion (or none, while the registry
has one) is rejected instead of silently replacing the champion. Every
candidate is registered once (a retried stage reuses its version) and, when it
loads back, aliased ``challenger`` whatever the verdict, so a rejected model
stays inspectable; only a promote moves ``champion``.

A rejection is an outcome, not an error: the stage succeeds and decision.json
says why. A missing report or model directory is an error (the pipeline is broken),
and so is a registered model that does not load back: decision.json and the
version's tags then record ``reject`` with the load error, no alias moves, and the
stage fails with `UnloadableModelError` (a transient failure gets the retry, which
reuses the version).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracer1.config import PromoteConfig, TrackingConfig
from tracer1.io import write_json
from tracer1.policy.model import META_FILE
from tracer1.registry.gate import Decision, RegistryState, decide
from tracer1.registry.mlflow_registry import PromotionResult, UnloadableModelError


@dataclass(frozen=True)
class PromoteOutcome:
    decision: Decision
    registry: PromotionResult

    def to_json(self) -> dict[str, Any]:
        """decision.json: the gate's verdict plus what happened in the registry."""
        return {**self.decision.to_json(), "registry": self.registry.to_json()}


def read_report(path: str | os.PathLike) -> Any:
    """The eval report as parsed JSON; unparseable JSON comes back as None (the gate rejects it).

    Raises FileNotFoundError when the report is missing.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def gate_decision(
    report: dict[str, Any], cfg: PromoteConfig, digest: str | None = None
) -> Decision:
    """The gate on `report` against the registry's current champion (read, never written).

    With the candidate's `digest`, a retry whose earlier attempt already made this
    candidate the champion is judged as that attempt was (`registry_state`).
    """
    from tracer1.registry import mlflow_registry

    if digest is None:
        state = RegistryState(mlflow_registry.champion_version(cfg.model_name))
    else:
        state = mlflow_registry.registry_state(cfg.model_name, digest, _scored(report))
    return decide(report, cfg, state)


def _scored(report: Any) -> str | None:
    """The champion version `report` says it scored (None when it says none, or is junk)."""
    roles = report.get("roles") if isinstance(report, dict) else None
    version = roles.get("champion_version") if isinstance(roles, dict) else None
    return str(version) if version is not None else None


def promote_stage(
    cfg: PromoteConfig,
    tracking: TrackingConfig,
    *,
    report_path: str | os.PathLike,
    model_dir: str | os.PathLike,
    decision_path: str | os.PathLike | None = None,
    params_path: str | os.PathLike = "params.yaml",
    data_metrics_path: str | os.PathLike | None = None,
    model_params: Any = None,
) -> PromoteOutcome:
    """Run the gate on `report_path` and register `model_dir`; write `decision_path`
    (default: the working directory's `Layout.decision`).

    `data_metrics_path`: `build_dataset`'s metrics file, whose data identifiers (content
    digest; DVC revision and hash when fetched) tag the registry version. `model_params`:
    the settings the candidate was trained with (a nested mapping), the params of its
    LoggedModel. The verdict, the version and the candidate's metrics also go on the
    pipeline's parent run (the runs table's headline row). Raises `UnloadableModelError`
    (after writing the decision) when the version does not load.
    """
    from tracer1 import lineage
    from tracer1.registry import mlflow_registry
    from tracer1.tracking import stage_run

    if decision_path is None:
        from tracer1.layout import Layout

        decision_path = Layout().decision
    if not (Path(model_dir) / META_FILE).is_file():
        raise FileNotFoundError(f"{model_dir}: not a planner directory (no {META_FILE})")
    report = read_report(report_path)
    digest = lineage.tree_digest(model_dir)  # the candidate's identity in the registry
    with stage_run("promote", cfg, cfg=tracking, params_path=params_path) as run:
        decision = gate_decision(report, cfg, digest)
        tags = lineage.lineage_tags(params_path=params_path,
                                    build_metrics_path=data_metrics_path)
        # Also logs candidate.<suite>.<metric> on this run, linked to the LoggedModel.
        result = mlflow_registry.promote(model_dir, decision, cfg, tags, run_id=run.run_id,
                                         digest=digest, params=model_params)
        decision = result.decision  # the gate's verdict plus whether the version loads
        outcome = PromoteOutcome(decision, result)
        write_json(decision_path, outcome.to_json())
        headline_tags = {"tracer1.decision": decision.decision,
                         "tracer1.model_version": result.version}
        run.set_tags(headline_tags)
        run.log_metrics({"promoted": float(decision.promoted)})
        run.log_parent(tags=headline_tags, metrics={"promoted": float(decision.promoted)})
        run.log_artifact(decision_path)
        run.log_dataset(report_path, "eval_report", lineage.file_hash(report_path),
                        context="evaluation")
        if result.load_error is not None:
            raise UnloadableModelError(result.load_error)
    return outcome
