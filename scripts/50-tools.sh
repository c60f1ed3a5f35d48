#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Small operator commands: env and logs.

COMPONENTS="sysbox-mgr sysbox-fs containerd dockerd"

# env: the shell lines that point a docker client at this instance.
cmd_env() {
	[ $# -eq 0 ] || dy_usage_error "env takes no arguments"
	printf 'export DOCKER_HOST=unix://%s\n' "$DOCKER_SOCK"
	printf 'export DOCKER_CONFIG=%s\n' "$LIB/docker-config"
}

# logs [COMPONENT] [-f]: the last lines of one or every component's log.
cmd_logs() {
	follow=0
	which=""
	for arg in "$@"; do
		case $arg in
		-f | --follow) follow=1 ;;
		-*) dy_usage_error "logs: unknown option $arg" ;;
		*)
			[ -z "$which" ] || dy_usage_error "logs takes one component"
			case " $COMPONENTS " in
			*" $arg "*) which=$arg ;;
			*) dy_usage_error "logs: unknown component '$arg' (one of: $COMPONENTS)" ;;
			esac
			;;
		esac
	done
	if log_unit_journal; then
		set -- -u "${PREFIX}docker.service" -n 50 --no-pager
		[ -z "$which" ] || set -- "$@" --grep "^$which: "
		[ "$follow" = 0 ] || set -- "$@" -f
		exec journalctl "$@"
	fi
	files=""
	for c in ${which:-$COMPONENTS}; do
		[ -f "$LOGDIR/$c.log" ] && files="$files $LOGDIR/$c.log"
	done
	[ -n "$files" ] || die "no logs yet in $LOGDIR"
	if [ "$follow" = 1 ]; then
		# shellcheck disable=SC2086 # a list of paths without spaces (root rule)
		exec tail -n 50 -F $files
	fi
	# shellcheck disable=SC2086
	tail -n 50 $files
}

# isolate on|off: persist the choice in etc/isolation (applied on every
# start) and apply it now when the instance's bridge is up.
cmd_isolate() {
	case ${1:-} in
	on | off) ;;
	*) dy_usage_error "isolate takes on or off" ;;
	esac
	[ $# -eq 1 ] || dy_usage_error "isolate takes one argument"
	iso_tmp=$(mktemp "$ETC/.isolation.XXXXXX") || die "cannot write in $ETC"
	printf '%s\n' "$1" >"$iso_tmp"
	chmod 644 "$iso_tmp"
	mv -f "$iso_tmp" "$ETC/isolation" || die "cannot replace $ETC/isolation"
	net_vars
	net_iso_config
	if ! net_bridge_exists; then
		say "isolation $1: saved; it takes effect on the next start"
		return 0
	fi
	if [ "$NET_ISO" = on ]; then
		net_iso_on
	else
		net_iso_off
	fi
	say "isolation $1: saved and applied"
}
