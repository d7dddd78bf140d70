"""The Kubeflow pipeline: the committed IR YAML is current, every stage is in it, GPUs on
the training stages only, secrets, retries with backoff and timeouts everywhere, promotion
behind the gate, no task input that changes from run to run (the cache can hit); the
components are container components running the image's entry point and `tracer1
run-stage`, i.e. `tracer1.workspace.run_stage`."""

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import components
from pipelines.compile import DEFAULT_OUT, compile_pipeline
from pipelines.pipeline import RUN_ID_FIELD, Cluster, build_pipeline
from tests.helpers import REPO
from tests.kfp_local import use_local_cli
from tracer1 import stages
from tracer1.cli import app
from tracer1.layout import Layout
from tracer1.workspace import CHECKPOINT_ROOT_ENV, STAGE_IO, run_stage

STAGES = ["build_dataset", "validate_dataset", "prepare_base", "sft", "stage1_grpo",
          "collect_feedback", "stage2_rft", "evaluate", "gate", "promote"]
LOADS_A_PLANNER = ("sft", "stage1_grpo", "collect_feedback", "stage2_rft", "evaluate",
                   "promote")


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    out = compile_pipeline(tmp_path_factory.mktemp("kfp") / "tracer1.yaml")
    return out.read_text()


@pytest.fixture(scope="module")
def spec(text):
    """The pipeline spec, with the Kubernetes platform spec (2nd document) as `platforms`."""
    pipeline, platform = yaml.safe_load_all(text)
    return {**pipeline, **platform}


def test_the_committed_yaml_is_current(text):
    assert DEFAULT_OUT.read_text() == text, (
        "pipelines/tracer1.yaml is stale: run `python -m pipelines.compile`")


def test_every_stage_per_variant(spec):
    tasks = spec["root"]["dag"]["tasks"]
    names = set(tasks) | set(spec["components"]["comp-condition-1"]["dag"][
        "tasks"])
    for stage in STAGES:
        base = stage.replace("_", "-")
        assert base in names, (stage, sorted(names))
    for stage in ("sft", "stage1-grpo", "collect-feedback", "stage2-rft"):
        assert f"{stage}-2" in names  # one task per variant (anticipatory, reactive)


def test_gpus_on_the_training_stages_only(spec):
    executors = spec["deploymentSpec"]["executors"]
    for name, executor in executors.items():
        resources = executor["container"].get("resources", {})
        gpu = any(name.startswith(f"exec-{s}") for s in ("sft", "stage1-grpo", "stage2-rft"))
        assert ("accelerator" in resources) == gpu, name
        assert resources.get("cpuRequest") and resources.get("memoryRequest"), name
    platform = spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name, config in platform.items():
        gpu = any(name.startswith(f"exec-{s}") for s in ("sft", "stage1-grpo", "stage2-rft"))
        assert ("nodeSelector" in config and "tolerations" in config) == gpu, name
        secrets = {s["secretName"] for s in config["secretAsEnv"]}
        assert secrets == {"tracer1-s3", "tracer1-mlflow"}, name


def test_promotion_only_behind_a_passing_gate_and_retries_everywhere(spec):
    doc = spec
    condition = doc["root"]["dag"]["tasks"]["condition-1"]
    assert condition["triggerPolicy"]["condition"].endswith(
        "['pipelinechannel--gate-decision'] == 'promote'")
    assert "promote" in doc["components"]["comp-condition-1"]["dag"]["tasks"]
    assert "promote" not in doc["root"]["dag"]["tasks"]
    for task in doc["root"]["dag"]["tasks"].values():
        if "componentRef" in task and task["componentRef"]["name"] != "comp-condition-1":
            assert task["retryPolicy"]["maxRetryCount"] >= 1


def test_run_level_parameters_are_not_hyperparameters(spec):
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert set(inputs) == {"params_file", "image", "data_version", "data_repo", "base_model",
                           "seed"}
    assert inputs["image"]["defaultValue"] == components.IMAGE


def test_every_stage_runs_in_the_image_the_run_names(spec):
    for name, executor in spec["deploymentSpec"]["executors"].items():
        assert executor["container"]["image"] == (
            "{{$.inputs.parameters['pipelinechannel--image']}}"), name


def test_typed_report_and_lineage_artifacts(spec):
    comps = spec["components"]
    evaluate = comps["comp-evaluate"]["outputDefinitions"]["artifacts"]
    assert evaluate["summary"]["artifactType"]["schemaTitle"] == "system.Markdown"
    validate = comps["comp-validate-dataset"]["outputDefinitions"]["artifacts"]
    assert validate["report"]["artifactType"]["schemaTitle"] == "system.HTML"
    # promote reads build_dataset's metrics: the data's identifiers tag the registry version.
    promote = comps["comp-condition-1"]["dag"]["tasks"]["promote"]["inputs"]["artifacts"]
    assert promote["data_metrics"]["componentInputArtifact"] == (
        "pipelinechannel--build-dataset-metrics")


