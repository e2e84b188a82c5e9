#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-native: natively on the host, the tophash map core built in
# userspace (kmod/tophash_core.c unchanged, selftests/core/shim with
# -DTH_SHIM_BENCH) vs Go 1.19's classic map vs abseil's flat_hash_map, on
# the same key streams (bench/native/keys.h). Builds the three drivers,
# runs them interleaved (each run: for each size, the three one after the
# other, the order rotating from run to run), counts instructions per
# operation of every workload with callgrind where valgrind exists (all
# three: Go runs under callgrind with GOGC=off and
# GODEBUG=cpu.rdtscp=off,asyncpreemptoff=1, so that no collection and no
# preemption signal runs inside the counted phases), compares the native
# object's tophash_lookup_rcu() with tophash.ko's, and has bench/mkresults.py
# write the native section of bench/RESULTS.md (the in-guest section there
# is kept).
#
# Then the tracepoint cost (issue 4: compiled in but off must cost <= 2%
# against compiled out): tophash_native again with -DNOTRACE (every
# trace_<event>() empty, as include/linux/tracepoint.h makes them), the two
# builds alternated on the same keys and hash seeds (-c: insert, lookups,
# delete, churn; -s: the seed), and both counted by callgrind per
# operation. The counts decide; the times are shown beside them.
#
# Fails only when something breaks (a build, a driver, a checksum that
# differs between the three), never on the timings.
#
# Settings (environment):
#   NATIVE_RUNS=7                     interleaved runs; medians over them
#   NATIVE_SIZES="1024 131072 4194304"
#   NATIVE_TARGET=4000000             operations per measurement, at least
#   NATIVE_OUT=build/bench-native     binaries, raw output, logs
#   NATIVE_RESULTS=bench/RESULTS.md   the results file ("" = do not write)
#   NATIVE_GLIBC_THP=0                1: run tophash and abseil with
#                                     GLIBC_TUNABLES=glibc.malloc.hugetlb=1
#                                     (transparent huge pages for malloc;
#                                     Go's runtime asks for them itself)
#   NATIVE_CALLGRIND=1                0: skip the instruction counts
#   NATIVE_CG_SIZES="131072"          sizes the three drivers are counted at
#   NATIVE_TP_PAIRS=12                tracepoint cost: alternated pairs
#                                     (off, compiled out) per size below 1M
#   NATIVE_TP_PAIRS_LARGE=3           the same, sizes of 1M and more
#   NATIVE_TP_TARGET=1000000          its operations per measurement
#   NATIVE_TP_CALLGRIND_SIZES="1024 131072 4194304"
#                                     its callgrind counts ("" = none; at 4M
#                                     ~85 s, the two builds side by side)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
RUNS=${NATIVE_RUNS:-7}
SIZES=${NATIVE_SIZES:-"1024 131072 4194304"}
TARGET=${NATIVE_TARGET:-4000000}
OUT=${NATIVE_OUT:-$root/build/bench-native}
RESULTS=${NATIVE_RESULTS-$root/bench/RESULTS.md}
THP=${NATIVE_GLIBC_THP:-0}
CALLGRIND=${NATIVE_CALLGRIND:-1}
TP_PAIRS=${NATIVE_TP_PAIRS:-12}
TP_PAIRS_LARGE=${NATIVE_TP_PAIRS_LARGE:-3}
TP_TARGET=${NATIVE_TP_TARGET:-1000000}
TP_CG_SIZES=${NATIVE_TP_CALLGRIND_SIZES-"1024 131072 4194304"}
CG_SIZES=${NATIVE_CG_SIZES:-131072}
start=$(date +%s)

bash scripts/deps.sh bench
mkdir -p "$OUT"
raw=$OUT/native.out
: > "$raw"

