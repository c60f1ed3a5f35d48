#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make install / uninstall lay out the builder as a distro ships it; the
# installed builder finds its stub and scripts from any directory; the
# build honours the user's flags and never needs the .deb files by default.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${DY_FLAVOR:-release}" != release ]; then
	expect_success 'make install is checked against the release build' 'true'
	test_done
	exit
fi

# A copy of the checkout with its built objects: make there rebuilds only
# what the install paths change (the builder's main.o).
TREE="$TRASH/tree"
mkdir -p "$TREE"
(cd "$SRC_DIR" && git ls-files -z -co --exclude-standard | xargs -0 tar -cf - build/rel dist/dockyard-build \
	dist/dockyard-installer-stub) | tar -xf - -C "$TREE"
MAKE="make -s -C $TREE"

expect_success 'make install DESTDIR=... PREFIX=/usr lays out the tree' '
	$MAKE install DESTDIR="$TRASH/root" PREFIX=/usr LIBEXECDIR=/usr/lib >/dev/null &&
	(cd "$TRASH/root" && find . -type f -o -type l | sort) >got &&
	for f in ./usr/bin/dockyard-build ./usr/lib/dockyard/dockyard-installer-stub \
		./usr/share/dockyard/payload/debian.manifest ./usr/share/dockyard/payload/debian.lock \
		./usr/share/dockyard/payload/dockyard.manifest ./usr/share/dockyard/scripts/90-main.sh \
		./usr/share/dockyard/LICENSE \
		./usr/share/man/man1/dockyard-build.1 ./usr/share/man/man1/dockyard-installer.1 \
		./usr/share/man/man8/dockyardctl.8 ./usr/share/man/man5/dockyard.env.5 \
		./usr/share/man/man5/dockyard-manifest.5 \
		./usr/share/bash-completion/completions/dockyard-build \
		./usr/share/bash-completion/completions/dockyard-installer \
		./usr/share/bash-completion/completions/dockyardctl \
		./usr/share/doc/dockyard-build/README.md; do
		grep -qx "$f" got || { fail "not installed: $f"; exit 1; }
	done &&
	test "$(stat -c %a "$TRASH/root/usr/bin/dockyard-build")" = 755 &&
	test "$(stat -c %a "$TRASH/root/usr/share/dockyard/payload/debian.lock")" = 644
'

expect_success 'the builder carries the paths of the layout it was built for' '
	strings "$TREE/dist/dockyard-build" >s &&
	grep -qx /usr/lib/dockyard/dockyard-installer-stub s &&
	grep -qx /usr/share/dockyard/scripts s
'

P="$TRASH/prefix"
expect_success 'an installed builder builds from any directory' '
	$MAKE install PREFIX="$P" >/dev/null &&
	mkdir -p "$TRASH/elsewhere/m" && cd "$TRASH/elsewhere" &&
	printf "hello\n" >m/hello &&
	printf "[component ctl]\nversion = 1\nconcat ../scripts -> bin/dockyardctl 0755\n" >m/a.manifest &&
	printf "file hello -> share/hello 0644\n" >>m/a.manifest &&
	"$P/bin/dockyard-build" -q --level 3 --manifest m/a.manifest --out inst &&
	./inst list >list && grep -q " bin/dockyardctl\$" list && grep -q " share/hello\$" list
'

expect_success 'the same build through the installed manifest path and --scripts agree' '
	cd "$TRASH/elsewhere" &&
	SOURCE_DATE_EPOCH=1 "$P/bin/dockyard-build" -q --level 3 --manifest m/a.manifest \
		--out one --no-dist-files &&
	SOURCE_DATE_EPOCH=1 "$P/bin/dockyard-build" -q --level 3 --manifest m/a.manifest \
		--scripts "$SRC_DIR/scripts" --out two --no-dist-files &&
	cmp one two
'

expect_success 'a missing --stub names the file' '
	must_fail "$P/bin/dockyard-build" -q --manifest "$TRASH/elsewhere/m/a.manifest" \
		--stub "$TRASH/nope" --out "$TRASH/x" 2>err &&
	grep -q "installer stub $TRASH/nope" err && test ! -e "$TRASH/x"
'

expect_success 'no stub beside the builder nor installed: the error names both and --stub' '
	mkdir -p lone && cp "$SRC_DIR/dist/dockyard-build" lone/ &&
	must_fail lone/dockyard-build -q --manifest "$TRASH/elsewhere/m/a.manifest" \
		--out "$TRASH/x" 2>err &&
	grep -q "no installer stub: neither .*/lone/dockyard-installer-stub .* nor .* exists; pass --stub FILE" err
'

expect_success 'a --scripts directory that is missing or not a directory is refused by name' '
	must_fail "$P/bin/dockyard-build" -q --manifest "$TRASH/elsewhere/m/a.manifest" \
		--scripts "$TRASH/none" --out "$TRASH/x" 2>err &&
	grep -q "a.manifest:3: scripts directory $TRASH/none: cannot read it" err &&
	must_fail "$P/bin/dockyard-build" -q --manifest "$TRASH/elsewhere/m/a.manifest" \
		--scripts "$TRASH/elsewhere/m/hello" --out "$TRASH/x" 2>err &&
	grep -q "scripts directory .*/hello: not a directory" err && test ! -e "$TRASH/x"
'

expect_success 'make uninstall removes every installed file and directory' '
	$MAKE uninstall PREFIX="$P" >/dev/null 2>&1 &&
	find "$P" -type f -o -type l >left && test ! -s left &&
	test ! -e "$P/share/dockyard" && test ! -e "$P/libexec/dockyard"
'

expect_success 'dockyard-build is linked with relro and bind-now' '
	readelf -dl "$SRC_DIR/dist/dockyard-build" >d &&
	grep -q GNU_RELRO d && grep -Eq "BIND_NOW|FLAGS_1.*NOW" d
'

expect_success 'the stub is static-pie where the toolchain links one, and fully static' '
	file "$SRC_DIR/dist/dockyard-installer-stub" >f &&
	if printf "int main(void){return 0;}" | cc -x c -static-pie -o pie - 2>/dev/null; then
		grep -q "static-pie linked" f
	else
		grep -q "statically linked" f
	fi &&
	! readelf -dl "$SRC_DIR/dist/dockyard-installer-stub" | grep -Eq "NEEDED|INTERP"
'

expect_success 'user CPPFLAGS, CFLAGS and LDFLAGS come after the project flags' '
	$MAKE -n -B build/rel/common/err.o CPPFLAGS=-DUSER_CPP CFLAGS=-DUSER_C >cmd &&
	grep -q -- "-D_FORTIFY_SOURCE=2 .*-DUSER_CPP -DUSER_C -c common/err.c" cmd &&
	$MAKE -n -B dist/dockyard-build LDFLAGS=-Wl,--user-ld >cmd &&
	grep -q -- "-Wl,-z,now -Wl,--user-ld -o dist/dockyard-build" cmd &&
	$MAKE -n -B build/rel/dockyard-installer-stub.full LDFLAGS=-Wl,--user-ld >cmd &&
	grep -q -- "--gc-sections -Wl,--user-ld -o" cmd
'

expect_success 'the default target needs no .deb files; make installer does' '
	$MAKE -n >cmd && ! grep -q "fetch-debs\|dockyard-installer \|--manifest" cmd &&
	$MAKE -n -W payload/debian.manifest installer >cmd &&
	grep -q "fetch-debs.sh payload/debian.manifest" cmd
'

test_done
