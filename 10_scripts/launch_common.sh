# Sourced by launch_training.sh and resume_training.sh (repository root): the project's python,
# the device count, and the torchrun command line. Expects ROOT to be the repository root.

die() { echo "ERROR: $*" >&2; exit 2; }
note() { echo "[$(basename "$0")] $*" >&2; }

# The options both launchers share (model, devices, multi-node, dry run, artifact root). Reads "$@",
# sets MODEL NPROC NNODES NODE_RANK RDZV_ENDPOINT DRY_RUN HOME_DIR (and PASS for --home), and sets
# CONSUMED to how many words it took: 0 when "$1" is not one of these options.
take_launcher_option() {
  CONSUMED=0
  local value="${2-}" has_value=$(( $# >= 2 ))
  case "$1" in
    --model|--nproc_per_node|--nproc-per-node|--nnodes|--node_rank|--node-rank|--rdzv_endpoint|--rdzv-endpoint|--home)
      [ "$has_value" -eq 1 ] || die "$1 needs a value (see --help)"
      CONSUMED=2;;
    --*=*) value="${1#*=}"; CONSUMED=1;;
  esac
  case "$1" in
    --model|--model=*) MODEL="$value";;
    --nproc_per_node|--nproc-per-node|--nproc_per_node=*|--nproc-per-node=*) NPROC="$value";;
    --nnodes|--nnodes=*) NNODES="$value";;
    --node_rank|--node-rank|--node_rank=*|--node-rank=*) NODE_RANK="$value";;
    --rdzv_endpoint|--rdzv-endpoint|--rdzv_endpoint=*|--rdzv-endpoint=*) RDZV_ENDPOINT="$value";;
    --home|--home=*) HOME_DIR="$value"; PASS+=("${@:1:$CONSUMED}");;
    --dry_run|--dry-run) DRY_RUN=1; CONSUMED=1;;
    *) CONSUMED=0;;
  esac
}

check_launcher_numbers() {
  for n in "${NPROC:-1}" "$NNODES" "${NODE_RANK:-0}"; do
    case "$n" in ''|*[!0-9]*) die "--nproc_per_node, --nnodes and --node_rank take whole numbers, not '$n'";; esac
  done
}

# The project's environment: $LONDON_LLM_PYTHON, else $LONDON_LLM_VENV/bin/python (the environment
# run.sh made there), else helloLondon/ (what run.sh creates by default), else .venv/, else python3
# from PATH. torchrun is then 10_scripts/torchrun_launch.py (torch's own launcher) run by that same
# interpreter, so it can never pick up another environment's torch.
pick_python() {
  if [ -n "${LONDON_LLM_PYTHON:-}" ]; then
    [ -x "$LONDON_LLM_PYTHON" ] || die "LONDON_LLM_PYTHON=$LONDON_LLM_PYTHON is not an executable; unset it or point it at the project's python"
    PY="$LONDON_LLM_PYTHON"; return
  fi
  if [ -n "${LONDON_LLM_VENV:-}" ]; then
    [ -x "$LONDON_LLM_VENV/bin/python" ] || die "LONDON_LLM_VENV=$LONDON_LLM_VENV has no bin/python: run ./run.sh once" \
      "(it creates the environment there), or unset LONDON_LLM_VENV"
    PY="$LONDON_LLM_VENV/bin/python"; return
  fi
  local candidate
  for candidate in "$ROOT/helloLondon/bin/python" "$ROOT/.venv/bin/python"; do
    if [ -x "$candidate" ]; then PY="$candidate"; return; fi
  done
  PY="$(command -v python3 || true)"
  [ -n "$PY" ] || die "no python found: run ./run.sh once (it creates helloLondon/), or set LONDON_LLM_PYTHON"
  "$PY" -c "import torch" 2>/dev/null \
    || die "$PY cannot import torch: run ./run.sh once to create helloLondon/, or set LONDON_LLM_PYTHON"
}

# GPUs the training will really use. torch decides (it honours CUDA_VISIBLE_DEVICES); nvidia-smi
# only explains a mismatch such as a CPU build of torch on a GPU machine.
count_gpus() {
  local smi=0 torch_n
  if command -v nvidia-smi >/dev/null 2>&1; then
    smi="$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | grep -c . || true)"
  elif ! compgen -G "/dev/nvidia[0-9]*" >/dev/null && [ ! -e /dev/kfd ]; then
    echo 0; return  # no GPU device nodes at all: spare the seconds importing torch takes
  fi
  torch_n="$("$PY" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null | tail -n 1)" || torch_n=""
  case "$torch_n" in ''|*[!0-9]*) echo "${smi:-0}"; return;; esac
  if [ "${smi:-0}" -gt 0 ] && [ "$torch_n" -eq 0 ]; then
    note "WARNING: nvidia-smi lists $smi GPU(s) but torch sees none (a CPU build of torch, or a driver" \
         "mismatch: check \`$PY -c 'import torch; print(torch.version.cuda)'\`). Training on the CPU."
  fi
  echo "$torch_n"
}

