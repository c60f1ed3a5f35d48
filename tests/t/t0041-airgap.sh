#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# Air-gapped end to end on real Docker, with the installer built from
# payload/debian.manifest exactly as shipped (no stand-ins): the busybox
# test image the builder assembles is byte-identical across two builds;
# an instance installed with an empty image store passes `dockyardctl
# verify` without --image/--dind-image (every check PASS or SKIP with a
# reason; DinD SKIP because Debian's dockerd is dynamically linked);
# --images DIR loads a docker-archive, a .zst one and an OCI archive; a
# corrupted or unlisted archive refuses the step naming it and loads
# none, leaving the instance running; ROOT/images/ loads on start once
# per file digest.  Needs `make debs` (build/debs/).
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

R=$(cd "$TRASH" && pwd -P)/gap
PX=ag$(($$ % 100000))
INST=$TRASH/one/dockyard-installer
DOCKYARD_STOP_TIMEOUT=20
export DOCKYARD_STOP_TIMEOUT
SOURCE_DATE_EPOCH=1704067200
export SOURCE_DATE_EPOCH

# The engines' shared host directories this test creates (lib.sh).
host_dirs_note

airgap_cleanup() {
	[ -x "$R/bin/dockyardctl" ] && "$R/bin/dockyardctl" -q destroy --yes >/dev/null 2>&1
	kill_mentioning "$R/"
	prefix_objects_remove "$PX"
	host_dirs_remove
	cleanup_trash
}
trap airgap_cleanup EXIT

dk() { "$R/bin/docker" "$@"; }

# doc_block NAME: the ```sh block after <!-- airgap-test: NAME --> in
# docs/airgap.md.
doc_block() {
	awk -v m="<!-- airgap-test: $1 -->" '
		$0 == m { want = 1; next }
		want && /^```sh$/ { inside = 1; next }
		inside && /^```$/ { exit }
		inside { print }' "$SRC_DIR/docs/airgap.md"
}
has_image() { dk image inspect "$1" >/dev/null 2>&1; }

