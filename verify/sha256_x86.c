/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SHA-256 block function on the x86 SHA extensions (SHA-NI).  Chosen at run
 * time with cpuid rather than ifunc, which a -static binary cannot rely on.
 * Elsewhere this file only reports that it has nothing to offer.
 */
#include "sha256_x86.h"

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <immintrin.h>

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* Four rounds: the instruction does two, taking its two words from the low
 * half of the operand. */
SHA_TARGET static inline void
rounds4(__m128i *abef, __m128i *cdgh, __m128i w, int i)
{
	__m128i wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&dy_sha256_k[i]));

	*cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
	*abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0e));
}

/* The next four schedule words from the previous sixteen (w0 oldest):
 * W[t-16] + s0(W[t-15]) + W[t-7], then + s1(W[t-2]). */
SHA_TARGET static inline __m128i
schedule(__m128i w0, __m128i w1, __m128i w2, __m128i w3)
{
	__m128i t = _mm_sha256msg1_epu32(w0, w1);

	t = _mm_add_epi32(t, _mm_alignr_epi8(w3, w2, 4));
	return _mm_sha256msg2_epu32(t, w3);
}

/* The message is big-endian; swap each 32-bit word. */
SHA_TARGET static inline __m128i
load_be(const unsigned char *p)
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);

	return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), swap);
}

SHA_TARGET static void
blocks_shani(uint32_t state[8], const unsigned char *p, size_t n)
{
	__m128i abef, cdgh, tmp, save_abef, save_cdgh, w0, w1, w2, w3;
	int i;

	/* state is A..H in order; the instructions want ABEF and CDGH. */
	tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xb1);
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1b);
	abef = _mm_alignr_epi8(tmp, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, tmp, 0xf0);

	for (; n > 0; n--, p += 64) {
		save_abef = abef;
		save_cdgh = cdgh;
		w0 = load_be(p);
		w1 = load_be(p + 16);
		w2 = load_be(p + 32);
		w3 = load_be(p + 48);
		rounds4(&abef, &cdgh, w0, 0);
		rounds4(&abef, &cdgh, w1, 4);
		rounds4(&abef, &cdgh, w2, 8);
		rounds4(&abef, &cdgh, w3, 12);
		for (i = 16; i < 64; i += 16) {
			w0 = schedule(w0, w1, w2, w3);
			rounds4(&abef, &cdgh, w0, i);
			w1 = schedule(w1, w2, w3, w0);
			rounds4(&abef, &cdgh, w1, i + 4);
			w2 = schedule(w2, w3, w0, w1);
			rounds4(&abef, &cdgh, w2, i + 8);
			w3 = schedule(w3, w0, w1, w2);
			rounds4(&abef, &cdgh, w3, i + 12);
		}
		abef = _mm_add_epi32(abef, save_abef);
		cdgh = _mm_add_epi32(cdgh, save_cdgh);
	}

	/* Back from ABEF/CDGH to A..H. */
	tmp = _mm_shuffle_epi32(abef, 0x1b);
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1);
	_mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, cdgh, 0xf0));
	_mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(cdgh, tmp, 8));
}

static int
cpu_has_sha_ni(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid_count(1, 0, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & bit_SHA) != 0;
}

dy_sha256_blocks_fn *
dy_sha256_x86_blocks(void)
{
	return cpu_has_sha_ni() ? blocks_shani : NULL;
}

#else

dy_sha256_blocks_fn *
dy_sha256_x86_blocks(void)
{
	return NULL;
}

#endif
