#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# verify: end-to-end checks of a running instance.  Each check prints one
# line, "PASS|FAIL|SKIP  NAME  detail", and the last line counts them.
# Exit 0 when no check failed.  A SKIP never fails verify: it is either
# asked for (--no-dind), not applicable (no systemd as PID 1, no unit), or
# follows from a check that already failed.
#
#   daemons   every component runs and holds its socket (stack_check)
#   unit      systemctl is-active, when systemd is PID 1 and the unit exists
#   socket    $DOCKER_SOCK is root:${PREFIX}docker 0660
#   api       GET /_ping, and the server version from `docker version`
#   run       `docker run --rm IMG true` (IMG present locally; see below)
#   bridge    two containers on the default bridge; one pings the other
#   nat       the MASQUERADE rule of the container subnet
#   dind      Docker-in-Docker: an inner dockerd answers `docker info`
#
# Images are never pulled (air-gapped hosts).  Without --image and
# --dind-image, verify uses the images the payload loaded into the instance
# (labels dockyard.verify=run and dockyard.verify=dind), else busybox:latest
# and docker:26.1-dind when present; a missing image nobody asked for is a
# SKIP that says why, an image named with --image or --dind-image that is
# missing is a FAIL.  DinD is a SKIP when the payload's dockerd is
# dynamically linked (no DinD image can be built from it).  Every container verify starts carries the name
# prefix dockyard-verify-PREFIX-PID- and is removed (with its anonymous
# volumes) on exit, also when a check fails or verify is interrupted.

# shellcheck disable=SC2154 # net_* are set by the functions of 20-net.sh

VF_DEFAULT_IMAGE=busybox:latest
# runc 1.3.x in docker:dind >= 27 rejects sysbox-fs's /proc/sys bind
# mounts ("unsafe procfs detected"); 26.1 ships runc 1.1.12.
VF_DEFAULT_DIND_IMAGE=docker:26.1-dind
VF_PASSED=0
VF_FAILED=0
VF_SKIPPED=0
VF_FAILED_NAMES=""
VF_CONTAINERS=""
VF_SEQ=0

# vf_result PASS|FAIL|SKIP NAME DETAIL
vf_result() {
	printf '%-4s  %-8s %s\n' "$1" "$2" "$3"
	case $1 in
	PASS) VF_PASSED=$((VF_PASSED + 1)) ;;
	FAIL)
		VF_FAILED=$((VF_FAILED + 1))
		VF_FAILED_NAMES="$VF_FAILED_NAMES $2"
		;;
	SKIP) VF_SKIPPED=$((VF_SKIPPED + 1)) ;;
	esac
}

# vf_docker ARGS...: the instance's docker CLI, pointed at its socket.
vf_docker() {
	DOCKER_HOST=unix://$DOCKER_SOCK DOCKER_CONFIG=$LIB/docker-config \
		timeout "$VF_TIMEOUT" "$VF_CLI" "$@"
}

# vf_oneline TEXT: TEXT on one line, at most 200 characters.
vf_oneline() {
	printf '%s' "$1" | tr '\n\t' '  ' | sed 's/  */ /g; s/ $//' | cut -c 1-200
}

# vf_new_name: VF_NAME, a fresh container name, recorded for the cleanup
# before the container exists (a run interrupted half way still has it
# removed).
vf_new_name() {
	VF_SEQ=$((VF_SEQ + 1))
	VF_NAME=dockyard-verify-$PREFIX-$$-$VF_SEQ
	VF_CONTAINERS="$VF_CONTAINERS $VF_NAME"
}

# vf_cleanup: remove every container verify made, with its volumes.
vf_cleanup() {
	for _vc in $VF_CONTAINERS; do
		vf_docker rm -f -v "$_vc" >/dev/null 2>&1 || :
	done
	VF_CONTAINERS=""
}

# vf_image_present IMG
vf_image_present() {
	vf_docker image inspect "$1" >/dev/null 2>&1
}

# vf_labelled ROLE: the first image loaded with label dockyard.verify=ROLE.
vf_labelled() {
	vf_docker image ls --filter "label=dockyard.verify=$1" --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
		grep -v '<none>' | sort | head -n 1
}

