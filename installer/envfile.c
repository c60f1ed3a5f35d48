/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockyard.env as data (see config.h).  It is read with a small KEY=VALUE
 * grammar and never handed to a shell: dockyardctl sources it later, so a
 * value that a shell would expand is refused here.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../common/xio.h"

#define ENV_MAX (64u * 1024)
#define ENV_LINE_MAX 4096

struct env_parse {
	const char *name;
	size_t lineno;
	unsigned flags;	      /* keys set before the file: they win */
	size_t first[32];     /* line each key was set on, by bit */
	struct dy_config cfg; /* committed only when the whole file parses */
};

static char *
skip_blank(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int
name_ok(const char *s)
{
	const char *p;

	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* One level of matching quotes, or a bare word; then only a comment. */
static const char *
unquote(char *v, char **out)
{
	char *end, *rest;

	if (*v == '\'' || *v == '"') {
		if ((end = strchr(v + 1, *v)) == NULL)
			return "unterminated quote";
		*out = v + 1;
	} else {
		end = v + strcspn(v, " \t");
		if (strpbrk(v, "'\"") != NULL && strpbrk(v, "'\"") < end)
			return "quote inside an unquoted value";
		*out = v;
	}
	rest = *end ? skip_blank(end + 1) : end;
	*end = '\0';
	if (*rest != '\0' && *rest != '#')
		return "text after the value (quote a value that holds spaces)";
	return NULL;
}

static int
env_assign(struct env_parse *x, const char *key, const char *value, struct dy_err *err)
{
	const struct dy_config_key *k = dy_config_key(key);
	size_t i;

	if (strncmp(key, "DOCKYARD_", 9) != 0)
		return 0; /* other variables belong to other tools */
	if (k == NULL || strcmp(k->env, key) != 0)
		return dy_errf(err, "%s:%zu: unknown key %.64s", x->name, x->lineno, key);
	i = (size_t)__builtin_ctz(k->bit);
	if (x->first[i])
		return dy_errf(err, "%s:%zu: %s is set twice (first on line %zu)", x->name,
			       x->lineno, key, x->first[i]);
	x->first[i] = x->lineno;
	if (x->flags & k->bit)
		return 0;
	if (dy_config_set(&x->cfg, key, value, err) < 0)
		return dy_err_wrap(err, "%s:%zu", x->name, x->lineno);
	return 0;
}

static int
env_line(struct env_parse *x, char *line, struct dy_err *err)
{
	char *s = skip_blank(line), *eq, *value;
	const char *why;

	if (*s == '\0' || *s == '#')
		return 0;
	if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t'))
		s = skip_blank(s + 6);
	if ((eq = strchr(s, '=')) == NULL)
		return dy_errf(err, "%s:%zu: expected KEY=VALUE, found '%.64s'", x->name, x->lineno,
			       s);
	*eq = '\0';
	if (!name_ok(s))
		return dy_errf(err, "%s:%zu: '%.64s' is not a variable name (no spaces around '=')",
			       x->name, x->lineno, s);
	if (strpbrk(eq + 1, "$`\\") != NULL)
		return dy_errf(err,
			       "%s:%zu: the value of %s contains '%c': dockyard.env is data, "
			       "nothing in it is expanded or executed",
			       x->name, x->lineno, s, *strpbrk(eq + 1, "$`\\"));
	if ((why = unquote(eq + 1, &value)) != NULL)
		return dy_errf(err, "%s:%zu: %s: %s", x->name, x->lineno, s, why);
	return env_assign(x, s, value, err);
}

int
dy_config_parse_env(const char *name, const char *text, size_t len, struct dy_config *c,
		    struct dy_err *err)
{
	struct env_parse x = { .name = name, .flags = c->set, .cfg = *c };
	char line[ENV_LINE_MAX];
	size_t start = 0, end;

	if (len > 0 && memchr(text, '\0', len) != NULL)
		return dy_errf(err, "%s: contains a NUL byte; dockyard.env is text", name);
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		end = nl ? (size_t)(nl - text) : len;
		x.lineno++;
		if (end - start >= sizeof(line))
			return dy_errf(err, "%s:%zu: line longer than %zu bytes", name, x.lineno,
				       sizeof(line) - 1);
		memcpy(line, text + start, end - start);
		line[end - start] = '\0';
		start = end + 1;
		if (strchr(line, '\r'))
			return dy_errf(err,
				       "%s:%zu: carriage return: the file has CRLF (Windows) line "
				       "endings; convert it to LF, e.g. with dos2unix",
				       name, x.lineno);
		if (env_line(&x, line, err) < 0)
			return -1;
	}
	*c = x.cfg;
	return 0;
}

int
dy_config_load_env(const char *path, struct dy_config *c, struct dy_err *err)
{
	char *buf;
	size_t len;
	int rc;

	if (dy_read_small_file(path, ENV_MAX, &buf, &len, NULL, err) < 0)
		return -1;
	rc = dy_config_parse_env(path, buf, len, c, err);
	free(buf);
	return rc;
}
