"""MLflow tracking for every stage: one run per stage, grouped under one pipeline run.

Each pipeline stage runs in its own process (`dvc repro` and Kubeflow both
start one per stage), so the parent cannot be a Python context: it is found —
or created — by the tag ``tracer1.pipeline_id``. The id comes from
``TRACER1_PIPELINE_ID`` (a Kubeflow component passes its pipeline job id) or
is derived from git HEAD and the hash of ``params.yaml``, so every stage of one
`dvc repro` lands under the same parent.

Usage, in a stage function::

    with stage_run("sft", params.sft, variant="anticipatory", cfg=params.tracking) as run:
        run.log_dataset("data/trajectories", "trajectories", lineage.dvc_out_hash())
        log = run.step_logger()  # a trainer callback's on_log calls log(state.global_step, logs)

The stages that judge the candidate (`evaluate`, `gate`, `promote`) also put their
headline numbers on the parent (`StageRun.log_parent`), so the runs table's top row
reads as the pipeline's result.

Nothing happens at import: the URI is resolved, the store folder created and
MLflow imported only when `configure` (or `stage_run`) is called. Params and
tags are scrubbed of credentials before they reach the store, and a process entry
(the CLI, a Kubeflow component) calls `redact_output` so nothing it prints or logs -
an MLflow error quoting ``http://user:password@host``, a traceback, MLflow's own
"View run at <tracking URI>" line - carries a credential either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from tracer1 import lineage
from tracer1.config import TrackingConfig

PIPELINE_ID_ENV = "TRACER1_PIPELINE_ID"
PIPELINE_TAG = "tracer1.pipeline_id"
KIND_TAG = "tracer1.kind"
"""``pipeline`` for the parent run, ``stage`` for a stage run."""
STAGE_TAG = "tracer1.stage"
VARIANT_TAG = "tracer1.variant"

_PARAM_VALUE_LIMIT = 6000  # MLflow 3 rejects longer param values
_DIGEST_LIMIT = 36  # the datasets table's digest column (a DVC "<md5>.dir" is exactly 36)
_REDACTED = "***"


# -------------------------------------------------------------------- secrets

_SECRET_WORDS = {"secret", "password", "passwd", "pwd", "token", "credential", "credentials",
                 "apikey", "passphrase"}
_SECRET_PAIRS = {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"),
                 ("session", "key"), ("auth", "key"), ("account", "key")}
# Values that are credentials whatever their key: AWS key ids, PEM keys, common token prefixes.
_SECRET_VALUE = re.compile(
    r"AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b(?:ghp|gho|ghs|github_pat|hf|sk|xox[bap])[-_][A-Za-z0-9_-]{16,}"
)
# user:password@ in a URL. The password runs to the *last* @ before the host's end (a
# password may hold an unescaped @); the user may be empty (``https://:token@host``).
# The scheme starts at a word's start and is short: `redact` runs over all the output
# (`RedactedStream`), and a long run of letters must not be tried at every position.
_URL_PASSWORD = re.compile(
    r"(?P<scheme>(?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)"
    r"(?P<user>[^:/@\s'\"]*):[^/\s?#'\"]+@")


def is_secret_key(key: str) -> bool:
    """True for keys naming a credential (``AWS_SECRET_ACCESS_KEY``, ``hf_token``).

    Whole words only, so ``max_new_tokens`` or ``tokenizer`` are not secrets.

    >>> [is_secret_key(k) for k in ("AWS_SECRET_ACCESS_KEY", "db.password", "max_new_tokens")]
    [True, True, False]
    """
    words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", key).lower())
             if w]
    return bool(_SECRET_WORDS.intersection(words)) or any(
        pair in _SECRET_PAIRS for pair in zip(words, words[1:], strict=False)
    )


def _env_secrets() -> list[str]:
    # Values of credential-named environment variables, longest first so a secret that
    # contains another is redacted whole. Short values ("1", "true") would redact noise.
    values = {v for k, v in os.environ.items() if is_secret_key(k) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)


def redact(value: str, env_secrets: list[str] | None = None) -> str:
    """`value` with credentials replaced by ``***``: environment secrets, URL passwords, keys."""
    for secret in _env_secrets() if env_secrets is None else env_secrets:
        value = value.replace(secret, _REDACTED)
    value = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{_REDACTED}@", value)
    return _SECRET_VALUE.sub(_REDACTED, value)


class RedactedStream:
    """A text stream that writes everything through `redact` (the rest is the stream's)."""

    def __init__(self, stream: Any):
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(redact(text) if isinstance(text, str) else text)
        return len(text)  # what the caller handed over, as a stream reports it

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, buffer...
        return getattr(self.stream, name)


def redact_output() -> None:
    """Redact credentials in everything this process prints or logs from now on.

    Wraps `sys.stdout` and `sys.stderr` in `RedactedStream` (once) and points the root
    logger's stream handlers at the wrapped streams: library errors quote whatever URI
    they were given (``API request to http://user:secret@host/... failed``), and MLflow
    prints the tracking URI after every run. Called at the process entries (`tracer1`'s
    `main`, `tracer1.workspace.run_stage`); writes straight to the file descriptors
    (a child process) are not covered.
    """
    originals = {}
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactedStream):
            originals[id(stream)] = wrapped = RedactedStream(stream)
            setattr(sys, name, wrapped)
    for handler in logging.getLogger().handlers:
        stream = getattr(handler, "stream", None)
        if isinstance(handler, logging.StreamHandler) and id(stream) in originals:
            handler.setStream(originals[id(stream)])