# vf_pick_image: VF_IMAGE unless --image named one: the payload's image,
# else busybox:latest when present; VF_IMAGE_WHY says why there is none.
vf_pick_image() {
	VF_IMAGE_WHY=""
	[ "$VF_IMAGE_SET" = 1 ] && return 0
	_vf_img=$(vf_labelled run)
	if [ -n "$_vf_img" ]; then
		VF_IMAGE=$_vf_img
	elif ! vf_image_present "$VF_IMAGE"; then
		VF_IMAGE_WHY="no image to run: the instance holds none labelled dockyard.verify=run (the payload's test image) and no $VF_IMAGE, and nothing is pulled; load one (installer --images DIR, $ROOT/images/) or pass --image IMG"
	fi
}

# vf_engine_needs: the libraries the payload's dockerd needs, from the
# payload metadata; empty when it is statically linked.
vf_engine_needs() {
	sed -n 's|^needs bin/dockerd ||p' "$ROOT/etc/payload.meta" 2>/dev/null | head -n 1
}

# vf_pick_dind_image: VF_DIND_IMAGE unless --dind-image named one;
# VF_DIND_WHY says why there is none.
vf_pick_dind_image() {
	VF_DIND_WHY=""
	[ "$_vf_dind_set" = 1 ] && return 0
	_vf_img=$(vf_labelled dind)
	if [ -n "$_vf_img" ]; then
		VF_DIND_IMAGE=$_vf_img
		return 0
	fi
	_vf_needs=$(vf_engine_needs)
	if [ -n "$_vf_needs" ]; then
		VF_DIND_WHY="the payload's dockerd is dynamically linked (needs $_vf_needs), so no Docker-in-Docker image can be built from it and the payload carries none; pass --dind-image IMG to check DinD"
	elif ! vf_image_present "$VF_DIND_IMAGE"; then
		VF_DIND_WHY="no DinD image: the instance holds none labelled dockyard.verify=dind and no $VF_DIND_IMAGE, and nothing is pulled; load one or pass --dind-image IMG"
	fi
}

# vf_in_fixed IP: IP lies inside DOCKYARD_FIXED_CIDR.
vf_in_fixed() {
	_vf_n=$(net_ip4_int "$1") || return 1
	net_cidr DOCKYARD_FIXED_CIDR "$DOCKYARD_FIXED_CIDR"
	[ $((_vf_n & net_mask)) = $((net_addr & net_mask)) ]
}

vf_check_daemons() {
	if stack_check; then
		vf_result PASS daemons "$(dy_components | sed 's/ /, /g') run and hold their sockets; the API answers"
	else
		vf_result FAIL daemons "$(problems_inline)"
	fi
}

vf_check_unit() {
	_vf_unit=${PREFIX}docker.service
	if [ ! -d /run/systemd/system ]; then
		vf_result SKIP unit "systemd is not PID 1 here"
	elif [ ! -f "/etc/systemd/system/$_vf_unit" ]; then
		vf_result SKIP unit "no /etc/systemd/system/$_vf_unit (started by hand)"
	elif _vf_out=$(systemctl is-active "$_vf_unit" 2>&1); then
		vf_result PASS unit "$_vf_unit is $_vf_out"
	else
		vf_result FAIL unit "$_vf_unit is ${_vf_out:-not active}; see journalctl -u $_vf_unit"
	fi
}

vf_check_socket() {
	_vf_want="root:${PREFIX}docker 660"
	if [ ! -S "$DOCKER_SOCK" ]; then
		vf_result FAIL socket "$DOCKER_SOCK is missing"
		return 0
	fi
	_vf_got=$(stat -c '%U:%G %a' "$DOCKER_SOCK" 2>&1) || _vf_got="stat failed: $_vf_got"
	if [ "$_vf_got" = "$_vf_want" ]; then
		vf_result PASS socket "$DOCKER_SOCK is $_vf_want"
	else
		vf_result FAIL socket "$DOCKER_SOCK is $_vf_got, want $_vf_want (daemon.json \"group\"; does group ${PREFIX}docker exist?)"
	fi
}

