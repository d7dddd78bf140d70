"""Throughput of the Stage-1 trajectory reward, scored as one GRPO reward call does it.

Scores N forecasts of horizon T against their reference windows with
`tracer1.rewards.trajectory_rewards` (the one implementation training and evaluation
use) and reports the median wall time over several repeats: what a reward call costs a
Stage-1 step (about 1 ms of 2.6 s at B=16), so nothing needs a faster second copy.

The data imitate one GRPO reward call: N / G reference windows, each scored against G
sampled forecasts that partly copy it (so texts repeat, as they do in training), with
clicks that miss by a few units, wrong or missing steps, click loops and episodes that
end inside the window (`done()` padding). Everything is seeded.

    PYTHONPATH=src python bench/reward_throughput.py --out bench/out/reward_throughput.json
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tracer1.actions import Action, Answer, Box, Click, Done, Press, Scroll, Select, Tool, Type
from tracer1.io import write_json
from tracer1.rewards import trajectory_rewards

WORDS = [
    "alice", "bob smith", "password123", "New York", "the red car", "21", "3.5", "June 2024",
    "search results for cats", "Submit", "42", "blue", "Flight to Paris on Monday", "",
]  # fmt: skip
KEYS = ["enter", "Enter", "tab", "Return", "ArrowDown", "escape"]


def random_action(rng: random.Random) -> Action:
    """One action of the GUI/tool mix, clicks with a target box about a button's size."""
    kind = rng.choices(range(8), weights=[35, 20, 8, 5, 7, 15, 5, 5])[0]
    word = rng.choice(WORDS)
    if kind == 0:
        x, y = rng.randint(20, 980), rng.randint(20, 980)
        w, h = rng.randint(10, 120), rng.randint(8, 40)
        return Click(
            x, y, box=Box(max(0, x - w), max(0, y - h), min(1000, x + w), min(1000, y + h))
        )
    maker: list[Callable[[], Action]] = [
        lambda: Type(word),
        lambda: Press(rng.choice(KEYS)),
        lambda: Scroll(rng.choice(["up", "down"])),
        lambda: Select(word),
        lambda: Tool.of(rng.choice(["calculator", "search", "lookup"]),
                        {"q": word, "n": rng.choice([1, 2, 2.0, "2"])}),
        lambda: Answer(word),
        Done,
    ]  # fmt: skip
    return maker[kind - 1]()


def reference_window(rng: random.Random, horizon: int) -> list[Action]:
    """T expert actions; a third of the windows reach the episode's end (done() padding)."""
    steps = horizon if rng.random() < 0.66 else rng.randint(1, horizon - 1)
    window = [random_action(rng) for _ in range(steps)]
    return window + [Done()] * (horizon - steps)


def forecast(rng: random.Random, ref: list[Action], horizon: int) -> list[Action]:
    """A sampled forecast: copies, near-miss clicks, wrong steps, loops, early stops."""
    out: list[Action] = []
    for target in ref:
        roll = rng.random()
        if roll < 0.45:
            out.append(target)
        elif roll < 0.65 and isinstance(target, Click):
            out.append(Click(min(1000, target.x + rng.randint(-60, 60)), target.y))
        elif roll < 0.75 and out:
            out.append(out[-1])  # a loop: the repetition penalty's case
        else:
            out.append(random_action(rng))
    if rng.random() < 0.15:  # truncated or malformed tail: missing positions
        out = out[: rng.randint(0, horizon)]
    return out


def make_data(n: int, horizon: int, generations: int, seed: int):
    rng = random.Random(seed)
    refs, preds = [], []
    for _ in range(n // generations):
        ref = reference_window(rng, horizon)
        for _ in range(generations):
            refs.append(ref)
            preds.append(forecast(rng, ref, horizon))
    return preds, refs


def time_it(fn: Callable[[], list[float]], repeats: int) -> tuple[list[float], list[float]]:
    times, result = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4096, help="forecasts scored per call")
    parser.add_argument("--horizon", type=int, default=10, help="T, actions per forecast")
    parser.add_argument("--generations", type=int, default=8, help="forecasts per reference")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/out/reward_throughput.json"))
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be >= 5 (medians of fewer are noise)")

    preds, refs = make_data(args.n, args.horizon, args.generations, args.seed)
    weights = {"gamma": 0.9, "lambda_align": 1.0, "lambda_rep": 0.5}

    def score() -> list[float]:
        return trajectory_rewards(preds, refs, **weights)

    score()  # warm up once so first-call costs (imports, regex compiles) are not timed
    times, outputs = time_it(score, args.repeats)
    median = statistics.median(times)
    result = {"median_s": median, "min_s": min(times), "times_s": times,
              "forecasts_per_s": len(preds) / median}
    report = {
        "benchmark": "reward_throughput",
        "n_forecasts": len(preds),
        "horizon": args.horizon,
        "generations_per_reference": args.generations,
        "repeats": args.repeats,
        "seed": args.seed,
        "result": result,
        "mean_reward": float(np.mean(outputs)),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    print(f"{len(preds)} forecasts, T={args.horizon}, median of {args.repeats} runs: "
          f"{median:.4f} s, {result['forecasts_per_s']:,.0f} forecasts/s")
    write_json(args.out, report)  # atomic: temp file + rename
    return report


if __name__ == "__main__":
    main()
