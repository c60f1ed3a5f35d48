/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lowest layer of an install: one run's context, and the actions the
 * steps take through it.  An action is done (and said at -v), or, in plan
 * mode, only recorded.  Paths inside the root and beside it.  Nothing here
 * calls a step or the driver (install.c).
 */
#ifndef DY_ACT_H
#define DY_ACT_H

#include <jansson.h>
#include <stddef.h>

#include "../common/err.h"
#include "config.h"
#include "install.h"

#define PATH_BUF (DY_ROOT_MAX + 256)

/* What every step reads (o, root, dry) and adds to (plan, changes). */
struct run {
	const struct dy_install_opts *o;
	char root[PATH_BUF]; /* host path: sysroot + the configured root */
	int dry;	     /* plan mode: record, change nothing */
	json_t *plan;	     /* actions done or planned, with --json */
	size_t changes;	     /* actions taken (or planned) */
};

/* An action.  kind, path (host path or NULL) and object (a name or NULL)
 * are what --json prints; the text ("VERB WHAT") is what people read. */
void act(struct run *r, const char *kind, const char *path, const char *object, const char *fmt,
	 ...) __attribute__((format(printf, 5, 6)));
/* Text for the run's output (o->out): plan lines, --json documents. */
void act_print(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Tests kill the installer here when DOCKYARD_FAULT_AT names the point. */
void act_fault_point(const char *name);

/* ROOT/rel, dir/rel, and a path of the system (sysroot + path). */
int act_root_path(const struct run *r, char *buf, size_t size, const char *rel, struct dy_err *err);
int act_join_path(char *buf, size_t size, const char *dir, const char *rel, struct dy_err *err);
int act_host_path(const struct dy_install_opts *o, char *buf, size_t size, const char *path,
		  struct dy_err *err);
/* prefix + ROOT's sibling ".BASENAME.SUFFIX": its lock ("dockyard-lock")
 * and the state a destroy keeps ("dockyard-destroy"), outside the tree
 * destroy removes.  scripts/70-destroy.sh (ds_root) names them alike. */
int beside_root(const char *prefix, const char *root, const char *suffix, char *buf, size_t size,
		struct dy_err *err);

/* Write path atomically unless it already holds exactly data and mode:
 * 1 written (or planned), 0 unchanged, -1 error. */
int act_put_file(struct run *r, const char *path, const char *display, const char *data, size_t len,
		 unsigned mode, struct dy_err *err);
/* The same for ROOT/rel. */
int act_put_root_file(struct run *r, const char *rel, const char *data, size_t len, unsigned mode,
		      struct dy_err *err);
/* mkdir with mode unless a directory is there: 1 made, 0 there, -1 error. */
int act_ensure_dir(struct run *r, const char *path, unsigned mode, struct dy_err *err);
/* Remove ROOT/rel (a tree), not following links; absent is fine. */
int act_remove_at_root(const struct run *r, const char *rel, struct dy_err *err);

#endif
