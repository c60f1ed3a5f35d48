/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where each value of an instance's configuration comes from, in one
 * place.  A key takes its value from the first of these that has it:
 *   1. the flags (--root, --prefix, ...);
 *   2. the --env FILE, or without one the root's installed
 *      etc/dockyard.env (a re-run or an upgrade keeps its values);
 *   3. the instance registered with the same root;
 *   4. a generated value (dy_config_complete): the first free prefix,
 *      conflict-free networks, pool size 24.
 * The result is validated and checked against what the host uses.
 */
#ifndef DY_MERGE_H
#define DY_MERGE_H

#include "../common/err.h"
#include "config.h"

struct dy_config_sources {
	const struct dy_config *flags; /* values given as flags (flags->set) */
	const char *env_file;	       /* --env FILE, or NULL */
	const char *sysroot;	       /* "" for this host */
};

/* Sources 1 and 2 into out.  The root is required; a file that names
 * another DOCKYARD_ROOT is an error. */
int dy_config_merge_given(const struct dy_config_sources *src, struct dy_config *out,
			  struct dy_err *err);

/* Source 3: the keys out lacks from the instance h registers with out's
 * root (and prefix, when out has one). */
void dy_config_merge_registered(struct dy_config *out, const struct dy_host *h);

/* Sources 3 and 4, then the whole checked: valid, no conflict on h, a
 * storage driver the host offers. */
int dy_config_merge_rest(const struct dy_config_sources *src, const struct dy_host *h,
			 struct dy_config *out, struct dy_err *err);

#endif
