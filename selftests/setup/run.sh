#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Offline tests of the set-up scripts: which Debian kernel
# scripts/resolve-kernel.sh chooses, and what scripts/lib-apt.sh says when a
# package is in no configured source, against recorded apt-cache answers
# (apt/: `apt-cache madison` of the kernel packages and `apt-cache policy`
# of a bookworm machine with all three suites, recorded 2026-12-03, when the
# pin 6.1.0-56 was 6.1.192-2 and the newest ABI 6.1.0-57). Each scenario
# edits that recording the way the archive moves: a pin that left, a suite
# that is not configured, an ABI whose image or source is missing.
# Prints one line per test and "setup-check: N passed, N failed"; writes
# "PASSED FAILED" to OUT/summary. Exit status 1 if any failed.
# Usage: run.sh OUT_DIR
set -u
out=${1:?usage: run.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "$here/../../scripts" && pwd)
rec=$here/apt/archive-2026-12-03.madison
three=$here/apt/policy-three-suites
main_only=$here/apt/policy-bookworm-only
mkdir -p "$out"
rm -f "$out/summary"
passed=0 failed=0

# a pin file as scripts/kernel.env writes it
printf 'KABI=6.1.0-56\nKPKGVER=6.1.192-2\n' >"$out/kernel.env"
export TOPHASH_KERNEL_ENV=$out/kernel.env

ok() { printf 'ok     %s\n' "$1"; passed=$((passed + 1)); }
bad() { printf 'FAILED %s: %s\n' "$1" "$2"; failed=$((failed + 1)); }

# resolve NAME MADISON POLICY: run the resolver, stdout to NAME.out, stderr
# to NAME.err; sets rc
resolve() {
	TOPHASH_APT_MADISON=$2 TOPHASH_APT_POLICY=$3 \
		bash "$scripts/resolve-kernel.sh" >"$out/$1.out" 2>"$out/$1.err"
	rc=$?
}
# expect NAME ABI VERSION CHOICE: the resolver chose that kernel
expect() {
	local got
	if [ "$rc" -ne 0 ]; then
		bad "$1" "exit $rc: $(tr '\n' ' ' <"$out/$1.err")"
		return
	fi
	got=$(. "$out/$1.out" && echo "$KABI $KPKGVER $KCHOICE")
	if [ "$got" = "$2 $3 $4" ]; then
		ok "$1"
	else
		bad "$1" "chose '$got', expected '$2 $3 $4'"
	fi
}
# says NAME FILE TEXT: FILE of the test holds TEXT
says() {
	if grep -qF -- "$3" "$out/$1.$2"; then ok "$1 says: $3"; else bad "$1" "$2 lacks: $3"; fi
}
# scenario NAME GREP-ARGS...: the recording without the lines GREP-ARGS match
scenario() {
	local name=$1
	shift
	grep -v "$@" "$rec" >"$out/$name.madison"
	echo "$out/$name.madison"
}

resolve pin_in_archive "$rec" "$three"
expect pin_in_archive 6.1.0-56 6.1.192-2 pin
[ ! -s "$out/pin_in_archive.err" ] && ok "pin_in_archive says nothing on stderr" ||
	bad pin_in_archive "stderr: $(cat "$out/pin_in_archive.err")"

# The pin's uploads left the archive: the newest complete ABI.
resolve stale_pin "$(scenario stale_pin -F ' 6.1.192-2 |')" "$three"
expect stale_pin 6.1.0-57 6.1.192-3 newest
says stale_pin err "the pin 6.1.0-56 (6.1.192-2) in scripts/kernel.env is not in the configured apt sources"
says stale_pin err "using the newest usable ABI instead: 6.1.0-57 (6.1.192-3, from bookworm-security)"
says stale_pin out "KNOTE="

# debootstrap's default sources: bookworm main only. The newest ABI there,
# and the advice to add bookworm-security.
resolve missing_suite "$(scenario missing_suite -e bookworm-security -e bookworm-updates)" "$main_only"
expect missing_suite 6.1.0-50 6.1.176-1 newest
says missing_suite err "your apt sources lack that suite: add 'deb http://deb.debian.org/debian-security bookworm-security main'"

# The newest ABI's image is not there (yet): the next one down is complete.
resolve headers_without_image "$(scenario headers_without_image -e ' 6.1.192-2 |' \
	-e '^linux-image-6.1.0-57-amd64-unsigned ')" "$three"
expect headers_without_image 6.1.0-55 6.1.192-1 newest

# The newest ABI's image is of another upload than its headers.
sed -e 's/^\(linux-image-6.1.0-57-amd64-unsigned |  \)6.1.192-3/\16.1.192-4/' \
	"$(scenario image_other_upload -F ' 6.1.192-2 |')" >"$out/image_other_upload.m2"
resolve image_other_upload "$out/image_other_upload.m2" "$three"
expect image_other_upload 6.1.0-55 6.1.192-1 newest

# linux-source-6.1 of the newest upload is missing.
resolve source_missing "$(scenario source_missing -e ' 6.1.192-2 |' \
	-e '^linux-source-6.1 |  6.1.192-3')" "$three"
expect source_missing 6.1.0-55 6.1.192-1 newest

