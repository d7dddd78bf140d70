"""DVC metrics and plots compare across commits: small files in git, numbers only.

The metrics files `dvc.yaml` declares are written here by the stages' own summary
writers from records shaped like a real run's, committed twice in a scratch git + DVC
repository, and read back with the real `dvc metrics show` / `dvc metrics diff`.
"""

import json
import shutil
import subprocess
from types import SimpleNamespace

import pytest
import yaml

from tests.helpers import REPO, VENV_BIN, run
from tracer1 import stages
from tracer1.config import load_params
from tracer1.evaluation.report import CURVES_PLOT, METRICS_FILE, SUCCESS_PLOT, dvc_metrics
from tracer1.layout import DIR_SUMMARY, Layout, summary_path

DVC = str(VENV_BIN / "dvc")
FAMILIES = ["miniwob/book-flight", "miniwob/click-button", "tooluse/date_math", "tooluse/mixed"]
POLICIES = ["base", "sft", "stage1", "stage2", "reactive", "champion"]
WIDTH_LIMIT = 700  # characters per `dvc metrics show` line (the full records made 6,039)


def declared(kind):
    """Every `kind` ("metrics", "plots", "outs") entry of dvc.yaml, foreach stages expanded
    over the variants: path → its options."""
    params = load_params(REPO / "params.yaml")
    out = {}
    for stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].values():
        body = stage.get("do", stage)
        keys = list(params.forecast.variants) if "do" in stage else [None]
        for entry in body.get(kind, []):
            path, opts = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
            for key in keys:
                out[path.replace("${key}", key) if key else path] = opts or {}
    return out


def ignored(paths):
    """The paths git would ignore under the repository's .gitignore (tracked or not)."""
    proc = subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", "--stdin"],
                          input="\n".join(paths), capture_output=True, text=True, check=False)
    return set(proc.stdout.split())


def test_metrics_and_plots_are_small_files_kept_in_git():
    small = {**declared("metrics"), **declared("plots")}
    assert small and all(opts.get("cache") is False for opts in small.values())
    assert ignored(small) == set()  # in git, so every commit and experiment has them


def test_every_other_output_is_in_the_dvc_cache_or_in_git():
    for path, opts in declared("outs").items():
        if opts.get("cache") is False:  # e.g. the curves' CSV: small, so in git
            assert not ignored([path]), path
    # The full records are cached outputs (no longer metrics: strings, per-family tables).
    outs = declared("outs")
    for full in ("reports/build_dataset.json", "reports/eval/report.json",
                 "reports/sft/anticipatory.json", "reports/validation/result.json"):
        assert full in outs and outs[full].get("cache", True), full


def test_every_plot_is_an_image():
    # Images need no JavaScript: `dvc plots show` draws them offline (vega comes from a CDN).
    assert all(path.endswith(".png") for path in declared("plots"))


# ------------------------------------------------------------ realistic records


def build_record(scale=1.0):
    return {
        "data_sha256": "21e6b13cc72ca783", "dropped_cross_split_duplicates": {"test": 5},
        "expert_success_rate": 1.0 * scale,
        "families": {f: {"episodes": 45, "expert_success_rate": 1.0, "mean_steps": 4.2}
                     for f in FAMILIES},
        "splits": {s: {"episodes": n, "steps": 5 * n}
                   for s, n in (("train", 1075), ("val", 150), ("test", 220))},
    }


def sft_record(scale=1.0):
    return {"final_loss": 0.108 * scale, "mean_token_accuracy": 0.975, "out_dir": "/tmp/x/sft",
            "probe": {"format_valid": 0.52, "probe_windows": 48.0, "seconds": 84.4,
                      "trajectory_reward": 0.322 * scale},
            "seconds": 311.25, "steps": 50, "variant": "anticipatory", "windows": 200}


def grpo_record(stage, scale=1.0):
    rewards = {f"{n}{s}": 0.4 * scale for n in ("reward", "trajectory", "format")
               for s in ("", "_first10", "_last10")}
    return {"stage": stage, "out_dir": f"models/x/{stage}", "prompts": 64, "steps": 8,
            "resumed_from_step": 0, "seconds": 100.0, "train_seconds": 90.0, **rewards,
            "executions": 32}


def feedback_record(scale=1.0):
    stats = {"episodes": 40, "states": 200, "success_rate": 0.25 * scale, "mean_steps": 5.0,
             "invalid_action_rate": 0.1, "repetition_rate": 0.05,
             "first_action_type_agreement": 0.7, "first_action_agreement": 0.4}
    return {**stats, "families": {f: stats for f in FAMILIES}, "records": 200}


