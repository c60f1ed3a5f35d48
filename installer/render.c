/* SPDX-License-Identifier: Apache-2.0 */
/* render: see render.h */
#include "render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/xio.h"
#include "dropin.h"

#define DNS_FILE_MAX (64u << 10)

/* dockerd dropped deprecated-key-path (and key.json) with 23.0. */
#define DOCKERD_KEYLESS_MAJOR 23

void
dy_rendered_free(struct dy_rendered *r)
{
	free(r->data);
	r->data = NULL;
	r->len = 0;
}

enum dy_runtime_mode
dy_runtime_mode(const struct dy_meta *m)
{
	size_t i;
	const char *v;

	for (i = 0; i < m->ncomponents; i++) {
		v = dy_meta_attr(&m->components[i], "sysbox-run-dir");
		if (v != NULL && strcmp(v, "env") == 0)
			return DY_RUNTIME_SYSBOX_ENV;
		if (v != NULL && strcmp(v, "args") == 0)
			return DY_RUNTIME_SYSBOX_ARGS;
	}
	return DY_RUNTIME_RUNC;
}

/* ---- inputs ---- */

static int
root_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '/' || c == '-';
}

static int
prefix_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* The rendered shell, TOML and unit text embeds root and prefix without
 * escaping: refuse anything config validation would refuse, so a caller
 * that skipped it cannot produce a broken or injectable file. */
static int
check_input(const struct dy_render_in *in, struct dy_err *err)
{
	const struct dy_config *c = in->cfg;
	size_t i, n = strlen(c->root);

	if (n < 2 || c->root[0] != '/' || c->root[n - 1] == '/')
		return dy_errf(err, "render: root '%s' must be an absolute path other than /",
			       c->root);
	for (i = 0; i < n; i++)
		if (!root_char_ok(c->root[i]))
			return dy_errf(err, "render: root '%s' may contain only [A-Za-z0-9._/-]",
				       c->root);
	n = strlen(c->prefix);
	if (n == 0 || n > DY_PREFIX_MAX)
		return dy_errf(err, "render: prefix '%s' must be 1 to %d characters", c->prefix,
			       DY_PREFIX_MAX);
	for (i = 0; i < n; i++)
		if (!prefix_char_ok(c->prefix[i]))
			return dy_errf(err, "render: prefix '%s' may contain only [a-z0-9_]",
				       c->prefix);
	return 0;
}

/* "a.b.c.d/n" of the network of c (host bits cleared). */
static void
format_network(const struct dy_cidr *c, char *buf, size_t size)
{
	uint32_t mask = c->len <= 0 ? 0 : c->len >= 32 ? 0xffffffffu : ~(0xffffffffu >> c->len);
	uint32_t a = c->addr & mask;

	snprintf(buf, size, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff,
		 c->len);
}

/* Major version of the component that owns bin/dockerd ("20.10.24+dfsg1"
 * gives 20), or -1 when unknown. */
static int
dockerd_major(const struct dy_meta *m)
{
	const struct dy_entry *e = dy_meta_find(m, "bin/dockerd");
	const char *v, *p;
	int major = 0;

	if (e == NULL || e->is_dir || e->component >= m->ncomponents)
		return -1;
	v = m->components[e->component].version;
	if (*v < '0' || *v > '9')
		return -1;
	for (p = v; *p >= '0' && *p <= '9' && major < 10000; p++)
		major = major * 10 + (*p - '0');
	return major;
}

static int
payload_has_file(const struct dy_meta *m, const char *path)
{
	const struct dy_entry *e = dy_meta_find(m, path);

	return e != NULL && !e->is_dir;
}

/* ---- output ---- */

/* Hand data (malloc'd) to out under path. */
static int
set_output(struct dy_rendered *out, const char *path, char *data, size_t len, unsigned mode,
	   struct dy_err *err)
{
	if (strlen(path) >= sizeof(out->path)) {
		free(data);
		return dy_errf(err, "render: path %s is too long", path);
	}
	snprintf(out->path, sizeof(out->path), "%s", path);
	out->data = data;
	out->len = len;
	out->mode = mode;
	return 0;
}

