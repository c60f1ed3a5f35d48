#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Messages: errors always, progress unless -q; everything names the instance.

DY_QUIET=${DY_QUIET:-0}

say() {
	[ "$DY_QUIET" = 1 ] || printf 'dockyardctl%s: %s\n' "${PREFIX:+ [$PREFIX]}" "$*" >&2
}

warn() {
	printf 'dockyardctl%s: warning: %s\n' "${PREFIX:+ [$PREFIX]}" "$*" >&2
}

die() {
	printf 'dockyardctl%s: error: %s\n' "${PREFIX:+ [$PREFIX]}" "$*" >&2
	exit 1
}
