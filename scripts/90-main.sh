#!/bin/sh
# Command dispatch.  Sourcing dockyardctl with DOCKYARDCTL_SOURCE_ONLY=1
# defines the functions without running a command (tests use that).

usage() {
	cat <<USAGE
usage: dockyardctl [-q] COMMAND [ARGS]

commands:
  run            foreground supervisor (what the systemd unit runs): start the
                 daemons in order, notify readiness, exit when one dies
  start [--debug-runtime]
                 bridge, rules and daemons in the background (no systemd);
                 --debug-runtime keeps sysbox-runc's logs in log/runtime/
  stop           stop the daemons in reverse order; remove rules and bridge
  status [--json]
                 every component's health; exit 1 when anything is unhealthy
  logs [COMPONENT] [-f]
                 the last lines of sysbox-mgr, sysbox-fs, containerd, dockerd
  env            print the export lines for a docker client
  isolate on|off opt-in cross-instance isolation: saved in etc/isolation,
                 applied now when running and on every start

The instance is the one this script belongs to: \${ROOT}/bin/dockyardctl
reads \${ROOT}/etc/dockyard.env.

DOCKYARD_STOP_TIMEOUT (seconds, default 30) bounds the graceful stop.

exit status: 0 success, 1 failure or unhealthy, 2 usage error
USAGE
}

main() {
	while [ $# -gt 0 ]; do
		case $1 in
		-q | --quiet) DY_QUIET=1 ;;
		-h | --help)
			usage
			exit 0
			;;
		-*)
			printf 'dockyardctl: error: unknown option %s (see --help)\n' "$1" >&2
			exit 2
			;;
		*) break ;;
		esac
		shift
	done
	[ $# -gt 0 ] || {
		usage >&2
		exit 2
	}
	command=$1
	shift
	case $command in
	run | start | stop | status | logs | env | isolate)
		load_env
		"cmd_$command" "$@"
		;;
	*)
		printf 'dockyardctl: error: unknown command %s (see --help)\n' "$command" >&2
		exit 2
		;;
	esac
}

if [ "${DOCKYARDCTL_SOURCE_ONLY:-0}" != 1 ]; then
	main "$@"
fi