# linux-kbuild-6.1 is older than the newest headers want (a suite missing
# its kbuild upload): that ABI cannot be installed.
resolve kbuild_too_old "$(scenario kbuild_too_old -e ' 6.1.192-2 |' \
	-e '^linux-kbuild-6.1 |  6.1.192-3')" "$three"
expect kbuild_too_old 6.1.0-50 6.1.176-1 newest

# Nothing usable: exit 1, name the packages and the suite to add.
grep '^linux-headers-' "$rec" | grep -v security >"$out/nothing.madison"
resolve nothing "$out/nothing.madison" "$main_only"
if [ "$rc" = 1 ] && [ ! -s "$out/nothing.out" ]; then ok "nothing_usable exits 1, writes nothing"; else bad nothing_usable "exit $rc, out: $(cat "$out/nothing.out")"; fi
says nothing err "no usable Debian 6.1 kernel in the configured apt sources (suites: bookworm)"
says nothing err "linux-image-6.1.0-56-amd64-unsigned=6.1.192-2"
says nothing err "add 'deb http://deb.debian.org/debian-security bookworm-security main'"

# guest/run-kselftests.sh, on stand-in tests (and a stand-in insmod): a
# test that exits 4 (KSFT_SKIP) is counted skipped and does not fail the
# run, one that exits 1 does; tophash_test runs first, lifecycle_test last.
runner_case() { # NAME EXIT-STATUS-OF-THE-MIDDLE-TEST
	local d=$out/$1
	rm -rf "$d" && mkdir -p "$d/bin"
	printf '#!/bin/sh\nexit 0\n' >"$d/bin/insmod"
	printf '#!/bin/sh\necho "1..1"; echo "ok 1 %s"\n' first >"$d/tophash_test"
	printf '#!/bin/sh\necho "1..0"; exit %s\n' "$2" >"$d/middle_test"
	printf '#!/bin/sh\necho "1..1"; echo "ok 1 %s"\n' last >"$d/lifecycle_test"
	chmod +x "$d/bin/insmod" "$d"/*_test
	PATH=$d/bin:$PATH TOPHASH_GUEST_DIR=$d sh "$here/../../guest/run-kselftests.sh" >"$d/tap.log" 2>&1
	echo $? >"$d/vm.rc"
}
runner_case runner_skip 4
if [ "$(cat "$out/runner_skip/vm.rc")" = 0 ] &&
	grep -q "^ok 1 selftests: tophash: middle_test # SKIP" "$out/runner_skip/tap.log" &&
	bash "$scripts/tap-summary.sh" "$out/runner_skip" 2>/dev/null | grep -qx "2 passed, 0 failed, 1 skipped"; then
	ok "run-kselftests.sh counts exit 4 as a skip"
else
	bad runner_skip "exit $(cat "$out/runner_skip/vm.rc"): $(tr '\n' ' ' <"$out/runner_skip/tap.log")"
fi
runner_case runner_fail 1
if [ "$(cat "$out/runner_fail/vm.rc")" = 1 ] && ! grep -q "# SKIP" "$out/runner_fail/tap.log"; then
	ok "run-kselftests.sh fails the run on exit 1"
else
	bad runner_fail "exit $(cat "$out/runner_fail/vm.rc"): $(tr '\n' ' ' <"$out/runner_fail/tap.log")"
fi
if [ "$(grep '^# selftest:' "$out/runner_skip/tap.log" | head -n 1)" = "# selftest: ./tophash_test" ] &&
	[ "$(grep '^# selftest:' "$out/runner_skip/tap.log" | tail -n 1)" = "# selftest: ./lifecycle_test" ]; then
	ok "run-kselftests.sh runs tophash_test first, lifecycle_test last"
else
	bad runner_order "$(grep '^# selftest:' "$out/runner_skip/tap.log" | tr '\n' ' ')"
fi

# lib-apt.sh: a package that no configured source has is named with the
# suite that carries it, and the line to add.
hint() { # NAME POLICY PKG
	( . "$scripts/lib-apt.sh"
	  TOPHASH_APT_POLICY=$2 TOPHASH_APT_WHERE_MADISON=$rec apt_unavailable_hint deps "$3" ) \
		>"$out/$1.out" 2>"$out/$1.err"
}
hint where_security "$main_only" linux-headers-6.1.0-56-amd64=6.1.192-2
says where_security err "deps: linux-headers-6.1.0-56-amd64=6.1.192-2 is in no configured apt source (yours: bookworm); Debian carries it in: bookworm-security."
says where_security err "add to /etc/apt/sources.list:  deb http://deb.debian.org/debian-security bookworm-security main"
hint where_gone "$three" linux-image-6.1.0-56-amd64-unsigned=6.1.190-9
says where_gone err "nor in any of Debian's bookworm bookworm-updates bookworm-security: it left the archive"
hint where_unpinned "$main_only" dwarves
if grep -q "Debian carries it in: bookworm" "$out/where_unpinned.err" &&
	! grep -q "add to /etc/apt" "$out/where_unpinned.err"; then
	ok "where_unpinned names bookworm and asks to add no suite"
else
	bad where_unpinned "$(cat "$out/where_unpinned.err")"
fi

echo "setup-check: $passed passed, $failed failed"
echo "$passed $failed" >"$out/summary"
[ "$failed" -eq 0 ]
