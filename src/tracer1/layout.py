"""Where every stage reads and writes: derived from the stage, the variant and the root.

No path is configured: `params.yaml` chooses values, and the places they go follow from
the stage's name, so the stages, `tracer1.workspace` (the Kubeflow bridge), lineage and
the tests all ask one object instead of rebuilding paths by hand, and `dvc.yaml` is
checked against it (tests/unit/test_pipeline_wiring.py).

The convention: a stage's full record is ``reports/<stage>/<variant>.json`` (or
``reports/<stage>.json`` for a stage that runs once), its training curve
``<variant>_curve.csv`` and figure ``<variant>_curve.png`` beside it, and its *summary* (the
small flat JSON `dvc metrics` tabulates) ``<record>_metrics.json``, or ``metrics.json`` in a
stage's own folder (``reports/validation``, ``reports/eval``, ``reports/promote``).
Models are ``models/<variant>/<sft|stage1|stage2>`` on ``models/base``; data is
``data/trajectories`` (the expert splits) and ``data/feedback/<variant>``.

>>> lay = Layout(variant="anticipatory")
>>> str(lay.sft_model), str(lay.record("stage1_grpo")), str(lay.feedback)
('models/anticipatory/sft', 'reports/stage1_grpo/anticipatory.json', 'data/feedback/anticipatory')
>>> str(Layout("/work").eval_report), str(summary_path(lay.record("sft")))
('/work/reports/eval/report.json', 'reports/sft/anticipatory_metrics.json')
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

MODEL_DIRS = {"sft": "sft", "stage1_grpo": "stage1", "stage2_rft": "stage2"}
"""Training stage → the name of its model directory under ``models/<variant>/``."""
DIR_SUMMARY = "metrics.json"
"""The summary's name in a stage's own folder (reports/validation, eval, promote)."""

DATA, MODELS, REPORTS = "data", "models", "reports"


def summary_path(full: str | os.PathLike) -> Path:
    """The summary metrics file beside a stage's full record: ``x.json`` → ``x_metrics.json``."""
    full = Path(full)
    return full.with_name(f"{full.stem}_metrics.json")


@dataclass(frozen=True)
class Layout:
    """The project's paths under `root` for one planner `variant` (None: the stages that
    run once; asking a per-variant path of it is an error)."""

    root: Path = Path(".")
    variant: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def of(self, variant: str) -> Layout:
        """The same root for another variant."""
        return dataclasses.replace(self, variant=variant)

    def _variant(self) -> str:
        if not self.variant:
            raise ValueError("this path is per variant: use Layout(root, variant)")
        return self.variant

    # ------------------------------------------------------------------ data

    @property
    def trajectories(self) -> Path:
        """`build_dataset`'s expert splits (``{split}.jsonl``, ``screenshots/``): a DVC output."""
        return self.root / DATA / "trajectories"

    def split_file(self, split: str) -> Path:
        return self.trajectories / f"{split}.jsonl"

    @property
    def build_record(self) -> Path:
        """`build_dataset`'s full record: expert success, sizes, the data's identifiers."""
        return self.root / REPORTS / "build_dataset.json"

    @property
    def validation(self) -> Path:
        """`validate_dataset`'s folder: ``result.json``, Data Docs under ``docs/``."""
        return self.root / REPORTS / "validation"

    @property
    def validation_result(self) -> Path:
        from tracer1.data.validation.stage import RESULT_FILE

        return self.validation / RESULT_FILE

    @property
    def feedback(self) -> Path:
        """`collect_feedback`'s dataset for the variant (``feedback.jsonl``, screenshots)."""
        return self.root / DATA / "feedback" / self._variant()

    @property
    def feedback_file(self) -> Path:
        from tracer1.feedback import FEEDBACK_FILE

        return self.feedback / FEEDBACK_FILE

    # ---------------------------------------------------------------- models

    @property
    def base(self) -> Path:
        """`prepare_base`'s directory: the only base every later stage loads."""
        return self.root / MODELS / "base"

    def model(self, stage: str) -> Path:
        """Where the training `stage` (sft, stage1_grpo, stage2_rft) writes the variant's
        planner."""
        try:
            name = MODEL_DIRS[stage]
        except KeyError:
            raise ValueError(f"{stage!r} writes no model (known: {', '.join(MODEL_DIRS)})"
                             ) from None
        return self.root / MODELS / self._variant() / name

    @property
    def sft_model(self) -> Path:
        return self.model("sft")

    @property
    def stage1_model(self) -> Path:
        return self.model("stage1_grpo")

    @property
    def stage2_model(self) -> Path:
        return self.model("stage2_rft")

    # --------------------------------------------------------------- reports

    def record(self, stage: str) -> Path:
        """The full record (a DVC-cached JSON) of a per-variant `stage`."""
        return self.root / REPORTS / stage / f"{self._variant()}.json"

    def summary(self, stage: str) -> Path:
        """The summary `dvc metrics` shows beside `record(stage)`."""
        return summary_path(self.record(stage))

    def curve(self, stage: str) -> Path:
        """A training stage's per-step curve (CSV)."""
        return self.root / REPORTS / stage / f"{self._variant()}_curve.csv"

    def curve_plot(self, stage: str) -> Path:
        """The curve as a PNG: what `dvc plots` shows (an image needs no JavaScript)."""
        return self.root / REPORTS / stage / f"{self._variant()}_curve.png"

    @property
    def feedback_record(self) -> Path:
        return self.record("collect_feedback")

    @property
    def eval_dir(self) -> Path:
        """`evaluate`'s folder: the report, its flat metrics, markdown and figures."""
        return self.root / REPORTS / "eval"

    @property
    def eval_report(self) -> Path:
        from tracer1.evaluation.report import REPORT_FILE

        return self.eval_dir / REPORT_FILE

    @property
    def decision(self) -> Path:
        """`promote`'s decision JSON."""
        return self.root / REPORTS / "promote" / "decision.json"


__all__ = ["DIR_SUMMARY", "MODEL_DIRS", "Layout", "summary_path"]
