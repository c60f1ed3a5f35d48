#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# Soak on real Docker: two instances of an installer built from Debian's
# docker.io, containerd, runc and tini plus the sysbox stand-ins (as in
# t0040): A runs under `dockyardctl run`, restarted by this script as a
# service manager would, B under `dockyardctl start`.  Each round kills -9
# a random component (dockerd, containerd, sysbox-fs, sysbox-mgr, or A's
# supervisor) either while the instance idles or at a random moment of a
# start, recovers it (B: stop and start; A: the supervisor stops the rest
# and exits, and is started again), and checks that it answers and that
# the container and the volume made before (with a file in it) are still
# there.  Rounds also interleave stop/start cycles, `isolate on/off`, and
# the install or destroy of a third instance C.  After every round, the
# iptables rules, bridges, mounts and processes of each instance must be
# exactly those it had when first seen running in the same isolation
# state, and a destroyed C must have left none: only this script's own
# instances are looked at (other instances may run on the host).
#
#   SOAK_ROUNDS   rounds (default 10; `make soak` runs 200)
#   SOAK_SEED     the seed of the random choices (printed; replays a run)
#   SOAK_DAEMONS  standin (default) or debian.  standin: the stand-in
#                 daemons of tests/standins/ (never shipped); "containers
#                 and volumes" are then a container directory and a volume
#                 with a file in lib/docker, which must survive.  debian:
#                 Debian's dockerd, containerd and runc as in t0040, with a
#                 real container and volume; a round costs 30 s or more on
#                 a busy 2-core host, so the default is the stand-ins.
#
# debian needs `make debs` (build/debs/).
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../e2e/fixtures.sh
. "$SRC_DIR/tests/e2e/fixtures.sh"

SOAK_ROUNDS=${SOAK_ROUNDS:-10}
SOAK_SEED=${SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
SOAK_DAEMONS=${SOAK_DAEMONS:-standin}
case $SOAK_DAEMONS in
standin | debian) ;;
*) echo "SOAK_DAEMONS must be standin or debian" >&2 && exit 2 ;;
esac
case $SOAK_ROUNDS$SOAK_SEED in
*[!0-9]*) echo "SOAK_ROUNDS and SOAK_SEED must be numbers" >&2 && exit 2 ;;
esac
BASE=$(cd "$TRASH" && pwd -P)
A=$BASE/a
B=$BASE/b
C=$BASE/c
PA=sa$(($$ % 100000))
PB=sb$(($$ % 100000))
PC=sc$(($$ % 100000))
INST=$TRASH/dockyard-installer
ST=$TRASH/state
DOCKYARD_STOP_TIMEOUT=20
DOCKYARD_START_TIMEOUT=60
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY DOCKYARD_CTL_ROOT
mkdir -p "$ST"

require "instances"

# The engines' shared host directories this test creates (lib.sh).
host_dirs_note

# selftest_rule -A|-D: add or delete the rule the leak check must notice.
selftest_rule() {
	iptables -w "$1" FORWARD -i "${PB}docker0" -m comment --comment dockyard-soak-selftest -j RETURN
}

soak_cleanup() {
	selftest_rule -D 2>/dev/null
	sup_stop
	for r in "$A" "$B" "$C"; do
		[ -x "$r/bin/dockyardctl" ] && "$r/bin/dockyardctl" -q destroy --yes >/dev/null 2>&1
	done
	kill_mentioning "$BASE"
	e2e_umount_under "$BASE"
	prefix_objects_remove "$PA" "$PB" "$PC"
	host_dirs_remove
	cleanup_trash
}
trap soak_cleanup EXIT

# ---- randomness: a seeded LCG, so that SOAK_SEED replays a run ----
RND=$SOAK_SEED
# rand N: R is a number in 0..N-1.
rand() {
	RND=$(((RND * 1103515245 + 12345) % 2147483648))
	R=$(((RND / 65536) % $1))
}

