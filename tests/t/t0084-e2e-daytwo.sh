#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# Day two on real Docker (the installer of t0040: Debian's docker.io,
# containerd, runc and tini plus the sysbox stand-ins, tests/standins/,
# never shipped), without systemd: a registry mirror set in etc/daemon.d
# reaches dockerd by a reload (docker info shows it) and survives an
# upgrade; labels, another key dockerd reloads, the same, without a
# restart; dockyardctl context points the caller's own docker
# configuration at the instance; instances --json and status --json
# validate against their schemas.  Needs `make debs` (build/debs/).
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../e2e/fixtures.sh
. "$SRC_DIR/tests/e2e/fixtures.sh"

A=$(cd "$TRASH" && pwd -P)/a
PA=ed$(($$ % 100000))
I1=$TRASH/i1
I2=$TRASH/i2
MIRROR=http://127.0.0.1:5999/
DOCKYARD_STOP_TIMEOUT=20
export DOCKYARD_STOP_TIMEOUT
unset NOTIFY_SOCKET STANDIN_IGNORE_TERM STANDIN_BIND_DELAY

# The engines' shared host directories this test creates (lib.sh).
host_dirs_note

daytwo_cleanup() {
	[ -x "$A/bin/dockyardctl" ] && "$A/bin/dockyardctl" -q destroy --yes >/dev/null 2>&1
	kill_mentioning "$TRASH"
	e2e_umount_under "$TRASH"
	prefix_objects_remove "$PA"
	host_dirs_remove
	cleanup_trash
}
trap daytwo_cleanup EXIT

da() { "$A/bin/docker" "$@"; }
dockerd_pid() { cat "$A/run/dockerd.pid"; }

expect_success 'an installer and its upgrade build from the Debian packages' '
	e2e_manifest "$TRASH/m" &&
	"$BUILD" -q --manifest "$TRASH/m/e2e.manifest" --stub "$STUB" --cache "$TRASH/cache" \
		--out "$I1" --level 1 &&
	echo "second release" >"$TRASH/m/release-note" &&
	printf "\n[component release-note]\nversion = 2\nfile %s -> share/release-note 0644\n" \
		"$TRASH/m/release-note" >>"$TRASH/m/e2e.manifest" &&
	"$BUILD" -q --manifest "$TRASH/m/e2e.manifest" --stub "$STUB" --cache "$TRASH/cache" \
		--out "$I2" --level 1
'

expect_success 'a mirror in etc/daemon.d reaches dockerd: docker info shows it' '
	"$I1" -q --root "$A" --prefix "$PA" --no-systemd &&
	mkdir "$A/etc/daemon.d" &&
	printf "{\"registry-mirrors\": [\"%s\"]}\n" "$MIRROR" >"$A/etc/daemon.d/10-mirror.json" &&
	"$I1" --json --root "$A" --no-systemd >install.json &&
	json_valid install install.json &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d[\"changed\"] and [a[\"kind\"] for a in d[\"actions\"]] == [\"write\", \"reload\"], d
" install.json &&
	wait_until 20 sh -c "\"$A/bin/docker\" info --format \"{{json .RegistryConfig.Mirrors}}\" | grep -qF \"[\\\"$MIRROR\\\"]\""
'

expect_success 'a drop-in of labels is applied by a reload: same dockerd, docker info shows it' '
	pid=$(dockerd_pid) &&
	printf "{\"labels\": [\"site=t45\"]}\n" >"$A/etc/daemon.d/20-labels.json" &&
	"$I1" --json --root "$A" --no-systemd >install.json &&
	json_valid install install.json &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert [a[\"kind\"] for a in d[\"actions\"]] == [\"write\", \"reload\"], d
" install.json &&
	wait_until 20 sh -c "\"$A/bin/docker\" info --format \"{{json .Labels}}\" | grep -q site=t45" &&
	test "$(dockerd_pid)" = "$pid"
'

expect_success 'the mirror survives an upgrade' '
	"$I2" -q --root "$A" --no-systemd &&
	test -f "$A/share/release-note" &&
	test "$(da info --format "{{json .RegistryConfig.Mirrors}}")" = "[\"$MIRROR\"]" &&
	da info --format "{{json .Labels}}" | grep -q site=t45 &&
	test -f "$A/etc/daemon.d/10-mirror.json"
'

expect_success 'a containerd drop-in in etc/containerd.d is imported after a restart' '
	mkdir "$A/etc/containerd.d" &&
	printf "[debug]\n  address = \"%s\"\n" "$A/run/containerd/debug.sock" \
		>"$A/etc/containerd.d/10-debug.toml" &&
	"$I2" --json --root "$A" --no-systemd >install.json &&
	json_valid install install.json &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert [a[\"kind\"] for a in d[\"actions\"]] == [\"write\", \"restart\"], d
" install.json &&
	grep -q "^# drop-in 10-debug.toml sha256 [0-9a-f]\{64\}$" "$A/etc/containerd.toml" &&
	wait_until 20 test -S "$A/run/containerd/debug.sock" &&
	"$A/bin/dockyardctl" status >/dev/null
'

expect_success 'dockyardctl context writes the caller'\''s own docker configuration' '
	mkdir cfg &&
	DOCKER_CONFIG=$TRASH/cfg "$A/bin/dockyardctl" context >out 2>err &&
	grep -q "created docker context $PA" err && grep -qx "docker --context $PA ps" out &&
	test "$(DOCKER_CONFIG=$TRASH/cfg "$A/bin/docker-cli" --context "$PA" version --format "{{.Server.Version}}" | cut -c 1-5)" = "20.10" &&
	DOCKER_CONFIG=$TRASH/cfg "$A/bin/dockyardctl" context --use >out 2>err &&
	grep -q "updated docker context $PA" err &&
	DOCKER_CONFIG=$TRASH/cfg "$A/bin/docker-cli" context ls --format "{{.Name}} {{.Current}}" | grep -qx "$PA true"
'

expect_success 'instances --json and status --json on real dockerd validate' '
	"$I2" instances --json >inst.json &&
	json_valid instances inst.json &&
	python3 -c "
import json, sys
m = {i[\"prefix\"]: i for i in json.load(open(sys.argv[1]))[\"instances\"]}
a = m[sys.argv[2]]
assert a[\"state\"] == \"running\" and a[\"engine_version\"].startswith(\"20.10\"), a
assert any(c[\"name\"] == \"release-note\" for c in a[\"components\"]), a
" inst.json "$PA" &&
	"$A/bin/dockyardctl" status --json >status.json &&
	json_valid status status.json
'

test_done
