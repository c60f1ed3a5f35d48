#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# status, stop, start, destroy and the installer's start and rollback when
# killed daemons stay zombies.  The whole script runs under dy-subreaper
# (tests/tools/), a parent that adopts the daemons and never reaps them,
# like a PID 1 that reaps late or never.  Daemons are the stand-ins
# (tests/standins/, never shipped); like dockerd and sysbox they refuse to
# start over their own pid file while kill(pid, 0) finds its pid, which a
# zombie passes.
# flavors: release
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
if [ -z "${DY_T0025_REAPER:-}" ]; then
	DY_T0025_REAPER=$$
	export DY_T0025_REAPER
	exec "${DY_TOOLS:-$(cd "$(dirname "$0")/../.." && pwd)/build/rel}/dy-subreaper" sh "$0" "$@"
fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

BASE=$(cd "$TRASH" && pwd -P)
ROOT=$BASE/dy
CTL=$ROOT/bin/dockyardctl
RUNDIR=$ROOT/run
PFX=t25$(($$ % 100000))
ACCT=${PFX}docker
I1=$TRASH/i1
I3=$TRASH/i3
COMPONENTS="sysbox-mgr sysbox-fs containerd dockerd"
DOCKYARD_STOP_TIMEOUT=5
DOCKYARD_START_TIMEOUT=20
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY DOCKYARD_CTL_ROOT

require "instances"

MADE_ETC_DOCKYARD=0
MADE_INSTANCES=0
[ -d /etc/dockyard ] || MADE_ETC_DOCKYARD=1
[ -d /etc/dockyard/instances ] || MADE_INSTANCES=1

zombie_cleanup() {
	[ -x "$CTL" ] && "$CTL" -q destroy --yes >/dev/null 2>&1
	kill_mentioning "$BASE"
	userdel "$ACCT" >/dev/null 2>&1
	groupdel "$ACCT" >/dev/null 2>&1
	rm -f "/etc/dockyard/instances/$PFX"
	ip link del "${PFX}docker0" >/dev/null 2>&1
	[ "$MADE_INSTANCES" = 0 ] || rmdir /etc/dockyard/instances 2>/dev/null
	[ "$MADE_ETC_DOCKYARD" = 0 ] || rmdir /etc/dockyard 2>/dev/null
	cleanup_trash
}
trap zombie_cleanup EXIT

api_ok() {
	[ "$(curl -sS --max-time 5 --unix-socket "$RUNDIR/docker.sock" http://localhost/_ping)" = OK ]
}

pid_of() {
	cat "$RUNDIR/$1.pid"
}

# pid_state PID: the state letter of PID (Z for a zombie).
pid_state() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 1
}

# is_zombie PID
is_zombie() {
	test "$(pid_state "$1")" = Z
}

# stays_zombie PID: PID is a zombie of the sub-reaper, and still one a
# moment later (nobody reaps it).
stays_zombie() {
	wait_until 10 is_zombie "$1" ||
		fail "pid $1 is not a zombie (state '$(pid_state "$1")', parent $(pid_parent "$1" 2>/dev/null))" || return 1
	sleep 0.3
	test "$(pid_state "$1")" = Z || fail "pid $1 was reaped" || return 1
	test "$(pid_parent "$1")" = "$DY_T0025_REAPER" || fail "pid $1 is not a child of the sub-reaper"
}

# kill_zombie NAME...: SIGKILL each named daemon; each stays a zombie.
kill_zombie() {
	for _kz in "$@"; do
		_kzp=$(pid_of "$_kz") && kill -KILL "$_kzp" || return 1
	done
	for _kz in "$@"; do
		stays_zombie "$(pid_of "$_kz")" || return 1
	done
}

# all_up: every daemon runs, is a child of the sub-reaper, and the API answers.
all_up() {
	for c in $COMPONENTS; do
		p=$(pid_of "$c") || return 1
		pid_running "$p" || fail "$c (pid $p) does not run" || return 1
		test "$(pid_parent "$p")" = "$DY_T0025_REAPER" ||
			fail "$c (pid $p) is not a child of the sub-reaper" || return 1
	done
	api_ok || fail "GET /_ping did not answer OK"
}

# stale_logged NAME WHY: NAME's log says its stale pid file was removed, and why.
stale_logged() {
	grep -q "dockyardctl: removed stale pid file .*: $2" "$ROOT/log/$1.log" ||
		fail "$ROOT/log/$1.log does not say its stale pid file was removed ($2)"
}

expect_success 'this script runs under a parent that does not reap' '
	orphan=$(sh -c "sleep 60 >/dev/null 2>&1 & echo \$!") &&
	kill -KILL "$orphan" &&
	stays_zombie "$orphan"
'

expect_success 'installers of stand-in daemons with sysbox build' '
	make_standin_sysbox_payload "$TRASH/p1" cli-one &&
	build_installer "$TRASH/p1" "$I1" &&
	cp -r "$TRASH/p1" "$TRASH/p3" &&
	sed -i "s/^version = 1.0.0-test$/version = 1.0.1-test/" "$TRASH/p3/test.manifest" &&
	printf "#!/bin/sh\necho broken dockerd >&2\nexit 3\n" >"$TRASH/p3/dockerd" &&
	build_installer "$TRASH/p3" "$I3"
'

expect_success 'install without systemd: the daemons are the sub-reaper'\''s' '
	"$I1" -q --root "$ROOT" --prefix "$PFX" --no-systemd &&
	all_up &&
	test -s "$RUNDIR/docker/dockerd.pid" && test -s "$RUNDIR/sysbox/sysmgr.pid"
'

