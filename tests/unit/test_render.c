/* SPDX-License-Identifier: Apache-2.0 */
/*
 * installer/render.h: every file rendered for an instance, checked by
 * meaning (daemon.json parsed back key by key) and by the lines that
 * matter (containerd.toml, wrappers, unit), for each runtime mode and
 * dockerd generation; and the upstream DNS detection.
 */
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/xio.h"
#include "../../installer/render.h"
#include "harness.h"

#define ROOT "/srv/dy-test1"
#define NEW_DOCKERD "29.2.1"
#define OLD_DOCKERD "20.10.24+dfsg1-1+deb12u1+b6"

enum { NO_INIT = 0, WITH_INIT = 1 };

/* root /srv/dy-test1, prefix t1, bridge 172.22.147.1/24 in fixed
 * 172.22.147.0/24, pool 172.23.0.0/16 carved into /26s. */
static void
make_cfg(struct dy_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->root, sizeof(c->root), "%s", ROOT);
	snprintf(c->prefix, sizeof(c->prefix), "t1");
	c->bridge.addr = (172u << 24) | (22u << 16) | (147u << 8) | 1u;
	c->bridge.len = 24;
	c->fixed.addr = (172u << 24) | (22u << 16) | (147u << 8);
	c->fixed.len = 24;
	c->pool.addr = (172u << 24) | (23u << 16);
	c->pool.len = 16;
	c->pool_size = 26;
	c->set = DY_KEY_ALL;
}

static int
add_file(struct dy_meta *m, const char *path, size_t component)
{
	struct dy_err err = { 0 };
	struct dy_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.path, sizeof(e.path), "%s", path);
	e.mode = 0755;
	e.component = component;
	if (dy_meta_add_entry(m, &e, &err) < 0) {
		printf("#   add %s: %s\n", path, err.msg);
		return -1;
	}
	return 0;
}

/* A payload: docker (version dockerd_version; NULL: no dockerd at all),
 * optionally docker-init, and sysbox with run_dir "args"/"env" (NULL: no
 * sysbox). */
static int
make_meta(struct dy_meta *m, const char *dockerd_version, const char *run_dir, int init)
{
	struct dy_err err = { 0 };

	dy_meta_init(m);
	if (dy_meta_add_component(m, "docker", dockerd_version ? dockerd_version : "1.0", &err) <
		    0 ||
	    add_file(m, "bin/docker-cli", 0) < 0)
		goto fail;
	if (dockerd_version != NULL && add_file(m, "bin/dockerd", 0) < 0)
		goto fail;
	if (init && add_file(m, "bin/docker-init", 0) < 0)
		goto fail;
	if (run_dir != NULL && (dy_meta_add_component(m, "sysbox", "0.6.7.9-tc", &err) < 0 ||
				dy_meta_add_attr(m, "sysbox-run-dir", run_dir, &err) < 0 ||
				add_file(m, "bin/sysbox-runc", 1) < 0))
		goto fail;
	if (dy_meta_finish(m, &err) < 0)
		goto fail;
	return 0;
fail:
	printf("#   meta: %s\n", err.msg);
	return -1;
}

/* daemon.json rendered for a payload and parsed back (NULL on failure). */
static json_t *
daemon_json(const char *dockerd_version, const char *run_dir, int init, const char *const *dns,
	    size_t ndns, struct dy_rendered *r)
{
	struct dy_err err = { 0 };
	struct dy_config cfg;
	struct dy_meta m;
	json_error_t jerr;
	json_t *j = NULL;

	make_cfg(&cfg);
	memset(r, 0, sizeof(*r));
	if (make_meta(&m, dockerd_version, run_dir, init) < 0)
		return NULL;
	{
		struct dy_render_in in = { &cfg, &m, dns, ndns, NULL, NULL };

		if (dy_render_daemon_json(&in, r, &err) < 0)
			printf("#   render: %s\n", err.msg);
		else if ((j = json_loadb(r->data, r->len, 0, &jerr)) == NULL)
			printf("#   parse: %s\n", jerr.text);
	}
	dy_meta_free(&m);
	return j;
}

