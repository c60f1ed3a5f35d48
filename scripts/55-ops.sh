#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Day-two operator commands: --version, context, reload.

# dockerd applies these daemon.json keys on SIGHUP; a change of any other
# key needs a restart.
DY_RELOADABLE_KEYS="debug labels live-restore authorization-plugins runtimes default-runtime insecure-registries registry-mirrors allow-nondistributable-artifacts shutdown-timeout features builder max-concurrent-downloads max-concurrent-uploads max-download-attempts network-diagnostic-port"

# cmd_version: this dockyardctl's version and the installed payload's
# (ROOT/etc/payload.meta).  Needs no dockyard.env.
cmd_version() {
	[ $# -eq 0 ] || dy_usage_error "--version takes no arguments"
	_cv_root=${DOCKYARD_CTL_ROOT:-$(dy_root)}
	_cv_meta=$_cv_root/etc/payload.meta
	if [ ! -r "$_cv_meta" ]; then
		echo "dockyardctl (version unknown: $_cv_meta is missing)"
		return 0
	fi
	_cv_v=$(awk '$1 == "component" && $2 == "dockyardctl" { print $3 }' "$_cv_meta")
	echo "dockyardctl ${_cv_v:-unknown} (instance at $_cv_root)"
	awk '$1 == "component" { printf "  %s %s\n", $2, $3 }' "$_cv_meta"
}

# docker_cli: the docker client for commands that must use the caller's
# own configuration (~/.docker): the instance's, else the host's.
docker_cli() {
	if [ -x "$BIN/docker-cli" ]; then
		echo "$BIN/docker-cli"
	elif command -v docker >/dev/null 2>&1; then
		command -v docker
	else
		die "no docker client: neither $BIN/docker-cli nor docker in PATH"
	fi
}

# cmd_context [--use]: create, or update, the docker context named after
# the prefix in the caller's own docker configuration (DOCKER_CONFIG or
# ~/.docker), pointing at this instance's socket; --use makes it current.
cmd_context() {
	_cx_use=0
	for _cx_a in "$@"; do
		case $_cx_a in
		--use) _cx_use=1 ;;
		*) dy_usage_error "context: unknown argument '$_cx_a' (context [--use])" ;;
		esac
	done
	_cx_cli=$(docker_cli)
	_cx_desc="dockyard instance $PREFIX at $ROOT"
	# DOCKER_HOST and DOCKER_CONTEXT would override the contexts.
	if env -u DOCKER_HOST -u DOCKER_CONTEXT "$_cx_cli" context inspect "$PREFIX" >/dev/null 2>&1; then
		env -u DOCKER_HOST -u DOCKER_CONTEXT "$_cx_cli" context update "$PREFIX" \
			--description "$_cx_desc" --docker "host=unix://$DOCKER_SOCK" >/dev/null ||
			die "docker context update $PREFIX failed"
		say "updated docker context $PREFIX: unix://$DOCKER_SOCK"
	else
		env -u DOCKER_HOST -u DOCKER_CONTEXT "$_cx_cli" context create "$PREFIX" \
			--description "$_cx_desc" --docker "host=unix://$DOCKER_SOCK" >/dev/null ||
			die "docker context create $PREFIX failed"
		say "created docker context $PREFIX: unix://$DOCKER_SOCK"
	fi
	if [ "$_cx_use" = 1 ]; then
		env -u DOCKER_HOST -u DOCKER_CONTEXT "$_cx_cli" context use "$PREFIX" >/dev/null ||
			die "docker context use $PREFIX failed"
		say "docker context $PREFIX is now the current one"
	fi
	printf 'docker --context %s ps\n' "$PREFIX"
}

# json_top_keys FILE: "KEY<TAB>VALUE" for each top-level key of a
# daemon.json as the installer writes it (jansson, 2-space indent), the
# value's lines joined.
json_top_keys() {
	awk '
	/^  "/ {
		if (key != "") print key "\t" val
		key = substr($0, 4); key = substr(key, 1, index(key, "\"") - 1)
		val = $0; next
	}
	/^}/ { if (key != "") print key "\t" val; key = ""; next }
	{ val = val $0 }' "$1"
}

# config_changes OLD NEW: the top-level keys whose values differ.
config_changes() {
	json_top_keys "$1" | sort >"$RUN/.reload.old"
	json_top_keys "$2" | sort >"$RUN/.reload.new"
	comm -3 "$RUN/.reload.old" "$RUN/.reload.new" | sed 's/^\t//' | cut -f 1 | sort -u
	rm -f "$RUN/.reload.old" "$RUN/.reload.new"
}

# cmd_reload: SIGHUP dockerd so that it reads daemon.json again; name the
# changed keys that it cannot apply without a restart.  daemon.json as
# dockerd last read it is kept in run/dockerd.json.
cmd_reload() {
	[ $# -eq 0 ] || dy_usage_error "reload takes no arguments"
	daemon_check dockerd || die "dockerd is $DC_REASON: start it (dockyardctl start)"
	_rl_now=$RUN/dockerd.json
	if [ ! -f "$_rl_now" ]; then
		warn "$_rl_now is missing: cannot tell what changed since dockerd started"
		_rl_changed=""
	else
		_rl_changed=$(config_changes "$_rl_now" "$ETC/daemon.json")
	fi
	_rl_restart=""
	for _rl_k in $_rl_changed; do
		case " $DY_RELOADABLE_KEYS " in
		*" $_rl_k "*) ;;
		*) _rl_restart="$_rl_restart $_rl_k" ;;
		esac
	done
	kill -HUP "$DC_PID" || die "cannot signal dockerd (pid $DC_PID)"
	if [ -z "$_rl_changed" ]; then
		say "dockerd (pid $DC_PID) reloaded; daemon.json has not changed since it started"
	else
		say "dockerd (pid $DC_PID) reloaded; changed: $(printf '%s' "$_rl_changed" | tr '\n' ' ')"
	fi
	if [ -n "$_rl_restart" ]; then
		warn "these changes need a restart (dockyardctl stop; dockyardctl start, or systemctl restart ${PREFIX}docker.service):$_rl_restart"
		return 0
	fi
	cp "$ETC/daemon.json" "$_rl_now.tmp" && mv -f "$_rl_now.tmp" "$_rl_now"
}
