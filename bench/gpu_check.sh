#!/usr/bin/env bash
# GPU readiness check, for a machine with an NVIDIA GPU (at most $GPU_CHECK_BUDGET_S seconds, default
# 285, on one H100/H200; most of it is torch.compile's compilation, not the timed steps):
#   1. the CUDA paths' tests (tests/training/test_cuda.py: bf16 choice, fused AdamW, TF32, flash
#      attention, compiled training step, no host sync per step, pinned-memory prefetch);
#   2. `slm` alone, then `regular` alone, about 50 timed bf16 steps each with torch.compile (after
#      warm-up), through bench/bench_train.py: tokens/s, ms/step, MFU against the detected card's peak,
#      peak memory, the time 1.1 B tokens would take (the figures first, while time is left);
#   3. `slm` again beside nanoGPT's compiled step and with the eval figure (its own compilation is
#      then mostly inductor's cache from step 2);
#   4. where two GPUs exist, a 2-process NCCL training run (bench/bench_distributed.py).
# Each step gets its own limit, cut to what is left of the budget; a step that outlives it is ended
# and reported ("TIMED OUT"), the others still run. Output is unbuffered, so what a step printed
# before it was ended shows. Without a GPU it refuses, says why, and exits 3 (nothing checked).
# Usage: bench/gpu_check.sh. The python is found as the launchers find it ($LONDON_LLM_PYTHON,
# $LONDON_LLM_VENV, helloLondon/, .venv/, else python3 from PATH, which must hold a CUDA build of
# torch, transformers, numpy, tqdm and pytest: what the steps import).
set -uo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
source "$ROOT/10_scripts/launch_common.sh"
cd "$ROOT"
pick_python
GPUS="$(count_gpus)"
if [ "${GPUS:-0}" -eq 0 ]; then
  echo "gpu_check.sh: no CUDA GPU visible to torch ($PY): nothing checked. Run it on a machine with an" \
       "NVIDIA GPU and a CUDA build of torch (check: $PY -c 'import torch; print(torch.cuda.is_available())')." >&2
  exit 3
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=disabled
export PYTHONUNBUFFERED=1
BUDGET="${GPU_CHECK_BUDGET_S:-285}"
case "$BUDGET" in ''|*[!0-9]*) die "GPU_CHECK_BUDGET_S takes whole seconds, not '$BUDGET'";; esac
FAILED=0 SKIPPED=""
step() { CURRENT="$*"; echo; echo "=== $* ($(( SECONDS )) s of ${BUDGET} s used) ==="; }
run() {  # a step that may fail without stopping the others; the script's exit code reports it
  local limit="$1" left=$(( BUDGET - SECONDS )) rc=0; shift
  if [ "$left" -lt 10 ]; then echo "SKIPPED (${left} s of the budget left): $*"; SKIPPED+=" '$CURRENT'"; return; fi
  [ "$limit" -le "$left" ] || limit="$left"
  timeout -k 10 "$limit" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "TIMED OUT after ${limit} s: $*"; FAILED=1
  elif [ "$rc" -ne 0 ]; then echo "FAILED (exit $rc): $*"; FAILED=1; fi
}

step "GPU"
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv 2>/dev/null || true
"$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPUs", torch.cuda.device_count(),
  torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0))'

step "CUDA paths' tests"
run 90 "$PY" -m pytest -q -p no:cacheprovider tests/training/test_cuda.py

step "slm: 50 timed bf16 steps, compiled"
run 100 "$PY" bench/bench_train.py --model slm --device cuda --dtypes bf16 --compile on --no_reference --no_eval \
  --warmup 5 --rounds 5 --steps 10 --project_tokens 1.1e9

step "regular: 50 timed bf16 steps, compiled"
run 100 "$PY" bench/bench_train.py --model regular --device cuda --dtypes bf16 --compile on --no_reference \
  --no_eval --warmup 3 --rounds 5 --steps 10 --project_tokens 1.1e9

step "slm beside nanoGPT compiled, with the eval figure"
run 120 "$PY" bench/bench_train.py --model slm --device cuda --dtypes bf16 --compile on --reference_compile \
  --warmup 5 --rounds 5 --steps 10

if [ "$GPUS" -ge 2 ]; then
  step "2-process NCCL run (slm shape, bf16)"
  run 150 "$PY" bench/bench_distributed.py --model slm --nproc 2 --steps 30 --batch_size 36 --dtype bf16
else
  step "2-process NCCL run: skipped (1 GPU)"
fi
echo
[ -z "$SKIPPED" ] || echo "gpu_check.sh: not run, the budget (GPU_CHECK_BUDGET_S=$BUDGET) spent:$SKIPPED"
[ "$FAILED" -eq 0 ] && echo "gpu_check.sh: all steps run passed (${SECONDS} s)" \
  || echo "gpu_check.sh: some steps FAILED or TIMED OUT (above; ${SECONDS} s)"
exit "$FAILED"
