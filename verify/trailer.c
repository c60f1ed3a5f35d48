/* SPDX-License-Identifier: Apache-2.0 */
#include "trailer.h"

#include <string.h>

#include "le.h"

void
dy_trailer_encode(const struct dy_trailer *t, uint8_t out[DY_TRAILER_SIZE])
{
	memset(out, 0, DY_TRAILER_SIZE);
	memcpy(out, DY_TRAILER_MAGIC, 8);
	dy_put_le(out + 8, t->version, 4);
	dy_put_le(out + 12, t->flags, 4);
	dy_put_le(out + 16, t->file_len, 8);
	dy_put_le(out + 24, t->payload_off, 8);
	dy_put_le(out + 32, t->payload_len, 8);
	dy_put_le(out + 40, t->meta_off, 8);
	dy_put_le(out + 48, t->meta_len, 8);
	dy_put_le(out + 56, t->tar_len, 8);
	dy_put_le(out + 64, t->sig_len, 2);
	out[66] = t->window_log;
	memcpy(out + DY_TRAILER_SIG_OFF, t->sig, DY_TRAILER_SIG_ROOM);
	memcpy(out + DY_TRAILER_DIGEST_OFF, t->digest, DY_SHA256_LEN);
}

static int
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n--)
		acc |= *p++;
	return acc == 0;
}

static int
check_layout(const struct dy_trailer *t, uint64_t actual, struct dy_err *err)
{
	if (t->file_len != actual)
		return dy_errf(err,
			       "trailer says the file is %llu bytes but it is %llu "
			       "(truncated or appended to)",
			       (unsigned long long)t->file_len, (unsigned long long)actual);
	if (t->payload_off == 0 || t->payload_len == 0)
		return dy_errf(err, "trailer has an empty stub or payload");
	if (t->payload_off > actual || t->payload_len > actual - t->payload_off ||
	    t->meta_off != t->payload_off + t->payload_len)
		return dy_errf(err, "trailer payload range does not fit the file");
	if (t->meta_len == 0 || t->meta_len > DY_META_MAX)
		return dy_errf(err, "trailer metadata length %llu outside 1..%u",
			       (unsigned long long)t->meta_len, DY_META_MAX);
	if (t->meta_off > actual || t->meta_len > actual - t->meta_off ||
	    t->meta_off + t->meta_len + DY_TRAILER_SIZE != actual)
		return dy_errf(err, "trailer metadata range does not end where the trailer starts");
	return 0;
}

/* The window and decompressed length each version allows. */
static int
check_lengths(const struct dy_trailer *t, struct dy_err *err)
{
	int max = t->version == DY_TRAILER_VERSION_TAR ? DY_WINDOW_LOG_MAX : DY_WINDOW_LOG_MAX_V2;

	if (t->window_log < DY_WINDOW_LOG_MIN || t->window_log > max)
		return dy_errf(err, "trailer zstd window log %u outside %d..%d", t->window_log,
			       DY_WINDOW_LOG_MIN, max);
	if (t->version == DY_TRAILER_VERSION_TAR && (t->tar_len == 0 || t->tar_len % 512 != 0))
		return dy_errf(err, "trailer tar length %llu is not a positive multiple of 512",
			       (unsigned long long)t->tar_len);
	return 0;
}

/*
 * Unsigned: no length, an all-zero area.  Signed: a plausible length and
 * zeros after it, so no byte of the area is left unchecked.
 */
static int
check_sig_area(const struct dy_trailer *t, struct dy_err *err)
{
	if (!(t->flags & DY_TRAILER_SIGNED)) {
		if (t->sig_len != 0 || !all_zero(t->sig, DY_TRAILER_SIG_ROOM))
			return dy_errf(err, "trailer signature area is not empty, but the "
					    "signed flag is not set");
		return 0;
	}
	if (t->sig_len < DY_TRAILER_SIG_MIN || t->sig_len > DY_TRAILER_SIG_ROOM)
		return dy_errf(err,
			       "trailer flags say signed, but the signature length %u "
			       "is outside %d..%d",
			       t->sig_len, DY_TRAILER_SIG_MIN, DY_TRAILER_SIG_ROOM);
	if (!all_zero(t->sig + t->sig_len, DY_TRAILER_SIG_ROOM - t->sig_len))
		return dy_errf(err,
			       "trailer signature area holds bytes after the %u-byte "
			       "signature",
			       t->sig_len);
	return 0;
}

int
dy_trailer_decode(const uint8_t in[DY_TRAILER_SIZE], uint64_t actual, struct dy_trailer *t,
		  struct dy_err *err)
{
	memset(t, 0, sizeof(*t));
	if (memcmp(in, DY_TRAILER_MAGIC, 8) != 0)
		return dy_errf(err, "no dockyard trailer at the end of the file (bad magic)");
	t->version = (uint32_t)dy_get_le(in + 8, 4);
	t->flags = (uint32_t)dy_get_le(in + 12, 4);
	t->file_len = dy_get_le(in + 16, 8);
	t->payload_off = dy_get_le(in + 24, 8);
	t->payload_len = dy_get_le(in + 32, 8);
	t->meta_off = dy_get_le(in + 40, 8);
	t->meta_len = dy_get_le(in + 48, 8);
	t->tar_len = dy_get_le(in + 56, 8);
	t->sig_len = (uint16_t)dy_get_le(in + 64, 2);
	t->window_log = in[66];
	memcpy(t->sig, in + DY_TRAILER_SIG_OFF, DY_TRAILER_SIG_ROOM);
	memcpy(t->digest, in + DY_TRAILER_DIGEST_OFF, DY_SHA256_LEN);

	if (t->version != DY_TRAILER_VERSION_TAR && t->version != DY_TRAILER_VERSION)
		return dy_errf(err,
			       "installer format version %u is not supported: this installer "
			       "reads versions %d and %d (made by a newer dockyard-build?)",
			       t->version, DY_TRAILER_VERSION_TAR, DY_TRAILER_VERSION);
	if (t->flags & ~DY_TRAILER_SIGNED)
		return dy_errf(err, "trailer has unknown flags 0x%x",
			       t->flags & ~DY_TRAILER_SIGNED);
	if (check_layout(t, actual, err) < 0)
		return -1;
	if (check_lengths(t, err) < 0)
		return -1;
	if (!all_zero(in + 67, 5) || !all_zero(in + 176, 48))
		return dy_errf(err, "trailer reserved bytes are not zero");
	return check_sig_area(t, err);
}
