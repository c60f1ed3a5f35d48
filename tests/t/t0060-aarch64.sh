#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# aarch64 installers: built from the Debian manifest's arm64 .debs with the
# cross-built stub (make arm64), run under qemu-aarch64-static (user-mode
# emulation, no binfmt).  They verify, list, extract and plan like the
# x86_64 ones, record their architecture, and an installer for another
# machine is refused by install, plan and preflight (exit 3) before it
# writes anything.  The builder refuses a manifest, lock, stub or payload
# file that does not fit the chosen architecture, naming it.
#
# The emulated parts and the second build run in the release flavour only:
# the aarch64 stub is the same binary in both, and the sanitizer flavour
# tests the builder and the x86_64 stub's side.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

QEMU=qemu-aarch64-static
A64_STUB="$SRC_DIR/dist/aarch64/dockyard-installer-stub"
MAN="$SRC_DIR/payload/debian.manifest"
A="$TRASH/one/dockyard-installer"
FX="$TRASH/fx"
SYS="$TRASH/sys"
# plan and gen-env create nothing, but their networks are checked against
# the host's routes and instances: given ones outside 172.16.0.0/12, which
# the generated ones (and other tests) use.
NET=$(pick_free "10.213.%d.0/24" 100 1 100) || NET=100
POOL=$(pick_free "10.214.%d.0/22" 0 4 60) || POOL=0
NETFLAGS="--prefix a64t --bridge-cidr 10.213.$NET.1/24 --fixed-cidr 10.213.$NET.0/24 --pool-base 10.214.$POOL.0/22 --pool-size 26"
EMULATE=0
[ "${DY_FLAVOR:-release}" = release ] && EMULATE=1

if [ "$(uname -m)" != x86_64 ]; then
	expect_success 'this test runs on an x86_64 build host' 'false'
	test_done
	exit
fi

# a64build OUT [args...]: the Debian payload for aarch64, quickly.
a64build() {
	out=$1
	shift
	mkdir -p "$(dirname "$out")" &&
		"$BUILD" -q --level 1 --arch aarch64 --stub "$A64_STUB" --cache "$TRASH/cache" \
			--manifest "$MAN" --out "$out" "$@"
}

# exit_is N CMD...: CMD exits with status N.
exit_is() {
	want=$1
	shift
	"$@"
	rc=$?
	[ "$rc" = "$want" ] || fail "exit $rc, not $want: $*"
}

# members: "DEB SRC DEST MODE" for every member line of the manifest, DEB
# being its component's path.aarch64 .deb.
members() {
	awk -v dir="$SRC_DIR/payload" '
		/^\[component / { deb = "" }
		$1 == "path.aarch64" { deb = dir "/" $3 }
		$1 == "member" && deb != "" { print deb, $2, $4, $5 }
	' "$MAN"
}

expect_success 'the tools are here: qemu-aarch64-static and the aarch64 stub (make deps, make arm64)' '
	command -v $QEMU && file "$A64_STUB" | grep "ARM aarch64" | grep -Eq "statically linked|static-pie linked"
'

expect_success 'the aarch64 installer builds from the arm64 .debs' '
	a64build "$A" && test -s "$A"
'

expect_success 'its stub is the aarch64 stub, and the SBOM purls name arm64' '
	head -c "$(stat -c %s "$A64_STUB")" "$A" | cmp - "$A64_STUB" &&
	spdx="$TRASH/one/dockyard-installer.spdx.json" &&
	test "$(grep -c "pkg:deb/debian/.*?arch=arm64\"" "$spdx")" = 5 &&
	grep -q "pkg:generic/dockyard-installer-stub@.*?arch=aarch64\"" "$spdx" &&
	! grep -q amd64 "$spdx" && grep -q "\"arch\": \"aarch64\"" "$TRASH/one/dockyard-installer.buildinfo.json"
'

expect_success 'the x86_64 stub reads the aarch64 metadata: list --json says aarch64' '
	"$STUB" --image "$A" list --json >list.json &&
	python3 - list.json <<-EOF
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["arch"] == "aarch64", d["arch"]
	assert "/lib/ld-linux-aarch64.so.1" in d["host_libraries"], d["host_libraries"]
	runc = [f for f in d["files"] if f["path"] == "bin/runc"][0]
	assert runc["needs"][0] == "/lib/ld-linux-aarch64.so.1", runc
	assert "libseccomp.so.2" in runc["needs"], runc
	EOF
