"""MiniWoB environment steps per second: our browser pool (1, 2, 3 workers) vs a plain loop.

Every arm replays the same episodes: the scripted expert runs each (page, seed) once on
our environment, untimed, and its actions are kept; each arm then resets to the page
and seed and executes exactly those actions, so each does the same browser work.

* ``plain``: the miniwob package's own gymnasium environment
  (``gymnasium.make("miniwob/<page>-v1")``) in one process, one page after the other.
  Its Chromium is the same binary behind a wrapper script adding our headless flags
  (``MINIWOB_CHROME_BINARY``), with ``MINIWOB_CHROMEDRIVER`` and a scratch HOME, and
  its screenshots are off: our environment observes the DOM only.
* ``pool-N``: `MiniWoBEnv` episodes over one `BrowserPool` of 3 warm browsers, N at a
  time through `map_parallel` (N worker threads, an environment per episode).

The clock covers resets and steps, not browser starts: the plain loop starts a browser
per page (its environment is per page) outside the clock, the pool's browsers are
started before it. A pool browser switching page loads it inside the clock, so the
pool pays for serving every page from a few browsers. steps/s = env steps / wall
seconds; the median over ``--repeats`` runs, the arms interleaved in every repeat so
drifting load from other processes hits them alike (``paired``: the median of the
per-repeat ratios).

    PYTHONPATH=src python bench/miniwob_pool.py --out bench/out/miniwob_pool.json
    PYTHONPATH=src python bench/miniwob_pool.py --families click-button --seeds 20
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import Any

from tracer1.actions import Action, Click, Done, Press, Scroll, Select, Type
from tracer1.envs.browser import HEADLESS_FLAGS, Browser, BrowserPaths, find_browser
from tracer1.envs.browser_pool import BrowserPool, map_parallel
from tracer1.envs.miniwob import GRID, WINDOW, MiniWoBEnv, to_key, to_pixels
from tracer1.envs.miniwob_suite import MiniWoBSuite
from tracer1.experts.miniwob import expert_families
from tracer1.io import write_json
from tracer1.trajectory import Step, Task

MAX_STEPS = 30
POOL_WORKERS = (1, 2, 3)


@dataclass(frozen=True)
class Episode:
    task: Task
    actions: tuple[Action, ...]  # the expert's, recorded once; every arm replays them
    expert_success: bool


@dataclass
class Run:
    seconds: float
    steps: int
    successes: int


def record(paths: BrowserPaths, families: Sequence[str], seeds: Sequence[int]) -> list[Episode]:
    """The expert's episode on every (page, seed), page by page, on one browser."""
    suite = MiniWoBSuite(workers=1)
    suite._pool = BrowserPool(1, factory=partial(Browser, window=WINDOW, paths=paths))
    episodes = []
    try:
        for family in families:
            for seed in seeds:
                task = suite.make_task(family, seed)
                env, expert, steps = suite.make_env(), suite.expert(), []
                try:
                    obs, reward = env.reset(task), 0.0
                    for index in range(MAX_STEPS):
                        action = expert.act(task, obs, steps)
                        next_obs, reward, done, info = env.step(action)
                        steps.append(Step(index, obs, action, executed=info, reward=reward))
                        obs = next_obs
                        if done:
                            break
                finally:
                    env.close()
                actions = tuple(s.action for s in steps if not isinstance(s.action, Done))
                episodes.append(Episode(task, actions, reward > 0))
    finally:
        suite.close()
    return episodes


# ------------------------------------------------------------------------ the pool


def replay(pool: BrowserPool, episode: Episode) -> tuple[int, bool]:
    env = MiniWoBEnv(pool, max_steps=MAX_STEPS)
    try:
        env.reset(episode.task)
        steps, reward = 0, 0.0
        for action in episode.actions:
            _, reward, done, _ = env.step(action)
            steps += 1
            if done:
                break
        return steps, reward > 0
    finally:
        env.close()