# The training script for a model: regular is train_model.py, slm and tiny train_model_slm.py.
training_script() {
  case "$1" in
    regular) echo "$ROOT/04_training/train_model.py";;
    slm|tiny) echo "$ROOT/04_training/train_model_slm.py";;
    *) die "unknown --model '$1': choose slm, regular or tiny";;
  esac
}

# Fills TORCHRUN (an array) for NPROC processes on this node. Multi-node when NNODES > 1: every
# node runs the same command; without NODE_RANK a c10d rendezvous at RDZV_ENDPOINT numbers the
# nodes itself, with NODE_RANK the static rendezvous uses it (node 0 must then be RDZV_ENDPOINT's
# host, since it serves the store there); torchrun ignores --node_rank under c10d.
#
# On SIGTERM/SIGHUP/Ctrl-C torchrun passes the signal on and SIGKILLs workers still alive after
# --shutdown_timeout (30 s by default): too short for a regular-size checkpoint on a slow disk, so
# the workers get $LONDON_LLM_SHUTDOWN_TIMEOUT seconds (default 120) to finish the step and save.
# 10_scripts/torchrun_launch.py is torch's torchrun with a plain ending: a worker's exit status 2
# (one ERROR line from rank 0) is passed on without torchrun's ChildFailedError report, and a stop
# signal ends with one line instead of a SignalException traceback.
torchrun_command() {
  TORCHRUN=("$PY" "$ROOT/10_scripts/torchrun_launch.py" --nproc_per_node="$NPROC"
            --shutdown_timeout="${LONDON_LLM_SHUTDOWN_TIMEOUT:-120}")
  if [ "${NNODES:-1}" -gt 1 ]; then
    [ -n "${RDZV_ENDPOINT:-}" ] || die "--nnodes $NNODES needs --rdzv_endpoint HOST:PORT (the first node's address)"
    TORCHRUN+=(--nnodes="$NNODES")
    if [ -n "${NODE_RANK:-}" ]; then
      [ "$NODE_RANK" -lt "$NNODES" ] || die "--node_rank $NODE_RANK must be below --nnodes $NNODES"
      TORCHRUN+=(--rdzv_backend=static --rdzv_endpoint="$RDZV_ENDPOINT" --node_rank="$NODE_RANK")
    else
      TORCHRUN+=(--rdzv_backend=c10d --rdzv_endpoint="$RDZV_ENDPOINT" --rdzv_id="${RDZV_ID:-london_llm}")
    fi
  else
    TORCHRUN+=(--standalone)
  fi
}

# CPU runs: give each process an equal share of the cores (torchrun would set 1 thread each).
cpu_threads() {
  if [ "$GPUS" -eq 0 ] && [ -z "${OMP_NUM_THREADS:-}" ]; then
    local cores; cores="$(nproc 2>/dev/null || echo 1)"
    export OMP_NUM_THREADS=$(( cores / NPROC > 0 ? cores / NPROC : 1 ))
  fi
}

# Where a model's checkpoints go, from config.py (the same rule the training scripts use).
checkpoint_dir_of() {  # MODEL HOME (HOME may be empty: $LONDON_LLM_HOME or the repository)
  "$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import config
print(config.paths(sys.argv[3] or None).checkpoint_dir(sys.argv[2]))' "$ROOT" "$1" "$2"
}

# One process per GPU (or NPROC if given, at most the GPUs), else NPROC CPU processes (default 1).
plan_devices() {
  GPUS="$(count_gpus)"
  if [ -z "$NPROC" ]; then NPROC=$(( GPUS > 0 ? GPUS : 1 )); fi
  [ "$NPROC" -gt 0 ] || die "--nproc_per_node must be at least 1"
  if [ "$GPUS" -gt 0 ]; then
    [ "$NPROC" -le "$GPUS" ] || die "--nproc_per_node $NPROC but torch sees $GPUS GPU(s): one process per GPU"
    DEVICES="$NPROC GPU process(es) (NCCL)"
  else
    DEVICES="$NPROC CPU process(es) (gloo)"
  fi
  if [ "$NNODES" -gt 1 ]; then DEVICES="$DEVICES on each of $NNODES nodes"; fi
  cpu_threads
  torchrun_command
}
