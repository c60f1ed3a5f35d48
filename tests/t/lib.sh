# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
# Tiny test harness in the style of git's t/test-lib.sh.
#
#   . "$(dirname "$0")/lib.sh"
#   expect_success 'what it shows' 'commands'
#   expect_failure 'what it shows' 'commands'   # commands must fail
#   test_done
#
# Each script gets a private scratch directory $TRASH, removed on exit
# (also when a test fails or the script is interrupted).  Binaries come
# from $DY_BIN (dist/ by default; build/asan for the sanitizer run).

set -u

TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
SRC_DIR=$(cd "$TESTS_DIR/.." && pwd)
DY_BIN=${DY_BIN:-$SRC_DIR/dist}
DY_TOOLS=${DY_TOOLS:-$SRC_DIR/build/rel}
BUILD="$DY_BIN/dockyard-build"
STUB="$DY_BIN/dockyard-installer-stub"
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/dockyard-test.XXXXXX")
export SRC_DIR DY_BIN DY_TOOLS BUILD STUB TRASH

test_count=0
test_failed=0
test_name=$(basename "$0" .sh)

cleanup_trash() {
	rm -rf "$TRASH"
}
trap cleanup_trash EXIT
trap 'exit 130' INT TERM

say() {
	printf '%s\n' "$*"
}

run_test() {
	# $1 expected (0 success / 1 failure), $2 title, $3 body
	test_count=$((test_count + 1))
	out="$TRASH/.out.$test_count"
	( cd "$TRASH" && eval "$3" ) >"$out" 2>&1
	rc=$?
	if { [ "$1" = 0 ] && [ "$rc" = 0 ]; } || { [ "$1" = 1 ] && [ "$rc" != 0 ]; }; then
		say "ok $test_count - $test_name: $2"
	else
		test_failed=$((test_failed + 1))
		say "not ok $test_count - $test_name: $2 (exit $rc)"
		sed 's/^/#   /' "$out" | tail -n 40
	fi
}

expect_success() {
	run_test 0 "$1" "$2"
}

expect_failure() {
	run_test 1 "$1" "$2"
}

test_done() {
	say "# $test_name: $((test_count - test_failed)) passed, $test_failed failed"
	[ "$test_failed" = 0 ]
}

# require WHAT TOOL...: the script needs root (it creates WHAT on the host)
# and these programs; without one, a single failing test names it and the
# script ends.
require() {
	what=$1
	shift
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			expect_success "$tool is installed" 'false'
			test_done
			exit
		fi
	done
	if [ "$(id -u)" != 0 ]; then
		expect_success "runs as root (it creates $what)" 'false'
		test_done
		exit
	fi
}

# ---- helpers for test bodies ----

# ctl ROOT FUNCTION [ARGS...]: a function of ROOT's dockyardctl in a shell
# of its own, as the command runs (set -eu; die exits).
ctl() {
	sh -c 'DOCKYARDCTL_SOURCE_ONLY=1
		. "$1/bin/dockyardctl"
		DOCKYARD_CTL_ROOT=$1
		load_env
		shift
		"$@"' ctl "$@"
}

# fail MESSAGE: make the current test fail with a reason.
fail() {
	echo "FAILED: $*" >&2
	return 1
}

# must_fail CMD...: CMD must exit non-zero, and not by a signal or a
# sanitizer report (tests/run.sh makes those exit 86).
must_fail() {
	"$@"
	rc=$?
	if [ "$rc" = 0 ]; then
		echo "expected failure, got success: $*" >&2
		return 1
	fi
	if [ "$rc" -gt 128 ] || [ "$rc" = 86 ]; then
		echo "died from a signal or a sanitizer report ($rc): $*" >&2
		return 1
	fi
	return 0
}

# dir_is_empty DIR: DIR holds nothing (hidden files included).
dir_is_empty() {
	[ -z "$(ls -A "$1")" ]
}

# no_staging_left: no staging directory is left in $TRASH.
no_staging_left() {
	for f in "$TRASH"/.*dockyard-staging*; do
		[ -e "$f" ] && return 1
	done
	return 0
}

# make_payload_dir DIR [BLOB_BYTES]: a fixture tree with a few files, one
# of them large and incompressible.
make_payload_dir() {
	mkdir -p "$1/src" &&
	printf '#!/bin/sh\necho hello from the payload\n' >"$1/src/hello.sh" &&
	printf 'plain text\n' >"$1/src/notes.txt" &&
	head -c "${2:-3000000}" /dev/urandom >"$1/src/blob.bin" &&
	cat >"$1/test.manifest" <<'MANIFEST'
# fixture manifest
[component tools]
version = 1.2.3
file src/hello.sh -> bin/hello 0755
file src/notes.txt -> share/notes.txt 0644

[component data]
version = 2024.1-r1
file src/blob.bin -> lib/data/blob.bin 0600
MANIFEST
}

