#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dockyardctl networking (scripts/20-net.sh) on made-up instances: the
# bridge, exactly the seven rules of net_rule_list and nothing else,
# idempotent up and down, two instances side by side, opt-in isolation in
# the mangle table, net_status.  Only bridges, rules and chains named after
# this run's prefixes are touched and compared, and the EXIT trap removes
# them all even when a test fails.  No traffic is sent.
# flavors: release
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

LC_ALL=C
export LC_ALL

require "bridges and iptables rules" ip iptables iptables-save

# Prefixes unique to this run (at most 8 characters).
N=$(($$ % 10000))
P1=dyt1$N
P2=dyt2$N
P3=dyt3$N
BR1=${P1}docker0
BR2=${P2}docker0
ISO1=DOCKYARD-ISO-$P1
ISO2=DOCKYARD-ISO-$P2
R1=$TRASH/i1
R2=$TRASH/i2
R3=$TRASH/i3
CTL=$TRASH/dockyardctl

# Networks: the first slot of 172.31.0.0/16 where neither the two bridge
# /24s nor the two pool /21s hold a host route.
SLOT=
for i in 0 1 2 3 4 5 6 7; do
	F=172.31.$((240 + 2 * i))
	Q=172.31.$((16 * i))
	if [ -z "$(ip -4 route show root "$F.0/23")" ] &&
		[ -z "$(ip -4 route show root "$Q.0/20")" ]; then
		SLOT=$i
		break
	fi
done
if [ -z "$SLOT" ]; then
	expect_success 'a free slot of test networks in 172.31.0.0/16' 'ip -4 route; false'
	test_done
	exit
fi
FIX1=172.31.$((240 + 2 * SLOT)).0/24
FIX2=172.31.$((241 + 2 * SLOT)).0/24
BRC1=172.31.$((240 + 2 * SLOT)).1/24
BRC2=172.31.$((241 + 2 * SLOT)).1/24
POOL1=172.31.$((16 * SLOT)).0/21
POOL2=172.31.$((16 * SLOT + 8)).0/21

# The host's kernel settings net_up may change; the trap puts them back.
FWD0=$(cat /proc/sys/net/ipv4/ip_forward)
NF0=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || true)

# iso_wanted ROOT: the isolation chain net_up wants for ROOT, as
# iptables -S prints it.
iso_wanted() {
	ctl "$1" eval 'net_vars && net_iso_config &&
		printf -- "-N %s\n" "$NET_ISO_CHAIN" && net_iso_chain_rules'
}

# dump: iptables-save of the filter, nat and mangle tables without
# comments and counters, keeping of their rules and chains only those that
# name this run's bridges, networks or chains: other tests on this host
# add and remove their own at any moment.
dump() {
	iptables-save | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//' |
		DY_OURS="$BR1 $BR2 ${P3}docker0 $FIX1 $FIX2 $POOL1 $POOL2 $ISO1 $ISO2 198.18.9. 198.18.64.0/21" awk '
		BEGIN { n = split(ENVIRON["DY_OURS"], w, " ") }
		/^\*/ { t = substr($0, 2); keep = (t == "filter" || t == "nat" || t == "mangle") }
		!keep { next }
		/^\*/ || /^COMMIT$/ || /^:[A-Z]+ (ACCEPT|DROP)$/ { print; next }
		{ for (i = 1; i <= n; i++) if (index($0, w[i])) { print; next } }'
}

# rules_of FILE: the rules of a dump in net_rules form, sorted.
rules_of() {
	awk '/^\*/ { t = substr($0, 2) } /^-A / { print "-t " t " " $0 }' "$1" | sort
}

# frame_of FILE [CHAIN]: everything of a dump but its rules (tables,
# chains, policies), leaving out the declaration of CHAIN.
frame_of() {
	if [ -n "${2:-}" ]; then
		grep -v -e '^-A ' -e "^:$2 " "$1"
	else
		grep -v '^-A ' "$1"
	fi
}

