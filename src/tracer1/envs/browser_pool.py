"""A pool of long-lived headless browsers shared by every MiniWoB environment of a suite.

Starting Chromium costs 1-3 s; an episode step about 80 ms. So browsers are leased,
not started per episode: `lease()` hands out an idle browser that still answers (or
starts one), `release()` takes it back — or closes it when it no longer answers or
more than `size` are idle. `size` is the number of browsers kept warm (default sized
to the machine: two to three saturate two cores); leases beyond it start extra
browsers rather than block, so nested leases (an expert reference replayed beside a
live episode) can never deadlock. `shutdown()` closes every browser it started.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tracer1.envs.browser import Browser

logger = logging.getLogger(__name__)

START_ATTEMPTS = 3


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
    def __init__(self, size: int | None = None, factory: Callable[[], Browser] | None = None):
        self.size = size or default_pool_size()
        self._factory = factory or Browser
        self._idle: list[Lease] = []
        self._all: set[Lease] = set()
        self._lock = threading.Lock()
        self.started = 0  # browsers started over the pool's life (tests and logs read it)
        self.restarted = 0  # browsers replaced because they stopped answering

    def lease(self) -> Lease:
        while True:
            with self._lock:
                lease = self._idle.pop() if self._idle else None
            if lease is None:
                return self._start()
            if lease.browser.alive():
                return lease
            self._discard(lease)
            self.restarted += 1

    def release(self, lease: Lease, healthy: bool = True) -> None:
        with self._lock:
            keep = healthy and len(self._idle) < self.size and lease in self._all
            if keep:
                self._idle.append(lease)
        if not keep:
            self._discard(lease)

    def replace(self, lease: Lease) -> Lease:
        """Close a browser that crashed or hung and lease a fresh one in its place."""
        self._discard(lease)
        self.restarted += 1
        return self.lease()

    def shutdown(self) -> None:
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
            except Exception as exc:  # a browser that fails to start: try a fresh one
                browser.close()
                error = exc
                logger.warning("browser failed to start: %s", exc)
                continue
            lease = Lease(browser)
            with self._lock:
                self._all.add(lease)
                self.started += 1
            return lease
        raise RuntimeError(f"no browser started after {START_ATTEMPTS} attempts: {error}")

    def _discard(self, lease: Lease) -> None:
        with self._lock:
            self._all.discard(lease)
        lease.browser.close()


__all__ = ["BrowserPool", "Lease", "default_pool_size"]
