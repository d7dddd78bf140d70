"""The benchmark runner: argument routing, report → row adapters, failures kept apart."""

import json

import pytest

from bench import run_all
from bench.results import Row


def test_repeats_respect_each_benchmarks_minimum():
    assert run_all.repeats_for("reward_throughput", 2) == ["--repeats", "5"]
    assert run_all.repeats_for("grpo_overhead", 2) == ["--repeats", "2"]
    assert run_all.repeats_for("grpo_overhead", None) == []


def test_bench_argv_routes_outputs_and_options(tmp_path):
    args = run_all.main.__globals__["argparse"].Namespace(
        repeats=None, quick=True, full_run=False, full_run_seconds=1407.0)
    dvc = run_all.bench_argv("dvc_noop", args, tmp_path)
    assert dvc[:2] == ["--out", str(tmp_path / "dvc_noop.json")]
    assert dvc[-2:] == ["--full-run-seconds", "1407.0"] and "--full-run" not in dvc
    grpo = run_all.bench_argv("grpo_overhead", args, tmp_path)
    assert grpo[grpo.index("--repeats") + 1] == "1"  # quick: one repeat unless asked
    miniwob = run_all.bench_argv("miniwob_pool", args, tmp_path)
    assert miniwob[miniwob.index("--families") + 1:miniwob.index("--seeds")] == ["click-button"]


def test_reward_and_miniwob_reports_become_rows():
    reward = {"n_forecasts": 4096, "horizon": 10, "repeats": 7,
              "result": {"forecasts_per_s": 53076.0}}
    (row,) = run_all.reward_rows(reward)
    assert (row.value, row.ratio, row.unit) == (53076.0, None, "forecasts/s")
    assert "4,096 forecasts, T=10" in row.what and "median of 7" in row.how

    miniwob = {"families": ["click-button"], "episodes": 4, "repeats": 3,
               "results": {"plain": {"median_steps_per_s": 10.0},
                           "pool-1": {"median_steps_per_s": 9.8},
                           "pool-2": {"median_steps_per_s": 15.0}},
               "ratio_vs_plain": {"plain": 1.0, "pool-1": 0.98, "pool-2": 1.5},
               "paired_ratio_vs_plain": {"plain": 1.0, "pool-1": 0.97, "pool-2": 1.45}}
    rows = run_all.miniwob_rows(miniwob)
    assert [r.ratio for r in rows] == [None, 0.97, 1.45]
    assert rows[2].what == "our browser pool, 2 worker(s) vs plain"


def test_a_failing_benchmark_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    calls = []

    def good(argv):
        calls.append(argv)
        return {"rows": [Row("dvc_noop", "no-op", 1.5, "s", None, "wall").to_json()]}

    def bad(argv):
        raise SystemExit("chromium not found")

    monkeypatch.setattr(run_all, "runners", lambda: {
        "dvc_noop": (good, run_all.stored_rows), "miniwob_pool": (bad, run_all.miniwob_rows)})
    code = run_all.main(["--only", "miniwob_pool", "dvc_noop", "--results-dir", str(tmp_path),
                         "--out-dir", str(tmp_path / "out")])
    assert code == 1
    assert calls and calls[0][:2] == ["--out", str(tmp_path / "out" / "dvc_noop.json")]
    data = json.loads((tmp_path / "results.json").read_text())
    assert [r["what"] for r in data["rows"]] == ["no-op"]
    assert data["errors"] == {"miniwob_pool": "SystemExit: chromium not found"}
    assert set(data["details"]) == {"dvc_noop", "miniwob_pool"}
    assert "| dvc_noop | no-op | 1.5 s |" in (tmp_path / "results.md").read_text()


def test_unknown_benchmark_is_refused():
    with pytest.raises(SystemExit):
        run_all.main(["--only", "nope"])


def _fake_runners(monkeypatch, value):
    def run(argv):
        return {"rows": [Row("dvc_noop", "no-op", value, "s", None, "wall").to_json()]}

    def reward(argv):
        return {"n_forecasts": 8, "horizon": 2, "repeats": 5,
                "result": {"forecasts_per_s": value * 1000}}

    monkeypatch.setattr(run_all, "runners", lambda: {
        "dvc_noop": (run, run_all.stored_rows), "reward_throughput": (reward, run_all.reward_rows)})


def test_a_partial_run_updates_its_rows_and_keeps_the_others_with_their_date(
        tmp_path, monkeypatch):
    out = ["--results-dir", str(tmp_path), "--out-dir", str(tmp_path / "out")]
    _fake_runners(monkeypatch, 1.0)
    assert run_all.main(["--only", "reward_throughput", "dvc_noop", *out]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    data["machine"]["date"] = "2026-01-01T00:00:00+00:00"
    data["details"]["reward_throughput"]["date"] = "2026-01-01T00:00:00+00:00"
    (tmp_path / "results.json").write_text(json.dumps(data))

    _fake_runners(monkeypatch, 2.0)
    assert run_all.main(["--only", "dvc_noop", *out]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    # benchmark order, not run order; the reward row is the earlier run's
    assert [(r["bench"], r["value"]) for r in data["rows"]] == [
        ("reward_throughput", 1000.0), ("dvc_noop", 2.0)]
    assert data["details"]["reward_throughput"]["date"] == "2026-01-01T00:00:00+00:00"
    assert data["details"]["dvc_noop"]["date"] == data["machine"]["date"]
    md = (tmp_path / "results.md").read_text()
    assert "kept from an earlier one: `reward_throughput` (2026-01-01T00:00:00+00:00)" in md


def test_an_unreadable_earlier_results_file_stops_the_run_before_it_measures(
        tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(run_all, "runners", lambda: {
        "dvc_noop": (lambda argv: calls.append(argv), run_all.stored_rows)})
    (tmp_path / "results.json").write_text('{"schema": 1, "rows": [')
    with pytest.raises(SystemExit, match="results.json: cannot keep its other benchmarks"):
        run_all.main(["--only", "dvc_noop", "--results-dir", str(tmp_path),
                      "--out-dir", str(tmp_path / "out")])
    assert calls == []
    assert (tmp_path / "results.json").read_text() == '{"schema": 1, "rows": ['
