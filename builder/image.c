/* SPDX-License-Identifier: Apache-2.0 */
#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/xio.h"
#include "../verify/paths.h"
#include "elf.h"

#define CHUNK (64u << 10)

/* One entry of the layer, listed or implied (a parent directory). */
struct node {
	char path[DY_MEMBER_PATH_MAX + 1];
	enum dy_layer_type type;
	const char *src;
	unsigned mode;
	const char *label;
	int implied;
};

struct layer {
	struct node *nodes;
	size_t n, cap;
};

const char *
dy_image_arch(const char *arch)
{
	if (strcmp(arch, "x86_64") == 0)
		return "amd64";
	if (strcmp(arch, "aarch64") == 0)
		return "arm64";
	return NULL;
}

static struct node *
find_node(const struct layer *l, const char *path)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->nodes[i].path, path) == 0)
			return &l->nodes[i];
	return NULL;
}

static struct node *
new_node(struct layer *l, struct dy_err *err)
{
	struct node *grown;

	if (l->n == l->cap) {
		grown = realloc(l->nodes, (l->cap * 2 + 16) * sizeof(*grown));
		if (grown == NULL) {
			dy_errf(err, "out of memory");
			return NULL;
		}
		l->nodes = grown;
		l->cap = l->cap * 2 + 16;
	}
	memset(&l->nodes[l->n], 0, sizeof(l->nodes[0]));
	return &l->nodes[l->n++];
}

/* Every parent of path becomes a directory unless listed already. */
static int
add_parents(struct layer *l, const char *path, const char *label, struct dy_err *err)
{
	char dir[DY_MEMBER_PATH_MAX + 1];
	struct node *nd;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		nd = find_node(l, dir);
		if (nd != NULL) {
			if (nd->type != DY_LAYER_DIR)
				return dy_errf(err,
					       "%s: %s lies below %s, which is not a directory",
					       label, path, dir);
			continue;
		}
		if ((nd = new_node(l, err)) == NULL)
			return -1;
		snprintf(nd->path, sizeof(nd->path), "%s", dir);
		nd->type = DY_LAYER_DIR;
		nd->mode = 0755;
		nd->label = label;
		nd->implied = 1;
	}
	return 0;
}

static int
add_entry(struct layer *l, const struct dy_layer_entry *e, struct dy_err *err)
{
	struct node *nd;

	if (dy_member_path_valid(e->path, err) < 0)
		return dy_err_wrap(err, "%s: image path", e->label);
	nd = find_node(l, e->path);
	if (nd != NULL && !(nd->implied && e->type == DY_LAYER_DIR))
		return dy_errf(err, "%s: %s is already in the image (%s)", e->label, e->path,
			       nd->label);
	if (nd == NULL && (nd = new_node(l, err)) == NULL)
		return -1;
	snprintf(nd->path, sizeof(nd->path), "%s", e->path);
	nd->type = e->type;
	nd->src = e->src;
	nd->mode = e->type == DY_LAYER_LINK ? 0777 : e->mode;
	nd->label = e->label;
	nd->implied = 0;
	return add_parents(l, e->path, e->label, err);
}

static int
cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct node *)a)->path, ((const struct node *)b)->path);
}

