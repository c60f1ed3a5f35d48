/* SPDX-License-Identifier: Apache-2.0 */
/* instances: see instances.h. */
#include "instances.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/run.h"
#include "../common/xio.h"
#include "../verify/meta.h"
#include "config.h"

#define REGISTRY "/etc/dockyard/instances"
#define META_MAX (16u << 20)
#define STATUS_MAX (64u << 10)
#define PATH_LEN (2 * DY_ROOT_MAX + 64)
#define NAMES_MAX 4096

struct entry {
	const char *sysroot;
	const char *prefix;
	char root[DY_ROOT_MAX];
	char host_root[PATH_LEN]; /* sysroot + root */
	json_t *o;
};

/* The entry is broken: which part, and why. */
static void
broken(struct entry *e, const char *part, const char *why)
{
	json_object_set_new(e->o, "state", json_string("broken"));
	json_array_append_new(json_object_get(e->o, "failing"), json_string(part));
	if (json_is_null(json_object_get(e->o, "problem")))
		json_object_set_new(e->o, "problem", json_string(why));
}

static int
prefix_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= DY_PREFIX_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* The registry file: one line, an absolute root. */
static int
read_root(struct entry *e, int dfd)
{
	char why[PATH_LEN + 128];
	ssize_t n;
	int fd;

	fd = openat(dfd, e->prefix, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot read %s%s/%s: %s", e->sysroot, REGISTRY,
			 e->prefix, strerror(errno));
		broken(e, "registry", why);
		return -1;
	}
	n = dy_read_some(fd, e->root, sizeof(e->root) - 1);
	close(fd);
	e->root[n > 0 ? n : 0] = '\0';
	e->root[strcspn(e->root, "\r\n")] = '\0';
	if (e->root[0] != '/') {
		snprintf(why, sizeof(why), "%s%s/%s does not name an absolute root ('%.64s')",
			 e->sysroot, REGISTRY, e->prefix, e->root);
		broken(e, "registry", why);
		return -1;
	}
	json_object_set_new(e->o, "root", json_string(e->root));
	snprintf(e->host_root, sizeof(e->host_root), "%s%s", e->sysroot, e->root);
	return 0;
}

static json_t *
cidr_json(const struct dy_cidr *c)
{
	char buf[32];

	dy_cidr_format(c, buf, sizeof(buf));
	return json_string(buf);
}

/* dockyard.env: the socket, bridge and pool. */
static int
read_env(struct entry *e)
{
	char path[PATH_LEN + 32], why[3 * PATH_LEN + 512], buf[PATH_LEN];
	struct dy_config c;
	struct dy_err err;

	snprintf(path, sizeof(path), "%s/etc/dockyard.env", e->host_root);
	dy_config_init(&c);
	if (dy_config_load_env(path, &c, &err) < 0 || dy_config_validate(&c, &err) < 0) {
		broken(e, "dockyard.env", err.msg);
		return -1;
	}
	if (strcmp(c.prefix, e->prefix) != 0 || strcmp(c.root, e->root) != 0) {
		snprintf(why, sizeof(why),
			 "%s says prefix %s and root %s, but the registry entry %s names %s", path,
			 c.prefix, c.root, e->prefix, e->root);
		broken(e, "dockyard.env", why);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s/run/docker.sock", e->root);
	json_object_set_new(e->o, "socket", json_string(buf));
	snprintf(buf, sizeof(buf), "%sdocker0", c.prefix);
	json_object_set_new(e->o, "bridge",
			    json_pack("{s:s,s:o,s:o}", "name", buf, "cidr", cidr_json(&c.bridge),
				      "fixed_cidr", cidr_json(&c.fixed)));
	json_object_set_new(
		e->o, "pool",
		json_pack("{s:o,s:i}", "base", cidr_json(&c.pool), "size", c.pool_size));
	return 0;
}

/* etc/payload.meta: what the install put there. */
static int
read_payload(struct entry *e)
{
	char path[PATH_LEN + 32], why[2 * PATH_LEN + 256], *text;
	const struct dy_entry *d;
	struct dy_meta m;
	struct dy_err err;
	json_t *comps;
	size_t len, i;
	int rc;

	snprintf(path, sizeof(path), "%s/etc/payload.meta", e->host_root);
	if (dy_read_small_file(path, META_MAX, &text, &len, NULL, &err) < 0) {
		snprintf(why, sizeof(why), "%s (the install did not finish)", err.msg);
		broken(e, "payload", why);
		return -1;
	}
	dy_meta_init(&m);
	rc = dy_meta_parse(text, len, &m, &err);
	free(text);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s: %s", path, err.msg);
		broken(e, "payload", why);
		dy_meta_free(&m);
		return -1;
	}
	comps = json_object_get(e->o, "components");
	for (i = 0; i < m.ncomponents; i++)
		json_array_append_new(comps, json_pack("{s:s,s:s}", "name", m.components[i].name,
						       "version", m.components[i].version));
	d = dy_meta_find(&m, "bin/dockerd");
	if (d != NULL && d->component < m.ncomponents)
		json_object_set_new(e->o, "engine_version",
				    json_string(m.components[d->component].version));
	dy_meta_free(&m);
	return 0;
}

