"""Run the TraceR1 ablations: every arm × training seed as ``dvc exp run --temp -S …``.

    python bench/ablations/run.py --budget small --jobs 2 # all arms x 3 seeds (~1.25 h, 2 CPUs)
    python bench/ablations/run.py --budget cpu            # + GUI pages, default budget (hours)
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
import threading
import time
from collections.abc import Callable, Mapping, Sequence
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


def prepare_clone(repo: Path, work: Path, cache: Path | None = None) -> str:
    """A clean scratch clone of `repo`'s committed HEAD at `work`; returns its commit.

    With `cache`, the clone's DVC cache (and so its run-cache) is that directory, shared by
    the clones of parallel workers (`--jobs`)."""
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
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([real_executable("dvc"), "config", "--local", "cache.dir", str(cache)],
                       cwd=work, check=True, capture_output=True, env={**os.environ, **QUIET_ENV})
    return git(work, "rev-parse", "HEAD")


SFT_PARAMS = ("build_dataset.", "validate_dataset.", "forecast.", "policy.", "sft.")
"""The params sections `sft` (and the data stages before it) depend on in dvc.yaml."""


def sft_key(values: Mapping[str, Any]) -> str:
    """Runs with the same key train the same SFT model: DVC's run-cache serves all but one."""
    return json.dumps({k: v for k, v in arms_mod.describe(values).items()
                       if k.startswith(SFT_PARAMS)}, sort_keys=True)


def schedule(plan: Sequence[tuple[str, int, Any]], jobs: int) -> list[list[tuple[str, int, Any]]]:
    """`plan` split over `jobs` workers: the runs that share an SFT stay on one worker, in
    plan order (its first run trains it, the next ones restore it from the run-cache instead
    of training it again at the same time elsewhere); groups go biggest first to the worker
    with the least work, a group's work counted as its runs plus one for its SFT.

    >>> plan = [(a, s, {"forecast.h": h, "stage1_grpo.g": g, "sft.seed": s})
    ...         for s in (0, 1) for a, h, g in (("T1", 1, 0.9), ("T5", 5, 0.9), ("g", 5, 1.0))]
    >>> [[f"{a}s{s}" for a, s, _ in w] for w in schedule(plan, 2)]
    [['T5s0', 'gs0', 'T1s0'], ['T5s1', 'gs1', 'T1s1']]
    >>> shared = [(a, s, {k: v for k, v in o.items() if k != "sft.seed"}) for a, s, o in plan]
    >>> [[f"{a}s{s}" for a, s, _ in w] for w in schedule(shared, 2)]
    [['T5s0', 'gs0', 'T5s1', 'gs1'], ['T1s0', 'T1s1']]
    """
    groups: dict[str, list[tuple[str, int, Any]]] = {}
    for run in plan:
        groups.setdefault(sft_key(run[2]), []).append(run)  # a seed that changes SFT is in it
    workers: list[list[tuple[str, int, Any]]] = [[] for _ in range(max(1, jobs))]
    load = [0] * len(workers)
    for group in sorted(groups.values(), key=len, reverse=True):  # stable: plan order on ties
        i = load.index(min(load))
        workers[i].extend(group)
        load[i] += len(group) + 1
    return [w for w in workers if w]


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


