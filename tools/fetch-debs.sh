#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Download Debian packages at exactly pinned versions into build/debs/.
#
#   tools/fetch-debs.sh [MANIFEST]          the packages MANIFEST names
#                                           (default payload/debian.manifest)
#   tools/fetch-debs.sh --list FILE         the packages FILE lists
#   tools/fetch-debs.sh --extra PKG=VERSION[=SHA256] ...
#
# The manifest is the one source of truth for the payload: each
# `path.x86_64 = ../build/debs/PKG_VERSION_ARCH.deb` line names a package
# and version (apt writes an epoch's ':' as %3a); a `path.aarch64` line
# names the arm64 build of it, fetched as PKG:arm64=VERSION (the machine
# needs `dpkg --add-architecture arm64`, which tools/install-deps.sh does).
# The builder checks every file against payload/debian.lock.
#
# Packages that only tests need (busybox-static for the end-to-end images)
# are not part of any payload: they come from a list file, one
# `PACKAGE=VERSION SHA256` a line (`#` comments, blank lines ignored; see
# tests/e2e/debs.list), or from --extra.  Their sha256 is checked here,
# since no lock covers them.
set -eu

cd "$(dirname "$0")/.."
dest=build/debs
mkdir -p "$dest"

die() {
	echo "fetch-debs: $*" >&2
	exit 1
}

# apt_download PKG=VERSION: apt-get download into $dest, refreshing the
# package lists once when apt does not know the version.
apt_download() {
	echo "fetch-debs: apt-get download $1"
	if ! (cd "$dest" && apt-get download -q "$1"); then
		# A machine whose package lists were never fetched knows no versions.
		echo "fetch-debs: refreshing the package lists and trying again"
		apt-get update -q
		(cd "$dest" && apt-get download -q "$1")
	fi
}

# from_manifest MANIFEST: every ../build/debs/ file MANIFEST names, for
# either architecture.
from_manifest() {
	sed -n -E 's#^path\.(x86_64|aarch64) *= *\.\./build/debs/#\1 #p' "$1" | while read -r arch file; do
		if [ -s "$dest/$file" ]; then
			echo "fetch-debs: $file present"
			continue
		fi
		base=${file%.deb}
		pkg=${base%%_*}
		rest=${base#*_}
		version=$(printf '%s' "${rest%_*}" | sed 's/%3a/:/g')
		if [ "$arch" = aarch64 ]; then
			dpkg --print-foreign-architectures | grep -qx arm64 ||
				die "$file is an arm64 package, but dpkg knows no arm64 architecture: run make deps (tools/install-deps.sh adds it)"
			pkg="$pkg:arm64"
		fi
		apt_download "$pkg=$version"
		[ -s "$dest/$file" ] || die "apt-get did not produce $dest/$file"
	done
}

# deb_file PKG VERSION: the file in $dest holding PKG at VERSION for this
# machine's architecture (or for all), or nothing.  The manifest's
# path.aarch64 lines put arm64 builds of the same version beside it.
deb_file() {
	enc=$(printf '%s' "$2" | sed 's/:/%3a/g')
	for f in "$dest/$1_${enc}_$(dpkg --print-architecture).deb" "$dest/$1_${enc}_all.deb"; do
		[ -s "$f" ] && printf '%s\n' "$f" && break
	done
	return 0
}

# check_sha256 FILE SHA256: FILE has that digest (an empty SHA256 skips).
check_sha256() {
	[ -n "$2" ] || return 0
	got=$(sha256sum "$1" | cut -d ' ' -f 1)
	[ "$got" = "$2" ] && return 0
	rm -f "$1"
	die "$1 has sha256 $got, but the pin says $2 (file removed)"
}

# extra PKG=VERSION [SHA256]: one pinned package outside any manifest.
extra() {
	spec=$1
	sha=${2:-}
	pkg=${spec%%=*}
	version=${spec#*=}
	case $pkg in '' | *[!a-z0-9.+-]*) die "bad package name in '$spec' (want PACKAGE=VERSION)" ;; esac
	case $version in "$spec" | '' | *[!A-Za-z0-9.+~:-]*)
		die "bad version in '$spec' (want PACKAGE=VERSION)" ;;
	esac
	case $sha in '' | [0-9a-f]*) ;; *) die "bad sha256 '$sha' for $spec" ;; esac
	[ -z "$sha" ] || [ ${#sha} = 64 ] || die "sha256 for $spec is not 64 hex digits"
	file=$(deb_file "$pkg" "$version")
	if [ -n "$file" ]; then
		echo "fetch-debs: ${file#"$dest"/} present"
	else
		apt_download "$pkg=$version"
		file=$(deb_file "$pkg" "$version")
		[ -n "$file" ] || die "apt-get did not produce $dest/${pkg}_${version}_*.deb"
	fi
	check_sha256 "$file" "$sha"
}

# from_list FILE: every `PACKAGE=VERSION [SHA256]` line of FILE.
from_list() {
	[ -r "$1" ] || die "cannot read package list $1"
	sed -e 's/#.*//' "$1" | while read -r spec sha rest; do
		[ -n "$spec" ] || continue
		[ -z "$rest" ] || die "$1: stray words after '$spec $sha'"
		extra "$spec" "$sha"
	done
}

case ${1:-} in
--list)
	[ $# = 2 ] || die "usage: $0 --list FILE"
	from_list "$2"
	;;
--extra)
	shift
	[ $# -gt 0 ] || die "usage: $0 --extra PKG=VERSION[=SHA256] ..."
	for spec in "$@"; do
		case $spec in
		*=*=*) extra "${spec%=*}" "${spec##*=}" ;;
		*) extra "$spec" ;;
		esac
	done
	;;
-*) die "unknown option $1 (known: --list FILE, --extra PKG=VERSION[=SHA256])" ;;
*) from_manifest "${1:-payload/debian.manifest}" ;;
esac
