/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify/sha256.h: FIPS 180-2 vectors, streaming, cloning, hex and the
 * file helper.  Every digest in the tree goes through these functions.
 * Both block functions (SHA-NI and portable) are checked against the
 * vectors and against mbedtls over random lengths and splits.
 */
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../verify/sha256.h"
#include "harness.h"

#define EMPTY_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define MSG448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define MSG448_HEX "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define MILLION_A_HEX "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

/* mbedtls 2.x spells the one-shot digest mbedtls_sha256_ret; 3.x dropped it. */
#if MBEDTLS_VERSION_NUMBER < 0x03000000
#define reference_sha256 mbedtls_sha256_ret
#else
#define reference_sha256 mbedtls_sha256
#endif

/* Hex of a finished digest, so failures print something readable. */
static void
digest_hex(const uint8_t d[DY_SHA256_LEN], char hex[DY_SHA256_HEX])
{
	dy_hex_encode(d, DY_SHA256_LEN, hex);
}

static int
buf_hex_is(const void *data, size_t len, const char *want)
{
	uint8_t d[DY_SHA256_LEN];
	char hex[DY_SHA256_HEX];

	dy_sha256_buf(data, len, d);
	digest_hex(d, hex);
	if (strcmp(hex, want) != 0)
		printf("#   got %s\n#  want %s\n", hex, want);
	return strcmp(hex, want) == 0;
}

static void
fill_pattern(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 8) + 7);
}

static void
test_known_vectors(void)
{
	CHECK(buf_hex_is("", 0, EMPTY_HEX));
	CHECK(buf_hex_is("abc", 3, ABC_HEX));
	CHECK(buf_hex_is(MSG448, strlen(MSG448), MSG448_HEX));
}

static void
test_init_final_without_update_is_empty_digest(void)
{
	struct dy_sha256 h;
	uint8_t d[DY_SHA256_LEN];
	char hex[DY_SHA256_HEX];

	dy_sha256_init(&h);
	dy_sha256_final(&h, d);
	digest_hex(d, hex);
	CHECK(strcmp(hex, EMPTY_HEX) == 0);
}

/* The FIPS one-million-'a' vector exercises many block boundaries. */
static void
test_million_a_streamed(void)
{
	struct dy_sha256 h;
	uint8_t chunk[1000], d[DY_SHA256_LEN];
	char hex[DY_SHA256_HEX];
	int i;

	memset(chunk, 'a', sizeof(chunk));
	dy_sha256_init(&h);
	for (i = 0; i < 1000; i++)
		dy_sha256_update(&h, chunk, sizeof(chunk));
	dy_sha256_final(&h, d);
	digest_hex(d, hex);
	CHECK(strcmp(hex, MILLION_A_HEX) == 0);
}

/* Chunks that straddle the 64-byte block size in every way must not matter. */
static void
test_uneven_chunks_equal_one_shot(void)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 55, 56, 63, 64, 65, 127, 128, 129, 1000 };
	uint8_t data[5000], one[DY_SHA256_LEN], streamed[DY_SHA256_LEN];
	struct dy_sha256 h;
	size_t off = 0, k = 0, n;

	fill_pattern(data, sizeof(data));
	dy_sha256_buf(data, sizeof(data), one);

	dy_sha256_init(&h);
	while (off < sizeof(data)) {
		n = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
		if (n > sizeof(data) - off)
			n = sizeof(data) - off;
		dy_sha256_update(&h, data + off, n);
		off += n;
	}
	dy_sha256_final(&h, streamed);
	CHECK(memcmp(one, streamed, DY_SHA256_LEN) == 0);

	/* Byte at a time, too. */
	dy_sha256_init(&h);
	for (off = 0; off < sizeof(data); off++)
		dy_sha256_update(&h, data + off, 1);
	dy_sha256_final(&h, streamed);
	CHECK(memcmp(one, streamed, DY_SHA256_LEN) == 0);
}

/* A different message must give a different digest (guards a no-op update). */
static void
test_one_bit_changes_digest(void)
{
	uint8_t data[200], a[DY_SHA256_LEN], b[DY_SHA256_LEN];

	fill_pattern(data, sizeof(data));
	dy_sha256_buf(data, sizeof(data), a);
	data[199] ^= 1;
	dy_sha256_buf(data, sizeof(data), b);
	CHECK(memcmp(a, b, DY_SHA256_LEN) != 0);
}

