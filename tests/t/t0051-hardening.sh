#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The hardening suite in its bounded form (`make hardening` runs the full
# one): a small installer with 60 seeded single-byte flips, truncated at
# every 10% and extended, refused by check, extract and a --sysroot install
# without a crash and without writing anything; hostile dockyard.env files;
# symlinked, nested and world-writable roots in image trees; explicit modes
# under any umask.  Every corrupt variant must get exactly one message,
# "FILE: installer is corrupt or truncated", from check, list, --version,
# preflight, plan, extract and install.  Nothing touches the host: installs
# go into --sysroot trees below $TRASH.  DY_SEED replays a run; it may be a
# comma-separated list (DY_SEED=$(seq -s, 1 100)).  The seeds that once
# found a bug (REGRESSION_SEEDS in harden.py) run every time as well.
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

HARDEN="$SRC_DIR/tests/hardening/harden.py"
SEED=${DY_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d " ")}
FIG="$TRASH/figures"
# The driver's scratch directory lives in $TRASH, removed on any exit.
TMPDIR=$TRASH
export TMPDIR
say "# seed $SEED (replay: DY_SEED=$SEED tests/run.sh t0051)"

expect_success 'corrupt installers (flips, truncation, extension) are refused, nothing written' '
	python3 "$HARDEN" --seed "$SEED" --section installer --figures "$FIG"
'

expect_success 'hostile dockyard.env files are refused with exit 2 naming the value or line' '
	python3 "$HARDEN" --seed "$SEED" --section env --figures "$FIG"
'

expect_success 'symlinked, nested and world-writable roots are refused, nothing written' '
	python3 "$HARDEN" --seed "$SEED" --section paths --figures "$FIG"
'

expect_success 'installs under umask 077 and 000 give the documented modes' '
	python3 "$HARDEN" --seed "$SEED" --section modes --figures "$FIG"
'

expect_success 'the figures add up: every case tried was refused correctly' '
	python3 "$HARDEN" --summary "$FIG" >summary &&
	cat summary &&
	grep -q "^hardening: [1-9][0-9]* tried, .* 0 crashes, 0 wrote under the target, 0 left behind" summary
'

if [ -s "$FIG" ]; then
	say "# $(python3 "$HARDEN" --summary "$FIG")"
fi

test_done
