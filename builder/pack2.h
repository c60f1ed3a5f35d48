/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The payload of trailer version 2 (verify/frames.h): one zstd frame per
 * file, each taking as its prefix the earlier file that shrinks it most
 * among those that take none themselves (tried at a fast level, so the
 * choice is cheap and deterministic), with a window as large as prefix
 * and file together need, up to a cap.  From level 13 each prefix file is
 * digested once into a zstd dictionary its frames share.  Trials and
 * frames run on several threads, one single-threaded zstd context each,
 * so the bytes do not depend on the thread count.
 */
#ifndef DY_PACK2_H
#define DY_PACK2_H

#include <stdint.h>

#include "../common/err.h"
#include "../verify/frames.h"
#include "../verify/image.h"
#include "../verify/meta.h"

struct dy_pack2_opts {
	int level;
	int window_log_max; /* cap on any frame's window */
	int threads;	    /* >= 1 */
	dy_progress_fn progress;
	void *progress_ctx;
};

struct dy_pack2_out {
	struct dy_frames fr;
	uint8_t *index;	      /* fr.index_len bytes */
	uint8_t **frame;      /* fr.n compressed frames, fr.v[k].len bytes each */
	uint64_t content_len; /* sum of the file sizes */
	int window_log;	      /* the largest window a frame declares */
};

/* fds[i]: the open source of m->entries[i] (files only).  Fills each
 * file entry's sha256 from the bytes packed. */
int dy_pack2(struct dy_meta *m, const int *fds, const struct dy_pack2_opts *o,
	     struct dy_pack2_out *out, struct dy_err *err);
void dy_pack2_free(struct dy_pack2_out *out);

#endif