/* Text output built with a memory stream. */
struct text {
	FILE *f;
	char *buf;
	size_t len;
};

static int
text_open(struct text *t, struct dy_err *err)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	if (t->f == NULL)
		return dy_errnof(err, "render: open_memstream");
	return 0;
}

static void __attribute__((format(printf, 2, 3))) text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(t->f, fmt, ap);
	va_end(ap);
}

/* Close the stream and hand its text to out. */
static int
text_finish(struct text *t, struct dy_rendered *out, const char *path, unsigned mode,
	    struct dy_err *err)
{
	int bad = ferror(t->f);

	if (fclose(t->f) != 0 || bad) {
		free(t->buf);
		return dy_errf(err, "render: %s: out of memory", path);
	}
	return set_output(out, path, t->buf, t->len, mode, err);
}

/* ---- daemon.json ---- */

static int
put_str(json_t *o, const char *key, const char *value)
{
	return json_object_set_new(o, key, json_string(value));
}

static int
put_path(json_t *o, const char *key, const char *root, const char *rel)
{
	char buf[DY_ROOT_MAX + 64];

	snprintf(buf, sizeof(buf), "%s/%s", root, rel);
	return put_str(o, key, buf);
}

static int
put_network(json_t *o, const struct dy_render_in *in)
{
	const struct dy_config *c = in->cfg;
	char buf[64];
	json_t *pool;
	int rc = 0;

	snprintf(buf, sizeof(buf), "%sdocker0", c->prefix);
	rc |= put_str(o, "bridge", buf);
	format_network(&c->fixed, buf, sizeof(buf));
	rc |= put_str(o, "fixed-cidr", buf);
	format_network(&c->pool, buf, sizeof(buf));
	pool = json_pack("[{s:s, s:i}]", "base", buf, "size", c->pool_size);
	rc |= json_object_set_new(o, "default-address-pools", pool);
	rc |= json_object_set_new(o, "iptables", json_false());
	rc |= json_object_set_new(o, "ip-masq", json_false());
	return rc;
}

static int
put_paths(json_t *o, const struct dy_render_in *in)
{
	const char *r = in->cfg->root;
	char buf[DY_ROOT_MAX + 64];
	int rc = 0;

	rc |= put_path(o, "data-root", r, "lib/docker");
	rc |= put_path(o, "exec-root", r, "run/docker");
	/* Not run/dockerd.pid: dockyardctl records dockerd's pid there. */
	rc |= put_path(o, "pidfile", r, "run/docker/dockerd.pid");
	rc |= put_path(o, "containerd", r, "run/containerd/containerd.sock");
	rc |= put_path(o, "userland-proxy-path", r, "bin/docker-proxy");
	snprintf(buf, sizeof(buf), "unix://%s/run/docker.sock", r);
	rc |= json_object_set_new(o, "hosts", json_pack("[s]", buf));
	if (payload_has_file(in->meta, "bin/docker-init"))
		rc |= put_path(o, "init-path", r, "bin/docker-init");
	return rc;
}

/* dockerd < 23 takes its engine ID from /etc/docker/key.json unless told
 * otherwise: every instance would share one ID.  Later versions refuse
 * the key. */
static int
put_key_path(json_t *o, const struct dy_render_in *in)
{
	int major = dockerd_major(in->meta);

	if (major < 0 || major >= DOCKERD_KEYLESS_MAJOR)
		return 0;
	return put_path(o, "deprecated-key-path", in->cfg->root, "etc/key.json");
}

static int
put_identity(json_t *o, const struct dy_render_in *in)
{
	char buf[64];
	int rc = 0;

	snprintf(buf, sizeof(buf), "%sdocker", in->cfg->prefix);
	rc |= put_str(o, "group", buf);
	/* Without it every instance's containers share one /docker cgroup. */
	rc |= put_str(o, "cgroup-parent", buf);
	rc |= put_str(o, "storage-driver",
		      (in->cfg->set & DY_KEY_STORAGE) && strcmp(in->cfg->opt.storage_driver, "auto")
			      ? in->cfg->opt.storage_driver
			      : "overlay2");
	return rc;
}

