/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The installer's tail as verify/image.c reads it: the input is a whole
 * installer file (stub, payload, metadata, trailer).  The last 256 bytes
 * are decoded as the trailer (verify/trailer.c) against the input's size;
 * when that succeeds the metadata range it names is parsed
 * (verify/meta.c).  Properties: a decoded trailer encodes back to the same
 * bytes, its ranges lie inside the file and tile it, and parsed metadata
 * formats back to the same bytes.
 */
#include <string.h>

#include "../../verify/meta.h"
#include "../../verify/trailer.h"
#include "fuzz.h"

static void
check_trailer(const struct dy_trailer *t, const uint8_t *raw, size_t size)
{
	uint8_t again[DY_TRAILER_SIZE];

	dy_trailer_encode(t, again);
	FUZZ_ASSERT(memcmp(again, raw, DY_TRAILER_SIZE) == 0, "encode(decode(x)) != x");
	FUZZ_ASSERT(t->file_len == size, "file length");
	FUZZ_ASSERT(t->payload_off + t->payload_len == t->meta_off, "payload range");
	FUZZ_ASSERT(t->meta_off + t->meta_len + DY_TRAILER_SIZE == size, "metadata range");
}

static void
check_meta(const uint8_t *text, size_t len)
{
	struct dy_meta m;
	struct dy_err err;
	char *out;
	size_t n;

	if (dy_meta_parse((const char *)text, len, &m, &err) < 0)
		return;
	FUZZ_ASSERT(dy_meta_format(&m, &out, &n, &err) == 0, "format: %s", err.msg);
	FUZZ_ASSERT(n == len && memcmp(out, text, len) == 0, "format(parse(meta)) != meta");
	free(out);
	dy_meta_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *raw;
	struct dy_trailer t;
	struct dy_err err;

	/* verify/image.c refuses files that cannot hold a trailer. */
	if (size <= DY_TRAILER_SIZE)
		return 0;
	raw = data + size - DY_TRAILER_SIZE;
	if (dy_trailer_decode(raw, size, &t, &err) < 0) {
		FUZZ_ASSERT(err.msg[0] != '\0', "error without a message");
		return 0;
	}
	check_trailer(&t, raw, size);
	check_meta(data + t.meta_off, t.meta_len);
	return 0;
}
