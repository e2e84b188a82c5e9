#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest (`make check`'s vm-check-* runs): load the module,
# run every kselftest binary in /opt/tophash (each prints its own TAP; the
# host, scripts/tap-summary.sh, turns them into the summary line). A test
# that exits 4 (KSFT_SKIP) was skipped, not failed: like kselftest's runner,
# this prints an "ok ... # SKIP" line for it, which the summary counts.
# TOPHASH_GUEST_DIR: where the tests are (/opt/tophash; the host-side
# test of this script, in selftests/setup/run.sh, points it elsewhere).
dir=${TOPHASH_GUEST_DIR:-/opt/tophash}
cd "$dir" || exit 1
insmod ./tophash.ko || { echo "not ok 1 insmod tophash.ko"; exit 1; }
export TOPHASH_KO=$dir/tophash.ko
export TOPHASH_SELFTEST_KO=$dir/tophash_selftest.ko
rc=0
run() {
	echo "# selftest: $1"
	"$1"
	st=$?
	case $st in
	0) ;;
	4) echo "ok 1 selftests: tophash: ${1#./} # SKIP (exit 4)" ;;
	*) echo "# selftest: $1: failed (exit $st)"; rc=1 ;;
	esac
}
# Every *_test, tophash_test first; lifecycle_test unloads and reloads the
# module: it runs last.
run ./tophash_test
for t in ./*_test; do
	case $t in
	./tophash_test | ./lifecycle_test) ;;
	*) run "$t" ;;
	esac
done
run ./lifecycle_test
exit $rc
