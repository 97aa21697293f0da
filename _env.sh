# Sourced by run.sh and test.sh: make sure the project's virtual environment exists and is current.
# Creates helloLondon/ (or $LONDON_LLM_VENV) on first use and reinstalls when requirements.txt changes;
# the project itself is installed in editable mode (pip install -e . --no-deps), so london_llm imports
# from anywhere without patching sys.path.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LONDON_LLM_VENV:-$ROOT/helloLondon}"
PY="$VENV/bin/python"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$PY" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Setting up $VENV from requirements.txt ..." >&2
  python3 "$ROOT/01_environment/setup_environment.py" --env_dir "$VENV" --requirements "$ROOT/requirements.txt" >&2
  echo "$want" > "$stamp"
elif ! "$PY" -c 'import importlib.metadata as m; m.distribution("london-llm")' 2>/dev/null; then
  # An environment made before the project was installable: add the project alone, keeping the pins
  # it has (a shared environment already pointing at another checkout is left as it is).
  echo "Installing $ROOT into $VENV in editable mode ..." >&2
  "$PY" -m pip install -q --no-deps --no-build-isolation -e "$ROOT" >&2 \
    || "$PY" -m pip install -q --no-deps -e "$ROOT" >&2  # no setuptools of its own: pip's build environment
fi
