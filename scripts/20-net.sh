#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Networking: the instance's bridge, its seven forwarding and NAT rules
# (net_rule_list), and opt-in cross-instance isolation.
#
#   net_up      bridge with its address, up; ip_forward; br_netfilter;
#               the seven rules; isolation as configured.  Idempotent.
#   net_down    removes the same rules (duplicates too), the isolation
#               chain and its jumps, and the bridge.  Idempotent.
#   net_status  one line per item; 0 only when everything is in place.
#   net_rules   the seven rules as iptables-save shows them.
#
# Every rule names this instance's bridge or one of its own networks, and
# the isolation chain carries the prefix, so nothing here touches another
# instance.  The rules are read with one iptables-save and changed with
# one iptables-restore --noflush -w (one COMMIT per table): a rule counts
# as present when iptables-save prints exactly its line in its table, and
# only what is missing is inserted, only what is there is deleted (each
# copy of it).  -w: instances started at the same time wait for the
# xtables lock instead of failing.

# net_run CMD...: run CMD; on failure die with the command and its output.
net_run() {
	net_out=$("$@" 2>&1) || die "$* failed: ${net_out:-(no output)}"
}

# net_ip4_int A.B.C.D: the address as a number; fails on anything that
# is not four decimal octets (leading zeros are refused: some parsers read
# them as octal).
net_ip4_int() {
	net_rest=$1.
	net_n=0
	net_k=0
	while [ -n "$net_rest" ]; do
		net_o=${net_rest%%.*}
		net_rest=${net_rest#*.}
		case $net_o in
		'' | *[!0-9]* | 0?* | ????*) return 1 ;;
		esac
		[ "$net_o" -le 255 ] || return 1
		net_n=$((net_n * 256 + net_o))
		net_k=$((net_k + 1))
	done
	[ "$net_k" = 4 ] || return 1
	echo "$net_n"
}

# net_ip4_str N: the dotted form of address number N.
net_ip4_str() {
	echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# net_cidr KEY VALUE: parse VALUE (a.b.c.d/n) or die naming KEY.  Sets
# net_addr (address number), net_len, net_mask and net_net (the network
# as iptables prints it, e.g. 172.22.147.0/24).
net_cidr() {
	case $2 in
	*/*) ;;
	*) die "$1 '$2' needs a prefix length (a.b.c.d/n)" ;;
	esac
	net_len=${2#*/}
	case $net_len in
	'' | *[!0-9]* | 0?* | ???*) die "$1 '$2': the prefix length must be 0 to 32" ;;
	esac
	[ "$net_len" -le 32 ] || die "$1 '$2': the prefix length must be 0 to 32"
	net_addr=$(net_ip4_int "${2%/*}") ||
		die "$1 '$2': '${2%/*}' is not an IPv4 address (four decimal octets 0-255)"
	net_mask=$(((0xffffffff << (32 - net_len)) & 0xffffffff))
	net_net=$(net_ip4_str $((net_addr & net_mask)))/$net_len
}

# net_vars: the instance's networks in the form iptables prints them
# (NET_FIXED, NET_POOL, NET_BR_ADDR, NET_BR_CIDR), the isolation chain's
# name, and checks that the networks fit together.
net_vars() {
	net_cidr DOCKYARD_BRIDGE_CIDR "$DOCKYARD_BRIDGE_CIDR"
	NET_BR_ADDR=$(net_ip4_str "$net_addr")
	NET_BR_CIDR=$NET_BR_ADDR/$net_len
	net_br=$net_addr
	net_cidr DOCKYARD_FIXED_CIDR "$DOCKYARD_FIXED_CIDR"
	NET_FIXED=$net_net
	net_fixed=$net_addr net_fixed_len=$net_len net_fixed_mask=$net_mask
	[ $((net_br & net_fixed_mask)) = $((net_fixed & net_fixed_mask)) ] ||
		die "DOCKYARD_BRIDGE_CIDR '$DOCKYARD_BRIDGE_CIDR': the bridge address must lie inside DOCKYARD_FIXED_CIDR '$DOCKYARD_FIXED_CIDR'"
	net_cidr DOCKYARD_POOL_BASE "$DOCKYARD_POOL_BASE"
	NET_POOL=$net_net
	# Two networks overlap when they agree under the shorter prefix.
	if [ "$net_len" -lt "$net_fixed_len" ]; then
		net_m=$net_mask
	else
		net_m=$net_fixed_mask
	fi
	[ $((net_addr & net_m)) != $((net_fixed & net_m)) ] ||
		die "DOCKYARD_POOL_BASE '$DOCKYARD_POOL_BASE' overlaps DOCKYARD_FIXED_CIDR '$DOCKYARD_FIXED_CIDR'"
	NET_ISO_CHAIN=DOCKYARD-ISO-$PREFIX
}

