/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rendered configuration: dockyard.env, daemon.json, containerd.toml
 * and the systemd unit, each written only when it differs.  What changed
 * decides how the start step applies it (restart, reload or nothing).
 */
#include "steps.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/log.h"
#include "../common/xio.h"
#include "dropin.h"
#include "settings.h"

/* How a changed file is applied (put_rendered). */
enum apply { APPLY_NONE, APPLY_RESTART, APPLY_RELOAD };

/* The daemon.json keys dockerd applies on SIGHUP (its configuration
 * reload); any other change needs a restart. */
static const char *const reloadable_keys[] = {
	"debug",
	"labels",
	"live-restore",
	"authorization-plugins",
	"runtimes",
	"default-runtime",
	"insecure-registries",
	"registry-mirrors",
	"allow-nondistributable-artifacts",
	"shutdown-timeout",
	"features",
	"builder",
	"max-concurrent-downloads",
	"max-concurrent-uploads",
	"max-download-attempts",
	"network-diagnostic-port",
	NULL,
};

static int
key_reloadable(const char *key)
{
	size_t i;

	for (i = 0; reloadable_keys[i] != NULL; i++)
		if (strcmp(reloadable_keys[i], key) == 0)
			return 1;
	return 0;
}

/* 1 when the daemon.json at path and data differ only in keys dockerd
 * reloads. */
static int
reload_suffices(const char *path, const char *data, size_t len)
{
	json_t *old = json_load_file(path, 0, NULL), *new = json_loadb(data, len, 0, NULL);
	const char *key;
	json_t *v;
	int ok = old != NULL && new != NULL;

	json_object_foreach(new, key, v) if (ok && !key_reloadable(key) &&
					     !json_equal(v, json_object_get(old, key))) ok = 0;
	json_object_foreach(old, key, v) if (ok && !key_reloadable(key) &&
					     json_object_get(new, key) == NULL) ok = 0;
	json_decref(old);
	json_decref(new);
	return ok;
}

/* Render with fn and write the file (its path below the root, or on the
 * system when absolute); a change is applied as apply says. */
static int
put_rendered(struct run *r, struct restart *rs, render_fn fn, const struct dy_render_in *in,
	     int absolute, enum apply apply, struct dy_err *err)
{
	struct dy_rendered out;
	char path[PATH_BUF];
	int rc, reload = 0;

	memset(&out, 0, sizeof(out));
	if (fn(in, &out, err) < 0)
		return -1;
	if (absolute)
		rc = act_host_path(r->o, path, sizeof(path), out.path, err);
	else
		rc = act_root_path(r, path, sizeof(path), out.path, err);
	if (rc == 0 && apply == APPLY_RELOAD)
		reload = reload_suffices(path, out.data, out.len);
	if (rc == 0)
		rc = act_put_file(r, path, path, out.data, out.len, out.mode, err);
	dy_rendered_free(&out);
	if (rc > 0 && reload)
		rs->reload_only = 1;
	else if (rc > 0 && apply != APPLY_NONE)
		rs->needed = 1;
	return rc < 0 ? -1 : 0;
}

