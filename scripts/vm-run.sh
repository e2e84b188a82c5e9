#!/usr/bin/env bash
# Boot the pinned Debian kernel in QEMU with our initramfs, run a command in
# the guest, and return its exit status.
#
# Usage: vm-run.sh [-t TIMEOUT_S] [-l LOG] -i INITRD -k KERNEL -- COMMAND...
#
# Fails (non-zero) when the command fails, when the run times out, or when the
# kernel log shows BUG, WARNING, Oops, an RCU stall, a lockdep, KCSAN, KASAN
# or slub_debug report. The whole serial log is kept in LOG.
# TOPHASH_ACCEL=kvm|tcg forces the accelerator; otherwise KVM is used only
# when a time-boxed probe boot under KVM succeeds (result cached in build/accel).
# TOPHASH_VM_MEM (MiB, default 1024) and TOPHASH_VM_SMP (default 2): a
# number N gives N sockets of one core each, because a kernel without ACPI
# (our debug kernels) counts CPUs from the MP table, which lists only one
# processor per socket; any other value goes to -smp as it is. A run whose
# guest brings up another number of CPUs than the leading number fails.
set -uo pipefail
timeout_s=600
smp=${TOPHASH_VM_SMP:-2}
[[ $smp =~ ^[0-9]+$ ]] && smp="$smp,sockets=$smp,cores=1,threads=1"
want_cpus=${smp%%,*}
log=
initrd=
kernel=
while getopts "t:l:i:k:" o; do
	case $o in
	t) timeout_s=$OPTARG ;;
	l) log=$OPTARG ;;
	i) initrd=$OPTARG ;;
	k) kernel=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ -n "$initrd" ] && [ -n "$kernel" ] && [ $# -gt 0 ] ||
	{ echo "usage: vm-run.sh [-t S] [-l LOG] -i INITRD -k KERNEL -- CMD..." >&2; exit 2; }
[ -n "$log" ] || log=$(dirname "$initrd")/serial.log
mkdir -p "$(dirname "$log")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The command travels as /cmd.sh in a second cpio appended to the base one.
mk_initrd() {
	mkdir -p "$work/extra"
	printf '%s\n' "$*" > "$work/extra/cmd.sh"
	(cd "$work/extra" && echo cmd.sh | cpio -o -H newc --quiet) | gzip -1 > "$work/extra.gz"
	cat "$initrd" "$work/extra.gz" > "$work/initrd.gz"
}

boot() { # boot ACCEL TIMEOUT LOGFILE
	local accel=$1 t=$2 out=$3 cpu=max
	[ "$accel" = kvm ] && cpu=host
	timeout -k 5 "$t" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" \
		-m "${TOPHASH_VM_MEM:-1024}" -smp "$smp" \
		-display none -monitor none -serial stdio -no-reboot \
		-kernel "$kernel" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 panic=-1 oops=panic quiet slub_debug=FZPU ${TOPHASH_VM_APPEND:-}" \
		</dev/null 2>&1 | tr -d '\r' >> "$out"
	return "${PIPESTATUS[0]}"
}

accel=${TOPHASH_ACCEL:-}
if [ -z "$accel" ]; then
	cache=$(cd "$(dirname "$0")/.." && pwd)/build/accel
	if [ -f "$cache" ]; then
		accel=$(cat "$cache")
	elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		mk_initrd "echo kvm-probe-ok"
		: > "$work/probe.log"
		if boot kvm 20 "$work/probe.log" >/dev/null 2>&1 && grep -q '^kvm-probe-ok' "$work/probe.log"; then
			accel=kvm
		else
			accel=tcg
		fi
		echo "$accel" > "$cache"
		echo "vm-run: KVM probe chose $accel (cached in $cache)" >&2
	else
		accel=tcg
	fi
fi

mk_initrd "$*"
: > "$log"
start=$(date +%s)
boot "$accel" "$timeout_s" "$log" &
qpid=$!
# stream the guest command's output while it runs
tail -n +1 -f --pid=$qpid "$log" 2>/dev/null |
	sed -u -n '/^TOPHASH-BEGIN$/,/^TOPHASH-DMESG-BEGIN$/{/^TOPHASH-/d;p}'
wait $qpid
qrc=$?
secs=$(($(date +%s) - start))

rc=0
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	echo "vm-run: TIMEOUT after ${timeout_s}s (serial log: $log)" >&2
	rc=124
fi
exitline=$(grep -a '^TOPHASH-EXIT=' "$log" | tail -n 1)
if [ -z "$exitline" ]; then
	echo "vm-run: the guest did not finish the command (serial log: $log)" >&2
	[ $rc -eq 0 ] && rc=1
else
	grc=${exitline#TOPHASH-EXIT=}
	[ "$grc" -ne 0 ] && [ $rc -eq 0 ] && rc=$grc
fi
nproc_line=$(grep -a '^TOPHASH-NPROC=' "$log" | tail -n 1)
if [ -n "$nproc_line" ] && [ "${nproc_line#TOPHASH-NPROC=}" != "$want_cpus" ]; then
	echo "vm-run: the guest brought up ${nproc_line#TOPHASH-NPROC=} CPU(s), not the $want_cpus asked for (-smp $smp)" >&2
	[ $rc -eq 0 ] && rc=5
fi
# Kernel reports that fail the run. Lockdep and PROVE_RCU splats start with
# "WARNING:"; slub_debug's with "BUG <cache> (". A KCSAN data race fails the
# run when one of its two functions is ours (th_*, tophash*); races between
# two core-kernel functions (the debug kernel has a few at boot) are listed
# but do not fail it.
bad='(BUG:|BUG [a-z0-9_-]+ \(|WARNING:|Oops|general protection fault|Kernel panic|rcu.*(stall|detected stalls)|possible (recursive|circular) locking|inconsistent lock state|suspicious RCU usage|KASAN:|UBSAN:|kernel BUG|Redzone|Poison overwritten|Object padding|FreePointer|INFO: task .* blocked)'
ours='(\<th_[a-z0-9_]+|tophash[a-z0-9_]*|\[tophash)'
grep -aE "$bad" "$log" | sort -u >"$work/bad"
grep -aE 'BUG: KCSAN: ' "$work/bad" | grep -avE "$ours" >"$work/foreign" || true
grep -avFf "$work/foreign" "$work/bad" >"$work/ours" || true
[ -s "$work/foreign" ] && [ -n "$(cat "$work/foreign")" ] &&
	{ echo "vm-run: KCSAN reports between core-kernel functions (not failing the run):" >&2
	  head -n 10 "$work/foreign" >&2; }
if [ -s "$work/ours" ]; then
	echo "vm-run: KERNEL REPORT in the guest log (serial log: $log):" >&2
	head -n 20 "$work/ours" >&2
	rc=3
fi
echo "vm-run: accel=$accel ${secs}s exit=$rc log=$log" >&2
exit $rc
