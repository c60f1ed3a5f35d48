#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Lifecycle: start, stop, status, and run (the foreground supervisor the
# systemd unit runs).  Components start in this order and stop in reverse:
#
#   sysbox-mgr  $SYSBOX_RUN/sysmgr.sock   (only when $BIN/sysbox-mgr exists)
#   sysbox-fs   $SYSBOX_RUN/sysfs.sock
#   containerd  $CONTAINERD_SOCK
#   dockerd     $DOCKER_SOCK, then GET /_ping answering OK
#
# Each starts once the one before holds its socket, except dockerd, which
# starts together with containerd and waits for its socket itself.
# Every socket must be held by the process this instance started: an
# upstream sysbox elsewhere (it hardcodes /run/sysbox) may sit on a path
# we expect, and a unit would then look active while broken.  The
# bridge and rules (net_up) come before dockerd, which refuses to start
# without its bridge, and go last (net_down).
#
# Timeouts in whole seconds: DOCKYARD_START_TIMEOUT for each wait (default
# 60), DOCKYARD_STOP_TIMEOUT for each component to stop after SIGTERM
# before it gets SIGKILL (default 30).

DY_ALL_COMPONENTS="sysbox-mgr sysbox-fs containerd dockerd"
DY_STARTED=""
DY_NET=0
DEBUG_RUNTIME=0

# dy_usage_error MESSAGE: exit 2, like the other usage errors.
dy_usage_error() {
	printf 'dockyardctl: error: %s (see --help)\n' "$*" >&2
	exit 2
}

# dy_timeouts: START_TIMEOUT and STOP_TIMEOUT from the environment.
dy_timeouts() {
	START_TIMEOUT=${DOCKYARD_START_TIMEOUT:-60}
	STOP_TIMEOUT=${DOCKYARD_STOP_TIMEOUT:-30}
	case $START_TIMEOUT in
	'' | *[!0-9]* | 0) die "DOCKYARD_START_TIMEOUT '$START_TIMEOUT' must be a whole number of seconds above 0" ;;
	esac
	case $STOP_TIMEOUT in
	'' | *[!0-9]* | 0) die "DOCKYARD_STOP_TIMEOUT '$STOP_TIMEOUT' must be a whole number of seconds above 0" ;;
	esac
}

# dy_components: the components of this payload, in start order.
dy_components() {
	if [ -e "$BIN/sysbox-mgr" ]; then
		echo "sysbox-mgr sysbox-fs containerd dockerd"
	else
		echo "containerd dockerd"
	fi
}

# component_socket NAME: the socket NAME listens on.
component_socket() {
	case $1 in
	sysbox-mgr) printf '%s\n' "$SYSBOX_RUN/sysmgr.sock" ;;
	sysbox-fs) printf '%s\n' "$SYSBOX_RUN/sysfs.sock" ;;
	containerd) printf '%s\n' "$CONTAINERD_SOCK" ;;
	dockerd) printf '%s\n' "$DOCKER_SOCK" ;;
	esac
}

