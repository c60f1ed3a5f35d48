#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The Debian packages whose static libraries and start files were linked
# into the installer stub, from the linker's trace (ld -t -t: every archive
# member and object it loaded).  One line each, sorted:
#   PACKAGE VERSION ARCH SOURCE-PACKAGE SHA256 POOL-FILENAME LICENSE
# SHA256 and POOL-FILENAME of the .deb come from apt's package lists ("-"
# when they do not know it); LICENSE is the source package's SPDX
# expression from the table below (NOASSERTION when not listed).
# dockyard-build puts them in the SBOM as the stub's dependencies.  Without
# dpkg (not a Debian system) the list is empty.
#
#   tools/stub-deps.sh TRACE > STUB.deps
set -eu

[ $# = 1 ] || {
	echo "usage: tools/stub-deps.sh LINKER-TRACE" >&2
	exit 2
}
command -v dpkg-query >/dev/null 2>&1 || exit 0

# licence SOURCE-PACKAGE: the licence of the code a static link takes from
# it, as Debian's copyright file for that source states it.
licence() {
	case $1 in
	acl) echo "LGPL-2.1-or-later" ;;
	bzip2) echo "bzip2-1.0.6" ;;
	gcc-*) echo "GPL-3.0-or-later WITH GCC-exception-3.1" ;;
	glibc) echo "LGPL-2.1-or-later" ;;
	jansson) echo "MIT" ;;
	libarchive) echo "BSD-2-Clause" ;;
	libxml2) echo "MIT" ;;
	libzstd) echo "BSD-3-Clause OR GPL-2.0-only" ;;
	lz4) echo "BSD-2-Clause" ;;
	mbedtls) echo "Apache-2.0 OR GPL-2.0-or-later" ;;
	nettle) echo "LGPL-3.0-or-later OR GPL-2.0-or-later" ;;
	zlib) echo "Zlib" ;;
	*) echo "NOASSERTION" ;;
	esac
}

# Archive members print as "(ARCHIVE)member.o"; objects as their path.
# Files of this tree (relative paths) are the stub itself.
sed -n -e 's/^(\(\/[^)]*\)).*/\1/p' -e 's/^\(\/[^(]*\.o\)$/\1/p' "$1" | sort -u |
	while read -r f; do
		realpath -- "$f"
	done | sort -u | while read -r f; do
	owner=$(dpkg-query -S "$f" 2>/dev/null | sed -n '1s/: .*//p')
	[ -n "$owner" ] || {
		echo "stub-deps: no Debian package owns $f" >&2
		exit 1
	}
	echo "$owner"
done | sort -u | while read -r pkg; do
	dpkg-query -W -f '${Package} ${Version} ${Architecture} ${source:Package}\n' "$pkg"
done | sort -u | while read -r pkg ver arch src; do
	info=$(apt-cache show "$pkg:$arch=$ver" 2>/dev/null | sed -n 's/^\(SHA256\|Filename\): //p')
	sha=$(printf '%s\n' "$info" | grep -xE '[0-9a-f]{64}' | head -n 1)
	file=$(printf '%s\n' "$info" | grep '^pool/' | head -n 1)
	echo "$pkg $ver $arch $src ${sha:--} ${file:--} $(licence "$src")"
done
