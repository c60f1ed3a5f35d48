#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# What dockyardctl start does quickly must stay what it did:
# - the bridge's rules, now read with one iptables-save and written with
#   one iptables-restore --noflush batch, end up exactly where one
#   `iptables -C || iptables -I` per rule put them (and net_down removes
#   exactly what one `iptables -D` per copy removed): one instance, two in
#   either order, with other chains jumped to before or after, a second
#   net_up, a rule deleted by hand, duplicates;
# - dockyard.env is read by a parser that executes nothing in it;
# - a daemon that dies at once is named, with its log, and start undoes
#   itself, also now that containerd and dockerd start together.
# Only rules, chains and bridges named after this run's prefixes and
# networks are made, compared and removed; the EXIT trap removes them.
# flavors: release
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

LC_ALL=C
export LC_ALL

require "bridges and iptables rules" ip iptables iptables-save iptables-restore curl

N=$(($$ % 10000))
PA=dyb1$N
PB=dyb2$N
PC=dyb3$N
UF=DYB-USER-$N
UN=DYB-NAT-$N
RA=$(cd "$TRASH" && pwd -P)/a
RB=$(cd "$TRASH" && pwd -P)/b
RC=$(cd "$TRASH" && pwd -P)/c
DOCKYARD_STOP_TIMEOUT=2
DOCKYARD_START_TIMEOUT=10
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY

# pick FORMAT FIRST STEP COUNT TAKEN: pick_free, skipping the numbers in
# TAKEN (networks picked for an instance not made yet).
pick() {
	_pk_i=0
	while [ "$_pk_i" -lt "$4" ]; do
		_pk_n=$(($2 + $3 * (($$ + _pk_i) % $4)))
		_pk_i=$((_pk_i + 1))
		case " $5 " in *" $_pk_n "*) continue ;; esac
		# shellcheck disable=SC2059 # the format is a network pattern
		_pk_net=$(printf "$1" "$_pk_n")
		if cidr_is_free "$_pk_net" && ! in_iptables "$_pk_net"; then
			echo "$_pk_n"
			return 0
		fi
	done
	return 1
}

NA=$(pick "172.31.%d.0/24" 200 1 40 "") || NA=""
NB=$(pick "172.31.%d.0/24" 200 1 40 "$NA") || NB=""
NC=$(pick "172.31.%d.0/24" 200 1 40 "$NA $NB") || NC=""
QA=$(pick "172.31.%d.0/22" 128 4 18 "") || QA=""
QB=$(pick "172.31.%d.0/22" 128 4 18 "$QA") || QB=""
QC=$(pick "172.31.%d.0/22" 128 4 18 "$QA $QB") || QC=""

# The words that name this run's rules and chains, one a line.
OURS=$TRASH/.ours
printf '%s\n' "${PA}docker0" "${PB}docker0" "${PC}docker0" "$UF" "$UN" \
	"172.31.$NA.0/24" "172.31.$NB.0/24" "172.31.$NC.0/24" \
	"172.31.$QA.0/22" "172.31.$QB.0/22" "172.31.$QC.0/22" >"$OURS"

# dump: this run's rules as iptables-save prints them, in its order, each
# after its table: "*TABLE -A CHAIN ...".  Rules of other tests running at
# the same time are left out.
dump() {
	iptables-save | awk '/^\*/ { t = $0 } /^-A / { print t " " $0 }' |
		grep -F -f "$OURS" || :
}

