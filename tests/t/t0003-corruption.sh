#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A flipped byte anywhere (stub, payload, metadata, trailer) or a truncated
# or extended file is refused by check and extract, and nothing is written.
#
# DY_FLIPS sets how many random payload/metadata positions are tried (each
# with check and extract); DY_SEED makes a run repeatable.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# The sanitizer build is slower: it gets a lighter (still random) sweep.
if [ "${DY_FLAVOR:-release}" = asan ]; then
	FLIPS=${DY_FLIPS:-40}
	STRIDE=7
else
	FLIPS=${DY_FLIPS:-150}
	STRIDE=1
fi
SEED=${DY_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d " ")}
I="$TRASH/inst"
BAD="$TRASH/bad"
say "# seed $SEED, $FLIPS random positions"

expect_success 'fixture installer builds' '
	make_payload_dir "$TRASH/fx" 400000 &&
	build_installer "$TRASH/fx" "$I" &&
	"$I" check
'

# Region boundaries, read from the trailer (little-endian u64 fields).
field() {
	od -An -tu8 -j "$1" -N8 "$I" | tr -d " "
}
SIZE=$(stat -c %s "$I")
TRAILER=$((SIZE - 256))
PAYLOAD_OFF=$(field $((TRAILER + 24)))
META_OFF=$(field $((TRAILER + 40)))

# positions LOW HIGH COUNT: COUNT pseudo-random offsets in [LOW, HIGH).
positions() {
	awk -v lo="$1" -v hi="$2" -v n="$3" -v seed="$SEED" \
		'BEGIN { srand(seed + lo); for (i = 0; i < n; i++) printf "%d\n", lo + int(rand() * (hi - lo)) }'
}

# flip POS: xor the byte at POS of $BAD with a non-zero value.
flip() {
	old=$(od -An -tu1 -j "$1" -N1 "$BAD" | tr -d " ")
	new=$(( (old + 1 + $1 % 255) % 256 ))
	printf '%b' "\\0$(printf %03o "$new")" | dd of="$BAD" bs=1 seek="$1" conv=notrunc 2>/dev/null
}

# refused HOW [COMMANDS]: the corrupt copy is refused with a clear message and
# leaves nothing behind.  HOW is "self" (run the copy) or "image" (an
# intact installer inspects the copy: a corrupt stub may not even run).
refused() {
	if [ "$1" = self ]; then run="$BAD"; else run="$I --image $BAD"; fi
	cmds=${2:-check,extract $TRASH/target}
	IFS=,
	# shellcheck disable=SC2086 # split the command list on commas
	set -- $cmds
	unset IFS
	for cmd in "$@"; do
		# shellcheck disable=SC2086 # $run and $cmd are word lists
		$run $cmd >/dev/null 2>"$TRASH/err"
		rc=$?
		if [ "$rc" = 0 ] || [ "$rc" -gt 128 ]; then
			echo "$cmd on corrupt copy exited $rc" >&2
			return 1
		fi
		grep -q "error: .*bad" "$TRASH/err" || { cat "$TRASH/err" >&2; return 1; }
		if [ -e "$TRASH/target" ] || ! no_staging_left; then
			echo "$cmd left files behind" >&2
			return 1
		fi
	done
}

# sweep HOW COMMANDS LIST: flip each position of LIST, one at a time.
sweep() {
	how=$1
	cmds=$2
	shift 2
	cp "$I" "$BAD" || return 1
	for pos in "$@"; do
		if ! { flip "$pos" && refused "$how" "$cmds"; }; then
			echo "position $pos not refused" >&2
			return 1
		fi
		dd if="$I" of="$BAD" bs=1 skip="$pos" seek="$pos" count=1 conv=notrunc 2>/dev/null
	done
	cmp "$I" "$BAD" || fail "sweep did not restore the copy"
}

expect_success "every trailer byte flipped is refused by check (every ${STRIDE}th by extract)" '
	sweep self check $(seq "$TRAILER" $((SIZE - 1))) &&
	sweep self "extract $TRASH/target" $(seq "$TRAILER" "$STRIDE" $((SIZE - 1)))
'

expect_success "$FLIPS random payload and metadata flips are refused" '
	sweep self "" $(positions "$PAYLOAD_OFF" "$TRAILER" "$FLIPS") \
		"$PAYLOAD_OFF" $((META_OFF - 1)) "$META_OFF" $((TRAILER - 1))
'

expect_success 'random stub flips are refused (checked from an intact installer)' '
	sweep image "" $(positions 0 "$PAYLOAD_OFF" 40) 0 $((PAYLOAD_OFF - 1))
