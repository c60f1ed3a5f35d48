/* SPDX-License-Identifier: Apache-2.0 */
#include "meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
dy_meta_init(struct dy_meta *m)
{
	memset(m, 0, sizeof(*m));
}

static void
free_need(struct dy_need *n)
{
	size_t i;

	for (i = 0; i < n->nlibs; i++)
		free(n->libs[i]);
	free(n->libs);
}

void
dy_meta_free(struct dy_meta *m)
{
	size_t i;

	for (i = 0; i < m->nneeds; i++)
		free_need(&m->needs[i]);
	free(m->needs);
	free(m->components);
	free(m->entries);
	dy_meta_init(m);
}

static int
grow(void **arr, size_t n, size_t elem, struct dy_err *err)
{
	void *p;

	if (n & (n - 1))
		return 0; /* capacity is the next power of two above n */
	p = realloc(*arr, (n ? n * 2 : 1) * elem);
	if (p == NULL)
		return dy_errf(err, "out of memory");
	*arr = p;
	return 0;
}

int
dy_meta_add_component(struct dy_meta *m, const char *name, const char *version, struct dy_err *err)
{
	size_t i;

	if (dy_component_name_valid(name, err) < 0 || dy_version_valid(version, err) < 0)
		return -1;
	for (i = 0; i < m->ncomponents; i++)
		if (strcmp(m->components[i].name, name) == 0)
			return dy_errf(err, "component '%s' is declared twice", name);
	if (grow((void **)&m->components, m->ncomponents, sizeof(*m->components), err) < 0)
		return -1;
	memset(&m->components[m->ncomponents], 0, sizeof(*m->components));
	snprintf(m->components[m->ncomponents].name, sizeof(m->components->name), "%s", name);
	snprintf(m->components[m->ncomponents].version, sizeof(m->components->version), "%s",
		 version);
	m->ncomponents++;
	return 0;
}

static const struct {
	const char *key;
	const char *values[3];
} known_attrs[] = {
	{ "role", { "image", NULL } },
	{ "sysbox-run-dir", { "args", "env", NULL } },
};

int
dy_meta_add_attr(struct dy_meta *m, const char *key, const char *value, struct dy_err *err)
{
	struct dy_component *c;
	size_t i, k;

	if (m->ncomponents == 0)
		return dy_errf(err, "attribute %s=%s before any component", key, value);
	c = &m->components[m->ncomponents - 1];
	for (i = 0; i < sizeof(known_attrs) / sizeof(known_attrs[0]); i++) {
		if (strcmp(known_attrs[i].key, key) != 0)
			continue;
		for (k = 0; known_attrs[i].values[k]; k++)
			if (strcmp(known_attrs[i].values[k], value) == 0)
				break;
		if (known_attrs[i].values[k] == NULL)
			return dy_errf(err, "component %s: %s=%s is not an allowed value", c->name,
				       key, value);
		if (dy_meta_attr(c, key) != NULL)
			return dy_errf(err, "component %s: attribute %s given twice", c->name, key);
		if (c->nattrs == DY_META_MAX_ATTRS)
			return dy_errf(err, "component %s: too many attributes", c->name);
		snprintf(c->attrs[c->nattrs].key, sizeof(c->attrs->key), "%s", key);
		snprintf(c->attrs[c->nattrs].value, sizeof(c->attrs->value), "%s", value);
		c->nattrs++;
		return 0;
	}
	return dy_errf(err, "component %s: unknown attribute '%.32s'", c->name, key);
}

const char *
dy_meta_attr(const struct dy_component *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->nattrs; i++)
		if (strcmp(c->attrs[i].key, key) == 0)
			return c->attrs[i].value;
	return NULL;
}

int
dy_meta_arch_valid(const char *name, struct dy_err *err)
{
	if (strcmp(name, "x86_64") == 0 || strcmp(name, "aarch64") == 0)
		return 0;
	return dy_errf(err, "architecture '%.32s' is not x86_64 or aarch64", name);
}

const char *
dy_meta_arch(const struct dy_meta *m)
{
	return m->arch[0] ? m->arch : DY_META_ARCH_FORMAT1;
}

