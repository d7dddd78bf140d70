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
TABLES = ("steps", "elements", "episodes", "splits")


def make_episode(seed: int, split: str) -> Episode:
    page = Observation(text="form", elements=(Element("e1", "button", "Go", BOX),))
    last = Answer("5") if seed % 2 else Done()
    return Episode(
        episode_id=f"tooluse/calc/{seed}", suite="tooluse", family="calc", seed=seed,
        split=split, instruction=f"Add 2 and 3, then {seed}.",
        steps=(
            Step(0, page, Click(200, 230, target="Go", box=BOX)),
            Step(1, Observation(text="calculator ready"), Tool.of("calculator", {"x": "2+3"})),
            Step(2, Observation(text="5"), last, reward=1.0),  # success: the last reward > 0
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
    cfg = ValidateDatasetConfig(**overrides)
    return validate_dataset(cfg, data, tmp_path / "out")


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
    assert {e["table"] for e in result["expectations"]} == set(TABLES)
    index = tmp_path / "out" / "docs" / "index.html"
    assert report.paths["docs_index"] == str(index)
    html = index.read_text()
    # The index links one validation page per table.
    for table in TABLES:
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
    assert len(pages) == len(TABLES)  # one run's pages, not an accumulation
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
    report = validate_dataset(ValidateDatasetConfig(), data, tmp_path / "out")
    outcome = failed(report, "splits", "expect_column_values_to_be_between", "n_episodes")
    assert outcome.examples == (
        {"file": str(data / "test.jsonl"), "split": "test", "n_episodes": 0},
    )
    assert f"{data / 'test.jsonl'} (split test) n_episodes=0" in format_summary(report)


@pytest.mark.parametrize("limits", [{"min_episode_steps": 4}, {"max_episode_steps": 2}])
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
    report = validate_dataset(ValidateDatasetConfig(), data, tmp_path / "out")
    assert not report.success and report.results == ()
    assert report.error.startswith(
        f"{data / 'train.jsonl'}:3: <json>: Expecting ':' delimiter at column "
    )
    assert "great_expectations" not in report.timings
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["success"] is False and result["error"] == report.error
    assert not (tmp_path / "out" / "docs").exists()
    assert report.error in format_summary(report)


# ------------------------------------------------------------------ corrupted copies
#
# Each corruption below was once accepted (or crashed validate_dataset with a traceback and
# no result). Every one must now be rejected naming file:line and the field, with nothing
# stale left claiming success.


class Raw:
    """JSON text spliced in verbatim where json.dumps cannot write it (NaN, a 5,000-digit
    integer, 100k brackets, an escaped lone surrogate)."""

    def __init__(self, text: str):
        self.text = text


def dumps(record: dict) -> str:
    raws: list[str] = []

    def placeholder(value):
        raws.append(value.text)
        return f"@@raw{len(raws) - 1}@@"

    text = json.dumps(record, default=placeholder)
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', raw)
    return text


def _edit(*path, value):
    """Set train line 2 (seed 1) at `path` to `value`."""

    def corrupt(recs, data):
        target = recs["train"][1]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return corrupt


def _many_elements(recs, data):
    element = {"ref": "e", "tag": "div", "text": "", "box": [0, 0, 10, 10]}
    recs["train"][1]["steps"][0]["observation"]["elements"] = [element] * 100_000


def _text_named_png(recs, data):
    shot = data / "screenshots" / "tooluse" / "calc" / "1" / "0.png"
    shot.parent.mkdir(parents=True)
    shot.write_text("not a png\n")
    recs["train"][1]["steps"][0]["observation"]["screenshot"] = "screenshots/tooluse/calc/1/0.png"


def _deep(levels):
    return Raw("[" * levels + "]" * levels)


ELEMENT = ("steps", 0, "observation", "elements", 0)

# (corruption, field, problem): rejected by the strict reader before Great Expectations.
BEFORE_GE = {
    "reward NaN": (_edit("steps", 2, "reward", value=Raw("NaN")), "steps[2].reward",
                   "not a finite number (nan)"),
    "reward Infinity": (_edit("steps", 2, "reward", value=Raw("-Infinity")), "steps[2].reward",
                        "not a finite number (-inf)"),
    "reward 1e309": (_edit("steps", 2, "reward", value=Raw("1e309")), "steps[2].reward",
                     "not a finite number (inf)"),
    "unknown field": (_edit("colour", value="red"), "colour", "unknown field (known: "),
    "unknown step field": (_edit("steps", 1, "rewards", value=1), "steps[1].rewards",
                           "unknown field"),
    "unknown element field": (_edit(*ELEMENT, "colour", value="red"),
                              "steps[0].observation.elements[0].colour", "unknown field"),
    "seed 10**30": (_edit("seed", value=Raw(str(10**30))), "seed",
                    "an integer of 31 digits does not fit in 64 bits"),
    "seed 2**63": (_edit("seed", value=2**63), "seed",
                   f"{2**63} does not fit in 64 bits"),
    "coordinate 10**20": (_edit("steps", 0, "target_box", 2, value=Raw(str(10**20))),
                          "steps[0].target_box[2]", "an integer of 21 digits"),
    "element coordinate 10**20": (_edit(*ELEMENT, "box", 3, value=Raw(str(10**20))),
                                  "steps[0].observation.elements[0].box[3]", "21 digits"),
    "5,000-digit integer": (_edit("difficulty", value=Raw("9" * 5000)), "difficulty",
                            "an integer of 5000 digits does not fit in 64 bits"),
    "nested 100k deep": (_edit("meta", value=_deep(100_000)), "<json>",
                         "nested too deeply to parse"),
    "nested 40 deep": (_edit("meta", value={"x": _deep(40)}), "meta.x" + "[0]" * 31,
                       "nested deeper than 32 levels"),
    "lone surrogate": (_edit("instruction", value=Raw('"Add \\ud800 2"')), "instruction",
                       "not valid Unicode: lone surrogate U+D800 at character 5"),
    "lone surrogate key": (_edit("meta", value=Raw('{"\\udfff": 1}')), "meta",
                           "key '\\udfff': not valid Unicode"),
}

# (corruption, table, column): rejected by the Great Expectations suite.
BY_GE = {
    "negative seed": (_edit("seed", value=-1), "episodes", "seed"),
    "element box off the page": (_edit(*ELEMENT, "box", value=[-5, 0, 2000, 9]), "elements",
                                 "box_left"),
    "element box inverted": (_edit(*ELEMENT, "box", value=[300, 10, 100, 20]), "elements",
                             "box_right"),
    "difficulty -3": (_edit("difficulty", value=-3), "episodes", "difficulty"),
    "unknown suite": (_edit("suite", value="tooluze"), "episodes", "suite"),
    "success on a failed last step": (_edit("steps", 2, "reward", value=0.0), "episodes",
                                      "success_ok"),
    "whitespace instruction": (_edit("instruction", value=" \t "), "episodes", "instruction"),
    "NUL instruction": (_edit("instruction", value="\x00"), "episodes", "instruction"),
    "NUL inside instruction": (_edit("instruction", value="Add 2\x00 and 3"), "episodes",
                               "instruction"),
    "empty episode id": (_edit("episode_id", value=""), "episodes", "episode_id"),
    "100k elements": (_many_elements, "steps", "n_elements"),
    "text file named .png": (_text_named_png, "steps", "screenshot_ok"),
}


def _validate_corrupted(tmp_path, corrupt):
    """Validate a corrupted copy into an out dir holding a stale passing run."""
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    recs = records()
    corrupt(recs, data)
    for split, rows in recs.items():
        (data / f"{split}.jsonl").write_text("".join(dumps(r) + "\n" for r in rows))
    (out / "docs").mkdir(parents=True)
    (out / "result.json").write_text('{"success": true}')
    return validate_dataset(ValidateDatasetConfig(), data, out), data / "train.jsonl", out


@pytest.mark.parametrize("case", sorted(BEFORE_GE))
def test_corruption_is_rejected_before_great_expectations(tmp_path, case):
    corrupt, field, problem = BEFORE_GE[case]
    report, train, out = _validate_corrupted(tmp_path, corrupt)
    assert not report.success and report.results == ()
    assert report.error.startswith(f"{train}:2: {field}: "), report.error
    assert problem in report.error
    assert json.loads((out / "result.json").read_text())["error"] == report.error
    assert not (out / "docs").exists()  # the stale passing docs are gone


@pytest.mark.parametrize("case", sorted(BY_GE))
def test_corruption_is_rejected_by_great_expectations(tmp_path, case):
    corrupt, table, column = BY_GE[case]
    report, train, out = _validate_corrupted(tmp_path, corrupt)
    assert not report.success and report.error is None
    hits = [o for o in report.failures if o.check.table == table
            and column in (o.check.kwargs.get("column"), o.check.kwargs.get("column_A"))]
    assert hits, [o.check.label for o in report.failures]
    assert {"file": str(train), "line": 2}.items() <= hits[0].examples[0].items()
    summary = format_summary(report)
    assert f"{table}.{column}" in summary and f"{train}:2 " in summary
    assert json.loads((out / "result.json").read_text())["success"] is False


def test_a_split_file_linked_from_outside_is_refused_unread(tmp_path):
    outside = tmp_path / "elsewhere" / "val.jsonl"
    outside.parent.mkdir()
    outside.write_text(dumps(records()["val"][0]) + "\n")

    def link_val(recs, data):
        (data / "val.jsonl").symlink_to(outside)
        del recs["val"]

    report, _, out = _validate_corrupted(tmp_path, link_val)
    where = tmp_path / "data" / "val.jsonl"
    assert report.error.startswith(f"{where}: <file>: resolves to {outside}, outside the "
                                   "trajectory directory"), report.error
    assert not (out / "docs").exists()


def test_a_png_screenshot_inside_passes(tmp_path):
    def real_png(recs, data):
        shot = data / "screenshots" / "0.png"
        shot.parent.mkdir()
        shot.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
        recs["train"][1]["steps"][0]["observation"]["screenshot"] = "screenshots/0.png"

    report, _, _ = _validate_corrupted(tmp_path, real_png)
    assert report.success, format_summary(report)


def test_a_crash_leaves_no_stale_verdict(tmp_path, monkeypatch):
    from tracer1.data.validation import stage

    validate(tmp_path, records())  # a passing run: result.json and docs exist

    def boom(files):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(stage, "build_frames", boom)
    with pytest.raises(RuntimeError, match="unforeseen"):
        validate(tmp_path, records())
    assert not (tmp_path / "out" / "result.json").exists()
    assert not (tmp_path / "out" / "docs").exists()
