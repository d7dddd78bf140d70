"""The Kubeflow pipeline: the committed IR YAML is current, every stage is in it, GPUs on
the training stages only, secrets and retries everywhere, promotion behind the gate; the
components are thin wrappers over `tracer1.workspace.run_stage`."""

import inspect
import re

import pytest
import yaml

import components
from pipelines.compile import DEFAULT_OUT, compile_pipeline
from tracer1.workspace import STAGE_IO, run_stage

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
    assert condition["triggerPolicy"]["condition"].endswith("['pipelinechannel--gate-Output']"
                                                            " == 'promote'")
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
def test_components_are_thin_wrappers(stage):
    source = inspect.getsource(getattr(components, stage).python_func)
    body = source[source.index("from tracer1") :]
    assert body.count("run_stage(") == 1 and f'"{stage}"' in body
    assert not any(word in body for word in ("if ", "for ", "while ", "open("))


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
                  {"report": tmp_path / "out"})
    with pytest.raises(ValueError, match="unknown run parameters"):
        run_stage("gate", params, {"report": tmp_path}, {}, run_parameters={"lr": "1"})
    assert set(STAGE_IO) == set(STAGES)
