#!/usr/bin/env bash
# Hostile input against the real hub: the hand-written cases of tools/lib/hostile.py, then
# schemathesis driven by Protocol/openapi.yaml. Installs schemathesis (4.x, PyPI) into a venv at
# .build/hostile-venv; when that is impossible it warns and runs the hand-written cases only.
#   bash tools/lib/hostile.sh BIN_DIR            # short run (well under 90 s after the first install)
#   HOSTILE_LONG=1 bash tools/lib/hostile.sh BIN_DIR   # long run: thousands of schemathesis requests
#   HOSTILE_COUNT=N                              # schemathesis examples per operation (overrides both)
#   HOSTILE_KEEP=1                               # keep the temporary directory (hub log, schemathesis output)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
BIN_DIR="${1:-$ROOT/.build/debug}"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.build/hostile-venv"

ensure_schemathesis() {
  local have='import sys, schemathesis; sys.exit(int(schemathesis.__version__.split(".")[0]) != 4)'
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$have" >/dev/null 2>&1; then
    return 0
  fi
  log "installing schemathesis (4.x) into $VENV"
  if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    echo "hostile.sh: WARNING: cannot create a venv ($PYTHON -m venv; Debian: apt-get install python3-venv)" >&2
    return 1
  fi
  local out
  if ! out=$("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5' 2>&1); then
    echo "hostile.sh: WARNING: pip install schemathesis failed: $(tail -n 3 <<<"$out")" >&2
    return 1
  fi
  "$VENV/bin/python" -c "$have" >/dev/null 2>&1
}

if [ "${HOSTILE_LONG:-}" = 1 ]; then count="${HOSTILE_COUNT:-300}"; else count="${HOSTILE_COUNT:-20}"; fi
args=("$BIN_DIR" --count "$count")
if ensure_schemathesis; then
  args+=(--schemathesis "$VENV/bin/schemathesis")
else
  echo "hostile.sh: WARNING: schemathesis is not available; running the hand-written cases only" >&2
  args+=(--no-schemathesis)
fi
"$PYTHON" "$ROOT/tools/lib/hostile.py" "${args[@]}"