# oci_archive DOCKER_ARCHIVE REF OUT.tar.gz: the same image as an OCI
# archive with no manifest.json (what skopeo's oci-archive: writes).
oci_archive() {
	rm -rf oci.x oci && mkdir oci.x oci && tar -xf "$1" -C oci.x && mkdir -p oci/blobs/sha256 &&
		cfg=$(sed 's/.*"Config":"\([^"]*\)".*/\1/' oci.x/manifest.json) &&
		cs=$(oci_blob "oci.x/$cfg") && layers="" &&
		for l in $(sed 's/.*"Layers":\[\([^]]*\)\].*/\1/' oci.x/manifest.json | tr , " " | tr -d \"); do
			ls=$(oci_blob "oci.x/$l") &&
				layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$ls\",\"size\":$(wc -c <"oci.x/$l")}" ||
				return 1
		done &&
		printf "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:%s\",\"size\":%s},\"layers\":[%s]}" \
			"$cs" "$(wc -c <"oci.x/$cfg")" "$layers" >oci.m &&
		ms=$(oci_blob oci.m) &&
		printf "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%s,\"annotations\":{\"io.containerd.image.name\":\"%s\",\"org.opencontainers.image.ref.name\":\"1\"}}]}" \
			"$ms" "$(wc -c <oci.m)" "$2" >oci/index.json &&
		printf "{\"imageLayoutVersion\":\"1.0.0\"}" >oci/oci-layout &&
		tar -C oci -czf "$3" oci-layout index.json blobs && rm -rf oci.x oci oci.m
}

# oci_blob FILE: copy FILE into oci/blobs/sha256/ under its digest; print it.
oci_blob() {
	_ob=$(sha256sum <"$1" | cut -d " " -f 1) && cp "$1" "oci/blobs/sha256/$_ob" && echo "$_ob"
}

# commit_image IMAGE TEXT: a new image with /which holding TEXT.
commit_image() {
	dk run --name "mk-$PX" dockyard/busybox:1.35.0 sh -c "echo $2 >/which" &&
		dk commit "mk-$PX" "$1" >/dev/null && dk rm "mk-$PX" >/dev/null
}

expect_success 'the installer builds from payload/debian.manifest; its test image is byte-identical across two builds' '
	mkdir -p one two x1 x2 &&
	"$BUILD" -q --manifest "$SRC_DIR/payload/debian.manifest" --stub "$STUB" --cache "$TRASH/c1" \
		--out "$INST" --level 1 &&
	"$BUILD" -q --manifest "$SRC_DIR/payload/debian.manifest" --stub "$STUB" --cache "$TRASH/c2" \
		--out two/dockyard-installer --level 1 &&
	"$INST" -q extract x1/p && two/dockyard-installer -q extract x2/p &&
	cmp x1/p/share/images/busybox.tar x2/p/share/images/busybox.tar &&
	tar -tf x1/p/share/images/busybox.tar | grep -qx manifest.json &&
	echo "# test image: $(wc -c <x1/p/share/images/busybox.tar) bytes, sha256 $(sha256sum <x1/p/share/images/busybox.tar | cut -d " " -f 1)" >&3 &&
	rm -rf two x1 x2 "$TRASH/c2"
' 3>&1

expect_success '--images: a missing directory, --no-start, --sysroot and other commands are usage errors (exit 2)' '
	for args in "--root $R --images $TRASH/none" "--root $R --images $TRASH --no-start" \
		"--root /dy --sysroot $TRASH/s --images $TRASH" "check --images $TRASH"; do
		# shellcheck disable=SC2086 # the arguments are split on purpose
		{ "$INST" $args 2>err; test $? = 2; } || fail "$args: not exit 2" || return 1
		grep -q -- "--images" err || fail "$args: $(cat err)" || return 1
	done &&
	test ! -e "$R"
'

expect_success 'install with an empty image store loads the payload'\''s test image' '
	"$INST" -q --root "$R" --prefix "$PX" --no-systemd &&
	dk image ls --format "{{.Repository}}:{{.Tag}}" >imgs && test "$(cat imgs)" = dockyard/busybox:1.35.0 &&
	test "$(dk image inspect -f "{{index .Config.Labels \"dockyard.verify\"}}" dockyard/busybox:1.35.0)" = run
'

expect_success 'dockyardctl verify with no arguments: exit 0, every check PASS or SKIP with a reason; DinD SKIP says why' '
	"$R/bin/dockyardctl" verify >verify.out 2>&1 || { cat verify.out; false; } &&
	sed "s/^/# verify: /" verify.out >&3 &&
	! grep -q "^FAIL" verify.out &&
	grep -q "^PASS  run  *docker run --rm dockyard/busybox:1.35.0 true" verify.out &&
	grep -q "^PASS  bridge " verify.out && grep -q "^PASS  nat " verify.out &&
	grep -q "^PASS  api " verify.out && grep -q "^PASS  daemons " verify.out &&
	grep -q "^SKIP  dind  *the payload.s dockerd is dynamically linked (needs /lib64/ld-linux-x86-64.so.2 " verify.out &&
	! grep "^SKIP" verify.out | grep -v "^SKIP  [a-z]*  *[a-z]" &&
	grep -q "verify: [0-9]* passed, 0 failed, [0-9]* skipped" verify.out
' 3>&1

expect_success 'verify: --image still overrides; a named image that is missing is a FAIL' '
	{ "$R/bin/dockyardctl" verify --image nothere:1 >v2.out 2>&1; test $? = 1; } &&
	grep -q "^FAIL  run  *image nothere:1 is not present locally" v2.out
'

expect_success 'three archives for the gap: docker-archive, .zst, OCI (.tar.gz) with SHA256SUMS' '
	mkdir -p imgs.ok &&
	commit_image extra/one:1 one && commit_image extra/two:1 two && commit_image extra/three:1 three &&
	dk save extra/one:1 >imgs.ok/one.tar &&
	dk save extra/two:1 | zstd -q >imgs.ok/two.tar.zst &&
	dk save extra/three:1 >three.tar && oci_archive three.tar extra/three:1 imgs.ok/three.tar.gz &&
	! tar -tzf imgs.ok/three.tar.gz | grep -q manifest.json &&
	dk rmi extra/one:1 extra/two:1 extra/three:1 >/dev/null &&
	! has_image extra/one:1 && ! has_image extra/two:1 && ! has_image extra/three:1 &&
	(cd imgs.ok && sha256sum one.tar two.tar.zst three.tar.gz >SHA256SUMS)
'

expect_success 'a corrupted archive refuses --images naming it; nothing loaded, the instance runs' '
	cp -r imgs.ok imgs.bad && printf x >>imgs.bad/two.tar.zst &&
	{ "$INST" -q --root "$R" --images imgs.bad 2>err; test $? = 1; } &&
	grep -q "imgs.bad/two.tar.zst does not match .*SHA256SUMS" err &&
	! has_image extra/one:1 && ! has_image extra/two:1 && ! has_image extra/three:1 &&
	"$R/bin/dockyardctl" status >/dev/null
'

expect_success 'an archive SHA256SUMS does not list refuses --images naming it; nothing loaded' '
	cp -r imgs.ok imgs.unl && cp imgs.ok/one.tar imgs.unl/stray.tar &&
	{ "$INST" -q --root "$R" --images imgs.unl 2>err; test $? = 1; } &&
	grep -q "imgs.unl/stray.tar is not listed in .*SHA256SUMS" err &&
	! has_image extra/one:1 && ! has_image extra/two:1 && ! has_image extra/three:1 &&
	"$R/bin/dockyardctl" status >/dev/null
'

expect_success '--images DIR loads the docker-archive, the .zst one and the OCI one (plan names the step)' '
	"$INST" plan --root "$R" --images imgs.ok >plan.out &&
	grep -q "^  load  *every image archive in /.*/imgs.ok\$" plan.out &&
	! has_image extra/one:1 &&
	"$INST" -q --root "$R" --images imgs.ok &&
	test "$(dk run --rm extra/one:1 cat /which)" = one &&
	test "$(dk run --rm extra/two:1 cat /which)" = two &&
	test "$(dk run --rm extra/three:1 cat /which)" = three
'

expect_success 'ROOT/images/ loads on start, once per file digest' '
	dk rmi extra/one:1 >/dev/null && mkdir -p "$R/images" && cp imgs.ok/one.tar "$R/images/" &&
	"$R/bin/dockyardctl" -q stop && "$R/bin/dockyardctl" -q start &&
	has_image extra/one:1 &&
	grep -q "^$(sha256sum <imgs.ok/one.tar | cut -d " " -f 1) one.tar\$" "$R/lib/images.loaded" &&
	dk rmi extra/one:1 >/dev/null &&
	"$R/bin/dockyardctl" -q stop && "$R/bin/dockyardctl" -q start &&
	! has_image extra/one:1
'

expect_success 'an archive docker cannot read refuses the step before anything is loaded' '
	mkdir -p imgs.junk && cp imgs.ok/one.tar imgs.junk/a.tar && echo hello >hello.txt &&
	tar -cf imgs.junk/b.tar hello.txt && gzip -c hello.txt >imgs.junk/c.tar &&
	! has_image extra/one:1 &&
	{ "$R/bin/dockyardctl" -q load-images "$TRASH/imgs.junk" 2>err; test $? = 1; } &&
	grep -q "imgs.junk/b.tar is neither a docker-archive (manifest.json) nor an OCI archive (index.json)" err &&
	rm imgs.junk/b.tar &&
	{ "$R/bin/dockyardctl" -q load-images "$TRASH/imgs.junk" 2>>err; test $? = 1; } &&
	grep -q "imgs.junk/c.tar cannot be read as a tar archive" err &&
	! has_image extra/one:1 && sed "s/^/# refused: /" err >&3
' 3>&1

expect_success 'the image directory docs/airgap.md prints how to make loads with --images' '
	dk tag dockyard/busybox:1.35.0 registry.example/app:1.4 && dk tag dockyard/busybox:1.35.0 postgres:16 &&
	mkdir -p docbin doc && printf "#!/bin/sh\nexec %s \"\$@\"\n" "$R/bin/docker" >docbin/docker &&
	chmod 0755 docbin/docker &&
	(cd doc && PATH="$TRASH/docbin:$PATH" sh -ec "$(doc_block images)") &&
	dk rmi registry.example/app:1.4 postgres:16 >/dev/null &&
	! has_image registry.example/app:1.4 && ! has_image postgres:16 &&
	(cd doc/images && sha256sum -c SHA256SUMS >/dev/null) &&
	"$INST" -q --root "$R" --images doc/images &&
	has_image registry.example/app:1.4 && has_image postgres:16
'

expect_success 'a bad file in ROOT/images/ fails start naming it; the instance runs' '
	printf junk >"$R/images/junk.txt" &&
	"$R/bin/dockyardctl" -q stop &&
	{ "$R/bin/dockyardctl" -q start 2>err; test $? = 1; } &&
	grep -q "images/junk.txt is not an image archive" err &&
	"$R/bin/dockyardctl" status >/dev/null && rm "$R/images/junk.txt"
'

expect_success 'uninstall leaves nothing of the instance' '
	"$INST" -q uninstall --root "$R" --yes && ! test -e "$R" &&
	! ip link show "${PX}docker0" >/dev/null 2>&1 &&
	! grep -q "^${PX}docker:" /etc/passwd /etc/group
'

test_done