# ipt_each_rule "-t TABLE" ACTION RULE: one iptables call, ACTION (-C,
# -I, -A, -D) of RULE (net_rules form).
ipt_each_rule() {
	set -f
	# shellcheck disable=SC2086 # the words of a rule
	iptables -w $1 "$2" ${3#* -A }
	_ie=$?
	set +f
	return "$_ie"
}

# old_up ROOT, old_down ROOT: what net_up and net_down did to the rules
# before the batch: `iptables -C || iptables -I` per rule, and `iptables
# -D` for as long as `iptables -C` finds the rule.
old_up() {
	ctl "$1" net_rules | while read -r _ou; do
		ipt_each_rule "${_ou%% -A *}" -C "$_ou" 2>/dev/null ||
			ipt_each_rule "${_ou%% -A *}" -I "$_ou" || exit 1
	done
}
old_down() {
	ctl "$1" net_rules | while read -r _od; do
		while ipt_each_rule "${_od%% -A *}" -C "$_od" 2>/dev/null; do
			ipt_each_rule "${_od%% -A *}" -D "$_od" || exit 1
		done
	done
}

# new_up ROOT, new_down ROOT: net_up and net_down as they are.
new_up() {
	ctl "$1" net_up 2>/dev/null
}
new_down() {
	ctl "$1" net_down 2>/dev/null
}

# user_chains: chains of the host's own (as Docker's DOCKER-USER) jumped
# to from the top of filter FORWARD and nat POSTROUTING; user_chains_off
# removes them.
user_chains() {
	iptables -w -N "$UF" && iptables -w -A "$UF" -s "172.31.$NA.0/24" -j RETURN &&
		iptables -w -I FORWARD -j "$UF" &&
		iptables -w -t nat -N "$UN" && iptables -w -t nat -I POSTROUTING -j "$UN"
}
user_chains_off() {
	while iptables -w -D FORWARD -j "$UF" 2>/dev/null; do :; done
	while iptables -w -t nat -D POSTROUTING -j "$UN" 2>/dev/null; do :; done
	iptables -w -F "$UF" 2>/dev/null
	iptables -w -X "$UF" 2>/dev/null
	iptables -w -t nat -X "$UN" 2>/dev/null
	return 0
}

# reset: none of this run's rules or chains.
reset() {
	for _rr in "$RA" "$RB"; do
		[ ! -x "$_rr/bin/dockyardctl" ] || old_down "$_rr" || return 1
	done
	user_chains_off
	[ -z "$(dump)" ] || fail "rules left: $(dump)"
}

# same_as_before STEPS: run STEPS (words: up:ROOT, down:ROOT, user, dup:
# ROOT, cut:ROOT) once the old way and once the new way, from no rules of
# this run; both must leave the same rules in the same order.
same_as_before() {
	for _sb_way in old new; do
		reset || return 1
		for _sb in $1; do
			case $_sb in
			up:*) "${_sb_way}_up" "${_sb#up:}" ;;
			down:*) "${_sb_way}_down" "${_sb#down:}" ;;
			user) user_chains ;;
			dup:*) ctl "${_sb#dup:}" net_rules | sed -n 5p | while read -r _d; do
				ipt_each_rule "${_d%% -A *}" -A "$_d"
			done ;;
			cut:*) ctl "${_sb#cut:}" net_rules | sed -n 3p | while read -r _d; do
				ipt_each_rule "${_d%% -A *}" -D "$_d"
			done ;;
			esac || { fail "$_sb_way: $_sb failed"; return 1; }
		done
		dump >"$_sb_way.rules"
	done
	reset &&
		cat new.rules &&
		if ! diff old.rules new.rules; then
			fail "the batch leaves other rules than one iptables call per rule"
		fi
}

batch_cleanup() {
	for _bc in "$RC" "$RA" "$RB"; do
		[ ! -x "$_bc/bin/dockyardctl" ] || "$_bc/bin/dockyardctl" -q stop >/dev/null 2>&1
	done
	kill_mentioning "$TRASH"
	for _bc in "$RA" "$RB"; do
		[ ! -x "$_bc/bin/dockyardctl" ] || old_down "$_bc" >/dev/null 2>&1
	done
	user_chains_off
	# Anything else of this run's, whatever state a failure left.
	for _bt in filter nat mangle; do
		iptables -w -t "$_bt" -S 2>/dev/null | grep '^-A ' | grep -F -f "$OURS" |
			while read -r _ _bch _brest; do
				# shellcheck disable=SC2086 # the rule's words
				iptables -w -t "$_bt" -D "$_bch" $_brest >/dev/null 2>&1
			done
	done
	for _bc in "$PA" "$PB" "$PC"; do
		ip link del dev "${_bc}docker0" >/dev/null 2>&1
	done
	cleanup_trash
}
trap batch_cleanup EXIT

expect_success 'free networks, and three instance roots of stand-ins' '
	for v in "$NA" "$NB" "$NC" "$QA" "$QB" "$QC"; do
		test -n "$v" || fail "no free test network in 172.31.128.0/17" || exit 1
	done &&
	make_standin_instance "$RA" "$PA" "172.31.$NA" "172.31.$QA.0/22" &&
	make_standin_instance "$RB" "$PB" "172.31.$NB" "172.31.$QB.0/22" &&
	make_standin_instance "$RC" "$PC" "172.31.$NC" "172.31.$QC.0/22" &&
	rm -f "$RC/bin/sysbox-mgr" "$RC/bin/sysbox-fs" &&
	test -z "$(dump)"
