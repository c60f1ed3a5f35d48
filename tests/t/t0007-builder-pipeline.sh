#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The whole builder pipeline on artifacts the test makes: a .tgz, a .deb and
# a bare file, named by path and by file:// URL; `lock` pins them, `build`
# verifies each against the lock, takes the members out, packs them and
# writes SHA256SUMS, an SPDX SBOM and build info beside the installer.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

A="$TRASH/art"
M="$TRASH/m/test.manifest"
OUT="$TRASH/out/inst"
mkdir -p "$A/pkg/bin" "$A/deb/usr/bin" "$A/deb/DEBIAN" "$TRASH/m" "$TRASH/out" "$TRASH/scripts"

# build ARGS...: the builder with the test's cache and stub.
build() {
	"$BUILD" -q --level 3 --stub "$STUB" --cache "$TRASH/cache" --manifest "$M" "$@"
}

sha() {
	sha256sum "$1" | cut -d" " -f1
}

expect_success 'fixture artifacts: a tgz, a deb and a bare file' '
	printf "#!/bin/sh\necho tool\n" >"$A/pkg/bin/tool" &&
	head -c 200000 /dev/urandom >"$A/pkg/bin/blob" &&
	ln -s tool "$A/pkg/bin/tool-link" &&
	tar -C "$A" -czf "$A/pkg.tgz" pkg &&
	printf "thing\n" >"$A/deb/usr/bin/thing" &&
	printf "Package: thing\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: t\n" \
		>"$A/deb/DEBIAN/control" &&
	dpkg-deb -Zxz --build "$A/deb" "$A/thing.deb" >/dev/null &&
	head -c 5000 /dev/urandom >"$A/plugin" &&
	printf "#!/bin/sh\n# part one\nwrite_wrapper() {\n\tcat >\"\$1\" <<EOF2\n#!/bin/sh\necho wrapped\nEOF2\n}\n" \
		>"$TRASH/scripts/10-a.sh" &&
	printf "#!/bin/sh\nmain() { :; }\n" >"$TRASH/scripts/20-b.sh"
'

cat >"$M" <<MANIFEST
[component pkg]
version = 1.0
path = ../art/pkg.tgz
kind = tgz
member pkg/bin/tool -> bin/tool 0755
member pkg/bin/blob -> lib/blob 0644
member pkg/bin/tool-link -> bin/tool2 0755

[component thing]
version = 1.0-1
url = file://$A/thing.deb
kind = deb
member usr/bin/thing -> bin/thing 0755

[component plugin]
version = 2.0
path.x86_64 = ../art/plugin
path.aarch64 = ../art/plugin
kind = file
install lib/cli-plugins/plugin 0755

[component plugin]
version = 3.0
path = ../art/plugin
kind = file
install lib/cli-plugins/plugin 0700

[component extra]
version = 0.1
optional = yes
path = ../art/plugin
kind = file
install share/extra 0644

[component ctl]
version = 0.1.0
concat ../scripts -> bin/ctl 0755
MANIFEST

expect_success 'build without a lock names the missing entry and how to pin it' '
	must_fail build --out "$OUT" 2>err &&
	grep -q "pkg 1.0 (any): no entry in .*test.lock; run .dockyard-build lock" err &&
	test ! -e "$OUT"
'

expect_success 'lock pins every artifact of every version and architecture' '
	build lock &&
	grep -q "^pkg 1.0 any $(sha "$A/pkg.tgz") path:../art/pkg.tgz\$" "$TRASH/m/test.lock" &&
	grep -q "^thing 1.0-1 any $(sha "$A/thing.deb") file://$A/thing.deb\$" "$TRASH/m/test.lock" &&
	grep -q "^plugin 2.0 x86_64 $(sha "$A/plugin") path:../art/plugin\$" "$TRASH/m/test.lock" &&
	grep -q "^plugin 2.0 aarch64 " "$TRASH/m/test.lock" &&
	grep -q "^plugin 3.0 any " "$TRASH/m/test.lock" &&
	grep -q "^extra 0.1 any " "$TRASH/m/test.lock" &&
	cp "$TRASH/m/test.lock" lock.1 && build lock && cmp lock.1 "$TRASH/m/test.lock"
'

expect_success 'build takes the members out with their bytes and modes' '
	build --arch x86_64 --out "$OUT" &&
	"$OUT" -q extract "$TRASH/x" &&
	cmp "$A/pkg/bin/tool" "$TRASH/x/bin/tool" &&
	cmp "$A/pkg/bin/blob" "$TRASH/x/lib/blob" &&
	cmp "$A/pkg/bin/tool" "$TRASH/x/bin/tool2" &&
	cmp "$A/deb/usr/bin/thing" "$TRASH/x/bin/thing" &&
	cmp "$A/plugin" "$TRASH/x/lib/cli-plugins/plugin" &&
	test "$(stat -c %a "$TRASH/x/lib/blob")" = 644 &&
	test "$(stat -c %a "$TRASH/x/lib/cli-plugins/plugin")" = 755 &&
	test ! -e "$TRASH/x/share/extra"
