/* SPDX-License-Identifier: Apache-2.0 */
#include "paths.h"

#include <string.h>

static int
path_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '+';
}

int
dy_member_path_valid(const char *path, struct dy_err *err)
{
	const char *p, *comp;
	size_t len = strlen(path), clen;

	if (len == 0)
		return dy_errf(err, "member path is empty");
	if (len > DY_MEMBER_PATH_MAX)
		return dy_errf(err, "member path '%.40s...' is longer than %d bytes", path,
			       DY_MEMBER_PATH_MAX);
	if (path[0] == '/')
		return dy_errf(err, "member path '%s' is absolute; payload paths must be relative",
			       path);
	for (comp = p = path;; p++) {
		if (*p != '/' && *p != '\0') {
			if (!path_char_ok(*p))
				return dy_errf(err,
					       "member path '%s' contains a character outside "
					       "[A-Za-z0-9._+-/]",
					       path);
			continue;
		}
		clen = (size_t)(p - comp);
		if (clen == 0)
			return dy_errf(err, "member path '%s' has an empty component", path);
		if ((clen == 1 && comp[0] == '.') ||
		    (clen == 2 && comp[0] == '.' && comp[1] == '.'))
			return dy_errf(err, "member path '%s' contains a '%.*s' component", path,
				       (int)clen, comp);
		if (*p == '\0')
			break;
		comp = p + 1;
	}
	return 0;
}

static int
name_like_valid(const char *what, const char *s, const char *extra, int lower_only,
		const char *rule, struct dy_err *err)
{
	size_t i, len = strlen(s);

	if (len == 0)
		return dy_errf(err, "%s is empty", what);
	if (len > 64)
		return dy_errf(err, "%s '%.20s...' is longer than 64 bytes", what, s);
	for (i = 0; i < len; i++) {
		char c = s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			 (!lower_only && c >= 'A' && c <= 'Z') ||
			 (i > 0 && strchr(extra, c) != NULL);
		if (!ok)
			return dy_errf(err, "%s '%s': character '%c' not allowed (rule: %s)", what,
				       s, c, rule);
	}
	return 0;
}

int
dy_component_name_valid(const char *name, struct dy_err *err)
{
	return name_like_valid("component name", name, "._-", 1, "[a-z0-9][a-z0-9._-]*", err);
}

int
dy_version_valid(const char *version, struct dy_err *err)
{
	return name_like_valid("version", version, "._+~-", 0, "[A-Za-z0-9][A-Za-z0-9._+~-]*", err);
}
