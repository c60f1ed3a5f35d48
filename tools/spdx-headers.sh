#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Give every tracked source file (*.c *.h *.sh *.py, Makefiles) an
# SPDX-License-Identifier line where it has none: first line of a C file,
# after the #! line of a script, first line otherwise.
#
#   tools/spdx-headers.sh           add the line where missing
#   tools/spdx-headers.sh --check   list files without it; exit 1 if any
set -eu

LICENSE_ID=Apache-2.0
TAG="SPDX-License-Identifier: $LICENSE_ID"

cd "$(dirname "$0")/.."
check=0
case ${1:-} in
--check) check=1 ;;
"") ;;
*)
	echo "usage: tools/spdx-headers.sh [--check]" >&2
	exit 2
	;;
esac

# add FILE: write FILE with the line added, through a temporary file beside
# it (mode kept), renamed over it.
add() {
	tmp="$1.spdx-tmp"
	case $1 in
	*.c | *.h) comment="/* $TAG */" ;;
	*) comment="# $TAG" ;;
	esac
	if head -n 1 "$1" | grep -q '^#!'; then
		{ head -n 1 "$1" && echo "$comment" && tail -n +2 "$1"; } >"$tmp"
	else
		{ echo "$comment" && cat "$1"; } >"$tmp"
	fi
	chmod "$(stat -c %a "$1")" "$tmp"
	mv "$tmp" "$1"
}

missing=0
for f in $(git ls-files '*.c' '*.h' '*.sh' '*.py' 'Makefile' '*/Makefile'); do
	# The line belongs near the top: only the first five lines count.
	head -n 5 "$f" | grep -q "SPDX-License-Identifier: $LICENSE_ID" && continue
	missing=$((missing + 1))
	if [ "$check" = 1 ]; then
		echo "$f: no '$TAG' line in its first lines"
	else
		add "$f"
		echo "spdx-headers: $f"
	fi
done
if [ "$check" = 1 ] && [ "$missing" -gt 0 ]; then
	echo "spdx-headers: $missing files lack the line; run tools/spdx-headers.sh" >&2
	exit 1
fi
