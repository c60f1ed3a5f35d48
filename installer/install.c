/* SPDX-License-Identifier: Apache-2.0 */
/*
 * install: one instance from this installer's payload.  The steps run in
 * this order (config, preflight, lock, binaries, render, system objects,
 * receipt, start, images: each needs what the ones before it made); each is
 * idempotent, so a re-run converges and, when nothing differs, changes
 * nothing.  Plan mode (--dry-run) runs the same decisions and records
 * each action instead of doing it.
 */
#include "install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xio.h"
#include "dropin.h"
#include "preflight.h"
#include "receipt.h"
#include "render.h"
#include "settings.h"
#include "steps.h"
#include "sysobj.h"

void
dy_install_opts_init(struct dy_install_opts *o)
{
	memset(o, 0, sizeof(*o));
	dy_config_init(&o->flags);
	o->sysroot = "";
	o->start_timeout = 120;
}

/* ---- actions: done, or only recorded in plan mode ---- */

void
ins_act(struct inst *ins, const char *kind, const char *path, const char *object, const char *fmt,
	...)
{
	char what[PATH_BUF + 256];
	size_t verb;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ins->changes++;
	if (ins->plan != NULL)
		json_array_append_new(ins->plan, json_pack("{s:s,s:s?,s:s?}", "kind", kind, "path",
							   path, "object", object));
	if (!ins->dry)
		dy_say(DY_VERBOSE, "%s", what);
	else if (!ins->o->json) {
		verb = strcspn(what, " ");
		printf("  %-9.*s %s\n", (int)verb, what, what[verb] ? what + verb + 1 : "");
	}
}

/* Tests kill the installer at named points (DOCKYARD_FAULT_AT=NAME) to
 * show that a re-run converges from each of them. */
void
ins_fault_point(const char *name)
{
	const char *want = getenv("DOCKYARD_FAULT_AT");

	if (want != NULL && strcmp(want, name) == 0)
		raise(SIGKILL);
}

static void
note_sysobj(void *ctx, const char *kind, const char *path, const char *object, const char *what)
{
	ins_act(ctx, kind, path, object, "%s", what);
}

/* ---- paths ---- */

int
ins_root_path(const struct inst *ins, char *buf, size_t size, const char *rel, struct dy_err *err)
{
	if ((size_t)snprintf(buf, size, "%s/%s", ins->root, rel) >= size)
		return dy_errf(err, "path %s/%s is too long", ins->root, rel);
	return 0;
}

int
ins_join_path(char *buf, size_t size, const char *dir, const char *rel, struct dy_err *err)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, rel) >= size)
		return dy_errf(err, "path %s/%s is too long", dir, rel);
	return 0;
}

static int
host_path(const struct dy_install_opts *o, char *buf, size_t size, const char *path,
	  struct dy_err *err)
{
	if ((size_t)snprintf(buf, size, "%s%s", o->sysroot, path) >= size)
		return dy_errf(err, "path %s%s is too long", o->sysroot, path);
	return 0;
}

/* ---- preflight ---- */

static void
say_preflight(const struct dy_preflight *p, int force)
{
	size_t i;

	for (i = 0; i < p->nchecks; i++) {
		const struct dy_check *c = &p->checks[i];
		if (c->ok)
			dy_say(DY_VERBOSE, "preflight %s: ok (%s)", c->name, c->detail);
		else if (c->warn_only)
			dy_warn("preflight %s: %s (%s)", c->name, c->detail, c->fix);
		else
			dy_error("preflight %s failed: %s\n  fix: %s", c->name, c->detail, c->fix);
	}
	if (p->failed > 0 && force)
		dy_warn("installing despite %zu failed preflight check%s (--force)", p->failed,
			p->failed == 1 ? "" : "s");
}

void
ins_preflight_report(struct inst *ins)
{
	if (ins->preflight.checks == NULL)
		return;
	say_preflight(&ins->preflight, ins->o->force);
	dy_preflight_free(&ins->preflight);
}

/*
 * The checks read the metadata (library needs, sizes, sysbox), which is
 * trusted only once the file's digest matched.  A failure that stops the
 * install checks the digest first, so a damaged file reads as damaged;
 * otherwise the report waits for the stage's one pass to verify the file
 * (plan has verified it already).
 */
static int
run_preflight(struct inst *ins, json_t **json_out, struct dy_err *err)
{
	struct dy_preflight_in in = { &ins->img->meta, ins->cfg.root, ins->o->sysroot };
	struct dy_preflight *p = &ins->preflight;

	if (dy_preflight_run(&in, p, err) < 0)
		return DY_EXIT_FAIL;
	if (json_out != NULL)
		*json_out = json_integer((json_int_t)p->failed);
	if (p->failed > 0 && !ins->o->force) {
		if (!ins->img->digest_ok && dy_image_check_digest(ins->img, err) < 0)
			return DY_EXIT_FAIL;
		say_preflight(p, 0);
		dy_errf(err,
			"%zu preflight check%s failed (see above); fix them, or pass --force "
			"to install anyway",
			p->failed, p->failed == 1 ? "" : "s");
		return DY_EXIT_PREFLIGHT;
	}
	if (ins->img->digest_ok)
		ins_preflight_report(ins);
	return DY_EXIT_OK;
}