def test_the_prepared_base_reaches_every_stage_that_loads_a_planner(spec):
    """One prepare_base task; its `base` Model artifact is an input of each such task."""
    tasks = {**spec["root"]["dag"]["tasks"],
             **spec["components"]["comp-condition-1"]["dag"]["tasks"]}
    assert "prepare-base" in tasks and "prepare-base-2" not in tasks
    assert spec["components"]["comp-prepare-base"]["outputDefinitions"]["artifacts"][
        "base"]["artifactType"]["schemaTitle"] == "system.Model"
    seen = set()
    for name, task in tasks.items():
        stage = re.sub(r"-\d+$", "", name).replace("-", "_")  # sft-2: the second variant's
        if stage not in LOADS_A_PLANNER:
            continue
        seen.add(stage)
        base = task["inputs"]["artifacts"]["base"]
        source = base.get("taskOutputArtifact") or {}
        if not source:  # inside the gate's condition: handed down from the root DAG
            assert base["componentInputArtifact"] == "pipelinechannel--prepare-base-base", name
        else:
            assert source == {"outputArtifactKey": "base", "producerTask": "prepare-base"}, name
    assert seen == set(LOADS_A_PLANNER)
    for stage in LOADS_A_PLANNER:
        assert "base" in STAGE_IO[stage].inputs, stage


@pytest.mark.parametrize("stage", STAGES)
def test_components_run_the_image_entrypoint_and_the_cli(spec, stage):
    """`tini -- entrypoint.sh tracer1 run-stage <stage>`, the artifacts as NAME=PATH pairs
    naming exactly the stage's `STAGE_IO`; no kfp preamble, no pip install in the pod."""
    container = spec["deploymentSpec"]["executors"][f"exec-{stage.replace('_', '-')}"][
        "container"]
    assert container["command"] == [*components.ENTRYPOINT, "tracer1", "run-stage"]
    args = container["args"]
    assert args[0] == stage
    pairs = list(zip(args, args[1:], strict=False))
    named = {flag: {a.split("=", 1)[0] for f, a in pairs if f == flag}
             for flag in ("--input", "--output")}
    assert named["--input"] == set(STAGE_IO[stage].inputs), args
    assert named["--output"] == STAGE_IO[stage].produced, args
    text = json.dumps(container)
    assert "pip install" not in text and "kfp" not in text


def test_the_components_entrypoint_is_the_images():
    entry = re.findall(r"^ENTRYPOINT (.+)$", (REPO / "Dockerfile").read_text(), re.M)
    assert json.loads(entry[-1]) == components.ENTRYPOINT


def _task_inputs(spec):
    """(task, parameter name, its spec) for every task of every DAG."""
    dags = [spec["root"]] + [c for c in spec["components"].values() if "dag" in c]
    for dag in dags:
        for name, task in dag["dag"]["tasks"].items():
            for param, value in task.get("inputs", {}).get("parameters", {}).items():
                yield name, param, value


def test_no_task_input_changes_from_run_to_run(spec):
    """KFP's cache key hashes a task's resolved inputs (and command, image): an input
    holding the run id or time makes every run a miss. Every task input is a pipeline
    parameter, an upstream output or a constant; the run id reaches the pod as an
    environment variable from its `pipeline/runid` label, which the key leaves out."""
    run_dependent = re.compile(r"pipeline_job|pipeline_task|\{\{workflow\.|\$\.pipeline")
    for task, param, value in _task_inputs(spec):
        assert "pipeline_id" not in param, (task, param)
        assert not run_dependent.search(json.dumps(value)), (task, param, value)
    for name, executor in spec["deploymentSpec"]["executors"].items():
        assert not run_dependent.search(json.dumps(executor)), name
    for name, config in spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"].items():
        assert {"name": "TRACER1_PIPELINE_ID", "fieldPath": RUN_ID_FIELD} in config[
            "fieldPathAsEnv"], name


def test_retries_back_off_and_every_pod_has_a_deadline(spec):
    platform = spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    tasks = {**spec["root"]["dag"]["tasks"],
             **spec["components"]["comp-condition-1"]["dag"]["tasks"]}
    for name, task in tasks.items():
        if "retryPolicy" not in task:
            continue
        policy = task["retryPolicy"]
        assert policy["backoffDuration"] != "0s" and policy["backoffFactor"] >= 2, name
        deadline = int(platform[f"exec-{name}"]["activeDeadlineSeconds"])
        # Argo stops retrying backoffMaxDuration after the first attempt started.
        budget = int(policy["backoffMaxDuration"].rstrip("s"))
        assert budget >= (policy["maxRetryCount"] + 1) * deadline, name
    assert int(platform["exec-sft"]["activeDeadlineSeconds"]) > int(
        platform["exec-gate"]["activeDeadlineSeconds"])


