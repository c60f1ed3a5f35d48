#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The man pages lint clean under mandoc and document every option and
# command of the programs' own tables; bash completion offers exactly them.
# The tables are read from the sources (and --help, printed from them), so
# a new option without a page entry or completion fails here.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

MAN="$SRC_DIR/man"
COMPLETION="$SRC_DIR/completion/dockyard.bash"
CTL="$TRASH/dockyardctl"
"$DY_TOOLS/dy-concat" "$SRC_DIR/scripts" "$CTL" && chmod 0755 "$CTL"

# table_options FILE.c: long options of the C option table in FILE, plus
# the shared -q/-v (DY_OPTS_DISPLAY), one per line.
table_options() {
	{
		grep -oE "\{ [A-Z_]+, ('.'|0), \"[a-z][a-z0-9-]*\"" "$1" | sed 's/.*"\(.*\)"/--\1/'
		grep -q DY_OPTS_DISPLAY "$1" && printf -- '--quiet\n--verbose\n'
	} | sort -u
}

# table_shorts FILE.c: "X long" for each option with a short name.
table_shorts() {
	grep -oE "\{ [A-Z_]+, '.', \"[a-z][a-z0-9-]*\"" "$1" | sed "s/.*'\(.\)', \"\(.*\)\"/\1 \2/"
	grep -q DY_OPTS_DISPLAY "$1" && printf 'q quiet\nv verbose\n'
}

# help_options PROG: long options in PROG --help.
help_options() {
	"$1" --help | sed -n -E 's/^ +(-[A-Za-z0-9], )?(--[a-z][a-z0-9-]*).*/\2/p' | sort -u
}

# ctl_commands: the commands dockyardctl's dispatch accepts.
ctl_commands() {
	sed -n '/^	case \$command in/,/^	esac/p' "$SRC_DIR/scripts/90-main.sh" |
		grep -E '^	[a-z][a-z |-]*\)' | tr -d '\t)' | tr '|' '\n' | tr -d ' ' | sort -u
}

