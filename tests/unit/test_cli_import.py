"""`tracer1 import-dataset`: a fixture imports; a corrupted copy exits non-zero naming records."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from tests.helpers import REPO
from tracer1.cli import app
from tracer1.data.importers import importer_names

FIXTURES = REPO / "data" / "fixtures" / "importers"
BROKEN = ("4106281093557721", "9920173364428305")  # two of the fixture's 16-digit episode ids


def invoke(*args: str):
    return CliRunner().invoke(app, ["import-dataset", *args])


@pytest.fixture
def corrupted(tmp_path):
    """A GUI-Odyssey copy with two malformed records."""
    src = tmp_path / "gui_odyssey"
    shutil.copytree(FIXTURES / "gui_odyssey", src)
    for name in BROKEN:
        path = src / "annotations" / f"{name}.json"
        record = json.loads(path.read_text())
        record["steps"][0]["info"] = [[120]]
        path.write_text(json.dumps(record))
    return src


def test_list_names_every_format():
    result = invoke("--list")
    assert result.exit_code == 0
    assert result.output.split() == list(importer_names())


def test_a_fixture_imports_with_options_and_a_report(tmp_path):
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = invoke("gui_odyssey", str(FIXTURES / "gui_odyssey"), "--out", str(out),
                    "--option", "split_file=random_split", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "episodes train=1, val=1, test=1" in result.output
    assert all((out / f"{s}.jsonl").stat().st_size > 0 for s in ("train", "val", "test"))
    assert json.loads(report.read_text())["episodes"] == {"train": 1, "val": 1, "test": 1}


def test_a_corrupted_copy_exits_1_naming_each_record_and_writes_nothing(tmp_path, corrupted):
    out = tmp_path / "out"
    result = invoke("gui_odyssey", str(corrupted), "--out", str(out))
    assert result.exit_code == 1
    for name in BROKEN:
        assert f"annotations/{name}.json:{name}: steps[0].info: expected [[x, y]]" in result.output
    assert "2 malformed record(s) of 3" in result.output
    assert not out.exists()


def test_lenient_skips_the_bad_records_and_says_so(tmp_path, corrupted):
    result = invoke("gui_odyssey", str(corrupted), "--out", str(tmp_path / "out"), "--lenient")
    assert result.exit_code == 0, result.output
    assert "2 malformed skipped" in result.output
    assert f"skipped annotations/{BROKEN[0]}.json:{BROKEN[0]}: steps[0].info" in result.output


@pytest.mark.parametrize("args,needle", [
    (("nope", "x", "--out", "y"), "unknown format 'nope'"),
    (("gaia", str(FIXTURES / "gaia")), "--out DIR are required"),
    (("gaia", str(FIXTURES / "gaia"), "--out", "y", "--option", "novalue"),
     "expected KEY=VALUE"),
])
def test_usage_errors_exit_2(args, needle):
    result = invoke(*args)
    assert result.exit_code == 2 and needle in result.output


def test_a_missing_source_exits_1_and_an_unknown_option_2(tmp_path):
    result = invoke("gaia", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and "does not exist" in result.output
    result = invoke("gaia", str(FIXTURES / "gaia"), "--out", str(tmp_path / "o"),
                    "--option", "bogus=1")
    assert result.exit_code == 2 and "--option bogus: not accepted by gaia" in result.output
    assert not (tmp_path / "o").exists()
