/* SPDX-License-Identifier: Apache-2.0 */
/*
 * installer/dropin.h: daemon.d drop-ins parsed (errors with file, line
 * and column), owned keys refused by name, files merged in name order
 * (objects deep, everything else replaced), and merged into the rendered
 * daemon.json.
 */
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/xio.h"
#include "../../installer/dropin.h"
#include "harness.h"
#include "testutil.h"

static void
put(const char *dir, const char *name, const char *text)
{
	char path[8300];
	struct dy_err err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(dy_write_file_atomic(path, text, strlen(text), 0644, &err) == 0);
}

static void
test_parse_errors(void)
{
	struct dy_err err = { 0 };
	static const char broken[] = "{\n  \"debug\": true,\n  \"labels\": [\"a\",]\n}\n";
	json_t *doc;

	CHECK(dy_dropin_parse("d/10-x.json", broken, sizeof(broken) - 1, &err) == NULL);
	CHECK_STR_CONTAINS(err.msg, "d/10-x.json:3:");
	CHECK_STR_CONTAINS(err.msg, "invalid JSON");
	CHECK(dy_dropin_parse("d/a.json", "[1]", 3, &err) == NULL);
	CHECK_STR_CONTAINS(err.msg, "d/a.json: must hold one JSON object");
	CHECK(dy_dropin_parse("d/a.json", "{\"a\":1,\"a\":2}", 13, &err) == NULL);
	CHECK_STR_CONTAINS(err.msg, "d/a.json:1:");
	CHECK(dy_dropin_parse("d/o.json", "{\"debug\":true,\"data-root\":\"/x\"}", 31, &err) ==
	      NULL);
	CHECK_STR_CONTAINS(err.msg, "d/o.json: key data-root is set by dockyard");
	CHECK(dy_dropin_parse("d/o.json", "{\"dns\":[\"1.1.1.1\"]}", 19, &err) == NULL);
	CHECK_STR_CONTAINS(err.msg, "key dns is set by dockyard (set DOCKYARD_DNS");
	doc = dy_dropin_parse("d/ok.json", "{\"registry-mirrors\":[\"http://m\"]}", 33, &err);
	CHECK(doc != NULL && json_is_array(json_object_get(doc, "registry-mirrors")));
	json_decref(doc);
}

static void
test_owned_list(void)
{
	static const char *const keys[] = { "hosts",	  "data-root",	     "exec-root",
					    "pidfile",	  "bridge",	     "iptables",
					    "runtimes",	  "default-runtime", "cgroup-parent",
					    "containerd", "storage-driver" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK(dy_dropin_owned_why(keys[i]) != NULL);
	CHECK(dy_dropin_owned_why("registry-mirrors") == NULL);
	CHECK(dy_dropin_owned_why("log-opts") == NULL);
}

static void
test_load_merges_in_name_order(void)
{
	struct dy_err err = { 0 };
	char dir[4096];
	json_t *all = NULL, *opts;

	CHECK(tu_make_tmpdir(dir, sizeof(dir), "dropin") == 0);
	put(dir, "20-b.json", "{\"log-opts\":{\"max-size\":\"20m\"},\"labels\":[\"b\"]}");
	put(dir, "10-a.json",
	    "{\"log-opts\":{\"max-size\":\"10m\",\"max-file\":\"3\"},\"labels\":[\"a\"],"
	    "\"debug\":true}");
	put(dir, ".hidden.json", "not json");
	put(dir, "notes.txt", "not json either");
	CHECK(dy_dropin_load(dir, &all, &err) == 0);
	if (all != NULL) {
		opts = json_object_get(all, "log-opts");
		CHECK(strcmp(json_string_value(json_object_get(opts, "max-size")), "20m") == 0);
		CHECK(strcmp(json_string_value(json_object_get(opts, "max-file")), "3") == 0);
		CHECK(json_array_size(json_object_get(all, "labels")) == 1);
		CHECK(strcmp(json_string_value(json_array_get(json_object_get(all, "labels"), 0)),
			     "b") == 0);
		CHECK(json_is_true(json_object_get(all, "debug")));
	}
	json_decref(all);

	/* A later broken file fails the whole load, naming it. */
	put(dir, "30-c.json", "{\n\"x\": }\n");
	CHECK(dy_dropin_load(dir, &all, &err) == -1 && all == NULL);
	CHECK_STR_CONTAINS(err.msg, "/30-c.json:2:");
	tu_remove_tree(dir);

	/* No directory: nothing to merge. */
	CHECK(dy_dropin_load("/nonexistent/daemon.d", &all, &err) == 0);
	CHECK(all != NULL && json_object_size(all) == 0);
	json_decref(all);
}

static void
test_apply(void)
{
	struct dy_err err = { 0 };
	json_t *daemon = json_pack("{s:s,s:{s:s}}", "data-root", "/r/lib/docker", "log-opts",
				   "max-file", "2");
	json_t *in = json_pack("{s:[s],s:{s:s}}", "registry-mirrors", "http://m", "log-opts",
			       "max-size", "1m");
	json_t *bad = json_pack("{s:s}", "hosts", "tcp://0.0.0.0:2375");

	CHECK(dy_dropin_apply(daemon, in, &err) == 0);
	CHECK(strcmp(json_string_value(json_object_get(daemon, "data-root")), "/r/lib/docker") ==
	      0);
	CHECK(json_object_size(json_object_get(daemon, "log-opts")) == 2);
	CHECK(json_is_array(json_object_get(daemon, "registry-mirrors")));
	CHECK(dy_dropin_apply(daemon, bad, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "key hosts is set by dockyard");
	json_decref(daemon);
	json_decref(in);
	json_decref(bad);
}

int
main(void)
{
	RUN(test_parse_errors);
	RUN(test_owned_list);
	RUN(test_load_merges_in_name_order);
	RUN(test_apply);
	return DONE();
}
