"""Promotion against a real sqlite-backed MLflow registry: aliases, tags, decision.json, loading."""

import json

import pandas as pd
import pytest

from tests.integration.registry.reports import report, suites_report
from tracer1 import lineage, tracking
from tracer1.config import PromoteConfig
from tracer1.policy.base import Planner, PlanRequest
from tracer1.registry import mlflow_registry as registry
from tracer1.registry.pyfunc import frame_from_requests, load_planner
from tracer1.registry.stage import promote_stage
from tracer1.trajectory import Observation

pytestmark = pytest.mark.integration

NAME = "tracer1-planner"


def test_promote_reject_promote(store, workspace, planner_dir, fake_agent, monkeypatch):
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "promotion-flow")
    cfg = PromoteConfig(model_name=NAME, floors={"tooluse": 0.3}, tolerance=0.02, margin=0.0)
    report_path = workspace / "report.json"
    data_metrics = workspace / "reports/build_dataset.json"  # as build_dataset leaves it
    data_metrics.parent.mkdir(parents=True, exist_ok=True)
    data_metrics.write_text(json.dumps({"data_sha256": "5eed5eed5eed5eed", "splits": {}}))

    def run(model, rep):
        report_path.write_text(json.dumps(rep))
        outcome = promote_stage(cfg, store.cfg, report_path=report_path, model_dir=model,
                                data_metrics_path=data_metrics)
        written = json.loads((workspace / "reports/promote/decision.json").read_text())
        assert written == json.loads(json.dumps(outcome.to_json()))
        return outcome

    tracking.configure(store.cfg)
    assert registry.champion_version(NAME) is None  # the model does not exist yet

    # 1. First candidate clears the floor, no champion yet → champion v1.
    first = run(planner_dir("v1", "first"), report([1] * 6 + [0] * 4))
    assert first.decision.promoted
    assert first.registry.to_json() == {
        "model_name": NAME, "version": "1", "aliases": ["challenger", "champion"],
        "champion_before": None, "champion_after": "1", "model_uri": f"models:/{NAME}/1",
        "reused": False, "load_error": None}
    assert first.decision.checks[-1].name == "loadable" and first.decision.checks[-1].passed

    # 2. A deliberately weak candidate (success 0): registered as challenger, champion stays.
    second = run(planner_dir("v2", "weak"), report([0] * 10, [1] * 6 + [0] * 4, "1"))
    assert second.decision.decision == "reject"
    assert {c.name for c in second.decision.failures} == {
        "floor:tooluse", "no_regression:tooluse", "beats_champion"}
    assert second.registry.version == "2" and second.registry.aliases == ("challenger",)
    assert registry.champion_version(NAME) == "1"
    assert registry.alias_version(NAME, "challenger") == "2"

    # 3. A better candidate, scored against the current champion → champion moves to v3.
    third = run(planner_dir("v3", "better"), report([1] * 8 + [0] * 2, [1] * 6 + [0] * 4, "1"))
    assert third.decision.promoted and third.registry.champion_after == "3"
    assert registry.champion_version(NAME) == registry.alias_version(NAME, "challenger") == "3"

    # Version tags: lineage, verdict, metrics, model card.
    from mlflow import MlflowClient

    client = MlflowClient()
    tags = client.get_model_version(NAME, "2").tags
    assert tags[lineage.GIT_COMMIT_TAG] == lineage.git_commit(workspace)
    assert tags[lineage.DATA_HASH_TAG] == "0123456789abcdef0123456789abcdef.dir"
    assert tags[lineage.DATA_DIGEST_TAG] == "5eed5eed5eed5eed"
    assert tags[lineage.PARAMS_HASH_TAG] == lineage.params_hash(workspace / "params.yaml")
    assert tags["tracer1.decision"] == "reject"
    assert tags["tracer1.eval.tooluse.success_rate"] == "0.0000"
    assert tags["tracer1.compared_champion"] == "1"
    assert tags["tracer1.variant"] == "weak"
    assert client.get_model_version(NAME, "3").tags["tracer1.decision"] == "promote"

    # The promote runs sit under the pipeline parent, tagged with the decision.
    runs = client.search_runs([tracking.configure(store.cfg).experiment_id],
                              filter_string="tags.`tracer1.stage` = 'promote'")
    # Only this model's: other tests promote their own models into the shared store.
    ours = {client.get_model_version(NAME, v).run_id for v in ("1", "2", "3")}
    runs = [r for r in runs if r.info.run_id in ours]
    assert len(runs) == 3
    assert sorted(r.data.tags["tracer1.decision"] for r in runs) == ["promote", "promote",
                                                                       "reject"]
    assert len({r.data.tags["mlflow.parentRunId"] for r in runs}) == 1

    # The champion alias resolves; loaded back it is a Planner that produces plan text.
    planner = load_planner(f"models:/{NAME}@champion")
    assert isinstance(planner, Planner) and planner.variant == "better"
    request = PlanRequest("Add 2 and 3.", Observation(text="tools: calculator"))
    assert planner.plan([request]) == [['<plan>\nanswer(text="better: Add 2 and 3.")\n</plan>']]
    champion = registry.load_champion(NAME)
    assert champion is not None and champion.variant == "better"


