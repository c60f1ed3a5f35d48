/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration of an instance from its sources (see merge.h), and
 * the installer's entry to it (install.h's dy_install_config).
 */
#include "merge.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "install.h"
#include "settings.h"

#define ENV_PATH_MAX (DY_ROOT_MAX + 256)

/* Copy into c every key e has and c lacks. */
static void
take_missing(struct dy_config *c, const struct dy_config *e)
{
	unsigned take = e->set & ~c->set;

	if (take & DY_KEY_PREFIX)
		memcpy(c->prefix, e->prefix, sizeof(c->prefix));
	if (take & DY_KEY_BRIDGE)
		c->bridge = e->bridge;
	if (take & DY_KEY_FIXED)
		c->fixed = e->fixed;
	if (take & DY_KEY_POOL_BASE)
		c->pool = e->pool;
	if (take & DY_KEY_POOL_SIZE)
		c->pool_size = e->pool_size;
	dy_settings_merge(c, e);
	c->set |= take & DY_KEY_ALL;
}

/* The keys of the file path that c lacks; a different root is an error. */
static int
take_file(struct dy_config *c, const char *path, struct dy_err *err)
{
	struct dy_config e;

	dy_config_init(&e);
	if (dy_config_load_env(path, &e, err) < 0)
		return -1;
	if ((e.set & DY_KEY_ROOT) && strcmp(e.root, c->root) != 0)
		return dy_errf(err, "%s says DOCKYARD_ROOT=%s, but the root given is %s", path,
			       e.root, c->root);
	take_missing(c, &e);
	return 0;
}

int
dy_config_merge_given(const struct dy_config_sources *src, struct dy_config *out,
		      struct dy_err *err)
{
	char installed[ENV_PATH_MAX];
	struct stat st;

	*out = *src->flags;
	if (!(out->set & DY_KEY_ROOT))
		return dy_errf(err, "--root DIR is required: the directory the instance lives in");
	if (src->env_file != NULL && take_file(out, src->env_file, err) < 0)
		return -1;
	if ((size_t)snprintf(installed, sizeof(installed), "%s%s", src->sysroot, out->root) >=
	    sizeof(installed))
		return dy_errf(err, "path %s%s is too long", src->sysroot, out->root);
	strncat(installed, "/etc/dockyard.env", sizeof(installed) - strlen(installed) - 1);
	if (src->env_file == NULL && lstat(installed, &st) == 0)
		return take_file(out, installed, err);
	return 0;
}

void
dy_config_merge_registered(struct dy_config *out, const struct dy_host *h)
{
	const struct dy_host_instance *in = NULL;
	size_t i;

	for (i = 0; i < h->ninstances && (out->set & DY_KEY_ROOT); i++)
		if (dy_root_same(h->instances[i].root, out->root) &&
		    (!(out->set & DY_KEY_PREFIX) ||
		     strcmp(h->instances[i].prefix, out->prefix) == 0))
			in = &h->instances[i];
	if (in == NULL)
		return;
	/* The registry names the instance: its prefix before its file's. */
	if (!(out->set & DY_KEY_PREFIX)) {
		snprintf(out->prefix, sizeof(out->prefix), "%s", in->prefix);
		out->set |= DY_KEY_PREFIX;
	}
	take_missing(out, &in->cfg);
}

int
dy_config_merge_rest(const struct dy_config_sources *src, const struct dy_host *h,
		     struct dy_config *out, struct dy_err *err)
{
	struct dy_config t = *out;
	char driver[16];

	dy_config_merge_registered(&t, h);
	if (dy_config_complete(&t, h, NULL, NULL, err) < 0 || dy_config_validate(&t, err) < 0 ||
	    dy_config_check_conflicts(&t, h, err) < 0 ||
	    dy_storage_resolve(&t, src->sysroot, driver, sizeof(driver), err) < 0)
		return -1;
	*out = t;
	return 0;
}

/* The one place a failed configuration gets its kind: what was given,
 * read or generated does not fit: a usage error; the host cannot be read:
 * a failure. */
int
dy_install_config(const struct dy_install_opts *o, struct dy_config *out, struct dy_err *err)
{
	struct dy_config_sources src = { &o->flags, o->env_file, o->sysroot };
	struct dy_host host;
	int rc;

	if (dy_config_merge_given(&src, out, err) < 0)
		return dy_err_kind(err, DY_ERR_USAGE);
	if (dy_host_scan(&host, o->sysroot, err) < 0)
		return dy_err_kind(err, DY_ERR_FAIL);
	rc = dy_config_merge_rest(&src, &host, out, err) < 0 ? dy_err_kind(err, DY_ERR_USAGE) : 0;
	dy_host_free(&host);
	return rc;
}