# added BEFORE AFTER [CHAIN]: the rules AFTER has and BEFORE has not,
# sorted; fails when AFTER lacks a rule of BEFORE or when anything but
# rules (and the declaration of CHAIN) differs.
added() {
	rules_of "$1" >"$1.r" && rules_of "$2" >"$2.r" &&
		frame_of "$1" "${3:-}" >"$1.f" && frame_of "$2" "${3:-}" >"$2.f" || return 1
	if ! diff "$1.f" "$2.f" >&2; then
		fail "tables or chains changed"
		return 1
	fi
	if [ -n "$(comm -23 "$1.r" "$2.r")" ]; then
		comm -23 "$1.r" "$2.r" >&2
		fail "rules disappeared"
		return 1
	fi
	comm -13 "$1.r" "$2.r"
}

# same A B: the same tables, chains and rules, in any order.
same() {
	added "$1" "$2" >"$2.new" || return 1
	[ ! -s "$2.new" ] || {
		cat "$2.new" >&2
		fail "rules were added"
	}
}

# mkinst ROOT PREFIX BRIDGE_CIDR FIXED_CIDR POOL_BASE
mkinst() {
	mkdir -p "$1/bin" "$1/etc" &&
	cp "$CTL" "$1/bin/dockyardctl" &&
	cat >"$1/etc/dockyard.env" <<-ENV
	# test instance
	DOCKYARD_ROOT=$1
	DOCKYARD_DOCKER_PREFIX=$2
	DOCKYARD_BRIDGE_CIDR=$3
	DOCKYARD_FIXED_CIDR=$4
	DOCKYARD_POOL_BASE=$5
	DOCKYARD_POOL_SIZE=24
	ENV
}

# Remove everything this run may have made, whatever state it is in.
cleanup_net() {
	for r in "$R1" "$R2"; do
		[ -f "$r/bin/dockyardctl" ] && ctl "$r" net_down >/dev/null 2>&1
	done
	for p in "$P1" "$P2" "$P3"; do
		ip link del dev "${p}docker0" >/dev/null 2>&1
		for c in FORWARD INPUT; do
			while iptables -w -t mangle -D "$c" -j "DOCKYARD-ISO-$p" >/dev/null 2>&1; do :; done
		done
		iptables -w -t mangle -F "DOCKYARD-ISO-$p" >/dev/null 2>&1
		iptables -w -t mangle -X "DOCKYARD-ISO-$p" >/dev/null 2>&1
	done
	# Any rule left naming this run's bridges or networks.
	for t in filter nat mangle; do
		iptables -w -t "$t" -S 2>/dev/null | grep '^-A ' |
			grep -F -e "$BR1" -e "$BR2" -e "$FIX1" -e "$FIX2" -e "$POOL1" -e "$POOL2" |
			while read -r a chain rest; do
				# shellcheck disable=SC2086 # the rule's words
				iptables -w -t "$t" -D "$chain" $rest >/dev/null 2>&1
			done
	done
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$FWD0" ] ||
		sysctl -q -w net.ipv4.ip_forward="$FWD0" >/dev/null 2>&1
	if [ -n "$NF0" ] && [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)" != "$NF0" ]; then
		sysctl -q -w net.bridge.bridge-nf-call-iptables="$NF0" >/dev/null 2>&1
	fi
	cleanup_trash
}
trap cleanup_net EXIT

# iptables-nft creates a table on first use and keeps it: make sure the
# three tables exist before the first snapshot, so a diff shows rules only.
for t in filter nat mangle; do
	iptables -w -t "$t" -N "DYT-PROBE-$N" && iptables -w -t "$t" -X "DYT-PROBE-$N"
done
dump >"$TRASH/before"

expect_success 'dockyardctl is concatenated and three test instances are set up' '
	"$DY_TOOLS/dy-concat" "$SRC_DIR/scripts" "$CTL" &&
	mkinst "$R1" "$P1" "$BRC1" "$FIX1" "$POOL1" &&
	mkinst "$R2" "$P2" "$BRC2" "$FIX2" "$POOL2" &&
	mkinst "$R3" "$P3" 198.18.9.77/24 198.18.9.0/24 198.18.64.0/21
'

