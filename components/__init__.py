"""Kubeflow components: one per pipeline stage, each a thin wrapper over the package.

Every component runs `tracer1 run-stage <stage>` (`tracer1.workspace.run_stage`) with its
artifacts' paths — the same stage function the CLI and `dvc.yaml` run — so no stage
logic or default lives here. A multi-GPU pipeline runs the training stages' `*_trainjob`
twins instead: `tracer1 trainjob <stage>`, a Kubeflow Trainer TrainJob of the same image.
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
    sft_trainjob,
    stage1_grpo,
    stage1_grpo_trainjob,
    stage2_rft,
    stage2_rft_trainjob,
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
    "sft_trainjob",
    "stage1_grpo",
    "stage1_grpo_trainjob",
    "stage2_rft",
    "stage2_rft_trainjob",
    "validate_dataset",
]
