#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# Ten instances at once, on real Docker (the installer of t0040: Debian's
# docker.io, containerd, runc and tini plus the sysbox stand-ins): ten
# installers run concurrently with generated prefixes and networks, which
# must all differ and must not overlap; a container runs on each; all ten
# are destroyed concurrently and nothing of any is left: roots, bridges,
# iptables rules, accounts, registry entries, mounts, processes.  Only
# this test's instances are looked at (other instances may run on the host).
# Needs `make debs` (build/debs/).
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../e2e/fixtures.sh
. "$SRC_DIR/tests/e2e/fixtures.sh"

BASE=$(cd "$TRASH" && pwd -P)
INST=$TRASH/dockyard-installer
COUNT=10
IDS=$(seq 1 "$COUNT")
DOCKYARD_STOP_TIMEOUT=20
DOCKYARD_START_TIMEOUT=240
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY DOCKYARD_CTL_ROOT

require "instances"

# The engines' shared host directories this test creates (lib.sh).
host_dirs_note

# prefix_of I: the prefix instance I got (kept once known, for cleanup).
prefix_of() {
	cat "$TRASH/prefix.$1" 2>/dev/null || sed -n 's/^DOCKYARD_DOCKER_PREFIX=//p' "$BASE/i$1/etc/dockyard.env" 2>/dev/null
}

many_cleanup() {
	for i in $IDS; do
		[ -x "$BASE/i$i/bin/dockyardctl" ] && "$BASE/i$i/bin/dockyardctl" -q destroy --yes >/dev/null 2>&1
	done
	kill_mentioning "$BASE/i"
	e2e_umount_under "$BASE"
	for i in $IDS; do
		prefix_objects_remove "$(prefix_of "$i")"
	done
	host_dirs_remove
	cleanup_trash
}
trap many_cleanup EXIT

# rules: the host's iptables rules.
rules() {
	for t in filter nat mangle; do
		iptables -w -t "$t" -S
	done 2>/dev/null
}

expect_success 'the installer builds from the Debian packages plus the sysbox stand-ins' '
	e2e_manifest "$TRASH/m" &&
	"$BUILD" -q --manifest "$TRASH/m/e2e.manifest" --stub "$STUB" --cache "$TRASH/cache" \
		--out "$INST" --level 1 &&
	e2e_busybox_tar "$TRASH/busybox.tar"
'

expect_success "$COUNT installers at once, each choosing its own prefix and networks" '
	for i in $IDS; do
		{ "$INST" -q --root "$BASE/i$i" --no-systemd --start-timeout 240 >"$TRASH/install.$i.log" 2>&1 &
			echo $! >"$TRASH/install.$i.pid"; } || return 1
	done &&
	bad="" &&
	for i in $IDS; do
		wait "$(cat "$TRASH/install.$i.pid")" || bad="$bad $i: $(cat "$TRASH/install.$i.log")
"
	done &&
	for i in $IDS; do
		prefix_of "$i" >"$TRASH/prefix.$i.t" && test -s "$TRASH/prefix.$i.t" &&
			mv "$TRASH/prefix.$i.t" "$TRASH/prefix.$i"
	done
	test -z "$bad" || fail "installs failed:$bad"
'

