#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench`, inside the guest (busybox sh, cwd /opt/tophash): load
# tophash.ko, run tophash_bench.ko (tophash vs rhashtable, interleaved) for
# each key size, then the tophash workloads again in four tracing states,
# then count tophash's hash calls per operation; print every "bench:" line
# the module logged, for bench/mkresults.py.
#
# Settings (environment, all optional):
#   BENCH_NKEYS        keys of the main runs (default 1000000)
#   BENCH_ROUNDS       rounds of the main runs (default 3)
#   BENCH_KEYSIZES     key sizes of the main runs (default "8 16 64")
#   BENCH_ARGS         more tophash_bench.ko parameters for the main runs
#   BENCH_ARGS_<N>     more parameters for the main run with N-byte keys
#   BENCH_TRACE_ROUNDS rounds of the tracing comparison (default 3)
#   BENCH_TRACE_NKEYS  keys of the tracing runs (default BENCH_NKEYS)
#   BENCH_TRACE_ARGS   more parameters for the tracing runs
#   BENCH_PROFILE_NKEYS keys of the hash-call count runs (default 100000,
#                      0 skips them)
#   BENCH_PROFILE_KEYSIZES key sizes of those runs (default BENCH_KEYSIZES)
#   BENCH_HASH_SITES   their kprobe targets, FUNCTION@SYMBOL+0xOFFSET each
#                      (bench/hash-sites.py; a bare SYMBOL+0xOFFSET counts
#                      as FUNCTION "unknown")
#   BENCH_PARTS        which parts to run, of "main trace profile drain"
#                      (the default: all four, in that order), space- or
#                      comma-separated; e.g. BENCH_PARTS=profile
#   BENCH_DRAIN_NKEYS  keys of the drain part (default BENCH_NKEYS)
#   BENCH_DRAIN_ROUNDS its rounds (default 3)
#
# The drain part (tophash_bench.ko drain=1, 8-byte keys): memory after
# deleting 90% of the keys, as bytes per live entry, and the deletes' rate,
# for tophash as Go's map (never shrinks), tophash with TOPHASH_F_SHRINK at
# 25% and 40%, rhashtable without and with automatic_shrinking, and a fresh
# tophash holding the kept keys only.
#
# The tracing states, run in a rotating order each round, one insmod each:
#   notrace  tophash_notrace.ko: tophash.ko built with -DNOTRACE, which
#            compiles every tracepoint out (include/linux/tracepoint.h);
#            the baseline of the tracepoints-off cost. Its exports carry
#            other symbol CRCs, so the bench module built beside it
#            (tophash_bench_notrace.ko, same source) is loaded with it
#   off      tophash.ko, its tracepoints disabled (static keys off)
#   ftrace   echo 1 > events/tophash/enable: every event is written to the
#            ftrace ring buffer, which nobody reads
#   slotreuse  slotreuse --pin: its BPF programs are attached to the
#            tracepoints (raw_tp) and aggregate every event in BPF maps
# Lookups fire no tracepoint: their rows are the control.
#
# Last, hash calls per operation, on maps created with TOPHASH_F_SIPHASH
# (tophash_bench.ko siphash=1: the default hash is inlined, with no call to
# probe; a SipHash map runs the generic path, which hashes as often as the
# fixed-size ones): kprobes on tophash.ko's call sites of every siphash
# function it calls (th_hash_special(): siphash_1u64() for 8-byte keys,
# siphash(), that is __siphash_unaligned, for other sizes; lib/siphash.c
# is notrace, so they cannot be probed themselves), found by
# bench/hash-sites.py on the host and passed in BENCH_HASH_SITES, count
# their hits (kprobe_profile) during tophash-only runs of insert alone, then
# insert + lookup_hit and insert + delete, for each profile key size; the
# differences give the hashes per lookup and per delete. Each run prints a
# line per site (its function, its hits) and a "name=calls" line with the
# total, the kprobes' missed hits, the calls per function and the
# operations tophash_bench did per workload. Counts, not timings: they do
# not depend on the noise.

NKEYS=${BENCH_NKEYS:-1000000}
ROUNDS=${BENCH_ROUNDS:-3}
KEYSIZES=${BENCH_KEYSIZES:-8 16 64}
TROUNDS=${BENCH_TRACE_ROUNDS:-3}
TNKEYS=${BENCH_TRACE_NKEYS:-$NKEYS}
TWORK=insert,lookup_hit,delete,churn
PNKEYS=${BENCH_PROFILE_NKEYS:-100000}
PKEYSIZES=${BENCH_PROFILE_KEYSIZES:-$KEYSIZES}
PARTS=$(echo "${BENCH_PARTS:-main trace profile drain}" | tr , ' ')
KO=/opt/tophash/tophash_bench.ko
ko=$KO
TR=/sys/kernel/tracing
# No comm recording: toggling events would live-patch the scheduler's
# tracepoints (text_poke_bp), which can livelock the other vCPU under TCG.
echo 0 > $TR/options/record-cmd 2>/dev/null
PIN=/sys/fs/bpf/slotreuse_bench
mark=0