static int
str_is(json_t *o, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (v == NULL || strcmp(v, want) != 0) {
		printf("#   %s: got '%s', want '%s'\n", key, v ? v : "(none)", want);
		return 0;
	}
	return 1;
}

/* The keys every instance has, whatever the payload. */
static void
check_common_keys(json_t *j)
{
	json_t *pools = json_object_get(j, "default-address-pools");
	json_t *hosts = json_object_get(j, "hosts");

	CHECK(str_is(j, "bridge", "t1docker0"));
	CHECK(str_is(j, "fixed-cidr", "172.22.147.0/24"));
	CHECK(json_object_get(j, "bip") == NULL);
	CHECK(json_is_array(pools) && json_array_size(pools) == 1);
	CHECK(str_is(json_array_get(pools, 0), "base", "172.23.0.0/16"));
	CHECK(json_integer_value(json_object_get(json_array_get(pools, 0), "size")) == 26);
	CHECK(json_object_size(json_array_get(pools, 0)) == 2);
	CHECK(json_is_false(json_object_get(j, "iptables")));
	CHECK(json_is_false(json_object_get(j, "ip-masq")));
	CHECK(json_is_array(hosts) && json_array_size(hosts) == 1);
	CHECK(json_string_value(json_array_get(hosts, 0)) != NULL &&
	      strcmp(json_string_value(json_array_get(hosts, 0)),
		     "unix://" ROOT "/run/docker.sock") == 0);
	CHECK(str_is(j, "containerd", ROOT "/run/containerd/containerd.sock"));
	CHECK(str_is(j, "data-root", ROOT "/lib/docker"));
	CHECK(str_is(j, "exec-root", ROOT "/run/docker"));
	CHECK(str_is(j, "pidfile", ROOT "/run/docker/dockerd.pid"));
	CHECK(str_is(j, "group", "t1docker"));
	CHECK(str_is(j, "cgroup-parent", "t1docker"));
	CHECK(str_is(j, "storage-driver", "overlay2"));
	CHECK(str_is(j, "userland-proxy-path", ROOT "/bin/docker-proxy"));
}

/* Keys sorted, 2-space indent, one LF at the end: dumping the parsed
 * object the same way gives the same bytes. */
static void
check_format(json_t *j, const struct dy_rendered *r)
{
	char *again = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2));

	CHECK(strcmp(r->path, "etc/daemon.json") == 0);
	CHECK(r->mode == 0644);
	CHECK(again != NULL && r->len == strlen(again) + 1 &&
	      memcmp(r->data, again, r->len - 1) == 0 && r->data[r->len - 1] == '\n');
	CHECK(strstr(r->data, "\n  \"bridge\": ") != NULL);
	free(again);
}

static void
test_runtime_mode(void)
{
	struct dy_meta m;

	CHECK(make_meta(&m, NEW_DOCKERD, NULL, WITH_INIT) == 0);
	CHECK(dy_runtime_mode(&m) == DY_RUNTIME_RUNC);
	dy_meta_free(&m);
	CHECK(make_meta(&m, NEW_DOCKERD, "args", WITH_INIT) == 0);
	CHECK(dy_runtime_mode(&m) == DY_RUNTIME_SYSBOX_ARGS);
	dy_meta_free(&m);
	CHECK(make_meta(&m, NEW_DOCKERD, "env", WITH_INIT) == 0);
	CHECK(dy_runtime_mode(&m) == DY_RUNTIME_SYSBOX_ENV);
	dy_meta_free(&m);
}

