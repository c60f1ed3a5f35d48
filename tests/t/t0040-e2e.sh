#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# End to end on real Docker: an installer built from Debian's docker.io,
# containerd, runc and tini plus the sysbox stand-ins (tests/standins/,
# never shipped) sets up two instances without systemd; containers run on
# each and never see the other's; each instance has exactly its own
# iptables rules; the sysbox-runc stand-in saw its own instance's run dir
# for every container; faults are named by status; destroying one leaves
# the other running; after both are destroyed nothing is left.
# Needs `make debs` (build/debs/).
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../e2e/fixtures.sh
. "$SRC_DIR/tests/e2e/fixtures.sh"

A=$(cd "$TRASH" && pwd -P)/a
B=$(cd "$TRASH" && pwd -P)/n1/n2/n3/b # nested several directories deep
PA=ea$(($$ % 100000))
PB=eb$(($$ % 100000))
INST=$TRASH/dockyard-installer
DOCKYARD_STOP_TIMEOUT=20
export DOCKYARD_STOP_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY
RESULTS=""

# The engines' shared host directories this test creates (lib.sh).
host_dirs_note

# rules: the host's iptables rules, without counters.
rules() {
	for t in filter nat mangle; do
		iptables -w -t "$t" -S
	done 2>/dev/null
}
rules >"$TRASH/rules.before"

# own_rules FILE: the rules in FILE that name this test's instances (their
# bridges, networks or isolation chains); other tests on the host add and
# remove their own rules meanwhile.  The networks are recorded once the
# instances are installed.
own_rules() {
	grep -F -f "$TRASH/own.patterns" "$1" || :
}

e2e_cleanup() {
	for r in "$A" "$B"; do
		[ -x "$r/bin/dockyardctl" ] && "$r/bin/dockyardctl" -q destroy --yes >/dev/null 2>&1
	done
	kill_mentioning "$TRASH"
	e2e_umount_under "$TRASH"
	prefix_objects_remove "$PA" "$PB"
	host_dirs_remove
	cleanup_trash
}
trap e2e_cleanup EXIT

# check TITLE BODY: expect_success, and a line for the summary table.
check() {
	_before=$test_failed
	expect_success "$1" "$2"
	if [ "$test_failed" = "$_before" ]; then
		RESULTS="$RESULTS
  PASS  $1"
	else
		RESULTS="$RESULTS
  FAIL  $1"
	fi
}

da() { "$A/bin/docker" "$@"; }
db() { "$B/bin/docker" "$@"; }
env_of() { sed -n "s/^$2=//p" "$1/etc/dockyard.env"; }
ip_of() { "$1/bin/docker" inspect --format '{{.NetworkSettings.IPAddress}}' "$2"; }
pid_of() { cat "$1/run/$2.pid"; }

# status_names ROOT COMPONENT: status fails (within 10 s) naming COMPONENT.
status_names() {
	rc=0
	timeout 10 "$1/bin/dockyardctl" status >/dev/null 2>"$TRASH/status.err" || rc=$?
	[ "$rc" = 1 ] || fail "status exited $rc, not 1" || return 1
	grep -q "unhealthy: $2" "$TRASH/status.err" || fail "status did not name $2: $(cat "$TRASH/status.err")"
}

check 'the installer builds from the Debian packages plus the sysbox stand-ins' '
	e2e_manifest "$TRASH/m" &&
	"$BUILD" -q --manifest "$TRASH/m/e2e.manifest" --stub "$STUB" --cache "$TRASH/cache" \
		--out "$INST" --level 1 &&
	"$INST" --version | grep -q "sysbox-standin" &&
	e2e_busybox_tar "$TRASH/busybox.tar" && e2e_dind_tar "$TRASH/dind.tar"
'