# ---- build: each peer with its normal release flags ----
ABSL_PKGS="absl_raw_hash_set absl_hash"
TH_CMD="gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-sign-compare -DTH_SHIM_BENCH \
-Iselftests/core/shim -Ikmod/include -o $OUT/tophash_native \
bench/native/tophash_native.c selftests/core/shim/shim.c -lurcu-qsbr -lpthread"
# The same with every tracepoint compiled out (kmod/'s -DNOTRACE for make bench).
TH_NOTRACE_CMD=${TH_CMD/ -DTH_SHIM_BENCH / -DTH_SHIM_BENCH -DNOTRACE }
TH_NOTRACE_CMD=${TH_NOTRACE_CMD/"-o $OUT/tophash_native "/"-o $OUT/tophash_native_notrace "}
# shellcheck disable=SC2086
ABSL_CMD="g++ -O2 -DNDEBUG -std=c++17 -Wall -Wextra -Werror \
$(pkg-config --cflags $ABSL_PKGS) -o $OUT/absl_native bench/native/absl_native.cc \
$(pkg-config --libs $ABSL_PKGS)"
GO_CMD="go build -o $OUT/go_native bench/native/go_native.go"
export GOCACHE=$OUT/go-cache GOPATH=$OUT/gopath GOENV=off GOFLAGS=
for c in "$TH_CMD" "$TH_NOTRACE_CMD" "$ABSL_CMD" "$GO_CMD"; do
	echo "bench-native: ${c//$root\//}" >&2
	eval "$c"
done

say() { echo "native-env: $1=$2" >> "$raw"; }
lscpu_field() { lscpu | sed -n "s/^$1:[[:space:]]*//p" | head -n 1; }
say cpu "$(lscpu_field 'Model name')"
say nproc "$(nproc)"
say hypervisor "$(lscpu_field 'Hypervisor vendor')"
say caches "L1d $(lscpu_field 'L1d cache'), L2 $(lscpu_field 'L2 cache'), L3 $(lscpu_field 'L3 cache')"
say mem "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
say kernel "$(uname -r)"
say thp "$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo '?')"
say gcc "$(gcc --version | head -n 1)"
say gxx "$(g++ --version | head -n 1)"
say go "$(go version)"
say absl "libabsl-dev $(dpkg-query -W -f='${Version}' libabsl-dev) (pkg-config absl_raw_hash_set $(pkg-config --modversion absl_raw_hash_set))"
say urcu "liburcu-dev $(dpkg-query -W -f='${Version}' liburcu-dev)"
say glibc "$(ldd --version | head -n 1)"
counters="no perf"
if command -v perf >/dev/null; then
	pout=$(perf stat -e instructions true 2>&1 || true)
	case "$pout" in
	*"not supported"* | *"not counted"* | *rror*) counters=no ;;
	*instructions*) counters=yes ;;
	*) counters=no ;;
	esac
fi
say perf_counters "$counters"
say build_tophash "${TH_CMD//$root\//}"
say build_tophash_notrace "${TH_NOTRACE_CMD//$root\//}"
say tp_core "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), kmod/tophash_core.c sha256 $(sha256sum kmod/tophash_core.c | cut -c 1-12)"
# jump-label sites in the off build: __th_jump_table holds 8 bytes a site
say tp_sites "$(size -A "$OUT/tophash_native" | awk '$1 == "__th_jump_table" { print $2 / 8 }')"
say tp_text "off $(size -A "$OUT/tophash_native" | awk '$1 == ".text" { print $2 }'), notrace $(size -A "$OUT/tophash_native_notrace" | awk '$1 == ".text" { print $2 }')"
say build_abseil "${ABSL_CMD//$root\//}"
say build_go "${GO_CMD//$root\//}"
say runs "$RUNS"
say sizes "$SIZES"
say target "$TARGET"
say glibc_thp "$THP"

