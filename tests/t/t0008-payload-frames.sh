#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Payload encoding 2 (one zstd frame per file, prefixes taken from earlier
# files): parallel decoding gives the same files as serial decoding; a
# frame whose prefix file is corrupt, a truncated frame and an unknown
# format version are refused with a clear message and nothing is written;
# an installer of format version 1 (one tar stream) still extracts.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

FRAMES="python3 $SRC_DIR/tests/tools/frames.py"
I="$TRASH/inst"
BAD="$TRASH/bad"
FX="$TRASH/fx"

# Files that share long runs, so that later frames take earlier files as
# their prefix: b is a with a hole punched in it and filled with new bytes,
# c is those new bytes and more of b, then a part of a.
make_fixture() {
	mkdir -p "$FX/src" &&
	head -c 600000 /dev/urandom >"$FX/src/a.bin" &&
	{ head -c 250000 "$FX/src/a.bin"; head -c 80000 /dev/urandom;
	  tail -c 350000 "$FX/src/a.bin"; } >"$FX/src/b.bin" &&
	{ tail -c 480000 "$FX/src/b.bin" | head -c 330000; head -c 300000 "$FX/src/a.bin"; } \
		>"$FX/src/c.bin" &&
	printf 'plain text\n' >"$FX/src/notes.txt" &&
	: >"$FX/src/empty" &&
	cat >"$FX/test.manifest" <<'MANIFEST'
[component data]
version = 1.0
file src/a.bin -> lib/a.bin 0644
file src/b.bin -> lib/b.bin 0600
file src/c.bin -> lib/c.bin 0755
file src/empty -> lib/empty 0644
file src/notes.txt -> share/notes.txt 0644
MANIFEST
}

# same_tree DIR: DIR holds exactly the fixture's files, modes included.
same_tree() {
	cmp "$1/lib/a.bin" "$FX/src/a.bin" && cmp "$1/lib/b.bin" "$FX/src/b.bin" &&
	cmp "$1/lib/c.bin" "$FX/src/c.bin" && cmp "$1/lib/empty" "$FX/src/empty" &&
	cmp "$1/share/notes.txt" "$FX/src/notes.txt" &&
	[ "$(stat -c %a "$1/lib/b.bin" "$1/lib/c.bin" "$1/lib")" = "$(printf '600\n755\n755')" ] &&
	[ "$(find "$1" | wc -l)" = 8 ]
}

# refused PATTERN: check and extract of $BAD fail naming PATTERN, with
# one decoding thread and with several, and leave nothing behind.
refused() {
	for threads in 1 4; do
		for cmd in check "extract $TRASH/target"; do
			# shellcheck disable=SC2086 # $cmd is a word list
			if ! { must_fail env DOCKYARD_DECODE_THREADS=$threads "$BAD" $cmd \
				2>"$TRASH/err" && grep -q -- "$1" "$TRASH/err"; }; then
				cat "$TRASH/err" >&2
				return 1
			fi
			if [ -e "$TRASH/target" ] || ! no_staging_left; then
				echo "$cmd left files behind" >&2
				return 1
			fi
		done
	done
}

# c.bin would be smaller with b.bin as a second prefix, but a frame takes
# one prefix at most, from a file that takes none (b.bin takes a.bin), so
# that it waits for one file at most.
expect_success 'a version-2 installer builds; a later frame takes one earlier file without a prefix' '
	make_fixture && build_installer "$FX" "$I" &&
	[ "$(od -An -tu4 -j $(($(stat -c %s "$I") - 248)) -N4 "$I" | tr -d " ")" = 2 ] &&
	$FRAMES list "$I" >"$TRASH/frames" &&
	grep -q "^1 .* lib/b.bin lib/a.bin$" "$TRASH/frames" &&
	grep -q "^2 .* lib/c.bin lib/a.bin$" "$TRASH/frames" &&
	grep -q "^3 [0-9]* 0 lib/empty$" "$TRASH/frames" &&
	[ -z "$(awk "NF > 5" "$TRASH/frames")" ]
'

expect_success 'parallel decoding writes the same files as one thread' '
	DOCKYARD_DECODE_THREADS=1 "$I" extract "$TRASH/serial" >/dev/null &&
	DOCKYARD_DECODE_THREADS=4 "$I" extract "$TRASH/parallel" >/dev/null &&
	"$I" extract "$TRASH/default" >/dev/null &&
	same_tree "$TRASH/serial" && same_tree "$TRASH/parallel" && same_tree "$TRASH/default" &&
	DOCKYARD_DECODE_THREADS=1 "$I" check >/dev/null && "$I" check >/dev/null
'

