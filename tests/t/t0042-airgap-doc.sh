#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# docs/airgap.md prints the commands that check a transfer set on the
# target; this runs exactly those commands (the block marked
# "airgap-test: check", taken from the doc) against a signed set the
# builder wrote: they pass on the set as built, and fail when any file of
# the set is changed, missing, or signed by another key.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

DOC=$SRC_DIR/docs/airgap.md

# doc_block NAME: the ```sh block after <!-- airgap-test: NAME --> in DOC.
doc_block() {
	awk -v m="<!-- airgap-test: $1 -->" '
		$0 == m { want = 1; next }
		want && /^```sh$/ { inside = 1; next }
		inside && /^```$/ { exit }
		inside { print }' "$DOC"
}

# flip_last FILE: change FILE's last byte (appending would not do: openssl
# dgst reads at most the key's maximum signature length, so a byte added to
# a 72-byte DER signature is never read).
flip_last() {
	_fl_pos=$(($(stat -c %s "$1") - 1))
	_fl_old=$(od -An -tu1 -j "$_fl_pos" -N1 "$1" | tr -d " ")
	printf "%b" "\\0$(printf %03o $((_fl_old ^ 0x5a)))" |
		dd of="$1" bs=1 seek="$_fl_pos" conv=notrunc 2>/dev/null
}

# run_check DIR: the doc's check block, run in DIR; every command must succeed.
run_check() {
	(cd "$1" && sh -ec "$(doc_block check)") >"$1.log" 2>&1
}

expect_success 'the doc holds the check block, and it names only coreutils, openssl and the installer' '
	doc_block check >check.sh && test "$(wc -l <check.sh)" -ge 4 &&
	grep -q "^sha256sum -c SHA256SUMS\$" check.sh &&
	grep -q "^openssl dgst -sha256 -verify dockyard-release.pub.pem -signature SHA256SUMS.sig SHA256SUMS\$" check.sh &&
	grep -q "check --key dockyard-release.pub.pem" check.sh &&
	! grep -v "^sha256sum \|^openssl \|^chmod \|^./dockyard-installer " check.sh
'

expect_success 'a signed build writes the transfer set: SHA256SUMS covers every file, SHA256SUMS.sig beside it' '
	openssl ecparam -name prime256v1 -genkey -noout -out key.pem 2>/dev/null &&
	openssl ec -in key.pem -pubout -out pub.pem 2>/dev/null &&
	openssl ecparam -name prime256v1 -genkey -noout -out other.pem 2>/dev/null &&
	openssl ec -in other.pem -pubout -out other-pub.pem 2>/dev/null &&
	mkdir set &&
	"$BUILD" -q --manifest "$SRC_DIR/payload/demo.manifest" --stub "$STUB" --cache cache \
		--level 1 --sign key.pem --out set/dockyard-installer &&
	(cd set && ls | grep -v "^SHA256SUMS" | sort >../files && cut -d " " -f 3 SHA256SUMS | sort >../listed) &&
	diff files listed && test "$(wc -l <files)" = 4 && test -s set/SHA256SUMS.sig
'

expect_success 'the check block passes on the set as built (public key beside it)' '
	cp pub.pem set/dockyard-release.pub.pem && chmod 0644 set/dockyard-installer &&
	run_check set || { cat set.log; false; }
'

expect_success 'the check block fails when any file of the set is changed' '
	run_check set &&
	for f in dockyard-installer dockyard-installer.sig dockyard-installer.spdx.json \
		dockyard-installer.buildinfo.json SHA256SUMS SHA256SUMS.sig; do
		rm -rf bad && cp -r set bad && flip_last "bad/$f" && ! cmp -s "set/$f" "bad/$f" &&
		{ ! run_check bad || fail "a changed $f passed the check"; } || return 1
	done
'

expect_success 'the check block fails when SHA256SUMS is rewritten to match a changed file' '
	run_check set &&
	rm -rf bad && cp -r set bad && flip_last bad/dockyard-installer.spdx.json &&
	(cd bad && sha256sum dockyard-installer dockyard-installer.sig dockyard-installer.spdx.json \
		dockyard-installer.buildinfo.json >SHA256SUMS) &&
	! run_check bad && grep -q "Verification failure" bad.log
'

expect_success 'the check block fails with another key, or without the signatures' '
	run_check set &&
	rm -rf bad && cp -r set bad && cp other-pub.pem bad/dockyard-release.pub.pem && ! run_check bad &&
	rm -rf bad && cp -r set bad && rm bad/SHA256SUMS.sig && ! run_check bad
'

expect_success 'an unsigned build into the same directory removes the stale signatures' '
	"$BUILD" -q --manifest "$SRC_DIR/payload/demo.manifest" --stub "$STUB" --cache cache \
		--level 1 --out set/dockyard-installer &&
	test ! -e set/SHA256SUMS.sig && test ! -e set/dockyard-installer.sig &&
	(cd set && sha256sum -c SHA256SUMS >/dev/null)
'

test_done
