/* SPDX-License-Identifier: Apache-2.0 */
#include "frames.h"

#include <stdlib.h>
#include <string.h>

#include "le.h"

int
dy_frames_init(struct dy_frames *f, const struct dy_meta *m, struct dy_err *err)
{
	size_t i, n = 0;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < m->nentries; i++)
		n += !m->entries[i].is_dir;
	f->v = calloc(n ? n : 1, sizeof(*f->v));
	if (f->v == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < m->nentries; i++)
		if (!m->entries[i].is_dir) {
			f->v[f->n].entry = i;
			f->n++;
		}
	f->index_len = DY_FRAMES_HEAD + (uint64_t)f->n * DY_FRAMES_REC;
	return 0;
}

void
dy_frames_free(struct dy_frames *f)
{
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

uint64_t
dy_frames_padded(uint64_t size)
{
	return (size + DY_FRAMES_ALIGN - 1) / DY_FRAMES_ALIGN * DY_FRAMES_ALIGN;
}

void
dy_frames_encode(const struct dy_frames *f, uint8_t *out)
{
	size_t i;

	memset(out, 0, f->index_len);
	memcpy(out, DY_FRAMES_MAGIC, 8);
	dy_put_le(out + 8, f->n, 4);
	for (i = 0; i < f->n; i++) {
		uint8_t *r = out + DY_FRAMES_HEAD + i * DY_FRAMES_REC;
		unsigned k;
		dy_put_le(r, f->v[i].len, 8);
		for (k = 0; k < DY_FRAMES_MAX_REFS; k++)
			dy_put_le(r + 8 + 4 * k,
				  k < f->v[i].nref ? f->v[i].ref[k] : DY_FRAMES_NO_REF, 4);
	}
}

/* One reference of record i: an earlier, non-empty file, not listed twice. */
static int
check_ref(const struct dy_frames *f, size_t i, unsigned k, const struct dy_meta *m,
	  struct dy_err *err)
{
	const struct dy_frame *fr = &f->v[i];
	const char *path = m->entries[fr->entry].path;
	unsigned j;

	if (fr->ref[k] >= i)
		return dy_errf(err,
			       "frame index: %s refers to frame %u, which is not an earlier one",
			       path, fr->ref[k]);
	if (m->entries[f->v[fr->ref[k]].entry].size == 0)
		return dy_errf(err, "frame index: %s refers to the empty file %s", path,
			       m->entries[f->v[fr->ref[k]].entry].path);
	for (j = 0; j < k; j++)
		if (fr->ref[j] == fr->ref[k])
			return dy_errf(err, "frame index: %s lists frame %u twice", path,
				       fr->ref[k]);
	return 0;
}

/* One record: its length and references, checked against the files. */
static int
decode_record(const uint8_t *r, struct dy_frames *f, size_t i, const struct dy_meta *m,
	      struct dy_err *err)
{
	struct dy_frame *fr = &f->v[i];
	const struct dy_entry *e = &m->entries[fr->entry];
	unsigned k;

	fr->len = dy_get_le(r, 8);
	if (dy_get_le(r + 20, 4) != 0)
		return dy_errf(err, "frame index: record of %s has reserved bytes set", e->path);
	if ((fr->len == 0) != (e->size == 0))
		return dy_errf(err, "frame index: %s is %llu bytes but its frame is %llu", e->path,
			       (unsigned long long)e->size, (unsigned long long)fr->len);
	for (k = 0; k < DY_FRAMES_MAX_REFS; k++) {
		uint32_t ref = (uint32_t)dy_get_le(r + 8 + 4 * k, 4);
		if (ref == DY_FRAMES_NO_REF)
			continue;
		if (e->size == 0)
			return dy_errf(err, "frame index: the empty file %s has a prefix", e->path);
		if (k != fr->nref)
			return dy_errf(err, "frame index: references of %s are not packed first",
				       e->path);
		fr->ref[fr->nref++] = ref;
		if (check_ref(f, i, k, m, err) < 0)
			return -1;
	}
	return 0;
}

int
dy_frames_decode(const uint8_t *in, uint64_t payload_len, const struct dy_meta *m,
		 struct dy_frames *f, struct dy_err *err)
{
	uint64_t pos;
	size_t i;

	if (dy_frames_init(f, m, err) < 0)
		return -1;
	if (payload_len < f->index_len)
		return dy_errf(err,
			       "payload of %llu bytes cannot hold the frame index of %zu files",
			       (unsigned long long)payload_len, f->n);
	if (memcmp(in, DY_FRAMES_MAGIC, 8) != 0 || dy_get_le(in + 12, 4) != 0)
		return dy_errf(err, "payload does not start with a frame index");
	if (dy_get_le(in + 8, 4) != f->n)
		return dy_errf(err, "frame index lists %llu frames, the metadata %zu files",
			       (unsigned long long)dy_get_le(in + 8, 4), f->n);
	pos = f->index_len;
	for (i = 0; i < f->n; i++) {
		if (decode_record(in + DY_FRAMES_HEAD + i * DY_FRAMES_REC, f, i, m, err) < 0)
			return -1;
		f->v[i].off = pos;
		if (f->v[i].len > payload_len - pos)
			return dy_errf(err, "frame index: the frame of %s ends past the payload",
				       m->entries[f->v[i].entry].path);
		pos += f->v[i].len;
	}
	if (pos != payload_len)
		return dy_errf(err, "frame index: frames end at %llu, the payload at %llu",
			       (unsigned long long)pos, (unsigned long long)payload_len);
	return 0;
}