def test_training_stages_keep_checkpoints_on_the_volume_named(tmp_path):
    from kfp import compiler

    out = tmp_path / "p.yaml"
    compiler.Compiler().compile(build_pipeline(cluster=Cluster(checkpoint_pvc="ckpt")),
                                package_path=str(out))
    pipeline, platform = yaml.safe_load_all(out.read_text())
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name, config in executors.items():
        gpu = any(name.startswith(f"exec-{s}") for s in ("sft", "stage1-grpo", "stage2-rft"))
        assert ("pvcMount" in config) == gpu, name
    env = pipeline["deploymentSpec"]["executors"]["exec-stage1-grpo"]["container"]["env"]
    assert {"name": CHECKPOINT_ROOT_ENV, "value": "/checkpoints"} in env


def _fake_prepare_base(attempts):
    """A `prepare_base` that leaves a checkpoint and fails on its first attempt."""
    def fake(params, params_path):
        ckpt = Path(f"{Layout().base}.ckpt")  # where a trainer checkpoints
        attempts.append(sorted(p.name for p in ckpt.glob("*")))
        ckpt.mkdir(parents=True, exist_ok=True)
        (ckpt / "checkpoint-1").write_text("step 1")
        if len(attempts) == 1:
            raise RuntimeError("node lost")
        out = Layout().base
        out.mkdir(parents=True)
        (out / "source.json").write_text("{}")
        return {}
    return fake


def test_a_retried_stage_finds_the_checkpoints_its_failed_attempt_left(tmp_path,
                                                                         monkeypatch):
    params = tmp_path / "params.yaml"
    params.write_text("forecast: {}\n")
    attempts = []
    monkeypatch.setattr(stages, "prepare_base", _fake_prepare_base(attempts))
    monkeypatch.setenv(CHECKPOINT_ROOT_ENV, str(tmp_path / "volume"))
    monkeypatch.setenv("TRACER1_PIPELINE_ID", "run-1")
    with pytest.raises(RuntimeError, match="node lost"):
        run_stage("prepare_base", params, {}, {"base": tmp_path / "out"})
    run_stage("prepare_base", params, {}, {"base": tmp_path / "out"})  # the retry
    assert attempts == [[], ["checkpoint-1"]]
    assert (tmp_path / "out/source.json").is_file()
    assert not (tmp_path / "volume/run-1/prepare_base").exists()  # removed after success


def test_without_a_volume_each_attempt_starts_clean(tmp_path, monkeypatch):
    params = tmp_path / "params.yaml"
    params.write_text("forecast: {}\n")
    attempts = []
    monkeypatch.setattr(stages, "prepare_base", _fake_prepare_base(attempts))
    monkeypatch.delenv(CHECKPOINT_ROOT_ENV, raising=False)
    with pytest.raises(RuntimeError):
        run_stage("prepare_base", params, {}, {"base": tmp_path / "out"})
    run_stage("prepare_base", params, {}, {"base": tmp_path / "out"})
    assert attempts == [[], []]


