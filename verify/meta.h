/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Payload metadata: a small, strict, line-oriented text block stored after
 * the payload and covered by the trailer digest.  Example:
 *
 *   dockyard-payload 2
 *   built 1700000000
 *   arch x86_64
 *   component demo 0.1.0
 *   component sysbox 0.6.7.9-tc sysbox-run-dir=args
 *   dir 0755 bin
 *   file demo 0755 1234 <64 hex digits> bin/hello
 *   needs bin/hello /lib64/ld-linux-x86-64.so.2 libc.so.6
 *
 * Every line ends in LF; fields are separated by one space.  Entries are
 * sorted by path (byte order) with no duplicates, every parent directory
 * is listed before what it holds, and every file names a component listed
 * above it.  The tar stream must hold exactly these entries, in this order.
 * "needs" lines follow the last entry, sorted by path, one per dynamically
 * linked file: its ELF interpreter (an absolute path) and DT_NEEDED sonames.
 * Format 2 adds the "arch" line (the machine the stub and the payload's
 * binaries are built for); format 1, which predates it, is still read.
 */
#ifndef DY_META_H
#define DY_META_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "paths.h"
#include "sha256.h"

#define DY_META_FORMAT 2
#define DY_META_ARCH_MAX 15	      /* bytes of an architecture name */
#define DY_META_ARCH_FORMAT1 "x86_64" /* format 1 predates "arch": x86_64 stubs only */
#define DY_META_MAX (4u << 20)	      /* bytes of metadata text */
#define DY_META_MAX_ENTRIES 100000
#define DY_META_MAX_FILE_SIZE (1ull << 36) /* 64 GiB: far beyond any engine binary */

/*
 * Component attributes travel as "key=value" fields after the version:
 *   role=image             a docker-save/OCI tarball to load after first start
 *   sysbox-run-dir=args    sysbox-runc takes --run-dir in runtimeArgs (0.6.7.9-tc on)
 *   sysbox-run-dir=env     older forks: a wrapper exports SYSBOX_RUN_DIR
 */
#define DY_META_MAX_ATTRS 4

struct dy_attr {
	char key[33];
	char value[65];
};

struct dy_component {
	char name[65];
	char version[65];
	struct dy_attr attrs[DY_META_MAX_ATTRS];
	size_t nattrs;
};

struct dy_entry {
	char path[DY_MEMBER_PATH_MAX + 1];
	int is_dir;
	unsigned mode; /* permission bits only: no setuid/setgid/sticky */
	uint64_t size; /* 0 for directories */
	uint8_t sha256[DY_SHA256_LEN];
	size_t component; /* index into components; files only */
};

/* The host libraries one packed file needs to run. */
#define DY_META_MAX_NEED_LIBS 64
#define DY_META_LIB_MAX 255 /* bytes of one soname or interpreter path */

struct dy_need {
	size_t entry; /* index into entries: a file */
	size_t nlibs;
	char **libs; /* sonames, or the interpreter as an absolute path */
};

struct dy_meta {
	uint64_t built; /* SOURCE_DATE_EPOCH of the build */
	/* "x86_64" or "aarch64" (format 2); "" for format 1, which formats
	 * back as format 1: see dy_meta_arch(). */
	char arch[DY_META_ARCH_MAX + 1];
	size_t ncomponents;
	struct dy_component *components;
	size_t nentries;
	struct dy_entry *entries;
	size_t nneeds;
	struct dy_need *needs; /* sorted by entry, at most one per entry */
};

void dy_meta_init(struct dy_meta *m);
void dy_meta_free(struct dy_meta *m);

int dy_meta_add_component(struct dy_meta *m, const char *name, const char *version,
			  struct dy_err *err);
/* Add a known attribute (see above) to the last component added. */
int dy_meta_add_attr(struct dy_meta *m, const char *key, const char *value, struct dy_err *err);
/* The value of key for component c, or NULL. */
const char *dy_meta_attr(const struct dy_component *c, const char *key);

/* Adds an entry; call dy_meta_finish() after the last one. */
int dy_meta_add_entry(struct dy_meta *m, const struct dy_entry *e, struct dy_err *err);
/* Sort entries, add missing parent directories (0755), check the rules. */
int dy_meta_finish(struct dy_meta *m, struct dy_err *err);

/* Serialize to a malloc'd buffer. */
int dy_meta_format(const struct dy_meta *m, char **out, size_t *len, struct dy_err *err);
/* Parse strictly; on error m is left empty and err names the line. */
int dy_meta_parse(const char *buf, size_t len, struct dy_meta *m, struct dy_err *err);

/* A soname ([A-Za-z0-9._+-]+, not "." or "..") or an absolute path made of
 * such components: what a needs line may name. */
int dy_meta_lib_valid(const char *lib, struct dy_err *err);
/* Record that file path needs libs (after dy_meta_finish: entries must be
 * final).  Lines may be added in any order; each path at most once. */
int dy_meta_add_need(struct dy_meta *m, const char *path, const char *const *libs, size_t nlibs,
		     struct dy_err *err);
/* Every library any file needs, sorted and without duplicates: a malloc'd
 * array of pointers into m (free only the array; NULL when n is 0). */
int dy_meta_needed_libs(const struct dy_meta *m, const char ***libs, size_t *n, struct dy_err *err);

/* Is name an architecture an installer can be built for ("x86_64", "aarch64")? */
int dy_meta_arch_valid(const char *name, struct dy_err *err);
/* The payload's architecture: m->arch, or DY_META_ARCH_FORMAT1 for format 1. */
const char *dy_meta_arch(const struct dy_meta *m);

const struct dy_entry *dy_meta_find(const struct dy_meta *m, const char *path);
uint64_t dy_meta_total_size(const struct dy_meta *m);

#endif
