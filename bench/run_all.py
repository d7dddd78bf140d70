"""Run the performance benchmarks, print one Markdown table, write `bench/results.{json,md}`.

| name | measures | default cost on 2 cores |
|---|---|---|
| `reward_throughput` | the Stage-1 trajectory reward, as one GRPO reward call | ~10 s |
| `dvc_noop` | `dvc repro` with nothing changed; a recorded `make run` time beside it | ~15 s |
| `grpo_overhead` | a Stage-1 GRPO step through our stage code vs a bare trl script | ~4 min |
| `stage_memory` | peak RSS of `sft`, `stage1_grpo`, `stage2_rft` at a few steps | ~2.5 min |
| `miniwob_pool` | our browser pool with 1–3 workers vs a plain miniwob loop | ~1.5 min |
| `model_throughput` | matmul peak; SFT, GRPO, generate tokens/s of SmolLM2 vs bare | ~10-15 min |

Each benchmark runs through its own `main(argv)` (they also run alone) and keeps its
full report in `bench/out/<name>.json`; this runner turns them into rows, one table.
A benchmark that fails is reported as failed and the others still run.

    python -m bench.run_all                                  # what `make bench` runs
    python -m bench.run_all --only grpo_overhead --repeats 5
    python -m bench.run_all --skip miniwob_pool stage_memory --quick
    python -m bench.run_all --only dvc_noop --full-run       # + `make run` on a fresh clone
    python -m bench.run_all --only model_throughput          # the default planner's tokens/s
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.results import SCHEMA, Row, machine, markdown_table, write_results

BENCHMARKS = ("reward_throughput", "dvc_noop", "grpo_overhead", "stage_memory", "miniwob_pool",
              "model_throughput")
# The pages replayed by default: one a single click, one three steps (typing).
MINIWOB_FAMILIES = ("click-button", "enter-text")
MIN_REPEATS = {"reward_throughput": 5, "miniwob_pool": 3}  # what those scripts accept


def repeats_for(name: str, repeats: int | None) -> list[str]:
    """The `--repeats` argument for a benchmark: none (its default) or at least its minimum.

    >>> repeats_for("miniwob_pool", 2), repeats_for("dvc_noop", 2), repeats_for("dvc_noop", None)
    (['--repeats', '3'], ['--repeats', '2'], [])
    """
    if repeats is None:
        return []
    return ["--repeats", str(max(repeats, MIN_REPEATS.get(name, 1)))]


def bench_argv(name: str, args: argparse.Namespace, out_dir: Path) -> list[str]:
    """The command line each benchmark's `main` gets."""
    argv = ["--out", str(out_dir / f"{name}.json"), *repeats_for(name, args.repeats)]
    if name == "grpo_overhead" and args.quick:
        argv += ["--steps", "3", "--batch-size", "4", "--generations", "2",
                 "--max-new-tokens", "32", "--episodes", "20"]
        argv += [] if args.repeats else ["--repeats", "1"]
    if name == "stage_memory" and args.quick:
        argv += ["--sft-steps", "1", "--grpo-steps", "1"]
    if name == "model_throughput" and args.quick:
        argv += ["--quick"]
    if name == "miniwob_pool":
        argv += ["--families", *(MINIWOB_FAMILIES[:1] if args.quick else MINIWOB_FAMILIES),
                 "--seeds", "2" if args.quick else "4"]
    if name == "dvc_noop":
        argv += ["--full-run"] if args.full_run else []
        if args.full_run_seconds is not None:
            argv += ["--full-run-seconds", str(args.full_run_seconds)]
    return argv


# ------------------------------------------------------------ reports → rows


def reward_rows(report: dict[str, Any]) -> list[Row]:
    result = report["result"]
    return [Row(
        "reward_throughput",
        f"Stage-1 trajectory reward ({report['n_forecasts']:,} forecasts, T={report['horizon']})",
        result["forecasts_per_s"], "forecasts/s", None,
        f"median of {report['repeats']} calls, one process",
    )]


def miniwob_rows(report: dict[str, Any]) -> list[Row]:
    results, paired = report["results"], report["paired_ratio_vs_plain"]
    pages = ", ".join(report["families"])
    how = (f"env steps/s replaying the expert's actions, {report['episodes']} episodes "
           f"({pages}), median of {report['repeats']} interleaved runs; ratio = median of "
           "per-repeat ratios to the plain loop")
    rows = [Row("miniwob_pool", "plain miniwob gymnasium loop, one browser",
                results["plain"]["median_steps_per_s"], "steps/s", None, how)]
    for name, row in results.items():
        if name == "plain":
            continue
        workers = name.split("-")[-1]
        rows.append(Row("miniwob_pool", f"our browser pool, {workers} worker(s) vs plain",
                        row["median_steps_per_s"], "steps/s", paired[name], how,
                        f"ratio of medians {report['ratio_vs_plain'][name]:.2f}"))
    return rows


