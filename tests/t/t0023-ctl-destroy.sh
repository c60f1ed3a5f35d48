#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dockyardctl destroy on a made-up instance with stand-in daemons running,
# a real bridge and rules, a real system user and group with subuid and
# subgid ranges, a unit file, a registry entry, an AppArmor block, tmpfs
# mounts below the root, a stray process from bin/ and two user-defined
# network bridges, one inside the pool and one just outside it (which
# must survive).  Refusals change nothing; a second destroy succeeds;
# --keep-data keeps lib/docker.  The EXIT trap removes every object the
# test made on the host, also when a test fails.
# flavors: release
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

LC_ALL=C
export LC_ALL

require "users, bridges, rules and mounts"

BASE=$(cd "$TRASH" && pwd -P)
ROOT=$BASE/dy
CTL=$ROOT/bin/dockyardctl
COPY=$BASE/dockyardctl
COMPONENTS="sysbox-mgr sysbox-fs containerd dockerd"
PFX=t23$(($$ % 100000))
ACCT=${PFX}docker
BR=${PFX}docker0
BRIN=br-${PFX}i
BROUT=br-${PFX}o
UNIT=/etc/systemd/system/${PFX}docker.service
REG=/etc/dockyard/instances/$PFX
REG2=/etc/dockyard/instances/${PFX}z
AA=/etc/apparmor.d/local/dyt-$PFX
STATE=$BASE/.dy.dockyard-destroy
LOCK=$BASE/.dy.dockyard-lock
SUBSTART=$((3000000000 + ($$ % 1000) * 65536))
FOREIGN=${PFX}frgn:$((SUBSTART + 65536)):65536
DOCKYARD_STOP_TIMEOUT=2
DOCKYARD_START_TIMEOUT=10
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY DOCKYARD_CTL_ROOT


# Networks in 172.30.0.0/16 (other dockyardctl tests use 172.31/16): a
# /24 for the bridge and a /20 pool whose next /20 is free too (the
# outside-pool bridge lives there).
NET3=$(pick_free "172.30.%d.0/24" 200 1 40) || NET3=""
POOL3=""
i=0
while [ "$i" -lt 11 ]; do
	t=$((16 * (($$ + i) % 11)))
	if cidr_is_free "172.30.$t.0/19" && ! in_iptables "172.30.$t.0/20"; then
		POOL3=$t
		break
	fi
	i=$((i + 1))
done
POOL=172.30.${POOL3:-0}.0/20

MADE_ETC_DOCKYARD=0
MADE_INSTANCES=0
[ -d /etc/dockyard ] || MADE_ETC_DOCKYARD=1
[ -d /etc/dockyard/instances ] || MADE_INSTANCES=1

# remove_line FILE LINE: remove exactly LINE from FILE (if there).
remove_line() {
	if [ -f "$1" ] && grep -qxF "$2" "$1"; then
		grep -vxF "$2" "$1" >"$1.t0023" || :
		cat "$1.t0023" >"$1"
		rm -f "$1.t0023"
	fi
}

# mounts_below DIR: mount points at or below DIR, deepest first.
mounts_below() {
	awk -v r="$1" '{ gsub(/\\040/, " ", $5) } $5 == r || index($5, r "/") == 1 { print length($5) "\t" $5 }' \
		/proc/self/mountinfo | sort -k1,1nr | cut -f 2-
}

