"""BrowserPool on real headless Chromium: reuse across episodes, dead browsers replaced,
episodes in parallel, and a shutdown that leaves no browser process behind."""

from __future__ import annotations

import os
import signal

import pytest

from tests.integration.miniwob_fixtures import miniwob_suite, run_expert  # noqa: F401
from tracer1.envs.browser import browser_processes, processes_using
from tracer1.envs.browser_pool import BrowserPool, map_parallel
from tracer1.envs.miniwob import MiniWoBEnv

# No skip without a browser: `make test` installs one (or stops saying what to install).
pytestmark = pytest.mark.integration

FAMILY = "click-button"


def test_one_browser_serves_many_episodes(miniwob_suite):  # noqa: F811
    tasks = [miniwob_suite.make_task(FAMILY, seed) for seed in range(4)]
    started = miniwob_suite.pool.started
    assert all(run_expert(miniwob_suite, task)[0] for task in tasks)
    assert miniwob_suite.pool.started == started  # leased, released, leased again
    assert miniwob_suite.pool.live == 1


def test_an_idle_browser_that_died_is_replaced_at_lease(miniwob_suite):  # noqa: F811
    pool = miniwob_suite.pool
    lease = pool.lease()
    pool.release(lease)
    os.killpg(lease.browser.pid, signal.SIGKILL)
    restarted = pool.restarted
    fresh = pool.lease()
    try:
        assert fresh is not lease and fresh.browser.alive()
        assert pool.restarted == restarted + 1
    finally:
        pool.release(fresh)
    assert run_expert(miniwob_suite, miniwob_suite.make_task(FAMILY, 0))[0]


def test_episodes_run_in_parallel_in_order(miniwob_suite):  # noqa: F811
    tasks = [miniwob_suite.make_task(FAMILY, seed) for seed in range(6)]

    def episode(task):
        success, steps = run_expert(miniwob_suite, task)
        return task.task_id, success, len(steps)

    results = map_parallel(episode, tasks, workers=2)
    assert [task_id for task_id, _, _ in results] == [t.task_id for t in tasks]
    assert all(success and n == 1 for _, success, n in results)
    assert miniwob_suite.pool.live <= 2


def test_a_failing_episode_propagates_and_every_browser_comes_back(miniwob_suite):  # noqa: F811
    tasks = [miniwob_suite.make_task(FAMILY, seed) for seed in range(4)]

    def episode(task):
        env = miniwob_suite.make_env()
        try:
            env.reset(task)
            if task.seed == 2:
                raise ValueError(f"planner bug on {task.task_id}")
            return task.seed
        finally:
            env.close()

    with pytest.raises(ValueError, match="planner bug on miniwob/click-button/s2"):
        map_parallel(episode, tasks, workers=2)
    pool = miniwob_suite.pool
    assert len(pool._idle) == pool.live  # every lease was returned


def test_shutdown_leaves_no_browser_process_behind():
    pool = BrowserPool(2)
    envs = [MiniWoBEnv(pool), MiniWoBEnv(pool)]
    try:
        scratch = []
        for env in envs:
            env._driver_for(FAMILY)  # a browser each, with a task page loaded
            scratch.append(env._lease.browser._scratch)
        envs[1].close()  # one idle, one still leased at shutdown
        groups = [lease.browser.pid for lease in pool._all]
        assert len(groups) == 2 and all(browser_processes(pgid) for pgid in groups)
        assert all(processes_using(path) for path in scratch)
        # The groups hold both ChromeDriver and Chromium's processes.
        assert len(browser_processes(groups[0])) > 3
    finally:
        pool.shutdown()
    assert pool.live == 0
    assert [browser_processes(pgid) for pgid in groups] == [[], []]
    # Nor anything that left the groups (Chromium's crash handler would): every browser
    # process names its scratch profile on its command line.
    assert [processes_using(path) for path in scratch] == [[], []]
    assert not any(path.exists() for path in scratch)
