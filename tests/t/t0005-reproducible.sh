#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Two builds from the same inputs are byte-identical, whatever the worker
# count; a changed input or epoch changes the digest.  Output appears only
# by rename: a failed build leaves the previous installer untouched.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

digest() {
	tail -c 32 "$1" | od -An -tx1 | tr -d " \n"
}

expect_success 'two builds from the same inputs are byte-identical' '
	make_payload_dir "$TRASH/fx" 500000 &&
	build_installer "$TRASH/fx" "$TRASH/a" &&
	build_installer "$TRASH/fx" "$TRASH/b" &&
	cmp "$TRASH/a" "$TRASH/b"
'

expect_success 'the worker count does not change the output' '
	build_installer "$TRASH/fx" "$TRASH/t1" --threads 1 &&
	build_installer "$TRASH/fx" "$TRASH/t2" --threads 2 &&
	cmp "$TRASH/t1" "$TRASH/t2" && cmp "$TRASH/a" "$TRASH/t1"
'

expect_success 'source file timestamps and the umask do not leak into the output' '
	touch -d "2001-02-03 04:05:06" "$TRASH/fx/src/notes.txt" &&
	(umask 077 && build_installer "$TRASH/fx" "$TRASH/c") &&
	cmp "$TRASH/a" "$TRASH/c"
'

expect_success 'SOURCE_DATE_EPOCH sets member times and changes the digest' '
	SOURCE_DATE_EPOCH=1600000000 build_installer "$TRASH/fx" "$TRASH/e" &&
	test "$(digest "$TRASH/e")" != "$(digest "$TRASH/a")" &&
	"$TRASH/e" -q extract "$TRASH/x-epoch" &&
	test "$(stat -c %Y "$TRASH/x-epoch/bin/hello")" = 1600000000 &&
	"$TRASH/e" list --json | grep -q "\"built\": 1600000000"
'

expect_success 'a one-byte change in an input changes the digest' '
	printf "plain texT\n" >"$TRASH/fx/src/notes.txt" &&
	build_installer "$TRASH/fx" "$TRASH/d" &&
	test "$(digest "$TRASH/d")" != "$(digest "$TRASH/a")"
'

expect_success 'a bad SOURCE_DATE_EPOCH is a usage error naming it' '
	SOURCE_DATE_EPOCH=yesterday build_installer "$TRASH/fx" "$TRASH/z" 2>err;
	test $? = 2 && grep -q "SOURCE_DATE_EPOCH .yesterday." err && test ! -e "$TRASH/z"
'

expect_success 'a failed build leaves the previous output intact and no temp files' '
	cp "$TRASH/a" "$TRASH/keep" &&
	rm "$TRASH/fx/src/notes.txt" &&
	must_fail build_installer "$TRASH/fx" "$TRASH/a" 2>err &&
	grep -q "source src/notes.txt: cannot open" err &&
	cmp "$TRASH/a" "$TRASH/keep" &&
	! ls "$TRASH" | grep -q "\.tmp-"
'

test_done
