#!/usr/bin/env bash
# Install everything tophash needs from Debian's archive. Idempotent: a
# second run only checks. Called by the make targets that need it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=kernel.env
. "$here/kernel.env"
# shellcheck source=lib-apt.sh
. "$here/lib-apt.sh"

pkgs=(make gcc libc6-dev qemu-system-x86 busybox-static cpio xz-utils kmod
      clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev sparse perl
      liburcu-dev libclang-rt-14-dev
      "linux-headers-$KABI-amd64=$KPKGVER" "linux-headers-$KABI-common=$KPKGVER"
      "linux-kbuild-6.1")

apt_ensure deps "${pkgs[@]}"
test -d "/usr/src/linux-headers-$KABI-amd64" || { echo "deps: headers missing" >&2; exit 1; }