static int
put_dns(json_t *o, const struct dy_render_in *in)
{
	json_t *a;
	size_t i;
	int rc = 0;

	if (in->ndns == 0)
		return 0;
	a = json_array();
	for (i = 0; i < in->ndns; i++)
		rc |= json_array_append_new(a, json_string(in->dns[i]));
	return rc | json_object_set_new(o, "dns", a);
}

static int
put_runtime(json_t *o, const struct dy_render_in *in)
{
	enum dy_runtime_mode mode = dy_runtime_mode(in->meta);
	const char *r = in->cfg->root;
	char path[DY_ROOT_MAX + 64], rundir[DY_ROOT_MAX + 64];
	json_t *rt;
	int rc = 0;

	if (mode == DY_RUNTIME_RUNC)
		return put_str(o, "default-runtime", "runc");
	snprintf(path, sizeof(path), "%s/%s", r, DY_SYSBOX_RUNC);
	snprintf(rundir, sizeof(rundir), "%s/run/sysbox", r);
	if (mode == DY_RUNTIME_SYSBOX_ARGS)
		rt = json_pack("{s:s, s:[s,s]}", "path", path, "runtimeArgs", "--run-dir", rundir);
	else
		rt = json_pack("{s:s}", "path", path);
	rc |= json_object_set_new(o, "runtimes", json_pack("{s:o}", "sysbox-runc", rt));
	rc |= put_str(o, "default-runtime", "sysbox-runc");
	return rc;
}

/* json_dumps's text plus the final LF, in a buffer of our own. */
static int
dump_json(json_t *o, struct dy_rendered *out, struct dy_err *err)
{
	char *s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2));
	char *data;
	size_t n;

	if (s == NULL)
		return dy_errf(err, "render: etc/daemon.json: cannot serialize");
	n = strlen(s);
	data = malloc(n + 2);
	if (data == NULL) {
		free(s);
		return dy_errf(err, "render: etc/daemon.json: out of memory");
	}
	memcpy(data, s, n);
	data[n] = '\n';
	data[n + 1] = '\0';
	free(s);
	return set_output(out, "etc/daemon.json", data, n + 1, 0644, err);
}

int
dy_render_daemon_json(const struct dy_render_in *in, struct dy_rendered *out, struct dy_err *err)
{
	json_t *o;
	int rc;

	if (check_input(in, err) < 0)
		return -1;
	o = json_object();
	if (o == NULL)
		return dy_errf(err, "render: etc/daemon.json: out of memory");
	if (put_network(o, in) | put_paths(o, in) | put_key_path(o, in) | put_identity(o, in) |
	    put_dns(o, in) | put_runtime(o, in)) {
		json_decref(o);
		return dy_errf(err, "render: etc/daemon.json: out of memory");
	}
	if (in->dropins != NULL && dy_dropin_apply(o, (const json_t *)in->dropins, err) < 0) {
		json_decref(o);
		return -1;
	}
	rc = dump_json(o, out, err);
	json_decref(o);
	return rc;
}

/* ---- containerd.toml ---- */

int
dy_render_containerd_toml(const struct dy_render_in *in, struct dy_rendered *out,
			  struct dy_err *err)
{
	const char *r = in->cfg->root;
	struct text t;

