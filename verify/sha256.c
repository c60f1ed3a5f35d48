#include "sha256.h"

#include <errno.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((struct dy_sha256 *)0)->opaque),
	       "dy_sha256 opaque storage too small for mbedtls_sha256_context");

/* mbedtls 2.x spells the returning variants *_ret; 3.x dropped the suffix. */
#if MBEDTLS_VERSION_NUMBER < 0x03000000
#define sha_starts mbedtls_sha256_starts_ret
#define sha_update mbedtls_sha256_update_ret
#define sha_finish mbedtls_sha256_finish_ret
#else
#define sha_starts mbedtls_sha256_starts
#define sha_update mbedtls_sha256_update
#define sha_finish mbedtls_sha256_finish
#endif

static mbedtls_sha256_context *
ctx(struct dy_sha256 *h)
{
	return (mbedtls_sha256_context *)(void *)h->opaque;
}

void
dy_sha256_init(struct dy_sha256 *h)
{
	mbedtls_sha256_init(ctx(h));
	(void)sha_starts(ctx(h), 0);
}

void
dy_sha256_update(struct dy_sha256 *h, const void *data, size_t len)
{
	(void)sha_update(ctx(h), data, len);
}

void
dy_sha256_final(struct dy_sha256 *h, uint8_t out[DY_SHA256_LEN])
{
	(void)sha_finish(ctx(h), out);
	mbedtls_sha256_free(ctx(h));
}

void
dy_sha256_clone(struct dy_sha256 *dst, const struct dy_sha256 *src)
{
	mbedtls_sha256_init(ctx(dst));
	mbedtls_sha256_clone(ctx(dst), (const mbedtls_sha256_context *)(const void *)src->opaque);
}

void
dy_sha256_buf(const void *data, size_t len, uint8_t out[DY_SHA256_LEN])
{
	struct dy_sha256 h;

	dy_sha256_init(&h);
	dy_sha256_update(&h, data, len);
	dy_sha256_final(&h, out);
}

int
dy_sha256_fd(int fd, uint8_t out[DY_SHA256_LEN], unsigned long long *size, struct dy_err *err)
{
	static _Thread_local unsigned char buf[1 << 16];
	unsigned long long total = 0;
	struct dy_sha256 h;
	ssize_t n;

	dy_sha256_init(&h);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dy_sha256_final(&h, out);
			return dy_errnof(err, "read failed while hashing");
		}
		if (n == 0)
			break;
		dy_sha256_update(&h, buf, (size_t)n);
		total += (unsigned long long)n;
	}
	dy_sha256_final(&h, out);
	if (size)
		*size = total;
	return 0;
}

void
dy_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
dy_hex_decode(const char *in, uint8_t *out, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]), lo;
		if (hi < 0)
			return -1;
		lo = hexval(in[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return in[2 * len] == '\0' ? 0 : -1;
}

int
dy_digest_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t diff = 0;
	size_t i;

	for (i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}
