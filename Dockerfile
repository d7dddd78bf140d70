# One image for every pipeline stage (Kubeflow components run `tracer1 <stage>` in it) and
# for CI-like runs. Dependencies come from the lock through scripts/bootstrap.sh, the same
# script `make` runs, before the source is copied in, so code changes reuse that layer.
#
#   docker build -t tracer1 .                                   # CPU (default)
#   docker build -t tracer1:cuda \
#     --build-arg BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04 \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 \
#     --build-arg WITH_BROWSER=0 .                              # GPU training stages
#
# Ubuntu ships chromium only as a snap, which cannot run in a container: the CUDA image is
# for the training stages; browser stages (MiniWoB) run on the CPU image.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PYTHON=python3.11
ARG WITH_BROWSER=1
ARG UID=1000

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    MLFLOW_DISABLE_TELEMETRY=true \
    GX_ANALYTICS_ENABLED=false \
    DVC_NO_ANALYTICS=1 \
    MINIWOB_CHROME_BINARY=/usr/bin/chromium \
    MINIWOB_CHROMEDRIVER=/usr/bin/chromedriver

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# git: lineage tags; tini: signals reach the stage; chromium + driver + Xvfb: browser suites;
# python3.11 from the distribution when the base image has none (CUDA bases).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git tini \
 && if ! command -v "${PYTHON}" > /dev/null; then \
      apt-get install -y --no-install-recommends python3.11 python3.11-venv; fi \
 && if [[ "${WITH_BROWSER}" == 1 ]]; then \
      apt-get install -y --no-install-recommends chromium chromium-driver xvfb xauth; fi \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /tmp/.X11-unix && chmod 1777 /tmp/.X11-unix \
 && useradd --create-home --uid "${UID}" tracer1

WORKDIR /app

# Locked dependencies first: this layer changes only with the lock or the install script.
COPY requirements.lock pyproject.toml ./
COPY scripts/bootstrap.sh scripts/
RUN DEPS_ONLY=1 bash scripts/bootstrap.sh

COPY . .
RUN EDITABLE=0 bash scripts/bootstrap.sh && chown -R tracer1:tracer1 /app

USER ${UID}
ENTRYPOINT ["/usr/bin/tini", "--", "/app/scripts/entrypoint.sh"]
CMD ["tracer1", "--help"]
