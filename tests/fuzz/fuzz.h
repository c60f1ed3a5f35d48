/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared bits of the libFuzzer harnesses (tests/fuzz/fuzz_*.c).  A broken
 * property aborts: libFuzzer records the input as a crash, like a
 * sanitizer report.
 */
#ifndef DY_FUZZ_H
#define DY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property broken: %s: ", __FILE__, __LINE__,        \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
