/* SPDX-License-Identifier: Apache-2.0 */
/* Rules for names that travel inside a payload. */
#ifndef DY_PATHS_H
#define DY_PATHS_H

#include "../common/err.h"

#define DY_MEMBER_PATH_MAX 255

/*
 * A member path is relative, made of [A-Za-z0-9._+-] components joined by
 * single '/', with no "." or ".." component and no trailing '/'.  What the
 * payload may name is deliberately narrower than what a filesystem allows:
 * anything else is refused, never rewritten.
 */
int dy_member_path_valid(const char *path, struct dy_err *err);

/* Component names: [a-z0-9][a-z0-9._-]*, at most 64 bytes. */
int dy_component_name_valid(const char *name, struct dy_err *err);

/* Versions: [A-Za-z0-9][A-Za-z0-9._+~-]*, at most 64 bytes. */
int dy_version_valid(const char *version, struct dy_err *err);

#endif
