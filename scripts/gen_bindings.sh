#!/usr/bin/env bash
# Regenerates the Swift bindings committed under ios/ (VeilFFI.swift, the C header and the
# module map) from the host-built library with the workspace's own uniffi-bindgen, so iOS
# developers get them without Rust tooling. Kotlin bindings are generated at build time instead
# (tests/kotlin/run.sh, android/veil/build.gradle.kts) and never committed.
#
#   scripts/gen_bindings.sh            write into ios/
#   scripts/gen_bindings.sh OUT_DIR    write the same layout into OUT_DIR (used by check_swift.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dest="${1:-$root/ios}"

target_dir="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}"
case "$(uname -s)" in
  Darwin) lib="libveil_ffi.dylib" ;;
  *) lib="libveil_ffi.so" ;;
esac
cargo build --quiet -p veil-ffi -p uniffi-bindgen

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# --no-format: the output must not depend on whether swiftformat happens to be installed.
"$target_dir/debug/uniffi-bindgen" generate --no-format --library "$target_dir/debug/$lib" \
  --language swift --out-dir "$tmp" >/dev/null

mkdir -p "$dest/Sources/VeilFFI" "$dest/Headers"
cp "$tmp/VeilFFI.swift" "$dest/Sources/VeilFFI/VeilFFI.swift"
cp "$tmp/veil_ffiFFI.h" "$dest/Headers/veil_ffiFFI.h"
# XCFramework header folders need the module map under this exact name.
cp "$tmp/veil_ffiFFI.modulemap" "$dest/Headers/module.modulemap"
echo "generated Swift bindings in $dest" >&2
