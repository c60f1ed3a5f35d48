/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The installer trailer: a fixed 256-byte block at the very end of the file.
 * docs/payload-format.md is the reference for the whole file layout; this
 * header is the reference for the trailer's bytes.  All integers are
 * little-endian.
 *
 *   off  len  field
 *     0    8  magic "DYKTRAIL"
 *     8    4  format version: 1 (one zstd stream of a tar) or 2 (one zstd
 *             frame per file, see frames.h)
 *    12    4  flags (bit 0: DY_TRAILER_SIGNED; every other bit must be 0)
 *    16    8  file length (the whole installer, trailer included)
 *    24    8  payload offset (= length of the stub before it)
 *    32    8  payload length (the zstd frame(s) holding the tar stream)
 *    40    8  metadata offset (= payload offset + payload length)
 *    48    8  metadata length (text, see meta.h)
 *    56    8  decompressed length: version 1 the tar's, version 2 the sum of
 *             the file sizes (a bomb guard)
 *    64    2  signature length (0 unsigned, else 8..104)
 *    66    1  zstd window log: version 1 the payload's window (at most 27),
 *             version 2 the largest any frame declares (at most 31)
 *    67    5  reserved, zero
 *    72  104  signature area: sig_len bytes of signature, then zero
 *   176   48  reserved, zero
 *   224   32  SHA-256 of every byte of the file before this field
 *
 * The digest covers stub, payload, metadata and every trailer field except
 * itself, so one flipped byte anywhere is caught.  A signature (verify/sig.h)
 * signs the SHA-256 of every byte before the signature area: it covers the
 * flags and sig_len, so neither can be changed without breaking it.
 */
#ifndef DY_TRAILER_H
#define DY_TRAILER_H

#include <stdint.h>

#include "../common/err.h"
#include "meta.h"
#include "sha256.h"

#define DY_TRAILER_SIZE 256
#define DY_TRAILER_MAGIC "DYKTRAIL"
#define DY_TRAILER_VERSION 2	 /* what the builder writes */
#define DY_TRAILER_VERSION_TAR 1 /* the single-stream tar encoding, still read */
#define DY_TRAILER_DIGEST_OFF 224
#define DY_TRAILER_SIG_OFF 72
#define DY_TRAILER_SIG_ROOM 104
#define DY_TRAILER_SIG_MIN 8
#define DY_TRAILER_SIGNED 0x1u /* flags: sig_len bytes of signature follow */
#define DY_WINDOW_LOG_MIN 10
#define DY_WINDOW_LOG_MAX 27 /* what libarchive, zstd -d and tar accept by default */
/* Version 2 decodes each frame straight into its mapped output file, so a
 * frame's window costs page cache, not memory: zstd's own limit holds. */
#define DY_WINDOW_LOG_MAX_V2 31

struct dy_trailer {
	uint32_t version;
	uint32_t flags;
	uint64_t file_len;
	uint64_t payload_off;
	uint64_t payload_len;
	uint64_t meta_off;
	uint64_t meta_len;
	uint64_t tar_len;
	uint16_t sig_len;
	uint8_t window_log;
	uint8_t sig[DY_TRAILER_SIG_ROOM];
	uint8_t digest[DY_SHA256_LEN];
};

/* Serialize; the digest field is copied from t->digest as is. */
void dy_trailer_encode(const struct dy_trailer *t, uint8_t out[DY_TRAILER_SIZE]);

/*
 * Parse and check every structural rule against the real file size: magic,
 * version, flags, offsets that tile the file exactly, limits, zeroed
 * reserved bytes, a signature area that matches the signed flag and
 * sig_len exactly.  Checks neither the digest nor the signature (those
 * need the whole file).
 */
int dy_trailer_decode(const uint8_t in[DY_TRAILER_SIZE], uint64_t actual_file_len,
		      struct dy_trailer *t, struct dy_err *err);

#endif
