"""The ablation study's pure parts: arms and budgets as data, aggregation over seeds, the table."""

from __future__ import annotations

import copy
import doctest
import json
import math
import os
import sys
from pathlib import Path

import pytest
import yaml

from bench.ablations import arms, capture, run, table
from tracer1.config import load_params
from tracer1.evaluation.report import build_report, check_report, scored_section

REPO = Path(__file__).resolve().parents[3]

BOOT = {"samples": 50, "confidence": 0.95, "seed": 0}
T975_DF2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom


def _section(wins: dict[str, int], difficulty: dict[str, int], *, action_type: float,
             repetition: float = 0.1, steps: int = 12) -> dict:
    hardest = max(difficulty.values())
    long = [float(w) for t, w in wins.items() if difficulty[t] == hardest]
    return {
        **scored_section([float(w) for w in wins.values()], **BOOT),
        "mean_steps": 3.0, "repetition_rate": repetition, "invalid_action_rate": 0.05,
        "per_task": dict(wins),
        "families": {"f": scored_section([float(w) for w in wins.values()], **BOOT)},
        "long_horizon": {**scored_section(long, **BOOT), "difficulty": hardest},
        "offline": {"action_type_accuracy": action_type, "argument_accuracy": 0.0,
                    "step_success_rate": 0.0, "parse_error_rate": 0.1, "steps": steps},
    }


TASKS = {f"tooluse/f/d{d}/s{i}": d for i, d in enumerate((1, 2, 3, 1, 2, 3))}


def _record(arm: str, seed: int, *, action_type: dict[str, float] | None = None,
            wins: dict[str, int] | None = None, tasks: dict[str, int] = TASKS,
            reward: float = 0.3) -> dict:
    action_type = action_type or {}
    wins = wins or dict.fromkeys(tasks, 0)
    policies = {
        name: {"tooluse": _section(wins, tasks, action_type=action_type.get(name, 0.5))}
        for name in ("sft", "stage1", "stage2", "reactive")
    }
    report = build_report(policies, split="test", confidence=0.95,
                          roles={"candidate": "stage2", "baseline": "reactive"})
    assert check_report(report) == []
    return {
        "schema": table.SCHEMA, "budget": "small", "arm": arm, "seed": seed,
        "fingerprint": "x", "commit": "abc", "seconds": 60.0, "stage_seconds": {},
        "report": report,
        "stages": {"stage1_grpo": {"reward": reward, "reward_first10": reward - 0.1,
                                   "reward_last10": reward,
                                   "TrajectoryReward_last10": reward / 2}},
    }


# ------------------------------------------------------------------ arms and budgets


def test_doctests():
    for module in (arms, table):
        assert doctest.testmod(module).failed == 0


def test_seeds_change_only_the_training_seeds():
    for budget in arms.BUDGETS:
        for arm in arms.ARMS:
            a, b = arms.overrides(budget, arm, 0), arms.overrides(budget, arm, 7)
            changed = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
            assert changed == set(arms.BUDGETS[budget].seed_keys)
            assert not any(k.startswith("build_dataset.seeds") for k in changed)


@pytest.mark.parametrize("budget", sorted(arms.BUDGETS))
def test_every_arm_of_a_budget_is_scored_on_the_same_tasks(budget):
    shared = ("build_dataset.", "evaluate.")
    views = {
        arm: {k: v for k, v in arms.overrides(budget, arm, 0).items()
              if k.startswith(shared) and k != "evaluate.policies"}  # which checkpoints
        for arm in arms.ARMS
    }
    assert len({json.dumps(arms.describe(v), sort_keys=True) for v in views.values()}) == 1


