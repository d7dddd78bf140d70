"""validate_dataset end to end with the real Great Expectations: verdicts, examples, reports."""

import json

import pytest

from tracer1.actions import Answer, Box, Click, Done, Tool
from tracer1.config import ValidateDatasetConfig
from tracer1.data.validation import format_summary, validate_dataset
from tracer1.trajectory import Element, Episode, Observation, Step, episode_to_json

pytestmark = pytest.mark.integration

SPLIT_SEEDS = {"train": (0, 1, 2, 3), "val": (4,), "test": (5,)}
BOX = Box(100, 200, 300, 260)


def make_episode(seed: int, split: str) -> Episode:
    page = Observation(text="form", elements=(Element("e1", "button", "Go", BOX),))
    last = Answer("5") if seed % 2 else Done()
    return Episode(
        episode_id=f"tooluse/calc/{seed}", suite="tooluse", family="calc", seed=seed,
        split=split, instruction=f"Add 2 and 3, then {seed}.",
        steps=(
            Step(0, page, Click(200, 230, target="Go", box=BOX)),
            Step(1, Observation(text="calculator ready"), Tool.of("calculator", {"x": "2+3"})),
            Step(2, Observation(text="5"), last),
        ),
        success=True,
    )


def records() -> dict[str, list[dict]]:
    """The valid dataset as JSON records per split (tests mutate these before writing)."""
    return {
        split: [episode_to_json(make_episode(s, split)) for s in seeds]
        for split, seeds in SPLIT_SEEDS.items()
    }


