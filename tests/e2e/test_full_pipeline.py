"""The whole mission at a tiny budget: `dvc repro` from expert data to a registry champion,
a no-op re-run, then a deliberately weak candidate that the gate must reject."""

import json

import pytest
import yaml

from tests.helpers import run

pytestmark = pytest.mark.e2e


def registry(proj, name="tracer1-planner"):
    """(champion version, challenger version) read from the project's embedded MLflow."""
    code = (
        "import json, mlflow;"
        "mlflow.set_tracking_uri('sqlite:///mlflow/mlflow.db');"
        "c = mlflow.MlflowClient();"
        f"m = c.get_registered_model('{name}');"
        "print(json.dumps(m.aliases))"
    )
    return json.loads(run(["python", "-c", code], proj).stdout.strip().splitlines()[-1])


def test_pipeline_promotes_then_rejects_a_weak_candidate(project_copy):
    proj = project_copy
    first = run(["dvc", "repro"], proj, timeout=900)
    for stage in ("prepare_base", "sft@anticipatory", "stage2_rft@reactive", "evaluate",
                  "promote"):
        assert f"Running stage '{stage}'" in first.stdout

    report = json.loads((proj / "reports/eval/report.json").read_text())
    policies = report["policies"]
    assert {"sft", "stage1", "stage2", "reactive"} <= set(policies)
    tasks = {name: set(p["suites"]["tooluse"]["per_task"]) for name, p in policies.items()}
    assert len({frozenset(t) for t in tasks.values()}) == 1  # all scored on the same tasks
    for p in policies.values():
        lo, hi = p["suites"]["tooluse"]["ci95"]
        assert lo <= p["suites"]["tooluse"]["success_rate"] <= hi
    assert (proj / "reports/eval/success_by_policy.png").stat().st_size > 1000

    decision = json.loads((proj / "reports/promote/decision.json").read_text())
    assert decision["decision"] == "promote", decision["reasons"]  # floors 0, no champion yet
    aliases = registry(proj)
    assert aliases["champion"] == aliases["challenger"]
    champion = aliases["champion"]

    # The champion loads back as a planner through the registry flavor.
    code = (
        "import mlflow; mlflow.set_tracking_uri('sqlite:///mlflow/mlflow.db');"
        "from tracer1.registry.pyfunc import load_planner;"
        "from tracer1.policy.base import PlanRequest; from tracer1.trajectory import Observation;"
        "p = load_planner('models:/tracer1-planner@champion');"
        "print(type(p.plan([PlanRequest('Add 2 and 3.', Observation(text='x'))])[0][0]).__name__)"
    )
    assert run(["python", "-c", code], proj).stdout.strip().endswith("str")

    again = run(["dvc", "repro"], proj)
    assert "Running stage" not in again.stdout, again.stdout

    # A weak candidate: the candidate variant retrained with zero steps everywhere (through
    # the CLI, one stage at a time, with its own params file), scored against the champion.
    params = yaml.safe_load((proj / "params.yaml").read_text())
    for stage in ("sft", "stage1_grpo", "stage2_rft"):
        params[stage]["max_steps"] = 0
    (proj / "weak.yaml").write_text(yaml.safe_dump(params))
    for cmd in ("sft", "stage1-grpo", "stage2-rft", "evaluate", "promote"):
        run(["tracer1", cmd, "--params", "weak.yaml"], proj, timeout=600)
    decision = json.loads((proj / "reports/promote/decision.json").read_text())
    assert decision["decision"] == "reject", decision["reasons"]
    assert str(decision["champion_version"]) == str(champion)
    after = registry(proj)
    assert str(after["champion"]) == str(champion)
    assert str(after["challenger"]) != str(champion)