	if (check_input(in, err) < 0 || text_open(&t, err) < 0)
		return -1;
	text_printf(&t,
		    "# containerd of the dockyard instance %s at %s, written by the installer.\n"
		    "# Every path is below the root, none shared with the host's containerd.\n"
		    "# The CRI plugin is off: only dockerd talks to it.\n"
		    "version = 2\n"
		    "root = \"%s/lib/containerd\"\n"
		    "state = \"%s/run/containerd/state\"\n"
		    "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
		    "# The operator's additions, merged over this file in name order;\n"
		    "# the installer never writes there.\n"
		    "imports = [\"%s/etc/containerd.d/*.toml\"]\n"
		    "%s"
		    "\n",
		    in->cfg->prefix, r, r, r, r,
		    in->containerd_dropins ? in->containerd_dropins : "");
	text_printf(&t,
		    "[grpc]\n"
		    "  address = \"%s/run/containerd/containerd.sock\"\n"
		    "\n"
		    "[ttrpc]\n"
		    "  address = \"%s/run/containerd/containerd.sock.ttrpc\"\n"
		    "\n"
		    "[debug]\n"
		    "  address = \"\"\n"
		    "\n"
		    "[metrics]\n"
		    "  address = \"\"\n"
		    "\n",
		    r, r);
	text_printf(&t,
		    "[plugins]\n"
		    "  [plugins.\"io.containerd.internal.v1.opt\"]\n"
		    "    path = \"%s/lib/containerd/opt\"\n",
		    r);
	return text_finish(&t, out, "etc/containerd.toml", 0644, err);
}

/* ---- wrappers ---- */

int
dy_render_docker_wrapper(const struct dy_render_in *in, struct dy_rendered *out, struct dy_err *err)
{
	const char *r = in->cfg->root;
	struct text t;

	if (check_input(in, err) < 0 || text_open(&t, err) < 0)
		return -1;
	text_printf(&t,
		    "#!/bin/sh\n"
		    "# docker CLI of the dockyard instance %s at %s, written by the installer.\n"
		    "DOCKER_HOST='unix://%s/run/docker.sock'\n"
		    "DOCKER_CONFIG='%s/lib/docker-config'\n"
		    "export DOCKER_HOST DOCKER_CONFIG\n"
		    "exec '%s/bin/docker-cli' \"$@\"\n",
		    in->cfg->prefix, r, r, r, r);
	return text_finish(&t, out, "bin/docker", 0755, err);
}

/* The debug branch: run the runtime as a child, then keep its --log file
 * (containerd deletes it before anyone reads it).  Only the global options
 * before the subcommand are scanned; those listed take a value. */
static const char runtime_debug_sh[] =
	"log=\n"
	"cmd=\n"
	"next=\n"
	"for arg in \"$@\"; do\n"
	"\tif [ -n \"$next\" ]; then\n"
	"\t\t[ \"$next\" != log ] || log=$arg\n"
	"\t\tnext=\n"
	"\t\tcontinue\n"
	"\tfi\n"
	"\tcase $arg in\n"
	"\t--log | -log) next=log ;;\n"
	"\t--log=* | -log=*) log=${arg#*=} ;;\n"
	"\t--root | -root | --log-format | -log-format | --criu | -criu | --rootless | -rootless "
	"| --run-dir | -run-dir) next=skip ;;\n"
	"\t-*) ;;\n"
	"\t*)\n"
	"\t\tcmd=$arg\n"
	"\t\tbreak\n"
	"\t\t;;\n"
	"\tesac\n"
	"done\n"
	"case $cmd in\n"
	"'' | *[!A-Za-z0-9_-]*) cmd=none ;;\n"
	"esac\n"
	"\"$bin\" \"$@\"\n"
	"rc=$?\n"
	"if [ -n \"$log\" ] && [ -f \"$log\" ]; then\n"
	"\tname=\"$logdir/$(date -u +%Y%m%dT%H%M%SZ)-$$-$cmd.log\"\n"
	"\t{ mkdir -p \"$logdir\" && cp -- \"$log\" \"$name\"; } 2>/dev/null || :\n"
	"fi\n"
	"exit \"$rc\"\n";

int
dy_render_runtime_wrapper(const struct dy_render_in *in, struct dy_rendered *out,
			  struct dy_err *err)
{
	enum dy_runtime_mode mode = dy_runtime_mode(in->meta);
	const char *r = in->cfg->root;
	struct text t;