expect_success 'net_rules prints the seven rules in iptables-save form' '
	ctl "$R1" net_rules >rules &&
	cat >want <<-EOF &&
	-t filter -A FORWARD -i $BR1 -o $BR1 -j ACCEPT
	-t filter -A FORWARD -i $BR1 ! -o $BR1 -j ACCEPT
	-t filter -A FORWARD -o $BR1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	-t nat -A POSTROUTING -s $FIX1 ! -o $BR1 -j MASQUERADE
	-t filter -A FORWARD -s $POOL1 -j ACCEPT
	-t filter -A FORWARD -d $POOL1 -j ACCEPT
	-t nat -A POSTROUTING -s $POOL1 -j MASQUERADE
	EOF
	diff want rules
'

expect_success 'a fixed CIDR or pool base with host bits set is refused, naming the network' '
	sed -i "s|^DOCKYARD_FIXED_CIDR=.*|DOCKYARD_FIXED_CIDR=198.18.9.5/24|" "$R3/etc/dockyard.env" &&
	must_fail ctl "$R3" net_rules 2>err && cat err &&
	grep -q "DOCKYARD_FIXED_CIDR 198.18.9.5/24 has host bits set: the network is 198.18.9.0/24" err &&
	sed -i -e "s|^DOCKYARD_FIXED_CIDR=.*|DOCKYARD_FIXED_CIDR=198.18.9.0/24|" \
		-e "s|^DOCKYARD_POOL_BASE=.*|DOCKYARD_POOL_BASE=198.18.70.9/21|" "$R3/etc/dockyard.env" &&
	must_fail ctl "$R3" net_rules 2>err && cat err &&
	grep -q "DOCKYARD_POOL_BASE 198.18.70.9/21 has host bits set: the network is 198.18.64.0/21" err &&
	sed -i "s|^DOCKYARD_POOL_BASE=.*|DOCKYARD_POOL_BASE=198.18.64.0/21|" "$R3/etc/dockyard.env" &&
	ctl "$R3" net_rules >rules &&
	grep -qx -- "-t nat -A POSTROUTING -s 198.18.9.0/24 ! -o ${P3}docker0 -j MASQUERADE" rules &&
	grep -qx -- "-t filter -A FORWARD -d 198.18.64.0/21 -j ACCEPT" rules
'

expect_success 'networks that do not fit are refused, naming the value and the rule' '
	sed -i "s|^DOCKYARD_BRIDGE_CIDR=.*|DOCKYARD_BRIDGE_CIDR=198.18.10.1/24|" "$R3/etc/dockyard.env" &&
	must_fail ctl "$R3" net_up 2>err && cat err &&
	grep -q "DOCKYARD_BRIDGE_CIDR .198.18.10.1/24.: the bridge address must lie inside DOCKYARD_FIXED_CIDR" err &&
	sed -i -e "s|^DOCKYARD_BRIDGE_CIDR=.*|DOCKYARD_BRIDGE_CIDR=198.18.9.1/24|" \
		-e "s|^DOCKYARD_POOL_BASE=.*|DOCKYARD_POOL_BASE=198.18.0.0/16|" "$R3/etc/dockyard.env" &&
	must_fail ctl "$R3" net_up 2>err && cat err &&
	grep -q "DOCKYARD_POOL_BASE .198.18.0.0/16. overlaps DOCKYARD_FIXED_CIDR" err &&
	sed -i "s|^DOCKYARD_POOL_BASE=.*|DOCKYARD_POOL_BASE=198.18.300.0/21|" "$R3/etc/dockyard.env" &&
	must_fail ctl "$R3" net_up 2>err && cat err &&
	grep -q "DOCKYARD_POOL_BASE .198.18.300.0/21.: .198.18.300.0. is not an IPv4 address" err &&
	sed -i "s|^DOCKYARD_POOL_BASE=.*|DOCKYARD_POOL_BASE=198.18.64.0/33|" "$R3/etc/dockyard.env" &&
	must_fail ctl "$R3" net_up 2>err && cat err &&
	grep -q "DOCKYARD_POOL_BASE .198.18.64.0/33.: the prefix length must be 0 to 32" err &&
	! ip link show dev "${P3}docker0" >/dev/null 2>&1 &&
	dump >now && diff "$TRASH/before" now
'

