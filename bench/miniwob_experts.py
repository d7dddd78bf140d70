"""Success of the scripted MiniWoB experts in the real browser, page by page.

Runs each page's expert for `--seeds` episodes (seeds `--start`, `--start` + 1, ...)
on one headless browser and prints a table per page: episodes, success rate, mean
steps of the episodes and mean wall time per step. The JSON written to `--out` adds
the seeds that failed, with the page's reason, so a regression can be replayed.

    PYTHONPATH=src python bench/miniwob_experts.py --seeds 100 --out bench/out/miniwob_experts.json
    PYTHONPATH=src python bench/miniwob_experts.py --seeds 20 --families use-autocomplete
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tracer1.data.build import expert_episode
from tracer1.envs.miniwob_suite import MiniWoBSuite
from tracer1.experts.miniwob import expert_families
from tracer1.trajectory import Task

MAX_STEPS = 30


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    steps: int
    seconds: float
    reason: str | None = None
    actions: list[str] = field(default_factory=list)


@dataclass
class FamilyResult:
    family: str
    episodes: int
    success_rate: float
    mean_steps: float
    ms_per_step: float
    failures: list[EpisodeResult]


def run_episode(suite: MiniWoBSuite, task: Task, max_steps: int = MAX_STEPS) -> EpisodeResult:
    """One expert episode, as `build_dataset` records it; the page's reason kept for failures."""
    started = time.perf_counter()
    episode = expert_episode(suite, task, "bench", max_steps)
    steps = episode.steps
    reason = None
    if not episode.success:
        ended = bool(steps) and len(steps) < max_steps
        reason = str(steps[-1].executed.get("page_reward", "gave up")) if ended else "step budget"
    return EpisodeResult(task.seed, episode.success, len(steps), time.perf_counter() - started,
                         reason, [repr(s.action) for s in steps])


def summarize(family: str, results: Sequence[EpisodeResult]) -> FamilyResult:
    """Per-page numbers; failures keep their actions, successes only count.

    >>> r = [EpisodeResult(0, True, 2, 0.25), EpisodeResult(1, False, 4, 0.5, "-1.0")]
    >>> s = summarize("enter-text", r)
    >>> s.success_rate, s.mean_steps, s.ms_per_step, [f.seed for f in s.failures]
    (0.5, 3.0, 125.0, [1])
    """
    steps = sum(r.steps for r in results)
    return FamilyResult(
        family=family,
        episodes=len(results),
        success_rate=sum(r.success for r in results) / max(1, len(results)),
        mean_steps=statistics.fmean(r.steps for r in results) if results else 0.0,
        ms_per_step=1000 * sum(r.seconds for r in results) / max(1, steps),
        failures=[r for r in results if not r.success],
    )


def table(rows: Sequence[FamilyResult]) -> str:
    lines = [f"{'page':<20} {'episodes':>8} {'success':>8} {'steps':>6} {'ms/step':>8}"]
    for r in rows:
        lines.append(f"{r.family:<20} {r.episodes:>8} {r.success_rate:>8.1%} "
                     f"{r.mean_steps:>6.2f} {r.ms_per_step:>8.0f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="episodes per page")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--families", nargs="*", default=None,
                        help="pages to run (default: every page with an expert)")
    parser.add_argument("--out", type=Path, default=None, help="JSON report path")
    args = parser.parse_args(argv)

    families = args.families or expert_families()
    seeds = range(args.start, args.start + args.seeds)
    suite = MiniWoBSuite(workers=1)  # one browser: the machine is shared
    rows = []
    try:
        for family in families:
            results = [run_episode(suite, suite.make_task(family, seed)) for seed in seeds]
            rows.append(summarize(family, results))
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    finally:
        suite.close()
    print(table(rows))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {"seeds": {"start": args.start, "count": args.seeds},
                  "families": [asdict(r) for r in rows]}
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