'

expect_success 'truncation anywhere is refused' '
	for len in $(positions 0 "$SIZE" 40) 0 1 "$PAYLOAD_OFF" "$META_OFF" "$TRAILER" \
		$((SIZE - 1)); do
		head -c "$len" "$I" >"$BAD" &&
		refused image || { echo "length $len not refused" >&2; return 1; }
	done
'

expect_success 'bytes appended after the trailer are refused' '
	cp "$I" "$BAD" && printf x >>"$BAD" && refused image
'

# One message, whatever the damage: the file, "corrupt or truncated", the
# digests, and what was met first when that came before the digest.
expect_success 'messages say what is wrong' '
	cp "$I" "$BAD" && flip $((TRAILER + 240)) &&
	must_fail "$BAD" check 2>err &&
	grep -q "error: $BAD: installer is corrupt or truncated: SHA-256 is [0-9a-f]*, trailer expects" err &&
	cp "$I" "$BAD" && flip "$PAYLOAD_OFF" &&
	must_fail "$BAD" check 2>err &&
	grep -q "error: $BAD: installer is corrupt or truncated: .*first symptom" err &&
	head -c $((SIZE - 10)) "$I" >"$BAD" &&
	must_fail "$I" --image "$BAD" check 2>err &&
	grep -q "error: $BAD: installer is corrupt or truncated: .*first symptom: no dockyard trailer" err &&
	head -c 100 "$I" >"$BAD" &&
	must_fail "$I" --image "$BAD" list 2>err &&
	grep -q "error: $BAD: installer is corrupt or truncated: 100 bytes is too short" err &&
	test "$(grep -c "error: " err)" = 1
'

# The trailer and metadata are trusted only once the digest matched: list,
# plan and preflight check it before they say anything, and a damaged
# field is never reported as what it seems to say.
expect_success 'list, plan and preflight say corrupt, not what the damaged metadata says' '
	cp "$I" "$BAD" && flip $((TRAILER - 2)) &&
	for cmd in list preflight "plan --sysroot $TRASH/img --root /opt/x" --version; do
		# shellcheck disable=SC2086 # cmd is a word list
		must_fail "$BAD" $cmd >out 2>err &&
		grep -q "error: $BAD: installer is corrupt or truncated" err &&
		test "$(grep -c "error: \|warning: " err)" = 1 &&
		! grep -q "components\|plan for" out || return 1
	done &&
	test ! -e "$TRASH/img"
'

# A payload with a dynamically linked file has a "needs" line.  Damaged
# there, it names a library the host lacks: install must say the file is
# corrupt, not that a preflight check failed (on the host, where that check
# refuses) or warn about it (in an image tree, where it only warns).
expect_success 'a damaged library need reads as corrupt, not as a missing library' '
	mkdir -p dyn && cp /bin/ls dyn/ls && cp -R "$SRC_DIR/scripts" dyn/scripts &&
	printf "%s\n" "[component tools]" "version = 1" "file ls -> bin/ls 0755" "" \
		"[component dockyardctl]" "version = 0.1.0" \
		"concat scripts -> bin/dockyardctl 0755" >dyn/test.manifest &&
	build_installer dyn "$TRASH/dyn.inst" &&
	"$TRASH/dyn.inst" list | grep -q "^needs host libraries: .*libc\.so\.6" &&
	cp "$TRASH/dyn.inst" "$BAD" &&
	off=$(grep -boa "libc\.so\.6" "$BAD" | tail -n 1 | cut -d : -f 1) &&
	printf x | dd of="$BAD" bs=1 seek=$((off + 3)) conv=notrunc 2>/dev/null &&
	{ "$I" --image "$BAD" check 2>err; test $? = 1; } &&
	grep -q "error: $BAD: installer is corrupt or truncated: SHA-256 is" err &&
	mkdir img &&
	for where in "--root $TRASH/hostroot" "--sysroot $TRASH/img --root /opt/x"; do
		# shellcheck disable=SC2086 # where is a word list
		"$BAD" $where --prefix "c3x$(($$ % 10000))" --no-start --no-systemd \
			--no-images >out 2>err
		rc=$?
		test "$rc" = 1 || { cat err; echo "exit $rc" >&2; return 1; }
		test "$(grep -c "error: \|warning: " err)" = 1 &&
		grep -q "error: $BAD: installer is corrupt or truncated: SHA-256" err || {
			cat err >&2
			return 1
		}
	done &&
	test ! -e "$TRASH/hostroot" && test -z "$(ls img)" &&
	! grep -q "^c3x$(($$ % 10000))docker:" /etc/group
'

test_done