'

expect_success 'the concatenated script keeps a heredoc shebang and passes sh -n and shellcheck' '
	test "$(head -n 1 "$TRASH/x/bin/ctl")" = "#!/bin/sh" &&
	test "$(grep -c "^#!" "$TRASH/x/bin/ctl")" = 2 &&
	sh -n "$TRASH/x/bin/ctl" &&
	shellcheck -s sh "$TRASH/x/bin/ctl" &&
	(. "$TRASH/x/bin/ctl" && write_wrapper "$TRASH/wrapper") &&
	chmod +x "$TRASH/wrapper" && test "$("$TRASH/wrapper")" = wrapped
'

expect_success 'SHA256SUMS, SBOM and build info sit beside the installer' '
	(cd "$TRASH/out" && sha256sum -c SHA256SUMS) >sums.out &&
	grep -q "^inst: OK" sums.out && grep -q "^inst.spdx.json: OK" sums.out &&
	grep -q "^inst.buildinfo.json: OK" sums.out &&
	python3 - "$TRASH/out" "$(sha "$A/pkg.tgz")" "$(sha "$OUT")" <<-PY
	import json, sys
	d, pkg_sha, inst_sha = sys.argv[1], sys.argv[2], sys.argv[3]
	sbom = json.load(open(d + "/inst.spdx.json"))
	assert sbom["spdxVersion"] == "SPDX-2.3"
	pk = {p["name"]: p for p in sbom["packages"]}
	assert pk["pkg"]["versionInfo"] == "1.0"
	assert pk["pkg"]["checksums"][0]["checksumValue"] == pkg_sha
	assert pk["inst"]["checksums"][0]["checksumValue"] == inst_sha
	assert "extra" not in pk and pk["plugin"]["versionInfo"] == "2.0"
	info = json.load(open(d + "/inst.buildinfo.json"))
	assert info["installer"]["sha256"] == inst_sha and info["arch"] == "x86_64"
	assert {c["name"] for c in info["components"]} == {"pkg", "thing", "plugin", "ctl"}
	PY
'

expect_success 'two builds from the same lock and epoch are byte-identical, SBOM included' '
	mkdir -p "$TRASH/out2" &&
	build --arch x86_64 --out "$TRASH/out2/inst" &&
	cmp "$OUT" "$TRASH/out2/inst" &&
	cmp "$TRASH/out/inst.spdx.json" "$TRASH/out2/inst.spdx.json" &&
	cmp "$TRASH/out/SHA256SUMS" "$TRASH/out2/SHA256SUMS"
'

expect_success 'a changed input changes the digest in SHA256SUMS and the SBOM' '
	SOURCE_DATE_EPOCH=1700000000 build --arch x86_64 --out "$TRASH/out2/inst" &&
	! cmp -s "$TRASH/out/SHA256SUMS" "$TRASH/out2/SHA256SUMS" &&
	! cmp -s "$TRASH/out/inst.spdx.json" "$TRASH/out2/inst.spdx.json"
'

expect_success '--offline with a warm cache builds inside a network namespace with no interfaces' '
	unshare -n "$BUILD" -q --level 3 --stub "$STUB" --cache "$TRASH/cache" --manifest "$M" \
		--arch x86_64 --offline --out "$TRASH/out2/offline" &&
	cmp "$OUT" "$TRASH/out2/offline"
'

expect_success '--select builds an alternative, --with adds an optional component' '
	build --arch x86_64 --select plugin=3.0 --with extra --out "$TRASH/alt" &&
	"$TRASH/alt" list >l && grep -q "^plugin  *3.0 " l && grep -q "share/extra" l
'

expect_success 'the installer reports the runtime its payload implies' '
	"$OUT" --version >v && grep -q "default runtime: runc -- this payload carries no sysbox" v &&
	printf "[component sysbox]\nversion = 0.6.7.4-tc\nsysbox-run-dir = env\nfile ../art/plugin -> bin/sysbox-runc 0755\n" \
		>"$TRASH/m/sb.manifest" &&
	"$BUILD" -q --level 3 --stub "$STUB" --cache "$TRASH/cache" \
		--manifest "$TRASH/m/sb.manifest" --out "$TRASH/sb" &&
	"$TRASH/sb" --version >v &&
	grep -q "default runtime: sysbox-runc (sysbox 0.6.7.4-tc, run dir via SYSBOX_RUN_DIR wrapper)" v
'

