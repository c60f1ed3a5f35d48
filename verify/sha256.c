/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SHA-256 of our own rather than nettle's, measured with tests/tools/
 * dy-shabench (256 and 64 MiB in 64 KiB pieces, best of 10 rounds of this
 * thread's CPU time, Debian 12's nettle 3.8.1 fat build, AMD CPU with
 * SHA-NI, gcc 12 -O2; the same on an idle and on a loaded machine):
 *
 *                  own       nettle
 *   SHA-NI     1790-1810   1614-1633 MB/s   nettle 10% slower
 *   portable    341-344     376-382  MB/s   nettle 10% faster
 *                                      (NETTLE_FAT_OVERRIDE=none, and
 *                                      dy_sha256_force_portable for ours)
 *
 * nettle linked statically picks SHA-NI as well (1590 MB/s).  The
 * installer's self-check runs on the SHA-NI path on every current x86
 * CPU, where nettle 3.8 calls its compression function once per 64-byte
 * block through the fat dispatch pointer; ours runs a whole buffer per call.
 * Swap in nettle when it is within 5% on both paths (run the driver again
 * after a nettle upgrade).
 */
#include "sha256.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "sha256_x86.h"

/* FIPS 180-4, section 4.2.2 (the SHA-NI rounds use them too). */
const uint32_t dy_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t
ror(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

static uint32_t
load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* One block, FIPS 180-4 section 6.2.2, written for clarity. */
static void
block_portable(uint32_t st[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = load_be32(p + 4 * i);
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3) +
		       w[i - 7] + (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10);
	a = st[0], b = st[1], c = st[2], d = st[3];
	e = st[4], f = st[5], g = st[6], h = st[7];
	/* Unrolled, the renaming of a..h below costs no moves. */
#pragma GCC unroll 64
	for (i = 0; i < 64; i++) {
		t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) +
		     dy_sha256_k[i] + w[i];
		t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	st[0] += a, st[1] += b, st[2] += c, st[3] += d;
	st[4] += e, st[5] += f, st[6] += g, st[7] += h;
}

static void
blocks_portable(uint32_t state[8], const unsigned char *p, size_t n)
{
	for (; n > 0; n--, p += 64)
		block_portable(state, p);
}

/* The best block function, found once (0 = not yet; the race is benign:
 * every thread finds the same answer), and the test override. */
static _Atomic(dy_sha256_blocks_fn *) best;
static atomic_int force_portable;

static dy_sha256_blocks_fn *
blocks_fn(void)
{
	dy_sha256_blocks_fn *fn;

	if (atomic_load_explicit(&force_portable, memory_order_relaxed))
		return blocks_portable;
	fn = atomic_load_explicit(&best, memory_order_relaxed);
	if (fn == NULL) {
		fn = dy_sha256_x86_blocks();
		if (fn == NULL)
			fn = blocks_portable;
		atomic_store_explicit(&best, fn, memory_order_relaxed);
	}
	return fn;
}

const char *
dy_sha256_impl(void)
{
	return blocks_fn() == blocks_portable ? "portable" : "sha-ni";
}

void
dy_sha256_force_portable(int on)
{
	atomic_store_explicit(&force_portable, on != 0, memory_order_relaxed);
}

void
dy_sha256_init(struct dy_sha256 *h)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(h->state, iv, sizeof(iv));
	h->count = 0;
}

void
dy_sha256_update(struct dy_sha256 *h, const void *data, size_t len)
{
	dy_sha256_blocks_fn *fn = blocks_fn();
	const unsigned char *p = data;
	size_t fill = (size_t)(h->count % 64), take;

	h->count += len;
	/* Top up a partial block first. */
	if (fill > 0) {
		take = len < 64 - fill ? len : 64 - fill;
		if (take > 0)
			memcpy(h->block + fill, p, take);
		if (fill + take < 64)
			return;
		fn(h->state, h->block, 1);
		p += take;
		len -= take;
	}
	/* Whole blocks straight from the caller's buffer. */
	if (len >= 64) {
		fn(h->state, p, len / 64);
		p += len - len % 64;
		len %= 64;
	}
	if (len > 0)
		memcpy(h->block, p, len);
}

void
dy_sha256_final(struct dy_sha256 *h, uint8_t out[DY_SHA256_LEN])
{
	dy_sha256_blocks_fn *fn = blocks_fn();
	size_t fill = (size_t)(h->count % 64);
	uint64_t bits = h->count * 8;
	int i;

	/* Padding: 0x80, zeros, then the message length in bits, big-endian. */
	h->block[fill++] = 0x80;
	if (fill > 56) {
		memset(h->block + fill, 0, 64 - fill);
		fn(h->state, h->block, 1);
		fill = 0;
	}
	memset(h->block + fill, 0, 56 - fill);
	store_be32(h->block + 56, (uint32_t)(bits >> 32));
	store_be32(h->block + 60, (uint32_t)bits);
	fn(h->state, h->block, 1);
	for (i = 0; i < 8; i++)
		store_be32(out + 4 * i, h->state[i]);
	/* Leave nothing of the message behind, as the state's user expects. */
	explicit_bzero(h, sizeof(*h));
}

void
dy_sha256_clone(struct dy_sha256 *dst, const struct dy_sha256 *src)
{
	*dst = *src;
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
