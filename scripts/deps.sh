#!/usr/bin/env bash
# Install everything tophash needs from Debian's archive. Idempotent: a
# second run only checks. Called by the make targets that need it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=kernel.env
. "$here/kernel.env"

pkgs=(make gcc libc6-dev qemu-system-x86 busybox-static cpio xz-utils kmod
      clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev sparse perl
      liburcu-dev libclang-rt-14-dev
      "linux-headers-$KABI-amd64=$KPKGVER" "linux-headers-$KABI-common=$KPKGVER"
      "linux-kbuild-6.1")

missing=()
for p in "${pkgs[@]}"; do
	name=${p%%=*}
	want=${p#*=}
	have=$(dpkg-query -W -f='${db:Status-Abbrev}|${Version}' "$name" 2>/dev/null || true)
	case "$have" in
	ii*) [[ "$p" != *=* || "${have#*|}" == "$want" ]] && continue ;;
	esac
	missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
test -d "/usr/src/linux-headers-$KABI-amd64" || { echo "deps: headers missing" >&2; exit 1; }