static int
check_entry(const struct dy_meta *m, const struct dy_entry *e, struct dy_err *err)
{
	if (dy_member_path_valid(e->path, err) < 0)
		return -1;
	if (e->mode & ~0777u)
		return dy_errf(err, "%s: mode %04o has setuid, setgid or sticky bits", e->path,
			       e->mode);
	if (!e->is_dir && e->component >= m->ncomponents)
		return dy_errf(err, "%s: belongs to no declared component", e->path);
	if (!e->is_dir && e->size > DY_META_MAX_FILE_SIZE)
		return dy_errf(err, "%s: size %llu exceeds the %llu-byte limit", e->path,
			       (unsigned long long)e->size, DY_META_MAX_FILE_SIZE);
	return 0;
}

int
dy_meta_add_entry(struct dy_meta *m, const struct dy_entry *e, struct dy_err *err)
{
	if (check_entry(m, e, err) < 0)
		return -1;
	if (m->nentries >= DY_META_MAX_ENTRIES)
		return dy_errf(err, "more than %d payload entries", DY_META_MAX_ENTRIES);
	if (grow((void **)&m->entries, m->nentries, sizeof(*m->entries), err) < 0)
		return -1;
	m->entries[m->nentries++] = *e;
	return 0;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct dy_entry *)a)->path, ((const struct dy_entry *)b)->path);
}

const struct dy_entry *
dy_meta_find(const struct dy_meta *m, const char *path)
{
	struct dy_entry key;

	if (strlen(path) > DY_MEMBER_PATH_MAX || m->nentries == 0)
		return NULL;
	snprintf(key.path, sizeof(key.path), "%s", path);
	return bsearch(&key, m->entries, m->nentries, sizeof(key), cmp_entry);
}

/* Entry i's parent, if it has one, must be a listed directory. */
static int
check_parent(const struct dy_meta *m, size_t i, struct dy_err *err)
{
	char parent[DY_MEMBER_PATH_MAX + 1];
	const struct dy_entry *p;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", m->entries[i].path);
	slash = strrchr(parent, '/');
	if (slash == NULL)
		return 0;
	*slash = '\0';
	p = dy_meta_find(m, parent);
	if (p == NULL || !p->is_dir)
		return dy_errf(err, "%s: parent directory %s is not listed", m->entries[i].path,
			       parent);
	return 0;
}

static int
check_parents(const struct dy_meta *m, struct dy_err *err)
{
	size_t i;

	for (i = 0; i < m->nentries; i++)
		if (check_parent(m, i, err) < 0)
			return -1;
	return 0;
}

static int
add_missing_parents(struct dy_meta *m, struct dy_err *err)
{
	char parent[DY_MEMBER_PATH_MAX + 1];
	struct dy_entry d;
	size_t i, n = m->nentries;
	char *slash;

	for (i = 0; i < n; i++) {
		snprintf(parent, sizeof(parent), "%s", m->entries[i].path);
		while ((slash = strrchr(parent, '/')) != NULL) {
			size_t j;
			int found = 0;
			*slash = '\0';
			for (j = 0; j < m->nentries && !found; j++)
				found = strcmp(m->entries[j].path, parent) == 0;
			if (found)
				continue;
			memset(&d, 0, sizeof(d));
			snprintf(d.path, sizeof(d.path), "%s", parent);
			d.is_dir = 1;
			d.mode = 0755;
			if (dy_meta_add_entry(m, &d, err) < 0)
				return -1;
		}
	}
	return 0;
}

int
dy_meta_finish(struct dy_meta *m, struct dy_err *err)
{
	size_t i;

	if (add_missing_parents(m, err) < 0)
		return -1;
	qsort(m->entries, m->nentries, sizeof(*m->entries), cmp_entry);
	for (i = 1; i < m->nentries; i++)
		if (strcmp(m->entries[i - 1].path, m->entries[i].path) == 0)
			return dy_errf(err, "two payload entries have the path %s",
				       m->entries[i].path);
	return check_parents(m, err);
}

/* ---- needs: the host libraries a packed file needs ---- */

static int
soname_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '+' || c == '-';
}

/* One soname, or one component of an interpreter path: s up to end. */
static int
soname_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (i = 0; i < len; i++)
		if (!soname_char(s[i]))
			return 0;
	return 1;
}

static int
abs_path_valid(const char *s)
{
	const char *p = s, *slash;

	while (*p == '/') {
		p++;
		slash = strchr(p, '/');
		if (!soname_valid(p, slash ? (size_t)(slash - p) : strlen(p)))
			return 0;
		if (slash == NULL)
			return 1;
		p = slash;
	}
	return 0;
}