# ---- counters kept in files (test bodies run in subshells) ----
count() { # NAME: add one
	_c=$(cat "$ST/$1" 2>/dev/null) || _c=0
	echo $((_c + 1)) >"$ST/$1"
}
counted() { # NAME
	cat "$ST/$1" 2>/dev/null || echo 0
}

root_of() {
	case $1 in A) echo "$A" ;; B) echo "$B" ;; C) echo "$C" ;; esac
}
prefix_of() {
	case $1 in A) echo "$PA" ;; B) echo "$PB" ;; C) echo "$PC" ;; esac
}
env_of() { sed -n "s/^$2=//p" "$1/etc/dockyard.env"; }
api_ok() {
	[ "$(curl -sS --max-time 3 --unix-socket "$1/run/docker.sock" http://localhost/_ping 2>/dev/null)" = OK ]
}
live_pid() { # ROOT NAME: the recorded pid of NAME when it runs
	_lp=$(cat "$1/run/$2.pid" 2>/dev/null) && pid_running "$_lp" && echo "$_lp"
}

# ---- A's service manager: start `dockyardctl run` again when it exits ----
sup_start() {
	setsid "$A/bin/dockyardctl" -q run </dev/null >>"$TRASH/supervisor.log" 2>&1 &
	_sp=$!
	# Until it has recorded itself (or exited), another check would not see it.
	wait_until 60 eval "test \"\$(cat $A/run/supervisor.pid 2>/dev/null)\" = $_sp || ! pid_running $_sp"
}
sup_stop() {
	_ss=$(live_pid "$A" supervisor) || return 0
	kill -TERM "$_ss" 2>/dev/null
	wait_until 90 eval "! pid_running $_ss"
}
# sup_ensure: start the supervisor once the last one has exited.
sup_ensure() {
	_se=$(cat "$A/run/supervisor.pid" 2>/dev/null) || _se=""
	if [ -n "$_se" ] && pid_running "$_se"; then
		# A supervisor whose child died stops the others, then exits.
		wait_until 90 eval "! pid_running $_se || $A/bin/dockyardctl status >/dev/null 2>&1" ||
			fail "supervisor $_se neither exits nor has a healthy stack" || return 1
		pid_running "$_se" && return 0
	fi
	sup_start
}

# ---- health: the instance answers and the data made before is there ----
healthy() { # NAME
	_hr=$(root_of "$1")
	"$_hr/bin/dockyardctl" status >/dev/null 2>&1 && api_ok "$_hr" || return 1
	[ "$1" = C ] && return 0
	if [ "$SOAK_DAEMONS" = standin ]; then
		[ "$(cat "$_hr/lib/docker/volumes/soakvol/_data/marker" 2>/dev/null)" = "made before round 1 on $1" ] &&
			[ -f "$_hr/lib/docker/containers/soak1/config.v2.json" ]
		return
	fi
	[ "$("$_hr/bin/docker" volume ls -q --filter name=soakvol)" = soakvol ] || return 1
	[ "$("$_hr/bin/docker" inspect --format '{{.State.Running}}' soak1 2>/dev/null)" = true ] || return 1
	[ "$("$_hr/bin/docker" exec soak1 cat /data/marker 2>/dev/null)" = "made before round 1 on $1" ]
}
wait_healthy() { # NAME SECONDS
	wait_until "$2" healthy "$1" ||
		fail "$1 is not healthy after $2 s: $("$(root_of "$1")/bin/dockyardctl" status 2>&1 | tail -n 8)"
}

# recover NAME: bring the instance back as its manager would.
recover() {
	_rr=$(root_of "$1")
	if [ "$1" = A ]; then
		sup_ensure || return 1
	elif ! "$_rr/bin/dockyardctl" status >/dev/null 2>&1; then
		"$_rr/bin/dockyardctl" -q stop && "$_rr/bin/dockyardctl" -q start || return 1
	fi
	wait_healthy "$1" 120
}

