#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bounded daemon logs (scripts/36-logs.sh): dockyardctl's daemon_start
# sends a daemon's output through the rotating reader; under load (two
# writers, thousands of lines a second) every line arrives once, whole and
# in order, across the rotated files, none of which passes the size;
# DOCKYARD_LOG_KEEP bounds their number; under systemd's journal each line
# goes to standard output with the daemon's name.
# flavors: release
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$TRASH" && pwd -P)/dy
LINES=20000

logs_cleanup() {
	kill_mentioning "$TRASH"
	cleanup_trash
}
trap logs_cleanup EXIT

# noisy: a "daemon" whose two processes each write LINES numbered lines
# of 60 bytes, one to stdout and one to stderr.
cat >"$TRASH/noisy" <<'EOF'
#!/bin/sh
w() {
	i=0
	while [ "$i" -lt "$2" ]; do
		printf '%s %08d ..............................................\n' "$1" "$i"
		i=$((i + 1))
	done
}
w A "$1" &
w B "$1" >&2
wait
EOF
chmod 755 "$TRASH/noisy"

# noisy_gone PID: the daemon exited (a zombie PID 1 has not reaped yet
# counts as exited).
noisy_gone() {
	! pid_running "$1"
}

# reader_gone: no log reader of ROOT is left.
reader_gone() {
	! pgrep -f "^awk (-W interactive )?-v journal=(0 -v file=$ROOT/|1 -v name=noisy )" >/dev/null
}

# start_noisy SIZE KEEP [JOURNAL]: daemon_start of ROOT's dockyardctl runs
# noisy; waits until it and its log reader are done.
start_noisy() {
	sh -c 'DOCKYARDCTL_SOURCE_ONLY=1
		. "$1/bin/dockyardctl"
		ROOT=$1 RUN=$1/run LOGDIR=$1/log BIN=$1/bin PREFIX=t43
		DOCKYARD_LOG_MAX_SIZE=$2 DOCKYARD_LOG_KEEP=$3
		[ -z "$4" ] || JOURNAL_STREAM=8:1234
		daemon_start noisy "$5" "$6"
		echo "$DAEMON_PID" >&3' sh "$ROOT" "$1" "$2" "${3:-}" "$TRASH/noisy" "$LINES" 3>pid &&
	wait_until 60 noisy_gone "$(cat pid)" &&
	wait_until 30 reader_gone
}

# check_lines FILE...: the A and B lines, concatenated, are each
# 0 .. LINES-1 exactly once and in order, every line whole.
check_lines() {
	python3 - "$LINES" "$@" <<-'PY'
	import re, sys
	want = int(sys.argv[1])
	seen = {"A": [], "B": []}
	for path in sys.argv[2:]:
	    for line in open(path):
	        if "dockyardctl: starting" in line:
	            continue
	        m = re.fullmatch(r"([AB]) (\d{8}) \.{46}\n", line)
	        assert m, "%s: broken line %r" % (path, line)
	        seen[m.group(1)].append(int(m.group(2)))
	for k, v in seen.items():
	    assert v == list(range(want)), "%s: %d lines, first gap near %s" % (
	        k, len(v), next((i for i, x in enumerate(v) if x != i), None))
	PY
}

expect_success 'under load every line arrives once, in order, in files below the size' '
	mkdir -p "$ROOT/bin" "$ROOT/run" "$ROOT/log" &&
	"$DY_TOOLS/dy-concat" "$SRC_DIR/scripts" "$ROOT/bin/dockyardctl" &&
	start_noisy 64K 99 &&
	ls "$ROOT/log" >files &&
	n=$(grep -c "^noisy.log.[0-9]*$" files) &&
	test "$n" -ge 20 &&
	set -- &&
	i=$n && while [ "$i" -ge 1 ]; do set -- "$@" "$ROOT/log/noisy.log.$i"; i=$((i - 1)); done &&
	check_lines "$@" "$ROOT/log/noisy.log" &&
	for f in "$@" "$ROOT/log/noisy.log"; do
		test "$(stat -c %s "$f")" -le 65536 || fail "$f is $(stat -c %s "$f") bytes"
	done
'

expect_success 'DOCKYARD_LOG_KEEP bounds the rotated files; the rest are the newest lines' '
	rm -rf "$ROOT/log" && mkdir "$ROOT/log" &&
	start_noisy 4K 3 &&
	test "$(ls "$ROOT/log" | grep -c "^noisy.log")" = 4 &&
	test -f "$ROOT/log/noisy.log.3" && ! test -e "$ROOT/log/noisy.log.4" &&
	tail -n 1 "$ROOT/log/noisy.log.3" >/dev/null &&
	cat "$ROOT/log/noisy.log.3" "$ROOT/log/noisy.log.2" "$ROOT/log/noisy.log.1" \
		"$ROOT/log/noisy.log" | grep -c "^[AB] " >count &&
	test "$(cat count)" -lt 400 &&
	grep -q "^[AB] 000$((LINES - 1))" "$ROOT/log/noisy.log"
'

expect_success 'a line reaches the log at once, not when more output follows' '
	rm -rf "$ROOT/log" && mkdir "$ROOT/log" &&
	printf "#!/bin/sh\necho first line\nexec sleep 30\n" >"$TRASH/quiet" &&
	chmod 755 "$TRASH/quiet" &&
	sh -c "DOCKYARDCTL_SOURCE_ONLY=1
		. \"\$1/bin/dockyardctl\"
		ROOT=\$1 RUN=\$1/run LOGDIR=\$1/log BIN=\$1/bin PREFIX=t43
		daemon_start quiet \"\$2\"
		echo \$DAEMON_PID >&3" sh "$ROOT" "$TRASH/quiet" 3>pid &&
	{ wait_until 10 grep -q "^first line$" "$ROOT/log/quiet.log" ||
		fail "the line did not reach $ROOT/log/quiet.log"; } &&
	kill "$(cat pid)" && wait_until 10 reader_gone
'

expect_success 'under the journal each line goes to stdout with the name, no file' '
	rm -rf "$ROOT/log" && mkdir "$ROOT/log" &&
	start_noisy 4K 3 journal >journal.out 2>journal.err &&
	! test -e "$ROOT/log/noisy.log" &&
	test "$(grep -c "^noisy: [AB] " journal.out)" = $((2 * LINES)) &&
	grep -q "dockyardctl: starting" journal.err
'

test_done
