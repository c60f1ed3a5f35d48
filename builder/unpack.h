/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Taking wanted members out of downloaded artifacts: a bare file, a tar
 * archive (compression detected by content) or a Debian package.
 *
 * An archive is streamed once; a second pass is made only when a wanted
 * member is a link whose target has to be found first.  Members are
 * matched by name only: the archive's names never choose where anything
 * is written.  Outputs are created exclusively and removed again on any
 * error, so a failed call leaves nothing behind.
 */
#ifndef DY_UNPACK_H
#define DY_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

/* Links followed (symbolic or hard, anywhere on the path) before giving up. */
#define DY_UNPACK_MAX_HOPS 8

enum dy_artifact_kind {
	DY_KIND_FILE, /* the artifact itself is the one member (a bare binary, an image tarball) */
	DY_KIND_TAR,  /* .tar, .tgz, .tar.gz, .tar.xz, .tar.zst, .tar.bz2: compression by content */
	DY_KIND_DEB,  /* Debian package: members are taken from the data.tar.* inside the ar archive
		       */
};

struct dy_want {
	/*
	 * Path inside the archive, e.g. "docker/dockerd"; for .deb, inside
	 * data.tar: "usr/sbin/dockerd".  Empty and "." components (so a
	 * leading "./" or "/") are ignored on both sides of the comparison;
	 * ".." is refused.  Ignored for DY_KIND_FILE.
	 */
	const char *member;
	/* File to create: O_EXCL|O_NOFOLLOW, mode 0644 (less the umask); the
	 * packer applies the real mode later. */
	const char *out_path;
	int found;     /* out: 1 once out_path holds the member's data */
	uint64_t size; /* out: bytes written to out_path */
};

/*
 * Extract wants[0..n) from artifact.  Every wanted member must appear
 * exactly once and be a regular file, or a link that resolves to one
 * inside the archive; its size may not exceed max_member_size (pass
 * UINT64_MAX for no limit).  Two wants may name the same member.
 * DY_KIND_FILE copies the artifact itself and takes exactly one want.  Returns 0, or -1 with err
 * set to the first error; then no out_path created by this call is left and every found is 0.
 */
int dy_unpack(const char *artifact, enum dy_artifact_kind kind, struct dy_want *wants, size_t n,
	      uint64_t max_member_size, struct dy_err *err);

/* Parse a manifest word ("file", "tar", "tgz", "deb") into a kind; -1 when unknown. */
int dy_artifact_kind_parse(const char *word, enum dy_artifact_kind *kind);

/* The manifest word for a kind ("tgz" parses as DY_KIND_TAR, named "tar"). */
const char *dy_artifact_kind_name(enum dy_artifact_kind kind);

#endif