expect_success 'a device with the bridge name that is no bridge is refused' '
	sed -i -e "s|^DOCKYARD_BRIDGE_CIDR=.*|DOCKYARD_BRIDGE_CIDR=198.18.9.1/24|" \
		-e "s|^DOCKYARD_POOL_BASE=.*|DOCKYARD_POOL_BASE=198.18.64.0/21|" "$R3/etc/dockyard.env" &&
	ip link add name "${P3}docker0" type veth peer name "${P3}peer" &&
	must_fail ctl "$R3" net_up 2>err && cat err &&
	grep -q "${P3}docker0 exists but is not a bridge" err &&
	ip link del dev "${P3}docker0" &&
	dump >now && diff "$TRASH/before" now
'

expect_success 'net_status before net_up: missing bridge and rules, exit non-zero' '
	must_fail ctl "$R1" net_status >st && cat st &&
	grep -qx "bridge $BR1: missing" st &&
	test "$(grep -c "^rule .*: missing\$" st)" = 7 &&
	grep -qx "isolation: off" st
'

expect_success 'net_up creates the bridge with its address, up' '
	ctl "$R1" net_up &&
	ip -o addr show dev "$BR1" >addr && cat addr &&
	grep -q " inet $BRC1 " addr &&
	ip -o link show dev "$BR1" | grep -q "[<,]UP[,>]" &&
	test "$(cat /proc/sys/net/ipv4/ip_forward)" = 1
'

expect_success 'exactly the seven rules appear in iptables-save, nothing else changed' '
	dump >"$TRASH/up1" &&
	added "$TRASH/before" "$TRASH/up1" >new && cat new &&
	ctl "$R1" net_rules | sort >want && diff want new
'

expect_success 'a second net_up changes nothing' '
	ctl "$R1" net_up &&
	dump >now && diff "$TRASH/up1" now &&
	test "$(ip -o -4 addr show dev "$BR1" | wc -l)" = 1
'

expect_success 'net_status: everything present, exit 0' '
	ctl "$R1" net_status >st && cat st &&
	grep -qx "bridge $BR1: up" st &&
	grep -qx "bridge address $BRC1: present" st &&
	test "$(grep -c "^rule -t .*: present\$" st)" = 7 &&
	grep -qx "isolation: off" st
'

expect_success 'net_status names a rule deleted by hand and fails; net_up puts it back' '
	iptables -w -t filter -D FORWARD -d "$POOL1" -j ACCEPT &&
	must_fail ctl "$R1" net_status >st && cat st &&
	grep -qx "rule -t filter -A FORWARD -d $POOL1 -j ACCEPT: missing" st &&
	test "$(grep -c ": missing\$" st)" = 1 &&
	ctl "$R1" net_up && ctl "$R1" net_status >/dev/null
'

expect_success 'net_status fails while the bridge is down' '
	ip link set dev "$BR1" down &&
	must_fail ctl "$R1" net_status >st && grep -qx "bridge $BR1: down" st &&
	ctl "$R1" net_up && ctl "$R1" net_status >/dev/null
'

expect_success 'net_down removes exactly what net_up added, duplicates too, and the bridge' '
	iptables -w -t filter -I FORWARD -s "$POOL1" -j ACCEPT &&
	iptables -w -t nat -A POSTROUTING -s "$POOL1" -j MASQUERADE &&
	ctl "$R1" net_down &&
	dump >now && diff "$TRASH/before" now &&
	! ip link show dev "$BR1" >/dev/null 2>&1
'

expect_success 'a second net_down succeeds and changes nothing' '
	ctl "$R1" net_down &&
	dump >now && diff "$TRASH/before" now
'

expect_success 'two instances side by side: each adds its own seven rules' '
	ctl "$R1" net_up && dump >"$TRASH/up1" &&
	ctl "$R2" net_up && dump >"$TRASH/up12" &&
	added "$TRASH/up1" "$TRASH/up12" >new &&
	ctl "$R2" net_rules | sort >want && diff want new &&
	ip link show dev "$BR1" >/dev/null && ip link show dev "$BR2" >/dev/null
'

expect_success 'net_down of one leaves the other bridge and rules intact' '
	ctl "$R1" net_down &&
	dump >"$TRASH/up2" &&
	added "$TRASH/before" "$TRASH/up2" >new &&
	ctl "$R2" net_rules | sort >want && diff want new &&
	! ip link show dev "$BR1" >/dev/null 2>&1 &&
	ip -o addr show dev "$BR2" | grep -q " inet $BRC2 " &&
	ctl "$R2" net_status >/dev/null