int
dy_meta_lib_valid(const char *lib, struct dy_err *err)
{
	size_t len = strlen(lib);

	if (len > DY_META_LIB_MAX)
		return dy_errf(err, "library name '%.32s...' is longer than %d bytes", lib,
			       DY_META_LIB_MAX);
	if (lib[0] == '/' ? abs_path_valid(lib) : soname_valid(lib, len))
		return 0;
	return dy_errf(err,
		       "library '%.64s' is neither a soname ([A-Za-z0-9._+-]+) nor an absolute "
		       "path made of such names",
		       lib);
}

static int
check_need_libs(const char *path, const char *const *libs, size_t nlibs, struct dy_err *err)
{
	size_t i, k;

	if (nlibs == 0 || nlibs > DY_META_MAX_NEED_LIBS)
		return dy_errf(err, "%s: needs %zu libraries, not 1..%d", path, nlibs,
			       DY_META_MAX_NEED_LIBS);
	for (i = 0; i < nlibs; i++) {
		if (dy_meta_lib_valid(libs[i], err) < 0)
			return dy_err_wrap(err, "%s", path);
		for (k = 0; k < i; k++)
			if (strcmp(libs[k], libs[i]) == 0)
				return dy_errf(err, "%s: needs %s twice", path, libs[i]);
	}
	return 0;
}

/* Where a need for entry idx belongs in the sorted array; -1 if taken. */
static int
need_slot(const struct dy_meta *m, size_t idx, size_t *slot)
{
	size_t i;

	for (i = 0; i < m->nneeds && m->needs[i].entry <= idx; i++)
		if (m->needs[i].entry == idx)
			return -1;
	*slot = i;
	return 0;
}

static int
copy_libs(struct dy_need *n, const char *const *libs, size_t nlibs, struct dy_err *err)
{
	n->libs = calloc(nlibs, sizeof(*n->libs));
	if (n->libs == NULL)
		return dy_errf(err, "out of memory");
	for (n->nlibs = 0; n->nlibs < nlibs; n->nlibs++) {
		n->libs[n->nlibs] = strdup(libs[n->nlibs]);
		if (n->libs[n->nlibs] == NULL) {
			free_need(n);
			return dy_errf(err, "out of memory");
		}
	}
	return 0;
}

int
dy_meta_add_need(struct dy_meta *m, const char *path, const char *const *libs, size_t nlibs,
		 struct dy_err *err)
{
	const struct dy_entry *e = dy_meta_find(m, path);
	struct dy_need n;
	size_t slot;

	if (e == NULL)
		return dy_errf(err, "needs %.*s: no such payload entry", DY_MEMBER_PATH_MAX, path);
	if (e->is_dir)
		return dy_errf(err, "needs %s: a directory needs no libraries", path);
	if (check_need_libs(path, libs, nlibs, err) < 0)
		return -1;
	memset(&n, 0, sizeof(n));
	n.entry = (size_t)(e - m->entries);
	if (need_slot(m, n.entry, &slot) < 0)
		return dy_errf(err, "needs %s: listed twice", path);
	if (grow((void **)&m->needs, m->nneeds, sizeof(*m->needs), err) < 0 ||
	    copy_libs(&n, libs, nlibs, err) < 0)
		return -1;
	memmove(&m->needs[slot + 1], &m->needs[slot], (m->nneeds - slot) * sizeof(*m->needs));
	m->needs[slot] = n;
	m->nneeds++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
dy_meta_needed_libs(const struct dy_meta *m, const char ***libs, size_t *n, struct dy_err *err)
{
	const char **all;
	size_t total = 0, i, k, out = 0;

	*libs = NULL;
	*n = 0;
	for (i = 0; i < m->nneeds; i++)
		total += m->needs[i].nlibs;
	if (total == 0)
		return 0;
	all = malloc(total * sizeof(*all));
	if (all == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0, total = 0; i < m->nneeds; i++)
		for (k = 0; k < m->needs[i].nlibs; k++)
			all[total++] = m->needs[i].libs[k];
	qsort(all, total, sizeof(*all), cmp_str);
	for (i = 0; i < total; i++)
		if (out == 0 || strcmp(all[out - 1], all[i]) != 0)
			all[out++] = all[i];
	*libs = all;
	*n = out;
	return 0;
}

uint64_t
dy_meta_total_size(const struct dy_meta *m)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < m->nentries; i++)
		total += m->entries[i].size;
	return total;
}

