/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Payload manifest: what goes into an installer.  A small INI-like text
 * format meant to be reviewed in diffs:
 *
 *   # comment
 *   [component docker]
 *   version = 29.2.1
 *   url.x86_64 = https://download.docker.com/linux/static/stable/x86_64/docker-29.2.1.tgz
 *   url.aarch64 = https://download.docker.com/linux/static/stable/aarch64/docker-29.2.1.tgz
 *   kind = tgz
 *   member docker/dockerd -> bin/dockerd 0755
 *
 * Keys: version (required); url / url.ARCH or path / path.ARCH (an artifact
 * to fetch, or a local one relative to the manifest; ARCH is x86_64 or
 * aarch64); kind = file | tar | tgz | deb (how to read the artifact), or
 * image (a docker-archive the builder assembles: tag, env, cmd, labels;
 * `layer COMPONENT PATH -> DEST MODE`, `link TARGET -> DEST` and `file`
 * lines fill its one layer, `install DEST MODE` places the archive);
 * role = image (a docker-save tarball loaded after first start);
 * sysbox-run-dir = args | env (--run-dir in runtimeArgs, honoured from
 * sysbox 0.6.7.9-tc on, or SYSBOX_RUN_DIR for the forks 0.6.7.4-tc to
 * 0.6.7.8-tc that silently ignore it); optional = yes (built only
 * with --with NAME); license = SPDX-EXPRESSION, license-file = PATH (local,
 * relative to the manifest), license-member = PATH (inside the artifact):
 * the licence text goes to share/doc/NAME/ in the instance.
 *
 * Lines: `member PATH -> DEST MODE` takes PATH out of a tar/deb artifact;
 * `install DEST MODE` places a kind=file artifact itself; `file SRC -> DEST
 * MODE` packs a local file (relative to the manifest); `concat DIR -> DEST
 * MODE` packs the DIR/NN-name.sh scripts concatenated into one script.  DEST is a path inside
 * the instance root, MODE octal (<= 0777).
 *
 * A component name may appear in several sections with different versions:
 * the first is the default, the others are alternatives a build selects
 * with --select NAME=VERSION.  Parsing is strict: unknown keys, duplicates
 * and stray lines are FILE:LINE errors naming the rule.
 */
#ifndef DY_MANIFEST_H
#define DY_MANIFEST_H

#include <stddef.h>

#include "../common/err.h"
#include "../verify/paths.h"
#include "spdx.h"

#define DY_MANIFEST_MAX (1u << 20)
#define DY_MANIFEST_LINE_MAX 4096

enum dy_arch { DY_ARCH_X86_64, DY_ARCH_AARCH64, DY_NARCH };
#define DY_ARCH_ANY DY_NARCH /* index of the arch-independent url/path */

extern const char *const dy_arch_names[DY_NARCH + 1]; /* ..., "any" */

enum dy_mline_kind {
	DY_LINE_FILE,
	DY_LINE_MEMBER,
	DY_LINE_INSTALL,
	DY_LINE_CONCAT,
	DY_LINE_LAYER, /* kind = image: a member of another component's artifact */
	DY_LINE_LINK,  /* kind = image: a symbolic link in the layer (src: its target) */
};

struct dy_mline {
	enum dy_mline_kind kind;
	char *src;     /* member path, local file, script dir, link target; NULL for install */
	char from[65]; /* layer lines: the component whose artifact holds src */
	char dest[DY_MEMBER_PATH_MAX + 1];
	unsigned mode;
	size_t line;
};

struct dy_mcomponent {
	char name[65];
	char version[65];
	size_t line;
	char *url[DY_NARCH + 1];  /* by arch; [DY_ARCH_ANY] for `url =` */
	char *path[DY_NARCH + 1]; /* same for local artifacts */
	size_t artifact_line;
	char kind[8];		/* "", file, tar, tgz, deb, image */
	char role[16];		/* "" or image */
	char sysbox_run_dir[8]; /* "", args, env */
	int optional;
	/* kind = image: REPO:TAG, and space-separated words for the config */
	char *tag, *env, *cmd, *labels;
	int is_default; /* first section with this name */
	/* Licence: an SPDX expression (SBOM), and where its text comes from:
	 * a local file or a member of the artifact (a Debian package's
	 * usr/share/doc/PKG/copyright).  Packed as share/doc/NAME/. */
	char license[DY_SPDX_EXPR_MAX + 1];
	char *license_file;
	char *license_member;
	size_t license_line;
	struct dy_mline *lines;
	size_t nlines;
};

struct dy_manifest {
	char *path; /* as given, for messages */
	char *dir;  /* directory sources are relative to */
	struct dy_mcomponent *components;
	size_t ncomponents;
};

int dy_manifest_load(const char *path, struct dy_manifest *m, struct dy_err *err);
/* Parse text already in memory; name is used in messages, dir for sources. */
int dy_manifest_parse(const char *name, const char *dir, const char *buf, size_t len,
		      struct dy_manifest *m, struct dy_err *err);
void dy_manifest_free(struct dy_manifest *m);

/* The artifact of c for arch (arch-specific first, then arch-independent).
 * Returns the URL or path, sets *is_path and *arch_key (the lock's arch
 * column); NULL when c has no artifact for arch. */
const char *dy_mcomponent_artifact(const struct dy_mcomponent *c, enum dy_arch arch, int *is_path,
				   const char **arch_key);
int dy_arch_parse(const char *s, enum dy_arch *arch);

#endif
