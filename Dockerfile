# One image for every pipeline stage (Kubeflow components run `tracer1 <stage>` in it) and
# for CI-like runs. Dependencies come from the lock through scripts/bootstrap.sh, the same
# script `make` runs, before the source is copied in, so code changes reuse that layer.
#
#   docker build -t tracer1 --build-arg GIT_COMMIT="$(git rev-parse HEAD)" .   # CPU (default)
#   docker build -t tracer1:cuda \
#     --build-arg BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04 \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 \
#     --build-arg WITH_BROWSER=0 .                              # GPU training stages
#   (add --build-arg WITH_VLLM=1 for trl's vLLM rollouts: the `vllm` extra)
#
# Ubuntu ships chromium only as a snap, which cannot run in a container: the CUDA image is
# for the training stages; browser stages (MiniWoB) run on the CPU image.
#
# `.git` stays out of the build context, so the commit comes in as GIT_COMMIT: the image's
# `org.opencontainers.image.revision` label and TRACER1_GIT_COMMIT, which lineage reads
# (MLflow tags, registry versions) where there is no git checkout, as in a Kubeflow pod.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PYTHON=python3.11
ARG WITH_BROWSER=1
ARG WITH_VLLM=0
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
RUN EDITABLE=0 WITH_VLLM="${WITH_VLLM}" bash scripts/bootstrap.sh && chown -R tracer1:tracer1 /app

# Last, so a new commit rebuilds no layer above. TINI_SUBREAPER: in a Kubeflow pod the
# launcher is PID 1 and runs the component's command, tini included, as its child.
ARG GIT_COMMIT=""
LABEL org.opencontainers.image.revision="${GIT_COMMIT}"
ENV TRACER1_GIT_COMMIT="${GIT_COMMIT}" \
    TINI_SUBREAPER=1

USER ${UID}
ENTRYPOINT ["/usr/bin/tini", "--", "/app/scripts/entrypoint.sh"]
CMD ["tracer1", "--help"]
