/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal unit-test harness: CHECK records a failure with file:line and
 * goes on; each TEST prints one "ok"/"not ok" line that tests/run.sh counts.
 */
#ifndef DY_HARNESS_H
#define DY_HARNESS_H

#include <stdio.h>
#include <string.h>

static int h_failures, h_test_failed, h_count, h_failed_tests;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);        \
			h_failures++;                                                              \
			h_test_failed = 1;                                                         \
		}                                                                                  \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                            \
	do {                                                                                       \
		if (strstr((hay), (needle)) == NULL) {                                             \
			printf("#   %s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__,      \
			       (hay), (needle));                                                   \
			h_failures++;                                                              \
			h_test_failed = 1;                                                         \
		}                                                                                  \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		h_test_failed = 0;                                                                 \
		fn();                                                                              \
		h_count++;                                                                         \
		printf("%s %d - %s\n", h_test_failed ? "not ok" : "ok", h_count, #fn);             \
		h_failed_tests += h_test_failed;                                                   \
	} while (0)

#define DONE() (h_failed_tests ? 1 : 0)

#endif
