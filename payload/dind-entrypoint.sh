#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Entrypoint of the Docker-in-Docker image dockyard-build assembles from the
# payload's own static engine (payload/dockyard.manifest, docker-dind):
# mounts a tmpfs on /tmp, makes the cgroup mounts writable for the inner
# runc (cgroup v2: moves itself to an init cgroup and enables the
# controllers, as docker's own dind does), runs dockerd with the arguments
# given and stops it on SIGTERM.  The image holds no iptables: dockerd runs
# without bridge and NAT, and on vfs, since overlay on overlay may fail.
# PATH: the release image keeps the engine in /usr/local/bin, an image made
# from distribution packages in /usr/bin and /usr/sbin.
export PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin
# is_mount DIR: DIR is a mount point (busybox has no mountpoint applet here).
is_mount() {
	awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}
is_mount /tmp || mount -t tmpfs -o mode=1777 tmpfs /tmp || echo "dind: cannot mount /tmp" >&2
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	mount -o remount,rw /sys/fs/cgroup 2>/dev/null
	mkdir -p /sys/fs/cgroup/init
	xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
	sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers \
		>/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :
else
	for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
		is_mount "$d" || continue
		mount -o remount,rw "$d" 2>/dev/null || mount -o remount,bind,rw "$d" ||
			echo "dind: cannot make $d writable" >&2
	done
fi
dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs "$@" &
pid=$!
trap 'kill -TERM $pid' TERM INT
rc=0
while kill -0 "$pid" 2>/dev/null; do
	wait "$pid"
	rc=$?
done
echo "dind: dockerd exited ($rc)" >&2
exit "$rc"