destroy_cleanup() {
	kill_mentioning "$BASE"
	for p in $(pids_mentioning "$ROOT/bin/stray"); do kill -KILL "$p"; done
	mounts_below "$BASE" | while IFS= read -r m; do umount -l "$m"; done
	# The network, by a stand-in instance with the same prefix and networks.
	if [ -x "$COPY" ] && [ -f "$BASE/shadow/etc/dockyard.env" ]; then
		DOCKYARD_CTL_ROOT=$BASE/shadow "$COPY" -q net-down >/dev/null 2>&1
	fi
	for b in "$BR" "$BRIN" "$BROUT"; do
		ip link del dev "$b" 2>/dev/null
	done
	userdel "$ACCT" 2>/dev/null
	groupdel "$ACCT" 2>/dev/null
	for f in /etc/subuid /etc/subgid; do
		remove_line "$f" "$ACCT:$SUBSTART:65536"
		remove_line "$f" "$FOREIGN"
	done
	rm -f "$UNIT" "$REG" "$REG2" "$AA"
	[ "$MADE_INSTANCES" = 0 ] || rmdir /etc/dockyard/instances 2>/dev/null
	[ "$MADE_ETC_DOCKYARD" = 0 ] || rmdir /etc/dockyard 2>/dev/null
	cleanup_trash
}
trap destroy_cleanup EXIT

write_env() { # ROOT
	mkdir -p "$1/etc" &&
	cat >"$1/etc/dockyard.env" <<-ENV
	DOCKYARD_ROOT=$1
	DOCKYARD_DOCKER_PREFIX=$PFX
	DOCKYARD_BRIDGE_CIDR=172.30.$NET3.1/24
	DOCKYARD_FIXED_CIDR=172.30.$NET3.0/24
	DOCKYARD_POOL_BASE=$POOL
	DOCKYARD_POOL_SIZE=24
	ENV
}

write_receipt() {
	{
		echo "dockyard-receipt 1"
		echo "root $ROOT"
		echo "prefix $PFX"
		echo "dir $ROOT"
		for d in bin etc lib log run lib/docker; do
			echo "dir $ROOT/$d"
		done
		echo "file $ROOT/etc/dockyard.env"
		echo "file $UNIT"
		[ "$MADE_ETC_DOCKYARD" = 0 ] || echo "dir /etc/dockyard"
		[ "$MADE_INSTANCES" = 0 ] || echo "dir /etc/dockyard/instances"
		echo "group $ACCT"
		echo "user $ACCT"
		echo "subuid $ACCT $SUBSTART 65536"
		echo "subgid $ACCT $SUBSTART 65536"
		echo "apparmor $AA $PFX"
		echo "registry $REG"
		echo "lock $LOCK"
	} >"$ROOT/etc/receipt"
}

# instance: the root, stand-ins running, everything on the host.
instance() {
	mkdir -p "$ROOT/bin" "$ROOT/lib/docker" &&
	cp "$COPY" "$CTL" && chmod 755 "$CTL" &&
	for c in $COMPONENTS; do
		cp "$SRC_DIR/tests/standins/$c" "$ROOT/bin/$c" || return 1
	done &&
	write_env "$ROOT" &&
	printf "[grpc]\n  address = \"%s\"\n" "$ROOT/run/containerd/containerd.sock" >"$ROOT/etc/containerd.toml" &&
	printf "{\"hosts\": [\"unix://%s\"], \"containerd\": \"%s\"}\n" \
		"$ROOT/run/docker.sock" "$ROOT/run/containerd/containerd.sock" >"$ROOT/etc/daemon.json" &&
	"$CTL" -q start &&
	cp /bin/sleep "$ROOT/bin/stray" &&
	{ setsid "$ROOT/bin/stray" 300 </dev/null >/dev/null 2>&1 & } &&
	mkdir -p "$ROOT/lib/docker/overlay2/m" "$ROOT/lib/with space" &&
	mount -t tmpfs t0023 "$ROOT/lib/docker/overlay2/m" &&
	mount -t tmpfs t0023 "$ROOT/lib/with space" &&
	mkdir "$ROOT/lib/with space/inner" &&
	mount -t tmpfs t0023 "$ROOT/lib/with space/inner" &&
	ip link add name "$BRIN" type bridge && ip addr add "172.30.$((POOL3 + 1)).1/24" dev "$BRIN" &&
	ip link add name "$BROUT" type bridge && ip addr add "172.30.$((POOL3 + 16)).1/24" dev "$BROUT" &&
	{ ds_group_user || return 1; } &&
	for f in /etc/subuid /etc/subgid; do
		printf '%s\n%s\n' "$ACCT:$SUBSTART:65536" "$FOREIGN" >>"$f" || return 1
	done &&
	printf '[Unit]\nDescription=test unit of t0023\n' >"$UNIT" &&
	mkdir -p /etc/dockyard/instances && echo "$ROOT" >"$REG" &&
	printf '# kept\n# BEGIN dockyard other\nkept other\n# END dockyard other\n# BEGIN dockyard %s\ncapability dac_override,\n# END dockyard %s\n' \
		"$PFX" "$PFX" >"$AA" &&
	: >"$LOCK" &&
	write_receipt
}

