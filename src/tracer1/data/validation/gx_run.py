"""The one module that talks to Great Expectations (1.24.1).

An ephemeral context (in-memory stores, nothing written to the repository, no
``gx/`` folder) with analytics and progress bars off, one pandas dataframe asset
+ suite + `ValidationDefinition` per table, and one local Data Docs site whose
directory the caller chooses. GE is imported inside the functions: its import
alone takes seconds.

Why `ValidationDefinition.run` and not a `Checkpoint`: a checkpoint passes the
same ``batch_parameters`` (hence the same dataframe) to every validation
definition it runs, and the same ``result_format``; our tables differ in both.
`ValidationDefinition.run` stores each result in the context's results store,
which is all `build_data_docs` needs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.data.validation.checks import Check
from tracer1.data.validation.frames import ROW_KEYS
from tracer1.data.validation.report import Outcome

if TYPE_CHECKING:
    import pandas as pd

MAX_EXAMPLES = 5  # failing rows kept per expectation in the report
_DATASOURCE = "tracer1"


def _context(docs_dir: Path | None) -> Any:
    """An in-memory GE context whose only Data Docs site (if any) is `docs_dir`."""
    # Belt and braces: the config flag below governs this context, the variable any
    # other GE code path that consults the environment.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if docs_dir is not None:
        sites["local_site"] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(Path(docs_dir).resolve()),  # GE wants absolute
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        # init_temp_docs_sites=False: gx.get_context(mode="ephemeral") would otherwise add a
        # default site under a fresh temp dir that is never cleaned up.
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _suite(context: Any, table: str, checks: Sequence[tuple[int, Check]]) -> Any:
    """Register a suite named after `table`; each expectation remembers its Check's index."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    expectations = [
        ExpectationConfiguration(
            type=check.type, kwargs=dict(check.kwargs), meta={"check": index},
            notes=check.why or None,
        ).to_domain_obj()
        for index, check in checks
    ]
    # Build the suite whole, then register it: `suite.add_expectation` on a registered
    # suite re-serialises the entire suite into the store on every call (quadratic; ~3 s
    # for 60 expectations).
    return context.suites.add(gx.ExpectationSuite(name=table, expectations=expectations))


def run_checks(
    frames: Mapping[str, pd.DataFrame], checks: Sequence[Check], docs_dir: Path | None = None
) -> list[Outcome]:
    """Validate every table against its checks; build Data Docs into `docs_dir` if given.

    Returns one Outcome per check, in the order of `checks`.
    """
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    context = _context(docs_dir)
    source = context.data_sources.add_pandas(_DATASOURCE)
    run_id = RunIdentifier(run_name="validate_dataset")  # one run groups all tables in the docs
    outcomes: dict[int, Outcome] = {}
    for table, frame in frames.items():
        mine = [(i, c) for i, c in enumerate(checks) if c.table == table]
        if not mine:
            continue
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe(table)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=table, data=batch, suite=_suite(context, table, mine))
        )
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={
                "result_format": "SUMMARY",
                # GE looks these columns up for each failing row: the file:line of the example.
                "unexpected_index_column_names": list(ROW_KEYS[table]),
                "partial_unexpected_count": MAX_EXAMPLES,
            },
            run_id=run_id,
        )
        for expectation_result in result.results:
            index = expectation_result.expectation_config.meta["check"]
            outcomes[index] = _outcome(checks[index], expectation_result)
    if docs_dir is not None:
        context.build_data_docs()
    return [outcomes[i] for i in range(len(checks)) if i in outcomes]


def _outcome(check: Check, result: Any) -> Outcome:
    """Translate one GE ExpectationValidationResult into our plain, JSON-ready Outcome."""
    info = result.exception_info or {}
    error = info.get("exception_message") if info.get("raised_exception") else None
    body = result.result or {}
    examples: list[dict[str, Any]] = []
    for row in body.get("partial_unexpected_index_list") or []:
        example = {k: plain(v) for k, v in row.items()}
        # Duplicate rows (same step twice) come back as identical examples: keep one.
        if example not in examples and len(examples) < MAX_EXAMPLES:
            examples.append(example)
    return Outcome(
        check=check,
        # An expectation that raised did not check anything: count it as failed.
        success=bool(result.success) and error is None,
        observed=plain(body.get("observed_value")),
        unexpected_count=plain(body.get("unexpected_count")),
        element_count=plain(body.get("element_count")),
        examples=tuple(examples),
        error=error,
    )


def plain(value: Any) -> Any:
    """numpy/pandas scalars and containers → JSON-ready Python values (NaN/NA → None)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return plain(item())
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
