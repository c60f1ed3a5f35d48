/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The frame index of payload encoding 2 (verify/frames.c) as the stub
 * reads it, before the digest is known: the input is a whole payload
 * (index, then frames) for fixed metadata (a directory and the files
 * lib/a, lib/b, lib/c and lib/empty).  Properties: a decoded index
 * encodes back to the same bytes, its frames tile the payload, every
 * reference names an earlier non-empty file, and only empty files have
 * empty frames.
 */
#include <string.h>

#include "../../verify/frames.h"
#include "fuzz.h"

static struct dy_meta meta;
static int meta_ready;

static void
make_meta(void)
{
	static const char *paths[] = { "lib", "lib/a", "lib/b", "lib/c", "lib/empty" };
	static const uint64_t sizes[] = { 0, 1000, 2000, 3000, 0 };
	struct dy_err err;
	struct dy_entry e;
	size_t i;

	dy_meta_init(&meta);
	FUZZ_ASSERT(dy_meta_add_component(&meta, "c", "1", &err) == 0, "%s", err.msg);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		memset(&e, 0, sizeof(e));
		snprintf(e.path, sizeof(e.path), "%s", paths[i]);
		e.is_dir = i == 0;
		e.mode = 0755;
		e.size = sizes[i];
		FUZZ_ASSERT(dy_meta_add_entry(&meta, &e, &err) == 0, "%s", err.msg);
	}
	FUZZ_ASSERT(dy_meta_finish(&meta, &err) == 0, "%s", err.msg);
	meta_ready = 1;
}

static void
check_index(const struct dy_frames *f, const uint8_t *data, size_t size)
{
	uint8_t *again = malloc(f->index_len);
	uint64_t pos = f->index_len;
	size_t i;
	unsigned k;

	FUZZ_ASSERT(again != NULL, "out of memory");
	dy_frames_encode(f, again);
	FUZZ_ASSERT(memcmp(again, data, f->index_len) == 0, "encode(decode(x)) != x");
	free(again);
	for (i = 0; i < f->n; i++) {
		const struct dy_entry *e = &meta.entries[f->v[i].entry];
		FUZZ_ASSERT(f->v[i].off == pos, "frame %zu does not follow the one before", i);
		FUZZ_ASSERT((f->v[i].len == 0) == (e->size == 0), "empty frame of %s", e->path);
		for (k = 0; k < f->v[i].nref; k++)
			FUZZ_ASSERT(f->v[i].ref[k] < i &&
					    meta.entries[f->v[f->v[i].ref[k]].entry].size > 0,
				    "reference of %s", e->path);
		pos += f->v[i].len;
	}
	FUZZ_ASSERT(pos == size, "frames do not end with the payload");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dy_frames f;
	struct dy_err err;

	if (!meta_ready)
		make_meta();
	if (dy_frames_decode(data, size, &meta, &f, &err) == 0)
		check_index(&f, data, size);
	dy_frames_free(&f);
	return 0;
}
