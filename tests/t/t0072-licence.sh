#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Licences: the project's LICENSE and SPDX lines; every payload component
# carries its licence text into the instance (share/doc/NAME/); a manifest
# licence that is not an SPDX expression is refused by name and rule.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

expect_success 'LICENSE is the Apache-2.0 text' '
	grep -q "Apache License" "$SRC_DIR/LICENSE" &&
	grep -q "Version 2.0, January 2004" "$SRC_DIR/LICENSE" &&
	if [ -r /usr/share/common-licenses/Apache-2.0 ]; then
		cmp /usr/share/common-licenses/Apache-2.0 "$SRC_DIR/LICENSE"
	fi
'

expect_success 'every tracked source file carries an SPDX-License-Identifier line' '
	"$SRC_DIR/tools/spdx-headers.sh" --check
'

expect_success 'spdx-headers.sh adds only that line, keeps #! first, and is idempotent' '
	git -C "$SRC_DIR" ls-files -z -co --exclude-standard |
		(cd "$SRC_DIR" && xargs -0 tar -cf -) | (mkdir tree && tar -xf - -C tree) &&
	cd tree && git init -q &&
	git ls-files -z -co --exclude-standard |
		xargs -0 sed -i -e "/^# SPDX-License-Identifier: Apache-2.0\$/d" \
			-e "/^\/\* SPDX-License-Identifier: Apache-2.0 \*\/\$/d" &&
	git add -A && git -c user.name=t -c user.email=t@t commit -qm t &&
	! tools/spdx-headers.sh --check >/dev/null &&
	tools/spdx-headers.sh >/dev/null && tools/spdx-headers.sh --check &&
	git diff --numstat | awk "\$2 != 0 || \$1 != 1 { print; bad = 1 } END { exit bad }" &&
	git diff -U0 | grep "^+[^+]" | sort -u >added &&
	printf "%s\n" "+# SPDX-License-Identifier: Apache-2.0" \
		"+/* SPDX-License-Identifier: Apache-2.0 */" | sort | cmp - added &&
	for f in $(git ls-files "*.sh"); do
		if git show "HEAD:$f" | head -n 1 | grep -q "^#!"; then
			head -n 1 "$f" | grep -q "^#!" || { fail "$f lost its #! line"; exit 1; }
		fi
		sh -n "$f" || exit 1
	done &&
	tools/spdx-headers.sh >again && test ! -s again
'

LIST="$TRASH/list"
"$SRC_DIR/dist/dockyard-installer" list >"$LIST" 2>/dev/null
expect_success 'each component of the Debian-sourced installer carries its licence text' '
	for c in docker.io containerd runc tini busybox-static; do
		grep -q "^$c .* share/doc/$c/copyright\$" "$LIST" || { fail "no copyright for $c"; exit 1; }
	done &&
	grep -q "^dockyardctl .* share/doc/dockyardctl/LICENSE\$" "$LIST" &&
	"$SRC_DIR/dist/dockyard-installer" extract out >/dev/null &&
	for c in docker.io containerd runc tini busybox-static; do
		deb=$(ls "$SRC_DIR"/build/debs/"${c}"_*_amd64.deb) &&
		dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./usr/share/doc/$c/copyright" >want &&
		cmp want "out/share/doc/$c/copyright" || exit 1
	done &&
	cmp "$SRC_DIR/LICENSE" out/share/doc/dockyardctl/LICENSE
'

mkdir -p "$TRASH/m"
printf 'x\n' >"$TRASH/m/x"
printf 'licence text\n' >"$TRASH/m/COPYING"
(cd "$TRASH/m" && mkdir -p a/usr/share/doc/pkg && printf 'pkg text\n' >a/usr/share/doc/pkg/copyright &&
	printf 'y\n' >a/y && tar -czf a.tgz -C a .)

