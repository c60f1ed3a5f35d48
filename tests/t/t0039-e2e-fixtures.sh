#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# The end-to-end fixtures (tests/e2e/fixtures.sh) against a real engine:
# the e2e manifest builds an installer; Debian's containerd and dockerd,
# started by hand under $TRASH (own sockets, data and exec roots, no bridge,
# no iptables, own cgroup parent), import the busybox image and run it, and
# run the DinD image elevated until its inner dockerd answers.  Everything
# started, mounted or created is removed on exit, also when a test fails.
# Needs `make debs` and `tools/fetch-debs.sh --list tests/e2e/debs.list`.

. "$(dirname "$0")/lib.sh"
. "$SRC_DIR/tests/e2e/fixtures.sh"

START=$(date +%s)
HOSTROOT=$TRASH/host # the .deb files, unpacked
D=$TRASH/d           # the hand-started engine's state
CGP=/dockyard-e2e-test-$$
E2E_DOCKER="$HOSTROOT/usr/bin/docker -H unix://$D/docker.sock"
DOCKER_CONFIG=$D/cli
PATH=$HOSTROOT/usr/bin:$HOSTROOT/usr/sbin:$PATH
export E2E_DOCKER DOCKER_CONFIG PATH D CGP

# Host directories the engine may create outside $TRASH (shared by every
# containerd and dockerd, so only removed when this test created them).
HOST_DIRS="/run/containerd/s /run/containerd /run/docker/plugins /run/docker /etc/docker"
created=""
for d in $HOST_DIRS; do
	[ -e "$d" ] || created="$created $d"
done

# stop_pid PIDFILE SECONDS: SIGTERM the pid in PIDFILE, SIGKILL after
# SECONDS.
stop_pid() {
	[ -s "$1" ] || return 0
	p=$(cat "$1")
	pid_running "$p" || return 0
	kill -TERM "$p" 2>/dev/null
	wait_exit "$p" "$2" || kill -KILL "$p" 2>/dev/null
	wait_exit "$p" 5
}

# kill_cgroup: SIGKILL whatever still runs in the containers' cgroups.
kill_cgroup() {
	find /sys/fs/cgroup -path "*$CGP*" -name cgroup.procs 2>/dev/null |
		while read -r f; do
			while read -r p; do
				kill -KILL "$p" 2>/dev/null
			done <"$f"
		done
	return 0
}

# stop_all: remove every container, stop the engine, kill what is left,
# unmount everything below $TRASH and remove the containers' cgroups.
stop_all() {
	if [ -S "$D/docker.sock" ] && [ -s "$D/dockerd.pid" ]; then
		ids=$(timeout 20 docker -H "unix://$D/docker.sock" ps -aq 2>/dev/null)
		# shellcheck disable=SC2086 # one word per container id
		[ -z "$ids" ] || timeout 60 docker -H "unix://$D/docker.sock" rm -f -v $ids >/dev/null 2>&1
	fi
	stop_pid "$D/dockerd.pid" 20
	stop_pid "$D/containerd.pid" 10
	kill_mentioning "$TRASH"
	kill_cgroup
	sleep 0.2
	e2e_umount_under "$TRASH"
	find /sys/fs/cgroup -depth -type d -path "*$CGP*" -exec rmdir {} + 2>/dev/null
	return 0
}

cleanup() {
	stop_all
	for d in $created; do
		rmdir "$d" 2>/dev/null || [ ! -e "$d" ] || echo "# cleanup: $d left (not empty)"
	done
	cleanup_trash
}
trap cleanup EXIT

# elapsed: seconds since the script started.
elapsed() {
	echo $(($(date +%s) - START))
}

# start_engine: containerd and dockerd by hand, all state under $D.
start_engine() {
	mkdir -p "$D/containerd" "$D/cli" &&
		cat >"$D/containerd.toml" <<EOF &&
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$D/containerd.sock"
[ttrpc]
  address = "$D/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"
EOF
		printf '{ "deprecated-key-path": "%s/key.json" }\n' "$D" >"$D/daemon.json" || return 1
	containerd --config "$D/containerd.toml" >"$D/containerd.log" 2>&1 &
	echo $! >"$D/containerd.pid"
	wait_until 30 test -S "$D/containerd.sock" || {
		tail -n 20 "$D/containerd.log"
		fail "containerd did not bind $D/containerd.sock"
		return 1
	}
	dockerd --config-file "$D/daemon.json" --containerd "$D/containerd.sock" \
		--data-root "$D/docker" --exec-root "$D/exec" --pidfile "$D/dockerd.pid" \
		-H "unix://$D/docker.sock" --bridge=none --iptables=false --ip-masq=false \
		--ip-forward=false --userland-proxy=false --cgroup-parent "$CGP" \
		>"$D/dockerd.log" 2>&1 &
	wait_until 60 e2e_docker version >/dev/null 2>&1 || {
		tail -n 20 "$D/dockerd.log"
		fail "dockerd did not answer on $D/docker.sock"
		return 1
	}
}

expect_success 'the pinned .deb files are present (make debs; fetch-debs --list tests/e2e/debs.list)' '
	for p in docker.io containerd runc tini busybox-static; do
		e2e_deb "$p" || return 1
	done
'

expect_failure 'e2e_manifest fails loudly when the .deb files are missing' '
	E2E_DEBS=$TRASH/no-debs e2e_manifest "$TRASH/bad" 2>err
	rc=$?
	cat err
	grep -q "make debs" err && [ ! -e "$TRASH/bad/e2e.manifest" ] && return "$rc"
'

