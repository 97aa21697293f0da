#!/usr/bin/env bash
# The project's main job, from a fresh machine: sets up the environment if needed, then runs the
# pipeline script (10_scripts/run_pipeline.py; its --help lists the stages and flags).
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/_env.sh"
exec "$PY" "$ROOT/10_scripts/run_pipeline.py" "$@"
