/* SPDX-License-Identifier: Apache-2.0 */
#include "xio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
dy_read_full(int fd, void *buf, size_t len)
{
	ssize_t n = dy_read_some(fd, buf, len);

	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

ssize_t
dy_read_some(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int
dy_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int
dy_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int
dy_read_small_fd(int fd, const char *name, size_t max, char **out, size_t *len, struct stat *st,
		 struct dy_err *err)
{
	struct stat own;
	char *buf;
	int saved;

	if (st == NULL)
		st = &own;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || (uint64_t)st->st_size > max) {
		errno = EINVAL;
		return dy_errf(err, "%s is not a regular file of at most %zu bytes", name, max);
	}
	buf = malloc((size_t)st->st_size + 1);
	if (buf == NULL) {
		errno = ENOMEM;
		return dy_errf(err, "out of memory reading %s", name);
	}
	if (dy_read_full(fd, buf, (size_t)st->st_size) < 0) {
		saved = errno;
		dy_errnof(err, "cannot read %s", name);
		free(buf);
		errno = saved;
		return -1;
	}
	buf[st->st_size] = '\0';
	*out = buf;
	*len = (size_t)st->st_size;
	return 0;
}

int
dy_read_small_file(const char *path, size_t max, char **out, size_t *len, struct stat *st,
		   struct dy_err *err)
{
	int fd, rc, saved;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		saved = errno;
		dy_errnof(err, "cannot open %s", path);
		errno = saved;
		return -1;
	}
	rc = dy_read_small_fd(fd, path, max, out, len, st, err);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
dy_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
		     struct dy_err *err)
{
	return dy_write_file_atomic_owned(path, data, len, mode, (uid_t)-1, (gid_t)-1, err);
}

int
dy_write_file_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
			   gid_t gid, struct dy_err *err)
{
	char tmp[4096];
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return dy_errf(err, "path %s is too long", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return dy_errnof(err, "cannot create a temporary file beside %s", path);
	if (dy_write_full(fd, data, len) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) ||
	    fchmod(fd, mode) < 0 || fsync(fd) < 0)
		rc = dy_errnof(err, "cannot write %s", tmp);
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = dy_errnof(err, "cannot rename %s to %s", tmp, path);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int
dy_mkdir_p(const char *path, mode_t mode, struct dy_err *err)
{
	char buf[4096], *p, c;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return dy_errf(err, "path %.64s... is too long", path);
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return dy_errnof(err, "cannot create directory %s", buf);
		*p = c;
		if (c == '\0')
			return 0;
	}
}

static int remove_entries(int dfd, dev_t dev, const char *where, struct dy_err *err);

int
dy_remove_tree_at(int dirfd, const char *name, struct dy_err *err)
{
	struct stat st;
	int fd, rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return dy_errnof(err, "cannot stat %s for removal", name);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return dy_errnof(err, "cannot remove %s", name);
		return 0;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dy_errnof(err, "cannot open %s for removal", name);
	rc = remove_entries(fd, st.st_dev, name, err);
	close(fd);
	if (rc < 0)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return dy_errnof(err, "cannot remove directory %s", name);
	return 0;
}

static int
remove_entries(int dfd, dev_t dev, const char *where, struct dy_err *err)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0;

	fd = dup(dfd);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return dy_errnof(err, "cannot list %s", where);
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && st.st_dev != dev) {
			rc = dy_errf(err, "refusing to remove %s/%s: it is a mount point", where,
				     de->d_name);
			break;
		}
		rc = dy_remove_tree_at(dfd, de->d_name, err);
	}
	closedir(d);
	return rc;
}
