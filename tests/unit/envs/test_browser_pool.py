"""BrowserPool and map_parallel logic with fake browsers (no Chromium)."""

from __future__ import annotations

import itertools
import random
import threading
import time

import pytest

from tracer1.envs.browser import BrowserFailure, BrowserMissing
from tracer1.envs.browser_pool import BrowserPool, default_pool_size, map_parallel


class FakeBrowser:
    """Records start/close; `alive` answers what the test sets; `fail` makes start raise."""

    ids = itertools.count()

    def __init__(self, fail: BaseException | None = None):
        self.id = next(self.ids)
        self.fail = fail
        self.started = self.answers = False
        self.closed: list[bool] = []  # the `graceful` flag of every close

    def start(self):
        if self.fail is not None:
            raise self.fail
        self.started = self.answers = True
        return self

    def alive(self) -> bool:
        return self.answers and not self.closed

    def close(self, graceful: bool = True) -> None:
        self.closed.append(graceful)

    @property
    def driver(self):
        return self


class Factory:
    """Hands out FakeBrowsers; the first `failures` fail to start with `error`."""

    def __init__(self, failures: int = 0, error: BaseException | None = None):
        self.made: list[FakeBrowser] = []
        self.failures = failures
        self.error = error or OSError("chromium crashed at start")

    def __call__(self) -> FakeBrowser:
        browser = FakeBrowser(self.error if len(self.made) < self.failures else None)
        self.made.append(browser)
        return browser


@pytest.fixture
def factory():
    return Factory()


def test_release_then_lease_reuses_the_browser(factory):
    pool = BrowserPool(2, factory=factory)
    first = pool.lease()
    pool.release(first)
    for _ in range(5):
        lease = pool.lease()
        assert lease is first and lease.driver is first.browser
        pool.release(lease)
    assert pool.started == 1 and pool.restarted == 0 and pool.live == 1
    assert first.browser.closed == []


def test_leases_beyond_size_start_browsers_and_extras_close_on_release(factory):
    pool = BrowserPool(1, factory=factory)
    a, b = pool.lease(), pool.lease()  # nested leases never block
    assert a.browser is not b.browser and pool.started == 2
    pool.release(a)
    pool.release(b)  # one idle already: b is closed gracefully
    assert a.browser.closed == [] and b.browser.closed == [True]
    assert pool.live == 1 and pool.lease() is a


def test_unhealthy_release_kills_the_browser(factory):
    pool = BrowserPool(2, factory=factory)
    lease = pool.lease()
    pool.release(lease, healthy=False)
    assert lease.browser.closed == [False] and pool.live == 0
    assert pool.lease().browser is not lease.browser


def test_a_dead_idle_browser_is_replaced_at_lease(factory):
    pool = BrowserPool(2, factory=factory)
    lease = pool.lease()
    pool.release(lease)
    lease.browser.answers = False  # crashed while idle
    fresh = pool.lease()
    assert fresh.browser is not lease.browser and lease.browser.closed == [False]
    assert pool.started == 2 and pool.restarted == 1 and pool.live == 1


def test_replace_kills_and_hands_out_a_fresh_browser(factory):
    pool = BrowserPool(2, factory=factory)
    lease = pool.lease()
    lease.page = "click-button"
    fresh = pool.replace(lease)
    assert lease.browser.closed == [False] and fresh.browser.started
    assert fresh.page is None  # the environment reloads its page there
    assert pool.restarted == 1 and pool.live == 1


def test_replace_prefers_an_idle_browser(factory):
    pool = BrowserPool(2, factory=factory)
    idle, busy = pool.lease(), pool.lease()
    pool.release(idle)
    assert pool.replace(busy) is idle and pool.started == 2


def test_a_browser_failing_to_start_is_retried():
    factory = Factory(failures=2)
    pool = BrowserPool(1, factory=factory)
    lease = pool.lease()
    assert lease.browser is factory.made[2] and pool.started == 1
    assert [b.closed for b in factory.made[:2]] == [[False], [False]]