int
dy_meta_format(const struct dy_meta *m, char **out, size_t *len, struct dy_err *err)
{
	char hex[DY_SHA256_HEX];
	char *buf = NULL;
	size_t size = 0, i;
	FILE *f;

	f = open_memstream(&buf, &size);
	if (f == NULL)
		return dy_errnof(err, "cannot format metadata");
	/* Without an architecture this is format 1, which has no arch line. */
	fprintf(f, "dockyard-payload %d\nbuilt %llu\n", m->arch[0] ? DY_META_FORMAT : 1,
		(unsigned long long)m->built);
	if (m->arch[0])
		fprintf(f, "arch %s\n", m->arch);
	for (i = 0; i < m->ncomponents; i++) {
		const struct dy_component *c = &m->components[i];
		size_t k;
		fprintf(f, "component %s %s", c->name, c->version);
		for (k = 0; k < c->nattrs; k++)
			fprintf(f, " %s=%s", c->attrs[k].key, c->attrs[k].value);
		fputc('\n', f);
	}
	for (i = 0; i < m->nentries; i++) {
		const struct dy_entry *e = &m->entries[i];
		if (e->is_dir) {
			fprintf(f, "dir %04o %s\n", e->mode, e->path);
			continue;
		}
		dy_hex_encode(e->sha256, DY_SHA256_LEN, hex);
		fprintf(f, "file %s %04o %llu %s %s\n", m->components[e->component].name, e->mode,
			(unsigned long long)e->size, hex, e->path);
	}
	for (i = 0; i < m->nneeds; i++) {
		const struct dy_need *n = &m->needs[i];
		size_t k;
		fprintf(f, "needs %s", m->entries[n->entry].path);
		for (k = 0; k < n->nlibs; k++)
			fprintf(f, " %s", n->libs[k]);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return dy_errnof(err, "cannot format metadata");
	}
	if (size > DY_META_MAX) {
		free(buf);
		return dy_errf(err, "metadata is %zu bytes, over the %u-byte limit", size,
			       DY_META_MAX);
	}
	*out = buf;
	*len = size;
	return 0;
}

/* ---- parsing ---- */

#define MAX_FIELDS 7
#define MAX_NEEDS_FIELDS (2 + DY_META_MAX_NEED_LIBS)

struct line {
	char *field[MAX_NEEDS_FIELDS];
	int nfields;
	size_t lineno;
};

/* Split on single spaces; empty fields (double spaces, edges) are errors. */
static int
split(char *s, struct line *l, struct dy_err *err)
{
	char *p = s;
	int max = MAX_FIELDS;

	l->nfields = 0;
	for (;;) {
		char *sp = strchr(p, ' ');
		if (l->nfields == max)
			return dy_errf(err, "metadata line %zu: too many fields", l->lineno);
		if (sp == p || *p == '\0')
			return dy_errf(err, "metadata line %zu: empty field", l->lineno);
		l->field[l->nfields++] = p;
		if (sp == NULL)
			return 0;
		*sp = '\0';
		p = sp + 1;
		/* Only a needs line lists many things: one per library. */
		if (l->nfields == 1 && strcmp(l->field[0], "needs") == 0)
			max = MAX_NEEDS_FIELDS;
	}
}

static int
parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	/* Digits only: strtoull would also skip leading white space (a tab,
	 * \v, \f) and take a sign, giving one number several spellings. */
	if (*s == '\0' || strspn(s, base == 8 ? "01234567" : "0123456789") != strlen(s))
		return -1;
	if (base == 10 && s[0] == '0' && s[1] != '\0')
		return -1; /* one spelling per number: no leading zeros */
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
find_component(const struct dy_meta *m, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < m->ncomponents; i++)
		if (strcmp(m->components[i].name, name) == 0) {
			*idx = i;
			return 0;
		}
	return -1;
}