# vf_check_api: sets VF_API=1 when the API answers and the CLI works.
vf_check_api() {
	VF_API=0
	if ! api_ping; then
		vf_result FAIL api "GET /_ping on $DOCKER_SOCK does not answer OK"
	elif [ -z "$VF_CLI" ]; then
		vf_result FAIL api "GET /_ping answers, but there is no docker CLI ($BIN/docker or $BIN/docker-cli)"
	elif _vf_out=$(vf_docker version --format '{{.Server.Version}}' 2>&1) && [ -n "$_vf_out" ]; then
		vf_result PASS api "GET /_ping answers; server version $_vf_out"
		VF_API=1
	else
		vf_result FAIL api "docker version: $(vf_oneline "$_vf_out")"
	fi
}

# vf_check_run: sets VF_RUN=1 when a container ran.
vf_check_run() {
	VF_RUN=0
	if [ "$VF_API" != 1 ]; then
		vf_result SKIP run "needs a working API"
	elif vf_pick_image && [ -n "$VF_IMAGE_WHY" ]; then
		vf_result SKIP run "$VF_IMAGE_WHY"
	elif ! vf_image_present "$VF_IMAGE"; then
		vf_result FAIL run "image $VF_IMAGE is not present locally (nothing is pulled): docker load/import an image and pass --image"
	elif _vf_out=$(vf_docker run --rm "$VF_IMAGE" true 2>&1); then
		vf_result PASS run "docker run --rm $VF_IMAGE true"
		VF_RUN=1
	else
		vf_result FAIL run "docker run --rm $VF_IMAGE true: $(vf_oneline "$_vf_out")"
	fi
}

# vf_start_sleeper: a detached container of VF_IMAGE that sleeps; its name
# in VF_NAME.  Fails with the reason in _vf_out.
vf_start_sleeper() {
	vf_new_name
	_vf_out=$(vf_docker run -d --name "$VF_NAME" "$VF_IMAGE" sleep 600 2>&1)
}

vf_check_bridge() {
	if [ "$VF_RUN" != 1 ] && [ -n "${VF_IMAGE_WHY:-}" ]; then
		vf_result SKIP bridge "$VF_IMAGE_WHY"
		return 0
	elif [ "$VF_RUN" != 1 ]; then
		vf_result SKIP bridge "needs a container that runs"
		return 0
	fi
	if ! vf_start_sleeper; then
		vf_result FAIL bridge "docker run -d: $(vf_oneline "$_vf_out")"
		return 0
	fi
	_vf_a=$VF_NAME
	if ! vf_start_sleeper; then
		vf_result FAIL bridge "docker run -d: $(vf_oneline "$_vf_out")"
		return 0
	fi
	_vf_b=$VF_NAME
	if ! _vf_ip=$(vf_docker inspect -f '{{.NetworkSettings.IPAddress}}' "$_vf_b" 2>&1) ||
		[ -z "$_vf_ip" ]; then
		vf_result FAIL bridge "no IP address for container $_vf_b: $(vf_oneline "$_vf_ip")"
	elif ! vf_in_fixed "$_vf_ip"; then
		vf_result FAIL bridge "container $_vf_b has $_vf_ip, outside $DOCKYARD_FIXED_CIDR"
	elif _vf_out=$(vf_docker exec "$_vf_a" ping -c 1 -W 3 "$_vf_ip" 2>&1); then
		vf_result PASS bridge "container $_vf_a pings $_vf_ip ($_vf_b) on $BRIDGE"
	else
		vf_result FAIL bridge "container $_vf_a cannot ping $_vf_ip ($_vf_b) on $BRIDGE: $(vf_oneline "$_vf_out")"
	fi
	vf_cleanup
}

vf_check_nat() {
	net_vars
	_vf_rule="-t nat -A POSTROUTING -s $NET_FIXED ! -o $BRIDGE -j MASQUERADE"
	if net_ipt -C "$_vf_rule"; then
		vf_result PASS nat "iptables -t nat POSTROUTING -s $NET_FIXED ! -o $BRIDGE -j MASQUERADE"
	else
		vf_result FAIL nat "missing: $net_cmd ($(vf_oneline "$net_out")); dockyardctl net-up restores it"
	fi
}