def scrub(items: Mapping[str, Any]) -> dict[str, str]:
    """Drop credential-named keys and redact credential-looking values (for params and tags)."""
    secrets = _env_secrets()
    return {k: redact(str(v), secrets) for k, v in items.items() if not is_secret_key(k)}


# ------------------------------------------------------------------ configure


@dataclass(frozen=True)
class Target:
    """Where tracking goes, as resolved by `configure`."""

    tracking_uri: str
    registry_uri: str
    experiment_id: str
    artifact_location: str | None
    """The experiment's artifact root for a local store; None where the server decides."""


DVC_ROOT_ENV = "DVC_ROOT"
"""Set by DVC for every stage command: the repository root. Under `dvc exp run --temp` (and
queued experiments) the stage runs in a copy under ``.dvc/tmp/exps/``, and DVC points this
at the workspace the experiment came from, not at the copy."""
PROJECT_MARKERS = ("dvc.yaml", "params.yaml")


def project_root(cwd: str | os.PathLike | None = None) -> Path:
    """Where relative store paths start: `DVC_ROOT` when DVC runs the stage, else the
    nearest folder at or above `cwd` holding ``dvc.yaml`` or ``params.yaml``, else `cwd`."""
    env = os.environ.get(DVC_ROOT_ENV, "").strip()
    if env:
        return Path(env).resolve()
    here = Path(cwd or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).is_file() for marker in PROJECT_MARKERS):
            return folder
    return here


def _local_store_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (as written: maybe relative), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(unquote(uri[len("sqlite:///"):]))


def _from_root(path: str | os.PathLike) -> Path:
    """`path` made absolute against the project root (an absolute path stays as it is)."""
    return (project_root() / Path(path).expanduser()).resolve()


