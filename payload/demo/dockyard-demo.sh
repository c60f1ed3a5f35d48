#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installed by the demo payload: proves that an extracted tree is runnable.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
echo "dockyard demo payload extracted at $here"
