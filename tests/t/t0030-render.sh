#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The files installer/render.c writes, run for real: dy-render writes them
# for made-up instances whose roots are in $TRASH, the wrappers run
# against fake sysbox-runc-bin and docker-cli scripts there, and
# systemd-analyze checks the unit.  Nothing outside $TRASH is touched.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

LC_ALL=C
export LC_ALL
unset SYSBOX_RUN_DIR DOCKER_HOST DOCKER_CONFIG

RENDER=$DY_TOOLS/dy-render
P=dyr
UNIT=${P}docker.service

# render MODE [ARGS...]: render the instance $TRASH/MODE into its own root.
render() {
	_r_mode=$1
	shift
	"$RENDER" --root "$TRASH/$_r_mode" --prefix "$P" --bridge-cidr 172.31.250.1/24 \
		--fixed-cidr 172.31.250.0/24 --pool-base 172.31.0.0/20 --pool-size 24 \
		--mode "$_r_mode" "$@" "$TRASH/$_r_mode"
}

# fake_runtime ROOT: a sysbox-runc-bin that records its arguments (one
# "[arg]" a line), SYSBOX_RUN_DIR and its parent's pid in ROOT/calls.*,
# writes a line to the file given by --log, and exits $FAKE_RC.
fake_runtime() {
	cat >"$1/bin/sysbox-runc-bin" <<'FAKE'
#!/bin/sh
calls=$(dirname "$0")/../calls
printf '[%s]\n' "$@" >"$calls.args"
printf '%s\n' "${SYSBOX_RUN_DIR-unset}" >"$calls.env"
printf '%s\n' "$PPID" >"$calls.ppid"
next=
for a in "$@"; do
	if [ -n "$next" ]; then
		printf '{"level":"error","msg":"fake runtime failed"}\n' >"$a"
		next=
	fi
	case $a in
	--log) next=1 ;;
	--log=*) printf '{"level":"error","msg":"fake runtime failed"}\n' >"${a#--log=}" ;;
	--version) echo "sysbox-runc fake version 0.0.0" ;;
	esac
done
exit "${FAKE_RC:-0}"
FAKE
	chmod 755 "$1/bin/sysbox-runc-bin"
}

# fake_cli ROOT: a docker-cli that prints the environment it got and its
# arguments.
fake_cli() {
	cat >"$1/bin/docker-cli" <<'FAKE'
#!/bin/sh
printf 'DOCKER_HOST=%s\n' "${DOCKER_HOST-unset}"
printf 'DOCKER_CONFIG=%s\n' "${DOCKER_CONFIG-unset}"
printf '[%s]\n' "$@"
FAKE
	chmod 755 "$1/bin/docker-cli"
}

# runtime_logs ROOT: the files kept in ROOT/log/runtime, one a line.
runtime_logs() {
	[ -d "$1/log/runtime" ] || return 0
	ls -A "$1/log/runtime"
}

expect_success 'dy-render writes every file for args, env and runc payloads' '
	for m in args env runc; do
		render "$m" &&
		for f in etc/daemon.json etc/containerd.toml bin/docker unit/$UNIT; do
			[ -s "$TRASH/$m/$f" ] || fail "$m: $f missing"
		done || return 1
	done &&
	[ -x "$TRASH/args/bin/sysbox-runc" ] && [ -x "$TRASH/env/bin/sysbox-runc" ] &&
	[ ! -e "$TRASH/runc/bin/sysbox-runc" ] &&
	fake_runtime "$TRASH/args" && fake_runtime "$TRASH/env" &&
	fake_cli "$TRASH/args"
'

expect_success 'the wrappers start with #!/bin/sh, are 0755 and pass sh -n and shellcheck' '
	for w in args/bin/docker args/bin/sysbox-runc env/bin/sysbox-runc; do
		[ "$(head -n 1 "$TRASH/$w")" = "#!/bin/sh" ] || fail "$w: first line" || return 1
		[ "$(stat -c %a "$TRASH/$w")" = 755 ] || fail "$w: mode" || return 1
		sh -n "$TRASH/$w" && shellcheck -s sh "$TRASH/$w" || return 1
	done
'

expect_success 'dy-render refuses a root with a space (it would break the wrappers)' '
	must_fail "$RENDER" --root "$TRASH/a b" --prefix "$P" --mode args "$TRASH/bad" 2>err &&
	grep -q "root .* may contain only" err &&
	[ ! -e "$TRASH/bad" ]
'

expect_success 'the runtime wrapper passes its arguments unchanged and keeps the status' '
	R=$TRASH/args &&
	"$R/bin/sysbox-runc" --root /run/x --log "$TRASH/l.json" "a b" "" "*" "-x=1" create id1 &&
	printf "[%s]\n" --root /run/x --log "$TRASH/l.json" "a b" "" "*" "-x=1" create id1 >expected &&
	cmp expected "$R/calls.args" &&
	FAKE_RC=3 "$R/bin/sysbox-runc" start id1
	[ $? = 3 ] || fail "exit status not kept"
'

