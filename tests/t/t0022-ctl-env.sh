#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dockyardctl finds its instance from its own path, reads dockyard.env as
# data (never as shell), refuses bad values naming key and rule, and its
# small commands (env, logs, usage) behave.
# flavors: release
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

R="$(cd "$TRASH" && pwd -P)/inst"
CTL="$R/bin/dockyardctl"
mkdir -p "$R/bin" "$R/etc" "$R/log"
"$DY_TOOLS/dy-concat" "$SRC_DIR/scripts" "$CTL" && chmod 755 "$CTL"

# write_env [KEY=VALUE...]: a valid env file, with overrides.
write_env() {
	{
		echo "# test instance"
		echo "DOCKYARD_ROOT=$R"
		echo "DOCKYARD_DOCKER_PREFIX=dyt"
		echo "DOCKYARD_BRIDGE_CIDR=172.31.250.1/24"
		echo "DOCKYARD_FIXED_CIDR=172.31.250.0/24"
		echo "DOCKYARD_POOL_BASE=172.31.64.0/20"
		echo "DOCKYARD_POOL_SIZE=24"
		for kv in "$@"; do
			echo "$kv"
		done
	} >"$R/etc/dockyard.env"
}

expect_success 'env prints DOCKER_HOST for this instance, from any directory' '
	write_env &&
	(cd / && "$CTL" env) >out &&
	grep -qx "export DOCKER_HOST=unix://$R/run/docker.sock" out &&
	grep -qx "export DOCKER_CONFIG=$R/lib/docker-config" out
'

expect_success 'quoted values are taken literally' '
	write_env "DOCKYARD_DOCKER_PREFIX=\"dyq\"" && "$CTL" env >/dev/null
'

expect_success 'shell syntax in the env file is never executed' '
	write_env "DOCKYARD_DOCKER_PREFIX=\$(touch $TRASH/pwned)" &&
	must_fail "$CTL" env 2>err &&
	grep -q "DOCKYARD_DOCKER_PREFIX .* must be at most 8 characters of \[a-z0-9_\]" err &&
	test ! -e "$TRASH/pwned"
'

expect_success 'a prefix too long for the bridge name is refused' '
	write_env "DOCKYARD_DOCKER_PREFIX=abcdefghi" &&
	must_fail "$CTL" env 2>err && grep -q "at most 8 characters" err
'

expect_success 'a CIDR without a prefix length is refused, naming the key' '
	write_env "DOCKYARD_FIXED_CIDR=172.31.250.0" &&
	must_fail "$CTL" env 2>err && grep -q "DOCKYARD_FIXED_CIDR .172.31.250.0. needs a prefix length" err
'

expect_success 'a missing key is named' '
	write_env && sed -i "/DOCKYARD_POOL_SIZE/d" "$R/etc/dockyard.env" &&
	must_fail "$CTL" env 2>err && grep -q "lacks DOCKYARD_POOL_SIZE" err
'

expect_success 'CRLF line endings are refused' '
	write_env && sed -i "s/\$/\r/" "$R/etc/dockyard.env" &&
	must_fail "$CTL" env 2>err && grep -q "CRLF" err
'

expect_success 'an env file naming another root is refused' '
	write_env "DOCKYARD_ROOT=/elsewhere" &&
	must_fail "$CTL" env 2>err && grep -q "says DOCKYARD_ROOT=/elsewhere, but this dockyardctl lives in $R" err
'

expect_success 'no env file: the message names the path' '
	rm -f "$R/etc/dockyard.env" &&
	must_fail "$CTL" env 2>err && grep -q "$R/etc/dockyard.env is missing" err
'

expect_success 'logs shows one component or all, refuses unknown ones' '
	write_env &&
	echo "dockerd line" >"$R/log/dockerd.log" && echo "containerd line" >"$R/log/containerd.log" &&
	"$CTL" logs dockerd >out && grep -q "dockerd line" out && ! grep -q containerd out &&
	"$CTL" logs >out && grep -q "dockerd line" out && grep -q "containerd line" out &&
	must_fail "$CTL" logs nginx 2>err && grep -q "unknown component .nginx." err
'

expect_success 'usage errors exit 2' '
	{ "$CTL" frobnicate 2>err; test $? = 2; } && grep -q "unknown command frobnicate" err &&
	{ "$CTL" 2>err; test $? = 2; } && grep -q "usage:" err &&
	"$CTL" --help | grep -q "status \[--json\]"
'

test_done