# ---- what each instance has on the host, with its own names generalised ----
objects() { # NAME: rules, bridges, mounts and processes of the instance
	_or=$(root_of "$1")
	_op=$(prefix_of "$1")
	_of=$(env_of "$_or" DOCKYARD_FIXED_CIDR 2>/dev/null)
	_ob=$(env_of "$_or" DOCKYARD_POOL_BASE 2>/dev/null)
	_oa=$(env_of "$_or" DOCKYARD_BRIDGE_CIDR 2>/dev/null)
	_oa=${_oa%/*}
	_oa=${_oa:-none-address}
	_of=${_of:-none-fixed}
	_ob=${_ob:-none-pool}
	{
		for t in filter nat mangle; do
			iptables -w -t "$t" -S 2>/dev/null | sed "s/^/rule $t /"
		done | grep -F -e "${_op}docker0" -e "$_of" -e "$_ob" -e "DOCKYARD-ISO-$_op"
		if ip link show "${_op}docker0" >/dev/null 2>&1; then
			echo "link ${_op}docker0"
			ip -o link show master "${_op}docker0" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print "port " $2 }'
		fi
		awk -v r="$_or" '$5 == r || index($5, r "/") == 1 { print "mount " $5 }' /proc/self/mountinfo
		for d in /proc/[0-9]*; do
			_cl=$({ tr '\000' ' ' <"$d/cmdline"; } 2>/dev/null) || continue
			# dockyardctl commands of the moment (anyone's: another tool may
			# ask for status) are not resident; the supervisor is.
			case $_cl in
			*"$_or/bin/dockyardctl -q run "*) echo "proc $_cl" ;;
			*"$_or/bin/dockyardctl "*) ;;
			*"$_or/"*) echo "proc $_cl" ;;
			esac
		done
	} | sed -e "s|$_or|ROOT|g" -e "s|$_op|PFX|g" -e "s|$_of|FIXED|g" -e "s|$_ob|POOL|g" -e "s|$_oa/|BRADDR/|g" \
		-e 's/[0-9a-f]\{7,64\}/ID/g' -e 's/ *$//' | sort
}

# leak_check NAME: the objects of NAME equal those first seen in the same
# state (running with isolation on or off, or destroyed: none at all).
leak_check() {
	_lstate=$2
	objects "$1" >"$ST/now.$1"
	if [ "$_lstate" = destroyed ]; then
		: >"$ST/want.$1.destroyed"
		if id "$(prefix_of "$1")docker" >/dev/null 2>&1; then
			echo "account $(prefix_of "$1")docker" >>"$ST/now.$1"
		fi
		[ ! -e "$(root_of "$1")" ] || echo "root $(root_of "$1")" >>"$ST/now.$1"
		[ ! -e "/etc/dockyard/instances/$(prefix_of "$1")" ] || echo "registry" >>"$ST/now.$1"
	elif [ ! -f "$ST/want.$1.$_lstate" ]; then
		cp "$ST/now.$1" "$ST/want.$1.$_lstate"
		echo "# baseline of $1 ($_lstate): $(wc -l <"$ST/now.$1") objects"
	fi
	if ! diff "$ST/want.$1.$_lstate" "$ST/now.$1" >"$ST/diff.$1"; then
		count leaks
		echo "LEAK in $1 ($_lstate):" >&2
		sed 's/^/  /' "$ST/diff.$1" >&2
		return 1
	fi
}

iso_of() { # NAME: on or off
	if [ -f "$(root_of "$1")/etc/isolation" ] && grep -q '^on' "$(root_of "$1")/etc/isolation"; then
		echo on
	else
		echo off
	fi
}

# check_all: every instance healthy and exactly its objects.
check_all() {
	_ca=0
	for _ck in A B; do
		wait_healthy "$_ck" 60 || { count unhealthy; _ca=1; }
		leak_check "$_ck" "iso-$(iso_of "$_ck")" || _ca=1
	done
	if [ -e "$C/etc/dockyard.env" ]; then
		wait_healthy C 60 || { count unhealthy; _ca=1; }
		leak_check C "iso-$(iso_of C)" || _ca=1
	else
		leak_check C destroyed || _ca=1
	fi
	return "$_ca"
}

# ---- setup ----
if [ "$SOAK_DAEMONS" = standin ]; then
	expect_success 'the installer of the stand-in daemons builds' '
		make_standin_sysbox_payload "$TRASH/p" cli && build_installer "$TRASH/p" "$INST"
	'
else
	expect_success 'the installer builds from the Debian packages plus the sysbox stand-ins' '
		e2e_manifest "$TRASH/m" &&
		"$BUILD" -q --manifest "$TRASH/m/e2e.manifest" --stub "$STUB" --cache "$TRASH/cache" \
			--out "$INST" --level 1 &&
		e2e_busybox_tar "$TRASH/busybox.tar"
	'
fi

# make_data NAME: a container with a volume holding a file, made before
# the first round.
make_data() {
	_mr=$(root_of "$1")
	if [ "$SOAK_DAEMONS" = standin ]; then
		mkdir -p "$_mr/lib/docker/volumes/soakvol/_data" "$_mr/lib/docker/containers/soak1" &&
			echo "made before round 1 on $1" >"$_mr/lib/docker/volumes/soakvol/_data/marker" &&
			echo '{"Name": "/soak1"}' >"$_mr/lib/docker/containers/soak1/config.v2.json"
		return
	fi
	E2E_DOCKER="$_mr/bin/docker" e2e_import_busybox "$TRASH/busybox.tar" &&
		"$_mr/bin/docker" volume create soakvol >/dev/null &&
		"$_mr/bin/docker" run -d --name soak1 --init --stop-timeout 5 --restart always -v soakvol:/data \
			busybox:latest sh -c "echo \"made before round 1 on $1\" >/data/marker && exec sleep 100000" >/dev/null
}

expect_success 'A (supervised) and B (started) install; a container with a volume on each' '
	"$INST" -q --root "$A" --prefix "$PA" --no-systemd &&
	"$INST" -q --root "$B" --prefix "$PB" --no-systemd &&
	make_data A && make_data B &&
	for who in A B; do
		wait_healthy "$who" 60 || return 1
	done &&
	"$A/bin/dockyardctl" -q stop && sup_start &&
	check_all
'

expect_success 'the first baseline of each instance holds its seven rules and its bridge' '
	for who in A B; do
		test "$(grep -c "^rule " "$ST/want.$who.iso-off")" = 7 &&
		grep -qx "link PFXdocker0" "$ST/want.$who.iso-off" || fail "baseline of $who: $(cat "$ST/want.$who.iso-off")" || return 1
	done
'

expect_success 'the leak check notices a rule, a mount and a process B should not have' '
	for leak in rule mount proc; do
		case $leak in
		rule) selftest_rule -A ;;
		mount) mkdir -p "$B/lib/selftest" && mount -t tmpfs selftest "$B/lib/selftest" ;;
		proc) { sh -c "sleep 300" "$B/selftest" & extra=$!; } ;;
		esac &&
		{ ! leak_check B iso-off 2>leak.err || fail "the leak check missed the $leak"; } &&
		case $leak in
		rule) selftest_rule -D ;;
		mount) umount "$B/lib/selftest" && rmdir "$B/lib/selftest" ;;
		proc) kill "$extra" && wait "$extra"; true ;;
		esac &&
		leak_check B iso-off || return 1
	done &&
	test "$(counted leaks)" = 3 && rm -f "$ST/leaks"
'

echo "# soak: seed $SOAK_SEED, $SOAK_ROUNDS rounds (SOAK_SEED=$SOAK_SEED replays them)"

# ---- rounds: every random choice is made here, in the parent shell ----
COMPS="dockerd containerd sysbox-fs sysbox-mgr supervisor"
i=1
while [ "$i" -le "$SOAK_ROUNDS" ]; do
	rand 2 && T=$(echo A B | cut -d " " -f $((R + 1)))
	rand 5 && COMP=$(echo "$COMPS" | cut -d " " -f $((R + 1)))
	[ "$T" = A ] || [ "$COMP" != supervisor ] || COMP=dockerd
	rand 2 && MOMENT=$(echo idle start | cut -d " " -f $((R + 1)))
	rand 26 && DELAY=$((R / 10)).$((R % 10))
	rand 2 && OT=$(echo A B | cut -d " " -f $((R + 1)))
	rand 6 && OP=$(echo none none cycle isolate cycle isolate | cut -d " " -f $((R + 1)))
	rand 4 && CTOGGLE=$R
	what="kill -9 $COMP of $T ($MOMENT, +$DELAY s)"
	[ "$OP" = none ] || what="$OP $OT; $what"
	[ "$CTOGGLE" != 0 ] || what="$what; $([ -e "$C/etc/dockyard.env" ] && echo destroy || echo install) C"
	expect_success "round $i: $what" '
		tr=$(root_of "$T") && orr=$(root_of "$OT") && sp="" &&
		case $OP in
		cycle)
			if [ "$OT" = A ]; then sup_stop && sup_start; else
				"$orr/bin/dockyardctl" -q stop && "$orr/bin/dockyardctl" -q start; fi &&
			wait_healthy "$OT" 120 ;;
		isolate)
			"$orr/bin/dockyardctl" -q isolate "$([ "$(iso_of "$OT")" = on ] && echo off || echo on)" ;;
		esac &&
		if [ "$MOMENT" = start ]; then
			if [ "$T" = A ]; then sup_stop && sup_start; else
				"$tr/bin/dockyardctl" -q stop &&
				{ "$tr/bin/dockyardctl" -q start >/dev/null 2>&1 & sp=$!; }; fi
		fi &&
		sleep "$DELAY" &&
		victim=$(live_pid "$tr" "$COMP" || :) &&
		if [ -n "$victim" ]; then
			kill -KILL "$victim" && count faults && echo "killed $COMP (pid $victim)"
		else
			count missed && echo "$COMP of $T was not running at that moment"
		fi &&
		{ [ -z "$sp" ] || wait "$sp" || :; } &&
		if recover "$T"; then
			[ -z "$victim" ] || count recoveries
		else
			count unrecovered; false
		fi &&
		if [ "$CTOGGLE" = 0 ]; then
			if [ -e "$C/etc/dockyard.env" ]; then
				"$C/bin/dockyardctl" -q destroy --yes
			else
				"$INST" -q --root "$C" --prefix "$PC" --no-systemd
			fi
		fi &&
		check_all
	'
	count rounds
	i=$((i + 1))
done

ROUNDS=$(counted rounds)
FAULTS=$(counted faults)
RECOV=$(counted recoveries)
UNREC=$(counted unrecovered)
LEAKS=$(counted leaks)
echo "# soak figures: seed $SOAK_SEED, rounds $ROUNDS, faults injected $FAULTS (missed $(counted missed): not running at that moment), recoveries $RECOV, unrecovered $UNREC, unhealthy checks $(counted unhealthy), leaks found $LEAKS"

expect_success "soak: $ROUNDS rounds, $FAULTS faults, $RECOV recoveries, 0 unrecovered, 0 leaks" '
	test "$UNREC" = 0 && test "$LEAKS" = 0 && test "$(counted unhealthy)" = 0 && test "$RECOV" = "$FAULTS"
'

expect_success 'destroying the instances leaves nothing of them' '
	sup_stop &&
	for who in A B C; do
		r=$(root_of "$who") &&
		if [ -x "$r/bin/dockyardctl" ]; then "$r/bin/dockyardctl" -q destroy --yes || return 1; fi &&
		leak_check "$who" destroyed || return 1
	done
'

test_done
