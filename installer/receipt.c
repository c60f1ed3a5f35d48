/* SPDX-License-Identifier: Apache-2.0 */
/* receipt: see receipt.h */
#include "receipt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER "dockyard-receipt 1"
#define HEADER_PREFIX "dockyard-receipt "
#define MAX_FIELDS 4
#define NAME_MAX_LEN 32

/* The field types a kind takes after its keyword. */
enum field { F_PATH, F_NAME, F_NUM, F_COUNT };

struct kind {
	const char *name;
	size_t nfields;
	enum field fields[MAX_FIELDS - 1];
};

static const struct kind kinds[] = {
	{ "root", 1, { F_PATH } },
	{ "prefix", 1, { F_NAME } },
	{ "dir", 1, { F_PATH } },
	{ "file", 1, { F_PATH } },
	{ "group", 1, { F_NAME } },
	{ "user", 1, { F_NAME } },
	{ "subuid", 3, { F_NAME, F_NUM, F_COUNT } },
	{ "subgid", 3, { F_NAME, F_NUM, F_COUNT } },
	{ "apparmor", 2, { F_PATH, F_NAME } },
	{ "registry", 1, { F_PATH } },
	{ "lock", 1, { F_PATH } },
};

void
dy_receipt_init(struct dy_receipt *r)
{
	r->lines = NULL;
	r->nlines = 0;
}

void
dy_receipt_free(struct dy_receipt *r)
{
	for (size_t i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	dy_receipt_init(r);
}

static const struct kind *
find_kind(const char *word, size_t len)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].name) == len && memcmp(kinds[i].name, word, len) == 0)
			return &kinds[i];
	return NULL;
}

/* Absolute, not "/", [A-Za-z0-9._/-] only, no "." or ".." component, no
 * trailing '/': the destroy script removes these paths with unquoted shell
 * words, and compares them as strings with the paths it knows. */
static const char *
path_problem(const char *p, size_t len)
{
	if (len == 0 || p[0] != '/')
		return "must be absolute";
	if (len == 1)
		return "must not be /";
	if (p[len - 1] == '/')
		return "must not end in /";
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '/' || c == '-'))
			return "may contain only [A-Za-z0-9._/-]";
	}
	for (size_t i = 0; i < len; i++) {
		size_t n = 0;
		if (p[i] != '/')
			continue;
		while (i + 1 + n < len && p[i + 1 + n] != '/')
			n++;
		if ((n == 1 && p[i + 1] == '.') || (n == 2 && p[i + 1] == '.' && p[i + 2] == '.'))
			return "must not contain . or .. components";
		if (n == 0 && i + 1 < len)
			return "must not contain //";
	}
	return NULL;
}

static const char *
name_problem(const char *p, size_t len)
{
	if (len == 0 || len > NAME_MAX_LEN)
		return "must be 1 to 32 characters";
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return "may contain only [a-z0-9_]";
	}
	return NULL;
}

/* A decimal uint32 without sign or leading zeros. */
static const char *
num_problem(const char *p, size_t len)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return "must be a decimal number below 2^32";
	if (len > 1 && p[0] == '0')
		return "must not have leading zeros";
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return "must be a decimal number below 2^32";
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > UINT32_MAX)
		return "must be a decimal number below 2^32";
	return NULL;
}

static const char *
field_problem(enum field f, const char *p, size_t len)
{
	switch (f) {
	case F_PATH:
		return path_problem(p, len);
	case F_NAME:
		return name_problem(p, len);
	case F_NUM:
		return num_problem(p, len);
	case F_COUNT: /* a range of no ids is never written, and means nothing */
		return len == 1 && p[0] == '0' ? "must not be 0" : num_problem(p, len);
	}
	return "has an unknown type";
}

/* Check one line (len bytes, no LF); the message says what is wrong,
 * without a location, which the caller adds. */
static int
check_line(const char *line, size_t len, struct dy_err *err)
{
	const char *word[MAX_FIELDS + 1], *why;
	size_t wlen[MAX_FIELDS + 1], n = 0, i = 0;
	const struct kind *k;

	if (len == 0)
		return dy_errf(err, "empty line");
	if (len > DY_RECEIPT_MAX_LINE)
		return dy_errf(err, "line longer than %d bytes", DY_RECEIPT_MAX_LINE);
	/* Fields are separated by exactly one space: the shell splits on it. */
	while (i <= len) {
		size_t start = i;
		while (i < len && line[i] != ' ')
			i++;
		if (i == start)
			return dy_errf(err, "empty field (fields are separated by one space)");
		if (n == MAX_FIELDS + 1)
			return dy_errf(err, "too many fields");
		word[n] = line + start;
		wlen[n++] = i - start;
		i++;
	}
	k = find_kind(word[0], wlen[0]);
	if (k == NULL)
		return dy_errf(err, "unknown kind '%.*s'", (int)(wlen[0] > 40 ? 40 : wlen[0]),
			       word[0]);
	if (n - 1 != k->nfields)
		return dy_errf(err, "kind %s takes %zu field%s, not %zu", k->name, k->nfields,
			       k->nfields == 1 ? "" : "s", n - 1);
	for (i = 0; i < k->nfields; i++) {
		why = field_problem(k->fields[i], word[i + 1], wlen[i + 1]);
		if (why)
			return dy_errf(err, "%s field %zu '%.*s' %s", k->name, i + 1,
				       (int)(wlen[i + 1] > 200 ? 200 : wlen[i + 1]), word[i + 1],
				       why);
	}
	if (memchr(line, '\0', len))
		return dy_errf(err, "NUL byte");
	return 0;
}