check 'two instances install without systemd, with generated networks' '
	"$INST" -q --root "$A" --prefix "$PA" --no-systemd &&
	"$INST" -q --root "$B" --prefix "$PB" --no-systemd &&
	"$A/bin/dockyardctl" status >/dev/null && "$B/bin/dockyardctl" status >/dev/null &&
	for r in "$A:$PA" "$B:$PB"; do
		printf "%s\n" "${r#*:}docker0" "DOCKYARD-ISO-${r#*:}" \
			"$(env_of "${r%%:*}" DOCKYARD_FIXED_CIDR)" "$(env_of "${r%%:*}" DOCKYARD_POOL_BASE)" || return 1
	done >"$TRASH/own.patterns"
'

check 'both APIs answer through their bin/docker wrappers' '
	da version --format "{{.Server.Version}}" | grep -q "^20.10" &&
	db version --format "{{.Server.Version}}" | grep -q "^20.10" &&
	test "$(da info --format "{{.DefaultRuntime}}")" = sysbox-runc
'

check 'the socket is root:PREFIXdocker 0660' '
	test "$(stat -c "%U:%G %a" "$A/run/docker.sock")" = "root:${PA}docker 660" &&
	test "$(stat -c "%U:%G %a" "$B/run/docker.sock")" = "root:${PB}docker 660"
'

check 'a busybox image imported on each instance runs containers' '
	E2E_DOCKER="$A/bin/docker" e2e_import_busybox "$TRASH/busybox.tar" &&
	E2E_DOCKER="$B/bin/docker" e2e_import_busybox "$TRASH/busybox.tar" &&
	E2E_DOCKER="$A/bin/docker" e2e_import_dind "$TRASH/dind.tar" &&
	test "$(da run --rm busybox:latest echo hi)" = hi &&
	da run -d --name a1 busybox:latest sleep 600 >/dev/null &&
	da run -d --name a2 busybox:latest sleep 600 >/dev/null &&
	db run -d --name b1 busybox:latest sleep 600 >/dev/null
'

check 'each instance lists only its own containers' '
	da ps --format "{{.Names}}" | sort | tr "\n" " " | grep -qx "a1 a2 " &&
	db ps --format "{{.Names}}" | tr "\n" " " | grep -qx "b1 "
'

