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


def with_declared_artifacts(get_outputs):
    """`get_outputs_for_task` that also returns the task's declared output artifacts.

    A KFP launcher uploads every declared output artifact from its path after the
    container exits; kfp.local only reads the executor-output file, which the kfp
    Python executor writes and a container component (ours: the plain CLI) does not.
    """
    def outputs_for_task(executor_input, component_spec):
        from kfp.local import executor_output_utils

        executor_output = executor_output_utils.load_executor_output(
            executor_input.outputs.output_file)
        for name, artifacts in executor_input.outputs.artifacts.items():
            if name not in executor_output.artifacts:
                executor_output.artifacts[name].CopyFrom(artifacts)
        return executor_output_utils.get_outputs_from_executor_output(
            executor_output=executor_output, executor_input=executor_input,
            component_spec=component_spec)

    return outputs_for_task


def with_named_task_outputs(resolve):
    """A condition-channel resolver that also finds `<task>-<output>` parameters.

    The compiled condition of `dsl.If(gate.outputs["decision"] == ...)` reads the
    channel `gate-decision`; kfp.local resolves only `<task>-Output` / `<task>--<name>`
    channels as task outputs (the KFP backend resolves any name), so try each split.
    """
    def resolve_channel(channel_ref, io_store):
        value = resolve(channel_ref, io_store)
        ref = channel_ref.replace("pipelinechannel--", "")
        for cut in (i for i, ch in enumerate(ref) if ch == "-" and value is None):
            try:
                value = io_store.get_task_output(ref[:cut], ref[cut + 1:])
            except (KeyError, ValueError):
                continue
        return value

    return staticmethod(resolve_channel)


def use_local_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let kfp.local run the container components in subprocesses of this interpreter."""
    from kfp.local import executor_output_utils
    from kfp.local import subprocess_task_handler as handler
    from kfp.local.orchestrator.enhanced_dag_orchestrator import ConditionEvaluator

    monkeypatch.setattr(ConditionEvaluator, "_resolve_pipeline_channel", with_named_task_outputs(
        ConditionEvaluator._resolve_pipeline_channel))
    monkeypatch.setattr(executor_output_utils, "get_outputs_for_task",
                        with_declared_artifacts(executor_output_utils.get_outputs_for_task))

    run = handler.run_local_subprocess
    monkeypatch.setattr(handler.SubprocessTaskHandler, "validate_not_container_component",
                        lambda self, full_command: None)
    monkeypatch.setattr(handler, "run_local_subprocess",
                        lambda full_command, env_vars=None: run(local_command(full_command),
                                                                env_vars))