expect_success 'prefixes, bridges, fixed CIDRs and pools all differ and do not overlap' '
	for i in $IDS; do
		cat "$BASE/i$i/etc/dockyard.env" || return 1
	done >envs &&
	python3 - envs <<-EOF
	import ipaddress, sys
	keys = ("DOCKYARD_DOCKER_PREFIX", "DOCKYARD_BRIDGE_CIDR", "DOCKYARD_FIXED_CIDR", "DOCKYARD_POOL_BASE")
	insts, cur = [], None
	for line in open(sys.argv[1]):
	    k, _, v = line.strip().partition("=")
	    if k == "DOCKYARD_ROOT":
	        cur = {"root": v}
	        insts.append(cur)
	    elif k in keys:
	        cur[k] = v
	assert len(insts) == $COUNT, len(insts)
	prefixes = [i["DOCKYARD_DOCKER_PREFIX"] for i in insts]
	assert len(set(prefixes)) == len(prefixes), "prefixes repeat: %s" % prefixes
	nets = []
	for i in insts:
	    nets.append((i["root"], "fixed", ipaddress.ip_network(i["DOCKYARD_FIXED_CIDR"])))
	    nets.append((i["root"], "pool", ipaddress.ip_network(i["DOCKYARD_POOL_BASE"])))
	    bridge = ipaddress.ip_interface(i["DOCKYARD_BRIDGE_CIDR"])
	    assert bridge.ip in ipaddress.ip_network(i["DOCKYARD_FIXED_CIDR"]), i
	for a in range(len(nets)):
	    for b in range(a + 1, len(nets)):
	        if nets[a][0] != nets[b][0] and nets[a][2].overlaps(nets[b][2]):
	            sys.exit("overlap: %s %s %s and %s %s %s" % (nets[a] + nets[b]))
	print("%d instances: prefixes %s" % (len(insts), " ".join(prefixes)))
	EOF
'

expect_success 'each answers, runs a container on its own bridge, and sees only its own' '
	for i in $IDS; do
		d="$BASE/i$i/bin/docker" &&
		"$BASE/i$i/bin/dockyardctl" status >/dev/null &&
		E2E_DOCKER="$d" e2e_import_busybox "$TRASH/busybox.tar" &&
		"$d" run -d --name "c$i" busybox:latest sleep 600 >/dev/null || return 1
	done &&
	for i in $IDS; do
		d="$BASE/i$i/bin/docker" &&
		test "$("$d" ps --format "{{.Names}}")" = "c$i" &&
		ip=$("$d" inspect --format "{{.NetworkSettings.IPAddress}}" "c$i") &&
		fixed=$(sed -n "s/^DOCKYARD_FIXED_CIDR=//p" "$BASE/i$i/etc/dockyard.env") &&
		python3 -c "import ipaddress, sys; assert ipaddress.ip_address(sys.argv[1]) in ipaddress.ip_network(sys.argv[2]), sys.argv" "$ip" "$fixed" ||
			return 1
	done
'

expect_success "all $COUNT destroyed at once leave nothing of any" '
	for i in $IDS; do
		printf "%s\n" "$(prefix_of "$i")docker0" "DOCKYARD-ISO-$(prefix_of "$i")" \
			"$(sed -n "s/^DOCKYARD_FIXED_CIDR=//p" "$BASE/i$i/etc/dockyard.env")" \
			"$(sed -n "s/^DOCKYARD_POOL_BASE=//p" "$BASE/i$i/etc/dockyard.env")" || return 1
	done >own.patterns &&
	for i in $IDS; do
		{ "$BASE/i$i/bin/dockyardctl" -q destroy --yes >"$TRASH/destroy.$i.log" 2>&1 &
			echo $! >"$TRASH/destroy.$i.pid"; } || return 1
	done &&
	bad="" &&
	for i in $IDS; do
		wait "$(cat "$TRASH/destroy.$i.pid")" || bad="$bad $i: $(cat "$TRASH/destroy.$i.log")
"
	done &&
	{ test -z "$bad" || fail "destroys failed:$bad"; } &&
	rules >rules.after && { ! grep -F -f own.patterns rules.after || fail "rules left"; } &&
	for i in $IDS; do
		p=$(prefix_of "$i") &&
		! test -e "$BASE/i$i" &&
		! ip link show "${p}docker0" >/dev/null 2>&1 &&
		! grep -q "^${p}docker:" /etc/passwd /etc/group &&
		! test -e "/etc/dockyard/instances/$p" || fail "instance $i ($p) left something" || return 1
	done &&
	! grep -q "$BASE/i" /proc/self/mounts &&
	test -z "$(pids_mentioning "$BASE/i")"
'

test_done
