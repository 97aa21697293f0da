#!/usr/bin/env bash
# The whole test suite, from a fresh machine: sets up the environment if needed, then runs pytest
# offline (no Hub, no W&B, a throwaway HF cache). Extra arguments go to pytest (they come last, so
# e.g. `-n 0` runs everything in one process).
# Two pytest workers by default (LONDON_LLM_TEST_WORKERS): most of the suite's time is single-threaded
# Python (interpreter starts, imports of torch and transformers), so a second worker nearly halves it
# on two cores. --dist loadfile keeps each file's tests, and its module fixtures, on one worker.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/_env.sh"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE="${WANDB_MODE:-disabled}"
export HF_HOME="${HF_HOME:-$(mktemp -d)}"
cd "$ROOT"
exec "$PY" -m pytest tests -q -p no:cacheprovider --durations=25 \
  -n "${LONDON_LLM_TEST_WORKERS:-2}" --dist loadfile "$@"