# build_with LINES...: build a manifest of component c with these lines.
build_with() {
	printf '[component c]\nversion = 1\n' >"$TRASH/m/t.manifest"
	printf '%b\n' "$@" >>"$TRASH/m/t.manifest"
	"$BUILD" -q --level 3 --stub "$STUB" --manifest "$TRASH/m/t.manifest" --out "$TRASH/m/out" \
		--no-dist-files
}

# refused LINE PATTERN: a component with LINE is refused with PATTERN.
refused() {
	rm -f "$TRASH/m/out"
	must_fail build_with "file x -> bin/x 0755" "$1" 2>"$TRASH/err" || return 1
	grep -q -- "$2" "$TRASH/err" || { cat "$TRASH/err"; return 1; }
	test ! -e "$TRASH/m/out" || fail "output written"
}

expect_success 'a licence that is not an SPDX expression is refused, naming it and the rule' '
	refused "license = Apache 2" "t.manifest:4: component c: licence .Apache 2.: not an SPDX licence identifier: .Apache.; it must be an SPDX licence expression" &&
	refused "license = GPL" "not an SPDX licence identifier: .GPL." &&
	refused "license = MIT AND" "expected a licence identifier at .(end)." &&
	refused "license = (MIT OR 0BSD" "expected .). at .(end)." &&
	refused "license = GPL-2.0-only WITH Nope" "not an SPDX exception identifier: .Nope." &&
	refused "license = MIT MIT" "unexpected .MIT."
'

expect_success 'SPDX expressions, LicenseRef- and exceptions are accepted' '
	build_with "file x -> bin/x 0755" "license = Apache-2.0 OR (MIT AND BSD-3-Clause)" &&
	build_with "file x -> bin/x 0755" "license = GPL-2.0-or-later WITH Classpath-exception-2.0" &&
	build_with "file x -> bin/x 0755" "license = LicenseRef-acme-1.0" &&
	build_with "file x -> bin/x 0755" "license = GPL-2.0+"
'

expect_success 'license-file packs the text as share/doc/NAME/LICENSE' '
	build_with "file x -> bin/x 0755" "license = MIT" "license-file = COPYING" &&
	"$TRASH/m/out" extract o1 >/dev/null && cmp "$TRASH/m/COPYING" o1/share/doc/c/LICENSE
'

expect_success 'license-member takes the text out of the archive' '
	printf "c 1 any %s path:a.tgz\n" "$(sha256sum <"$TRASH/m/a.tgz" | cut -d" " -f1)" \
		>"$TRASH/m/t.lock" &&
	build_with "path = a.tgz" "kind = tgz" "member y -> bin/y 0755" \
		"license-member = usr/share/doc/pkg/copyright" &&
	"$TRASH/m/out" extract o2 >/dev/null && test "$(cat o2/share/doc/c/copyright)" = "pkg text"
'

expect_success 'only an SPDX id: the instance gets a notice naming it' '
	build_with "file x -> bin/x 0755" "license = MIT" &&
	"$TRASH/m/out" extract o3 >/dev/null &&
	grep -qx "SPDX-License-Identifier: MIT" o3/share/doc/c/LICENSE
'

expect_success 'licence files that cannot be had are errors naming them' '
	refused "license-file = nope" "nope" &&
	refused "license-member = a/b" "license-member needs an archive" &&
	rm -f "$TRASH/m/out" &&
	must_fail build_with "path = a.tgz" "kind = tgz" "member y -> bin/y 0755" \
		"license-member = usr/share/doc/other/copyright" 2>err &&
	grep -q "usr/share/doc/other/copyright" err && test ! -e "$TRASH/m/out" &&
	printf "[component c]\nversion = 1\nfile x -> bin/x 0755\nlicense-file = x\nlicense-member = y\n" \
		>"$TRASH/m/t.manifest" &&
	must_fail "$BUILD" -q --stub "$STUB" --manifest "$TRASH/m/t.manifest" --out "$TRASH/m/out" 2>err &&
	grep -q "has both license-file and license-member" err
'

test_done
