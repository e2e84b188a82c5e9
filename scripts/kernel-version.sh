#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Print the one line that says which Debian kernel this tree uses, from the
# choice scripts/deps.sh recorded. make demo, make check and make bench
# print it first; bench/RESULTS.md carries it.
# Usage: kernel-version.sh [BUILD/kernel.env]
set -eu
env=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/kernel.env}
[ -f "$env" ] || { echo "kernel: not chosen yet (run make deps)" >&2; exit 1; }
# shellcheck source=/dev/null
. "$env"
echo "kernel: Debian linux-image-$KABI-amd64 $KPKGVER ($KNOTE)"
