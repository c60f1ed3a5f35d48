#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Signed installers: --sign KEY.pem embeds an ECDSA P-256 signature in the
# trailer and writes OUT.sig beside the installer; check --key PUB.pem
# requires it.  The whole-file digest catches damage, and anyone can
# recompute it; only the signature catches a forged file.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null 2>&1; then
	expect_success 'openssl is installed (make deps)' 'false'
	test_done
	exit
fi

I="$TRASH/signed"
PLAIN="$TRASH/plain"
BAD="$TRASH/bad"
KEY="$TRASH/key.pem"
PUB="$TRASH/pub.pem"
OTHER_PUB="$TRASH/other-pub.pem"

# trailer FILE OFF N: N-byte little-endian unsigned at trailer offset OFF.
trailer() {
	size=$(stat -c %s "$1")
	od -An -tu"$3" --endian=little -j $((size - 256 + $2)) -N"$3" "$1" | tr -d " "
}

# flip FILE POS: change the byte at POS (negative: from the end).
flip() {
	pos=$2
	[ "$pos" -ge 0 ] || pos=$(($(stat -c %s "$1") + pos))
	old=$(od -An -tu1 -j "$pos" -N1 "$1" | tr -d " ")
	printf '%b' "\\0$(printf %03o $((old ^ 0x5a)))" |
		dd of="$1" bs=1 seek="$pos" conv=notrunc 2>/dev/null
}

# zero FILE POS N: zero N bytes at POS (negative: from the end).
zero() {
	pos=$2
	[ "$pos" -ge 0 ] || pos=$(($(stat -c %s "$1") + pos))
	dd if=/dev/zero of="$1" bs=1 seek="$pos" count="$3" conv=notrunc 2>/dev/null
}

# rehash FILE: make the trailer's digest match the file again, as anyone
# can.  What is left to catch a change is the signature.
rehash() {
	size=$(stat -c %s "$1")
	head -c $((size - 32)) "$1" | openssl dgst -sha256 -binary |
		dd of="$1" bs=1 seek=$((size - 32)) conv=notrunc 2>/dev/null
}

# no_output OUT: nothing was written for OUT, not even a temporary file.
no_output() {
	for f in "$1" "$1".sig "$1".tmp-* "$1".sig.tmp-*; do
		test ! -e "$f" || fail "written: $f" || return 1
	done
}

expect_success 'keys: two P-256 pairs, an RSA key, a P-384 key' '
	openssl ecparam -genkey -name prime256v1 -out "$KEY" 2>/dev/null &&
	openssl ec -in "$KEY" -pubout -out "$PUB" 2>/dev/null &&
	openssl ecparam -genkey -name prime256v1 -out other.pem 2>/dev/null &&
	openssl ec -in other.pem -pubout -out "$OTHER_PUB" 2>/dev/null &&
	openssl genrsa -out rsa.pem 2048 2>/dev/null &&
	openssl ecparam -genkey -name secp384r1 -out p384.pem 2>/dev/null
'

expect_success '--sign writes a signed installer and OUT.sig' '
	make_payload_dir "$TRASH/fx" 300000 &&
	build_installer "$TRASH/fx" "$I" --sign "$KEY" &&
	test -s "$I.sig" &&
	test "$(trailer "$I" 12 4)" = 1 &&
	test "$(trailer "$I" 64 2)" = 64 &&
	test "$(stat -c %a "$I.sig")" = 644 &&
	! ls "$TRASH" | grep -q "\.tmp-"
'

expect_success 'check --key with the right public key passes' '
	"$I" check --key "$PUB" >out 2>&1 &&
	grep -q ": OK (" out &&
	grep -q "signature OK ($PUB)" out
'

expect_success 'check without --key says the signature was not verified' '
	"$I" check >out 2>&1 &&
	grep -q "signed; signature not verified (give --key PUB.pem)" out &&
	! grep -q "signature OK" out
'

expect_success 'check --key with another public key fails, naming it' '
	must_fail "$I" check --key "$OTHER_PUB" 2>err &&
	grep -q "error: .*signature does not verify with $OTHER_PUB" err
'

expect_success 'openssl verifies OUT.sig over the whole installer' '
	openssl dgst -sha256 -verify "$PUB" -signature "$I.sig" "$I" >out &&
	grep -qx "Verified OK" out &&
	must_fail openssl dgst -sha256 -verify "$OTHER_PUB" -signature "$I.sig" "$I" >out
'

