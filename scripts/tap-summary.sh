#!/usr/bin/env bash
# Sum the kselftest TAP of one or more VM runs (and other suites' counts)
# into one line
# "N passed, N failed". Each argument is a run directory holding tap.log
# (what the guest printed) and vm.rc (the VM runner's exit status).
# A test a plan announced but that never reported (crash, timeout) counts as
# failed; so does a run whose VM failed (kernel report, timeout) with no
# failing test to show for it, or a run that printed no TAP at all.
# Exits non-zero unless everything passed.
set -u
# --counts NAME FILE adds a suite that was counted elsewhere (FILE holds
# "PASSED FAILED"; a missing FILE counts as one failure).
tp=0 tf=0 ts=0
while [ "${1:-}" = --counts ]; do
	name=$2 file=$3
	shift 3
	if read -r p f <"$file" 2>/dev/null; then
		echo "$name: $p passed, $f failed" >&2
		tp=$((tp + p)) tf=$((tf + f))
	else
		echo "$name: no result ($file)" >&2
		tf=$((tf + 1))
	fi
done
[ $# -gt 0 ] || { echo "usage: tap-summary.sh [--counts NAME FILE]... RUN_DIR..." >&2; exit 2; }
for d in "$@"; do
	name=$(basename "$d")
	vmrc=$(cat "$d/vm.rc" 2>/dev/null || echo 1)
	if [ ! -f "$d/tap.log" ]; then
		echo "$name: no TAP log (did the run happen?)" >&2
		tf=$((tf + 1))
		continue
	fi
	read -r p f s < <(awk -v vmrc="$vmrc" -v name="$name" '
		/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); planned += $0 + 0 }
		/^ok [0-9]+/ { if ($0 ~ /# *SKIP/) skipped++; else passed++; seen++ }
		/^not ok [0-9]+/ { failed++; seen++; print name ": FAILED: " $0 > "/dev/stderr" }
		END {
			if (planned > seen) {
				printf "%s: MISSING: %d planned test(s) never reported\n", name, planned - seen > "/dev/stderr"
				failed += planned - seen
			}
			if (vmrc != 0 && failed == 0) {
				printf "%s: VM run failed with status %d (kernel report or timeout)\n", name, vmrc > "/dev/stderr"
				failed = 1
			}
			if (seen == 0 && failed == 0) {
				printf "%s: no test ran\n", name > "/dev/stderr"
				failed = 1
			}
			print passed + 0, failed + 0, skipped + 0
		}' "$d/tap.log")
	echo "$name: $p passed, $f failed, $s skipped" >&2
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done
if [ "$ts" -gt 0 ]; then
	echo "$tp passed, $tf failed, $ts skipped"
else
	echo "$tp passed, $tf failed"
fi
[ "$tf" -eq 0 ]