# net_rule_list: the seven rules (three for the bridge's own traffic, NAT
# of the fixed CIDR, three for the pool's networks), one per line, in
# the form `-t TABLE -A CHAIN SPEC...` with the words iptables-save prints.
# They are inserted in this order with -I (so they end up reversed).
net_rule_list() {
	printf '%s\n' \
		"-t filter -A FORWARD -i $BRIDGE -o $BRIDGE -j ACCEPT" \
		"-t filter -A FORWARD -i $BRIDGE ! -o $BRIDGE -j ACCEPT" \
		"-t filter -A FORWARD -o $BRIDGE -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" \
		"-t nat -A POSTROUTING -s $NET_FIXED ! -o $BRIDGE -j MASQUERADE" \
		"-t filter -A FORWARD -s $NET_POOL -j ACCEPT" \
		"-t filter -A FORWARD -d $NET_POOL -j ACCEPT" \
		"-t nat -A POSTROUTING -s $NET_POOL -j MASQUERADE"
}

net_rules() {
	net_vars
	net_rule_list
}

# net_save: NET_SAVE is what iptables-save prints now (every table).
net_save() {
	NET_SAVE=$(iptables-save 2>&1) || die "iptables-save failed: ${NET_SAVE:-(no output)}"
}

# net_saved_count RULES: for each line of RULES (net_rule_list form), how
# often NET_SAVE holds exactly that rule in that table: "N RULE" lines.
net_saved_count() {
	printf '%s\n' "$NET_SAVE" | DY_RULES=$1 awk '
		BEGIN {
			n = split(ENVIRON["DY_RULES"], r, "\n")
			for (i = 1; i <= n; i++) if (r[i] != "") { want[r[i]] = 0; order[++k] = r[i] }
		}
		/^\*/ { t = substr($0, 2); next }
		/^-A / { l = "-t " t " " $0; if (l in want) want[l]++ }
		END { for (i = 1; i <= k; i++) print want[order[i]] " " order[i] }'
}

