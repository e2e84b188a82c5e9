#!/bin/sh
# Runs inside the guest: load the module, run every kselftest binary. Each
# prints its own TAP; the host turns them into the summary line.
cd /opt/tophash || exit 1
insmod ./tophash.ko || { echo "not ok 1 insmod tophash.ko"; exit 1; }
export TOPHASH_KO=/opt/tophash/tophash.ko
export TOPHASH_SELFTEST_KO=/opt/tophash/tophash_selftest.ko
rc=0
# lifecycle_test unloads and reloads the module: it runs last
for t in ./tophash_test ./semantics_test ./shrink_test ./stress_test ./slotreuse_test ./trace_test ./lifecycle_test; do
	echo "# selftest: $t"
	"$t" || rc=1
done
exit $rc
