/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The payload metadata parser (verify/meta.c) on its own.  Properties: a
 * failed parse leaves the metadata empty; parsed metadata formats back to
 * exactly the input (the format is strict: one spelling per value); the
 * derived lookups (find, needed libraries) agree with the entries.
 */
#include <string.h>

#include "../../verify/meta.h"
#include "fuzz.h"

static void
check_lookups(const struct dy_meta *m)
{
	const char **libs;
	struct dy_err err;
	size_t n;

	for (size_t i = 0; i < m->nentries; i++)
		FUZZ_ASSERT(dy_meta_find(m, m->entries[i].path) == &m->entries[i], "find %s",
			    m->entries[i].path);
	FUZZ_ASSERT(dy_meta_needed_libs(m, &libs, &n, &err) == 0, "needed libs: %s", err.msg);
	for (size_t i = 1; i < n; i++)
		FUZZ_ASSERT(strcmp(libs[i - 1], libs[i]) < 0, "libs not sorted and unique");
	free(libs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dy_meta m;
	struct dy_err err;
	char *out;
	size_t len;

	if (dy_meta_parse((const char *)data, size, &m, &err) < 0) {
		FUZZ_ASSERT(m.nentries == 0 && m.entries == NULL && m.ncomponents == 0,
			    "metadata not empty after an error");
		FUZZ_ASSERT(err.msg[0] != '\0', "error without a message");
		return 0;
	}
	FUZZ_ASSERT(dy_meta_format(&m, &out, &len, &err) == 0, "format: %s", err.msg);
	FUZZ_ASSERT(len == size && memcmp(out, data, size) == 0,
		    "format(parse(x)) != x (%zu vs %zu bytes)", len, size);
	free(out);
	check_lookups(&m);
	dy_meta_free(&m);
	return 0;
}