# component_own_pidfile NAME: the pid file NAME writes itself, or nothing.
# dockerd: "pidfile" of daemon.json (inside ROOT only; a file elsewhere is
# never ours to remove); sysbox-mgr and sysbox-fs: sysmgr.pid and
# sysfs.pid in their --run-dir.  containerd writes none.
component_own_pidfile() {
	case $1 in
	sysbox-mgr) printf '%s\n' "$SYSBOX_RUN/sysmgr.pid" ;;
	sysbox-fs) printf '%s\n' "$SYSBOX_RUN/sysfs.pid" ;;
	dockerd)
		_cop=$(sed -n '/.*"pidfile"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/{s//\1/p;q;}' "$ETC/daemon.json" 2>/dev/null)
		case $_cop in
		"$ROOT"/*) printf '%s\n' "$_cop" ;;
		esac
		;;
	esac
}

# own_pidfiles_clear: remove the stale pid files the daemons write
# themselves (own_pidfile_check); fail naming each live daemon of this
# instance that one of them records.
own_pidfiles_clear() {
	_opc_live=""
	for _opc_c in $DY_ALL_COMPONENTS; do
		_opc_f=$(component_own_pidfile "$_opc_c")
		[ -n "$_opc_f" ] || continue
		own_pidfile_check "$_opc_c" "$_opc_f" ||
			_opc_live="$_opc_live${_opc_live:+, }$_opc_c ($(proc_desc "$OP_PID"), recorded in $_opc_f)"
	done
	[ -z "$_opc_live" ] || {
		OP_LIVE=$_opc_live
		return 1
	}
}

# api_ping: dockerd answers GET /_ping with OK (curl, else the docker CLI).
api_ping() {
	if command -v curl >/dev/null 2>&1; then
		[ "$(curl -sS --max-time 2 --unix-socket "$DOCKER_SOCK" http://localhost/_ping 2>/dev/null)" = OK ]
	else
		timeout 5 "$BIN/docker-cli" --host "unix://$DOCKER_SOCK" version >/dev/null 2>&1
	fi
}

# remove_stale_socket SOCKET: remove SOCKET when no process holds it.
remove_stale_socket() {
	if [ -S "$1" ] && [ -z "$(socket_holder "$1")" ]; then
		rm -f "$1"
	fi
}

# check_component NAME: succeed when NAME runs, holds its socket and (for
# dockerd) its API answers.  Sets CC_PID (or empty), CC_SOCK, CC_RUNNING,
# CC_HELD, CC_API (1 or 0) and CC_PROBLEM ("NAME: what is wrong").
check_component() {
	CC_SOCK=$(component_socket "$1")
	CC_PID=""
	CC_RUNNING=0
	CC_HELD=0
	CC_API=0
	CC_PROBLEM=""
	if ! daemon_check "$1"; then
		CC_PID=$DC_PID
		CC_PROBLEM="$1: $DC_REASON"
		return 1
	fi
	CC_PID=$DC_PID
	CC_RUNNING=1
	if [ ! -S "$CC_SOCK" ]; then
		CC_PROBLEM="$1: socket $CC_SOCK is missing (pid $CC_PID runs)"
		return 1
	fi
	if ! socket_held_by "$CC_SOCK" "$CC_PID"; then
		if [ -n "$SH_HOLDERS" ]; then
			CC_PROBLEM="$1: socket $CC_SOCK is held by $(foreign_holders "$CC_SOCK" "$CC_PID"), not by $1 (pid $CC_PID)"
		else
			CC_PROBLEM="$1: nothing listens on $CC_SOCK (pid $CC_PID runs)"
		fi
		return 1
	fi
	CC_HELD=1
	if [ "$1" = dockerd ]; then
		if ! api_ping; then
			CC_PROBLEM="dockerd: API on $DOCKER_SOCK does not answer GET /_ping"
			return 1
		fi
		CC_API=1
	fi
	return 0
}

# stack_check: check every component.  SK_PROBLEMS lists what is wrong (one
# a line), SK_RUNNING the components whose process runs.
stack_check() {
	SK_PROBLEMS=""
	SK_RUNNING=""
	for _sk_c in $(dy_components); do
		if ! check_component "$_sk_c"; then
			SK_PROBLEMS="$SK_PROBLEMS$CC_PROBLEM
"
		fi
		[ "$CC_RUNNING" = 0 ] || SK_RUNNING="$SK_RUNNING $_sk_c"
	done
	[ -z "$SK_PROBLEMS" ]
}

# net_check: run net_status; NET_LINES is what it printed, NET_RC its
# exit status (0: complete).  net_status and net_down run in a subshell
# with errexit on, as everywhere else, so that a failure inside them ends
# only that subshell.  Never call these two in a condition (if, ||, &&):
# the shell would ignore errexit inside them.
net_check() {
	set +e
	NET_LINES=$(
		set -e
		net_status 2>&1
	)
	NET_RC=$?
	set -e
}

# net_take_down: run net_down; NET_RC is its exit status.
net_take_down() {
	set +e
	(
		set -e
		net_down
	)
	NET_RC=$?
	set -e
}

# preflight: binaries and configuration are in place, the API can be
# checked, and no other process holds a socket this instance will bind.
preflight() {
	for _pf_c in $(dy_components); do
		[ -x "$BIN/$_pf_c" ] || die "$BIN/$_pf_c is missing or not executable"
	done
	[ -f "$ETC/containerd.toml" ] || die "$ETC/containerd.toml is missing"
	[ -f "$ETC/daemon.json" ] || die "$ETC/daemon.json is missing"
	if grep -q "\"pidfile\"[[:space:]]*:[[:space:]]*\"$RUN/dockerd.pid\"" "$ETC/daemon.json"; then
		die "$ETC/daemon.json sets \"pidfile\" to $RUN/dockerd.pid, where dockyardctl records dockerd; dockerd would find its own pid there and refuse to start"
	fi
	if ! command -v curl >/dev/null 2>&1 && [ ! -x "$BIN/docker-cli" ]; then
		die "neither curl nor $BIN/docker-cli is there to check the dockerd API"
	fi
	_pf_bad=0
	# One look at the listening sockets first: mostly none of ours is.
	_pf_socks=""
	for _pf_c in $(dy_components); do
		_pf_socks="$_pf_socks $(component_socket "$_pf_c")"
	done
	# shellcheck disable=SC2086 # the sockets are plain paths (load_env)
	[ -n "$(socket_inodes $_pf_socks)" ] || _pf_socks=""
	for _pf_c in $(dy_components); do
		_pf_sock=$(component_socket "$_pf_c")
		_pf_who=""
		[ -z "$_pf_socks" ] || _pf_who=$(foreign_holders "$_pf_sock" "")
		if [ -n "$_pf_who" ]; then
			printf 'dockyardctl%s: error: %s is held by %s, which is not this instance'\''s %s\n' \
				"${PREFIX:+ [$PREFIX]}" "$_pf_sock" "$_pf_who" "$_pf_c" >&2
			case $_pf_c in
			sysbox-*) printf '  each instance needs its own sysbox (--run-dir %s); is another sysbox using this path?\n' "$SYSBOX_RUN" >&2 ;;
			esac
			_pf_bad=1
		fi
	done
	[ "$_pf_bad" = 0 ] || die "refusing to start: another process holds a socket of this instance"
	# A daemon refuses to start over its own pid file while that names a
	# live process; after a crash it may name a zombie or a reused pid.
	own_pidfiles_clear ||
		die "refusing to start: a daemon of this instance runs without dockyardctl: $OP_LIVE; stop it first"
}

# start_component NAME: start NAME; start_wait waits for its socket.
start_component() {
	_sc_sock=$(component_socket "$1")
	remove_stale_socket "$_sc_sock"
	_sc_debug=""
	_sc_ddebug=""
	if [ "$DEBUG_RUNTIME" = 1 ]; then
		_sc_debug=--log-level
		# dockerd refuses a flag that daemon.json also sets.
		grep -q '"debug"[[:space:]]*:' "$ETC/daemon.json" || _sc_ddebug=--debug
	fi
	case $1 in
	sysbox-mgr)
		start_sysbox_mgr "$_sc_debug"
		;;
	sysbox-fs)
		daemon_start sysbox-fs "$BIN/sysbox-fs" ${_sc_debug:+"$_sc_debug" debug} \
			--run-dir "$SYSBOX_RUN" --mountpoint "$LIB/sysbox"
		;;
	containerd)
		daemon_start containerd "$BIN/containerd" ${_sc_debug:+"$_sc_debug" debug} \
			--config "$ETC/containerd.toml"
		;;
	dockerd)
		start_dockerd "$_sc_ddebug"
		;;
	esac
	DY_STARTED="$DY_STARTED $1"
	DY_PENDING="$DY_PENDING $1:$DAEMON_PID"
	say "started $1 (pid $DAEMON_PID)"
}

# start_wait: wait until each component started since the last wait holds
# its socket, in start order (wait_socket dies naming the one that exits
# or does not bind, with the end of its log).
start_wait() {
	for _sw in $DY_PENDING; do
		say "waiting for ${_sw%%:*} to bind $(component_socket "${_sw%%:*}")"
		wait_socket "${_sw%%:*}" "${_sw#*:}" "$(component_socket "${_sw%%:*}")" "$START_TIMEOUT"
	done
	DY_PENDING=""
}

# wait_api PID: wait until dockerd (PID) answers GET /_ping.
wait_api() {
	_wa_why=""
	dy_deadline "$START_TIMEOUT"
	until api_ping; do
		if ! proc_alive "$1"; then
			_wa_why="exited before its API answered"
			break
		fi
		if dy_past_deadline; then
			_wa_why="holds $DOCKER_SOCK, but GET /_ping did not answer OK within $START_TIMEOUT s"
			break
		fi
		dy_nap
	done
	[ -n "$_wa_why" ] || return 0
	printf 'dockyardctl%s: error: dockerd (pid %s) %s\n' "${PREFIX:+ [$PREFIX]}" "$1" "$_wa_why" >&2
	log_tail dockerd
	die "dockerd did not start"
}

# start_stack: every component in order, net_up before dockerd, then the
# API.
# DY_STARTED and DY_NET say what to undo when it fails part way.
start_stack() {
	DY_STARTED=""
	DY_NET=1
	# Readiness is the supervisor's to report, once the API answers:
	# containerd and dockerd would otherwise notify systemd themselves.
	unset NOTIFY_SOCKET
	for _ss_d in "$RUN" "$LOGDIR" "$LIB" "${CONTAINERD_SOCK%/*}"; do
		[ -d "$_ss_d" ] || mkdir -p "$_ss_d"
	done
	if [ -e "$BIN/sysbox-mgr" ]; then
		mkdir -p "$SYSBOX_RUN" "$LIB/sysbox"
	fi
	if [ "$DEBUG_RUNTIME" = 1 ]; then
		# Runtimes are started by containerd's shims, which inherit this
		# environment; the runtime wrapper keeps its --log output here.
		mkdir -p "$LOGDIR/runtime"
		DOCKYARD_RUNTIME_LOG_DIR=$LOGDIR/runtime
		export DOCKYARD_RUNTIME_LOG_DIR
		printf '%s\n' "$LOGDIR/runtime" >"$RUN/debug-runtime"
		say "runtime debug mode: the daemons log at debug level; runtime logs are kept in $LOGDIR/runtime"
	elif [ -e "$RUN/debug-runtime" ]; then
		rm -f "$RUN/debug-runtime"
	fi
	DY_PENDING=""
	for _ss_c in $(dy_components); do
		# Each component starts once the one before holds its socket,
		# except dockerd: it waits for containerd's socket itself (its
		# dialer retries while the socket file is missing), so both
		# start at once and their start-up times overlap.  Only dockerd
		# needs the bridge: net_up runs while containerd starts.
		if [ "$_ss_c" = dockerd ]; then
			net_up
		else
			start_wait
		fi
		start_component "$_ss_c"
	done
	start_wait
	wait_api "$DAEMON_PID"
}

# stop_stack NAMES NET: stop NAMES in reverse order (those not running are
# skipped), remove their sockets when nothing holds them, run net_down when
# NET is 1, and remove $SYSBOX_RUN unless another process holds a socket
# there.  ST_FAILED names what could not be stopped or removed.
stop_stack() {
	ST_FAILED=""
	_st_rev=""
	for _st_c in $1; do
		_st_rev="$_st_c $_st_rev"
	done
	for _st_c in $_st_rev; do
		_st_pid=""
		daemon_check "$_st_c" && _st_pid=$DC_PID
		if daemon_stop "$_st_c" "$STOP_TIMEOUT"; then
			# Reap it when it is a child of this shell (run, failed start).
			[ -z "$_st_pid" ] || wait "$_st_pid" 2>/dev/null || :
		else
			ST_FAILED="$ST_FAILED $_st_c"
		fi
		remove_stale_socket "$(component_socket "$_st_c")"
		[ "$_st_c" != containerd ] || remove_stale_socket "$CONTAINERD_SOCK.ttrpc"
		# Its log FIFO goes now, so that the next start need not remove it.
		[ ! -p "$RUN/$_st_c.log.fifo" ] || rm -f "$RUN/$_st_c.log.fifo"
	done
	own_pidfiles_clear || warn "left alone, not started by dockyardctl: $OP_LIVE"
	if [ "$2" = 1 ]; then
		net_take_down
		[ "$NET_RC" = 0 ] || ST_FAILED="$ST_FAILED network"
	fi
	if [ -d "$SYSBOX_RUN" ]; then
		_st_held=""
		for _st_s in "$SYSBOX_RUN"/*; do
			[ -S "$_st_s" ] || continue
			_st_who=$(foreign_holders "$_st_s" "")
			[ -z "$_st_who" ] || _st_held="$_st_held $_st_s (held by $_st_who)"
		done
		if [ -n "$_st_held" ]; then
			warn "leaving $SYSBOX_RUN in place:$_st_held"
		else
			rm -rf "$SYSBOX_RUN"
		fi
	fi
	rm -f "$RUN/debug-runtime"
}

# start_failed: EXIT trap of a start that did not finish.
start_failed() {
	trap '' INT TERM HUP
	say "start failed; stopping what it started"
	stop_stack "$DY_STARTED" "$DY_NET"
	[ -z "$ST_FAILED" ] || warn "could not stop:$ST_FAILED"
	exit 1
}

# parse_start_args ARGS: [--debug-runtime] for start and run.
parse_start_args() {
	_pa_cmd=$1
	shift
	for _pa in "$@"; do
		case $_pa in
		--debug-runtime) DEBUG_RUNTIME=1 ;;
		*) dy_usage_error "$_pa_cmd: unknown argument '$_pa' ($_pa_cmd [--debug-runtime])" ;;
		esac
	done
}

# problems_inline: SK_PROBLEMS on one line.
problems_inline() {
	printf '%s' "$SK_PROBLEMS" | sed -e '$!s/$/;/' | tr '\n' ' ' | sed 's/ *$//'
}

# cmd_start [--debug-runtime]: bridge, rules and daemons in the background.
cmd_start() {
	parse_start_args start "$@"
	dy_timeouts
	if daemon_check supervisor; then
		_cs_sup=$DC_PID
		if stack_check; then
			say "already running (supervised by dockyardctl run, pid $_cs_sup)"
			return 0
		fi
		die "dockyardctl run (pid $_cs_sup) supervises this instance, which is not healthy: $(problems_inline); use its service manager"
	fi
	if stack_check; then
		net_check
		if [ "$NET_RC" = 0 ]; then
			say "already running; Docker API at unix://$DOCKER_SOCK"
		else
			say "daemons are running, but the network setup is incomplete; restoring it"
			net_up
		fi
		return 0
	fi
	if [ -n "$SK_RUNNING" ]; then
		die "partially running ($(problems_inline)); run 'dockyardctl stop' first"
	fi
	preflight
	trap start_failed EXIT
	trap 'exit 1' INT TERM HUP
	start_stack
	trap - EXIT INT TERM HUP
	say "running; Docker API at unix://$DOCKER_SOCK"
	images_on_start
}

# cmd_stop: stop the supervisor if one runs, then dockerd, containerd,
# sysbox-fs, sysbox-mgr; net_down; remove $SYSBOX_RUN.  Idempotent.
cmd_stop() {
	[ $# -eq 0 ] || dy_usage_error "stop takes no arguments"
	stop_all
}

# stop_all: what stop does (destroy runs it too).
stop_all() {
	dy_timeouts
	if daemon_check supervisor; then
		# It stops its children in reverse order and exits 0.
		say "asking dockyardctl run (pid $DC_PID) to stop the instance"
		daemon_stop supervisor $((4 * STOP_TIMEOUT + 10)) ||
			warn "dockyardctl run does not stop; stopping the daemons directly"
	else
		pidfile_remove supervisor
	fi
	stop_stack "$DY_ALL_COMPONENTS" 1
	[ -z "$ST_FAILED" ] || die "could not stop:$ST_FAILED"
	say "stopped"
}

# json_str STRING: STRING as a JSON string (control characters dropped).
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | tr '\011\012' '  ' | tr -d '\000-\037' |
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

# json_bool 0|1
json_bool() {
	if [ "$1" = 1 ]; then printf true; else printf false; fi
}

# cmd_status [--json]: each component's process, socket and (dockerd) API,
# the supervisor when there is one, and the network.  Exit 1 when anything
# is unhealthy; each problem is named on stderr.
cmd_status() {
	_stat_json=0
	for _stat_a in "$@"; do
		case $_stat_a in
		--json) _stat_json=1 ;;
		*) dy_usage_error "status: unknown argument '$_stat_a' (status [--json])" ;;
		esac
	done
	_stat_problems=""
	_stat_table=$(printf '%-11s %-8s %-6s %s' COMPONENT PID HEALTH DETAIL)
	_stat_comps=""
	for _stat_c in $(dy_components); do
		_stat_component "$_stat_c"
	done
	_stat_supervisor
	_stat_network
	_stat_debug=0
	if [ -f "$RUN/debug-runtime" ]; then
		_stat_debug=1
		_stat_table="$_stat_table
runtime debug mode: on (runtime logs in $LOGDIR/runtime)"
	fi
	_stat_healthy=1
	[ -z "$_stat_problems" ] || _stat_healthy=0
	_stat_print
	[ "$_stat_healthy" = 0 ] || return 0
	printf '%s' "$_stat_problems" | while IFS= read -r _stat_l; do
		printf 'dockyardctl%s: unhealthy: %s\n' "${PREFIX:+ [$PREFIX]}" "$_stat_l" >&2
	done
	exit 1
}

# _stat_component NAME: NAME's row of the table (_stat_table), its JSON
# object (appended to _stat_comps) and its problem (_stat_problems).
_stat_component() {
	if check_component "$1"; then
		_stat_ok=1
		_stat_detail=$CC_SOCK
		[ "$1" != dockerd ] || _stat_detail="$CC_SOCK, API answers"
	else
		_stat_ok=0
		_stat_detail=${CC_PROBLEM#"$1: "}
		_stat_problems="$_stat_problems$CC_PROBLEM
"
	fi
	_stat_table="$_stat_table
$(printf '%-11s %-8s %-6s %s' "$1" "${CC_PID:--}" "$([ "$_stat_ok" = 1 ] && echo ok || echo FAIL)" "$_stat_detail")"
	_stat_obj=$(printf '{"name":%s,"healthy":%s,"pid":%s,"running":%s,"socket":%s,"socket_held":%s' \
		"$(json_str "$1")" "$(json_bool "$_stat_ok")" "${CC_PID:-null}" \
		"$(json_bool "$CC_RUNNING")" "$(json_str "$CC_SOCK")" "$(json_bool "$CC_HELD")")
	[ "$1" != dockerd ] || _stat_obj="$_stat_obj,\"api\":$(json_bool "$CC_API")"
	if [ "$_stat_ok" = 1 ]; then
		_stat_obj="$_stat_obj,\"problem\":null}"
	else
		_stat_obj="$_stat_obj,\"problem\":$(json_str "$CC_PROBLEM")}"
	fi
	_stat_comps="$_stat_comps${_stat_comps:+,}$_stat_obj"
}

# _stat_supervisor: the supervisor's row and _stat_sup, when there is one.
_stat_supervisor() {
	_stat_sup=null
	[ -f "$RUN/supervisor.pid" ] || return 0
	if daemon_check supervisor; then
		_stat_table="$_stat_table
$(printf '%-11s %-8s %-6s %s' supervisor "$DC_PID" ok "dockyardctl run")"
		_stat_sup="{\"pid\":$DC_PID,\"running\":true}"
	else
		_stat_problems="${_stat_problems}supervisor: $DC_REASON
"
		_stat_table="$_stat_table
$(printf '%-11s %-8s %-6s %s' supervisor "${DC_PID:--}" FAIL "$DC_REASON")"
		_stat_sup="{\"pid\":${DC_PID:-null},\"running\":false}"
	fi
}

# _stat_network: the network's rows (net_check's lines), _stat_net_ok and
# _stat_net_json; also the problems as JSON (_stat_prob_json).
_stat_network() {
	net_check
	if [ "$NET_RC" = 0 ]; then
		_stat_net_ok=1
	else
		_stat_net_ok=0
		_stat_problems="${_stat_problems}network: $BRIDGE and its rules are incomplete
"
	fi
	_stat_table="$_stat_table
$(printf '%-11s %-8s %-6s %s' network - "$([ "$_stat_net_ok" = 1 ] && echo ok || echo FAIL)" "$BRIDGE")"
	_stat_net_json=""
	_stat_ifs=$IFS
	IFS='
'
	set -f
	for _stat_l in $NET_LINES; do
		_stat_table="$_stat_table
            $_stat_l"
		if [ "$_stat_json" = 1 ]; then
			_stat_net_json="$_stat_net_json${_stat_net_json:+,}$(net_line_json "$_stat_l")"
		fi
	done
	_stat_prob_json=""
	for _stat_l in $_stat_problems; do
		_stat_prob_json="$_stat_prob_json${_stat_prob_json:+,}$(json_str "$_stat_l")"
	done
	IFS=$_stat_ifs
	set +f
}

# _stat_print: the table, or with --json one object.
_stat_print() {
	if [ "$_stat_json" = 1 ]; then
		printf '{"schema":1,"root":%s,"prefix":%s,"bridge":%s,"healthy":%s,"components":[%s],"supervisor":%s,"network":{"healthy":%s,"items":[%s]},"debug_runtime":%s,"problems":[%s]}\n' \
			"$(json_str "$ROOT")" "$(json_str "$PREFIX")" "$(json_str "$BRIDGE")" \
			"$(json_bool "$_stat_healthy")" "$_stat_comps" "$_stat_sup" "$(json_bool "$_stat_net_ok")" \
			"$_stat_net_json" "$(json_bool "$_stat_debug")" "$_stat_prob_json"
	else
		printf '%s\n' "$_stat_table"
	fi
}

# run_exit: EXIT trap of the supervisor.  Stops the children in reverse
# order, takes the network down and keeps the exit status (0 after TERM or
# INT, 1 when a child died or the start failed).
run_exit() {
	_re_rc=$?
	trap '' INT TERM HUP
	say "stopping the instance"
	stop_stack "$DY_STARTED" "$DY_NET"
	pidfile_remove supervisor
	if [ -n "$ST_FAILED" ]; then
		warn "could not stop:$ST_FAILED"
		[ "$_re_rc" != 0 ] || _re_rc=1
	fi
	exit "$_re_rc"
}

# run_lock: hold $RUN/supervisor.lock (flock on descriptor 8) for the
# supervisor's life: a second run started before the first has recorded
# itself would otherwise start a second set of daemons.  The daemons do
# not inherit it (daemon_start closes it); a killed supervisor's last
# `sleep 1` may hold it a moment, hence the wait.
run_lock() {
	command -v flock >/dev/null 2>&1 || return 0
	mkdir -p "$RUN"
	[ ! -L "$RUN/supervisor.lock" ] || die "$RUN/supervisor.lock is a symlink"
	exec 8>>"$RUN/supervisor.lock"
	flock -w 5 8 || die "another dockyardctl run of this instance holds $RUN/supervisor.lock"
}

# cmd_run [--debug-runtime]: the foreground supervisor (systemd Type=notify).
# The daemons are children of this shell; readiness is notified once the
# API answers; when a child dies the others are stopped and run exits 1
# (so the service manager restarts the stack); TERM or INT stops them all
# and run exits 0.  Daemons left running by an earlier start (or by a
# supervisor that was killed) are stopped first: run starts from scratch.
cmd_run() {
	parse_start_args run "$@"
	dy_timeouts
	if daemon_check supervisor; then
		die "already supervised by dockyardctl run ($(proc_desc "$DC_PID"))"
	fi
	run_lock
	_rn_left=""
	for _rn_c in $DY_ALL_COMPONENTS; do
		! daemon_check "$_rn_c" || _rn_left="$_rn_left $_rn_c"
	done
	if [ -n "$_rn_left" ]; then
		warn "stopping daemons left from an earlier start:$_rn_left"
		stop_stack "$DY_ALL_COMPONENTS" 1
		[ -z "$ST_FAILED" ] || die "could not stop:$ST_FAILED"
	fi
	preflight
	trap run_exit EXIT
	trap 'exit 0' INT TERM HUP
	mkdir -p "$RUN"
	pidfile_write supervisor $$
	_rn_notify=${NOTIFY_SOCKET:-}
	start_stack
	if [ -n "$_rn_notify" ]; then
		NOTIFY_SOCKET=$_rn_notify systemd-notify --ready --status="Docker API at unix://$DOCKER_SOCK" ||
			warn "systemd-notify --ready failed"
	fi
	say "running; supervising$DY_STARTED"
	while :; do
		for _rn_c in $DY_STARTED; do
			daemon_check "$_rn_c" && continue
			_rn_rc=0
			[ -z "$DC_PID" ] || wait "$DC_PID" 2>/dev/null || _rn_rc=$?
			warn "$_rn_c: $DC_REASON$(exit_how "$_rn_rc"); stopping the others"
			exit 1
		done
		sleep 1 &
		wait $! || :
	done
}
