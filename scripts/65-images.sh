#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Images carried across the air gap: load-images [DIR], and ROOT/images/
# on every start.
#
# Every file in DIR but SHA256SUMS is an image archive: a docker-archive
# (`docker save`) or an OCI archive, as .tar, .tar.gz, .tgz or .tar.zst.
# When DIR holds SHA256SUMS (`sha256sum` format), every file must be listed
# there and match before any is loaded; otherwise nothing is loaded and the
# command fails naming the file.  An OCI archive without manifest.json
# gets one written from its index.json (older engines read only that).
# ROOT/images/ is loaded once per file digest, remembered in
# ROOT/lib/images.loaded ("SHA256 NAME" lines).

IMG_SUMS=SHA256SUMS

# img_files DIR: the archives in DIR, one per line, sorted (names outside
# a safe set of characters are refused, so lists split on white space).
img_files() {
	for _if in "$1"/* "$1"/.[!.]*; do
		[ -e "$_if" ] || [ -L "$_if" ] || continue
		_if_name=${_if##*/}
		[ "$_if_name" = "$IMG_SUMS" ] && continue
		case $_if_name in *[!A-Za-z0-9._+@=,:-]*)
			die "$1/$_if_name: an image archive's name may hold only A-Za-z0-9._+@=,:- (rename it; list the new name in $IMG_SUMS)"
			;;
		esac
		printf '%s\n' "$_if_name"
	done | LC_ALL=C sort
}

# img_check_kind DIR NAME: a regular file with a known suffix; the tool to
# decompress it is present.
img_check_kind() {
	if [ ! -f "$1/$2" ] || [ -L "$1/$2" ]; then
		die "$1/$2 is not a regular file (an image directory holds image archives and $IMG_SUMS only)"
	fi
	case $2 in
	*.tar | *.tar.gz | *.tgz) ;;
	*.tar.zst)
		command -v zstd >/dev/null 2>&1 ||
			die "$1/$2 is zstd-compressed, and this host has no zstd (install it, or carry the image as .tar or .tar.gz)"
		;;
	*) die "$1/$2 is not an image archive: the names must end in .tar, .tar.gz, .tgz or .tar.zst" ;;
	esac
}

# img_listed_sum DIR NAME: the digest SHA256SUMS lists for NAME.
img_listed_sum() {
	awk -v n="$2" '{ f = $0; sub(/^[0-9a-fA-F]+ [ *]/, "", f) } f == n { print tolower($1); exit }' "$1/$IMG_SUMS"
}

# img_check_sums DIR NAMES: with DIR/SHA256SUMS, every name is listed and
# matches.  Nothing is loaded before this passes.
img_check_sums() {
	[ -f "$1/$IMG_SUMS" ] || return 0
	for _cs_n in $2; do
		_cs_want=$(img_listed_sum "$1" "$_cs_n")
		[ -n "$_cs_want" ] || die "$1/$_cs_n is not listed in $1/$IMG_SUMS: nothing loaded"
		_cs_got=$(sha256sum <"$1/$_cs_n" | cut -d ' ' -f 1) || die "cannot read $1/$_cs_n"
		[ "$_cs_got" = "$_cs_want" ] ||
			die "$1/$_cs_n does not match $1/$IMG_SUMS (sha256 $_cs_got, listed $_cs_want): nothing loaded"
	done
}

# img_cat FILE: the archive's tar stream on stdout.
img_cat() {
	case $1 in
	*.zst) zstd -dcq -- "$1" ;;
	*.gz | *.tgz) gzip -dc -- "$1" ;;
	*) cat -- "$1" ;;
	esac
}

# img_oci_manifest DIR: print a docker-archive manifest.json for the OCI
# layout unpacked in DIR (the first image of index.json; its config digest
# first, then the layers, as the OCI manifest lists them).
img_oci_manifest() {
	_om_idx=$(tr -d '\n\t ' <"$1/index.json") || return 1
	_om_m=$(printf '%s' "$_om_idx" | grep -o '"digest":"sha256:[0-9a-f]*"' | head -n 1 | sed 's/.*sha256://; s/"$//')
	[ -n "$_om_m" ] && [ -f "$1/blobs/sha256/$_om_m" ] || return 1
	_om_ref=$(printf '%s' "$_om_idx" | grep -o '"io.containerd.image.name":"[^"]*"' | head -n 1 | sed 's/^[^:]*:"//; s/"$//')
	if [ -z "$_om_ref" ]; then
		_om_ref=$(printf '%s' "$_om_idx" | grep -o '"org.opencontainers.image.ref.name":"[^"]*"' | head -n 1 | sed 's/^[^:]*:"//; s/"$//')
	fi
	_om_digests=$(tr -d '\n\t ' <"$1/blobs/sha256/$_om_m" | grep -o '"digest":"sha256:[0-9a-f]*"' | sed 's/.*sha256://; s/"$//')
	_om_config=$(printf '%s\n' "$_om_digests" | head -n 1)
	_om_layers=$(printf '%s\n' "$_om_digests" | sed 1d | sed 's|.*|"blobs/sha256/&"|' | paste -sd, -)
	[ -n "$_om_config" ] || return 1
	case $_om_ref in
	*:*) _om_tags="\"$_om_ref\"" ;;
	*) _om_tags="" ;; # a bare tag names no repository: load it untagged
	esac
	printf '[{"Config":"blobs/sha256/%s","RepoTags":[%s],"Layers":[%s]}]\n' "$_om_config" "$_om_tags" "$_om_layers"
}