def pool_run(pool: BrowserPool, episodes: Sequence[Episode], workers: int) -> Run:
    started = time.perf_counter()
    results = map_parallel(partial(replay, pool), episodes, workers)
    seconds = time.perf_counter() - started
    return Run(seconds, sum(n for n, _ in results), sum(ok for _, ok in results))


# ------------------------------------------------------------------------ the plain loop


@contextlib.contextmanager
def plain_miniwob_env(paths: BrowserPaths) -> Iterator[None]:
    """What the miniwob package needs to run headless here: a wrapper adding our flags."""
    scratch = Path(tempfile.mkdtemp(prefix="tracer1-bench-plain-"))
    wrapper = scratch / "chromium-headless"
    wrapper.write_text(f'#!/bin/sh\nexec {paths.chrome} {" ".join(HEADLESS_FLAGS)} "$@"\n')
    wrapper.chmod(0o755)
    saved = {k: os.environ.get(k) for k in
             ("MINIWOB_CHROME_BINARY", "MINIWOB_CHROMEDRIVER", "HOME", "TMPDIR")}
    os.environ.update(MINIWOB_CHROME_BINARY=str(wrapper), MINIWOB_CHROMEDRIVER=paths.driver,
                      HOME=str(scratch), TMPDIR=str(scratch))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(scratch, ignore_errors=True)


def plain_supported(action: Action) -> bool:
    """Whether the miniwob environment's action space can express `action`."""
    from miniwob.constants import DEFAULT_ALLOWED_KEYS

    if isinstance(action, Press):
        return to_key(action.key) in DEFAULT_ALLOWED_KEYS
    if isinstance(action, Scroll):
        return action.direction in ("up", "down")
    return isinstance(action, Click | Type | Select)


