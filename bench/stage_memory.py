"""Peak resident memory of each training stage (`sft`, `stage1_grpo`, `stage2_rft`), small budget.

Each stage runs as the pipeline runs it — `tracer1 <stage> --params params.yaml
--variant <candidate>` in its own process — in a scratch directory holding a copy of
`data/trajectories` and a copy of `params.yaml` whose step counts are cut to a few
(``--sft-steps``, ``--grpo-steps``; a checkpoint is still written) and whose other
values (model size, batch sizes, token budgets) are kept, since those decide the
memory. `collect_feedback` runs between Stage 1 and Stage 2 to give Stage 2 its states,
on the tool-use suite only (no browsers) and a few episodes; it is not reported.

Peak RSS is the stage process's own high-water mark, `VmHWM` of `/proc/self/status`
read at its exit by a small launcher (`HWM_LAUNCHER`) that runs the stage's module;
and, as a check on anything the stage starts, the peak of the process tree's
summed RSS sampled every 50 ms with psutil. Not `ru_maxrss` of the child alone
(`wait4`, also recorded): Linux carries the *parent's* peak RSS into a child across
fork + exec, so after a benchmark that trained in this process it reads high. The
reference row is a process that only imports what every training stage imports (torch,
transformers, trl, datasets, mlflow), so the ratio says how much a stage adds over its
libraries. MLflow logs to a SQLite store in the scratch directory; nothing in the
checkout is written.

    python -m bench.stage_memory
    python -m bench.stage_memory --sft-steps 2 --grpo-steps 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from bench.results import Row, ratio
from tracer1.io import write_json

STAGES = ("sft", "stage1_grpo", "stage2_rft")
IMPORTS = ("import torch, transformers, trl, datasets, mlflow; "
           "from trl import GRPOTrainer, SFTTrainer; import tracer1.training")
SAMPLE_S = 0.05
HWM_ENV = "TRACER1_BENCH_HWM_FILE"
# `python -c HWM_LAUNCHER -m module args…` or `python -c HWM_LAUNCHER -c code`: runs the
# module (or code) as `python -m`/`-c` would, and at exit writes its VmHWM (KiB) to $HWM_ENV.
HWM_LAUNCHER = f"""
import atexit, os, runpy, sys

def _report():
    with open("/proc/self/status") as fh:
        kib = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
    with open(os.environ["{HWM_ENV}"], "w") as out:
        out.write(kib)

atexit.register(_report)
mode, target, sys.argv = sys.argv[1], sys.argv[2], sys.argv[2:]
if mode == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    exec(compile(target, "<bench>", "exec"), {{"__name__": "__main__"}})
"""


class TreeSampler(threading.Thread):
    """Peak summed RSS of a process and its descendants, sampled every `SAMPLE_S`."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._done = pid, 0, threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                total = 0
                for proc in procs:
                    try:
                        total += proc.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, total)
            self._done.wait(SAMPLE_S)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def run_measured(args: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """`python <args>` (``-m module …`` or ``-c code``) under the VmHWM launcher: its wall
    time, exit code, own peak RSS, `wait4`'s `ru_maxrss` and the sampled tree peak (MiB)."""
    fd, hwm_file = tempfile.mkstemp(prefix="tracer1-bench-hwm-")
    os.close(fd)
    cmd = [sys.executable, "-c", HWM_LAUNCHER, *args]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env={**env, HWM_ENV: hwm_file},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    output = proc.stdout.read() if proc.stdout else ""
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the max over all children).
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    tree_peak = sampler.stop()
    try:
        hwm_kib = float(Path(hwm_file).read_text() or "nan")
    except ValueError:
        hwm_kib = float("nan")  # killed before its atexit ran
    finally:
        os.unlink(hwm_file)
    return {
        "seconds": seconds,
        "returncode": proc.returncode,
        "maxrss_mib": hwm_kib / 1024,
        "rusage_maxrss_mib": usage.ru_maxrss / 1024,  # Linux reports KiB; see the docstring
        "tree_peak_mib": tree_peak / 2**20,
        "output_tail": output.strip()[-1500:],
    }


