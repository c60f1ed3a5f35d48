/* Streaming SHA-256 (mbedtls underneath) and hex helpers. */
#ifndef DY_SHA256_H
#define DY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

#define DY_SHA256_LEN 32
#define DY_SHA256_HEX 65 /* 64 digits + NUL */

struct dy_sha256 {
	/* Opaque storage for mbedtls_sha256_context; sized generously and
	 * checked at compile time in sha256.c. */
	_Alignas(16) unsigned char opaque[256];
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

/* Constant-time comparison. */
int dy_digest_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
