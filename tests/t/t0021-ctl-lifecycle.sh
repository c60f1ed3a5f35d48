#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dockyardctl start, stop, status and run against stand-in daemons
# (tests/standins/, never shipped): pid files, sockets held by the right
# processes, the API, health checks that notice a dead component within
# seconds, a foreign process on the sysbox socket path (an upstream sysbox
# binds fixed paths),
# failed starts that undo themselves, and the foreground supervisor.
# flavors: release
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$TRASH" && pwd -P)/dy
CTL=$ROOT/bin/dockyardctl
RUNDIR=$ROOT/run
COMPONENTS="sysbox-mgr sysbox-fs containerd dockerd"
# A prefix of at most 8 characters that no other instance uses.
PFX=t21$(($$ % 100000))
DOCKYARD_STOP_TIMEOUT=2
DOCKYARD_START_TIMEOUT=10
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY

# Networks that no route and no iptables rule of this host mentions (other
# test runs may hold theirs), apart from the ranges t0020 uses (bridges in
# 172.31.240-255, pools in 172.31.0-127); where to begin depends on $$, so
# that runs at the same time pick different ones.
NET3=$(pick_free "172.31.%d.0/24" 200 1 40) || NET3=""
POOL=""
p=$(pick_free "172.31.%d.0/22" 128 4 18) && POOL=172.31.$p.0/22

lifecycle_cleanup() {
	if [ -x "$CTL" ]; then
		"$CTL" -q stop >/dev/null 2>&1
	fi
	kill_mentioning "$TRASH"
	cleanup_trash
}
trap lifecycle_cleanup EXIT

# pid_of NAME: the pid dockyardctl recorded for NAME.
pid_of() {
	cat "$RUNDIR/$1.pid"
}

# socket_of NAME
socket_of() {
	case $1 in
	sysbox-mgr) echo "$RUNDIR/sysbox/sysmgr.sock" ;;
	sysbox-fs) echo "$RUNDIR/sysbox/sysfs.sock" ;;
	containerd) echo "$RUNDIR/containerd/containerd.sock" ;;
	dockerd) echo "$RUNDIR/docker.sock" ;;
	esac
}

# all_up [NAMES]: each component runs from this root and is the one
# process listening on its socket; the API answers.
all_up() {
	for c in ${1:-$COMPONENTS}; do
		cpid=$(pid_of "$c") || return 1
		pid_running "$cpid" || fail "$c (pid $cpid) is not running" || return 1
		tr '\000' ' ' <"/proc/$cpid/cmdline" | grep -qF "$ROOT/bin/$c " ||
			fail "pid $cpid is not $ROOT/bin/$c" || return 1
		holders=$(socket_pids "$(socket_of "$c")")
		[ "$holders" = "$cpid" ] ||
			fail "$(socket_of "$c") is held by '$holders', not by $c ($cpid)" || return 1
	done
	[ "$(curl -sS --max-time 5 --unix-socket "$RUNDIR/docker.sock" http://localhost/_ping)" = OK ] ||
		fail "GET /_ping did not answer OK"
}