/* A dynamically linked program needs its interpreter inside the image. */
static int
check_runnable(const struct layer *l, const struct node *nd, struct dy_err *err)
{
	struct dy_elf_needs *needs;
	int fd, rc;

	fd = open(nd->src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dy_errnof(err, "%s: cannot open %s", nd->label, nd->src);
	needs = malloc(sizeof(*needs));
	if (needs == NULL) {
		close(fd);
		return dy_errf(err, "out of memory");
	}
	rc = dy_elf_needs(fd, nd->label, needs, err);
	close(fd);
	if (rc == 0 && needs->is_elf && needs->nlibs > 0 && needs->libs[0][0] == '/' &&
	    find_node(l, needs->libs[0] + 1) == NULL)
		rc = dy_errf(err,
			     "%s: %s is dynamically linked (interpreter %s), which this image "
			     "does not hold; an image takes statically linked programs",
			     nd->label, nd->path, needs->libs[0]);
	free(needs);
	return rc;
}

static int
plan_layer(const struct dy_image_spec *s, struct layer *l, struct dy_err *err)
{
	size_t i;

	for (i = 0; i < s->nentries; i++)
		if (add_entry(l, &s->entries[i], err) < 0)
			return -1;
	qsort(l->nodes, l->n, sizeof(*l->nodes), cmp_node);
	for (i = 0; i < l->n; i++)
		if (l->nodes[i].type == DY_LAYER_FILE && check_runnable(l, &l->nodes[i], err) < 0)
			return -1;
	return 0;
}

/* ---- tar writing ---- */

static int
tar_header(struct archive *a, const char *path, enum dy_layer_type type, unsigned mode,
	   uint64_t size, const char *target, uint64_t epoch, struct dy_err *err)
{
	struct archive_entry *ae = archive_entry_new();
	int rc;

	if (ae == NULL)
		return dy_errf(err, "out of memory");
	archive_entry_set_pathname(ae, path);
	archive_entry_set_filetype(ae, type == DY_LAYER_DIR    ? AE_IFDIR
				       : type == DY_LAYER_LINK ? AE_IFLNK
							       : AE_IFREG);
	archive_entry_set_perm(ae, mode);
	archive_entry_set_size(ae, type == DY_LAYER_FILE ? (la_int64_t)size : 0);
	if (type == DY_LAYER_LINK)
		archive_entry_set_symlink(ae, target);
	archive_entry_set_mtime(ae, (time_t)epoch, 0);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	rc = archive_write_header(a, ae);
	archive_entry_free(ae);
	if (rc != ARCHIVE_OK)
		return dy_errf(err, "tar header for %s: %s", path, archive_error_string(a));
	return 0;
}

static int
tar_data(struct archive *a, const char *path, const void *data, size_t len, struct dy_err *err)
{
	if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
		return dy_errf(err, "tar data of %s: %s", path, archive_error_string(a));
	return 0;
}

/* Add the regular file src as path. */
static int
tar_file(struct archive *a, const char *path, const char *src, unsigned mode, uint64_t epoch,
	 struct dy_err *err)
{
	unsigned char *buf;
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = dy_errnof(err, "cannot read %s as a regular file (for %s)", src, path);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	buf = malloc(CHUNK);
	if (buf == NULL) {
		close(fd);
		return dy_errf(err, "out of memory");
	}
	rc = tar_header(a, path, DY_LAYER_FILE, mode, (uint64_t)st.st_size, NULL, epoch, err);
	while (rc == 0 && (n = dy_read_some(fd, buf, CHUNK)) > 0)
		rc = tar_data(a, path, buf, (size_t)n, err);
	if (rc == 0 && n < 0)
		rc = dy_errnof(err, "cannot read %s", src);
	free(buf);
	close(fd);
	return rc;
}

static int
tar_blob(struct archive *a, const char *path, const char *data, size_t len, uint64_t epoch,
	 struct dy_err *err)
{
	if (tar_header(a, path, DY_LAYER_FILE, 0644, len, NULL, epoch, err) < 0)
		return -1;
	return tar_data(a, path, data, len, err);
}

static struct archive *
tar_open(const char *path, int *fd, struct dy_err *err)
{
	struct archive *a;

	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd < 0) {
		dy_errnof(err, "cannot create %s", path);
		return NULL;
	}
	a = archive_write_new();
	if (a == NULL || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, *fd) != ARCHIVE_OK) {
		dy_errf(err, "cannot start a tar in %s: %s", path,
			a ? archive_error_string(a) : "out of memory");
		if (a)
			archive_write_free(a);
		close(*fd);
		return NULL;
	}
	return a;
}

static int
tar_close(struct archive *a, int fd, const char *path, int rc, struct dy_err *err)
{
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = dy_errf(err, "cannot finish the tar %s: %s", path, archive_error_string(a));
	archive_write_free(a);
	if (fsync(fd) < 0 && rc == 0)
		rc = dy_errnof(err, "cannot write %s", path);
	if (close(fd) < 0 && rc == 0)
		rc = dy_errnof(err, "cannot write %s", path);
	return rc;
}

