"""Real servers on loopback for integration tests: an S3-compatible store (moto_server) and
the MLflow tracking server of `mlflow/server.sh`, each in its own process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO, VENV_BIN

START_TIMEOUT_S = 180  # an MLflow server takes 20-45 s on 2 cores; more beside other tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        """Signal the whole process group; wait until the server and its workers are gone."""
        if group_alive(self.proc.pid):
            os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)


@contextmanager
def serve(cmd: list[str], url: str, ready: str, log: Path,
          env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """Start `cmd`, wait until GET `ready` answers 200, yield; kill what is left on exit."""
    full_env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
                **(env or {})}
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, env=full_env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(url, proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not responds(ready):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{cmd[0]} did not come up:\n{log.read_text()}")
            time.sleep(0.5)
        yield server
    finally:
        server.stop(signal.SIGKILL, timeout=30)


def mlflow_server(state: Path, env: Mapping[str, str] | None = None):
    """`mlflow/server.sh` with its SQLite store in `state`; artifacts there unless `env` sets
    MLFLOW_ARTIFACTS_DESTINATION."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full = {"MLFLOW_BACKEND_STORE_URI": f"sqlite:///{state}/server.db",
            "MLFLOW_ARTIFACTS_DESTINATION": str(state / "artifacts"),
            "MLFLOW_PORT": str(port), **(env or {})}
    return serve(["bash", str(REPO / "mlflow/server.sh")], url, f"{url}/health",
                 state / "server.log", full)


def s3_server(state: Path):
    """moto's S3-compatible server (in memory) on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return serve(["moto_server", "-H", "127.0.0.1", "-p", str(port)], url, url,
                 state / "s3.log")
