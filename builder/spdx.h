/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SPDX licence expressions, as a manifest's `license` key gives them:
 * identifiers from the SPDX licence list (optionally with "+"),
 * LicenseRef-NAME, "WITH" an SPDX exception, AND, OR and parentheses.
 */
#ifndef DY_SPDX_H
#define DY_SPDX_H

#include "../common/err.h"

#define DY_SPDX_EXPR_MAX 256

extern const char *const dy_spdx_licenses[];
extern const unsigned long dy_spdx_nlicenses;
extern const char *const dy_spdx_exceptions[];
extern const unsigned long dy_spdx_nexceptions;

/* 0 when expr is a valid expression; else -1 and err names the word and
 * the rule. */
int dy_spdx_expr_valid(const char *expr, struct dy_err *err);

#endif