# ctl_options: every option a case arm of a dockyardctl source accepts.
ctl_options() {
	grep -hE '^[[:space:]]+(-[a-zA-Z-]+( \| )?)+\)' "$SRC_DIR"/scripts/*.sh |
		grep -oE -- '--?[a-zA-Z][a-z0-9-]*' | sort -u
}

# page_documents PAGE KIND NAME: PAGE has an .It entry for NAME
# (KIND Fl: an option, with its leading dash removed; Cm, Ev, Ic: a word).
page_documents() {
	grep -qE "^\.It( .*)? $2 $(printf '%s' "$3" | sed 's/[.]/\\./g')( |\$)" "$1"
}

# check_page PAGE.1 PROG SOURCE.c: every option of SOURCE's table has an
# entry, every short name is given beside its long one.
check_page() {
	missing=""
	for o in $(table_options "$3"); do
		page_documents "$1" Fl "${o#-}" || missing="$missing $o"
	done
	table_shorts "$3" >"$TRASH/shorts"
	while read -r s l; do
		grep -qE "^\.It Fl $s , Fl -$l( |\$)" "$1" || missing="$missing -$s(--$l)"
	done <"$TRASH/shorts"
	[ -z "$missing" ] || { echo "$1 lacks:$missing" >&2; return 1; }
}

expect_success 'every page lints clean under mandoc -Tlint' '
	for p in "$MAN"/*.[158]; do
		mandoc -Tlint "$p" >lint 2>&1
		# Cross-references among these pages are found once installed.
		grep -vE "STYLE: referenced manual not found: Xr (dockyard-build 1|dockyard-installer 1|dockyardctl 8|dockyard.env 5|dockyard-manifest 5)" lint >bad
		[ ! -s bad ] || { cat bad; exit 1; }
	done &&
	ls "$MAN" | sort >pages &&
	printf "%s\n" dockyard-build.1 dockyard-installer.1 dockyard-manifest.5 dockyard.env.5 \
		dockyardctl.8 | cmp - pages
'

expect_success 'the C option tables are read as --help prints them' '
	table_options "$SRC_DIR/builder/main.c" >t && help_options "$BUILD" | cmp - t &&
	table_options "$SRC_DIR/installer/main.c" >t && help_options "$STUB" | cmp - t
'

expect_success 'dockyard-build(1) documents every option of its table' '
	check_page "$MAN/dockyard-build.1" "$BUILD" "$SRC_DIR/builder/main.c"
'

expect_success 'dockyard-installer(1) documents every option and command' '
	check_page "$MAN/dockyard-installer.1" "$STUB" "$SRC_DIR/installer/main.c" &&
	"$STUB" --help | sed -n "/^commands:/,/^\$/s/^  \([a-z][a-z-]*\).*/\1/p" >cmds &&
	test -s cmds &&
	while read -r c; do
		page_documents "$MAN/dockyard-installer.1" Cm "$c" || fail "no entry for $c"
	done <cmds
'

expect_success 'a page missing an option fails the check' '
	grep -v "^\.It Fl -offline" "$MAN/dockyard-build.1" >cut.1 &&
	! check_page cut.1 "$BUILD" "$SRC_DIR/builder/main.c" 2>err &&
	grep -q "lacks: --offline" err
'

expect_success 'dockyardctl(8) documents every command and option it accepts' '
	ctl_commands >cmds && test "$(wc -l <cmds)" -ge 10 &&
	while read -r c; do
		page_documents "$MAN/dockyardctl.8" Cm "$c" || { fail "no entry for $c"; exit 1; }
	done <cmds &&
	ctl_options >opts && grep -qx -- --keep-data opts &&
	while read -r o; do
		grep -qE "Fl ${o#-}( |\$)" "$MAN/dockyardctl.8" || { fail "no $o"; exit 1; }
	done <opts
'

expect_success 'dockyard.env(5) documents every key of the installer and dockyardctl' '
	grep -oE "\{ \"DOCKYARD_[A-Z_]+\"" "$SRC_DIR/installer/config.c" | tr -d "{\" " >keys &&
	sed -n "s/^DY_ENV_KEYS=\"\(.*\)\"/\1/p" "$SRC_DIR/scripts/00-env.sh" | tr " " "\n" >>keys &&
	test "$(sort -u keys | wc -l)" -ge 6 &&
	for k in $(sort -u keys); do
		page_documents "$MAN/dockyard.env.5" Ev "$k" || { fail "no entry for $k"; exit 1; }
	done
'

expect_success 'dockyard-manifest(5) documents every key and line the parser knows' '
	tr -d "\n\t" <"$SRC_DIR/builder/manifest.c" |
		grep -oE "known: version[^)]*" | sed "s/known: //; s/\" *\"//g; s/, /\n/g" >keys &&
	grep -oE "words\[\] = \{[^}]*" "$SRC_DIR/builder/manifest.c" |
		grep -oE "\"[a-z]+\"" | tr -d "\"" >>keys &&
	test "$(wc -l <keys)" -ge 12 &&
	while read -r k; do
		grep -qE "^\.It Ic (.* )?$k( |\$)" "$MAN/dockyard-manifest.5" ||
			{ fail "no entry for $k"; exit 1; }
	done <keys
'

# complete WORDS...: what the completion offers for the last word.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		case ${COMP_WORDS[0]} in *dockyardctl) _dockyardctl ;; *) _dockyard ;; esac
		printf "%s\n" "${COMPREPLY[@]}"' complete "$COMPLETION" "$@"
}

expect_success 'bash completion offers exactly the option tables' '
	complete_words "$BUILD" -- | sort >got &&
	table_options "$SRC_DIR/builder/main.c" | cmp - got &&
	complete_words "$STUB" -- | sort >got &&
	table_options "$SRC_DIR/installer/main.c" | cmp - got &&
	complete_words "$STUB" "" | sort >got &&
	"$STUB" --help | sed -n "/^commands:/,/^\$/s/^  \([a-z][a-z-]*\).*/\1/p" | sort | cmp - got
'

expect_success 'bash completion completes option arguments and prefixes' '
	mkdir -p d1/sub && : >d1/file &&
	complete_words "$BUILD" --cache d1/ >got && grep -qx d1/sub got && ! grep -q file got &&
	complete_words "$BUILD" --manifest d1/f >got && grep -qx d1/file got &&
	complete_words "$STUB" --no-s >got && grep -qx -- --no-start got &&
	grep -qx -- --no-systemd got && test "$(wc -l <got)" = 2
'

expect_success 'dockyardctl completion: every command, each command its options' '
	complete_words "$CTL" "" | sort >got && ctl_commands | cmp - got &&
	: >union &&
	for c in $(ctl_commands); do complete_words "$CTL" "$c" - >>union; done &&
	complete_words "$CTL" - >>union &&
	for o in $(ctl_options | grep -- "^--"); do
		grep -qx -- "$o" union || { fail "completion lacks $o"; exit 1; }
	done &&
	complete_words "$CTL" isolate "" | sort | tr "\n" " " | grep -qx "off on "
'

test_done
