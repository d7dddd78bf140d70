import json

import pytest

from tracer1.io import atomic_dir, atomic_open, write_json, write_jsonl


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(path) as fh:
            fh.write("{half")
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_jsonl_counts_records(tmp_path):
    assert write_jsonl(tmp_path / "x.jsonl", [{"a": 1}, {"b": 2}]) == 2
    assert len((tmp_path / "x.jsonl").read_text().splitlines()) == 2


def test_atomic_dir_swaps_whole_directory(tmp_path):
    target = tmp_path / "data"
    with atomic_dir(target) as tmp:
        (tmp / "one").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "two").write_text("2")
            raise RuntimeError("killed")
    assert sorted(p.name for p in target.iterdir()) == ["one"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_outputs_get_normal_permissions(tmp_path):
    import os
    import stat

    write_json(tmp_path / "r.json", {})
    with atomic_dir(tmp_path / "d"):
        pass
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~mask