def experiment_env(bin_dir: Path, capture: Path, threads: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    env.update(QUIET_ENV)
    if threads is not None:  # parallel workers split the cores instead of oversubscribing
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
        env["TOKENIZERS_PARALLELISM"] = "false"
    env[REAL_ENV] = real_executable("tracer1")
    env[CAPTURE_ENV] = str(capture)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([str(bin_dir), venv_bin, env.get("PATH", "")])
    return env


_LIVE: set[int] = set()
"""Process groups of the experiments running now (stopped when the sweep is interrupted)."""


def stop_live() -> None:
    for pgid in list(_LIVE):
        try:
            os.killpg(pgid, 15)
        except ProcessLookupError:
            pass


def run_experiment(cmd: Sequence[str], cwd: Path, env: Mapping[str, str], log_path: Path,
                   on_stage: Callable[[str], None] | None = None,
                   ) -> tuple[int, dict[str, float], list[str]]:
    """Run one `dvc exp run`, streaming its output to `log_path` with elapsed seconds.

    Returns the exit status, seconds per stage that ran (from DVC's "Running stage"
    lines to the next stage or the end) and the stages DVC restored from its run-cache.
    `on_stage` is called with each stage's name as it starts or is restored.
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
        _LIVE.add(proc.pid)
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
                    if on_stage is not None:
                        on_stage((started or restored).group(1))
            rc = proc.wait()
        except BaseException:
            # Ours to stop: the experiment's whole process group (dvc and its stage).
            os.killpg(proc.pid, 15)
            proc.wait()
            raise
        finally:
            _LIVE.discard(proc.pid)
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
            out: Path, commit: str, threads: int | None = None,
            on_stage: Callable[[str], None] | None = None) -> dict[str, Any]:
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
    rc, stage_seconds, cached = run_experiment(
        cmd, work, experiment_env(bin_dir, capture, threads), log_path, on_stage)
    seconds = round(time.monotonic() - t0, 1)
    if rc != 0:
        raise RuntimeError(f"dvc exp run exited {rc} after {seconds:.0f}s; see {log_path}")
    report, stages = read_capture(capture / "reports")
    return {
        "schema": table_mod.SCHEMA,
        "budget": budget,
        "arm": arm,
        "seed": seed,
        "jobs_threads": threads,
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


def sweep(todo: Sequence[tuple[str, int, Any]], budget: str, repo: Path, work: Path, out: Path,
          *, jobs: int, fail_fast: bool) -> list[str]:
    """Run `todo` on `jobs` workers (`schedule`), each in its own clone; returns the failed
    runs. Every finished run is written at once, so an interrupted sweep resumes."""
    from tracer1.io import write_json

    if not todo:
        return []
    workers = schedule(todo, jobs)
    clones = [work if i == 0 else work.with_name(f"{work.name}-{i}") for i in range(len(workers))]
    cache = work.parent / "dvc-cache"
    commit = ""
    for clone in clones:
        commit = prepare_clone(repo, clone, cache)
    threads = max(1, (os.cpu_count() or 1) // len(workers)) if len(workers) > 1 else None
    # The first run builds the dataset; the other workers wait for it in the run-cache
    # instead of building the same data at the same time.
    data_ready = threading.Event()
    stop = threading.Event()
    failed: list[str] = []
    finished = 0
    lock = threading.Lock()
    start = time.monotonic()

    def past_data(stage: str) -> None:
        if stage not in ("build_dataset", "validate_dataset"):
            data_ready.set()

    def work_through(index: int, clone: Path, runs: Sequence[tuple[str, int, Any]]) -> None:
        nonlocal finished
        for number, (arm, seed, values) in enumerate(runs):
            if index and number == 0:
                data_ready.wait()
            if stop.is_set():
                return
            tag = f"[w{index}] {arm} seed {seed}" if len(workers) > 1 else f"{arm} seed {seed}"
            log(f"{tag} ...")
            try:
                record = run_one(budget, arm, seed, values, work=clone, out=out,
                                 commit=commit, threads=threads,
                                 on_stage=past_data if index == 0 else None)
            except RuntimeError as exc:
                log(f"{tag} FAILED: {exc}")
                with lock:
                    failed.append(f"{arm}/s{seed}")
                if fail_fast:
                    stop.set()
                continue
            finally:
                if index == 0:
                    data_ready.set()  # built, restored or failed: never wait forever
            write_json(record_path(out, arm, seed), record)
            with lock:
                finished += 1
                count = finished
            log(f"{tag} done in {record['seconds'] / 60:.1f} min ({count}/{len(todo)}; "
                f"restored from run-cache: {', '.join(record['cached_stages']) or 'none'}; "
                f"{(time.monotonic() - start) / 60:.1f} min so far)")

    pool = [threading.Thread(target=work_through, args=(i, c, w), daemon=True)
            for i, (c, w) in enumerate(zip(clones, workers, strict=True))]
    try:
        for thread in pool:
            thread.start()
        for thread in pool:
            while thread.is_alive():
                thread.join(0.5)
    except BaseException:
        stop.set()
        stop_live()
        raise
    return failed


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
    parser.add_argument("--jobs", type=int, default=1,
                        help="experiments run at once, each in its own clone (WORK-1, ...) "
                             "sharing one DVC cache and run-cache; each gets cores/jobs "
                             "torch threads")
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
        failed += sweep(todo, budget.name, args.repo.resolve(), args.work.resolve(), out,
                        jobs=args.jobs, fail_fast=args.fail_fast)
    results = write_results(budget.name, out, seeds, arm_names, prefix)
    log(f"wrote {prefix.with_suffix('.md')} (+ .json, .png) from "
        f"{len(results['runs'])} run(s); missing: {', '.join(results['missing']) or 'none'}")
    if failed:
        log(f"failed runs: {', '.join(failed)} (re-run to retry them)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
