#!/usr/bin/env bash
# Resume training from a checkpoint on every available device (torchrun, one process per GPU, or
# one CPU process). With no checkpoint argument, list the checkpoints of every model.
# Works from any directory; flags it does not know go to the training script.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
source "$ROOT/10_scripts/launch_common.sh"

usage() {
  cat <<USAGE
Usage: ./resume_training.sh                         list every model's checkpoints (step, val loss, date, size)
       ./resume_training.sh checkpoint-N [flags]    resume the model that checkpoint belongs to
       ./resume_training.sh PATH/checkpoint-N [flags]

The model (slm, regular, tiny) is found from the checkpoint's folder; the run continues from its
exact step with its optimizer, schedule, data position and random state, on all available devices.

Options:
  --model NAME          look only in this model's folder (when two models have the same checkpoint-N,
                        or the checkpoint lies outside the models' folders)
  --home DIR            artifact root (default \$LONDON_LLM_HOME or the repository)
  --nproc_per_node N    processes on this machine (default: one per GPU, or 1 on a CPU-only machine)
  --nnodes N, --node_rank R, --rdzv_endpoint HOST:PORT   multi-node, as in ./launch_training.sh
  --dry_run             print the command instead of running it
  -h, --help            this help

Every other flag goes to the training script (e.g. --max_steps 80000 --no_wandb).
USAGE
}

MODEL="" NPROC="" NNODES=1 NODE_RANK="" RDZV_ENDPOINT="" DRY_RUN=0 HOME_DIR="" CHECKPOINT="" OUTPUT_GIVEN=0
PASS=() EXTRA=()  # EXTRA: the words for the training script, as given (PASS also carries --home)
while [ $# -gt 0 ]; do
  take_launcher_option "$@"
  if [ "$CONSUMED" -gt 0 ]; then shift "$CONSUMED"; continue; fi
  case "$1" in
    -h|--help) usage; exit 0;;
    --fresh) die "resume_training.sh resumes; to start over use ./launch_training.sh";;
    --resume_from_checkpoint|--resume-from-checkpoint) CHECKPOINT="${2:-}"; shift 2 || die "$1 needs a checkpoint";;
    --resume_from_checkpoint=*|--resume-from-checkpoint=*) CHECKPOINT="${1#*=}"; shift;;
    --output_dir|--output-dir) OUTPUT_GIVEN=1; PASS+=("$1" "${2:-}"); shift 2 || die "$1 needs a folder";;
    --output_dir=*|--output-dir=*) OUTPUT_GIVEN=1; PASS+=("$1"); shift;;
    -*) PASS+=("$1"); EXTRA+=("$1"); shift;;
    *)  # the checkpoint is the first word that names one (checkpoint-N, or a folder); others are flag values
      if [ -z "$CHECKPOINT" ] && { [[ "$(basename -- "$1")" =~ ^checkpoint-[0-9]+(\.pt)?$ ]] || [ -d "$1" ]; }; then
        CHECKPOINT="$1"
      else
        PASS+=("$1"); EXTRA+=("$1")
      fi
      shift;;
  esac
done
check_launcher_numbers

pick_python
STATUS=("$PY" "$ROOT/10_scripts/training_status.py")
[ -n "$HOME_DIR" ] && STATUS+=(--home "$HOME_DIR")
[ -n "$MODEL" ] && STATUS+=(--model "$MODEL")

if [ -z "$CHECKPOINT" ] && [ "${#EXTRA[@]}" -gt 0 ]; then
  # e.g. a mistyped name (chekpoint-500): listing and exiting 0 would drop the resume asked for silently
  die "no checkpoint to resume in '${EXTRA[*]}': give checkpoint-N, checkpoint-N.pt or a checkpoint folder" \
      "(./resume_training.sh alone lists them)"
fi
if [ -z "$CHECKPOINT" ]; then
  "${STATUS[@]}" --list_checkpoints
  echo
  echo "Resume one with: ./resume_training.sh checkpoint-N   (./resume_training.sh --help for options)"
  exit 0
fi

LOCATED="$("${STATUS[@]}" --locate "$CHECKPOINT")" || exit 2
MODEL="${LOCATED%%$'\t'*}"
CKPT_PATH="${LOCATED#*$'\t'}"
SCRIPT="$(training_script "$MODEL")"
# New checkpoints go beside the one resumed from (unless --output_dir says otherwise).
[ "$OUTPUT_GIVEN" -eq 1 ] || PASS+=(--output_dir "$(dirname "$CKPT_PATH")")

plan_devices  # GPUS, NPROC, DEVICES, OMP_NUM_THREADS and TORCHRUN

note "Resuming the '$MODEL' model from $CKPT_PATH on $DEVICES."
export LONDON_LLM_LAUNCHER=resume_training.sh  # the stop message names ./resume_training.sh
CMD=("${TORCHRUN[@]}" "$SCRIPT" --model "$MODEL" --resume_from_checkpoint "$CKPT_PATH" "${PASS[@]}")
note "${CMD[*]}"
if [ "$DRY_RUN" -eq 1 ]; then exit 0; fi
[ -f "$SCRIPT" ] || die "$SCRIPT is missing: this checkout is incomplete (git status)"
exec "${CMD[@]}"
