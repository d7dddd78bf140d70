"""The GRPO overhead benchmark's bookkeeping: step intervals, warm-up, checkpoints, ratios."""

import pytest

from bench.grpo_overhead import StepClock, length_reward, summarize, where_time_goes


def clock_with(stamps, saves=None):
    clock = StepClock()
    clock.stamps = list(stamps)
    clock.save_seconds = dict(saves or {})
    return clock


def test_step_intervals_drop_warmup_and_trls_repeated_summary_log():
    clock = StepClock()
    for step in (1, 2, 3, 3):  # trl logs its end-of-run summary at the last step again
        clock.tick(step)
    assert len(clock.stamps) == 3
    clock = clock_with([(1, 10.0), (2, 12.0), (3, 13.5), (4, 14.0)])
    assert clock.step_seconds(warmup=1) == pytest.approx([2.0, 1.5, 0.5])
    assert clock.step_seconds(warmup=2) == pytest.approx([1.5, 0.5])


def test_checkpoint_cost_counts_saves_inside_the_timed_steps_only():
    # Saves after steps 1 (warm-up interval 1->2 is timed), 2 and 4 (after the last log).
    clock = clock_with([(1, 0.0), (2, 1.0), (3, 2.0), (4, 3.0)], {1: 0.3, 2: 0.6, 4: 9.0})
    assert clock.save_per_step(warmup=1) == pytest.approx((0.3 + 0.6) / 3)


def run(median_s, mean_s, generate, rewards, hook=0.0, ckpt=0.0):
    return {"step_seconds": [median_s], "median_s": median_s, "mean_s": mean_s,
            "profile_s": {"transformers.generate": generate, "_calculate_rewards": rewards},
            "log_hook_s": hook, "checkpoint_s_per_step": ckpt, "mean_completion_tokens": 190.0}


def test_summary_ratio_is_the_median_of_paired_ratios_and_explains_the_difference():
    raw = {"batch_size": 16, "num_generations": 8, "max_new_tokens": 192, "parameters": 197000,
           "save_steps": 10, "timed_steps": 10, "warmup_steps": 1, "repeats": 3,
           "runs": {"bare": [run(1.0, 1.0, 0.8, 0.001), run(2.0, 2.0, 1.6, 0.001),
                             run(1.0, 1.0, 0.8, 0.001)],
                    "stage": [run(1.1, 1.2, 0.8, 0.05, 0.02, 0.1),
                              run(2.0, 2.1, 1.6, 0.05, 0.02, 0.1),
                              run(1.3, 1.3, 0.8, 0.05, 0.02, 0.1)]}}
    summary, rows = summarize(raw)
    overhead = summary["overhead"]["stage"]
    assert overhead["paired_ratio"] == pytest.approx(1.1)  # of 1.1, 1.0, 1.3
    assert rows[1].ratio == overhead["paired_ratio"] and rows[1].unit == "s/step"
    where = overhead["where_s_per_step"]
    assert where["rewards"] == pytest.approx(0.049)
    assert where["log hook"] == pytest.approx(0.02)
    assert where["checkpoints"] == pytest.approx(0.1)
    # The parts add up to the difference of the (median over repeats of) mean step times.
    assert sum(where.values()) == pytest.approx(1.3 - 1.0)
    assert "target ≤ 1.05" in rows[1].note and "rewards +49" in rows[1].note


def test_where_time_goes_without_timers_puts_everything_in_other():
    ours, bare = run(1.5, 1.5, 0.0, 0.0), run(1.0, 1.0, 0.0, 0.0)
    ours["profile_s"] = bare["profile_s"] = {}
    assert where_time_goes(ours, bare)["other"] == pytest.approx(0.5)


def test_length_reward_is_trivial_and_signed():
    assert length_reward(["x" * 200, "", "x" * 100]) == [0.0, -1.0, -0.5]
