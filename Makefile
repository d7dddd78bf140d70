# Two commands: `make run` (the main job) and `make test`. Each bootstraps .venv itself.
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Keep third-party telemetry off: this machine has no outside network.
export GX_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR := false

.PHONY: venv run test bench lint clean

venv:
	@VENV=$(VENV) bash scripts/bootstrap.sh

## run: the main job: `dvc repro` on the embedded default, then push the data to the DVC remote
run: venv
	dvc repro
	dvc push
	tracer1 report

## test: the whole test suite (unit, integration, end-to-end tiers)
test: venv
	python -m pytest -n 2 -q

## bench: performance benchmarks (ratios measured side by side) → bench/results.{json,md}
## BENCH_ARGS: e.g. "--only grpo_overhead --repeats 5", "--only model_throughput --quick",
##            "--full-run-seconds 1407"
bench: venv
	python -m bench.run_all $(BENCH_ARGS)

lint: venv
	ruff check src tests bench components pipelines

clean:
	rm -rf reports bench/out .pytest_cache
