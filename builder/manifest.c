/* SPDX-License-Identifier: Apache-2.0 */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xio.h"

const char *const dy_arch_names[DY_NARCH + 1] = { "x86_64", "aarch64", "any" };

struct parser {
	struct dy_manifest *m;
	const char *name;
	size_t line;
	struct dy_err *err;
};

static void
component_free(struct dy_mcomponent *c)
{
	size_t i;

	for (i = 0; i < c->nlines; i++)
		free(c->lines[i].src);
	for (i = 0; i <= DY_NARCH; i++) {
		free(c->url[i]);
		free(c->path[i]);
	}
	free(c->lines);
	free(c->tag);
	free(c->env);
	free(c->cmd);
	free(c->labels);
	free(c->license_file);
	free(c->license_member);
}

void
dy_manifest_free(struct dy_manifest *m)
{
	size_t i;

	for (i = 0; i < m->ncomponents; i++)
		component_free(&m->components[i]);
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

int
dy_arch_parse(const char *s, enum dy_arch *arch)
{
	int i;

	for (i = 0; i < DY_NARCH; i++)
		if (strcmp(s, dy_arch_names[i]) == 0) {
			*arch = (enum dy_arch)i;
			return 0;
		}
	return -1;
}

const char *
dy_mcomponent_artifact(const struct dy_mcomponent *c, enum dy_arch arch, int *is_path,
		       const char **arch_key)
{
	const int tries[2] = { (int)arch, DY_ARCH_ANY };
	int i;

	for (i = 0; i < 2; i++) {
		*arch_key = dy_arch_names[tries[i]];
		*is_path = c->path[tries[i]] != NULL;
		if (c->url[tries[i]] || c->path[tries[i]])
			return c->url[tries[i]] ? c->url[tries[i]] : c->path[tries[i]];
	}
	return NULL;
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
	int is_default = 1;

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
			is_default = 0;
	c = realloc(p->m->components, (p->m->ncomponents + 1) * sizeof(*c));
	if (c == NULL)
		return dy_errf(p->err, "out of memory");
	p->m->components = c;
	c = &c[p->m->ncomponents++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->line = p->line;
	c->is_default = is_default;
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

/* Destinations are unique within a component; across components the
 * check needs the selection and happens when the build is planned. */
static int
dest_taken(const struct dy_mcomponent *c, const char *dest, size_t *line)
{
	size_t i;

	for (i = 0; i < c->nlines; i++)
		if (strcmp(c->lines[i].dest, dest) == 0) {
			*line = c->lines[i].line;
			return 1;
		}
	return 0;
}

static int
add_line(struct parser *p, struct dy_mcomponent *c, enum dy_mline_kind kind, const char *src,
	 const char *dest, const char *mode)
{
	struct dy_mline *l;
	struct dy_err sub;
	size_t other;
	unsigned m;

	if (dy_member_path_valid(dest, &sub) < 0)
		return perr(p, "destination: %s", sub.msg);
	if (mode == NULL)
		m = 0777; /* a symbolic link */
	else if (parse_mode(mode, &m) < 0)
		return perr(p, "mode '%s' must be 3 or 4 octal digits, at most 0777", mode);
	if (dest_taken(c, dest, &other))
		return perr(p, "destination %s is already used at line %zu", dest, other);
	l = realloc(c->lines, (c->nlines + 1) * sizeof(*l));
	if (l == NULL)
		return dy_errf(p->err, "out of memory");
	c->lines = l;
	l = &l[c->nlines];
	memset(l, 0, sizeof(*l));
	if (src != NULL && (l->src = strdup(src)) == NULL)
		return dy_errf(p->err, "out of memory");
	snprintf(l->dest, sizeof(l->dest), "%s", dest);
	l->kind = kind;
	l->mode = m;
	l->line = p->line;
	c->nlines++;
	return 0;
}

/* `layer COMPONENT PATH -> DEST MODE` and `link TARGET -> DEST`. */
static int
image_line(struct parser *p, struct dy_mcomponent *c, const char *word, char **f, int n)
{
	struct dy_err sub;

	if (strcmp(word, "link") == 0) {
		if (n != 3 || strcmp(f[1], "->") != 0)
			return perr(p, "expected 'link TARGET -> DEST'");
		if (f[0][0] == '\0' || strlen(f[0]) > DY_MEMBER_PATH_MAX)
			return perr(p, "link target '%.40s' must be 1..%d bytes", f[0],
				    DY_MEMBER_PATH_MAX);
		return add_line(p, c, DY_LINE_LINK, f[0], f[2], NULL);
	}
	if (n != 5 || strcmp(f[2], "->") != 0)
		return perr(p, "expected 'layer COMPONENT PATH -> DEST MODE'");
	if (dy_component_name_valid(f[0], &sub) < 0)
		return perr(p, "layer: %s", sub.msg);
	if (add_line(p, c, DY_LINE_LAYER, f[1], f[3], f[4]) < 0)
		return -1;
	snprintf(c->lines[c->nlines - 1].from, sizeof(c->lines->from), "%s", f[0]);
	return 0;
}

/* WORD SRC -> DEST MODE, or `install DEST MODE`. */
static int
content_line(struct parser *p, struct dy_mcomponent *c, const char *word, char *rest)
{
	char *f[6], *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(rest, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n == 6)
			break;
		f[n++] = tok;
	}
	if (strcmp(word, "layer") == 0 || strcmp(word, "link") == 0)
		return image_line(p, c, word, f, n);
	if (strcmp(word, "install") == 0) {
		if (n != 2)
			return perr(p, "expected 'install DEST MODE'");
		return add_line(p, c, DY_LINE_INSTALL, NULL, f[0], f[1]);
	}
	if (n != 4 || strcmp(f[1], "->") != 0)
		return perr(p, "expected '%s SRC -> DEST MODE'", word);
	if (strcmp(word, "file") == 0)
		return add_line(p, c, DY_LINE_FILE, f[0], f[2], f[3]);
	if (strcmp(word, "member") == 0)
		return add_line(p, c, DY_LINE_MEMBER, f[0], f[2], f[3]);
	return add_line(p, c, DY_LINE_CONCAT, f[0], f[2], f[3]);
}

static int
set_once(struct parser *p, char *slot, size_t size, const char *key, const char *value,
	 const char *const *allowed)
{
	size_t i;

	if (slot[0] != '\0')
		return perr(p, "%s is set twice in this component", key);
	for (i = 0; allowed[i]; i++)
		if (strcmp(value, allowed[i]) == 0) {
			snprintf(slot, size, "%s", value);
			return 0;
		}
	return perr(p, "%s '%s' is not one of the allowed values", key, value);
}

/* license = SPDX expression; license-file / license-member = PATH */
static int
licence_key(struct parser *p, struct dy_mcomponent *c, const char *key, const char *value)
{
	char **slot = strcmp(key, "license-file") == 0 ? &c->license_file : &c->license_member;
	struct dy_err sub;

	if (strcmp(key, "license") == 0) {
		if (c->license[0] != '\0')
			return perr(p, "license is set twice in this component");
		if (dy_spdx_expr_valid(value, &sub) < 0)
			return perr(p, "component %s: %s", c->name, sub.msg);
		snprintf(c->license, sizeof(c->license), "%s", value);
		return 0;
	}
	if (*slot != NULL)
		return perr(p, "%s is set twice in this component", key);
	if (slot == &c->license_member && dy_member_path_valid(value, &sub) < 0)
		return perr(p, "%s: %s", key, sub.msg);
	if ((*slot = strdup(value)) == NULL)
		return dy_errf(p->err, "out of memory");
	c->license_line = p->line;
	return 0;
}

/* url / url.ARCH / path / path.ARCH */
static int
artifact_key(struct parser *p, struct dy_mcomponent *c, const char *key, const char *value)
{
	int is_url = strncmp(key, "url", 3) == 0;
	const char *suffix = key + (is_url ? 3 : 4);
	char **slot;
	enum dy_arch arch = DY_ARCH_ANY;

	if (*suffix == '.' && dy_arch_parse(suffix + 1, &arch) < 0)
		return perr(p, "unknown architecture in '%s' (known: x86_64, aarch64)", key);
	if (*value == '\0' || strpbrk(value, " \t") != NULL)
		return perr(p, "%s must be one word without spaces", key);
	if (is_url && strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0 &&
	    strncmp(value, "file://", 7) != 0)
		return perr(p, "%s '%.60s' must start with https://, http:// or file://", key,
			    value);
	slot = is_url ? &c->url[arch] : &c->path[arch];
	if (*slot != NULL)
		return perr(p, "%s is set twice in this component", key);
	if ((*slot = strdup(value)) == NULL)
		return dy_errf(p->err, "out of memory");
	if (c->artifact_line == 0)
		c->artifact_line = p->line;
	return 0;
}

/* REPO:TAG, lower-case repository path as docker accepts it. */
static int
tag_valid(const char *v)
{
	const char *colon = strrchr(v, ':');
	size_t i;

	if (colon == NULL || colon == v || colon[1] == '\0' || strlen(colon + 1) > 128)
		return 0;
	for (i = 0; v + i < colon; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789._/-", v[i]))
			return 0;
	for (i = 1; colon[i]; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
			    colon[i]))
			return 0;
	return v[0] != '.' && v[0] != '-' && v[0] != '/';
}

/* env and labels: space-separated KEY=VALUE words. */
static int
pairs_valid(const char *v)
{
	const char *w = v;

	while (*w) {
		size_t len = strcspn(w, " \t");
		const char *eq = memchr(w, '=', len);
		if (eq == NULL || eq == w)
			return 0;
		w += len;
		w += strspn(w, " \t");
	}
	return 1;
}

static int
image_key(struct parser *p, struct dy_mcomponent *c, const char *key, const char *value)
{
	char **slot = key[0] == 't'   ? &c->tag
		      : key[0] == 'e' ? &c->env
		      : key[0] == 'c' ? &c->cmd
				      : &c->labels;

	if (*slot != NULL)
		return perr(p, "%s is set twice in this component", key);
	if (*value == '\0')
		return perr(p, "%s is empty", key);
	if (key[0] == 't' && !tag_valid(value))
		return perr(p,
			    "tag '%.80s' must be REPO:TAG (repository [a-z0-9._/-], tag "
			    "[A-Za-z0-9._-])",
			    value);
	if ((key[0] == 'e' || key[0] == 'l') && !pairs_valid(value))
		return perr(p, "%s must be space-separated KEY=VALUE words", key);
	if ((*slot = strdup(value)) == NULL)
		return dy_errf(p->err, "out of memory");
	return 0;
}

static int
key_value(struct parser *p, struct dy_mcomponent *c, char *s, char *eq)
{
	static const char *const kinds[] = { "file", "tar", "tgz", "deb", "image", NULL };
	static const char *const roles[] = { "image", NULL };
	static const char *const rundirs[] = { "args", "env", NULL };
	static const char *const yes[] = { "yes", NULL };
	char *key, *value, flag[4] = "";
	struct dy_err sub;

	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (strcmp(key, "version") == 0) {
		if (c->version[0] != '\0')
			return perr(p, "version is set twice in component %s", c->name);
		if (dy_version_valid(value, &sub) < 0)
			return perr(p, "%s", sub.msg);
		snprintf(c->version, sizeof(c->version), "%s", value);
		return 0;
	}
	if (strcmp(key, "kind") == 0)
		return set_once(p, c->kind, sizeof(c->kind), key, value, kinds);
	if (strcmp(key, "role") == 0)
		return set_once(p, c->role, sizeof(c->role), key, value, roles);
	if (strcmp(key, "sysbox-run-dir") == 0)
		return set_once(p, c->sysbox_run_dir, sizeof(c->sysbox_run_dir), key, value,
				rundirs);
	if (strcmp(key, "optional") == 0) {
		if (c->optional)
			return perr(p, "optional is set twice in this component");
		if (set_once(p, flag, sizeof(flag), key, value, yes) < 0)
			return -1;
		c->optional = 1;
		return 0;
	}
	if (strcmp(key, "license") == 0 || strcmp(key, "license-file") == 0 ||
	    strcmp(key, "license-member") == 0)
		return licence_key(p, c, key, value);
	if (strncmp(key, "url", 3) == 0 || strncmp(key, "path", 4) == 0)
		if (key[key[0] == 'u' ? 3 : 4] == '\0' || key[key[0] == 'u' ? 3 : 4] == '.')
			return artifact_key(p, c, key, value);
	if (strcmp(key, "tag") == 0 || strcmp(key, "env") == 0 || strcmp(key, "cmd") == 0 ||
	    strcmp(key, "labels") == 0)
		return image_key(p, c, key, value);
	return perr(p,
		    "unknown key '%s' (known: version, url, url.ARCH, path, path.ARCH, kind, "
		    "role, sysbox-run-dir, optional, tag, env, cmd, labels, license, license-file, "
		    "license-member)",
		    key);
}

static int
starts_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	return strncmp(s, word, n) == 0 && (s[n] == ' ' || s[n] == '\t');
}

static int
parse_line(struct parser *p, char *s)
{
	static const char *const words[] = { "file",  "member", "install", "concat",
					     "layer", "link",	NULL };
	struct dy_mcomponent *c;
	char *eq;
	int i;

	s = trim(s);
	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[')
		return section(p, s);
	c = current(p);
	if (c == NULL)
		return perr(p, "'%.40s' appears before any [component NAME] section", s);
	for (i = 0; words[i]; i++)
		if (starts_word(s, words[i]))
			return content_line(p, c, words[i], s + strlen(words[i]) + 1);
	eq = strchr(s, '=');
	if (eq == NULL)
		return perr(p,
			    "expected 'key = value' or a file/member/install/concat/layer/link "
			    "line, got "
			    "'%.40s'",
			    s);
	return key_value(p, c, s, eq);
}

static int
has_artifact(const struct dy_mcomponent *c)
{
	int i;

	for (i = 0; i <= DY_NARCH; i++)
		if (c->url[i] || c->path[i])
			return 1;
	return 0;
}

static int
count_lines(const struct dy_mcomponent *c, enum dy_mline_kind kind)
{
	size_t i;
	int n = 0;

	for (i = 0; i < c->nlines; i++)
		n += c->lines[i].kind == kind;
	return n;
}

static int
cerr(struct parser *p, const struct dy_mcomponent *c, const char *what)
{
	return dy_errf(p->err, "%s:%zu: component %s %s: %s", p->name, c->line, c->name, c->version,
		       what);
}

/* images/ below the root is the operator's: `dockyardctl start` loads
 * every archive there, so a payload file there would be loaded twice or,
 * dropped by a later payload, be taken for the operator's. */
static int
check_root_dests(struct parser *p, const struct dy_mcomponent *c, int image)
{
	char what[DY_MEMBER_PATH_MAX + 160];
	size_t i;

	for (i = 0; i < c->nlines; i++) {
		const char *d = c->lines[i].dest;
		if (image && c->lines[i].kind != DY_LINE_INSTALL)
			continue; /* a path inside the image's layer */
		if (strcmp(d, "images") != 0 && strncmp(d, "images/", 7) != 0)
			continue;
		snprintf(what, sizeof(what),
			 "line %zu: %s: images/ is the operator's directory of image archives "
			 "(loaded on every start); ship images elsewhere, e.g. share/images/",
			 c->lines[i].line, d);
		return cerr(p, c, what);
	}
	return 0;
}

/* kind = image: no artifact of its own; layer, link and file lines fill
 * the layer, one install line places the archive. */
static int
check_image(struct parser *p, const struct dy_mcomponent *c)
{
	int layers = count_lines(c, DY_LINE_LAYER) + count_lines(c, DY_LINE_FILE);

	if (has_artifact(c))
		return cerr(p, c,
			    "kind = image takes no url or path (its layer lines name "
			    "the components whose artifacts hold the files)");
	if (c->tag == NULL)
		return cerr(p, c, "kind = image needs 'tag = REPO:TAG'");
	if (count_lines(c, DY_LINE_INSTALL) != 1)
		return cerr(p, c,
			    "kind = image takes exactly one 'install DEST MODE' line (where "
			    "the archive goes)");
	if (layers == 0)
		return cerr(p, c, "kind = image needs 'layer' or 'file' lines");
	if (count_lines(c, DY_LINE_MEMBER) || count_lines(c, DY_LINE_CONCAT))
		return cerr(p, c, "kind = image takes layer, link, file and install lines only");
	if (c->role[0] && strcmp(c->role, "image") != 0)
		return cerr(p, c, "kind = image is role = image");
	return check_root_dests(p, c, 1);
}

/* The lines a component may hold follow from where its content comes from. */
static int
check_component(struct parser *p, const struct dy_mcomponent *c)
{
	int url = 0, path = 0, i;
	int members = count_lines(c, DY_LINE_MEMBER), installs = count_lines(c, DY_LINE_INSTALL);
	int locals = count_lines(c, DY_LINE_FILE) + count_lines(c, DY_LINE_CONCAT);

	if (strcmp(c->kind, "image") == 0)
		return check_image(p, c);
	if (check_root_dests(p, c, 0) < 0)
		return -1;
	if (c->tag || c->env || c->cmd || c->labels || count_lines(c, DY_LINE_LAYER) ||
	    count_lines(c, DY_LINE_LINK))
		return cerr(p, c, "tag, env, cmd, labels, layer and link belong to kind = image");
	for (i = 0; i <= DY_NARCH; i++) {
		url |= c->url[i] != NULL;
		path |= c->path[i] != NULL;
	}
	if (url && path)
		return cerr(p, c, "has both url and path; an artifact comes from one place");
	if (c->license_file && c->license_member)
		return cerr(p, c,
			    "has both license-file and license-member; the text comes from one");
	if (c->license_member && (c->kind[0] == '\0' || strcmp(c->kind, "file") == 0))
		return cerr(p, c, "license-member needs an archive (kind = tar, tgz or deb)");
	if (!has_artifact(c)) {
		if (c->kind[0] || members || installs)
			return cerr(p, c, "kind, member and install need a url or path");
		if (locals == 0)
			return cerr(p, c, "lists no 'file' or 'concat' lines");
		return 0;
	}
	if (locals)
		return cerr(p, c, "file and concat lines cannot be mixed with a url or path");
	if (c->kind[0] == '\0')
		return cerr(p, c, "has a url or path but no 'kind = file|tar|tgz|deb'");
	if (strcmp(c->kind, "file") == 0 && (installs != 1 || members))
		return cerr(p, c, "kind = file takes exactly one 'install DEST MODE' line");
	if (strcmp(c->kind, "file") != 0 && installs)
		return cerr(p, c, "an archive kind takes 'member PATH -> DEST MODE' lines");
	return 0;
}

/* A layer line names an artifact component; an archive component with no
 * member lines exists only to feed images, so some layer line must use it. */
static int
check_sources(struct parser *p, const struct dy_mcomponent *c)
{
	const struct dy_manifest *m = p->m;
	size_t i, k, n;
	int used = 0;

	for (i = 0; i < c->nlines; i++) {
		const struct dy_mline *l = &c->lines[i];
		if (l->kind != DY_LINE_LAYER)
			continue;
		for (n = 0, k = 0; k < m->ncomponents; k++)
			n += strcmp(m->components[k].name, l->from) == 0 &&
			     has_artifact(&m->components[k]);
		if (n == 0)
			return dy_errf(p->err,
				       "%s:%zu: layer names component %s, which the manifest does "
				       "not declare with a url or path",
				       p->name, l->line, l->from);
	}
	if (!has_artifact(c) || strcmp(c->kind, "file") == 0 || count_lines(c, DY_LINE_MEMBER))
		return 0;
	for (k = 0; k < m->ncomponents && !used; k++)
		for (i = 0; i < m->components[k].nlines && !used; i++)
			used = m->components[k].lines[i].kind == DY_LINE_LAYER &&
			       strcmp(m->components[k].lines[i].from, c->name) == 0;
	return used ? 0
		    : cerr(p, c,
			   "an archive kind takes 'member PATH -> DEST MODE' lines (or feeds "
			   "an image's layer lines)");
}

static int
finish(struct parser *p)
{
	size_t i, k;

	if (p->m->ncomponents == 0)
		return dy_errf(p->err, "%s: declares no [component NAME] section", p->name);
	for (i = 0; i < p->m->ncomponents; i++) {
		const struct dy_mcomponent *c = &p->m->components[i];
		if (c->version[0] == '\0')
			return dy_errf(p->err, "%s:%zu: component %s has no 'version = ...'",
				       p->name, c->line, c->name);
		for (k = 0; k < i; k++)
			if (strcmp(p->m->components[k].name, c->name) == 0 &&
			    strcmp(p->m->components[k].version, c->version) == 0)
				return dy_errf(p->err,
					       "%s:%zu: component %s %s is already declared at "
					       "line %zu",
					       p->name, c->line, c->name, c->version,
					       p->m->components[k].line);
		if (check_component(p, c) < 0 || check_sources(p, c) < 0)
			return -1;
		if (strcmp(c->kind, "image") == 0)
			snprintf(p->m->components[i].role, sizeof(c->role), "image");
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
	if (rc == 0 && len > 0 && memchr(buf, '\0', len) != NULL)
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
		if (strchr(line, '\r') != NULL) {
			rc = dy_errf(err, "%s:%zu: carriage return (CRLF line ending?); use LF",
				     name, p.line);
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
	char name[PATH_MAX + 16], *buf, *copy;
	size_t len;
	int fd, rc;

	memset(m, 0, sizeof(*m));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dy_errnof(err, "cannot open manifest %s", path);
	snprintf(name, sizeof(name), "manifest %s", path);
	rc = dy_read_small_fd(fd, name, DY_MANIFEST_MAX, &buf, &len, NULL, err);
	close(fd);
	if (rc < 0)
		return -1;
	copy = strdup(path);
	if (copy == NULL) {
		free(buf);
		return dy_errf(err, "out of memory");
	}
	rc = dy_manifest_parse(path, dirname(copy), buf, len, m, err);
	free(copy);
	free(buf);
	return rc;
}
