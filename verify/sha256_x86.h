/* SPDX-License-Identifier: Apache-2.0 */
/* The SHA-NI block function, private to verify/sha256.c. */
#ifndef DY_SHA256_X86_H
#define DY_SHA256_X86_H

#include <stddef.h>
#include <stdint.h>

/* The 64 round constants (sha256.c). */
extern const uint32_t dy_sha256_k[64];

/* Run n 64-byte blocks starting at p through state. */
typedef void dy_sha256_blocks_fn(uint32_t state[8], const unsigned char *p, size_t n);

/* The SHA-NI block function, or NULL if the CPU (or the target) lacks it. */
dy_sha256_blocks_fn *dy_sha256_x86_blocks(void);

#endif
