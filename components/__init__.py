"""Kubeflow components: one per pipeline stage, each a thin wrapper over the package.

Every component runs `tracer1 run-stage <stage>` (`tracer1.workspace.run_stage`) with its
artifacts' paths — the same stage function the CLI and `dvc.yaml` run — so no stage
logic or default lives here.
"""

from components.stages import (
    ENTRYPOINT,
    IMAGE,
    build_dataset,
    collect_feedback,
    evaluate,
    gate,
    prepare_base,
    promote,
    sft,
    stage1_grpo,
    stage2_rft,
    validate_dataset,
)

__all__ = [
    "ENTRYPOINT",
    "IMAGE",
    "build_dataset",
    "collect_feedback",
    "evaluate",
    "gate",
    "prepare_base",
    "promote",
    "sft",
    "stage1_grpo",
    "stage2_rft",
    "validate_dataset",
]
