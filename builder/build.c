#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

struct plan {
	struct dy_component *components;
	struct dy_pack_file *files;
	char **strings; /* owned paths and labels */
	size_t nfiles, nstrings;
};

static void
plan_free(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p->files);
	free(p->components);
	memset(p, 0, sizeof(*p));
}

static const char *plan_str(struct plan *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* printf into a string the plan owns. */
static const char *
plan_str(struct plan *p, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p->strings[p->nstrings++] = s;
	return s;
}

static int
count_files(const struct dy_manifest *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->ncomponents; i++)
		n += m->components[i].nfiles;
	return (int)n;
}

static int
plan_local_files(struct plan *p, const struct dy_manifest *m, struct dy_err *err)
{
	size_t i, k, n = (size_t)count_files(m);

	p->components = calloc(m->ncomponents + 1, sizeof(*p->components));
	p->files = calloc(n + 1, sizeof(*p->files));
	p->strings = calloc(2 * n + 1, sizeof(*p->strings));
	if (p->components == NULL || p->files == NULL || p->strings == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < m->ncomponents; i++) {
		const struct dy_mcomponent *c = &m->components[i];
		snprintf(p->components[i].name, sizeof(p->components[i].name), "%s", c->name);
		snprintf(p->components[i].version, sizeof(p->components[i].version), "%s",
			 c->version);
		for (k = 0; k < c->nfiles; k++) {
			const struct dy_mfile *f = &c->files[k];
			struct dy_pack_file *pf = &p->files[p->nfiles++];
			pf->src = f->src[0] == '/' ? f->src : plan_str(p, "%s/%s", m->dir, f->src);
			pf->label = plan_str(p, "%s:%zu: source %s", m->path, f->line, f->src);
			if (pf->src == NULL || pf->label == NULL)
				return dy_errf(err, "out of memory");
			pf->dest = f->dest;
			pf->mode = f->mode;
			pf->component = i;
		}
	}
	return 0;
}

int
dy_build(const struct dy_build_opts *o, struct dy_pack_result *res, struct dy_err *err)
{
	struct dy_pack_input in;
	struct dy_manifest m;
	struct plan p;
	int rc;

	memset(&p, 0, sizeof(p));
	if (dy_manifest_load(o->manifest_path, &m, err) < 0)
		return -1;
	rc = plan_local_files(&p, &m, err);
	if (rc == 0) {
		in.components = p.components;
		in.ncomponents = m.ncomponents;
		in.files = p.files;
		in.nfiles = p.nfiles;
		rc = dy_pack(&in, &o->pack, res, err);
	}
	plan_free(&p);
	dy_manifest_free(&m);
	return rc;
}
