# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Every Debian package each make target needs, in one place. Sourced by
# scripts/deps.sh, which installs the groups a target names:
#
#   make all, make demo, make shell   build
#   make check                        build check debug-kernel
#   make bench, make bench-native     build bench
#   make deps                         all of them
#
# The list is what a fresh `debootstrap --variant=minbase bookworm` root
# with make, git and gcc lacks (minbase has no python3, xz-utils, cpio,
# kmod, ...), found by running the targets in such a root. The Debian
# kernel itself (linux-headers-<abi>-amd64 and -common at the chosen
# version) is added by deps.sh once scripts/resolve-kernel.sh chose it.

# Build the module, thctl, slotreuse (clang -target bpf, bpftool gen
# skeleton, libbpf), the kselftests, the initramfs; boot QEMU.
pkgs_build=(make gcc libc6-dev qemu-system-x86
	busybox-static cpio gzip xz-utils kmod clang llvm libbpf-dev bpftool
	libelf-dev zlib1g-dev perl)

# make check beyond the build: checkpatch (perl), sparse, the core in
# userspace under TSan/ASan/libFuzzer (clang's runtimes, liburcu), the
# offline tests of the set-up scripts.
pkgs_check=(sparse liburcu-dev libclang-rt-14-dev python3)

# scripts/build-debug-kernel.sh: a kernel from linux-source-6.1 with BTF
# (pahole from dwarves; tools/bpf/resolve_btfids runs python3), objtool
# (libelf), extract-cert (libssl).
pkgs_debug_kernel=(flex bison bc libssl-dev libelf-dev dwarves python3
	xz-utils gcc make perl)

# make bench: Go's classic map (golang-go is Go 1.19), abseil's
# flat_hash_map (g++, pkg-config), callgrind (valgrind), the result scripts
# (python3), liburcu for the core built natively.
pkgs_bench=(golang-go libabsl-dev g++ pkg-config valgrind python3
	liburcu-dev binutils)

# packages_of GROUP...: the packages of the named groups, one per line
packages_of() {
	local g
	for g in "$@"; do
		case $g in
		build) printf '%s\n' "${pkgs_build[@]}" ;;
		check) printf '%s\n' "${pkgs_check[@]}" ;;
		debug-kernel) printf '%s\n' "${pkgs_debug_kernel[@]}" ;;
		bench) printf '%s\n' "${pkgs_bench[@]}" ;;
		*) echo "packages: unknown group '$g' (build, check, debug-kernel, bench)" >&2; return 2 ;;
		esac
	done
}
