"""A LoRA planner on a prepared base, promoted for real: the version's tags name the base
(source, sha256), and the champion loads — and `mlflow models serve` serves it — with the
prepared `models/base` gone: the registered artifact carries its base."""

import json
import shutil
import urllib.request

import pytest

from tests.helpers import VENV_BIN
from tests.integration.registry.reports import report
from tests.integration.servers import free_port, serve
from tests.unit.training.fixtures import tiny_policy
from tracer1 import tracking
from tracer1.config import PromoteConfig
from tracer1.policy.base import PlanRequest
from tracer1.policy.model import ModelMeta, build_tiny, load_base, save_model_dir
from tracer1.policy.source import prepare_base, prepared_policy
from tracer1.policy.tokenizer import train_tokenizer
from tracer1.registry.pyfunc import frame_from_requests, load_planner
from tracer1.registry.stage import promote_stage
from tracer1.trajectory import Observation

pytestmark = pytest.mark.integration

NAME = "tracer1-bundled-base"
TEXTS = ['<plan>\nanswer(text="5")\n</plan>', "Task: add 2 and 3\nObservation: x\n"] * 4


def test_a_lora_champion_loads_and_serves_without_the_prepared_base(store, workspace, tmp_path,
                                                                     monkeypatch):
    tok = train_tokenizer(TEXTS, vocab_size=300)
    source = tmp_path / "tiny-hf"
    build_tiny(tiny_policy(), tok).save_pretrained(source)
    tok.save_pretrained(source)
    policy = tiny_policy(base_model=str(source), max_new_tokens=8)
    record = prepare_base(policy, "models/base")  # relative: as dvc.yaml runs it
    model, base_tok = load_base(prepared_policy(policy, "models/base"))
    meta = ModelMeta(horizon=1, history=1, max_prompt_tokens=64, max_new_tokens=8,
                     variant="anticipatory", stage="stage2_rft", base_model="models/base",
                     lora=True)
    candidate = save_model_dir(workspace / "models/anticipatory/stage2", model, base_tok, meta)

    cfg = PromoteConfig(model_name=NAME, floors={"tooluse": 0.0})
    (workspace / "report.json").write_text(json.dumps(report([1] * 6 + [0] * 4)))
    tracking.configure(store.cfg)
    outcome = promote_stage(cfg, store.cfg, report_path=workspace / "report.json",
                            model_dir=candidate)  # check_loadable plans with the real model
    assert outcome.decision.promoted and outcome.registry.champion_after == "1"

    from mlflow import MlflowClient

    tags = MlflowClient().get_model_version(NAME, "1").tags
    assert tags["tracer1.base_source"] == str(source)
    assert tags["tracer1.base_sha256"] == record["sha256"]
    assert tags["tracer1.base_kind"] == "dir"

    # Only the registry is left: no prepared base, another working directory.
    shutil.rmtree(workspace / "models")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    planner = load_planner(f"models:/{NAME}@champion")
    plans = planner.plan([PlanRequest("Add 2 and 3.", Observation(text="x"))])
    assert isinstance(plans[0][0], str)

    import mlflow

    local = mlflow.artifacts.download_artifacts(f"models:/{NAME}@champion",
                                                dst_path=str(tmp_path / "downloaded"))
    card = json.loads(next((tmp_path / "downloaded").rglob("tracer1.json")).read_text())
    assert card["base_model"] == "base" and card["lora"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(VENV_BIN / "mlflow"), "models", "serve", "-m", local, "-h", "127.0.0.1",
           "-p", str(port), "--env-manager", "local", "-w", "1"]
    frame = frame_from_requests([PlanRequest("Add 2 and 3.", Observation(text="x"))])
    body = json.dumps({"dataframe_records": frame.to_dict("records")}).encode()
    with serve(cmd, url, f"{url}/ping", tmp_path / "serve.log"):
        request = urllib.request.Request(f"{url}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.loads(response.read())
    predictions = answer["predictions"]
    assert len(predictions) == 1 and isinstance(predictions[0], str)