'

expect_success 'install, plan and preflight of the aarch64 installer on this x86_64 host: exit 3, nothing written' '
	exit_is 3 "$STUB" --image "$A" install --root "$TRASH/r1" --no-start 2>err &&
	grep -q "is an installer for aarch64, but this machine is x86_64" err &&
	grep -q "dockyard-build --arch x86_64" err && test ! -e "$TRASH/r1" &&
	exit_is 3 "$STUB" --image "$A" plan --root "$TRASH/r1" 2>err &&
	grep -q "is an installer for aarch64" err && test ! -e "$TRASH/r1" &&
	exit_is 3 "$STUB" --image "$A" preflight 2>err && grep -q "is an installer for aarch64" err
'

# A fake aarch64 image tree: each library the payload needs, as an aarch64
# ELF file (a copy of the stub: the lookup reads the ELF header only).
expect_success 'preflight finds the aarch64 libraries of an image tree, and not an x86_64 copy' '
	mkdir -p "$SYS/lib/aarch64-linux-gnu" "$SYS/lib/x86_64-linux-gnu" &&
	cp "$A64_STUB" "$SYS/lib/ld-linux-aarch64.so.1" &&
	for lib in libc.so.6 libdevmapper.so.1.02.1 libseccomp.so.2 libsystemd.so.0; do
		cp "$A64_STUB" "$SYS/lib/aarch64-linux-gnu/$lib" || return 1
	done &&
	"$STUB" --image "$A" preflight --sysroot "$SYS" >out &&
	grep -q "^PASS  shared-libraries   all 5 libraries the payload needs are present" out &&
	rm "$SYS/lib/aarch64-linux-gnu/libseccomp.so.2" &&
	cp "$STUB" "$SYS/lib/x86_64-linux-gnu/libseccomp.so.2" &&
	printf "/lib/x86_64-linux-gnu\n" >"$SYS/etc.conf" && mkdir -p "$SYS/etc" &&
	mv "$SYS/etc.conf" "$SYS/etc/ld.so.conf" &&
	"$STUB" --image "$A" preflight --sysroot "$SYS" >out &&
	grep -q "shared-libraries .*missing libseccomp.so.2 (needed by bin/runc" out
'

expect_success 'an image tree may be for another machine: plan --sysroot is not refused' '
	printf "root:x:0:\n" >"$SYS/etc/group" &&
	printf "root:x:0:0:root:/root:/bin/sh\n" >"$SYS/etc/passwd" &&
	"$STUB" --image "$A" plan --sysroot "$SYS" --root /dy-a64 $NETFLAGS >out 2>err &&
	grep -q "^plan for $SYS/dy-a64 " out && test ! -e "$SYS/dy-a64"
'

expect_success 'the builder refuses a manifest without path.aarch64, naming the component' '
	mkdir -p m && ln -s "$SRC_DIR/build" build && ln -s "$SRC_DIR/scripts" scripts &&
	grep -v "^path.aarch64 = .*/runc_" "$MAN" >m/debian.manifest &&
	cp "$SRC_DIR/payload/debian.lock" m/debian.lock &&
	must_fail "$BUILD" -q --level 1 --arch aarch64 --stub "$A64_STUB" --cache "$TRASH/cache" \
		--manifest m/debian.manifest --out "$TRASH/no" 2>err &&
	grep -q "component runc 1.1.5+ds1-1+deb12u1 has no url or path for aarch64" err &&
	test ! -e "$TRASH/no"
'

expect_success 'the builder refuses a lock without the aarch64 lines, naming the component' '
	cp "$MAN" m/nolock.manifest &&
	grep -v "^tini .* aarch64 " "$SRC_DIR/payload/debian.lock" >m/nolock.lock &&
	must_fail "$BUILD" -q --level 1 --arch aarch64 --stub "$A64_STUB" --cache "$TRASH/cache" \
		--manifest m/nolock.manifest --out "$TRASH/no" 2>err &&
	grep -q "tini 0.19.0-1+b3 (aarch64): no entry in m/nolock.lock" err && test ! -e "$TRASH/no"
'