static void
test_daemon_json_args_mode(void)
{
	struct dy_rendered r;
	json_t *j = daemon_json(NEW_DOCKERD, "args", WITH_INIT, NULL, 0, &r);
	json_t *rt, *args;

	CHECK(j != NULL);
	if (j == NULL)
		goto out;
	check_common_keys(j);
	check_format(j, &r);
	CHECK(str_is(j, "default-runtime", "sysbox-runc"));
	rt = json_object_get(json_object_get(j, "runtimes"), "sysbox-runc");
	CHECK(json_object_size(json_object_get(j, "runtimes")) == 1);
	CHECK(str_is(rt, "path", ROOT "/bin/sysbox-runc"));
	args = json_object_get(rt, "runtimeArgs");
	CHECK(json_is_array(args) && json_array_size(args) == 2);
	CHECK(json_string_value(json_array_get(args, 0)) != NULL &&
	      strcmp(json_string_value(json_array_get(args, 0)), "--run-dir") == 0);
	CHECK(json_string_value(json_array_get(args, 1)) != NULL &&
	      strcmp(json_string_value(json_array_get(args, 1)), ROOT "/run/sysbox") == 0);
	CHECK(str_is(j, "init-path", ROOT "/bin/docker-init"));
	CHECK(json_object_get(j, "deprecated-key-path") == NULL);
	CHECK(json_object_get(j, "dns") == NULL);
	/* 17 keys: the common 14, default-runtime, runtimes, init-path. */
	CHECK(json_object_size(j) == 17);
	json_decref(j);
out:
	dy_rendered_free(&r);
}

static void
test_daemon_json_env_mode(void)
{
	struct dy_rendered r;
	json_t *j = daemon_json(NEW_DOCKERD, "env", WITH_INIT, NULL, 0, &r);
	json_t *rt;

	CHECK(j != NULL);
	if (j == NULL)
		goto out;
	check_common_keys(j);
	CHECK(str_is(j, "default-runtime", "sysbox-runc"));
	rt = json_object_get(json_object_get(j, "runtimes"), "sysbox-runc");
	CHECK(str_is(rt, "path", ROOT "/bin/sysbox-runc"));
	/* The forks that ignore --run-dir: the wrapper exports SYSBOX_RUN_DIR,
	 * no runtimeArgs. */
	CHECK(json_object_get(rt, "runtimeArgs") == NULL);
	CHECK(json_object_size(rt) == 1);
	json_decref(j);
out:
	dy_rendered_free(&r);
}

static void
test_daemon_json_runc(void)
{
	struct dy_rendered r;
	json_t *j = daemon_json(NEW_DOCKERD, NULL, NO_INIT, NULL, 0, &r);

	CHECK(j != NULL);
	if (j == NULL)
		goto out;
	check_common_keys(j);
	check_format(j, &r);
	CHECK(str_is(j, "default-runtime", "runc"));
	CHECK(json_object_get(j, "runtimes") == NULL);
	CHECK(json_object_get(j, "init-path") == NULL);
	CHECK(strstr(r.data, "sysbox") == NULL);
	json_decref(j);
out:
	dy_rendered_free(&r);
}

/* deprecated-key-path is there exactly when dockerd is older than 23. */
static int
has_key_path(const char *dockerd_version)
{
	struct dy_rendered r;
	json_t *j = daemon_json(dockerd_version, "args", WITH_INIT, NULL, 0, &r);
	int has = -1;

	if (j != NULL) {
		has = json_object_get(j, "deprecated-key-path") != NULL;
		if (has && !str_is(j, "deprecated-key-path", ROOT "/etc/key.json"))
			has = -1;
		json_decref(j);
	}
	dy_rendered_free(&r);
	return has;
}

static void
test_daemon_json_key_path(void)
{
	CHECK(has_key_path(OLD_DOCKERD) == 1);
	CHECK(has_key_path("19.03.15") == 1);
	CHECK(has_key_path("22.06.0-beta.0") == 1);
	CHECK(has_key_path("20.10.24~3-0~debian-bookworm") == 1);
	CHECK(has_key_path(NEW_DOCKERD) == 0);
	CHECK(has_key_path("23.0.0") == 0);
	CHECK(has_key_path("100.1") == 0);
	/* unknown: not a version, or no dockerd in the payload */
	CHECK(has_key_path("git-abcdef") == 0);
	CHECK(has_key_path(NULL) == 0);
}

