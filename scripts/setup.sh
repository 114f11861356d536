# Sourced by scripts/demo and scripts/test: create or reuse .venv and install supplyfit into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SUPPLYFIT_VENV:-$ROOT/.venv}"
EXTRAS="${1:-}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtualenv $VENV" >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
STAMP="$VENV/.supplyfit-installed$EXTRAS"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "installing supplyfit$EXTRAS into $VENV" >&2
  "$VENV/bin/python" -m pip install -q -e "$ROOT$EXTRAS"
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export OMP_WAIT_POLICY=PASSIVE
