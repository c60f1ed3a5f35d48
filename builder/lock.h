/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lock file beside a manifest pins the sha256 of every artifact, like
 * go.sum: one line per (component, version, architecture):
 *
 *   # comment
 *   docker 29.2.1 x86_64 995b1d0b...cf93a3 https://download.docker.com/.../docker-29.2.1.tgz
 *   sysbox 0.6.7.9-tc x86_64 pending https://github.com/.../sysbox-static-x86_64.tar.gz
 *
 * The last field is the source the digest was taken from (a URL, or
 * path:P for a local artifact); a manifest that now names another source
 * no longer matches the entry.  "pending" marks a digest nobody could
 * pin yet: a build refuses it and says how to pin it.
 */
#ifndef DY_LOCK_H
#define DY_LOCK_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../verify/sha256.h"

struct dy_lock_entry {
	char component[65];
	char version[65];
	char arch[16];
	int pending;
	uint8_t sha256[DY_SHA256_LEN];
	char *source;
	size_t line;
};

struct dy_lock {
	char *path;
	struct dy_lock_entry *entries;
	size_t n;
};

/* A missing file is an empty lock when missing_ok is set. */
int dy_lock_load(const char *path, int missing_ok, struct dy_lock *l, struct dy_err *err);
int dy_lock_parse(const char *name, const char *buf, size_t len, struct dy_lock *l,
		  struct dy_err *err);
void dy_lock_free(struct dy_lock *l);

const struct dy_lock_entry *dy_lock_find(const struct dy_lock *l, const char *component,
					 const char *version, const char *arch);
/* Add or replace; sha256 NULL means pending. */
int dy_lock_set(struct dy_lock *l, const char *component, const char *version, const char *arch,
		const char *source, const uint8_t *sha256, struct dy_err *err);
/* Write sorted, to a temporary file renamed over path. */
int dy_lock_write(const struct dy_lock *l, const char *path, struct dy_err *err);

/* FILE.manifest -> FILE.lock; anything else -> NAME.lock (malloc'd). */
char *dy_lock_path_for(const char *manifest_path);

#endif