/* ---- root and lock ---- */

/* One existing component of the root's path.  Inside an image tree a
 * symbolic link is refused (an absolute one would lead out of the tree);
 * above it, the host's own links are followed for the mode check. */
static int
check_component(const char *path, int in_tree, int is_root, struct dy_err *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 1 : dy_errnof(err, "cannot inspect %s", path);
	if (S_ISLNK(st.st_mode) && (is_root || in_tree))
		return dy_errf(err, "%s %s is a symbolic link: give the real path",
			       is_root ? "root" : "directory", path);
	if (S_ISLNK(st.st_mode) && stat(path, &st) < 0)
		return dy_errnof(err, "cannot inspect %s", path);
	if (!S_ISDIR(st.st_mode))
		return dy_errf(err, "%s %s exists and is not a directory",
			       is_root ? "root" : "directory", path);
	if ((st.st_mode & S_IWOTH) && (is_root || !(st.st_mode & S_ISVTX)))
		return dy_errf(err,
			       "%s is world-writable%s: anyone could replace the root; pick "
			       "another place",
			       path, is_root ? "" : " without the sticky bit");
	return 0;
}

/* The root is a real directory (or absent) and no unprivileged user could
 * swap it, or any directory above it, out from under us. */
static int
check_root_path(struct inst *ins, struct dy_err *err)
{
	size_t tree = strlen(ins->o->sysroot), i, n = strlen(ins->root);
	char path[PATH_BUF];
	int rc;

	for (i = 1; i <= n; i++) {
		if (i < n && ins->root[i] != '/')
			continue;
		memcpy(path, ins->root, i);
		path[i] = '\0';
		rc = check_component(path, tree > 0 && i > tree, i == n, err);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	return 0;
}

/* ROOT's sibling ".NAME.SUFFIX" (its lock, a destroy's state), below
 * prefix.  The root rule makes ROOT absolute with no trailing '/'. */
int
beside_root(const char *prefix, const char *root, const char *suffix, char *buf, size_t size,
	    struct dy_err *err)
{
	const char *slash = strrchr(root, '/');

	if (slash == NULL || (size_t)snprintf(buf, size, "%s%.*s/.%s.%s", prefix,
					      (int)(slash - root), root, slash + 1, suffix) >= size)
		return dy_errf(err, "the path .%s beside %s is too long", suffix, root);
	return 0;
}

static int
lock_path(const struct inst *ins, char *buf, size_t size, int host, struct dy_err *err)
{
	return beside_root(host ? ins->o->sysroot : "", ins->cfg.root, "dockyard-lock", buf, size,
			   err);
}

/* The highest of path's missing ancestors (path itself when only it is
 * missing) into top, or "" when path exists: what mkdir -p will create. */
static void
first_missing(const char *path, char *top, size_t size)
{
	char probe[PATH_BUF];
	struct stat st;
	char *slash;

	top[0] = '\0';
	snprintf(probe, sizeof(probe), "%s", path);
	while (probe[0] != '\0' && lstat(probe, &st) < 0 && errno == ENOENT) {
		snprintf(top, size, "%s", probe);
		slash = strrchr(probe, '/');
		if (slash == NULL)
			break;
		*slash = '\0';
	}
}

/* Open and flock the lock file once: DY_EXIT_OK, DY_EXIT_LOCKED, or -1
 * when the file was removed while this run waited (take it again). */
static int
lock_once(struct inst *ins, const char *path, struct dy_err *err)
{
	char holder[32] = "";
	struct stat held, now;
	ssize_t n;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	ins->lock_made = fd >= 0;
	if (fd < 0 && errno == EEXIST) {
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			return -1; /* removed in between: once more */
	}
	if (fd < 0)
		return dy_errnof(err, "cannot open the lock file %s", path), DY_EXIT_FAIL;
	ins->lockfd = fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return dy_errnof(err, "cannot lock %s", path), DY_EXIT_FAIL;
		n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		if (!ins->o->wait_lock) {
			dy_errf(err,
				"another dockyard-installer (pid %s) is working on %s (lock %s); "
				"retry when it is done, or pass --wait",
				holder[0] ? holder : "?", ins->cfg.root, path);
			return DY_EXIT_LOCKED;
		}
		dy_say(DY_NORMAL, "waiting for dockyard-installer (pid %s) to finish with %s",
		       holder[0] ? holder : "?", ins->cfg.root);
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return dy_errnof(err, "cannot lock %s", path), DY_EXIT_FAIL;
	}
	/* A holder that created the file and failed removes it again (and a
	 * destroy does): a lock on the removed file guards nothing. */
	if (fstat(fd, &held) < 0 || lstat(path, &now) < 0 || held.st_ino != now.st_ino ||
	    held.st_dev != now.st_dev) {
		close(fd);
		ins->lockfd = -1;
		return -1;
	}
	return DY_EXIT_OK;
}

