/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Payload encoding 2 (trailer version 2): a frame index, then one zstd
 * frame per file of the metadata, in metadata order.  Each frame may take
 * up to three earlier files as its prefix (zstd's refPrefix, raw content):
 * the files in the order listed, each followed by zeros up to the next
 * multiple of 64 KiB, so that a decoder can map the files it already
 * wrote side by side into one contiguous region.  A frame decodes on its
 * own once its prefix files exist, straight into its output.
 * docs/payload-format.md is the reference; all integers are little-endian.
 *
 *   off  len  field
 *     0    8  magic "DYKFRAME"
 *     8    4  count: the number of file entries of the metadata
 *    12    4  reserved, zero
 *    16  24n  one record per file, in metadata order:
 *               0  8  frame length in bytes (0 exactly for an empty file)
 *               8 12  three references: each the index of an earlier
 *                     record whose (non-empty) file is part of the prefix,
 *                     or 0xffffffff for none; the used ones come first,
 *                     none twice
 *              20  4  reserved, zero
 *   then the frames, back to back, ending where the payload ends.
 */
#ifndef DY_FRAMES_H
#define DY_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "meta.h"

#define DY_FRAMES_MAGIC "DYKFRAME"
#define DY_FRAMES_HEAD 16
#define DY_FRAMES_REC 24
#define DY_FRAMES_NO_REF 0xffffffffu
#define DY_FRAMES_MAX_REFS 3
#define DY_FRAMES_ALIGN 65536u /* each prefix file starts at a multiple: any page size */

struct dy_frame {
	size_t entry;			  /* index into the metadata's entries */
	uint64_t off;			  /* offset of the frame in the payload */
	uint64_t len;			  /* its length */
	uint32_t ref[DY_FRAMES_MAX_REFS]; /* frames whose files make the prefix */
	unsigned nref;
};

struct dy_frames {
	struct dy_frame *v;
	size_t n;
	uint64_t index_len; /* bytes before the first frame */
};

/* Index length for m's files; fills f->v[i].entry (f->v has room). */
int dy_frames_init(struct dy_frames *f, const struct dy_meta *m, struct dy_err *err);
void dy_frames_free(struct dy_frames *f);
/* A prefix file's length rounded up to DY_FRAMES_ALIGN. */
uint64_t dy_frames_padded(uint64_t size);
/* Serialize the index (f->index_len bytes). */
void dy_frames_encode(const struct dy_frames *f, uint8_t *out);
/* Parse and check an index against m and the payload length: count,
 * reserved bytes, references to earlier non-empty files only, empty
 * frames for empty files only, lengths that tile the payload exactly. */
int dy_frames_decode(const uint8_t *in, uint64_t payload_len, const struct dy_meta *m,
		     struct dy_frames *f, struct dy_err *err);

#endif
