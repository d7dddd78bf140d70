"""The eval figures: success per policy with interval whiskers, and training reward curves.

matplotlib is imported inside the functions (it costs a noticeable fraction of a
second) and drives an explicit Agg canvas: no pyplot global state and no display
backend, so plotting works headless, in threads and in containers alike.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from tracer1.io import atomic_open

Curves = Mapping[str, Sequence[tuple[int, float]]]
"""Curve name (e.g. ``stage1_grpo/anticipatory``) → (step, value) points."""


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike) -> None:
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        # No "Software" text chunk: the bytes depend on the figure alone, not on the
        # matplotlib version (these PNGs are DVC plots kept in git).
        fig.savefig(fh, format="png", metadata={"Software": None})


def plot_success(report: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Grouped bars: closed-loop success per suite (groups) and policy (bars), CI whiskers."""
    policies = list(report["policies"])
    suites = sorted({s for p in report["policies"].values() for s in p["suites"]})
    fig = _figure(min(16.0, max(4.5, 1.5 + 0.6 * len(suites) * len(policies))), 3.6)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(policies))
    for i, name in enumerate(policies):
        xs, heights, low, high = [], [], [], []
        for j, suite in enumerate(suites):
            section = report["policies"][name]["suites"].get(suite)
            if section is None:
                continue
            rate, (lo, hi) = section["success_rate"], section["ci95"]
            xs.append(j - 0.4 + width * (i + 0.5))
            heights.append(rate)
            low.append(max(0.0, rate - lo))
            high.append(max(0.0, hi - rate))
        ax.bar(xs, heights, width, yerr=[low, high], capsize=3, label=name)
        for x, rate, up in zip(xs, heights, high, strict=True):
            # Above the upper whisker, so a 0% bar is still readable.
            ax.text(x, rate + up + 0.02, f"{rate:.0%}", ha="center", va="bottom",
                    fontsize="x-small")
    ax.set_xticks(range(len(suites)), suites)
    ax.set_ylim(0, 1.3)
    ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])  # the headroom above 1 is for the legend
    ax.set_ylabel("success rate")
    level = round(100 * float(report.get("confidence", 0.95)))
    ax.set_title(f"closed-loop success on {report.get('split', '?')} ({level}% Wilson CI)")
    if policies:
        ax.legend(fontsize="small", loc="upper center", ncols=min(4, len(policies)))
    _save(fig, path)


def plot_curves(curves: Curves, path: str | os.PathLike, *, ylabel: str = "reward",
                title: str = "training reward") -> None:
    """One line per curve; a figure that says so when there are none."""
    fig = _figure(6.0, 3.6)
    ax = fig.add_subplot()
    drawn = 0
    for name, points in sorted(curves.items()):
        if not points:
            continue
        steps, values = zip(*sorted(points), strict=True)
        ax.plot(steps, values, marker="." if len(points) < 30 else None, label=name)
        drawn += 1
    if drawn:
        ax.set_xlabel("training step")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize="small")
        ax.set_title(title)
    else:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no training curves were given", ha="center", va="center")
    _save(fig, path)


__all__ = ["Curves", "plot_curves", "plot_success"]