def plain_action(env: Any, action: Action) -> Any:
    """Our action as the miniwob environment's own action (its "all_supported" space)."""
    import numpy as np
    from miniwob.action import ActionTypes

    unwrapped = env.unwrapped
    if isinstance(action, Click):
        coords = np.array(to_pixels(action.x, action.y), dtype=np.float32)
        return unwrapped.create_action(ActionTypes.CLICK_COORDS, coords=coords)
    if isinstance(action, Type | Select):
        return unwrapped.create_action(ActionTypes.TYPE_TEXT, text=action.text)
    if isinstance(action, Press):
        keys = list(unwrapped.action_space_config.allowed_keys)
        return unwrapped.create_action(ActionTypes.PRESS_KEY, key=keys.index(to_key(action.key)))
    if isinstance(action, Scroll) and action.direction in ("up", "down"):
        x, y = action.box.center if action.box is not None else (GRID // 2, GRID // 2)
        kind = ActionTypes.SCROLL_UP_COORDS if action.direction == "up" else (
            ActionTypes.SCROLL_DOWN_COORDS)
        return unwrapped.create_action(kind, coords=np.array(to_pixels(x, y), dtype=np.float32))
    raise ValueError(f"no plain miniwob action for {action}")


def plain_run(episodes: Sequence[Episode]) -> Run:
    """Page by page: start the page's gymnasium env (untimed), time its episodes, close it."""
    import gymnasium
    import miniwob  # noqa: F401  (registers the miniwob/* environments)

    run = Run(0.0, 0, 0)
    for family, group in groupby(episodes, key=lambda e: e.task.family):
        env = gymnasium.make(f"miniwob/{family}-v1")
        try:
            plans = [(e.task.seed, [plain_action(env, a) for a in e.actions]) for e in group]
            env.reset(seed=plans[0][0], options={"record_screenshots": False})  # warm, untimed
            started = time.perf_counter()
            for seed, actions in plans:
                env.reset(seed=seed, options={"record_screenshots": False})
                reward = 0.0
                for action in actions:
                    _, reward, terminated, truncated, _ = env.step(action)
                    run.steps += 1
                    if terminated or truncated:
                        break
                run.successes += reward > 0
            run.seconds += time.perf_counter() - started
        finally:
            env.close()
    return run


# ------------------------------------------------------------------------ main


def summarize(runs: list[Run], episodes: int) -> dict[str, Any]:
    rates = [r.steps / r.seconds for r in runs]
    return {
        "median_steps_per_s": statistics.median(rates),
        "steps_per_s": rates,
        "median_s": statistics.median(r.seconds for r in runs),
        "steps": runs[0].steps,
        "episodes_per_s": episodes / statistics.median(r.seconds for r in runs),
        "success_rate": statistics.mean(r.successes for r in runs) / episodes,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", nargs="*", default=None,
                        help="MiniWoB pages (default: every page with an expert)")
    parser.add_argument("--seeds", type=int, default=6, help="episodes per page")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per arm")
    parser.add_argument("--out", type=Path, default=Path("bench/out/miniwob_pool.json"))
    args = parser.parse_args(argv)
    if args.repeats < 3:
        parser.error("--repeats must be >= 3 (medians of fewer are noise)")

    paths = find_browser()
    families = args.families or expert_families()
    load_before = os.getloadavg()
    recorded = record(paths, families, range(args.seeds))
    episodes = [e for e in recorded if all(map(plain_supported, e.actions))]
    if len(episodes) < len(recorded):
        print(f"{len(recorded) - len(episodes)} episodes left out: an action the plain "
              "miniwob environment cannot express")
    print(f"{len(episodes)} episodes on {len(families)} pages, "
          f"{sum(len(e.actions) for e in episodes)} expert actions; "
          f"expert success {statistics.mean(e.expert_success for e in episodes):.0%}")

    pool = BrowserPool(max(POOL_WORKERS), factory=partial(Browser, window=WINDOW, paths=paths))
    arms: dict[str, Callable[[], Run]] = {"plain": lambda: plain_run(episodes)}
    for n in POOL_WORKERS:
        arms[f"pool-{n}"] = partial(pool_run, pool, episodes, n)
    runs: dict[str, list[Run]] = {name: [] for name in arms}
    try:
        warm = [pool.lease() for _ in range(max(POOL_WORKERS))]  # start them, untimed
        for lease in warm:
            pool.release(lease)
        with plain_miniwob_env(paths):
            for repeat in range(args.repeats):
                for name, arm in arms.items():
                    runs[name].append(arm())
                    last = runs[name][-1]
                    print(f"  repeat {repeat}: {name:<7} {last.steps / last.seconds:6.2f} steps/s",
                          flush=True)
    finally:
        pool.shutdown()

    results = {name: summarize(r, len(episodes)) for name, r in runs.items()}
    plain = results["plain"]["median_steps_per_s"]
    ratios = {name: row["median_steps_per_s"] / plain for name, row in results.items()}
    # The same ratio within each repeat (the arms ran back to back), then its median:
    # steadier than the ratio of medians when other processes load the machine unevenly.
    paired = {name: statistics.median(
        (r.steps / r.seconds) / (p.steps / p.seconds) for r, p in zip(rs, runs["plain"],
                                                                      strict=True))
        for name, rs in runs.items()}
    report = {
        "benchmark": "miniwob_pool",
        "families": list(families),
        "seeds_per_family": args.seeds,
        "episodes": len(episodes),
        "repeats": args.repeats,
        "results": results,
        "ratio_vs_plain": ratios,
        "paired_ratio_vs_plain": paired,
        "restarted_browsers": pool.restarted,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    print(f"median of {args.repeats} runs, {len(episodes)} episodes, "
          f"{results['plain']['steps']} steps per run")
    print(f"{'arm':<8}{'steps/s':>10}{'episodes/s':>12}{'success':>9}{'vs plain':>10}"
          f"{'paired':>9}")
    for name, row in results.items():
        print(f"{name:<8}{row['median_steps_per_s']:>10.2f}{row['episodes_per_s']:>12.2f}"
              f"{row['success_rate']:>9.0%}{ratios[name]:>9.2f}x{paired[name]:>8.2f}x")
    print(f"load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    write_json(args.out, report)  # atomic: temp file + rename
    return report


if __name__ == "__main__":
    main()
