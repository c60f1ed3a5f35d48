/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dy-render: test-only driver that writes everything installer/render.c
 * renders for a made-up instance into a directory, so shell tests can run
 * the wrappers and check the unit.  Never shipped.
 *
 *   dy-render --root R --prefix P --bridge-cidr C --fixed-cidr C
 *             --pool-base C --pool-size N --mode runc|args|env
 *             [--dockerd-version V] [--dns SERVER]... OUTDIR
 *
 * Instance files land at OUTDIR/etc/..., OUTDIR/bin/..., the unit at
 * OUTDIR/unit/NAME.service.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/opts.h"
#include "../../common/xio.h"
#include "../../installer/render.h"

#define MAX_DNS 8

enum {
	OPT_ROOT = 1,
	OPT_PREFIX,
	OPT_BRIDGE,
	OPT_FIXED,
	OPT_POOL_BASE,
	OPT_POOL_SIZE,
	OPT_MODE,
	OPT_DOCKERD_VERSION,
	OPT_DNS,
};

static const struct dy_opt options[] = {
	{ OPT_ROOT, 0, "root", "DIR", "instance root" },
	{ OPT_PREFIX, 0, "prefix", "P", "instance prefix" },
	{ OPT_BRIDGE, 0, "bridge-cidr", "CIDR", "bridge address/len" },
	{ OPT_FIXED, 0, "fixed-cidr", "CIDR", "container subnet" },
	{ OPT_POOL_BASE, 0, "pool-base", "CIDR", "address pool" },
	{ OPT_POOL_SIZE, 0, "pool-size", "N", "prefix length carved from the pool" },
	{ OPT_MODE, 0, "mode", "MODE", "runc, args or env" },
	{ OPT_DOCKERD_VERSION, 0, "dockerd-version", "V", "version of the dockerd component" },
	{ OPT_DNS, 0, "dns", "SERVER", "an upstream DNS server (repeatable)" },
	{ 0, 0, NULL, NULL, NULL },
};

struct args {
	struct dy_config cfg;
	const char *mode;
	const char *dockerd_version;
	const char *dns[MAX_DNS];
	size_t ndns;
	const char *outdir;
};

/* "a.b.c.d/n": config.c's parser is not this tool's to rely on. */
static int
parse_cidr(const char *opt, const char *text, struct dy_cidr *out, struct dy_err *err)
{
	char addr[32];
	const char *slash = strchr(text, '/');
	struct in_addr a;
	long len;

	if (slash == NULL || (size_t)(slash - text) >= sizeof(addr))
		return dy_errf(err, "--%s '%s' is not a.b.c.d/n", opt, text);
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1 || dy_opt_long(opt, slash + 1, 0, 32, &len, err) < 0)
		return dy_errf(err, "--%s '%s' is not a.b.c.d/n", opt, text);
	out->addr = ntohl(a.s_addr);
	out->len = (int)len;
	return 0;
}

static int
set_string(char *dst, size_t size, const char *opt, const char *value, struct dy_err *err)
{
	if (strlen(value) >= size)
		return dy_errf(err, "--%s '%s' is too long", opt, value);
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static int
apply(struct args *a, int id, const char *v, struct dy_err *err)
{
	long n;

	switch (id) {
	case OPT_ROOT:
		return set_string(a->cfg.root, sizeof(a->cfg.root), "root", v, err);
	case OPT_PREFIX:
		return set_string(a->cfg.prefix, sizeof(a->cfg.prefix), "prefix", v, err);
	case OPT_BRIDGE:
		return parse_cidr("bridge-cidr", v, &a->cfg.bridge, err);
	case OPT_FIXED:
		return parse_cidr("fixed-cidr", v, &a->cfg.fixed, err);
	case OPT_POOL_BASE:
		return parse_cidr("pool-base", v, &a->cfg.pool, err);
	case OPT_POOL_SIZE:
		if (dy_opt_long("--pool-size", v, 1, 32, &n, err) < 0)
			return -1;
		a->cfg.pool_size = (int)n;
		return 0;
	case OPT_MODE:
		a->mode = v;
		return 0;
	case OPT_DOCKERD_VERSION:
		a->dockerd_version = v;
		return 0;
	case OPT_DNS:
		if (a->ndns == MAX_DNS)
			return dy_errf(err, "at most %d --dns", MAX_DNS);
		a->dns[a->ndns++] = v;
		return 0;
	}
	return dy_errf(err, "unexpected option");
}

static int
take_arg(void *ctx, int id, const char *arg, struct dy_err *err)
{
	struct args *a = ctx;

	if (id != DY_OPT_WORD)
		return apply(a, id, arg, err);
	if (a->outdir != NULL)
		return dy_errf(err, "one OUTDIR only");
	a->outdir = arg;
	return 0;
}

static int
parse_args(int argc, char **argv, struct args *a, struct dy_err *err)
{
	memset(a, 0, sizeof(*a));
	a->mode = "args";
	a->dockerd_version = "29.2.1";
	if (dy_opts_parse(argc, argv, 1, options, take_arg, a, err) < 0)
		return -1;
	if (a->outdir == NULL || a->cfg.root[0] == '\0' || a->cfg.prefix[0] == '\0')
		return dy_errf(err, "--root, --prefix and OUTDIR are required");
	return 0;
}

static int
add_file(struct dy_meta *m, const char *path, size_t component, struct dy_err *err)
{
	struct dy_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.path, sizeof(e.path), "%s", path);
	e.mode = 0755;
	e.component = component;
	return dy_meta_add_entry(m, &e, err);
}

