"""The benchmark table and JSON writers, and the median/ratio arithmetic every benchmark uses."""

import json

import pytest

from bench.results import (
    Row,
    format_number,
    markdown_table,
    median,
    paired_ratio,
    ratio,
    write_results,
)

INFO = {"date": "2026-11-23T00:00:00+00:00", "cpu_count": 2, "ram_gib": 23.4,
        "load_average": [1.0, 1.0, 1.0], "python": "3.11.7", "torch": "2.13.0+cpu"}


def test_median_ratio_and_paired_ratio():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0]) == 1.5
    with pytest.raises(ValueError, match="no values"):
        median([])
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 0.0) is None
    # Per-repeat ratios 1.1, 1.0, 2.0 → median 1.1; the ratio of medians would be 1.0.
    assert paired_ratio([1.1, 2.0, 6.0], [1.0, 2.0, 3.0]) == pytest.approx(1.1)
    assert paired_ratio([1.0], [0.0]) is None
    with pytest.raises(ValueError):
        paired_ratio([1.0, 2.0], [1.0])


def test_markdown_table_formats_numbers_ratios_and_escapes_pipes():
    rows = [
        Row("grpo_overhead", "stage | bare", 0.5123, "s/step", 1.0712, "median of 3",
            note="target ≤ 1.05"),
        Row("dvc_noop", "no-op", None, "s", None, "wall time", note="not up to date"),
        Row("reward_throughput", "batch", 53076.4, "forecasts/s", 6.85, "median of 7"),
    ]
    lines = markdown_table(rows).splitlines()
    assert lines[0] == "| bench | what | number | ratio | how measured |"
    assert lines[2] == ("| grpo_overhead | stage \\| bare | 0.512 s/step | 1.07× | "
                        "median of 3 (target ≤ 1.05) |")
    assert lines[3] == "| dvc_noop | no-op | — | — | wall time (not up to date) |"
    assert "53,076 forecasts/s" in lines[4] and "6.85×" in lines[4]
    assert format_number(12.345, "MiB") == "12.3 MiB"


def test_write_results_writes_both_files_atomically(tmp_path):
    rows = [Row("stage_memory", "`sft` peak RSS", 812.5, "MiB", 1.54, "ru_maxrss",
                extra={"seconds": 30.0})]
    (tmp_path / "results.json").write_text("old")
    json_path, md_path = write_results(tmp_path, INFO, rows, {"miniwob_pool": "no chromium"},
                                       {"stage_memory": {"seconds": 31.2}})
    data = json.loads(json_path.read_text())
    assert data["machine"]["cpu_count"] == 2
    assert data["rows"][0] == {"bench": "stage_memory", "what": "`sft` peak RSS", "value": 812.5,
                               "unit": "MiB", "ratio": 1.54, "how": "ru_maxrss", "note": "",
                               "extra": {"seconds": 30.0}}
    assert data["errors"] == {"miniwob_pool": "no chromium"}
    assert [Row(**r) for r in data["rows"]] == rows  # rows survive the round trip
    md = md_path.read_text()
    assert md.startswith("# Benchmarks\n\n2026-11-23T00:00:00+00:00 on 2 CPUs, 23.4 GiB RAM")
    assert "| stage_memory | `sft` peak RSS | 812 MiB | 1.54× | ru_maxrss |" in md
    assert "* `miniwob_pool` failed: no chromium" in md
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.md"]


@pytest.mark.parametrize("module", ["bench.results", "bench.run_all", "bench.dvc_noop"])
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
