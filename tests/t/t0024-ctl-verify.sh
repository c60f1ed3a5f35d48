#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dockyardctl verify against stand-in daemons and a scripted docker CLI
# (no real Docker here; the end-to-end suite runs verify against real
# engines): each check's PASS, FAIL and SKIP lines, the summary, exit
# codes, the fixes a failure names, the elevated DinD fallback without
# sysbox, the warning for a DinD image with Docker >= 27, that every
# container verify starts is removed also when a check fails, and
# argument errors.
# flavors: release
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

LC_ALL=C
export LC_ALL

require "a bridge, rules and a group"

ROOT=$(cd "$TRASH" && pwd -P)/dy
CTL=$ROOT/bin/dockyardctl
COMPONENTS="sysbox-mgr sysbox-fs containerd dockerd"
PFX=t24$(($$ % 100000))
GRP=${PFX}docker
FAKE_DIR=$TRASH/fake
DOCKYARD_STOP_TIMEOUT=2
DOCKYARD_START_TIMEOUT=10
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT FAKE_DIR
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY DOCKYARD_CTL_ROOT
unset FAKE_RUNTIME FAKE_PING_RC FAKE_DIND_RC FAKE_DIND_VERSION FAKE_RUN_RC


# Networks in 172.29.0.0/16 (other dockyardctl tests use 172.30 and 172.31).
NET3=$(pick_free "172.29.%d.0/24" 200 1 40) || NET3=""
POOL=""
p=$(pick_free "172.29.%d.0/20" 0 16 12) && POOL=172.29.$p.0/20

verify_cleanup() {
	if [ -x "$CTL" ]; then
		"$CTL" -q stop >/dev/null 2>&1
	fi
	kill_mentioning "$TRASH"
	ip link del dev "${PFX}docker0" 2>/dev/null
	groupdel "$GRP" 2>/dev/null
	cleanup_trash
}
trap verify_cleanup EXIT

# A scripted docker CLI: logs each call to $FAKE_DIR/calls, knows the
# images listed in $FAKE_DIR/images, keeps detached containers in
# $FAKE_DIR/running until `rm`.  Knobs: FAKE_RUNTIME (docker info's
# default runtime), FAKE_RUN_RC, FAKE_PING_RC, FAKE_DIND_RC (the inner
# docker info), FAKE_DIND_VERSION (DOCKER_VERSION of an image).
write_fake_docker() {
	cat >"$ROOT/bin/docker" <<'FAKE'
#!/bin/sh
# docker CLI -- TEST FAKE of t0024, not Docker.
printf '%s\n' "$*" >>"$FAKE_DIR/calls"
eval "last=\${$#}"
case $1 in
version) echo 0.0.0-fake ;;
info) echo "${FAKE_RUNTIME:-runc}" ;;
image)
	if [ "$2" = ls ]; then
		# image ls --filter label=dockyard.verify=ROLE --format ...
		role=${4#label=dockyard.verify=}
		cat "$FAKE_DIR/label-$role" 2>/dev/null
		exit 0
	fi
	grep -qxF "$last" "$FAKE_DIR/images" || {
		echo "Error: No such image: $last" >&2
		exit 1
	}
	[ "$3" != -f ] || echo "DOCKER_VERSION=${FAKE_DIND_VERSION:-}"
	;;
run)
	case " $* " in
	*" -d "*)
		name=$(printf '%s\n' "$@" | grep -A1 -x -- --name | tail -n 1)
		echo "$name" >>"$FAKE_DIR/running"
		echo "id-$name"
		;;
	*) exit "${FAKE_RUN_RC:-0}" ;;
	esac
	;;
inspect)
	case $3 in
	*IPAddress*) echo "${FAKE_IP:-}" ;;
	*Running*) echo true ;;
	esac
	;;
exec)
	case $3 in
	ping) exit "${FAKE_PING_RC:-0}" ;;
	docker)
		[ "$4" = version ] && echo 26.1.5 && exit 0
		exit "${FAKE_DIND_RC:-0}"
		;;
	esac
	;;
rm)
	grep -vxF "$last" "$FAKE_DIR/running" >"$FAKE_DIR/running.new"
	mv "$FAKE_DIR/running.new" "$FAKE_DIR/running"
	;;
