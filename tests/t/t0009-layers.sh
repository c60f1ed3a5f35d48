#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# The C sources keep their layers: no circle of calls between files (the
# call graph from GNU cflow, mapped to the files that define each
# function), and no function longer than 60 lines.  The checker itself
# is shown to find a circle in a pair of fixture files.  Shell functions
# stay within 80 lines.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CALLS="$SRC_DIR/tests/tools/calls.py"

expect_success 'the installer, common and verify files call in no circle' '
	cd "$SRC_DIR" &&
	python3 "$CALLS" cycles installer/*.c common/*.c verify/*.c >"$TRASH/cycles" ||
	{ cat "$TRASH/cycles"; false; }
'

# install.c is the driver: only the program's main.c calls it.
expect_success 'only installer/main.c calls the install driver' '
	cd "$SRC_DIR" &&
	python3 "$CALLS" callers installer/install.c installer/*.c common/*.c verify/*.c \
		>"$TRASH/callers" &&
	cat "$TRASH/callers" &&
	grep -q "^installer/main.c: .* -> dy_install$" "$TRASH/callers" &&
	! grep -v "^installer/main.c: " "$TRASH/callers"
'

expect_success 'a pair of files that call each other is a circle, named with its calls' '
	mkdir -p "$TRASH/ring" &&
	printf "int b_get(void);\nint a_get(void) { return 1; }\nint a_use(void) { return b_get(); }\n" \
		>"$TRASH/ring/a.c" &&
	printf "int a_get(void);\nint b_get(void) { return a_get() + 1; }\n" >"$TRASH/ring/b.c" &&
	! python3 "$CALLS" cycles "$TRASH/ring/a.c" "$TRASH/ring/b.c" >"$TRASH/ring.out" &&
	cat "$TRASH/ring.out" &&
	grep -q "^call circle between $TRASH/ring/a.c, $TRASH/ring/b.c:" "$TRASH/ring.out" &&
	grep -q "a.c -> .*b.c: a_use -> b_get$" "$TRASH/ring.out" &&
	grep -q "b.c -> .*a.c: b_get -> a_get$" "$TRASH/ring.out"
'

expect_success 'calls one way only, or to a static function of the same name, are no circle' '
	mkdir -p "$TRASH/line" &&
	printf "int low(void) { return 1; }\n" >"$TRASH/line/low.c" &&
	printf "int low(void);\nstatic int own(void) { return 2; }\nint high(void) { return low() + own(); }\n" \
		>"$TRASH/line/high.c" &&
	printf "static int high(void) { return 3; }\nint other(void) { return high(); }\n" \
		>"$TRASH/line/other.c" &&
	printf "int other(void);\nint own(void) { return other(); }\n" >"$TRASH/line/own.c" &&
	python3 "$CALLS" cycles "$TRASH"/line/*.c >"$TRASH/line.out" &&
	grep -q "^no call circle between 4 files$" "$TRASH/line.out"
'

expect_success 'the length check counts from brace to brace and names what is long' '
	{
		printf "int\nshort_one(void)\n{\n" &&
		i=0 && while [ $i -lt 58 ]; do echo "	;"; i=$((i + 1)); done &&
		printf "}\n\nint\nlong_one(int a,\n\tint b)\n{\n" &&
		i=0 && while [ $i -lt 59 ]; do echo "	;"; i=$((i + 1)); done &&
		printf "}\n"
	} >"$TRASH/len.c" &&
	! python3 "$CALLS" long 60 "$TRASH/len.c" >"$TRASH/len.out" &&
	cat "$TRASH/len.out" &&
	test "$(cat "$TRASH/len.out")" = "$TRASH/len.c:67: long_one is 61 lines (at most 60)"
'

expect_success 'no C function is longer than 60 lines' '
	cd "$SRC_DIR" &&
	python3 "$CALLS" long 60 $(git ls-files "*.c") >"$TRASH/long" &&
	test ! -s "$TRASH/long"
'

# shell_long N FILE...: "FILE:LINE: NAME is L lines" for every shell
# function (NAME() { at the start of a line, to the first } there) over N.
shell_long() {
	max=$1
	shift
	awk -v max="$max" '
		/^[A-Za-z_][A-Za-z0-9_]*\(\) *\{ *$/ { name = $1; sub(/\(\).*/, "", name); start = FNR; next }
		/^\}/ && name != "" {
			if (FNR - start + 1 > max)
				printf "%s:%d: %s is %d lines\n", FILENAME, start, name, FNR - start + 1
			name = ""
		}' "$@"
}

expect_success 'the shell checker finds a long function' '
	{
		echo "short() {" && echo "	:" && echo "}" &&
		echo "long_one() {" && seq 1 80 | sed "s/^/	: /" && echo "}"
	} >"$TRASH/len.sh" &&
	shell_long 80 "$TRASH/len.sh" >"$TRASH/len.out" &&
	test "$(cat "$TRASH/len.out")" = "$TRASH/len.sh:4: long_one is 82 lines"
'

expect_success 'no shell function is longer than 80 lines' '
	cd "$SRC_DIR" &&
	shell_long 80 $(git ls-files "*.sh") .ci/run >"$TRASH/long" &&
	cat "$TRASH/long" &&
	test ! -s "$TRASH/long"
'

test_done
