"""The registered planner as MLflow 3 means it, against a real sqlite-backed store: a
LoggedModel carrying the training params and the eval metrics, the `tracer1` code shipped
inside (no ``tracer1`` pin for an env manager to fetch from an index), a bad request
answered with the model's own message, and the verdict on the pipeline's parent run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.registry.reports import report
from tracer1 import stages, tracking
from tracer1.config import Params, PromoteConfig
from tracer1.registry import mlflow_registry as registry
from tracer1.registry.stage import promote_stage

pytestmark = pytest.mark.integration

TRAINING = {"policy": {"lora": {"r": 8}, "seed": 3}, "sft": {"learning_rate": 0.002},
            "forecast": {"variant": "anticipatory", "horizon": 5}}


def client():
    from mlflow import MlflowClient

    return MlflowClient()


def _promote(store, workspace, model_dir, name, candidate=(1,) * 6 + (0,) * 4, **kw):
    cfg = PromoteConfig(model_name=name, floors={"tooluse": 0.3})
    (workspace / "report.json").write_text(json.dumps(report(list(candidate))))
    return promote_stage(cfg, store.cfg, report_path=workspace / "report.json",
                         model_dir=model_dir, **kw)


# ------------------------------------------------------------------ LoggedModel


def test_the_version_is_a_logged_model_with_training_params_and_eval_metrics(
        store, workspace, planner_dir, fake_agent, monkeypatch):
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "logged-model")
    name = "tracer1-logged-model"
    outcome = _promote(store, workspace, planner_dir("lm", "lm"), name, model_params=TRAINING)
    version = outcome.registry.version

    model_id = registry.version_model_id(name, version)
    assert model_id is not None and model_id.startswith("m-")
    mv = client().get_model_version(name, version)
    # Registered from the LoggedModel (MLflow's SQL registry keeps no ModelVersion.model_id:
    # the source URI and our tag carry it).
    assert mv.source == f"models:/{model_id}" and mv.tags[registry.MODEL_ID_TAG] == model_id

    logged = client().get_logged_model(model_id)
    assert str(logged.status) in ("READY", "LoggedModelStatus.READY")
    assert logged.source_run_id == mv.run_id  # the promote run
    # The training settings, and no gate settings (log_model alone copies the run's params).
    assert logged.params["policy.lora.r"] == "8" and logged.params["sft.learning_rate"] == "0.002"
    assert logged.params["forecast.horizon"] == "5" and logged.params["model.variant"] == "lm"
    assert not {"floors.tooluse", "model_name", "decision_path", "margin"} & set(logged.params)
    # The evaluation numbers are the model's own metrics, not only the evaluate run's.
    metrics = {m.key: m.value for m in logged.metrics or []}
    assert metrics == {"candidate.tooluse.success_rate": pytest.approx(0.6)}
    assert all(m.model_id == model_id for m in logged.metrics)
    (link,) = json.loads(logged.tags["mlflow.modelVersions"])  # MLflow's link back
    assert link["name"] == name and str(link["version"]) == version


def test_the_sql_registry_keeps_no_model_id_and_the_tag_leads_to_the_metrics(store):
    """MLflow 3.17's SQL registry store (sqlite, and a tracking server on top of one) has no
    model_id column: neither registering from ``models:/m-…`` nor `create_model_version(...,
    model_id=...)` keeps `ModelVersion.model_id`. `version_model_id` still finds the
    LoggedModel, from the source URI or the ``tracer1.model_id`` tag, and so its metrics.
    (A later MLflow that keeps the field fails the first asserts: `version_model_id` reads
    the field first, and the tag could go.)"""
    import mlflow

    c = client()
    with mlflow.start_run() as run:
        logged = c.create_logged_model(run.info.experiment_id, name="planner",
                                       source_run_id=run.info.run_id)
        mlflow.log_metrics({"candidate.tooluse.success_rate": 0.7}, model_id=logged.model_id,
                           synchronous=True)
    from_uri = mlflow.register_model(f"models:/{logged.model_id}", "tracer1-no-model-id-uri")
    c.create_registered_model("tracer1-no-model-id-arg")
    from_arg = c.create_model_version(
        "tracer1-no-model-id-arg", logged.artifact_location, run_id=run.info.run_id,
        model_id=logged.model_id, tags={registry.MODEL_ID_TAG: logged.model_id})
    for mv in (from_uri, from_arg):
        assert mv.model_id is None
        assert c.get_model_version(mv.name, mv.version).model_id is None

    # By the source (what `register_candidate` registers from) and, for a version whose
    # source is a plain artifact location, by the tag alone.
    assert from_arg.source == logged.artifact_location
    for mv in (from_uri, from_arg):
        model_id = registry.version_model_id(mv.name, str(mv.version))
        assert model_id == logged.model_id
        metrics = {m.key: m.value for m in c.get_logged_model(model_id).metrics}
        assert metrics == {"candidate.tooluse.success_rate": pytest.approx(0.7)}


def test_a_reused_version_gets_the_metrics_of_its_new_report(
        store, workspace, planner_dir, fake_agent, monkeypatch):
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "logged-model-retry")
    name = "tracer1-logged-model-retry"
    model = planner_dir("again", "again")
    first = _promote(store, workspace, model, name)
    again = _promote(store, workspace, model, name, candidate=(1,) * 8 + (0,) * 2)
    assert again.registry.reused and again.registry.version == first.registry.version
    model_id = registry.version_model_id(name, first.registry.version)
    history = client().get_metric_history(client().get_model_version(name, "1").run_id,
                                          "candidate.tooluse.success_rate")
    assert [round(m.value, 2) for m in history] == [0.6]  # the first attempt's run
    latest = {m.key: m.value for m in client().get_logged_model(model_id).metrics}
    assert latest["candidate.tooluse.success_rate"] == pytest.approx(0.8)


def test_training_params_come_from_the_params_the_stages_ran_with():
    params = Params()
    flat = tracking.flatten(stages.training_params(params, "anticipatory"))
    assert flat["forecast.horizon"] == params.forecast.horizon("anticipatory")
    assert flat["stage2_rft.learning_rate"] == params.stage2_rft.learning_rate
    assert "promote.model_name" not in flat and not any(k.startswith("tracking") for k in flat)


# ----------------------------------------------------------------- shipped code


LOAD_WITHOUT_REPO = """
import sys
from pathlib import Path

