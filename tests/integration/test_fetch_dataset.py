"""`build_dataset` from a DVC revision: the trajectories a commit pins come back from the
DVC remote bit-identical, with that revision's data hash for lineage."""

import hashlib
import json

import pytest

from tests.helpers import run
from tracer1.data.fetch import FetchError, fetch_trajectories
from tracer1.lineage import dvc_out_hash

pytestmark = pytest.mark.integration


def digests(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_trajectories_of_a_revision_come_back_from_the_remote(project_copy, tmp_path,
                                                             monkeypatch):
    proj = project_copy
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    # An absolute remote: `dvc get` works on a clone, where a relative path would not resolve.
    run(["dvc", "remote", "modify", "local", "url", str(tmp_path / "storage")], proj)
    run(["dvc", "repro", "build_dataset"], proj, timeout=600)
    run(["dvc", "push", "build_dataset"], proj)
    run([*git, "add", "-A"], proj)
    run([*git, "commit", "-q", "-m", "data v1"], proj)
    rev = run(["git", "rev-parse", "HEAD"], proj).stdout.strip()

    dest = tmp_path / "fetched/trajectories"
    fetched = fetch_trajectories(str(proj), rev, dest)

    assert digests(dest) == digests(proj / "data/trajectories")
    assert fetched.data_md5 == dvc_out_hash(proj / "dvc.lock") and fetched.data_md5
    with pytest.raises(FetchError, match="no-such-rev"):
        fetch_trajectories(str(proj), "no-such-rev", tmp_path / "other")
    assert not (tmp_path / "other").exists()  # nothing half-written

    # The stage itself, in another directory: it fetches instead of building.
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "params.yaml").write_text((proj / "params.yaml").read_text())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{other}/mlflow.db")
    code = ("import json; from tracer1 import stages; from tracer1.config import load_params;"
            "m = stages.build_dataset(load_params('params.yaml'), 'params.yaml', "
            f"dvc_repo={str(proj)!r}, dvc_rev={rev!r}); print(json.dumps(m))")
    metrics = json.loads(run(["python", "-c", code], other).stdout.strip().splitlines()[-1])
    assert (metrics["source"], metrics["data_md5"]) == ("dvc", fetched.data_md5)
    assert digests(other / "data/trajectories") == digests(proj / "data/trajectories")
