"""Lineage: which code, data and settings produced an artifact.

Identifiers, each cheap and readable without MLflow or DVC installed: the git
commit, the DVC hash of the expert trajectories (read from `dvc.lock`, so no
`dvc` import and no cache walk), a content digest of the trajectories (computed
wherever the data is, e.g. in a Kubeflow pod that has no `dvc.lock`), the DVC
revision they were fetched at, a hash of the params file, and the base model a planner
was trained on (`source_tags`: the spec, the source file's sha256). `build_dataset`
writes the data's identifiers into its metrics file, which travels to `promote`
with the pipeline, so a registry version names its data on a cluster too. Every
lookup returns None rather than raising when the thing is absent
(outside git, before the first `dvc repro`), because lineage is best-effort
metadata and must never stop a pipeline stage.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path, PurePosixPath

# Tag keys shared by tracking runs and registry versions, so one search finds both.
GIT_COMMIT_TAG = "tracer1.git_commit"
DATA_HASH_TAG = "tracer1.data_md5"
PARAMS_HASH_TAG = "tracer1.params_sha256"
DATA_DIGEST_TAG = "tracer1.data_sha256"
DATA_REV_TAG = "tracer1.dvc_rev"
DATA_REPO_TAG = "tracer1.dvc_repo"

# The base model a planner was trained on (prepare_base's source.json).
BASE_SOURCE_TAG = "tracer1.base_source"
BASE_SHA256_TAG = "tracer1.base_sha256"
BASE_KIND_TAG = "tracer1.base_kind"
BASE_DIST_TAG = "tracer1.base_distribution"
BASE_REVISION_TAG = "tracer1.base_revision"

# build_dataset's metrics key → the tag it becomes.
_BUILD_METRICS_TAGS = {"data_sha256": DATA_DIGEST_TAG, "data_md5": DATA_HASH_TAG,
                       "dvc_rev": DATA_REV_TAG, "dvc_repo": DATA_REPO_TAG}


GIT_COMMIT_ENV = "TRACER1_GIT_COMMIT"
"""The commit an image was built from (the Dockerfile's GIT_COMMIT build argument): a pod
has no `.git`, the build context leaves it out."""


def git_commit(repo: str | os.PathLike = ".") -> str | None:
    """The full commit hash of HEAD in `repo`; outside git (or without a commit) the
    image's `TRACER1_GIT_COMMIT`, else None."""
    built = os.environ.get(GIT_COMMIT_ENV, "").strip() or None
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return built
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and commit else built


def _norm(path: str) -> str:
    # dvc.lock writes paths relative to the dvc.yaml directory; compare them normalised
    # so "./data/trajectories/" and "data/trajectories" are the same output.
    return str(PurePosixPath(path.replace("\\", "/").strip()))


def dvc_out_hash(
    dvc_lock_path: str | os.PathLike = "dvc.lock", out_path: str | os.PathLike | None = None
) -> str | None:
    """The md5 DVC recorded for output `out_path` (default: the expert trajectories,
    `Layout.trajectories`) in `dvc.lock` (e.g. ``"97b8….dir"``).

    None when the lock file is missing, unreadable, or no stage outputs `out_path`.
    """
    import yaml

    try:
        data = yaml.safe_load(Path(dvc_lock_path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return None
    if out_path is None:
        from tracer1.layout import Layout

        out_path = Layout().trajectories
    want = _norm(str(out_path))
    for stage in stages.values():
        outs = stage.get("outs") if isinstance(stage, dict) else None
        for out in outs if isinstance(outs, list) else ():
            if not isinstance(out, dict) or _norm(str(out.get("path", ""))) != want:
                continue
            # DVC 3 writes `hash: md5` + `md5: …`; take the value the `hash` field names.
            algo = out.get("hash", "md5")
            value = out.get(algo) or out.get("md5")
            return str(value) if value else None
    return None


def file_hash(path: str | os.PathLike, length: int = 12) -> str:
    """Short sha256 of a file's bytes; raises FileNotFoundError if it is missing."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:length]


def tree_digest(root: str | os.PathLike, length: int = 16) -> str:
    """Short sha256 over a directory's files: relative paths and contents, in sorted order.

    The same files give the same digest wherever they lie; a renamed, added, removed or
    changed file changes it. Raises FileNotFoundError if `root` is not a directory.
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: not a directory")
    digest = hashlib.sha256()
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:length]


def data_tags(build_metrics_path: str | os.PathLike) -> dict[str, str]:
    """The data identifiers `build_dataset` wrote into its metrics file, as tags.

    Empty when the file is missing or unreadable (lineage never stops a stage).
    """
    import json

    try:
        metrics = json.loads(Path(build_metrics_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(metrics, dict):
        return {}
    return {tag: str(metrics[key]) for key, tag in _BUILD_METRICS_TAGS.items()
            if isinstance(metrics.get(key), str) and metrics[key]}


def source_tags(record: dict | None) -> dict[str, str]:
    """Tags naming a prepared base model from its `source.json` record
    (`tracer1.policy.source`): the spec as written in params, the kind, the sha256 of the
    source file, the distribution and version it came from, the hub revision. The tiny
    model (no base) is ``tracer1.base_source: none``; empty for no record."""
    if not isinstance(record, dict):
        return {}
    tags = {BASE_SOURCE_TAG: str(record.get("spec") or "none"),
            BASE_KIND_TAG: str(record.get("kind") or "none")}
    if record.get("sha256"):
        tags[BASE_SHA256_TAG] = str(record["sha256"])
    if record.get("distribution"):
        tags[BASE_DIST_TAG] = f"{record['distribution']}=={record.get('version') or '?'}"
    if record.get("revision"):
        tags[BASE_REVISION_TAG] = str(record["revision"])
    return tags


def base_tags(model_dir: str | os.PathLike) -> dict[str, str]:
    """`source_tags` of the base a planner directory loads on (the prepared base its
    `tracer1.json` names, or the copy bundled inside it). A tiny model (full weights, no
    base) gives ``tracer1.base_source: none``; a base without `source.json` (a directory
    or hub id used directly) its name alone; empty when `model_dir` has no card."""
    import json

    from tracer1.policy.model import META_FILE, resolve_base  # torch-free at import
    from tracer1.policy.source import SOURCE_FILE

    try:
        card = json.loads((Path(model_dir) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(card, dict):
        return {}
    if not card.get("lora") or not card.get("base_model"):
        return source_tags({"spec": None, "kind": "none"})
    base = Path(resolve_base(model_dir, str(card["base_model"])))
    try:
        record = json.loads((base / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {BASE_SOURCE_TAG: str(card["base_model"])}
    return source_tags(record)


def params_hash(path: str | os.PathLike = "params.yaml", length: int = 12) -> str:
    """Short sha256 of the params file (every value the pipeline chose)."""
    return file_hash(path, length)


def lineage_tags(
    repo: str | os.PathLike = ".",
    dvc_lock_path: str | os.PathLike = "dvc.lock",
    params_path: str | os.PathLike = "params.yaml",
    build_metrics_path: str | os.PathLike | None = None,
) -> dict[str, str]:
    """The lineage tags for a run or model version; absent identifiers are left out.

    With `build_metrics_path`, the identifiers `build_dataset` recorded there win over
    `dvc.lock`'s (a fetched revision's hash is the data's, whatever the local lock says).
    """
    tags: dict[str, str] = {}
    if commit := git_commit(repo):
        tags[GIT_COMMIT_TAG] = commit
    if data := dvc_out_hash(dvc_lock_path):
        tags[DATA_HASH_TAG] = data
    try:
        tags[PARAMS_HASH_TAG] = params_hash(params_path)
    except OSError:
        pass
    if build_metrics_path is not None:
        tags.update(data_tags(build_metrics_path))
    return tags