ds_group_user() {
	groupadd --system "$ACCT" &&
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--gid "$ACCT" "$ACCT"
}

# nothing_left: every object the instance had is gone; foreign ones stay.
nothing_left() {
	! test -e "$ROOT" || fail "$ROOT is left" || return 1
	test -z "$(mounts_below "$ROOT")" || fail "mounts left: $(mounts_below "$ROOT")" || return 1
	test -z "$(pids_mentioning "$ROOT/bin/")" || fail "processes left: $(pids_mentioning "$ROOT/bin/")" || return 1
	! ip link show dev "$BR" >/dev/null 2>&1 || fail "bridge $BR is left" || return 1
	! ip link show dev "$BRIN" >/dev/null 2>&1 || fail "pool bridge $BRIN is left" || return 1
	ip link show dev "$BROUT" >/dev/null 2>&1 || fail "bridge $BROUT outside the pool was removed" || return 1
	! in_iptables "$BR" && ! in_iptables "172.30.$NET3.0/24" && ! in_iptables "$POOL" ||
		fail "iptables rules are left" || return 1
	! grep -q "^$ACCT:" /etc/passwd || fail "user $ACCT is left" || return 1
	! grep -q "^$ACCT:" /etc/group || fail "group $ACCT is left" || return 1
	for f in /etc/subuid /etc/subgid; do
		! grep -q "^$ACCT:" "$f" || fail "$f keeps $ACCT" || return 1
		grep -qxF "$FOREIGN" "$f" || fail "$f lost the foreign line" || return 1
	done
	! test -e "$UNIT" || fail "$UNIT is left" || return 1
	! test -e "$REG" || fail "$REG is left" || return 1
	! grep -q "dockyard $PFX" "$AA" || fail "AppArmor block left" || return 1
	grep -qx "kept other" "$AA" && grep -qx "# kept" "$AA" || fail "AppArmor file lost other lines" || return 1
	! test -e "$LOCK" || fail "$LOCK is left" || return 1
	! test -e "$STATE" || fail "$STATE is left"
}

# unchanged: a refused destroy left the instance as it was.
unchanged() {
	"$CTL" -q status >/dev/null || fail "the instance is no longer healthy" || return 1
	test -d "$ROOT/lib/with space/inner" && test -n "$(mounts_below "$ROOT/lib")" ||
		fail "mounts changed" || return 1
	grep -q "^$ACCT:" /etc/passwd && test -f "$UNIT" && test -f "$REG" &&
		ip link show dev "$BRIN" >/dev/null 2>&1 && grep -q "BEGIN dockyard $PFX" "$AA" ||
		fail "a system object is gone" || return 1
	! test -e "$STATE" || fail "$STATE was made"
}

expect_success 'free networks, tools and stand-ins are at hand' '
	{ test -n "$NET3" || fail "no free 172.30.x.0/24"; } &&
	{ test -n "$POOL3" || fail "no free pair of /20 in 172.30.0.0/16"; } &&
	! grep -q "^$ACCT:" /etc/passwd /etc/group &&
	for t in ip iptables curl groupadd useradd usermod mount; do
		command -v "$t" >/dev/null || fail "$t is missing" || exit 1
	done &&
	"$DY_TOOLS/dy-concat" "$SRC_DIR/scripts" "$COPY" && chmod 755 "$COPY" &&
	mkdir -p "$BASE/shadow" && write_env "$BASE/shadow" &&
	sed -i "s|^DOCKYARD_ROOT=.*|DOCKYARD_ROOT=$BASE/shadow|" "$BASE/shadow/etc/dockyard.env"
