#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The SBOM beside an installer validates against the SPDX 2.3 JSON schema
# (tests/spdx/) and gives scanners what they match on: every package has a
# purl, a declared licence, a download location and a checksum; the stub
# is a package, with the Debian packages statically linked into it at
# their installed versions.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SCHEMA="$SRC_DIR/tests/spdx/spdx-schema-2.3.json"

# validate SBOM...: each document validates against the SPDX 2.3 schema.
validate() {
	python3 - "$SCHEMA" "$@" <<-PY
	import json, sys, jsonschema
	schema = json.load(open(sys.argv[1]))
	v = jsonschema.Draft201909Validator(schema)
	for path in sys.argv[2:]:
	    errors = sorted(v.iter_errors(json.load(open(path))), key=str)
	    for e in errors:
	        print("%s: %s at %s" % (path, e.message, list(e.absolute_path)), file=sys.stderr)
	    if errors:
	        sys.exit(1)
	PY
}

DIST_SBOM="$SRC_DIR/dist/dockyard-installer.spdx.json"

expect_success 'the Debian-sourced installer SBOM validates against SPDX 2.3' '
	validate "$DIST_SBOM"
'

expect_success 'the validator refuses a broken document (the check can fail)' '
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); del d[\"packages\"][1][\"SPDXID\"]; d[\"relationships\"][0][\"relationshipType\"]=\"LIKES\"; json.dump(d, open(\"bad.json\",\"w\"))" "$DIST_SBOM" &&
	! validate bad.json 2>err && grep -q "SPDXID" err && grep -q "LIKES" err
'

expect_success 'every package has a purl, declared licence, download location, checksum' '
	python3 - "$DIST_SBOM" <<-PY
	import json, sys
	doc = json.load(open(sys.argv[1]))
	for p in doc["packages"]:
	    refs = [r for r in p.get("externalRefs", []) if r["referenceType"] == "purl"]
	    assert len(refs) == 1 and refs[0]["referenceCategory"] == "PACKAGE-MANAGER", p["name"]
	    assert refs[0]["referenceLocator"].startswith("pkg:"), p["name"]
	    assert p["licenseDeclared"], p["name"]
	    assert p["downloadLocation"], p["name"]
	    assert p["checksums"][0]["algorithm"] == "SHA256", p["name"]
	    assert len(p["checksums"][0]["checksumValue"]) == 64, p["name"]
	pk = {p["name"]: p for p in doc["packages"]}
	purl = lambda n: pk[n]["externalRefs"][0]["referenceLocator"]
	assert purl("docker.io") == "pkg:deb/debian/docker.io@20.10.24%2Bdfsg1-1%2Bdeb12u1%2Bb6?arch=amd64", purl("docker.io")
	assert purl("tini") == "pkg:deb/debian/tini@0.19.0-1%2Bb3?arch=amd64"
	assert pk["tini"]["licenseDeclared"] == "MIT" and pk["runc"]["licenseDeclared"] == "Apache-2.0"
	assert purl("dockyardctl") == "pkg:generic/dockyardctl@0.1.0"
	assert pk["dockyard-installer-stub"]["licenseDeclared"] == "Apache-2.0"
	PY
'

expect_success 'the stub is a package with its static libraries at their Debian versions' '
	sha256sum "$SRC_DIR/dist/dockyard-installer-stub" | cut -d" " -f1 >stub.sha &&
	for p in libarchive-dev libzstd-dev libmbedtls-dev libjansson-dev libc6-dev; do
		dpkg-query -W -f "\${Package} \${Version}\n" "$p" || exit 1
	done >want &&
	python3 - "$DIST_SBOM" "$(cat stub.sha)" want <<-PY
	import json, sys
	doc = json.load(open(sys.argv[1]))
	ids = {p["SPDXID"]: p for p in doc["packages"]}
	stub = ids["SPDXRef-Package-installer-stub"]
	assert stub["checksums"][0]["checksumValue"] == sys.argv[2]
	assert {"spdxElementId": "SPDXRef-Package-installer", "relationshipType": "CONTAINS",
	        "relatedSpdxElement": stub["SPDXID"]} in doc["relationships"]
	linked = {ids[r["relatedSpdxElement"]]["name"]: ids[r["relatedSpdxElement"]]
	          for r in doc["relationships"]
	          if r["spdxElementId"] == stub["SPDXID"] and r["relationshipType"] == "STATIC_LINK"}
	for line in open(sys.argv[3]):
	    name, version = line.split()
	    assert name in linked, (name, sorted(linked))
	    p = linked[name]
	    assert p["versionInfo"] == version, (name, p["versionInfo"], version)
	    ref = p["externalRefs"][0]["referenceLocator"]
	    assert ref.startswith("pkg:deb/debian/%s@" % name) and "arch=amd64" in ref, ref
	    assert "upstream=" in ref, ref
	    assert p["downloadLocation"].startswith("https://"), p["downloadLocation"]
	PY
'

# A manifest with a GitHub release and a generic download, served offline
# from a mirror directory that holds the files by their names.
mkdir -p "$TRASH/m" "$TRASH/mirror"
(cd "$TRASH/m" && mkdir -p a && printf 'y\n' >a/y && tar -czf "$TRASH/mirror/rel.tgz" -C a . &&
	cp "$TRASH/mirror/rel.tgz" "$TRASH/mirror/b.tgz")
SHA=$(sha256sum <"$TRASH/mirror/rel.tgz" | cut -d" " -f1)
cat >"$TRASH/m/n.manifest" <<EOF
[component gh]
version = 1.2
license = MIT
url = https://github.com/acme/tool/releases/download/v1.2/rel.tgz
kind = tgz
member y -> bin/gh 0755

[component gen]
version = 3.0~rc1
license = BSD-3-Clause
url = https://example.org/dl/b.tgz
kind = tgz
member y -> bin/gen 0755
EOF
cat >"$TRASH/m/n.lock" <<EOF
gh 1.2 any $SHA https://github.com/acme/tool/releases/download/v1.2/rel.tgz
gen 3.0~rc1 any $SHA https://example.org/dl/b.tgz
EOF

expect_success 'GitHub releases get pkg:github, other downloads pkg:generic with download_url' '
	mkdir -p out && cp "$STUB" out/stub &&
	"$BUILD" -q --level 3 --stub out/stub --offline --mirror "$TRASH/mirror" \
		--cache "$TRASH/cache" --manifest "$TRASH/m/n.manifest" --out out/inst &&
	validate out/inst.spdx.json &&
	python3 - out/inst.spdx.json <<-PY
	import json, sys
	pk = {p["name"]: p for p in json.load(open(sys.argv[1]))["packages"]}
	purl = lambda n: pk[n]["externalRefs"][0]["referenceLocator"]
	assert purl("gh") == "pkg:github/acme/tool@v1.2?arch=x86_64", purl("gh")
	assert pk["gh"]["downloadLocation"] == "https://github.com/acme/tool/releases/download/v1.2/rel.tgz"
	assert purl("gen") == "pkg:generic/gen@3.0~rc1?arch=x86_64&download_url=https%3A%2F%2Fexample.org%2Fdl%2Fb.tgz", purl("gen")
	assert pk["gen"]["licenseDeclared"] == "BSD-3-Clause"
	PY
'

expect_success 'a stub without recorded libraries is still a package, without links' '
	python3 - out/inst.spdx.json <<-PY
	import json, sys
	doc = json.load(open(sys.argv[1]))
	assert any(p["SPDXID"] == "SPDXRef-Package-installer-stub" for p in doc["packages"])
	assert not [r for r in doc["relationships"] if r["relationshipType"] == "STATIC_LINK"]
	PY
'

expect_success 'a malformed STUB.deps is an error naming it and the format' '
	printf "libfoo 1.0\n" >out/stub.deps &&
	must_fail "$BUILD" -q --level 3 --stub out/stub --offline --mirror "$TRASH/mirror" \
		--cache "$TRASH/cache" --manifest "$TRASH/m/n.manifest" --out out/inst2 2>err &&
	grep -q "out/stub.deps: .libfoo 1.0. is not .PACKAGE VERSION ARCH SOURCE SHA256 FILE LICENSE." err
'

test_done