expect_success 'an image component is carried, pinned like any artifact, and named as an image' '
	tar -C "$A" -cf "$A/image.tar" pkg &&
	printf "[component dind-image]\nversion = 26.1\nrole = image\npath = ../art/image.tar\nkind = file\ninstall share/images/dind.tar 0644\n" \
		>"$TRASH/m/img.manifest" &&
	must_fail "$BUILD" -q --stub "$STUB" --cache "$TRASH/cache" \
		--manifest "$TRASH/m/img.manifest" --out "$TRASH/img" 2>err &&
	grep -q "no entry in" err &&
	"$BUILD" -q --cache "$TRASH/cache" --manifest "$TRASH/m/img.manifest" lock &&
	"$BUILD" -q --level 3 --stub "$STUB" --cache "$TRASH/cache" \
		--manifest "$TRASH/m/img.manifest" --out "$TRASH/img" &&
	"$TRASH/img" --version | grep -q "dind-image *26.1 (image, loaded after first start)" &&
	"$TRASH/img" -q extract "$TRASH/ximg" && cmp "$A/image.tar" "$TRASH/ximg/share/images/dind.tar"
'

expect_success 'a payload file under images/ (the operator'\''s directory) is refused naming the line' '
	printf "[component a]\nversion = 1\nfile x -> images/x.tar 0644\n" >"$TRASH/m/opimg.manifest" &&
	must_fail "$BUILD" -q --stub "$STUB" --cache "$TRASH/cache" \
		--manifest "$TRASH/m/opimg.manifest" --out "$TRASH/no" 2>err &&
	grep -q "opimg.manifest:1: component a 1: line 3: images/x.tar: images/ is the operator.s directory" err
'

expect_success 'bad --select and --with name what exists' '
	must_fail build --select plugin=9 --out "$TRASH/no" 2>err &&
	grep -q "select plugin=9: the manifest declares only 2.0, 3.0" err &&
	must_fail build --with nothing --out "$TRASH/no" 2>err &&
	grep -q "with nothing: the manifest declares no such component" err &&
	test ! -e "$TRASH/no"
'

expect_success 'an artifact that no longer matches its pin is refused, naming both digests' '
	cp "$A/pkg.tgz" pkg.keep && printf x >>"$A/pkg.tgz" &&
	rm -rf "$TRASH/cache" &&
	must_fail build --arch x86_64 --out "$TRASH/no" 2>err &&
	grep -q "pkg 1.0 (any)" err && grep -q "$(sha pkg.keep)" err &&
	grep -q "$(sha "$A/pkg.tgz")" err &&
	test ! -e "$TRASH/no" && cp pkg.keep "$A/pkg.tgz"
'

expect_success 'a manifest that names another source than its pin is refused' '
	sed "s|^path = ../art/pkg.tgz|path = ../art/other.tgz|" "$M" >"$TRASH/m/moved.manifest" &&
	cp "$TRASH/m/test.lock" "$TRASH/m/moved.lock" &&
	must_fail "$BUILD" -q --stub "$STUB" --cache "$TRASH/cache" \
		--manifest "$TRASH/m/moved.manifest" --out "$TRASH/no" 2>err &&
	grep -q "pins path:../art/pkg.tgz, but the manifest now names path:../art/other.tgz" err
'

expect_success 'a member missing from its archive is named with the artifact' '
	sed "s|member pkg/bin/blob|member pkg/bin/blobby|" "$M" >"$TRASH/m/miss.manifest" &&
	cp "$TRASH/m/test.lock" "$TRASH/m/miss.lock" &&
	must_fail "$BUILD" -q --stub "$STUB" --cache "$TRASH/cache" --arch x86_64 \
		--manifest "$TRASH/m/miss.manifest" --out "$TRASH/no" 2>err &&
	grep -q "pkg/bin/blobby" err && test ! -e "$TRASH/no"
'

expect_success 'the release manifest: a pending pin says so and how to pin it' '
	must_fail "$BUILD" -q --stub "$STUB" --cache "$TRASH/empty" --offline --arch x86_64 \
		--manifest "$SRC_DIR/payload/dockyard.manifest" --out "$TRASH/no" 2>err &&
	grep -q "sysbox 0.6.7.9-tc (x86_64): its sha256 is still pending" err &&
	grep -q "dockyard-build lock" err && grep -q -- "--select" err
'

expect_success 'the release manifest with a pinned sysbox gets past the pins (offline: no cache)' '
	must_fail "$BUILD" -q --stub "$STUB" --cache "$TRASH/empty" --offline --arch x86_64 \
		--select sysbox=0.6.7.10-tc \
		--manifest "$SRC_DIR/payload/dockyard.manifest" --out "$TRASH/no" 2>err &&
	grep -q "docker 29.2.1 (x86_64)" err && ! grep -q pending err
'

test_done
