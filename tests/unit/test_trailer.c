/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify/trailer.h: the 256-byte block the installer trusts first.  Every
 * structural rule must be enforced by decode itself, because the digest
 * can only be checked after the layout it describes has been believed.
 */
#include <stdint.h>

#include "../../verify/trailer.h"
#include "harness.h"
#include "testutil.h"

#define FILE_LEN (1500 + 100 + DY_TRAILER_SIZE)

/* A self-consistent trailer: stub 1000, payload 500, meta 100, trailer. */
static void
valid_trailer(struct dy_trailer *t)
{
	int i;

	tu_valid_trailer(t);
	/* A recognisable digest, so a lost or shifted byte shows. */
	for (i = 0; i < DY_SHA256_LEN; i++)
		t->digest[i] = (uint8_t)(0xa0 + i);
}

static int
trailer_equal(const struct dy_trailer *a, const struct dy_trailer *b)
{
	return a->version == b->version && a->flags == b->flags && a->file_len == b->file_len &&
	       a->payload_off == b->payload_off && a->payload_len == b->payload_len &&
	       a->meta_off == b->meta_off && a->meta_len == b->meta_len &&
	       a->tar_len == b->tar_len && a->sig_len == b->sig_len &&
	       a->window_log == b->window_log && memcmp(a->sig, b->sig, sizeof(a->sig)) == 0 &&
	       memcmp(a->digest, b->digest, sizeof(a->digest)) == 0;
}