# build_installer DIR OUT [args...]: pack DIR/test.manifest quickly.
build_installer() {
	dir=$1
	out=$2
	shift 2
	"$BUILD" -q --level 3 --stub "$STUB" --manifest "$dir/test.manifest" --out "$out" "$@"
}

# ---- helpers for process tests (dockyardctl and stand-in daemons) ----

# pid_running PID: PID exists and is not a zombie.
pid_running() {
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 1)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# pid_parent PID: the parent pid of PID.
pid_parent() {
	sed 's/.*) //' "/proc/$1/stat" | cut -d ' ' -f 2
}

# socket_pids PATH: the pids listening on the unix socket PATH, one a line
# (from ss, independently of dockyardctl's own lookup).
socket_pids() {
	ss -xlpnH 2>/dev/null | awk -v p="$1" '$5 == p' |
		grep -o 'pid=[0-9]*' | cut -d = -f 2 | sort -un
}

# pids_mentioning TEXT: live processes whose command line contains TEXT.
pids_mentioning() {
	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" != "$$" ] || continue
		if { tr '\000' ' ' <"$d/cmdline"; } 2>/dev/null | grep -qF -- "$1"; then
			echo "${d#/proc/}"
		fi
	done
}

# kill_mentioning TEXT: SIGKILL every process whose command line contains
# TEXT (cleanup of stand-in daemons a test started).
kill_mentioning() {
	for p in $(pids_mentioning "$1"); do
		kill -KILL "$p" 2>/dev/null
	done
	return 0
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; fail
# after SECONDS.
wait_until() {
	n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# wait_exit PID SECONDS: wait until PID has exited (gone or a zombie).
wait_exit() {
	wait_until "$2" eval "! pid_running $1"
}

# cidr_is_free CIDR: no IPv4 route of the host overlaps CIDR.
cidr_is_free() {
	ip -4 -o route show table all | python3 -c '
import ipaddress, sys
want = ipaddress.ip_network(sys.argv[1], strict=False)
for line in sys.stdin:
    for tok in line.split()[:2]:
        try:
            net = ipaddress.ip_network(tok, strict=False)
        except ValueError:
            continue
        if net.overlaps(want):
            sys.exit(1)
        break
' "$1"
}

# in_iptables TEXT: an iptables rule (filter, nat or mangle) names TEXT.
in_iptables() {
	{
		iptables -w -S
		iptables -w -t nat -S
		iptables -w -t mangle -S
	} 2>/dev/null | grep -qF -- "$1"
}

# pick_free FORMAT FIRST STEP COUNT: print a number N = FIRST + STEP * k
# for which the network `printf FORMAT N` overlaps no route and appears in
# no iptables rule; the COUNT candidates are tried from k = $$ % COUNT on,
# so that runs at the same time pick different ones.  Fails when none is.
pick_free() {
	_pf_i=0
	while [ "$_pf_i" -lt "$4" ]; do
		_pf_n=$(($2 + $3 * (($$ + _pf_i) % $4)))
		# shellcheck disable=SC2059 # the format is the caller's network pattern
		_pf_net=$(printf "$1" "$_pf_n")
		if cidr_is_free "$_pf_net" && ! in_iptables "$_pf_net"; then
			echo "$_pf_n"
			return 0
		fi
		_pf_i=$((_pf_i + 1))
	done
	return 1
}

# make_standin_payload DIR CLI_TEXT [DOCKERD]: DIR/test.manifest of the
# stand-in containerd and dockerd (tests/standins/, or DOCKERD), the real
# dockyardctl, and a fake docker client that prints CLI_TEXT, its
# arguments and the DOCKER_HOST and DOCKER_CONFIG it got, and appends its
# arguments to $DOCKER_CONFIG/calls.
make_standin_payload() {
	mkdir -p "$1" &&
		cp "$SRC_DIR/tests/standins/containerd" "$1/containerd" &&
		cp "${3:-$SRC_DIR/tests/standins/dockerd}" "$1/dockerd" &&
		printf '#!/bin/sh\necho "$*" >>"$DOCKER_CONFIG/calls"\necho "%s $* host=$DOCKER_HOST config=$DOCKER_CONFIG"\n' "$2" >"$1/cli" &&
		cp -r "$SRC_DIR/scripts" "$1/scripts" &&
		cat >"$1/test.manifest" <<-MANIFEST
		[component engine]
		version = 1.0.0-test
		file dockerd -> bin/dockerd 0755
		file containerd -> bin/containerd 0755
		file cli -> bin/docker-cli 0755

		[component dockyardctl]
		version = 0.1.0
		concat scripts -> bin/dockyardctl 0755
		MANIFEST
}

# make_standin_sysbox_payload DIR CLI_TEXT [DOCKERD]: make_standin_payload
# plus the sysbox-mgr and sysbox-fs stand-ins in the engine component.
make_standin_sysbox_payload() {
	make_standin_payload "$@" &&
		cp "$SRC_DIR/tests/standins/sysbox-mgr" "$SRC_DIR/tests/standins/sysbox-fs" "$1/" &&
		sed -i 's|^file cli -> bin/docker-cli 0755$|&\nfile sysbox-mgr -> bin/sysbox-mgr 0755\nfile sysbox-fs -> bin/sysbox-fs 0755|' \
			"$1/test.manifest"
}

# make_standin_instance ROOT PREFIX NET POOL: an instance root for the
# dockyardctl tests: bin/ with the concatenated dockyardctl and the
# stand-in daemons, etc/dockyard.env for the bridge NET.1/24 (NET is
# "a.b.c") and the pool POOL, and the containerd.toml and daemon.json the
# stand-ins read.
make_standin_instance() {
	mkdir -p "$1/bin" "$1/etc" &&
		"$DY_TOOLS/dy-concat" "$SRC_DIR/scripts" "$1/bin/dockyardctl" &&
		chmod 755 "$1/bin/dockyardctl" &&
		for _si_c in sysbox-mgr sysbox-fs containerd dockerd; do
			cp "$SRC_DIR/tests/standins/$_si_c" "$1/bin/$_si_c" || return 1
		done &&
		cat >"$1/etc/dockyard.env" <<-ENV &&
		# test instance
		DOCKYARD_ROOT=$1
		DOCKYARD_DOCKER_PREFIX=$2
		DOCKYARD_BRIDGE_CIDR=$3.1/24
		DOCKYARD_FIXED_CIDR=$3.0/24
		DOCKYARD_POOL_BASE=$4
		DOCKYARD_POOL_SIZE=24
		ENV
		printf '[grpc]\n  address = "%s"\n' "$1/run/containerd/containerd.sock" \
			>"$1/etc/containerd.toml" &&
		printf '{"hosts": ["unix://%s"], "containerd": "%s", "bridge": "%s"}\n' \
			"$1/run/docker.sock" "$1/run/containerd/containerd.sock" "${2}docker0" \
			>"$1/etc/daemon.json"
}

# json_valid SCHEMA FILE...: each FILE holds one JSON document valid
# against docs/schemas/SCHEMA.json (Draft 7, python3-jsonschema).
json_valid() {
	_jv_schema="$SRC_DIR/docs/schemas/$1.json"
	shift
	python3 - "$_jv_schema" "$@" <<-'PY'
	import json, sys
	import jsonschema
	schema = json.load(open(sys.argv[1]))
	jsonschema.Draft7Validator.check_schema(schema)
	v = jsonschema.Draft7Validator(schema)
	bad = 0
	for path in sys.argv[2:]:
	    for e in v.iter_errors(json.load(open(path))):
	        print("%s: %s: %s" % (path, "/".join(map(str, e.absolute_path)), e.message), file=sys.stderr)
	        bad = 1
	sys.exit(bad)
	PY
}

# ---- host objects of instances on real engines ----

# The host directories every engine shares (containerd's and docker's run
# directories, /etc/docker, the instance registry).  host_dirs_note
# remembers which are absent now; host_dirs_remove removes those, and only
# those, once empty: a test never removes what it did not create.
ENGINE_HOST_DIRS="/run/containerd/s /run/containerd /run/docker/plugins /run/docker /etc/docker /etc/dockyard/instances /etc/dockyard"
host_dirs_note() {
	host_dirs_created=""
	for _hd in $ENGINE_HOST_DIRS; do
		[ -e "$_hd" ] || host_dirs_created="$host_dirs_created $_hd"
	done
}

host_dirs_remove() {
	for _hd in $host_dirs_created; do
		rmdir "$_hd" 2>/dev/null
	done
	return 0
}

# prefix_objects_remove PREFIX...: what an instance leaves on the host
# outside its root when its destroy did not run: the PREFIXdocker user and
# group, the registry entry and the PREFIXdocker0 bridge.
prefix_objects_remove() {
	for _po in "$@"; do
		[ -n "$_po" ] || continue
		userdel "${_po}docker" >/dev/null 2>&1
		groupdel "${_po}docker" >/dev/null 2>&1
		rm -f "/etc/dockyard/instances/$_po"
		ip link del "${_po}docker0" >/dev/null 2>&1
	done
	return 0
}
