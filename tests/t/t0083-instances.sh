#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dockyard-installer instances [--json]: two instances of stand-in daemons
# (tests/standins/, never shipped), one running and one stopped, and a
# broken registry entry, which is listed and never fatal; the JSON
# validates against docs/schemas/instances.json, and preflight --json
# against docs/schemas/preflight.json.  Only this script's own entries
# are looked at: other instances may be registered on the host.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

BASE=$(cd "$TRASH" && pwd -P)
PA=t44a$(($$ % 10000))
PB=t44b$(($$ % 10000))
PX=t44x$(($$ % 10000))
DOCKYARD_STOP_TIMEOUT=3
DOCKYARD_START_TIMEOUT=15
export DOCKYARD_STOP_TIMEOUT DOCKYARD_START_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY


instances_cleanup() {
	for r in "$BASE/a" "$BASE/b"; do
		[ -x "$r/bin/dockyardctl" ] && "$r/bin/dockyardctl" -q stop >/dev/null 2>&1
	done
	kill_mentioning "$TRASH"
	for p in "$PA" "$PB"; do
		userdel "${p}docker" >/dev/null 2>&1
		groupdel "${p}docker" >/dev/null 2>&1
		rm -f "/etc/systemd/system/${p}docker.service"
	done
	rm -f "/etc/dockyard/instances/$PA" "/etc/dockyard/instances/$PB" \
		"/etc/dockyard/instances/$PX"
	rmdir /etc/dockyard/instances /etc/dockyard 2>/dev/null
	cleanup_trash
}
trap instances_cleanup EXIT

I1=$TRASH/i1
env_of() { sed -n "s/^$2=//p" "$1/etc/dockyard.env"; }

# mine FILE EXPR: EXPR (Python) holds, with d the document of FILE and
# m the entries of this script's prefixes by prefix.
mine() {
	python3 - "$1" "$2" "$PA" "$PB" "$PX" <<-'PY'
	import json, sys
	d = json.load(open(sys.argv[1]))
	m = {i["prefix"]: i for i in d["instances"] if i["prefix"] in sys.argv[3:]}
	if not eval(sys.argv[2]):
	    sys.exit("false: %s\n%s" % (sys.argv[2], json.dumps(m, indent=1)))
	PY
}

expect_success 'two instances are installed; one is stopped' '
	make_standin_payload "$TRASH/p1" cli-one && build_installer "$TRASH/p1" "$I1" &&
	"$I1" -q --root "$BASE/a" --prefix "$PA" --no-systemd &&
	"$I1" -q --root "$BASE/b" --prefix "$PB" --no-systemd &&
	echo on >"$BASE/b/etc/isolation" &&
	"$BASE/b/bin/dockyardctl" -q stop
'

expect_success 'instances --json lists both with their state, networks and payload' '
	BRA=$(env_of "$BASE/a" DOCKYARD_BRIDGE_CIDR) && FXA=$(env_of "$BASE/a" DOCKYARD_FIXED_CIDR) &&
	POOLB=$(env_of "$BASE/b" DOCKYARD_POOL_BASE) &&
	"$I1" instances --json >inst.json &&
	json_valid instances inst.json &&
	mine inst.json "m[\"$PA\"][\"state\"] == \"running\" and m[\"$PB\"][\"state\"] == \"stopped\"" &&
	mine inst.json "m[\"$PA\"][\"root\"] == \"$BASE/a\" and m[\"$PA\"][\"socket\"] == \"$BASE/a/run/docker.sock\"" &&
	mine inst.json "m[\"$PA\"][\"bridge\"] == {\"name\": \"${PA}docker0\", \"cidr\": \"$BRA\", \"fixed_cidr\": \"$FXA\"}" &&
	mine inst.json "m[\"$PB\"][\"pool\"] == {\"base\": \"$POOLB\", \"size\": 24}" &&
	mine inst.json "m[\"$PA\"][\"engine_version\"] == \"1.0.0-test\" and {\"name\": \"dockyardctl\", \"version\": \"0.1.0\"} in m[\"$PA\"][\"components\"]" &&
	mine inst.json "m[\"$PA\"][\"isolation\"] == \"off\" and m[\"$PB\"][\"isolation\"] == \"on\"" &&
	mine inst.json "m[\"$PA\"][\"failing\"] == [] and m[\"$PA\"][\"problem\"] is None"
'

expect_success 'a broken registry entry is reported, never fatal' '
	echo "not-a-root" >"/etc/dockyard/instances/$PX" &&
	"$I1" instances --json >inst.json &&
	json_valid instances inst.json &&
	mine inst.json "m[\"$PX\"][\"state\"] == \"broken\" and m[\"$PX\"][\"failing\"] == [\"registry\"]" &&
	mine inst.json "\"does not name an absolute root\" in m[\"$PX\"][\"problem\"]" &&
	mine inst.json "m[\"$PA\"][\"state\"] == \"running\"" &&
	echo "$BASE/gone" >"/etc/dockyard/instances/$PX" &&
	"$I1" instances >inst.txt &&
	grep -q "^$PX  *broken:root" inst.txt && grep -q "the root $BASE/gone is gone" inst.txt &&
	grep -q "^$PA  *running  *1.0.0-test  *$(env_of "$BASE/a" DOCKYARD_BRIDGE_CIDR) " inst.txt &&
	grep -q "^$PB  *stopped" inst.txt
'

expect_success 'a component that died makes the instance broken, naming it' '
	kill -KILL "$(cat "$BASE/a/run/containerd.pid")" &&
	wait_until 10 sh -c "! \"$BASE/a/bin/dockyardctl\" -q status >/dev/null 2>&1" &&
	"$I1" instances --json >inst.json &&
	json_valid instances inst.json &&
	mine inst.json "m[\"$PA\"][\"state\"] == \"broken\" and \"containerd\" in m[\"$PA\"][\"failing\"]"
'

expect_success 'preflight --json validates against its schema' '
	{ "$I1" preflight --json >pre.json || test $? = 3; } &&
	json_valid preflight pre.json
'

expect_success 'instances with a usage error exits 2' '
	rc=0 && "$I1" instances --out x 2>err || rc=$? &&
	test "$rc" = 2
'

test_done
