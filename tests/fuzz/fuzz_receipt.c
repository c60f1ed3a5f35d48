/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install receipt parser (installer/receipt.c).  Properties: a parsed
 * receipt formats back to exactly the input (the format has one spelling),
 * and every parsed line is one dy_receipt_add accepts.
 */
#include <string.h>

#include "../../installer/receipt.h"
#include "fuzz.h"

static void
check_add_agrees(const struct dy_receipt *r)
{
	struct dy_receipt copy;
	struct dy_err err;

	dy_receipt_init(&copy);
	for (size_t i = 0; i < r->nlines; i++)
		FUZZ_ASSERT(dy_receipt_add(&copy, &err, "%s", r->lines[i]) == 0,
			    "parsed line '%s' refused by add: %s", r->lines[i], err.msg);
	FUZZ_ASSERT(copy.nlines == r->nlines, "add dropped lines");
	dy_receipt_free(&copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dy_receipt r;
	struct dy_err err;
	char *out;
	size_t len;

	if (dy_receipt_parse((const char *)data, size, &r, &err) < 0) {
		FUZZ_ASSERT(r.nlines == 0 && r.lines == NULL, "receipt not empty after an error");
		FUZZ_ASSERT(err.msg[0] != '\0', "error without a message");
		return 0;
	}
	FUZZ_ASSERT(dy_receipt_format(&r, &out, &len, &err) == 0, "format failed: %s", err.msg);
	FUZZ_ASSERT(len == size && memcmp(out, data, size) == 0,
		    "format(parse(x)) != x (%zu vs %zu bytes)", len, size);
	free(out);
	check_add_agrees(&r);
	dy_receipt_free(&r);
	return 0;
}
