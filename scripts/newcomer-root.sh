#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run make targets as a newcomer would: in a fresh Debian 12 minbase root
# (debootstrap) with bookworm, bookworm-updates and bookworm-security in its
# sources and only make, git and gcc installed, on a clean clone of this
# repository's HEAD (committed work only). Each target is timed; the times
# and the kernel each run used go to DIR/times.txt. Not part of make check:
# run it by hand before calling a set-up change done.
#
# Usage: newcomer-root.sh [-k KABI:KPKGVER] [-s SUITES] DIR [TARGET...]
#   DIR      the root to make (must not exist; about 6 GB once make check ran)
#   TARGET   make targets, run one after the other (default: demo check)
#   -k       edit the clone's scripts/kernel.env to this pin first, e.g. a
#            version the archive no longer has
#   -s       the suites of the root's sources (default: all three)
set -euo pipefail
pin= suites="bookworm bookworm-updates bookworm-security"
while getopts "k:s:" o; do
	case $o in
	k) pin=$OPTARG ;;
	s) suites=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
dir=${1:?usage: newcomer-root.sh [-k KABI:KPKGVER] [-s SUITES] DIR [TARGET...]}
shift
targets=("$@")
[ $# -gt 0 ] || targets=(demo check)
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
[ ! -e "$dir" ] || { echo "newcomer-root: $dir exists; give a new directory" >&2; exit 1; }
command -v debootstrap >/dev/null ||
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }

echo "newcomer-root: debootstrap --variant=minbase bookworm $dir" >&2
debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$dir.debootstrap.log" 2>&1 ||
	{ tail -n 20 "$dir.debootstrap.log" >&2; exit 1; }
: >"$dir/etc/apt/sources.list"
for s in $suites; do
	case $s in
	*-security) echo "deb http://deb.debian.org/debian-security $s main" ;;
	*) echo "deb http://deb.debian.org/debian $s main" ;;
	esac >>"$dir/etc/apt/sources.list"
done

mounted=()
cleanup() {
	local m
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc sys dev dev/pts; do
	mkdir -p "$dir/$m"
	case $m in
	proc) mount -t proc proc "$dir/proc" ;;
	sys) mount -t sysfs sysfs "$dir/sys" ;;
	*) mount --bind "/$m" "$dir/$m" ;;
	esac
	mounted+=("$dir/$m")
done
cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true

git clone -q "$repo" "$dir/root/tophash"
if [ -n "$pin" ]; then
	sed -i -e "s/^KABI=.*/KABI=${pin%%:*}/" -e "s/^KPKGVER=.*/KPKGVER=${pin#*:}/" \
		"$dir/root/tophash/scripts/kernel.env"
fi

in_root() { chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"; }
in_root 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make git gcc >/dev/null'

times=$dir.times.txt
echo "newcomer-root: $(git -C "$repo" log -1 --format='%h %s' | cut -c1-80)${pin:+, pin edited to $pin}, suites: $suites" >"$times"
rc=0
for t in "${targets[@]}"; do
	start=$(date +%s)
	echo "newcomer-root: make $t (log: $dir.$t.log)" >&2
	in_root "cd /root/tophash && make $t" >"$dir.$t.log" 2>&1 || rc=$?
	secs=$(($(date +%s) - start))
	kern=$(grep -m1 '^kernel: ' "$dir.$t.log" || echo 'kernel: ?')
	last=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$dir.$t.log" | tail -n 1 || true)
	printf 'make %s: exit %d in %d min %d s; %s%s\n' "$t" "$rc" $((secs / 60)) $((secs % 60)) \
		"$kern" "${last:+; $last}" | tee -a "$times" >&2
	[ "$rc" -eq 0 ] || break
done
exit "$rc"
