/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One pass over an installer's payload: every tar entry must match the
 * next metadata entry exactly (path, kind, mode, size, sha256), only
 * regular files and directories are allowed, and the whole-file digest
 * must match at the end.  Callers plug in what to do with the entries
 * (nothing for `check`, write to a staging directory for `extract`).
 */
#ifndef DY_PAYLOAD_H
#define DY_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "image.h"

struct archive_entry;

struct dy_walk_ops {
	int (*begin)(void *ctx, const struct dy_entry *e, struct dy_err *err);
	int (*data)(void *ctx, const struct dy_entry *e, const void *buf, size_t len, uint64_t off,
		    struct dy_err *err);
	int (*end)(void *ctx, const struct dy_entry *e, struct dy_err *err);
	dy_progress_fn progress;
	void *progress_ctx;
};

/* ops may be NULL (verify only).  *bytes_read, if given, receives how many
 * bytes of the image file were read. */
int dy_payload_walk(struct dy_image *img, const struct dy_walk_ops *ops, void *ctx,
		    uint64_t *bytes_read, struct dy_err *err);

/* The same for a caller that keeps the files: a version-2 payload (trailer
 * version 2) calls none of begin, data and end, but decodes each file
 * straight into place below outdir (an empty directory; writeback starts
 * for each file checked).  dy_payload_walk decodes it into a scratch
 * directory that it removes afterwards. */
int dy_payload_walk_into(struct dy_image *img, const struct dy_walk_ops *ops, void *ctx, int outdir,
			 uint64_t *bytes_read, struct dy_err *err);

/* The version-2 pass (verify/payload2.c); outdir -1: a scratch directory. */
int dy_payload2_walk(struct dy_image *img, const struct dy_walk_ops *ops, int outdir,
		     uint64_t *bytes_read, struct dy_err *err);

/* A tar header for e made from its metadata alone: path, kind, mode, size,
 * mtime, owner root.  Both the builder (into the payload) and the installer
 * (onto the disk) write headers only this way, so nothing else of a source
 * file or of the tar (owners, xattrs, ACLs, odd types) can pass.  NULL when
 * out of memory; free it with archive_entry_free. */
struct archive_entry *dy_entry_header(const struct dy_entry *e, time_t mtime);

#endif
