"""results.png: one panel per ablation table and suite, the metrics that move, as bars.

Bars are the mean over seeds, whiskers the interval over seeds (`table.aggregate`).
matplotlib is imported inside the function and drives an explicit Agg canvas (no
pyplot state, headless).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from tracer1.io import atomic_open

PLOTTED = (
    ("success", "success"),
    ("action_type_accuracy", "action-type acc."),
    ("step_success_rate", "step success"),
    ("parse_error_rate", "parse errors"),
    ("repetition_rate", "repetition"),
)


def plot_results(results: Mapping[str, Any], path: str | os.PathLike) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tables = results["tables"]
    suites = list(results["suites"]) or ["?"]
    fig = Figure(figsize=(6.5 * len(suites), 3.4 * max(1, len(tables))), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(1, len(tables)), len(suites), squeeze=False)
    width = 0.8 / len(PLOTTED)
    for i, table in enumerate(tables):
        for j, suite in enumerate(suites):
            ax = axes[i][j]
            rows = [r for r in table["rows"] if r["suite"] == suite]
            for k, (metric, label) in enumerate(PLOTTED):
                xs, heights, low, high = [], [], [], []
                for x, row in enumerate(rows):
                    stat = row["metrics"].get(metric)
                    if stat is None:
                        continue
                    xs.append(x - 0.4 + width * (k + 0.5))
                    heights.append(stat["mean"])
                    lo = stat["lo"] if stat["lo"] is not None else stat["mean"]
                    hi = stat["hi"] if stat["hi"] is not None else stat["mean"]
                    low.append(max(0.0, stat["mean"] - lo))
                    high.append(max(0.0, hi - stat["mean"]))
                ax.bar(xs, heights, width, yerr=[low, high], capsize=2, label=label)
            ax.set_xticks(range(len(rows)), [r["label"] for r in rows], fontsize="x-small",
                          rotation=15)
            ax.set_ylim(0, 1.15)
            ax.set_title(f"{table['name']} · {suite}", fontsize="small")
            if i == 0 and j == 0:
                ax.legend(fontsize="x-small", ncols=len(PLOTTED), loc="upper left")
    level = round(100 * results["confidence"])
    fig.suptitle(f"TraceR1 ablations, budget {results['budget']}: mean over seeds "
                 f"{tuple(results['seeds'])}, {level}% t-interval", fontsize="medium")
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png")


__all__ = ["PLOTTED", "plot_results"]