static int
parse_entry(struct dy_meta *m, struct line *l, struct dy_err *err)
{
	const char *kind = l->field[0];
	struct dy_entry e;
	uint64_t v;
	int is_dir = strcmp(kind, "dir") == 0;

	memset(&e, 0, sizeof(e));
	e.is_dir = is_dir;
	if (l->nfields != (is_dir ? 3 : 6))
		return dy_errf(err, "metadata line %zu: '%s' takes %d fields", l->lineno, kind,
			       is_dir ? 2 : 5);
	if (strlen(l->field[is_dir ? 1 : 2]) != 4 ||
	    parse_u64(l->field[is_dir ? 1 : 2], 8, 0777, &v) < 0)
		return dy_errf(err, "metadata line %zu: mode must be 4 octal digits <= 0777",
			       l->lineno);
	e.mode = (unsigned)v;
	if (strlen(l->field[l->nfields - 1]) > DY_MEMBER_PATH_MAX)
		return dy_errf(err, "metadata line %zu: path longer than %d bytes", l->lineno,
			       DY_MEMBER_PATH_MAX);
	snprintf(e.path, sizeof(e.path), "%s", l->field[l->nfields - 1]);
	if (!is_dir) {
		if (find_component(m, l->field[1], &e.component) < 0)
			return dy_errf(err, "metadata line %zu: unknown component '%s'", l->lineno,
				       l->field[1]);
		if (parse_u64(l->field[3], 10, DY_META_MAX_FILE_SIZE, &e.size) < 0)
			return dy_errf(err, "metadata line %zu: bad size '%s'", l->lineno,
				       l->field[3]);
		if (dy_hex_decode(l->field[4], e.sha256, DY_SHA256_LEN) < 0)
			return dy_errf(err,
				       "metadata line %zu: sha256 must be 64 lowercase hex digits",
				       l->lineno);
	}
	if (m->nentries > 0 && strcmp(m->entries[m->nentries - 1].path, e.path) >= 0)
		return dy_errf(err, "metadata line %zu: %s is out of order or a duplicate",
			       l->lineno, e.path);
	/* Entries arrive sorted, so a parent is already listed (and findable)
	 * when its child is read: check it now, while the line is known. */
	if (dy_meta_add_entry(m, &e, err) < 0 || check_parent(m, m->nentries - 1, err) < 0)
		return dy_err_wrap(err, "metadata line %zu", l->lineno);
	return 0;
}

static int
parse_attrs(struct dy_meta *m, struct line *l, struct dy_err *err)
{
	int i;

	for (i = 3; i < l->nfields; i++) {
		char *eq = strchr(l->field[i], '=');
		if (eq == NULL)
			return dy_errf(err, "metadata line %zu: attribute '%.32s' is not key=value",
				       l->lineno, l->field[i]);
		*eq = '\0';
		if (dy_meta_add_attr(m, l->field[i], eq + 1, err) < 0)
			return dy_err_wrap(err, "metadata line %zu", l->lineno);
	}
	return 0;
}

static int
parse_need(struct dy_meta *m, struct line *l, struct dy_err *err)
{
	const struct dy_entry *e;
	const char *path = l->field[1];

	if (l->nfields < 3)
		return dy_errf(err, "metadata line %zu: 'needs' takes a path and 1..%d libraries",
			       l->lineno, DY_META_MAX_NEED_LIBS);
	e = dy_meta_find(m, path);
	if (e == NULL || e->is_dir)
		return dy_errf(err, "metadata line %zu: needs %.*s: not a file entry listed above",
			       l->lineno, DY_MEMBER_PATH_MAX, path);
	if (m->nneeds > 0 && m->needs[m->nneeds - 1].entry >= (size_t)(e - m->entries))
		return dy_errf(err, "metadata line %zu: needs %s is out of order or a duplicate",
			       l->lineno, path);
	if (dy_meta_add_need(m, path, (const char *const *)&l->field[2], (size_t)l->nfields - 2,
			     err) < 0)
		return dy_err_wrap(err, "metadata line %zu", l->lineno);
	return 0;
}

/* Line 1, "dockyard-payload 1" or "2": the format decides whether an arch
 * line follows "built". */
static int
parse_header(struct line *l, int *stage, struct dy_err *err)
{
	if (l->nfields != 2 || strcmp(l->field[0], "dockyard-payload") != 0)
		return dy_errf(err, "metadata line 1: expected 'dockyard-payload %d'",
			       DY_META_FORMAT);
	if (strcmp(l->field[1], "1") != 0 && strcmp(l->field[1], "2") != 0)
		return dy_errf(err,
			       "metadata line 1: format %.16s is not supported (this reads 1 "
			       "and %d)",
			       l->field[1], DY_META_FORMAT);
	*stage = strcmp(l->field[1], "2") == 0 ? 6 : 1;
	return 0;
}

