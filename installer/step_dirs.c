/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layout's directories: created when missing, never emptied.  The
 * receipt lists the root when an install made it, else the top-level
 * directories an install made in it.
 */
#include "steps.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
	const char *rel;
	unsigned mode;
} layout[] = {
	{ "etc", 0755 },
	{ "etc/isolation.d", 0755 },
	{ "lib", 0711 },
	{ "lib/docker", 0710 },
	{ "lib/containerd", 0711 },
	{ "lib/docker-config", 0755 },
	{ "log", 0750 },
	{ "run", 0755 },
};

/* The root itself; whole is its receipt line ("dir ROOT"). */
static int
root_dir(struct run *r, const struct instance *in, const struct stage *stg, const char *whole,
	 struct dy_receipt *receipt, struct dy_err *err)
{
	char path[PATH_BUF];
	struct stat st;
	int made;

	made = act_ensure_dir(r, r->root, 0755, err);
	if (made < 0 || ((made || stg->root_made) && !dy_receipt_has(receipt, whole) &&
			 dy_receipt_add(receipt, err, "%s", whole) < 0))
		return -1;
	/* In a root the install did not make (a mount point, say), the
	 * receipt lists the top-level directories it made instead. */
	if (!dy_receipt_has(receipt, whole) &&
	    (act_root_path(r, path, sizeof(path), "bin", err) < 0 ||
	     (lstat(path, &st) < 0 &&
	      dy_receipt_add(receipt, err, "dir %s/bin", in->cfg.root) < 0)))
		return -1;
	return 0;
}

int
step_dirs(struct run *r, const struct instance *in, const struct stage *stg,
	  struct dy_receipt *receipt, struct dy_err *err)
{
	char path[PATH_BUF], whole[DY_ROOT_MAX + 8];
	size_t i;
	int made;

	snprintf(whole, sizeof(whole), "dir %s", in->cfg.root);
	if (root_dir(r, in, stg, whole, receipt, err) < 0)
		return -1;
	for (i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
		if (act_root_path(r, path, sizeof(path), layout[i].rel, err) < 0)
			return -1;
		made = act_ensure_dir(r, path, layout[i].mode, err);
		if (made < 0)
			return -1;
		if (made && strchr(layout[i].rel, '/') == NULL && !dy_receipt_has(receipt, whole) &&
		    dy_receipt_add(receipt, err, "dir %s/%s", in->cfg.root, layout[i].rel) < 0)
			return -1;
	}
	return 0;
}