'

expect_success 'an instance with daemons, network, user, group, mounts and system files' '
	instance && "$CTL" -q status >/dev/null && ip link show dev "$BR" >/dev/null &&
	test -n "$(pids_mentioning "$ROOT/bin/stray")"
'

expect_success 'destroy without --yes and stdin not a terminal refuses and changes nothing' '
	{ "$CTL" destroy </dev/null 2>err; test $? = 1; } &&
	grep -q "stdin is not a terminal.*use --yes" err &&
	unchanged
'

expect_success 'a receipt naming anything outside the allowed places is refused; nothing changes' '
	cp "$ROOT/etc/receipt" receipt.good &&
	for bad in "file /etc/passwd" "dir /etc" "file $ROOT/../x" "file /etc/systemd/system/other.service" \
		"user root" "group root" "subuid root 1 2" "registry /etc/dockyard/instances/other" \
		"apparmor /etc/apparmor.d/usr.bin.man $PFX" "lock /tmp/x.lock" "prefix other" "frob x"; do
		{ cp receipt.good "$ROOT/etc/receipt" && echo "$bad" >>"$ROOT/etc/receipt"; } || exit 1
		"$CTL" destroy --yes 2>err
		rc=$?
		test "$rc" = 1 || fail "exit $rc for: $bad" || exit 1
		grep -q "refusing to destroy: .*nothing was changed" err || fail "no refusal for: $bad" || exit 1
	done &&
	cp receipt.good "$ROOT/etc/receipt" &&
	unchanged
'

expect_success 'a receipt whose root is / or another root is refused' '
	cp "$ROOT/etc/receipt" receipt.good &&
	sed "s|^root .*|root /|" receipt.good >"$ROOT/etc/receipt" &&
	{ "$CTL" destroy --yes 2>err; test $? = 1; } &&
	grep -q "its root is /" err &&
	sed "s|^root .*|root $BASE/other|" receipt.good >"$ROOT/etc/receipt" &&
	{ "$CTL" destroy --yes 2>err; test $? = 1; } &&
	grep -q "its root $BASE/other is not this instance.s root $ROOT" err &&
	cp receipt.good "$ROOT/etc/receipt" &&
	unchanged
'

