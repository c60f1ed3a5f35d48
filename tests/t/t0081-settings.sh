#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The optional dockyard.env settings (docs/dockyard-env.md): DOCKYARD_DNS,
# DOCKYARD_STORAGE_DRIVER, DOCKYARD_SYSBOX_MGR_EXTRA_ARGS,
# DOCKYARD_SYSBOX_SUBID_USER/START/COUNT, the proxies and the log rotation
# keys round-trip through gen-env, --env, a re-run and an upgrade; a bad
# value is refused naming the key, the value and the rule; dockyardctl
# hands the proxies to dockerd and the extra arguments to sysbox-mgr.
# Stand-in daemons (tests/standins/, never shipped), no systemd.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$TRASH" && pwd -P)/r
PFX=t42$(($$ % 100000))
GROUP=${PFX}docker
DOCKYARD_STOP_TIMEOUT=3
DOCKYARD_START_TIMEOUT=15
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY

# Generated networks: free of every route, interface and registered
# instance, whatever other runs hold.
NETFLAGS="--prefix $PFX"
SETTINGS="--dns 1.1.1.1,2001:DB8::53 --storage-driver overlay2 \
	--sysbox-mgr-extra-args --disable-shiftfs\\ --subid-range-size=65536 \
	--sysbox-subid-user t42sub --sysbox-subid-start 3276800 --sysbox-subid-count 131072 \
	--http-proxy http://proxy.example:3128 --https-proxy http://proxy.example:3129 \
	--no-proxy localhost,127.0.0.1,.example --log-max-size 64K --log-keep 2"

settings_cleanup() {
	# destroy removes what the install added to the host: the subid
	# ranges, the AppArmor block, the user, the registry entry.
	if [ -x "$ROOT/bin/dockyardctl" ]; then
		"$ROOT/bin/dockyardctl" -q destroy --yes >/dev/null 2>&1
	fi
	kill_mentioning "$TRASH"
	userdel "$GROUP" >/dev/null 2>&1
	groupdel "$GROUP" >/dev/null 2>&1
	rm -f "/etc/dockyard/instances/$PFX" "/etc/systemd/system/${PFX}docker.service"
	rmdir /etc/dockyard/instances /etc/dockyard 2>/dev/null
	cleanup_trash
}
trap settings_cleanup EXIT

I1=$TRASH/i1
I2=$TRASH/i2

# add_sysbox DIR: the sysbox stand-ins as a component of DIR's payload.
add_sysbox() {
	for s in sysbox-mgr sysbox-fs sysbox-runc; do
		cp "$SRC_DIR/tests/standins/$s" "$1/$s" || return 1
	done
	printf '\n[component sysbox]\nversion = 0.0.1-test\nsysbox-run-dir = args\nfile sysbox-mgr -> bin/sysbox-mgr 0755\nfile sysbox-fs -> bin/sysbox-fs 0755\nfile sysbox-runc -> bin/sysbox-runc 0755\n' \
		>>"$1/test.manifest"
}

make_image_tree() {
	mkdir -p "$1/etc" &&
	for f in passwd group shadow gshadow login.defs; do
		cp -p "/etc/$f" "$1/etc/$f" || return 1
	done &&
	: >"$1/etc/subuid" && : >"$1/etc/subgid"
}

expect_success 'installers of stand-in daemons (with sysbox stand-ins) build' '
	make_standin_payload "$TRASH/p1" cli-one && add_sysbox "$TRASH/p1" &&
	build_installer "$TRASH/p1" "$I1" &&
	make_standin_payload "$TRASH/p2" cli-two && add_sysbox "$TRASH/p2" &&
	build_installer "$TRASH/p2" "$I2"
'

