"""SIGTERM ends a stage like an exception would: `finally` blocks run (browser pools,
temporary directories, MLflow runs), instead of the process vanishing mid-write."""

import os
import signal
import subprocess
import sys

import pytest

from tracer1.cli import exit_on_sigterm


def test_sigterm_becomes_system_exit_and_finally_runs():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    try:
        exit_on_sigterm()
        with pytest.raises(SystemExit) as exited:
            try:
                os.kill(os.getpid(), signal.SIGTERM)  # delivered before the next line runs
                cleaned.append(False)
            finally:
                cleaned.append(True)
        assert exited.value.code == 128 + signal.SIGTERM
        assert cleaned == [True]  # the line after the kill never ran; finally did
    finally:
        signal.signal(signal.SIGTERM, before)


def test_every_command_installs_it():
    code = ("import signal, sys\n"
            "from typer.testing import CliRunner\n"
            "from tracer1.cli import app, exit_on_sigterm\n"
            "CliRunner().invoke(app, ['report', '--params', '/nonexistent.yaml'])\n"
            "print(signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.strip().endswith("True")