static int
take_lock(struct inst *ins, struct dy_err *err)
{
	char path[PATH_BUF], dir[PATH_BUF], holder[32];
	int rc;

	if (lock_path(ins, path, sizeof(path), 1, err) < 0)
		return DY_EXIT_FAIL;
	dirname(strcpy(dir, path));
	first_missing(dir, ins->lock_dirs_made, sizeof(ins->lock_dirs_made));
	if (dy_mkdir_p(dir, 0755, err) < 0)
		return DY_EXIT_FAIL;
	while ((rc = lock_once(ins, path, err)) < 0)
		;
	if (rc != DY_EXIT_OK)
		return rc;
	snprintf(holder, sizeof(holder), "%ld\n", (long)getpid());
	if (ftruncate(ins->lockfd, 0) < 0 || pwrite(ins->lockfd, holder, strlen(holder), 0) < 0)
		dy_warn("cannot record this process in %s: %s", path, strerror(errno));
	return DY_EXIT_OK;
}

/* After a failed stage nothing else has been written: remove the lock
 * file and the directories this run made for it (still holding the lock;
 * a waiter notices the removal and locks afresh). */
static void
drop_fresh_lock(struct inst *ins)
{
	char path[PATH_BUF], dir[PATH_BUF];
	struct dy_err ignored;
	size_t top = strlen(ins->lock_dirs_made);

	if (!ins->lock_made || lock_path(ins, path, sizeof(path), 1, &ignored) < 0)
		return;
	if (unlink(path) < 0)
		return;
	ins->lock_made = 0;
	snprintf(dir, sizeof(dir), "%s", path);
	while (top > 0 && strlen(dirname(dir)) >= top && rmdir(dir) == 0)
		;
}

/* ---- files ---- */

/* 1 when path holds exactly data with mode, 0 when not (or absent). */
static int
file_matches(const char *path, const char *data, size_t len, unsigned mode)
{
	struct stat st;
	char *buf;
	int fd, same = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len &&
	    (st.st_mode & 07777) == mode && (buf = malloc(len + 1)) != NULL) {
		same = dy_read_full(fd, buf, len) == 0 && memcmp(buf, data, len) == 0;
		free(buf);
	}
	close(fd);
	return same;
}

/* Write path (host path; shown as display) unless it already holds data. */
int
ins_put_file(struct inst *ins, const char *path, const char *display, const char *data, size_t len,
	     unsigned mode, struct dy_err *err)
{
	if (file_matches(path, data, len, mode))
		return 0;
	ins_act(ins, "write", display, NULL, "%s %s", access(path, F_OK) == 0 ? "update" : "write",
		display);
	if (ins->dry)
		return 1;
	if (dy_write_file_atomic(path, data, len, mode, err) < 0)
		return -1;
	return 1;
}

int
ins_ensure_dir(struct inst *ins, const char *path, unsigned mode, struct dy_err *err)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		return dy_errf(err, "%s exists and is not a directory", path);
	}
	ins_act(ins, "mkdir", path, NULL, "mkdir %s", path);
	if (ins->dry)
		return 1;
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return dy_errnof(err, "cannot create directory %s", path);
	if (chmod(path, mode) < 0)
		return dy_errnof(err, "cannot set the mode of %s", path);
	return 1;
}

int
ins_remove_at_root(struct inst *ins, const char *rel, struct dy_err *err)
{
	int dfd = open(ins->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (dfd < 0)
		return dy_errnof(err, "cannot open %s", ins->root);
	rc = dy_remove_tree_at(dfd, rel, err);
	close(dfd);
	return rc;
}

/* ---- rendered configuration ---- */

/* Directories of the layout: created when missing, never emptied. */
static int
step_dirs(struct inst *ins, struct dy_err *err)
{
	static const struct {
		const char *rel;
		unsigned mode;
	} dirs[] = {
		{ "etc", 0755 },
		{ "etc/isolation.d", 0755 },
		{ "lib", 0711 },
		{ "lib/docker", 0710 },
		{ "lib/containerd", 0711 },
		{ "lib/docker-config", 0755 },
		{ "log", 0750 },
		{ "run", 0755 },
	};
	char path[PATH_BUF], whole[DY_ROOT_MAX + 8];
	struct stat st;
	size_t i;
	int made;

	snprintf(whole, sizeof(whole), "dir %s", ins->cfg.root);
	made = ins_ensure_dir(ins, ins->root, 0755, err);
	if (made < 0 || ((made || ins->root_made) && !dy_receipt_has(&ins->receipt, whole) &&
			 dy_receipt_add(&ins->receipt, err, "%s", whole) < 0))
		return -1;
	/* In a root the install did not make (a mount point, say), the
	 * receipt lists the top-level directories it made instead. */
	if (!dy_receipt_has(&ins->receipt, whole) &&
	    (ins_root_path(ins, path, sizeof(path), "bin", err) < 0 ||
	     (lstat(path, &st) < 0 &&
	      dy_receipt_add(&ins->receipt, err, "dir %s/bin", ins->cfg.root) < 0)))
		return -1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (ins_root_path(ins, path, sizeof(path), dirs[i].rel, err) < 0)
			return -1;
		made = ins_ensure_dir(ins, path, dirs[i].mode, err);
		if (made < 0)
			return -1;
		if (made && strchr(dirs[i].rel, '/') == NULL &&
		    !dy_receipt_has(&ins->receipt, whole) &&
		    dy_receipt_add(&ins->receipt, err, "dir %s/%s", ins->cfg.root, dirs[i].rel) < 0)
			return -1;
	}
	return 0;
}

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