# net_plan PRE ADD DEL CHAIN: NET_BATCH is the input of one
# iptables-restore --noflush (one COMMIT per table, tables in the order
# they first appear) that, measured against NET_SAVE: runs the lines of
# PRE as they are (`-t TABLE COMMAND...`), inserts (-I, on top, in this
# order) each rule of ADD (net_rule_list form) that is missing, deletes
# every copy of each rule of DEL that is there, and flushes and deletes
# the mangle chain CHAIN when it exists.  Empty when nothing is to do.
# One awk: start runs this.
net_plan() {
	NET_BATCH=$(printf '%s\n' "$NET_SAVE" |
		DY_PRE=$1 DY_ADD=$2 DY_DEL=$3 DY_DROP=$4 awk '
		function want(s, kind, a, n, i) {
			n = split(s, a, "\n")
			for (i = 1; i <= n; i++)
				if (a[i] != "") { cnt[a[i]] = 0; order[++k] = kind " " a[i] }
		}
		function out(l, t) {
			t = l; sub(/^-t /, "", t); sub(/ .*/, "", t); sub(/^-t [a-z]+ /, "", l)
			if (!(t in seen)) { seen[t] = 1; tabs[++nt] = t }
			body[t] = body[t] l "\n"
		}
		BEGIN { want(ENVIRON["DY_ADD"], "add"); want(ENVIRON["DY_DEL"], "del") }
		/^\*/ { t = substr($0, 2); next }
		/^-A / { l = "-t " t " " $0; if (l in cnt) cnt[l]++; next }
		t == "mangle" && ENVIRON["DY_DROP"] != "" && $1 == ":" ENVIRON["DY_DROP"] { drop = 1 }
		END {
			n = split(ENVIRON["DY_PRE"], pre, "\n")
			for (i = 1; i <= n; i++) if (pre[i] != "") out(pre[i])
			for (i = 1; i <= k; i++) {
				kind = substr(order[i], 1, 3); r = substr(order[i], 5)
				if (kind == "add" && cnt[r] == 0) { l = r; sub(/ -A /, " -I ", l); out(l) }
				if (kind == "del") for (j = 0; j < cnt[r]; j++) { l = r; sub(/ -A /, " -D ", l); out(l) }
			}
			if (drop) { out("-t mangle -F " ENVIRON["DY_DROP"]); out("-t mangle -X " ENVIRON["DY_DROP"]) }
			for (i = 1; i <= nt; i++) printf "*%s\n%sCOMMIT\n", tabs[i], body[tabs[i]]
		}')
}

# net_apply: run NET_BATCH (net_plan) through iptables-restore --noflush
# -w; nothing to do is success.
net_apply() {
	[ -n "$NET_BATCH" ] || return 0
	net_out=$(printf '%s\n' "$NET_BATCH" | iptables-restore --noflush -w 2>&1) ||
		die "iptables-restore --noflush -w failed: ${net_out:-(no output)}; the batch was:
$NET_BATCH"
}

# net_ipt ACTION RULE: iptables -w for RULE (net_rule_list form) with -A
# replaced by ACTION (-A, -C, -I or -D).  Leaves the command line in
# net_cmd and its output in net_out; returns iptables' status.  Call it
# only where a failure is handled (if, while, ||).
net_ipt() {
	net_cmd="iptables -w ${2%% -A *} $1 ${2#* -A }"
	# A rule's words hold no blanks or glob characters: the names and
	# networks in them passed net_vars and load_env.
	set -f
	# shellcheck disable=SC2086
	net_out=$($net_cmd 2>&1)
	net_rc=$?
	set +f
	return "$net_rc"
}

# ---- cross-instance isolation (opt-in) ----
#
# $ETC/isolation holding `on` turns it on (`off`, empty or absent: off;
# `#` starts a comment).  $ETC/isolation.d/*.rules list allowed IPv4
# addresses, one a line; `#` starts a comment, blank lines are ignored.
#
# The chain DOCKYARD-ISO-<prefix> lives in the mangle table and is jumped
# to from position 1 of mangle FORWARD and mangle INPUT.  The kernel
# passes the mangle table before the filter table, so no instance's
# ACCEPT rules in filter FORWARD (inserted with -I, whoever starts last
# sits on top) can let traffic past it: it works whatever the start order.
# It never ACCEPTs, it only RETURNs or DROPs.  An ACCEPT would end the
# walk through mangle, skipping other instances' chains (one instance's
# allowed IP would open every instance) and the host's own mangle rules.
# With B = bridge, P = pool, A = bridge address, X = each allowed IP:
#
#   -i lo -j RETURN                 the host talking to itself
#   -i B -o B -j RETURN             within the instance: bridge <-> bridge,
#   -d P -i B -j RETURN               bridge -> pool,
#   -s P -o B -j RETURN               pool -> bridge,
#   -s P -d P -j RETURN               pool <-> pool (and pool gateways)
#   -d A/32 -i B -j RETURN          its containers may reach their own
#   -s P -d A/32 -j RETURN            bridge address
#   -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
#                                   replies to connections already allowed
#   -s X/32 -j RETURN               allowed IPs, both ways, ahead of the
#   -d X/32 -j RETURN                 drops
#   -o B -j DROP                    nothing else opens a connection into
#   -d P -j DROP                      the bridge or the pool (NEW; also
#                                     INVALID and UNTRACKED packets)
#   -i B -m addrtype --dst-type LOCAL -j DROP
#   -s P -m addrtype --dst-type LOCAL -j DROP
#                                   (INPUT) its containers reach no other
#                                   host address: other instances'
#                                   gateways, published ports, host services
#
# IPv4 only, as are the rules above.

# net_iso_config: read the isolation settings (dies on an invalid one, so
# net_up fails before it changes anything).  Sets NET_ISO (on|off) and
# NET_ISO_ALLOW (allowed addresses, one a line, without duplicates).
net_iso_config() {
	NET_ISO=off
	NET_ISO_ALLOW=
	net_f=$ETC/isolation
	if [ -e "$net_f" ]; then
		if [ ! -f "$net_f" ] || [ ! -r "$net_f" ]; then
			die "cannot read $net_f"
		fi
		net_v=$(sed -e 's/#.*//' "$net_f" | tr -d '[:space:]')
		case $net_v in
		on) NET_ISO=on ;;
		off | '') ;;
		*) die "$net_f says '$net_v'; it must say on or off" ;;
		esac
	fi
	[ "$NET_ISO" = on ] || return 0
	for net_f in "$ETC"/isolation.d/*.rules; do
		[ -e "$net_f" ] || continue
		if [ ! -f "$net_f" ] || [ ! -r "$net_f" ]; then
			die "cannot read $net_f"
		fi
		net_i=0
		while IFS= read -r net_line || [ -n "$net_line" ]; do
			net_i=$((net_i + 1))
			net_v=$(printf '%s\n' "$net_line" | sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
			[ -n "$net_v" ] || continue
			net_ip4_int "$net_v" >/dev/null ||
				die "$net_f:$net_i: '$net_v' is not an IPv4 address (one address a line, four decimal octets 0-255)"
			NET_ISO_ALLOW="$NET_ISO_ALLOW$net_v
"
		done <"$net_f"
	done
	NET_ISO_ALLOW=$(printf '%s' "$NET_ISO_ALLOW" | awk '!seen[$0]++')
}

# net_iso_jumps: the two jumps into the chain, in net_rule_list form.
net_iso_jumps() {
	printf '%s\n' "-t mangle -A FORWARD -j $NET_ISO_CHAIN" "-t mangle -A INPUT -j $NET_ISO_CHAIN"
}

# net_iso_chain_rules: the chain's rules (see above) exactly as iptables -S
# prints them (options in its order: -s -d -i -o), so that an unchanged
# chain compares equal and is left alone.
net_iso_chain_rules() {
	net_c=$NET_ISO_CHAIN
	cat <<CHAIN
-A $net_c -i lo -j RETURN
-A $net_c -i $BRIDGE -o $BRIDGE -j RETURN
-A $net_c -d $NET_POOL -i $BRIDGE -j RETURN
-A $net_c -s $NET_POOL -o $BRIDGE -j RETURN
-A $net_c -s $NET_POOL -d $NET_POOL -j RETURN
-A $net_c -d $NET_BR_ADDR/32 -i $BRIDGE -j RETURN
-A $net_c -s $NET_POOL -d $NET_BR_ADDR/32 -j RETURN
-A $net_c -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
CHAIN
	for net_x in $NET_ISO_ALLOW; do
		printf -- '-A %s -s %s/32 -j RETURN\n' "$net_c" "$net_x"
		printf -- '-A %s -d %s/32 -j RETURN\n' "$net_c" "$net_x"
	done
	cat <<CHAIN
-A $net_c -o $BRIDGE -j DROP
-A $net_c -d $NET_POOL -j DROP
-A $net_c -i $BRIDGE -m addrtype --dst-type LOCAL -j DROP
-A $net_c -s $NET_POOL -m addrtype --dst-type LOCAL -j DROP
CHAIN
}

# net_iso_chain_saved: NET_SAVE has the chain (its declaration in mangle).
net_iso_chain_saved() {
	printf '%s\n' "$NET_SAVE" | awk -v c=":$NET_ISO_CHAIN" '
		/^\*/ { t = substr($0, 2) } t == "mangle" && $1 == c { f = 1 } END { exit !f }'
}