fail() {
	echo "guest-bench: FAILED: $*" >&2
	exit 1
}

# Whether BENCH_PARTS names the part $1.
part() {
	case " $PARTS " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}
for p in $PARTS; do
	case $p in
	main | trace | profile | drain) ;;
	*) fail "BENCH_PARTS: unknown part $p (main, trace, profile, drain)" ;;
	esac
done
echo "guest-bench: parts: $PARTS"

# Load the bench module once with ARGS, print the bench lines it logged.
bench() {
	mark=$((mark + 1))
	echo "guest-bench: mark $mark" > /dev/kmsg
	echo "guest-bench: insmod tophash_bench.ko $*"
	insmod "$ko" "$@"
	rc=$?
	dmesg | sed -n "/guest-bench: mark $mark\$/,\$p" |
		sed -n 's/^.*tophash_bench: \(bench: \)/\1/p'
	grep -q '^tophash_bench ' /proc/modules && rmmod tophash_bench
	[ $rc = 0 ] || fail "insmod tophash_bench.ko $* (status $rc)"
}

# Events the ring buffer took since the last reset, overwritten ones included.
ring_events() {
	n=0
	for f in "$TR"/per_cpu/cpu*/stats; do
		n=$((n + $(sed -n 's/^entries: //p' "$f") + \
			$(sed -n 's/^overrun: //p' "$f")))
	done
	echo $n
}

# One traced run: set up STATE, run, tear it down.
traced() {
	state=$1
	shift
	case $state in
	notrace)
		if [ ! -f ./tophash_notrace.ko ] || [ ! -f ./tophash_bench_notrace.ko ]; then
			echo "bench: run=trace_notrace name=missing reason=not_in_initramfs"
			return
		fi
		rmmod tophash || fail "rmmod tophash"
		insmod ./tophash_notrace.ko || fail "insmod tophash_notrace.ko"
		ko=/opt/tophash/tophash_bench_notrace.ko
		bench label=trace_notrace "$@"
		ko=$KO
		rmmod tophash || fail "rmmod tophash (notrace)"
		insmod ./tophash.ko || fail "insmod tophash.ko"
		;;
	off)
		bench label=trace_off "$@"
		;;
	ftrace)
		echo > $TR/trace
		echo 1 > $TR/events/tophash/enable || fail "enable tophash events"
		bench label=trace_ftrace "$@"
		echo 0 > $TR/events/tophash/enable
		echo "bench: run=trace_ftrace name=consumer events_recorded=$(ring_events)"
		echo > $TR/trace
		;;
	slotreuse)
		if [ -n "$no_slotreuse" ]; then
			echo "bench: run=trace_slotreuse name=missing reason=$no_slotreuse"
			return
		fi
		./slotreuse --pin $PIN >/tmp/sr.out 2>&1 ||
			{ cat /tmp/sr.out; fail "slotreuse --pin"; }
		bench label=trace_slotreuse "$@"
		./slotreuse --read $PIN -j > /tmp/sr.json 2>&1 ||
			{ cat /tmp/sr.json; fail "slotreuse --read"; }
		# its counters, one JSON object with no spaces
		echo "bench: run=trace_slotreuse name=consumer counts=$(tr -d '\n' < /tmp/sr.json |
			sed -n 's/.*"counts":{\([^}]*\)}.*/\1/p')"
		./slotreuse --unpin $PIN >/tmp/sr.out 2>&1 ||
			{ cat /tmp/sr.out; fail "slotreuse --unpin"; }
		;;
	esac
}

cd /opt/tophash || fail "no /opt/tophash"
echo "bench-env: kernel=$(uname -r)"
echo "bench-env: vcpus=$(grep -c ^processor /proc/cpuinfo)"
echo "bench-env: guest_cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo "bench-env: mem_kib=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
echo "bench-env: cmdline=$(cat /proc/cmdline)"
sd=$(cat /sys/kernel/slab/kmalloc-32/sanity_checks 2>/dev/null)
echo "bench-env: slub_debug_kmalloc32=${sd:-unknown}"

insmod ./tophash.ko || fail "insmod tophash.ko"
[ -d $TR/events/tophash ] || fail "no tophash events in $TR"

part main && for ks in $KEYSIZES; do
	kargs=
	eval "kargs=\${BENCH_ARGS_$ks:-}"
	# shellcheck disable=SC2086
	bench label=main keysize="$ks" nkeys="$NKEYS" rounds="$ROUNDS" \
		${BENCH_ARGS:-} $kargs
done

