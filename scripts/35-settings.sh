#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The optional dockyard.env settings dockyardctl applies itself: extra
# sysbox-mgr arguments and dockerd's proxies (the installer renders the
# rest into daemon.json).  Log rotation lives in 36-logs.sh.

DY_ENV_OPTIONAL_KEYS="DOCKYARD_SYSBOX_MGR_EXTRA_ARGS DOCKYARD_HTTP_PROXY DOCKYARD_HTTPS_PROXY DOCKYARD_NO_PROXY DOCKYARD_LOG_MAX_SIZE DOCKYARD_LOG_KEEP"

# load_optional_env: each optional key (empty when not set) from what
# env_read found, checked against the characters the installer allows.
load_optional_env() {
	for _lo_k in $DY_ENV_OPTIONAL_KEYS; do
		_lo_v=
		eval "_lo_v=\${DY_ENV_$_lo_k-}"
		case $_lo_k in
		DOCKYARD_SYSBOX_MGR_EXTRA_ARGS)
			case $_lo_v in
			*[!A-Za-z0-9._/:=,@+\ -]*) die "$_lo_k '$_lo_v' may contain only words of [A-Za-z0-9._/:=,@+-] separated by spaces" ;;
			esac
			;;
		DOCKYARD_HTTP_PROXY | DOCKYARD_HTTPS_PROXY | DOCKYARD_NO_PROXY)
			case $_lo_v in
			*[!A-Za-z0-9._~:/@%+,*-]*) die "$_lo_k '$_lo_v' contains a character a proxy setting may not hold" ;;
			esac
			;;
		esac
		eval "$_lo_k=\$_lo_v"
	done
}

# start_sysbox_mgr DEBUGFLAG: sysbox-mgr with the instance's directories
# and DOCKYARD_SYSBOX_MGR_EXTRA_ARGS (words; checked above, so splitting
# is safe and nothing globs).
start_sysbox_mgr() {
	# shellcheck disable=SC2086 # the extra arguments are words by design
	daemon_start sysbox-mgr "$BIN/sysbox-mgr" ${1:+"$1" debug} \
		--run-dir "$SYSBOX_RUN" --data-root "$LIB/sysbox" $DOCKYARD_SYSBOX_MGR_EXTRA_ARGS
}

# start_dockerd DEBUGFLAG: dockerd with the proxies of dockyard.env in its
# environment (both spellings: Go reads HTTP_PROXY, some helpers http_proxy).
start_dockerd() {
	dropins_pending
	if [ -z "$DOCKYARD_HTTP_PROXY$DOCKYARD_HTTPS_PROXY$DOCKYARD_NO_PROXY" ]; then
		daemon_start dockerd "$BIN/dockerd" ${1:+"$1"} --config-file "$ETC/daemon.json"
	else
		daemon_start dockerd env \
			${DOCKYARD_HTTP_PROXY:+"HTTP_PROXY=$DOCKYARD_HTTP_PROXY" "http_proxy=$DOCKYARD_HTTP_PROXY"} \
			${DOCKYARD_HTTPS_PROXY:+"HTTPS_PROXY=$DOCKYARD_HTTPS_PROXY" "https_proxy=$DOCKYARD_HTTPS_PROXY"} \
			${DOCKYARD_NO_PROXY:+"NO_PROXY=$DOCKYARD_NO_PROXY" "no_proxy=$DOCKYARD_NO_PROXY"} \
			"$BIN/dockerd" ${1:+"$1"} --config-file "$ETC/daemon.json"
	fi
	# What dockerd reads now: reload compares daemon.json with it.  Copied
	# while dockerd starts, off the path to its API.
	cp "$ETC/daemon.json" "$RUN/dockerd.json.tmp" && mv -f "$RUN/dockerd.json.tmp" "$RUN/dockerd.json"
}

# dropins_pending: warn about drop-ins changed after daemon.json and
# containerd.toml were rendered: only the installer checks and merges them.
dropins_pending() {
	for _dp_f in "$ETC"/daemon.d/*.json "$ETC"/containerd.d/*.toml; do
		[ -f "$_dp_f" ] || continue
		case $_dp_f in
		*.json) _dp_into=$ETC/daemon.json ;;
		*) _dp_into=$ETC/containerd.toml ;;
		esac
		[ -n "$(find "$_dp_f" -newer "$_dp_into" 2>/dev/null)" ] || continue
		warn "$_dp_f changed after $_dp_into was written: the daemons see it once the installer has checked and merged it (dockyard-installer --root $ROOT)"
	done
}