# ---- the interleaved runs ----
impls=(tophash go abseil)
bin_of() {
	case $1 in
	tophash) echo "$OUT/tophash_native" ;;
	go) echo "$OUT/go_native" ;;
	abseil) echo "$OUT/absl_native" ;;
	esac
}
env_of() {
	if [ "$THP" = 1 ] && [ "$1" != go ]; then
		echo GLIBC_TUNABLES=glibc.malloc.hugetlb=1
	else
		echo BENCH_NATIVE=1
	fi
}
say run_command "for each run r, each size n, each impl (rotating): <impl>_native -n n -t $TARGET -r r"
for r in $(seq 1 "$RUNS"); do
	for n in $SIZES; do
		for k in 0 1 2; do
			impl=${impls[$(( (r - 1 + k) % 3 ))]}
			t0=$(date +%s.%N)
			if ! env "$(env_of "$impl")" "$(bin_of "$impl")" -n "$n" -t "$TARGET" \
				-r "$r" >> "$raw" 2> "$OUT/$impl.err"; then
				cat "$OUT/$impl.err" >&2
				echo "bench-native: $impl -n $n failed (run $r)" >&2
				exit 1
			fi
			awk -v r="$r" -v R="$RUNS" -v n="$n" -v i="$impl" -v a="$t0" \
				-v b="$(date +%s.%N)" 'BEGIN { printf "bench-native: run %d/%d n=%-8s %-8s %5.1fs\n", r, R, n, i, b - a }' >&2
		done
	done
done

# "function instructions" lines, sorted by name: the inclusive counts of the
# functions whose names match the regex in a callgrind output file.
cg_inclusive() {	# callgrind.out regex
	callgrind_annotate --inclusive=yes "$1" > "$1.txt" 2>/dev/null
	python3 - "$1.txt" "$2" <<'EOF'
import re, sys
seen = {}
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*?:(" + sys.argv[2] + r")\b", line)
    if m and m.group(2) not in seen:
        seen[m.group(2)] = int(m.group(1).replace(",", ""))
for fn, ir in sorted(seen.items()):
    print(fn, ir)
EOF
}

# ---- memory after a 90% drain (issue 12): each driver's -D, once ----
DRAIN_N=${NATIVE_DRAIN_N:-1000000}
say drain_command "<impl>_native -n $DRAIN_N -D"
for impl in tophash go abseil; do
	if ! "$(bin_of "$impl")" -n "$DRAIN_N" -D >> "$raw" 2> "$OUT/$impl.err"; then
		cat "$OUT/$impl.err" >&2
		echo "bench-native: $impl -D failed" >&2
		exit 1
	fi
done

