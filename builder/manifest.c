#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xio.h"

struct parser {
	struct dy_manifest *m;
	const char *name;
	size_t line;
	struct dy_err *err;
};

void
dy_manifest_free(struct dy_manifest *m)
{
	size_t i, j;

	for (i = 0; i < m->ncomponents; i++) {
		for (j = 0; j < m->components[i].nfiles; j++)
			free(m->components[i].files[j].src);
		free(m->components[i].files);
	}
	free(m->components);
	free(m->path);
	free(m->dir);
	memset(m, 0, sizeof(*m));
}

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
perr(struct parser *p, const char *fmt, ...)
{
	char what[DY_ERR_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return dy_errf(p->err, "%s:%zu: %s", p->name, p->line, what);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static struct dy_mcomponent *
current(struct parser *p)
{
	return p->m->ncomponents ? &p->m->components[p->m->ncomponents - 1] : NULL;
}

static int
section(struct parser *p, char *s)
{
	struct dy_mcomponent *c;
	struct dy_err sub;
	size_t len = strlen(s), i;
	char *name;

	if (len < 2 || s[len - 1] != ']')
		return perr(p, "section header must look like [component NAME]");
	s[len - 1] = '\0';
	if (strncmp(s + 1, "component ", 10) != 0)
		return perr(p, "unknown section [%s]; only [component NAME] is defined", s + 1);
	name = trim(s + 11);
	if (dy_component_name_valid(name, &sub) < 0)
		return perr(p, "%s", sub.msg);
	for (i = 0; i < p->m->ncomponents; i++)
		if (strcmp(p->m->components[i].name, name) == 0)
			return dy_errf(p->err,
				       "%s:%zu: component '%s' is already declared at line %zu",
				       p->name, p->line, name, p->m->components[i].line);
	c = realloc(p->m->components, (p->m->ncomponents + 1) * sizeof(*c));
	if (c == NULL)
		return dy_errf(p->err, "out of memory");
	p->m->components = c;
	c = &c[p->m->ncomponents++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->line = p->line;
	return 0;
}

static int
parse_mode(const char *s, unsigned *mode)
{
	size_t len = strlen(s), i;
	unsigned v = 0;

	if (len < 3 || len > 4)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7')
			return -1;
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	if (v > 0777)
		return -1;
	*mode = v;
	return 0;
}

static int
dest_taken(const struct dy_manifest *m, const char *dest, size_t *line)
{
	size_t i, j;

	for (i = 0; i < m->ncomponents; i++)
		for (j = 0; j < m->components[i].nfiles; j++)
			if (strcmp(m->components[i].files[j].dest, dest) == 0) {
				*line = m->components[i].files[j].line;
				return 1;
			}
	return 0;
}

/* file SRC -> DEST MODE */
static int
file_line(struct parser *p, struct dy_mcomponent *c, char *rest)
{
	char *src, *arrow, *dest, *mode, *extra, *save = NULL;
	struct dy_mfile *f;
	struct dy_err sub;
	size_t other;
	unsigned m;

	src = strtok_r(rest, " \t", &save);
	arrow = strtok_r(NULL, " \t", &save);
	dest = strtok_r(NULL, " \t", &save);
	mode = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (!src || !arrow || strcmp(arrow, "->") != 0 || !dest || !mode || extra)
		return perr(p, "expected 'file SRC -> DEST MODE'");
	if (dy_member_path_valid(dest, &sub) < 0)
		return perr(p, "destination: %s", sub.msg);
	if (parse_mode(mode, &m) < 0)
		return perr(p, "mode '%s' must be 3 or 4 octal digits, at most 0777", mode);
	if (dest_taken(p->m, dest, &other))
		return dy_errf(p->err, "%s:%zu: destination %s is already used at line %zu",
			       p->name, p->line, dest, other);
	f = realloc(c->files, (c->nfiles + 1) * sizeof(*f));
	if (f == NULL)
		return dy_errf(p->err, "out of memory");
	c->files = f;
	f = &f[c->nfiles];
	memset(f, 0, sizeof(*f));
	f->src = strdup(src);
	if (f->src == NULL)
		return dy_errf(p->err, "out of memory");
	snprintf(f->dest, sizeof(f->dest), "%s", dest);
	f->mode = m;
	f->line = p->line;
	c->nfiles++;
	return 0;
}

static int
key_value(struct parser *p, struct dy_mcomponent *c, char *s, char *eq)
{
	char *key, *value;
	struct dy_err sub;

	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (strcmp(key, "version") != 0)
		return perr(p, "unknown key '%s' (known: version)", key);
	if (c->version[0] != '\0')
		return perr(p, "version is set twice in component %s", c->name);
	if (dy_version_valid(value, &sub) < 0)
		return perr(p, "%s", sub.msg);
	snprintf(c->version, sizeof(c->version), "%s", value);
	return 0;
}

static int
parse_line(struct parser *p, char *s)
{
	struct dy_mcomponent *c;
	char *eq;

	s = trim(s);
	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[')
		return section(p, s);
	c = current(p);
	if (c == NULL)
		return perr(p, "'%.40s' appears before any [component NAME] section", s);
	if (strncmp(s, "file", 4) == 0 && (s[4] == ' ' || s[4] == '\t'))
		return file_line(p, c, s + 5);
	eq = strchr(s, '=');
	if (eq == NULL)
		return perr(p, "expected 'key = value' or 'file SRC -> DEST MODE', got '%.40s'", s);
	return key_value(p, c, s, eq);
}

static int
finish(struct parser *p)
{
	size_t i;

	if (p->m->ncomponents == 0)
		return dy_errf(p->err, "%s: declares no [component NAME] section", p->name);
	for (i = 0; i < p->m->ncomponents; i++) {
		const struct dy_mcomponent *c = &p->m->components[i];
		if (c->version[0] == '\0')
			return dy_errf(p->err, "%s:%zu: component %s has no 'version = ...'",
				       p->name, c->line, c->name);
		if (c->nfiles == 0)
			return dy_errf(p->err, "%s:%zu: component %s lists no 'file' lines",
				       p->name, c->line, c->name);
	}
	return 0;
}

int
dy_manifest_parse(const char *name, const char *dir, const char *buf, size_t len,
		  struct dy_manifest *m, struct dy_err *err)
{
	struct parser p = { m, name, 0, err };
	char line[DY_MANIFEST_LINE_MAX + 1];
	size_t start = 0, end;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	m->path = strdup(name);
	m->dir = strdup(dir);
	if (m->path == NULL || m->dir == NULL)
		rc = dy_errf(err, "out of memory");
	if (rc == 0 && memchr(buf, '\0', len) != NULL)
		rc = dy_errf(err, "%s: contains a NUL byte; manifests are text", name);
	while (rc == 0 && start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		end = nl ? (size_t)(nl - buf) : len;
		p.line++;
		if (end - start > DY_MANIFEST_LINE_MAX) {
			rc = dy_errf(err, "%s:%zu: line longer than %d bytes", name, p.line,
				     DY_MANIFEST_LINE_MAX);
			break;
		}
		memcpy(line, buf + start, end - start);
		line[end - start] = '\0';
		if (end > start && line[end - start - 1] == '\r') {
			rc = dy_errf(err, "%s:%zu: CRLF line ending; use LF", name, p.line);
			break;
		}
		rc = parse_line(&p, line);
		start = end + 1;
	}
	if (rc == 0)
		rc = finish(&p);
	if (rc < 0)
		dy_manifest_free(m);
	return rc;
}

int
dy_manifest_load(const char *path, struct dy_manifest *m, struct dy_err *err)
{
	char *buf, *copy;
	struct stat st;
	int fd, rc;

	memset(m, 0, sizeof(*m));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dy_errnof(err, "cannot open manifest %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DY_MANIFEST_MAX) {
		close(fd);
		return dy_errf(err, "manifest %s is not a regular file of at most %u bytes", path,
			       DY_MANIFEST_MAX);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return dy_errf(err, "out of memory");
	}
	if (dy_read_full(fd, buf, (size_t)st.st_size) < 0) {
		dy_errnof(err, "cannot read manifest %s", path);
		free(buf);
		close(fd);
		return -1;
	}
	close(fd);
	copy = strdup(path);
	if (copy == NULL) {
		free(buf);
		return dy_errf(err, "out of memory");
	}
	rc = dy_manifest_parse(path, dirname(copy), buf, (size_t)st.st_size, m, err);
	free(copy);
	free(buf);
	return rc;
}
