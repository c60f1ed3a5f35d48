/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The system objects of an instance: its group and user, sysbox-mgr's
 * subordinate ids, the AppArmor profile, the registry entry, the unit's
 * link in an image tree and the root's group.  Each is recorded in the
 * receipt when this run created it.
 */
#include "steps.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xio.h"
#include "settings.h"
#include "sysobj.h"

static void
note_sysobj(void *ctx, const char *kind, const char *path, const char *object, const char *what)
{
	act(ctx, kind, path, object, "%s", what);
}

/* In an image tree nothing runs systemctl: the unit's enable link. */
static int
enable_in_image(struct run *r, const struct instance *in, struct dy_receipt *receipt,
		struct dy_err *err)
{
	char link[PATH_BUF], dir[PATH_BUF], target[PATH_BUF];
	ssize_t n;

	if (act_host_path(r->o, dir, sizeof(dir), "/etc/systemd/system/multi-user.target.wants",
			  err) < 0)
		return -1;
	if (act_join_path(link, sizeof(link), dir, in->unit_name, err) < 0)
		return -1;
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0 && (size_t)n == strlen(in->unit_path) &&
	    memcmp(target, in->unit_path, (size_t)n) == 0)
		return 0;
	act(r, "unit", link, in->unit_name, "enable %s (link in %s)", in->unit_name, dir);
	if (r->dry)
		return 0;
	if (dy_mkdir_p(dir, 0755, err) < 0)
		return -1;
	unlink(link);
	if (symlink(in->unit_path, link) < 0)
		return dy_errnof(err, "cannot create %s", link);
	return dy_receipt_add(receipt, err, "file /etc/systemd/system/multi-user.target.wants/%s",
			      in->unit_name);
}

static int
own_root(struct run *r, const struct instance *in, struct dy_sys *s, struct dy_err *err)
{
	gid_t gid = 0;
	struct stat st;
	int found;

	found = dy_sys_group_id(s, in->group, &gid, err);
	if (found < 0)
		return -1;
	if (!found || lstat(r->root, &st) < 0 || (st.st_uid == 0 && st.st_gid == gid))
		return 0;
	act(r, "chown", r->root, in->group, "chown %s root:%s", r->root, in->group);
	if (!r->dry && lchown(r->root, 0, gid) < 0)
		return dy_errnof(err, "cannot give %s to group %s", r->root, in->group);
	return 0;
}

/* sysbox-mgr's subuid/subgid range: DOCKYARD_SYSBOX_SUBID_USER (default
 * the instance's user), _START (default the first free) and _COUNT. */
static int
subids(const struct instance *in, struct dy_sys *s, struct dy_receipt *receipt, struct dy_err *err)
{
	const struct dy_settings *o = &in->cfg.opt;
	const char *user = (in->cfg.set & DY_KEY_SUBID_USER) ? o->subid_user : in->group;
	uint32_t count = (in->cfg.set & DY_KEY_SUBID_COUNT) ? o->subid_count : SUBID_COUNT;
	uint32_t start = o->subid_start;
	int rc;

	if (in->cfg.set & DY_KEY_SUBID_START)
		rc = dy_sys_subid_ensure_at(s, user, start, count, err);
	else
		rc = dy_sys_subid_ensure(s, user, count, &start, err);
	if (rc > 0 && (dy_receipt_add(receipt, err, "subuid %s %u %u", user, start, count) < 0 ||
		       dy_receipt_add(receipt, err, "subgid %s %u %u", user, start, count) < 0))
		return -1;
	return rc;
}

/* What sysbox needs: subordinate ids and, where AppArmor runs, a profile. */
static int
sysbox_objects(const struct instance *in, struct dy_sys *s, struct dy_receipt *receipt,
	       struct dy_err *err)
{
	char path[PATH_BUF];
	int rc;

	if (subids(in, s, receipt, err) < 0)
		return -1;
	if (!dy_sys_apparmor_present(s))
		return 0;
	rc = dy_sys_apparmor_ensure(s, in->cfg.prefix, in->cfg.root, path, sizeof(path), err);
	if (rc < 0)
		return -1;
	if (rc > 0 && dy_receipt_add(receipt, err, "apparmor %s %s", path, in->cfg.prefix) < 0)
		return -1;
	return 0;
}

int
step_system(struct run *r, const struct instance *in, struct dy_receipt *receipt,
	    struct dy_err *err)
{
	struct dy_sys s = { r->o->sysroot, r->dry, note_sysobj, r };
	char comment[DY_ROOT_MAX + 32];
	int rc;

	snprintf(comment, sizeof(comment), "dockyard instance %s", in->cfg.root);
	rc = dy_sys_group_ensure(&s, in->group, err);
	if (rc < 0 || (rc > 0 && dy_receipt_add(receipt, err, "group %s", in->group) < 0))
		return -1;
	rc = dy_sys_user_ensure(&s, in->group, in->group, comment, err);
	if (rc < 0 || (rc > 0 && dy_receipt_add(receipt, err, "user %s", in->group) < 0))
		return -1;
	if (in->mode != DY_RUNTIME_RUNC && sysbox_objects(in, &s, receipt, err) < 0)
		return -1;
	/* The shared registry directories are listed too: destroy removes
	 * them once no instance is left in them. */
	if (dy_sys_registry_ensure(&s, in->cfg.prefix, in->cfg.root, err) < 0 ||
	    dy_receipt_add(receipt, err, "dir /etc/dockyard") < 0 ||
	    dy_receipt_add(receipt, err, "dir /etc/dockyard/instances") < 0 ||
	    dy_receipt_add(receipt, err, "registry /etc/dockyard/instances/%s", in->cfg.prefix) < 0)
		return -1;
	if (r->o->sysroot[0] != '\0' && enable_in_image(r, in, receipt, err) < 0)
		return -1;
	return own_root(r, in, &s, err);
}
