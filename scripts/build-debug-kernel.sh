#!/usr/bin/env bash
# Build a debug guest kernel from Debian's linux-source-6.1 (the version
# pinned in kernel.env): tinyconfig plus what the VM, the module and BPF
# need, plus one set of checkers:
#   kcsan  KCSAN + lockdep (PROVE_LOCKING) + PROVE_RCU
#   kasan  KASAN (generic, inline) + slub debugging on by default
# Both use SLUB (tinyconfig would pick SLOB), so slub_debug= works too.
# BTF and NET are for libbpf: the verifier wants vmlinux BTF for raw_tp
# programs with BTF, and libbpf probes kernel features (global data, used by
# the skeleton's rodata) with socket-filter programs, which need NET.
# The result is cached outside the tree, keyed by a hash of the config
# fragment and the source version, as
#   $TOPHASH_KCACHE/<variant>-<key>/{bzImage,tree/}
# where tree/ is kept for building modules (Module.symvers included).
# Prints the cache directory on stdout.
# Usage: build-debug-kernel.sh VARIANT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.env"
variant=${1:?usage: build-debug-kernel.sh kcsan|kasan}
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
)
case $variant in
kcsan)
	extra=(KCSAN KCSAN_STRICT KCSAN_INTERRUPT_WATCHER PROVE_LOCKING
	       PROVE_RCU DEBUG_ATOMIC_SLEEP DEBUG_LOCK_ALLOC LOCKDEP
	       DEBUG_SPINLOCK DEBUG_MUTEXES)
	;;
kasan)
	extra=(KASAN KASAN_GENERIC KASAN_INLINE SLUB_DEBUG_ON DEBUG_ATOMIC_SLEEP)
	;;
*)
	echo "build-debug-kernel: unknown variant $variant" >&2
	exit 2
	;;
esac

# one builder at a time per cache: a second waits, then finds the result
mkdir -p "$kcache"
exec 9>"$kcache/.lock-$variant"
flock 9

# the key is the config: source version and the options asked for
key=$(printf '%s\n' "$KPKGVER" "$variant" "${common[@]}" "${extra[@]}" |
	sha256sum | cut -c1-12)
out=$kcache/$variant-$key
if [ -f "$out/bzImage" ] && [ -f "$out/tree/Module.symvers" ]; then
	echo "$out"
	exit 0
fi

deps=(flex bison bc libssl-dev libelf-dev gcc make perl xz-utils dwarves)
missing=()
for p in "${deps[@]}"; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$kcache"
work=$(mktemp -d "$kcache/.build-$variant-XXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download -q "linux-source-6.1=$KPKGVER" >/dev/null 2>&1 ||
	{ apt-get update -qq && apt-get download -q "linux-source-6.1=$KPKGVER" >/dev/null; }
dpkg-deb --fsys-tarfile linux-source-6.1_*.deb |
	tar -xO ./usr/src/linux-source-6.1.tar.xz | xz -dc | tar -x
rm -f linux-source-6.1_*.deb
mv linux-source-6.1 tree
cd tree

log=$work/build.log
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
make -j"$(nproc)" bzImage vmlinux modules >>"$log" 2>&1 || { tail -n 40 "$log" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
cp arch/x86/boot/bzImage "$out/bzImage"
cd ..
# keep what building out-of-tree modules needs, drop object files
find tree -name '*.o' -delete
mv tree "$out/tree"
echo "$out"
