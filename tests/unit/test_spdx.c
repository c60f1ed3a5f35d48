/* SPDX-License-Identifier: Apache-2.0 */
/* SPDX licence expressions as a manifest's `license` key gives them. */
#include <string.h>

#include "../../builder/spdx.h"
#include "harness.h"

static void
accepts(const char *expr)
{
	struct dy_err err;

	err.msg[0] = '\0';
	if (dy_spdx_expr_valid(expr, &err) != 0)
		printf("#   refused '%s': %s\n", expr, err.msg);
	CHECK(dy_spdx_expr_valid(expr, &err) == 0);
}

static void
refuses(const char *expr, const char *why)
{
	struct dy_err err;

	err.msg[0] = '\0';
	CHECK(dy_spdx_expr_valid(expr, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, why);
	if (strlen(expr) < 100)
		CHECK_STR_CONTAINS(err.msg, expr);
}

static void
test_tables_sorted(void)
{
	unsigned long i;

	CHECK(dy_spdx_nlicenses > 400 && dy_spdx_nexceptions > 20);
	for (i = 1; i < dy_spdx_nlicenses; i++)
		CHECK(strcmp(dy_spdx_licenses[i - 1], dy_spdx_licenses[i]) < 0);
	for (i = 1; i < dy_spdx_nexceptions; i++)
		CHECK(strcmp(dy_spdx_exceptions[i - 1], dy_spdx_exceptions[i]) < 0);
}

static void
test_accepts(void)
{
	accepts("Apache-2.0");
	accepts("MIT");
	accepts("0BSD");
	accepts("GPL-2.0+");
	accepts("GPL-2.0");		 /* deprecated, still an identifier */
	accepts("zlib-acknowledgement"); /* lower case, as listed */
	accepts("MIT OR Apache-2.0");
	accepts("(MIT OR Apache-2.0) AND BSD-3-Clause");
	accepts("((MIT))");
	accepts("GPL-2.0-or-later WITH Classpath-exception-2.0");
	accepts("GPL-3.0-or-later WITH GCC-exception-3.1 OR MIT");
	accepts("LicenseRef-acme.corp-1");
	accepts("  MIT  ");
}

static void
test_refuses(void)
{
	refuses("", "expected a licence identifier at '(end)'");
	refuses("Apache 2", "not an SPDX licence identifier: 'Apache'");
	refuses("apache-2.0", "not an SPDX licence identifier"); /* case matters */
	refuses("MIT AND", "expected a licence identifier at '(end)'");
	refuses("AND MIT", "expected a licence identifier at 'AND'");
	refuses("MIT MIT", "unexpected 'MIT'");
	refuses("(MIT", "expected ')' at '(end)'");
	refuses("MIT)", "unexpected ')'");
	refuses("MIT WITH Nope", "not an SPDX exception identifier: 'Nope'");
	refuses("MIT WITH", "not an SPDX exception identifier: '(end)'");
	refuses("LicenseRef-", "not an SPDX licence identifier");
	refuses("LicenseRef-a_b", "not an SPDX licence identifier");
	refuses("+", "not an SPDX licence identifier");
	refuses("MIT or Apache-2.0", "unexpected 'or'");
}

static void
test_too_long(void)
{
	char buf[DY_SPDX_EXPR_MAX + 16];

	memset(buf, 'A', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	refuses(buf, "longer than");
}

int
main(void)
{
	RUN(test_tables_sorted);
	RUN(test_accepts);
	RUN(test_refuses);
	RUN(test_too_long);
	return DONE();
}
