"""Run the TraceR1 ablations: every arm × training seed as ``dvc exp run --temp -S …``.

    python bench/ablations/run.py --budget small          # all arms x 3 seeds (2-3.5 h, 2 CPUs)
    python bench/ablations/run.py --budget cpu            # the default training budget (~4 h)
    python bench/ablations/run.py --budget micro          # one arm, one seed: a smoke test
    python bench/ablations/run.py --seeds 0 --arms T5 T1  # a subset (resumes the rest later)
    python bench/ablations/run.py --budget cluster --set policy.base_model=/models/qwen
    python bench/ablations/run.py --aggregate-only        # re-make the table from out/

Where the experiments run: a scratch clone of this repository's committed HEAD
(``bench/ablations/work/repo``, git-ignored, reused between invocations with its
own DVC cache and run-cache). So the experiments never see uncommitted edits in
the checkout (other people's work in progress would silently become part of a
result), never contend for the checkout's DVC lock while a `dvc repro` runs there,
and the checkout's params.yaml, dvc.lock, models/ and reports/ are never touched.
Inside the clone each run is ``dvc exp run --temp -n NAME -S … evaluate``: the
overrides go to the experiment's own copy of params.yaml, and only the stages
`evaluate` needs run (`promote` and the registry are left out). Stages whose
params and inputs an earlier run already had are restored from DVC's run-cache
(e.g. one SFT per seed for the arms that differ only in Stage-1 settings).

How results come back: `reports/` is git-ignored and the eval report is a
``cache: false`` output, so neither the experiment commit, `dvc exp show` nor the
DVC cache keeps it once the temporary workspace is deleted. The experiments'
PATH therefore starts with a `tracer1` shim (`capture.py`) that runs the real CLI
and, after `evaluate`, copies `reports/` out. Each finished run is written as
``out/<budget>/runs/<arm>/s<seed>.json`` (eval report + stage metrics + timings);
a run whose file exists with the same overrides is skipped, so an interrupted
sweep resumes where it stopped. The table is then aggregated from all run files
(`table.py`) into results.json, results.md and results.png, each written atomically.

MLflow: each experiment logs into a throwaway store inside its temporary
workspace; MLFLOW_TRACKING_URI/MLFLOW_REGISTRY_URI are removed from the
experiments' environment so an ablation never writes to a team server or moves a
registry alias.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench.ablations` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.ablations import arms as arms_mod  # noqa: E402
from bench.ablations import table as table_mod  # noqa: E402
from bench.ablations.capture import CAPTURE_ENV, REAL_ENV  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VARIANT = arms_mod.CANDIDATE
STAGE_REPORTS = ("sft", "stage1_grpo", "collect_feedback", "stage2_rft")
TARGET = "evaluate"
DROP_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "TRACER1_PIPELINE_ID")
QUIET_ENV = {"DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
             "GX_ANALYTICS_ENABLED": "false", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
             # line by line through the pipe, so the log's stage times are when things happen
             "PYTHONUNBUFFERED": "1"}
RUNNING = re.compile(r"Running stage '([^']+)'")
CACHED = re.compile(r"Stage '([^']+)' is cached")


def log(message: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


def git(cwd: Path | None, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def fingerprint(budget: str, values: Mapping[str, Any]) -> str:
    """What a run was asked to be: a stored run with another fingerprint is re-run."""
    blob = json.dumps([budget, arms_mod.describe(values)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prepare_clone(repo: Path, work: Path) -> str:
    """A clean scratch clone of `repo`'s committed HEAD at `work`; returns its commit."""
    dirty = git(repo, "status", "--porcelain", "--untracked-files=no")
    if dirty:
        log(f"note: {len(dirty.splitlines())} tracked file(s) have uncommitted changes in "
            f"{repo}; the experiments run the committed HEAD only")
    if not (work / ".git").is_dir():
        work.parent.mkdir(parents=True, exist_ok=True)
        git(None, "clone", "--quiet", str(repo), str(work))
    git(work, "fetch", "--quiet", str(repo), "HEAD")
    git(work, "checkout", "--quiet", "--force", "--detach", "FETCH_HEAD")
    git(work, "clean", "-fdq")  # untracked files only; the clone's DVC cache is ignored
    return git(work, "rev-parse", "HEAD")