static int
append_line(struct dy_receipt *r, const char *line, size_t len, struct dy_err *err)
{
	char **lines, *copy;

	lines = realloc(r->lines, (r->nlines + 1) * sizeof(*lines));
	if (lines == NULL)
		return dy_errf(err, "out of memory for the receipt");
	r->lines = lines;
	copy = strndup(line, len);
	if (copy == NULL)
		return dy_errf(err, "out of memory for the receipt");
	r->lines[r->nlines++] = copy;
	return 0;
}

static int
has_n(const struct dy_receipt *r, const char *line, size_t len, size_t *at)
{
	for (size_t i = 0; i < r->nlines; i++) {
		if (strlen(r->lines[i]) == len && memcmp(r->lines[i], line, len) == 0) {
			if (at)
				*at = i;
			return 1;
		}
	}
	return 0;
}

static int
check_header(const char *line, size_t len, struct dy_err *err)
{
	size_t plen = strlen(HEADER_PREFIX);

	if (len == strlen(HEADER) && memcmp(line, HEADER, len) == 0)
		return 0;
	if (len > plen && memcmp(line, HEADER_PREFIX, plen) == 0)
		return dy_errf(err,
			       "receipt line 1: unsupported receipt version '%.*s' (this "
			       "installer reads version 1)",
			       (int)(len - plen > 20 ? 20 : len - plen), line + plen);
	return dy_errf(err, "receipt line 1: expected '%s', not a dockyard receipt", HEADER);
}

static int
parse_lines(const char *text, size_t len, struct dy_receipt *r, struct dy_err *err)
{
	size_t pos = 0, lineno = 0, first;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (nl == NULL)
			return dy_errf(err, "receipt line %zu: no newline at the end (truncated?)",
				       lineno);
		if (lineno == 1) {
			if (check_header(text + pos, llen, err) < 0)
				return -1;
		} else if (check_line(text + pos, llen, err) < 0) {
			return dy_err_wrap(err, "receipt line %zu", lineno);
		} else if (has_n(r, text + pos, llen, &first)) {
			/* Header is line 1, so entry i is line i + 2. */
			return dy_errf(err, "receipt line %zu repeats line %zu", lineno, first + 2);
		} else if (append_line(r, text + pos, llen, err) < 0) {
			return -1;
		}
		pos += llen + 1;
	}
	if (lineno == 0)
		return dy_errf(err, "receipt line 1: empty receipt (expected '%s')", HEADER);
	return 0;
}

int
dy_receipt_parse(const char *text, size_t len, struct dy_receipt *r, struct dy_err *err)
{
	dy_receipt_init(r);
	if (parse_lines(text, len, r, err) < 0) {
		dy_receipt_free(r);
		return -1;
	}
	return 0;
}

int
dy_receipt_add(struct dy_receipt *r, struct dy_err *err, const char *fmt, ...)
{
	char line[DY_RECEIPT_MAX_LINE + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return dy_errnof(err, "cannot format a receipt line");
	if ((size_t)n > DY_RECEIPT_MAX_LINE)
		return dy_errf(err, "receipt line '%.60s...' is longer than %d bytes", line,
			       DY_RECEIPT_MAX_LINE);
	if (memchr(line, '\n', (size_t)n))
		return dy_errf(err, "receipt line '%s' contains a newline", line);
	if (check_line(line, (size_t)n, err) < 0)
		return dy_err_wrap(err, "refusing to add receipt line '%s'", line);
	if (has_n(r, line, (size_t)n, NULL))
		return 0;
	return append_line(r, line, (size_t)n, err);
}

int
dy_receipt_has(const struct dy_receipt *r, const char *line)
{
	return has_n(r, line, strlen(line), NULL);
}

int
dy_receipt_format(const struct dy_receipt *r, char **out, size_t *len, struct dy_err *err)
{
	size_t total = strlen(HEADER) + 1, pos;
	char *buf;

	for (size_t i = 0; i < r->nlines; i++)
		total += strlen(r->lines[i]) + 1;
	buf = malloc(total + 1);
	if (buf == NULL)
		return dy_errf(err, "out of memory formatting the receipt");
	pos = (size_t)sprintf(buf, "%s\n", HEADER);
	for (size_t i = 0; i < r->nlines; i++) {
		size_t l = strlen(r->lines[i]);
		memcpy(buf + pos, r->lines[i], l);
		pos += l;
		buf[pos++] = '\n';
	}
	buf[pos] = '\0';
	*out = buf;
	*len = pos;
	return 0;
}