/* Newest modification time of the files in ROOT/rel (0 when none). */
static time_t
newest_in(const struct run *r, const char *rel)
{
	char dir[PATH_BUF], path[PATH_BUF + 256];
	struct dy_err ignored;
	struct dirent *de;
	struct stat st;
	time_t newest = 0;
	DIR *d;

	if (act_root_path(r, dir, sizeof(dir), rel, &ignored) < 0 || (d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < sizeof(path) &&
		    lstat(path, &st) == 0 && st.st_mtime > newest)
			newest = st.st_mtime;
	closedir(d);
	return newest;
}

/* The drop-ins were checked and merged now: a rendered file older than a
 * drop-in gets this time, so that dockyardctl start, which warns about a
 * drop-in newer than what the daemons read, stays quiet. */
static void
mark_merged(const struct run *r, const char *dropins, const char *rendered)
{
	char path[PATH_BUF];
	struct dy_err ignored;
	struct stat st;
	time_t newest = newest_in(r, dropins);

	if (r->dry || newest == 0 || act_root_path(r, path, sizeof(path), rendered, &ignored) < 0 ||
	    lstat(path, &st) < 0 || st.st_mtime > newest)
		return;
	if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
		dy_warn("cannot update the time of %s: %s", path, strerror(errno));
}

/* The upstream DNS servers: DOCKYARD_DNS, else --dns, else the host's;
 * their number (dns holds the detected ones). */
static size_t
pick_dns(const struct run *r, const struct dy_config *cfg, char dns[DY_MAX_DNS][64],
	 const char *dnsp[DY_MAX_DNS])
{
	size_t i;
	int n;

	if (cfg->set & DY_KEY_DNS) {
		for (i = 0; i < cfg->opt.ndns; i++)
			dnsp[i] = cfg->opt.dns[i];
		return cfg->opt.ndns;
	}
	if (r->o->dns_set) {
		for (i = 0; i < r->o->ndns; i++)
			dnsp[i] = r->o->dns[i];
		return r->o->ndns;
	}
	n = dy_dns_detect(r->o->sysroot, dns, DY_MAX_DNS);
	for (i = 0; n > 0 && i < (size_t)n; i++)
		dnsp[i] = dns[i];
	if (n <= 0)
		dy_say(DY_VERBOSE, "no upstream DNS servers found; dockerd picks its own");
	return n > 0 ? (size_t)n : 0;
}

static int
render_env(struct run *r, const struct dy_config *cfg, struct restart *rs, struct dy_err *err)
{
	char *env = NULL;
	size_t len;
	int rc;

	if (dy_config_format_env(cfg, &env, &len, err) < 0)
		return -1;
	rc = act_put_root_file(r, "etc/dockyard.env", env, len, 0644, err);
	free(env);
	if (rc > 0)
		rs->needed = 1;
	return rc < 0 ? -1 : 0;
}

/* daemon.json names the driver auto resolves to on this host. */
static int
render_daemon_json(struct run *r, const struct dy_config *cfg, struct dy_render_in rin,
		   struct restart *rs, struct dy_err *err)
{
	struct dy_config *daemon_cfg;
	int rc;

	if ((daemon_cfg = malloc(sizeof(*daemon_cfg))) == NULL)
		return dy_errf(err, "out of memory");
	*daemon_cfg = *cfg;
	daemon_cfg->set |= DY_KEY_STORAGE;
	rin.cfg = daemon_cfg;
	rc = dy_storage_resolve(cfg, r->o->sysroot, daemon_cfg->opt.storage_driver,
				sizeof(daemon_cfg->opt.storage_driver), err);
	if (rc == 0)
		rc = put_rendered(r, rs, dy_render_daemon_json, &rin, 0, APPLY_RELOAD, err);
	free(daemon_cfg);
	return rc;
}

/* containerd.toml, with the operator's containerd drop-ins merged. */
static int
render_containerd(struct run *r, struct dy_render_in rin, struct restart *rs, struct dy_err *err)
{
	char path[PATH_BUF], *ctd_dropins = NULL;
	int rc;

	rc = act_root_path(r, path, sizeof(path), DY_CONTAINERD_DROPIN_DIR, err);
	if (rc == 0)
		rc = dy_containerd_dropins(path, &ctd_dropins, err);
	rin.containerd_dropins = ctd_dropins;
	if (rc == 0)
		rc = put_rendered(r, rs, dy_render_containerd_toml, &rin, 0, APPLY_RESTART, err);
	free(ctd_dropins);
	return rc;
}

int
step_render(struct run *r, const struct instance *in, json_t *dropins, struct restart *rs,
	    struct dy_receipt *receipt, struct dy_err *err)
{
	char dns[DY_MAX_DNS][64], path[PATH_BUF];
	const char *dnsp[DY_MAX_DNS];
	struct dy_render_in rin = { &in->cfg, &in->img->meta, dnsp, 0, dropins, NULL };

	rin.ndns = pick_dns(r, &in->cfg, dns, dnsp);
	if (render_env(r, &in->cfg, rs, err) < 0 ||
	    render_daemon_json(r, &in->cfg, rin, rs, err) < 0 ||
	    render_containerd(r, rin, rs, err) < 0)
		return -1;
	mark_merged(r, DY_DROPIN_DIR, "etc/daemon.json");
	mark_merged(r, DY_CONTAINERD_DROPIN_DIR, "etc/containerd.toml");
	if (act_host_path(r->o, path, sizeof(path), "/etc/systemd/system", err) < 0 ||
	    (!r->dry && dy_mkdir_p(path, 0755, err) < 0))
		return -1;
	if (put_rendered(r, rs, dy_render_unit, &rin, 1, APPLY_NONE, err) < 0)
		return -1;
	return dy_receipt_add(receipt, err, "file %s", in->unit_path);
}