def resolve_tracking_uri(cfg: TrackingConfig) -> str:
    """`MLFLOW_TRACKING_URI` if set, else `cfg.tracking_uri`; a local store made absolute
    against the project root (`project_root`).

    ``sqlite:///mlflow/mlflow.db``, ``file:mlruns`` or a bare ``mlruns`` name a store in
    the project, wherever the stage runs: a later `chdir`, a subprocess elsewhere or
    `dvc exp run --temp` (which runs in a throwaway copy of the repository) all reach the
    project's one store and registry. Server URIs are returned as they are.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.tracking_uri
    path = _local_store_path(uri)
    if path is not None:
        return f"sqlite:///{_from_root(path)}"
    parsed = urlparse(uri)
    if parsed.scheme == "file" and not parsed.netloc:
        return _from_root(unquote(parsed.path)).as_uri()
    if parsed.scheme == "" and uri:
        return str(_from_root(uri))
    return uri


def _is_local(uri: str) -> bool:
    return uri.startswith("sqlite:") or urlparse(uri).scheme in ("", "file")


def configure(cfg: TrackingConfig) -> Target:
    """Point MLflow tracking *and* registry at the configured store; ensure the experiment.

    For a local store the database folder is created here (never at import) and the
    experiment gets ``artifact_location`` = the absolute ``file://`` form of
    `cfg.artifact_location`; a remote server keeps its own artifact root (e.g. S3).
    `MLFLOW_REGISTRY_URI`, when set, wins for the registry, as it does in MLflow.
    """
    import mlflow

    uri = resolve_tracking_uri(cfg)
    db = _local_store_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    registry_uri = os.environ.get("MLFLOW_REGISTRY_URI") or uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(registry_uri)

    artifacts = _from_root(cfg.artifact_location).as_uri() if _is_local(uri) else None
    client = mlflow.MlflowClient(uri, registry_uri)
    experiment = client.get_experiment_by_name(cfg.experiment)
    if experiment is None:
        try:
            experiment_id = client.create_experiment(cfg.experiment, artifact_location=artifacts)
        except mlflow.exceptions.MlflowException:
            # Another stage process created it between our lookup and create.
            experiment = client.get_experiment_by_name(cfg.experiment)
            if experiment is None:
                raise
            experiment_id = experiment.experiment_id
    else:
        experiment_id = experiment.experiment_id
        artifacts = experiment.artifact_location
        if experiment.lifecycle_stage == "deleted":
            # Deleted in the UI, the name is still taken: bring it back rather than fail.
            client.restore_experiment(experiment_id)
    mlflow.set_experiment(experiment_id=experiment_id)
    return Target(uri, registry_uri, experiment_id, artifacts)


# ----------------------------------------------------------------- pipeline id


def pipeline_id(params_path: str | os.PathLike = "params.yaml", repo: str = ".") -> str:
    """`TRACER1_PIPELINE_ID`, else ``<git HEAD[:12]>-<params sha256[:12]>``.

    The working tree's dirtiness is deliberately left out: `dvc repro` rewrites
    dvc.lock between stages, which would split one pipeline into several parents.
    """
    env = os.environ.get(PIPELINE_ID_ENV, "").strip()
    if env:
        # Only characters that are safe inside a search filter's quoted string.
        return re.sub(r"[^A-Za-z0-9._:-]", "-", env)[:200]
    commit = (lineage.git_commit(repo) or "nogit")[:12]
    try:
        params = lineage.params_hash(params_path)
    except OSError:
        params = "noparams"
    return f"{commit}-{params}"


def _find_or_create_parent(client: Any, experiment_id: str, pid: str, tags: dict[str, str]) -> str:
    query = f"tags.`{PIPELINE_TAG}` = '{pid}' and tags.`{KIND_TAG}` = 'pipeline'"

    def oldest() -> str | None:
        runs = client.search_runs([experiment_id], filter_string=query, max_results=50)
        runs = sorted(runs, key=lambda r: (r.info.start_time, r.info.run_id))
        return runs[0].info.run_id if runs else None

    found = oldest()
    if found is not None:
        return found
    run = client.create_run(
        experiment_id,
        run_name=f"pipeline {pid}",
        tags={**tags, PIPELINE_TAG: pid, KIND_TAG: "pipeline"},
    )
    # Two stages starting at once (parallel Kubeflow tasks) may both create a parent;
    # both then agree on the oldest and the loser deletes its own.
    winner = oldest() or run.info.run_id
    if winner != run.info.run_id:
        client.delete_run(run.info.run_id)
    return winner


# --------------------------------------------------------------------- params


def flatten(section: Any, prefix: str = "") -> dict[str, Any]:
    """A dataclass or nested mapping as dotted keys.

    >>> flatten({"lora": {"r": 16, "target_modules": ("q", "v")}, "lr": 0.1})
    {'lora.r': 16, 'lora.target_modules': 'q,v', 'lr': 0.1}
    """
    if dataclasses.is_dataclass(section) and not isinstance(section, type):
        section = {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}
    if not isinstance(section, Mapping):
        return {prefix or "value": section}
    out: dict[str, Any] = {}
    for key, value in section.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if dataclasses.is_dataclass(value) or isinstance(value, Mapping):
            nested = flatten(value, name)
            out.update(nested if nested else {name: "{}"})
        elif isinstance(value, list | tuple):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def _clean_key(key: str) -> str:
    # MLflow keys allow alphanumerics, _ - . space / only.
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", key)[:250]


def _numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    # Trainer logs mix numbers with strings and None; only numbers become metrics.
    out = {}
    for key, value in metrics.items():
        if isinstance(value, bool | str) or value is None:
            continue
        if not isinstance(value, int | float):
            try:
                value = float(value)  # numpy / torch scalars
            except (TypeError, ValueError):
                continue
        out[_clean_key(str(key))] = float(value)
    return out


# ------------------------------------------------------------------ stage runs


class StageRun:
    """The MLflow run of one stage; every call writes straight to that run by id."""

    def __init__(self, run_id: str, parent_run_id: str, pipeline_id: str, client: Any):
        self.run_id = run_id
        self.parent_run_id = parent_run_id
        self.pipeline_id = pipeline_id
        self._client = client

    def log_params(self, params: Any) -> None:
        """Log a dataclass or (nested) mapping, flattened; credentials are dropped."""
        items = scrub({_clean_key(k): v for k, v in flatten(params).items()})
        if not items:
            return
        from mlflow.entities import Param

        self._client.log_batch(
            self.run_id, params=[Param(k, v[:_PARAM_VALUE_LIMIT]) for k, v in items.items()]
        )

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags; credential-named keys are dropped, credential values redacted."""
        from mlflow.entities import RunTag

        items = scrub(tags)
        if items:
            self._client.log_batch(self.run_id, tags=[RunTag(k, v) for k, v in items.items()])

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log the numeric entries of `metrics` (others are skipped) at `step`."""
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, v, now, step or 0) for k, v in _numeric(metrics).items()]
        if batch:
            self._client.log_batch(self.run_id, metrics=batch)

    def log_parent(self, metrics: Mapping[str, Any] | None = None,
                   tags: Mapping[str, Any] | None = None) -> None:
        """Put headline numbers and tags on the *pipeline* run, the runs table's top row.

        The parent is otherwise an empty row above its stages; `evaluate` puts the
        candidate's success per suite here, `gate` and `promote` the decision, so one
        pipeline compares with the next without opening a child. Numeric entries only,
        credentials scrubbed; a later stage overwrites a tag, and adds a metric point.
        """
        import time

        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        batch = [Metric(k, v, now, 0) for k, v in _numeric(metrics or {}).items()]
        items = [RunTag(k, v) for k, v in scrub(tags or {}).items()]
        if batch or items:
            self._client.log_batch(self.parent_run_id, metrics=batch, tags=items)

    def step_logger(self) -> Callable[[int, Mapping[str, Any]], None]:
        """A ``log(step, metrics)`` callable for a trainer callback's `on_log`."""

        def log(step: int, metrics: Mapping[str, Any]) -> None:
            self.log_metrics(metrics, step=step)

        return log

    def log_artifact(self, path: str | os.PathLike, artifact_path: str | None = None) -> None:
        self._client.log_artifact(self.run_id, str(path), artifact_path)

    def log_artifacts(self, directory: str | os.PathLike, artifact_path: str | None = None) -> None:
        self._client.log_artifacts(self.run_id, str(directory), artifact_path)

    def log_dataset(
        self, data: str | os.PathLike | Any, name: str, digest: str | None,
        context: str = "training",
    ) -> None:
        """Record a dataset input: a path or URI (metadata only, nothing uploaded) or a DataFrame.

        `digest` identifies the content, e.g. the DVC md5 of ``data/trajectories`` from
        dvc.lock (`tracer1.lineage.dvc_out_hash`); MLflow stores at most 36 characters.
        """
        import mlflow.data
        from mlflow.data.dataset_source_registry import resolve_dataset_source
        from mlflow.data.meta_dataset import MetaDataset

        active = mlflow.active_run()
        if active is None or active.info.run_id != self.run_id:
            raise RuntimeError("log_dataset must be called inside its stage_run block")
        digest = digest[:_DIGEST_LIMIT] if digest else None
        with warnings.catch_warnings():
            # MLflow warns that a local path matches two equivalent sources ("" and file://)
            # and that inferred integer columns cannot hold NaN; neither matters here.
            warnings.simplefilter("ignore", UserWarning)
            if isinstance(data, str | os.PathLike):
                text = str(data)
                uri = text if "://" in text else str(Path(text).resolve())
                dataset = MetaDataset(resolve_dataset_source(uri), name=name, digest=digest)
            else:
                dataset = mlflow.data.from_pandas(data, name=name, digest=digest)
            mlflow.log_input(dataset, context=context)


