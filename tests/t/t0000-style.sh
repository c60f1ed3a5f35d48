#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Shell scripts pass shellcheck and C sources match .clang-format.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

expect_success 'shell scripts pass shellcheck' '
	cd "$SRC_DIR" &&
	shellcheck -x $(git ls-files "*.sh") .ci/run
'

expect_success 'the concatenated dockyardctl passes sh -n and shellcheck' '
	"$DY_TOOLS/dy-concat" "$SRC_DIR/scripts" "$TRASH/dockyardctl" &&
	sh -n "$TRASH/dockyardctl" &&
	shellcheck -s sh "$TRASH/dockyardctl"
'

expect_success 'C sources match .clang-format' '
	cd "$SRC_DIR" &&
	clang-format --dry-run --Werror $(git ls-files "*.c" "*.h")
'

# The product's docs, comments and scripts state each fact where it is
# used: a pointer to a document outside the repository or to an issue
# tracker goes stale and tells a reader nothing.
expect_success 'docs, comments and scripts point at no outside spec or issue' '
	cd "$SRC_DIR" &&
	! git grep -nE "SPEC(\.md| fact)|/work/shared|[Ii]ssue[: ]+#?[0-9]|\(issue[ :]" -- . ":!tests/t/t0000-style.sh"
'

test_done
