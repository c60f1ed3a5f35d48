#!/bin/sh
# dockyardctl: runtime control of one dockyard instance (start, stop,
# status, run).  It finds its instance from its own location,
# ${ROOT}/bin/dockyardctl, and reads ${ROOT}/etc/dockyard.env without ever
# evaluating it as shell.
set -eu
umask 022
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

DY_ENV_KEYS="DOCKYARD_ROOT DOCKYARD_DOCKER_PREFIX DOCKYARD_BRIDGE_CIDR DOCKYARD_FIXED_CIDR DOCKYARD_POOL_BASE DOCKYARD_POOL_SIZE"

# dy_root: the instance root, from this script's path (bin/ is below it).
dy_root() {
	case $0 in
	*/*) dir=${0%/*} ;;
	*) dir=. ;;
	esac
	(cd "$dir/.." && pwd -P)
}

# env_value FILE KEY: the value of KEY=VALUE in FILE, taken literally.
# Quotes around the value are removed; nothing is expanded or executed.
env_value() {
	sed -n "s/^[[:space:]]*$2=//p" "$1" | tail -n 1 |
		sed -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}

# check_value KEY VALUE: the character rules of each key (SPEC.md).
check_value() {
	case $1 in
	DOCKYARD_ROOT)
		case $2 in
		/*) ;;
		*) die "DOCKYARD_ROOT '$2' must be an absolute path" ;;
		esac
		case $2 in
		*[!A-Za-z0-9._/-]*) die "DOCKYARD_ROOT '$2' may contain only [A-Za-z0-9._/-]" ;;
		esac
		;;
	DOCKYARD_DOCKER_PREFIX)
		case $2 in
		*[!a-z0-9_]* | ?????????*) die "DOCKYARD_DOCKER_PREFIX '$2' must be at most 8 characters of [a-z0-9_]" ;;
		esac
		;;
	DOCKYARD_BRIDGE_CIDR | DOCKYARD_FIXED_CIDR | DOCKYARD_POOL_BASE)
		case $2 in
		*[!0-9./]* | '') die "$1 '$2' is not an IPv4 CIDR (a.b.c.d/n)" ;;
		*/*) ;;
		*) die "$1 '$2' needs a prefix length (a.b.c.d/n)" ;;
		esac
		;;
	DOCKYARD_POOL_SIZE)
		case $2 in
		'' | *[!0-9]*) die "DOCKYARD_POOL_SIZE '$2' must be a prefix length (a number)" ;;
		esac
		;;
	esac
}

# load_env: set ROOT, PREFIX, BRIDGE and the networks from etc/dockyard.env.
load_env() {
	ROOT=${DOCKYARD_CTL_ROOT:-$(dy_root)}
	load_env_file "$ROOT/etc/dockyard.env"
}

# load_env_file FILE: load_env from FILE (destroy resumes from a copy of
# dockyard.env kept outside the root).  ROOT must be set.
load_env_file() {
	ENV_FILE=$1
	[ -f "$ENV_FILE" ] || die "no instance here: $ENV_FILE is missing"
	if grep -q "$(printf '\r')" "$ENV_FILE"; then
		die "$ENV_FILE has CRLF line endings; use LF"
	fi
	for key in $DY_ENV_KEYS; do
		value=$(env_value "$ENV_FILE" "$key")
		[ -n "$value" ] || die "$ENV_FILE lacks $key"
		check_value "$key" "$value"
		eval "$key=\$value"
	done
	load_optional_env "$ENV_FILE"
	[ "$DOCKYARD_ROOT" = "$ROOT" ] ||
		die "$ENV_FILE says DOCKYARD_ROOT=$DOCKYARD_ROOT, but this dockyardctl lives in $ROOT"
	PREFIX=$DOCKYARD_DOCKER_PREFIX
	BRIDGE=${PREFIX}docker0
	BIN=$ROOT/bin
	ETC=$ROOT/etc
	LIB=$ROOT/lib
	LOGDIR=$ROOT/log
	RUN=$ROOT/run
	SYSBOX_RUN=$RUN/sysbox
	DOCKER_SOCK=$RUN/docker.sock
	CONTAINERD_SOCK=$RUN/containerd/containerd.sock
}
