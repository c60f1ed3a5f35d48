/* SPDX-License-Identifier: Apache-2.0 */
#include "spdx.h"

#include <stdlib.h>
#include <string.h>

#define RULE                                                                                       \
	"an SPDX licence expression: identifiers of https://spdx.org/licenses/ (or "               \
	"LicenseRef-NAME), joined by AND, OR, WITH EXCEPTION and parentheses"

struct lexer {
	const char *expr, *p;
	char word[DY_SPDX_EXPR_MAX + 1];
	struct dy_err *err;
};

static int
by_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static int
listed(const char *w, const char *const *list, unsigned long n)
{
	return bsearch(w, list, n, sizeof(*list), by_name) != NULL;
}

/* Next token into lx->word: "(", ")" or a word; "" at the end. */
static void
next(struct lexer *lx)
{
	size_t n = 0;

	while (*lx->p == ' ')
		lx->p++;
	if (*lx->p == '(' || *lx->p == ')')
		lx->word[n++] = *lx->p++;
	else
		while (*lx->p && *lx->p != ' ' && *lx->p != '(' && *lx->p != ')' &&
		       n < DY_SPDX_EXPR_MAX)
			lx->word[n++] = *lx->p++;
	lx->word[n] = '\0';
}

static int
bad(struct lexer *lx, const char *what)
{
	return dy_errf(lx->err, "licence '%s': %s '%s'; it must be %s", lx->expr, what,
		       lx->word[0] ? lx->word : "(end)", RULE);
}

static int
ref_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static int
licence_id(struct lexer *lx)
{
	char id[DY_SPDX_EXPR_MAX + 1];
	size_t len = strlen(lx->word);

	memcpy(id, lx->word, len + 1);
	if (len > 1 && id[len - 1] == '+')
		id[len - 1] = '\0';
	if (strncmp(id, "LicenseRef-", 11) == 0 ? ref_name_ok(id + 11)
						: listed(id, dy_spdx_licenses, dy_spdx_nlicenses))
		return 0;
	return bad(lx, "not an SPDX licence identifier:");
}

static int expression(struct lexer *lx);

static int
term(struct lexer *lx)
{
	if (strcmp(lx->word, "(") == 0) {
		next(lx);
		if (expression(lx) < 0)
			return -1;
		if (strcmp(lx->word, ")") != 0)
			return bad(lx, "expected ')' at");
		next(lx);
		return 0;
	}
	if (lx->word[0] == '\0' || strcmp(lx->word, ")") == 0 || strcmp(lx->word, "AND") == 0 ||
	    strcmp(lx->word, "OR") == 0 || strcmp(lx->word, "WITH") == 0)
		return bad(lx, "expected a licence identifier at");
	if (licence_id(lx) < 0)
		return -1;
	next(lx);
	if (strcmp(lx->word, "WITH") != 0)
		return 0;
	next(lx);
	if (!listed(lx->word, dy_spdx_exceptions, dy_spdx_nexceptions))
		return bad(lx, "not an SPDX exception identifier:");
	next(lx);
	return 0;
}

static int
expression(struct lexer *lx)
{
	if (term(lx) < 0)
		return -1;
	while (strcmp(lx->word, "AND") == 0 || strcmp(lx->word, "OR") == 0) {
		next(lx);
		if (term(lx) < 0)
			return -1;
	}
	return 0;
}

int
dy_spdx_expr_valid(const char *expr, struct dy_err *err)
{
	struct lexer lx = { expr, expr, "", err };

	if (strlen(expr) > DY_SPDX_EXPR_MAX)
		return dy_errf(err, "licence expression is longer than %d bytes", DY_SPDX_EXPR_MAX);
	next(&lx);
	if (expression(&lx) < 0)
		return -1;
	if (lx.word[0] != '\0')
		return bad(&lx, "unexpected");
	return 0;
}
