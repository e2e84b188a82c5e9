#!/usr/bin/env bash
# What `make bench-native` needs beyond scripts/deps.sh (make check does not
# need these): Go's classic map (Debian's golang-go, Go 1.19), abseil's
# flat_hash_map (libabsl-dev) and a C++ compiler for it. Idempotent: a
# second run only checks.
set -euo pipefail

pkgs=(golang-go libabsl-dev g++ pkg-config liburcu-dev gcc make python3)

missing=()
for p in "${pkgs[@]}"; do
	have=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$have" in
	ii*) continue ;;
	esac
	missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "bench-deps: need root to install: ${missing[*]}" >&2; exit 1; }
	echo "bench-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "bench-deps: go missing" >&2; exit 1; }
pkg-config --exists absl_raw_hash_set absl_hash || { echo "bench-deps: abseil missing" >&2; exit 1; }
