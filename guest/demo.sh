#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make demo`, inside the guest (busybox sh, cwd /opt/tophash, thctl on PATH):
# load tophash.ko, attach slotreuse (pinned, so it aggregates with no loader
# running), run two churn workloads that cross doublings and same-size
# growths, print the slot-reuse histograms and the bpftool view of the same
# maps, draw two small maps caught in the middle of a growth, and check that
# every byte the maps held is freed.

fail() {
	echo "demo: FAILED: $*" >&2
	exit 1
}

section() {
	echo
	echo "=== $*"
}

cd /opt/tophash 2>/dev/null || fail "no /opt/tophash"
if ! grep -q '^tophash ' /proc/modules; then
	insmod ./tophash.ko || fail "insmod tophash.ko"
fi
[ -c /dev/tophash ] || fail "no /dev/tophash after insmod"

PIN=/sys/fs/bpf/slotreuse
section "slotreuse --pin $PIN: attach to the tophash tracepoints, pin, exit"
rm -rf "$PIN"
./slotreuse --pin "$PIN" || fail "slotreuse --pin"
ls "$PIN"

section "churn: 6600 live keys (6.45 per bucket at B=10), 200000 ops, one ioctl each"
# Filling from an empty map doubles B ten times (0 -> 10); the churn that
# follows keeps the map at 6600 entries, just under the 6656 that would
# double it again.
thctl load --churn --keys 6600 --ops 200000 --seed 1 -q ||
	fail "thctl load --churn --keys 6600"

section "churn on a small map: 52 live keys in 8 buckets, in batches of 16"
# At B=3 every bucket soon takes a ninth key and keeps the overflow bucket
# it needed: 8 overflow buckets (2^B) start a same-size grow that sheds them.
thctl load --churn --keys 52 --ops 20000 --seed 2 --batch 16 -q >/tmp/small.out ||
	fail "thctl load --churn --keys 52"
cat /tmp/small.out
grep -Eq 'grows +[0-9]+ doubling .* [1-9][0-9]* same-size' /tmp/small.out ||
	fail "the small churn saw no same-size grow"

section "drain: one map grows to 100000 keys, loses 90% of them, and shrinks back"
# TOPHASH_F_SHRINK: a delete starts a shrink B -> B-1 (below 25% of the
# slots full); deletes do no evacuation, so after the last one thctl waits
# while the background finisher ends it and the halvings after it, and the
# memory comes back; the bytes lines are INFO polls (op count, seconds).
thctl load --drain --shrink --keys 100000 --seed 3 -q >/tmp/drain.out ||
	fail "thctl load --drain --shrink"
cat /tmp/drain.out
grep -Eq 'shrinks +[1-9]' /tmp/drain.out || fail "the drain shrank nothing"

section "slotreuse --read $PIN: what the churns and the drain did to deleted slots"
./slotreuse --read "$PIN" || fail "slotreuse --read"

section "bpftool: the same state, read through BTF with no loader running"
echo '$ bpftool prog show'
bpftool prog show | grep -A3 'raw_tracepoint' || fail "bpftool prog show"
echo '$ bpftool link show'
bpftool link show || fail "bpftool link show"
echo "\$ bpftool map dump pinned $PIN/counts"
bpftool map dump pinned "$PIN/counts" || fail "bpftool map dump"

section "slotreuse --unpin $PIN: detach (rmmod is refused while attached)"
rmmod tophash 2>/dev/null && fail "rmmod succeeded while slotreuse was attached"
./slotreuse --unpin "$PIN" || fail "slotreuse --unpin"

section "map A: overflow, delete, slot reuse, a doubling caught half-way"
thctl shell -x <<'EOF' || fail "map A"
# identity hash: hash(k) = k, so bucket = k & (2^B - 1); hint 14 gives B=2
create 8 8 14 identity
seq put 0 4 9            # 0, 4, ..., 32 all go to bucket 0: the 9th needs an overflow bucket
del 12                   # slot 3 becomes emptyOne: later slots are still in use
get 12
layout
put 100 7                # 100 & 3 = 0: the first empty slot on the chain is reused
put 100 8 noexist
layout
seq put 1 4 8            # buckets 1 and 2 full: 25 entries
seq put 2 4 8
put 3 3                  # 26 = 6.5 * 2^2 entries
put 7 7                  # the 27th: B goes to 3; this put evacuates old buckets 3 and 0
info
layout
get 5                    # still in old bucket 1, which is not evacuated yet
del 32                   # writes help the growth along: old bucket 1 is evacuated too
info
clear
EOF

section "map B: a same-size grow, drawn by another process from debugfs"
rm -f /tmp/mapb.in /tmp/mapb.out
mkfifo /tmp/mapb.in || fail "mkfifo"
thctl shell -x -e </tmp/mapb.in >/tmp/mapb.out 2>&1 &
shpid=$!
exec 3>/tmp/mapb.in
cat >&3 <<'EOF'
# four buckets, and in each 9 keys put then 8 deleted: an empty overflow bucket
# per bucket, while the map never holds more than 12 entries
create 8 8 14 identity
seq put 0 4 9
seq del 4 4 8
seq put 1 4 9
seq del 5 4 8
seq put 2 4 9
seq del 6 4 8
seq put 3 4 9
seq del 7 4 8
info
put 0x100 1              # a new key with noverflow 4 >= 2^2: same-size grow
info
EOF
# The shell flushes each result: wait for the last one.
n=0
until [ "$(grep -c '^info =>' /tmp/mapb.out 2>/dev/null)" = 2 ]; do
	n=$((n + 1))
	[ $n -le 300 ] && kill -0 $shpid 2>/dev/null ||
		{ cat /tmp/mapb.out; fail "map B shell did not answer"; }
	sleep 0.1
done
cat /tmp/mapb.out
id=$(sed -n 's/^create .*=> ok id=\([0-9][0-9]*\).*/\1/p' /tmp/mapb.out)
[ -n "$id" ] || fail "map B was not created"
echo "\$ thctl layout $id"
thctl layout "$id" || fail "thctl layout $id"
exec 3>&-
wait $shpid
rc=$?
[ $rc = 0 ] || fail "map B shell exited with $rc"
rm -f /tmp/mapb.in /tmp/mapb.out /tmp/small.out

section "memory: every map is closed"
# Retired tables and overflow buckets are freed after an RCU grace period.
n=0
while :; do
	lb=$(cat /sys/kernel/debug/tophash/live_bytes) || fail "read live_bytes"
	[ "$lb" = 0 ] && break
	n=$((n + 1))
	[ $n -le 50 ] || fail "live_bytes is still $lb"
	sleep 0.1
done
echo "/sys/kernel/debug/tophash/live_bytes: $lb"
