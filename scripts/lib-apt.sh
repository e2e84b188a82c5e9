# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by scripts/deps.sh, scripts/resolve-kernel.sh and
# scripts/build-debug-kernel.sh: what the configured apt sources have, and
# installing from them with errors that say what to do.
#
# For the offline tests (selftests/setup/), recorded answers replace apt:
#   TOPHASH_APT_MADISON        `apt-cache madison` lines of the configured sources
#   TOPHASH_APT_POLICY         `apt-cache policy` output (the configured suites)
#   TOPHASH_APT_WHERE_MADISON  `apt-cache madison` lines of all three bookworm suites

# The Debian suites a bookworm machine should have, and their archive.
APT_SUITES=(bookworm bookworm-updates bookworm-security)
apt_suite_line() { # the sources.list line of a suite
	case $1 in
	*-security) echo "deb http://deb.debian.org/debian-security $1 main" ;;
	*) echo "deb http://deb.debian.org/debian $1 main" ;;
	esac
}

# madison lines as "name|version|suite", sorted; from a recorded file
# (filtered to the PKGs when given) or from apt-cache.
apt_table_from() { # FILE-or-empty OPTS-ARRAY-NAME PKG...
	local file=$1
	local -n _apt_opts=$2
	shift 2
	if [ -n "$file" ]; then
		if [ $# -gt 0 ]; then
			awk -F'|' 'NR == FNR { want[$1] = 1; next }
				{ n = $1; gsub(/ /, "", n); if (n in want) print }' \
				<(printf '%s\n' "$@") "$file"
		else
			cat "$file"
		fi
	else
		[ $# -eq 0 ] || apt-cache "${_apt_opts[@]}" madison "$@" 2>/dev/null
	fi | awk -F'|' '{
		gsub(/ /, "", $1); gsub(/ /, "", $2)
		split($3, w, " "); suite = w[2]; sub(/\/.*/, "", suite)
		if ($1 != "" && $2 != "") print $1 "|" $2 "|" suite
	}' | sort -u
}
APT_NO_OPTS=()
apt_table() { apt_table_from "${TOPHASH_APT_MADISON:-}" APT_NO_OPTS "$@"; }

# The suites apt is configured with, space-separated.
apt_suites() {
	if [ -n "${TOPHASH_APT_POLICY:-}" ]; then
		cat "$TOPHASH_APT_POLICY"
	else
		apt-cache policy 2>/dev/null
	fi | grep -oE '\bn=[a-z0-9-]+' | cut -d= -f2 | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# apt_has NAME[=VERSION]: a configured source has it (at that version).
apt_has() {
	local name=${1%%=*} ver=
	[[ $1 == *=* ]] && ver=${1#*=}
	apt_table "$name" | awk -F'|' -v n="$name" -v v="$ver" \
		'$1 == n && (v == "" || $2 == v) { found = 1 } END { exit !found }'
}

# apt_update_once: apt-get update, at most once per run of a script, and
# only when the lists are missing or older than a day (or forced with 1).
APT_UPDATED=0
apt_update_once() {
	[ "$APT_UPDATED" = 1 ] && return 0
	if [ "${1:-0}" = 1 ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
		echo "apt: apt-get update" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
	fi
	APT_UPDATED=1
}

# apt_where PKG [VERSION]: the suites of Debian's archive (bookworm,
# -updates, -security) that carry PKG (at VERSION), space-separated. Asks
# the archive itself through a private apt state (nothing of the machine's
# apt configuration changes); only called on the error path.
apt_where() {
	local pkg=$1 ver=${2:-} dir file=${TOPHASH_APT_WHERE_MADISON:-}
	local -a opts=()
	if [ -z "$file" ]; then
		dir=${TOPHASH_KCACHE:-/var/cache/tophash}/apt-where
		mkdir -p "$dir/lists/partial"
		printf '%s\n' "$(for s in "${APT_SUITES[@]}"; do apt_suite_line "$s"; done)" >"$dir/sources.list"
		opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=$dir/none"
		      -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
		if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
			apt-get "${opts[@]}" update -qq >/dev/null 2>&1 || return 1
		fi
	fi
	apt_table_from "$file" opts "$pkg" |
		awk -F'|' -v v="$ver" 'v == "" || $2 == v { print $3 }' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# apt_unavailable_hint TAG NAME[=VERSION]: the error for a package that no
# configured source has: which Debian suite carries it, or that it left.
apt_unavailable_hint() {
	local tag=$1 p=$2 name=${2%%=*} ver= where s mine
	[[ $p == *=* ]] && ver=${p#*=}
	mine=$(apt_suites)
	where=$(apt_where "$name" "$ver") || where=
	if [ -n "$where" ]; then
		echo "$tag: $p is in no configured apt source (yours: ${mine:-none}); Debian carries it in: $where." >&2
		for s in $where; do
			case " $mine " in
			*" $s "*) ;;
			*) echo "$tag:   add to /etc/apt/sources.list:  $(apt_suite_line "$s")" >&2 ;;
			esac
		done
		echo "$tag:   then run apt-get update and this again." >&2
	else
		echo "$tag: $p is in no configured apt source (yours: ${mine:-none}), nor in any of Debian's ${APT_SUITES[*]}: it left the archive, or the name or version is wrong." >&2
	fi
}

# apt_ensure TAG PKG...: install from Debian's archive the PKGs (NAME, or
# NAME=VERSION for a pinned version) that are not installed (at that
# version), in one apt-get install; when all are, only checks. Messages
# start with "TAG: ". A package that no configured source has is named,
# with the suite that carries it, and nothing is installed (exit 1); so is
# a missing package when we are not root.
apt_ensure() {
	local tag=$1 p name want have
	local -a missing=() absent=()
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
	apt_update_once || { echo "$tag: apt-get update failed (network? /etc/apt/sources.list?)" >&2; exit 1; }
	for p in "${missing[@]}"; do
		apt_has "$p" || absent+=("$p")
	done
	if [ ${#absent[@]} -gt 0 ]; then
		for p in "${absent[@]}"; do apt_unavailable_hint "$tag" "$p"; done
		exit 1
	fi
	echo "$tag: installing ${#missing[@]} package(s) from Debian (a few minutes on a fresh machine): ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null ||
		{ echo "$tag: apt-get install failed: ${missing[*]}" >&2; exit 1; }
}
