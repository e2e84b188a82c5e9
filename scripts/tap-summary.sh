#!/usr/bin/env bash
# Sum the TAP of the kselftest binaries into one line "N passed, N failed".
# Usage: tap-summary.sh TAP_LOG VM_EXIT_STATUS
# A test a plan announced but that never reported (crash, timeout) counts as
# failed; so does a non-zero VM exit (kernel report, timeout) with no failing
# test to show for it. Exits non-zero unless everything passed.
set -u
log=${1:?usage: tap-summary.sh TAP_LOG VM_RC}
vmrc=${2:-0}
awk -v vmrc="$vmrc" '
	/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); planned += $0 + 0 }
	/^ok [0-9]+/ { if ($0 ~ /# *SKIP/) skipped++; else passed++; seen++ }
	/^not ok [0-9]+/ { failed++; seen++; print "FAILED: " $0 > "/dev/stderr" }
	END {
		if (planned > seen) {
			printf "MISSING: %d planned test(s) never reported\n", planned - seen > "/dev/stderr"
			failed += planned - seen
		}
		if (vmrc != 0 && failed == 0) {
			printf "VM: run failed with status %d (kernel report or timeout)\n", vmrc > "/dev/stderr"
			failed = 1
		}
		if (planned == 0 && seen == 0) failed = failed ? failed : 1
		if (skipped) printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
		else printf "%d passed, %d failed\n", passed, failed
		exit failed ? 1 : 0
	}' "$log"
