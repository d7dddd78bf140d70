"""Wall time of `dvc repro` with nothing changed, and (optionally) of `make run` on a fresh clone.

No-op: `dvc status --json` first; only when it reports nothing changed is `dvc repro`
timed, ``--repeats`` times (median), and any run that starts a stage is reported as
such instead of as a no-op. When the workspace's pipeline is not up to date (outputs
missing, code or params changed since `dvc.lock`), nothing is run: the result says so
and names the changed stages, because a "no-op" there would run the pipeline.

Full run (``--full-run``, about 25 minutes; `make bench` never starts it): `git clone`
the repository's committed HEAD into a scratch directory, time `make run` there (venv
bootstrap, `dvc repro`, `dvc push`, report) and write `bench/full_run.json`, which
`run_all` then reports beside the no-op. A number measured elsewhere can be given
with ``--full-run-seconds``.

    python -m bench.dvc_noop --repeats 3
    python -m bench.dvc_noop --full-run          # writes bench/full_run.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.results import Row, median
from tracer1.io import write_json

FULL_RUN_FILE = Path("bench/full_run.json")
VENV_BIN = Path(sys.executable).parent


def tool_env() -> dict[str, str]:
    """The venv's tools first on PATH, DVC's analytics off."""
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DVC_NO_ANALYTICS": "1"}


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
          timeout: float | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env or tool_env(), capture_output=True, text=True,
                          timeout=timeout)
    return time.perf_counter() - started, proc


def changed_stages(status: dict[str, Any]) -> list[str]:
    """Stage names from `dvc status --json` (an empty mapping: up to date).

    >>> changed_stages({"sft@reactive": [{"changed outs": {}}], "data.dvc": []})
    ['data.dvc', 'sft@reactive']
    """
    return sorted(status)


def ran_a_stage(stdout: str) -> bool:
    """Whether `dvc repro`'s output says it ran (or would have run) a stage."""
    return "Running stage" in stdout


def measure_noop(repo: Path, repeats: int) -> dict[str, Any]:
    """`dvc status`, then `repeats` timed `dvc repro` runs if and only if nothing changed."""
    status_s, status = timed(["dvc", "status", "--json"], repo)
    report: dict[str, Any] = {"status_seconds": status_s}
    if status.returncode != 0:
        report.update(up_to_date=None, error=_tail(status.stderr or status.stdout))
        return report
    try:
        parsed = json.loads(status.stdout.strip() or "{}")
    except ValueError:
        report.update(up_to_date=None, error=f"unreadable dvc status: {_tail(status.stdout)}")
        return report
    changed = changed_stages(parsed)
    report.update(up_to_date=not changed, changed_stages=changed)
    if changed:
        return report
    times = []
    for _ in range(repeats):
        seconds, proc = timed(["dvc", "repro"], repo)
        if proc.returncode != 0 or ran_a_stage(proc.stdout):
            report["error"] = ("dvc repro ran a stage: the workspace changed while measuring"
                               if proc.returncode == 0 else _tail(proc.stderr or proc.stdout))
            break
        times.append(seconds)
    report.update(repro_seconds=times, median_s=median(times) if times else None)
    return report


