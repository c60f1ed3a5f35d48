#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run every test: C unit tests and numbered CLI scripts, once against the
# release binaries and once against the ASan/UBSan build.  Ends with the
# line "N passed, N failed".
#
#   tests/run.sh               everything (what `make check` runs)
#   tests/run.sh --unit-only   unit tests, release build only
#   tests/run.sh t0003         only scripts whose name contains t0003
set -u

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC_DIR" || exit 2

# A sanitizer report must never pass as an "expected failure".
ASAN_OPTIONS=exitcode=86:abort_on_error=0:detect_leaks=1
UBSAN_OPTIONS=exitcode=86:print_stacktrace=1:halt_on_error=1
LSAN_OPTIONS=exitcode=86
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

passed=0
failed=0
unit_only=0
filter=""
for arg in "$@"; do
	case $arg in
	--unit-only) unit_only=1 ;;
	*) filter=$arg ;;
	esac
done

LOG=$(mktemp "${TMPDIR:-/tmp}/dockyard-run.XXXXXX")
trap 'rm -f "$LOG"' EXIT

# run_one LABEL CMD...: run, echo its lines, count ok / not ok.
run_one() {
	label=$1
	shift
	"$@" >"$LOG" 2>&1
	rc=$?
	cat "$LOG"
	ok=$(grep -c '^ok ' "$LOG")
	bad=$(grep -c '^not ok ' "$LOG")
	if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
		echo "not ok - $label exited $rc without reporting a failing test"
		bad=1
	fi
	if [ "$ok" = 0 ] && [ "$bad" = 0 ]; then
		echo "not ok - $label ran no test"
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

run_units() {
	flavor=$1
	for t in build/"$flavor"/unit/test_*; do
		[ -x "$t" ] || continue
		case $t in *"$filter"*) ;; *) continue ;; esac
		run_one "$t" "$t"
	done
}

run_scripts() {
	flavor=$1
	bin=$2
	tools=$3
	for t in tests/t/t[0-9]*.sh; do
		case $t in *"$filter"*) ;; *) continue ;; esac
		# Scripts that exercise no compiled code say so; the sanitizer
		# build would only run them a second time.
		if [ "$flavor" = asan ] && grep -q '^# flavors: release$' "$t"; then
			continue
		fi
		echo "# $t ($flavor)"
		run_one "$t ($flavor)" env DY_BIN="$bin" DY_TOOLS="$tools" DY_FLAVOR="$flavor" sh "$t"
	done
}

run_units rel
if [ "$unit_only" = 0 ]; then
	run_units asan
	run_scripts release "$SRC_DIR/dist" "$SRC_DIR/build/rel"
	run_scripts asan "$SRC_DIR/build/asan" "$SRC_DIR/build/asan"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
