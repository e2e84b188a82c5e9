#!/bin/sh
# Runs inside the guest: load the module, run every kselftest binary. Each
# prints its own TAP; the host turns them into the summary line.
cd /opt/tophash || exit 1
insmod ./tophash.ko || { echo "not ok 1 insmod tophash.ko"; exit 1; }
rc=0
for t in ./tophash_test ./lifecycle_test; do
	echo "# selftest: $t"
	TOPHASH_KO=/opt/tophash/tophash.ko "$t" || rc=1
done
exit $rc
