/* SPDX-License-Identifier: Apache-2.0 */
/* Streaming SHA-256 (SHA-NI when the CPU has it, portable C otherwise) and
 * hex helpers. */
#ifndef DY_SHA256_H
#define DY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

#define DY_SHA256_LEN 32
#define DY_SHA256_HEX 65 /* 64 digits + NUL */

struct dy_sha256 {
	uint32_t state[8];
	uint64_t count;		 /* bytes fed so far */
	unsigned char block[64]; /* the partial block: count % 64 bytes */
};

void dy_sha256_init(struct dy_sha256 *h);
void dy_sha256_update(struct dy_sha256 *h, const void *data, size_t len);
void dy_sha256_final(struct dy_sha256 *h, uint8_t out[DY_SHA256_LEN]);
/* Copy the running state so one pass can finish two digests. */
void dy_sha256_clone(struct dy_sha256 *dst, const struct dy_sha256 *src);

void dy_sha256_buf(const void *data, size_t len, uint8_t out[DY_SHA256_LEN]);
/* Hash an open file from its current offset to EOF. */
int dy_sha256_fd(int fd, uint8_t out[DY_SHA256_LEN], unsigned long long *size, struct dy_err *err);

void dy_hex_encode(const uint8_t *in, size_t len, char *out);
/* Strict: exactly 2*len lowercase hex digits. */
int dy_hex_decode(const char *in, uint8_t *out, size_t len);

/* Which block function digests run on: "sha-ni" or "portable". */
const char *dy_sha256_impl(void);
/* For tests and benchmarks only: on != 0 forces the portable block function,
 * 0 returns to the one the CPU supports best. */
void dy_sha256_force_portable(int on);

/* Constant-time comparison. */
int dy_digest_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