expect_success 'gen-env writes every setting given; --env reads them back unchanged' '
	eval "\"\$I1\" gen-env --root /opt/dyx $NETFLAGS $SETTINGS" >one.env &&
	grep -qx "DOCKYARD_DNS=1.1.1.1,2001:db8::53" one.env &&
	grep -qx "DOCKYARD_STORAGE_DRIVER=overlay2" one.env &&
	grep -qx "DOCKYARD_SYSBOX_MGR_EXTRA_ARGS=\"--disable-shiftfs --subid-range-size=65536\"" one.env &&
	grep -qx "DOCKYARD_SYSBOX_SUBID_USER=t42sub" one.env &&
	grep -qx "DOCKYARD_SYSBOX_SUBID_START=3276800" one.env &&
	grep -qx "DOCKYARD_SYSBOX_SUBID_COUNT=131072" one.env &&
	grep -qx "DOCKYARD_HTTP_PROXY=http://proxy.example:3128" one.env &&
	grep -qx "DOCKYARD_HTTPS_PROXY=http://proxy.example:3129" one.env &&
	grep -qx "DOCKYARD_NO_PROXY=localhost,127.0.0.1,.example" one.env &&
	grep -qx "DOCKYARD_LOG_MAX_SIZE=64K" one.env &&
	grep -qx "DOCKYARD_LOG_KEEP=2" one.env &&
	"$I1" gen-env --root /opt/dyx --env one.env >two.env &&
	cmp one.env two.env &&
	"$I1" gen-env --root /opt/dyx --dns "" $NETFLAGS >none.env &&
	grep -qx "DOCKYARD_DNS=" none.env &&
	"$I1" gen-env --root /opt/dyx --env none.env >none2.env && cmp none.env none2.env &&
	"$I1" gen-env --root /opt/dyx $NETFLAGS >plain.env &&
	! grep -q "DOCKYARD_DNS\|DOCKYARD_LOG" plain.env
'

# refused FLAG VALUE TEXT...: gen-env --FLAG VALUE fails (usage, exit 2)
# and its message holds the value and each TEXT.
refused() {
	flag=$1 value=$2
	shift 2
	rc=0
	# shellcheck disable=SC2086 # NETFLAGS is a list of flags
	"$I1" gen-env --root /opt/dyx $NETFLAGS "--$flag" "$value" >/dev/null 2>err || rc=$?
	test "$rc" = 2 || fail "--$flag $value: exit $rc, want 2" || return 1
	grep -qF -- "$value" err || fail "--$flag: the message does not name $value: $(cat err)" || return 1
	for t in "$@"; do
		grep -qF -- "$t" err || fail "--$flag $value: no \"$t\" in: $(cat err)" || return 1
	done
}

expect_success 'a bad value is refused naming the key, the value and the rule' '
	refused dns 1.1.1 DOCKYARD_DNS "not an IPv4 or IPv6 address" &&
	refused dns 127.0.0.53 DOCKYARD_DNS loopback &&
	refused dns 1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4 DOCKYARD_DNS "at most 3" &&
	refused storage-driver btrfs DOCKYARD_STORAGE_DRIVER "auto, overlay2 or zfs" &&
	refused sysbox-mgr-extra-args "--a;reboot" DOCKYARD_SYSBOX_MGR_EXTRA_ARGS "contains" &&
	refused sysbox-mgr-extra-args "plain" DOCKYARD_SYSBOX_MGR_EXTRA_ARGS "an option" &&
	refused sysbox-subid-user Root DOCKYARD_SYSBOX_SUBID_USER "[a-z0-9_-]" &&
	refused sysbox-subid-start 4096 DOCKYARD_SYSBOX_SUBID_START "below 100000" &&
	refused sysbox-subid-count 1000 DOCKYARD_SYSBOX_SUBID_COUNT "multiple of 65536" &&
	refused http-proxy proxy:3128 DOCKYARD_HTTP_PROXY "http://host:port" &&
	refused no-proxy "a b" DOCKYARD_NO_PROXY "space" &&
	refused log-max-size 10X DOCKYARD_LOG_MAX_SIZE "4K to 4G" &&
	refused log-keep 0 DOCKYARD_LOG_KEEP "from 1 to 99" &&
	rc=0 && "$I1" gen-env --root /opt/dyx $NETFLAGS --sysbox-subid-start 4294901760 \
		--sysbox-subid-count 131072 2>err || rc=$? &&
	test "$rc" = 2 && grep -q "ends above 4294967295" err &&
	printf "DOCKYARD_STORAGE_DRIVER=ext4\n" >bad.env &&
	rc=0 && "$I1" gen-env --root /opt/dyx --env bad.env 2>err || rc=$? &&
	test "$rc" = 2 && grep -q "bad.env:1: DOCKYARD_STORAGE_DRIVER .ext4. is not a storage driver" err
