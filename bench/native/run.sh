#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-native: natively on the host, the tophash map core built in
# userspace (kmod/tophash_core.c unchanged, selftests/core/shim with
# -DTH_SHIM_BENCH) vs Go 1.19's classic map vs abseil's flat_hash_map, on
# the same key streams (bench/native/keys.h). Builds the three drivers,
# runs them interleaved (each run: for each size, the three one after the
# other, the order rotating from run to run), counts instructions per
# lookup with callgrind where valgrind exists (tophash and abseil: valgrind
# cannot run Go binaries), and has bench/mkresults.py write the native
# section of bench/RESULTS.md (the in-guest section there is kept).
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
start=$(date +%s)

bash scripts/bench-deps.sh
mkdir -p "$OUT"
raw=$OUT/native.out
: > "$raw"

# ---- build: each peer with its normal release flags ----
ABSL_PKGS="absl_raw_hash_set absl_hash"
TH_CMD="gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-sign-compare -DTH_SHIM_BENCH \
-Iselftests/core/shim -Ikmod/include -o $OUT/tophash_native \
bench/native/tophash_native.c selftests/core/shim/shim.c -lurcu-memb -lpthread"
# shellcheck disable=SC2086
ABSL_CMD="g++ -O2 -DNDEBUG -std=c++17 -Wall -Wextra -Werror \
$(pkg-config --cflags $ABSL_PKGS) -o $OUT/absl_native bench/native/absl_native.cc \
$(pkg-config --libs $ABSL_PKGS)"
GO_CMD="go build -o $OUT/go_native bench/native/go_native.go"
export GOCACHE=$OUT/go-cache GOPATH=$OUT/gopath GOENV=off GOFLAGS=
for c in "$TH_CMD" "$ABSL_CMD" "$GO_CMD"; do
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

# ---- instructions per lookup (callgrind: counts, not timings) ----
# Each driver at n=131072, one repetition: its lookups functions' inclusive
# instruction counts over the lookups they made.
if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
	cn=131072
	for impl in tophash abseil; do
		cg=$OUT/callgrind.$impl.out
		valgrind --tool=callgrind --callgrind-out-file="$cg" "$(bin_of "$impl")" \
			-n $cn -t $cn -r callgrind > /dev/null 2> "$OUT/callgrind.$impl.log" || {
			tail -n 20 "$OUT/callgrind.$impl.log" >&2
			echo "bench-native: callgrind of $impl failed" >&2
			exit 1
		}
		callgrind_annotate --inclusive=yes "$cg" > "$cg.txt" 2>/dev/null
		# lookups (hits + misses: 2n), lookups_rcu (2n), lookups_dep (n)
		python3 - "$impl" "$cn" "$cg.txt" >> "$raw" <<'EOF'
import re, sys
impl, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
per = {"lookups": 2 * n, "lookups_rcu": 2 * n, "lookups_dep": n}
seen = {}
for line in open(path, errors="replace"):
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*?:(lookups(?:_rcu|_dep)?)\b", line)
    if m and m.group(2) not in seen:
        seen[m.group(2)] = int(m.group(1).replace(",", ""))
for fn, ir in sorted(seen.items()):
    print(f"native-ir: impl={impl} n={n} fn={fn} lookups={per[fn]} ir={ir}")
EOF
	done
	echo "bench-native: callgrind done" >&2
fi

elapsed=$(( $(date +%s) - start ))
say elapsed "$elapsed"
echo "bench-native: raw output in ${raw//$root\//} (${elapsed}s)" >&2
if [ -n "$RESULTS" ]; then
	python3 bench/mkresults.py --native "$raw" --out "$RESULTS" \
		--native-command "make bench-native (bash bench/native/run.sh; NATIVE_RUNS=$RUNS NATIVE_TARGET=$TARGET NATIVE_GLIBC_THP=$THP)"
fi
