/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dy-concat: test-only driver that concatenates scripts/ the way the
 * builder does (dy_scripts_concat), so tests can run dockyardctl without
 * building an installer.   dy-concat DIR OUT
 */
#include <stdio.h>

#include "../../builder/scripts.h"

int
main(int argc, char **argv)
{
	struct dy_err err;

	if (argc != 3) {
		fprintf(stderr, "usage: dy-concat DIR OUT\n");
		return 2;
	}
	if (dy_scripts_concat(argv[1], argv[2], &err) < 0) {
		fprintf(stderr, "dy-concat: %s\n", err.msg);
		return 1;
	}
	return 0;
}
