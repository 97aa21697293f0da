#!/usr/bin/env bash
# Start a FRESH training run on every available device: torchrun with one process per GPU (NCCL),
# or one CPU process (gloo) where there is none. It never resumes: use ./resume_training.sh for that.
# Works from any directory; flags it does not know go to the training script.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
source "$ROOT/10_scripts/launch_common.sh"

usage() {
  cat <<USAGE
Usage: ./launch_training.sh [--model slm|regular|tiny] [launcher options] [training flags ...]

Starts FRESH training (passes --fresh): step 0, new weights. Existing checkpoints are not
resumed. To continue a run use ./resume_training.sh [checkpoint-N].

Launcher options:
  --model NAME          slm (default; 04_training/train_model_slm.py), regular (train_model.py), tiny
  --nproc_per_node N    processes on this machine (default: one per GPU, or 1 on a CPU-only machine)
  --nnodes N            machines taking part (multi-node; run the same command on every node)
  --rdzv_endpoint H:P   rendezvous address, normally the first node's host:port (multi-node only)
  --node_rank R         this machine's rank 0..N-1: static rendezvous, node 0 must be the endpoint's
                        host (without it a c10d rendezvous numbers the nodes)
  --dry_run             print the command instead of running it
  -h, --help            this help, then the training script's flags

Every other flag goes to the training script unchanged (e.g. --max_steps 1000 --no_wandb
--batch_size 8 --home /big/disk). The python used is \$LONDON_LLM_PYTHON, else \$LONDON_LLM_VENV/bin/python, else helloLondon/bin/python,
else .venv/bin/python, else python3.
USAGE
}

MODEL=slm NPROC="" NNODES=1 NODE_RANK="" RDZV_ENDPOINT="" DRY_RUN=0 HOME_DIR="" SHOW_HELP=0
PASS=()
while [ $# -gt 0 ]; do
  take_launcher_option "$@"
  if [ "$CONSUMED" -gt 0 ]; then shift "$CONSUMED"; continue; fi
  case "$1" in
    -h|--help) SHOW_HELP=1; shift;;
    --resume_from_checkpoint*|--resume-from-checkpoint*)
      die "launch_training.sh always starts fresh. To resume: ./resume_training.sh checkpoint-N";;
    *) PASS+=("$1"); shift;;
  esac
done
check_launcher_numbers

pick_python
SCRIPT="$(training_script "$MODEL")"
if [ "$SHOW_HELP" -eq 1 ]; then
  usage
  echo; echo "Training flags ($SCRIPT --help):"
  exec "$PY" "$SCRIPT" --help
fi

plan_devices  # GPUS, NPROC, DEVICES, OMP_NUM_THREADS and TORCHRUN

CKPT_DIR="$(checkpoint_dir_of "$MODEL" "$HOME_DIR")"
for arg in "${PASS[@]}"; do  # an explicit --output_dir wins over the preset's folder
  if [ "${prev:-}" = "--output_dir" ] || [ "${prev:-}" = "--output-dir" ]; then CKPT_DIR="$arg"; fi
  case "$arg" in --output_dir=*|--output-dir=*) CKPT_DIR="${arg#*=}";; esac
  prev="$arg"
done
note "Starting FRESH training of the '$MODEL' model on $DEVICES, from step 0 (--fresh)."
EXISTING="$(ls -d "$CKPT_DIR"/checkpoint-* 2>/dev/null | wc -l || true)"
if [ "$EXISTING" -gt 0 ]; then
  note "WARNING: $CKPT_DIR already holds $EXISTING checkpoint(s); this run does NOT resume them: they" \
       "and metrics.jsonl are moved to $CKPT_DIR/previous_runs/ (nothing is deleted). To continue instead:" \
       "./resume_training.sh"
fi

# the training script's stop message then names ./resume_training.sh, not "the same command" (--fresh)
export LONDON_LLM_LAUNCHER=launch_training.sh
CMD=("${TORCHRUN[@]}" "$SCRIPT" --model "$MODEL" --fresh "${PASS[@]}")
note "${CMD[*]}"
if [ "$DRY_RUN" -eq 1 ]; then exit 0; fi
[ -f "$SCRIPT" ] || die "$SCRIPT is missing: this checkout is incomplete (git status)"
exec "${CMD[@]}"
