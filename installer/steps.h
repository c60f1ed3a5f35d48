/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install steps' shared state and helpers (installer/install.c runs
 * the steps; binaries.c and start.c hold the two largest).  Internal to
 * the installer: the public interface is install.h.
 */
#ifndef DY_STEPS_H
#define DY_STEPS_H

#include <jansson.h>
#include <stddef.h>

#include "../common/err.h"
#include "../verify/image.h"
#include "config.h"
#include "install.h"
#include "preflight.h"
#include "receipt.h"
#include "render.h"

#define PATH_BUF (DY_ROOT_MAX + 256)
#define SUBID_COUNT 65536u
#define STAGING_NAME ".payload-new"
#define PAYLOAD_META "etc/payload.meta"

struct inst {
	const struct dy_install_opts *o;
	struct dy_image *img;
	struct dy_config cfg;
	enum dy_runtime_mode mode;
	char root[PATH_BUF]; /* host path: sysroot + cfg.root */
	char unit_name[64];
	char unit_path[PATH_BUF]; /* path on the running system */
	char group[32];
	int dry;
	json_t *plan;	 /* actions done or planned, with --json */
	json_t *dropins; /* etc/daemon.d merged, read before anything is written */
	size_t changes;
	int config_changed;   /* a file the daemons read changed: restart */
	int reload_only;      /* daemon.json changed in keys dockerd reloads only */
	int upgraded;	      /* bin/ replaced; bin.prev holds the previous one */
	int extracted;	      /* this run extracted the payload */
	int binaries_current; /* the installed payload is this one: no extraction */
	int root_made;	      /* this run created the root directory */
	int lockfd;
	int lock_made;		       /* this run created the lock file ... */
	char lock_dirs_made[PATH_BUF]; /* ... and these directories for it */
	int host_lockfd;	       /* held from configuration until the registry entry */
	struct dy_receipt receipt;
	struct dy_preflight preflight; /* its report, until the file is verified */
};

/* One rendered file (render.h: daemon.json, the unit, the wrappers ...). */
typedef int (*render_fn)(const struct dy_render_in *, struct dy_rendered *, struct dy_err *);

/* An action: done (and said at -v), or only recorded in plan mode.  kind,
 * path (host path or NULL) and object (a name or NULL) are what --json
 * prints; the text ("VERB WHAT") is what people read. */
void ins_act(struct inst *ins, const char *kind, const char *path, const char *object,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Print the preflight report kept until the file was verified (once). */
void ins_preflight_report(struct inst *ins);
/* Tests kill the installer here when DOCKYARD_FAULT_AT names the point. */
void ins_fault_point(const char *name);

int ins_root_path(const struct inst *ins, char *buf, size_t size, const char *rel,
		  struct dy_err *err);
int ins_join_path(char *buf, size_t size, const char *dir, const char *rel, struct dy_err *err);
/* prefix + ROOT's sibling ".BASENAME.SUFFIX": its lock ("dockyard-lock")
 * and the state a destroy keeps ("dockyard-destroy"), outside the tree
 * destroy removes.  scripts/70-destroy.sh (ds_root) names them alike. */
int beside_root(const char *prefix, const char *root, const char *suffix, char *buf, size_t size,
		struct dy_err *err);
/* Write path atomically unless it already holds exactly data and mode:
 * 1 written (or planned), 0 unchanged, -1 error. */
int ins_put_file(struct inst *ins, const char *path, const char *display, const char *data,
		 size_t len, unsigned mode, struct dy_err *err);
/* mkdir with mode unless a directory is there: 1 made, 0 there, -1 error. */
int ins_ensure_dir(struct inst *ins, const char *path, unsigned mode, struct dy_err *err);
/* Remove ROOT/rel (a tree), not following links; absent is fine. */
int ins_remove_at_root(struct inst *ins, const char *rel, struct dy_err *err);

/* binaries.c: verify the file and stage the payload unless it is
 * installed already (first; a failure leaves nothing behind) ... */
int step_stage(struct inst *ins, struct dy_err *err);
/* ... then, after the layout, swap the staged bin/ in. */
int step_binaries(struct inst *ins, struct dy_err *err);
/* A step between the two failed: remove the staging tree (and the root
 * when this run made it and it is still empty). */
void step_unstage(struct inst *ins);
/* start.c: start (or restart), wait for the API, roll back a failed
 * upgrade; then load the payload's images. */
int step_start(struct inst *ins, struct dy_err *err);
int step_images(struct inst *ins, struct dy_err *err);
/* ROOT/images/ (once per file digest) and --images DIR, through
 * dockyardctl load-images; a refused directory leaves the instance
 * running with nothing of it loaded. */
int step_image_dirs(struct inst *ins, struct dy_err *err);
/* Plan mode: the start or restart that step_start would do, as an action. */
void step_plan_start(struct inst *ins);

#endif
