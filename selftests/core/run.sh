#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the host-side tests of the map core built by core.mk, one line per
# test with its time; a failing test's log tail follows its line. The last
# line is "core-check: N passed, N failed". Exit status 1 if any failed.
#
# usage: run.sh BUILD_DIR   (CORE_STRESS_SECONDS, CORE_FUZZ_SECONDS, CORE_FUZZ_SEED)
set -u
out=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
stress_s=${CORE_STRESS_SECONDS:-3}
fuzz_s=${CORE_FUZZ_SECONDS:-20}
fuzz_seed=${CORE_FUZZ_SEED:-1}
passed=0
failed=0
rm -f "$out/summary"

# TSan's shadow layout wants no ASLR surprises; setarch -R is harmless.
norandom=(setarch "$(uname -m)" -R)
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
export ASAN_OPTIONS="detect_leaks=1 abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1"

# run NAME CMD...: the test passes when CMD exits 0 and no sanitizer spoke.
run() {
	local name=$1 log=$out/$1.log start end rc secs
	shift
	start=$(date +%s.%N)
	"$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	if [ $rc -eq 0 ] && ! grep -qE "WARNING: ThreadSanitizer|ERROR: (Address|Leak)Sanitizer|runtime error:" "$log"; then
		printf 'ok     %-28s %6ss\n' "$name" "$secs"
		passed=$((passed + 1))
	else
		printf 'FAILED %-28s %6ss (exit %d, log %s)\n' "$name" "$secs" $rc "$log"
		grep -E "not ok|FAIL|INVARIANT|ERROR|WARNING|SUMMARY|runtime error|core_fuzz:|shim:" "$log" | head -20 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
}

run core_unit "$out/core_unit"
run core_unit-asan "$out/core_unit-asan"
run core_stress-tsan "${norandom[@]}" "$out/core_stress-tsan" -t "$stress_s"
run core_stress-asan "$out/core_stress-asan" -t "$stress_s"
rm -rf "$out/fuzz-check-corpus"
mkdir -p "$out/fuzz-check-corpus"
run core_fuzz "$out/core_fuzz" -max_total_time="$fuzz_s" -max_len=1024 -seed="$fuzz_seed" \
	-artifact_prefix="$out/" "$out/fuzz-check-corpus" "$here/corpus"

echo "core-check: $passed passed, $failed failed"
# for the summary line of make check (scripts/tap-summary.sh --counts)
echo "$passed $failed" >"$out/summary"
[ $failed -eq 0 ]