static int
write_layer(const struct layer *l, const char *path, uint64_t epoch, struct dy_err *err)
{
	struct archive *a;
	size_t i;
	int fd, rc = 0;

	if ((a = tar_open(path, &fd, err)) == NULL)
		return -1;
	for (i = 0; rc == 0 && i < l->n; i++) {
		const struct node *nd = &l->nodes[i];
		if (nd->type == DY_LAYER_FILE)
			rc = tar_file(a, nd->path, nd->src, nd->mode, epoch, err);
		else
			rc = tar_header(a, nd->path, nd->type, nd->mode, 0, nd->src, epoch, err);
	}
	return tar_close(a, fd, path, rc, err);
}

/* ---- JSON ---- */

static json_t *
string_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
label_object(const char *const *v, size_t n)
{
	json_t *o = json_object();
	char key[256];
	size_t i;

	for (i = 0; o && i < n; i++) {
		const char *eq = strchr(v[i], '=');
		if (eq == NULL || (size_t)(eq - v[i]) >= sizeof(key))
			continue; /* the manifest parser admits only KEY=VALUE */
		snprintf(key, sizeof(key), "%.*s", (int)(eq - v[i]), v[i]);
		json_object_set_new(o, key, json_string(eq + 1));
	}
	return o;
}

static char *
config_json(const struct dy_image_spec *s, const char *arch, const char *layer_hex)
{
	char created[32], diff_id[80];
	time_t t = (time_t)s->epoch;
	struct tm tm;
	json_t *root;
	char *out;

	gmtime_r(&t, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(diff_id, sizeof(diff_id), "sha256:%s", layer_hex);
	arch = dy_image_arch(arch) ? dy_image_arch(arch) : arch;
	root = json_pack("{s:s, s:s, s:s, s:{s:o, s:o, s:o}, s:[{s:s, s:s}], s:{s:s, s:[s]}}",
			 "architecture", arch, "os", "linux", "created", created, "config", "Env",
			 string_array(s->env, s->nenv), "Cmd", string_array(s->cmd, s->ncmd),
			 "Labels", label_object(s->labels, s->nlabels), "history", "created",
			 created, "created_by", "dockyard-build", "rootfs", "type", "layers",
			 "diff_ids", diff_id);
	if (root == NULL)
		return NULL;
	out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	return out;
}

static char *
manifest_json(const char *tag, const char *config_name, const char *layer_name)
{
	json_t *root = json_pack("[{s:s, s:[s], s:[s]}]", "Config", config_name, "RepoTags", tag,
				 "Layers", layer_name);
	char *out;

	if (root == NULL)
		return NULL;
	out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	return out;
}

/* ---- the archive ---- */

static int
write_archive(const struct dy_image_spec *s, const char *out_path, const char *layer_path,
	      struct dy_image_result *res, struct dy_err *err)
{
	char layer_hex[2 * DY_SHA256_LEN + 1], config_hex[2 * DY_SHA256_LEN + 1];
	char config_name[2 * DY_SHA256_LEN + 8], layer_name[2 * DY_SHA256_LEN + 16];
	char *config = NULL, *manifest = NULL;
	unsigned long long size;
	struct archive *a;
	int fd, rc;

	fd = open(layer_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dy_errnof(err, "cannot reopen %s", layer_path);
	rc = dy_sha256_fd(fd, res->layer_sha256, &size, err);
	close(fd);
	if (rc < 0)
		return -1;
	dy_hex_encode(res->layer_sha256, DY_SHA256_LEN, layer_hex);
	config = config_json(s, s->arch, layer_hex);
	if (config == NULL)
		return dy_errf(err, "cannot render the image config of %s", s->tag);
	dy_sha256_buf(config, strlen(config), res->config_sha256);
	dy_hex_encode(res->config_sha256, DY_SHA256_LEN, config_hex);
	snprintf(config_name, sizeof(config_name), "%s.json", config_hex);
	snprintf(layer_name, sizeof(layer_name), "%s/layer.tar", layer_hex);
	manifest = manifest_json(s->tag, config_name, layer_name);
	if (manifest == NULL) {
		free(config);
		return dy_errf(err, "cannot render manifest.json of %s", s->tag);
	}
	/* Sorted by name: HEX.json and LAYERHEX/ in hex order, manifest.json last. */
	if ((a = tar_open(out_path, &fd, err)) == NULL) {
		free(config);
		free(manifest);
		return -1;
	}
	if (strcmp(config_hex, layer_hex) < 0)
		rc = tar_blob(a, config_name, config, strlen(config), s->epoch, err);
	if (rc == 0)
		rc = tar_header(a, layer_hex, DY_LAYER_DIR, 0755, 0, NULL, s->epoch, err);
	if (rc == 0)
		rc = tar_file(a, layer_name, layer_path, 0644, s->epoch, err);
	if (rc == 0 && strcmp(config_hex, layer_hex) > 0)
		rc = tar_blob(a, config_name, config, strlen(config), s->epoch, err);
	if (rc == 0)
		rc = tar_blob(a, "manifest.json", manifest, strlen(manifest), s->epoch, err);
	free(config);
	free(manifest);
	return tar_close(a, fd, out_path, rc, err);
}

int
dy_image_write(const struct dy_image_spec *s, const char *out_path, struct dy_image_result *res,
	       struct dy_err *err)
{
	char layer_path[4096];
	struct layer l = { NULL, 0, 0 };
	struct stat st;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((size_t)snprintf(layer_path, sizeof(layer_path), "%s.layer", out_path) >=
	    sizeof(layer_path))
		return dy_errf(err, "%s: path too long", out_path);
	if (lstat(out_path, &st) == 0 || lstat(layer_path, &st) == 0)
		return dy_errf(err, "image %s: %s or its .layer exists already", s->tag, out_path);
	rc = plan_layer(s, &l, err);
	if (rc == 0)
		rc = write_layer(&l, layer_path, s->epoch, err);
	if (rc == 0)
		rc = write_archive(s, out_path, layer_path, res, err);
	if (rc == 0 && stat(out_path, &st) == 0)
		res->size = (uint64_t)st.st_size;
	if (rc < 0) {
		dy_err_wrap(err, "image %s", s->tag);
		unlink(out_path);
	}
	unlink(layer_path);
	free(l.nodes);
	return rc;
}

/* ---- from a manifest component ---- */

struct build {
	const struct dy_manifest *m;
	const struct dy_mcomponent *c;
	struct dy_layer_entry *ents; /* by line; the install line is left out later */
	char **owned;		     /* strings to free */
	size_t nowned;
	const char **words; /* env, cmd and labels, split */
};

static const char *
own(struct build *b, char *s)
{
	if (s != NULL)
		b->owned[b->nowned++] = s;
	return s;
}

/* Split space-separated words into b->words from *at on. */
static const char *const *
split_words(struct build *b, const char *s, size_t *at, size_t *n)
{
	const char *const *start = b->words + *at;
	size_t len;

	*n = 0;
	while (s != NULL && *(s += strspn(s, " \t")) != '\0') {
		len = strcspn(s, " \t");
		if ((b->words[*at] = own(b, strndup(s, len))) == NULL)
			return NULL;
		(*at)++;
		(*n)++;
		s += len;
	}
	return start;
}

/* Unpack every layer member that comes from component `from` at once. */
static int
unpack_from(struct build *b, const char *from, dy_image_source_fn source, void *ctx,
	    struct dy_err *err)
{
	const struct dy_mcomponent *c = b->c;
	enum dy_artifact_kind kind;
	struct dy_want *wants;
	const char *path;
	size_t k, n = 0;
	int rc;

	if (source(ctx, from, &path, &kind, err) < 0)
		return dy_err_wrap(err, "%s:%zu: image %s", b->m->path, c->line, c->name);
	if ((wants = calloc(c->nlines + 1, sizeof(*wants))) == NULL)
		return dy_errf(err, "out of memory");
	for (k = 0; k < c->nlines; k++)
		if (c->lines[k].kind == DY_LINE_LAYER && strcmp(c->lines[k].from, from) == 0) {
			wants[n].member = c->lines[k].src;
			wants[n++].out_path = b->ents[k].src;
		}
	rc = dy_unpack(path, kind, wants, n, 4ull << 30, err);
	free(wants);
	if (rc < 0)
		return dy_err_wrap(err, "%s:%zu: image %s, layer from %s", b->m->path, c->line,
				   c->name, from);
	return 0;
}

/* One entry per line; layer lines get a file beside out_path to fill. */
static int
fill_entries(struct build *b, const char *out_path, size_t *install, struct dy_err *err)
{
	const struct dy_mcomponent *c = b->c;
	char *s;
	size_t k;

	for (k = 0; k < c->nlines; k++) {
		const struct dy_mline *l = &c->lines[k];
		struct dy_layer_entry *e = &b->ents[k];
		e->path = l->dest;
		e->mode = l->mode;
		e->label = own(b, asprintf(&s, "%s:%zu", b->m->path, l->line) < 0 ? NULL : s);
		e->type = l->kind == DY_LINE_LINK ? DY_LAYER_LINK : DY_LAYER_FILE;
		if (l->kind == DY_LINE_INSTALL)
			*install = k;
		else if (l->kind == DY_LINE_LINK)
			e->src = l->src;
		else if (l->kind == DY_LINE_FILE && l->src[0] == '/')
			e->src = l->src;
		else if (l->kind == DY_LINE_FILE)
			e->src = own(b, asprintf(&s, "%s/%s", b->m->dir, l->src) < 0 ? NULL : s);
		else
			e->src = own(b, asprintf(&s, "%s.%zu", out_path, k) < 0 ? NULL : s);
		if (e->label == NULL || (l->kind != DY_LINE_INSTALL && e->src == NULL))
			return dy_errf(err, "out of memory");
	}
	return 0;
}

static int
unpack_all(struct build *b, dy_image_source_fn source, void *ctx, struct dy_err *err)
{
	const struct dy_mcomponent *c = b->c;
	size_t k, j;
	int seen;

	for (k = 0; k < c->nlines; k++) {
		if (c->lines[k].kind != DY_LINE_LAYER)
			continue;
		for (seen = 0, j = 0; j < k && !seen; j++)
			seen = c->lines[j].kind == DY_LINE_LAYER &&
			       strcmp(c->lines[j].from, c->lines[k].from) == 0;
		if (!seen && unpack_from(b, c->lines[k].from, source, ctx, err) < 0)
			return -1;
	}
	return 0;
}

int
dy_image_build(const struct dy_manifest *m, const struct dy_mcomponent *c,
	       dy_image_source_fn source, void *ctx, const char *arch, uint64_t epoch,
	       const char *out_path, struct dy_image_result *res, struct dy_err *err)
{
	struct build b = { m, c, NULL, NULL, 0, NULL };
	struct dy_image_spec spec;
	size_t install = 0, k, at = 0;
	size_t nwords = 3 + (c->env ? strlen(c->env) : 0) + (c->cmd ? strlen(c->cmd) : 0) +
			(c->labels ? strlen(c->labels) : 0);
	int rc = 0;

	b.ents = calloc(c->nlines + 1, sizeof(*b.ents));
	b.owned = calloc(3 * c->nlines + nwords + 1, sizeof(*b.owned));
	b.words = calloc(nwords, sizeof(*b.words));
	memset(&spec, 0, sizeof(spec));
	if (b.ents == NULL || b.owned == NULL || b.words == NULL)
		rc = dy_errf(err, "out of memory");
	if (rc == 0)
		rc = fill_entries(&b, out_path, &install, err);
	if (rc == 0)
		rc = unpack_all(&b, source, ctx, err);
	if (rc == 0) {
		/* The install line places the archive; it is not in the layer. */
		memmove(&b.ents[install], &b.ents[install + 1],
			(c->nlines - install - 1) * sizeof(*b.ents));
		spec.tag = c->tag;
		spec.arch = arch;
		spec.epoch = epoch;
		spec.entries = b.ents;
		spec.nentries = c->nlines - 1;
		spec.env = split_words(&b, c->env, &at, &spec.nenv);
		spec.cmd = split_words(&b, c->cmd, &at, &spec.ncmd);
		spec.labels = split_words(&b, c->labels, &at, &spec.nlabels);
		if (spec.env == NULL || spec.cmd == NULL || spec.labels == NULL)
			rc = dy_errf(err, "out of memory");
	}
	if (rc == 0 && dy_image_write(&spec, out_path, res, err) < 0)
		rc = dy_err_wrap(err, "%s:%zu: component %s", m->path, c->line, c->name);
	for (k = 0; k < c->nlines; k++)
		if (c->lines[k].kind == DY_LINE_LAYER && b.ents && b.owned) {
			char tmp[4096];
			snprintf(tmp, sizeof(tmp), "%s.%zu", out_path, k);
			unlink(tmp);
		}
	for (k = 0; b.owned && k < b.nowned; k++)
		free(b.owned[k]);
	free(b.owned);
	free(b.words);
	free(b.ents);
	return rc;
}