def stored_rows(report: dict[str, Any]) -> list[Row]:
    """Rows a benchmark already made (`rows` in its report)."""
    return [Row(**row) for row in report["rows"]]


def runners() -> dict[str, tuple[Callable[[list[str]], dict[str, Any]], Callable]]:
    """name → (its `main`, its report → rows). Imported here: each pulls in its own stack."""
    from bench import (
        dvc_noop,
        grpo_overhead,
        miniwob_pool,
        model_throughput,
        reward_throughput,
        stage_memory,
    )

    return {
        "reward_throughput": (reward_throughput.main, reward_rows),
        "dvc_noop": (dvc_noop.main, stored_rows),
        "grpo_overhead": (grpo_overhead.main, stored_rows),
        "stage_memory": (stage_memory.main, stored_rows),
        "miniwob_pool": (miniwob_pool.main, miniwob_rows),
        "model_throughput": (model_throughput.main, stored_rows),
    }


def earlier_results(path: Path, rerun: set[str]) -> tuple[list[Row], dict[str, Any]]:
    """The rows and details of the benchmarks in an earlier `results.json` that this run
    does not repeat, each detail with the date it was measured (a partial run updates its
    own rows and keeps the others). No file: nothing kept. Read before anything runs, so
    an unreadable file stops the run at once instead of after minutes of measuring."""
    if not path.is_file():
        return [], {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA:
            raise ValueError(f"schema {data.get('schema')!r}, expected {SCHEMA}")
        date = data["machine"]["date"]
        rows = [Row(**row) for row in data["rows"] if row["bench"] not in rerun]
        details = {name: {"date": date, **detail} for name, detail in data["details"].items()
                   if name not in rerun and name in {row.bench for row in rows}}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SystemExit(f"{path}: cannot keep its other benchmarks' rows ({exc}); "
                         "move it away or run every benchmark") from None
    return rows, details


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=None,
                        help="run only these benchmarks")
    parser.add_argument("--skip", nargs="+", choices=BENCHMARKS, default=[],
                        help="leave these out")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats for every benchmark (default: each one's own; "
                        "reward_throughput needs >= 5, miniwob_pool >= 3)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes for a smoke run (numbers are not meaningful)")
    parser.add_argument("--full-run", action="store_true",
                        help="dvc_noop also times `make run` on a fresh clone (~25 min)")
    parser.add_argument("--full-run-seconds", type=float, default=None,
                        help="a `make run` wall time measured elsewhere, reported beside")
    parser.add_argument("--results-dir", type=Path, default=Path("bench"),
                        help="where results.json and results.md go")
    parser.add_argument("--out-dir", type=Path, default=Path("bench/out"),
                        help="where each benchmark's full report goes")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be >= 1")

    selected = [n for n in (args.only or BENCHMARKS) if n not in args.skip]
    kept_rows, kept = earlier_results(args.results_dir / "results.json", set(selected))
    info = machine()
    table = runners()
    rows: list[Row] = []
    errors: dict[str, str] = {}
    details: dict[str, Any] = {}
    for name in selected:
        run, to_rows = table[name]
        argv_b = bench_argv(name, args, args.out_dir)
        print(f"== {name} {' '.join(argv_b)}", flush=True)
        started = time.perf_counter()
        try:
            report = run(argv_b)
            rows += to_rows(report)
        except (Exception, SystemExit) as exc:  # one failure must not lose the others
            traceback.print_exc()
            errors[name] = f"{type(exc).__name__}: {exc}".strip()[:500]
        details[name] = {"date": info["date"], "seconds": round(time.perf_counter() - started, 1),
                         "argv": argv_b, "report": str(args.out_dir / f"{name}.json")}
        print(f"== {name}: {details[name]['seconds']:.0f} s", flush=True)
    info["load_average_after"] = machine()["load_average"]
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    rows = sorted(rows + kept_rows, key=lambda row: order.get(row.bench, len(order)))
    details = {**kept, **details}
    json_path, md_path = write_results(args.results_dir, info, rows, errors, details)
    print()
    print(markdown_table(rows), end="")
    for name, message in errors.items():
        print(f"FAILED {name}: {message}")
    print(f"\nwrote {json_path} and {md_path}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