def eval_report(scale=1.0):
    def suite(rate):
        return {"success_rate": rate, "ci95": [0.0, 1.0], "episodes": 50,
                "families": {}, "long_horizon": {"success_rate": rate / 2, "ci95": [0, 1],
                                                 "episodes": 10, "difficulty": 3, "tasks": []}}

    return {"roles": {"candidate": "stage2", "baseline": "reactive"},
            "policies": {p: {"suites": {"tooluse": suite(0.1 * i * scale),
                                        "miniwob": suite(0.05 * i * scale)}}
                         for i, p in enumerate(POLICIES)}}


def write_all(root, variants, scale=1.0):
    """Every summary file, by the stages' own writers, at the paths the code uses."""
    lay = Layout(root)
    stages.write_summary(summary_path(lay.build_record),
                         stages.summary("build_dataset", build_record(scale)))
    report = SimpleNamespace(success=True, failures=(), results=(object(),) * 40)
    stages.write_summary(lay.validation / DIR_SUMMARY, stages.validation_summary(report))
    for variant in variants:
        lay = lay.of(variant)
        for stage, record in (("sft", sft_record(scale)),
                              ("stage1_grpo", grpo_record("stage1_grpo", scale)),
                              ("stage2_rft", grpo_record("stage2_rft", scale))):
            stages.write_summary(lay.summary(stage), stages.summary(stage, record))
            png = lay.curve_plot(stage)
            png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([int(10 * scale)]))  # a stand-in
        stages.write_summary(lay.summary("collect_feedback"),
                             stages.summary("collect_feedback", feedback_record(scale)))
    stages.write_summary(lay.eval_dir / METRICS_FILE, dvc_metrics(eval_report(scale)))
    for figure in (SUCCESS_PLOT, CURVES_PLOT):
        (lay.eval_dir / figure).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([int(scale)]))
    outcome = SimpleNamespace(decision=SimpleNamespace(decision="promote"))
    stages.write_summary(lay.decision.parent / DIR_SUMMARY, stages.promote_summary(outcome))


def flat_numbers_only(data):
    return isinstance(data, dict) and all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
        for k, v in data.items())


def test_every_declared_metrics_file_is_written_flat_and_numeric(tmp_path):
    params = load_params(REPO / "params.yaml")
    write_all(tmp_path, list(params.forecast.variants))
    for path in declared("metrics"):
        data = json.loads((tmp_path / path).read_text())
        assert flat_numbers_only(data) and 0 < len(data) <= 24, (path, data)
    eval_metrics = json.loads((tmp_path / "reports/eval/metrics.json").read_text())
    assert eval_metrics["tooluse.stage2"] == pytest.approx(0.3)
    assert eval_metrics["miniwob.long.reactive"] == pytest.approx(0.1)
    assert "miniwob.long.base" not in eval_metrics  # long horizon: candidate and baseline
    assert json.loads((tmp_path / "reports/promote/metrics.json").read_text()) == {"promoted": 1}


def test_a_summary_keeps_numbers_and_drops_what_the_record_lacks():
    assert stages.summary("sft", {"final_loss": 0.5, "out_dir": "x"}) == {"final_loss": 0.5}
    assert stages.summary("build_dataset", build_record())["splits.train.episodes"] == 1075


@pytest.fixture
def dvc_repo(tmp_path):
    """A scratch git + DVC repository with the project's dvc.yaml, params and ignores."""
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(REPO / name, tmp_path / name)
    run(["git", "init", "-q"], tmp_path)
    run(["git", "config", "user.email", "t@example.com"], tmp_path)
    run(["git", "config", "user.name", "t"], tmp_path)
    run([DVC, "init", "-q"], tmp_path)
    run([DVC, "config", "core.analytics", "false"], tmp_path)
    return tmp_path


def commit_all(root, message):
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", message], root)


def test_dvc_metrics_show_is_narrow_and_diff_compares_commits(dvc_repo):
    variants = list(load_params(REPO / "params.yaml").forecast.variants)
    write_all(dvc_repo, variants, scale=1.0)
    commit_all(dvc_repo, "first run")
    write_all(dvc_repo, variants, scale=0.5)
    commit_all(dvc_repo, "second run")
    # Every declared metrics file is committed: git has them, DVC needs no cache.
    tracked = run(["git", "ls-files"], dvc_repo).stdout.split()
    assert set(declared("metrics")) <= set(tracked)
    assert set(declared("plots")) <= set(tracked)

    shown = run([DVC, "metrics", "show"], dvc_repo).stdout
    lines = shown.splitlines()
    assert len(lines) == 1 + len(declared("metrics")), shown
    assert max(map(len, lines)) <= WIDTH_LIMIT, max(map(len, lines))

    diff = run([DVC, "metrics", "diff", "HEAD~1", "--json"], dvc_repo).stdout
    changes = json.loads(diff)
    sft = changes[f"reports/sft/{variants[0]}_metrics.json"]["final_loss"]
    assert sft["old"] == pytest.approx(0.108) and sft["new"] == pytest.approx(0.054)
    assert changes["reports/eval/metrics.json"]["tooluse.stage2"]["diff"] == pytest.approx(-0.15)
