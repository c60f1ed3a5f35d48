#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# The libFuzzer harnesses (tests/fuzz/) in a bounded form: they build,
# each replays its committed seed corpus, and each fuzzes for
# FUZZ_SMOKE_SECONDS (10) on a copy of that corpus without a crash, leak
# or sanitizer report, leaving the committed corpus as it was.  The
# harnesses carry their own sanitizers, so the script runs once.
# Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev).
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SECONDS_EACH=${FUZZ_SMOKE_SECONDS:-10}
FUZZ=$SRC_DIR/tests/fuzz
NAMES=$(cd "$FUZZ" && for f in fuzz_*.c; do f=${f#fuzz_}; echo "${f%.c}"; done)

# corpus_sums: a checksum of every committed seed, one a line.
corpus_sums() {
	(cd "$FUZZ/corpus" && find . -type f | LC_ALL=C sort | xargs sha256sum)
}

expect_success 'clang links a libFuzzer program (packages clang, libclang-rt-14-dev)' '
	printf "%s\n" "#include <stddef.h>" "#include <stdint.h>" \
		"int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);" \
		"int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }" \
		>probe.c &&
	clang -fsanitize=fuzzer,address,undefined -o probe probe.c &&
	./probe -runs=10 2>&1 | grep -q "Done 10 runs"
'

expect_success 'every harness has a seed corpus and there are six' '
	[ "$(echo "$NAMES" | wc -l)" = 6 ] &&
	for n in $NAMES; do
		[ "$(find "$FUZZ/corpus/$n" -type f | wc -l)" -ge 10 ] || fail "few seeds for $n"
	done
'

expect_success 'make fuzz-build builds every harness' '
	make -C "$SRC_DIR" -s fuzz-build &&
	for n in $NAMES; do
		[ -x "$SRC_DIR/build/fuzz/fuzz_$n" ] || fail "no fuzz_$n"
	done
'

corpus_sums >"$TRASH/sums.before"

for n in $NAMES; do
	expect_success "fuzz_$n replays every seed once without a report" '
		seeds=$(find "$FUZZ/corpus/$n" -type f | wc -l) &&
		"$SRC_DIR/build/fuzz/fuzz_$n" "$FUZZ/corpus/$n"/* >replay.log 2>&1 &&
		[ "$(grep -c "^Executed " replay.log)" = "$seeds" ] &&
		! grep -q "ERROR:\|runtime error\|property broken" replay.log
	'
	expect_success "fuzz_$n fuzzes ${SECONDS_EACH}s on a copy of its corpus: 0 crashes" '
		FUZZ_WORK="$TRASH/work" "$FUZZ/run.sh" "$SECONDS_EACH" "$n" >run.log 2>&1 ||
			{ cat run.log; false; } &&
		cat run.log &&
		grep -q "^fuzz $n: [0-9][0-9]* runs, corpus .*, 0 crashes$" run.log &&
		runs=$(sed -n "s/^fuzz $n: \([0-9]*\) runs.*/\1/p" run.log) &&
		[ "$runs" -gt 1000 ]
	'
done

expect_success 'the committed seed corpora are unchanged' '
	corpus_sums >sums.after &&
	cmp "$TRASH/sums.before" sums.after
'

# The runner must fail when a harness finds something: a harness that
# aborts on one input the fuzzer has to find by mutation.
expect_success 'run.sh fails and keeps the reproducer when a harness crashes' '
	mkdir -p bin &&
	printf "%s\n" "#include <stddef.h>" "#include <stdint.h>" "#include <stdlib.h>" \
		"int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);" \
		"int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {" \
		"	if (n >= 3 && d[0] == 0xfe && d[1] == 0xed && d[2] == 0x42) abort();" \
		"	return 0; }" >crash.c &&
	clang -g -fsanitize=fuzzer,address -o bin/fuzz_receipt crash.c &&
	! FUZZ_BIN="$TRASH/bin" FUZZ_WORK="$TRASH/crash" "$FUZZ/run.sh" 30 receipt >out 2>&1 &&
	grep -q "^fuzz receipt: [0-9]* runs, .*, 1 crashes$" out &&
	grep -q "FAILED" out &&
	ls "$TRASH/crash/receipt/artifacts/" | grep -q "^crash-"
'

test_done
