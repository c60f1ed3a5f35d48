#!/bin/sh
# Download the Debian packages payload/debian.manifest names, at exactly the
# pinned versions, into build/debs/.  The manifest is the one source of
# truth: each `path.x86_64 = ../build/debs/PKG_VERSION_ARCH.deb` line names a
# package and version (apt writes an epoch's ':' as %3a).  The builder checks
# every file against payload/debian.lock.
set -eu

cd "$(dirname "$0")/.."
manifest=${1:-payload/debian.manifest}
dest=build/debs
mkdir -p "$dest"

sed -n 's|^path\.x86_64 *= *\.\./build/debs/||p' "$manifest" | while read -r file; do
	if [ -s "$dest/$file" ]; then
		echo "fetch-debs: $file present"
		continue
	fi
	base=${file%.deb}
	pkg=${base%%_*}
	rest=${base#*_}
	version=$(printf '%s' "${rest%_*}" | sed 's/%3a/:/g')
	echo "fetch-debs: apt-get download $pkg=$version"
	if ! (cd "$dest" && apt-get download -q "$pkg=$version"); then
		# A machine whose package lists were never fetched knows no versions.
		echo "fetch-debs: refreshing the package lists and trying again"
		apt-get update -q
		(cd "$dest" && apt-get download -q "$pkg=$version")
	fi
	[ -s "$dest/$file" ] || {
		echo "fetch-debs: apt-get did not produce $dest/$file" >&2
		exit 1
	}
done