expect_success 'bare --version works (dockerd runs it at start)' '
	out=$("$TRASH/args/bin/sysbox-runc" --version) &&
	[ "$out" = "sysbox-runc fake version 0.0.0" ] &&
	[ "$(cat "$TRASH/args/calls.args")" = "[--version]" ]
'

expect_success 'SYSBOX_RUN_DIR is exported in env mode only' '
	"$TRASH/env/bin/sysbox-runc" --version >/dev/null &&
	[ "$(cat "$TRASH/env/calls.env")" = "$TRASH/env/run/sysbox" ] &&
	"$TRASH/args/bin/sysbox-runc" --version >/dev/null &&
	[ "$(cat "$TRASH/args/calls.env")" = unset ]
'

expect_success 'without run/debug-runtime the runtime is exec'\''d and no log is kept' '
	R=$TRASH/args &&
	rm -rf "$R/log" "$R/run" &&
	sh -c '\''"$1" --log "$2" --log-format json create id2; rc=$?; echo $$ >"$3"; exit $rc'\'' \
		sh "$R/bin/sysbox-runc" "$TRASH/l.json" "$TRASH/shell.pid" &&
	[ -s "$TRASH/l.json" ] &&
	[ -z "$(runtime_logs "$R")" ] &&
	[ "$(cat "$R/calls.ppid")" = "$(cat "$TRASH/shell.pid")" ]
'

expect_success 'in debug mode the --log file is kept in log/runtime, with the status' '
	for m in args env; do
		R=$TRASH/$m &&
		rm -rf "$R/log" &&
		mkdir -p "$R/run" &&
		echo "$R/log/runtime" >"$R/run/debug-runtime" &&
		rm -f "$TRASH/l.json" &&
		FAKE_RC=1 "$R/bin/sysbox-runc" --run-dir "$R/run/sysbox" --root /run/x \
			--log "$TRASH/l.json" --log-format json create --bundle /b id3
		[ $? = 1 ] || fail "$m: exit status not kept" || return 1
		kept=$(runtime_logs "$R") &&
		wrapper=$(cat "$R/calls.ppid") &&
		case $kept in
		[0-9]*T[0-9]*Z-"$wrapper"-create.log) ;;
		*) fail "$m: kept [$kept]" || return 1 ;;
		esac &&
		cmp "$TRASH/l.json" "$R/log/runtime/$kept" || return 1
	done
'

expect_success 'debug mode: --log=FILE, the subcommand after global flags, a bare --version' '
	R=$TRASH/args &&
	rm -rf "$R/log" "$TRASH/l2.json" &&
	"$R/bin/sysbox-runc" --systemd-cgroup --log="$TRASH/l2.json" --root /run/x delete id4 &&
	case $(runtime_logs "$R") in
	*-delete.log) ;;
	*) fail "kept [$(runtime_logs "$R")]" ;;
	esac &&
	cmp "$TRASH/l2.json" "$R/log/runtime/$(runtime_logs "$R")" &&
	rm -rf "$R/log" &&
	"$R/bin/sysbox-runc" --log "$TRASH/l2.json" ../../etc &&
	case $(runtime_logs "$R") in
	*-none.log) ;;
	*) fail "unsafe subcommand name kept: [$(runtime_logs "$R")]" ;;
	esac &&
	rm -rf "$R/log" &&
	[ "$("$R/bin/sysbox-runc" --version)" = "sysbox-runc fake version 0.0.0" ] &&
	[ -z "$(runtime_logs "$R")" ]
'

expect_success 'the docker wrapper sets DOCKER_HOST and DOCKER_CONFIG and passes the arguments' '
	R=$TRASH/args &&
	DOCKER_HOST=tcp://elsewhere:2375 "$R/bin/docker" run --rm "a b" "" "*" >out &&
	{
		echo "DOCKER_HOST=unix://$R/run/docker.sock" &&
		echo "DOCKER_CONFIG=$R/lib/docker-config" &&
		printf "[%s]\n" run --rm "a b" "" "*"
	} >expected &&
	cmp expected out
'

# systemd-analyze verify exits 0 on mere warnings, so any output fails;
# it checks that Exec binaries exist, so stubs stand at the unit's paths.
# (--root=DIR does not work for verify without a full systemd tree.)
expect_success 'systemd-analyze verify: the unit passes with no output' '
	command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed" &&
	R=$TRASH/args &&
	printf "#!/bin/sh\nexit 0\n" >"$R/bin/dockyardctl" &&
	chmod 755 "$R/bin/dockyardctl" &&
	systemd-analyze verify "$R/unit/$UNIT" >verify.out 2>&1 &&
	cat verify.out &&
	[ ! -s verify.out ]
'

expect_success 'systemd-analyze verify, as run here, reports a missing ExecStart binary' '
	R=$TRASH/runc &&
	rm -f "$R/bin/dockyardctl" &&
	{ systemd-analyze verify "$R/unit/$UNIT" >verify.out 2>&1; true; } &&
	cat verify.out &&
	grep -q "dockyardctl" verify.out
'

test_done
