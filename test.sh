#!/usr/bin/env bash
# The whole test suite, from a fresh machine: sets up the environment if needed, then runs pytest
# offline (no Hub, no W&B, a throwaway HF cache). Extra arguments go to pytest.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/_env.sh"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE="${WANDB_MODE:-disabled}"
export HF_HOME="${HF_HOME:-$(mktemp -d)}"
cd "$ROOT"
exec "$PY" -m pytest tests -q -p no:cacheprovider --durations=25 "$@"