def _apply_like_dvc(data: dict, values: dict) -> dict:
    """What `dvc exp run -S` does to params.yaml: `~key` deletes a key that must exist,
    `++key=value` sets a key, adding it (and its sections) where params.yaml leaves it to
    its config.py default."""
    out = copy.deepcopy(data)
    for dotted, value in values.items():
        *parents, leaf = dotted.split(".")
        node = out
        for key in parents:
            node = node.setdefault(key, {})
        if value is arms.DELETE:
            assert leaf in node, f"{dotted}: not in params.yaml (dvc exp run -S would refuse it)"
            del node[leaf]
        else:
            node[leaf] = value
    return out


@pytest.mark.parametrize("budget", sorted(arms.BUDGETS))
def test_every_run_gives_params_the_strict_loader_accepts(budget, tmp_path):
    data = yaml.safe_load((REPO / "params.yaml").read_text())
    extra = dict.fromkeys(arms.BUDGETS[budget].extra_required, "/models/base")
    for arm in arms.ARMS:
        values = arms.overrides(budget, arm, 1, extra)
        path = tmp_path / f"{arm}.yaml"
        path.write_text(yaml.safe_dump(_apply_like_dvc(data, values)))
        params = load_params(path)
        assert list(params.forecast.variants) == [arms.CANDIDATE]
        assert params.forecast.horizon(arms.CANDIDATE) == values[arms.HORIZON_KEY]
        assert params.stage1_grpo.seed == params.stage2_rft.seed == 1
        # the small budget's seeds share one SFT warm start (the default seed)
        assert params.sft.seed == (0 if budget == "small" else 1)


def test_arms_differ_in_the_ablated_setting():
    t5, gamma = arms.overrides("small", "T5", 0), arms.overrides("small", "gamma0.5", 0)
    assert {k for k in t5.keys() | gamma.keys() if t5.get(k) != gamma.get(k)} == {
        "stage1_grpo.gamma", "evaluate.policies"}  # T5 also scores its SFT checkpoint
    assert arms.overrides("small", "T1", 0)[arms.HORIZON_KEY] == 1
    assert arms.overrides("small", "T20", 0)["policy.max_new_tokens"] >= 384
    # one variant per arm: the reactive chain is deleted, the baseline points at the candidate
    assert arms.overrides("small", "T5", 0)["forecast.variants.reactive"] is arms.DELETE


def test_tables_and_budgets_name_known_arms():
    for t in arms.TABLES:
        assert t.rows and all(row.arm in arms.ARMS for row in t.rows)
        assert all(row.policy in ("sft", "stage1", "stage2") for row in t.rows)
        # a table row reads a checkpoint its arm's evaluate scores, and only those are scored
        assert all(row.policy in arms.ARMS[row.arm].policies for row in t.rows)
    read = {(row.arm, row.policy) for t in arms.TABLES for row in t.rows}
    assert read == {(a.name, p) for a in arms.ARMS.values() for p in a.policies}
    for b in arms.BUDGETS.values():
        assert set(b.arms) <= set(arms.ARMS) and b.seeds
    assert len(arms.BUDGETS["small"].seeds) >= 3
    assert arms.BUDGETS["micro"].arms == ("T5",) and len(arms.BUDGETS["micro"].seeds) == 1
    horizons = {arms.ARMS[r.arm].overrides[arms.HORIZON_KEY]
                for t in arms.TABLES if t.name == "horizon" for r in t.rows}
    assert horizons == {1, 3, 5, 10, 20}


def test_set_param_args_hydra_syntax():
    args = arms.set_param_args({
        "a.b": arms.DELETE, "x.fam": ["click-button", "book-flight"], "x.n": None,
        "x.f": 0.5, "x.flag": True, "x.seeds": {"start": 0, "stop": 6}, "x.s": "anticipatory",
    })
    assert args[:2] == ["-S", "~a.b"]
    assert args[3::2] == [
        "++x.fam=['click-button', 'book-flight']", "++x.n=null", "++x.f=0.5", "++x.flag=true",
        "++x.seeds={start: 0, stop: 6}", "++x.s='anticipatory'",
    ]
    with pytest.raises(ValueError, match="quotes"):
        arms.hydra_value("it's")
    with pytest.raises(TypeError):
        arms.hydra_value(object())