part trace || TROUNDS=0
no_slotreuse=
[ -x ./slotreuse ] || no_slotreuse=not_in_initramfs
if [ "$TROUNDS" -gt 0 ] && [ -z "$no_slotreuse" ] &&
	! ./slotreuse --pin $PIN >/tmp/sr.out 2>&1; then
	no_slotreuse=pin_failed
	sed 's/^/guest-bench: slotreuse: /' /tmp/sr.out
fi
[ "$TROUNDS" -gt 0 ] && [ -z "$no_slotreuse" ] &&
	./slotreuse --unpin $PIN >/dev/null 2>&1

set -- notrace off ftrace slotreuse
r=0
while [ $r -lt "$TROUNDS" ]; do
	for state in "$@"; do
		# shellcheck disable=SC2086
		traced "$state" impls=tophash keysize=8 nkeys="$TNKEYS" rounds=1 \
			workloads=$TWORK ${BENCH_TRACE_ARGS:-}
	done
	# rotate the order: notrace off ftrace slotreuse, off ftrace ...
	first=$1
	shift
	set -- "$@" "$first"
	r=$((r + 1))
done

# Hits of kprobes on the BENCH_HASH_SITES while tophash_bench runs the
# WORKLOADS (first argument) with KEYSIZE-byte keys (second) and the other
# ARGS: one line per site (its function, its hits), then their sum, the
# sum per function and tophash's operations per workload.
count_hashes() {
	w=$1
	ks=$2
	shift 2
	n=0
	for s in $BENCH_HASH_SITES; do
		echo "p:thbench/h$n ${s#*@}" >> $TR/kprobe_events ||
			fail "kprobe on ${s#*@}"
		n=$((n + 1))
	done
	echo 1 > $TR/events/thbench/enable || fail "enable the kprobes"
	bench workloads="$w" keysize="$ks" "$@" > /tmp/profile.out
	echo 0 > $TR/events/thbench/enable
	# tophash's operations per workload, from its round lines: name:ops,...
	ops=$(awk '/ round=/ && / impl=tophash / {
		nm = ""; op = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^name=/) nm = substr($i, 6)
			if ($i ~ /^ops=/) op = substr($i, 5)
		}
		if (nm != "") s = s (s == "" ? "" : ",") nm ":" op
	} END { print s }' /tmp/profile.out)
	i=0
	total=0
	missed=0
	: > /tmp/profile.fns
	for s in $BENCH_HASH_SITES; do
		case $s in
		*@*) fn=${s%%@*} ;;
		*) fn=unknown ;;
		esac
		site=${s#*@}
		hm=$(awk -v p="h$i" '$1 == p { print $2 "/" $3 }' $TR/kprobe_profile)
		[ -n "$hm" ] || fail "no kprobe_profile line for h$i ($site)"
		echo "bench: run=profile name=site keysize=$ks workloads=$w fn=$fn site=$site calls=${hm%/*} missed=${hm#*/}"
		echo "$fn ${hm%/*}" >> /tmp/profile.fns
		total=$((total + ${hm%/*}))
		missed=$((missed + ${hm#*/}))
		i=$((i + 1))
	done
	# calls per function, in the order of the sites: fn:calls,...
	fns=$(awk '!($1 in c) { o[++k] = $1 } { c[$1] += $2 }
		END { for (j = 1; j <= k; j++) s = s (j > 1 ? "," : "") o[j] ":" c[o[j]]; print s }' /tmp/profile.fns)
	echo "bench: run=profile name=calls keysize=$ks workloads=$w nkeys=$PNKEYS ops=$ops calls=$total missed=$missed sites=$n fns=$fns"
	while [ "$i" -gt 0 ]; do
		i=$((i - 1))
		echo "-:thbench/h$i" >> $TR/kprobe_events
	done
	echo > $TR/trace
}

if ! part profile || [ "$PNKEYS" -le 0 ]; then
	:
elif [ -z "${BENCH_HASH_SITES:-}" ]; then
	echo "bench: run=profile name=missing reason=no_BENCH_HASH_SITES"
else
	echo "guest-bench: profile: hash calls per op, key sizes: $PKEYSIZES; nkeys $PNKEYS; $(echo "$BENCH_HASH_SITES" | wc -w) kprobed call sites"
	for ks in $PKEYSIZES; do
		for w in insert insert,lookup_hit insert,delete; do
			count_hashes "$w" "$ks" label=profile impls=tophash \
				nkeys="$PNKEYS" rounds=1 slices=1 siphash=1
		done
	done
fi

part drain && bench label=drain drain=1 keysize=8 nkeys="${BENCH_DRAIN_NKEYS:-$NKEYS}" \
	rounds="${BENCH_DRAIN_ROUNDS:-3}"

rmmod tophash || fail "rmmod tophash"
echo "guest-bench: done"
