#!/usr/bin/env bash
# The SDK has no network code: fail if an HTTP/TLS/socket client crate enters the dependency
# tree of veil-core or veil-ffi.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
banned='^(reqwest|hyper|hyper-util|ureq|curl|curl-sys|attohttpc|isahc|surf|h2|native-tls|openssl|rustls|tokio|async-std|mio|socket2) '
found="$(cargo tree -p veil-core -p veil-ffi -e normal --prefix none | grep -E "$banned" | sort -u || true)"
if [[ -n "$found" ]]; then
  echo "no-network: these crates must not be in the SDK's dependency tree:" >&2
  echo "$found" >&2
  exit 1
fi
echo "no-network: veil-core and veil-ffi have no network crates"
