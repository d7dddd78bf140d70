"""The no-op `dvc repro` and stage-memory benchmarks: what they report, how memory is read."""

import yaml

from bench import dvc_noop, stage_memory
from tests.helpers import REPO


def test_a_pipeline_that_is_not_up_to_date_is_reported_not_run():
    noop = {"status_seconds": 3.1, "up_to_date": False,
            "changed_stages": ["build_dataset", "evaluate", "promote", "sft@a", "sft@b"]}
    (row,) = dvc_noop.rows(noop, None)
    assert row.value is None
    assert "not up to date (5 stages changed: build_dataset, evaluate, promote, sft@a, …)" in (
        row.note)


def test_a_measured_noop_and_a_recorded_full_run_are_both_rows(tmp_path):
    noop = {"status_seconds": 1.0, "up_to_date": True, "changed_stages": [],
            "repro_seconds": [2.0, 1.0, 3.0], "median_s": 2.0}
    path = tmp_path / "full_run.json"
    path.write_text('{"seconds": 1407.0, "returncode": 0, "commit": "abcdef1234567"}')
    rows = dvc_noop.rows(noop, dvc_noop.full_record(None, path))
    assert [r.value for r in rows] == [2.0, 1407.0]
    assert "median of 3 runs" in rows[0].how and "abcdef1234" in rows[1].how
    given = dvc_noop.full_record(900.0, tmp_path / "absent.json")
    assert given["seconds"] == 900.0
    assert dvc_noop.full_record(None, tmp_path / "absent.json") is None
    assert dvc_noop.ran_a_stage("Running stage 'sft@a':\n> tracer1 sft")
    assert not dvc_noop.ran_a_stage("Stage 'sft@a' didn't change, skipping")


def test_small_params_cut_steps_keep_sizes_and_drop_browsers(tmp_path):
    params = stage_memory.small_params(REPO / "params.yaml", sft_steps=3, grpo_steps=2)
    source = yaml.safe_load((REPO / "params.yaml").read_text())
    assert params["sft"]["max_steps"] == 3
    assert params["stage1_grpo"]["max_steps"] == params["stage1_grpo"]["save_steps"] == 2
    assert params["stage2_rft"]["batch_size"] == source["stage2_rft"]["batch_size"]
    assert params["policy"] == source["policy"]
    assert list(params["build_dataset"]["suites"]) == ["tooluse"]
    assert params["tracking"]["tracking_uri"] == "sqlite:///mlflow/mlflow.db"


def test_peak_rss_is_the_childs_own_even_under_a_big_parent(tmp_path):
    grow = "b = bytearray(120 * 2**20); b[::4096] = b'x' * len(b[::4096]); print('ok')"
    result = stage_memory.run_measured(["-c", grow], tmp_path, {})
    assert result["returncode"] == 0 and result["output_tail"] == "ok"
    assert 120 <= result["maxrss_mib"] < 200
    assert result["tree_peak_mib"] <= result["maxrss_mib"] + 1
    # Linux hands a parent's peak to its child's ru_maxrss across fork + exec; VmHWM is
    # the child's own. The parent here holds 300 MiB more than the child ever does.
    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])
    small = stage_memory.run_measured(["-c", "pass"], tmp_path, {})
    assert small["maxrss_mib"] < 100 <= small["rusage_maxrss_mib"]
    del ballast


def test_the_launcher_runs_a_module_with_its_arguments(tmp_path):
    result = stage_memory.run_measured(
        ["-m", "platform", "--terse"], tmp_path, {"PATH": "/usr/bin"})
    assert result["returncode"] == 0 and result["output_tail"]
    assert result["maxrss_mib"] > 0