def test_the_html_artifacts_are_one_self_contained_file(tmp_path, monkeypatch):
    """The UI shows the file at an HTML artifact's path: a page, not a folder, with its
    images inlined and nothing fetched from elsewhere."""
    from tracer1.evaluation.report import MARKDOWN_FILE

    params = tmp_path / "params.yaml"
    params.write_text("forecast: {}\n")

    def fake_validate(p, params_path):
        out = Layout().validation
        (out / "docs").mkdir(parents=True)
        (out / "docs/index.html").write_text("<html>GE</html>")
        (out / "result.json").write_text(json.dumps({
            "success": True, "evaluated_expectations": 1, "failed_expectations": 0,
            "stats": {"episodes": 3}, "expectations": [
                {"table": "steps", "expectation": "expect_x|y", "success": True,
                 "observed_value": 3, "unexpected_count": 0, "why": "ids are unique"}]}))
        return type("R", (), {"success": True})()

    def fake_evaluate(p, params_path):
        out = Layout().eval_dir
        out.mkdir(parents=True)
        (out / MARKDOWN_FILE).write_text("# Evaluation\n\n| policy | success |\n|---|---|\n"
                                         "| stage2 | 0.5 |\n")
        (out / "success_by_policy.png").write_bytes(b"\x89PNG fake")
        (out / "report.json").write_text("{}")
        return {}

    monkeypatch.setattr(stages, "validate_dataset", fake_validate)
    monkeypatch.setattr(stages, "evaluate", fake_evaluate)
    (tmp_path / "t").mkdir()
    run_stage("validate_dataset", params, {"trajectories": tmp_path / "t"},
              {"report": tmp_path / "report", "data_docs": tmp_path / "docs"})
    page = (tmp_path / "report").read_text()
    assert page.startswith("<!doctype html>") and "ids are unique" in page
    assert "expect_x\\|y" not in page and "expect_x|y" in page  # one cell, pipe kept
    assert (tmp_path / "docs/docs/index.html").is_file()  # GE's folder, its own artifact
    models = {name: tmp_path / name for name in ("base", "sft", "stage1", "stage2",
                                                 "reactive")}
    for path in models.values():
        path.mkdir()
    run_stage("evaluate", params, {"trajectories": tmp_path / "t", **models},
              {"report": tmp_path / "eval", "page": tmp_path / "page.html",
               "summary": tmp_path / "summary.md"})
    page = (tmp_path / "page.html").read_text()
    assert "<table>" in page and "data:image/png;base64," in page
    assert not re.search(r"""(src|href)=["']?(https?:|//|[\w./-]+\.(png|js|css))""", page)


def test_run_stage_cli_passes_the_artifacts_and_writes_results(tmp_path, monkeypatch):
    import tracer1.workspace as workspace

    seen = {}

    def fake(stage, params, inputs, outputs, **kw):
        seen.update(stage=stage, inputs=inputs, outputs=outputs, **kw)
        return type("Decision", (), {"decision": "promote"})()

    monkeypatch.setattr(workspace, "run_stage", fake)
    params = tmp_path / "params.yaml"
    params.write_text("forecast: {}\n")
    out = tmp_path / "outputs/decision"
    result = CliRunner().invoke(app, [
        "run-stage", "gate", "--params", str(params), "--input", "report=/a=b/r",
        "--set", "seed=", "--set", "base_model=x", "--option", "dvc_rev=",
        "--result", f"decision={out}"])
    assert result.exit_code == 0, result.output
    assert seen["inputs"] == {"report": "/a=b/r"} and seen["outputs"] == {}
    assert seen["run_parameters"] == {"seed": "", "base_model": "x"}
    assert seen["options"] == {"dvc_rev": ""} and seen["variant"] is None
    assert out.read_text() == "promote"
    bad = CliRunner().invoke(app, ["run-stage", "gate", "--params", str(params),
                                   "--input", "report"])
    assert bad.exit_code == 2 and "expected NAME=VALUE" in bad.output


def test_a_component_runs_through_kfp_local_and_the_cli(tmp_path, monkeypatch):
    """`prepare_base` of the tiny model, executed by kfp.local through `tracer1 run-stage`
    (the command a pod runs, the image's entry point swapped for this interpreter)."""
    from kfp import dsl, local

    from tests.conftest import SMALL_PARAMS

    params = tmp_path / "params.yaml"
    params.write_text(SMALL_PARAMS)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.chdir(tmp_path)
    use_local_cli(monkeypatch)
    local.init(runner=local.SubprocessRunner(use_venv=False),
               pipeline_root=str(tmp_path / "root"), raise_on_error=True)

    @dsl.pipeline
    def one(params_file: str):
        components.prepare_base(params_file=params_file, base_model="", seed="")

    one(params_file=str(params))
    assert json.loads(next((tmp_path / "root").rglob("base/source.json")).read_text())


def test_run_stage_checks_its_contract(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("forecast: {}\n")
    with pytest.raises(ValueError, match="unknown stage 'nope'"):
        run_stage("nope", params, {}, {})
    with pytest.raises(ValueError, match=r"sft: inputs must be \['base', 'trajectories'\]"):
        run_stage("sft", params, {}, {"model": "m", "metrics": "x"}, variant="anticipatory")
    with pytest.raises(ValueError, match="runs per variant"):
        run_stage("sft", params, {"trajectories": "t", "base": "b"},
                  {"model": "m", "metrics": "x"})
    with pytest.raises(FileNotFoundError, match="missing"):
        run_stage("validate_dataset", params, {"trajectories": tmp_path / "missing"},
                  {"report": tmp_path / "out", "data_docs": tmp_path / "docs"})
    with pytest.raises(ValueError, match="unknown run parameters"):
        run_stage("gate", params, {"report": tmp_path}, {}, run_parameters={"lr": "1"})
    assert set(STAGE_IO) == set(STAGES)
