#!/usr/bin/env bash
# Builds ios/VeilFFI.xcframework (static libraries plus the generated header and module map) on
# a Mac with Xcode and Rust:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin
#   ios/build-xcframework.sh && (cd ios && swift test)
# `swift test` runs the XCTest suite on macOS with the real model (VEIL_MODEL or models/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
profile="${PROFILE:-release}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

# Keep the committed bindings in step with the code being packaged.
scripts/gen_bindings.sh

for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin; do
  cargo build -p veil-ffi --lib --profile "$profile" --target "$t"
done
lib() { echo "$target_dir/$1/$profile/libveil_ffi.a"; }

out="$target_dir/xcframework"
rm -rf "$out" "$here/VeilFFI.xcframework"
mkdir -p "$out/ios-sim" "$out/macos"
# One fat library per platform: the simulator and macOS each have two architectures.
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$out/ios-sim/libveil_ffi.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$out/macos/libveil_ffi.a"

xcodebuild -create-xcframework \
  -library "$(lib aarch64-apple-ios)" -headers "$here/Headers" \
  -library "$out/ios-sim/libveil_ffi.a" -headers "$here/Headers" \
  -library "$out/macos/libveil_ffi.a" -headers "$here/Headers" \
  -output "$here/VeilFFI.xcframework"
echo "built $here/VeilFFI.xcframework"
