# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by scripts/deps.sh and scripts/bench-deps.sh.
#
# apt_ensure TAG PKG...: install from Debian's archive the PKGs (NAME, or
# NAME=VERSION for a pinned version) that are not installed (at that
# version), in one apt-get install; when all are, only checks. Messages
# start with "TAG: "; exits 1 when something is missing and we are not root.
apt_ensure() {
	local tag=$1 p name want have
	local -a missing=()
	shift
	for p in "$@"; do
		name=${p%%=*}
		want=${p#*=}
		have=$(dpkg-query -W -f='${db:Status-Abbrev}|${Version}' "$name" 2>/dev/null || true)
		case "$have" in
		ii*) [[ "$p" != *=* || "${have#*|}" == "$want" ]] && continue ;;
		esac
		missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$(id -u)" -eq 0 ] || { echo "$tag: need root to install: ${missing[*]}" >&2; exit 1; }
	echo "$tag: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