/* Line 3 of format 2: "arch x86_64" or "arch aarch64". */
static int
parse_arch(struct dy_meta *m, struct line *l, struct dy_err *err)
{
	if (l->nfields != 2 || strcmp(l->field[0], "arch") != 0)
		return dy_errf(err, "metadata line 3: expected 'arch x86_64' or 'arch aarch64' "
				    "(format 2)");
	if (dy_meta_arch_valid(l->field[1], err) < 0)
		return dy_err_wrap(err, "metadata line 3");
	snprintf(m->arch, sizeof(m->arch), "%s", l->field[1]);
	return 0;
}

/* Stages: 0 header, 1 built (format 1), 6 built (format 2), 5 arch,
 * 2 components, 3 entries, 4 needs. */
static int
parse_line(struct dy_meta *m, struct line *l, int *stage, struct dy_err *err)
{
	const char *kind = l->field[0];
	uint64_t v;

	if (*stage == 0)
		return parse_header(l, stage, err);
	if (*stage == 1 || *stage == 6) {
		if (l->nfields != 2 || strcmp(kind, "built") != 0 ||
		    parse_u64(l->field[1], 10, UINT64_MAX, &v) < 0)
			return dy_errf(err, "metadata line 2: expected 'built <epoch seconds>'");
		m->built = v;
		*stage = *stage == 6 ? 5 : 2;
		return 0;
	}
	if (*stage == 5) {
		*stage = 2;
		return parse_arch(m, l, err);
	}
	if (strcmp(kind, "component") == 0) {
		if (*stage != 2)
			return dy_errf(err, "metadata line %zu: components must precede entries",
				       l->lineno);
		if (l->nfields < 3)
			return dy_errf(err,
				       "metadata line %zu: 'component' takes a name, a "
				       "version and key=value attributes",
				       l->lineno);
		if (dy_meta_add_component(m, l->field[1], l->field[2], err) < 0)
			return dy_err_wrap(err, "metadata line %zu", l->lineno);
		return parse_attrs(m, l, err);
	}
	if (strcmp(kind, "dir") == 0 || strcmp(kind, "file") == 0) {
		if (*stage == 4)
			return dy_errf(err, "metadata line %zu: entries must precede needs lines",
				       l->lineno);
		*stage = 3;
		return parse_entry(m, l, err);
	}
	if (strcmp(kind, "needs") == 0) {
		if (*stage < 3)
			return dy_errf(err,
				       "metadata line %zu: needs lines must follow the entries",
				       l->lineno);
		*stage = 4;
		return parse_need(m, l, err);
	}
	return dy_errf(err, "metadata line %zu: unknown record '%.32s'", l->lineno, kind);
}

int
dy_meta_parse(const char *buf, size_t len, struct dy_meta *m, struct dy_err *err)
{
	struct line l;
	char *copy, *p, *nl;
	int stage = 0, rc = 0;

	dy_meta_init(m);
	if (len == 0 || len > DY_META_MAX)
		return dy_errf(err, "metadata size %zu outside 1..%u", len, DY_META_MAX);
	if (memchr(buf, '\0', len) != NULL)
		return dy_errf(err, "metadata contains a NUL byte");
	if (buf[len - 1] != '\n')
		return dy_errf(err, "metadata does not end with a newline");
	copy = malloc(len + 1);
	if (copy == NULL)
		return dy_errf(err, "out of memory");
	memcpy(copy, buf, len);
	copy[len] = '\0';
	memset(&l, 0, sizeof(l));
	for (p = copy; rc == 0 && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		*nl = '\0';
		l.lineno++;
		if (strchr(p, '\r') != NULL) {
			rc = dy_errf(err, "metadata line %zu: carriage return (CRLF line ending?)",
				     l.lineno);
			break;
		}
		rc = split(p, &l, err);
		if (rc == 0)
			rc = parse_line(m, &l, &stage, err);
	}
	free(copy);
	if (rc == 0 && (stage < 3 || stage > 4))
		rc = dy_errf(err, "metadata lists no payload entries");
	if (rc < 0)
		dy_meta_free(m);
	return rc;
}
