# Sourced by run.sh and test.sh: make sure the project's virtual environment exists and is current.
# Creates helloLondon/ (or $LONDON_LLM_VENV) on first use and reinstalls when requirements.txt changes.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LONDON_LLM_VENV:-$ROOT/helloLondon}"
PY="$VENV/bin/python"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$PY" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Setting up $VENV from requirements.txt ..." >&2
  python3 "$ROOT/01_environment/setup_environment.py" --env_dir "$VENV" --requirements "$ROOT/requirements.txt" >&2
  echo "$want" > "$stamp"
fi
