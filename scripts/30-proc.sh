#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Process helpers: start a daemon detached with a pid file that says who it
# is, find the processes behind a listening unix socket, wait for a socket,
# and stop a daemon without ever signalling a process we did not start.
#
# A daemon NAME has $RUN/NAME.pid (the pid, one line) and
# $RUN/NAME.starttime (its start time in clock ticks after boot, field 22
# of /proc/PID/stat).  A pid counts as NAME only while both agree, so a
# recycled pid is never taken for ours.  Functions report through globals
# (no subshells), because a daemon must be a child of this shell.

# pid_is_num VALUE: VALUE is a positive decimal number.
pid_is_num() {
	case $1 in
	'' | *[!0-9]* | 0) return 1 ;;
	esac
	return 0
}

# proc_stat PID: set PS_STATE, PS_PPID and PS_START from /proc/PID/stat;
# fail when there is no such process.  The command name (field 2) may
# hold spaces and parentheses, so fields are counted after its last ')'.
proc_stat() {
	pid_is_num "$1" || return 1
	{ read -r _ps_line <"/proc/$1/stat"; } 2>/dev/null || return 1
	_ps_line=${_ps_line##*) }
	set -f
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $_ps_line
	set +f
	[ $# -ge 20 ] || return 1
	PS_STATE=$1
	PS_PPID=$2
	shift 19
	PS_START=$1
}

# proc_alive PID: PID exists and is not a zombie.
proc_alive() {
	proc_stat "$1" || return 1
	case $PS_STATE in
	Z | X | x) return 1 ;;
	esac
	return 0
}

# proc_descends PID ANCESTOR: PID is ANCESTOR or one of its descendants.
proc_descends() {
	_pd_pid=$1
	_pd_depth=0
	while [ "$_pd_depth" -lt 32 ]; do
		[ "$_pd_pid" = "$2" ] && return 0
		proc_stat "$_pd_pid" || return 1
		_pd_pid=$PS_PPID
		pid_is_num "$_pd_pid" || return 1
		_pd_depth=$((_pd_depth + 1))
	done
	return 1
}

# proc_desc PID: "pid N (command line)" for messages.
proc_desc() {
	_pdd_cmd=$({ tr '\000\n\t' '   ' <"/proc/$1/cmdline"; } 2>/dev/null | cut -c 1-160) || _pdd_cmd=""
	printf 'pid %s (%s)' "$1" "${_pdd_cmd% }"
}

# pidfile_write NAME PID: record PID as NAME; each file is replaced
# atomically, the start time first, so a pid file never names a process
# without the start time that identifies it.
pidfile_write() {
	proc_stat "$2" || return 1
	printf '%s\n' "$PS_START" >"$RUN/$1.starttime.tmp.$$"
	mv -f "$RUN/$1.starttime.tmp.$$" "$RUN/$1.starttime"
	printf '%s\n' "$2" >"$RUN/$1.pid.tmp.$$"
	mv -f "$RUN/$1.pid.tmp.$$" "$RUN/$1.pid"
}

# pidfile_remove NAME (rm only when there is something to remove: a
# start calls this for every daemon).
pidfile_remove() {
	if [ -e "$RUN/$1.pid" ] || [ -e "$RUN/$1.starttime" ]; then
		rm -f "$RUN/$1.pid" "$RUN/$1.starttime"
	fi
}

# daemon_check NAME: succeed when the process recorded as NAME is alive and
# is still the one recorded; DC_PID is the recorded pid (or empty) and
# DC_REASON says why not, e.g. "not running (pid 123 gone)".
daemon_check() {
	DC_PID=""
	DC_REASON=""
	if [ ! -f "$RUN/$1.pid" ]; then
		DC_REASON="not running (no pid file)"
		return 1
	fi
	{ read -r DC_PID <"$RUN/$1.pid"; } 2>/dev/null || DC_PID=""
	if ! pid_is_num "$DC_PID"; then
		DC_REASON="not running (unreadable pid file $RUN/$1.pid)"
		DC_PID=""
		return 1
	fi
	if ! proc_alive "$DC_PID"; then
		if proc_stat "$DC_PID"; then
			DC_REASON="not running (pid $DC_PID exited, a zombie not yet reaped)"
		else
			DC_REASON="not running (pid $DC_PID gone)"
		fi
		return 1
	fi
	_dc_start=""
	{ read -r _dc_start <"$RUN/$1.starttime"; } 2>/dev/null || _dc_start=""
	if [ "$_dc_start" != "$PS_START" ]; then
		DC_REASON="not running (pid $DC_PID now belongs to another process)"
		return 1
	fi
	return 0
}

# proc_runs PID PROGRAM: PID runs PROGRAM: the first word of its command
# line, or the second (a script started through its interpreter).
proc_runs() {
	{ tr '\000' '\n' <"/proc/$1/cmdline"; } 2>/dev/null | head -n 2 | grep -qxF -- "$2"
}

# own_pidfile_check NAME FILE: FILE is the pid file that NAME writes itself
# and that makes it refuse to start while FILE names a process (dockerd
# asks kill(pid, 0), which a zombie passes).  The rules of daemon_check
# apply: a pid that is gone, a zombie, or a process that is not $BIN/NAME
# does not count, and FILE is removed with a line in $LOGDIR/NAME.log (and
# on stderr) that says why.  Fails, leaving FILE alone, when a live NAME
# of this instance is recorded there; OP_PID is then its pid.
own_pidfile_check() {
	OP_PID=""
	[ -f "$2" ] || return 0
	_op_pid=""
	{ read -r _op_pid <"$2"; } 2>/dev/null || _op_pid=""
	if ! pid_is_num "$_op_pid"; then
		_op_why="it holds no pid"
	elif ! proc_stat "$_op_pid"; then
		_op_why="pid $_op_pid is gone"
	elif ! proc_alive "$_op_pid"; then
		_op_why="pid $_op_pid exited (a zombie not yet reaped)"
	elif ! proc_runs "$_op_pid" "$BIN/$1"; then
		_op_why="pid $_op_pid is $(proc_desc "$_op_pid"), not this instance's $1"
	else
		OP_PID=$_op_pid
		return 1
	fi
	rm -f "$2"
	say "removed $1's stale pid file $2: $_op_why"
	mkdir -p "$LOGDIR"
	printf '%s dockyardctl: removed stale pid file %s: %s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" \
		"$2" "$_op_why" >>"$LOGDIR/$1.log"
}

# daemon_start NAME CMD...: start CMD in its own session, stdin from
# /dev/null, stdout and stderr appended to $LOGDIR/NAME.log; record it as
# NAME and leave its pid in DAEMON_PID.  Refuses while NAME is running.
daemon_start() {
	_ds_name=$1
	shift
	if daemon_check "$_ds_name"; then
		die "$_ds_name is already running ($(proc_desc "$DC_PID"); $RUN/$_ds_name.pid)"
	fi
	pidfile_remove "$_ds_name"
	if [ ! -d "$RUN" ] || [ ! -d "$LOGDIR" ]; then
		mkdir -p "$RUN" "$LOGDIR"
	fi
	log_note "$_ds_name" "dockyardctl: starting $*"
	log_sink "$_ds_name"
	# A background job of a shell without job control is never a process
	# group leader, so setsid calls setsid(2) and execs: $! is the daemon.
	# The daemons find their helpers by name in PATH (containerd its
	# shim, the shim and dockerd runc): this instance's own come first.
	# Descriptor 8 is the supervisor's lock (run_lock): not the daemons'.
	PATH=$BIN:$PATH setsid "$@" </dev/null >"$DY_LOG_SINK" 2>&1 8>&- &
	DAEMON_PID=$!
	pidfile_write "$_ds_name" "$DAEMON_PID" ||
		die "$_ds_name (pid $DAEMON_PID) vanished at once; see $LOGDIR/$_ds_name.log"
}

# socket_inodes SOCKET...: "socket:[INODE] ..." of the listening unix
# sockets bound at exactly one of the SOCKETs (paths without blanks: the
# instance's), from /proc/net/unix.
socket_inodes() {
	DY_SOCK="$*" awk 'BEGIN { n = split(ENVIRON["DY_SOCK"], s, " "); for (i = 1; i <= n; i++) want[s[i]] = 1 }
		NF == 8 && ($8 in want) && $4 == "00010000" { printf "socket:[%s] ", $7 }' /proc/net/unix
}

# socket_holder SOCKET: the pids (one a line, sorted) of the processes
# holding a listening unix socket bound at exactly SOCKET: the /proc/*/fd
# links to its inodes.  One ls -l lists every link (find -lname is not in
# busybox; readlink would cost a fork per descriptor).
socket_holder() {
	_sh_want=$(socket_inodes "$1") || return 0
	[ -n "$_sh_want" ] || return 0
	# shellcheck disable=SC2012 # ls -l is read for link targets only
	ls -l /proc/[0-9]*/fd 2>/dev/null | DY_WANT=$_sh_want awk '
		BEGIN { n = split(ENVIRON["DY_WANT"], w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
		/^\/proc\/[0-9]+\/fd:$/ { pid = substr($0, 7, length($0) - 10); next }
		NF >= 3 && pid != "" && $(NF - 1) == "->" && ($NF in want) { print pid }' | sort -un
}

# pid_holds PID WANT: one of PID's descriptors is a link in WANT (the
# output of socket_inodes).
pid_holds() {
	# shellcheck disable=SC2012 # ls -l is read for link targets only
	ls -l "/proc/$1/fd" 2>/dev/null | DY_WANT=$2 awk '
		BEGIN { n = split(ENVIRON["DY_WANT"], w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
		NF >= 3 && $(NF - 1) == "->" && ($NF in want) { found = 1 }
		END { exit !found }'
}

# socket_held_by SOCKET PID: SOCKET is held by PID or a descendant of it.
# PID itself is asked first: that is the usual case, and scanning every
# process's descriptors costs a good part of a second on a busy host.
socket_held_by() {
	SH_HOLDERS=""
	_shb_want=$(socket_inodes "$1")
	[ -n "$_shb_want" ] || return 1
	! pid_holds "$2" "$_shb_want" || return 0
	SH_HOLDERS=$(socket_holder "$1" | tr '\n' ' ')
	SH_HOLDERS=${SH_HOLDERS% }
	for _shb in $SH_HOLDERS; do
		proc_descends "$_shb" "$2" && return 0
	done
	return 1
}

# foreign_holders SOCKET PID: describe the holders of SOCKET that are
# neither PID nor its descendants (empty when there are none).
foreign_holders() {
	_fh_out=""
	for _fh in $(socket_holder "$1"); do
		if [ -z "$2" ] || ! proc_descends "$_fh" "$2"; then
			_fh_out="$_fh_out${_fh_out:+, }$(proc_desc "$_fh")"
		fi
	done
	printf '%s' "$_fh_out"
}

# log_tail NAME: the last lines (at most 12) that the latest start of NAME
# left in $LOGDIR/NAME.log, indented, on stderr.
log_tail() {
	if [ -s "$LOGDIR/$1.log" ]; then
		printf '  last lines of %s:\n' "$LOGDIR/$1.log" >&2
		awk '/^[^ ]* dockyardctl: starting / { n = 0 }
			{ line[n++] = $0 }
			END { for (i = (n > 12 ? n - 12 : 0); i < n; i++) print "    " line[i] }' \
			"$LOGDIR/$1.log" >&2
	fi
}

# dy_clock: DY_CS is the time since boot in centiseconds (/proc/uptime;
# no fork, and finer than date +%s for short deadlines).
dy_clock() {
	read -r DY_CS _ </proc/uptime
	DY_CS=${DY_CS%.*}${DY_CS#*.}
	DY_CS=${DY_CS#"${DY_CS%%[!0]*}"}
	DY_CS=${DY_CS:-0}
}

# dy_deadline SECONDS: DY_DEADLINE is SECONDS from now (centiseconds);
# dy_nap starts over.
dy_deadline() {
	DY_NAPS=0
	dy_clock
	DY_DEADLINE=$((DY_CS + $1 * 100))
}

# dy_past_deadline: DY_DEADLINE has passed.
dy_past_deadline() {
	dy_clock
	[ "$DY_CS" -ge "$DY_DEADLINE" ]
}

# exit_how STATUS: ", exit status N" or ", killed by signal N" (as the shell
# reports it; empty for 0 and for 127, which wait gives for a non-child).
exit_how() {
	case $1 in
	0 | 127) ;;
	129 | 1[3-9][0-9] | 2[0-5][0-9]) printf ', killed by signal %s' "$(($1 - 128))" ;;
	*) printf ', exit status %s' "$1" ;;
	esac
}

# dy_nap: sleep a moment between two probes of a wait: 0.01 s for the
# first 200 probes since dy_deadline (a daemon binds its socket within tens
# of milliseconds; the wait ends at most one step after it), 0.1 s after
# that (a slow start does not cost a fork every 0.01 s for a minute).
dy_nap() {
	DY_NAPS=$((DY_NAPS + 1))
	if [ "$DY_NAPS" -le 200 ]; then
		sleep 0.01
	else
		sleep 0.1
	fi
}

# wait_socket NAME PID SOCKET TIMEOUT: wait (dy_nap steps, at most TIMEOUT
# seconds) until SOCKET exists and is held by PID or one of its children.
# The cheap test (the socket file) runs at every step, the holder scan
# only once the file is there.  Dies early when PID exits; the message
# names the component, the socket, any other process holding it, and the
# end of the component's log.
wait_socket() {
	dy_deadline "$4"
	while :; do
		if [ -S "$3" ] && socket_held_by "$3" "$2"; then
			return 0
		fi
		if ! proc_alive "$2"; then
			_ws_rc=0
			wait "$2" 2>/dev/null || _ws_rc=$?
			_ws_why="exited before binding $3$(exit_how "$_ws_rc")"
			break
		fi
		if dy_past_deadline; then
			_ws_why="did not bind $3 within $4 s"
			break
		fi
		dy_nap
	done
	_ws_foreign=$(foreign_holders "$3" "$2")
	printf 'dockyardctl%s: error: %s (pid %s) %s\n' "${PREFIX:+ [$PREFIX]}" "$1" "$2" "$_ws_why" >&2
	if [ -n "$_ws_foreign" ]; then
		printf '  %s is held by a process that is not this instance'\''s %s: %s\n' \
			"$3" "$1" "$_ws_foreign" >&2
	fi
	log_tail "$1"
	die "$1 did not start"
}

# daemon_gone NAME SECONDS: wait until NAME is no longer running.
daemon_gone() {
	dy_deadline "$2"
	while daemon_check "$1"; do
		! dy_past_deadline || return 1
		sleep 0.1
	done
	return 0
}

# daemon_stop NAME TIMEOUT: TERM, wait up to TIMEOUT seconds, then KILL;
# remove the pid file.  Only ever signals the process recorded as NAME (pid
# and start time); nothing recorded or already gone is success.  Fails
# only when the process outlives SIGKILL.
daemon_stop() {
	if ! daemon_check "$1"; then
		pidfile_remove "$1"
		return 0
	fi
	_dst_pid=$DC_PID
	say "stopping $1 (pid $_dst_pid)"
	kill -TERM "$_dst_pid" 2>/dev/null || :
	if ! daemon_gone "$1" "$2"; then
		warn "$1 (pid $_dst_pid) did not stop within $2 s; killing it"
		if daemon_check "$1"; then
			kill -KILL "$_dst_pid" 2>/dev/null || :
		fi
		if ! daemon_gone "$1" 5; then
			warn "$1 (pid $_dst_pid) survives SIGKILL"
			return 1
		fi
	fi
	pidfile_remove "$1"
	return 0
}
