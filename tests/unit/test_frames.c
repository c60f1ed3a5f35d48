/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify/frames.h: the frame index of payload encoding 2.  It is read
 * before the digest is known, so decode itself must refuse every index
 * that does not match the metadata exactly.
 */
#include <stdint.h>
#include <string.h>

#include "../../verify/frames.h"
#include "harness.h"

/* dir lib; files lib/a (1000 bytes), lib/b (2000), lib/empty (0). */
static void
make_meta(struct dy_meta *m)
{
	static const struct {
		const char *path;
		int is_dir;
		uint64_t size;
	} ents[] = {
		{ "lib", 1, 0 }, { "lib/a", 0, 1000 }, { "lib/b", 0, 2000 }, { "lib/empty", 0, 0 }
	};
	struct dy_err err;
	struct dy_entry e;
	size_t i;

	dy_meta_init(m);
	dy_meta_add_component(m, "c", "1", &err);
	for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		memset(&e, 0, sizeof(e));
		snprintf(e.path, sizeof(e.path), "%s", ents[i].path);
		e.is_dir = ents[i].is_dir;
		e.mode = 0755;
		e.size = ents[i].size;
		if (dy_meta_add_entry(m, &e, &err) < 0)
			printf("#   %s\n", err.msg);
	}
	if (dy_meta_finish(m, &err) < 0)
		printf("#   %s\n", err.msg);
}

/* An index for m: a 100-byte frame, then a 50-byte one with a as prefix. */
static uint64_t
encode(const struct dy_meta *m, uint8_t *out)
{
	struct dy_frames f;
	struct dy_err err;
	uint64_t len;

	CHECK(dy_frames_init(&f, m, &err) == 0);
	CHECK(f.n == 3);
	f.v[0].len = 100;
	f.v[1].len = 50;
	f.v[1].ref[0] = 0;
	f.v[1].nref = 1;
	dy_frames_encode(&f, out);
	len = f.index_len + 150;
	dy_frames_free(&f);
	return len;
}

static int
refused(const uint8_t *in, uint64_t payload_len, const struct dy_meta *m, const char *needle)
{
	struct dy_frames f;
	struct dy_err err = { 0 };
	int rc = dy_frames_decode(in, payload_len, m, &f, &err);

	dy_frames_free(&f);
	if (rc == 0 || strstr(err.msg, needle) == NULL) {
		printf("#   wanted a refusal naming '%s', got rc %d: %s\n", needle, rc, err.msg);
		return 0;
	}
	return 1;
}

static void
test_roundtrip(void)
{
	uint8_t buf[256];
	struct dy_meta m;
	struct dy_frames f;
	struct dy_err err;
	uint64_t plen;

	make_meta(&m);
	plen = encode(&m, buf);
	CHECK(plen == DY_FRAMES_HEAD + 3 * DY_FRAMES_REC + 150);
	CHECK(memcmp(buf, DY_FRAMES_MAGIC, 8) == 0);
	CHECK(dy_frames_decode(buf, plen, &m, &f, &err) == 0);
	CHECK(f.n == 3 && f.v[0].entry == 1 && f.v[2].entry == 3);
	CHECK(f.v[0].off == f.index_len && f.v[1].off == f.index_len + 100);
	CHECK(f.v[1].nref == 1 && f.v[1].ref[0] == 0 && f.v[0].nref == 0 && f.v[2].len == 0);
	CHECK(dy_frames_padded(1) == DY_FRAMES_ALIGN &&
	      dy_frames_padded(DY_FRAMES_ALIGN) == DY_FRAMES_ALIGN);
	dy_frames_free(&f);
	dy_meta_free(&m);
}

static void
put32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
test_rejects(void)
{
	uint8_t good[256], buf[256];
	uint8_t *rec1 = buf + DY_FRAMES_HEAD + DY_FRAMES_REC;
	struct dy_meta m;
	uint64_t plen;

	make_meta(&m);
	plen = encode(&m, good);
#define FRESH() memcpy(buf, good, sizeof(buf))
	FRESH();
	buf[0] = 'X';
	CHECK(refused(buf, plen, &m, "does not start with a frame index"));
	CHECK(refused(good, plen + 1, &m, "frames end at"));
	CHECK(refused(good, plen - 1, &m, "ends past the payload"));
	CHECK(refused(good, 20, &m, "cannot hold the frame index"));
	FRESH();
	put32(buf + 8, 2);
	CHECK(refused(buf, plen, &m, "lists 2 frames, the metadata 3 files"));
	FRESH();
	put32(rec1 + 8, 1); /* itself */
	CHECK(refused(buf, plen, &m, "not an earlier one"));
	FRESH();
	put32(rec1 + 12, 0); /* a twice */
	CHECK(refused(buf, plen, &m, "lists frame 0 twice"));
	FRESH();
	put32(rec1 + 8, DY_FRAMES_NO_REF);
	put32(rec1 + 12, 0); /* a gap before a used reference */
	CHECK(refused(buf, plen, &m, "not packed first"));
	FRESH();
	rec1[20] = 1;
	CHECK(refused(buf, plen, &m, "reserved bytes"));
	FRESH();
	buf[DY_FRAMES_HEAD + 2 * DY_FRAMES_REC] = 1; /* the empty file gets a frame */
	CHECK(refused(buf, plen + 1, &m, "lib/empty is 0 bytes but its frame is 1"));
	FRESH();
	put32(buf + DY_FRAMES_HEAD + 2 * DY_FRAMES_REC + 8, 0);
	CHECK(refused(buf, plen, &m, "the empty file lib/empty has a prefix"));
#undef FRESH
	dy_meta_free(&m);
}

int
main(void)
{
	RUN(test_roundtrip);
	RUN(test_rejects);
	return DONE();
}
