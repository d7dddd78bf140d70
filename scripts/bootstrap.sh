#!/usr/bin/env bash
# Create or refresh the project venv from the lock file. The one install script:
# the Makefile runs it on a developer machine or CI, the Dockerfile runs it in the image.
#   VENV=.venv PYTHON=python3 EDITABLE=1 bash scripts/bootstrap.sh
# DEPS_ONLY=1 installs the locked dependencies without the project (the image's cached
# layer, built before the source is copied in). TORCH_INDEX_URL picks torch's wheel index
# (the image's CPU default: https://download.pytorch.org/whl/cpu; a CUDA one for GPU nodes).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
EDITABLE=${EDITABLE:-1}
DEPS_ONLY=${DEPS_ONLY:-0}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}

# Re-install only when the inputs change: the stamp holds a hash of them.
want=$( (cat requirements.lock pyproject.toml scripts/bootstrap.sh; echo "$DEPS_ONLY") \
  | sha256sum | cut -d' ' -f1)
stamp="$VENV/.bootstrap-stamp"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

echo "bootstrap: installing locked dependencies into $VENV (first run takes ~6 minutes)" >&2
"$PYTHON" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip
# torch first and by exact version: a bare 'torch' resolves to a multi-GB CUDA build.
pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch==2.13.0"
pip install -r requirements.lock
if [[ "$DEPS_ONLY" == 1 ]]; then
  :
elif [[ "$EDITABLE" == 1 ]]; then
  pip install --no-deps -e .
else
  pip install --no-deps .
fi
pip check
echo "$want" > "$stamp"
