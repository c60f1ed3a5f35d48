#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# install --json and plan --json (schema 1, validated against
# docs/schemas/install.json): plan then install agree on the prefix and
# the generated networks; changed is false exactly when nothing was done;
# a plan shows the start or restart it causes.  Operator drop-ins in
# etc/daemon.d: merged into daemon.json, a change restarts dockerd and
# reports changed, an owned key or broken JSON is refused by file (and
# line) with nothing changed, and they survive an upgrade.  Stand-in
# daemons (tests/standins/, never shipped), no systemd.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$TRASH" && pwd -P)/r
PFX=t41$(($$ % 100000))
GROUP=${PFX}docker
DOCKYARD_STOP_TIMEOUT=3
DOCKYARD_START_TIMEOUT=15
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY

# The networks are generated: the installer picks ones that no route,
# interface or registered instance uses (instances of other runs may hold
# any fixed range), and a plan shows the same ones as the install after it.
NETFLAGS="--prefix $PFX"

json_cleanup() {
	if [ -x "$ROOT/bin/dockyardctl" ]; then
		"$ROOT/bin/dockyardctl" -q stop >/dev/null 2>&1
	fi
	kill_mentioning "$TRASH"
	userdel "$GROUP" >/dev/null 2>&1
	groupdel "$GROUP" >/dev/null 2>&1
	rm -f "/etc/dockyard/instances/$PFX" "/etc/systemd/system/${PFX}docker.service"
	rmdir /etc/dockyard/instances /etc/dockyard 2>/dev/null
	cleanup_trash
}
trap json_cleanup EXIT

# tree_sums DIR: every file's digest and mode below DIR (stable order).
tree_sums() {
	(cd "$1" && find . -type f -printf '%m %p\n' | sort | while read -r mode path; do
		printf '%s %s %s\n' "$mode" "$(sha256sum "$path" | cut -d " " -f 1)" "$path"
	done)
}

# jq_py FILE EXPR: evaluate the Python expression EXPR with d = the JSON
# document of FILE; fails (printing the document) when it is false.
jq_py() {
	python3 - "$1" "$2" <<-'PY'
	import json, sys
	d = json.load(open(sys.argv[1]))
	kinds = [a["kind"] for a in d.get("actions", [])]
	if not eval(sys.argv[2]):
	    print("false: %s\n%s" % (sys.argv[2], json.dumps(d, indent=1)), file=sys.stderr)
	    sys.exit(1)
	PY
}

dockerd_pid() {
	cat "$ROOT/run/dockerd.pid"
}

I1=$TRASH/i1
I2=$TRASH/i2

expect_success 'installers of stand-in daemons build' '
	make_standin_payload "$TRASH/p1" cli-one && build_installer "$TRASH/p1" "$I1" &&
	make_standin_payload "$TRASH/p2" cli-two && build_installer "$TRASH/p2" "$I2"
'

expect_success 'plan --json, then install --json, pick the same prefix and networks' '
	mkdir -p img/etc &&
	for f in passwd group shadow gshadow login.defs; do cp -p "/etc/$f" "img/etc/$f"; done &&
	"$I1" plan --json --sysroot "$TRASH/img" --root /opt/dy >plan.json &&
	"$I1" install --json --sysroot "$TRASH/img" --root /opt/dy >install.json &&
	json_valid install plan.json install.json &&
	jq_py plan.json "d[\"command\"] == \"plan\" and d[\"changed\"] and \"extract\" in kinds" &&
	jq_py install.json "d[\"command\"] == \"install\" and d[\"changed\"]" &&
	python3 -c "
