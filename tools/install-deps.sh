#!/bin/sh
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
ansible-core ansible-lint cloud-init python3-yaml
python3-jsonschema
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
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing
# cloud-init is installed for `cloud-init schema` only: a machine that did
# not run it before must not start configuring itself at the next boot.
case " $missing " in
*" cloud-init "*) touch /etc/cloud/cloud-init.disabled ;;
esac
