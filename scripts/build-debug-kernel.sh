#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build a debug guest kernel from Debian's linux-source-6.1 of the chosen
# version: tinyconfig plus what the VM, the module and BPF need, plus one
# set of checkers:
#   kcsan  KCSAN + lockdep (PROVE_LOCKING) + PROVE_RCU
#   kasan  KASAN (generic, inline) + slub debugging on by default + kmemleak
# Both have fault injection (failslab, fail_page_alloc, the debugfs knobs
# the module's own fault attribute uses) and memcg (cgroup v2), and use SLUB
# (tinyconfig would pick SLOB), so slub_debug= works too.
# BTF and NET are for libbpf: the verifier wants vmlinux BTF for raw_tp
# programs with BTF, and libbpf probes kernel features (global data, used by
# the skeleton's rodata) with socket-filter programs, which need NET.
# The result is cached outside the tree, per kernel version and keyed by a
# hash of the config fragment, as
#   $TOPHASH_KCACHE/<version>/<variant>-<key>/{bzImage,tree/}
# where tree/ is kept for building modules (Module.symvers included).
# Prints the cache directory on stdout; progress goes to stderr.
# Usage: KABI=... KPKGVER=... build-debug-kernel.sh VARIANT
#   (the Makefile passes the version scripts/deps.sh chose, build/kernel.env)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
variant=${1:?usage: build-debug-kernel.sh kcsan|kasan}
: "${KABI:?KABI unset: run make deps}" "${KPKGVER:?KPKGVER unset: run make deps}"
kcache=${TOPHASH_KCACHE:-/var/cache/tophash}

common=(
	64BIT SMP PRINTK PRINTK_TIME TTY SERIAL_8250 SERIAL_8250_CONSOLE
	BLK_DEV_INITRD RD_GZIP DEVTMPFS DEVTMPFS_MOUNT PROC_FS SYSFS TMPFS
	SHMEM BINFMT_ELF BINFMT_SCRIPT MULTIUSER FUTEX EPOLL SIGNALFD TIMERFD
	EVENTFD POSIX_TIMERS HIGH_RES_TIMERS FILE_LOCKING AIO MEMBARRIER
	MODULES MODULE_UNLOAD MODULE_FORCE_UNLOAD
	BPF BPF_SYSCALL BPF_JIT PERF_EVENTS KPROBES KPROBE_EVENTS
	FTRACE DYNAMIC_EVENTS BPF_EVENTS DEBUG_FS DEBUG_KERNEL
	STACKTRACE KALLSYMS BUG SLUB SLUB_DEBUG
	DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT DEBUG_INFO_BTF NET
	FAULT_INJECTION FAILSLAB FAIL_PAGE_ALLOC FAULT_INJECTION_DEBUG_FS
	CGROUPS MEMCG
)
case $variant in
kcsan)
	extra=(KCSAN KCSAN_STRICT KCSAN_INTERRUPT_WATCHER PROVE_LOCKING
	       PROVE_RCU DEBUG_ATOMIC_SLEEP DEBUG_LOCK_ALLOC LOCKDEP
	       DEBUG_SPINLOCK DEBUG_MUTEXES)
	;;
kasan)
	extra=(KASAN KASAN_GENERIC KASAN_INLINE SLUB_DEBUG_ON DEBUG_ATOMIC_SLEEP
	       DEBUG_KMEMLEAK)
	;;
*)
	echo "build-debug-kernel: unknown variant $variant" >&2
	exit 2
	;;
esac

# the key is the config: source version and the options asked for
key=$(printf '%s\n' "$KPKGVER" "$variant" "${common[@]}" "${extra[@]}" |
	sha256sum | cut -c1-12)
out=$kcache/$KPKGVER/$variant-$key
done_already() { [ -f "$out/bzImage" ] && [ -f "$out/tree/Module.symvers" ]; }
if done_already; then
	echo "$out"
	exit 0
fi

# one builder at a time per variant: a second waits, then finds the result
mkdir -p "$kcache/$KPKGVER"
exec 9>"$kcache/$KPKGVER/.lock-$variant"
if ! flock -n 9; then
	echo "build-debug-kernel: waiting for the $variant kernel another build is making" >&2
	waited=0
	until flock -w 60 9; do
		waited=$((waited + 1))
		echo "build-debug-kernel: still waiting for the $variant kernel ($waited min)" >&2
	done
fi
if done_already; then
	echo "$out"
	exit 0
fi

bash "$here/deps.sh" debug-kernel >&2
tarball=$kcache/src/linux-source-$KPKGVER.tar.xz
[ -f "$tarball" ] || bash "$here/fetch-kernel.sh" "${TOPHASH_BUILD:-$here/../build}/cache" >&2

start=$(date +%s)
work=$(mktemp -d "$kcache/$KPKGVER/.build-$variant-XXXX")
trap 'rm -rf "$work"; kill "${beat:-0}" 2>/dev/null || true' EXIT
log=$work/build.log
echo "build-debug-kernel: building the $variant kernel from linux-source-6.1 $KPKGVER, once (about 5-10 min on 2 idle cores; log: $log)" >&2
cd "$work"
xz -dc "$tarball" | tar -x
mv linux-source-6.1 tree
cd tree

args=()
for o in "${common[@]}" "${extra[@]}"; do args+=(-e "$o"); done
{
	make tinyconfig &&
	scripts/config -d SLOB "${args[@]}" -d MODULE_SIG -d WERROR -d DEBUG_INFO_BTF_MODULES \
		--set-str LOCALVERSION "-tophash-$variant" &&
	make olddefconfig
} >"$log" 2>&1 || { tail -n 40 "$log" >&2; exit 1; }
for o in "${common[@]}" "${extra[@]}"; do
	grep -q "^CONFIG_$o=y" .config ||
		{ echo "build-debug-kernel: CONFIG_$o did not stick (see $variant's Kconfig dependencies)" >&2; exit 1; }
done
# a line a minute, so that a long build does not look like a hang
(
	while sleep 60; do
		echo "build-debug-kernel: $variant: $(( ($(date +%s) - start) / 60 )) min, $(grep -c '^  CC ' "$log" 2>/dev/null || echo 0) files compiled" >&2
	done
) &
beat=$!
make -j"$(nproc)" bzImage vmlinux modules >>"$log" 2>&1 || { tail -n 40 "$log" >&2; exit 1; }
kill "$beat" 2>/dev/null || true

rm -rf "$out"
mkdir -p "$out"
cp arch/x86/boot/bzImage "$out/bzImage"
cd ..
# keep what building out-of-tree modules needs, drop object files
find tree -name '*.o' -delete
mv tree "$out/tree"
echo "build-debug-kernel: the $variant kernel took $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s" >&2
echo "$out"