# net_iso_chain_now: the chain's rules as NET_SAVE holds them.
net_iso_chain_now() {
	printf '%s\n' "$NET_SAVE" | awk -v c="$NET_ISO_CHAIN" '
		/^\*/ { t = substr($0, 2) } t == "mangle" && $1 == "-A" && $2 == c'
}

# net_iso_pre: the PRE lines of net_plan for the chain holding exactly the
# wanted rules: none for an unchanged chain; else its declaration (which
# in iptables-restore --noflush creates it, or flushes it when it exists)
# and its rules.
net_iso_pre() {
	net_want=$(net_iso_chain_rules)
	if ! net_iso_chain_saved || [ "$(net_iso_chain_now)" != "$net_want" ]; then
		printf -- '-t mangle :%s - [0:0]\n' "$NET_ISO_CHAIN"
		printf '%s\n' "$net_want" | sed 's/^/-t mangle /'
	fi
}

# net_iso_state: on when NET_SAVE has the chain and both jumps, else off.
net_iso_state() {
	if net_iso_chain_saved && ! net_saved_count "$(net_iso_jumps)" | grep -q '^0 '; then
		echo on
	else
		echo off
	fi
}

# net_plan_iso RULES_ADD RULES_DEL: net_plan with isolation as configured:
# on, the chain (when changed) and its jumps; off, neither.
net_plan_iso() {
	if [ "$NET_ISO" = on ]; then
		net_plan "$(net_iso_pre)" "$1${1:+
}$(net_iso_jumps)" "$2" ""
	else
		net_plan "" "$1" "$2${2:+
}$(net_iso_jumps)" "$NET_ISO_CHAIN"
	fi
}