def test_three_failed_starts_raise_browser_failure():
    factory = Factory(failures=99)
    with pytest.raises(BrowserFailure, match="no browser started after 3 attempts"):
        BrowserPool(1, factory=factory).lease()
    assert len(factory.made) == 3 and all(b.closed for b in factory.made)


def test_a_missing_browser_is_not_retried():
    factory = Factory(failures=99, error=BrowserMissing("Chromium not found"))
    with pytest.raises(BrowserMissing):
        BrowserPool(1, factory=factory).lease()
    assert len(factory.made) == 1


def test_shutdown_closes_leased_and_idle_browsers(factory):
    pool = BrowserPool(2, factory=factory)
    leased, idle = pool.lease(), pool.lease()
    pool.release(idle)
    pool.shutdown()
    assert leased.browser.closed == [True] and idle.browser.closed == [True]
    assert pool.live == 0
    pool.release(leased)  # a lease returned after shutdown is closed, not kept
    assert leased.browser.closed == [True, True] and pool.live == 0


def test_concurrent_leases_never_share_a_browser(factory):
    pool = BrowserPool(3, factory=factory)
    holders: dict[int, int] = {}
    lock, clashes = threading.Lock(), []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(50):
            lease = pool.lease()
            with lock:
                if lease.browser.id in holders:
                    clashes.append(lease.browser.id)
                holders[lease.browser.id] = seed
            time.sleep(rng.random() / 2000)
            with lock:
                del holders[lease.browser.id]
            pool.release(lease)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clashes == []
    assert pool.started <= 3 and pool.live == pool.started


def test_default_size_is_sized_to_the_machine():
    assert 1 <= default_pool_size() <= 8
    assert BrowserPool(factory=Factory()).size == default_pool_size()


# --------------------------------------------------------------------- map_parallel


def test_map_parallel_keeps_the_items_order():
    def slow_square(x: int) -> int:
        time.sleep(random.Random(x).random() / 100)  # finish out of order
        return x * x

    assert map_parallel(slow_square, range(20), workers=4) == [x * x for x in range(20)]
    assert map_parallel(slow_square, [], workers=4) == []


def test_map_parallel_runs_workers_at_once():
    running, peak, lock = [0], [0], threading.Lock()
    barrier = threading.Barrier(3, timeout=5)  # three calls must overlap to pass it

    def call(x: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        if x < 3:
            barrier.wait()
        time.sleep(0.005)
        with lock:
            running[0] -= 1
        return x

    assert map_parallel(call, range(9), workers=3) == list(range(9))
    assert peak[0] == 3


def test_map_parallel_one_worker_runs_in_the_calling_thread():
    me = threading.get_ident()
    assert map_parallel(lambda _: threading.get_ident() == me, range(3), workers=1) == [True] * 3
    with pytest.raises(ValueError, match="workers must be >= 1"):
        map_parallel(str, [1], workers=0)


def test_map_parallel_raises_the_earliest_failure_after_the_running_calls_finish():
    finished, started = [], []
    release_late_failure = threading.Event()

    def call(x: int) -> int:
        started.append(x)
        if x == 1:
            release_late_failure.wait(5)  # fails after item 2 has already failed
            raise KeyError("item 1")
        if x == 2:
            release_late_failure.set()
            raise ValueError("item 2")
        time.sleep(0.05)
        finished.append(x)
        return x

    with pytest.raises(KeyError, match="item 1"):
        map_parallel(call, range(100), workers=3)
    # Every call that started has finished by the time the exception arrives ...
    assert set(finished) == set(started) - {1, 2}
    # ... and nothing new started once a call had failed.
    assert len(started) < 100


def test_map_parallel_propagates_a_single_failure_with_its_traceback():
    def call(x: int) -> int:
        if x == 3:
            raise RuntimeError("boom")
        return x

    with pytest.raises(RuntimeError, match="boom") as info:
        map_parallel(call, range(6), workers=2)
    assert info.traceback[-1].name == "call"
