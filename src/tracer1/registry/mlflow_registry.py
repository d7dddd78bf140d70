"""The one module that talks to the MLflow model registry. Aliases only, never stages.

Every candidate that reaches `promote` is registered as a version of the model,
once: a retried `promote` (Kubeflow retries a failed step) finds the version it
registered before by the candidate's content digest (tag ``tracer1.candidate``)
and reuses it. The version is then loaded back and asked for one plan; only a
version that works gets the alias ``challenger``, and ``champion`` moves only
when the gate also says promote, so a rejection or a broken artifact leaves the
serving champion untouched. Each version carries its lineage and verdict as
tags (git commit, DVC hash of the expert trajectories, params hash, the base
model's source and sha256, the candidate's eval metrics, the decision - the
real one: ``reject`` with ``tracer1.load_error`` when it does not load), so the
registry alone answers "what is this model and why is it here". The version is
registered from an MLflow 3 LoggedModel whose params are the training settings and
whose metrics are the candidate's evaluation numbers. MLflow is imported inside the
functions.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracer1.config import PromoteConfig
from tracer1.policy.base import Planner
from tracer1.policy.model import META_FILE
from tracer1.registry.gate import Decision, RegistryState, with_load_check

CHAMPION = "champion"
CHALLENGER = "challenger"
DECISION_TAG = "tracer1.decision"
CANDIDATE_TAG = "tracer1.candidate"
"""The digest of the candidate's directory (`lineage.tree_digest`): one version per model."""
LOAD_ERROR_TAG = "tracer1.load_error"
COMPARED_TAG = "tracer1.compared_champion"
MODEL_ID_TAG = "tracer1.model_id"
"""The LoggedModel (``m-…``) a version was registered from (`version_model_id`)."""
PENDING = "pending"
"""The decision tag between registering a version and loading it back; a process that dies
there leaves it, and the retry that reuses the version replaces it."""
_TAG_VALUE_LIMIT = 5000  # MLflow's limit on a model version tag value

# Registry lookups that mean "not there" (a missing model or alias); anything else —
# a server that is down, a permission error — must propagate, or an outage would read
# as "no champion yet" and promote over the real one.
_MISSING = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


@dataclass(frozen=True)
class PromotionResult:
    """What `promote` did to the registry."""

    model_name: str
    version: str
    """The version registered for this candidate."""
    aliases: tuple[str, ...]
    """Aliases this call pointed at `version`: ``challenger`` when it loads, ``champion``
    too on promote; none when it does not load."""
    champion_before: str | None
    champion_after: str | None
    decision: Decision
    """The verdict as recorded: the gate's, plus the ``loadable`` check."""
    reused: bool = False
    """`version` was registered by an earlier attempt for the same candidate."""
    load_error: str | None = None
    """Why the version does not load back as a Planner (None: it does)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "version": self.version,
            "aliases": list(self.aliases),
            "champion_before": self.champion_before,
            "champion_after": self.champion_after,
            "model_uri": f"models:/{self.model_name}/{self.version}",
            "reused": self.reused,
            "load_error": self.load_error,
        }


def _client() -> Any:
    import mlflow

    return mlflow.MlflowClient()


@contextlib.contextmanager
def _run(run_id: str | None) -> Iterator[None]:
    """Make `run_id` (or the active run, or a new ``register`` run) the active run."""
    import mlflow

    active = mlflow.active_run()
    if active is not None and run_id in (None, active.info.run_id):
        yield
        return
    with mlflow.start_run(run_id=run_id, run_name=None if run_id else "register"):
        yield


def register_candidate(
    model_dir: str | os.PathLike,
    *,
    name: str,
    tags: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> str:
    """Log `model_dir` as a pyfunc planner under `run_id` and register it; returns the version.

    Without `run_id` the active run is used, or a new ``register`` run is started for the
    upload; a `run_id` that is not active is resumed and ended again (status FINISHED).
    MLflow 3 stores the model as a LoggedModel (``models:/m-…``) under the experiment's
    artifact root, linked to the run, with `params` (the training settings) as its params;
    the version is registered from that LoggedModel's URI. `tags` are set on the new version
    (credentials scrubbed), plus ``tracer1.model_id``.
    """
    from tracer1.registry.pyfunc import log_planner_model
    from tracer1.tracking import scrub

    with _run(run_id):
        info = log_planner_model(model_dir, params=params)
    return _register(info.model_uri, name, {**scrub(tags or {}), MODEL_ID_TAG: info.model_id})


def _register(model_uri: str, name: str, tags: dict[str, str]) -> str:
    import mlflow

    # Creates the registered model on first use. The sqlite store returns an int version,
    # a REST server a string: normalise to str everywhere.
    return str(mlflow.register_model(model_uri, name, tags=tags).version)


def version_model_id(name: str, version: str) -> str | None:
    """The LoggedModel behind version `version` (``m-…``); None for a version logged otherwise.

    `ModelVersion.model_id` when the registry store keeps it; MLflow 3's SQL registry store
    (sqlite, and the server on top of it) drops it, so the version's source, the
    ``models:/m-…`` URI it was registered from, is read instead.
    """
    mv = _client().get_model_version(name, version)
    if mv.model_id:
        return str(mv.model_id)
    source = mv.source or ""
    prefix = "models:/m-"
    if source.startswith(prefix) and "/" not in source[len("models:/"):]:
        return source[len("models:/"):]
    return mv.tags.get(MODEL_ID_TAG)


def link_eval_metrics(model_id: str | None, decision: Decision, run_id: str | None) -> None:
    """Log the candidate's evaluation numbers (``candidate.<suite>.<metric>``) on `run_id`
    (the ``promote`` run), linked to LoggedModel `model_id` (None: the run only): the
    model's page then shows what it scored, not only the run that scored it."""
    import mlflow

    metrics = {f"candidate.{suite}.{decision.primary_metric}": float(value)
               for suite, value in decision.candidate_metrics.items()}
    if metrics:
        with _run(run_id):
            mlflow.log_metrics(metrics, model_id=model_id, synchronous=True)