logs) echo "fake log line" ;;
*) exit 1 ;;
esac
FAKE
	chmod 755 "$ROOT/bin/docker"
}

# fresh: clean fake state with IMAGES present.
fresh() {
	rm -rf "$FAKE_DIR" && mkdir -p "$FAKE_DIR" && : >"$FAKE_DIR/running" &&
	printf '%s\n' "$@" >"$FAKE_DIR/images"
}

# line STATUS NAME: verify's output (out) has STATUS for check NAME.
line() {
	grep -q "^$1  *$2 " out || fail "no '$1 $2' line in: $(cat out)"
}

# none_left: every container verify started was removed.
none_left() {
	test ! -s "$FAKE_DIR/running" || fail "containers left: $(cat "$FAKE_DIR/running")"
}

expect_success 'an instance with stand-in daemons running' '
	{ test -n "$NET3" && test -n "$POOL" || fail "no free networks in 172.29.0.0/16"; } &&
	make_standin_instance "$ROOT" "$PFX" "172.29.$NET3" "$POOL" &&
	"$CTL" -q start
'

expect_success 'argument errors exit 2' '
	for args in "--image" "--bogus" "--no-dind --dind-image docker:26.1-dind" "--image -x" "--image a;b"; do
		# shellcheck disable=SC2086
		"$CTL" verify $args >out 2>err
		rc=$?
		test "$rc" = 2 || fail "verify $args: exit $rc" || exit 1
	done &&
	grep -q "not an image reference" err
'

expect_success 'no docker CLI: verify fails, names the failing checks, still checks the rest' '
	{ "$CTL" verify >out 2>err; test $? = 1; } &&
	line PASS daemons && line SKIP unit && line FAIL socket && line FAIL api && line SKIP run &&
	line SKIP bridge && line PASS nat && line SKIP dind &&
	grep -q "there is no docker CLI" out &&
	grep -q "want root:$PFX""docker 660" out &&
	grep -qx "verify: 2 passed, 2 failed, 4 skipped" out &&
	grep -q "verify failed: socket api" err
'

expect_success 'every check passes with the scripted CLI; sysbox runs DinD without privileges' '
	groupadd "$GRP" && chgrp "$GRP" "$ROOT/run/docker.sock" && chmod 660 "$ROOT/run/docker.sock" &&
	write_fake_docker && fresh busybox:latest docker:26.1-dind &&
	printf "#!/bin/sh\nprintf \"sysbox-runc\\n\\tversion: \\t0.6.7.9-tc (fake for this test)\\n\"\n" \
		>"$ROOT/bin/sysbox-runc" && chmod 755 "$ROOT/bin/sysbox-runc" &&
	FAKE_IP=172.29.$NET3.5 FAKE_RUNTIME=sysbox-runc "$CTL" verify >out 2>err &&
	for c in daemons socket api run bridge nat dind; do line PASS $c || exit 1; done &&
	grep -qx "verify: 7 passed, 0 failed, 1 skipped" out &&
	grep -q "^run -d --runtime sysbox-runc --name dockyard-verify-$PFX-[0-9]*-3 docker:26.1-dind\$" "$FAKE_DIR/calls" &&
	! grep -q -- "--cap-add\|--privileged" "$FAKE_DIR/calls" &&
	grep -q "^exec dockyard-verify-$PFX-[0-9]*-1 ping -c 1 -W 3 172.29.$NET3.5\$" "$FAKE_DIR/calls" &&
	! grep -q "no sysbox" out &&
	none_left
'

expect_success 'a sysbox-runc that is not sysbox (the stand-in) makes DinD run elevated, saying why' '
	cp "$SRC_DIR/tests/standins/sysbox-runc" "$ROOT/bin/sysbox-runc" &&
	fresh busybox:latest docker:26.1-dind &&
	FAKE_IP=172.29.$NET3.5 FAKE_RUNTIME=sysbox-runc "$CTL" verify >out 2>err &&
	grep -qF "note: $ROOT/bin/sysbox-runc is not a real sysbox (--version: '"'"'sysbox-runc (test stand-in)'"'"'): DinD check runs an elevated container" out &&
	grep -q -- "^run -d --cap-add ALL" "$FAKE_DIR/calls" &&
	none_left
