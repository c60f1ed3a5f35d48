#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Packing, listing and extracting: what goes in comes out, byte for byte,
# with the manifest's modes, committed only by a rename.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

I="$TRASH/inst"

expect_success 'fixture installer builds and checks' '
	make_payload_dir "$TRASH/fx" &&
	build_installer "$TRASH/fx" "$I" &&
	"$I" check
'

expect_success 'list shows each file with its real size and sha256' '
	"$I" list >out &&
	for pair in "src/hello.sh bin/hello" "src/notes.txt share/notes.txt" \
		"src/blob.bin lib/data/blob.bin"; do
		set -- $pair
		sum=$(sha256sum "$TRASH/fx/$1" | cut -d" " -f1)
		size=$(stat -c %s "$TRASH/fx/$1")
		grep -q " $size  $sum  $2\$" out || fail "list lacks $2 ($size $sum)"
	done
'

expect_success 'list --json parses and matches the sources' '
	"$I" list --json >out.json &&
	json_valid list out.json &&
	python3 - "$TRASH/fx" out.json <<-PY
	import hashlib, json, os, sys
	src, doc = sys.argv[1], json.load(open(sys.argv[2]))
	files = {f["path"]: f for f in doc["files"]}
	want = {"bin/hello": ("src/hello.sh", "0755", "tools", "1.2.3"),
	        "share/notes.txt": ("src/notes.txt", "0644", "tools", "1.2.3"),
	        "lib/data/blob.bin": ("src/blob.bin", "0600", "data", "2024.1-r1")}
	assert set(files) == set(want), files.keys()
	for path, (s, mode, comp, ver) in want.items():
	    data = open(os.path.join(src, s), "rb").read()
	    f = files[path]
	    assert f["sha256"] == hashlib.sha256(data).hexdigest(), path
	    assert f["size"] == len(data) and f["mode"] == mode, f
	    assert f["component"] == comp and f["version"] == ver, f
	assert {c["name"] for c in doc["components"]} == {"tools", "data"}
	PY
'

expect_success 'extract into a new directory: identical bytes, manifest modes' '
	"$I" -q extract "$TRASH/x-new" &&
	cmp "$TRASH/fx/src/hello.sh" "$TRASH/x-new/bin/hello" &&
	cmp "$TRASH/fx/src/notes.txt" "$TRASH/x-new/share/notes.txt" &&
	cmp "$TRASH/fx/src/blob.bin" "$TRASH/x-new/lib/data/blob.bin" &&
	test "$(stat -c %a "$TRASH/x-new/bin/hello")" = 755 &&
	test "$(stat -c %a "$TRASH/x-new/share/notes.txt")" = 644 &&
	test "$(stat -c %a "$TRASH/x-new/lib/data/blob.bin")" = 600 &&
	test "$(stat -c %a "$TRASH/x-new/lib/data")" = 755 &&
	test "$(stat -c %a "$TRASH/x-new")" = 755 &&
	"$TRASH/x-new/bin/hello" | grep -q "hello from the payload"
'

expect_success 'extract leaves no staging directory behind' '
	no_staging_left
'

expect_success 'modes do not depend on the caller umask' '
	(umask 077 && "$I" -q extract "$TRASH/out-umask") &&
	test "$(stat -c %a "$TRASH/out-umask/share/notes.txt")" = 644 &&
	test "$(stat -c %a "$TRASH/out-umask/lib/data")" = 755
'

expect_success 'extract into an existing empty directory' '
	mkdir "$TRASH/empty" &&
	"$I" -q extract "$TRASH/empty" &&
	cmp "$TRASH/fx/src/blob.bin" "$TRASH/empty/lib/data/blob.bin"
'

expect_success 'extract into a non-empty directory is refused; contents untouched' '
	mkdir "$TRASH/full" && echo keep >"$TRASH/full/precious" &&
	must_fail "$I" extract "$TRASH/full" 2>err &&
	grep -q "is not empty" err &&
	test "$(ls -A "$TRASH/full")" = precious &&
	test "$(cat "$TRASH/full/precious")" = keep
'

expect_success 'extract onto a symlink is refused and nothing is written through it' '
	mkdir "$TRASH/elsewhere" && ln -s "$TRASH/elsewhere" "$TRASH/link" &&
	must_fail "$I" extract "$TRASH/link" 2>err &&
	grep -q "symbolic link" err &&
	dir_is_empty "$TRASH/elsewhere"
'

expect_success 'extract onto a regular file is refused' '
	echo x >"$TRASH/afile" &&
	must_fail "$I" extract "$TRASH/afile" 2>err &&
	grep -q "not a directory" err
'

expect_success 'extract reads the image once' '
	"$I" -v extract "$TRASH/out-once" 2>err &&
	size=$(stat -c %s "$I") &&
	grep -q "read $size of $size image bytes" err
'

expect_success '-q prints nothing on success' '
	"$I" -q check >out 2>&1 && test ! -s out
'

expect_success '--image checks another installer file' '
	"$STUB" --image "$I" check 2>err &&
	grep -q "inst: OK" err
'

expect_success '--image does not follow a symlink' '
	ln -s "$I" "$TRASH/inst-link" &&
	must_fail "$STUB" --image "$TRASH/inst-link" check 2>err &&
	grep -q "is a symbolic link" err
'

test_done
