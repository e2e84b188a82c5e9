#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# For each TH_WEAKEN_* switch of kmod/tophash_core.c, build the lockless
# stress (core_stress.c) with the switch in a ThreadSanitizer and an
# ASan+UBSan build, run both, and say which test caught the weakened pair:
# a TSan report, an invariant of the stress (torn/foreign value, missing
# stable key, map structure), an ASan report, or a crash/hang. A switch that
# nothing catches is printed NOT CAUGHT. The unweakened build runs first;
# anything it reports fails the run (exit 1) and is not credited to a switch.
#
# usage: check-ordering.sh WORK_DIR TABLE_FILE   (ORDERING_SECONDS, ORDERING_SEED)
set -u
work=${1:?usage: check-ordering.sh WORK_DIR TABLE_FILE}
table=${2:?usage: check-ordering.sh WORK_DIR TABLE_FILE}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${ORDERING_SECONDS:-4}
seed=${ORDERING_SEED:-1}
mkdir -p "$work" "$(dirname "$table")"

switches=(NONE TH_WEAKEN_SLOT_RELEASE TH_WEAKEN_SLOT_ACQUIRE TH_WEAKEN_EVAC_RELEASE
	  TH_WEAKEN_TABLE_PUBLISH TH_WEAKEN_OVF_PUBLISH TH_WEAKEN_SEQCOUNT
	  TH_WEAKEN_GRACE TH_WEAKEN_SEED_ONCE TH_WEAKEN_OVF_CUT
	  TH_WEAKEN_SHRINK_DELETE_STRIPE)
declare -A pair=(
	[NONE]="(nothing weakened)"
	[TH_WEAKEN_SLOT_RELEASE]="new slot: tophash store-release -> reader acquire"
	[TH_WEAKEN_SLOT_ACQUIRE]="reader's tophash load-acquire <- slot/mark release"
	[TH_WEAKEN_EVAC_RELEASE]="evacuated mark store-release -> reader acquire"
	[TH_WEAKEN_TABLE_PUBLISH]="rcu_assign_pointer(m->tbl) -> rcu_dereference"
	[TH_WEAKEN_OVF_PUBLISH]="overflow link rcu_assign_pointer -> rcu_dereference"
	[TH_WEAKEN_SEQCOUNT]="write_seqcount_end -> read_seqcount_retry"
	[TH_WEAKEN_GRACE]="call_rcu() free after a grace period"
	[TH_WEAKEN_SEED_ONCE]="seed halves WRITE_ONCE -> READ_ONCE"
	[TH_WEAKEN_OVF_CUT]="mark, smp_wmb, cut link -> NULL link, smp_rmb, recheck"
	[TH_WEAKEN_SHRINK_DELETE_STRIPE]="old-chain delete mid-shrink: seqcount of the old index"
)

cflags=(-g -std=gnu11 -Wall -Wextra -Werror -Wno-sign-compare
	-Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-function
	-I"$root/selftests/core/shim" -I"$root/kmod/include")
src=("$root/selftests/core/core_stress.c" "$root/selftests/core/shim/shim.c")
libs=(-lurcu-memb -lpthread -lm)
asan=(-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all)

build() {
	local sw=$1 def=()
	[ "$sw" = NONE ] || def=(-D"$sw")
	clang -O1 -fsanitize=thread "${cflags[@]}" "${def[@]}" -o "$work/tsan-$sw" "${src[@]}" "${libs[@]}" &&
	clang "${asan[@]}" "${cflags[@]}" "${def[@]}" -o "$work/asan-$sw" "${src[@]}" "${libs[@]}" &&
	gcc -O2 "${cflags[@]}" -Wno-unused-parameter -I"${KSRC:-$root/build/cache/ksrc}/tools/testing/selftests" \
		"${def[@]}" -o "$work/unit-$sw" "$root/selftests/core/core_unit.c" \
		"$root/selftests/core/shim/shim.c" "${libs[@]}"
}

