#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch (not install) the chosen Debian kernel image and linux-source-6.1
# of the same version. The source tarball is kept once per version in the
# shared cache ($TOPHASH_KCACHE, default /var/cache/tophash/src/), where
# scripts/build-debug-kernel.sh unpacks it too; from it, CACHE_DIR gets the
# parts the tree uses directly: the kselftest headers and checkpatch.pl.
# Usage: KABI=... KPKGVER=... fetch-kernel.sh CACHE_DIR
#   (scripts/deps.sh passes the version scripts/resolve-kernel.sh chose)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${KABI:?KABI unset: run make deps}" "${KPKGVER:?KPKGVER unset: run make deps}"
# shellcheck source=lib-apt.sh
. "$here/lib-apt.sh"
cache=${1:?usage: fetch-kernel.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# download PKG VERSION DIR: the .deb into DIR (empty of other .debs)
download() {
	local pkg=$1 ver=$2 dir=$3
	rm -f "$dir/${pkg}"_*.deb
	(cd "$dir" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
		{ apt_update_once 1 && (cd "$dir" && apt-get download -q "$pkg=$ver" >/dev/null); } ||
		{ apt_unavailable_hint fetch-kernel "$pkg=$ver"; exit 1; }
}

img=linux-image-$KABI-amd64-unsigned
vmlinuz=$cache/vmlinuz-$KABI-amd64
if [ ! -f "$vmlinuz" ]; then
	echo "fetch-kernel: downloading $img $KPKGVER (about 65 MB)" >&2
	download "$img" "$KPKGVER" "$cache"
	dpkg-deb --fsys-tarfile "$cache/${img}"_*.deb |
		tar -xO "./boot/vmlinuz-$KABI-amd64" > "$vmlinuz.tmp"
	mv "$vmlinuz.tmp" "$vmlinuz"
	rm -f "$cache/${img}"_*.deb
fi

srcdir=${TOPHASH_KCACHE:-/var/cache/tophash}/src
tarball=$srcdir/linux-source-$KPKGVER.tar.xz
mkdir -p "$srcdir"
if [ ! -f "$tarball" ]; then
	echo "fetch-kernel: downloading linux-source-6.1 $KPKGVER (about 140 MB, once)" >&2
	exec 9>"$srcdir/.lock"
	flock 9
	if [ ! -f "$tarball" ]; then
		tmp=$(mktemp -d "$srcdir/.dl-XXXX")
		trap 'rm -rf "$tmp"' EXIT
		download linux-source-6.1 "$KPKGVER" "$tmp"
		dpkg-deb --fsys-tarfile "$tmp"/linux-source-6.1_*.deb |
			tar -xO ./usr/src/linux-source-6.1.tar.xz > "$tmp/src.tar.xz"
		mv "$tmp/src.tar.xz" "$tarball"
	fi
	exec 9>&-
fi

ksrc=$cache/ksrc-$KPKGVER
if [ ! -f "$ksrc/.done" ]; then
	echo "fetch-kernel: unpacking the kselftest headers and checkpatch.pl" >&2
	rm -rf "$ksrc"
	mkdir -p "$ksrc"
	xz -dc "$tarball" | tar -x -C "$ksrc" --strip-components=1 \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch "$ksrc/.done"
fi
