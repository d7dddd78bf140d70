"""Expert trajectories of a given DVC revision, fetched from the project's DVC remote.

On a cluster, `build_dataset` can take the data a revision pinned instead of rebuilding
it: `dvc get` (the CLI, so the package never imports dvc) downloads the directory DVC
tracks at that git revision, and the revision's `dvc.lock` gives its hash for lineage.
The S3 endpoint and credentials come from the environment, as for `dvc pull`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tracer1.layout import Layout
from tracer1.lineage import dvc_out_hash

TIMEOUT_S = 1800


class FetchError(RuntimeError):
    """`dvc get` failed: the message carries its output."""


@dataclass(frozen=True)
class Fetched:
    repo: str
    rev: str
    data_md5: str | None


def fetch_trajectories(repo: str, rev: str, out_dir: str | os.PathLike,
                       path: str | None = None) -> Fetched:
    """Download `path` (default: the expert trajectories, `Layout.trajectories`) as DVC
    tracks it at `rev` of `repo` (a git URL or a local repository) into `out_dir`,
    replacing it only once the download is complete."""
    path = path if path is not None else Layout().trajectories.as_posix()
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=out.parent) as tmp:
        data, lock = Path(tmp) / "data", Path(tmp) / "dvc.lock"
        _dvc_get(repo, path, rev, data)
        _dvc_get(repo, "dvc.lock", rev, lock)
        if out.exists():
            shutil.rmtree(out)
        data.rename(out)
        return Fetched(repo, rev, dvc_out_hash(lock, path))


def _dvc_get(repo: str, path: str, rev: str, dest: Path) -> None:
    # DVC from this interpreter's environment (a dependency of tracer1), whatever PATH says.
    cmd = [sys.executable, "-m", "dvc", "get", repo, path, "--rev", rev, "-o", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise FetchError(f"dvc get {repo} {path} --rev {rev} failed ({proc.returncode}):\n"
                         f"{proc.stderr.strip() or proc.stdout.strip()}")


__all__ = ["FetchError", "Fetched", "fetch_trajectories"]