check 'iptables holds exactly the seven rules of each instance, none before' '
	rules >rules.all && own_rules rules.all >rules.now && own_rules "$TRASH/rules.before" >own.before &&
	for p in "$A:$PA" "$B:$PB"; do
		r=${p%%:*} && x=${p#*:} &&
		fixed=$(env_of "$r" DOCKYARD_FIXED_CIDR) && pool=$(env_of "$r" DOCKYARD_POOL_BASE) &&
		printf "%s\n" \
			"-A FORWARD -o ${x}docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" \
			"-A FORWARD -i ${x}docker0 ! -o ${x}docker0 -j ACCEPT" \
			"-A FORWARD -i ${x}docker0 -o ${x}docker0 -j ACCEPT" \
			"-A POSTROUTING -s $fixed ! -o ${x}docker0 -j MASQUERADE" \
			"-A FORWARD -s $pool -j ACCEPT" "-A FORWARD -d $pool -j ACCEPT" \
			"-A POSTROUTING -s $pool -j MASQUERADE" || return 1
	done | sort >want &&
	test "$(wc -l <want)" = 14 &&
	test ! -s own.before &&
	sort rules.now >added &&
	diff want added
'

check 'the sysbox-runc stand-in saw its own instance'\''s live run dir for every container' '
	log="$A/log/sysbox-runc-standin.log" &&
	grep -q "^sub=create run-dir=$A/run/sysbox dead=-\$" "$log" &&
	! grep -v "run-dir=$A/run/sysbox dead=-\$" "$log" &&
	grep -q "^sub=create run-dir=$B/run/sysbox dead=-\$" "$B/log/sysbox-runc-standin.log"
'

check 'containers on one bridge reach each other' '
	da exec a2 ping -c 1 -W 3 "$(ip_of "$A" a1)" >/dev/null
'

check 'cross-instance ping works by default and fails after isolate on' '
	da exec a1 ping -c 1 -W 3 "$(ip_of "$B" b1)" >/dev/null &&
	"$B/bin/dockyardctl" -q isolate on &&
	! da exec a1 ping -c 1 -W 2 "$(ip_of "$B" b1)" >/dev/null &&
	"$B/bin/dockyardctl" -q isolate off &&
	da exec a1 ping -c 1 -W 3 "$(ip_of "$B" b1)" >/dev/null
'

check 'docker network create takes its subnet from the instance'\''s pool' '
	da network create netx >/dev/null &&
	subnet=$(da network inspect --format "{{range .IPAM.Config}}{{.Subnet}}{{end}}" netx) &&
	python3 -c "
import ipaddress, sys
assert ipaddress.ip_network(sys.argv[1]).subnet_of(ipaddress.ip_network(sys.argv[2])), sys.argv
" "$subnet" "$(env_of "$A" DOCKYARD_POOL_BASE)"
'

check 'dockyardctl verify passes, saying plainly when DinD runs elevated' '
	"$A/bin/dockyardctl" verify --image busybox:latest --dind-image dockyard-dind:test >verify.out 2>&1 ||
		{ cat verify.out; false; } &&
	grep -q "elevated" verify.out && grep -q "0 failed" verify.out
'

check 'a killed dockerd is named by status within seconds; the other instance stays healthy' '
	kill -KILL "$(pid_of "$A" dockerd)" &&
	status_names "$A" dockerd &&
	"$B/bin/dockyardctl" status >/dev/null
'

check 'a stop/start cycle keeps images and containers' '
	"$A/bin/dockyardctl" -q stop && "$A/bin/dockyardctl" -q start &&
	"$A/bin/dockyardctl" status >/dev/null &&
	da image inspect busybox:latest >/dev/null &&
	da ps -a --format "{{.Names}}" | grep -qx a1 &&
	da start a1 a2 >/dev/null
'

check 'a killed sysbox-fs is named by status' '
	kill -KILL "$(pid_of "$A" sysbox-fs)" &&
	status_names "$A" sysbox-fs &&
	"$A/bin/dockyardctl" -q stop
'

check 'a start while a foreign process holds the sysbox socket fails loudly' '
	mkdir -p "$A/run/sysbox" &&
	{ python3 -c "import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); time.sleep(60)" \
		"$A/run/sysbox/sysfs.sock" & holder=$!; } &&
	wait_until 10 test -S "$A/run/sysbox/sysfs.sock" &&
	{ rc=0; "$A/bin/dockyardctl" start 2>err || rc=$?; } &&
	kill "$holder" && wait "$holder";
	test "$rc" = 1 && grep -q "held by" err &&
	{ rc=0; "$A/bin/dockyardctl" status >/dev/null 2>&1 || rc=$?; } && test "$rc" = 1 &&
	"$A/bin/dockyardctl" -q start && da start a1 >/dev/null
'

check 'destroying one instance under load leaves the other running' '
	da ps --format "{{.Names}}" | grep -qx a1 &&
	"$INST" -q uninstall --root "$A" --yes &&
	! test -e "$A" &&
	db ps --format "{{.Names}}" | grep -qx b1 &&
	"$B/bin/dockyardctl" status >/dev/null
'

check 'a second destroy succeeds' '
	"$INST" -q uninstall --root "$A" --yes
'

check 'after destroying both nothing is left' '
	"$INST" -q uninstall --root "$B" --yes &&
	! test -e "$A" && ! test -e "$B" &&
	! ip link show "${PA}docker0" >/dev/null 2>&1 &&
	! ip link show "${PB}docker0" >/dev/null 2>&1 &&
	rules >rules.all && own_rules rules.all >rules.after && test ! -s rules.after &&
	! grep -q "^${PA}docker:\|^${PB}docker:" /etc/passwd /etc/group &&
	! test -e "/etc/systemd/system/${PA}docker.service" &&
	! test -e "/etc/dockyard/instances/$PA" && ! test -e "/etc/dockyard/instances/$PB" &&
	! grep -q "$TRASH/[anr]" /proc/self/mounts &&
	test -z "$(pids_mentioning "$TRASH/a/")$(pids_mentioning "$TRASH/n1/")"
'

printf '# end-to-end summary:%s\n' "$RESULTS" | sed 's/^  /#   /'
test_done
