/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One build: manifest + lock -> select components -> fetch and verify
 * artifacts -> take members out -> pack the installer -> SHA256SUMS, SBOM
 * and build info beside it.  Also `lock`, which (re)pins the artifacts.
 * The CLI in main.c only fills dy_build_opts.
 */
#ifndef DY_BUILD_H
#define DY_BUILD_H

#include <stddef.h>

#include "../common/err.h"
#include "pack.h"

struct dy_build_opts {
	const char *manifest_path;
	const char *lock_path; /* NULL: FILE.lock beside FILE.manifest */
	const char *arch;      /* NULL: this machine's */
	const char *cache_dir; /* NULL: $XDG_CACHE_HOME/dockyard or ~/.cache/dockyard */
	const char *const *mirrors;
	size_t nmirrors;
	int offline;
	const char *const *selects; /* NAME=VERSION: pick an alternative */
	size_t nselects;
	const char *const *withs; /* optional components to include */
	size_t nwiths;
	int no_dist_files; /* skip SHA256SUMS, SBOM, build info */
	/* Where `concat` lines read scripts: scripts_dir (--scripts) when set;
	 * else the manifest's own relative path when it exists; else
	 * builtin_scripts_dir (fixed at build time) when set. */
	const char *scripts_dir;
	const char *builtin_scripts_dir;
	struct dy_pack_opts pack;
};

int dy_build(const struct dy_build_opts *o, struct dy_pack_result *res, struct dy_err *err);
/* Fetch every artifact of every component (all versions, both
 * architectures unless o->arch) and rewrite the lock file. */
int dy_lock_update(const struct dy_build_opts *o, struct dy_err *err);

#endif