'

expect_success 'without sysbox the DinD check says plainly that it runs an elevated container' '
	mkdir -p nosysbox && mv "$ROOT/bin/sysbox-mgr" "$ROOT/bin/sysbox-fs" nosysbox/ &&
	fresh busybox:latest docker:26.1-dind &&
	FAKE_IP=172.29.$NET3.5 "$CTL" verify >out 2>err
	rc=$?
	mv nosysbox/sysbox-mgr nosysbox/sysbox-fs "$ROOT/bin/" &&
	test "$rc" = 0 &&
	grep -qF "no sysbox in this instance: DinD check runs an elevated container (--cap-add ALL --cap-drop SYS_RESOURCE, unconfined) — with sysbox this needs no privileges" out &&
	grep -qF "run -d --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined --device-cgroup-rule a *:* rwm -v /var/lib/docker -v /var/lib/containerd --name dockyard-verify-" "$FAKE_DIR/calls" &&
	! grep -q -- "--privileged" "$FAKE_DIR/calls" &&
	line PASS dind && none_left
'

expect_success 'no image to run and none asked for: run and bridge SKIP saying why; an asked-for one missing is a FAIL' '
	fresh docker:26.1-dind &&
	"$CTL" verify >out 2>err &&
	line SKIP run && line SKIP bridge && line PASS dind && line PASS nat &&
	grep -q "^SKIP  run  *no image to run: .*dockyard.verify=run.*no busybox:latest.*pass --image IMG" out &&
	grep -q "^SKIP  bridge  *no image to run" out &&
	{ "$CTL" verify --image busybox:latest >out 2>err; test $? = 1; } &&
	line FAIL run && line SKIP bridge &&
	grep -q "image busybox:latest is not present locally .*docker load/import an image and pass --image" out &&
	fresh mybox:1 docker:26.1-dind &&
	FAKE_IP=172.29.$NET3.5 "$CTL" verify --image mybox:1 >out 2>err &&
	grep -q "^run --rm mybox:1 true\$" "$FAKE_DIR/calls"
'

expect_success 'the payload'\''s labelled images are used without --image/--dind-image' '
	fresh dockyard/busybox:1.35.0 dockyard/docker-dind:29.2.1 &&
	echo dockyard/busybox:1.35.0 >"$FAKE_DIR/label-run" &&
	echo dockyard/docker-dind:29.2.1 >"$FAKE_DIR/label-dind" &&
	FAKE_IP=172.29.$NET3.5 "$CTL" verify >out 2>err &&
	grep -q "^run --rm dockyard/busybox:1.35.0 true\$" "$FAKE_DIR/calls" &&
	grep -q " dockyard/docker-dind:29.2.1\$" "$FAKE_DIR/calls" &&
	grep -qx "verify: 7 passed, 0 failed, 1 skipped" out &&
	fresh busybox:latest mybox:1 docker:26.1-dind dockyard/busybox:1.35.0 &&
	echo dockyard/busybox:1.35.0 >"$FAKE_DIR/label-run" &&
	FAKE_IP=172.29.$NET3.5 "$CTL" verify --image mybox:1 --dind-image docker:26.1-dind >out 2>err &&
	grep -q "^run --rm mybox:1 true\$" "$FAKE_DIR/calls" &&
	! grep -q "dockyard/busybox" "$FAKE_DIR/calls"
'

expect_success 'a dynamically linked payload engine: DinD is a SKIP that says why' '
	fresh busybox:latest &&
	cp "$ROOT/etc/payload.meta" payload.meta.saved 2>/dev/null; rm -f "$ROOT/etc/payload.meta" &&
	printf "%s\n" "dockyard-payload 1" "needs bin/dockerd /lib64/ld-linux-x86-64.so.2 libc.so.6" >"$ROOT/etc/payload.meta" &&
	FAKE_IP=172.29.$NET3.5 "$CTL" verify >out 2>err; rc=$?
	rm -f "$ROOT/etc/payload.meta"; test ! -f payload.meta.saved || cp payload.meta.saved "$ROOT/etc/payload.meta"
	test "$rc" = 0 &&
	grep -q "^SKIP  dind  *the payload.s dockerd is dynamically linked (needs /lib64/ld-linux-x86-64.so.2 libc.so.6)" out &&
	{ FAKE_IP=172.29.$NET3.5 "$CTL" verify --dind-image docker:26.1-dind >out 2>err; test $? = 1; } &&
	line FAIL dind