/* One pass, two digests: the prefix digest and the whole-message digest. */
static void
test_clone_finishes_two_digests(void)
{
	struct dy_sha256 h, copy;
	uint8_t prefix[DY_SHA256_LEN], whole[DY_SHA256_LEN], want[DY_SHA256_LEN];
	char hex[DY_SHA256_HEX];

	dy_sha256_init(&h);
	dy_sha256_update(&h, "abcdbcdecdefdefgefgh", 20);
	dy_sha256_update(&h, "fghighijhijkijkljklmklmnlmnomnopnopq", 36);
	dy_sha256_clone(&copy, &h);

	/* Continue the original; the copy must not see these bytes. */
	dy_sha256_update(&h, "tail", 4);
	dy_sha256_final(&copy, prefix);
	dy_sha256_final(&h, whole);

	digest_hex(prefix, hex);
	CHECK(strcmp(hex, MSG448_HEX) == 0);
	dy_sha256_buf(MSG448 "tail", strlen(MSG448) + 4, want);
	CHECK(memcmp(whole, want, DY_SHA256_LEN) == 0);
}

/* The clone diverging must leave the original untouched as well. */
static void
test_clone_is_independent(void)
{
	struct dy_sha256 h, copy;
	uint8_t a[DY_SHA256_LEN], b[DY_SHA256_LEN];
	char hex[DY_SHA256_HEX];

	dy_sha256_init(&h);
	dy_sha256_update(&h, "ab", 2);
	dy_sha256_clone(&copy, &h);
	dy_sha256_update(&copy, "zzzzzz", 6);
	dy_sha256_update(&h, "c", 1);
	dy_sha256_final(&h, a);
	dy_sha256_final(&copy, b);
	digest_hex(a, hex);
	CHECK(strcmp(hex, ABC_HEX) == 0);
	dy_sha256_buf("abzzzzzz", 8, a);
	CHECK(memcmp(a, b, DY_SHA256_LEN) == 0);
}

static void
test_hex_encode(void)
{
	static const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	char out[2 * sizeof(in) + 1];

	memset(out, 'X', sizeof(out));
	dy_hex_encode(in, sizeof(in), out);
	CHECK(strcmp(out, "00017f80abcdefff") == 0);

	/* Zero length still terminates the string. */
	out[0] = 'X';
	dy_hex_encode(in, 0, out);
	CHECK(out[0] == '\0');
}

static void
test_hex_roundtrip(void)
{
	uint8_t in[DY_SHA256_LEN], back[DY_SHA256_LEN];
	char hex[DY_SHA256_HEX];
	int i;

	for (i = 0; i < DY_SHA256_LEN; i++)
		in[i] = (uint8_t)(i * 37 + 200);
	dy_hex_encode(in, sizeof(in), hex);
	CHECK(strlen(hex) == 64);
	memset(back, 0, sizeof(back));
	CHECK(dy_hex_decode(hex, back, sizeof(back)) == 0);
	CHECK(memcmp(in, back, sizeof(in)) == 0);

	/* Every byte value survives. */
	for (i = 0; i < 256; i++) {
		uint8_t b = (uint8_t)i, r = 0;
		char h[3];
		dy_hex_encode(&b, 1, h);
		CHECK(dy_hex_decode(h, &r, 1) == 0 && r == b);
	}
}

static int
decode_rejects(const char *in, size_t len)
{
	uint8_t out[DY_SHA256_LEN];

	return dy_hex_decode(in, out, len) == -1;
}

static void
test_hex_decode_rejects(void)
{
	char hex[DY_SHA256_HEX + 1];

	CHECK(decode_rejects("AB", 1)); /* uppercase: one spelling only */
	CHECK(decode_rejects("aB", 1));
	CHECK(decode_rejects("Ab", 1));
	CHECK(decode_rejects("a", 1)); /* short */
	CHECK(decode_rejects("", 1));
	CHECK(decode_rejects("abc", 1));  /* long */
	CHECK(decode_rejects("abab", 1)); /* long */
	CHECK(decode_rejects("g0", 1));	  /* non-hex */
	CHECK(decode_rejects("0g", 1));
	CHECK(decode_rejects(" a", 1));
	CHECK(decode_rejects("0x", 1));
	CHECK(decode_rejects("-1", 1));

	/* The same rules at digest length. */
	memset(hex, 'a', 64);
	hex[64] = '\0';
	CHECK(!decode_rejects(hex, DY_SHA256_LEN));
	hex[63] = '\0';
	CHECK(decode_rejects(hex, DY_SHA256_LEN));
	hex[63] = 'a';
	hex[64] = 'a';
	hex[65] = '\0';
	CHECK(decode_rejects(hex, DY_SHA256_LEN));
	hex[64] = '\0';
	hex[10] = 'A';
	CHECK(decode_rejects(hex, DY_SHA256_LEN));
	hex[10] = 'z';
	CHECK(decode_rejects(hex, DY_SHA256_LEN));

	/* Zero bytes means the empty string only. */
	CHECK(!decode_rejects("", 0));
	CHECK(decode_rejects("00", 0));
}

