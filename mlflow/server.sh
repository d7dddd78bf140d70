#!/usr/bin/env bash
# A team's MLflow tracking + registry server: what MLFLOW_TRACKING_URI points every
# pipeline process at (`MLFLOW_TRACKING_URI=http://HOST:PORT make run`).
#
#   mlflow/server.sh                     # SQLite in mlflow/server.db, artifacts in
#                                        # mlflow/server-artifacts/, on 127.0.0.1:5000
#   MLFLOW_BACKEND_STORE_URI=postgresql://mlflow@db:5432/mlflow \
#   MLFLOW_ARTIFACTS_DESTINATION=s3://bucket/mlflow \
#   MLFLOW_S3_ENDPOINT_URL=http://127.0.0.1:9000 MLFLOW_HOST=0.0.0.0 mlflow/server.sh
#
# Artifacts are proxied by the server (--serve-artifacts): clients log and load models
# over HTTP, and only the server's environment holds the S3 credentials
# (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; MLFLOW_S3_ENDPOINT_URL for any
# S3-compatible endpoint). A PostgreSQL backend needs psycopg2-binary installed beside
# MLflow. Extra arguments go to `mlflow server`. It runs in the foreground; SIGTERM or
# Ctrl-C stops it and its workers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
backend=${MLFLOW_BACKEND_STORE_URI:-sqlite:///$here/server.db}
artifacts=${MLFLOW_ARTIFACTS_DESTINATION:-$here/server-artifacts}
export MLFLOW_DISABLE_TELEMETRY=${MLFLOW_DISABLE_TELEMETRY:-true}
exec mlflow server \
  --backend-store-uri "$backend" \
  --artifacts-destination "$artifacts" \
  --serve-artifacts \
  --host "${MLFLOW_HOST:-127.0.0.1}" \
  --port "${MLFLOW_PORT:-5000}" \
  --workers "${MLFLOW_WORKERS:-1}" \
  "$@"
