"""Run the pipeline's container components with `kfp.local.SubprocessRunner`, no Docker.

The components run `tini -- entrypoint.sh tracer1 run-stage …` in the project image;
here the image's entry point (which this machine does not have at /usr/bin/tini,
/app/scripts) is replaced by this interpreter running the same CLI, `python -m
tracer1.cli run-stage …`, so every stage really executes through the command a pod runs.
kfp.local refuses container components under the SubprocessRunner; its own tests lift
that check the same way.
"""

from __future__ import annotations

import sys

import pytest

import components


def local_command(command: list[str]) -> list[str]:
    """The component's command with the image's entry point replaced by this venv's CLI."""
    prefix = [*components.ENTRYPOINT, "tracer1"]
    assert command[:len(prefix)] == prefix, command
    return [sys.executable, "-m", "tracer1.cli", *command[len(prefix):]]


def use_local_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let kfp.local run the container components in subprocesses of this interpreter."""
    from kfp.local import subprocess_task_handler as handler

    run = handler.run_local_subprocess
    monkeypatch.setattr(handler.SubprocessTaskHandler, "validate_not_container_component",
                        lambda self, full_command: None)
    monkeypatch.setattr(handler, "run_local_subprocess",
                        lambda full_command, env_vars=None: run(local_command(full_command),
                                                                env_vars))