# nothing_runs: no process from this root, no pid file, no socket.
nothing_runs() {
	left=$(pids_mentioning "$ROOT/bin/")
	[ -z "$left" ] || fail "still running: $left" || return 1
	for f in "$RUNDIR"/*.pid; do
		[ ! -e "$f" ] || fail "pid file left: $f" || return 1
	done
	if [ -d "$RUNDIR" ]; then
		socks=$(find "$RUNDIR" -type s)
		[ -z "$socks" ] || fail "sockets left: $socks" || return 1
	fi
	! test -e "$RUNDIR/sysbox" || fail "$RUNDIR/sysbox is left" || return 1
	! ip link show dev "${PFX}docker0" >/dev/null 2>&1 || fail "bridge ${PFX}docker0 is left"
}

# foreign_listener PATH: a process (not a stand-in) listening on PATH; it
# execs, so that "foreign_listener PATH &" leaves its pid in $!.
foreign_listener() {
	exec python3 -c "import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
time.sleep(60)" "$1" >/dev/null 2>&1
}

# reap PID SECONDS: wait for the background job PID (SIGKILL after
# SECONDS) and return its exit status.
reap() {
	wait_exit "$1" "$2" || kill -KILL "$1" 2>/dev/null
	wait "$1"
}

# listening PATH: some process listens on the unix socket PATH.
listening() {
	[ -n "$(socket_pids "$1")" ]
}

# children_of PID: every component's recorded pid is a child of PID.
children_of() {
	for c in $COMPONENTS; do
		[ "$(pid_parent "$(pid_of "$c")")" = "$1" ] ||
			fail "$c is not a child of pid $1" || return 1
	done
}

# none_running PID...: none of these processes runs.
none_running() {
	for np in "$@"; do
		! pid_running "$np" || fail "pid $np still runs" || return 1
	done
}

# no_notify_env: no component inherited NOTIFY_SOCKET.
no_notify_env() {
	for c in $COMPONENTS; do
		! tr '\000' '\n' <"/proc/$(pid_of "$c")/environ" | grep -q NOTIFY_SOCKET ||
			fail "$c inherited NOTIFY_SOCKET" || return 1
	done
}

# status_json_check EXPR: status --json parses; EXPR (Python, over s) holds.
status_json_check() {
	"$CTL" status --json >status.json 2>status.err
	json_valid status status.json || return 1
	python3 -c '
import json, sys
s = json.load(open("status.json"))
if not eval(sys.argv[1]):
    sys.exit("status --json: %s is false in %r" % (sys.argv[1], s))
' "$1"
}

expect_success 'free addresses, curl and the stand-ins are at hand' '
	{ test -n "$NET3" || fail "no free 172.31.x.0/24 for the bridge"; } &&
	{ test -n "$POOL" || fail "no free /22 for the pool"; } &&
	{ command -v curl >/dev/null || fail "the API checks need curl"; } &&
	for c in $COMPONENTS; do
		test -x "$SRC_DIR/tests/standins/$c" || fail "no stand-in $c" || exit 1
	done
'

expect_success 'an instance root: dockyard.env, configuration, stand-ins, dockyardctl' '
	make_standin_instance "$ROOT" "$PFX" "172.31.$NET3" "$POOL" &&
	must_fail "$CTL" status >/dev/null 2>&1
'

expect_success 'start: each daemon runs and holds its own socket; the API answers' '
	"$CTL" start 2>err &&
	all_up &&
	for c in $COMPONENTS; do
		test -s "$RUNDIR/$c.pid" && test -s "$ROOT/log/$c.log" ||
			fail "$c: no pid file or log" || exit 1
	done &&
	curl -sS --unix-socket "$RUNDIR/docker.sock" http://localhost/version >version &&
	python3 -c "import json; assert json.load(open(\"version\"))[\"ApiVersion\"]"
'

expect_success 'status: exit 0, a line per component and the network' '
	"$CTL" status >out 2>err &&
	for c in $COMPONENTS network; do
		grep -q "^$c  *[-0-9]*  *ok " out || fail "status lacks a healthy $c line"
	done &&
	grep -q "API answers" out
'

expect_success 'status --json parses and says healthy' '
	status_json_check "s[\"healthy\"] and len(s[\"components\"]) == 4 and \
		all(c[\"healthy\"] and c[\"socket_held\"] for c in s[\"components\"]) and \
		s[\"network\"][\"healthy\"] and s[\"problems\"] == [] and \
		{\"kind\": \"bridge\", \"object\": \"${PFX}docker0\", \"state\": \"up\", \"detail\": None} in s[\"network\"][\"items\"] and \
		any(i[\"kind\"] == \"rule\" and i[\"state\"] == \"present\" for i in s[\"network\"][\"items\"])"
'

expect_success 'a second start says it is already running and changes nothing' '
	before=$(cat "$RUNDIR"/*.pid) &&
	"$CTL" start 2>err &&
	grep -q "already running" err &&
	test "$(cat "$RUNDIR"/*.pid)" = "$before"
'

expect_success 'dockerd killed: status fails within 3 seconds and names it' '
	dpid=$(pid_of dockerd) &&
	kill -KILL "$dpid" &&
	wait_exit "$dpid" 5 &&
	{ timeout 3 "$CTL" status >out 2>err; test $? = 1; } &&
	grep -q "dockerd: not running (pid $dpid \(gone\|exited, a zombie not yet reaped\))" err &&
	grep -q "^containerd  *[0-9]*  *ok " out
'

expect_success 'start refuses a partly running instance and leaves it alone' '
	before=$(cat "$RUNDIR"/*.pid) &&
	{ "$CTL" start 2>err; test $? = 1; } &&
	grep -q "partially running (dockerd: not running" err &&
	test "$(cat "$RUNDIR"/*.pid)" = "$before" &&
	pid_running "$(pid_of containerd)"
'

expect_success 'sysbox-fs killed: status names it' '
	fpid=$(pid_of sysbox-fs) &&
	kill -TERM "$fpid" &&
	wait_exit "$fpid" 5 &&
	{ timeout 3 "$CTL" status >out 2>err; test $? = 1; } &&
	grep -q "sysbox-fs: not running (pid $fpid \(gone\|exited, a zombie not yet reaped\))" err &&
	status_json_check "not s[\"healthy\"] and \
		[c[\"name\"] for c in s[\"components\"] if not c[\"healthy\"]] == [\"sysbox-fs\", \"dockerd\"]"
'

expect_success 'stop: processes, pid files, sockets and run/sysbox are gone; status fails' '
	pids=$(cat "$RUNDIR"/*.pid) &&
	"$CTL" stop 2>err &&
	none_running $pids &&
	nothing_runs &&
	must_fail "$CTL" status >out 2>err &&
	grep -q "dockerd: not running" err &&
	status_json_check "not s[\"healthy\"] and not any(c[\"running\"] for c in s[\"components\"])"
'

expect_success 'a second stop succeeds' '
	"$CTL" stop 2>err &&
	grep -q stopped err &&
	nothing_runs
'

expect_success 'start with a foreign process on run/sysbox/sysmgr.sock fails loudly and starts nothing' '
	mkdir -p "$RUNDIR/sysbox"
	foreign_listener "$RUNDIR/sysbox/sysmgr.sock" &
	foreign=$!
	wait_until 10 listening "$RUNDIR/sysbox/sysmgr.sock" &&
	{ "$CTL" start 2>err; test $? = 1; } &&
	grep -q "$RUNDIR/sysbox/sysmgr.sock is held by pid $foreign" err &&
	grep -q "refusing to start" err &&
	test -z "$(pids_mentioning "$ROOT/bin/")" &&
	! ls "$RUNDIR"/*.pid >/dev/null 2>&1 &&
	! ip link show dev "${PFX}docker0" >/dev/null 2>&1 &&
	test "$(socket_pids "$RUNDIR/sysbox/sysmgr.sock")" = "$foreign"
	rc=$?
	kill "$foreign"
	wait "$foreign" 2>/dev/null
	rm -f "$RUNDIR/sysbox/sysmgr.sock"
	[ "$rc" = 0 ] || cat err
	exit "$rc"
'

expect_success 'a foreign process that takes the sysfs socket during start is named, and start undoes itself' '
	STANDIN_BIND_DELAY=sysbox-fs:3 "$CTL" start 2>err &
	cpid=$!
	wait_until 10 listening "$RUNDIR/sysbox/sysmgr.sock" &&
	foreign_listener "$RUNDIR/sysbox/sysfs.sock" &
	foreign=$!
	wait_until 10 listening "$RUNDIR/sysbox/sysfs.sock" &&
	reap "$cpid" 15
	rc=$?
	test "$rc" = 1 &&
	grep -q "sysbox-fs (pid [0-9]*) exited before binding $RUNDIR/sysbox/sysfs.sock, exit status 1" err &&
	grep -q "$RUNDIR/sysbox/sysfs.sock is held by a process that is not this instance.s sysbox-fs: pid $foreign" err &&
	grep -q "address already in use" err &&
	grep -q "stopping sysbox-mgr" err &&
	test -z "$(pids_mentioning "$ROOT/bin/")" &&
	! ls "$RUNDIR"/*.pid >/dev/null 2>&1 &&
	grep -q "leaving $RUNDIR/sysbox in place" err
	rc=$?
	kill "$foreign"
	wait "$foreign" 2>/dev/null
	rm -rf "$RUNDIR/sysbox"
	[ "$rc" = 0 ] || cat err
	exit "$rc"
'

expect_success 'a recorded pid that now belongs to another process is never signalled' '
	sleep 60 &
	other=$!
	mkdir -p "$RUNDIR" &&
	echo "$other" >"$RUNDIR/dockerd.pid" &&
	echo 1 >"$RUNDIR/dockerd.starttime" &&
	{ "$CTL" status >out 2>err; test $? = 1; } &&
	grep -q "dockerd: not running (pid $other now belongs to another process)" err &&
	"$CTL" stop 2>err &&
	pid_running "$other" &&
	! test -e "$RUNDIR/dockerd.pid" &&
	! grep -q "stopping dockerd" err
	rc=$?
	kill "$other"
	exit "$rc"
'

expect_success 'start fails fast when dockerd exits, shows its log, and stops the others' '
	cp "$ROOT/etc/daemon.json" daemon.json.good &&
	echo "{\"hosts\": []}" >"$ROOT/etc/daemon.json" &&
	{ timeout 8 "$CTL" start 2>err; test $? = 1; } &&
	grep -q "dockerd (pid [0-9]*) exited before binding $RUNDIR/docker.sock, exit status 1" err &&
	grep -q "no unix:// entry in \"hosts\"" err &&
	grep -q "stopping containerd" err &&
	nothing_runs
	rc=$?
	cp daemon.json.good "$ROOT/etc/daemon.json"
	exit "$rc"
'

expect_success 'start refuses a daemon.json whose pidfile is the pid file dockyardctl keeps' '
	cp "$ROOT/etc/daemon.json" daemon.json.good &&
	printf "{\"hosts\": [\"unix://%s\"], \"pidfile\": \"%s\"}\n" \
		"$RUNDIR/docker.sock" "$RUNDIR/dockerd.pid" >"$ROOT/etc/daemon.json" &&
	{ "$CTL" start 2>err; test $? = 1; } &&
	grep -q "daemon.json sets \"pidfile\" to $RUNDIR/dockerd.pid" err &&
	nothing_runs
	rc=$?
	cp daemon.json.good "$ROOT/etc/daemon.json"
	exit "$rc"
'

expect_success 'stop kills a daemon that ignores SIGTERM after DOCKYARD_STOP_TIMEOUT' '
	STANDIN_IGNORE_TERM=containerd "$CTL" start 2>err &&
	all_up &&
	"$CTL" stop 2>err &&
	grep -q "containerd (pid [0-9]*) did not stop within 2 s; killing it" err &&
	nothing_runs
'

expect_success 'start --debug-runtime hands the runtime log directory to the daemons' '
	"$CTL" start --debug-runtime 2>err &&
	tr "\000" "\n" <"/proc/$(pid_of containerd)/environ" >environ &&
	grep -qx "DOCKYARD_RUNTIME_LOG_DIR=$ROOT/log/runtime" environ &&
	test -d "$ROOT/log/runtime" &&
	tr "\000" " " <"/proc/$(pid_of containerd)/cmdline" | grep -q -- "--log-level debug" &&
	"$CTL" status >out &&
	grep -q "runtime debug mode: on" out &&
	status_json_check "s[\"debug_runtime\"]" &&
	"$CTL" stop 2>err &&
	nothing_runs
'

expect_success 'without sysbox in bin/, only containerd and dockerd start' '
	mkdir -p nosysbox &&
	mv "$ROOT/bin/sysbox-mgr" "$ROOT/bin/sysbox-fs" nosysbox/ &&
	"$CTL" start 2>err &&
	all_up "containerd dockerd" &&
	! test -e "$RUNDIR/sysbox-mgr.pid" &&
	"$CTL" status >out &&
	! grep -q sysbox out &&
	"$CTL" stop 2>err &&
	nothing_runs
	rc=$?
	mv nosysbox/sysbox-mgr nosysbox/sysbox-fs "$ROOT/bin/"
	exit "$rc"
'

expect_success 'run: the daemons are its children; one dies, run stops the others and exits 1' '
	rm -rf "$RUNDIR"
	"$CTL" run >run.log 2>&1 &
	rpid=$!
	wait_until 15 "$CTL" -q status >/dev/null 2>&1 &&
	all_up &&
	children_of "$rpid" &&
	status_json_check "s[\"supervisor\"][\"pid\"] == $rpid" &&
	pids=$(cat "$RUNDIR"/*.pid) &&
	kill -KILL "$(pid_of containerd)"
	ok=$?
	[ "$ok" = 0 ] || kill -TERM "$rpid"
	reap "$rpid" 10
	rc=$?
	test "$ok" = 0 &&
	{ test "$rc" = 1 || fail "run exited $rc, not 1"; } &&
	grep -q "containerd: not running (pid [0-9]* \(gone\|exited, a zombie not yet reaped\)), killed by signal 9; stopping the others" run.log &&
	none_running $pids &&
	nothing_runs ||
	{ cat run.log; false; }
'

expect_success 'run: TERM stops the children in reverse order and run exits 0' '
	"$CTL" run >run.log 2>&1 &
	rpid=$!
	wait_until 15 "$CTL" -q status >/dev/null 2>&1
	ok=$?
	kill -TERM "$rpid"
	reap "$rpid" 15
	rc=$?
	test "$ok" = 0 &&
	{ test "$rc" = 0 || fail "run exited $rc, not 0"; } &&
	grep -o "stopping [a-z-]* (pid" run.log | cut -d " " -f 2 | tr "\n" " " >order &&
	{ test "$(cat order)" = "dockerd containerd sysbox-fs sysbox-mgr " ||
		fail "stop order: $(cat order)"; } &&
	nothing_runs ||
	{ cat run.log; false; }
'

expect_success 'stop while run supervises: run stops everything and exits 0' '
	"$CTL" run >run.log 2>&1 &
	rpid=$!
	wait_until 15 "$CTL" -q status >/dev/null 2>&1 &&
	"$CTL" stop 2>err &&
	grep -q "asking dockyardctl run (pid $rpid) to stop" err
	ok=$?
	[ "$ok" = 0 ] || kill -TERM "$rpid"
	reap "$rpid" 10
	rc=$?
	test "$ok" = 0 &&
	{ test "$rc" = 0 || fail "run exited $rc, not 0"; } &&
	nothing_runs ||
	{ cat run.log err; false; }
'

expect_success 'run notifies readiness on NOTIFY_SOCKET; the daemons do not inherit it' '
	python3 -c "import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
while True:
    msg = s.recv(4096).decode()
    print(msg, flush=True)
    if \"READY=1\" in msg:
        break" "$TRASH/notify.sock" >notify.out 2>&1 &
	listener=$!
	wait_until 10 test -S "$TRASH/notify.sock"
	NOTIFY_SOCKET=$TRASH/notify.sock "$CTL" run >run.log 2>&1 &
	rpid=$!
	if command -v systemd-notify >/dev/null; then
		wait_exit "$listener" 20 &&
		grep -q "READY=1" notify.out
	else
		# No systemd here: run says so and keeps going.
		wait_until 15 "$CTL" -q status >/dev/null 2>&1 &&
		grep -q "systemd-notify --ready failed" run.log
	fi &&
	all_up &&
	no_notify_env
	ok=$?
	kill -TERM "$rpid"
	reap "$rpid" 15
	rc=$?
	kill "$listener" 2>/dev/null
	test "$ok" = 0 && test "$rc" = 0 && nothing_runs ||
	{ cat run.log notify.out; false; }
'

test_done