expect_success 'status names a killed dockerd that is a zombie' '
	dpid=$(pid_of dockerd) &&
	kill_zombie dockerd &&
	{ rc=0; timeout 10 "$CTL" status >out 2>err || rc=$?; } &&
	test "$rc" = 1 &&
	grep -q "unhealthy: dockerd: not running (pid $dpid exited, a zombie not yet reaped)" err
'

expect_success 'stop after the crash stops the rest and removes dockerd'\''s stale pid file' '
	"$CTL" -q stop 2>err &&
	! test -e "$RUNDIR/docker/dockerd.pid" &&
	stale_logged dockerd "pid [0-9]* exited (a zombie not yet reaped)" &&
	for c in $COMPONENTS; do ! test -e "$RUNDIR/$c.pid" || return 1; done
'

expect_success 'start after the crash and stop works' '
	"$CTL" -q start && all_up
'

expect_success 'start right after every daemon was killed works: stale pid files go, saying why' '
	kill_zombie $COMPONENTS &&
	test -s "$RUNDIR/docker/dockerd.pid" && test -s "$RUNDIR/sysbox/sysfs.pid" &&
	"$CTL" start 2>err &&
	grep -q "removed dockerd'\''s stale pid file $RUNDIR/docker/dockerd.pid: pid [0-9]* exited (a zombie not yet reaped)" err &&
	stale_logged sysbox-mgr "pid [0-9]* exited (a zombie not yet reaped)" &&
	stale_logged sysbox-fs "pid [0-9]* exited (a zombie not yet reaped)" &&
	all_up
'

expect_success 'a pid file naming another live process is stale; a live dockerd of this instance is not' '
	"$CTL" -q stop &&
	{ sleep 60 & other=$!; } &&
	mkdir -p "$RUNDIR/docker" && echo "$other" >"$RUNDIR/docker/dockerd.pid" &&
	"$CTL" -q start && all_up &&
	stale_logged dockerd "pid $other is pid $other (sleep 60), not this instance'\''s dockerd" &&
	kill "$other" &&
	"$CTL" -q stop &&
	{ python3 -c "import os, sys; os.execv(\"/bin/sleep\", [sys.argv[1], \"60\"])" "$ROOT/bin/dockerd" &
		fake=$!; } &&
	wait_until 5 eval "tr \"\\000\" \" \" </proc/$fake/cmdline | grep -q \"^$ROOT/bin/dockerd 60\"" &&
	echo "$fake" >"$RUNDIR/docker/dockerd.pid" &&
	{ rc=0; "$CTL" start 2>err || rc=$?; } &&
	kill "$fake" && test "$rc" = 1 &&
	grep -q "a daemon of this instance runs without dockyardctl: dockerd (pid $fake ($ROOT/bin/dockerd 60)" err &&
	test "$(cat "$RUNDIR/docker/dockerd.pid")" = "$fake" &&
	! test -e "$RUNDIR/containerd.pid" &&
	"$CTL" -q start && all_up
'

expect_success 'a killed supervisor and a zombie dockerd: stop, then start works' '
	"$CTL" -q stop &&
	{ "$CTL" -q run >run.log 2>&1 & sup=$!; } &&
	wait_until 20 api_ok &&
	kill -KILL "$sup" && wait "$sup";
	kill_zombie dockerd &&
	{ rc=0; timeout 10 "$CTL" status >out 2>err || rc=$?; } && test "$rc" = 1 &&
	grep -q "supervisor: not running" err &&
	"$CTL" -q stop && "$CTL" -q start && all_up
'

expect_success 'two runs started at once: one supervises, the other fails naming it' '
	"$CTL" -q stop &&
	{ "$CTL" -q run >run1.log 2>&1 & s1=$!; } &&
	{ "$CTL" -q run >run2.log 2>&1 & s2=$!; } &&
	wait_until 30 eval "! pid_running $s1 || ! pid_running $s2" &&
	if pid_running "$s1"; then win=$s1 lose=$s2 log=run2.log; else win=$s2 lose=$s1 log=run1.log; fi &&
	{ rc=0; wait "$lose" || rc=$?; } && test "$rc" = 1 &&
	grep -q "already supervised by dockyardctl run\|another dockyardctl run of this instance holds" "$log" &&
	wait_until 30 api_ok &&
	test "$(cat "$RUNDIR/supervisor.pid")" = "$win" &&
	for c in $COMPONENTS; do
		test "$(pid_parent "$(pid_of "$c")")" = "$win" || return 1
	done &&
	test "$(pids_mentioning "$ROOT/bin/sysbox-mgr" | wc -l)" = 1 &&
	"$CTL" -q stop && wait "$win" &&
	"$CTL" -q start && all_up
'

expect_success 'the installer starts an instance whose dockerd is a zombie' '
	kill_zombie dockerd &&
	"$I1" -q --root "$ROOT" --no-systemd && all_up
'

expect_success 'the installer'\''s rollback starts the previous bin/ past a zombie dockerd' '
	kill_zombie dockerd &&
	must_fail "$I3" -q --root "$ROOT" --no-systemd --start-timeout 10 2>err &&
	grep -q "restored the previous bin/, which runs again" err &&
	all_up && "$ROOT/bin/docker" version | grep -q "^cli-one version"
'

expect_success 'destroy with every daemon a zombie leaves nothing of the instance' '
	kill_zombie $COMPONENTS &&
	"$CTL" -q destroy --yes &&
	! test -e "$ROOT" &&
	! ip link show "${PFX}docker0" >/dev/null 2>&1 &&
	! grep -q "^$ACCT:" /etc/passwd /etc/group &&
	! test -e "/etc/dockyard/instances/$PFX" &&
	test -z "$(pids_mentioning "$ROOT/")"
'

test_done
