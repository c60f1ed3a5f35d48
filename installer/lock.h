/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The installer's two locks: the root's (one installer per root, a file
 * beside it) and the host's (one installer at a time between reading the
 * registry for conflicts and writing its entry).
 */
#ifndef DY_LOCK_H
#define DY_LOCK_H

#include <stddef.h>

#include "../common/err.h"
#include "act.h"
#include "install.h"

struct lock {
	int fd;			  /* the root's lock, held until the run ends */
	int made;		  /* this run created the lock file ... */
	char dirs_made[PATH_BUF]; /* ... and the directories from this one down */
	int host_fd;		  /* the host's lock; -1 once released */
};

void lock_init(struct lock *l);
/* Close what is still held. */
void lock_free(struct lock *l);

/* The root's lock file: prefix (the sysroot, or "" for the path the
 * running system sees) + ROOT's sibling .BASENAME.dockyard-lock. */
int lock_path(const char *prefix, const char *root, char *buf, size_t size, struct dy_err *err);

/* Take the host's lock (waiting for it). */
int lock_take_host(const struct dy_install_opts *o, struct lock *l, struct dy_err *err);
void lock_release_host(struct lock *l);

/* Take root's lock: -1 with kind DY_ERR_LOCKED when another installer
 * holds it (and o->wait_lock is off). */
int lock_take(const struct dy_install_opts *o, const char *root, struct lock *l,
	      struct dy_err *err);
/* After a failed stage nothing else has been written: remove the lock
 * file and the directories this run made for it. */
void lock_drop_fresh(const struct dy_install_opts *o, const char *root, struct lock *l);

#endif
