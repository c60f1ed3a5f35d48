#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make demo: install a demo instance from dist/dockyard-installer (built
# from Debian's packages) without systemd, give it two local images made
# from the same .deb files (there is no registry to pull from), run
# `dockyardctl verify`, and say how to use and remove it.
#
#   DEMO_ROOT    where the instance lives (default /opt/dockyard-demo)
#   DEMO_PREFIX  its prefix (default demo): bridge demodocker0, group demodocker
set -eu

cd "$(dirname "$0")/.."
SRC_DIR=$(pwd -P)
ROOT=${DEMO_ROOT:-/opt/dockyard-demo}
PREFIX=${DEMO_PREFIX:-demo}
INSTALLER=dist/dockyard-installer
export SRC_DIR

[ "$(id -u)" = 0 ] || {
	echo "demo: run as root (the installer creates a bridge, rules, a user and a group)" >&2
	exit 1
}
[ -x "$INSTALLER" ] || {
	echo "demo: $INSTALLER is missing: run make first" >&2
	exit 1
}

"$INSTALLER" --version
"$INSTALLER" check
"$INSTALLER" --root "$ROOT" --prefix "$PREFIX" --no-systemd

# shellcheck source=../tests/e2e/fixtures.sh
. "$SRC_DIR/tests/e2e/fixtures.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/dockyard-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
E2E_DOCKER="$ROOT/bin/docker"
export E2E_DOCKER
if ! "$ROOT/bin/docker" image inspect busybox:latest >/dev/null 2>&1; then
	echo "demo: importing busybox:latest (from Debian's busybox-static)"
	e2e_busybox_tar "$work/busybox.tar" && e2e_import_busybox "$work/busybox.tar"
fi
if ! "$ROOT/bin/docker" image inspect dockyard-dind:test >/dev/null 2>&1; then
	echo "demo: importing dockyard-dind:test (Docker-in-Docker from the same packages)"
	e2e_dind_tar "$work/dind.tar" && e2e_import_dind "$work/dind.tar"
fi

"$ROOT/bin/dockyardctl" verify --image busybox:latest --dind-image dockyard-dind:test

cat <<USAGE

The demo instance runs at $ROOT (prefix $PREFIX):
  $ROOT/bin/docker run --rm busybox:latest echo hello
  eval "\$($ROOT/bin/dockyardctl env)"; docker ps     # or join group ${PREFIX}docker
  $ROOT/bin/dockyardctl status | stop | start | logs
Remove it, and everything it created, with:
  $INSTALLER uninstall --root $ROOT --yes
USAGE
