#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Artifact fetching (builder/fetch.c) through the dy-fetch test driver,
# against a local fault-injecting server (tests/tools/httpd.py) on
# 127.0.0.1: cache hits make no request, transient errors are retried and
# resumed, digests are checked before anything enters the cache, mirrors
# are tried in order, and offline mode works without any network.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Only ever talk to our own server, whatever the environment says.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
NO_PROXY='*'
no_proxy='*'
export NO_PROXY no_proxy

HTTPD_PID=
stop_httpd() {
	if [ -n "$HTTPD_PID" ]; then
		kill "$HTTPD_PID" 2>/dev/null
		wait "$HTTPD_PID" 2>/dev/null
	fi
	cleanup_trash
}
trap stop_httpd EXIT

SRV=$TRASH/srv
LOG=$TRASH/httpd.log
mkdir -p "$SRV" "$TRASH/mirror" "$TRASH/local dir"
: >"$LOG"
python3 "$SRC_DIR/tests/tools/httpd.py" --root "$SRV" --port-file "$TRASH/port" \
	--log "$LOG" --lifetime 120 &
HTTPD_PID=$!
i=0
while [ ! -s "$TRASH/port" ] && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
BASE="http://127.0.0.1:$(cat "$TRASH/port")"

sha() {
	sha256sum "$1" | cut -d" " -f1
}

# fixture NAME BYTES [DIR]: random content; prints nothing, sets nothing.
fixture() {
	head -c "$2" /dev/urandom >"${3:-$SRV}/$1"
}

# requests PATTERN: how many logged requests match the grep pattern.
requests() {
	grep -c -- "$1" "$LOG"
}

fetch() {
	"$DY_TOOLS/dy-fetch" --backoff-ms 50 "$@"
}

for f in a b c e h i j k p1 p2 p3 p4; do
	fixture "$f.bin" 200000
done
fixture d.bin 1048576
fixture s.bin 100000
fixture f.bin 50000 "$TRASH/mirror"
fixture g.bin 50000 "$TRASH/local dir"
A=$(sha "$SRV/a.bin")
D=$(sha "$SRV/d.bin")
F=$(sha "$TRASH/mirror/f.bin")
G=$(sha "$TRASH/local dir/g.bin")
WRONG=$(printf "not it" | sha256sum | cut -d" " -f1)

expect_success 'a download is verified and lands in the content-addressed cache' '
	fetch --cache c1 a "$BASE/ok/a.bin" "$A" >out &&
	test "$(cat out)" = "a $A c1/sha256/$A" &&
	cmp c1/sha256/$A "$SRV/a.bin" &&
	test "$(stat -c %a c1/sha256/$A)" = 644 &&
	dir_is_empty c1/partial &&
	test "$(requests "^GET /ok/a.bin ")" = 1
'

expect_success 'a cached artifact is re-verified and used without any request' '
	fetch --cache c1 a "$BASE/ok/a.bin" "$A" >out &&
	test "$(cat out)" = "a $A c1/sha256/$A" &&
	test "$(requests "^GET /ok/a.bin ")" = 1
'

expect_success '404 fails at once, naming the artifact, the URL and the status' '
	must_fail fetch --cache c2 "b 1.0" "$BASE/404/b.bin" "$(sha "$SRV/b.bin")" 2>err &&
	grep -F "b 1.0: all sources failed: $BASE/404/b.bin: HTTP 404" err &&
	test "$(requests "^GET /404/b.bin ")" = 1 &&
	dir_is_empty c2/sha256 && dir_is_empty c2/partial
'

expect_success 'a 500 is retried with backoff, then the download succeeds' '
	fetch --cache c3 c "$BASE/500once/c.bin" "$(sha "$SRV/c.bin")" &&
	test "$(requests "^GET /500once/c.bin ")" = 2
'

expect_success 'a connection cut mid-body resumes with a Range request' '
	fetch --cache c4 d "$BASE/cut/d.bin" "$D" >out &&
	grep -qx "GET /cut/d.bin -" "$LOG" &&
	grep -qx "GET /cut/d.bin bytes=[1-9][0-9]*-" "$LOG" &&
	test "$(requests "^GET /cut/d.bin ")" = 2 &&
	cmp c4/sha256/$D "$SRV/d.bin" && dir_is_empty c4/partial
'

expect_success 'a wrong digest fails naming both digests and keeps no file' '
	must_fail fetch --cache c5 e "$BASE/ok/e.bin" "$WRONG" 2>err &&
	grep -F "e: all sources failed: $BASE/ok/e.bin: sha256 is $(sha "$SRV/e.bin"), lock pins $WRONG" err &&
	dir_is_empty c5/sha256 && dir_is_empty c5/partial
'

expect_success 'a stalled transfer fails within the low-speed time, naming a timeout' '
	start=$(date +%s) &&
	must_fail fetch --cache c6 --low-speed-time 2 --retries -1 s "$BASE/stall/s.bin" \
		"$(sha "$SRV/s.bin")" 2>err &&
	test $(($(date +%s) - start)) -lt 10 &&
	grep -F "s: all sources failed: $BASE/stall/s.bin: timeout: Operation too slow" err
'

expect_success 'mirrors are tried in order before the URL' '
	K=$(sha "$SRV/k.bin") &&
	fetch --cache c7 --mirror "$BASE/404/" --mirror "$BASE/m2" k "$BASE/ok/k.bin" "$K" >out &&
	test "$(cat out)" = "k $K c7/sha256/$K" &&
	test "$(requests "^GET /404/k.bin ")" = 1 &&
	test "$(requests "^GET /m2/k.bin ")" = 1 &&
	test "$(requests "/ok/k.bin ")" = 0
