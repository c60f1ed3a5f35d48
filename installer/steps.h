/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install steps, in the order install.c (the driver) runs them.  A
 * step calls down (act.h, lock.h and the installer's modules), never back
 * up into the driver, and takes only the state it reads and writes.
 * Internal to the installer: the public interface is install.h.
 */
#ifndef DY_STEPS_H
#define DY_STEPS_H

#include <jansson.h>
#include <stddef.h>

#include "../common/err.h"
#include "../verify/image.h"
#include "act.h"
#include "config.h"
#include "install.h"
#include "preflight.h"
#include "receipt.h"
#include "render.h"

#define SUBID_COUNT 65536u
#define STAGING_NAME ".payload-new"
#define PAYLOAD_META "etc/payload.meta"

/* The instance being installed: set up once, read by every step. */
struct instance {
	struct dy_image *img;
	struct dy_config cfg;
	enum dy_runtime_mode mode;
	char unit_name[64];
	char unit_path[PATH_BUF]; /* path on the running system */
	char group[32];
};

/* What the stage and the swap found and did: the start step and the
 * rollback of a failed run act on it. */
struct stage {
	int current;   /* the installed payload is this one: no extraction */
	int root_made; /* this run created the root directory */
	int upgraded;  /* bin/ replaced; bin.prev holds the previous one */
	int extracted; /* this run extracted the payload */
};

/* What changed in the files the daemons read (render, binaries): how the
 * start step applies it. */
struct restart {
	int needed;	 /* a file the daemons read changed: restart */
	int reload_only; /* daemon.json changed in keys dockerd reloads only */
};

/* One rendered file (render.h: daemon.json, the unit, the wrappers ...). */
typedef int (*render_fn)(const struct dy_render_in *, struct dy_rendered *, struct dy_err *);

/* step_preflight.c: the root's path is safe to write below ... */
int step_check_root(const struct run *r, struct dy_err *err);
/* ... and the host has what the payload needs: -1 with kind
 * DY_ERR_PREFLIGHT when a check failed (without --force).  The report
 * waits in *report until the file is verified (preflight_report). */
int step_preflight(struct run *r, const struct instance *in, struct dy_preflight *report,
		   struct dy_err *err);
/* Say the report kept until the file was verified (once). */
void preflight_report(const struct run *r, struct dy_preflight *report);

/* step_receipt.c: the receipt as the last run wrote it, read under the
 * lock; written again once the system objects are in place. */
int step_load_receipt(const struct run *r, struct dy_receipt *receipt, struct dy_err *err);
int step_receipt(struct run *r, const struct instance *in, struct dy_receipt *receipt,
		 struct dy_err *err);

/* binaries.c: verify the file and stage the payload unless it is
 * installed already (first; a failure leaves nothing behind) ... */
int step_stage(struct run *r, const struct instance *in, struct dy_preflight *report,
	       struct stage *stg, struct dy_err *err);
/* ... then, after the layout, swap the staged bin/ in. */
int step_binaries(struct run *r, const struct instance *in, struct stage *stg, struct restart *rs,
		  struct dy_err *err);
/* A step between the two failed: remove the staging tree (and the root
 * when this run made it and it is still empty). */
void step_unstage(const struct run *r, struct stage *stg);

/* step_dirs.c: the layout's directories. */
int step_dirs(struct run *r, const struct instance *in, const struct stage *stg,
	      struct dy_receipt *receipt, struct dy_err *err);
/* step_render.c: dockyard.env, daemon.json, containerd.toml and the
 * unit, each from the configuration and the drop-ins. */
int step_render(struct run *r, const struct instance *in, json_t *dropins, struct restart *rs,
		struct dy_receipt *receipt, struct dy_err *err);
/* step_system.c: group, user, subids, AppArmor, registry entry, unit
 * link in an image tree, the root's group. */
int step_system(struct run *r, const struct instance *in, struct dy_receipt *receipt,
		struct dy_err *err);

/* start.c: start (or restart), wait for the API, roll back a failed
 * upgrade; then load the payload's images. */
int step_start(struct run *r, const struct instance *in, struct stage *stg, struct restart *rs,
	       struct dy_err *err);
int step_images(struct run *r, const struct instance *in, struct dy_err *err);
/* ROOT/images/ (once per file digest) and --images DIR, through
 * dockyardctl load-images; a refused directory leaves the instance
 * running with nothing of it loaded. */
int step_image_dirs(struct run *r, struct dy_err *err);
/* Plan mode: the start or restart that step_start would do, as an action. */
void step_plan_start(struct run *r, const struct instance *in, const struct stage *stg,
		     const struct restart *rs);

#endif
