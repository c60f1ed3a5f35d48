/* SPDX-License-Identifier: Apache-2.0 */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xio.h"
#include "../verify/paths.h"

#define LOCK_MAX (1u << 20)

void
dy_lock_free(struct dy_lock *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->entries[i].source);
	free(l->entries);
	free(l->path);
	memset(l, 0, sizeof(*l));
}

const struct dy_lock_entry *
dy_lock_find(const struct dy_lock *l, const char *component, const char *version, const char *arch)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->entries[i].component, component) == 0 &&
		    strcmp(l->entries[i].version, version) == 0 &&
		    strcmp(l->entries[i].arch, arch) == 0)
			return &l->entries[i];
	return NULL;
}

int
dy_lock_set(struct dy_lock *l, const char *component, const char *version, const char *arch,
	    const char *source, const uint8_t *sha256, struct dy_err *err)
{
	struct dy_lock_entry *e = (struct dy_lock_entry *)dy_lock_find(l, component, version, arch);
	char *src = strdup(source);

	if (src == NULL)
		return dy_errf(err, "out of memory");
	if (e == NULL) {
		e = realloc(l->entries, (l->n + 1) * sizeof(*e));
		if (e == NULL) {
			free(src);
			return dy_errf(err, "out of memory");
		}
		l->entries = e;
		e = &e[l->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->component, sizeof(e->component), "%s", component);
		snprintf(e->version, sizeof(e->version), "%s", version);
		snprintf(e->arch, sizeof(e->arch), "%s", arch);
	}
	free(e->source);
	e->source = src;
	e->pending = sha256 == NULL;
	if (sha256)
		memcpy(e->sha256, sha256, DY_SHA256_LEN);
	return 0;
}

static int
parse_entry(struct dy_lock *l, const char *name, size_t lineno, char *s, struct dy_err *err)
{
	char *f[6], *tok, *save = NULL;
	uint8_t sha[DY_SHA256_LEN];
	struct dy_err sub;
	int n = 0;

	if (s[0] == ' ' || s[strlen(s) - 1] == ' ' || strstr(s, "  ") != NULL)
		return dy_errf(err, "%s:%zu: fields are separated by single spaces", name, lineno);
	for (tok = strtok_r(s, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (n == 6)
			break;
		f[n++] = tok;
	}
	if (n != 5)
		return dy_errf(err,
			       "%s:%zu: expected 'COMPONENT VERSION ARCH SHA256|pending SOURCE'",
			       name, lineno);
	if (dy_component_name_valid(f[0], &sub) < 0 || dy_version_valid(f[1], &sub) < 0)
		return dy_errf(err, "%s:%zu: %s", name, lineno, sub.msg);
	if (strcmp(f[2], "x86_64") != 0 && strcmp(f[2], "aarch64") != 0 && strcmp(f[2], "any") != 0)
		return dy_errf(err, "%s:%zu: architecture '%s' is not x86_64, aarch64 or any", name,
			       lineno, f[2]);
	if (strcmp(f[3], "pending") != 0 && dy_hex_decode(f[3], sha, DY_SHA256_LEN) < 0)
		return dy_errf(err,
			       "%s:%zu: '%.70s' is neither 64 lowercase hex digits nor pending",
			       name, lineno, f[3]);
	if (dy_lock_find(l, f[0], f[1], f[2]) != NULL)
		return dy_errf(err, "%s:%zu: %s %s %s is pinned twice", name, lineno, f[0], f[1],
			       f[2]);
	if (dy_lock_set(l, f[0], f[1], f[2], f[4], strcmp(f[3], "pending") ? sha : NULL, err) < 0)
		return -1;
	l->entries[l->n - 1].line = lineno;
	return 0;
}

int
dy_lock_parse(const char *name, const char *buf, size_t len, struct dy_lock *l, struct dy_err *err)
{
	char line[4096];
	size_t start = 0, end, lineno = 0;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	if ((l->path = strdup(name)) == NULL)
		return dy_errf(err, "out of memory");
	if (len > 0 && memchr(buf, '\0', len) != NULL)
		rc = dy_errf(err, "%s: contains a NUL byte; lock files are text", name);
	while (rc == 0 && start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		end = nl ? (size_t)(nl - buf) : len;
		lineno++;
		if (end - start >= sizeof(line)) {
			rc = dy_errf(err, "%s:%zu: line too long", name, lineno);
			break;
		}
		memcpy(line, buf + start, end - start);
		line[end - start] = '\0';
		start = end + 1;
		if (strchr(line, '\r') || strchr(line, '\t')) {
			rc = dy_errf(err,
				     "%s:%zu: carriage return or tab; lock files use LF and "
				     "single spaces",
				     name, lineno);
			break;
		}
		if (line[0] == '\0' || line[0] == '#')
			continue;
		rc = parse_entry(l, name, lineno, line, err);
	}
	if (rc < 0)
		dy_lock_free(l);
	return rc;
}

int
dy_lock_load(const char *path, int missing_ok, struct dy_lock *l, struct dy_err *err)
{
	char name[PATH_MAX + 16], *buf;
	size_t len;
	int fd, rc;

	memset(l, 0, sizeof(*l));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && missing_ok)
		return dy_lock_parse(path, "", 0, l, err);
	if (fd < 0)
		return dy_errnof(err, "cannot open lock file %s", path);
	snprintf(name, sizeof(name), "lock file %s", path);
	rc = dy_read_small_fd(fd, name, LOCK_MAX, &buf, &len, NULL, err);
	close(fd);
	if (rc < 0)
		return -1;
	rc = dy_lock_parse(path, buf, len, l, err);
	free(buf);
	return rc;
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct dy_lock_entry *x = a, *y = b;
	int c = strcmp(x->component, y->component);

	if (c == 0)
		c = strcmp(x->version, y->version);
	if (c == 0)
		c = strcmp(x->arch, y->arch);
	return c;
}