# ---- instructions per operation (callgrind: counts, not timings) ----
# Each driver at each NATIVE_CG_SIZES n, one repetition (-t n): every phase
# function's inclusive instruction count over its operations ("fn" lines),
# and the calls it makes into its map ("call" lines: the callee's
# inclusive count and number of calls, from callgrind_annotate's call tree).
# Go's function names carry its package: main.inserts, main.lookupsHit, ...
cg_phases() {	# callgrind.out impl n
	callgrind_annotate --inclusive=yes --tree=calling "$1" > "$1.tree" 2>/dev/null
	python3 - "$1.tree" "$2" "$3" <<'EOF2'
import re, sys
path, impl, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
# phase function -> operations it did
ops = {"inserts": n, "lookups_hit": n, "lookups_miss": n, "lookups_dep": n,
       "deletes": n, "churn": 2 * (n // 2), "lookups_rcu_hit": n,
       "lookups_rcu_miss": n, "lookups_batch_hit": n, "lookups_batch_miss": n}
go = {"main.inserts": "inserts", "main.lookupsHit": "lookups_hit",
      "main.lookupsMiss": "lookups_miss", "main.lookupsDep": "lookups_dep",
      "main.deletes": "deletes", "main.churn": "churn"}
# the map's own entry points, as callees of a phase function
calls = ("tophash_lookup", "tophash_lookup_rcu", "tophash_update",
         "tophash_delete", "runtime.mapaccess2_fast64",
         "runtime.mapassign_fast64", "runtime.mapdelete_fast64")
line_re = re.compile(r"\s*([\d,]+) \([^)]*\)\s+([*> ])\s+\S*?:([\w.]+)(?:'\d+)?(?: \(([\d,]+)x\))?")
cur = None
seen = set()
for line in open(path, errors="replace"):
    m = line_re.match(line)
    if not m:
        continue
    ir, mark, fn, ncalls = int(m.group(1).replace(",", "")), m.group(2), m.group(3), m.group(4)
    base = go.get(fn, fn.split(".constprop")[0].split(".isra")[0])
    if mark == "*":
        cur = base if base in ops else None
        if cur and cur not in seen:
            seen.add(cur)
            print(f"native-ir: impl={impl} n={n} kind=fn fn={cur} ops={ops[cur]} ir={ir}")
    elif mark == ">" and cur and fn in calls and ncalls:
        ncalls = ncalls.replace(",", "")
        print(f"native-ir: impl={impl} n={n} kind=call fn={cur} callee={fn} calls={ncalls} ir={ir}")
EOF2
}
if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
	for cn in $CG_SIZES; do
		for impl in tophash go abseil; do
			cg=$OUT/callgrind.$impl.$cn.out
			t0=$(date +%s)
			env GOGC=off GODEBUG=cpu.rdtscp=off,asyncpreemptoff=1 \
				valgrind --tool=callgrind --callgrind-out-file="$cg" \
				"$(bin_of "$impl")" -n "$cn" -t "$cn" -r callgrind \
				> /dev/null 2> "$cg.log" || {
				tail -n 20 "$cg.log" >&2
				echo "bench-native: callgrind of $impl -n $cn failed" >&2
				exit 1
			}
			cg_phases "$cg" "$impl" "$cn" > "$cg.ir"
			[ "$(grep -c 'kind=fn' "$cg.ir")" -ge 6 ] || {
				cat "$cg.ir" >&2
				echo "bench-native: callgrind of $impl -n $cn: phase functions missing" >&2
				exit 1
			}
			cat "$cg.ir" >> "$raw"
			echo "bench-native: callgrind $impl n=$cn $(( $(date +%s) - t0 ))s" >&2
		done
	done
fi

# ---- is the native build the code the kernel runs? ----
# tophash_lookup_rcu() in tophash.ko (built by make bench) and in the native
# driver: instructions, prefetches, multiplies and 64-bit constants of each.
codecmp() {	# object label
	objdump -d --no-show-raw-insn "$1" | python3 -c '
import re, sys
on, n, pf, mul, k = False, 0, 0, 0, set()
for line in sys.stdin:
    if re.match(r"[0-9a-f]+ <.*>:$", line):
        on = line.rstrip().endswith("<tophash_lookup_rcu>:")
        continue
    m = re.match(r"\s*[0-9a-f]+:\t(\S+)\s*(\S*)", line)
    if not on or not m:
        continue
    n += 1
    op, arg = m.groups()
    pf += op.startswith("prefetch")
    mul += op in ("mul", "imul", "mulx")
    if op == "movabs":
        k.add(arg.split(",")[0].lstrip("$"))
print("native-code: obj=%s insns=%d prefetch=%d mul=%d constants=%s"
      % (sys.argv[1], n, pf, mul, ",".join(sorted(k))))
' "$2"
}
if [ -f kmod/tophash.ko ]; then
	codecmp kmod/tophash.ko ko >> "$raw"
	codecmp "$OUT/tophash_native" native >> "$raw"
fi

# ---- tracepoints compiled in but off vs compiled out ----
# Pairs on the same keys and hash seed (-s = the pair's number), the order
# alternating (off first in odd pairs), "native:" lines relabelled
# "native-tp: build=off|notrace" so they stay out of the tables above.
tp_bin() { [ "$1" = off ] && echo "$OUT/tophash_native" || echo "$OUT/tophash_native_notrace"; }
tp_run() {	# build n pair [driver args...]
	local b=$1 n=$2 r=$3 t0
	shift 3
	t0=$(date +%s.%N)
	if ! "$(tp_bin "$b")" -n "$n" -r "$r" -c "$@" > "$OUT/tp.out" 2> "$OUT/tp.err"; then
		cat "$OUT/tp.err" >&2
		echo "bench-native: tophash ($b) -n $n failed (pair $r)" >&2
		exit 1
	fi
	sed -n "s/^native: impl=[a-z_]* /native-tp: build=$b /p" "$OUT/tp.out" >> "$raw"
	awk -v r="$r" -v n="$n" -v b="$b" -v a="$t0" -v e="$(date +%s.%N)" \
		'BEGIN { printf "bench-native: tracepoints pair %s n=%-8s %-8s %5.1fs\n", r, n, b, e - a }' >&2
}
say tp_run_command "for each size n, pairs p = 1..P (P = $TP_PAIRS; $TP_PAIRS_LARGE from 1M entries), off and notrace, off first when p is odd: tophash_native[_notrace] -n n -t $TP_TARGET -r p -c -s p"
for n in $SIZES; do
	pairs=$TP_PAIRS
	[ "$n" -ge 1048576 ] && pairs=$TP_PAIRS_LARGE
	for p in $(seq 1 "$pairs"); do
		if [ $((p % 2)) = 1 ]; then order="off notrace"; else order="notrace off"; fi
		for b in $order; do
			tp_run "$b" "$n" "$p" -t "$TP_TARGET" -s "$p"
		done
	done
done

# Instructions per operation of each phase function (inclusive), one
# repetition (-t 1: n inserts from empty, n hits and n misses, n deletes,
# n/2 churn pairs), seed 1 in both builds: deterministic counts, so the two builds
# run at the same time (no timing is taken any more).
if [ "$CALLGRIND" = 1 ] && [ -n "$TP_CG_SIZES" ] && command -v valgrind >/dev/null; then
	for n in $TP_CG_SIZES; do
		t0=$(date +%s)
		declare -A cgpid=()
		for b in off notrace; do
			cg=$OUT/callgrind.tp-$b-$n.out
			valgrind --tool=callgrind --callgrind-out-file="$cg" "$(tp_bin "$b")" \
				-n "$n" -t 1 -r callgrind -c -s 1 > /dev/null 2> "$cg.log" &
			cgpid[$b]=$!
		done
		for b in off notrace; do
			cg=$OUT/callgrind.tp-$b-$n.out
			wait "${cgpid[$b]}" || {
				kill "${cgpid[@]}" 2>/dev/null || true
				tail -n 20 "$cg.log" >&2
				echo "bench-native: callgrind of tophash ($b) -n $n failed" >&2
				exit 1
			}
			# inserts (n), lookups_hit and lookups_miss (n each), deletes (n),
			# churn (n/2 pairs)
			cg_inclusive "$cg" 'inserts|lookups_hit|lookups_miss|deletes|churn' > "$cg.ir"
			[ "$(cut -d ' ' -f 1 "$cg.ir" | tr '\n' ' ')" = "churn deletes inserts lookups_hit lookups_miss " ] || {
				echo "bench-native: callgrind of tophash ($b) -n $n: found $(cut -d ' ' -f 1 "$cg.ir")" >&2
				exit 1
			}
			awk -v b="$b" -v n="$n" '{
				ops = $1 == "churn" ? 2 * int(n / 2) : n
				printf "native-tp-ir: build=%s n=%d fn=%s ops=%d ir=%s\n", b, n, $1, ops, $2 }' \
				"$cg.ir" >> "$raw"
		done
		echo "bench-native: callgrind tophash (off, notrace) n=$n $(( $(date +%s) - t0 ))s" >&2
	done
fi

elapsed=$(( $(date +%s) - start ))
say elapsed "$elapsed"
echo "bench-native: raw output in ${raw//$root\//} (${elapsed}s)" >&2
if [ -n "$RESULTS" ]; then
	python3 bench/mkresults.py --native "$raw" --out "$RESULTS" \
		--native-command "make bench-native (bash bench/native/run.sh; NATIVE_RUNS=$RUNS NATIVE_TARGET=$TARGET NATIVE_GLIBC_THP=$THP)"
fi