/* restart: 1 a change restarts the daemons; 2 (daemon.json) a change
 * that dockerd reloads is applied with a reload. */
static int
put_rendered(struct inst *ins, render_fn fn, const struct dy_render_in *in, int absolute,
	     int restart, struct dy_err *err)
{
	struct dy_rendered r;
	char path[PATH_BUF];
	int rc, reload = 0;

	memset(&r, 0, sizeof(r));
	if (fn(in, &r, err) < 0)
		return -1;
	if (absolute)
		rc = host_path(ins->o, path, sizeof(path), r.path, err);
	else
		rc = ins_root_path(ins, path, sizeof(path), r.path, err);
	if (rc == 0 && restart == 2)
		reload = reload_suffices(path, r.data, r.len);
	if (rc == 0)
		rc = ins_put_file(ins, path, path, r.data, r.len, r.mode, err);
	dy_rendered_free(&r);
	if (rc > 0 && reload)
		ins->reload_only = 1;
	else if (rc > 0 && restart)
		ins->config_changed = 1;
	return rc < 0 ? -1 : 0;
}

/* Newest modification time of the files in ROOT/rel (0 when none). */
static time_t
newest_in(struct inst *ins, const char *rel)
{
	char dir[PATH_BUF], path[PATH_BUF + 256];
	struct dy_err ignored;
	struct dirent *de;
	struct stat st;
	time_t newest = 0;
	DIR *d;

	if (ins_root_path(ins, dir, sizeof(dir), rel, &ignored) < 0 || (d = opendir(dir)) == NULL)
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
mark_merged(struct inst *ins, const char *dropins, const char *rendered)
{
	char path[PATH_BUF];
	struct dy_err ignored;
	struct stat st;
	time_t newest = newest_in(ins, dropins);

	if (ins->dry || newest == 0 ||
	    ins_root_path(ins, path, sizeof(path), rendered, &ignored) < 0 ||
	    lstat(path, &st) < 0 || st.st_mtime > newest)
		return;
	if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
		dy_warn("cannot update the time of %s: %s", path, strerror(errno));
}

static int
step_render(struct inst *ins, struct dy_err *err)
{
	char dns[DY_MAX_DNS][64], path[PATH_BUF], *env = NULL;
	const char *dnsp[DY_MAX_DNS];
	struct dy_render_in in = { &ins->cfg, &ins->img->meta, dnsp, 0, ins->dropins, NULL };
	char *ctd_dropins = NULL;
	struct dy_config *daemon_cfg;
	size_t i, len;
	int n, rc;

	if (ins->cfg.set & DY_KEY_DNS) {
		for (i = 0; i < ins->cfg.opt.ndns; i++)
			dnsp[i] = ins->cfg.opt.dns[i];
		in.ndns = ins->cfg.opt.ndns;
	} else if (ins->o->dns_set) {
		for (i = 0; i < ins->o->ndns; i++)
			dnsp[i] = ins->o->dns[i];
		in.ndns = ins->o->ndns;
	} else {
		n = dy_dns_detect(ins->o->sysroot, dns, DY_MAX_DNS);
		for (i = 0; n > 0 && i < (size_t)n; i++)
			dnsp[i] = dns[i];
		in.ndns = n > 0 ? (size_t)n : 0;
		if (n <= 0)
			dy_say(DY_VERBOSE, "no upstream DNS servers found; dockerd picks its own");
	}
	if (dy_config_format_env(&ins->cfg, &env, &len, err) < 0)
		return -1;
	rc = ins_root_path(ins, path, sizeof(path), "etc/dockyard.env", err);
	if (rc == 0)
		rc = ins_put_file(ins, path, path, env, len, 0644, err);
	free(env);
	if (rc < 0)
		return -1;
	if (rc > 0)
		ins->config_changed = 1;
	/* daemon.json names the driver auto resolves to on this host. */
	if ((daemon_cfg = malloc(sizeof(*daemon_cfg))) == NULL)
		return dy_errf(err, "out of memory");
	*daemon_cfg = ins->cfg;
	daemon_cfg->set |= DY_KEY_STORAGE;
	in.cfg = daemon_cfg;
	rc = dy_storage_resolve(&ins->cfg, ins->o->sysroot, daemon_cfg->opt.storage_driver,
				sizeof(daemon_cfg->opt.storage_driver), err);
	if (rc == 0)
		rc = put_rendered(ins, dy_render_daemon_json, &in, 0, 2, err);
	in.cfg = &ins->cfg;
	free(daemon_cfg);
	if (rc == 0)
		rc = ins_root_path(ins, path, sizeof(path), DY_CONTAINERD_DROPIN_DIR, err);
	if (rc == 0)
		rc = dy_containerd_dropins(path, &ctd_dropins, err);
	in.containerd_dropins = ctd_dropins;
	if (rc == 0)
		rc = put_rendered(ins, dy_render_containerd_toml, &in, 0, 1, err);
	free(ctd_dropins);
	if (rc < 0)
		return -1;
	mark_merged(ins, DY_DROPIN_DIR, "etc/daemon.json");
	mark_merged(ins, DY_CONTAINERD_DROPIN_DIR, "etc/containerd.toml");
	if (host_path(ins->o, path, sizeof(path), "/etc/systemd/system", err) < 0 ||
	    (!ins->dry && dy_mkdir_p(path, 0755, err) < 0))
		return -1;
	if (put_rendered(ins, dy_render_unit, &in, 1, 0, err) < 0)
		return -1;
	return dy_receipt_add(&ins->receipt, err, "file %s", ins->unit_path);
}

/* ---- system objects ---- */

static int
enable_in_image(struct inst *ins, struct dy_err *err)
{
	char link[PATH_BUF], dir[PATH_BUF], target[PATH_BUF];
	ssize_t n;

	if (host_path(ins->o, dir, sizeof(dir), "/etc/systemd/system/multi-user.target.wants",
		      err) < 0)
		return -1;
	if (ins_join_path(link, sizeof(link), dir, ins->unit_name, err) < 0)
		return -1;
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0 && (size_t)n == strlen(ins->unit_path) &&
	    memcmp(target, ins->unit_path, (size_t)n) == 0)
		return 0;
	ins_act(ins, "unit", link, ins->unit_name, "enable %s (link in %s)", ins->unit_name, dir);
	if (ins->dry)
		return 0;
	if (dy_mkdir_p(dir, 0755, err) < 0)
		return -1;
	unlink(link);
	if (symlink(ins->unit_path, link) < 0)
		return dy_errnof(err, "cannot create %s", link);
	return dy_receipt_add(&ins->receipt, err,
			      "file /etc/systemd/system/multi-user.target.wants/%s",
			      ins->unit_name);
}

