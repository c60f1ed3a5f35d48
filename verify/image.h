/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading an installer image (stub + payload + metadata + trailer, see
 * docs/payload-format.md): open it, check the trailer's structure, parse
 * the metadata, then stream the file once from the first byte to the last,
 * hashing every byte and handing out the decompressed tar stream.  Nothing
 * read from the image is trusted until dy_stream_finish() (or
 * dy_image_check_digest()) returns 0: a caller acts on the metadata only
 * after that, and any failure met before is passed to dy_image_explain().
 */
#ifndef DY_IMAGE_H
#define DY_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"
#include "meta.h"
#include "trailer.h"

/* What every message about a damaged file says after its name, whatever
 * region the damage is in: "FILE: installer is corrupt or truncated: ...". */
#define DY_CORRUPT "installer is corrupt or truncated"

struct dy_image {
	int fd;
	uint64_t size;
	struct dy_trailer trailer;
	uint8_t trailer_raw[DY_TRAILER_SIZE];
	char *meta_raw; /* the bytes parsed are the bytes hashed */
	struct dy_meta meta;
	/* Set by a digest pass: SHA-256 of every byte before the trailer's
	 * signature area (what a signature signs), and whether the whole-file
	 * digest matched, i.e. whether signed_digest describes this file. */
	uint8_t signed_digest[DY_SHA256_LEN];
	int digest_ok;
	int digest_checked; /* this pass compared the digest (match or not) */
	char path[4096];
};

/* Open path (following symlinks only when follow is set: /proc/self/exe
 * is one) and check trailer and metadata structure.  Messages name
 * display, or path when display is NULL. */
int dy_image_open(struct dy_image *img, const char *path, const char *display, int follow,
		  struct dy_err *err);
void dy_image_close(struct dy_image *img);

struct dy_stream; /* opaque: one streaming pass over an image */

typedef void (*dy_progress_fn)(void *ctx, uint64_t done, uint64_t total);

int dy_stream_begin(struct dy_image *img, struct dy_stream **out, dy_progress_fn progress,
		    void *progress_ctx, struct dy_err *err);
/* Next chunk of the decompressed tar: >0 bytes, 0 at its end, -1 on error. */
ssize_t dy_stream_read(struct dy_stream *s, const void **buf, struct dy_err *err);
/* Drain what is left, then check lengths and the whole-file digest;
 * fills img->signed_digest and img->digest_ok on the way. */
int dy_stream_finish(struct dy_stream *s, struct dy_err *err);
/* Bytes of the image file read, open included: equal to its size when
 * every byte was read exactly once. */
uint64_t dy_stream_bytes_read(struct dy_stream *s);
void dy_stream_free(struct dy_stream *s);

/* Finish a pass that fed every byte before the metadata into h: add the
 * metadata and trailer bytes, fill signed_digest and digest_ok, and compare
 * (the DY_CORRUPT message when the digest differs). */
int dy_image_finish_digest(struct dy_image *img, struct dy_sha256 *h, struct dy_err *err);

/* One pass, digest only (no decompression); also fills signed_digest. */
int dy_image_check_digest(struct dy_image *img, struct dy_err *err);
/* A failure (err) was met before the digest was compared: hash the file
 * against its last 32 bytes, trusting no trailer field, and when they
 * differ replace err with the DY_CORRUPT message (err's text becomes its
 * first symptom).  Returns -1. */
int dy_image_explain(struct dy_image *img, struct dy_err *err);

#endif
