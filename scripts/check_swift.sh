#!/usr/bin/env bash
# CI check of the Swift side without a Swift toolchain:
#  1. the Swift bindings committed under ios/ match what the current Rust code generates
#     (fails when stale: run scripts/gen_bindings.sh and commit);
#  2. every .swift file under ios/ (generated and hand-written, Package.swift included) parses
#     with a real Swift grammar (tree-sitter-swift, in a throwaway venv): any ERROR or MISSING
#     node fails;
#  3. the generated C header compiles with the C compiler, alone and included from a C file.
# Ends with "swift-check: N passed, M failed".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. Staleness.
scripts/gen_bindings.sh "$tmp/gen" 2>/dev/null
for f in Sources/VeilFFI/VeilFFI.swift Headers/veil_ffiFFI.h Headers/module.modulemap; do
  if [ ! -f "ios/$f" ]; then
    fail "ios/$f is missing: run scripts/gen_bindings.sh and commit"
  elif diff -u "ios/$f" "$tmp/gen/$f" >"$tmp/diff" 2>&1; then
    ok "ios/$f is up to date"
  else
    fail "ios/$f is stale: run scripts/gen_bindings.sh and commit"
    head -n 40 "$tmp/diff"
  fi
done

# 2. Swift syntax, with tree-sitter-swift from PyPI in a throwaway venv (cached under target/).
venv="$root/target/swift-check-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import tree_sitter, tree_sitter_swift" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "tree-sitter==0.25.2" "tree-sitter-swift==0.7.4"
fi
mapfile -t swift_files < <(find ios -name '*.swift' -not -path '*/.build/*' | sort)
if [ "${#swift_files[@]}" -eq 0 ]; then
  fail "no Swift files under ios/"
fi
while IFS= read -r line; do
  case "$line" in
    "ok "*) ok "${line#ok }" ;;
    *) fail "${line#fail }" ;;
  esac
done < <("$venv/bin/python" - "${swift_files[@]}" <<'PY'
import re
import sys
import tree_sitter
import tree_sitter_swift

parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))

# The Swift compiler resolves `#if swift(>=X)` / `#if compiler(>=X)` before it parses what they
# guard, so they may wrap a lone attribute (UniFFI's `@_documentation`), which tree-sitter-swift
# cannot parse. Resolve them as Swift 5.9 and Swift 6.0 compilers would, and parse both results;
# every other `#if` is left for the grammar. Removed lines become blank: line numbers hold.
VERSION_IF = re.compile(r"^\s*#(if|elseif)\s+(swift|compiler)\s*\(\s*(>=|<)\s*([0-9.]+)\s*\)\s*$")

def version(text):
    return tuple(int(p) for p in text.split("."))

def resolve(source, compiler):
    out, stack = [], []  # stack of [kind, taken, active]; kind "ver" or "other"
    for line in source.split("\n"):
        stripped = line.strip()
        active = all(frame[2] for frame in stack)
        m = VERSION_IF.match(line)
        if m and m.group(1) == "if":
            cond = (compiler >= version(m.group(4))) == (m.group(3) == ">=")
            stack.append(["ver", cond, cond])
            out.append("")
        elif m and stack and stack[-1][0] == "ver":
            cond = (compiler >= version(m.group(4))) == (m.group(3) == ">=")
            frame = stack[-1]
            frame[2] = cond and not frame[1]
            frame[1] = frame[1] or cond
            out.append("")
        elif stripped.startswith("#if"):
            stack.append(["other", True, True])
            out.append(line if active else "")
        elif stripped.startswith("#else") and stack and stack[-1][0] == "ver":
            frame = stack[-1]
            frame[2] = not frame[1]
            frame[1] = True
            out.append("")
        elif stripped.startswith("#endif") and stack:
            frame = stack.pop()
            out.append("" if frame[0] == "ver" or not active else line)
        else:
            out.append(line if active else "")
    return "\n".join(out)

def problems(node, out):
    if node.is_error or node.is_missing:
        kind = "missing " + node.type if node.is_missing else "syntax error"
        out.append(f"{kind} at line {node.start_point[0] + 1}, column {node.start_point[1] + 1}")
    if node.has_error:
        for child in node.children:
            problems(child, out)
    return out

for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        source = f.read()
    found = []
    for compiler in [(5, 9), (6, 0)]:
        tree = parser.parse(resolve(source, compiler).encode("utf-8"))
        found += [f"Swift {compiler[0]}.{compiler[1]}: {p}" for p in problems(tree.root_node, [])]
    if found:
        print(f"fail {path} does not parse as Swift: " + "; ".join(found[:5]))
    else:
        print(f"ok {path} parses as Swift (as Swift 5.9 and 6.0)")
PY
)

# 3. The C header, with the C compiler: clang when there is one (Xcode compiles the header with
# clang); otherwise cc, with clang's nullability qualifiers (_Nonnull, _Nullable), which GCC does
# not know, defined away.
header_dir="$root/ios/Headers"
if [ -n "${CC:-}" ]; then
  cc="$CC"
elif command -v clang >/dev/null 2>&1; then
  cc=clang
else
  cc=cc
fi
cflags=(-std=c11 -Wall -Wextra -Werror)
if ! "$cc" --version 2>/dev/null | grep -qi clang; then
  cflags+=(-D_Nonnull= -D_Nullable= -D_Null_unspecified=)
fi
# Alone (errors fail; GCC always warns about `#pragma once` in a main file, so no -Werror here).
if "$cc" -std=c11 -Wall -Wextra "${cflags[@]:4}" -fsyntax-only -x c "$header_dir/veil_ffiFFI.h" 2>"$tmp/cc.log"; then
  ok "ios/Headers/veil_ffiFFI.h compiles with $cc"
else
  fail "ios/Headers/veil_ffiFFI.h does not compile:"; head -n 20 "$tmp/cc.log"
fi
# Included, twice (the include guard must hold), with warnings as errors.
cat >"$tmp/use_header.c" <<'C'
#include "veil_ffiFFI.h"
#include "veil_ffiFFI.h"
#include <stddef.h>
/* Take the address of one scaffolding function so the declarations are used for real. */
int main(void) {
    void (*free_buffer)(RustBuffer, RustCallStatus *) = ffi_veil_ffi_rustbuffer_free;
    return free_buffer == NULL;
}
C
if "$cc" "${cflags[@]}" -I"$header_dir" -c "$tmp/use_header.c" -o "$tmp/use_header.o" 2>"$tmp/cc2.log"; then
  ok "a C file including veil_ffiFFI.h compiles"
else
  fail "a C file including veil_ffiFFI.h does not compile:"; head -n 20 "$tmp/cc2.log"
fi

echo "swift-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