def write(data_dir, recs: dict[str, list[dict]]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, rows in recs.items():
        text = "".join(json.dumps(r) + "\n" for r in rows)
        (data_dir / f"{split}.jsonl").write_text(text, encoding="utf-8")


def validate(tmp_path, recs, **overrides):
    data = tmp_path / "data"
    write(data, recs)
    cfg = ValidateDatasetConfig(input_dir=str(data), out_dir=str(tmp_path / "out"), **overrides)
    return validate_dataset(cfg)


def failed(report, table: str, expectation: str, column: str | None = None):
    """The failed outcome for (table, expectation[, column]); asserts there is one."""
    hits = [
        o for o in report.failures
        if o.check.table == table and o.check.type == expectation
        and (column is None or column in (o.check.kwargs.get("column"),
                                          o.check.kwargs.get("column_A")))
    ]
    labels = [o.check.label for o in report.failures]
    assert hits, f"{table}.{expectation}({column}) did not fail; failures: {labels}"
    return hits[0]


def test_valid_dataset_passes_and_writes_reports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a GE project folder would appear here if one were made
    report = validate(tmp_path, records())
    assert report.success, format_summary(report)
    assert report.error is None and report.failures == ()
    assert len(report.results) > 40
    assert report.stats == {
        "episodes": 6, "steps": 18, "episodes_per_split": {"train": 4, "val": 1, "test": 1},
    }
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["success"] is True and result["failed_expectations"] == 0
    assert {e["table"] for e in result["expectations"]} == {"steps", "episodes", "splits"}
    index = tmp_path / "out" / "docs" / "index.html"
    assert report.paths["docs_index"] == str(index)
    html = index.read_text()
    # The index links one validation page per table.
    for table in ("steps", "episodes", "splits"):
        assert f"validations/{table}/" in html
    assert not (tmp_path / "gx").exists()
    assert format_summary(report).startswith("validate_dataset PASSED: ")


def test_rerun_replaces_docs_and_result(tmp_path):
    validate(tmp_path, records())
    recs = records()
    recs["val"][0]["instruction"] = ""
    report = validate(tmp_path, recs)
    assert not report.success
    pages = list((tmp_path / "out" / "docs" / "validations").rglob("*.html"))
    assert len(pages) == 3  # one run's pages, not an accumulation
    assert json.loads((tmp_path / "out" / "result.json").read_text())["success"] is False


def _set(split, i, path, value):
    """A mutation that sets recs[split][i][path...] = value."""

    def mutate(recs):
        target = recs[split][i]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _non_contiguous(recs):
    recs["train"][1]["steps"][2]["index"] = 5


def _duplicate_step(recs):
    recs["train"][1]["steps"][2]["index"] = 1


def _no_terminal(recs):
    recs["train"][2]["steps"][2]["action"] = 'press(key="enter")'


def _seed_in_two_splits(recs):
    recs["test"][0] = episode_to_json(make_episode(3, "test"))
    recs["test"][0]["episode_id"] = "tooluse/calc/3-again"


def _instruction_in_two_splits(recs):
    recs["val"][0]["instruction"] = recs["train"][0]["instruction"]


def _duplicate_episode_id(recs):
    recs["val"][0]["episode_id"] = "tooluse/calc/0"


def _box_off_grid(recs):
    recs["train"][3]["steps"][0]["target_box"] = [100, 200, 1300, 260]


def _box_inverted(recs):
    recs["train"][3]["steps"][0]["target_box"] = [300, 200, 100, 260]


@pytest.mark.parametrize(
    "mutate, table, expectation, column, split, line",
    [
        (_non_contiguous, "steps", "expect_column_pair_values_to_be_equal", "step", "train", 2),
        (_duplicate_step, "steps", "expect_compound_columns_to_be_unique", None, "train", 2),
        (_no_terminal, "episodes", "expect_column_values_to_be_in_set", "ends_ok", "train", 3),
        (_set("val", 0, ["instruction"], ""), "episodes",
         "expect_column_value_lengths_to_be_between", "instruction", "val", 1),
        (_seed_in_two_splits, "episodes", "expect_column_values_to_be_in_set", "seed_splits",
         "train", 4),
        (_instruction_in_two_splits, "episodes", "expect_column_values_to_be_in_set",
         "instruction_splits", "train", 1),
        (_duplicate_episode_id, "episodes", "expect_column_values_to_be_unique", "episode_id",
         "train", 1),
        (_set("val", 0, ["split"], "train"), "episodes",
         "expect_column_pair_values_to_be_equal", "record_split", "val", 1),
        (_box_off_grid, "steps", "expect_column_values_to_be_between", "box_right", "train", 4),
        (_box_inverted, "steps", "expect_column_pair_values_a_to_be_greater_than_b", "box_right",
         "train", 4),
    ],
)
def test_violation_names_expectation_and_row(tmp_path, mutate, table, expectation, column,
                                             split, line):
    recs = records()
    mutate(recs)
    report = validate(tmp_path, recs)
    assert not report.success
    outcome = failed(report, table, expectation, column)
    where = f"{tmp_path / 'data' / split}.jsonl"
    assert {"file": where, "line": line}.items() <= outcome.examples[0].items()
    summary = format_summary(report)
    assert f"FAILED {expectation}(" in summary and f"{where}:{line}" in summary
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    entry = next(e for e in result["expectations"]
                 if e["expectation"] == expectation and not e["success"])
    assert entry["examples"][0]["line"] == line and entry["examples"][0]["file"] == where


def test_seed_leak_reports_both_splits(tmp_path):
    recs = records()
    _seed_in_two_splits(recs)
    outcome = failed(validate(tmp_path, recs), "episodes", "expect_column_values_to_be_in_set",
                     "seed_splits")
    files = {row["file"].rsplit("/", 1)[-1] for row in outcome.examples}
    assert files == {"train.jsonl", "test.jsonl"} and outcome.unexpected_count == 2


@pytest.mark.parametrize("empty", [False, True], ids=["missing", "empty"])
def test_missing_or_empty_split_fails_the_split_expectation(tmp_path, empty):
    recs = records()
    recs["test"] = []
    data = tmp_path / "data"
    write(data, recs)
    if not empty:
        (data / "test.jsonl").unlink()
    cfg = ValidateDatasetConfig(input_dir=str(data), out_dir=str(tmp_path / "out"))
    report = validate_dataset(cfg)
    outcome = failed(report, "splits", "expect_column_values_to_be_between", "n_episodes")
    assert outcome.examples == (
        {"file": str(data / "test.jsonl"), "split": "test", "n_episodes": 0},
    )
    assert f"{data / 'test.jsonl'} (split test) n_episodes=0" in format_summary(report)


@pytest.mark.parametrize("limits", [{"min_steps": 4}, {"max_steps": 2}])
def test_limits_come_from_the_config(tmp_path, limits):
    report = validate(tmp_path, records(), max_observation_chars=4, **limits)
    failed(report, "steps", "expect_column_values_to_be_between", "obs_chars")
    outcome = failed(report, "episodes", "expect_column_values_to_be_between", "n_steps")
    assert outcome.unexpected_count == 6 and outcome.examples[0]["n_steps"] == 3


def test_out_of_grid_click_fails_the_grid_expectation():
    # The strict action parser already refuses such clicks in files, so feed GE a frame
    # directly: the expectation is the second line of defence and must still bite.
    from tracer1.data.validation.checks import step_checks
    from tracer1.data.validation.frames import SplitFile, build_frames
    from tracer1.data.validation.gx_run import run_checks

    episode = make_episode(0, "train")
    frames = build_frames([SplitFile("train", "train.jsonl", True, ((7, episode),))])
    frames["steps"].loc[0, "x"] = 1200
    outcomes = run_checks(frames, list(step_checks(ValidateDatasetConfig())))
    bad = [o for o in outcomes if not o.success]
    assert [o.check.label for o in bad] == ["expect_column_values_to_be_between(steps.x, 0..1000)"]
    assert bad[0].examples == (
        {"file": "train.jsonl", "line": 7, "episode_id": "tooluse/calc/0", "step": 0, "x": 1200},
    )
    # element_count counts every row, nulls (non-click steps) included.
    assert bad[0].unexpected_count == 1 and bad[0].element_count == 3


def test_corrupted_file_fails_before_great_expectations(tmp_path):
    data = tmp_path / "data"
    write(data, records())
    lines = (data / "train.jsonl").read_text().splitlines()
    lines[2] = lines[2].replace('"seed": ', '"seed" ', 1)
    (data / "train.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "out" / "docs").mkdir(parents=True)  # stale docs from an earlier run
    cfg = ValidateDatasetConfig(input_dir=str(data), out_dir=str(tmp_path / "out"))
    report = validate_dataset(cfg)
    assert not report.success and report.results == ()
    assert report.error.startswith(
        f"{data / 'train.jsonl'}:3: <json>: Expecting ':' delimiter at column "
    )
    assert "great_expectations" not in report.timings
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["success"] is False and result["error"] == report.error
    assert not (tmp_path / "out" / "docs").exists()
    assert report.error in format_summary(report)
