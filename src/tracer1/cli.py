"""`tracer1 <stage>`: one subcommand per pipeline stage, the same functions dvc.yaml and the
Kubeflow components call. Heavy libraries are imported inside the commands so `--help` is fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tracer1.config import DEFAULT_PARAMS, ConfigError, Params, load_params

app = typer.Typer(
    help="TraceR1 pipeline stages: anticipatory planners trained with trajectory GRPO.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ParamsOpt = Annotated[
    Path, typer.Option("--params", help="params file choosing the stage settings")
]


def _load(path: Path) -> Params:
    try:
        return load_params(path)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@app.command("build-dataset")
def build_dataset_cmd(params: ParamsOpt = DEFAULT_PARAMS) -> None:
    """Run the scripted experts over the configured suites and seeds → expert trajectories."""
    from tracer1.data.build import build_dataset

    cfg = _load(params).build_dataset
    try:
        metrics = build_dataset(cfg, progress=sys.stderr.isatty())
    except (KeyError, ValueError) as exc:
        raise _fail(f"error: {exc}") from None
    splits = ", ".join(f"{k}={v['episodes']}" for k, v in metrics["splits"].items())
    typer.echo(
        f"build_dataset: expert success {metrics['expert_success_rate']:.1%}; "
        f"episodes {splits} → {cfg.out_dir}"
    )


@app.command("validate-dataset")
def validate_dataset_cmd(
    params: ParamsOpt = DEFAULT_PARAMS,
    input_dir: Annotated[
        Path | None, typer.Option("--input", help="trajectory directory (default: params)")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="report directory (default: params)")
    ] = None,
) -> None:
    """Validate a trajectory directory with Great Expectations; exit 1 on any violation."""
    import dataclasses

    from tracer1.data.validation import format_summary, validate_dataset

    cfg = _load(params).validate_dataset
    overrides = {"input_dir": str(input_dir)} if input_dir else {}
    if out_dir:
        overrides["out_dir"] = str(out_dir)
    report = validate_dataset(dataclasses.replace(cfg, **overrides))
    typer.echo(format_summary(report), err=not report.success)
    if not report.success:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
