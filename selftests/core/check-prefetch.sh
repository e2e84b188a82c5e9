#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The single-key lookup must prefetch its bucket's cache lines, in the
# kernel module and in the native (userspace, bench/native) build alike:
# fails when tophash_lookup_rcu() in either object holds no prefetch
# instruction. Writes OUT/summary ("PASSED FAILED", for make check's
# summary line) and says how many prefetches each object holds.
#
# usage: check-prefetch.sh KO OUT
set -u
ko=${1:?usage: check-prefetch.sh KO OUT}
out=${2:?usage: check-prefetch.sh KO OUT}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
rm -f "$out/summary"
passed=0
failed=0

# The native object as bench/native/run.sh builds it (compiled, not linked).
native=$out/tophash_native.o
if ! gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-sign-compare -DTH_SHIM_BENCH \
	-I"$root/selftests/core/shim" -I"$root/kmod/include" -c \
	-o "$native" "$root/bench/native/tophash_native.c"; then
	echo "check-prefetch: building the native object failed" >&2
	native=
fi

# Prefetch instructions in function $2 of object $1 ("" when it is absent).
prefetches() {
	objdump -d --no-show-raw-insn "$1" 2>/dev/null | awk -v fn="<$2>:" '
		$2 == fn { on = 1; found = 1; next }
		on && /^[0-9a-f]+ <.*>:$/ { on = 0 }
		on && /\tprefetch(t0|t1|t2|nta|w) / { n++ }
		END { if (found) print n + 0 }'
}

for obj in "$ko" "$native"; do
	n=
	[ -n "$obj" ] && [ -f "$obj" ] && n=$(prefetches "$obj" tophash_lookup_rcu)
	name=${obj#"$root"/}
	if [ -z "$n" ]; then
		echo "FAILED check-prefetch: no tophash_lookup_rcu() in ${name:-the native object}"
		failed=$((failed + 1))
	elif [ "$n" -eq 0 ]; then
		echo "FAILED check-prefetch: tophash_lookup_rcu() in $name has no prefetch instruction"
		failed=$((failed + 1))
	else
		echo "ok     check-prefetch: tophash_lookup_rcu() in $name: $n prefetch instructions"
		passed=$((passed + 1))
	fi
done
echo "$passed $failed" > "$out/summary"
[ "$failed" -eq 0 ]
