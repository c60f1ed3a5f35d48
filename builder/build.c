/* SPDX-License-Identifier: Apache-2.0 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xio.h"
#include "../verify/sig.h"
#include "fetch.h"
#include "image.h"
#include "lock.h"
#include "manifest.h"
#include "sbom.h"
#include "scripts.h"
#include "unpack.h"

#define MAX_MEMBER_SIZE (4ull << 30) /* decompression-bomb guard for artifacts */

/* Everything one build allocates, freed in one place. */
struct plan {
	const struct dy_build_opts *o;
	struct dy_manifest m;
	struct dy_lock lock;
	char *lock_path;
	char cache[4096];
	char stage[4096];
	enum dy_arch arch;
	const struct dy_mcomponent **sel; /* selected components */
	size_t nsel;
	struct dy_fetch_item *items; /* per selected component; url NULL if none */
	const char **sources;	     /* per selected component: the lock's source field */
	struct dy_component *components;
	struct dy_pack_file *files;
	size_t nfiles;
	struct dy_mline *licences; /* per selected component: where its text goes */
	char **strings;
	size_t nstrings, capstrings;
};

static const char *plan_str(struct plan *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* printf into a string the plan owns. */
static const char *
plan_str(struct plan *p, const char *fmt, ...)
{
	char *s = NULL, **grown;
	va_list ap;
	int n;

	if (p->nstrings == p->capstrings) {
		grown = realloc(p->strings, (p->capstrings * 2 + 16) * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		p->strings = grown;
		p->capstrings = p->capstrings * 2 + 16;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p->strings[p->nstrings++] = s;
	return s;
}

static void
plan_free(struct plan *p)
{
	struct dy_err ignored;
	size_t i;

	if (p->stage[0] != '\0')
		dy_remove_tree_at(AT_FDCWD, p->stage, &ignored);
	for (i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p->files);
	free(p->licences);
	free(p->components);
	free(p->items);
	free(p->sources);
	free(p->sel);
	free(p->lock_path);
	dy_lock_free(&p->lock);
	dy_manifest_free(&p->m);
}

static int
host_arch(const char *given, enum dy_arch *arch, struct dy_err *err)
{
	struct utsname u;
	const char *name = given;

	if (name == NULL) {
		if (uname(&u) < 0)
			return dy_errnof(err, "cannot tell this machine's architecture");
		name = strcmp(u.machine, "arm64") == 0 ? "aarch64" : u.machine;
		if (dy_arch_parse(name, arch) < 0)
			return dy_errf(err, "this machine is %s; pass --arch x86_64 or aarch64",
				       u.machine);
		return 0;
	}
	if (dy_arch_parse(name, arch) < 0)
		return dy_errf(err, "--arch '%s' is not x86_64 or aarch64", name);
	return 0;
}

static int
cache_dir(struct plan *p, struct dy_err *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (p->o->cache_dir)
		snprintf(p->cache, sizeof(p->cache), "%s", p->o->cache_dir);
	else if (xdg && *xdg == '/')
		snprintf(p->cache, sizeof(p->cache), "%s/dockyard", xdg);
	else if (home && *home == '/')
		snprintf(p->cache, sizeof(p->cache), "%s/.cache/dockyard", home);
	else
		return dy_errf(err, "no cache directory: set HOME or pass --cache DIR");
	if (dy_mkdir_p(p->cache, 0755, err) < 0)
		return dy_err_wrap(err, "cache %s", p->cache);
	return 0;
}

static int
load_inputs(struct plan *p, struct dy_err *err)
{
	if (dy_manifest_load(p->o->manifest_path, &p->m, err) < 0)
		return -1;
	p->lock_path =
		p->o->lock_path ? strdup(p->o->lock_path) : dy_lock_path_for(p->o->manifest_path);
	if (p->lock_path == NULL)
		return dy_errf(err, "out of memory");
	return dy_lock_load(p->lock_path, 1, &p->lock, err);
}

/* ---- selection ---- */

static const char *
select_for(const struct dy_build_opts *o, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < o->nselects; i++)
		if (strncmp(o->selects[i], name, len) == 0 && o->selects[i][len] == '=')
			return o->selects[i] + len + 1;
	return NULL;
}

static int
wanted_optional(const struct dy_build_opts *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->nwiths; i++)
		if (strcmp(o->withs[i], name) == 0)
			return 1;
	return 0;
}

static int
check_selects(const struct plan *p, struct dy_err *err)
{
	const struct dy_build_opts *o = p->o;
	char versions[512];
	size_t i, k, len;
	int found;

	for (i = 0; i < o->nselects; i++) {
		const char *eq = strchr(o->selects[i], '=');
		if (eq == NULL || eq == o->selects[i])
			return dy_errf(err, "--select '%s' must be NAME=VERSION", o->selects[i]);
		len = (size_t)(eq - o->selects[i]);
		versions[0] = '\0';
		found = 0;
		for (k = 0; k < p->m.ncomponents; k++) {
			const struct dy_mcomponent *c = &p->m.components[k];
			if (strlen(c->name) != len || strncmp(c->name, o->selects[i], len) != 0)
				continue;
			found |= strcmp(c->version, eq + 1) == 0;
			snprintf(versions + strlen(versions), sizeof(versions) - strlen(versions),
				 "%s%s", versions[0] ? ", " : "", c->version);
		}
		if (!found)
			return dy_errf(err, "--select %s: the manifest declares %s%s",
				       o->selects[i], versions[0] ? "only " : "no such component",
				       versions);
	}
	for (i = 0; i < o->nwiths; i++) {
		for (found = 0, k = 0; k < p->m.ncomponents; k++)
			found |= strcmp(p->m.components[k].name, o->withs[i]) == 0;
		if (!found)
			return dy_errf(err, "--with %s: the manifest declares no such component",
				       o->withs[i]);
	}
	return 0;
}

static int
select_components(struct plan *p, struct dy_err *err)
{
	size_t i;

	if (check_selects(p, err) < 0)
		return -1;
	p->sel = calloc(p->m.ncomponents + 1, sizeof(*p->sel));
	if (p->sel == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < p->m.ncomponents; i++) {
		const struct dy_mcomponent *c = &p->m.components[i];
		const char *want = select_for(p->o, c->name);
		if (want ? strcmp(want, c->version) != 0 : !c->is_default)
			continue;
		if (c->optional && !wanted_optional(p->o, c->name))
			continue;
		p->sel[p->nsel++] = c;
	}
	return 0;
}

/* ---- artifacts ---- */

/* Local artifacts are named relative to the manifest; the fetcher wants
 * an absolute path. */
static const char *
artifact_location(struct plan *p, const char *src, int is_path)
{
	char cwd[4096];

	if (!is_path || src[0] == '/')
		return src;
	if (p->m.dir[0] == '/')
		return plan_str(p, "%s/%s", p->m.dir, src);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	return plan_str(p, "%s/%s/%s", cwd, p->m.dir, src);
}

static const char *
lock_source(struct plan *p, const char *src, int is_path)
{
	return is_path ? plan_str(p, "path:%s", src) : src;
}

static int
pin_error(struct plan *p, const struct dy_mcomponent *c, const char *arch,
	  const struct dy_lock_entry *e, const char *source, struct dy_err *err)
{
	const char *how = "run `dockyard-build lock --manifest MANIFEST` on a machine that can "
			  "reach it, review the new line in the lock, and build again";

	if (e == NULL)
		return dy_errf(err, "%s %s (%s): no entry in %s; %s", c->name, c->version, arch,
			       p->lock_path, how);
	if (strcmp(e->source, source) != 0)
		return dy_errf(err, "%s %s (%s): %s:%zu pins %s, but the manifest now names %s; %s",
			       c->name, c->version, arch, p->lock_path, e->line, e->source, source,
			       how);
	return dy_errf(err,
		       "%s %s (%s): its sha256 is still pending in %s:%zu (it could not be "
		       "downloaded when the lock was written); %s%s",
		       c->name, c->version, arch, p->lock_path, e->line, how,
		       c->is_default
			       ? " -- or build a pinned alternative with --select NAME=VERSION"
			       : "");
}

static int
plan_fetch(struct plan *p, struct dy_err *err)
{
	size_t i;

	p->items = calloc(p->nsel + 1, sizeof(*p->items));
	p->sources = calloc(p->nsel + 1, sizeof(*p->sources));
	if (p->items == NULL || p->sources == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < p->nsel; i++) {
		const struct dy_mcomponent *c = p->sel[i];
		const struct dy_lock_entry *e;
		const char *src, *arch_key, *source;
		int is_path;

		if (c->kind[0] == '\0' || strcmp(c->kind, "image") == 0)
			continue;
		src = dy_mcomponent_artifact(c, p->arch, &is_path, &arch_key);
		if (src == NULL)
			return dy_errf(err, "%s:%zu: component %s %s has no url or path for %s",
				       p->m.path, c->line, c->name, c->version,
				       dy_arch_names[p->arch]);
		source = lock_source(p, src, is_path);
		e = dy_lock_find(&p->lock, c->name, c->version, arch_key);
		if (source == NULL)
			return dy_errf(err, "out of memory");
		if (e == NULL || e->pending || strcmp(e->source, source) != 0)
			return pin_error(p, c, arch_key, e, source, err);
		p->sources[i] = source;
		p->items[i].name = plan_str(p, "%s %s (%s)", c->name, c->version, arch_key);
		p->items[i].url = artifact_location(p, src, is_path);
		if (p->items[i].name == NULL || p->items[i].url == NULL)
			return dy_errf(err, "out of memory or working directory unknown");
		p->items[i].pinned = 1;
		memcpy(p->items[i].sha256, e->sha256, DY_SHA256_LEN);
	}
	return 0;
}

static int
fetch_selected(struct plan *p, struct dy_err *err)
{
	struct dy_fetch_item *batch;
	struct dy_fetch_opts fo;
	size_t i, n = 0;
	int rc;

	batch = calloc(p->nsel + 1, sizeof(*batch));
	if (batch == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < p->nsel; i++)
		if (p->items[i].url)
			batch[n++] = p->items[i];
	memset(&fo, 0, sizeof(fo));
	fo.cache_dir = p->cache;
	fo.mirrors = p->o->mirrors;
	fo.nmirrors = p->o->nmirrors;
	fo.offline = p->o->offline;
	rc = n ? dy_fetch_all(batch, n, &fo, err) : 0;
	for (i = 0, n = 0; rc == 0 && i < p->nsel; i++)
		if (p->items[i].url)
			p->items[i] = batch[n++];
	free(batch);
	return rc;
}

/* ---- staging: members out of artifacts, scripts concatenated ---- */

static int
make_stage(struct plan *p, struct dy_err *err)
{
	if (snprintf(p->stage, sizeof(p->stage), "%.4000s/stage-XXXXXX", p->cache) < 0 ||
	    mkdtemp(p->stage) == NULL) {
		dy_errnof(err, "cannot create a staging directory in %s", p->cache);
		p->stage[0] = '\0';
		return -1;
	}
	return 0;
}

static int
add_file(struct plan *p, size_t comp, const struct dy_mline *l, const char *src)
{
	struct dy_pack_file *f = &p->files[p->nfiles++];

	f->src = src;
	f->label = plan_str(p, "%s:%zu: %s %s", p->m.path, l->line,
			    l->kind == DY_LINE_MEMBER	 ? "member"
			    : l->kind == DY_LINE_INSTALL ? "artifact for"
			    : l->kind == DY_LINE_CONCAT	 ? "scripts for"
							 : "source",
			    l->src ? l->src : l->dest);
	f->dest = l->dest;
	f->mode = l->mode;
	f->component = comp;
	return f->src && f->label ? 0 : -1;
}

/* ---- licences: each component's text under share/doc/NAME/ ---- */

/* The member of c's artifact that holds its licence text, or NULL (for a
 * Debian package, usr/share/doc/PACKAGE/copyright). */
static const char *
licence_member(const struct dy_mcomponent *c)
{
	return c->license_member;
}

/* Fill p->licences[i] (the line add_file takes) for dest share/doc/NAME/FILE. */
static struct dy_mline *
licence_line(struct plan *p, size_t i, enum dy_mline_kind kind, const char *src, const char *file)
{
	const struct dy_mcomponent *c = p->sel[i];
	struct dy_mline *l = &p->licences[i];

	l->kind = kind;
	l->src = (char *)src;
	snprintf(l->dest, sizeof(l->dest), "share/doc/%s/%s", c->name, file);
	l->mode = 0644;
	l->line = c->license_line ? c->license_line : c->line;
	return l;
}

/* Only an SPDX expression: the instance gets a notice naming it. */
static int
licence_notice(struct plan *p, size_t i, struct dy_err *err)
{
	const struct dy_mcomponent *c = p->sel[i];
	const char *out = plan_str(p, "%s/%zu-licence", p->stage, i);
	const char *text = plan_str(p,
				    "%s %s is distributed under the licence expression\n\n"
				    "SPDX-License-Identifier: %s\n\n"
				    "(texts: https://spdx.org/licenses/)\n",
				    c->name, c->version, c->license);

	if (out == NULL || text == NULL)
		return dy_errf(err, "out of memory");
	if (dy_write_file_atomic(out, text, strlen(text), 0644, err) < 0)
		return -1;
	return add_file(p, i, licence_line(p, i, DY_LINE_FILE, "license", "LICENSE"), out) < 0
		       ? dy_errf(err, "out of memory")
		       : 0;
}

/* Licence texts that do not come out of the artifact. */
static int
stage_licence(struct plan *p, size_t i, struct dy_err *err)
{
	const struct dy_mcomponent *c = p->sel[i];
	const char *src;

	if (c->kind[0] && licence_member(c))
		return 0; /* taken out with the other members */
	if (c->license_file) {
		src = c->license_file[0] == '/' ? c->license_file
						: plan_str(p, "%s/%s", p->m.dir, c->license_file);
		if (src == NULL ||
		    add_file(p, i, licence_line(p, i, DY_LINE_FILE, c->license_file, "LICENSE"),
			     src) < 0)
			return dy_errf(err, "out of memory");
		return 0;
	}
	return c->license[0] ? licence_notice(p, i, err) : 0;
}

static int
stage_artifact(struct plan *p, size_t i, struct dy_err *err)
{
	const struct dy_mcomponent *c = p->sel[i];
	const char *lic = licence_member(c);
	enum dy_artifact_kind kind;
	struct dy_want *wants;
	size_t k, n = c->nlines;
	int rc;

	if (dy_artifact_kind_parse(c->kind, &kind) < 0)
		return dy_errf(err, "component %s: unknown kind %s", c->name, c->kind);
	if (c->nlines == 0 && (lic == NULL || kind == DY_KIND_FILE))
		return 0; /* it only feeds an image's layer lines */
	wants = calloc(c->nlines + 2, sizeof(*wants));
	if (wants == NULL)
		return dy_errf(err, "out of memory");
	for (k = 0; k < c->nlines; k++) {
		const char *out = plan_str(p, "%s/%zu-%zu", p->stage, i, k);
		if (out == NULL || add_file(p, i, &c->lines[k], out) < 0) {
			free(wants);
			return dy_errf(err, "out of memory");
		}
		wants[k].member = c->lines[k].src;
		wants[k].out_path = out;
	}
	if (lic && kind != DY_KIND_FILE) {
		const char *out = plan_str(p, "%s/%zu-licence", p->stage, i);
		if (out == NULL ||
		    add_file(p, i, licence_line(p, i, DY_LINE_MEMBER, lic, "copyright"), out) < 0) {
			free(wants);
			return dy_errf(err, "out of memory");
		}
		wants[n].member = lic;
		wants[n++].out_path = out;
	}
	rc = dy_unpack(p->items[i].path, kind, wants, n, MAX_MEMBER_SIZE, err);
	free(wants);
	if (rc < 0)
		return dy_err_wrap(err, "%s:%zu: %s", p->m.path, c->line, p->items[i].name);
	return 0;
}

/* The directory a `concat` line reads: --scripts first, then the
 * manifest's own path, then the scripts installed with this builder (a
 * copied manifest then still finds them). */
static const char *
scripts_source(struct plan *p, const char *given, struct dy_err *err)
{
	const char *alt = p->o->builtin_scripts_dir;
	struct stat st;

	if (p->o->scripts_dir)
		given = p->o->scripts_dir;
	else if (stat(given, &st) < 0 && errno == ENOENT && alt && *alt) {
		dy_say(DY_VERBOSE, "%s does not exist; reading scripts from %s", given, alt);
		given = alt;
	}
	if (stat(given, &st) == 0 && !S_ISDIR(st.st_mode))
		dy_errf(err, "scripts directory %s: not a directory (--scripts DIR names another)",
			given);
	else if (stat(given, &st) < 0 || access(given, R_OK | X_OK) < 0)
		dy_errnof(err, "scripts directory %s: cannot read it (--scripts DIR names another)",
			  given);
	else
		return given;
	return NULL;
}

static int
stage_local(struct plan *p, size_t i, struct dy_err *err)
{
	const struct dy_mcomponent *c = p->sel[i];
	size_t k;

	for (k = 0; k < c->nlines; k++) {
		const struct dy_mline *l = &c->lines[k];
		const char *src =
			l->src[0] == '/' ? l->src : plan_str(p, "%s/%s", p->m.dir, l->src);
		const char *out = src;
		if (src == NULL)
			return dy_errf(err, "out of memory");
		if (l->kind == DY_LINE_CONCAT) {
			if ((src = scripts_source(p, src, err)) == NULL)
				return dy_err_wrap(err, "%s:%zu", p->m.path, l->line);
			out = plan_str(p, "%s/%zu-%zu", p->stage, i, k);
			if (out == NULL)
				return dy_errf(err, "out of memory");
			if (dy_scripts_concat(src, out, err) < 0)
				return dy_err_wrap(err, "%s:%zu", p->m.path, l->line);
		}
		if (add_file(p, i, l, out) < 0)
			return dy_errf(err, "out of memory");
	}
	return 0;
}

/* ---- images the builder assembles (kind = image) ---- */

/* The fetched artifact of the selected component a layer line names. */
static int
layer_source(void *ctx, const char *name, const char **path, enum dy_artifact_kind *kind,
	     struct dy_err *err)
{
	const struct plan *p = ctx;
	size_t j;

	for (j = 0; j < p->nsel; j++)
		if (strcmp(p->sel[j]->name, name) == 0 && p->items[j].url != NULL) {
			*path = p->items[j].path;
			if (dy_artifact_kind_parse(p->sel[j]->kind, kind) < 0)
				return dy_errf(err, "component %s: unknown kind %s", name,
					       p->sel[j]->kind);
			return 0;
		}
	return dy_errf(err, "component %s is not part of this build (optional? then add --with %s)",
		       name, name);
}

static int
stage_image(struct plan *p, size_t i, struct dy_err *err)
{
	const struct dy_mcomponent *c = p->sel[i];
	struct dy_image_result res;
	const char *out = plan_str(p, "%s/image-%zu.tar", p->stage, i);
	size_t k;

	if (out == NULL)
		return dy_errf(err, "out of memory");
	if (dy_image_build(&p->m, c, layer_source, p, dy_arch_names[p->arch], p->o->pack.epoch, out,
			   &res, err) < 0)
		return -1;
	for (k = 0; k < c->nlines; k++)
		if (c->lines[k].kind == DY_LINE_INSTALL && add_file(p, i, &c->lines[k], out) < 0)
			return dy_errf(err, "out of memory");
	dy_say(DY_VERBOSE, "image %s: %llu bytes", c->tag, (unsigned long long)res.size);
	return 0;
}

static int
plan_components(struct plan *p, struct dy_err *err)
{
	size_t i, nlines = 0;

	p->components = calloc(p->nsel + 1, sizeof(*p->components));
	p->licences = calloc(p->nsel + 1, sizeof(*p->licences));
	for (i = 0; i < p->nsel; i++)
		nlines += p->sel[i]->nlines + 1; /* + its licence */
	p->files = calloc(nlines + 1, sizeof(*p->files));
	if (p->components == NULL || p->files == NULL || p->licences == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < p->nsel; i++) {
		const struct dy_mcomponent *c = p->sel[i];
		struct dy_component *pc = &p->components[i];
		snprintf(pc->name, sizeof(pc->name), "%s", c->name);
		snprintf(pc->version, sizeof(pc->version), "%s", c->version);
		if (c->role[0]) {
			snprintf(pc->attrs[pc->nattrs].key, sizeof(pc->attrs->key), "role");
			snprintf(pc->attrs[pc->nattrs++].value, sizeof(pc->attrs->value), "%s",
				 c->role);
		}
		if (c->sysbox_run_dir[0]) {
			snprintf(pc->attrs[pc->nattrs].key, sizeof(pc->attrs->key),
				 "sysbox-run-dir");
			snprintf(pc->attrs[pc->nattrs++].value, sizeof(pc->attrs->value), "%s",
				 c->sysbox_run_dir);
		}
		if (strcmp(c->kind, "image") == 0) {
			if (stage_image(p, i, err) < 0)
				return -1;
		} else if ((c->kind[0] ? stage_artifact(p, i, err) : stage_local(p, i, err)) < 0) {
			return -1;
		}
		if (stage_licence(p, i, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- outputs ---- */

/* A component without an artifact is known by its first packed file. */
static const char *
first_file(const struct plan *p, size_t comp)
{
	size_t k;

	for (k = 0; k < p->nfiles; k++)
		if (p->files[k].component == comp)
			return p->files[k].src;
	return NULL;
}

static int
dist_files(struct plan *p, struct dy_err *err)
{
	struct dy_sbom_component *sc;
	struct dy_sbom_info info;
	size_t i;
	int rc;

	sc = calloc(p->nsel + 1, sizeof(*sc));
	if (sc == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < p->nsel; i++) {
		sc[i].name = p->sel[i]->name;
		sc[i].version = p->sel[i]->version;
		sc[i].role = p->sel[i]->role;
		sc[i].kind = p->sel[i]->kind;
		/* The lock's spelling: the same on every machine, unlike the
		 * absolute path a local artifact was read from. */
		sc[i].source = p->sources[i];
		sc[i].has_sha256 = p->items[i].url != NULL;
		memcpy(sc[i].sha256, p->items[i].sha256, DY_SHA256_LEN);
		sc[i].kind = p->sel[i]->kind;
		sc[i].license = p->sel[i]->license;
		sc[i].content_path = sc[i].has_sha256 ? NULL : first_file(p, i);
	}
	memset(&info, 0, sizeof(info));
	info.installer_path = p->o->pack.out_path;
	info.epoch = p->o->pack.epoch;
	info.arch = dy_arch_names[p->arch];
	info.level = p->o->pack.level;
	info.window_log = p->o->pack.window_log;
	info.manifest_path = p->m.path;
	info.lock_path = access(p->lock_path, F_OK) == 0 ? p->lock_path : NULL;
	info.sig_path = p->o->pack.sign_key ? plan_str(p, "%s.sig", p->o->pack.out_path) : NULL;
	info.stub_path = p->o->pack.stub_path;
	info.components = sc;
	info.ncomponents = p->nsel;
	rc = dy_write_dist_files(&info, err);
	free(sc);
	return rc;
}

/* SHA256SUMS.sig: with --sign, a detached DER signature over SHA256SUMS
 * (`openssl dgst -sha256 -verify PUB -signature SHA256SUMS.sig
 * SHA256SUMS`), so one check covers the whole transfer set; an unsigned
 * build removes the previous build's. */
static int
sign_sums(struct plan *p, struct dy_err *err)
{
	const char *out = p->o->pack.out_path, *slash = strrchr(out, '/');
	const char *sums = plan_str(p, "%.*sSHA256SUMS", slash ? (int)(slash - out + 1) : 0, out);
	const char *sig = plan_str(p, "%s.sig", sums ? sums : "");
	uint8_t digest[DY_SHA256_LEN], der[DY_SIG_DER_MAX];
	size_t len;
	int fd, rc;

	if (sums == NULL || sig == NULL)
		return dy_errf(err, "out of memory");
	if (p->o->pack.sign_key == NULL) {
		if (unlink(sig) < 0 && errno != ENOENT)
			return dy_errnof(err, "cannot remove the stale %s", sig);
		return 0;
	}
	if ((fd = open(sums, O_RDONLY | O_CLOEXEC)) < 0)
		return dy_errnof(err, "cannot open %s", sums);
	rc = dy_sha256_fd(fd, digest, NULL, err);
	close(fd);
	if (rc < 0 || dy_sig_sign(p->o->pack.sign_key, digest, der, sizeof(der), &len, err) < 0)
		return dy_err_wrap(err, "signing %s", sums);
	return dy_write_file_atomic(sig, der, len, 0644, err);
}

static void
note_runtime(const struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nsel; i++)
		if (p->sel[i]->sysbox_run_dir[0])
			return;
	dy_say(DY_NORMAL, "note: this payload carries no sysbox: instances will use runc as "
			  "the default runtime, and Docker-in-Docker needs sysbox");
}

int
dy_build(const struct dy_build_opts *o, struct dy_pack_result *res, struct dy_err *err)
{
	struct dy_pack_input in;
	struct plan p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.o = o;
	rc = host_arch(o->arch, &p.arch, err);
	if (rc == 0)
		rc = load_inputs(&p, err);
	if (rc == 0)
		rc = select_components(&p, err);
	if (rc == 0)
		rc = plan_fetch(&p, err);
	if (rc == 0)
		rc = cache_dir(&p, err);
	if (rc == 0)
		rc = fetch_selected(&p, err);
	if (rc == 0)
		rc = make_stage(&p, err);
	if (rc == 0)
		rc = plan_components(&p, err);
	if (rc == 0) {
		in.arch = dy_arch_names[p.arch];
		in.components = p.components;
		in.ncomponents = p.nsel;
		in.files = p.files;
		in.nfiles = p.nfiles;
		rc = dy_pack(&in, &o->pack, res, err);
	}
	if (rc == 0 && !o->no_dist_files)
		rc = dist_files(&p, err);
	if (rc == 0 && !o->no_dist_files)
		rc = sign_sums(&p, err);
	if (rc == 0)
		note_runtime(&p);
	plan_free(&p);
	return rc;
}

/* ---- lock ---- */

struct lock_job {
	struct dy_fetch_item item;
	const struct dy_mcomponent *c;
	const char *arch_key;
	const char *source;
};

static int
collect_lock_jobs(struct plan *p, struct lock_job **out, size_t *n, struct dy_err *err)
{
	struct lock_job *jobs = calloc(2 * p->m.ncomponents + 1, sizeof(*jobs));
	size_t i, k;
	int a;

	if (jobs == NULL)
		return dy_errf(err, "out of memory");
	*n = 0;
	for (i = 0; i < p->m.ncomponents; i++) {
		const struct dy_mcomponent *c = &p->m.components[i];
		for (a = 0; a < DY_NARCH; a++) {
			const char *src, *key;
			int is_path, dup = 0;
			if (p->o->arch && a != (int)p->arch)
				continue;
			src = dy_mcomponent_artifact(c, (enum dy_arch)a, &is_path, &key);
			if (src == NULL)
				continue;
			for (k = 0; k < *n; k++)
				dup |= jobs[k].c == c && strcmp(jobs[k].arch_key, key) == 0;
			if (dup)
				continue;
			jobs[*n].c = c;
			jobs[*n].arch_key = key;
			jobs[*n].source = lock_source(p, src, is_path);
			jobs[*n].item.name = plan_str(p, "%s %s (%s)", c->name, c->version, key);
			jobs[*n].item.url = artifact_location(p, src, is_path);
			(*n)++;
		}
	}
	*out = jobs;
	return 0;
}

/* The new lock keeps old entries only for what the manifest still names. */
static int
prune_lock(struct plan *p, const struct lock_job *jobs, size_t n, struct dy_lock *fresh,
	   struct dy_err *err)
{
	size_t i, k;

	memset(fresh, 0, sizeof(*fresh));
	for (i = 0; i < p->lock.n; i++) {
		const struct dy_lock_entry *e = &p->lock.entries[i];
		int keep = p->o->arch != NULL && strcmp(e->arch, dy_arch_names[p->arch]) != 0;
		for (k = 0; k < p->m.ncomponents && !keep; k++)
			keep = strcmp(p->m.components[k].name, e->component) == 0 &&
			       strcmp(p->m.components[k].version, e->version) == 0;
		for (k = 0; k < n && keep; k++)
			if (jobs[k].c && strcmp(jobs[k].c->name, e->component) == 0 &&
			    strcmp(jobs[k].c->version, e->version) == 0 &&
			    strcmp(jobs[k].arch_key, e->arch) == 0)
				keep = 0; /* re-pinned below */
		if (keep && dy_lock_set(fresh, e->component, e->version, e->arch, e->source,
					e->pending ? NULL : e->sha256, err) < 0)
			return -1;
	}
	return 0;
}

static int
record_pins(struct plan *p, struct lock_job *jobs, size_t n, struct dy_lock *fresh, size_t *failed,
	    struct dy_err *err)
{
	size_t i;

	*failed = 0;
	for (i = 0; i < n; i++) {
		const struct lock_job *j = &jobs[i];
		const struct dy_lock_entry *old =
			dy_lock_find(&p->lock, j->c->name, j->c->version, j->arch_key);
		const uint8_t *sha = j->item.path[0] ? j->item.sha256 : NULL;
		if (sha == NULL) {
			(*failed)++;
			/* Keep a pin that still describes the same source. */
			if (old && !old->pending && strcmp(old->source, j->source) == 0)
				sha = old->sha256;
			dy_warn("%s: could not fetch; %s", j->item.name,
				sha ? "kept the existing pin" : "marked pending");
		} else if (old && !old->pending && strcmp(old->source, j->source) == 0 &&
			   memcmp(old->sha256, sha, DY_SHA256_LEN) != 0) {
			dy_warn("%s: the artifact changed since it was pinned (%s:%zu)",
				j->item.name, p->lock_path, old->line);
		}
		if (dy_lock_set(fresh, j->c->name, j->c->version, j->arch_key, j->source, sha,
				err) < 0)
			return -1;
	}
	return 0;
}

int
dy_lock_update(const struct dy_build_opts *o, struct dy_err *err)
{
	struct dy_fetch_item *batch = NULL;
	struct lock_job *jobs = NULL;
	struct dy_lock fresh;
	struct dy_fetch_opts fo;
	struct dy_err fetch_err;
	size_t n = 0, i, failed = 0;
	struct plan p;
	int rc;

	memset(&p, 0, sizeof(p));
	memset(&fresh, 0, sizeof(fresh));
	p.o = o;
	rc = o->arch ? host_arch(o->arch, &p.arch, err) : 0;
	if (rc == 0)
		rc = load_inputs(&p, err);
	if (rc == 0)
		rc = cache_dir(&p, err);
	if (rc == 0)
		rc = collect_lock_jobs(&p, &jobs, &n, err);
	if (rc == 0 && (batch = calloc(n + 1, sizeof(*batch))) == NULL)
		rc = dy_errf(err, "out of memory");
	if (rc == 0) {
		for (i = 0; i < n; i++)
			batch[i] = jobs[i].item;
		memset(&fo, 0, sizeof(fo));
		fo.cache_dir = p.cache;
		fo.mirrors = o->mirrors;
		fo.nmirrors = o->nmirrors;
		fo.offline = o->offline;
		if (n && dy_fetch_all(batch, n, &fo, &fetch_err) < 0)
			dy_error("%s", fetch_err.msg);
		for (i = 0; i < n; i++)
			jobs[i].item = batch[i];
		rc = prune_lock(&p, jobs, n, &fresh, err);
	}
	if (rc == 0)
		rc = record_pins(&p, jobs, n, &fresh, &failed, err);
	if (rc == 0)
		rc = dy_lock_write(&fresh, p.lock_path, err);
	if (rc == 0)
		dy_say(DY_NORMAL, "wrote %s: %zu artifacts pinned, %zu not fetched", p.lock_path,
		       n - failed, failed);
	if (rc == 0 && failed)
		rc = dy_errf(err,
			     "%zu of %zu artifacts could not be fetched; their lines keep "
			     "the old pin or say pending",
			     failed, n);
	free(batch);
	free(jobs);
	dy_lock_free(&fresh);
	plan_free(&p);
	return rc;
}