static int
format_lock(const struct dy_lock *l, char **out, size_t *len)
{
	struct dy_lock_entry *sorted;
	char hex[DY_SHA256_HEX];
	FILE *f;
	size_t i;

	sorted = malloc((l->n + 1) * sizeof(*sorted));
	if (sorted == NULL)
		return -1;
	if (l->n)
		memcpy(sorted, l->entries, l->n * sizeof(*sorted));
	qsort(sorted, l->n, sizeof(*sorted), cmp_entry);
	f = open_memstream(out, len);
	if (f == NULL) {
		free(sorted);
		return -1;
	}
	fputs("# dockyard lock: the sha256 of every artifact the manifest beside it names.\n"
	      "# Written by `dockyard-build lock`; review changes like code.\n"
	      "# component version arch sha256|pending source\n",
	      f);
	for (i = 0; i < l->n; i++) {
		const struct dy_lock_entry *e = &sorted[i];
		if (!e->pending)
			dy_hex_encode(e->sha256, DY_SHA256_LEN, hex);
		fprintf(f, "%s %s %s %s %s\n", e->component, e->version, e->arch,
			e->pending ? "pending" : hex, e->source);
	}
	free(sorted);
	return fclose(f) == 0 ? 0 : -1;
}

int
dy_lock_write(const struct dy_lock *l, const char *path, struct dy_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (format_lock(l, &text, &len) < 0) {
		free(text);
		return dy_errf(err, "out of memory formatting the lock file");
	}
	rc = dy_write_file_atomic(path, text, len, 0644, err);
	free(text);
	return rc;
}

char *
dy_lock_path_for(const char *manifest_path)
{
	size_t len = strlen(manifest_path);
	const char *suffix = ".manifest";
	size_t slen = strlen(suffix);
	char *out = malloc(len + 6);

	if (out == NULL)
		return NULL;
	if (len > slen && strcmp(manifest_path + len - slen, suffix) == 0)
		snprintf(out, len + 6, "%.*s.lock", (int)(len - slen), manifest_path);
	else
		snprintf(out, len + 6, "%s.lock", manifest_path);
	return out;
}
