#!/usr/bin/env bash
# Build the guest's base initramfs: busybox, /init, the module, our tools,
# the kselftests, bpftool, and every shared library they load.
# Usage: mkinitramfs.sh OUT.cpio.gz FILE:DEST...
set -euo pipefail
out=${1:?usage: mkinitramfs.sh OUT FILE:DEST...}
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# mktemp -d makes the root 0700: unprivileged test users must reach /opt
chmod 755 "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,lib,lib64,usr/bin,usr/sbin,opt/tophash}
cp /bin/busybox "$root/bin/busybox"
cp "$here/../guest/init.sh" "$root/init"
chmod 755 "$root/init"

# copy a binary and the libraries ldd says it loads
add_bin() {
	local src=$1 dst=$2 lib
	mkdir -p "$root/$(dirname "$dst")"
	cp -L "$src" "$root/$dst"
	{ ldd "$src" 2>/dev/null || true; } | { grep -oE '/[^ ]+\.so[^ ]*' || true; } | while read -r lib; do
		mkdir -p "$root/$(dirname "$lib")"
		cp -Ln "$lib" "$root/$lib"
	done
}

for spec in "$@"; do
	src=${spec%%:*}
	dst=${spec#*:}
	if [ -x "$src" ] && [ ! -d "$src" ]; then
		add_bin "$src" "$dst"
	else
		mkdir -p "$root/$(dirname "$dst")"
		cp -L "$src" "$root/$dst"
	fi
done

# bpftool: Debian's /usr/sbin/bpftool may be a wrapper that picks a versioned
# binary; take the real ELF.
bt=$(command -v bpftool || true)
if [ -n "$bt" ]; then
	real=$bt
	head -c 4 "$bt" | grep -q ELF || real=$(ls /usr/lib/linux-tools-*/bpftool /usr/lib/linux-tools/*/bpftool 2>/dev/null | head -n 1)
	[ -n "$real" ] && add_bin "$real" /usr/sbin/bpftool
fi

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
