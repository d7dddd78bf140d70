"""Dataset validation with Great Expectations: the `validate_dataset` stage.

* `checks`  — the contract as data (`Check`: table, GE expectation, kwargs, why);
* `frames`  — parsed episodes flattened into ``steps`` / ``episodes`` / ``splits`` tables;
* `gx_run`  — the only module importing Great Expectations (context, suites, Data Docs);
* `report`  — `ValidationReport`, `Outcome`, `format_summary`;
* `stage`   — `validate_dataset(cfg, input_dir, out_dir)`: strict parse → GE →
  ``result.json`` + ``docs/``.

Importing this package does not import Great Expectations.
"""

from tracer1.data.validation.report import Outcome, ValidationReport, format_summary
from tracer1.data.validation.stage import validate_dataset

__all__ = ["Outcome", "ValidationReport", "format_summary", "validate_dataset"]
