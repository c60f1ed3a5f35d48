/* SPDX-License-Identifier: Apache-2.0 */
#include "list.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* "needs host libraries: A B (dynamically linked: bin/x bin/y)", or
 * nothing when every file is static. */
static void
print_needs(FILE *out, const struct dy_meta *m)
{
	struct dy_err err;
	const char **libs;
	size_t n, i;

	if (m->nneeds == 0 || dy_meta_needed_libs(m, &libs, &n, &err) < 0)
		return;
	fputs("needs host libraries:", out);
	for (i = 0; i < n; i++)
		fprintf(out, " %s", libs[i]);
	fputs(" (dynamically linked:", out);
	for (i = 0; i < m->nneeds; i++)
		fprintf(out, " %s", m->entries[m->needs[i].entry].path);
	fputs(")\n", out);
	free(libs);
}

static int
width(const char *s, int w)
{
	int len = (int)strlen(s);

	return len > w ? len : w;
}

void
dy_list_text(FILE *out, const struct dy_meta *m)
{
	char hex[DY_SHA256_HEX];
	int wn = 9, wv = 7;
	size_t i;

	for (i = 0; i < m->ncomponents; i++) {
		wn = width(m->components[i].name, wn);
		wv = width(m->components[i].version, wv);
	}
	fprintf(out, "%-*s  %-*s  %12s  %-64s  %s\n", wn, "COMPONENT", wv, "VERSION", "SIZE",
		"SHA256", "PATH");
	for (i = 0; i < m->nentries; i++) {
		const struct dy_entry *e = &m->entries[i];
		const struct dy_component *c = &m->components[e->component];
		if (e->is_dir)
			continue;
		dy_hex_encode(e->sha256, DY_SHA256_LEN, hex);
		fprintf(out, "%-*s  %-*s  %12llu  %s  %s\n", wn, c->name, wv, c->version,
			(unsigned long long)e->size, hex, e->path);
	}
	print_needs(out, m);
}

static json_t *
strings_json(const char *const *s, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(s[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static const struct dy_need *
need_of(const struct dy_meta *m, const struct dy_entry *e)
{
	size_t i, idx = (size_t)(e - m->entries);

	for (i = 0; i < m->nneeds; i++)
		if (m->needs[i].entry == idx)
			return &m->needs[i];
	return NULL;
}

/* A file object; dynamically linked files also say what they need. */
static json_t *
entry_json(const struct dy_meta *m, const struct dy_entry *e)
{
	const struct dy_component *c = &m->components[e->component];
	const struct dy_need *n = need_of(m, e);
	char hex[DY_SHA256_HEX], mode[8];
	json_t *o;

	dy_hex_encode(e->sha256, DY_SHA256_LEN, hex);
	snprintf(mode, sizeof(mode), "%04o", e->mode);
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "component", c->name, "version", c->version,
		      "path", e->path, "size", (json_int_t)e->size, "mode", mode, "sha256", hex);
	if (o != NULL && n != NULL &&
	    json_object_set_new(o, "needs", strings_json((const char *const *)n->libs, n->nlibs)) !=
		    0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "host_libraries": every library any file needs, sorted ([] if static). */
static int
host_libraries_json(json_t *root, const struct dy_meta *m)
{
	struct dy_err err;
	const char **libs;
	size_t n;
	int rc;

	if (dy_meta_needed_libs(m, &libs, &n, &err) < 0)
		return -1;
	rc = json_object_set_new(root, "host_libraries", strings_json(libs, n));
	free(libs);
	return rc;
}

int
dy_list_json(FILE *out, const struct dy_meta *m, struct dy_err *err)
{
	json_t *root, *comps, *files;
	size_t i;
	int rc = 0;

	root = json_object();
	comps = json_array();
	files = json_array();
	if (root == NULL || comps == NULL || files == NULL)
		rc = -1;
	for (i = 0; rc == 0 && i < m->ncomponents; i++)
		rc = json_array_append_new(comps,
					   json_pack("{s:s, s:s}", "name", m->components[i].name,
						     "version", m->components[i].version));
	for (i = 0; rc == 0 && i < m->nentries; i++)
		if (!m->entries[i].is_dir)
			rc = json_array_append_new(files, entry_json(m, &m->entries[i]));
	if (rc == 0)
		rc = json_object_set_new(root, "schema",
					 json_integer(1)) | /* docs/schemas/list.json */
		     json_object_set_new(root, "built", json_integer((json_int_t)m->built)) |
		     json_object_set_new(root, "arch", json_string(dy_meta_arch(m))) |
		     json_object_set(root, "components", comps) |
		     json_object_set(root, "files", files) | host_libraries_json(root, m);
	if (rc == 0)
		rc = json_dumpf(root, out, JSON_INDENT(2)) | (fputc('\n', out) == EOF);
	json_decref(comps);
	json_decref(files);
	json_decref(root);
	if (rc != 0)
		return dy_errf(err, "cannot write the JSON listing");
	return 0;
}

void
dy_list_versions(FILE *out, const struct dy_meta *m)
{
	const struct dy_component *sysbox = NULL;
	size_t i;

	for (i = 0; i < m->ncomponents; i++) {
		const struct dy_component *c = &m->components[i];
		const char *role = dy_meta_attr(c, "role");
		fprintf(out, "  %-24s %s%s\n", c->name, c->version,
			role ? " (image, loaded after first start)" : "");
		if (dy_meta_attr(c, "sysbox-run-dir") != NULL)
			sysbox = c;
	}
	if (sysbox)
		fprintf(out, "default runtime: sysbox-runc (%s %s, run dir via %s)\n", sysbox->name,
			sysbox->version,
			strcmp(dy_meta_attr(sysbox, "sysbox-run-dir"), "args") == 0
				? "--run-dir in runtimeArgs"
				: "SYSBOX_RUN_DIR wrapper");
	else
		fprintf(out, "default runtime: runc -- this payload carries no sysbox, and "
			     "Docker-in-Docker needs sysbox\n");
	fprintf(out, "architecture: %s\n", dy_meta_arch(m));
	print_needs(out, m);
}