'

expect_success 'a missing DinD image: SKIP when nobody asked for one, FAIL naming the fix when --dind-image did; --no-dind skips it' '
	fresh busybox:latest &&
	FAKE_IP=172.29.$NET3.5 "$CTL" verify >out 2>err &&
	grep -q "^SKIP  dind  *no DinD image: .*dockyard.verify=dind.*no docker:26.1-dind.*--dind-image IMG" out &&
	{ FAKE_IP=172.29.$NET3.5 "$CTL" verify --dind-image docker:26.1-dind >out 2>err; test $? = 1; } &&
	line FAIL dind && grep -q "pass --dind-image IMG, or skip this check with --no-dind" out &&
	grep -q "verify failed: dind" err &&
	FAKE_IP=172.29.$NET3.5 "$CTL" verify --no-dind >out 2>err &&
	line SKIP dind && grep -q "^SKIP  dind  *--no-dind" out &&
	grep -qx "verify: 6 passed, 0 failed, 2 skipped" out
'

expect_success 'a DinD image with Docker >= 27 draws a warning (from its DOCKER_VERSION or its tag)' '
	fresh busybox:latest docker:27.1-dind mine/dind:x &&
	FAKE_IP=172.29.$NET3.5 "$CTL" verify --dind-image docker:27.1-dind >out 2>err &&
	grep -q "docker:27.1-dind ships Docker 27.x" err &&
	FAKE_DIND_VERSION=28.0.1 FAKE_IP=172.29.$NET3.5 "$CTL" verify --dind-image=mine/dind:x >out 2>err &&
	grep -q "mine/dind:x ships Docker 28.x" err &&
	FAKE_DIND_VERSION=26.1.5 FAKE_IP=172.29.$NET3.5 "$CTL" verify --dind-image=mine/dind:x >out 2>err &&
	! grep -q "ships Docker" err
'

expect_success 'failing bridge and DinD checks still remove their containers' '
	fresh busybox:latest docker:26.1-dind &&
	{ FAKE_PING_RC=1 FAKE_DIND_RC=1 DOCKYARD_VERIFY_TIMEOUT=2 FAKE_IP=172.29.$NET3.5 \
		"$CTL" verify >out 2>err; test $? = 1; } &&
	line FAIL bridge && line FAIL dind &&
	grep -q "cannot ping 172.29.$NET3.5" out &&
	grep -q "did not answer within 2 s; last log lines: fake log line" out &&
	grep -q "verify failed: bridge dind" err &&
	test "$(grep -c "^rm -f -v " "$FAKE_DIR/calls")" -ge 3 &&
	none_left
'

expect_success 'a container address outside the fixed CIDR fails the bridge check' '
	fresh busybox:latest docker:26.1-dind &&
	{ FAKE_IP=10.9.8.7 "$CTL" verify --no-dind >out 2>err; test $? = 1; } &&
	grep -q "has 10.9.8.7, outside 172.29.$NET3.0/24" out && none_left
'

expect_success 'stopped instance: daemons, socket, API and NAT fail' '
	"$CTL" -q stop &&
	fresh busybox:latest docker:26.1-dind &&
	{ "$CTL" verify >out 2>err; test $? = 1; } &&
	line FAIL daemons && line FAIL socket && line FAIL api && line FAIL nat &&
	grep -q "dockerd: not running" out &&
	grep -q "dockyardctl net-up restores it" out
'

expect_success 'net-up and net-down: the network steps alone' '
	"$CTL" net-up 2>err && ip link show dev "${PFX}docker0" >/dev/null &&
	iptables -w -t nat -C POSTROUTING -s "172.29.$NET3.0/24" ! -o "${PFX}docker0" -j MASQUERADE &&
	{ "$CTL" net-up extra 2>err; test $? = 2; } &&
	"$CTL" net-down 2>err && ! ip link show dev "${PFX}docker0" >/dev/null 2>&1 &&
	! in_iptables "172.29.$NET3.0/24"
'

test_done