# From level 13 the builder digests a prefix file once and its frames
# copy the digest: another way to make the frames (the same bytes on one
# thread or three), decoded the same way.
expect_success 'frames made with a digested prefix (level 13 and up) decode to the same files' '
	build_installer "$FX" "$TRASH/inst19" --level 19 --threads 1 &&
	build_installer "$FX" "$TRASH/inst19-3" --level 19 --threads 3 &&
	cmp "$TRASH/inst19" "$TRASH/inst19-3" &&
	$FRAMES list "$TRASH/inst19" >"$TRASH/frames19" &&
	grep -q "^2 .* lib/c.bin lib/a.bin$" "$TRASH/frames19" &&
	set -- $(grep " lib/b.bin lib/a.bin$" "$TRASH/frames19") && [ "$3" -lt 200000 ] &&
	DOCKYARD_DECODE_THREADS=1 "$TRASH/inst19" extract "$TRASH/x19" >/dev/null &&
	"$TRASH/inst19" extract "$TRASH/y19" >/dev/null &&
	same_tree "$TRASH/x19" && same_tree "$TRASH/y19" && "$TRASH/inst19" check >/dev/null &&
	rm -rf "$TRASH/x19" "$TRASH/y19"
'

expect_success 'a frame whose prefix file is corrupt is refused' '
	rm -rf "$TRASH/serial" "$TRASH/parallel" "$TRASH/default" &&
	set -- $(grep " lib/a.bin$" "$TRASH/frames") &&
	cp "$I" "$BAD" &&
	printf "\\377\\377\\377\\377" |
		dd of="$BAD" bs=1 seek=$(($2 + $3 / 2)) conv=notrunc 2>/dev/null &&
	$FRAMES reseal "$BAD" &&
	refused "lib/a.bin" &&
	! grep -q "lib/[bc].bin" "$TRASH/err"
'

expect_success 'a truncated frame is refused' '
	set -- $(grep " lib/b.bin " "$TRASH/frames") &&
	cp "$I" "$BAD" && $FRAMES setlen "$BAD" "$1" -1 && refused "frame of lib/b.bin is truncated" &&
	cp "$I" "$BAD" && $FRAMES setlen "$BAD" "$1" 1 && refused "frame of lib/b.bin is truncated"
'

expect_success 'an unknown format version is refused, naming the file and what is supported' '
	cp "$I" "$BAD" && $FRAMES version "$BAD" 3 &&
	refused "$BAD: installer format version 3 is not supported: this installer reads versions 1 and 2"
'

expect_success 'an installer of format version 1 (one tar stream) still extracts' '
	mkdir -p "$TRASH/v1/lib" "$TRASH/v1/share" &&
	cp "$FX/src/a.bin" "$FX/src/b.bin" "$FX/src/c.bin" "$FX/src/empty" "$TRASH/v1/lib/" &&
	cp "$FX/src/notes.txt" "$TRASH/v1/share/" &&
	chmod 600 "$TRASH/v1/lib/b.bin" && chmod 755 "$TRASH/v1/lib/c.bin" &&
	chmod 644 "$TRASH/v1/lib/a.bin" "$TRASH/v1/lib/empty" "$TRASH/v1/share/notes.txt" &&
	python3 - "$I" "$TRASH/v1" "$TRASH/v1.tar" "$TRASH/v1.meta" <<-PY &&
	import sys, tarfile
	data = open(sys.argv[1], "rb").read()
	off, plen, moff, mlen = __import__("struct").unpack("<4Q", data[-256 + 24:-256 + 56])
	open(sys.argv[4], "wb").write(data[moff:moff + mlen])
	names = [l.split(" ")[-1] for l in data[moff:moff + mlen].decode().split("\n")
	         if l.startswith(("dir ", "file "))]
	with tarfile.open(sys.argv[3], "w", format=tarfile.PAX_FORMAT) as t:
	    for n in names:
	        info = t.gettarinfo(sys.argv[2] + "/" + n, n)
	        info.uid = info.gid = 0
	        info.uname = info.gname = ""
	        info.mtime = 1704067200
	        t.addfile(info, open(sys.argv[2] + "/" + n, "rb") if info.isfile() else None)
	PY
	zstd -q -3 "$TRASH/v1.tar" -o "$TRASH/v1.tar.zst" &&
	"$DY_TOOLS/dy-forge" "$STUB" "$TRASH/v1.tar.zst" "$TRASH/v1.meta" \
		"$(stat -c %s "$TRASH/v1.tar")" "$TRASH/v1.inst" 25 &&
	[ "$(od -An -tu4 -j $(($(stat -c %s "$TRASH/v1.inst") - 248)) -N4 "$TRASH/v1.inst" | tr -d " ")" = 1 ] &&
	"$TRASH/v1.inst" extract "$TRASH/fromv1" >/dev/null && same_tree "$TRASH/fromv1"
'

test_done
