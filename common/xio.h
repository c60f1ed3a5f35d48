/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-buffer I/O that retries on EINTR and short transfers. */
#ifndef DY_XIO_H
#define DY_XIO_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"

/* Read exactly len bytes; returns 0, or -1 with errno (EIO on early EOF). */
int dy_read_full(int fd, void *buf, size_t len);
/* Read up to len bytes; returns bytes read (< len only at EOF) or -1. */
ssize_t dy_read_some(int fd, void *buf, size_t len);
int dy_pread_full(int fd, void *buf, size_t len, off_t off);
int dy_write_full(int fd, const void *buf, size_t len);

/* Read a whole regular file of at most max bytes into a malloc'd,
 * NUL-terminated buffer.  Opened O_NOFOLLOW and O_NONBLOCK (a FIFO is
 * refused, not waited on).  st, when not NULL, receives its stat.  On
 * failure errno is kept, so a caller may treat ENOENT as "absent". */
int dy_read_small_file(const char *path, size_t max, char **out, size_t *len, struct stat *st,
		       struct dy_err *err);
/* The same from an open file (not closed), for callers that open it their
 * own way; name is what messages call it ("lock file PATH"). */
int dy_read_small_fd(int fd, const char *name, size_t max, char **out, size_t *len, struct stat *st,
		     struct dy_err *err);

/* Write data to a new temporary file beside path (mode given, umask
 * ignored), fsync it and rename it over path: readers see the old file
 * or the new one, never a half-written one. */
int dy_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct dy_err *err);

/* The same, the file given to uid:gid first (-1 keeps that one), so that
 * a replaced file keeps an owner other than root. */
int dy_write_file_atomic_owned(const char *path, const void *data, size_t len, mode_t mode,
			       uid_t uid, gid_t gid, struct dy_err *err);

/* mkdir -p: every missing directory of path, with mode. */
int dy_mkdir_p(const char *path, mode_t mode, struct dy_err *err);

/* Remove a directory tree below dirfd/name without following symlinks and
 * without crossing into other mounts.  Missing entries are not an error. */
int dy_remove_tree_at(int dirfd, const char *name, struct dy_err *err);

#endif
