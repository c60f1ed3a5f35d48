/* SPDX-License-Identifier: Apache-2.0 */
/*
 * installer/act.h: an action in plan mode is recorded and printed through
 * the caller's writer, and nothing changes; the install library's
 * failures carry their kind (main.c maps it to the exit status).
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../installer/act.h"
#include "harness.h"

static char printed[4096];

static void
capture(const char *text, size_t len, void *ctx)
{
	size_t have = strlen(printed);

	(void)ctx;
	if (have + len < sizeof(printed)) {
		memcpy(printed + have, text, len);
		printed[have + len] = '\0';
	}
}

static void
test_plan_prints_through_the_writer(void)
{
	char dir[] = "/tmp/dockyard-act.XXXXXX", path[256], want[512];
	struct dy_install_opts o;
	struct dy_err err = { 0 };
	struct run r;
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	dy_install_opts_init(&o);
	o.out = capture;
	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.dry = 1;
	snprintf(r.root, sizeof(r.root), "%s", dir);
	printed[0] = '\0';
	CHECK(act_root_path(&r, path, sizeof(path), "etc", &err) == 0);
	CHECK(act_ensure_dir(&r, path, 0755, &err) == 1);
	CHECK(act_ensure_dir(&r, dir, 0755, &err) == 0);
	CHECK(lstat(path, &st) < 0);
	CHECK(r.changes == 1);
	snprintf(want, sizeof(want), "  mkdir     %s\n", path);
	CHECK(strcmp(printed, want) == 0);
	o.json = 1;
	r.plan = json_array();
	CHECK(act_put_file(&r, path, "shown", "x", 1, 0644, &err) == 1);
	CHECK(strcmp(printed, want) == 0); /* --json: recorded, not printed */
	CHECK(json_array_size(r.plan) == 1);
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(r.plan, 0), "path")),
		     "shown") == 0);
	json_decref(r.plan);
	CHECK(lstat(path, &st) < 0);
	rmdir(dir);
}

static void
test_library_failures_have_kinds(void)
{
	struct dy_install_opts o;
	struct dy_config cfg;
	struct dy_err err = { 0 };
	char *const none[] = { NULL };

	dy_install_opts_init(&o);
	CHECK(dy_install_config(&o, &cfg, &err) == -1);
	CHECK(err.kind == DY_ERR_USAGE);
	CHECK_STR_CONTAINS(err.msg, "--root DIR is required");
	err.kind = DY_ERR_FAIL;
	CHECK(dy_uninstall(&o, none, &err) == -1);
	CHECK(err.kind == DY_ERR_USAGE);
	CHECK(dy_config_set(&o.flags, "root", "/nonexistent-dockyard-root", &err) == 0);
	o.sysroot = "/tmp";
	CHECK(dy_uninstall(&o, none, &err) == -1);
	CHECK(err.kind == DY_ERR_USAGE);
	CHECK_STR_CONTAINS(err.msg, "not with --sysroot");
	o.sysroot = "";
	dy_display_level = DY_QUIET;
	CHECK(dy_uninstall(&o, none, &err) == 0); /* nothing installed there */
}

int
main(void)
{
	RUN(test_plan_prints_through_the_writer);
	RUN(test_library_failures_have_kinds);
	return DONE();
}
