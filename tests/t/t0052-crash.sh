#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# Crash consistency and concurrency of dockyard-installer, with a payload
# of stand-in daemons (tests/standins/, never shipped): the installer is
# killed (SIGKILL) at each of its fault points (DOCKYARD_FAULT_AT) and at
# 20 random moments, during a first install and during upgrades; every
# re-run converges to a healthy instance with lib/ intact and no staging
# left.  Two installers on one root are serialized by its lock; two on
# different roots with one prefix, started together, let exactly one in.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$TRASH" && pwd -P)/r
PFX=t52$(($$ % 100000))
GROUP=${PFX}docker
DOCKYARD_STOP_TIMEOUT=3
DOCKYARD_START_TIMEOUT=15
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY DOCKYARD_FAULT_AT

NET3=$(pick_free "172.28.%d.0/24" 100 1 60) || NET3=""
POOL=172.28.$((4 * ($$ % 20))).0/22
NETFLAGS="--prefix $PFX --bridge-cidr 172.28.$NET3.1/24 --fixed-cidr 172.28.$NET3.0/24 --pool-base $POOL --pool-size 26"
TRIED=0
CONVERGED=0

crash_cleanup() {
	for r in "$ROOT" "$TRASH/o1" "$TRASH/o2"; do
		[ -x "$r/bin/dockyardctl" ] && "$r/bin/dockyardctl" -q stop >/dev/null 2>&1
	done
	kill_mentioning "$TRASH"
	userdel "$GROUP" >/dev/null 2>&1
	groupdel "$GROUP" >/dev/null 2>&1
	rm -f "/etc/dockyard/instances/$PFX" "/etc/systemd/system/${PFX}docker.service"
	rmdir /etc/dockyard/instances /etc/dockyard 2>/dev/null
	cleanup_trash
}
trap crash_cleanup EXIT

I1=$TRASH/i1
I2=$TRASH/i2

api_ok() {
	[ "$(curl -sS --max-time 5 --unix-socket "$ROOT/run/docker.sock" http://localhost/_ping 2>/dev/null)" = OK ]
}

# converged CLI_TEXT: a re-run installed a healthy instance of the payload
# whose client prints CLI_TEXT, kept lib/ and left no staging behind.
converged() {
	api_ok || fail "the API does not answer" || return 1
	"$ROOT/bin/dockyardctl" status >/dev/null 2>&1 || fail "status is unhealthy" || return 1
	"$ROOT/bin/docker" version | grep -q "^$1 version" ||
		fail "bin/ is not the payload of $1: $("$ROOT/bin/docker" version)" || return 1
	[ "$(cat "$ROOT/lib/docker/marker" 2>/dev/null)" = precious ] ||
		fail "lib/docker/marker was lost" || return 1
	left=$(find "$TRASH" -name '.payload-new' -o -name 'bin.prev' -o -name 'bin.failed' \
		-o -name '*.tmp-*' -o -name '*dockyard-staging*')
	[ -z "$left" ] || fail "left behind: $left"
}

# rerun INSTALLER CLI_TEXT: the re-run after a crash succeeds and converges.
rerun() {
	"$1" -q --root "$ROOT" --no-systemd 2>rerun.err || {
		cat rerun.err
		fail "the re-run failed"
		return 1
	}
	converged "$2"
}

# killed_at POINT INSTALLER: the installer dies (SIGKILL) at POINT.
killed_at() {
	rc=0
	# shellcheck disable=SC2086 # NETFLAGS is a list of options
	DOCKYARD_FAULT_AT=$1 "$2" -q --root "$ROOT" --no-systemd $NETFLAGS 2>/dev/null || rc=$?
	[ "$rc" = 137 ] || fail "the installer exited $rc at fault point $1, not 137 (SIGKILL)"
}

expect_success 'installers of stand-in daemons build' '
	test -n "$NET3" &&
	make_standin_payload "$TRASH/p1" cli-one && build_installer "$TRASH/p1" "$I1" &&
	make_standin_payload "$TRASH/p2" cli-two && build_installer "$TRASH/p2" "$I2"
'

expect_success 'a first install killed after staging converges on a re-run' '
	killed_at staged "$I1" &&
	"$I1" -q --root "$ROOT" --no-systemd $NETFLAGS &&
	echo precious >"$ROOT/lib/docker/marker" &&
	converged cli-one
'

# Upgrades killed at every fault point, alternating the two payloads.
want=cli-one
for point in staged swap rendered system receipt started; do
	if [ "$want" = cli-one ]; then inst=$I2 want=cli-two; else inst=$I1 want=cli-one; fi
	expect_success "an upgrade killed at fault point '$point' converges on a re-run" '
		killed_at "$point" "$inst" && rerun "$inst" "$want"
	'
	TRIED=$((TRIED + 1))
done

# 20 kills at random moments (the seed is printed for a replay).
SEED=${CRASH_SEED:-$$}
say "# random kills: CRASH_SEED=$SEED"
n=0
while [ "$n" -lt 20 ]; do
	if [ "$want" = cli-one ]; then inst=$I2 want=cli-two; else inst=$I1 want=cli-one; fi
	delay=$(awk -v s="$SEED" -v n="$n" 'BEGIN { srand(s + n); printf "%.2f", rand() * 2.5 }')
	expect_success "an upgrade killed after ${delay}s (with its helpers) converges on a re-run" '
		setsid "$inst" -q --root "$ROOT" --no-systemd >/dev/null 2>&1 &
		pid=$!
		sleep "$delay"
		kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rerun "$inst" "$want"
	'
	TRIED=$((TRIED + 1))
	n=$((n + 1))
done

expect_success 'two installers on one root: the second waits for the lock, both succeed' '
	"$I2" -q --root "$ROOT" --no-systemd --wait 2>e1 &
	p1=$!
	"$I2" -q --root "$ROOT" --no-systemd --wait 2>e2 &
	p2=$!
	wait "$p1" && wait "$p2" && converged cli-two
'

expect_success 'two roots with one prefix, installed at once: exactly one gets it' '
	rc1=0 rc2=0
	"$I1" -q --root "$TRASH/o1" --prefix t52x --no-start 2>o1.err &
	p1=$!
	"$I1" -q --root "$TRASH/o2" --prefix t52x --no-start 2>o2.err &
	p2=$!
	wait "$p1" || rc1=$?
	wait "$p2" || rc2=$?
	rm -f /etc/dockyard/instances/t52x
	userdel t52xdocker >/dev/null 2>&1; groupdel t52xdocker >/dev/null 2>&1
	rm -f /etc/systemd/system/t52xdocker.service
	{ [ "$rc1" = 0 ] && [ "$rc2" = 2 ] && grep -q "t52x" o2.err; } ||
		{ [ "$rc2" = 0 ] && [ "$rc1" = 2 ] && grep -q "t52x" o1.err; } ||
		fail "exits $rc1 and $rc2: $(cat o1.err o2.err)"
'

say "# crash figures: $TRIED crashes tried, $((TRIED - test_failed)) converged"
test_done