def test_pyfunc_predict_serves_plan_texts(store, planner_dir, fake_agent):
    import mlflow

    tracking.configure(store.cfg)
    with mlflow.start_run():
        version = registry.register_candidate(planner_dir("served", "served"), name="served-model",
                                              tags={"purpose": "test"})
    model = mlflow.pyfunc.load_model(f"models:/served-model/{version}")
    frame = frame_from_requests([
        PlanRequest("first", Observation(text="a")),
        PlanRequest("second", Observation(text="b")),
    ])
    assert model.predict(frame) == ['<plan>\nanswer(text="served: first")\n</plan>',
                                    '<plan>\nanswer(text="served: second")\n</plan>']
    # A client may send plain-text observations and omit history.
    plain = pd.DataFrame({"instruction": ["third"], "observation": ["just text"]})
    assert model.predict(plain) == ['<plan>\nanswer(text="served: third")\n</plan>']
    meta = model.metadata.metadata["tracer1"]
    assert meta["horizon"] == 5 and meta["variant"] == "served"
    assert registry.champion_version("served-model") is None
    assert registry.load_champion("served-model") is None
    assert registry.champion_version("no-such-model") is None


def test_untrained_first_candidate_below_its_floors_promotes_nothing(
        store, workspace, planner_dir, fake_agent):
    """A zero-training-step candidate (every task failed on both suites), an empty
    registry: "no champion yet" is no free pass. The floors reject it, it is registered as
    the challenger only, and no champion alias appears."""
    name = "tracer1-untrained-first"
    cfg = PromoteConfig(model_name=name, floors={"tooluse": 0.3, "miniwob": 0.4})
    report_path = workspace / "report.json"
    report_path.write_text(json.dumps(suites_report({"tooluse": [0] * 10, "miniwob": [0] * 10})))
    tracking.configure(store.cfg)
    assert registry.champion_version(name) is None

    outcome = promote_stage(cfg, store.cfg, report_path=report_path,
                            model_dir=planner_dir("untrained", "untrained"))
    assert outcome.decision.decision == "reject"
    assert {c.name for c in outcome.decision.failures} == {"floor:tooluse", "floor:miniwob"}
    assert outcome.registry.champion_before is None and outcome.registry.champion_after is None
    assert "champion" not in outcome.registry.aliases
    assert registry.champion_version(name) is None  # the alias did not move (there is none)
    assert registry.load_champion(name) is None
    written = json.loads((workspace / "reports/promote/decision.json").read_text())
    assert written["decision"] == "reject"
    assert any(r.startswith("FAIL miniwob: success_rate 0.000") and "floor 0.4" in r
               for r in written["reasons"])


def test_missing_model_dir_is_an_error_not_a_rejection(store, workspace, tmp_path):
    cfg = PromoteConfig(model_name="never")
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="tracer1.json"):
        promote_stage(cfg, store.cfg, report_path=tmp_path / "r.json", model_dir=tmp_path / "x",
                      decision_path=tmp_path / "d.json")
    assert not (tmp_path / "d.json").exists()


def _break_loading(monkeypatch, message="weights are corrupt"):
    """`tracer1.policy.load_agent` fails as corrupt weights would (the upload itself works)."""
    import tracer1.policy

    def broken(path):
        raise OSError(message)

    monkeypatch.setattr(tracer1.policy, "load_agent", broken, raising=False)


