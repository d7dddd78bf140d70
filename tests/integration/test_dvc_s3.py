"""The DVC remote on S3 (dvc-s3) against a real S3-compatible server on loopback: expert
trajectories pushed and pulled back bit-identical; endpoint and credentials only from the
environment."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from tests.helpers import run
from tests.integration import s3
from tests.integration.servers import s3_server

pytestmark = pytest.mark.integration


def digests(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_trajectories_round_trip_through_s3(project_copy, tmp_path_factory, monkeypatch):
    proj = project_copy
    for key, value in s3.CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        s3.make_bucket(server.url, "tracer1-dvc")
        # Endpoint and credentials from the environment, as on a cluster: the committed
        # remote names only the bucket.
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        run(["dvc", "remote", "add", "s3", "s3://tracer1-dvc/store"], proj)
        run(["dvc", "repro", "build_dataset"], proj, timeout=600)
        data = proj / "data/trajectories"
        before = digests(data)
        assert {"train.jsonl", "val.jsonl", "test.jsonl"} <= set(before)

        run(["dvc", "push", "-r", "s3", "build_dataset"], proj)
        assert s3.keys(server.url, "tracer1-dvc", "store/")  # content-addressed objects

        shutil.rmtree(data)
        shutil.rmtree(proj / ".dvc/cache")
        run(["dvc", "pull", "-r", "s3", "build_dataset"], proj)
        assert digests(data) == before

    # The endpoint and credentials came from the environment and were written nowhere.
    for path in [proj / ".dvc/config", proj / "dvc.lock", *proj.glob(".dvc/config.local")]:
        if path.exists():
            assert not s3.leaks(path.read_text()), path