static void
test_daemon_json_dns(void)
{
	static const char *const dns[] = { "192.0.2.53", "2001:db8::53" };
	struct dy_rendered r;
	json_t *j = daemon_json(NEW_DOCKERD, "args", WITH_INIT, dns, 2, &r);
	json_t *a;

	CHECK(j != NULL);
	if (j == NULL)
		goto out;
	a = json_object_get(j, "dns");
	CHECK(json_is_array(a) && json_array_size(a) == 2);
	CHECK(json_string_value(json_array_get(a, 0)) != NULL &&
	      strcmp(json_string_value(json_array_get(a, 0)), "192.0.2.53") == 0);
	CHECK(json_string_value(json_array_get(a, 1)) != NULL &&
	      strcmp(json_string_value(json_array_get(a, 1)), "2001:db8::53") == 0);
	json_decref(j);
out:
	dy_rendered_free(&r);
}

/* Render one file with fn for a payload. */
typedef int (*render_fn)(const struct dy_render_in *, struct dy_rendered *, struct dy_err *);

static int
render(render_fn fn, const char *run_dir, struct dy_rendered *r, struct dy_err *err)
{
	struct dy_config cfg;
	struct dy_meta m;
	int rc;

	make_cfg(&cfg);
	memset(r, 0, sizeof(*r));
	if (make_meta(&m, NEW_DOCKERD, run_dir, WITH_INIT) < 0)
		return -1;
	{
		struct dy_render_in in = { &cfg, &m, NULL, 0, NULL, NULL };

		rc = fn(&in, r, err);
	}
	dy_meta_free(&m);
	return rc;
}