# img_format FILE: docker (manifest.json) or oci (index.json alone); dies
# naming FILE when it is neither or cannot be read.
img_format() {
	_fm_list=$(img_cat "$1" | tar -tf - 2>/dev/null) ||
		die "$1 cannot be read as a tar archive (damaged, or compressed other than its name says)"
	if printf '%s\n' "$_fm_list" | grep -qx '\(\./\)\{0,1\}manifest.json'; then
		echo docker
	elif printf '%s\n' "$_fm_list" | grep -qx '\(\./\)\{0,1\}index.json'; then
		echo oci
	else
		die "$1 is neither a docker-archive (manifest.json) nor an OCI archive (index.json)"
	fi
}

# img_load FILE: docker load it; an OCI archive without manifest.json is
# unpacked beside lib/ and given one first.
img_load() {
	if [ "$(img_format "$1")" = docker ]; then
		img_cat "$1" | vf_docker load -q >/dev/null ||
			die "docker load of $1 failed"
		return 0
	fi
	_il_t=$(mktemp -d "$LIB/.image-load.XXXXXX") || die "cannot make a directory in $LIB"
	if ! img_cat "$1" | tar -xf - -C "$_il_t" || [ ! -f "$_il_t/index.json" ] ||
		! img_oci_manifest "$_il_t" >"$_il_t/manifest.json"; then
		rm -rf "$_il_t"
		die "$1 is neither a docker-archive (manifest.json) nor an OCI archive (index.json and its manifest blob)"
	fi
	tar -cf - -C "$_il_t" . | vf_docker load -q >/dev/null
	_il_rc=$?
	rm -rf "$_il_t"
	[ "$_il_rc" = 0 ] || die "docker load of $1 (OCI, given a manifest.json) failed"
}

# img_load_dir DIR [STATE]: check every archive of DIR, then load them; with
# STATE, skip those whose digest STATE lists and record the ones loaded.
img_load_dir() {
	_ld_dir=$1
	_ld_state=${2:-}
	[ -d "$_ld_dir" ] || die "image directory $_ld_dir does not exist"
	VF_TIMEOUT=${DOCKYARD_LOAD_TIMEOUT:-600}
	VF_CLI=$BIN/docker
	[ -x "$VF_CLI" ] || VF_CLI=$BIN/docker-cli
	_ld_names=$(img_files "$_ld_dir")
	[ -n "$_ld_names" ] || return 0
	for _ld_n in $_ld_names; do
		img_check_kind "$_ld_dir" "$_ld_n"
	done
	img_check_sums "$_ld_dir" "$_ld_names"
	for _ld_n in $_ld_names; do
		img_format "$_ld_dir/$_ld_n" >/dev/null || exit 1
	done
	api_ping || die "the Docker API at $DOCKER_SOCK does not answer: start the instance first"
	_ld_count=0
	for _ld_n in $_ld_names; do
		_ld_sum=""
		if [ -n "$_ld_state" ]; then
			_ld_sum=$(sha256sum <"$_ld_dir/$_ld_n" | cut -d ' ' -f 1) || die "cannot read $_ld_dir/$_ld_n"
			grep -q "^$_ld_sum " "$_ld_state" 2>/dev/null && continue
		fi
		img_load "$_ld_dir/$_ld_n"
		_ld_count=$((_ld_count + 1))
		say "loaded $_ld_dir/$_ld_n"
		[ -z "$_ld_state" ] || printf '%s %s\n' "$_ld_sum" "$_ld_n" >>"$_ld_state" ||
			die "cannot record $_ld_n in $_ld_state"
	done
	[ "$_ld_count" = 0 ] || say "loaded $_ld_count image archive(s) from $_ld_dir"
}

# cmd_load_images [DIR]: load-images (the installer's --images DIR); no
# DIR: ROOT/images/, once per file digest.
cmd_load_images() {
	[ $# -le 1 ] || dy_usage_error "load-images takes at most one directory"
	case ${1:-} in
	'') img_load_root ;;
	/*) img_load_dir "$1" ;;
	*) img_load_dir "$(pwd)/$1" ;;
	esac
}

# images_on_start: what start loads from ROOT/images/ (once per digest);
# the installer, which loads them after its own start, sets
# DOCKYARD_START_IMAGES=no.
images_on_start() {
	[ "${DOCKYARD_START_IMAGES:-yes}" != no ] || return 0
	img_load_root
}

# img_load_root: ROOT/images/, once per file digest (the operator's: no
# payload ships files there, dockyard-build refuses it).
img_load_root() {
	[ ! -d "$ROOT/images" ] || img_load_dir "$ROOT/images" "$LIB/images.loaded"
}
