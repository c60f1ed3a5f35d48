#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Two builds from source that differ in build path, umask, locale, time
# zone and directory order give the same stub and the same installer
# (SOURCE_DATE_EPOCH fixed).  Directory order: each tree is written to
# tmpfs, which lists a directory newest entry first, one in sorted order
# and one in reverse, so readdir hands the two builds their files in
# opposite orders (checked below).
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${DY_FLAVOR:-release}" != release ]; then
	expect_success 'reproducibility is checked with the release build' 'true'
	test_done
	exit
fi

SHM=$(mktemp -d /dev/shm/dockyard-repro.XXXXXX)
trap 'rm -rf "$SHM"; cleanup_trash' EXIT
A="$SHM/a"
B="$SHM/b/a/much/longer/build/path"
EPOCH=1700000000

# copy_tree DEST [-r]: the tracked files, created in sorted (or reverse) order.
copy_tree() {
	(cd "$SRC_DIR" && git ls-files -co --exclude-standard | sort ${2:+"$2"}) |
		while read -r f; do
			mkdir -p "$1/$(dirname "$f")" && cp -p "$SRC_DIR/$f" "$1/$f" || exit 1
		done
}

# build TREE UMASK LOCALE TZ OUT: make the programs and the Debian-sourced
# installer in TREE under these settings; the installer goes to OUT.
build() {
	(
		umask "$2"
		export LC_ALL="$3" LANG="$3" TZ="$4" SOURCE_DATE_EPOCH=$EPOCH
		cd "$1" && make -s -j2 all >"$5.make.log" 2>&1 &&
			dist/dockyard-build -q --level 3 --offline --mirror "$SRC_DIR/build/debs" \
				--cache "$5.cache" --manifest payload/debian.manifest --out "$5"
	)
}

expect_success 'the two trees list their directories in opposite orders' '
	copy_tree "$A" && copy_tree "$B" -r &&
	ls -U "$A/scripts" >a.order && ls -U "$B/scripts" >b.order &&
	! cmp -s a.order b.order &&
	sort a.order >sa && sort b.order >sb && cmp sa sb
'

expect_success 'builds under different path, umask, locale, time zone and order agree' '
	mkdir -p out &&
	build "$A" 0022 C UTC "$TRASH/out/a" &&
	build "$B" 0077 C.UTF-8 Pacific/Kiritimati "$TRASH/out/b" ||
		{ tail -n 20 out/*.make.log; exit 1; }
	cmp "$A/dist/dockyard-installer-stub" "$B/dist/dockyard-installer-stub" &&
	cmp out/a out/b &&
	cmp "$A/dist/dockyard-installer-stub" "$SRC_DIR/dist/dockyard-installer-stub"
'

expect_success 'the umask reached the build (so the variation is real)' '
	test "$(stat -c %a "$B/dist/dockyard-installer-stub.deps")" = 600 &&
	test "$(stat -c %a "$A/dist/dockyard-installer-stub.deps")" = 644
'

test_done