/* Every occurrence of needle in hay is preceded by ROOT. */
static int
only_below_root(const char *hay, const char *needle)
{
	const char *p;
	size_t rl = strlen(ROOT);

	for (p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		if ((size_t)(p - hay) < rl || memcmp(p - rl, ROOT, rl) != 0) {
			printf("#   '%s' outside the root at offset %zu\n", needle,
			       (size_t)(p - hay));
			return 0;
		}
	return 1;
}

static void
test_containerd_toml(void)
{
	struct dy_err err = { 0 };
	struct dy_rendered r;

	CHECK(render(dy_render_containerd_toml, "args", &r, &err) == 0);
	if (r.data == NULL)
		return;
	CHECK(strcmp(r.path, "etc/containerd.toml") == 0);
	CHECK(r.mode == 0644);
	CHECK(r.data[r.len - 1] == '\n' && strlen(r.data) == r.len);
	CHECK_STR_CONTAINS(r.data, "\nversion = 2\n");
	CHECK_STR_CONTAINS(r.data, "\nroot = \"" ROOT "/lib/containerd\"\n");
	CHECK_STR_CONTAINS(r.data, "\nstate = \"" ROOT "/run/containerd/state\"\n");
	CHECK_STR_CONTAINS(r.data, "\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n");
	CHECK_STR_CONTAINS(r.data,
			   "\n[grpc]\n  address = \"" ROOT "/run/containerd/containerd.sock\"\n");
	CHECK_STR_CONTAINS(r.data, "\n[ttrpc]\n  address = \"" ROOT
				   "/run/containerd/containerd.sock.ttrpc\"\n");
	CHECK_STR_CONTAINS(r.data, "\n[debug]\n  address = \"\"\n");
	CHECK_STR_CONTAINS(r.data, "\n[metrics]\n  address = \"\"\n");
	CHECK_STR_CONTAINS(r.data,
			   "\n  [plugins.\"io.containerd.internal.v1.opt\"]\n    path = \"" ROOT
			   "/lib/containerd/opt\"\n");
	CHECK(strstr(r.data, "/var/lib/containerd") == NULL);
	CHECK(strstr(r.data, "/opt/containerd") == NULL);
	CHECK(only_below_root(r.data, "/run/containerd/"));
	CHECK(only_below_root(r.data, "/lib/containerd"));
	CHECK_STR_CONTAINS(r.data, "\nimports = [\"" ROOT "/etc/containerd.d/*.toml\"]\n");
	dy_rendered_free(&r);
}

/* The drop-ins' summary lines change the file, so a changed drop-in
 * restarts containerd. */
static void
test_containerd_toml_dropins(void)
{
	struct dy_config cfg;
	struct dy_meta m;
	struct dy_err err = { 0 };
	struct dy_rendered a, b;
	struct dy_render_in in = { &cfg, &m, NULL, 0, NULL, NULL };

	make_cfg(&cfg);
	dy_meta_init(&m);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK(dy_render_containerd_toml(&in, &a, &err) == 0);
	in.containerd_dropins = "# drop-in 10-mirror.toml sha256 00ff\n";
	CHECK(dy_render_containerd_toml(&in, &b, &err) == 0);
	if (a.data != NULL && b.data != NULL) {
		CHECK(strcmp(a.data, b.data) != 0);
		CHECK_STR_CONTAINS(b.data, "*.toml\"]\n# drop-in 10-mirror.toml sha256 00ff\n");
	}
	dy_rendered_free(&a);
	dy_rendered_free(&b);
	dy_meta_free(&m);
}

/* Each quoted absolute path in text starts with ROOT. */
static void
test_containerd_toml_paths_quoted(void)
{
	struct dy_err err = { 0 };
	struct dy_rendered r;
	const char *p;
	int n = 0;

	CHECK(render(dy_render_containerd_toml, NULL, &r, &err) == 0);
	if (r.data == NULL)
		return;
	for (p = strstr(r.data, "\"/"); p != NULL; p = strstr(p + 1, "\"/"), n++)
		CHECK(strncmp(p + 1, ROOT "/", strlen(ROOT) + 1) == 0);
	CHECK(n == 6); /* root, state, imports, grpc, ttrpc, opt */
	dy_rendered_free(&r);
}

static void
test_docker_wrapper(void)
{
	struct dy_err err = { 0 };
	struct dy_rendered r;

	CHECK(render(dy_render_docker_wrapper, NULL, &r, &err) == 0);
	if (r.data == NULL)
		return;
	CHECK(strcmp(r.path, "bin/docker") == 0);
	CHECK(r.mode == 0755);
	CHECK(strncmp(r.data, "#!/bin/sh\n", 10) == 0);
	CHECK_STR_CONTAINS(r.data, "\nDOCKER_HOST='unix://" ROOT "/run/docker.sock'\n");
	CHECK_STR_CONTAINS(r.data, "\nDOCKER_CONFIG='" ROOT "/lib/docker-config'\n");
	CHECK_STR_CONTAINS(r.data, "\nexport DOCKER_HOST DOCKER_CONFIG\n");
	CHECK_STR_CONTAINS(r.data, "\nexec '" ROOT "/bin/docker-cli' \"$@\"\n");
	dy_rendered_free(&r);
}

static void
test_runtime_wrapper(void)
{
	struct dy_err err = { 0 };
	struct dy_rendered a, e;

	CHECK(render(dy_render_runtime_wrapper, "args", &a, &err) == 0);
	CHECK(render(dy_render_runtime_wrapper, "env", &e, &err) == 0);
	if (a.data == NULL || e.data == NULL)
		goto out;
	CHECK(strcmp(a.path, DY_SYSBOX_RUNC) == 0 && strcmp(e.path, DY_SYSBOX_RUNC) == 0);
	CHECK(a.mode == 0755 && e.mode == 0755);
	/* The shebang is the very first line, or the kernel ignores it. */
	CHECK(strncmp(a.data, "#!/bin/sh\n", 10) == 0);
	CHECK(strncmp(e.data, "#!/bin/sh\n", 10) == 0);
	CHECK_STR_CONTAINS(a.data, "\nbin='" ROOT "/bin/sysbox-runc-bin'\n");
	CHECK_STR_CONTAINS(a.data, "\n\texec \"$bin\" \"$@\"\n");
	CHECK_STR_CONTAINS(a.data, "'" ROOT "/run/debug-runtime'");
	CHECK_STR_CONTAINS(a.data, "\nlogdir='" ROOT "/log/runtime'\n");
	CHECK(strstr(a.data, "SYSBOX_RUN_DIR") == NULL);
	CHECK_STR_CONTAINS(e.data,
			   "\nSYSBOX_RUN_DIR='" ROOT "/run/sysbox'\nexport SYSBOX_RUN_DIR\n");
	/* exported before anything runs the binary */
	CHECK(strstr(e.data, "export SYSBOX_RUN_DIR") < strstr(e.data, "exec \"$bin\""));
out:
	dy_rendered_free(&a);
	dy_rendered_free(&e);
}

static void
test_runtime_wrapper_needs_sysbox(void)
{
	struct dy_err err = { 0 };
	struct dy_rendered r;

	CHECK(render(dy_render_runtime_wrapper, NULL, &r, &err) == -1);
	CHECK(r.data == NULL);
	CHECK_STR_CONTAINS(err.msg, "no sysbox");
}

static void
test_unit(void)
{
	static const char *const lines[] = {
		"[Unit]\n",
		"\nAfter=network-online.target\n",
		"\nWants=network-online.target\n",
		"\nRequiresMountsFor=" ROOT "\n",
		"\nStartLimitIntervalSec=60\n",
		"\nStartLimitBurst=3\n",
		"\n[Service]\n",
		"\nType=notify\n",
		"\nNotifyAccess=all\n",
		"\nExecStartPre=" ROOT "/bin/dockyardctl net-up\n",
		"\nExecStart=" ROOT "/bin/dockyardctl run\n",
		"\nExecStopPost=" ROOT "/bin/dockyardctl stop\n",
		"\nDelegate=yes\n",
		"\nKillMode=process\n",
		"\nLimitNOFILE=infinity\n",
		"\nLimitNPROC=infinity\n",
		"\nLimitCORE=infinity\n",
		"\nTasksMax=infinity\n",
		"\nOOMScoreAdjust=-500\n",
		"\nRestart=on-failure\n",
		"\nRestartSec=5\n",
		"\nTimeoutStartSec=300\n",
		"\nTimeoutStopSec=150\n",
		"\n[Install]\nWantedBy=multi-user.target\n",
	};
	struct dy_err err = { 0 };
	struct dy_rendered r;
	const char *desc, *end;
	size_t i;

	CHECK(render(dy_render_unit, "args", &r, &err) == 0);
	if (r.data == NULL)
		return;
	CHECK(strcmp(r.path, "/etc/systemd/system/t1docker.service") == 0);
	CHECK(r.mode == 0644);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		CHECK_STR_CONTAINS(r.data, lines[i]);
	/* sections in order */
	CHECK(strstr(r.data, "[Unit]") < strstr(r.data, "[Service]"));
	CHECK(strstr(r.data, "[Service]") < strstr(r.data, "[Install]"));
	desc = strstr(r.data, "\nDescription=");
	end = desc != NULL ? strchr(desc + 1, '\n') : NULL;
	CHECK(end != NULL && memmem(desc, (size_t)(end - desc), ROOT, strlen(ROOT)) != NULL);
	CHECK(strstr(r.data, "dockyard-installer") == NULL);
	CHECK(r.data[r.len - 1] == '\n' && strlen(r.data) == r.len);
	dy_rendered_free(&r);
}

/* Root and prefix go into shell, TOML and unit text unescaped. */
static void
test_refuses_unsafe_input(void)
{
	static const char *const roots[] = {
		"relative/dir", "/", "/srv/my dir", "/srv/a*", "/srv/x/", "/srv/$HOME", ""
	};
	static const char *const prefixes[] = { "", "T1", "a-b", "x;y" };
	struct dy_err err = { 0 };
	struct dy_rendered r;
	struct dy_config cfg;
	struct dy_meta m;
	struct dy_render_in in = { &cfg, &m, NULL, 0, NULL, NULL };
	size_t i;

	CHECK(make_meta(&m, NEW_DOCKERD, "env", WITH_INIT) == 0);
	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		make_cfg(&cfg);
		snprintf(cfg.root, sizeof(cfg.root), "%s", roots[i]);
		memset(&r, 0, sizeof(r));
		err.msg[0] = '\0';
		CHECK(dy_render_runtime_wrapper(&in, &r, &err) == -1);
		CHECK(dy_render_unit(&in, &r, &err) == -1);
		CHECK(dy_render_daemon_json(&in, &r, &err) == -1);
		CHECK(r.data == NULL);
		CHECK_STR_CONTAINS(err.msg, "root '");
	}
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		make_cfg(&cfg);
		snprintf(cfg.prefix, sizeof(cfg.prefix), "%s", prefixes[i]);
		CHECK(dy_render_containerd_toml(&in, &r, &err) == -1);
		CHECK(dy_render_docker_wrapper(&in, &r, &err) == -1);
		CHECK_STR_CONTAINS(err.msg, "prefix '");
	}
	dy_meta_free(&m);
}