# net_iso_on, net_iso_off: isolation as configured, now (isolate).
net_iso_on() {
	net_save
	net_plan_iso "" ""
	net_apply
}

net_iso_off() {
	NET_ISO=off
	net_save
	net_plan_iso "" ""
	net_apply
}

# ---- bridge and kernel settings ----

net_bridge_exists() {
	ip link show dev "$BRIDGE" >/dev/null 2>&1
}

# net_bridge_up: the bridge, with its address, up.  A new bridge takes
# two ip calls (one look, one batch); an existing one is checked first.
net_bridge_up() {
	if ! net_out=$(ip -d -o link show dev "$BRIDGE" 2>&1); then
		net_ip_batch "link add name $BRIDGE type bridge" \
			"addr add $NET_BR_CIDR dev $BRIDGE" "link set dev $BRIDGE up"
		return
	fi
	case $net_out in
	*" bridge "*) ;;
	*) die "$BRIDGE exists but is not a bridge" ;;
	esac
	if net_bridge_has_addr; then
		net_ip_batch "link set dev $BRIDGE up"
	else
		net_ip_batch "addr add $NET_BR_CIDR dev $BRIDGE" "link set dev $BRIDGE up"
	fi
}

# net_ip_batch COMMAND...: one `ip -batch -` of the ip COMMANDs (their
# words are names and networks net_vars checked); dies with its output.
net_ip_batch() {
	net_out=$(printf '%s\n' "$@" | ip -batch - 2>&1) ||
		die "ip -batch failed ($(printf '%s; ' "$@")): ${net_out:-(no output)}"
}

# net_bridge_has_addr: the bridge carries the bridge address.
net_bridge_has_addr() {
	net_a=$(ip -o -4 addr show dev "$BRIDGE" 2>/dev/null) || return 1
	# Lines "N: DEV inet A.B.C.D/L ...": the fourth word.
	while read -r _ _ _ net_w _; do
		[ "$net_w" != "$NET_BR_CIDR" ] || return 0
	done <<ADDRS
$net_a
ADDRS
	return 1
}