'

expect_success 'one instance: the batch adds its seven rules where one iptables -I per rule did' '
	same_as_before "up:$RA" &&
	test "$(wc -l <new.rules)" = 7
'

expect_success 'two instances, first A then B: the same rules in the same order' '
	same_as_before "up:$RA up:$RB" &&
	test "$(wc -l <new.rules)" = 14
'

expect_success 'two instances, first B then A: the same rules in the same order' '
	same_as_before "up:$RB up:$RA"
'

expect_success 'started before or after other chains are jumped to: the same rules' '
	same_as_before "user up:$RA up:$RB" &&
	grep -q -- "-A FORWARD -j $UF" new.rules &&
	same_as_before "up:$RA user up:$RB"
'

expect_success 'a second net_up adds nothing' '
	same_as_before "up:$RA up:$RA" &&
	test "$(wc -l <new.rules)" = 7
'

expect_success 'a rule deleted by hand is put back as one iptables -I put it back' '
	same_as_before "up:$RA up:$RB cut:$RA up:$RA" &&
	test "$(wc -l <new.rules)" = 14
'

expect_success 'net_down removes only its own rules, every copy of them' '
	same_as_before "up:$RA up:$RB dup:$RA down:$RA" &&
	test "$(wc -l <new.rules)" = 7 &&
	! grep -F -e "${PA}docker0" -e "172.31.$QA.0/22" new.rules &&
	same_as_before "up:$RB up:$RA user down:$RA down:$RB" &&
	! grep -F -e "${PA}docker0" -e "${PB}docker0" -e "172.31.$QA.0/22" -e "172.31.$QB.0/22" new.rules &&
	grep -qxF -- "*filter -A FORWARD -j $UF" new.rules &&
	grep -qxF -- "*nat -A POSTROUTING -j $UN" new.rules
'

expect_success 'the batch is one iptables-restore input, one COMMIT per table; empty when nothing is missing' '
	reset &&
	ctl "$RA" eval "net_vars && net_save && net_plan \"\" \"\$(net_rule_list)\" \"\" \"\" && net_apply && printf \"%s\\n\" \"\$NET_BATCH\"" >batch &&
	cat batch &&
	test "$(grep -c "^COMMIT\$" batch)" = 2 &&
	test "$(sed -n 1p batch)" = "*filter" &&
	test "$(grep -c "^-I " batch)" = 7 &&
	ctl "$RA" eval "net_vars && net_save && net_plan \"\" \"\$(net_rule_list)\" \"\" \"\" && net_apply && printf \"%s\" \"\$NET_BATCH\"" >batch2 &&
	test ! -s batch2 &&
	old_down "$RA"
'

# env_file VALUE-LINES...: an env file of A's with extra lines.
env_file() {
	{
		cat "$RA/etc/dockyard.env.good"
		for _el in "$@"; do
			printf "%s\n" "$_el"
		done
	} >"$RA/etc/dockyard.env"
}

expect_success 'the env parser executes nothing a value or a line holds' '
	cp "$RA/etc/dockyard.env" "$RA/etc/dockyard.env.good" &&
	for v in "\$(touch $TRASH/p1)" "\`touch $TRASH/p2\`" "x; touch $TRASH/p3" \
		"x\"; touch $TRASH/p4; \"x" "\${IFS}\$(touch $TRASH/p5)" "x\" && touch $TRASH/p6 && \"" \
		"\\\\\$(touch $TRASH/p7)"; do
		env_file "DOCKYARD_NO_PROXY=$v" &&
		{ ctl "$RA" true 2>err; test $? = 1; } &&
		grep -qF "DOCKYARD_NO_PROXY " err && grep -q "contains a character a proxy setting may not hold" err &&
		sh -c "DOCKYARDCTL_SOURCE_ONLY=1 && . \"\$1\" && env_read \"\$2\" DOCKYARD_NO_PROXY &&
			printf \"%s\\n\" \"\$DY_ENV_DOCKYARD_NO_PROXY\"" sh "$RA/bin/dockyardctl" "$RA/etc/dockyard.env" >got &&
		printf "%s\n" "$v" >want && diff want got || exit 1
	done &&
	env_file "DOCKYARD_ROOT DOCKYARD_NO_PROXY=\$(touch $TRASH/p8)" \
		"\$(touch $TRASH/p9)=x" "DOCKYARD_POOL_SIZE;touch $TRASH/p10=24" &&
	ctl "$RA" true &&
	env_file "DOCKYARD_DOCKER_PREFIX=\$(touch $TRASH/p11)" &&
	{ ctl "$RA" true 2>err; test $? = 1; } && grep -q "must be at most 8 characters" err &&
	for i in 1 2 3 4 5 6 7 8 9 10 11; do
		test ! -e "$TRASH/p$i" || fail "p$i was created: a value was executed" || exit 1
	done &&
	cp "$RA/etc/dockyard.env.good" "$RA/etc/dockyard.env"