def write_shim(bin_dir: Path) -> Path:
    """`bin_dir/tracer1`: runs `capture.py` with this interpreter (see capture.py for why)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "tracer1"
    shim.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{HERE / 'capture.py'}' \"$@\"\n",
                    encoding="utf-8")
    shim.chmod(0o755)
    return shim


def real_executable(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"error: `{name}` not found (activate the project's .venv)")
    return found


def experiment_env(bin_dir: Path, capture: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    env.update(QUIET_ENV)
    env[REAL_ENV] = real_executable("tracer1")
    env[CAPTURE_ENV] = str(capture)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([str(bin_dir), venv_bin, env.get("PATH", "")])
    return env


def run_experiment(cmd: Sequence[str], cwd: Path, env: Mapping[str, str], log_path: Path
                   ) -> tuple[int, dict[str, float], list[str]]:
    """Run one `dvc exp run`, streaming its output to `log_path` with elapsed seconds.

    Returns the exit status, seconds per stage that ran (from DVC's "Running stage"
    lines to the next stage or the end) and the stages DVC restored from its run-cache.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    stages: dict[str, float] = {}
    cached: list[str] = []
    current: tuple[str, float] | None = None
    with open(log_path, "w", encoding="utf-8") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        proc = subprocess.Popen(cmd, cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                now = time.monotonic() - start
                out.write(f"[{now:7.1f}s] {line}")
                out.flush()  # `tail -f` the log while a run goes
                started, restored = RUNNING.search(line), CACHED.search(line)
                if started or restored:
                    if current is not None:
                        stages[current[0]] = round(now - current[1], 1)
                        current = None
                    if started:
                        current = (started.group(1), now)
                    else:
                        cached.append(restored.group(1))
            rc = proc.wait()
        except BaseException:
            # Ours to stop: the experiment's whole process group (dvc and its stage).
            os.killpg(proc.pid, 15)
            proc.wait()
            raise
        if current is not None:
            stages[current[0]] = round(time.monotonic() - start - current[1], 1)
        out.write(f"[exit {rc} after {time.monotonic() - start:.1f}s]\n")
    return rc, stages, cached


def read_capture(reports: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The eval report (schema-checked) and the candidate's stage metrics from `reports/`."""
    from tracer1.evaluation.report import check_report

    report_path = reports / "eval" / "report.json"
    if not report_path.is_file():
        raise RuntimeError(f"{report_path} was not captured: did `evaluate` run through the "
                           "tracer1 shim (dvc.yaml's cmd must start with `tracer1`)?")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    problems = check_report(report)
    if problems:
        raise RuntimeError(f"{report_path} breaks the report schema: {problems[:3]}")
    stages = {}
    for stage in STAGE_REPORTS:
        path = reports / stage / f"{VARIANT}.json"
        if path.is_file():
            metrics = json.loads(path.read_text(encoding="utf-8"))
            metrics.pop("curve", None)
            stages[stage] = metrics
    return report, stages


def run_one(budget: str, arm: str, seed: int, values: Mapping[str, Any], *, work: Path,
            out: Path, commit: str) -> dict[str, Any]:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", f"abl-{budget}-{arm}-s{seed}")
    name += f"-{datetime.datetime.now():%m%d%H%M%S}"
    capture = out / "captured" / arm / f"s{seed}"
    shutil.rmtree(capture, ignore_errors=True)
    bin_dir = out / ".bin"
    write_shim(bin_dir)
    cmd = [real_executable("dvc"), "exp", "run", "--temp", "-n", name,
           *arms_mod.set_param_args(values), TARGET]
    log_path = out / "logs" / f"{arm}-s{seed}.log"
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    rc, stage_seconds, cached = run_experiment(cmd, work, experiment_env(bin_dir, capture),
                                               log_path)
    seconds = round(time.monotonic() - t0, 1)
    if rc != 0:
        raise RuntimeError(f"dvc exp run exited {rc} after {seconds:.0f}s; see {log_path}")
    report, stages = read_capture(capture / "reports")
    return {
        "schema": table_mod.SCHEMA,
        "budget": budget,
        "arm": arm,
        "seed": seed,
        "fingerprint": fingerprint(budget, values),
        "overrides": arms_mod.describe(values),
        "commit": commit,
        "exp_name": name,
        "started": started,
        "seconds": seconds,
        "stage_seconds": stage_seconds,
        "cached_stages": cached,
        "report": report,
        "stages": stages,
    }


def record_path(out: Path, arm: str, seed: int) -> Path:
    return out / "runs" / arm / f"s{seed}.json"


def is_done(path: Path, want: str) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("fingerprint") == want
    except (OSError, ValueError):
        return False


def results_prefix(budget: str) -> Path:
    return HERE / ("results" if budget == "small" else f"results-{budget}")


def write_results(budget: str, out: Path, seeds: Sequence[int], arm_names: Sequence[str],
                  prefix: Path) -> dict[str, Any]:
    from bench.ablations.plot import plot_results
    from tracer1.io import atomic_open, write_json

    records = [r for r in table_mod.load_runs(out)
               if r["arm"] in arm_names and r["seed"] in seeds]
    tables = [t for t in arms_mod.TABLES if all(row.arm in arm_names for row in t.rows)]
    if not tables:  # a partial sweep (e.g. micro): every row of the arms that did run
        tables = [arms_mod.Table(
            "runs", "Policies of the arms run",
            tuple(arms_mod.Row(f"{arm} · {p}", arm, p) for arm in arm_names
                  for p in arms_mod.ARMS[arm].policies))]
    results = table_mod.aggregate(records, tables, budget=budget, seeds=seeds)
    write_json(prefix.with_suffix(".json"), results)
    with atomic_open(prefix.with_suffix(".md")) as fh:
        fh.write(table_mod.markdown(results))
    plot_results(results, prefix.with_suffix(".png"))
    return results


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """``--set key=value`` (value parsed as YAML: numbers, lists, null) → overrides."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --set {item!r}: expected key=value")
        out[key] = yaml.safe_load(value)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="small", choices=sorted(arms_mod.BUDGETS),
                        help="; ".join(f"{b.name}: {b.doc}" for b in arms_mod.BUDGETS.values())
                        .replace("%", "%%"))
    parser.add_argument("--arms", nargs="+", choices=sorted(arms_mod.ARMS),
                        help="default: the budget's arms")
    parser.add_argument("--seeds", nargs="+", type=int, help="default: the budget's seeds")
    parser.add_argument("--set", dest="extra", action="append", default=[],
                        metavar="KEY=VALUE", help="one more params override for every run")
    parser.add_argument("--repo", type=Path, default=REPO, help="the git repository to clone")
    parser.add_argument("--work", type=Path, default=HERE / "work" / "repo",
                        help="the scratch clone the experiments run in")
    parser.add_argument("--out", type=Path, default=None,
                        help="per-run files (default: bench/ablations/out/<budget>)")
    parser.add_argument("--results", type=Path, default=None,
                        help="results path prefix (default: bench/ablations/results for small, "
                             "results-<budget> otherwise)")
    parser.add_argument("--aggregate-only", action="store_true",
                        help="only re-make the results from the stored runs")
    parser.add_argument("--dry-run", action="store_true",
                        help="print each run's command and exit")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failed run")
    args = parser.parse_args(argv)

    budget = arms_mod.BUDGETS[args.budget]
    arm_names = tuple(args.arms or budget.arms)
    seeds = tuple(args.seeds if args.seeds is not None else budget.seeds)
    extra = parse_set(args.extra)
    missing_keys = [k for k in budget.extra_required if k not in extra]
    if missing_keys and not args.aggregate_only:
        raise SystemExit(f"error: budget {budget.name} needs --set " +
                         " ".join(f"{k}=..." for k in missing_keys))
    out = (args.out or HERE / "out" / budget.name).resolve()
    prefix = (args.results or results_prefix(budget.name)).resolve()
    plan = [(arm, seed, arms_mod.overrides(budget.name, arm, seed, extra))
            for seed in seeds for arm in arm_names]  # seed-major: a full table early

    if args.dry_run:
        for arm, seed, values in plan:
            print(f"# {arm} s{seed}\n" + shlex.join(
                ["dvc", "exp", "run", "--temp", *arms_mod.set_param_args(values), TARGET]))
        return 0
    failed: list[str] = []
    if not args.aggregate_only:
        todo = [(a, s, v) for a, s, v in plan
                if not is_done(record_path(out, a, s), fingerprint(budget.name, v))]
        log(f"budget {budget.name}: {len(plan)} runs ({len(arm_names)} arms x {len(seeds)} "
            f"seeds), {len(plan) - len(todo)} already done")
        commit = prepare_clone(args.repo.resolve(), args.work.resolve()) if todo else ""
        sweep_start = time.monotonic()
        for i, (arm, seed, values) in enumerate(todo, 1):
            log(f"[{i}/{len(todo)}] {arm} seed {seed} ...")
            try:
                record = run_one(budget.name, arm, seed, values, work=args.work.resolve(),
                                 out=out, commit=commit)
            except RuntimeError as exc:
                log(f"[{i}/{len(todo)}] {arm} seed {seed} FAILED: {exc}")
                failed.append(f"{arm}/s{seed}")
                if args.fail_fast:
                    break
                continue
            from tracer1.io import write_json

            write_json(record_path(out, arm, seed), record)
            log(f"[{i}/{len(todo)}] {arm} seed {seed} done in {record['seconds'] / 60:.1f} min "
                f"(restored from run-cache: {', '.join(record['cached_stages']) or 'none'}; "
                f"{(time.monotonic() - sweep_start) / 60:.1f} min so far)")
    results = write_results(budget.name, out, seeds, arm_names, prefix)
    log(f"wrote {prefix.with_suffix('.md')} (+ .json, .png) from "
        f"{len(results['runs'])} run(s); missing: {', '.join(results['missing']) or 'none'}")
    if failed:
        log(f"failed runs: {', '.join(failed)} (re-run to retry them)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