static int
own_root(struct inst *ins, struct dy_sys *s, struct dy_err *err)
{
	gid_t gid = 0;
	struct stat st;
	int found;

	found = dy_sys_group_id(s, ins->group, &gid, err);
	if (found < 0)
		return -1;
	if (!found || lstat(ins->root, &st) < 0 || (st.st_uid == 0 && st.st_gid == gid))
		return 0;
	ins_act(ins, "chown", ins->root, ins->group, "chown %s root:%s", ins->root, ins->group);
	if (!ins->dry && lchown(ins->root, 0, gid) < 0)
		return dy_errnof(err, "cannot give %s to group %s", ins->root, ins->group);
	return 0;
}

/* sysbox-mgr's subuid/subgid range: DOCKYARD_SYSBOX_SUBID_USER (default
 * the instance's user), _START (default the first free) and _COUNT. */
static int
step_subids(struct inst *ins, struct dy_sys *s, struct dy_err *err)
{
	const struct dy_settings *o = &ins->cfg.opt;
	const char *user = (ins->cfg.set & DY_KEY_SUBID_USER) ? o->subid_user : ins->group;
	uint32_t count = (ins->cfg.set & DY_KEY_SUBID_COUNT) ? o->subid_count : SUBID_COUNT;
	uint32_t start = o->subid_start;
	int rc;

	if (ins->cfg.set & DY_KEY_SUBID_START)
		rc = dy_sys_subid_ensure_at(s, user, start, count, err);
	else
		rc = dy_sys_subid_ensure(s, user, count, &start, err);
	if (rc > 0 &&
	    (dy_receipt_add(&ins->receipt, err, "subuid %s %u %u", user, start, count) < 0 ||
	     dy_receipt_add(&ins->receipt, err, "subgid %s %u %u", user, start, count) < 0))
		return -1;
	return rc;
}

static int
step_system(struct inst *ins, struct dy_err *err)
{
	struct dy_sys s = { ins->o->sysroot, ins->dry, note_sysobj, ins };
	char comment[DY_ROOT_MAX + 32], path[PATH_BUF];
	int rc;

	snprintf(comment, sizeof(comment), "dockyard instance %s", ins->cfg.root);
	rc = dy_sys_group_ensure(&s, ins->group, err);
	if (rc < 0 || (rc > 0 && dy_receipt_add(&ins->receipt, err, "group %s", ins->group) < 0))
		return -1;
	rc = dy_sys_user_ensure(&s, ins->group, ins->group, comment, err);
	if (rc < 0 || (rc > 0 && dy_receipt_add(&ins->receipt, err, "user %s", ins->group) < 0))
		return -1;
	if (ins->mode != DY_RUNTIME_RUNC) {
		rc = step_subids(ins, &s, err);
		if (rc < 0)
			return -1;
		if (dy_sys_apparmor_present(&s)) {
			rc = dy_sys_apparmor_ensure(&s, ins->cfg.prefix, ins->cfg.root, path,
						    sizeof(path), err);
			if (rc < 0)
				return -1;
			if (rc > 0 && dy_receipt_add(&ins->receipt, err, "apparmor %s %s", path,
						     ins->cfg.prefix) < 0)
				return -1;
		}
	}
	/* The shared registry directories are listed too: destroy removes
	 * them once no instance is left in them. */
	if (dy_sys_registry_ensure(&s, ins->cfg.prefix, ins->cfg.root, err) < 0 ||
	    dy_receipt_add(&ins->receipt, err, "dir /etc/dockyard") < 0 ||
	    dy_receipt_add(&ins->receipt, err, "dir /etc/dockyard/instances") < 0 ||
	    dy_receipt_add(&ins->receipt, err, "registry /etc/dockyard/instances/%s",
			   ins->cfg.prefix) < 0)
		return -1;
	if (ins->o->sysroot[0] != '\0' && enable_in_image(ins, err) < 0)
		return -1;
	return own_root(ins, &s, err);
}

