"""`tracer1.progress`: i/N, rate and ETA on a fake clock; throttled log lines off a terminal,
one redrawn line on one; the episode loops report through it."""

from __future__ import annotations

import doctest
import io
import logging

import pytest

import tracer1.progress
from tests.fakes import ExpertPlanner, GarbagePlanner, make_tasks
from tracer1.config import CollectFeedbackConfig
from tracer1.envs import get_suite
from tracer1.evaluation.harness import evaluate_planners
from tracer1.feedback import collect_feedback
from tracer1.progress import Progress
from tracer1.rollout import run_episodes


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def progress(total, **kwargs):
    clock, lines = Clock(), []
    return Progress("sft v", total, clock=clock, write=lines.append, **kwargs), clock, lines


def test_rate_and_eta_from_the_items_done_so_far():
    p, clock, lines = progress(200)
    clock.now = 80.0
    p.update(40, "loss 1.2")
    assert lines == ["sft v: 40/200 steps (20%), 2.0 s/step, ETA 5m20s, loss 1.2"]


def test_a_fast_loop_shows_items_per_second():
    p, clock, lines = progress(1000, unit="episodes")
    clock.now = 4.0
    p.update(50)
    assert lines == ["sft v: 50/1000 episodes (5%), 12.5 episodes/s, ETA 1m16s"]


def test_off_a_terminal_one_line_per_interval_plus_the_first_and_the_last():
    p, clock, lines = progress(100, interval=30.0)
    for step in range(1, 101):  # one step a second
        clock.now = float(step)
        p.update(step)
    shown = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert shown == [1, 31, 61, 91, 100]
    assert lines[-1] == "sft v: 100/100 steps (100%), 1.0 steps/s, took 1m40s"


def test_an_unchanged_count_still_shows_once_per_interval():
    """A slow step is not a hung one: the line comes back with the same count."""
    p, clock, lines = progress(10, interval=30.0)
    for t in (1.0, 20.0, 31.0, 45.0, 62.0):
        clock.now = t
        p.update(1)
    assert len(lines) == 3


def test_a_resumed_run_rates_only_its_own_steps():
    p, clock, lines = progress(100, start=60)
    clock.now = 20.0
    p.update(70)
    assert lines == ["sft v: 70/100 steps (70%), 2.0 s/step, ETA 1m00s"]


def test_nothing_after_the_last_item():
    p, clock, lines = progress(2)
    p.update(2)
    p.update(2)
    p.advance()
    assert len(lines) == 1


def test_by_default_lines_go_to_the_tracer1_progress_logger(caplog):
    caplog.set_level(logging.INFO, logger="tracer1.progress")
    clock = Clock()
    p = Progress("evaluate", 3, unit="episodes", clock=clock, stream=io.StringIO())
    clock.now = 3.0
    p.update(3)
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("tracer1.progress", "INFO", "evaluate: 3/3 episodes (100%), 1.0 episodes/s, took 3s")]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_one_line_is_redrawn_in_place():
    stream, clock = Terminal(), Clock()
    with Progress("sft v", 3, clock=clock, stream=stream) as p:
        for step in (1, 2):
            clock.now = float(step) * 2  # past the 1 s redraw interval
            p.update(step)
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "sft v: 2/3 steps (66%), 2.0 s/step, ETA 2s" in text


def test_doctests():
    result = doctest.testmod(tracer1.progress)
    assert result.attempted > 0 and result.failed == 0


# --- the episode loops

SUITE = get_suite("tooluse")
TASKS = make_tasks(SUITE, range(2))  # 10 tasks


@pytest.fixture
def every_update(monkeypatch, caplog):
    """Every update logged (no 30 s throttle): the messages of tracer1.progress."""
    monkeypatch.setattr(tracer1.progress, "LOG_INTERVAL_S", 0.0)
    caplog.set_level(logging.INFO, logger="tracer1.progress")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "tracer1.progress"]


def _counts(lines, label):
    return [int(line.removeprefix(f"{label}: ").split("/")[0]) for line in lines
            if line.startswith(f"{label}: ")]


def test_run_episodes_reports_episodes_as_they_end(every_update):
    run_episodes(ExpertPlanner(SUITE, TASKS), SUITE, TASKS, max_steps=12, batch_size=4,
                 progress="rollout")
    counts = _counts(every_update(), "rollout")
    assert counts[0] == 0 and counts[-1] == len(TASKS)
    assert counts == sorted(counts) and len(set(counts)) > 3  # within groups, not per group
    assert every_update()[-1].startswith(f"rollout: {len(TASKS)}/{len(TASKS)} episodes (100%)")


