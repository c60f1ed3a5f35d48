#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The shell side of the conformance corpus, tests/corpus/: every case runs
# through dockyardctl's own functions (check_value, ds_root,
# ds_read_receipt), which must accept or refuse it as the case says; the
# C unit test test_corpus runs the same cases through the installer.
# Nothing outside $TRASH is touched: the receipts name made-up paths and
# are only read.
# flavors: release
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CORPUS=$SRC_DIR/tests/corpus
CTL=$TRASH/dockyardctl
"$DY_TOOLS/dy-concat" "$SRC_DIR/scripts" "$CTL"

# The checker runs in a shell of its own: dockyardctl sets -eu.  Each case
# runs in a subshell, as die exits.  It prints one line per case that
# disagrees, and the number of cases on its last line.
cat >"$TRASH/check.sh" <<'CHECK'
DOCKYARDCTL_SOURCE_ONLY=1
. "$1"
kind=$2
file=$3
R=$TRASH/receipt
PREFIX=dy1

# as_root VALUE: ds_root's view of VALUE as this instance's root.
as_root() {
	DOCKYARD_CTL_ROOT=$1
	ds_root
}

# read_receipt: ds_read_receipt of $R for the instance /dy1.
read_receipt() {
	as_root /dy1
	DS_RECEIPT=$R
	ds_read_receipt
}

# verdict INPUT: 0 when the shell accepts the (decoded) input.
verdict() {
	case $kind in
	receipt-lines)
		printf 'dockyard-receipt 1\nroot /dy1\n%b\n' "$1" >"$R"
		(read_receipt) 2>/dev/null
		;;
	receipt-texts)
		printf '%b\n' "$1" >"$R"
		(read_receipt) 2>/dev/null
		;;
	env-values)
		v=$(printf '%b' "${1#*=}")
		(check_value "${1%%=*}" "$v") 2>/dev/null
		;;
	root-paths)
		v=$(printf '%b' "$1")
		# Both the env file's rule and destroy's: they must agree too.
		if (check_value DOCKYARD_ROOT "$v") 2>/dev/null; then
			(as_root "$v") 2>/dev/null || { printf "%s\n" "check_value accepts, ds_root refuses: $1"; return 0; }
		else
			! (as_root "$v") 2>/dev/null || { printf "%s\n" "check_value refuses, ds_root accepts: $1"; return 1; }
			return 1
		fi
		;;
	esac
}

n=0
lineno=0
tab=$(printf '\t')
while IFS= read -r line; do
	lineno=$((lineno + 1))
	case $line in
	'#'* | '') continue ;;
	"accept$tab"*) want=0 ;;
	"refuse$tab"*) want=1 ;;
	*) printf "%s\n" "$file:$lineno: not a case" && continue ;;
	esac
	input=${line#*"$tab"}
	n=$((n + 1))
	if verdict "$input"; then got=0; else got=1; fi
	[ "$got" = "$want" ] || printf "%s\n" "$file:$lineno: expected ${line%%"$tab"*}, the shell does not: $input"
done <"$file"
echo "$n cases"
CHECK

# check KIND: run the corpus file KIND; no disagreement, some cases.
check() {
	sh "$TRASH/check.sh" "$CTL" "$1" "$CORPUS/$1" >"$TRASH/$1.out" 2>&1
	cat "$TRASH/$1.out"
	[ "$(wc -l <"$TRASH/$1.out")" = 1 ] && grep -q '^[1-9][0-9]* cases$' "$TRASH/$1.out"
}

for kind in receipt-lines receipt-texts env-values root-paths; do
	expect_success "the shell agrees with every case of corpus/$kind" "check $kind"
done

# beside-root: ROOT, its lock and a destroy's state directory.
expect_success 'the shell names the files beside a root as corpus/beside-root says' '
	n=0 &&
	while IFS="	" read -r root lock state; do
		case $root in "#"* | "") continue ;; esac
		got=$(sh -c "DOCKYARDCTL_SOURCE_ONLY=1 && . \"\$1\" && PREFIX=dy1 &&
			DOCKYARD_CTL_ROOT=\$2 && ds_root && echo \"\$DS_LOCK \$DS_STATE\"" sh "$CTL" "$root") &&
		{ [ "$got" = "$lock $state" ] || fail "$root: $got, expected $lock $state"; } &&
		n=$((n + 1)) || exit 1
	done <"$CORPUS/beside-root" &&
	test "$n" -gt 0
'

test_done