def test_a_passing_candidate_that_does_not_load_is_recorded_as_rejected(
        store, workspace, planner_dir, monkeypatch):
    """The gate promotes, the registered version does not load back: no alias moves to it
    (not even ``challenger``), its tags say reject and why, decision.json says so too, and
    the stage still fails (a pipeline that produced a broken model is broken)."""
    _break_loading(monkeypatch)
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "unloadable")
    name = "unloadable-planner"
    decision_path = workspace / "reports/promote/decision.json"
    cfg = PromoteConfig(model_name=name, floors={})
    (workspace / "r.json").write_text(json.dumps(report([1] * 10)))
    with pytest.raises(registry.UnloadableModelError, match="weights are corrupt"):
        promote_stage(cfg, store.cfg, report_path=workspace / "r.json",
                      model_dir=planner_dir("broken"), decision_path=decision_path)
    assert registry.champion_version(name) is None
    assert registry.alias_version(name, "challenger") is None

    written = json.loads(decision_path.read_text())
    assert written["decision"] == "reject"
    assert written["reasons"][-1].startswith(f"FAIL models:/{name}/1 does not load")
    assert "weights are corrupt" in written["reasons"][-1]
    loadable = written["checks"][-1]
    assert loadable["name"] == "loadable" and not loadable["passed"]
    assert all(c["passed"] for c in written["checks"][:-1])  # the gate alone said promote
    assert written["registry"]["aliases"] == [] and written["registry"]["version"] == "1"
    assert "weights are corrupt" in written["registry"]["load_error"]

    from mlflow import MlflowClient

    tags = MlflowClient().get_model_version(name, "1").tags
    assert tags["tracer1.decision"] == "reject"
    assert tags["tracer1.gate_failures"] == "loadable"
    assert "weights are corrupt" in tags["tracer1.load_error"]


def _versions(name):
    from mlflow import MlflowClient

    return sorted(int(v.version) for v in MlflowClient().search_model_versions(f"name = '{name}'"))


def test_a_retried_promote_reuses_the_version_it_registered(
        store, workspace, planner_dir, fake_agent, monkeypatch):
    """Kubeflow retries a failed step: the first attempt registered the candidate and then
    failed to load it (say the artifact store hiccupped); the retry finds that version by
    the candidate's digest, registers nothing new, and finishes the job on it."""
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "retried-promote")
    name = "retried-planner"
    cfg = PromoteConfig(model_name=name, floors={})
    (workspace / "r.json").write_text(json.dumps(report([1] * 10)))
    model = planner_dir("retried", "retried")

    def attempt():
        return promote_stage(cfg, store.cfg, report_path=workspace / "r.json", model_dir=model)

    with monkeypatch.context() as broken:
        _break_loading(broken, "artifact store timed out")
        with pytest.raises(registry.UnloadableModelError):
            attempt()
    assert _versions(name) == [1]

    retried = attempt()  # load_agent is the working double again
    assert _versions(name) == [1]  # no second version for the same candidate
    assert retried.registry.version == "1" and retried.registry.reused
    assert retried.decision.promoted and retried.registry.aliases == ("challenger", "champion")
    assert registry.champion_version(name) == "1"
    from mlflow import MlflowClient

    tags = MlflowClient().get_model_version(name, "1").tags
    assert tags["tracer1.decision"] == "promote" and tags["tracer1.load_error"] == "none"
    assert tags["tracer1.candidate"] == lineage.tree_digest(model)

    # Once more after a success (a retry of a step whose pod died after the registry
    # write): still one version, the champion unchanged, and the verdict the same - the
    # registry's champion is the candidate itself, not one the report failed to score.
    again = attempt()
    assert _versions(name) == [1] and again.registry.reused
    assert again.decision.promoted, again.decision.reasons
    assert again.registry.champion_before == again.registry.champion_after == "1"
    assert MlflowClient().get_model_version(name, "1").tags["tracer1.decision"] == "promote"

    # The champion re-evaluated against itself (the report scored v1): judged against the
    # registry as it is - no better than itself, so rejected on that alone.
    (workspace / "r.json").write_text(json.dumps(report([1] * 10, [1] * 10, "1")))
    itself = attempt()
    assert {c.name for c in itself.decision.failures} == {"beats_champion"}
    assert registry.champion_version(name) == "1" and _versions(name) == [1]
    assert MlflowClient().get_model_version(name, "1").tags["tracer1.decision"] == "promote"
    (workspace / "r.json").write_text(json.dumps(report([1] * 10)))

    # A different candidate is a new version.
    other = promote_stage(cfg, store.cfg, report_path=workspace / "r.json",
                          model_dir=planner_dir("other", "other"))
    assert other.registry.version == "2" and not other.registry.reused
