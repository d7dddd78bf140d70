"""Tracking helpers that need no MLflow store: URIs, pipeline ids, params, secrets, imports."""

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tracer1 import tracking
from tracer1.config import PolicyConfig, TrackingConfig


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", tracking.PIPELINE_ID_ENV):
        monkeypatch.delenv(var, raising=False)


# ------------------------------------------------------------------ URIs


def test_default_uri_is_the_embedded_sqlite_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = tracking.resolve_tracking_uri(TrackingConfig())
    assert uri == f"sqlite:///{tmp_path.resolve()}/mlflow/mlflow.db"
    assert not (tmp_path / "mlflow").exists()  # resolving creates nothing


def test_env_overrides_config(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.mlops.svc:5000")
    assert tracking.resolve_tracking_uri(TrackingConfig()) == "http://mlflow.mlops.svc:5000"


def test_absolute_sqlite_uri_is_kept(tmp_path):
    cfg = TrackingConfig(tracking_uri=f"sqlite:///{tmp_path}/x.db")
    assert tracking.resolve_tracking_uri(cfg) == f"sqlite:///{tmp_path}/x.db"


# ---------------------------------------------------------------- pipeline id


def test_pipeline_id_from_env_is_sanitised(monkeypatch):
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "run-42")
    assert tracking.pipeline_id() == "run-42"
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "x' or '1'='1")
    assert "'" not in tracking.pipeline_id()


def test_pipeline_id_derived_from_commit_and_params(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("a: 1\n")
    first = tracking.pipeline_id(params, repo=str(tmp_path))
    assert first.startswith("nogit-") and first == tracking.pipeline_id(params, repo=str(tmp_path))
    params.write_text("a: 2\n")
    assert tracking.pipeline_id(params, repo=str(tmp_path)) != first
    assert tracking.pipeline_id(tmp_path / "missing.yaml", repo=str(tmp_path)) == "nogit-noparams"


def test_run_names():
    assert tracking.run_name("sft") == "sft"
    assert tracking.run_name("sft", "anticipatory") == "sft/anticipatory"


# ------------------------------------------------------------------- params


def test_flatten_dataclass_section():
    flat = tracking.flatten(PolicyConfig())
    assert flat["lora.r"] == 16
    assert flat["lora.target_modules"] == "q_proj,k_proj,v_proj,o_proj"
    assert flat["base_model"] is None
    assert flat["max_new_tokens"] == PolicyConfig().max_new_tokens


def test_flatten_nested_and_empty_mappings():
    @dataclass
    class S:
        suites: dict = field(default_factory=lambda: {"tooluse": {"families": []}, "x": {}})

    assert tracking.flatten(S()) == {"suites.tooluse.families": "", "suites.x": "{}"}
    assert tracking.flatten(3) == {"value": 3}


# ------------------------------------------------------------------ secrets


@pytest.mark.parametrize(
    "key",
    ["AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "aws_session_token", "HF_TOKEN",
     "db.password", "MLFLOW_TRACKING_PASSWORD", "openaiApiKey", "api-key", "client_secret",
     "GOOGLE_APPLICATION_CREDENTIALS", "private_key"],
)
def test_secret_keys(key):
    assert tracking.is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    ["max_new_tokens", "max_prompt_tokens", "tokenizer", "learning_rate", "keep_failed",
     "lora.target_modules", "key", "author", "secretary_count"],
)
def test_not_secret_keys(key):
    assert not tracking.is_secret_key(key)


def test_redact_env_secret_url_password_and_known_shapes(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-0123456789abcdef")
    monkeypatch.setenv("SHORT_SECRET", "1")  # too short to redact meaningfully
    text = (
        "endpoint https://alice:hunter2pass@minio.local:9000/bucket "
        "token tok-0123456789abcdef key AKIAABCDEFGHIJKLMNOP hf hf_abcdefghijklmnopqrstu 1"
    )
    out = tracking.redact(text)
    for leaked in ("hunter2pass", "tok-0123456789abcdef", "AKIAABCDEFGHIJKLMNOP",
                   "hf_abcdefghijklmnopqrstu"):
        assert leaked not in out
    assert "https://alice:***@minio.local:9000/bucket" in out and out.endswith(" 1")


@pytest.mark.parametrize("text, shown", [
    ("API request to http://user:secret@127.0.0.1:9/api/2.0 failed",
     "API request to http://user:***@127.0.0.1:9/api/2.0 failed"),
    ("http://u:p@ss:w@rd@host:5000/x", "http://u:***@host:5000/x"),  # unescaped @ inside
    ("https://:tok3n-abc@host/", "https://:***@host/"),  # a token with no user
    ("'http://u:pw@h:1' and other@example.com", "'http://u:***@h:1' and other@example.com"),
    ("http://host:8080/path user@example.com", "http://host:8080/path user@example.com"),
    ("sqlite:///mlflow/mlflow.db s3://bucket/key", "sqlite:///mlflow/mlflow.db s3://bucket/key"),
])
def test_redact_url_passwords(text, shown):
    assert tracking.redact(text, []) == shown


def test_redact_is_linear_on_long_output():
    # It runs over everything the CLI prints: a long run of letters must not be retried at
    # every position (the old pattern is quadratic: 7 s at 20 k characters, minutes here).
    import time

    text = "a" * 200_000 + "://" + "b" * 200_000
    started = time.monotonic()
    assert tracking.redact(text, []) == text
    assert time.monotonic() - started < 1.0


def test_redacted_stream_and_redact_output(monkeypatch):
    import io
    import logging

    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    handler = logging.StreamHandler(err)  # configured before, as a host process may have
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    tracking.redact_output()
    tracking.redact_output()  # idempotent: wrapped once
    assert isinstance(sys.stdout, tracking.RedactedStream) and sys.stdout.stream is out
    assert handler.stream is sys.stderr
    assert sys.stdout.write("at http://u:hunter22@h/\n") == len("at http://u:hunter22@h/\n")
    logging.getLogger("t").warning("logged http://u:hunter22@h/")
    print("printed", "http://u:hunter22@h/", file=sys.stderr)
    assert out.getvalue() == "at http://u:***@h/\n"
    assert err.getvalue() == "logged http://u:***@h/\nprinted http://u:***@h/\n"
    assert sys.stdout.isatty() is False  # everything else is the stream's


def test_scrub_drops_secret_keys_and_stringifies(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "planted-secret-value-xyz")
    out = tracking.scrub({"aws_secret_access_key": "x", "lr": 0.1,
                          "note": "uses planted-secret-value-xyz"})
    assert out == {"lr": "0.1", "note": "uses ***"}


# ------------------------------------------------------------------ imports


def test_importing_tracking_and_registry_has_no_side_effects(tmp_path):
    # A fresh interpreter in an empty cwd: no MLflow import, no folder, no URI set.
    code = (
        "import sys, os\n"
        "import tracer1.tracking, tracer1.lineage\n"
        "import tracer1.registry.gate, tracer1.registry.pyfunc\n"
        "import tracer1.registry.mlflow_registry, tracer1.registry.stage\n"
        "assert 'mlflow' not in sys.modules, 'mlflow imported at module import'\n"
        "assert os.listdir('.') == [], os.listdir('.')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_no_init_in_the_mlflow_folder():
    # An mlflow/__init__.py at the repository root would shadow the library.
    root = Path(__file__).resolve().parents[2]
    assert (root / "mlflow" / ".gitignore").is_file()
    assert not (root / "mlflow" / "__init__.py").exists()
