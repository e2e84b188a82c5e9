#!/usr/bin/env bash
# What `make bench-native` needs beyond scripts/deps.sh (make check does not
# need these): Go's classic map (Debian's golang-go, Go 1.19), abseil's
# flat_hash_map (libabsl-dev) and a C++ compiler for it. Idempotent: a
# second run only checks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-apt.sh
. "$here/lib-apt.sh"

pkgs=(golang-go libabsl-dev g++ pkg-config liburcu-dev gcc make python3)

apt_ensure bench-deps "${pkgs[@]}"
command -v go >/dev/null || { echo "bench-deps: go missing" >&2; exit 1; }
pkg-config --exists absl_raw_hash_set absl_hash || { echo "bench-deps: abseil missing" >&2; exit 1; }