/* Decoding the bytes fails with a message holding needle. */
static void
bytes_rejected(const uint8_t buf[DY_TRAILER_SIZE], uint64_t actual, const char *needle)
{
	struct dy_err err = { 0 };
	struct dy_trailer out;

	CHECK(dy_trailer_decode(buf, actual, &out, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, needle);
}

static void
rejected(const struct dy_trailer *t, uint64_t actual, const char *needle)
{
	uint8_t buf[DY_TRAILER_SIZE];

	dy_trailer_encode(t, buf);
	bytes_rejected(buf, actual, needle);
}

static int
accepted(const struct dy_trailer *t, uint64_t actual)
{
	struct dy_err err = { 0 };
	uint8_t buf[DY_TRAILER_SIZE];
	struct dy_trailer out;
	int rc;

	dy_trailer_encode(t, buf);
	rc = dy_trailer_decode(buf, actual, &out, &err);
	if (rc != 0)
		printf("#   refused: %s\n", err.msg);
	return rc == 0 && trailer_equal(t, &out);
}

static void
test_roundtrip(void)
{
	struct dy_trailer t, out;
	struct dy_err err = { 0 };
	uint8_t buf[DY_TRAILER_SIZE], again[DY_TRAILER_SIZE];

	valid_trailer(&t);
	dy_trailer_encode(&t, buf);
	CHECK(dy_trailer_decode(buf, FILE_LEN, &out, &err) == 0);
	CHECK(trailer_equal(&t, &out));
	dy_trailer_encode(&out, again);
	CHECK(memcmp(buf, again, DY_TRAILER_SIZE) == 0);
}

/* The byte layout documented in trailer.h, checked at a few fields. */
static void
test_encoding_layout(void)
{
	struct dy_trailer t;
	uint8_t buf[DY_TRAILER_SIZE];
	int i;

	valid_trailer(&t);
	t.file_len = 0x0102030405060708ull;
	dy_trailer_encode(&t, buf);
	CHECK(memcmp(buf, "DYKTRAIL", 8) == 0);
	CHECK(buf[8] == 1 && buf[9] == 0 && buf[10] == 0 && buf[11] == 0);
	/* Little-endian. */
	for (i = 0; i < 8; i++)
		CHECK(buf[16 + i] == 8 - i);
	CHECK(buf[24] == (1000 & 0xff) && buf[25] == (1000 >> 8));
	CHECK(buf[56] == 0 && buf[57] == (10240 >> 8));
	CHECK(buf[66] == 25);
	CHECK(memcmp(buf + DY_TRAILER_DIGEST_OFF, t.digest, DY_SHA256_LEN) == 0);
}

static void
test_boundaries_accepted(void)
{
	struct dy_trailer t;

	valid_trailer(&t);
	t.window_log = DY_WINDOW_LOG_MIN;
	CHECK(accepted(&t, FILE_LEN));
	t.window_log = DY_WINDOW_LOG_MAX;
	CHECK(accepted(&t, FILE_LEN));

	valid_trailer(&t);
	t.tar_len = 512;
	CHECK(accepted(&t, FILE_LEN));

	valid_trailer(&t);
	t.meta_len = 1;
	t.file_len = 1500 + 1 + DY_TRAILER_SIZE;
	CHECK(accepted(&t, t.file_len));
	t.meta_len = DY_META_MAX;
	t.file_len = 1500 + (uint64_t)DY_META_MAX + DY_TRAILER_SIZE;
	CHECK(accepted(&t, t.file_len));

	valid_trailer(&t);
	t.payload_off = 1;
	t.payload_len = 1;
	t.meta_off = 2;
	t.meta_len = 1;
	t.file_len = 3 + DY_TRAILER_SIZE;
	CHECK(accepted(&t, t.file_len));
}

static void
test_rejects_header_fields(void)
{
	struct dy_trailer t;
	uint8_t buf[DY_TRAILER_SIZE];

	valid_trailer(&t);
	dy_trailer_encode(&t, buf);
	buf[0] = 'X';
	bytes_rejected(buf, FILE_LEN, "bad magic");
	dy_trailer_encode(&t, buf);
	buf[7] = 'l';
	bytes_rejected(buf, FILE_LEN, "bad magic");

	t.version = 3;
	rejected(&t, FILE_LEN, "version 3 is not supported: this installer reads versions 1 and 2");
	t.version = 0;
	rejected(&t, FILE_LEN, "version 0");
	/* Version 2: any decompressed length, windows up to 2^31. */
	t.version = 2;
	t.tar_len = 1000;
	t.window_log = 31;
	CHECK(accepted(&t, FILE_LEN));
	t.window_log = 32;
	rejected(&t, FILE_LEN, "window log 32 outside 10..31");
	valid_trailer(&t);
	t.window_log = 28;
	rejected(&t, FILE_LEN, "window log 28 outside 10..27");

	valid_trailer(&t);
	t.flags = 1;
	rejected(&t, FILE_LEN, "flags");
	t.flags = 0x80000000u;
	rejected(&t, FILE_LEN, "flags");
}

static void
test_rejects_wrong_file_length(void)
{
	struct dy_trailer t;

	valid_trailer(&t);
	rejected(&t, FILE_LEN - 1, "truncated");
	rejected(&t, FILE_LEN + 1, "appended");
	rejected(&t, 0, "truncated");
}

static void
test_rejects_bad_ranges(void)
{
	struct dy_trailer t;

	/* Metadata stops one byte short of the trailer. */
	valid_trailer(&t);
	t.meta_len = 99;
	rejected(&t, FILE_LEN, "does not end where the trailer starts");
	/* ... or runs one byte into it. */
	t.meta_len = 101;
	rejected(&t, FILE_LEN, "does not end where the trailer starts");

	/* No stub. */
	valid_trailer(&t);
	t.payload_off = 0;
	t.payload_len = 1500;
	rejected(&t, FILE_LEN, "empty stub");

	/* No payload. */
	valid_trailer(&t);
	t.payload_off = 1500;
	t.payload_len = 0;
	rejected(&t, FILE_LEN, "empty stub or payload");

	/* Metadata not right after the payload. */
	valid_trailer(&t);
	t.meta_off = 1499;
	t.meta_len = 101;
	rejected(&t, FILE_LEN, "payload range");

	/* Payload past the end of the file. */
	valid_trailer(&t);
	t.payload_off = FILE_LEN + 1;
	rejected(&t, FILE_LEN, "payload range");
}

static void
test_rejects_wrapping_lengths(void)
{
	struct dy_trailer t;

	/* An offset that makes payload_off + payload_len wrap to a plausible
	 * meta_off must not slip through. */
	valid_trailer(&t);
	t.payload_off = UINT64_MAX - 99;
	t.payload_len = 1600;
	t.meta_off = t.payload_off + t.payload_len; /* wraps to 1500 */
	CHECK(t.meta_off == 1500);
	rejected(&t, FILE_LEN, "payload range");
	valid_trailer(&t);
	t.payload_len = UINT64_MAX;
	t.meta_off = t.payload_off + t.payload_len;
	rejected(&t, FILE_LEN, "payload range");

	valid_trailer(&t);
	t.meta_len = 0;
	t.file_len = 1500 + DY_TRAILER_SIZE;
	rejected(&t, t.file_len, "metadata length 0");

	valid_trailer(&t);
	t.meta_len = (uint64_t)DY_META_MAX + 1;
	t.file_len = 1500 + t.meta_len + DY_TRAILER_SIZE;
	rejected(&t, t.file_len, "metadata length");

	valid_trailer(&t);
	t.meta_len = UINT64_MAX;
	rejected(&t, FILE_LEN, "metadata length");
}

static void
test_rejects_limits(void)
{
	struct dy_trailer t;

	valid_trailer(&t);
	t.window_log = DY_WINDOW_LOG_MIN - 1;
	rejected(&t, FILE_LEN, "window log 9");
	t.window_log = DY_WINDOW_LOG_MAX + 1;
	rejected(&t, FILE_LEN, "window log 28");
	t.window_log = 0;
	rejected(&t, FILE_LEN, "window log");
	t.window_log = 255;
	rejected(&t, FILE_LEN, "window log");

	valid_trailer(&t);
	t.tar_len = 10241;
	rejected(&t, FILE_LEN, "multiple of 512");
	t.tar_len = 256;
	rejected(&t, FILE_LEN, "multiple of 512");
	t.tar_len = 0;
	rejected(&t, FILE_LEN, "multiple of 512");
}

static void
test_rejects_reserved_and_signature(void)
{
	static const int reserved[] = { 67, 68, 71, 176, 200, 223 };
	static const int sig_area[] = { DY_TRAILER_SIG_OFF, 100,
					DY_TRAILER_SIG_OFF + DY_TRAILER_SIG_ROOM - 1 };
	struct dy_trailer t;
	uint8_t buf[DY_TRAILER_SIZE];
	size_t i;

	valid_trailer(&t);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		dy_trailer_encode(&t, buf);
		buf[reserved[i]] = 1;
		bytes_rejected(buf, FILE_LEN, "reserved");
	}

	t.sig_len = 1;
	rejected(&t, FILE_LEN, "signature");
	t.sig_len = 0x100;
	rejected(&t, FILE_LEN, "signature");

	valid_trailer(&t);
	for (i = 0; i < sizeof(sig_area) / sizeof(sig_area[0]); i++) {
		dy_trailer_encode(&t, buf);
		buf[sig_area[i]] = 0x55;
		bytes_rejected(buf, FILE_LEN, "signature");
	}
}