# What one run's log shows, as a short comma-separated list ("-" for nothing).
findings() {
	local log=$1 rc=$2 f=() n what
	n=$(grep -c "WARNING: ThreadSanitizer" "$log")
	if [ "$n" -gt 0 ]; then
		what=$(grep -m1 -o "WARNING: ThreadSanitizer: [a-z -]*" "$log" | sed 's/WARNING: ThreadSanitizer: //; s/ *(.*//; s/ *$//')
		f+=("TSan $what x$n")
	fi
	grep -q "ERROR: AddressSanitizer" "$log" &&
		f+=("ASan $(grep -m1 -o 'ERROR: AddressSanitizer: [a-z-]*' "$log" | sed 's/.*: //')")
	grep -q "runtime error:" "$log" && f+=("UBSan")
	grep -q "INVARIANT: torn or foreign" "$log" && f+=("torn/foreign value")
	grep -q "INVARIANT: missing stable" "$log" && f+=("missing stable key")
	grep -q "INVARIANT: map structure" "$log" && f+=("map structure")
	grep -q "^not ok" "$log" && f+=("unit test $(grep -m1 '^not ok' "$log" | sed 's/^not ok [0-9]* //')")
	[ "$rc" -eq 124 ] && f+=("hang (timeout)")
	[ "$rc" -gt 128 ] && [ "$rc" -ne 124 ] && f+=("crash (signal $((rc - 128)))")
	if [ ${#f[@]} -eq 0 ] && [ "$rc" -ne 0 ]; then
		f+=("exit $rc")
	fi
	if [ ${#f[@]} -eq 0 ]; then
		echo "-"
	else
		local IFS=';'
		echo "${f[*]}" | sed 's/;/; /g'
	fi
}

# The first race's two accesses, by the first core function on each stack.
race_site() {
	awk '/WARNING: ThreadSanitizer/ { on = 1; n = 0 }
	     on && /^  [A-Z].* (of size|by)/ { n++ }
	     on && /tophash_core\.c:/ && !seen[n]++ { printf "%s%s", sep, $2; sep = " vs " }
	     on && /^  Location|^SUMMARY/ { exit }' "$1"
}

echo "check-ordering: building ${#switches[@]} x 2 stress variants in $work"
for sw in "${switches[@]}"; do
	build "$sw" >"$work/build-$sw.log" 2>&1 &
	while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n; done
done
wait
for sw in "${switches[@]}"; do
	if [ ! -x "$work/tsan-$sw" ] || [ ! -x "$work/asan-$sw" ] || [ ! -x "$work/unit-$sw" ]; then
		echo "check-ordering: build with $sw failed:" >&2
		cat "$work/build-$sw.log" >&2
		exit 1
	fi
done

declare -A tres ares ures site
for sw in "${switches[@]}"; do
	echo "check-ordering: running $sw (${secs}s each)"
	TSAN_OPTIONS="halt_on_error=0 exitcode=66" timeout $((secs * 5 + 30)) \
		setarch "$(uname -m)" -R "$work/tsan-$sw" -t "$secs" -s "$seed" >"$work/tsan-$sw.log" 2>&1
	tres[$sw]=$(findings "$work/tsan-$sw.log" $?)
	site[$sw]=$(race_site "$work/tsan-$sw.log")
	ASAN_OPTIONS="detect_leaks=1" timeout $((secs * 5 + 30)) \
		"$work/asan-$sw" -t "$secs" -s "$seed" >"$work/asan-$sw.log" 2>&1
	ares[$sw]=$(findings "$work/asan-$sw.log" $?)
	timeout 120 "$work/unit-$sw" >"$work/unit-$sw.log" 2>&1
	ures[$sw]=$(findings "$work/unit-$sw.log" $?)
done

# A finding the unweakened build shows too says nothing about the switch.
credit() {
	local sw=$1 out=() item all="${tres[$1]};${ares[$1]};${ures[$1]}" IFS=';'
	for item in $all; do
		item=${item# }
		item=${item%% x[0-9]*}
		{ [ -z "$item" ] || [ "$item" = - ]; } && continue
		case ";${tres[NONE]};${ares[NONE]};${ures[NONE]};" in
		*"$item"*) continue ;;
		esac
		case ";${out[*]};" in
		*"$item"*) ;;
		*) out+=("$item") ;;
		esac
	done
	if [ ${#out[@]} -eq 0 ]; then
		echo "NOT CAUGHT"
	else
		echo "caught: ${out[*]}" | sed 's/;/, /g'
	fi
}

{
	printf '%-14s %-51s %-34s %-26s %-30s %s\n' switch "pair weakened" "ThreadSanitizer stress" \
		"ASan+UBSan stress" "unit tests" verdict
	for sw in "${switches[@]}"; do
		v=$(credit "$sw")
		[ "$sw" = NONE ] && v=$([ "${tres[NONE]}${ares[NONE]}${ures[NONE]}" = "---" ] && echo clean || echo "REPORTS: fix first")
		printf '%-14s %-51s %-34s %-26s %-30s %s\n' "${sw#TH_WEAKEN_}" "${pair[$sw]}" "${tres[$sw]}" \
			"${ares[$sw]}" "${ures[$sw]}" "$v"
	done
	echo
	echo "First race per TSan build (core functions of the two accesses):"
	for sw in "${switches[@]}"; do
		[ -n "${site[$sw]}" ] && printf '  %-14s %s\n' "${sw#TH_WEAKEN_}" "${site[$sw]}"
	done
	echo
	echo "stress: $secs s per build, seed $seed; logs in $work"
} | tee "$table"

if [ "${tres[NONE]}${ares[NONE]}${ures[NONE]}" != "---" ]; then
	echo "check-ordering: the unweakened build reported something (see $work/*-NONE.log)" >&2
	exit 1
fi
exit 0