def set_alias(name: str, alias: str, version: str | int) -> None:
    """Point `alias` of registered model `name` at `version` (moving it if it exists)."""
    _client().set_registered_model_alias(name, alias, str(version))


def alias_version(name: str, alias: str) -> str | None:
    """The version `alias` points at; None if the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(_client().get_model_version_by_alias(name, alias).version)
    except MlflowException as exc:
        if exc.error_code in _MISSING:
            return None
        raise


def champion_version(name: str) -> str | None:
    """The version behind ``@champion``; None before the first promotion."""
    return alias_version(name, CHAMPION)


def version_tags(decision: Decision, model_dir: str | os.PathLike) -> dict[str, str]:
    """Tags for a candidate's version: the verdict, its eval metrics and the model card."""
    tags = {
        DECISION_TAG: decision.decision,
        "tracer1.gate_failures": ",".join(c.name for c in decision.failures) or "none",
        "tracer1.candidate_policy": decision.candidate or "",
        COMPARED_TAG: decision.champion_version or "none",
    }
    for suite, value in decision.candidate_metrics.items():
        tags[f"tracer1.eval.{suite}.{decision.primary_metric}"] = f"{value:.4f}"
    try:
        card = json.loads((Path(model_dir) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        card = {}
    for key in ("variant", "stage", "horizon", "history"):
        if isinstance(card, dict) and key in card:
            tags[f"tracer1.{key}"] = str(card[key])
    from tracer1.lineage import base_tags

    tags.update(base_tags(model_dir))  # the base it was trained on: spec, sha256, origin
    return tags


def candidate_version(name: str, digest: str) -> str | None:
    """The version of `name` already registered for the candidate with `digest`, if any
    (the oldest, should two attempts have raced); None when there is none yet."""
    from mlflow.exceptions import MlflowException

    # The digest is hex, safe inside the filter's quotes; the model name (from params.yaml)
    # is compared here rather than quoted into the query.
    query = f"tags.`{CANDIDATE_TAG}` = '{digest}'"
    try:
        found = _client().search_model_versions(query)
    except MlflowException as exc:
        if exc.error_code in _MISSING:
            return None
        raise
    versions = sorted(int(v.version) for v in found if v.name == name)
    return str(versions[0]) if versions else None


def registry_state(name: str, digest: str, scored: str | None = None) -> RegistryState:
    """What the gate must compare the candidate with `digest` against; `scored` is the
    champion version the report was scored against (None: none, or not said).

    Normally the registry's champion now. But when the champion *is* this candidate and
    the report did not score it, an earlier attempt of this step promoted it and died
    before reporting success; the retry judges the same report against the champion that
    attempt saw (its ``tracer1.compared_champion`` tag), or it would reject the champion
    for not having scored itself.
    """
    current = champion_version(name)
    if current is None or scored == current or candidate_version(name, digest) != current:
        return RegistryState(current)
    seen = _client().get_model_version(name, current).tags.get(COMPARED_TAG)
    if seen is None:
        return RegistryState(current)
    return RegistryState(None if seen == "none" else seen)


def set_version_tags(name: str, version: str, tags: Mapping[str, Any]) -> None:
    """Set `tags` on an existing version (credentials scrubbed, values cut to MLflow's limit)."""
    from tracer1.tracking import scrub

    client = _client()
    for key, value in scrub(tags).items():
        client.set_model_version_tag(name, version, key, value[:_TAG_VALUE_LIMIT])


def promote(
    model_dir: str | os.PathLike,
    decision: Decision,
    cfg: PromoteConfig,
    tags: Mapping[str, Any] | None = None,
    *,
    run_id: str | None = None,
    digest: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> PromotionResult:
    """Register the candidate once, load it back, then alias it ``challenger`` (and
    ``champion`` iff the gate promoted it).

    The candidate is identified by `digest` (default: `lineage.tree_digest(model_dir)`): a
    version already tagged with it (an earlier attempt of this step) is reused, never
    registered twice. A
    version that does not load back and plan (`check_loadable`) gets no alias; its tags
    and the returned `PromotionResult.decision` say ``reject`` with the load error -
    the caller decides whether that is fatal (`tracer1.registry.stage` raises
    `UnloadableModelError` after writing decision.json). A reused version's tags are
    rewritten with this verdict, except the champion's when it is not promoted again.

    Version tags: the decision and metrics, then `tags` (which win): the caller's
    lineage, computed once by `tracer1.registry.stage.promote_stage` with
    `tracer1.lineage.lineage_tags`. `params` (the training settings) become the params of
    the version's LoggedModel, and the candidate's eval metrics are linked to it
    (`link_eval_metrics`), a reused version's included.
    """
    from tracer1.lineage import tree_digest

    name = cfg.model_name
    before = champion_version(name)
    lineage = {**(tags or {}), CANDIDATE_TAG: digest or tree_digest(model_dir)}
    version = candidate_version(name, lineage[CANDIDATE_TAG])
    reused = version is not None
    if version is None:
        # Registered as pending: until it has loaded back, no tag may say "promote".
        pending = {**version_tags(decision, model_dir), **lineage, DECISION_TAG: PENDING}
        version = register_candidate(model_dir, name=name, tags=pending, run_id=run_id,
                                     params=params)
    link_eval_metrics(version_model_id(name, version), decision, run_id)
    problem = load_problem(name, version)
    final = with_load_check(decision, f"models:/{name}/{version}", problem)
    # The champion's tags say why it is the champion: judging it again without promoting
    # it (compared with itself, say) must not relabel the serving version "reject".
    if not (version == before and not final.promoted):
        set_version_tags(name, version, {**version_tags(final, model_dir), **lineage,
                                         LOAD_ERROR_TAG: problem or "none"})
    aliases = []
    if problem is None:
        set_alias(name, CHALLENGER, version)
        aliases.append(CHALLENGER)
        if final.promoted:
            set_alias(name, CHAMPION, version)
            aliases.append(CHAMPION)
    return PromotionResult(name, version, tuple(aliases), before, champion_version(name),
                           final, reused, problem)


class UnloadableModelError(RuntimeError):
    """A registered version that cannot be loaded back as a working Planner."""


def check_loadable(name: str, version: str) -> None:
    """Load version `version` back through the registry and plan once, or raise.

    MLflow only *warns* when its input-example check fails at log time; the champion
    alias must never point at a version `evaluate` and serving cannot load.
    """
    from tracer1.registry.pyfunc import input_example, load_planner, requests_from_frame

    uri = f"models:/{name}/{version}"
    try:
        texts = load_planner(uri).plan(requests_from_frame(input_example()))
    except Exception as exc:
        raise UnloadableModelError(f"{uri} does not load as a Planner: {exc!r}") from exc
    if not (isinstance(texts, list) and texts and all(isinstance(t, str) for t in texts[0])):
        raise UnloadableModelError(f"{uri}: plan() returned {texts!r}, not lists of texts")


def load_problem(name: str, version: str) -> str | None:
    """Why version `version` cannot serve (`check_loadable`'s error), or None when it can."""
    try:
        check_loadable(name, version)
    except UnloadableModelError as exc:
        return str(exc)
    return None


def load_champion(name: str) -> Planner | None:
    """The current champion as a Planner, or None when the registry has none."""
    from tracer1.registry.pyfunc import load_planner

    if champion_version(name) is None:
        return None
    return load_planner(f"models:/{name}@{CHAMPION}")