# No tracer1 anywhere but in the model: drop every sys.path entry holding the package
# (the repo's src/, the venv's editable install).
sys.path = [p for p in sys.path if not (Path(p or ".") / "tracer1" / "__init__.py").is_file()]
import importlib.util
assert importlib.util.find_spec("tracer1") is None, "tracer1 still importable"

import mlflow.pyfunc

model = mlflow.pyfunc.load_model(sys.argv[1])
import pandas as pd
frame = pd.DataFrame({"instruction": ["Add 2 and 3."], "observation": ["tools: calculator"]})
out = model.predict(frame)
assert isinstance(out, list) and isinstance(out[0], str), out
import tracer1
print(tracer1.__file__)
"""


def _tiny_planner(directory: Path) -> Path:
    from tests.unit.training.fixtures import tiny_policy
    from tracer1.policy.model import ModelMeta, build_tiny, save_model_dir
    from tracer1.policy.tokenizer import train_tokenizer

    texts = ['<plan>\nanswer(text="5")\n</plan>', "Task: add 2 and 3\nObservation: x\n"] * 4
    tok = train_tokenizer(texts, vocab_size=300)
    meta = ModelMeta(horizon=1, history=1, max_prompt_tokens=64, max_new_tokens=8,
                     variant="shipped", stage="stage2_rft")
    return save_model_dir(directory, build_tiny(tiny_policy(max_new_tokens=8), tok), tok, meta)


def test_the_model_ships_its_code_and_loads_where_tracer1_is_not_installed(store, tmp_path):
    import mlflow

    model = _tiny_planner(tmp_path / "models/shipped")
    with mlflow.start_run():
        version = registry.register_candidate(model, name="tracer1-shipped-code")
    local = Path(mlflow.artifacts.download_artifacts(f"models:/tracer1-shipped-code/{version}",
                                                     dst_path=str(tmp_path / "downloaded")))
    assert (local / "code/tracer1/__init__.py").is_file()
    assert (local / "code/tracer1/registry/planner_model.py").is_file()
    assert not list((local / "code").rglob("__pycache__"))
    assert (local / "code/tracer1/data/validation/offline_docs.py").is_file()
    assert not list((local / "code").rglob("docs_assets"))  # Data Docs' CSS/JS: not served
    for env_file in ("requirements.txt", "conda.yaml", "python_env.yaml"):
        text = (local / env_file).read_text()
        assert "tracer1" not in text, (env_file, text)

    # -I: no PYTHONPATH, no cwd; the script also drops the editable install's path entry.
    proc = subprocess.run([sys.executable, "-I", "-c", LOAD_WITHOUT_REPO, str(local)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded_from = Path(proc.stdout.strip().splitlines()[-1])
    assert loaded_from == local / "code/tracer1/__init__.py"


# -------------------------------------------------------------- serving errors


def test_a_malformed_request_gets_the_models_own_message(store, planner_dir, fake_agent):
    """The scoring server behind `mlflow models serve`, in process: a bad history row is a
    400 naming the row and the field, not "an unexpected error"."""
    import mlflow
    from mlflow.pyfunc import scoring_server
    from starlette.testclient import TestClient

    with mlflow.start_run():
        version = registry.register_candidate(planner_dir("served-errors", "served"),
                                              name="tracer1-serving-errors")
    model = mlflow.pyfunc.load_model(f"models:/tracer1-serving-errors/{version}")
    http = TestClient(scoring_server.init(model))

    def invoke(history):
        records = [{"instruction": "Add 2 and 3.", "observation": "tools: calculator",
                    "history": history}]
        return http.post("/invocations", json={"dataframe_records": records})

    good = invoke(['tool(name="calculator", args={"expression": "2+3"})'])
    assert good.status_code == 200, good.text
    assert good.json()["predictions"] == ['<plan>\nanswer(text="served: Add 2 and 3.")\n</plan>']

    bad = invoke(["clik(x=1)"])
    assert bad.status_code == 400
    body = bad.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "row 0: history[0]: unknown verb 'clik'" in body["message"]
    assert "unexpected error" not in body["message"]


def test_predict_raises_an_mlflow_invalid_parameter_error(planner_dir, fake_agent):
    import pandas as pd
    from mlflow.exceptions import MlflowException

    from tracer1.registry.planner_model import PlannerModel

    model = PlannerModel()
    model.agent = fake_agent(planner_dir("direct"))
    with pytest.raises(MlflowException, match="missing column") as caught:
        model.predict(None, pd.DataFrame({"instruction": ["a"]}))
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert isinstance(caught.value.__cause__, ValueError)


# ------------------------------------------------------------------ parent run


def test_the_parent_run_carries_the_verdict(store, workspace, planner_dir, fake_agent,
                                            monkeypatch):
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "parent-headline")
    with tracking.stage_run("evaluate", {}, cfg=store.cfg) as run:
        run.log_parent(stages._headline(report([1] * 6 + [0] * 4)))
    outcome = _promote(store, workspace, planner_dir("parent", "parent"),
                       "tracer1-parent-headline")
    parent = client().get_run(run.parent_run_id)
    assert parent.data.tags[tracking.KIND_TAG] == "pipeline"
    assert parent.data.metrics["candidate.tooluse.success_rate"] == pytest.approx(0.6)
    assert parent.data.metrics["promoted"] == 1.0
    assert parent.data.tags["tracer1.decision"] == "promote"
    assert parent.data.tags["tracer1.model_version"] == outcome.registry.version