	if (check_input(in, err) < 0)
		return -1;
	if (mode == DY_RUNTIME_RUNC)
		return dy_errf(err,
			       "render: %s: the payload has no sysbox (no component with "
			       "sysbox-run-dir)",
			       DY_SYSBOX_RUNC);
	if (text_open(&t, err) < 0)
		return -1;
	/* The shebang stays the first line: only there does the kernel read it. */
	text_printf(&t,
		    "#!/bin/sh\n"
		    "# sysbox-runc of the dockyard instance %s at %s, written by the installer:\n"
		    "# runs %s/%s with the arguments unchanged.  While\n"
		    "# %s/run/debug-runtime exists (dockyardctl start --debug-runtime) it\n"
		    "# keeps a copy of each --log file in %s/log/runtime/.\n",
		    in->cfg->prefix, r, r, DY_SYSBOX_RUNC_BIN, r, r);
	if (mode == DY_RUNTIME_SYSBOX_ENV)
		text_printf(&t,
			    "# This sysbox ignores --run-dir in runtimeArgs (sysbox-runc\n"
			    "# 0.6.7.4-tc to 0.6.7.8-tc): the environment names its run\n"
			    "# directory instead.\n"
			    "SYSBOX_RUN_DIR='%s/run/sysbox'\n"
			    "export SYSBOX_RUN_DIR\n",
			    r);
	text_printf(&t,
		    "bin='%s/%s'\n"
		    "logdir='%s/log/runtime'\n"
		    "if [ ! -e '%s/run/debug-runtime' ]; then\n"
		    "\texec \"$bin\" \"$@\"\n"
		    "fi\n"
		    "%s",
		    r, DY_SYSBOX_RUNC_BIN, r, r, runtime_debug_sh);
	return text_finish(&t, out, DY_SYSBOX_RUNC, 0755, err);
}

/* ---- systemd unit ---- */

int
dy_render_unit(const struct dy_render_in *in, struct dy_rendered *out, struct dy_err *err)
{
	const char *r = in->cfg->root, *p = in->cfg->prefix;
	char path[DY_ROOT_MAX + 64];
	struct text t;

	if (check_input(in, err) < 0 || text_open(&t, err) < 0)
		return -1;
	text_printf(&t,
		    "# dockyard instance %s at %s, written by the installer.\n"
		    "# dockyardctl run supervises sysbox-mgr, sysbox-fs, containerd and dockerd.\n"
		    "[Unit]\n"
		    "Description=dockyard Docker engine %s at %s\n"
		    "After=network-online.target\n"
		    "Wants=network-online.target\n"
		    "RequiresMountsFor=%s\n"
		    "StartLimitIntervalSec=60\n"
		    "StartLimitBurst=3\n"
		    "\n",
		    p, r, p, r, r);
	text_printf(&t,
		    "[Service]\n"
		    "Type=notify\n"
		    "NotifyAccess=all\n"
		    "ExecStartPre=%s/bin/dockyardctl net-up\n"
		    "ExecStart=%s/bin/dockyardctl run\n"
		    "ExecStopPost=%s/bin/dockyardctl stop\n"
		    "Delegate=yes\n"
		    "# The supervisor stops its children in reverse order itself.\n"
		    "KillMode=process\n"
		    "LimitNOFILE=infinity\n"
		    "LimitNPROC=infinity\n"
		    "LimitCORE=infinity\n"
		    "TasksMax=infinity\n"
		    "OOMScoreAdjust=-500\n"
		    "Restart=on-failure\n"
		    "RestartSec=5\n"
		    "# dockyardctl waits up to 60 s for each of four components to start\n"
		    "# and 30 s for each to stop.\n"
		    "TimeoutStartSec=300\n"
		    "TimeoutStopSec=150\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n",
		    r, r, r);
	snprintf(path, sizeof(path), "/etc/systemd/system/%sdocker.service", p);
	return text_finish(&t, out, path, 0644, err);
}

/* ---- DNS ---- */

/* A usable upstream server: not loopback, link-local or unspecified.
 * norm gets the canonical text (so "2001:DB8::1" and "2001:db8:0::1" are
 * one server). */