/* A payload like the real ones: Docker (with docker-init) and, unless the
 * mode is runc, a sysbox component carrying the sysbox-run-dir attribute. */
static int
build_meta(const struct args *a, struct dy_meta *m, struct dy_err *err)
{
	int sysbox = strcmp(a->mode, "runc") != 0;

	if (sysbox && strcmp(a->mode, "args") != 0 && strcmp(a->mode, "env") != 0)
		return dy_errf(err, "--mode '%s' must be runc, args or env", a->mode);
	if (dy_meta_add_component(m, "docker", a->dockerd_version, err) < 0 ||
	    add_file(m, "bin/dockerd", 0, err) < 0 || add_file(m, "bin/docker-cli", 0, err) < 0 ||
	    add_file(m, "bin/docker-init", 0, err) < 0)
		return -1;
	if (sysbox &&
	    (dy_meta_add_component(m, "sysbox",
				   strcmp(a->mode, "env") == 0 ? "0.6.7.4-tc" : "0.6.7.9-tc",
				   err) < 0 ||
	     dy_meta_add_attr(m, "sysbox-run-dir", a->mode, err) < 0 ||
	     add_file(m, DY_SYSBOX_RUNC, 1, err) < 0))
		return -1;
	return dy_meta_finish(m, err);
}

/* Write r below outdir (the unit under outdir/unit/). */
static int
write_out(const char *outdir, const struct dy_rendered *r, struct dy_err *err)
{
	char path[4096], dir[4096];
	const char *base = strrchr(r->path, '/');

	if (r->path[0] == '/')
		snprintf(path, sizeof(path), "%s/unit/%s", outdir, base + 1);
	else
		snprintf(path, sizeof(path), "%s/%s", outdir, r->path);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (dy_mkdir_p(dir, 0755, err) < 0)
		return -1;
	return dy_write_file_atomic(path, r->data, r->len, r->mode, err);
}

typedef int (*render_fn)(const struct dy_render_in *, struct dy_rendered *, struct dy_err *);

static int
render_all(const struct args *a, const struct dy_meta *m, struct dy_err *err)
{
	render_fn fns[] = { dy_render_daemon_json, dy_render_containerd_toml,
			    dy_render_docker_wrapper, dy_render_unit, dy_render_runtime_wrapper };
	size_t i, n = sizeof(fns) / sizeof(fns[0]);
	struct dy_render_in in = { &a->cfg, m, a->dns, a->ndns, NULL, NULL };
	struct dy_rendered r;
	int rc;

	if (dy_runtime_mode(m) == DY_RUNTIME_RUNC)
		n--; /* no runtime wrapper without sysbox */
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		if (fns[i](&in, &r, err) < 0)
			return -1;
		rc = write_out(a->outdir, &r, err);
		dy_rendered_free(&r);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct dy_err err = { 0 };
	struct dy_meta m;
	struct args a;
	int rc = 0;

	if (parse_args(argc, argv, &a, &err) < 0) {
		fprintf(stderr, "dy-render: %s\n", err.msg);
		return 2;
	}
	dy_meta_init(&m);
	if (build_meta(&a, &m, &err) < 0 || render_all(&a, &m, &err) < 0) {
		fprintf(stderr, "dy-render: %s\n", err.msg);
		rc = 1;
	}
	dy_meta_free(&m);
	return rc;
}
