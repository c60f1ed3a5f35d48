#!/bin/sh
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

test_done
