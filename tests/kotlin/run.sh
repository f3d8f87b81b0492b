#!/usr/bin/env bash
# Host-JVM tests of the Kotlin SDK: builds the debug cdylib, generates the Kotlin bindings with
# the workspace's uniffi-bindgen (never committed), then runs the JUnit tests with Maven, which
# load the real library through JNA and drive the real model.
# Needs only Java 17+, Maven and Rust; Maven downloads its dependencies on the first run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

target_dir="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}"
case "$(uname -s)" in
  Darwin) lib="libveil_ffi.dylib" ;;
  *) lib="libveil_ffi.so" ;;
esac

echo "kotlin: building veil-ffi and uniffi-bindgen" >&2
cargo build --quiet -p veil-ffi -p uniffi-bindgen

out="$here/target/generated-sources/uniffi"
rm -rf "$out"
mkdir -p "$out"
"$target_dir/debug/uniffi-bindgen" generate --no-format --library "$target_dir/debug/$lib" \
  --language kotlin --out-dir "$out" >/dev/null

model="${VEIL_MODEL:-$root/models/open-nsfw.onnx}"
[ -f "$model" ] || { echo "kotlin: model $model is missing: run 'make setup' or set VEIL_MODEL" >&2; exit 1; }

echo "kotlin: running JUnit tests (mvn test)" >&2
log="$here/target/mvn-test.log"
set +e
(cd "$here" && mvn -B -ntp -Dstyle.color=never \
  -Dveil.lib.dir="$target_dir/debug" -Dveil.model="$model" -Dveil.fixtures="$root/tests/fixtures" \
  test) >"$log" 2>&1
rc=$?
set -e
# Quiet: only Surefire's results and failures; the whole log on failure.
grep -E "Tests run:|FAIL|ERROR\]|BUILD (SUCCESS|FAILURE)" "$log" | grep -v "^\[INFO\] *$" || true
if [ $rc -ne 0 ]; then
  echo "kotlin: mvn test failed (exit $rc); last lines of $log:" >&2
  tail -n 80 "$log" >&2
fi
exit $rc