def test_fingerprint_follows_the_overrides(tmp_path):
    a = run.fingerprint("small", arms.overrides("small", "T5", 0))
    assert a == run.fingerprint("small", arms.overrides("small", "T5", 0))
    assert a != run.fingerprint("small", arms.overrides("small", "T5", 1))
    assert a != run.fingerprint("micro", arms.overrides("small", "T5", 0))
    path = tmp_path / "s0.json"
    assert not run.is_done(path, a)
    path.write_text(json.dumps({"fingerprint": a}))
    assert run.is_done(path, a) and not run.is_done(path, "other")
    path.write_text("{half")
    assert not run.is_done(path, a)


# ------------------------------------------------------------------ reading a run


def test_short_and_long_success_from_the_report_counts():
    wins = dict.fromkeys(TASKS, 0)
    wins["tooluse/f/d3/s2"] = 1   # long
    wins["tooluse/f/d1/s0"] = 1   # short
    wins["tooluse/f/d2/s1"] = 1   # short
    m = table.run_metrics(_record("T5", 0, wins=wins), "stage2")["tooluse"]
    assert m["success"] == pytest.approx(0.5)
    assert m["success_long"] == pytest.approx(0.5)      # 1 of the 2 difficulty-3 tasks
    assert m["success_short"] == pytest.approx(0.5)     # 2 of the 4 others
    assert m["stage1_reward"] == pytest.approx(0.3)
    assert m["stage1_trajectory_reward"] == pytest.approx(0.15)
    assert table.run_metrics(_record("T5", 0), "sft")["tooluse"]["stage1_reward"] is None


def test_all_long_tasks_leave_no_short_group_and_no_offline_steps_no_step_metrics():
    tasks = {"tooluse/f/d3/s0": 3, "tooluse/f/d3/s1": 3}
    section = _section(dict.fromkeys(tasks, 1), tasks, action_type=0.9, steps=0)
    m = table.suite_metrics(section)
    assert m["success_short"] is None and m["success_long"] == 1.0
    assert m["action_type_accuracy"] is None


def test_load_runs_sorts_and_checks_the_schema(tmp_path):
    for arm, seed in (("T5", 1), ("T1", 0), ("T5", 0)):
        path = tmp_path / "runs" / arm / f"s{seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"schema": table.SCHEMA, "arm": arm, "seed": seed}))
    assert [(r["arm"], r["seed"]) for r in table.load_runs(tmp_path)] == [
        ("T1", 0), ("T5", 0), ("T5", 1)]
    (tmp_path / "runs" / "T1" / "s0.json").write_text(json.dumps({"schema": 99}))
    with pytest.raises(ValueError, match="schema"):
        table.load_runs(tmp_path)


# ------------------------------------------------------------------ intervals and tables


def test_seed_interval_is_a_student_t_interval():
    s = table.seed_interval([0.2, 0.4, 0.3])
    half = T975_DF2 * 0.1 / math.sqrt(3)
    assert s["mean"] == pytest.approx(0.3)
    assert (s["lo"], s["hi"]) == (pytest.approx(0.3 - half), pytest.approx(0.3 + half))
    clipped = table.seed_interval([0.0, 0.1, 0.0], clip=(0.0, 1.0))
    assert clipped["lo"] == 0.0 and clipped["hi"] > 0.1
    assert table.seed_interval([0.7])["hi"] is None
    with pytest.raises(ValueError):
        table.seed_interval([])


def _stages_results(records):
    stages = [t for t in arms.TABLES if t.name == "stages"]
    return table.aggregate(records, stages, budget="small", seeds=(0, 1, 2))


