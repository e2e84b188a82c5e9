#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Choose the Debian 6.1 kernel the VM boots and the module builds against,
# from what the configured apt sources have now.
#
# A kernel is usable when the archive has, at one source version V:
#   linux-headers-<abi>-amd64, linux-headers-<abi>-common,
#   linux-image-<abi>-amd64-unsigned and linux-source-6.1,
# and linux-kbuild-6.1 at V or later (what the headers depend on).
# The pin in scripts/kernel.env (KABI, KPKGVER) is preferred. Debian's
# archive keeps only the newest uploads of a suite, so a pin leaves it
# within weeks; then the newest 6.1 ABI that is usable is taken. A pin
# that left the archive but is already installed and fetched here
# (--have-local) is kept.
#
# Usage: resolve-kernel.sh [--have-local] [OUT]
#   Prints KABI=, KPKGVER=, KCHOICE= (pin | newest) and KNOTE= lines, in
#   shell syntax, on stdout or into OUT; explains a fallback on stderr.
#   Exits 1, naming the packages and the suites, when nothing is usable.
# The offline tests (selftests/setup/) feed it recorded apt-cache answers
# (see lib-apt.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
have_local=0
if [ "${1:-}" = --have-local ]; then
	have_local=1
	shift
fi
out=${1:-}
# shellcheck source=kernel.env
. "${TOPHASH_KERNEL_ENV:-$here/kernel.env}"
pin_abi=$KABI
pin_ver=$KPKGVER

# shellcheck source=lib-apt.sh
. "$here/lib-apt.sh"

# The names of every package that matters, then their madison table.
kernel_names() {
	if [ -n "${TOPHASH_APT_MADISON:-}" ]; then
		cut -d'|' -f1 "$TOPHASH_APT_MADISON" | tr -d ' '
	else
		apt-cache pkgnames linux- 2>/dev/null
	fi | grep -E '^linux-(headers-6\.1\.0-[0-9]+-(amd64|common)|image-6\.1\.0-[0-9]+-amd64-unsigned|source-6\.1|kbuild-6\.1)$' | sort -u
}
# shellcheck disable=SC2046
table=$(apt_table $(kernel_names))
suites=$(apt_suites)

suite_of() { # suite_of PKG VERSION: the suite that carries it, empty if none
	awk -F'|' -v p="$1" -v v="$2" '$1 == p && $2 == v { print $3; exit }' <<<"$table"
}
kbuild_ok() { # linux-kbuild-6.1 at V or later
	local v
	for v in $(awk -F'|' '$1 == "linux-kbuild-6.1" { print $2 }' <<<"$table"); do
		dpkg --compare-versions "$v" ge "$1" && return 0
	done
	return 1
}
# missing_for ABI VERSION: what is missing (nothing when usable)
missing_for() {
	local abi=$1 v=$2 p
	for p in "linux-headers-$abi-amd64" "linux-headers-$abi-common" \
		 "linux-image-$abi-amd64-unsigned" linux-source-6.1; do
		[ -n "$(suite_of "$p" "$v")" ] || printf '%s=%s ' "$p" "$v"
	done
	kbuild_ok "$v" || printf 'linux-kbuild-6.1>=%s ' "$v"
}
local_has_pin() {
	local cache=${TOPHASH_FETCH_CACHE:-}
	[ "$have_local" = 1 ] || return 1
	[ "$(dpkg-query -W -f='${Version}' "linux-headers-$pin_abi-amd64" 2>/dev/null)" = "$pin_ver" ] || return 1
	[ -n "$cache" ] && [ -f "$cache/vmlinuz-$pin_abi-amd64" ] && [ -f "$cache/ksrc-$pin_ver/.done" ]
}

emit() { # emit ABI VERSION CHOICE NOTE
	local text
	text=$(printf 'KABI=%s\nKPKGVER=%s\nKCHOICE=%s\nKNOTE=%q\n' "$1" "$2" "$3" "$4")
	if [ -n "$out" ]; then
		mkdir -p "$(dirname "$out")"
		printf '%s\n' "$text" > "$out.tmp"
		mv "$out.tmp" "$out"
	else
		printf '%s\n' "$text"
	fi
}

pin_missing=$(missing_for "$pin_abi" "$pin_ver")
if [ -z "$pin_missing" ]; then
	emit "$pin_abi" "$pin_ver" pin "the pin in scripts/kernel.env"
	exit 0
fi
if local_has_pin; then
	emit "$pin_abi" "$pin_ver" pin "the pin in scripts/kernel.env (no longer in the archive; installed and fetched here)"
	exit 0
fi

# The newest usable ABI: ABIs by number, newest first; each ABI's versions
# newest first.
best_abi= best_ver=
for abi in $(awk -F'|' '$1 ~ /^linux-headers-6\.1\.0-[0-9]+-amd64$/ {
		sub(/^linux-headers-/, "", $1); sub(/-amd64$/, "", $1); print $1 }' <<<"$table" |
		sort -u -t- -k2,2nr); do
	for v in $(awk -F'|' -v p="linux-headers-$abi-amd64" '$1 == p { print $2 }' <<<"$table" |
			sort -r -V); do
		if [ -z "$(missing_for "$abi" "$v")" ]; then
			best_abi=$abi best_ver=$v
			break 2
		fi
	done
done

why="the pin $pin_abi ($pin_ver) in scripts/kernel.env is not in the configured apt sources (suites: ${suites:-none}); missing: ${pin_missing% }"
hint=
case " $suites " in
*" bookworm-security "*) ;;
*) hint="Debian publishes each new kernel ABI in bookworm-security (it reaches bookworm only at point releases), and your apt sources lack that suite: add 'deb http://deb.debian.org/debian-security bookworm-security main' to /etc/apt/sources.list and run apt-get update." ;;
esac

if [ -z "$best_abi" ]; then
	{
		echo "resolve-kernel: no usable Debian 6.1 kernel in the configured apt sources (suites: ${suites:-none})."
		echo "resolve-kernel: needed, at one version: linux-headers-<abi>-amd64, linux-headers-<abi>-common, linux-image-<abi>-amd64-unsigned, linux-source-6.1, linux-kbuild-6.1; for the pin: ${pin_missing% }"
		[ -z "$hint" ] || echo "resolve-kernel: $hint"
	} >&2
	exit 1
fi
echo "resolve-kernel: $why" >&2
echo "resolve-kernel: using the newest usable ABI instead: $best_abi ($best_ver, from $(suite_of "linux-image-$best_abi-amd64-unsigned" "$best_ver"))" >&2
[ -z "$hint" ] || echo "resolve-kernel: note: $hint" >&2
emit "$best_abi" "$best_ver" newest "the newest usable 6.1 ABI in the archive; $why"
