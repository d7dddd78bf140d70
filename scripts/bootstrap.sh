#!/usr/bin/env bash
# Create or refresh the project venv from the lock file. The one install script:
# the Makefile runs it on a developer machine or CI, the Dockerfile runs it in the image.
#   VENV=.venv PYTHON=python3 EDITABLE=1 bash scripts/bootstrap.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
EDITABLE=${EDITABLE:-1}

# Re-install only when the inputs change: the stamp holds a hash of them.
want=$(cat requirements.lock pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
stamp="$VENV/.bootstrap-stamp"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

echo "bootstrap: installing locked dependencies into $VENV (first run takes ~6 minutes)" >&2
"$PYTHON" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip
# torch first and by exact version: a bare 'torch' resolves to a multi-GB CUDA build.
pip install "torch==2.13.0"
pip install -r requirements.lock
if [[ "$EDITABLE" == 1 ]]; then
  pip install --no-deps -e .
else
  pip install --no-deps .
fi
pip check
echo "$want" > "$stamp"
