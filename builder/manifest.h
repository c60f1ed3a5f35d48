/*
 * Payload manifest: what goes into an installer.  A small INI-like text
 * format meant to be reviewed in diffs:
 *
 *   # comment
 *   [component demo]
 *   version = 0.1.0
 *   file demo/hello.sh -> bin/dockyard-demo 0755
 *
 * `file SRC -> DEST MODE`: SRC is relative to the manifest's directory,
 * DEST is the path inside the instance root, MODE is octal (<= 0777).
 * Parsing is strict: unknown keys, duplicates and stray lines are errors
 * reported as FILE:LINE: what and the rule.
 */
#ifndef DY_MANIFEST_H
#define DY_MANIFEST_H

#include <stddef.h>

#include "../common/err.h"
#include "../verify/paths.h"

#define DY_MANIFEST_MAX (1u << 20)
#define DY_MANIFEST_LINE_MAX 4096

struct dy_mfile {
	char *src;
	char dest[DY_MEMBER_PATH_MAX + 1];
	unsigned mode;
	size_t line;
};

struct dy_mcomponent {
	char name[65];
	char version[65];
	size_t line;
	struct dy_mfile *files;
	size_t nfiles;
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

#endif