def test_aggregate_over_seeds_per_row_and_suite():
    records = [_record("T5", s, action_type={"sft": 0.6 + 0.1 * s, "stage2": 0.8},
                       reward=0.3 + 0.01 * s) for s in (0, 1, 2)]
    records += [_record("T1", s, action_type={"stage2": 0.2}) for s in (0, 1)]
    results = _stages_results(records)
    rows = {r["label"]: r for r in results["tables"][0]["rows"]}
    sft = rows["SFT only (T=5)"]["metrics"]
    assert sft["action_type_accuracy"]["mean"] == pytest.approx(0.7)
    assert sft["action_type_accuracy"]["values"] == pytest.approx([0.6, 0.7, 0.8])
    assert "stage1_reward" not in sft                      # SFT is not trained by Stage 1
    s2 = rows["Stage 1 + Stage 2 (T=5)"]["metrics"]
    assert s2["stage1_reward"]["mean"] == pytest.approx(0.31)
    assert s2["action_type_accuracy"]["lo"] == pytest.approx(0.8)  # no spread, no width
    reactive = rows["reactive T=1 (Stage 1 + 2)"]
    assert reactive["seeds"] == [0, 1] and reactive["metrics"]["success_long"]["n"] == 2
    assert results["missing"] == ["T1/s2"]
    assert results["suites"]["tooluse"] == {
        "episodes": 6, "long_episodes": 2, "long_difficulty": 3, "families": ["f"],
        "offline_steps": 12}


def test_aggregate_refuses_runs_on_different_test_tasks():
    other = {f"tooluse/f/d{d}/s{i + 50}": d for i, d in enumerate((1, 2, 3))}
    records = [_record("T5", 0), _record("T5", 1, tasks=other)]
    with pytest.raises(ValueError, match="different test tasks"):
        _stages_results(records)


