#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Payloads that try to escape the target (../, absolute names, symlinks,
# hard links, devices) or to smuggle data past the metadata are refused by
# check and extract, even when the trailer digest is valid, and nothing is
# written anywhere.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

FORGE="$DY_TOOLS/dy-forge"
ESC="$TRASH/escape"
mkdir -p "$ESC" "$TRASH/work" "$TRASH/site"

# forge CASE [TAR_LEN [WINDOW_LOG]]: build an installer around hostile.py's
# CASE; the trailer declares TAR_LEN (default: the real one) and WINDOW_LOG.
forge() {
	python3 "$SRC_DIR/tests/tools/hostile.py" "$1" "$TRASH/work" "$ESC" &&
	zstd -q -f -3 "$TRASH/work/$1.tar" -o "$TRASH/work/$1.tar.zst" &&
	len=${2:-$(stat -c %s "$TRASH/work/$1.tar")} &&
	"$FORGE" "$STUB" "$TRASH/work/$1.tar.zst" "$TRASH/work/$1.meta" "$len" \
		"$TRASH/work/$1.inst" "${3:-25}"
}

# refuses CASE REASON: check and extract fail naming REASON, write nothing.
refuses() {
	inst="$TRASH/work/$1.inst"
	if ! { must_fail "$inst" check 2>"$TRASH/err" && grep -q -- "$2" "$TRASH/err"; }; then
		cat "$TRASH/err"
		return 1
	fi
	if ! { (cd "$TRASH/site" && must_fail "$inst" extract target 2>"$TRASH/err") &&
		grep -q -- "$2" "$TRASH/err"; }; then
		cat "$TRASH/err"
		return 1
	fi
	dir_is_empty "$TRASH/site" || fail "extract left $(ls -A "$TRASH/site")"
	dir_is_empty "$ESC" || fail "something escaped into $ESC"
	! find "$TRASH" -name "escape-*" | grep -q . || fail "escape file written"
}

expect_success 'the forge itself makes installers that pass (control case)' '
	python3 "$SRC_DIR/tests/tools/hostile.py" missing "$TRASH/work" "$ESC" &&
	printf "dockyard-payload 1\nbuilt 1\ncomponent c 1.0\ndir 0755 bin\n" \
		>"$TRASH/work/missing.meta" &&
	zstd -q -f -3 "$TRASH/work/missing.tar" -o "$TRASH/work/ok.tar.zst" &&
	"$FORGE" "$STUB" "$TRASH/work/ok.tar.zst" "$TRASH/work/missing.meta" \
		"$(stat -c %s "$TRASH/work/missing.tar")" "$TRASH/work/ok.inst" &&
	"$TRASH/work/ok.inst" check &&
	(cd "$TRASH/site" && "$TRASH/work/ok.inst" -q extract target) &&
	test -d "$TRASH/site/target/bin" && rm -rf "$TRASH/site/target"
'

expect_success 'a ../ member is refused' '
	forge dotdot && refuses dotdot "contains a .\.\.. component"
'

expect_success 'an absolute member is refused' '
	forge absolute && refuses absolute "is absolute"
'

expect_success 'a symlink, and a file written through it, are refused' '
	forge symlink && refuses symlink "is a symbolic link"
'

expect_success 'a hard link is refused' '
	forge hardlink && refuses hardlink "is a hard link"
'

expect_success 'a device node is refused' '
	forge device && refuses device "device or special file"
'

expect_success 'a member missing from the metadata is refused' '
	forge unlisted && refuses unlisted "is not listed in the metadata"
'

expect_success 'a duplicate member is refused' '
	forge duplicate && refuses duplicate "is not listed in the metadata"
'

expect_success 'a member listed but absent is refused' '
	forge missing && refuses missing "payload is missing bin/x"
'

expect_success 'a member whose bytes differ from its sha256 is refused' '
	forge tampered && refuses tampered "metadata expects"
'

expect_success 'a member larger than declared is refused' '
	forge oversized && refuses oversized "has size"
'

expect_success 'metadata naming ../ is refused before any extraction' '
	forge metadotdot && refuses metadotdot "corrupt metadata"
'

expect_success 'a payload that inflates past the declared tar length is refused' '
	forge unlisted 512 && refuses unlisted "decompresses to more than"
'

expect_success 'a payload needing a larger zstd window than declared is refused' '
	forge big "" 25 && "$TRASH/work/big.inst" -q check &&
	forge big "" 20 && refuses big "needs more memory than the 2^20-byte window"
'

test_done
