# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
# Fixtures for dockyard's end-to-end tests: a manifest and lock that build
# an installer from Debian 12's packages plus the sysbox stand-ins, and two
# local images made from the same .deb files (there is no registry here).
#
#   . "$SRC_DIR/tests/e2e/fixtures.sh"
#   e2e_manifest DIR         DIR/e2e.manifest and DIR/e2e.lock
#   e2e_busybox_tar OUT.tar  rootfs for `docker import OUT.tar busybox:latest`
#   e2e_dind_tar OUT.tar     rootfs of a Docker-in-Docker image
#   E2E_DOCKER="docker -H unix:///x.sock"   (the docker command to use)
#   e2e_import_busybox OUT.tar [IMAGE]  e2e_import_dind OUT.tar [IMAGE]
#   e2e_run_dind NAME [IMAGE [RUN_OPTION...]]  e2e_wait_dind NAME SECONDS
#   e2e_extract_debs DIR PKG...   e2e_umount_under DIR
#
# The .deb files come from build/debs/ (`make debs` and
# `tools/fetch-debs.sh --list tests/e2e/debs.list`); only dpkg-deb, ldd,
# GNU tar and coreutils are needed.  Every function returns non-zero with a
# message on stderr naming what failed; none of them exits, so a test body
# can chain them with &&.  Temporary files go to ${TMPDIR:-/tmp} and are
# removed before a function returns.
#
# Settings: E2E_SRC_DIR (source tree; default $SRC_DIR from tests/t/lib.sh),
# E2E_DEBS (default $E2E_SRC_DIR/build/debs).

E2E_SRC_DIR=${E2E_SRC_DIR:-${SRC_DIR:-}}
E2E_DEBS=${E2E_DEBS:-${E2E_SRC_DIR:+$E2E_SRC_DIR/build/debs}}
# The Docker version the images' .deb files carry; the DinD image exports it
# as DOCKER_VERSION so a checker can read it from `docker image inspect`.
E2E_DOCKER_VERSION=20.10.24

# e2e_fail MESSAGE: print MESSAGE on stderr and return 1.
e2e_fail() {
	echo "e2e fixtures: $*" >&2
	return 1
}

# e2e_check_env: the source tree and the .deb directory are known and
# usable as one manifest word.
e2e_check_env() {
	[ -n "$E2E_SRC_DIR" ] && [ -f "$E2E_SRC_DIR/payload/debian.manifest" ] ||
		e2e_fail "E2E_SRC_DIR='$E2E_SRC_DIR' is not dockyard's source tree (set E2E_SRC_DIR or SRC_DIR)" ||
		return 1
	case $E2E_SRC_DIR$E2E_DEBS in
	*[!A-Za-z0-9._/+~-]*)
		e2e_fail "'$E2E_SRC_DIR' or '$E2E_DEBS' holds a character a manifest path cannot (allowed: A-Za-z0-9._/+~-)"
		return 1
		;;
	esac
	[ -d "$E2E_DEBS" ] ||
		e2e_fail "no .deb directory $E2E_DEBS: run \`make debs\` and \`tools/fetch-debs.sh --list tests/e2e/debs.list\`"
}

