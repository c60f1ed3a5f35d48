#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dockyard-installer install, plan, gen-env and --sysroot with a payload of
# stand-in daemons (tests/standins/, never shipped): a real instance under
# $TRASH without systemd, a re-run that changes nothing, an upgrade that
# keeps lib/ and the configuration, an upgrade whose dockerd does not start
# and is rolled back, the root lock, conflicts with another instance, and
# plan/--sysroot leaving the host's /etc and /run untouched.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$TRASH" && pwd -P)/r
PFX=t31$(($$ % 100000))
GROUP=${PFX}docker
DOCKYARD_STOP_TIMEOUT=3
DOCKYARD_START_TIMEOUT=15
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY

# A bridge /24 and a pool that no route and no other test uses (t0020 and
# t0021 take 172.31.x; this script takes 172.30.x).
NET3=$(pick_free "172.30.%d.0/24" 100 1 60) || NET3=""
POOL=172.30.$((4 * ($$ % 20))).0/22
NETFLAGS="--prefix $PFX --bridge-cidr 172.30.$NET3.1/24 --fixed-cidr 172.30.$NET3.0/24 --pool-base $POOL --pool-size 26"

install_cleanup() {
	if [ -x "$ROOT/bin/dockyardctl" ]; then
		"$ROOT/bin/dockyardctl" -q stop >/dev/null 2>&1
	fi
	kill_mentioning "$TRASH"
	for who in "$GROUP" "t31x$(($$ % 1000))docker" "t31y$(($$ % 1000))docker"; do
		userdel "$who" >/dev/null 2>&1
		groupdel "$who" >/dev/null 2>&1
	done
	rm -f "/etc/dockyard/instances/$PFX" "/etc/systemd/system/${PFX}docker.service"
	rmdir /etc/dockyard/instances /etc/dockyard 2>/dev/null
	cleanup_trash
}
trap install_cleanup EXIT

# snapshot FILE: names, sizes and mtimes below /etc and /run.
snapshot() {
	find /etc /run -xdev -printf '%p %s %T@\n' 2>/dev/null | sort >"$1"
}

# tree_sums DIR: every file's digest and mode below DIR (stable order).
tree_sums() {
	(cd "$1" && find . -type f -printf '%m %p\n' | sort | while read -r mode path; do
		printf '%s %s %s\n' "$mode" "$(sha256sum "$path" | cut -d " " -f 1)" "$path"
	done)
}

api_ok() {
	[ "$(curl -sS --max-time 5 --unix-socket "$ROOT/run/docker.sock" http://localhost/_ping)" = OK ]
}

I1=$TRASH/i1
I2=$TRASH/i2
I3=$TRASH/i3

expect_success 'installers of stand-in daemons build' '
	test -n "$NET3" &&
	make_standin_payload "$TRASH/p1" cli-one &&
	echo "not really an image" >"$TRASH/p1/image.tar" &&
	printf "\n[component demo-image]\nversion = 1.0\nrole = image\nfile image.tar -> share/images/demo.tar 0644\n" \
		>>"$TRASH/p1/test.manifest" &&
	build_installer "$TRASH/p1" "$I1" &&
	make_standin_payload "$TRASH/p2" cli-two && build_installer "$TRASH/p2" "$I2" &&
	printf "#!/bin/sh\necho broken dockerd >&2\nexit 3\n" >"$TRASH/bad-dockerd" &&
	make_standin_payload "$TRASH/p3" cli-three "$TRASH/bad-dockerd" && build_installer "$TRASH/p3" "$I3"
'

expect_success '--help names the commands and the exit statuses' '
	"$I1" --help >out &&
	for w in install plan preflight gen-env uninstall --sysroot --dry-run "4 another"; do
		grep -q -- "$w" out || fail "--help lacks $w"
	done
'

expect_success 'an option another command takes is refused, naming the commands that take it' '
	"$I1" gen-env --root /opt/dyx --json >out 2>err; test $? = 2 && test ! -s out &&
	grep -q -- "--json applies to install, plan, preflight, instances and list" err &&
	"$I1" list --keep-data 2>err; test $? = 2 &&
	grep -q -- "--keep-data applies to uninstall" err &&
	"$I1" check --out x 2>err; test $? = 2 &&
	grep -q -- "--out applies to gen-env" err && test ! -e x &&
	"$I1" uninstall --root /opt/dyx --images . 2>err; test $? = 2 &&
	grep -q -- "--images applies to install and plan" err
'

expect_success 'gen-env prints the given values and generates the rest' '
	"$I1" gen-env --root /opt/dyx --prefix "$PFX" >env &&
	grep -qx "DOCKYARD_ROOT=/opt/dyx" env &&
	grep -qx "DOCKYARD_DOCKER_PREFIX=$PFX" env &&
	bridge=$(sed -n "s/^DOCKYARD_BRIDGE_CIDR=//p" env) &&
	fixed=$(sed -n "s/^DOCKYARD_FIXED_CIDR=//p" env) &&
	pool=$(sed -n "s/^DOCKYARD_POOL_BASE=//p" env) &&
	python3 -c "
