#!/usr/bin/env bash
# Fetch (not install) the pinned Debian kernel image and the parts of
# linux-source-6.1 we use: kselftest headers and checkpatch.pl.
# Usage: fetch-kernel.sh CACHE_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.env"
cache=${1:?usage: fetch-kernel.sh CACHE_DIR}
mkdir -p "$cache"
cd "$cache"

img=linux-image-$KABI-amd64-unsigned
if [ ! -f "vmlinuz-$KABI-amd64" ]; then
	rm -f "${img}"_*.deb
	apt-get download -q "$img=$KPKGVER" >/dev/null ||
		{ apt-get update -qq && apt-get download -q "$img=$KPKGVER"; } ||
		{ echo "fetch-kernel: $img=$KPKGVER is not in the archive any more; bump scripts/kernel.env" >&2; exit 1; }
	dpkg-deb --fsys-tarfile "${img}"_*.deb |
		tar -xO "./boot/vmlinuz-$KABI-amd64" > "vmlinuz-$KABI-amd64.tmp"
	mv "vmlinuz-$KABI-amd64.tmp" "vmlinuz-$KABI-amd64"
	rm -f "${img}"_*.deb
fi

src=linux-source-6.1
if [ ! -f ksrc/.done ]; then
	rm -rf ksrc "${src}"_*.deb
	apt-get download -q "$src=$KPKGVER" >/dev/null ||
		{ apt-get update -qq && apt-get download -q "$src=$KPKGVER"; } ||
		{ echo "fetch-kernel: $src=$KPKGVER is not in the archive any more; bump scripts/kernel.env" >&2; exit 1; }
	mkdir -p ksrc
	dpkg-deb --fsys-tarfile "${src}"_*.deb |
		tar -xO ./usr/src/linux-source-6.1.tar.xz |
		xz -dc | tar -x -C ksrc --strip-components=1 \
			linux-source-6.1/tools/testing/selftests/kselftest.h \
			linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
			linux-source-6.1/scripts/checkpatch.pl \
			linux-source-6.1/scripts/spelling.txt \
			linux-source-6.1/scripts/const_structs.checkpatch
	rm -f "${src}"_*.deb
	touch ksrc/.done
fi