/* ---- DNS ---- */

static int
parse(const char *text, char servers[][64], size_t max)
{
	return dy_dns_parse(text, strlen(text), servers, max);
}

static void
test_dns_resolved_stub_dropped(void)
{
	char s[3][64];

	CHECK(parse("# This is /run/systemd/resolve/stub-resolv.conf\n"
		    "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
		    s, 3) == 0);
	CHECK(parse("nameserver 127.0.0.1\nnameserver 127.1.2.3\nnameserver ::1\n"
		    "nameserver 0.0.0.0\nnameserver ::\nnameserver ::ffff:127.0.0.1\n",
		    s, 3) == 0);
}

static void
test_dns_link_local_dropped(void)
{
	char s[3][64];

	CHECK(parse("nameserver 169.254.169.253\nnameserver fe80::1\n"
		    "nameserver fe80::1%eth0\nnameserver febf::2\nnameserver 10.0.0.2\n",
		    s, 3) == 1);
	CHECK(strcmp(s[0], "10.0.0.2") == 0);
	/* fec0:: is outside fe80::/10 */
	CHECK(parse("nameserver fec0::1\n", s, 3) == 1);
}

static void
test_dns_ipv6_kept(void)
{
	char s[3][64];

	CHECK(parse("nameserver 2001:4860:4860::8888\nnameserver 8.8.8.8\n", s, 3) == 2);
	CHECK(strcmp(s[0], "2001:4860:4860::8888") == 0);
	CHECK(strcmp(s[1], "8.8.8.8") == 0);
}

