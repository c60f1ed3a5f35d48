#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Command dispatch.  Sourcing dockyardctl with DOCKYARDCTL_SOURCE_ONLY=1
# defines the functions without running a command (tests use that).

usage() {
	cat <<USAGE
usage: dockyardctl [-q] COMMAND [ARGS]
       dockyardctl --version

commands:
  run            foreground supervisor (what the systemd unit runs): start the
                 daemons in order, notify readiness, exit when one dies
  start [--debug-runtime]
                 bridge, rules and daemons in the background (no systemd);
                 --debug-runtime keeps sysbox-runc's --log output in
                 log/runtime/ until the next stop (status shows the mode)
  stop           stop the daemons in reverse order; remove rules and bridge;
                 ends runtime debug mode
  net-up         the bridge and its rules alone (the unit's ExecStartPre)
  net-down       remove the rules and the bridge alone
  status [--json]
                 every component's health; exit 1 when anything is unhealthy
  logs [COMPONENT] [-f|--follow]
                 the last lines of sysbox-mgr, sysbox-fs, containerd, dockerd
                 (log/NAME.log, rotated at DOCKYARD_LOG_MAX_SIZE; under
                 systemd from the journal: journalctl -u PREFIXdocker.service)
  env            print the export lines for a docker client
  context [--use]
                 create or update the docker context named after the prefix
                 in your own docker configuration (~/.docker); --use selects it
  reload         SIGHUP dockerd: it reads daemon.json again; names the changed
                 keys that need a restart instead
  isolate on|off opt-in cross-instance isolation: saved in etc/isolation,
                 applied now when running and on every start
  verify [--image IMG] [--dind-image IMG | --no-dind]
                 end-to-end checks, each PASS, FAIL or SKIP with a detail:
                 daemons, unit, socket, API, a container (IMG, default
                 the payload's image labelled dockyard.verify=run, else
                 $VF_DEFAULT_IMAGE), container to container on the bridge,
                 NAT, Docker-in-Docker (default the payload's image labelled
                 dockyard.verify=dind, else $VF_DEFAULT_DIND_IMAGE); nothing
                 is pulled: a missing default image is a SKIP saying why, a
                 named one a FAIL; exit 0 when none fails
  load-images [DIR]
                 load every image archive in DIR (docker-archive or OCI,
                 .tar, .tar.gz, .tgz, .tar.zst); with DIR/SHA256SUMS every
                 file must be listed and match first, else nothing is
                 loaded.  Without DIR, and on every start: \${ROOT}/images/,
                 once per file digest (remembered in lib/images.loaded)
  destroy [-y|--yes] [--keep-data]
                 stop and remove everything etc/receipt lists: unit, bridges
                 of the pool, mounts below the root, user, group, subuid and
                 subgid ranges, AppArmor block, registry entry, the root
                 (--keep-data keeps lib/docker); asks for the prefix unless
                 --yes; ends with a residue check (exit 1 names what is left)

The instance is the one this script belongs to: \${ROOT}/bin/dockyardctl
reads \${ROOT}/etc/dockyard.env.

DOCKYARD_STOP_TIMEOUT (seconds, default 30) bounds the graceful stop;
DOCKYARD_START_TIMEOUT (default 60) each wait of a start;
DOCKYARD_VERIFY_TIMEOUT (default 60) each wait of verify.

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
		-V | --version)
			shift
			cmd_version "$@"
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
	run | start | stop | status | logs | env | isolate | verify | context | reload)
		load_env
		"cmd_$command" "$@"
		;;
	load-images)
		load_env
		cmd_load_images "$@"
		;;
	net-up | net-down)
		load_env
		"cmd_net_${command#net-}" "$@"
		;;
	destroy)
		# destroy loads the instance itself: a second destroy finds no
		# dockyard.env and must still run.
		cmd_destroy "$@"
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