expect_success 'destroy --yes removes everything listed; foreign objects survive; residue check clean' '
	pids=$(cat "$ROOT"/run/*.pid) &&
	"$CTL" destroy --yes >out 2>err ||
	{ cat out err; false; }
	rc=$?
	test "$rc" = 0 &&
	grep -q "unmounted $ROOT/lib/with space/inner" err &&
	grep -q "unmounted $ROOT/lib/with space\$" err &&
	grep -q "unmounted $ROOT/lib/docker/overlay2/m" err &&
	grep -q "removed bridge $BRIN" err &&
	! grep -q "$BROUT" err &&
	grep -q "stopping leftover pid [0-9]* ($ROOT/bin/stray 300)" err &&
	grep -q "removed user $ACCT" err &&
	grep -qx "residue check: nothing left of $ROOT ($PFX)" out &&
	for p in $pids; do
		! pid_running "$p" || fail "pid $p still runs" || exit 1
	done &&
	nothing_left
'

expect_success 'a second destroy succeeds and says nothing is left' '
	DOCKYARD_CTL_ROOT=$ROOT "$COPY" destroy --yes >out 2>err &&
	grep -q "nothing to destroy at $ROOT" err &&
	grep -q "residue check: nothing left" out
'

expect_success 'destroy --keep-data keeps lib/docker and removes the rest' '
	mkdir -p "$ROOT/bin" "$ROOT/lib/docker/volumes/v" "$ROOT/lib/containerd" "$ROOT/log" &&
	cp "$COPY" "$CTL" && write_env "$ROOT" &&
	echo data >"$ROOT/lib/docker/volumes/v/data" && echo x >"$ROOT/lib/containerd/x" &&
	echo log >"$ROOT/log/dockerd.log" &&
	printf "dockyard-receipt 1\nroot %s\nprefix %s\ndir %s\ndir %s/bin\n" "$ROOT" "$PFX" "$ROOT" "$ROOT" \
		>"$ROOT/etc/receipt" &&
	"$CTL" destroy --yes --keep-data >out 2>err &&
	grep -q "kept $ROOT/lib/docker" err &&
	test "$(cat "$ROOT/lib/docker/volumes/v/data")" = data &&
	test "$(ls -A "$ROOT")" = lib && test "$(ls -A "$ROOT/lib")" = docker &&
	! test -e "$STATE" &&
	grep -q "residue check: nothing left" out &&
	DOCKYARD_CTL_ROOT=$ROOT "$COPY" destroy --yes >out 2>err &&
	grep -q "nothing to destroy at $ROOT; $ROOT/lib/docker (kept data) remains" err &&
	rm -rf "$ROOT"
'

expect_success 'an interrupted destroy continues from the copy kept beside the root' '
	mkdir -p "$ROOT/bin" "$ROOT/lib" && write_env "$ROOT" &&
	printf "dockyard-receipt 1\nroot %s\nprefix %s\ndir %s\n" "$ROOT" "$PFX" "$ROOT" >"$ROOT/etc/receipt" &&
	mkdir -m 700 "$STATE" && cp "$ROOT/etc/receipt" "$STATE/receipt" &&
	cp "$ROOT/etc/dockyard.env" "$STATE/dockyard.env" &&
	rm -rf "$ROOT/etc" &&
	DOCKYARD_CTL_ROOT=$ROOT "$COPY" destroy --yes >out 2>err &&
	grep -q "continuing an earlier destroy from $STATE" err &&
	! test -e "$ROOT" && ! test -e "$STATE"
'

expect_success 'the residue check names what is left and exits 1; a re-run finishes the job' '
	mkdir -p "$ROOT/bin" && write_env "$ROOT" &&
	printf "dockyard-receipt 1\nroot %s\nprefix %s\ndir %s\n" "$ROOT" "$PFX" "$ROOT" >"$ROOT/etc/receipt" &&
	mkdir -p /etc/dockyard/instances && echo "$ROOT" >"$REG2" &&
	{ DOCKYARD_CTL_ROOT=$ROOT "$COPY" destroy --yes >out 2>err; test $? = 1; } &&
	grep -q "^  registry entry $REG2 (names $ROOT)" out &&
	grep -q "destroy is incomplete" err &&
	test -f "$STATE/receipt" && ! test -e "$ROOT" &&
	rm -f "$REG2" &&
	DOCKYARD_CTL_ROOT=$ROOT "$COPY" destroy --yes >out 2>err &&
	grep -q "residue check: nothing left" out &&
	! test -e "$STATE"
'

expect_success 'destroy of a root without a receipt refuses; bad arguments exit 2' '
	mkdir -p "$ROOT/bin" && write_env "$ROOT" &&
	{ DOCKYARD_CTL_ROOT=$ROOT "$COPY" destroy --yes 2>err; test $? = 1; } &&
	grep -q "receipt is missing" err && test -f "$ROOT/etc/dockyard.env" &&
	{ DOCKYARD_CTL_ROOT=$ROOT "$COPY" destroy --force 2>err; test $? = 2; } &&
	{ DOCKYARD_CTL_ROOT=/ "$COPY" destroy --yes 2>err; test $? = 1; } &&
	grep -q "refusing to destroy the root directory /" err &&
	rm -rf "$ROOT"
'

test_done
