/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Before anything is written: the root's path is one no unprivileged user
 * could swap out, and the host has what the payload needs.
 */
#include "steps.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/log.h"

/* One existing component of the root's path.  Inside an image tree a
 * symbolic link is refused (an absolute one would lead out of the tree);
 * above it, the host's own links are followed for the mode check. */
static int
check_component(const char *path, int in_tree, int is_root, struct dy_err *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 1 : dy_errnof(err, "cannot inspect %s", path);
	if (S_ISLNK(st.st_mode) && (is_root || in_tree))
		return dy_errf(err, "%s %s is a symbolic link: give the real path",
			       is_root ? "root" : "directory", path);
	if (S_ISLNK(st.st_mode) && stat(path, &st) < 0)
		return dy_errnof(err, "cannot inspect %s", path);
	if (!S_ISDIR(st.st_mode))
		return dy_errf(err, "%s %s exists and is not a directory",
			       is_root ? "root" : "directory", path);
	if ((st.st_mode & S_IWOTH) && (is_root || !(st.st_mode & S_ISVTX)))
		return dy_errf(err,
			       "%s is world-writable%s: anyone could replace the root; pick "
			       "another place",
			       path, is_root ? "" : " without the sticky bit");
	return 0;
}

/* The root is a real directory (or absent) and no unprivileged user could
 * swap it, or any directory above it, out from under us. */
int
step_check_root(const struct run *r, struct dy_err *err)
{
	size_t tree = strlen(r->o->sysroot), i, n = strlen(r->root);
	char path[PATH_BUF];
	int rc;

	for (i = 1; i <= n; i++) {
		if (i < n && r->root[i] != '/')
			continue;
		memcpy(path, r->root, i);
		path[i] = '\0';
		rc = check_component(path, tree > 0 && i > tree, i == n, err);
		if (rc < 0)
			return dy_err_kind(err, DY_ERR_USAGE);
		if (rc > 0)
			return 0;
	}
	return 0;
}

static void
say_preflight(const struct dy_preflight *p, int force)
{
	size_t i;

	for (i = 0; i < p->nchecks; i++) {
		const struct dy_check *c = &p->checks[i];
		if (c->ok)
			dy_say(DY_VERBOSE, "preflight %s: ok (%s)", c->name, c->detail);
		else if (c->warn_only)
			dy_warn("preflight %s: %s (%s)", c->name, c->detail, c->fix);
		else
			dy_error("preflight %s failed: %s\n  fix: %s", c->name, c->detail, c->fix);
	}
	if (p->failed > 0 && force)
		dy_warn("installing despite %zu failed preflight check%s (--force)", p->failed,
			p->failed == 1 ? "" : "s");
}

void
preflight_report(const struct run *r, struct dy_preflight *report)
{
	if (report->checks == NULL)
		return;
	say_preflight(report, r->o->force);
	dy_preflight_free(report);
}

/*
 * The checks read the metadata (library needs, sizes, sysbox), which is
 * trusted only once the file's digest matched.  A failure that stops the
 * install checks the digest first, so a damaged file reads as damaged;
 * otherwise the report waits for the stage's one pass to verify the file
 * (plan has verified it already).
 */
int
step_preflight(struct run *r, const struct instance *in, struct dy_preflight *report,
	       struct dy_err *err)
{
	struct dy_preflight_in pin = { &in->img->meta, in->cfg.root, r->o->sysroot };

	if (dy_preflight_run(&pin, report, err) < 0)
		return -1;
	if (report->failed > 0 && !r->o->force) {
		if (!in->img->digest_ok && dy_image_check_digest(in->img, err) < 0)
			return -1;
		say_preflight(report, 0);
		dy_errf(err,
			"%zu preflight check%s failed (see above); fix them, or pass --force "
			"to install anyway",
			report->failed, report->failed == 1 ? "" : "s");
		return dy_err_kind(err, DY_ERR_PREFLIGHT);
	}
	if (in->img->digest_ok)
		preflight_report(r, report);
	return 0;
}