/* etc/isolation: "on" turns it on; absent, empty or anything else: off. */
static void
read_isolation(struct entry *e)
{
	char path[PATH_LEN + 32], buf[64];
	const char *w;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/etc/isolation", e->host_root);
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		n = dy_read_some(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	w = buf + strspn(buf, " \t\n");
	json_object_set_new(
		e->o, "isolation",
		json_string(strncmp(w, "on", 2) == 0 && strchr(" \t\n#", w[2] ? w[2] : ' ')
				    ? "on"
				    : "off"));
}

/* The state from the instance's own status --json. */
static void
probe_state(struct entry *e)
{
	char prog[PATH_LEN + 32], *out, why[PATH_LEN + 128];
	char *argv[] = { "/bin/sh", "-c", "exec \"$0\" -q status --json 2>/dev/null", prog, NULL };
	struct dy_err err;
	json_t *st, *c, *failing = json_object_get(e->o, "failing");
	size_t i;
	int rc, running = 0;

	snprintf(prog, sizeof(prog), "%s/bin/dockyardctl", e->host_root);
	if ((out = malloc(STATUS_MAX)) == NULL)
		return broken(e, "dockyardctl", "out of memory");
	rc = dy_run(argv, NULL, out, STATUS_MAX, &err);
	st = rc < 0 ? NULL : json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
	free(out);
	if (st == NULL || !json_is_array(json_object_get(st, "components"))) {
		snprintf(why, sizeof(why), "%s status --json gave no report (exit %d)", prog, rc);
		json_decref(st);
		return broken(e, "dockyardctl", why);
	}
	json_array_foreach(json_object_get(st, "components"), i, c) running +=
		json_is_true(json_object_get(c, "running"));
	if (json_is_true(json_object_get(st, "healthy")))
		json_object_set_new(e->o, "state", json_string("running"));
	else if (running == 0)
		json_object_set_new(e->o, "state", json_string("stopped"));
	else {
		json_object_set_new(e->o, "state", json_string("broken"));
		json_array_foreach(json_object_get(st, "components"), i,
				   c) if (!json_is_true(json_object_get(c, "healthy")))
			json_array_append(failing, json_object_get(c, "name"));
		if (!json_is_true(json_object_get(json_object_get(st, "network"), "healthy")))
			json_array_append_new(failing, json_string("network"));
		c = json_array_get(json_object_get(st, "problems"), 0);
		json_object_set(e->o, "problem", c ? c : json_null());
	}
	json_decref(st);
}

static json_t *
entry_json(const char *sysroot, int dfd, const char *prefix, int probe)
{
	struct entry e = { sysroot, prefix, "", "", NULL };
	char why[PATH_LEN + 128];
	struct stat st;

	e.o = json_pack("{s:s,s:n,s:n,s:[],s:n,s:[],s:n,s:n,s:n,s:n,s:n}", "prefix", prefix, "root",
			"engine_version", "components", "state", "failing", "problem", "socket",
			"bridge", "pool", "isolation");
	if (e.o == NULL)
		return NULL;
	if (!prefix_ok(prefix)) {
		snprintf(why, sizeof(why), "%s%s/%s: the name is not a prefix ([a-z0-9_]{1,8})",
			 sysroot, REGISTRY, prefix);
		broken(&e, "registry", why);
		return e.o;
	}
	if (read_root(&e, dfd) < 0)
		return e.o;
	if (stat(e.host_root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, sizeof(why), "the root %s is gone", e.host_root);
		broken(&e, "root", why);
		return e.o;
	}
	if (read_env(&e) < 0 || read_payload(&e) < 0)
		return e.o;
	read_isolation(&e);
	if (probe)
		probe_state(&e);
	return e.o;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *
dy_instances_scan(const char *sysroot, int probe, struct dy_err *err)
{
	char path[PATH_LEN], *names[NAMES_MAX];
	json_t *list = json_array(), *doc;
	struct dirent *de;
	size_t n = 0, i;
	DIR *d;

	snprintf(path, sizeof(path), "%s%s", sysroot, REGISTRY);
	if ((d = opendir(path)) == NULL && errno != ENOENT) {
		json_decref(list);
		dy_errnof(err, "cannot list %s", path);
		return NULL;
	}
	while (d != NULL && (de = readdir(d)) != NULL && n < NAMES_MAX)
		if (de->d_name[0] != '.' && (names[n] = strdup(de->d_name)) != NULL)
			n++;
	qsort(names, n, sizeof(names[0]), by_name);
	for (i = 0; i < n; i++) {
		json_array_append_new(list, entry_json(sysroot, dirfd(d), names[i], probe));
		free(names[i]);
	}
	if (d != NULL)
		closedir(d);
	doc = json_pack("{s:i,s:s,s:o}", "schema", 1, "registry", path, "instances", list);
	if (doc == NULL)
		dy_errf(err, "out of memory listing %s", path);
	return doc;
}

static const char *
text_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

void
dy_instances_print(FILE *out, const json_t *doc)
{
	const json_t *in, *inst = json_object_get(doc, "instances");
	char state[128], bridge[64], pool[48];
	size_t i, j;

	if (json_array_size(inst) == 0) {
		fprintf(out, "no instances registered in %s\n", text_of(doc, "registry"));
		return;
	}
	fprintf(out, "%-8s %-9s %-22s %-22s %-18s %-9s %s\n", "PREFIX", "STATE", "ENGINE", "BRIDGE",
		"POOL", "ISOLATION", "ROOT");
	json_array_foreach(inst, i, in)
	{
		const json_t *f = json_object_get(in, "failing"), *v;
		snprintf(state, sizeof(state), "%s", text_of(in, "state"));
		json_array_foreach(f, j, v)
			snprintf(state + strlen(state), sizeof(state) - strlen(state), "%s%s",
				 j ? "," : ":", json_string_value(v));
		snprintf(bridge, sizeof(bridge), "%s",
			 text_of(json_object_get(in, "bridge"), "cidr"));
		snprintf(pool, sizeof(pool), "%s", text_of(json_object_get(in, "pool"), "base"));
		fprintf(out, "%-8s %-9s %-22s %-22s %-18s %-9s %s\n", text_of(in, "prefix"), state,
			text_of(in, "engine_version"), bridge, pool, text_of(in, "isolation"),
			text_of(in, "root"));
		if (!json_is_null(json_object_get(in, "problem")))
			fprintf(out, "         %s\n", text_of(in, "problem"));
	}
}
