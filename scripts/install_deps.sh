#!/usr/bin/env bash
# Installs the system tools the build needs when they are missing: nasm (libjpeg-turbo's x86
# SIMD), cmake and a C compiler (libjpeg-turbo, bundled SQLite). Uses apt-get on Debian/Ubuntu
# and Homebrew on macOS; elsewhere it says what to install.
set -euo pipefail
missing=()
for tool in nasm cmake cc; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "deps: installing ${missing[*]}"
pkgs=()
for tool in "${missing[@]}"; do
  case "$tool" in cc) pkgs+=(build-essential) ;; *) pkgs+=("$tool") ;; esac
done
if command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${pkgs[@]}" >/dev/null
elif command -v brew >/dev/null 2>&1; then
  brew install "${missing[@]/cc/}"
else
  echo "deps: please install ${missing[*]}" >&2
  exit 1
fi