def small_params(source: Path, *, sft_steps: int, grpo_steps: int) -> dict[str, Any]:
    """`source`'s params with the step counts cut and collect_feedback made small."""
    params = yaml.safe_load(source.read_text(encoding="utf-8"))
    params.setdefault("sft", {})["max_steps"] = sft_steps
    for stage in ("stage1_grpo", "stage2_rft"):
        section = params.setdefault(stage, {})
        section["max_steps"] = grpo_steps
        section["save_steps"] = grpo_steps  # one checkpoint, as every real run writes
    build = params.setdefault("build_dataset", {})
    suites = build.get("suites") or {}
    build["suites"] = {"tooluse": suites.get("tooluse") or {}}  # no browsers for the feedback
    params.setdefault("collect_feedback", {}).update(episodes_per_family=1, episode_limit=2)
    params["tracking"] = {**(params.get("tracking") or {}),
                          "tracking_uri": "sqlite:///mlflow/mlflow.db",
                          "artifact_location": "mlflow/artifacts"}
    return params


def stage_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DVC_NO_ANALYTICS="1",
               GX_ANALYTICS_ENABLED="false", TOKENIZERS_PARALLELISM="false")
    return env


def measure(repo: Path, workdir: Path, *, sft_steps: int, grpo_steps: int) -> dict[str, Any]:
    """The reference import process, then sft → stage1_grpo → collect_feedback → stage2_rft."""
    params = small_params(repo / "params.yaml", sft_steps=sft_steps, grpo_steps=grpo_steps)
    variant = (params.get("forecast") or {}).get("candidate", "anticipatory")
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    data_src = repo / "data" / "trajectories"
    env = stage_env()
    if (data_src / "train.jsonl").is_file():
        shutil.copytree(data_src, workdir / "data" / "trajectories")
        data = f"a copy of {data_src.relative_to(repo)}"
    else:
        result = run_measured(["-m", "tracer1.cli", "build-dataset", "--params", "params.yaml"],
                              workdir, env)
        if result["returncode"] != 0:
            raise RuntimeError(f"build-dataset failed:\n{result['output_tail']}")
        data = "built by build-dataset (tool-use suite; data/trajectories absent)"
    report: dict[str, Any] = {"variant": variant, "data": data, "sft_steps": sft_steps,
                              "grpo_steps": grpo_steps, "stages": {}}
    report["imports"] = run_measured(["-c", IMPORTS], workdir, env)
    print(f"  imports only: {report['imports']['maxrss_mib']:.0f} MiB", flush=True)
    for stage in ("sft", "stage1_grpo", "collect_feedback", "stage2_rft"):
        cmd = ["-m", "tracer1.cli", stage.replace("_", "-"), "--params", "params.yaml",
               "--variant", variant]
        result = run_measured(cmd, workdir, env)
        report["stages"][stage] = result
        print(f"  {stage}: {result['maxrss_mib']:.0f} MiB peak RSS, {result['seconds']:.0f} s, "
              f"exit {result['returncode']}", flush=True)
        if result["returncode"] != 0:
            raise RuntimeError(f"{stage} failed:\n{result['output_tail']}")
    return report


def rows(report: dict[str, Any]) -> list[Row]:
    base = report["imports"]["maxrss_mib"]
    how = (f"peak RSS (VmHWM at exit) of `tracer1 <stage>` in its own process, "
           f"{report['variant']} variant, params.yaml sizes with {report['sft_steps']} SFT / "
           f"{report['grpo_steps']} GRPO steps; ratio vs a process importing the libraries")
    out = [Row("stage_memory", "imports only (torch, transformers, trl, datasets, mlflow)",
               base, "MiB", None, "peak RSS (VmHWM at exit) of a process doing only that")]
    for stage in STAGES:
        result = report["stages"].get(stage)
        if result is None:
            continue
        note = f"process tree peak {result['tree_peak_mib']:.0f} MiB (psutil, 50 ms)"
        out.append(Row("stage_memory", f"`{stage}` peak RSS", result["maxrss_mib"], "MiB",
                       ratio(result["maxrss_mib"], base), how, note,
                       extra={k: v for k, v in result.items() if k != "output_tail"}))
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--sft-steps", type=int, default=5)
    parser.add_argument("--grpo-steps", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/out/stage_memory.json"))
    args = parser.parse_args(argv)
    if args.sft_steps < 1 or args.grpo_steps < 1:
        parser.error("step counts must be >= 1 (0 means no training at all)")
    with tempfile.TemporaryDirectory(prefix="tracer1-bench-mem-") as tmp:
        report = measure(args.repo.resolve(), Path(tmp), sft_steps=args.sft_steps,
                         grpo_steps=args.grpo_steps)
    report = {"benchmark": "stage_memory", **report,
              "rows": [r.to_json() for r in rows(report)]}
    write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
