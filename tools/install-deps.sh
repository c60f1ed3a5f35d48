#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install every Debian package that building, testing and benchmarking
# dockyard needs.  Idempotent: re-running installs nothing new.
set -eu

PACKAGES="
build-essential pkg-config file binutils
libarchive-dev libacl1-dev liblz4-dev libzstd-dev libbz2-dev liblzma-dev zlib1g-dev
libxml2-dev nettle-dev libmbedtls-dev libjansson-dev libcurl4-openssl-dev
zstd python3 shellcheck clang-format openssl util-linux iproute2 iptables kmod curl strace
systemd passwd apparmor rsync libsystemd0 libdevmapper1.02.1 libseccomp2
clang libclang-rt-14-dev
mandoc python3-jsonschema debhelper lintian dpkg-dev
cflow
ansible-core ansible-lint cloud-init python3-yaml
"
# The aarch64 stub (make arm64): the cross compiler, the same static
# libraries for arm64 (Debian multiarch), and qemu-aarch64-static, which
# runs the aarch64 installer in the tests (no binfmt needed).
PACKAGES="$PACKAGES
crossbuild-essential-arm64 qemu-user-static
libarchive-dev:arm64 libacl1-dev:arm64 liblz4-dev:arm64 libzstd-dev:arm64 libbz2-dev:arm64
liblzma-dev:arm64 zlib1g-dev:arm64 libxml2-dev:arm64 nettle-dev:arm64 libmbedtls-dev:arm64
libjansson-dev:arm64
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root (or with sudo) to install them" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# The :arm64 packages need the architecture; apt-get update below then
# fetches its package lists.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	echo "install-deps: dpkg --add-architecture arm64"
	dpkg --add-architecture arm64
fi
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing
# cloud-init is installed for `cloud-init schema` only: a machine that did
# not run it before must not start configuring itself at the next boot.
case " $missing " in
*" cloud-init "*) touch /etc/cloud/cloud-init.disabled ;;
esac
