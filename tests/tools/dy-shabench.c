/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dy-shabench: test-only throughput check of SHA-256: hashes MiB (default
 * 256) from memory with the portable and the SHA-NI block functions, with
 * nettle and with mbedtls, and prints MB/s of each.   dy-shabench [MiB]
 * nettle picks its block function once at start-up; NETTLE_FAT_OVERRIDE=none
 * in the environment keeps it off SHA-NI.
 */
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../verify/sha256.h"

#if MBEDTLS_VERSION_NUMBER < 0x03000000
#define reference_sha256 mbedtls_sha256_ret
#else
#define reference_sha256 mbedtls_sha256
#endif

enum impl { BEST, PORTABLE, NETTLE, MBEDTLS };

/* This thread's CPU time: on a shared machine, wall time would count the
 * time other work had the CPU. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef void update_fn(void *h, const unsigned char *p, size_t n);

/* Feed the buffer in 64 KiB pieces, as dy_sha256_fd does. */
static void
feed(void *h, update_fn *update, const unsigned char *p, size_t len)
{
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < 65536 ? len - off : 65536;
		update(h, p + off, n);
	}
}

static void
own_update(void *h, const unsigned char *p, size_t n)
{
	dy_sha256_update(h, p, n);
}

static void
nettle_update(void *h, const unsigned char *p, size_t n)
{
	sha256_update(h, n, p);
}

static void
hash_pieces(const unsigned char *p, size_t len, uint8_t out[DY_SHA256_LEN])
{
	struct dy_sha256 h;

	dy_sha256_init(&h);
	feed(&h, own_update, p, len);
	dy_sha256_final(&h, out);
}

static void
hash_nettle(const unsigned char *p, size_t len, uint8_t out[DY_SHA256_LEN])
{
	struct sha256_ctx h;

	sha256_init(&h);
	feed(&h, nettle_update, p, len);
	sha256_digest(&h, DY_SHA256_LEN, out);
}

/* Seconds to hash the buffer once with impl. */
static double
run_once(enum impl impl, const unsigned char *p, size_t len, uint8_t d[DY_SHA256_LEN])
{
	double t;

	dy_sha256_force_portable(impl == PORTABLE);
	t = now();
	if (impl == MBEDTLS)
		(void)reference_sha256(p, len, d, 0);
	else if (impl == NETTLE)
		hash_nettle(p, len, d);
	else
		hash_pieces(p, len, d);
	t = now() - t;
	dy_sha256_force_portable(0);
	return t;
}

int
main(int argc, char **argv)
{
	static const char *names[] = { "sha-ni", "portable", "nettle", "mbedtls" };
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256, len = mib << 20, i;
	unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1, r;
	double best[4] = { 0 }, t;
	uint8_t d[DY_SHA256_LEN];
	char hex[4][DY_SHA256_HEX];
	unsigned char *p;
	int k, first = strcmp(dy_sha256_impl(), "sha-ni") == 0 ? BEST : PORTABLE;

	if (argc > 3 || mib == 0 || rounds == 0) {
		fprintf(stderr, "usage: dy-shabench [MiB [rounds]]\n");
		return 2;
	}
	p = malloc(len);
	if (p == NULL) {
		fprintf(stderr, "dy-shabench: out of memory\n");
		return 1;
	}
	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 131 + (i >> 12));
	/* Rounds interleave the implementations; the best round of each counts,
	 * as the least disturbed by other work on the machine. */
	for (r = 0; r < rounds; r++)
		for (k = first; k <= MBEDTLS; k++) {
			t = run_once((enum impl)k, p, len, d);
			if (best[k] == 0 || t < best[k])
				best[k] = t;
			dy_hex_encode(d, sizeof(d), hex[k]);
		}
	printf("%zu MiB, best of %u, own block function here: %s\n", mib, rounds, dy_sha256_impl());
	for (k = BEST; k <= MBEDTLS; k++) {
		if (best[k] == 0) {
			printf("%-9s (not available on this CPU)\n", names[k]);
			continue;
		}
		printf("%-9s %8.0f MB/s  %.16s...\n", names[k], (double)len / 1e6 / best[k],
		       hex[k]);
	}
	free(p);
	return 0;
}