def full_run(repo: Path, out: Path = FULL_RUN_FILE, timeout: float = 3 * 3600) -> dict[str, Any]:
    """`make run` on a fresh clone of `repo`'s HEAD in a scratch directory, timed; the
    result (seconds, commit, exit code, the output's tail) is written to `out`."""
    scratch = Path(tempfile.mkdtemp(prefix="tracer1-bench-fullrun-"))
    try:
        clone = scratch / "tracer1"
        subprocess.run(["git", "clone", "--quiet", str(repo), str(clone)], check=True)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, check=True,
                                capture_output=True, text=True).stdout.strip()
        # The clone keeps its own MLflow store and venv; nothing points back at this checkout.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MLFLOW_", "VIRTUAL_ENV", "DVC_"))}
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if not p.startswith(str(VENV_BIN)))
        seconds, proc = timed(["make", "run"], clone, env=env, timeout=timeout)
        result = {
            "seconds": seconds,
            "commit": commit,
            "returncode": proc.returncode,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(),
            "output_tail": _tail(proc.stdout + proc.stderr, 4000),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_json(out, result)
    return result


def read_full_run(path: Path = FULL_RUN_FILE) -> dict[str, Any] | None:
    """A full run's record written by `full_run`, if there is one."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def rows(noop: dict[str, Any], full: dict[str, Any] | None) -> list[Row]:
    if noop.get("median_s") is not None:
        value, note = noop["median_s"], ""
    elif noop.get("up_to_date") is False:
        value = None
        names = noop["changed_stages"]
        note = (f"not measured: the pipeline is not up to date ({len(names)} stages changed: "
                f"{', '.join(names[:4])}{', …' if len(names) > 4 else ''}); run `make run` first")
    else:
        value, note = None, f"not measured: {noop.get('error', 'unknown')}"
    runs = len(noop.get("repro_seconds") or [])
    status = f"`dvc status` itself {noop.get('status_seconds', 0):.1f} s"
    how = (f"wall time, median of {runs} runs after `dvc status --json` reported nothing "
           f"changed ({status})" if runs else f"checked with `dvc status --json` ({status})")
    out = [Row("dvc_noop", "`dvc repro` with nothing changed", value, "s", None, how, note,
               extra=noop)]
    if full is not None:
        ok = full.get("returncode", 0) == 0
        out.append(Row("dvc_noop", "`make run` on a fresh clone (full pipeline)",
                       full.get("seconds"), "s", None,
                       _full_run_how(full),
                       "" if ok else f"exit code {full.get('returncode')}", extra=full))
    return out


def _full_run_how(full: dict[str, Any]) -> str:
    """How the full run was measured: its date and commit where recorded, or its source."""
    known = [str(full["date"])] if full.get("date") else []
    if full.get("commit"):
        known.append(f"commit {str(full['commit'])[:10]}")
    return "wall time of one run" + (f", {', '.join(known)}" if known else "") + (
        full.get("source", ""))


def _tail(text: str, limit: int = 400) -> str:
    text = (text or "").strip()
    return text[-limit:]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--repeats", type=int, default=3, help="timed no-op runs")
    parser.add_argument("--full-run", action="store_true",
                        help=f"also clone the repo and time `make run` (→ {FULL_RUN_FILE})")
    parser.add_argument("--full-run-seconds", type=float, default=None,
                        help="a full `make run` time measured elsewhere, to report beside")
    parser.add_argument("--out", type=Path, default=Path("bench/out/dvc_noop.json"))
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    noop = measure_noop(repo, args.repeats)
    full = full_run(repo, repo / FULL_RUN_FILE) if args.full_run else None
    full = full or full_record(args.full_run_seconds, repo / FULL_RUN_FILE)
    report = {"benchmark": "dvc_noop", "noop": noop, "full_run": full,
              "rows": [r.to_json() for r in rows(noop, full)]}
    if noop.get("median_s") is not None:
        print(f"no-op dvc repro: median {noop['median_s']:.2f} s "
              f"(mean {statistics.mean(noop['repro_seconds']):.2f}) over "
              f"{len(noop['repro_seconds'])} runs")
    else:
        print(f"no-op dvc repro {rows(noop, None)[0].note}")
    if full and full.get("seconds") is not None:
        print(f"make run: {full['seconds']:.0f} s")
    write_json(args.out, report)
    return report


def full_record(seconds: float | None, path: Path) -> dict[str, Any] | None:
    """The full-run record: `--full-run-seconds` when given, else `bench/full_run.json`."""
    if seconds is not None:
        return {"seconds": seconds, "returncode": 0, "source": " (given with --full-run-seconds)"}
    return read_full_run(path)


if __name__ == "__main__":
    main()
