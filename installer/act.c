/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Actions: done, or only recorded in plan mode; the paths they work on;
 * the files and directories they write, each only when it differs.
 */
#include "act.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xio.h"

void
act_print(const struct run *r, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	int n;

	if (r->o->out == NULL)
		return;
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n >= 0)
		r->o->out(text, (size_t)n, r->o->out_ctx);
	free(text);
}

void
act(struct run *r, const char *kind, const char *path, const char *object, const char *fmt, ...)
{
	char what[PATH_BUF + 256];
	size_t verb;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	r->changes++;
	if (r->plan != NULL)
		json_array_append_new(r->plan, json_pack("{s:s,s:s?,s:s?}", "kind", kind, "path",
							 path, "object", object));
	if (!r->dry)
		dy_say(DY_VERBOSE, "%s", what);
	else if (!r->o->json) {
		verb = strcspn(what, " ");
		act_print(r, "  %-9.*s %s\n", (int)verb, what, what[verb] ? what + verb + 1 : "");
	}
}

/* Tests kill the installer at named points (DOCKYARD_FAULT_AT=NAME) to
 * show that a re-run converges from each of them. */
void
act_fault_point(const char *name)
{
	const char *want = getenv("DOCKYARD_FAULT_AT");

	if (want != NULL && strcmp(want, name) == 0)
		raise(SIGKILL);
}

/* ---- paths ---- */

int
act_root_path(const struct run *r, char *buf, size_t size, const char *rel, struct dy_err *err)
{
	if ((size_t)snprintf(buf, size, "%s/%s", r->root, rel) >= size)
		return dy_errf(err, "path %s/%s is too long", r->root, rel);
	return 0;
}

int
act_join_path(char *buf, size_t size, const char *dir, const char *rel, struct dy_err *err)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, rel) >= size)
		return dy_errf(err, "path %s/%s is too long", dir, rel);
	return 0;
}

int
act_host_path(const struct dy_install_opts *o, char *buf, size_t size, const char *path,
	      struct dy_err *err)
{
	if ((size_t)snprintf(buf, size, "%s%s", o->sysroot, path) >= size)
		return dy_errf(err, "path %s%s is too long", o->sysroot, path);
	return 0;
}

/* ROOT's sibling ".NAME.SUFFIX" (its lock, a destroy's state), below
 * prefix.  The root rule makes ROOT absolute with no trailing '/'. */
int
beside_root(const char *prefix, const char *root, const char *suffix, char *buf, size_t size,
	    struct dy_err *err)
{
	const char *slash = strrchr(root, '/');

	if (slash == NULL || (size_t)snprintf(buf, size, "%s%.*s/.%s.%s", prefix,
					      (int)(slash - root), root, slash + 1, suffix) >= size)
		return dy_errf(err, "the path .%s beside %s is too long", suffix, root);
	return 0;
}

/* ---- files ---- */

/* 1 when path holds exactly data with mode, 0 when not (or absent). */
static int
file_matches(const char *path, const char *data, size_t len, unsigned mode)
{
	struct stat st;
	char *buf;
	int fd, same = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len &&
	    (st.st_mode & 07777) == mode && (buf = malloc(len + 1)) != NULL) {
		same = dy_read_full(fd, buf, len) == 0 && memcmp(buf, data, len) == 0;
		free(buf);
	}
	close(fd);
	return same;
}

/* Write path (host path; shown as display) unless it already holds data. */
int
act_put_file(struct run *r, const char *path, const char *display, const char *data, size_t len,
	     unsigned mode, struct dy_err *err)
{
	if (file_matches(path, data, len, mode))
		return 0;
	act(r, "write", display, NULL, "%s %s", access(path, F_OK) == 0 ? "update" : "write",
	    display);
	if (r->dry)
		return 1;
	if (dy_write_file_atomic(path, data, len, mode, err) < 0)
		return -1;
	return 1;
}

int
act_put_root_file(struct run *r, const char *rel, const char *data, size_t len, unsigned mode,
		  struct dy_err *err)
{
	char path[PATH_BUF];

	if (act_root_path(r, path, sizeof(path), rel, err) < 0)
		return -1;
	return act_put_file(r, path, path, data, len, mode, err);
}

int
act_ensure_dir(struct run *r, const char *path, unsigned mode, struct dy_err *err)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		return dy_errf(err, "%s exists and is not a directory", path);
	}
	act(r, "mkdir", path, NULL, "mkdir %s", path);
	if (r->dry)
		return 1;
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return dy_errnof(err, "cannot create directory %s", path);
	if (chmod(path, mode) < 0)
		return dy_errnof(err, "cannot set the mode of %s", path);
	return 1;
}

int
act_remove_at_root(const struct run *r, const char *rel, struct dy_err *err)
{
	int dfd = open(r->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (dfd < 0)
		return dy_errnof(err, "cannot open %s", r->root);
	rc = dy_remove_tree_at(dfd, rel, err);
	close(dfd);
	return rc;
}