t=$(date +%s)
expect_success 'e2e_manifest writes a manifest and lock that build an installer with the stand-ins' '
	e2e_manifest "$TRASH/m" &&
	grep -qx "sysbox-run-dir = args" m/e2e.manifest &&
	[ "$(grep -c " path:$SRC_DIR/build/debs/" m/e2e.lock)" = 10 ] &&
	"$BUILD" -q --manifest "$TRASH/m/e2e.manifest" --stub "$STUB" --cache "$TRASH/cache" \
		--out "$TRASH/inst" --level 1 &&
	"$TRASH/inst" list >list &&
	grep -E "^sysbox-standin +0\.6\.7\.9-tc-standin .* bin/sysbox-runc\$" list &&
	grep -E "^docker\.io .* bin/dockerd\$" list &&
	grep -E "^dockyardctl .* bin/dockyardctl\$" list
'
rm -rf "$TRASH/cache" "$TRASH/inst"
t_build=$(($(date +%s) - t))

t=$(date +%s)
expect_success 'e2e_busybox_tar: busybox with its applets, passwd, group, tmp' '
	e2e_busybox_tar "$TRASH/busybox.tar" &&
	tar -tvf busybox.tar >toc &&
	grep -E "^-rwxr-xr-x 0/0 .* \./bin/busybox\$" toc &&
	grep -E " \./bin/sh -> busybox\$" toc &&
	grep -E " \./etc/passwd\$" toc && grep -E " \./etc/group\$" toc &&
	grep -E "^drwxrwxrwt .* \./tmp/\$" toc
'
t_busybox=$(($(date +%s) - t))

t=$(date +%s)
expect_success 'e2e_dind_tar: the engine, its libraries and the entrypoint' '
	e2e_extract_debs "$HOSTROOT" docker.io containerd runc tini &&
	e2e_dind_tar "$TRASH/dind.tar" "$HOSTROOT" &&
	tar -tf dind.tar >toc &&
	for f in usr/bin/dockerd usr/bin/docker usr/bin/containerd usr/bin/containerd-shim-runc-v2 \
		usr/bin/runc usr/bin/docker-init usr/bin/docker-proxy usr/local/bin/dind \
		lib64/ld-linux-x86-64.so.2 lib/x86_64-linux-gnu/libseccomp.so.2 \
		lib/x86_64-linux-gnu/libsystemd.so.0 bin/busybox; do
		grep -qx "\./$f" toc || fail "dind.tar lacks $f" || return 1
	done
'
t_dind=$(($(date +%s) - t))

t=$(date +%s)
expect_success 'Debian containerd and dockerd start by hand under $TRASH' '
	ln -sf tini-static "$HOSTROOT/usr/bin/docker-init" &&
	start_engine &&
	v=$(e2e_docker version --format "{{.Server.Version}}") &&
	case $v in "$E2E_DOCKER_VERSION" | "$E2E_DOCKER_VERSION"+*) ;; *) fail "server version $v" ;; esac
'
t_engine=$(($(date +%s) - t))

t=$(date +%s)
expect_success 'the busybox image imports and runs: echo hi' '
	e2e_import_busybox "$TRASH/busybox.tar" &&
	got=$(timeout 60 $E2E_DOCKER run --rm --network none busybox:latest echo hi) &&
	[ "$got" = hi ] || fail "got \"$got\""
'

expect_success 'the busybox image sees its own root (sh, passwd, tmp)' '
	got=$(timeout 60 $E2E_DOCKER run --rm --network none busybox:latest \
		sh -c "id -un; test -d /tmp && test -w /tmp && echo tmp-ok") &&
	[ "$got" = "root
tmp-ok" ] || fail "got \"$got\""
'
t_busybox_run=$(($(date +%s) - t))

t=$(date +%s)
expect_success 'the DinD image runs elevated and its inner dockerd answers 20.10.24' '
	e2e_import_dind "$TRASH/dind.tar" &&
	[ "$(e2e_docker image inspect --format "{{json .Config.Env}}" dockyard-dind:test)" = \
		"[\"DOCKER_VERSION=20.10.24\"]" ] &&
	e2e_run_dind dind1 &&
	e2e_wait_dind dind1 60 &&
	v=$(timeout 30 $E2E_DOCKER exec dind1 docker version --format "{{.Server.Version}}") &&
	case $v in 20.10.24 | 20.10.24+*) ;; *) fail "inner server version $v" ;; esac
'
t_dind_run=$(($(date +%s) - t))

t=$(date +%s)
expect_success 'a container runs inside the DinD container (busybox imported inside)' '
	timeout 60 $E2E_DOCKER cp "$TRASH/busybox.tar" dind1:/root/busybox.tar &&
	timeout 60 $E2E_DOCKER exec dind1 docker import /root/busybox.tar busybox:latest >/dev/null &&
	got=$(timeout 90 $E2E_DOCKER exec dind1 docker run --rm --network none busybox:latest echo inner) &&
	[ "$got" = inner ] || fail "got \"$got\""
'
t_inner=$(($(date +%s) - t))

expect_success 'stopping leaves no container process, mount or cgroup behind' '
	stop_all &&
	[ -z "$(pids_mentioning "$TRASH")" ] || fail "still running: $(pids_mentioning "$TRASH")" || return 1
	! grep -F " $TRASH" /proc/self/mounts || fail "still mounted" || return 1
	[ -z "$(find /sys/fs/cgroup -path "*$CGP*" 2>/dev/null | head -n 3)" ] || fail "cgroups left"
'

say "# timing: build ${t_build}s, busybox tar ${t_busybox}s, dind tar ${t_dind}s," \
	"engine start ${t_engine}s, busybox runs ${t_busybox_run}s, dind ${t_dind_run}s," \
	"inner container ${t_inner}s," \
	"total $(elapsed)s"
test_done