/* ---- receipt ---- */

static int
load_receipt(struct inst *ins, struct dy_err *err)
{
	char path[PATH_BUF], *text;
	size_t len;
	int rc;

	dy_receipt_init(&ins->receipt);
	if (ins_root_path(ins, path, sizeof(path), "etc/receipt", err) < 0)
		return -1;
	if (dy_read_small_file(path, DY_RECEIPT_MAX, &text, &len, NULL, err) < 0)
		return errno == ENOENT ? 0 : -1;
	rc = dy_receipt_parse(text, len, &ins->receipt, err);
	free(text);
	if (rc < 0)
		return dy_err_wrap(err, "%s", path);
	return 0;
}

static int
step_receipt(struct inst *ins, struct dy_err *err)
{
	char path[PATH_BUF], lock[PATH_BUF], *text = NULL;
	size_t len;
	int rc;

	if (lock_path(ins, lock, sizeof(lock), 0, err) < 0 ||
	    dy_receipt_add(&ins->receipt, err, "lock %s", lock) < 0)
		return -1;
	if (dy_receipt_format(&ins->receipt, &text, &len, err) < 0)
		return -1;
	rc = ins_root_path(ins, path, sizeof(path), "etc/receipt", err);
	if (rc == 0)
		rc = ins_put_file(ins, path, path, text, len, 0644, err);
	free(text);
	return rc < 0 ? -1 : 0;
}

/* ---- the command ---- */

/* Conflict detection reads the registry and the host; the install then
 * writes its registry entry.  One installer at a time holds the span in
 * between, whatever its root: two roots with one prefix, installed at
 * once, would otherwise both pass.  A sysroot's own directory is its
 * lock; the host's is a file in /run/lock (gone at reboot). */
static int
take_host_lock(const struct dy_install_opts *o, int *fd_out, struct dy_err *err)
{
	const char *path = o->sysroot[0] ? o->sysroot : "/run/lock/dockyard.lock";
	int fd;

	if (o->sysroot[0])
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else {
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == ENOENT) {
			path = "/run/dockyard.lock";
			fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		}
	}
	if (fd < 0)
		return dy_errnof(err, "cannot open the installers' lock %s", path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			dy_errnof(err, "cannot lock %s", path);
			close(fd);
			return -1;
		}
	*fd_out = fd;
	return 0;
}

static int
inst_setup(struct inst *ins, struct dy_image *img, const struct dy_install_opts *o,
	   struct dy_err *err)
{
	int rc;

	memset(ins, 0, sizeof(*ins));
	ins->o = o;
	ins->img = img;
	ins->lockfd = -1;
	ins->host_lockfd = -1;
	ins->dry = o->dry_run;
	dy_receipt_init(&ins->receipt);
	rc = dy_install_config(o, &ins->cfg, err);
	if (rc != DY_EXIT_OK)
		return rc;
	ins->mode = dy_runtime_mode(&img->meta);
	if (host_path(o, ins->root, sizeof(ins->root), ins->cfg.root, err) < 0)
		return DY_EXIT_USAGE;
	snprintf(ins->group, sizeof(ins->group), "%sdocker", ins->cfg.prefix);
	snprintf(ins->unit_name, sizeof(ins->unit_name), "%sdocker.service", ins->cfg.prefix);
	snprintf(ins->unit_path, sizeof(ins->unit_path), "/etc/systemd/system/%s", ins->unit_name);
	return DY_EXIT_OK;
}

static void
inst_free(struct inst *ins)
{
	if (ins->lockfd >= 0)
		close(ins->lockfd);
	if (ins->host_lockfd >= 0)
		close(ins->host_lockfd);
	dy_receipt_free(&ins->receipt);
	dy_preflight_free(&ins->preflight);
	json_decref(ins->plan);
	json_decref(ins->dropins);
}

/* The networks as --json prints them (the shared contract). */
static json_t *
networks_json(const struct dy_config *c)
{
	char bridge[24], fixed[24], pool[24];

	dy_cidr_format(&c->bridge, bridge, sizeof(bridge));
	dy_cidr_format(&c->fixed, fixed, sizeof(fixed));
	dy_cidr_format(&c->pool, pool, sizeof(pool));
	return json_pack("{s:s,s:s,s:s,s:i}", "bridge_cidr", bridge, "fixed_cidr", fixed,
			 "pool_base", pool, "pool_size", c->pool_size);
}

