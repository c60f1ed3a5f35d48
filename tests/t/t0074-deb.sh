#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The Debian package: dpkg-buildpackage builds dockyard-build from a copy
# of this tree in a network namespace with no interface (no network);
# lintian finds no error and nothing tests/debian/lintian-expected does not
# list; the packaged builder, unpacked into a scratch root, builds offline
# from a plain directory of the pinned .deb files an installer
# byte-identical to the one this checkout builds.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${DY_FLAVOR:-release}" != release ]; then
	expect_success 'the Debian package is built and checked with the release build' 'true'
	test_done
	exit
fi

SRC="$TRASH/dockyard"
ROOT="$TRASH/root"
DEB="$TRASH/dockyard-build_0.1.0_amd64.deb"
EPOCH=1700000000
mkdir -p "$SRC"
(cd "$SRC_DIR" && git ls-files -z -co --exclude-standard | xargs -0 tar -cf -) | tar -xf - -C "$SRC"

expect_success 'dpkg-buildpackage -us -uc -b builds the package without network' '
	(cd "$SRC" && unshare -n dpkg-buildpackage -us -uc -b) >build.log 2>&1 ||
		{ tail -n 30 build.log; exit 1; }
	test -f "$DEB"
'

expect_success 'the package holds the builder, stub, scripts, manifests, man pages, completion' '
	dpkg-deb -c "$DEB" | awk "{ print \$6 }" >files &&
	for f in ./usr/bin/dockyard-build ./usr/libexec/dockyard/dockyard-installer-stub \
		./usr/libexec/dockyard/dockyard-installer-stub.deps \
		./usr/share/dockyard/payload/debian.manifest ./usr/share/dockyard/payload/debian.lock \
		./usr/share/dockyard/scripts/90-main.sh ./usr/share/dockyard/LICENSE \
		./usr/share/man/man1/dockyard-build.1.gz ./usr/share/man/man8/dockyardctl.8.gz \
		./usr/share/man/man5/dockyard.env.5.gz ./usr/share/man/man5/dockyard-manifest.5.gz \
		./usr/share/man/man1/dockyard-installer.1.gz \
		./usr/share/bash-completion/completions/dockyard-build \
		./usr/share/doc/dockyard-build/copyright; do
		grep -qx "$f" files || { fail "not in the package: $f"; exit 1; }
	done &&
	dpkg-deb -f "$DEB" Static-Built-Using | grep -q "libarchive (= "
'

expect_success 'lintian: no error, and only the findings listed with their reasons' '
	lintian "$DEB" >lintian.out 2>/dev/null
	python3 - lintian.out "$SRC_DIR/tests/debian/lintian-expected" <<-PY
	import re, sys
	got = [l.rstrip() for l in open(sys.argv[1]) if re.match(r"[EWIXPO]: ", l)]
	want = [re.compile(re.escape(l.rstrip()).replace(r"\\*", ".*") + "\\Z")
	        for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
	bad = []
	for l in got:
	    sev, rest = l.split(": ", 1)
	    finding = sev + ": " + rest.split(": ", 1)[1]
	    if sev == "E" or not any(w.match(finding) for w in want):
	        bad.append(l)
	for l in bad:
	    print("unexpected: " + l, file=sys.stderr)
	sys.exit(1 if bad else 0)
	PY
'

expect_success 'the packaged stub is the one this checkout builds, and fully static' '
	dpkg -x "$DEB" "$ROOT" &&
	cmp "$ROOT/usr/libexec/dockyard/dockyard-installer-stub" "$SRC_DIR/dist/dockyard-installer-stub" &&
	file "$ROOT/usr/libexec/dockyard/dockyard-installer-stub" | grep -Eq "static-pie linked|statically linked"
'

expect_success 'the packaged builder, offline over a directory of .debs, builds the same installer' '
	mkdir -p debs a b && cp "$SRC_DIR"/build/debs/*.deb debs/ &&
	cd / &&
	SOURCE_DATE_EPOCH=$EPOCH unshare -n "$ROOT/usr/bin/dockyard-build" -q --level 3 --offline \
		--mirror "$TRASH/debs" --cache "$TRASH/cache-a" \
		--stub "$ROOT/usr/libexec/dockyard/dockyard-installer-stub" \
		--manifest "$ROOT/usr/share/dockyard/payload/debian.manifest" \
		--out "$TRASH/a/dockyard-installer" &&
	cd "$SRC_DIR" &&
	SOURCE_DATE_EPOCH=$EPOCH "$SRC_DIR/dist/dockyard-build" -q --level 3 --offline \
		--cache "$TRASH/cache-b" --manifest payload/debian.manifest \
		--out "$TRASH/b/dockyard-installer" &&
	cmp "$TRASH/a/dockyard-installer" "$TRASH/b/dockyard-installer" &&
	"$TRASH/a/dockyard-installer" check >/dev/null
'

test_done
