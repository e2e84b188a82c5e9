#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install from Debian's archive what the named make targets need
# (scripts/packages.sh lists every package, by group), and for the build
# group choose the Debian kernel (scripts/resolve-kernel.sh), install its
# headers and fetch its image and sources. Idempotent: a second run only
# checks. Called by the make targets that need it; `make deps` = all.
#
# Usage: deps.sh [-b BUILD_DIR] GROUP...   (build check debug-kernel bench, or all)
# Writes BUILD_DIR/kernel.env (the kernel chosen: KABI, KPKGVER, KCHOICE,
# KNOTE) when the build group is asked for.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
if [ "${1:-}" = -b ]; then
	build=$2
	shift 2
fi
[ $# -gt 0 ] || { echo "usage: deps.sh [-b BUILD_DIR] GROUP... (build check debug-kernel bench all)" >&2; exit 2; }
# shellcheck source=packages.sh
. "$here/packages.sh"
# shellcheck source=lib-apt.sh
. "$here/lib-apt.sh"

groups=("$@")
[ "${groups[*]}" = all ] && groups=(build check debug-kernel bench)
mapfile -t pkgs < <(packages_of "${groups[@]}" | sort -u)
apt_ensure deps "${pkgs[@]}"

case " ${groups[*]} " in
*" build "*) ;;
*) exit 0 ;;
esac

# The kernel: the pin when the archive still has it, else the newest usable
# 6.1 ABI (resolve-kernel.sh explains a fallback on stderr).
cache=$build/cache
mkdir -p "$build"
apt_update_once >/dev/null 2>&1 || true
TOPHASH_FETCH_CACHE=$cache bash "$here/resolve-kernel.sh" --have-local "$build/kernel.env.new"
# shellcheck source=/dev/null
. "$build/kernel.env.new"
apt_ensure deps "linux-headers-$KABI-amd64=$KPKGVER" "linux-headers-$KABI-common=$KPKGVER"
test -d "/usr/src/linux-headers-$KABI-amd64" ||
	{ echo "deps: /usr/src/linux-headers-$KABI-amd64 is missing after the install" >&2; exit 1; }
KABI=$KABI KPKGVER=$KPKGVER bash "$here/fetch-kernel.sh" "$cache"
mv "$build/kernel.env.new" "$build/kernel.env"
bash "$here/kernel-version.sh" "$build/kernel.env"
