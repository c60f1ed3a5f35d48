#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dockyardctl --version (from the installed payload record), exit status 2
# for every usage error, the optional dockyard.env keys checked as data,
# reload refusing a stopped dockerd, and context with a docker client
# stand-in that records its calls.
# flavors: release
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

R="$(cd "$TRASH" && pwd -P)/inst"
CTL="$R/bin/dockyardctl"
mkdir -p "$R/bin" "$R/etc" "$R/log" "$R/run"
"$DY_TOOLS/dy-concat" "$SRC_DIR/scripts" "$CTL" && chmod 755 "$CTL"
{
	echo "DOCKYARD_ROOT=$R"
	echo "DOCKYARD_DOCKER_PREFIX=dyo"
	echo "DOCKYARD_BRIDGE_CIDR=172.31.251.1/24"
	echo "DOCKYARD_FIXED_CIDR=172.31.251.0/24"
	echo "DOCKYARD_POOL_BASE=172.31.80.0/20"
	echo "DOCKYARD_POOL_SIZE=24"
} >"$R/etc/dockyard.env"

# status_of CMD...: the exit status of CMD.
status_of() {
	rc=0
	"$@" >/dev/null 2>>"$TRASH/usage.err" || rc=$?
	echo "$rc"
}

expect_success '--version names dockyardctl and the installed components' '
	printf "dockyard-payload 1\nbuilt 0\ncomponent engine 20.10.24\ncomponent dockyardctl 0.1.0\n" \
		>"$R/etc/payload.meta" &&
	"$CTL" --version >out &&
	grep -qx "dockyardctl 0.1.0 (instance at $R)" out &&
	grep -qx "  engine 20.10.24" out &&
	"$CTL" -V >out2 && cmp out out2 &&
	rm "$R/etc/payload.meta" && "$CTL" --version | grep -q "version unknown"
'

expect_success 'every usage error exits 2' '
	for cmd in "--bogus" "" "nosuchcommand" "env x" "logs --bogus" "logs nosuch" \
		"logs dockerd containerd" "isolate maybe" "isolate on off" "status --bogus" \
		"stop now" "start --bogus" "net-up x" "net-down x" "verify --bogus" \
		"destroy --bogus" "context --bogus" "reload now" "--version x"; do
		# shellcheck disable=SC2086 # each entry is a command line
		rc=$(status_of "$CTL" $cmd) &&
		{ test "$rc" = 2 || fail "dockyardctl $cmd: exit $rc, want 2"; } || return 1
	done &&
	grep -q "see --help" "$TRASH/usage.err"
'

expect_success '--help names context, reload and --version' '
	"$CTL" --help >out &&
	grep -q "^  context \[--use\]" out && grep -q "^  reload " out && grep -q -- "--version" out
'

expect_success 'an optional key with characters outside its rule is refused' '
	cp "$R/etc/dockyard.env" env.saved &&
	echo "DOCKYARD_SYSBOX_MGR_EXTRA_ARGS=\"--a *\"" >>"$R/etc/dockyard.env" &&
	must_fail "$CTL" env 2>err &&
	grep -q "DOCKYARD_SYSBOX_MGR_EXTRA_ARGS" err &&
	cp env.saved "$R/etc/dockyard.env" &&
	echo "DOCKYARD_HTTP_PROXY=\"http://a b\"" >>"$R/etc/dockyard.env" &&
	must_fail "$CTL" env 2>err &&
	grep -q "DOCKYARD_HTTP_PROXY" err &&
	cp env.saved "$R/etc/dockyard.env"
'

expect_success 'reload of a stopped dockerd fails and says so' '
	must_fail "$CTL" reload 2>err &&
	grep -q "dockerd is not running" err
'

expect_success 'context creates, then updates, the context of the prefix' '
	mkdir fake &&
	printf "#!/bin/sh\necho \"\$*\" >>\"%s/calls\"\ncase \"\$1 \$2\" in \"context inspect\") test -f \"%s/made\" ;; \"context create\") touch \"%s/made\" ;; esac\n" \
		"$TRASH" "$TRASH" "$TRASH" >"$R/bin/docker-cli" &&
	chmod 755 "$R/bin/docker-cli" &&
	DOCKER_HOST=tcp://elsewhere:2375 "$CTL" context >out 2>err &&
	grep -q "created docker context dyo" err &&
	grep -qx "docker --context dyo ps" out &&
	grep -qx "context create dyo --description dockyard instance dyo at $R --docker host=unix://$R/run/docker.sock" calls &&
	"$CTL" context --use 2>err &&
	grep -q "updated docker context dyo" err &&
	grep -qx "context update dyo --description dockyard instance dyo at $R --docker host=unix://$R/run/docker.sock" calls &&
	grep -qx "context use dyo" calls
'

test_done