def test_markdown_table_cells_missing_runs_and_notes():
    records = [_record("T5", s, action_type={"stage2": 0.5 + 0.1 * s}) for s in (0, 1, 2)]
    results = _stages_results(records)
    md = table.markdown(results)
    assert "## Training stages" in md
    line = next(ln for ln in md.splitlines() if ln.startswith("| Stage 1 + Stage 2 (T=5) |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    half = 100 * T975_DF2 * 0.1 / math.sqrt(3)
    assert cells[1] == "tooluse"
    assert cells[4] == f"60.0 ({60 - half:.1f}–{60 + half:.1f})"  # action-type accuracy
    reactive = next(ln for ln in md.splitlines() if ln.startswith("| reactive T=1"))
    assert "—" in reactive                     # arm T1 never ran
    assert "**Missing runs**" in md and "T1/s0" in md
    assert "Mixed code versions" not in md
    records[0]["commit"] = "def"
    assert "Mixed code versions" in table.markdown(_stages_results(records))


def test_results_files_and_plot(tmp_path):
    out = tmp_path / "out"
    for s in (0, 1, 2):
        path = out / "runs" / "T5" / f"s{s}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_record("T5", s, action_type={"stage1": 0.4 + 0.1 * s})))
    results = run.write_results("small", out, (0, 1, 2), ("T5",), tmp_path / "results")
    assert [t["name"] for t in results["tables"]] == ["runs"]   # partial sweep: arms as run
    assert json.loads((tmp_path / "results.json").read_text())["budget"] == "small"
    assert "T5 · stage1" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out", "results.json", "results.md", "results.png"]   # no temp files left


# ------------------------------------------------------------------ capture and streaming


def test_capture_copies_reports_after_evaluate_only(tmp_path, monkeypatch):
    (tmp_path / "reports" / "eval").mkdir(parents=True)
    (tmp_path / "reports" / "eval" / "report.json").write_text("{}")
    (tmp_path / "reports" / "validation" / "docs").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(capture.REAL_ENV, "true")
    monkeypatch.setenv(capture.CAPTURE_ENV, str(tmp_path / "cap"))
    assert capture.main(["sft", "--params", "params.yaml"]) == 0
    assert not (tmp_path / "cap").exists()
    assert capture.main(["evaluate", "--params", "params.yaml"]) == 0
    assert (tmp_path / "cap" / "reports" / "eval" / "report.json").read_text() == "{}"
    assert not (tmp_path / "cap" / "reports" / "validation" / "docs").exists()
    monkeypatch.setenv(capture.REAL_ENV, "false")
    assert capture.main(["evaluate"]) == 1


def test_run_experiment_times_stages_and_notes_run_cache_hits(tmp_path):
    script = ("import time\n"
              "print(\"Stage 'build_dataset' is cached - skipping run\", flush=True)\n"
              "print(\"Running stage 'sft@anticipatory':\", flush=True); time.sleep(0.2)\n"
              "print(\"Running stage 'evaluate':\", flush=True)\n")
    rc, stages, cached = run.run_experiment([sys.executable, "-c", script], tmp_path, {},
                                            tmp_path / "log.txt")
    assert rc == 0 and cached == ["build_dataset"]
    assert set(stages) == {"sft@anticipatory", "evaluate"}
    assert stages["sft@anticipatory"] >= 0.2
    assert "[exit 0" in (tmp_path / "log.txt").read_text()


def test_sweep_runs_each_run_once_on_parallel_workers_sharing_sfts(tmp_path, monkeypatch):
    clones, ran = [], []
    monkeypatch.setattr(run, "prepare_clone",
                        lambda repo, work, cache: clones.append((work, cache)) or "abc123")

    def fake_run_one(budget, arm, seed, values, *, work, out, commit, threads, on_stage):
        ran.append((work.name, arm, seed, threads, commit))
        if on_stage is not None:
            on_stage("sft@anticipatory")  # worker 0 is past the data stages: others may start
        if (arm, seed) == ("T1", 1):
            raise RuntimeError("dvc exp run exited 1")
        return {"seconds": 6.0, "cached_stages": [], "arm": arm, "seed": seed}

    monkeypatch.setattr(run, "run_one", fake_run_one)
    plan = [(arm, seed, arms.overrides("small", arm, seed))
            for seed in (0, 1) for arm in ("T1", "T5", "gamma1")]
    work = tmp_path / "work" / "repo"
    failed = run.sweep(plan, "small", tmp_path, work, tmp_path / "out", jobs=2, fail_fast=False)
    assert failed == ["T1/s1"]
    assert sorted((a, s) for _, a, s, *_ in ran) == sorted((a, s) for a, s, _ in plan)
    assert [c for c, _ in clones] == [work, work.with_name("repo-1")]
    assert {cache for _, cache in clones} == {work.parent / "dvc-cache"}  # one run-cache
    for seed in (0, 1):  # T5 and gamma1 share an SFT: one worker, T5 (which trains it) first
        mine = [(w, a) for w, a, s, *_ in ran if s == seed and a in ("T5", "gamma1")]
        assert len({w for w, _ in mine}) == 1 and [a for _, a in mine] == ["T5", "gamma1"]
    assert {t for *_, t, _ in ran} == {max(1, (os.cpu_count() or 1) // 2)}
    written = sorted(p.relative_to(tmp_path / "out").as_posix()
                     for p in (tmp_path / "out").rglob("*.json"))
    assert written == sorted(f"runs/{a}/s{s}.json" for a, s, _ in plan if (a, s) != ("T1", 1))


def test_cli_help_and_dry_run(capsys):
    with pytest.raises(SystemExit) as exc:
        run.main(["--help"])
    assert exc.value.code == 0 and "--budget" in capsys.readouterr().out
    assert run.main(["--budget", "small", "--arms", "gamma1", "--seeds", "4", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# gamma1 s4\ndvc exp run --temp ")
    assert "stage1_grpo.gamma=1.0" in out and "stage1_grpo.seed=4" in out
    assert "sft.seed" not in out  # the small budget's seeds share one SFT per horizon
    assert out.rstrip().endswith(" evaluate")
    with pytest.raises(SystemExit, match="policy.base_model"):
        run.main(["--budget", "cluster", "--dry-run"])
