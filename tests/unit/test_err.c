/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/err.h: a message and its kind; only a program's main.c turns the
 * kind into an exit status.
 */
#include <errno.h>

#include "../../common/err.h"
#include "harness.h"

static void
test_kind_starts_as_fail(void)
{
	struct dy_err err = { 0 };

	CHECK(err.kind == DY_ERR_FAIL);
	CHECK(DY_ERR_FAIL == 0);
	CHECK(dy_errf(&err, "bad %s", "thing") == -1);
	CHECK(err.kind == DY_ERR_FAIL);
	CHECK(strcmp(err.msg, "bad thing") == 0);
}

static void
test_kind_set_and_kept_by_wrap(void)
{
	struct dy_err err = { 0 };

	dy_errf(&err, "--root DIR is required");
	CHECK(dy_err_kind(&err, DY_ERR_USAGE) == -1);
	CHECK(err.kind == DY_ERR_USAGE);
	CHECK(strcmp(err.msg, "--root DIR is required") == 0);
	CHECK(dy_err_wrap(&err, "while %s", "reading") == -1);
	CHECK(err.kind == DY_ERR_USAGE);
	CHECK(strcmp(err.msg, "while reading: --root DIR is required") == 0);
}

static void
test_new_message_resets_kind(void)
{
	struct dy_err err = { 0 };

	dy_errf(&err, "locked");
	dy_err_kind(&err, DY_ERR_LOCKED);
	errno = ENOENT;
	dy_errnof(&err, "cannot open %s", "x");
	CHECK(err.kind == DY_ERR_FAIL);
	CHECK_STR_CONTAINS(err.msg, "cannot open x: ");
	dy_err_kind(&err, DY_ERR_PREFLIGHT);
	dy_errf(&err, "other");
	CHECK(err.kind == DY_ERR_FAIL);
}

int
main(void)
{
	RUN(test_kind_starts_as_fail);
	RUN(test_kind_set_and_kept_by_wrap);
	RUN(test_new_message_resets_kind);
	return DONE();
}
