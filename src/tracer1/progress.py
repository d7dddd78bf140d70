"""Progress of long loops: ``label: 40/200 steps (20%), 1.9 s/step, ETA 5m04s``.

Training steps, rollout episodes, evaluation (closed loop and offline), the SFT probe
and the dataset build all go through `Progress`, so every stage that runs for minutes
says how far it is, how fast it goes and when it will be done. On a terminal the line
is rewritten in place about once a second. Anywhere else (`make run` piped to a file,
`dvc repro` in CI, a Kubeflow pod's log) each update is a log line of its own (logger
``tracer1.progress``, INFO), at most one per `LOG_INTERVAL_S` plus the first and the
last: a 9-minute stage writes about 20 lines, not one per step and not none at all.

The trainers run with `disable_tqdm=True` (tqdm on a pipe writes a line per
refresh, and its carriage returns garble logs); `trainer_progress` is the
`TrainerCallback` that reports their steps here instead.

>>> clock = iter([0.0, 10.0, 20.0]).__next__
>>> lines = []
>>> p = Progress("demo", 4, unit="steps", clock=clock, write=lines.append)
>>> p.update(2); p.update(4)
>>> lines
['demo: 2/4 steps (50%), 5.0 s/step, ETA 10s', 'demo: 4/4 steps (100%), 5.0 s/step, took 20s']
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

logger = logging.getLogger(__name__)

LOG_INTERVAL_S = 30.0  # between log lines when not on a terminal
TTY_INTERVAL_S = 1.0  # between redraws on a terminal


class Progress:
    """Reports `done`/`total` items of one loop with its rate and time left.

    `update(done)` takes the absolute count (a resumed run starts at `start`: the rate
    counts only this run's items). `write` receives each line (default: the logger, or
    an in-place line on `stream` when it is a terminal); `clock` is injectable for
    tests. Lines are throttled to one per `interval` seconds (default: 1 s on a
    terminal, `LOG_INTERVAL_S` elsewhere); the first and the last update always show.
    """

    def __init__(
        self,
        label: str,
        total: int,
        *,
        unit: str = "steps",
        start: int = 0,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        write: Callable[[str], None] | None = None,
        stream: TextIO | None = None,
    ):
        self.label, self.total, self.unit = label, max(int(total), 0), unit
        self.start = self.done = int(start)
        self._clock = clock
        self._began = clock()
        self._shown_at: float | None = None
        self._stream = stream if stream is not None else sys.stderr
        self._tty = write is None and _isatty(self._stream)
        self._write = write or (self._redraw if self._tty else logger.info)
        self.interval = interval if interval is not None else (
            TTY_INTERVAL_S if self._tty else LOG_INTERVAL_S)
        self._closed = False

    def update(self, done: int, note: str = "") -> None:
        """`done` items finished so far; `note` (e.g. ``loss 0.81``) ends the line.

        Nothing after the last item was shown (the loop's line is closed).
        """
        if self._closed:
            return
        self.done = int(done)
        now = self._clock()
        final = self.done >= self.total
        due = self._shown_at is None or now - self._shown_at >= self.interval
        if final or due:
            self._shown_at = now
            self._write(self.line(now, note))
            if final:
                self.close()

    def advance(self, n: int = 1, note: str = "") -> None:
        """`n` more items finished."""
        self.update(self.done + n, note)

    def line(self, now: float, note: str = "") -> str:
        """The progress line at time `now`."""
        elapsed = max(now - self._began, 0.0)
        count = self.done - self.start
        parts = [f"{self.done}/{self.total} {self.unit}"
                 + (f" ({100 * self.done // self.total}%)" if self.total else "")]
        if count > 0 and elapsed > 0:
            parts.append(rate_text(count / elapsed, self.unit))
        if self.done >= self.total:
            parts.append(f"took {duration_text(elapsed)}")
        elif count > 0 and elapsed > 0:
            parts.append(f"ETA {duration_text((self.total - self.done) * elapsed / count)}")
        if note:
            parts.append(note)
        return f"{self.label}: " + ", ".join(parts)

    def close(self) -> None:
        """End the loop's line (on a terminal: move past it). Idempotent."""
        if not self._closed and self._tty and self._shown_at is not None:
            self._stream.write("\n")
            self._stream.flush()
        self._closed = True

    def _redraw(self, line: str) -> None:
        self._stream.write("\r" + line + "\x1b[K")  # \x1b[K: clear what a longer line left
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reporter(label: str | None, total: int, unit: str = "steps") -> Callable[..., None]:
    """`update(done, note="")` of a `Progress` over `total` items, the form the loops take
    (`run_episodes`, `predict_steps`, the SFT probe, `build_dataset`); a no-op without a
    label or without items, so library callers and tests stay quiet by default.

    >>> reporter(None, 10)(3)  # nothing shown
    """
    if label is None or total <= 0:
        return lambda done, note="": None
    return Progress(label, total, unit=unit).update


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def rate_text(per_second: float, unit: str) -> str:
    """``12.5 steps/s`` when fast, ``4.2 s/step`` when slow (a rate under 1 reads badly).

    >>> rate_text(12.5, "steps"), rate_text(0.25, "episodes")
    ('12.5 steps/s', '4.0 s/episode')
    """
    if per_second >= 1:
        return f"{per_second:.1f} {unit}/s"
    return f"{1 / per_second:.1f} s/{unit.removesuffix('s')}"


def duration_text(seconds: float) -> str:
    """``45s``, ``5m04s``, ``2h03m``.

    >>> duration_text(45.4), duration_text(304), duration_text(7380)
    ('45s', '5m04s', '2h03m')
    """
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def trainer_progress(label: str, **progress: Any) -> Any:
    """A `TrainerCallback` reporting the trainer's optimizer steps through `Progress`.

    The total is the trainer's `max_steps`, the start the step it resumed from; each
    line ends with the last logged loss (SFT) or reward (GRPO). `progress` goes to
    `Progress` (tests pass a clock and a `write`).
    """
    from transformers import TrainerCallback

    class StepProgress(TrainerCallback):  # not HF's ProgressCallback, which `quiet` removes
        def __init__(self) -> None:
            self.progress: Progress | None = None
            self.note = ""

        def on_train_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if state.is_world_process_zero:
                self.progress = Progress(label, state.max_steps, unit="steps",
                                         start=state.global_step, **progress)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **_: Any) -> None:
            logs = logs or {}
            shown = [f"{key} {logs[key]:.4g}" for key in ("loss", "reward")
                     if isinstance(logs.get(key), int | float)]
            if shown:
                self.note = ", ".join(shown)

        def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if self.progress is not None:
                self.progress.update(state.global_step, self.note)

        def on_train_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if self.progress is not None:
                self.progress.close()

    return StepProgress()


__all__ = ["LOG_INTERVAL_S", "Progress", "duration_text", "rate_text", "reporter",
           "trainer_progress"]