'

expect_success 'the env parser: last line wins, blanks and one pair of quotes go, other keys are ignored' '
	printf "%s\n" "# comment" "  DOCKYARD_NO_PROXY=first" "DOCKYARD_NO_PROXYX=other" \
		"	DOCKYARD_NO_PROXY=\"a,b\"   " "DOCKYARD_HTTP_PROXY='"'"'q'"'"'" "DOCKYARD_ROOT =spaced" >f &&
	printf "DOCKYARD_LOG_KEEP=\"'"'"'7'"'"'\"" >>f &&
	sh -c "DOCKYARDCTL_SOURCE_ONLY=1 && . \"\$1\" &&
		env_read f \"DOCKYARD_NO_PROXY DOCKYARD_HTTP_PROXY DOCKYARD_LOG_KEEP DOCKYARD_ROOT\" &&
		printf \"%s|%s|%s|%s\\n\" \"\$DY_ENV_DOCKYARD_NO_PROXY\" \"\$DY_ENV_DOCKYARD_HTTP_PROXY\" \
			\"\$DY_ENV_DOCKYARD_LOG_KEEP\" \"\${DY_ENV_DOCKYARD_ROOT-unset}\"" sh "$RA/bin/dockyardctl" >got &&
	echo "a,b|q|7|unset" >want && diff want got
'

expect_success 'containerd dies at once: start names it and its log, and undoes itself' '
	printf "#!/bin/sh\necho \"containerd stand-in: failing at once on purpose\" >&2\nexit 3\n" >"$RC/bin/containerd" &&
	{ "$RC/bin/dockyardctl" start 2>err; test $? = 1; } && cat err &&
	grep -q "error: containerd (pid [0-9]*) exited before binding $RC/run/containerd/containerd.sock, exit status 3" err &&
	grep -qF "last lines of $RC/log/containerd.log" err &&
	grep -q "failing at once on purpose" err &&
	grep -q "error: containerd did not start" err &&
	test -z "$(pids_mentioning "$RC/bin/")" &&
	! ip link show dev "${PC}docker0" >/dev/null 2>&1 &&
	dump >now && ! grep -F -e "${PC}docker0" -e "172.31.$QC.0/22" -e "172.31.$NC.0/24" now
'

expect_success 'dockerd dies at once: start names it and its log, and stops containerd' '
	cp "$SRC_DIR/tests/standins/containerd" "$RC/bin/containerd" &&
	printf "#!/bin/sh\necho \"dockerd stand-in: failing at once on purpose\" >&2\nexit 4\n" >"$RC/bin/dockerd" &&
	{ "$RC/bin/dockyardctl" start 2>err; test $? = 1; } && cat err &&
	grep -q "error: dockerd (pid [0-9]*) exited before binding $RC/run/docker.sock, exit status 4" err &&
	grep -qF "last lines of $RC/log/dockerd.log" err &&
	grep -q "dockerd stand-in: failing at once on purpose" err &&
	grep -q "stopping containerd" err &&
	test -z "$(pids_mentioning "$RC/bin/")" &&
	! ip link show dev "${PC}docker0" >/dev/null 2>&1
'

expect_success 'with both daemons whole, start brings the API up and stop leaves none of its rules' '
	cp "$SRC_DIR/tests/standins/dockerd" "$RC/bin/dockerd" &&
	"$RC/bin/dockyardctl" -q start &&
	test "$(curl -sS --max-time 5 --unix-socket "$RC/run/docker.sock" http://localhost/_ping)" = OK &&
	test "$(dump | grep -c -F -e "${PC}docker0" -e "172.31.$QC.0/22")" = 7 &&
	"$RC/bin/dockyardctl" -q stop &&
	test -z "$(pids_mentioning "$RC/bin/")" &&
	test "$(dump | grep -c -F -e "${PC}docker0" -e "172.31.$QC.0/22")" = 0
'

test_done
