#!/usr/bin/env bash
# The image's entrypoint. With HEADED=1 and no DISPLAY it runs the command under xvfb-run
# (a virtual X server for headed browsers, stopped when the command ends); otherwise it
# runs the command in its place.
#   HEADED=1 scripts/entrypoint.sh tracer1 evaluate
set -euo pipefail
if [[ "${HEADED:-0}" == 1 && -z "${DISPLAY:-}" ]]; then
  if ! command -v xvfb-run > /dev/null; then
    echo "entrypoint: HEADED=1 needs xvfb-run (Debian packages xvfb and xauth)," \
      "which is not installed" >&2
    exit 1
  fi
  exec xvfb-run --auto-servernum \
    --server-args="-screen 0 ${XVFB_SCREEN:-1280x1024x24} -nolisten tcp" "$@"
fi
exec "$@"