static void
test_dns_duplicates(void)
{
	char s[3][64];

	CHECK(parse("nameserver 192.0.2.1\nnameserver 192.0.2.1\n"
		    "nameserver 2001:DB8:0::1\nnameserver 2001:db8::1\nnameserver 192.0.2.2\n",
		    s, 3) == 3);
	CHECK(strcmp(s[0], "192.0.2.1") == 0);
	CHECK(strcmp(s[1], "2001:db8::1") == 0);
	CHECK(strcmp(s[2], "192.0.2.2") == 0);
}

static void
test_dns_max(void)
{
	char s[3][64];
	const char *text = "nameserver 192.0.2.1\nnameserver 192.0.2.2\n"
			   "nameserver 192.0.2.3\nnameserver 192.0.2.4\n";

	CHECK(parse(text, s, 3) == 3);
	CHECK(strcmp(s[2], "192.0.2.3") == 0);
	CHECK(parse(text, s, 1) == 1);
	CHECK(strcmp(s[0], "192.0.2.1") == 0);
	CHECK(parse(text, s, 0) == 0);
}

static void
test_dns_line_syntax(void)
{
	char s[3][64];

	/* indentation, tabs, trailing comments and text, CRLF, no final LF */
	CHECK(parse("  nameserver\t192.0.2.1 # office\n"
		    "nameserver 192.0.2.2\r\n"
		    "nameserver 192.0.2.3",
		    s, 3) == 3);
	CHECK(strcmp(s[0], "192.0.2.1") == 0);
	CHECK(strcmp(s[1], "192.0.2.2") == 0);
	CHECK(strcmp(s[2], "192.0.2.3") == 0);
	/* not a nameserver line, or not an address */
	CHECK(parse("# nameserver 192.0.2.1\n;nameserver 192.0.2.2\nnameservers 192.0.2.3\n"
		    "nameserver\nnameserver 192.0.2\nnameserver dns.example\n"
		    "domain nameserver 192.0.2.4\nnameserver 192.0.2.5/24\n",
		    s, 3) == 0);
	CHECK(parse("", s, 3) == 0);
}