static void
test_digest_equal(void)
{
	uint8_t a[DY_SHA256_LEN], b[DY_SHA256_LEN];

	dy_sha256_buf("abc", 3, a);
	memcpy(b, a, sizeof(a));
	CHECK(dy_digest_equal(a, b, sizeof(a)));
	b[0] ^= 0x80;
	CHECK(!dy_digest_equal(a, b, sizeof(a)));
	b[0] ^= 0x80;
	b[DY_SHA256_LEN - 1] ^= 0x01;
	CHECK(!dy_digest_equal(a, b, sizeof(a)));
	/* Only the first len bytes are compared. */
	CHECK(dy_digest_equal(a, b, DY_SHA256_LEN - 1));
	CHECK(dy_digest_equal(a, b, 0));
}

static int
write_temp(const void *data, size_t len, char *path)
{
	int fd;

	strcpy(path, "/tmp/dy-test-sha256.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

static void
test_sha256_fd(void)
{
	/* Larger than the internal 64 KiB read buffer, not a multiple of it. */
	size_t len = (1 << 16) * 2 + 12345;
	uint8_t *data = malloc(len), want[DY_SHA256_LEN], got[DY_SHA256_LEN];
	unsigned long long size = 0;
	struct dy_err err = { 0 };
	char path[64];
	int fd;

	CHECK(data != NULL);
	if (data == NULL)
		return;
	fill_pattern(data, len);
	fd = write_temp(data, len, path);
	CHECK(fd >= 0);
	if (fd < 0) {
		free(data);
		return;
	}

	dy_sha256_buf(data, len, want);
	CHECK(dy_sha256_fd(fd, got, &size, &err) == 0);
	CHECK(memcmp(want, got, DY_SHA256_LEN) == 0);
	CHECK(size == len);

	/* "From its current offset": skip the first 100 bytes. */
	CHECK(lseek(fd, 100, SEEK_SET) == 100);
	dy_sha256_buf(data + 100, len - 100, want);
	CHECK(dy_sha256_fd(fd, got, &size, &err) == 0);
	CHECK(memcmp(want, got, DY_SHA256_LEN) == 0);
	CHECK(size == len - 100);

	/* At EOF: the empty digest and size 0; size may be NULL. */
	CHECK(dy_sha256_fd(fd, got, NULL, &err) == 0);
	dy_sha256_buf("", 0, want);
	CHECK(memcmp(want, got, DY_SHA256_LEN) == 0);

	close(fd);
	CHECK(unlink(path) == 0);
	free(data);
}

static void
test_sha256_fd_read_error(void)
{
	struct dy_err err = { 0 };
	uint8_t d[DY_SHA256_LEN];
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	/* read() on a directory fails with EISDIR. */
	CHECK(dy_sha256_fd(fd, d, NULL, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "read failed");
	close(fd);
}

/* ---- both block functions ---- */

/* The kernel's view of the CPU, independent of the library's cpuid check. */
static int
cpu_has_sha_ni(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "flags", 5) == 0)
			found = strstr(line, " sha_ni") != NULL &&
				strstr(line, " sse4_1") != NULL && strstr(line, " ssse3") != NULL;
	fclose(f);
	return found;
}

/* Like RUN, once per block function; the SHA-NI run is reported as skipped
 * on a CPU without the extensions rather than silently passing. */
static void
run_impl(void (*fn)(void), const char *name, int portable)
{
	const char *impl = portable ? "portable" : "sha-ni";

	h_count++;
	if (!portable && !cpu_has_sha_ni()) {
		printf("ok %d - %s (%s) # SKIP no SHA-NI\n", h_count, name, impl);
		return;
	}
	h_test_failed = 0;
	dy_sha256_force_portable(portable);
	CHECK(strcmp(dy_sha256_impl(), impl) == 0);
	fn();
	dy_sha256_force_portable(0);
	printf("%s %d - %s (%s)\n", h_test_failed ? "not ok" : "ok", h_count, name, impl);
	h_failed_tests += h_test_failed;
}

#define RUN_BOTH(fn)                                                                               \
	do {                                                                                       \
		run_impl(fn, #fn, 1);                                                              \
		run_impl(fn, #fn, 0);                                                              \
	} while (0)

/* Without the override the best block function the CPU has is used. */
static void
test_impl_follows_cpu(void)
{
	dy_sha256_force_portable(1);
	CHECK(strcmp(dy_sha256_impl(), "portable") == 0);
	dy_sha256_force_portable(0);
	CHECK(strcmp(dy_sha256_impl(), cpu_has_sha_ni() ? "sha-ni" : "portable") == 0);
}

static void
test_impl_vectors(void)
{
	test_known_vectors();
	test_init_final_without_update_is_empty_digest();
	test_million_a_streamed();
	test_clone_finishes_two_digests();
	test_clone_is_independent();
}

/* One million 'a' in one call: many whole blocks straight from the buffer. */
static void
test_impl_million_a_one_shot(void)
{
	static uint8_t a[1000000];

	memset(a, 'a', sizeof(a));
	CHECK(buf_hex_is(a, sizeof(a), MILLION_A_HEX));
}

/* xorshift32: reproducible lengths, splits and bytes. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Split sizes around the block size and the fd helper's buffer. */
static size_t
split_size(uint32_t *s)
{
	static const size_t sizes[] = { 1, 2, 31, 55, 56, 63, 64, 65, 127, 128, 129, 4096 };
	uint32_t r = rnd(s);

	if (r % 4 == 0)
		return r / 4 % 300; /* 0 included: an empty update must be harmless */
	return sizes[r / 4 % (sizeof(sizes) / sizeof(sizes[0]))];
}

static void
streamed(const uint8_t *p, size_t len, uint32_t *s, uint8_t out[DY_SHA256_LEN])
{
	struct dy_sha256 h;
	size_t off = 0, n;

	dy_sha256_init(&h);
	while (off < len) {
		n = split_size(s);
		if (n > len - off)
			n = len - off;
		dy_sha256_update(&h, p + off, n);
		off += n;
	}
	dy_sha256_final(&h, out);
}

/* Random lengths 0..10000 from unaligned starts, in random pieces. */
static void
test_impl_matches_mbedtls(void)
{
	static uint8_t data[10000 + 16];
	uint8_t want[DY_SHA256_LEN], got[DY_SHA256_LEN];
	uint32_t s = 0x9e3779b9;
	size_t i, len, start;
	int round, bad = 0;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)rnd(&s);
	for (round = 0; round < 600; round++) {
		len = round < 130 ? (size_t)round : rnd(&s) % 10001;
		start = rnd(&s) % 16;
		(void)reference_sha256(data + start, len, want, 0);
		dy_sha256_buf(data + start, len, got);
		if (memcmp(want, got, DY_SHA256_LEN) != 0 && bad++ < 3)
			printf("#   len %zu start %zu differs from mbedtls\n", len, start);
		streamed(data + start, len, &s, got);
		if (memcmp(want, got, DY_SHA256_LEN) != 0 && bad++ < 3)
			printf("#   len %zu start %zu (streamed) differs from mbedtls\n", len,
			       start);
	}
	CHECK(bad == 0);
}

/* A clone taken at any point finishes the prefix; the original the whole. */
static void
test_impl_clone_mid_stream(void)
{
	static uint8_t data[3000 + 16];
	uint8_t want[DY_SHA256_LEN], got[DY_SHA256_LEN];
	struct dy_sha256 h, copy;
	uint32_t s = 12345;
	size_t i, cut, len, start;
	int round, bad = 0;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)rnd(&s);
	for (round = 0; round < 200; round++) {
		len = rnd(&s) % 3001;
		cut = len ? rnd(&s) % (len + 1) : 0;
		start = rnd(&s) % 16;
		dy_sha256_init(&h);
		dy_sha256_update(&h, data + start, cut);
		dy_sha256_clone(&copy, &h);
		dy_sha256_update(&h, data + start + cut, len - cut);
		dy_sha256_final(&copy, got);
		(void)reference_sha256(data + start, cut, want, 0);
		bad += memcmp(want, got, DY_SHA256_LEN) != 0;
		dy_sha256_final(&h, got);
		(void)reference_sha256(data + start, len, want, 0);
		bad += memcmp(want, got, DY_SHA256_LEN) != 0;
	}
	CHECK(bad == 0);
}

int
main(void)
{
	RUN(test_known_vectors);
	RUN(test_init_final_without_update_is_empty_digest);
	RUN(test_million_a_streamed);
	RUN(test_uneven_chunks_equal_one_shot);
	RUN(test_one_bit_changes_digest);
	RUN(test_clone_finishes_two_digests);
	RUN(test_clone_is_independent);
	RUN(test_hex_encode);
	RUN(test_hex_roundtrip);
	RUN(test_hex_decode_rejects);
	RUN(test_digest_equal);
	RUN(test_sha256_fd);
	RUN(test_sha256_fd_read_error);
	RUN(test_impl_follows_cpu);
	RUN_BOTH(test_impl_vectors);
	RUN_BOTH(test_impl_million_a_one_shot);
	RUN_BOTH(test_impl_matches_mbedtls);
	RUN_BOTH(test_impl_clone_mid_stream);
	return DONE();
}
