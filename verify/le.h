/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Little-endian integers of the installer's binary records (the trailer
 * and the frame index): one spelling for the writer and the reader.
 */
#ifndef DY_LE_H
#define DY_LE_H

#include <stdint.h>

/* The low n bytes of v at p, least significant first. */
static inline void
dy_put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The n-byte little-endian integer at p. */
static inline uint64_t
dy_get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#endif