def test_run_episodes_without_a_label_reports_nothing(every_update):
    run_episodes(GarbagePlanner(), SUITE, TASKS[:2], max_steps=2)
    assert every_update() == []


def test_evaluate_and_collect_feedback_report_their_episodes(every_update, tmp_path):
    from tracer1.config import EvaluateConfig

    evaluate_planners({"stage2": GarbagePlanner()}, {"tooluse": TASKS[:3]}, {},
                      EvaluateConfig(episode_limit=2))
    collect_feedback(GarbagePlanner(), {"tooluse": TASKS[:2]},
                     CollectFeedbackConfig(episode_limit=2),
                     tmp_path / "d", tmp_path / "m.json")
    lines = every_update()
    assert _counts(lines, "evaluate stage2 on tooluse")[-1] == 3
    assert _counts(lines, "collect_feedback on tooluse")[-1] == 2


# --- the offline loops: predict_steps, the SFT probe, build_dataset


def _episodes(seeds):
    from tracer1.data.build import expert_episode

    return [expert_episode(SUITE, task, "test", max_steps=30) for task in make_tasks(SUITE, seeds)]


def test_predict_steps_reports_the_steps_forecast_per_batch(every_update):
    from tracer1.evaluation.offline import predict_steps

    episodes = _episodes(range(230, 232))
    steps = sum(len(e.steps) for e in episodes)
    predictions = predict_steps(GarbagePlanner(), episodes, batch_size=3, progress="offline")
    assert len(predictions) == steps > 3
    counts = _counts(every_update(), "offline")
    assert counts == [*range(3, steps, 3), steps]
    assert every_update()[-1].startswith(f"offline: {steps}/{steps} steps (100%), ")


def test_predict_steps_is_quiet_without_a_label(every_update):
    from tracer1.evaluation.offline import predict_steps

    predict_steps(GarbagePlanner(), _episodes(range(230, 231)))
    assert every_update() == []


def test_evaluate_reports_its_offline_steps(every_update):
    from tracer1.config import EvaluateConfig

    episodes = _episodes(range(230, 232))
    evaluate_planners({"stage2": GarbagePlanner()}, {"tooluse": TASKS[:1]},
                      {"tooluse": episodes}, EvaluateConfig(episode_limit=2))
    steps = sum(len(e.steps) for e in episodes)
    assert _counts(every_update(), "evaluate stage2 offline on tooluse")[-1] == steps


PLAN = '<plan>\nanswer(text="5")\n</plan>'


class BatchedAgent:
    """The probe's view of an `Agent`: `plan_prompts` over rendered prompts, in batches."""

    horizon = 1

    def __init__(self, batch_size):
        self.batch_size, self.calls = batch_size, []

    def plan_prompts(self, prompts, images=None):
        self.calls.append(list(prompts))
        return [[PLAN] for _ in prompts]


def test_the_probe_reports_its_windows_batch_by_batch(every_update):
    from tracer1.training.probe import probe

    rows = [{"prompt": f"p{i}", "reference": PLAN} for i in range(7)]
    agent = BatchedAgent(batch_size=3)
    metrics = probe(agent, rows, gamma=0.9, lambda_align=1.0, lambda_rep=0.2)
    assert [len(call) for call in agent.calls] == [3, 3, 1]  # the agent's own batches
    assert sum(agent.calls, []) == [r["prompt"] for r in rows]
    assert metrics["probe_windows"] == 7.0 and metrics["format_valid"] == 1.0
    assert metrics["trajectory_reward"] == pytest.approx(1.0)
    assert _counts(every_update(), "probe") == [3, 6, 7]
    assert every_update()[-1].startswith("probe: 7/7 windows (100%), ")


def test_build_dataset_reports_its_expert_episodes(every_update, tmp_path):
    from tracer1.config import BuildDatasetConfig, SeedRange, SplitSeeds, SuiteConfig
    from tracer1.data.build import build_dataset

    cfg = BuildDatasetConfig(
        suites={"tooluse": SuiteConfig()},
        seeds=SplitSeeds(SeedRange(0, 1), SeedRange(1, 2), SeedRange(2, 3)))
    out = (tmp_path / "trajectories", tmp_path / "metrics.json")
    build_dataset(cfg, *out)
    assert every_update() == []  # a library call stays quiet
    build_dataset(cfg, *out, progress=True)
    lines = every_update()
    total = _counts(lines, "build_dataset")[-1]
    assert total >= 3 and _counts(lines, "build_dataset") == list(range(1, total + 1))
    assert lines[-1].startswith(f"build_dataset: {total}/{total} episodes (100%), ")
    assert lines[-1].endswith(f", {total} solved")
