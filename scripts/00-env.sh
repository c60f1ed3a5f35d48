#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
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

# env_read FILE KEYS: read FILE once, in this shell, and set DY_ENV_KEY for
# each of KEYS that a line `KEY=VALUE` gives (leading blanks before KEY
# allowed; the last such line wins; KEYS not named stay unset).  The value
# is taken literally: trailing blanks go, then one pair of surrounding
# double quotes, then one pair of single quotes; nothing is expanded or
# executed, and KEY, never the value, is part of the one eval (KEYS are
# the fixed names of this script).  Fails, with ENV_CRLF set, when a line
# holds a carriage return (CRLF line endings).
env_read() {
	ENV_CRLF=0
	_er_cr=$(printf '\r')
	_er_line=
	while IFS= read -r _er_line || [ -n "$_er_line" ]; do
		case $_er_line in
		*"$_er_cr"*) ENV_CRLF=1 ;;
		esac
		_er_line=${_er_line#"${_er_line%%[![:space:]]*}"}
		_er_key=${_er_line%%=*}
		case $_er_line in
		*=*) ;;
		*) continue ;;
		esac
		# A name, and one of KEYS: nothing else reaches the eval.
		case $_er_key in
		'' | *[!A-Z0-9_]*) continue ;;
		esac
		case " $2 " in
		*" $_er_key "*) ;;
		*) continue ;;
		esac
		_er_v=${_er_line#*=}
		_er_v=${_er_v%"${_er_v##*[![:space:]]}"}
		case $_er_v in
		\"*\") _er_v=${_er_v#\"} && _er_v=${_er_v%\"} ;;
		esac
		case $_er_v in
		\'*\') _er_v=${_er_v#\'} && _er_v=${_er_v%\'} ;;
		esac
		eval "DY_ENV_$_er_key=\$_er_v"
	done <"$1"
	[ "$ENV_CRLF" = 0 ]
}

# check_value KEY VALUE: the rule of each key's value, as the installer
# checks it (installer/config.c; tests/corpus/ holds the cases both must
# agree on).
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
		dy_root_ok "$2" ||
			die "DOCKYARD_ROOT '$2' must not be /, have an empty, . or .. component, or be longer than $DY_ROOT_MAX characters"
		;;
	DOCKYARD_DOCKER_PREFIX)
		case $2 in
		'' | *[!a-z0-9_]* | ?????????*) die "DOCKYARD_DOCKER_PREFIX '$2' must be at most 8 characters of [a-z0-9_], and not empty" ;;
		esac
		;;
	DOCKYARD_BRIDGE_CIDR)
		net_cidr "$1" "$2"
		;;
	DOCKYARD_FIXED_CIDR | DOCKYARD_POOL_BASE)
		# These are networks: an address with host bits set is a typo.
		net_cidr "$1" "$2"
		# shellcheck disable=SC2154 # net_cidr (20-net.sh) sets net_*
		[ "$net_addr" = $((net_addr & net_mask)) ] ||
			die "$1 $2 has host bits set: the network is $net_net"
		;;
	DOCKYARD_POOL_SIZE)
		# 31 and 32 leave no room for a gateway and a container.
		case $2 in
		'' | *[!0-9]* | 0* | ???*) die "DOCKYARD_POOL_SIZE '$2' must be a prefix length (a number from 1 to 30)" ;;
		esac
		[ "$2" -le 30 ] || die "DOCKYARD_POOL_SIZE '$2' must be a prefix length (a number from 1 to 30)"
		;;
	esac
}

# The longest root whose deepest socket, ROOT/run/containerd/
# containerd.sock.ttrpc (37 characters and a NUL), still fits the 108
# bytes of a unix socket address.
DY_ROOT_MAX=70

# dy_plain_path PATH: PATH is absolute, not /, of [A-Za-z0-9._/-] only,
# without an empty, . or .. component or a trailing /: safe as an unquoted
# shell word, and equal as a string to any other spelling of it.
dy_plain_path() {
	case $1 in
	/ | *[!A-Za-z0-9._/-]* | *//* | */./* | */../* | */. | */.. | */) return 1 ;;
	/*) return 0 ;;
	esac
	return 1
}

# dy_root_ok VALUE: VALUE obeys the root rule once its trailing slashes
# are dropped ("/dy1/" is "/dy1": shells complete directories with one);
# sets DY_ROOT_VALUE to it without them.
dy_root_ok() {
	DY_ROOT_VALUE=$1
	while [ ${#DY_ROOT_VALUE} -gt 1 ] && [ "${DY_ROOT_VALUE%/}" != "$DY_ROOT_VALUE" ]; do
		DY_ROOT_VALUE=${DY_ROOT_VALUE%/}
	done
	[ ${#DY_ROOT_VALUE} -le "$DY_ROOT_MAX" ] && dy_plain_path "$DY_ROOT_VALUE"
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
	for key in $DY_ENV_KEYS $DY_ENV_OPTIONAL_KEYS; do
		unset "DY_ENV_$key"
	done
	env_read "$ENV_FILE" "$DY_ENV_KEYS $DY_ENV_OPTIONAL_KEYS" ||
		die "$ENV_FILE has CRLF line endings; use LF"
	for key in $DY_ENV_KEYS; do
		eval "value=\${DY_ENV_$key-}"
		[ -n "$value" ] || die "$ENV_FILE lacks $key"
		check_value "$key" "$value"
		eval "$key=\$value"
	done
	load_optional_env
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