/* install --json and plan --json: schema 1 (docs/schemas/install.json). */
static void
print_json(const struct inst *ins)
{
	json_t *doc = json_pack("{s:i,s:s,s:s,s:s,s:b,s:O,s:o}", "schema", 1, "command",
				ins->dry ? "plan" : "install", "root", ins->cfg.root, "prefix",
				ins->cfg.prefix, "changed", ins->changes > 0, "actions", ins->plan,
				"networks", networks_json(&ins->cfg));

	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(doc);
}

static void
say_config(const struct inst *ins)
{
	char bridge[24], fixed[24], pool[24];

	dy_cidr_format(&ins->cfg.bridge, bridge, sizeof(bridge));
	dy_cidr_format(&ins->cfg.fixed, fixed, sizeof(fixed));
	dy_cidr_format(&ins->cfg.pool, pool, sizeof(pool));
	if (ins->dry && !ins->o->json)
		printf("plan for %s%s (prefix %s, bridge %sdocker0 %s, containers %s, networks "
		       "from %s in /%d):\n",
		       ins->o->sysroot, ins->cfg.root, ins->cfg.prefix, ins->cfg.prefix, bridge,
		       fixed, pool, ins->cfg.pool_size);
	else if (!ins->dry)
		dy_say(DY_NORMAL,
		       "instance %s at %s%s: bridge %sdocker0 %s, containers %s, networks from "
		       "%s in /%d",
		       ins->cfg.prefix, ins->o->sysroot, ins->cfg.root, ins->cfg.prefix, bridge,
		       fixed, pool, ins->cfg.pool_size);
}

/* The operator's drop-ins, read and checked before anything is written:
 * a broken one refuses the run with nothing changed. */
static int
load_dropins(struct inst *ins, struct dy_err *err)
{
	char dir[PATH_BUF];

	if (ins_root_path(ins, dir, sizeof(dir), DY_DROPIN_DIR, err) < 0)
		return -1;
	return dy_dropin_load(dir, &ins->dropins, err);
}

static int
run_steps(struct inst *ins, struct dy_err *err)
{
	if (dy_receipt_add(&ins->receipt, err, "root %s", ins->cfg.root) < 0 ||
	    dy_receipt_add(&ins->receipt, err, "prefix %s", ins->cfg.prefix) < 0)
		return -1;
	if (load_dropins(ins, err) < 0 || step_stage(ins, err) < 0) {
		if (!ins->dry)
			drop_fresh_lock(ins);
		return -1;
	}
	if (step_dirs(ins, err) < 0 || step_render(ins, err) < 0) {
		step_unstage(ins);
		return -1;
	}
	ins_fault_point("rendered");
	if (step_system(ins, err) < 0) {
		step_unstage(ins);
		return -1;
	}
	if (ins->host_lockfd >= 0) {
		close(ins->host_lockfd);
		ins->host_lockfd = -1;
	}
	ins_fault_point("system");
	if (step_binaries(ins, err) < 0 || step_receipt(ins, err) < 0)
		return -1;
	ins_fault_point("receipt");
	if (ins->dry)
		step_plan_start(ins);
	else if (step_start(ins, err) < 0)
		return -1;
	if (ins->o->no_start || ins->o->sysroot[0] != '\0')
		return 0;
	/* Images are loaded by the run that extracts the payload. */
	if ((ins->dry ? !ins->binaries_current : ins->extracted) && !ins->o->no_images &&
	    step_images(ins, err) < 0)
		return -1;
	return step_image_dirs(ins, err);
}

static void
say_done(const struct inst *ins, size_t changes)
{
	if (changes == 0)
		dy_say(DY_NORMAL, "%s is up to date: nothing changed", ins->root);
	if (ins->o->sysroot[0] != '\0') {
		dy_say(DY_NORMAL,
		       "installed into the image at %s; %s starts when that system boots",
		       ins->o->sysroot, ins->unit_name);
		return;
	}
	if (ins->o->no_start) {
		dy_say(DY_NORMAL,
		       "installed, not started: %s/bin/dockyardctl start (or systemctl "
		       "start %s)",
		       ins->root, ins->unit_name);
		return;
	}
	dy_say(DY_NORMAL, "ready: %s/bin/docker ps  (or: eval \"$(%s/bin/dockyardctl env)\")",
	       ins->root, ins->root);
	dy_say(DY_NORMAL,
	       "members of group %s may use it; remove it with: dockyard-installer "
	       "uninstall --root %s",
	       ins->group, ins->cfg.root);
}