static int
write_text(const char *dir, const char *rel, const char *text)
{
	char path[512], sub[512];
	struct dy_err err = { 0 };

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(sub, sizeof(sub), "%s", path);
	*strrchr(sub, '/') = '\0';
	if (dy_mkdir_p(sub, 0755, &err) < 0 ||
	    dy_write_file_atomic(path, text, strlen(text), 0644, &err) < 0) {
		printf("#   %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void
test_dns_detect(void)
{
	char dir[] = "/tmp/dockyard-test-render.XXXXXX";
	char s[3][64];
	char rm[600];

	CHECK(mkdtemp(dir) != NULL);
	/* nothing there */
	CHECK(dy_dns_detect(dir, s, 3) == 0);
	/* /etc/resolv.conf alone */
	CHECK(write_text(dir, "etc/resolv.conf", "nameserver 192.0.2.10\n") == 0);
	CHECK(dy_dns_detect(dir, s, 3) == 1 && strcmp(s[0], "192.0.2.10") == 0);
	/* resolved: its upstream list wins over the stub in /etc/resolv.conf */
	CHECK(write_text(dir, "etc/resolv.conf", "nameserver 127.0.0.53\n") == 0);
	CHECK(write_text(dir, "run/systemd/resolve/resolv.conf",
			 "nameserver 192.0.2.20\nnameserver 2001:db8::20\n") == 0);
	CHECK(dy_dns_detect(dir, s, 3) == 2 && strcmp(s[0], "192.0.2.20") == 0 &&
	      strcmp(s[1], "2001:db8::20") == 0);
	CHECK(write_text(dir, "etc/resolv.conf", "nameserver 192.0.2.10\n") == 0);
	CHECK(dy_dns_detect(dir, s, 3) == 2 && strcmp(s[0], "192.0.2.20") == 0);
	/* resolved with no usable upstream: fall back to /etc/resolv.conf */
	CHECK(write_text(dir, "run/systemd/resolve/resolv.conf", "nameserver fe80::1%eth0\n") == 0);
	CHECK(dy_dns_detect(dir, s, 3) == 1 && strcmp(s[0], "192.0.2.10") == 0);
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	CHECK(system(rm) == 0);
}

int
main(void)
{
	RUN(test_runtime_mode);
	RUN(test_daemon_json_args_mode);
	RUN(test_daemon_json_env_mode);
	RUN(test_daemon_json_runc);
	RUN(test_daemon_json_key_path);
	RUN(test_daemon_json_dns);
	RUN(test_containerd_toml);
	RUN(test_containerd_toml_paths_quoted);
	RUN(test_containerd_toml_dropins);
	RUN(test_docker_wrapper);
	RUN(test_runtime_wrapper);
	RUN(test_runtime_wrapper_needs_sysbox);
	RUN(test_unit);
	RUN(test_refuses_unsafe_input);
	RUN(test_dns_resolved_stub_dropped);
	RUN(test_dns_link_local_dropped);
	RUN(test_dns_ipv6_kept);
	RUN(test_dns_duplicates);
	RUN(test_dns_max);
	RUN(test_dns_line_syntax);
	RUN(test_dns_detect);
	return DONE();
}