class NullRun:
    """A `StageRun` that records nothing: what every rank but 0 of a distributed stage gets,
    so the stage body runs unchanged on each rank and rank 0 writes the one MLflow run."""

    run_id = parent_run_id = pipeline_id = None

    def log_params(self, params: Any) -> None:
        pass

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        pass

    def log_parent(self, metrics: Mapping[str, Any] | None = None,
                   tags: Mapping[str, Any] | None = None) -> None:
        pass

    def step_logger(self) -> Callable[[int, Mapping[str, Any]], None]:
        return lambda step, metrics: None

    def log_artifact(self, path: str | os.PathLike, artifact_path: str | None = None) -> None:
        pass

    def log_artifacts(self, directory: str | os.PathLike, artifact_path: str | None = None) -> None:
        pass

    def log_dataset(self, data: Any, name: str, digest: str | None,
                    context: str = "training") -> None:
        pass


def run_name(stage: str, variant: str | None = None) -> str:
    """``sft`` or ``sft/anticipatory``: the stage's one name, plus the variant it trains."""
    return f"{stage}/{variant}" if variant else stage


@contextlib.contextmanager
def stage_run(
    stage: str,
    params_section: Any,
    *,
    variant: str | None = None,
    cfg: TrackingConfig,
    params_path: str | os.PathLike = "params.yaml",
) -> Iterator[StageRun | NullRun]:
    """One MLflow run for one stage, a child of the pipeline run; FAILED if the body raises.

    Logs the flattened `params_section` and lineage tags (git commit, params hash,
    the trajectories' DVC hash) on entry. The run is the process's active run while
    the body runs, so `mlflow.log_*` calls inside it land here too. On a rank other than 0
    of a distributed stage (`tracer1.distributed`) it is a `NullRun`: one run per stage.
    """
    from tracer1 import distributed

    if not distributed.is_main():
        yield NullRun()
        return
    import mlflow

    target = configure(cfg)
    client = mlflow.MlflowClient(target.tracking_uri, target.registry_uri)
    pid = pipeline_id(params_path)
    tags = lineage.lineage_tags(params_path=params_path)
    if commit := tags.get(lineage.GIT_COMMIT_TAG):
        tags["mlflow.source.git.commit"] = commit
    parent = _find_or_create_parent(client, target.experiment_id, pid, scrub(tags))
    client.update_run(parent, status="RUNNING")

    child_tags = {**tags, PIPELINE_TAG: pid, KIND_TAG: "stage", STAGE_TAG: stage}
    if variant:
        child_tags[VARIANT_TAG] = variant
    status = "FAILED"
    with mlflow.start_run(
        experiment_id=target.experiment_id,
        run_name=run_name(stage, variant),
        parent_run_id=parent,
        tags=scrub(child_tags),
    ) as active:
        run = StageRun(active.info.run_id, parent, pid, client)
        try:
            section = flatten(params_section)
            if variant:
                section["variant"] = variant
            run.log_params(section)
            yield run
            status = "FINISHED"
        finally:
            # The parent shows the state of the latest stage (each stage is its own process).
            with contextlib.suppress(Exception):
                client.set_terminated(parent, status=status)


__all__ = [
    "PIPELINE_ID_ENV",
    "NullRun",
    "StageRun",
    "Target",
    "configure",
    "flatten",
    "is_secret_key",
    "pipeline_id",
    "redact",
    "redact_output",
    "project_root",
    "resolve_tracking_uri",
    "run_name",
    "scrub",
    "stage_run",
]
