#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The build produces a static, stripped stub, a builder, and an installer
# whose CLI answers --help, --version and usage errors as documented.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

INSTALLER="$TRASH/demo-installer"

expect_success 'demo installer builds from payload/demo.manifest' '
	"$BUILD" -q --level 3 --stub "$STUB" --manifest "$SRC_DIR/payload/demo.manifest" \
		--out "$INSTALLER" &&
	test -x "$INSTALLER"
'

if [ "${DY_FLAVOR:-release}" = release ]; then
	expect_success 'installer stub is statically linked and stripped' '
		file "$STUB" >info &&
		grep -Eq "statically linked|static-pie linked" info &&
		! readelf -dl "$STUB" | grep -Eq "NEEDED|INTERP" &&
		grep -q ", stripped" info &&
		! ldd "$STUB" 2>/dev/null | grep -q "=>"
	'

	expect_success 'make built the Debian-sourced installer in dist/, and it checks' '
		"$SRC_DIR/dist/dockyard-installer" check >out 2>&1 &&
		grep -q ": OK" out &&
		"$SRC_DIR/dist/dockyard-installer" list >list &&
		for f in dockerd docker-cli containerd containerd-shim-runc-v2 ctr runc \
			docker-proxy docker-init dockyardctl; do
			grep -q " bin/$f\$" list || fail "list lacks bin/$f"
		done
	'

	expect_success 'the Debian-sourced installer says plainly that its runtime is runc' '
		"$SRC_DIR/dist/dockyard-installer" --version >out &&
		grep -q "default runtime: runc -- this payload carries no sysbox, and Docker-in-Docker needs sysbox" out
	'

	expect_success 'make left SHA256SUMS, SBOM and build info beside it' '
		(cd "$SRC_DIR/dist" && sha256sum -c SHA256SUMS) >sums &&
		test "$(grep -c ": OK\$" sums)" = 3
	'
fi

expect_success 'check verifies the running installer through /proc/self/exe' '
	"$INSTALLER" check 2>err &&
	grep -q "demo-installer: OK" err
'

expect_success '--version names the installer and each payload component' '
	"$INSTALLER" --version >out &&
	grep -q "^dockyard-installer [0-9]" out &&
	grep -q "dockyard-demo *0.1.0" out
'

expect_success '--help lists commands, every option and the exit codes' '
	"$INSTALLER" --help >out &&
	for word in check list extract --json --image --quiet --verbose --help --version \
		"exit status"; do
		grep -q -- "$word" out || fail "help lacks $word"
	done
'

expect_success 'unknown option: exit 2, message names it' '
	"$INSTALLER" --frobnicate >out 2>&1; test $? = 2 &&
	grep -q -- "--frobnicate" out
'

expect_success 'no command: usage on stderr, exit 2' '
	"$INSTALLER" >out 2>err; test $? = 2 &&
	grep -q "usage:" err && test ! -s out
'

expect_success 'extract without a directory is a usage error' '
	"$INSTALLER" extract 2>err; test $? = 2 &&
	grep -q "needs a target directory" err
'

expect_success 'bare stub refuses to run without a payload' '
	must_fail "$STUB" check 2>err &&
	grep -q "trailer" err
'

expect_success 'builder: --help documents every option; missing --manifest is exit 2' '
	"$BUILD" --help >out &&
	for word in --manifest --out --stub --level --window-log --threads --quiet; do
		grep -q -- "$word" out || fail "help lacks $word"
	done &&
	{ "$BUILD" --out x 2>err; test $? = 2; } &&
	grep -q "manifest FILE is required" err
'

expect_success 'builder refuses out-of-range numbers, naming the option' '
	{ "$BUILD" --manifest m --level 42 2>err; test $? = 2; } &&
	grep -q -- "--level .42. must be an integer in 1..19" err &&
	{ "$BUILD" --manifest m --window-log 28 2>err; test $? = 2; } &&
	grep -q -- "--window-log" err
'

test_done
