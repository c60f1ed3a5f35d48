/* SPDX-License-Identifier: Apache-2.0 */
/*
 * System objects outside the root: the instance's group and user, its
 * subordinate id ranges, the AppArmor fusermount3 block, and the instance
 * registry entry.  Each call is idempotent and returns 1 when it made a
 * change (in dry-run: would make one), 0 when everything was already in
 * place, -1 on error.  The /etc files are read directly, never through NSS
 * (the installer is static).  sysroot "" is the running host; otherwise
 * every path is below it and the shadow tools get --prefix.
 */
#ifndef DY_SYSOBJ_H
#define DY_SYSOBJ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"

struct dy_sys {
	const char *sysroot; /* "" for the host */
	int dry_run;	     /* describe, change nothing */
	/* Called once per change made or planned: its kind ("group", "user",
	 * "subid", "apparmor", "registry"), the file it changes, the object
	 * (a name) or NULL, and one line for people ("add group dy1docker"). */
	void (*note)(void *ctx, const char *kind, const char *path, const char *object,
		     const char *what);
	void *note_ctx;
};

/* Look a name up in sysroot/etc/group or sysroot/etc/passwd. 1 found, 0 not. */
int dy_sys_group_id(const struct dy_sys *s, const char *name, gid_t *gid, struct dy_err *err);
int dy_sys_user_id(const struct dy_sys *s, const char *name, uid_t *uid, struct dy_err *err);

/* groupadd --system NAME. */
int dy_sys_group_ensure(const struct dy_sys *s, const char *name, struct dy_err *err);
/* useradd --system --no-create-home --home-dir /nonexistent
 * --shell /usr/sbin/nologin --gid GROUP --comment COMMENT NAME.  An
 * existing user of that name must have GROUP as its primary group. */
int dy_sys_user_ensure(const struct dy_sys *s, const char *name, const char *group,
		       const char *comment, struct dy_err *err);

/* A range of count ids for user in sysroot/etc/subuid and etc/subgid (the
 * same start in both), at or above 100000 and overlapping no other entry;
 * kept when the user already has one of at least count.  Taken under
 * shadow's own lock protocol (FILE.lock hard link, stale pid detection),
 * the file rewritten atomically with its mode kept and other lines
 * untouched.  *start receives the range's first id.  A lock held by a live
 * process is waited for, 15 s by default; the environment variable
 * DOCKYARD_LOCK_TIMEOUT (whole seconds, 0-3600) changes that (tests).
 * Ranges start at multiples of 65536; a user's adequate range in one file
 * is completed in the other (an earlier run stopped between them). */
int dy_sys_subid_ensure(const struct dy_sys *s, const char *user, uint32_t count, uint32_t *start,
			struct dy_err *err);
/* The same with the range the operator chose (DOCKYARD_SYSBOX_SUBID_START):
 * kept when user has it, added when no other entry overlaps it, an error
 * naming the file otherwise. */
int dy_sys_subid_ensure_at(const struct dy_sys *s, const char *user, uint32_t start, uint32_t count,
			   struct dy_err *err);
/* Remove user's lines from both files (destroy; tests). */
int dy_sys_subid_remove(const struct dy_sys *s, const char *user, struct dy_err *err);

/* True when AppArmor is enabled (/sys/kernel/security/apparmor on the
 * host; sysroot/etc/apparmor.d for an image). */
int dy_sys_apparmor_present(const struct dy_sys *s);
/* The block for ROOT/lib/sysbox between "# BEGIN dockyard PREFIX" and
 * "# END dockyard PREFIX" in sysroot/etc/apparmor.d/local/fusermount3
 * (capability dac_override; mount fstype=fuse* and umount below the
 * path); replaced when it differs; the profile reloaded with
 * apparmor_parser -r on a live host (also when unchanged, so a re-run
 * repairs a failed reload).  path receives the file's path as seen by the
 * running system ("/etc/apparmor.d/local/fusermount3", without sysroot),
 * the form the receipt records. */
int dy_sys_apparmor_ensure(const struct dy_sys *s, const char *prefix, const char *root, char *path,
			   size_t pathsize, struct dy_err *err);

/* sysroot/etc/dockyard/instances/PREFIX holding "ROOT\n"; a different root
 * already registered under PREFIX is an error naming both. */
int dy_sys_registry_ensure(const struct dy_sys *s, const char *prefix, const char *root,
			   struct dy_err *err);

#endif