expect_success 'an unsigned installer fails check --key: not signed' '
	build_installer "$TRASH/fx" "$PLAIN" &&
	test ! -e "$PLAIN.sig" &&
	"$PLAIN" check >out 2>&1 && ! grep -q signature out &&
	must_fail "$PLAIN" check --key "$PUB" 2>err &&
	grep -q "error: .*installer is not signed" err
'

expect_success 'an unsigned rebuild removes the previous OUT.sig' '
	cp "$I" "$TRASH/resigned" && cp "$I.sig" "$TRASH/resigned.sig" &&
	build_installer "$TRASH/fx" "$TRASH/resigned" &&
	test ! -e "$TRASH/resigned.sig"
'

expect_success 'a changed signature byte is refused with and without --key' '
	cp "$I" "$BAD" && flip "$BAD" -$((256 - 72 - 10)) &&
	must_fail "$I" --image "$BAD" check 2>err &&
	grep -q "installer is corrupt" err &&
	must_fail "$I" --image "$BAD" check --key "$PUB" 2>err &&
	grep -q "installer is corrupt" err
'

expect_success 'a changed signature with a recomputed digest fails only the key check' '
	cp "$I" "$BAD" && flip "$BAD" -$((256 - 72 - 10)) && rehash "$BAD" &&
	"$I" --image "$BAD" check >out 2>&1 &&
	grep -q "signature not verified" out &&
	must_fail "$I" --image "$BAD" check --key "$PUB" 2>err &&
	grep -q "signature does not verify with $PUB" err
'

expect_success 'a changed stub byte with a recomputed digest fails the key check' '
	cp "$I" "$BAD" && flip "$BAD" 5000 && rehash "$BAD" &&
	"$I" --image "$BAD" check >/dev/null 2>&1 &&
	must_fail "$I" --image "$BAD" check --key "$PUB" 2>err &&
	grep -q "signature does not verify with $PUB" err
'

expect_success 'clearing only the signed flag (digest recomputed) breaks the trailer rules' '
	cp "$I" "$BAD" && zero "$BAD" -$((256 - 12)) 1 && rehash "$BAD" &&
	must_fail "$I" --image "$BAD" check 2>err &&
	grep -q "signature area is not empty, but the signed flag is not set" err
'

expect_success 'a stripped signature (digest recomputed) passes check but not check --key' '
	cp "$I" "$BAD" && zero "$BAD" -$((256 - 12)) 1 && zero "$BAD" -$((256 - 64)) 2 &&
	zero "$BAD" -$((256 - 72)) 104 && rehash "$BAD" &&
	"$I" --image "$BAD" check >out 2>&1 && ! grep -q signature out &&
	must_fail "$I" --image "$BAD" check --key "$PUB" 2>err &&
	grep -q "installer is not signed" err
'

expect_success 'two signed builds are byte-identical (RFC 6979), .sig included' '
	build_installer "$TRASH/fx" "$TRASH/again" --sign "$KEY" &&
	cmp "$I" "$TRASH/again" && cmp "$I.sig" "$TRASH/again.sig"
'

expect_success 'signed and unsigned builds differ only in the trailer' '
	size=$(stat -c %s "$I") &&
	test "$(stat -c %s "$PLAIN")" = "$size" &&
	cmp -n $((size - 256)) "$I" "$PLAIN"
'

expect_success 'an RSA key is refused by the builder and nothing is written' '
	must_fail build_installer "$TRASH/fx" "$TRASH/rsa-out" --sign rsa.pem 2>err &&
	grep -q "key rsa.pem is not an EC key but RSA; .* need an EC P-256 (prime256v1) key" err &&
	no_output "$TRASH/rsa-out"
'

expect_success 'a P-384 key or a public key is refused and nothing is written' '
	must_fail build_installer "$TRASH/fx" "$TRASH/k-out" --sign p384.pem 2>err &&
	grep -q "key p384.pem is an EC key on curve secp384r1" err &&
	must_fail build_installer "$TRASH/fx" "$TRASH/k-out" --sign "$PUB" 2>err &&
	grep -q "is a public key; signing needs the private key" err &&
	must_fail build_installer "$TRASH/fx" "$TRASH/k-out" --sign missing.pem 2>err &&
	grep -q "cannot read key missing.pem" err &&
	no_output "$TRASH/k-out"
'

expect_success 'a private key given to --key is refused, naming it' '
	must_fail "$I" check --key "$KEY" 2>err &&
	grep -q "key $KEY is a private key; give its public half" err
'

expect_success '--key with another command is a usage error' '
	"$I" extract "$TRASH/x" --key "$PUB" 2>err; test $? = 2 &&
	grep -q -- "--key applies to install, plan and check" err && test ! -e "$TRASH/x"
'

test_done