'

expect_success 'zfs is refused where the root is not on ZFS' '
	rc=0 && "$I1" gen-env --root "$TRASH/z" $NETFLAGS --storage-driver zfs 2>err || rc=$? &&
	test "$rc" = 2 && grep -q "DOCKYARD_STORAGE_DRIVER zfs: $TRASH/z is not on a ZFS file system" err
'

expect_success 'an image install keeps the settings through a re-run and an upgrade' '
	make_image_tree img &&
	eval "\"\$I1\" -q --sysroot \"\$TRASH/img\" --root /opt/dy $NETFLAGS $SETTINGS" &&
	env=img/opt/dy/etc/dockyard.env &&
	grep -qx "DOCKYARD_SYSBOX_SUBID_START=3276800" "$env" &&
	grep -qx "t42sub:3276800:131072" img/etc/subuid &&
	grep -qx "t42sub:3276800:131072" img/etc/subgid &&
	grep -qx "subuid t42sub 3276800 131072" img/opt/dy/etc/receipt &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d[\"dns\"] == [\"1.1.1.1\", \"2001:db8::53\"], d
assert d[\"storage-driver\"] == \"overlay2\", d
" img/opt/dy/etc/daemon.json &&
	cp "$env" env.before &&
	"$I1" --json --sysroot "$TRASH/img" --root /opt/dy >rerun.json &&
	json_valid install rerun.json &&
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert not d[\"changed\"], d" rerun.json &&
	cmp env.before "$env" &&
	"$I2" -q --sysroot "$TRASH/img" --root /opt/dy &&
	cmp env.before "$env" &&
	test "$(grep -c "^t42sub:" img/etc/subuid)" = 1
'

expect_success 'a subid start that overlaps another entry is refused by name' '
	make_image_tree img2 &&
	echo "someone:3276800:65536" >img2/etc/subuid &&
	must_fail "$I1" -q --sysroot "$TRASH/img2" --root /opt/dy $NETFLAGS \
		--sysbox-subid-start 3276800 2>err &&
	grep -q "DOCKYARD_SYSBOX_SUBID_START 3276800: the range 3276800-3342335 for ${PFX}docker overlaps another entry in $TRASH/img2/etc/subuid" err
'

expect_success 'a live install: dockerd gets the proxies, the DNS stays through a re-run' '
	"$I1" -q --root "$ROOT" $NETFLAGS --no-systemd --dns 9.9.9.9 \
		--http-proxy http://proxy.example:3128 --no-proxy localhost \
		--sysbox-mgr-extra-args "--disable-shiftfs --x=1" \
		--sysbox-subid-start 3276800 2>err ||
		{ cat err; false; } &&
	pid=$(cat "$ROOT/run/dockerd.pid") &&
	tr "\\000" "\\n" <"/proc/$pid/environ" >environ &&
	grep -qx "HTTP_PROXY=http://proxy.example:3128" environ &&
	grep -qx "NO_PROXY=localhost" environ &&
	! grep -q "^HTTPS_PROXY=" environ &&
	mgr=$(cat "$ROOT/run/sysbox-mgr.pid") &&
	tr "\\000" " " <"/proc/$mgr/cmdline" | grep -q -- "--data-root $ROOT/lib/sysbox --disable-shiftfs --x=1" &&
	grep -q "extra arguments: --disable-shiftfs --x=1" "$ROOT/log/sysbox-mgr.log" &&
	"$I1" -q --root "$ROOT" --no-systemd &&
	grep -qx "DOCKYARD_DNS=9.9.9.9" "$ROOT/etc/dockyard.env" &&
	grep -q "9.9.9.9" "$ROOT/etc/daemon.json" &&
	test "$(cat "$ROOT/run/dockerd.pid")" = "$pid"
'

test_done
