/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Locks: the root's lock file beside the root, taken before anything of
 * the root is written, and the host's lock over configuration and
 * registry entry.
 */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xio.h"

/* What one attempt at the root's lock found. */
enum lock_result {
	LOCK_HELD,  /* locked, on the file that is there */
	LOCK_AGAIN, /* the file was removed while this run waited: take it afresh */
	LOCK_ERROR, /* err says why (kind DY_ERR_LOCKED: another holder) */
};

void
lock_init(struct lock *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->host_fd = -1;
}

void
lock_free(struct lock *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	lock_release_host(l);
}

int
lock_path(const char *prefix, const char *root, char *buf, size_t size, struct dy_err *err)
{
	return beside_root(prefix, root, "dockyard-lock", buf, size, err);
}

/* Conflict detection reads the registry and the host; the install then
 * writes its registry entry.  One installer at a time holds the span in
 * between, whatever its root: two roots with one prefix, installed at
 * once, would otherwise both pass.  A sysroot's own directory is its
 * lock; the host's is a file in /run/lock (gone at reboot). */
int
lock_take_host(const struct dy_install_opts *o, struct lock *l, struct dy_err *err)
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
	l->host_fd = fd;
	return 0;
}

void
lock_release_host(struct lock *l)
{
	if (l->host_fd >= 0)
		close(l->host_fd);
	l->host_fd = -1;
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

/* Another installer holds the lock on fd: refuse, or wait with --wait. */
static enum lock_result
wait_holder(const struct dy_install_opts *o, const char *root, int fd, const char *path,
	    struct dy_err *err)
{
	char holder[32] = "";
	ssize_t n;

	n = pread(fd, holder, sizeof(holder) - 1, 0);
	holder[n > 0 ? n : 0] = '\0';
	holder[strcspn(holder, "\n")] = '\0';
	if (!o->wait_lock) {
		dy_errf(err,
			"another dockyard-installer (pid %s) is working on %s (lock %s); "
			"retry when it is done, or pass --wait",
			holder[0] ? holder : "?", root, path);
		dy_err_kind(err, DY_ERR_LOCKED);
		return LOCK_ERROR;
	}
	dy_say(DY_NORMAL, "waiting for dockyard-installer (pid %s) to finish with %s",
	       holder[0] ? holder : "?", root);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return dy_errnof(err, "cannot lock %s", path), LOCK_ERROR;
	return LOCK_HELD;
}

/* Open and flock the lock file once. */
static enum lock_result
lock_once(const struct dy_install_opts *o, const char *root, struct lock *l, const char *path,
	  struct dy_err *err)
{
	struct stat held, now;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	l->made = fd >= 0;
	if (fd < 0 && errno == EEXIST) {
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			return LOCK_AGAIN; /* removed in between */
	}
	if (fd < 0)
		return dy_errnof(err, "cannot open the lock file %s", path), LOCK_ERROR;
	l->fd = fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return dy_errnof(err, "cannot lock %s", path), LOCK_ERROR;
		if (wait_holder(o, root, fd, path, err) != LOCK_HELD)
			return LOCK_ERROR;
	}
	/* A holder that created the file and failed removes it again (and a
	 * destroy does): a lock on the removed file guards nothing. */
	if (fstat(fd, &held) < 0 || lstat(path, &now) < 0 || held.st_ino != now.st_ino ||
	    held.st_dev != now.st_dev) {
		close(fd);
		l->fd = -1;
		return LOCK_AGAIN;
	}
	return LOCK_HELD;
}

int
lock_take(const struct dy_install_opts *o, const char *root, struct lock *l, struct dy_err *err)
{
	char path[PATH_BUF], dir[PATH_BUF], holder[32];
	enum lock_result got;

	if (lock_path(o->sysroot, root, path, sizeof(path), err) < 0)
		return -1;
	dirname(strcpy(dir, path));
	first_missing(dir, l->dirs_made, sizeof(l->dirs_made));
	if (dy_mkdir_p(dir, 0755, err) < 0)
		return -1;
	while ((got = lock_once(o, root, l, path, err)) == LOCK_AGAIN)
		;
	if (got != LOCK_HELD)
		return -1;
	snprintf(holder, sizeof(holder), "%ld\n", (long)getpid());
	if (ftruncate(l->fd, 0) < 0 || pwrite(l->fd, holder, strlen(holder), 0) < 0)
		dy_warn("cannot record this process in %s: %s", path, strerror(errno));
	return 0;
}

/* Still holding the lock; a waiter notices the removal and locks afresh. */
void
lock_drop_fresh(const struct dy_install_opts *o, const char *root, struct lock *l)
{
	char path[PATH_BUF], dir[PATH_BUF];
	struct dy_err ignored;
	size_t top = strlen(l->dirs_made);

	if (!l->made || lock_path(o->sysroot, root, path, sizeof(path), &ignored) < 0)
		return;
	if (unlink(path) < 0)
		return;
	l->made = 0;
	snprintf(dir, sizeof(dir), "%s", path);
	while (top > 0 && strlen(dirname(dir)) >= top && rmdir(dir) == 0)
		;
}
