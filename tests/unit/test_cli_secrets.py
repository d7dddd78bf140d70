"""Credentials never reach the terminal: a password inside `MLFLOW_TRACKING_URI` is redacted
in the CLI's errors, tracebacks, logs, warnings and prints (`tracer1.cli.run_app`)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from tests.integration.servers import free_port

SECRET = "pw-" + secrets.token_hex(8)


def _cli(args, cwd, **env):
    full = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": "10", **env}
    return subprocess.run([sys.executable, "-m", "tracer1.cli", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=180)


# Both ways `tracer1` runs: re-executed under tcmalloc (where installed), and opted out.
@pytest.mark.parametrize("malloc", [{}, {"TRACER1_MALLOC": "system"}], ids=["default", "system"])
def test_an_unreachable_tracking_server_never_shows_its_password(tmp_path, malloc):
    """The finding: MLflow's "API request to http://user:secret@host/... failed" went to
    stderr verbatim. Now the stage still fails, with the URI shown, its password not."""
    (tmp_path / "params.yaml").write_text("{}\n")
    uri = f"http://tracer1:{SECRET}@127.0.0.1:{free_port()}/"
    proc = _cli(["prepare-base", "--params", "params.yaml"], tmp_path, MLFLOW_TRACKING_URI=uri,
                **malloc)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert SECRET not in proc.stdout + proc.stderr
    assert "MlflowException" in proc.stderr  # the traceback is still there to debug with
    assert "http://tracer1:***@127.0.0.1" in proc.stderr  # and where it tried to connect
    assert "Traceback (most recent call last)" in proc.stderr


# A command added to the app in a child process: it prints, logs, warns and raises with the
# URI in each, through the same boundary `tracer1` runs behind. Logging is configured before
# the boundary too, as a host process (Kubeflow's executor) may have done.
CHILD = """
import logging, os, sys, warnings
logging.basicConfig(level=logging.INFO)
from tracer1 import cli

@cli.app.command("leak")
def leak() -> None:
    uri = os.environ["MLFLOW_TRACKING_URI"]
    print("stdout", uri)
    logging.getLogger("tracer1.test").warning("logged %s", uri)
    warnings.warn(f"warned {uri}")
    raise ConnectionError(f"raised {uri}")

@cli.app.command("other")
def other() -> None:
    pass

sys.argv = ["tracer1", "leak"]
cli.run_app()
"""


def test_prints_logs_warnings_and_tracebacks_are_redacted(tmp_path):
    uri = f"https://svc:{SECRET}@mlflow.example:443/"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    shown = "https://svc:***@mlflow.example:443/"
    assert f"stdout {shown}" in proc.stdout
    for line in (f"logged {shown}", f"warned {shown}", f"ConnectionError: raised {shown}"):
        assert line in proc.stderr, proc.stderr


def test_a_kubeflow_component_never_shows_the_password_either(tmp_path):
    """A component's body is `workspace.run_stage` in the executor's process: its uncaught
    error (printed by Python itself) is redacted as the CLI's is."""
    (tmp_path / "params.yaml").write_text("{}\n")
    uri = f"http://tracer1:{SECRET}@127.0.0.1:{free_port()}/"
    code = ("from tracer1.workspace import run_stage\n"
            "run_stage('prepare_base', 'params.yaml', {}, {'base': 'out'})\n")
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
           "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "MlflowException" in proc.stderr and "http://tracer1:***@127.0.0.1" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