import json, sys
p, i = (json.load(open(f)) for f in sys.argv[1:3])
assert p[\"prefix\"] == i[\"prefix\"] and p[\"networks\"] == i[\"networks\"], (p, i)
assert p[\"root\"] == i[\"root\"] == \"/opt/dy\"
" plan.json install.json &&
	"$I1" plan --json --sysroot "$TRASH/img" --root /opt/dy >plan2.json &&
	"$I1" install --json --sysroot "$TRASH/img" --root /opt/dy >install2.json &&
	json_valid install plan2.json install2.json &&
	jq_py plan2.json "not d[\"changed\"] and d[\"actions\"] == []" &&
	jq_py install2.json "not d[\"changed\"] and d[\"actions\"] == []"
'

expect_success 'on this host too: the plan of a fresh root shows the start and the networks install picks' '
	"$I1" plan --json --root "$ROOT" $NETFLAGS --no-systemd >plan.json &&
	jq_py plan.json "kinds[-1] == \"start\" or kinds[-2] == \"start\"" &&
	"$I1" install --json --root "$ROOT" $NETFLAGS --no-systemd >install.json 2>err &&
	json_valid install plan.json install.json &&
	jq_py install.json "d[\"changed\"] and \"start\" in kinds and \"group\" in kinds" &&
	python3 -c "
import json, sys
p, i = (json.load(open(f)) for f in sys.argv[1:3])
assert p[\"prefix\"] == i[\"prefix\"] and p[\"networks\"] == i[\"networks\"], (p, i)
" plan.json install.json &&
	jq_py install.json "{\"kind\": \"group\", \"path\": \"/etc/group\", \"object\": \"$GROUP\"} in d[\"actions\"]" &&
	jq_py install.json "any(a[\"kind\"] == \"write\" and a[\"path\"] == \"$ROOT/etc/daemon.json\" for a in d[\"actions\"])" &&
	"$ROOT/bin/dockyardctl" status >/dev/null
'

expect_success 'a re-run reports changed: false and no action' '
	pid=$(dockerd_pid) &&
	"$I1" plan --json --root "$ROOT" --no-systemd >plan.json &&
	"$I1" install --json --root "$ROOT" --no-systemd >install.json &&
	json_valid install plan.json install.json &&
	jq_py plan.json "not d[\"changed\"] and d[\"actions\"] == []" &&
	jq_py install.json "not d[\"changed\"] and d[\"actions\"] == []" &&
	test "$(dockerd_pid)" = "$pid"
'

expect_success 'a new drop-in: the plan shows the restart, install merges it and restarts' '
	pid=$(dockerd_pid) &&
	mkdir "$ROOT/etc/daemon.d" &&
	printf "{\"registry-mirrors\": [\"http://127.0.0.1:5999\"],\n \"log-opts\": {\"max-size\": \"5m\"}}\n" \
		>"$ROOT/etc/daemon.d/10-mirror.json" &&
	printf "{\"log-opts\": {\"max-file\": \"2\"}}\n" >"$ROOT/etc/daemon.d/20-logs.json" &&
	"$I1" plan --json --root "$ROOT" --no-systemd >plan.json &&
	jq_py plan.json "d[\"changed\"] and kinds == [\"write\", \"restart\"]" &&
	"$I1" install --json --root "$ROOT" --no-systemd >install.json &&
	json_valid install plan.json install.json &&
	jq_py install.json "d[\"changed\"] and \"restart\" in kinds" &&
	test "$(dockerd_pid)" != "$pid" &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d[\"registry-mirrors\"] == [\"http://127.0.0.1:5999\"], d
assert d[\"log-opts\"] == {\"max-size\": \"5m\", \"max-file\": \"2\"}, d
assert d[\"data-root\"] == sys.argv[2] + \"/lib/docker\", d
" "$ROOT/etc/daemon.json" "$ROOT" &&
	"$I1" install --json --root "$ROOT" --no-systemd >again.json &&
	jq_py again.json "not d[\"changed\"]"
'

expect_success 'an owned key in a drop-in is refused by file and key; nothing changes' '
	tree_sums "$ROOT/etc" >etc.before && tree_sums "$ROOT/bin" >bin.before &&
	pid=$(dockerd_pid) &&
	printf "{\"data-root\": \"/elsewhere\"}\n" >"$ROOT/etc/daemon.d/30-owned.json" &&
	tree_sums "$ROOT/etc" >etc.before &&
	must_fail "$I1" install --json --root "$ROOT" --no-systemd >out 2>err &&
	grep -q "$ROOT/etc/daemon.d/30-owned.json: key data-root is set by dockyard" err &&
	! test -s out &&
	must_fail "$I1" plan --root "$ROOT" 2>err &&
	grep -q "30-owned.json: key data-root is set by dockyard" err &&
	tree_sums "$ROOT/etc" >etc.after && tree_sums "$ROOT/bin" >bin.after &&
	cmp etc.before etc.after && cmp bin.before bin.after &&
	test "$(dockerd_pid)" = "$pid" &&
	rm "$ROOT/etc/daemon.d/30-owned.json"
'

expect_success 'broken JSON in a drop-in is refused with file and line; nothing changes' '
	pid=$(dockerd_pid) &&
	printf "{\n  \"debug\": true,\n  \"labels\": [\"a\",]\n}\n" >"$ROOT/etc/daemon.d/40-broken.json" &&
	tree_sums "$ROOT/etc" >etc.before &&
	must_fail "$I1" install --root "$ROOT" --no-systemd 2>err &&
	grep -q "$ROOT/etc/daemon.d/40-broken.json:3:[0-9]*: invalid JSON" err &&
	tree_sums "$ROOT/etc" >etc.after &&
	cmp etc.before etc.after &&
	test "$(dockerd_pid)" = "$pid" &&
	rm "$ROOT/etc/daemon.d/40-broken.json"
'

expect_success 'a start with a drop-in newer than daemon.json warns that the installer merges it' '
	"$ROOT/bin/dockyardctl" -q stop &&
	touch "$ROOT/etc/daemon.d/10-mirror.json" &&
	"$ROOT/bin/dockyardctl" start 2>err &&
	grep -q "warning: $ROOT/etc/daemon.d/10-mirror.json changed after $ROOT/etc/daemon.json" err &&
	"$I1" -q --root "$ROOT" --no-systemd &&
	"$ROOT/bin/dockyardctl" -q stop && "$ROOT/bin/dockyardctl" start 2>err &&
	! grep -q "changed after" err
'

expect_success 'a drop-in of keys dockerd reloads: a reload (SIGHUP), no restart' '
	pid=$(dockerd_pid) &&
	printf "{\"debug\": true, \"labels\": [\"site=t41\"]}\n" >"$ROOT/etc/daemon.d/50-debug.json" &&
	"$I1" plan --json --root "$ROOT" --no-systemd >plan.json &&
	jq_py plan.json "kinds == [\"write\", \"reload\"]" &&
	"$I1" install --json --root "$ROOT" --no-systemd >install.json &&
	json_valid install plan.json install.json &&
	jq_py install.json "kinds == [\"write\", \"reload\"] and d[\"changed\"]" &&
	test "$(dockerd_pid)" = "$pid" &&
	{ wait_until 10 grep -q "reloaded configuration .*debug.*labels" "$ROOT/log/dockerd.log" ||
		fail "no reload in the log: $(tail -5 "$ROOT/log/dockerd.log")"; }
'

expect_success 'dockyardctl reload names the changes that need a restart' '
	pid=$(dockerd_pid) &&
	"$ROOT/bin/dockyardctl" reload 2>err &&
	grep -q "has not changed since it started" err &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1])); d[\"mtu\"] = 1400; d[\"debug\"] = False
open(sys.argv[1], \"w\").write(json.dumps(d, indent=2, sort_keys=True) + \"\\n\")
" "$ROOT/etc/daemon.json" &&
	"$ROOT/bin/dockyardctl" reload 2>err &&
	grep -q "changed: debug mtu" err &&
	grep -q "need a restart.*: mtu$" err &&
	! grep -q "restart.*debug" err &&
	test "$(dockerd_pid)" = "$pid" &&
	"$I1" -q --root "$ROOT" --no-systemd
'

expect_success 'the drop-ins survive an upgrade' '
	"$I2" install --json --root "$ROOT" --no-systemd >install.json &&
	json_valid install install.json &&
	jq_py install.json "d[\"changed\"] and \"swap\" in kinds and \"restart\" in kinds" &&
	"$ROOT/bin/docker" version | grep -q "^cli-two version" &&
	grep -q "127.0.0.1:5999" "$ROOT/etc/daemon.json" &&
	test -f "$ROOT/etc/daemon.d/10-mirror.json"
'

expect_success 'a stopped instance: the plan shows the start, install starts it' '
	"$ROOT/bin/dockyardctl" -q stop &&
	"$I2" plan --json --root "$ROOT" --no-systemd >plan.json &&
	jq_py plan.json "kinds == [\"start\"]" &&
	"$I2" install --json --root "$ROOT" --no-systemd >install.json &&
	json_valid install plan.json install.json &&
	jq_py install.json "kinds == [\"start\"] and d[\"changed\"]" &&
	"$ROOT/bin/dockyardctl" status >/dev/null
'

test_done
