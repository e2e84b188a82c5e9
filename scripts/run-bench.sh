#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`, the host side: find the kprobe targets of the hash-call
# count (bench/hash-sites.py), boot the bench initramfs and run
# guest/bench.sh in it with BENCH_CMD, then turn what the guest printed into
# bench/RESULTS.md (bench/mkresults.py). Fails only when the guest run
# fails, never on the timings. Run from the top of the tree; the Makefile
# passes every setting:
#   BENCH_OUT BENCH_INITRD VMLINUZ BENCH_MEM BENCH_APPEND BENCH_TIMEOUT
#   BENCH_CMD (the guest command, settings first) KENV
set -u
for v in BENCH_OUT BENCH_INITRD VMLINUZ BENCH_MEM BENCH_APPEND BENCH_TIMEOUT BENCH_CMD KENV; do
	[ -n "${!v+set}" ] || { echo "run-bench.sh: $v is not set (run it through make bench)" >&2; exit 2; }
done
start=$(date +%s)
sites=$(python3 bench/hash-sites.py kmod/tophash.ko) || sites=
cmd="BENCH_HASH_SITES='$sites' $BENCH_CMD"
echo "bench: TOPHASH_VM_MEM=$BENCH_MEM TOPHASH_VM_APPEND='$BENCH_APPEND' vm-run.sh -- $cmd"
TOPHASH_VM_MEM=$BENCH_MEM TOPHASH_VM_APPEND=$BENCH_APPEND \
	bash scripts/vm-run.sh -i "$BENCH_INITRD" -k "$VMLINUZ" -t "$BENCH_TIMEOUT" \
	-l "$BENCH_OUT/serial.log" -- "$cmd" \
	2>"$BENCH_OUT/vm-run.err" | tee "$BENCH_OUT/guest.out"
rc=${PIPESTATUS[0]}
cat "$BENCH_OUT/vm-run.err" >&2
[ "$rc" = 0 ] || { echo "bench: the guest run failed (status $rc)" >&2; exit "$rc"; }
exec python3 bench/mkresults.py --guest "$BENCH_OUT/guest.out" \
	--vmrun "$BENCH_OUT/vm-run.err" --out bench/RESULTS.md \
	--elapsed $(($(date +%s) - start)) \
	--command "make bench (BENCH_MEM=$BENCH_MEM): TOPHASH_VM_MEM=$BENCH_MEM TOPHASH_VM_APPEND='$BENCH_APPEND' bash scripts/vm-run.sh -i ${BENCH_INITRD#"$PWD"/} -k ${VMLINUZ#"$PWD"/} -t $BENCH_TIMEOUT -- <guest command>" \
	--guest-command "$cmd" --kernel-choice "$(bash scripts/kernel-version.sh "$KENV")"
