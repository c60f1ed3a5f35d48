#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run libFuzzer harnesses for a bounded time, each on a fresh COPY of its
# committed seed corpus (tests/fuzz/corpus/NAME), so a run never grows the
# committed corpus.  First every seed is replayed once, then the harness
# fuzzes for SECONDS.  Prints one line of figures per harness and fails on
# any crash, leak, timeout or sanitizer report (the reproducer is kept in
# WORK/NAME/artifacts/).
#
#   tests/fuzz/run.sh SECONDS NAME...
#
# FUZZ_BIN   where fuzz_NAME binaries are (build/fuzz)
# FUZZ_WORK  scratch directory for corpus copies and logs (build/fuzz/run)
set -u

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ_BIN=${FUZZ_BIN:-$SRC_DIR/build/fuzz}
FUZZ_WORK=${FUZZ_WORK:-$SRC_DIR/build/fuzz/run}
# Leaks count as failures; UBSan reports abort (the objects are built with
# -fno-sanitize-recover) and libFuzzer keeps the input.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

if [ $# -lt 2 ]; then
	echo "usage: $0 SECONDS NAME..." >&2
	exit 2
fi
seconds=$1
shift

failed=0

# stat_of LOG NAME: a "stat::NAME: N" figure of -print_final_stats.
stat_of() {
	sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

fuzz_one() {
	name=$1
	bin=$FUZZ_BIN/fuzz_$name
	seeds=$SRC_DIR/tests/fuzz/corpus/$name
	work=$FUZZ_WORK/$name
	log=$work/fuzz.log

	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "fuzz $name: missing $bin or $seeds" >&2
		return 1
	fi
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	cp "$seeds"/* "$work/corpus/"
	nseeds=$(find "$work/corpus" -type f | wc -l)

	if ! "$bin" -artifact_prefix="$work/artifacts/" "$seeds"/* >"$work/replay.log" 2>&1; then
		echo "fuzz $name: replaying the seed corpus failed:" >&2
		tail -n 40 "$work/replay.log" >&2
		return 1
	fi

	start=$(date +%s)
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1
	rc=$?
	end=$(date +%s)

	runs=$(stat_of "$log" number_of_executed_units)
	crashes=$(find "$work/artifacts" -type f | wc -l)
	ncorpus=$(find "$work/corpus" -type f | wc -l)
	echo "fuzz $name: ${runs:-?} runs, corpus $nseeds -> $ncorpus inputs," \
		"$((end - start)) s, $crashes crashes"
	if [ "$rc" != 0 ] || [ "$crashes" != 0 ] || [ -z "$runs" ]; then
		echo "fuzz $name: FAILED (exit $rc); reproducer(s) in $work/artifacts:" >&2
		ls "$work/artifacts" >&2
		grep -v '^#[0-9]' "$log" | tail -n 60 >&2
		return 1
	fi
	return 0
}

for name in "$@"; do
	fuzz_one "$name" || failed=$((failed + 1))
done
echo "fuzz: $# harnesses, $failed failed"
[ "$failed" = 0 ]
