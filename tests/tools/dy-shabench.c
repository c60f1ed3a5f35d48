/*
 * dy-shabench: test-only throughput check of SHA-256: hashes MiB (default
 * 256) from memory with the portable and the SHA-NI block functions and with
 * mbedtls, and prints MB/s of each.   dy-shabench [MiB]
 */
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
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

enum impl { BEST, PORTABLE, MBEDTLS };

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hash in 64 KiB pieces, as dy_sha256_fd does. */
static void
hash_pieces(const unsigned char *p, size_t len, uint8_t out[DY_SHA256_LEN])
{
	struct dy_sha256 h;
	size_t off, n;

	dy_sha256_init(&h);
	for (off = 0; off < len; off += n) {
		n = len - off < 65536 ? len - off : 65536;
		dy_sha256_update(&h, p + off, n);
	}
	dy_sha256_final(&h, out);
}

static void
measure(const char *name, enum impl impl, const unsigned char *p, size_t len)
{
	uint8_t d[DY_SHA256_LEN];
	char hex[DY_SHA256_HEX];
	double t;

	dy_sha256_force_portable(impl == PORTABLE);
	t = now();
	if (impl == MBEDTLS)
		(void)reference_sha256(p, len, d, 0);
	else
		hash_pieces(p, len, d);
	t = now() - t;
	dy_sha256_force_portable(0);
	dy_hex_encode(d, sizeof(d), hex);
	printf("%-9s %8.0f MB/s  %.16s...\n", name, (double)len / 1e6 / t, hex);
}

int
main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256, len = mib << 20, i;
	unsigned char *p;

	if (argc > 2 || mib == 0) {
		fprintf(stderr, "usage: dy-shabench [MiB]\n");
		return 2;
	}
	p = malloc(len);
	if (p == NULL) {
		fprintf(stderr, "dy-shabench: out of memory\n");
		return 1;
	}
	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 131 + (i >> 12));
	printf("%zu MiB, best block function here: %s\n", mib, dy_sha256_impl());
	measure("portable", PORTABLE, p, len);
	if (strcmp(dy_sha256_impl(), "sha-ni") == 0)
		measure("sha-ni", BEST, p, len);
	else
		printf("sha-ni    (not available on this CPU)\n");
	measure("mbedtls", MBEDTLS, p, len);
	free(p);
	return 0;
}