# e2e_deb PKG: print the path of PKG's pinned .deb, from
# payload/debian.manifest or tests/e2e/debs.list; fail when it is missing.
e2e_deb() {
	e2e_check_env || return 1
	_deb_file=$(sed -n "s|^path\\.x86_64 *= *\\.\\./build/debs/\\($1_[^ ]*\\.deb\\)\$|\\1|p" \
		"$E2E_SRC_DIR/payload/debian.manifest")
	if [ -z "$_deb_file" ]; then
		_deb_version=$(sed -n "s|^$1=\\([^ ]*\\).*|\\1|p" "$E2E_SRC_DIR/tests/e2e/debs.list" | sed 's/:/%3a/g')
		[ -n "$_deb_version" ] || e2e_fail "package $1 is pinned neither in payload/debian.manifest nor in tests/e2e/debs.list" || return 1
		for _deb_f in "$E2E_DEBS/$1_${_deb_version}_"*.deb; do
			[ -f "$_deb_f" ] && _deb_file=${_deb_f##*/}
		done
		[ -n "$_deb_file" ] || _deb_file="$1_${_deb_version}_ARCH.deb"
	fi
	[ -s "$E2E_DEBS/$_deb_file" ] ||
		e2e_fail "missing $E2E_DEBS/$_deb_file: run \`make debs\` and \`tools/fetch-debs.sh --list tests/e2e/debs.list\`" ||
		return 1
	printf '%s\n' "$E2E_DEBS/$_deb_file"
}

# e2e_extract_debs DIR PKG...: unpack the pinned .deb of each PKG into DIR
# (dpkg-deb -x: files only, no maintainer scripts).
e2e_extract_debs() {
	_ex_dir=$1
	shift
	mkdir -p "$_ex_dir" || e2e_fail "cannot create $_ex_dir" || return 1
	for _ex_pkg in "$@"; do
		_ex_deb=$(e2e_deb "$_ex_pkg") || return 1
		dpkg-deb -x "$_ex_deb" "$_ex_dir" || e2e_fail "dpkg-deb -x $_ex_deb $_ex_dir failed" || return 1
	done
}

# e2e_abs_paths BASE: filter a manifest or lock on stdin, making every
# relative local path absolute against BASE (the directory the file lives
# in): `path*` keys, `file`/`concat` sources and the lock's `path:` sources.
# URLs are left alone.
e2e_abs_paths() {
	awk -v base="$1" '
	function abs(p,   b) {
		if (p ~ /^\//) return p
		b = base
		sub(/^(\.\/)+/, "", p)
		while (p ~ /^\.\.\//) {
			sub(/\/[^\/]*$/, "", b)
			p = substr(p, 4)
		}
		return b "/" p
	}
	/^(path(\.[A-Za-z0-9_]+)?|license-file)[ \t]*=/ {
		v = $0; sub(/^[^=]*=[ \t]*/, "", v)
		k = $0; sub(/=.*/, "", k); sub(/[ \t]+$/, "", k)
		print k " = " abs(v); next
	}
	/^(file|concat)[ \t]/ && $3 == "->" { $2 = abs($2); print; next }
	/^[^#]/ && $NF ~ /^path:/ { $NF = "path:" abs(substr($NF, 6)); print; next }
	{ print }'
}

# e2e_manifest OUT_DIR: write OUT_DIR/e2e.manifest (payload/debian.manifest
# plus payload/e2e-overlay.manifest, every local path made absolute so the
# manifest works from OUT_DIR) and OUT_DIR/e2e.lock (payload/debian.lock
# with its path: sources made absolute likewise; the stand-ins are local
# files and need no entry).  The builder finds the lock beside the manifest:
#   dockyard-build --manifest OUT_DIR/e2e.manifest --out FILE
e2e_manifest() {
	_mf_out=$1
	e2e_check_env || return 1
	_mf_p=$E2E_SRC_DIR/payload
	for _mf_f in debian.manifest debian.lock e2e-overlay.manifest; do
		[ -r "$_mf_p/$_mf_f" ] || e2e_fail "cannot read $_mf_p/$_mf_f" || return 1
	done
	for _mf_pkg in docker.io containerd runc tini; do
		e2e_deb "$_mf_pkg" >/dev/null || return 1
	done
	for _mf_s in sysbox-mgr sysbox-fs sysbox-runc; do
		[ -x "$E2E_SRC_DIR/tests/standins/$_mf_s" ] ||
			e2e_fail "stand-in $E2E_SRC_DIR/tests/standins/$_mf_s is missing or not executable" ||
			return 1
	done
	mkdir -p "$_mf_out" || e2e_fail "cannot create $_mf_out" || return 1
	if ! {
		echo "# Generated by tests/e2e/fixtures.sh from payload/debian.manifest and"
		echo "# payload/e2e-overlay.manifest; local paths made absolute."
		e2e_abs_paths "$_mf_p" <"$_mf_p/debian.manifest" &&
			echo &&
			e2e_abs_paths "$_mf_p" <"$_mf_p/e2e-overlay.manifest"
	} >"$_mf_out/e2e.manifest.tmp" ||
		! e2e_abs_paths "$_mf_p" <"$_mf_p/debian.lock" >"$_mf_out/e2e.lock.tmp" ||
		! mv "$_mf_out/e2e.manifest.tmp" "$_mf_out/e2e.manifest" ||
		! mv "$_mf_out/e2e.lock.tmp" "$_mf_out/e2e.lock"; then
		rm -f "$_mf_out/e2e.manifest.tmp" "$_mf_out/e2e.lock.tmp"
		e2e_fail "cannot write $_mf_out/e2e.manifest and $_mf_out/e2e.lock"
		return 1
	fi
	if grep -Eq '^((path[^=]*|license-file) *= *|(file|concat) +)[^ /]' "$_mf_out/e2e.manifest"; then
		e2e_fail "$_mf_out/e2e.manifest still holds a relative path"
		return 1
	fi
}

# e2e_tmpdir: print a new private directory under ${TMPDIR:-/tmp}.
e2e_tmpdir() {
	mktemp -d "${TMPDIR:-/tmp}/dockyard-e2e.XXXXXX" || e2e_fail "mktemp failed"
}

# e2e_tar DIR OUT: pack DIR's contents as root-owned OUT, deterministically,
# written by rename.
e2e_tar() {
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
		-C "$1" -cf "$2.tmp" . && mv "$2.tmp" "$2" && return 0
	rm -f "$2.tmp"
	e2e_fail "cannot pack $1 into $2"
}

# e2e_busybox_rootfs DIR: a minimal root in DIR: /bin/busybox from
# busybox-static with one symlink per applet, /etc/passwd, /etc/group, /tmp.
e2e_busybox_rootfs() {
	_bb_root=$1
	_bb_x=$(e2e_tmpdir) || return 1
	if ! e2e_extract_debs "$_bb_x" busybox-static || [ ! -x "$_bb_x/bin/busybox" ]; then
		rm -rf "$_bb_x"
		e2e_fail "busybox-static did not yield bin/busybox"
		return 1
	fi
	mkdir -p "$_bb_root/bin" "$_bb_root/etc" "$_bb_root/root" "$_bb_root/proc" "$_bb_root/sys" "$_bb_root/dev" \
		"$_bb_root/run" "$_bb_root/var" "$_bb_root/tmp" &&
		cp "$_bb_x/bin/busybox" "$_bb_root/bin/busybox" &&
		chmod 1777 "$_bb_root/tmp" && chmod 0700 "$_bb_root/root" &&
		ln -sfn ../run "$_bb_root/var/run"
	_bb_rc=$?
	rm -rf "$_bb_x"
	[ "$_bb_rc" = 0 ] || e2e_fail "cannot lay out a busybox root in $_bb_root" || return 1
	_bb_applets=$("$_bb_root/bin/busybox" --list) && [ -n "$_bb_applets" ] ||
		e2e_fail "$_bb_root/bin/busybox --list failed" || return 1
	for _bb_a in $_bb_applets; do
		[ "$_bb_a" = busybox ] || [ -e "$_bb_root/bin/$_bb_a" ] || ln -s busybox "$_bb_root/bin/$_bb_a" ||
			e2e_fail "cannot link applet $_bb_a" || return 1
	done
	if ! printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
		'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$_bb_root/etc/passwd" ||
		! printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$_bb_root/etc/group"; then
		e2e_fail "cannot write $_bb_root/etc/passwd and group"
		return 1
	fi
}

# e2e_busybox_tar OUT.tar: a busybox rootfs tarball, for
#   docker import OUT.tar busybox:latest
e2e_busybox_tar() {
	_bt_t=$(e2e_tmpdir) || return 1
	e2e_busybox_rootfs "$_bt_t/root" && e2e_tar "$_bt_t/root" "$1"
	_bt_rc=$?
	rm -rf "$_bt_t"
	return "$_bt_rc"
}

# e2e_copy_libs ROOT BINARY...: copy every shared library BINARY needs, and
# the dynamic loader, from this host into ROOT at the same paths (ldd
# resolves them; a static binary needs none).
e2e_copy_libs() {
	_cl_root=$1
	shift
	for _cl_bin in "$@"; do
		if ! _cl_out=$(ldd "$_cl_bin" 2>&1); then
			case $_cl_out in *"not a dynamic executable"*) continue ;; esac
			e2e_fail "ldd $_cl_bin: $_cl_out" || return 1
		fi
		case $_cl_out in *"not found"*)
			e2e_fail "$_cl_bin needs libraries this host lacks: $(echo "$_cl_out" | grep 'not found' | tr -s ' \t\n' ' ')"
			return 1
			;;
		esac
		for _cl_lib in $(echo "$_cl_out" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
			[ -e "$_cl_root$_cl_lib" ] && continue
			mkdir -p "$_cl_root${_cl_lib%/*}" && cp -L "$_cl_lib" "$_cl_root$_cl_lib" ||
				e2e_fail "cannot copy $_cl_lib into $_cl_root" || return 1
		done
	done
}

# e2e_dind_script: the image's entrypoint, /usr/local/bin/dind: the one the
# release's DinD image carries (payload/dind-entrypoint.sh), so the test
# image runs what ships.
e2e_dind_script() {
	cat "$SRC_DIR/payload/dind-entrypoint.sh"
}

# e2e_dind_tar OUT.tar [UNPACKED]: a Docker-in-Docker rootfs from the
# pinned .deb files: busybox, dockerd, docker, containerd,
# containerd-shim-runc-v2, runc, docker-init (tini-static), docker-proxy
# under /usr/bin, the shared libraries they need, and /usr/local/bin/dind.
# UNPACKED, when given, is a directory where e2e_extract_debs already
# unpacked docker.io containerd runc tini (saves unpacking them again).
# Import it with
#   e2e_import_dind OUT.tar   (DOCKER_VERSION env, CMD /usr/local/bin/dind)
e2e_dind_tar() {
	_dt_t=$(e2e_tmpdir) || return 1
	e2e_dind_rootfs "$_dt_t" "${2:-}" && e2e_tar "$_dt_t/root" "$1"
	_dt_rc=$?
	rm -rf "$_dt_t"
	return "$_dt_rc"
}

# e2e_dind_rootfs TMP [UNPACKED]: build TMP/root from the .deb files
# unpacked in UNPACKED (default: unpack them into TMP/debs).
e2e_dind_rootfs() {
	_dr_r=$1/root
	_dr_x=${2:-$1/debs}
	e2e_busybox_rootfs "$_dr_r" || return 1
	if [ -z "${2:-}" ]; then
		e2e_extract_debs "$_dr_x" docker.io containerd runc tini || return 1
	fi
	mkdir -p "$_dr_r/usr/bin" "$_dr_r/usr/local/bin" "$_dr_r/var/lib/docker" "$_dr_r/var/lib/containerd" \
		"$_dr_r/etc/docker" || e2e_fail "cannot create directories in $_dr_r" || return 1
	for _dr_m in usr/sbin/dockerd:dockerd usr/bin/docker:docker usr/sbin/docker-proxy:docker-proxy \
		usr/bin/containerd:containerd usr/bin/containerd-shim-runc-v2:containerd-shim-runc-v2 \
		usr/sbin/runc:runc usr/bin/tini-static:docker-init; do
		_dr_src=$_dr_x/${_dr_m%%:*}
		_dr_dst=$_dr_r/usr/bin/${_dr_m#*:}
		[ -f "$_dr_src" ] || e2e_fail "the .deb files hold no ${_dr_m%%:*}" || return 1
		cp -L "$_dr_src" "$_dr_dst" && chmod 0755 "$_dr_dst" ||
			e2e_fail "cannot copy $_dr_src to $_dr_dst" || return 1
		e2e_copy_libs "$_dr_r" "$_dr_src" || return 1
	done
	if ! { e2e_dind_script >"$_dr_r/usr/local/bin/dind" && chmod 0755 "$_dr_r/usr/local/bin/dind"; }; then
		e2e_fail "cannot write $_dr_r/usr/local/bin/dind"
		return 1
	fi
}

# e2e_docker ARG...: run $E2E_DOCKER (a command line, e.g.
# "/dy1/bin/docker" or "docker -H unix:///tmp/x/docker.sock").
e2e_docker() {
	[ -n "${E2E_DOCKER:-}" ] || e2e_fail "set E2E_DOCKER to the docker command line" || return 1
	# shellcheck disable=SC2086 # E2E_DOCKER is a command line: split it
	$E2E_DOCKER "$@"
}

# e2e_import_busybox TAR [IMAGE]: docker import TAR as IMAGE
# (busybox:latest).
e2e_import_busybox() {
	e2e_docker import "$1" "${2:-busybox:latest}" >/dev/null ||
		e2e_fail "docker import $1 ${2:-busybox:latest} failed"
}

# e2e_import_dind TAR [IMAGE]: docker import TAR as IMAGE (dockyard-dind:test)
# with DOCKER_VERSION set and /usr/local/bin/dind as its command.
e2e_import_dind() {
	e2e_docker import --change "ENV DOCKER_VERSION=$E2E_DOCKER_VERSION" \
		--change 'CMD ["/usr/local/bin/dind"]' "$1" "${2:-dockyard-dind:test}" >/dev/null ||
		e2e_fail "docker import $1 ${2:-dockyard-dind:test} failed"
}

# e2e_run_dind NAME [IMAGE [RUN_OPTION...]]: start a detached DinD
# container NAME, elevated the way these test machines need (--privileged
# fails where the capability bounding set lacks CAP_SYS_RESOURCE; a real
# host would not need this), with anonymous volumes for the inner
# /var/lib/docker and /var/lib/containerd and no network.
e2e_run_dind() {
	_rd_name=$1
	_rd_image=${2:-dockyard-dind:test}
	if [ $# -ge 2 ]; then shift 2; else shift $#; fi
	e2e_docker run -d --name "$_rd_name" --network none \
		--cap-add ALL --cap-drop SYS_RESOURCE \
		--security-opt seccomp=unconfined --security-opt apparmor=unconfined \
		--security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm' \
		-v /var/lib/docker -v /var/lib/containerd "$@" "$_rd_image" >/dev/null ||
		e2e_fail "docker run of DinD container $_rd_name ($_rd_image) failed"
}

# e2e_wait_dind NAME SECONDS: wait until the inner dockerd of container NAME
# answers with the version its image's DOCKER_VERSION names (a Debian
# suffix such as +dfsg1 allowed); on timeout, show the container's log.
e2e_wait_dind() {
	_wd_want=$(e2e_docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$1" |
		sed -n 's/^DOCKER_VERSION=//p') && [ -n "$_wd_want" ] ||
		e2e_fail "container $1 has no DOCKER_VERSION" || return 1
	_wd_n=$(($2 * 2))
	while [ "$_wd_n" -gt 0 ]; do
		_wd_got=$(e2e_docker exec "$1" docker version --format '{{.Server.Version}}' 2>/dev/null)
		# Debian's build says 20.10.24+dfsg1: the version is a prefix.
		case $_wd_got in "$_wd_want" | "$_wd_want"+*) return 0 ;; esac
		_wd_n=$((_wd_n - 1))
		sleep 0.5
	done
	e2e_docker logs "$1" 2>&1 | tail -n 30 >&2
	e2e_fail "inner dockerd of $1 did not answer with $_wd_want within $2 s (last: '${_wd_got:-nothing}')"
}

# e2e_umount_under DIR: unmount every mount point at or below DIR, deepest
# first (overlay layers, netns files); lazily when busy.
e2e_umount_under() {
	_um_d=$(cd "$1" 2>/dev/null && pwd -P) || return 0
	awk -v d="$_um_d" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r _um_m; do
		umount "$_um_m" 2>/dev/null || umount -l "$_um_m" ||
			e2e_fail "cannot unmount $_um_m"
	done
}
