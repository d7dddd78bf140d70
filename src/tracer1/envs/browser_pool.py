"""A pool of long-lived headless browsers shared by every MiniWoB environment of a suite.

Starting Chromium costs 1-3 s; an episode step about 80 ms. So browsers are leased,
not started per episode: `lease()` hands out an idle browser that still answers (or
starts one), `release()` takes it back — or closes it when it no longer answers or
more than `size` are idle. `size` is the number of browsers kept warm (default sized
to the machine: two to three saturate two cores); leases beyond it start extra
browsers rather than block, so nested leases (an expert reference replayed beside a
live episode) can never deadlock. `replace()` swaps a crashed or hung browser for a
fresh one (the environment then replays its episode there). `shutdown()` closes every
browser it started.

`map_parallel` runs many episodes over the pool at once: one thread per worker, each
episode on its own leased browser. Threads suffice — a Selenium call waits on the
browser with the GIL released, so N threads keep N browsers busy.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tracer1.envs.browser import Browser, BrowserFailure, BrowserMissing

logger = logging.getLogger(__name__)

START_ATTEMPTS = 3
T = TypeVar("T")
R = TypeVar("R")


def default_pool_size() -> int:
    """Browsers kept warm: one more than the cores, at most 8."""
    return max(1, min(8, (os.cpu_count() or 1) + 1))


@dataclass(eq=False)
class Lease:
    """A browser on loan; `page` is the task page it has loaded (set by the environment)."""

    browser: Browser
    page: str | None = None
    episodes: int = field(default=0)

    @property
    def driver(self) -> Any:
        return self.browser.driver


class BrowserPool:
    """Long-lived browsers handed out one episode at a time; thread-safe.

    `factory` builds an unstarted `Browser` (tests pass fakes, or a short command
    timeout). `started` counts browsers started over the pool's life, `restarted`
    those replaced because they crashed or hung; logs and tests read both.
    """

    def __init__(self, size: int | None = None, factory: Callable[[], Browser] | None = None):
        self.size = size or default_pool_size()
        self._factory = factory or Browser
        self._idle: list[Lease] = []
        self._all: set[Lease] = set()
        self._lock = threading.Lock()
        self.started = 0
        self.restarted = 0

    def lease(self) -> Lease:
        """An idle browser that still answers, else a freshly started one."""
        while True:
            with self._lock:
                lease = self._idle.pop() if self._idle else None
            if lease is None:
                return self._start()
            if lease.browser.alive():
                return lease
            logger.warning("an idle browser stopped answering; starting another")
            self._discard(lease, graceful=False)
            with self._lock:
                self.restarted += 1

    def release(self, lease: Lease, healthy: bool = True) -> None:
        """Take a browser back: kept warm when healthy and fewer than `size` are idle."""
        with self._lock:
            keep = healthy and len(self._idle) < self.size and lease in self._all
            if keep:
                self._idle.append(lease)
        if not keep:
            self._discard(lease, graceful=healthy)

    def replace(self, lease: Lease) -> Lease:
        """Kill a browser that crashed or hung and lease a fresh one in its place."""
        self._discard(lease, graceful=False)
        with self._lock:
            self.restarted += 1
        return self.lease()

    def shutdown(self) -> None:
        """Close every browser the pool started, leased or idle (leases end with them)."""
        with self._lock:
            leases, self._idle, self._all = list(self._all), [], set()
        for lease in leases:
            lease.browser.close()

    @property
    def live(self) -> int:
        return len(self._all)

    def _start(self) -> Lease:
        error: Exception | None = None
        for _ in range(START_ATTEMPTS):
            browser = self._factory()
            try:
                browser.start()
            except BrowserMissing:
                raise  # nothing to retry: nothing is installed
            except Exception as exc:  # a browser that fails to start: try a fresh one
                browser.close(graceful=False)
                error = exc
                logger.warning("browser failed to start: %s", exc)
                continue
            lease = Lease(browser)
            with self._lock:
                self._all.add(lease)
                self.started += 1
            return lease
        raise BrowserFailure(f"no browser started after {START_ATTEMPTS} attempts: {error}")

    def _discard(self, lease: Lease, graceful: bool) -> None:
        with self._lock:
            self._all.discard(lease)
        lease.browser.close(graceful=graceful)


def map_parallel(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """`[fn(item) for item in items]` on `workers` threads; results in the items' order.

    For episodes over a `BrowserPool`: `fn` makes (and closes) its own environment, so
    a browser serves one episode at a time; a pool of at least `workers` browsers keeps
    them all warm. If a call raises, items not yet started are skipped, the running
    calls finish, and the exception of the earliest failed item is raised — browser
    crashes never get here (the environment absorbs them), so an exception is a bug.
    One worker runs in the calling thread.

    >>> map_parallel(lambda x: x * x, range(5), workers=2)
    [0, 1, 4, 9, 16]
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    items = list(items)
    if workers == 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(workers, len(items)), thread_name_prefix="episode") as pool:
        futures = [pool.submit(fn, item) for item in items]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:  # a failure (or Ctrl-C): start nothing new; leaving the block joins the rest
            for future in futures:
                future.cancel()
    errors = (future.exception() for future in futures if not future.cancelled())
    first = next((error for error in errors if error is not None), None)
    if first is not None:
        raise first
    return [future.result() for future in futures]


__all__ = ["BrowserPool", "Lease", "default_pool_size", "map_parallel"]
