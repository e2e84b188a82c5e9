#!/bin/sh
# Runs inside the guest: load the module, run every kselftest binary. Each
# prints its own TAP; the host turns them into the summary line. A test
# binary that exits 4 (KSFT_SKIP) skipped. At the end, on a kernel with
# kmemleak (the KASAN one), two scans: a leak report with a tophash frame
# fails the run (its own TAP line).
cd /opt/tophash || exit 1
insmod ./tophash.ko || { echo "not ok 1 insmod tophash.ko"; exit 1; }
export TOPHASH_KO=/opt/tophash/tophash.ko
export TOPHASH_SELFTEST_KO=/opt/tophash/tophash_selftest.ko
# the fuzzer's bound in make check; make fuzz-guest runs it longer
export TOPHASH_FUZZ_SECONDS="${TOPHASH_FUZZ_SECONDS:-30}"
rc=0
# lifecycle_test unloads and reloads the module: it runs last
for t in ./tophash_test ./semantics_test ./contract_test ./faultinject_test ./memcg_test ./fuzz_test ./stress_test ./slotreuse_test ./trace_test ./lifecycle_test; do
	echo "# selftest: $t"
	"$t"
	r=$?
	[ $r = 0 ] || [ $r = 4 ] || rc=1
done

kml=/sys/kernel/debug/kmemleak
if [ -w $kml ]; then
	echo "# selftest: kmemleak"
	echo "1..1"
	# objects freed through RCU need a grace period; kmemleak reports an
	# object only once it stayed unreferenced across two scans
	sleep 5
	echo scan > $kml
	sleep 5
	echo scan > $kml
	cat $kml > /tmp/kmemleak.txt
	n=$(grep -c "unreferenced object" /tmp/kmemleak.txt)
	ours=$(grep -cE '\[tophash|tophash_|th_[a-z0-9_]+\+' /tmp/kmemleak.txt)
	echo "# kmemleak: $n unreferenced object(s), $ours backtrace frame(s) in tophash"
	if [ "$ours" -gt 0 ]; then
		sed 's/^/# /' /tmp/kmemleak.txt | head -n 60
		echo "not ok 1 kmemleak: a leak with a tophash frame"
		rc=1
	else
		echo "ok 1 kmemleak: no leak with a tophash frame ($n other)"
	fi
fi
exit $rc