expect_success 'the builder refuses a stub or a payload binary of the other architecture' '
	make_payload_dir "$FX" 400000 &&
	cp "$STUB" "$FX/src/x86-tool" &&
	printf "[component tool]\nversion = 1\nfile src/x86-tool -> bin/tool 0755\n" >"$FX/elf.manifest" &&
	must_fail "$BUILD" -q --level 1 --arch aarch64 --stub "$STUB" \
		--manifest "$FX/test.manifest" --out "$TRASH/no" 2>err &&
	grep -q "installer stub $STUB is an x86_64 executable, but this installer is for aarch64" err &&
	must_fail "$BUILD" -q --level 1 --arch aarch64 --stub "$A64_STUB" \
		--manifest "$FX/elf.manifest" --out "$TRASH/no" 2>err &&
	grep -q "src/x86-tool: an x86_64 ELF file, but this installer is for aarch64" err &&
	test ! -e "$TRASH/no"
'

expect_success 'without --stub, --arch aarch64 takes aarch64/dockyard-installer-stub beside the default' '
	mkdir -p bin/aarch64 && cp "$BUILD" bin/dockyard-build &&
	cp "$STUB" bin/dockyard-installer-stub && cp "$A64_STUB" bin/aarch64/ &&
	bin/dockyard-build -q --level 1 --arch aarch64 --manifest "$FX/test.manifest" --out out-a &&
	head -c "$(stat -c %s "$A64_STUB")" out-a | cmp - "$A64_STUB" &&
	bin/dockyard-build -q --level 1 --manifest "$FX/test.manifest" --out out-x &&
	head -c "$(stat -c %s "$STUB")" out-x | cmp - "$STUB" &&
	"$STUB" --image out-a list --json | grep -q "\"arch\": \"aarch64\"" &&
	"$STUB" --image out-x list --json | grep -q "\"arch\": \"x86_64\""
'

if [ "$EMULATE" = 0 ]; then
	test_done
	exit
fi

# ---- the release flavour only ----

expect_success 'a second build is byte for byte the same, SBOM and sums too' '
	a64build "$TRASH/two/dockyard-installer" &&
	cmp "$A" "$TRASH/two/dockyard-installer" &&
	cmp "$TRASH/one/dockyard-installer.spdx.json" "$TRASH/two/dockyard-installer.spdx.json" &&
	cmp "$TRASH/one/SHA256SUMS" "$TRASH/two/SHA256SUMS"
'

# ---- under emulation: the aarch64 stub runs ----


expect_success 'qemu: --version and list --json show the architecture and the aarch64 libraries' '
	$QEMU "$A" --version >out &&
	grep -q "^architecture: aarch64$" out &&
	grep -q "^needs host libraries: /lib/ld-linux-aarch64.so.1 libc.so.6 " out &&
	grep -q "^  runc  *1.1.5+ds1-1+deb12u1$" out &&
	$QEMU "$A" list --json >list.json &&
	"$STUB" --image "$A" list --json >want.json &&
	python3 -c "import json,sys; d=json.load(open(\"list.json\")); w=json.load(open(\"want.json\")); assert d[\"arch\"] == \"aarch64\"; assert d == w, (d, w)"
'

expect_success 'qemu: check verifies the whole aarch64 installer' '
	"$STUB" --image "$A" check 2>&1 | grep -o "OK ([0-9]* components, [0-9]* entries" >want &&
	test -s want && $QEMU "$A" check >out 2>&1 && grep -o "OK ([0-9]* components, [0-9]* entries" out | cmp - want
'

expect_success 'qemu: check --key on a signed aarch64 installer' '
	openssl ecparam -genkey -name prime256v1 -noout -out key.pem 2>/dev/null &&
	openssl ec -in key.pem -pubout -out pub.pem 2>/dev/null &&
	openssl ecparam -genkey -name prime256v1 -noout -out other.pem 2>/dev/null &&
	openssl ec -in other.pem -pubout -out other-pub.pem 2>/dev/null &&
	S="$TRASH/signed/dockyard-installer" && mkdir -p "$TRASH/signed" &&
	"$BUILD" -q --level 1 --arch aarch64 --stub "$A64_STUB" --sign key.pem \
		--manifest "$FX/test.manifest" --out "$S" &&
	$QEMU "$S" check --key pub.pem >out 2>&1 && grep -q "signature OK" out &&
	must_fail $QEMU "$S" check --key other-pub.pem 2>err &&
	grep -q "signature does not verify with other-pub.pem" err &&
	must_fail $QEMU "$TRASH/out-a" check --key pub.pem 2>err && grep -q "installer is not signed" err &&
	openssl dgst -sha256 -verify pub.pem -signature "$S.sig" "$S" | grep -q "Verified OK"