# vf_image_docker_major IMG: the major Docker version IMG ships, from
# DOCKER_VERSION in its environment, else from its tag; empty if unknown.
vf_image_docker_major() {
	_vf_v=$(vf_docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" 2>/dev/null |
		sed -n 's/^DOCKER_VERSION=//p' | head -n 1) || _vf_v=""
	if [ -z "$_vf_v" ]; then
		case $1 in
		*@*) _vf_v="" ;;
		*:*) _vf_v=${1##*:} ;;
		esac
		case ${_vf_v%%[!0-9]*} in
		'') _vf_v="" ;;
		esac
	fi
	_vf_v=${_vf_v#v}
	printf '%s' "${_vf_v%%[!0-9]*}"
}

# vf_real_sysbox: this instance runs a sysbox that can host DinD without
# privileges: sysbox-mgr is installed and sysbox-runc identifies itself as
# sysbox ("sysbox-runc" alone on the first line of --version, as every
# release prints).  VF_NO_SYSBOX says why not.
vf_real_sysbox() {
	if [ ! -e "$BIN/sysbox-mgr" ]; then
		VF_NO_SYSBOX="no sysbox in this instance"
		return 1
	fi
	_vf_first=$("$BIN/sysbox-runc" --version 2>/dev/null | head -n 1) || _vf_first=""
	if [ "$_vf_first" != sysbox-runc ]; then
		VF_NO_SYSBOX="$BIN/sysbox-runc is not a real sysbox (--version: '${_vf_first:-nothing}')"
		return 1
	fi
	return 0
}

vf_check_dind() {
	if [ "$VF_NO_DIND" = 1 ]; then
		vf_result SKIP dind "--no-dind"
		return 0
	fi
	if [ "$VF_API" != 1 ]; then
		vf_result SKIP dind "needs a working API"
		return 0
	fi
	vf_pick_dind_image
	if [ -n "$VF_DIND_WHY" ]; then
		vf_result SKIP dind "$VF_DIND_WHY"
		return 0
	fi
	if ! vf_image_present "$VF_DIND_IMAGE"; then
		vf_result FAIL dind "image $VF_DIND_IMAGE is not present locally (nothing is pulled): docker load it, pass --dind-image IMG, or skip this check with --no-dind"
		return 0
	fi
	if [ "$VF_DIND_IMAGE" != "$VF_DEFAULT_DIND_IMAGE" ]; then
		_vf_major=$(vf_image_docker_major "$VF_DIND_IMAGE")
		if [ -n "$_vf_major" ] && [ "$_vf_major" -ge 27 ]; then
			warn "$VF_DIND_IMAGE ships Docker $_vf_major.x, whose runc 1.3.x rejects sysbox-fs's /proc/sys mounts (\"unsafe procfs detected\"); $VF_DEFAULT_DIND_IMAGE is known to work"
		fi
	fi
	vf_new_name
	_vf_d=$VF_NAME
	if vf_real_sysbox; then
		_vf_rt=$(vf_docker info --format '{{.DefaultRuntime}}' 2>/dev/null) || _vf_rt=""
		[ "$_vf_rt" = sysbox-runc ] ||
			warn "the default runtime is '${_vf_rt:-unknown}', not sysbox-runc; the DinD check asks for sysbox-runc"
		_vf_how="sysbox-runc, no privileges"
		_vf_out=$(vf_docker run -d --runtime sysbox-runc --name "$_vf_d" "$VF_DIND_IMAGE" 2>&1) || {
			vf_result FAIL dind "docker run -d --runtime sysbox-runc $VF_DIND_IMAGE: $(vf_oneline "$_vf_out")"
			vf_cleanup
			return 0
		}
	else
		echo "note: $VF_NO_SYSBOX: DinD check runs an elevated container (--cap-add ALL --cap-drop SYS_RESOURCE, unconfined) — with sysbox this needs no privileges"
		_vf_how="elevated container, no sysbox"
		# --privileged fails on hosts whose capability bounding set
		# lacks CAP_SYS_RESOURCE; this does not.
		_vf_out=$(vf_docker run -d --cap-add ALL --cap-drop SYS_RESOURCE \
			--security-opt seccomp=unconfined --security-opt apparmor=unconfined \
			--security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm' \
			-v /var/lib/docker -v /var/lib/containerd \
			--name "$_vf_d" "$VF_DIND_IMAGE" 2>&1) || {
			vf_result FAIL dind "docker run -d (elevated) $VF_DIND_IMAGE: $(vf_oneline "$_vf_out")"
			vf_cleanup
			return 0
		}
	fi
	dy_deadline "$VF_TIMEOUT"
	_vf_why=""
	until vf_docker exec "$_vf_d" docker info >/dev/null 2>&1; do
		_vf_state=$(vf_docker inspect -f '{{.State.Running}}' "$_vf_d" 2>/dev/null) || _vf_state=""
		if [ "$_vf_state" != true ]; then
			_vf_why="container $_vf_d stopped before its dockerd answered; last log lines: $(vf_oneline "$(vf_docker logs --tail 5 "$_vf_d" 2>&1)")"
			break
		fi
		if dy_past_deadline; then
			_vf_why="the inner docker info did not answer within $VF_TIMEOUT s; last log lines: $(vf_oneline "$(vf_docker logs --tail 5 "$_vf_d" 2>&1)")"
			break
		fi
		sleep 1
	done
	if [ -z "$_vf_why" ]; then
		if _vf_out=$(vf_docker exec "$_vf_d" docker version --format '{{.Server.Version}}' 2>&1) && [ -n "$_vf_out" ]; then
			vf_result PASS dind "$VF_DIND_IMAGE ($_vf_how): inner dockerd $_vf_out answers"
		else
			vf_result FAIL dind "$VF_DIND_IMAGE: inner docker version: $(vf_oneline "$_vf_out")"
		fi
	else
		vf_result FAIL dind "$VF_DIND_IMAGE ($_vf_how): $_vf_why"
	fi
	vf_cleanup
}