static int
dns_usable(const char *text, char *norm, size_t size)
{
	unsigned char a[16];
	struct in_addr v4;

	if (strchr(text, '%') != NULL) /* a zone: link-local by definition */
		return 0;
	if (inet_pton(AF_INET, text, &v4) == 1) {
		uint32_t h = ntohl(v4.s_addr);

		if ((h >> 24) == 127 || (h >> 16) == 0xa9fe || h == 0)
			return 0;
		return inet_ntop(AF_INET, &v4, norm, (socklen_t)size) != NULL;
	}
	if (inet_pton(AF_INET6, text, a) != 1)
		return 0;
	{
		static const unsigned char loop[16] = { [15] = 1 };
		static const unsigned char any[16] = { 0 };
		static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

		if (memcmp(a, loop, 16) == 0 || memcmp(a, any, 16) == 0)
			return 0;
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			return 0;
		/* ::ffff:127.0.0.1 and friends */
		if (memcmp(a, mapped, 12) == 0 && (a[12] == 127 || (a[12] == 169 && a[13] == 254) ||
						   (a[12] | a[13] | a[14] | a[15]) == 0))
			return 0;
	}
	return inet_ntop(AF_INET6, a, norm, (socklen_t)size) != NULL;
}

/* The address of a "nameserver ADDR" line, or 0. */
static int
nameserver_value(const char *line, size_t len, char *addr, size_t size)
{
	static const char kw[] = "nameserver";
	size_t i = 0, start;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (len - i <= sizeof(kw) - 1 || memcmp(line + i, kw, sizeof(kw) - 1) != 0)
		return 0;
	i += sizeof(kw) - 1;
	if (line[i] != ' ' && line[i] != '\t')
		return 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	start = i;
	while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '#' && line[i] != ';' &&
	       line[i] != '\r')
		i++;
	if (i == start || i - start >= size)
		return 0;
	memcpy(addr, line + start, i - start);
	addr[i - start] = '\0';
	return 1;
}

static int
dns_seen(char servers[][64], size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(servers[i], s) == 0)
			return 1;
	return 0;
}

int
dy_dns_parse(const char *text, size_t len, char servers[][64], size_t max)
{
	size_t n = 0, off = 0, ll;
	const char *nl;
	char addr[128], norm[64];

	while (off < len && n < max) {
		nl = memchr(text + off, '\n', len - off);
		ll = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		if (nameserver_value(text + off, ll, addr, sizeof(addr)) &&
		    dns_usable(addr, norm, sizeof(norm)) && !dns_seen(servers, n, norm)) {
			memcpy(servers[n], norm, sizeof(norm));
			n++;
		}
		off += ll + 1;
	}
	return (int)n;
}

/* The servers of sysroot/rel, or 0 when it is missing or unreadable. */
static int
dns_from_file(const char *sysroot, const char *rel, char servers[][64], size_t max)
{
	char path[DY_ROOT_MAX + 64];
	char *buf;
	ssize_t got;
	int fd, n = 0;

	snprintf(path, sizeof(path), "%s%s", sysroot, rel);
	/* resolv.conf is commonly a symlink (resolved, resolvconf): follow it. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	buf = malloc(DNS_FILE_MAX);
	if (buf != NULL) {
		got = dy_read_some(fd, buf, DNS_FILE_MAX);
		if (got > 0)
			n = dy_dns_parse(buf, (size_t)got, servers, max);
		free(buf);
	}
	close(fd);
	return n;
}

int
dy_dns_detect(const char *sysroot, char servers[][64], size_t max)
{
	int n;

	if (sysroot == NULL)
		sysroot = "";
	/* resolved's upstream list; /etc/resolv.conf then only names its
	 * stub on 127.0.0.53, which containers cannot reach. */
	n = dns_from_file(sysroot, "/run/systemd/resolve/resolv.conf", servers, max);
	if (n > 0)
		return n;
	return dns_from_file(sysroot, "/etc/resolv.conf", servers, max);
}