'

expect_success 'qemu: extract DIR gives the .deb members byte for byte, aarch64 binaries' '
	nfiles=$("$STUB" --image "$A" list --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"files\"]))") &&
	$QEMU "$A" extract "$TRASH/x" >out 2>&1 && grep -q "extracted $nfiles files" out &&
	members >members.txt && test "$(wc -l <members.txt)" = 8 &&
	for deb in $(cut -d " " -f 1 members.txt | sort -u); do
		mkdir -p "debs/$(basename "$deb")" &&
			dpkg-deb -x "$deb" "debs/$(basename "$deb")" || return 1
	done &&
	while read -r deb src dest mode; do
		cmp "debs/$(basename "$deb")/$src" "$TRASH/x/$dest" || return 1
		test "$(stat -c %a "$TRASH/x/$dest")" = "${mode#0}" || fail "$dest mode"
	done <members.txt &&
	file "$TRASH/x/bin/runc" | grep -q "ARM aarch64" &&
	file "$TRASH/x/bin/docker-init" | grep -q "ARM aarch64"
'

expect_success 'qemu: plan --root prints the actions and writes nothing' '
	$QEMU "$A" plan --root "$TRASH/dy-a64" $NETFLAGS --force >out 2>err &&
	grep -q "^plan for $TRASH/dy-a64 " out &&
	n=$("$STUB" --image "$A" check 2>&1 | sed -n "s/.*OK ([0-9]* components, \([0-9]*\) entries.*/\1/p") &&
	grep -q "extract   $n payload entries" out && test ! -e "$TRASH/dy-a64"
'

expect_success 'qemu: gen-env resolves the configuration' '
	$QEMU "$A" gen-env --root "$TRASH/dy-a64" $NETFLAGS >env &&
	grep -q "^DOCKYARD_ROOT=$TRASH/dy-a64$" env && grep -q "^DOCKYARD_DOCKER_PREFIX=a64t$" env &&
	grep -q "^DOCKYARD_BRIDGE_CIDR=10.213.$NET.1/24$" env &&
	grep -q "^DOCKYARD_POOL_BASE=10.214.$POOL.0/22$" env && test ! -e "$TRASH/dy-a64"
'

expect_success 'qemu: the aarch64 stub refuses to install an x86_64 installer here (exit 3)' '
	build_installer "$FX" fx86 &&
	exit_is 3 $QEMU "$A64_STUB" --image fx86 install --root "$TRASH/r2" --no-start 2>err &&
	grep -q "is an installer for x86_64, but this machine is aarch64" err &&
	test ! -e "$TRASH/r2"
'

# flip FILE POS: change the byte at POS.
flip() {
	old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d " ")
	printf '%b' "\\0$(printf %03o $((old ^ 0x5a)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# On the small fixture installer (the aarch64 stub and 400 kB of payload):
# the same code paths as the large one, without emulating 170 MB per pass.
expect_success 'qemu: a corrupted aarch64 installer is refused as the x86_64 one is' '
	"$BUILD" -q --level 1 --arch aarch64 --stub "$A64_STUB" \
		--manifest "$FX/test.manifest" --out small &&
	A=small && size=$(stat -c %s "$A") &&
	cp "$A" bad && flip bad $((size - 200000)) &&
	must_fail $QEMU ./bad check 2>err && grep -q "installer is corrupt or truncated: " err &&
	must_fail $QEMU ./bad extract "$TRASH/bx" 2>err && grep -q "installer is corrupt or truncated: " err &&
	test ! -e "$TRASH/bx" && no_staging_left &&
	must_fail "$STUB" --image bad check 2>err && grep -q "installer is corrupt or truncated: " err &&
	cp "$A" bad && flip bad $((size - 20)) &&
	must_fail $QEMU ./bad check 2>err && grep -q "installer is corrupt or truncated: SHA-256" err &&
	head -c $((size - 10)) "$A" >bad &&
	must_fail $QEMU "$A" --image bad check 2>err && grep -q "bad: installer is corrupt or truncated" err
'

test_done