'

expect_success 'a failed mirror shows up in the error beside the URL' '
	must_fail fetch --cache c7 --mirror "$BASE/404" x "$BASE/404/x.bin" "$WRONG" 2>err &&
	grep -F "x: all sources failed: mirror $BASE/404/x.bin: HTTP 404; $BASE/404/x.bin: HTTP 404" err
'

expect_success 'a directory mirror is used like file://DIR, with no request' '
	fetch --cache c8 --mirror "$TRASH/mirror" f "$BASE/ok/f.bin" "$F" >out &&
	test "$(cat out)" = "f $F c8/sha256/$F" &&
	test "$(requests "/f.bin ")" = 0
'

expect_success 'file:// URLs and plain paths work, also with a space in the path' '
	fetch --cache c9 g1 "file://$TRASH/local%20dir/g.bin" "$G" >out &&
	grep -qx "g1 $G c9/sha256/$G" out &&
	rm c9/sha256/$G &&
	fetch --cache c9 g2 "$TRASH/local dir/g.bin" - >out &&
	grep -qx "g2 $G c9/sha256/$G" out && cmp c9/sha256/$G "$TRASH/local dir/g.bin"
'

expect_success 'offline with a full cache succeeds with no network at all' '
	unshare -n "$DY_TOOLS/dy-fetch" --offline --cache c1 a "$BASE/ok/a.bin" "$A" >out &&
	test "$(cat out)" = "a $A c1/sha256/$A" &&
	test "$(requests "^GET /ok/a.bin ")" = 1
'

expect_success 'offline with a missing artifact fails naming it, without a request' '
	must_fail unshare -n "$DY_TOOLS/dy-fetch" --offline --cache c1 \
		"docker 29.2.1 (x86_64)" "$BASE/ok/h.bin" "$(sha "$SRV/h.bin")" 2>err &&
	grep -F "docker 29.2.1 (x86_64): not in the cache, and offline mode forbids the network" err &&
	test "$(requests "/h.bin ")" = 0
'

expect_success 'offline still uses on-disk mirrors and skips network ones' '
	unshare -n "$DY_TOOLS/dy-fetch" --offline --cache c10 --mirror "$BASE/m1" \
		--mirror "$TRASH/mirror" f "$BASE/ok/f.bin" "$F" >out &&
	test "$(cat out)" = "f $F c10/sha256/$F" &&
	test "$(requests "/f.bin ")" = 0
'

expect_success 'a corrupted cache file is detected, removed and fetched again' '
	printf "bit rot" >c1/sha256/$A &&
	fetch --cache c1 a "$BASE/ok/a.bin" "$A" >out 2>err &&
	grep -F "cached c1/sha256/$A is corrupt" err &&
	cmp c1/sha256/$A "$SRV/a.bin" &&
	test "$(requests "^GET /ok/a.bin ")" = 2
'

expect_success 'a server that ignores Range makes the download start over' '
	I=$(sha "$SRV/i.bin") &&
	mkdir -p c11/partial && head -c 1000 "$SRV/i.bin" >c11/partial/$I.part &&
	fetch --cache c11 i "$BASE/norange/i.bin" "$I" &&
	grep -qx "GET /norange/i.bin bytes=1000-" "$LOG" &&
	grep -qx "GET /norange/i.bin -" "$LOG" &&
	cmp c11/sha256/$I "$SRV/i.bin" && dir_is_empty c11/partial
'

expect_success 'a stale partial file that spoils the digest is fetched again from zero' '
	J=$(sha "$SRV/j.bin") &&
	mkdir -p c12/partial && head -c 5000 /dev/urandom >c12/partial/$J.part &&
	fetch --cache c12 j "$BASE/ok/j.bin" "$J" &&
	grep -qx "GET /ok/j.bin bytes=5000-" "$LOG" &&
	grep -qx "GET /ok/j.bin -" "$LOG" &&
	cmp c12/sha256/$J "$SRV/j.bin"
'

expect_success 'four items are fetched in parallel, pinned and unpinned' '
	fetch --cache c13 --parallel 4 \
		p1 "$BASE/ok/p1.bin" "$(sha "$SRV/p1.bin")" \
		p2 "$BASE/cut/p2.bin" "$(sha "$SRV/p2.bin")" \
		p3 "$BASE/500once/p3.bin" "$(sha "$SRV/p3.bin")" \
		p4 "$BASE/ok/p4.bin" - >out &&
	test "$(wc -l <out)" = 4 &&
	for p in p1 p2 p3 p4; do
		grep -qx "$p $(sha "$SRV/$p.bin") c13/sha256/$(sha "$SRV/$p.bin")" out || return 1
	done
'

expect_success 'every failed item is reported, and the run still fetches the rest' '
	must_fail fetch --cache c14 --retries -1 \
		good "$BASE/ok/p1.bin" - \
		bad1 "$BASE/404/b.bin" - \
		bad2 "$BASE/404/c.bin" - >out 2>err &&
	grep -q "^good " out &&
	grep -F "bad1: all sources failed" err && grep -F "bad2: all sources failed" err
'

expect_success 'a bad URL scheme or mirror is refused with a clear message' '
	must_fail fetch --cache c15 z "ftp://127.0.0.1/z" - 2>err &&
	grep -F "z: unsupported URL ftp://127.0.0.1/z" err &&
	must_fail fetch --cache c15 --mirror relative/dir z "$BASE/ok/a.bin" - 2>err &&
	grep -F "mirror relative/dir: not an" err
'

test_done