'

expect_success 'isolation on: the chain, its jumps on top of mangle FORWARD and INPUT, allowed IPs' '
	echo on >"$R1/etc/isolation" &&
	mkdir -p "$R1/etc/isolation.d" &&
	printf "# the database host\n192.0.2.10\n\n  198.51.100.7   # a proxy\n" >"$R1/etc/isolation.d/a.rules" &&
	printf "192.0.2.10\n" >"$R1/etc/isolation.d/b.rules" &&
	printf "not an address\n" >"$R1/etc/isolation.d/ignored.txt" &&
	ctl "$R1" net_up && dump >"$TRASH/iso1" &&
	iptables -w -t mangle -S FORWARD | sed -n 2p | grep -qx -- "-A FORWARD -j $ISO1" &&
	iptables -w -t mangle -S INPUT | sed -n 2p | grep -qx -- "-A INPUT -j $ISO1" &&
	iptables -w -t mangle -S "$ISO1" >chain && cat chain &&
	cat >want <<-EOF &&
	-N $ISO1
	-A $ISO1 -i lo -j RETURN
	-A $ISO1 -i $BR1 -o $BR1 -j RETURN
	-A $ISO1 -d $POOL1 -i $BR1 -j RETURN
	-A $ISO1 -s $POOL1 -o $BR1 -j RETURN
	-A $ISO1 -s $POOL1 -d $POOL1 -j RETURN
	-A $ISO1 -d ${BRC1%/*}/32 -i $BR1 -j RETURN
	-A $ISO1 -s $POOL1 -d ${BRC1%/*}/32 -j RETURN
	-A $ISO1 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
	-A $ISO1 -s 192.0.2.10/32 -j RETURN
	-A $ISO1 -d 192.0.2.10/32 -j RETURN
	-A $ISO1 -s 198.51.100.7/32 -j RETURN
	-A $ISO1 -d 198.51.100.7/32 -j RETURN
	-A $ISO1 -o $BR1 -j DROP
	-A $ISO1 -d $POOL1 -j DROP
	-A $ISO1 -i $BR1 -m addrtype --dst-type LOCAL -j DROP
	-A $ISO1 -s $POOL1 -m addrtype --dst-type LOCAL -j DROP
	EOF
	diff want chain &&
	ctl "$R1" net_status >st && grep -qx "isolation: on" st
'

expect_success 'isolation adds only the chain and its jumps to the seven rules' '
	added "$TRASH/up2" "$TRASH/iso1" "$ISO1" >new &&
	{ ctl "$R1" net_rules &&
		printf -- "-t mangle -A FORWARD -j %s\n-t mangle -A INPUT -j %s\n" "$ISO1" "$ISO1" &&
		sed -n "s/^-A/-t mangle -A/p" chain; } | sort >want &&
	diff want new &&
	grep -qx ":$ISO1 -" "$TRASH/iso1"
'

expect_success 'a second net_up with isolation on changes nothing (the chain compares equal)' '
	iso_wanted "$R1" >want &&
	iptables -w -t mangle -S "$ISO1" >chain && diff want chain &&
	ctl "$R1" net_up && dump >now && diff "$TRASH/iso1" now
'

expect_success 'isolation does not depend on start order: a later instance stays below the jump' '
	ctl "$R2" net_down && ctl "$R2" net_up &&
	iptables -w -t mangle -S FORWARD | sed -n 2p | grep -qx -- "-A FORWARD -j $ISO1" &&
	echo on >"$R2/etc/isolation" && ctl "$R2" net_up &&
	iptables -w -t mangle -S FORWARD >fwd && cat fwd &&
	grep -qx -- "-A FORWARD -j $ISO1" fwd && grep -qx -- "-A FORWARD -j $ISO2" fwd &&
	test "$(grep -c -- "-j DROP" fwd)" = 0 &&
	rm "$R2/etc/isolation" && ctl "$R2" net_up &&
	! iptables -w -t mangle -n -L "$ISO2" >/dev/null 2>&1 &&
	dump >"$TRASH/iso1b" && same "$TRASH/iso1" "$TRASH/iso1b" &&
	mv "$TRASH/iso1b" "$TRASH/iso1"
'

expect_success 'an edited allow list replaces the chain rules' '
	printf "203.0.113.5\n" >"$R1/etc/isolation.d/b.rules" &&
	ctl "$R1" net_up &&
	iptables -w -t mangle -S "$ISO1" >chain &&
	grep -qx -- "-A $ISO1 -s 203.0.113.5/32 -j RETURN" chain &&
	grep -qx -- "-A $ISO1 -s 192.0.2.10/32 -j RETURN" chain &&
	test "$(grep -c -- "-j RETURN" chain)" = 14 &&
	printf "192.0.2.10\n" >"$R1/etc/isolation.d/b.rules" &&
	ctl "$R1" net_up && dump >now && diff "$TRASH/iso1" now
'

expect_success 'an invalid IP in a .rules file is refused with the file name, before any change' '
	for bad in 300.1.2.3 10.0.0 1.2.3.4/24 010.1.1.1 "1.2.3.4 5.6.7.8"; do
		printf "# fine\n192.0.2.99\n%s\n" "$bad" >"$R1/etc/isolation.d/bad.rules" &&
		must_fail ctl "$R1" net_up 2>err && cat err &&
		grep -qF "$R1/etc/isolation.d/bad.rules:3: '"'"'$bad'"'"' is not an IPv4 address" err &&
		dump >now && diff "$TRASH/iso1" now || exit 1
	done &&
	must_fail ctl "$R1" net_status >st && grep -q "^isolation: on (configuration: .*bad.rules:3" st &&
	rm "$R1/etc/isolation.d/bad.rules"
'

expect_success 'an isolation file saying neither on nor off is refused' '
	echo maybe >"$R1/etc/isolation" &&
	must_fail ctl "$R1" net_up 2>err && cat err &&
	grep -q "$R1/etc/isolation says .maybe.; it must say on or off" err &&
	printf "# isolate this instance\r\n on \r\n" >"$R1/etc/isolation" &&
	ctl "$R1" net_up && dump >now && diff "$TRASH/iso1" now
'

expect_success 'net_status fails when isolation is configured but not in effect' '
	iptables -w -t mangle -D INPUT -j "$ISO1" &&
	must_fail ctl "$R1" net_status >st && grep -qx "isolation: off (configured on)" st &&
	ctl "$R1" net_up && dump >now && diff "$TRASH/iso1" now
'

expect_success 'isolation off: net_up removes the chain and its jumps' '
	echo off >"$R1/etc/isolation" &&
	ctl "$R1" net_up &&
	! iptables -w -t mangle -n -L "$ISO1" >/dev/null 2>&1 &&
	dump >now && same "$TRASH/up12" now
'

expect_success 'isolate on|off persists the choice and applies it to a running instance' '
	chmod 755 "$R1/bin/dockyardctl" && "$R1/bin/dockyardctl" isolate on &&
	test "$(cat "$R1/etc/isolation")" = on &&
	iptables -w -t mangle -C FORWARD -j "$ISO1" &&
	"$R1/bin/dockyardctl" isolate off &&
	test "$(cat "$R1/etc/isolation")" = off &&
	! iptables -w -t mangle -n -L "$ISO1" >/dev/null 2>&1 &&
	must_fail "$R1/bin/dockyardctl" isolate maybe 2>err && grep -q "isolate takes on or off" err
'

expect_success 'net_down removes the chain, the rules and the bridges of both instances' '
	echo on >"$R1/etc/isolation" && ctl "$R1" net_up &&
	iptables -w -t mangle -n -L "$ISO1" >/dev/null &&
	ctl "$R1" net_down &&
	! iptables -w -t mangle -n -L "$ISO1" >/dev/null 2>&1 &&
	ctl "$R2" net_down &&
	dump >now && diff "$TRASH/before" now &&
	! ip link show dev "$BR1" >/dev/null 2>&1 &&
	! ip link show dev "$BR2" >/dev/null 2>&1 &&
	ctl "$R1" net_down && ctl "$R2" net_down
'

test_done