# net_sysctl KEY VALUE: set KEY unless it already has VALUE.
net_sysctl() {
	# The path and the value without a fork: this runs on every start.
	net_p=/proc/sys
	net_k=$1.
	while [ -n "$net_k" ]; do
		net_p=$net_p/${net_k%%.*}
		net_k=${net_k#*.}
	done
	# A sysctl file ends at the first byte-wise read past its value, so
	# dash's read fails even though it has read the value: the value is
	# what counts.
	net_v=
	{ read -r net_v <"$net_p" || :; } 2>/dev/null
	[ "$net_v" = "$2" ] && return 0
	net_run sysctl -w "$1=$2"
}

net_kernel() {
	net_sysctl net.ipv4.ip_forward 1
	net_nf=/proc/sys/net/bridge/bridge-nf-call-iptables
	if [ ! -e "$net_nf" ] && command -v modprobe >/dev/null 2>&1 &&
		modprobe -n -q br_netfilter >/dev/null 2>&1; then
		net_run modprobe br_netfilter
	fi
	if [ -e "$net_nf" ]; then
		net_sysctl net.bridge.bridge-nf-call-iptables 1
	fi
}

# ---- the entry points ----

net_up() {
	net_vars
	net_iso_config
	net_bridge_up
	net_kernel
	net_save
	net_plan_iso "$(net_rule_list)" ""
	net_apply
	say "network up: bridge $BRIDGE $NET_BR_CIDR, containers $NET_FIXED, pool $NET_POOL, isolation $NET_ISO"
}

net_down() {
	net_vars
	net_save
	NET_ISO=off
	net_plan_iso "" "$(net_rule_list)"
	net_apply
	if net_bridge_exists; then
		net_run ip link del dev "$BRIDGE"
	fi
	# Judge by the exit status, never by the message: messages change.
	! net_bridge_exists || die "bridge $BRIDGE is still there after ip link del"
	say "network down: bridge $BRIDGE and its rules removed"
}

net_status() {
	net_vars
	net_bad=0
	if ! net_bridge_exists; then
		echo "bridge $BRIDGE: missing"
		net_bad=1
	else
		net_flags=$(ip -o link show dev "$BRIDGE" 2>/dev/null | awk '{ print $3 }')
		case $net_flags in
		*[\<,]UP[,\>]*) echo "bridge $BRIDGE: up" ;;
		*)
			echo "bridge $BRIDGE: down"
			net_bad=1
			;;
		esac
	fi
	if net_bridge_has_addr; then
		echo "bridge address $NET_BR_CIDR: present"
	else
		echo "bridge address $NET_BR_CIDR: missing"
		net_bad=1
	fi
	net_save
	while read -r net_n net_line; do
		if [ "$net_n" != 0 ]; then
			echo "rule $net_line: present"
		else
			echo "rule $net_line: missing"
			net_bad=1
		fi
	done <<RULES
$(net_saved_count "$(net_rule_list)")
RULES
	net_state=$(net_iso_state)
	if ! net_want=$( (net_iso_config && echo "$NET_ISO") 2>&1); then
		echo "isolation: $net_state (configuration: $net_want)"
		net_bad=1
	elif [ "$net_want" = on ] && [ "$net_state" = off ]; then
		echo "isolation: off (configured on)"
		net_bad=1
	else
		echo "isolation: $net_state"
	fi
	return "$net_bad"
}

# cmd_net_up, cmd_net_down: the network steps alone (the systemd unit's
# ExecStartPre runs net-up; ExecStopPost runs stop, which ends in net_down).
cmd_net_up() {
	[ $# -eq 0 ] || dy_usage_error "net-up takes no arguments"
	net_up
}

cmd_net_down() {
	[ $# -eq 0 ] || dy_usage_error "net-down takes no arguments"
	net_down
}
