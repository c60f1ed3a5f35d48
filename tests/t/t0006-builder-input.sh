#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The builder refuses bad manifests and stubs with FILE:LINE, what and the
# rule, and writes nothing.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p "$TRASH/m"
printf 'x\n' >"$TRASH/m/x"

# rejects TEXT PATTERN: a manifest holding TEXT fails with PATTERN.
rejects() {
	printf '%b' "$1" >"$TRASH/m/bad.manifest"
	must_fail "$BUILD" -q --level 3 --stub "$STUB" --manifest "$TRASH/m/bad.manifest" \
		--out "$TRASH/m/out" 2>"$TRASH/err" || return 1
	grep -q -- "$2" "$TRASH/err" || { cat "$TRASH/err"; return 1; }
	test ! -e "$TRASH/m/out" || fail "output written"
	for f in "$TRASH"/m/out.tmp-*; do
		test ! -e "$f" || fail "temp file left: $f"
	done
}

OK='[component c]\nversion = 1\n'

expect_success 'unknown key: file:line and the known keys' '
	rejects "${OK}colour = blue\n" "bad.manifest:3: unknown key .colour. (known: version, url,"
'

expect_success 'a line before any section' '
	rejects "version = 1\n" "bad.manifest:1: .version = 1. appears before any"
'

expect_success 'a duplicate component version names the first declaration' '
	rejects "${OK}file x -> bin/x 0755\n[component c]\nversion = 1\nfile x -> bin/y 0755\n" \
		"bad.manifest:4: component c 1 is already declared at line 1"
'

expect_success 'a destination with .. is refused' '
	rejects "${OK}file x -> ../x 0755\n" "bad.manifest:3: destination: member path"
'

expect_success 'an absolute destination is refused' '
	rejects "${OK}file x -> /usr/bin/x 0755\n" "bad.manifest:3: .*absolute"
'

expect_success 'a setuid or malformed mode is refused' '
	rejects "${OK}file x -> bin/x 4755\n" "bad.manifest:3: mode .4755." &&
	rejects "${OK}file x -> bin/x rwx\n" "bad.manifest:3: mode .rwx."
'

expect_success 'the same destination twice is refused' '
	rejects "${OK}file x -> bin/x 0755\nfile x -> bin/x 0644\n" \
		"bad.manifest:4: destination bin/x is already used at line 3"
'

expect_success 'a missing source names the file and line' '
	rejects "${OK}file nope -> bin/x 0755\n" "bad.manifest:3: source nope: cannot open"
'

expect_success 'a directory as source is refused' '
	mkdir -p "$TRASH/m/d" &&
	rejects "${OK}file d -> bin/x 0755\n" "bad.manifest:3: source d: not a regular file"
'

expect_success 'CRLF line endings are refused' '
	rejects "[component c]\r\nversion = 1\r\n" "bad.manifest:1: carriage return (CRLF"
'

expect_success 'a component without version or files is refused' '
	rejects "[component c]\nfile x -> bin/x 0755\n" "component c has no .version" &&
	rejects "$OK" "component c 1: lists no .file. or .concat. lines"
'

expect_success 'a missing manifest names the path' '
	must_fail "$BUILD" --manifest "$TRASH/none.manifest" --out "$TRASH/o" 2>err &&
	grep -q "cannot open manifest .*none.manifest: No such file" err
'

expect_success 'a stub that already carries a payload is refused' '
	printf "${OK}file x -> bin/x 0755\n" >"$TRASH/m/good.manifest" &&
	"$BUILD" -q --level 3 --stub "$STUB" --manifest "$TRASH/m/good.manifest" \
		--out "$TRASH/m/first" &&
	must_fail "$BUILD" -q --level 3 --stub "$TRASH/m/first" \
		--manifest "$TRASH/m/good.manifest" --out "$TRASH/m/second" 2>err &&
	grep -q "already carries a payload" err && test ! -e "$TRASH/m/second"
'

test_done
