/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The payload manifest parser (builder/manifest.c).  Properties: a failed
 * parse leaves the manifest empty; a parsed manifest obeys the rules the
 * builder relies on (names, versions and destinations valid, modes at most
 * 0777, every component with a version, an artifact lookup that agrees
 * with its fields).
 */
#include <string.h>

#include "../../builder/manifest.h"
#include "fuzz.h"

static void
check_component(const struct dy_mcomponent *c)
{
	struct dy_err err;
	const char *key;
	int is_path;

	FUZZ_ASSERT(dy_component_name_valid(c->name, &err) == 0, "name: %s", err.msg);
	FUZZ_ASSERT(dy_version_valid(c->version, &err) == 0, "version: %s", err.msg);
	for (size_t i = 0; i < c->nlines; i++) {
		const struct dy_mline *l = &c->lines[i];
		FUZZ_ASSERT(dy_member_path_valid(l->dest, &err) == 0, "dest: %s", err.msg);
		FUZZ_ASSERT(l->mode <= 0777, "mode %o", l->mode);
		FUZZ_ASSERT((l->src == NULL) == (l->kind == DY_LINE_INSTALL), "src of line %zu",
			    l->line);
	}
	for (int a = 0; a < DY_NARCH; a++) {
		const char *art = dy_mcomponent_artifact(c, (enum dy_arch)a, &is_path, &key);
		if (art != NULL)
			FUZZ_ASSERT(is_path || strstr(art, "://") != NULL, "url '%s'", art);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dy_manifest m;
	struct dy_err err;

	if (dy_manifest_parse("fuzz.manifest", "/nonexistent", (const char *)data, size, &m, &err) <
	    0) {
		FUZZ_ASSERT(m.ncomponents == 0 && m.components == NULL && m.path == NULL,
			    "manifest not empty after an error");
		FUZZ_ASSERT(err.msg[0] != '\0', "error without a message");
		return 0;
	}
	FUZZ_ASSERT(m.ncomponents > 0, "no components");
	FUZZ_ASSERT(m.components[0].is_default, "first component is not a default");
	for (size_t i = 0; i < m.ncomponents; i++)
		check_component(&m.components[i]);
	dy_manifest_free(&m);
	return 0;
}