/*
 * No byte of the trailer may be silently ignored: changing any byte either
 * makes decode fail or shows up in the decoded struct.  Otherwise two
 * different trailers (and so two different digests) would mean the same.
 */
static void
test_every_byte_matters(void)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	struct dy_err err = { 0 };
	struct dy_trailer t, base, out;
	uint8_t orig[DY_TRAILER_SIZE], buf[DY_TRAILER_SIZE];
	int off, ignored = 0;
	size_t k;

	valid_trailer(&t);
	dy_trailer_encode(&t, orig);
	CHECK(dy_trailer_decode(orig, FILE_LEN, &base, &err) == 0);
	for (off = 0; off < DY_TRAILER_SIZE; off++) {
		for (k = 0; k < sizeof(masks); k++) {
			memcpy(buf, orig, sizeof(buf));
			buf[off] ^= masks[k];
			if (dy_trailer_decode(buf, FILE_LEN, &out, &err) != 0)
				continue;
			if (trailer_equal(&base, &out)) {
				printf("#   byte %d ^ 0x%02x was ignored\n", off, masks[k]);
				ignored++;
			}
		}
	}
	CHECK(ignored == 0);
}

int
main(void)
{
	RUN(test_roundtrip);
	RUN(test_encoding_layout);
	RUN(test_boundaries_accepted);
	RUN(test_rejects_header_fields);
	RUN(test_rejects_wrong_file_length);
	RUN(test_rejects_bad_ranges);
	RUN(test_rejects_wrapping_lengths);
	RUN(test_rejects_limits);
	RUN(test_rejects_reserved_and_signature);
	RUN(test_every_byte_matters);
	return DONE();
}