# vf_args ARGS: --image IMG, --dind-image IMG, --no-dind (also --opt=IMG).
vf_args() {
	VF_IMAGE=$VF_DEFAULT_IMAGE
	VF_DIND_IMAGE=$VF_DEFAULT_DIND_IMAGE
	VF_NO_DIND=0
	VF_IMAGE_SET=0
	_vf_dind_set=0
	while [ $# -gt 0 ]; do
		case $1 in
		--image=* | --dind-image=*)
			_vf_opt=${1%%=*}
			_vf_val=${1#*=}
			;;
		--image | --dind-image)
			[ $# -ge 2 ] || dy_usage_error "verify: $1 needs an image"
			_vf_opt=$1
			_vf_val=$2
			shift
			;;
		--no-dind)
			VF_NO_DIND=1
			shift
			continue
			;;
		*) dy_usage_error "verify: unknown argument '$1' (verify [--image IMG] [--dind-image IMG | --no-dind])" ;;
		esac
		case $_vf_val in
		'' | -* | *[!A-Za-z0-9._/:@-]*) dy_usage_error "verify: $_vf_opt '$_vf_val' is not an image reference" ;;
		esac
		if [ "$_vf_opt" = --image ]; then
			VF_IMAGE=$_vf_val
			VF_IMAGE_SET=1
		else
			VF_DIND_IMAGE=$_vf_val
			_vf_dind_set=1
		fi
		shift
	done
	if [ "$VF_NO_DIND" = 1 ] && [ "$_vf_dind_set" = 1 ]; then
		dy_usage_error "verify: --no-dind and --dind-image exclude each other"
	fi
}

cmd_verify() {
	vf_args "$@"
	VF_TIMEOUT=${DOCKYARD_VERIFY_TIMEOUT:-60}
	case $VF_TIMEOUT in
	'' | *[!0-9]* | 0) die "DOCKYARD_VERIFY_TIMEOUT '$VF_TIMEOUT' must be a whole number of seconds above 0" ;;
	esac
	VF_CLI=""
	if [ -x "$BIN/docker" ]; then
		VF_CLI=$BIN/docker
	elif [ -x "$BIN/docker-cli" ]; then
		VF_CLI=$BIN/docker-cli
	fi
	trap vf_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	vf_check_daemons
	vf_check_unit
	vf_check_socket
	vf_check_api
	vf_check_run
	vf_check_bridge
	vf_check_nat
	vf_check_dind
	vf_cleanup
	trap - EXIT INT TERM HUP
	echo "verify: $VF_PASSED passed, $VF_FAILED failed, $VF_SKIPPED skipped"
	if [ "$VF_FAILED" != 0 ]; then
		printf 'dockyardctl%s: verify failed:%s\n' "${PREFIX:+ [$PREFIX]}" "$VF_FAILED_NAMES" >&2
		exit 1
	fi
}
