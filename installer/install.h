/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Installing an instance from this installer's payload, the one file:
 * configuration, preflight, lock,
 * binaries with rollback, rendered files, system objects, receipt, start.
 * Every step is idempotent; a re-run on an installed root changes nothing.
 * In plan mode every action is described and nothing is changed.
 */
#ifndef DY_INSTALL_H
#define DY_INSTALL_H

#include <stddef.h>

#include "../common/err.h"
#include "../verify/image.h"
#include "config.h"

/* Exit statuses of the installer's commands (main.c picks them from
 * err.kind: the library returns 0 or -1). */
enum {
	DY_EXIT_OK = 0,
	DY_EXIT_FAIL = 1,      /* failed; nothing half-written (rolled back) */
	DY_EXIT_USAGE = 2,     /* bad command line or configuration */
	DY_EXIT_PREFLIGHT = 3, /* the host lacks something (--force overrides) */
	DY_EXIT_LOCKED = 4,    /* another installer works on this root */
};

#define DY_MAX_DNS 3

struct dy_install_opts {
	struct dy_config flags; /* values given as flags (flags.set) */
	const char *env_file;	/* --env FILE */
	const char *sysroot;	/* "" for this host */
	const char *key;	/* --key PUB.pem: signature required */
	char dns[DY_MAX_DNS][64];
	size_t ndns;
	int dns_set; /* --dns given (overrides detection; may be empty) */
	int dry_run; /* plan: describe only */
	int json;    /* plan/preflight: JSON */
	int force;   /* install despite failed preflight checks */
	int wait_lock;
	int no_start;
	int no_systemd;
	int no_images;
	int start_timeout; /* seconds to wait for the API */

	const char *images_dir; /* --images DIR: absolute, or NULL */

	/* Where plan lines, --json documents and the preflight report go
	 * (main.c: stdout); the library prints nothing itself.  NULL: nowhere. */
	void (*out)(const char *text, size_t len, void *ctx);
	void *out_ctx;
};

void dy_install_opts_init(struct dy_install_opts *o);

/* Resolve the configuration: flags, then --env, then the root's existing
 * etc/dockyard.env, then generated values; validated and checked against
 * the host.  Returns 0, or -1 with err (kind DY_ERR_USAGE for a bad
 * configuration). */
int dy_install_config(const struct dy_install_opts *o, struct dy_config *out, struct dy_err *err);

/* install (and plan when o->dry_run).  Returns 0, or -1 with err and its
 * kind: DY_ERR_USAGE, DY_ERR_PREFLIGHT, DY_ERR_LOCKED or DY_ERR_FAIL. */
int dy_install(struct dy_image *img, const struct dy_install_opts *o, struct dy_err *err);

/* preflight command: the checks' report to o->out; -1 with kind
 * DY_ERR_PREFLIGHT when one fails. */
int dy_install_preflight(struct dy_image *img, const struct dy_install_opts *o, struct dy_err *err);

/* uninstall: exec ROOT/bin/dockyardctl destroy with args; 0 when
 * nothing is installed, -1 with err otherwise. */
int dy_uninstall(const struct dy_install_opts *o, char *const extra[], struct dy_err *err);

#endif