int
dy_install(struct dy_image *img, const struct dy_install_opts *o, struct dy_err *err)
{
	struct inst ins;
	json_t *preflight = NULL;
	int rc, host_lockfd = -1;

	/* Another machine's binaries: refused before anything is written.  An
	 * image tree (--sysroot) may be for another machine; there the
	 * preflight checks the payload's ELF interpreter inside the tree. */
	if (o->sysroot[0] == '\0' && dy_preflight_arch(&img->meta, img->path, err) < 0) {
		/* The arch line is metadata: a damaged file reads as damaged. */
		if (!img->digest_ok && dy_image_check_digest(img, err) < 0)
			return DY_EXIT_FAIL;
		return DY_EXIT_PREFLIGHT;
	}
	if (!o->dry_run && take_host_lock(o, &host_lockfd, err) < 0)
		return DY_EXIT_FAIL;
	rc = inst_setup(&ins, img, o, err);
	ins.host_lockfd = host_lockfd;
	if (rc != DY_EXIT_OK) {
		inst_free(&ins);
		return rc;
	}
	if (o->json)
		ins.plan = json_array();
	say_config(&ins);
	rc = check_root_path(&ins, err) < 0 ? DY_EXIT_USAGE : DY_EXIT_OK;
	if (rc == DY_EXIT_OK)
		rc = run_preflight(&ins, &preflight, err);
	if (rc == DY_EXIT_OK && !ins.dry)
		rc = take_lock(&ins, err);
	if (rc == DY_EXIT_OK) {
		/* The receipt read under the lock: another run may have added to it. */
		if (load_receipt(&ins, err) < 0 || run_steps(&ins, err) < 0)
			rc = DY_EXIT_FAIL;
	}
	if (rc == DY_EXIT_OK && o->json)
		print_json(&ins);
	else if (rc == DY_EXIT_OK && ins.dry) {
		if (ins.changes == 0)
			printf("  nothing to do: %s is up to date\n", ins.root);
	} else if (rc == DY_EXIT_OK)
		say_done(&ins, ins.changes);
	json_decref(preflight);
	inst_free(&ins);
	return rc;
}

int
dy_install_preflight(struct dy_image *img, const struct dy_install_opts *o, struct dy_err *err)
{
	struct dy_preflight_in in = { &img->meta, "/", o->sysroot };
	struct dy_preflight p = { NULL, 0, 0 };
	int rc;

	if (o->sysroot[0] == '\0' && dy_preflight_arch(&img->meta, img->path, err) < 0)
		return DY_EXIT_PREFLIGHT;
	if (o->flags.set & DY_KEY_ROOT)
		in.root = o->flags.root;
	if (dy_preflight_run(&in, &p, err) < 0)
		return DY_EXIT_FAIL;
	if (o->json)
		rc = dy_preflight_print_json(stdout, &p, err) < 0 ? DY_EXIT_FAIL : DY_EXIT_OK;
	else {
		dy_preflight_print(stdout, &p);
		rc = DY_EXIT_OK;
	}
	if (rc == DY_EXIT_OK && p.failed > 0) {
		dy_errf(err, "%zu preflight check%s failed", p.failed, p.failed == 1 ? "" : "s");
		rc = DY_EXIT_PREFLIGHT;
	}
	dy_preflight_free(&p);
	return rc;
}

/* dockyardctl of the instance, or the copy an interrupted destroy kept
 * beside the root; "" when neither exists. */
static int
find_destroyer(const char *root, char *prog, size_t size, int *from_state, struct dy_err *err)
{
	struct stat st;

	*from_state = 0;
	if ((size_t)snprintf(prog, size, "%s/bin/dockyardctl", root) >= size)
		return dy_errf(err, "path %s/bin/dockyardctl is too long", root);
	if (lstat(prog, &st) == 0)
		return 0;
	if (beside_root("", root, "dockyard-destroy/dockyardctl", prog, size, err) < 0)
		return -1;
	if (lstat(prog, &st) == 0) {
		*from_state = 1;
		return 0;
	}
	prog[0] = '\0';
	return 0;
}

int
dy_uninstall(const struct dy_install_opts *o, char *const extra[], struct dy_err *err)
{
	char prog[PATH_BUF];
	char *argv[8];
	size_t n = 0;
	struct stat st;
	int from_state;

	if (!(o->flags.set & DY_KEY_ROOT)) {
		dy_errf(err, "uninstall needs --root DIR");
		return DY_EXIT_USAGE;
	}
	if (o->sysroot[0] != '\0') {
		dy_errf(err, "uninstall works on the running system only, not with --sysroot");
		return DY_EXIT_USAGE;
	}
	if (find_destroyer(o->flags.root, prog, sizeof(prog), &from_state, err) < 0)
		return DY_EXIT_FAIL;
	if (prog[0] == '\0') {
		if (lstat(o->flags.root, &st) < 0 && errno == ENOENT) {
			dy_say(DY_NORMAL, "nothing installed at %s: nothing to do", o->flags.root);
			return DY_EXIT_OK;
		}
		dy_errf(err, "%s is not an instance: %s/bin/dockyardctl is missing", o->flags.root,
			o->flags.root);
		return DY_EXIT_FAIL;
	}
	/* The kept copy does not live in ROOT/bin: tell it where the root is. */
	if (from_state && setenv("DOCKYARD_CTL_ROOT", o->flags.root, 1) < 0) {
		dy_errnof(err, "cannot set DOCKYARD_CTL_ROOT");
		return DY_EXIT_FAIL;
	}
	argv[n++] = prog;
	if (dy_display_level < DY_NORMAL)
		argv[n++] = "-q";
	argv[n++] = "destroy";
	while (*extra != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1)
		argv[n++] = *extra++;
	argv[n] = NULL;
	execv(prog, argv);
	dy_errnof(err, "cannot run %s", prog);
	return DY_EXIT_FAIL;
}