import ipaddress, sys
b = ipaddress.ip_interface(sys.argv[1]); f = ipaddress.ip_network(sys.argv[2])
p = ipaddress.ip_network(sys.argv[3]); big = ipaddress.ip_network(\"172.16.0.0/12\")
assert b.ip in f and f.subnet_of(big) and p.subnet_of(big) and not p.overlaps(f)
" "$bridge" "$fixed" "$pool"
'

expect_success 'gen-env --out writes the file and will not replace it' '
	"$I1" -q gen-env --root /opt/dyx $NETFLAGS --out gen.env &&
	grep -qx "DOCKYARD_POOL_SIZE=26" gen.env &&
	must_fail "$I1" gen-env --root /opt/dyx --out gen.env 2>err &&
	grep -q "exists" err
'

expect_success 'a prefix too long for the bridge name is refused by name' '
	must_fail "$I1" gen-env --root /opt/dyx --prefix abcdefghi 2>err &&
	grep -q "abcdefghi" err && grep -q "15" err
'

expect_success 'plan prints the actions and changes nothing on the host' '
	snapshot before &&
	"$I1" plan --root "$ROOT" $NETFLAGS >plan &&
	"$I1" plan --root "$ROOT" $NETFLAGS --json >plan.json &&
	json_valid install plan.json &&
	snapshot after &&
	cmp before after &&
	! test -e "$ROOT" &&
	grep -q "extract" plan && grep -q "$ROOT/etc/daemon.json" plan &&
	grep -q "group $GROUP" plan && grep -q "${PFX}docker.service" plan &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d[\"schema\"] == 1 and d[\"command\"] == \"plan\" and d[\"changed\"], d
assert d[\"prefix\"] == sys.argv[2], d
assert any(a[\"kind\"] == \"extract\" for a in d[\"actions\"]), d[\"actions\"]
" plan.json "$PFX"
'

make_image_tree() {
	mkdir -p "$1/etc" &&
	for f in passwd group shadow gshadow login.defs; do
		cp -p "/etc/$f" "$1/etc/$f" || return 1
	done
}

expect_success '--sysroot installs into an image tree and nowhere else' '
	make_image_tree img &&
	snapshot before &&
	"$I1" -q --sysroot "$TRASH/img" --root /opt/dy $NETFLAGS &&
	snapshot after &&
	cmp before after &&
	test -x img/opt/dy/bin/dockerd && test -x img/opt/dy/bin/docker &&
	grep -q "unix:///opt/dy/run/docker.sock" img/opt/dy/etc/daemon.json &&
	grep -q "ExecStart=/opt/dy/bin/dockyardctl run" "img/etc/systemd/system/${PFX}docker.service" &&
	test "$(readlink "img/etc/systemd/system/multi-user.target.wants/${PFX}docker.service")" = \
		"/etc/systemd/system/${PFX}docker.service" &&
	grep -q "^$GROUP:" img/etc/group && grep -q "^$GROUP:" img/etc/passwd &&
	test "$(cat "img/etc/dockyard/instances/$PFX")" = /opt/dy &&
	! grep -q "^$GROUP:" /etc/group &&
	grep -qx "root /opt/dy" img/opt/dy/etc/receipt
'

# A byte of the stub's section headers (the stub runs; only the whole-file
# digest at the end of the one pass can notice it).
expect_success 'a corrupt installer leaves nothing behind: no root, lock or parents' '
	cp "$I1" bad &&
	size=$(stat -c %s bad) &&
	off=$(od -An -tu8 -j $((size - 256 + 24)) -N8 bad | tr -d " ") &&
	printf "\\377" | dd of=bad bs=1 seek=$((off - 1)) conv=notrunc 2>/dev/null &&
	! cmp -s "$I1" bad &&
	must_fail "$I1" --image bad --root "$TRASH/fresh/a/r" $NETFLAGS --no-systemd 2>err &&
	grep -q "installer is corrupt" err &&
	test ! -e "$TRASH/fresh" &&
	! grep -q "^$GROUP:" /etc/group
'

# A user of the instance's name whose primary group is another one makes
# the system step fail after the payload was staged.
expect_success 'a step failing after the stage leaves no staging tree and no unit file' '
	who=t31y$(($$ % 1000))docker &&
	useradd --system --no-create-home --gid nogroup --shell /usr/sbin/nologin "$who" &&
	must_fail "$I1" --root "$TRASH/r2" --prefix "t31y$(($$ % 1000))" --no-systemd --no-start \
		2>err &&
	grep -q "user $who exists" err &&
	test -d "$TRASH/r2/etc" && test ! -e "$TRASH/r2/.payload-new" &&
	test ! -e "/etc/systemd/system/$who.service" &&
	userdel "$who" && { groupdel "$who" 2>/dev/null || :; } &&
	rm -rf "$TRASH/r2" "$TRASH/.r2.dockyard-lock"
'

expect_success 'install without systemd: the instance runs and answers' '
	"$I1" -v --root "$ROOT" $NETFLAGS --no-systemd >out 2>&1 &&
	grep -q "read the [0-9]*-byte file once" out &&
	api_ok &&
	grep -q "$ROOT/bin/docker ps" out &&
	"$ROOT/bin/docker" ps >cli.out &&
	grep -qx "cli-one ps host=unix://$ROOT/run/docker.sock config=$ROOT/lib/docker-config" cli.out &&
	grep -q "^$GROUP:" /etc/group && grep -q "^$GROUP:" /etc/passwd &&
	test "$(stat -c %G "$ROOT")" = "$GROUP" &&
	grep -qx "group $GROUP" "$ROOT/etc/receipt" &&
	grep -qx "user $GROUP" "$ROOT/etc/receipt" &&
	grep -qx "registry /etc/dockyard/instances/$PFX" "$ROOT/etc/receipt" &&
	grep -qx "DOCKYARD_ROOT=$ROOT" "$ROOT/etc/dockyard.env" &&
	"$ROOT/bin/dockyardctl" status >/dev/null &&
	grep -qx "load -q -i $ROOT/share/images/demo.tar" "$ROOT/lib/docker-config/calls"
'

expect_success 'a re-run changes nothing and says it is up to date' '
	tree_sums "$ROOT/etc" >etc.before && tree_sums "$ROOT/bin" >bin.before &&
	stat -c "%Y %n" "$ROOT"/etc/* "$ROOT"/bin/* >mtimes.before &&
	"$I1" --root "$ROOT" --no-systemd >out 2>&1 &&
	grep -q "up to date" out &&
	tree_sums "$ROOT/etc" >etc.after && tree_sums "$ROOT/bin" >bin.after &&
	stat -c "%Y %n" "$ROOT"/etc/* "$ROOT"/bin/* >mtimes.after &&
	cmp etc.before etc.after && cmp bin.before bin.after && cmp mtimes.before mtimes.after &&
	api_ok
'

expect_success 'another root with the same prefix is refused by name' '
	must_fail "$I1" plan --root "$TRASH/other" --prefix "$PFX" 2>err &&
	grep -q "$PFX" err && grep -q "$ROOT" err
'

expect_success 'networks overlapping this instance are refused by name' '
	must_fail "$I1" plan --root "$TRASH/other" --prefix "t31x$(($$ % 1000))" \
		--pool-base "$POOL" 2>err &&
	grep -q "$POOL" err
'

expect_success 'a second installer on a locked root fails fast (exit 4); --wait waits' '
	lock="$TRASH/.r.dockyard-lock" &&
	test -e "$lock" &&
	{ flock "$lock" sleep 3 & holder=$!; } &&
	sleep 0.5 &&
	{ rc=0; "$I1" -q --root "$ROOT" --no-systemd 2>err || rc=$?; } &&
	test "$rc" = 4 && grep -q -- "--wait" err &&
	"$I1" -q --root "$ROOT" --no-systemd --wait &&
	wait "$holder"
'

expect_success 'an upgrade replaces bin/ and keeps lib/ and the configuration' '
	echo precious >"$ROOT/lib/docker/marker" &&
	cp "$ROOT/etc/dockyard.env" env.before &&
	"$I2" -q --root "$ROOT" --no-systemd &&
	api_ok &&
	"$ROOT/bin/docker" version | grep -q "^cli-two version" &&
	test "$(cat "$ROOT/lib/docker/marker")" = precious &&
	cmp env.before "$ROOT/etc/dockyard.env" &&
	! test -e "$ROOT/bin.prev" && ! test -e "$ROOT/.payload-new"
'

expect_success 'an upgrade whose dockerd does not start restores the previous bin/' '
	tree_sums "$ROOT/bin" >bin.before &&
	must_fail "$I3" -q --root "$ROOT" --no-systemd --start-timeout 20 2>err &&
	grep -q "restored the previous bin/" err &&
	tree_sums "$ROOT/bin" >bin.after &&
	cmp bin.before bin.after &&
	api_ok &&
	"$ROOT/bin/docker" version | grep -q "^cli-two version" &&
	! test -e "$ROOT/bin.prev" && ! test -e "$ROOT/bin.failed"
'

expect_success 'the installed payload record matches the running binaries' '
	"$I2" -q --root "$ROOT" --no-systemd 2>err &&
	! test -s err
'

test_done
