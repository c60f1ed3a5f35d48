/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File helpers shared by the unit tests: private scratch directories and
 * whole-file reads.  static inline, so a test that does not use one does
 * not warn about it.
 */
#ifndef DY_TESTUTIL_H
#define DY_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/xio.h"
#include "../../verify/trailer.h"

/* A fresh directory under $TMPDIR (or /tmp) named after the test. */
static inline int
tu_make_tmpdir(char *dir, size_t size, const char *tag)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, size, "%s/dy-%s.XXXXXX", base && *base ? base : "/tmp", tag);
	if (mkdtemp(dir) == NULL) {
		printf("#   mkdtemp %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static inline void
tu_remove_tree(const char *dir)
{
	struct dy_err err;

	if (dy_remove_tree_at(AT_FDCWD, dir, &err) < 0)
		printf("#   cannot remove %s: %s\n", dir, err.msg);
}

/* The whole file, NUL-terminated (len may be NULL); NULL when unreadable. */
static inline char *
tu_read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	if (dy_read_full(fd, buf, (size_t)st.st_size) < 0) {
		free(buf);
		buf = NULL;
	} else {
		buf[st.st_size] = '\0';
		if (len)
			*len = (size_t)st.st_size;
	}
	close(fd);
	return buf;
}

/* A structurally valid trailer: stub 1000, payload 500, metadata 100
 * bytes; digest and signature area zero. */
static inline void
tu_valid_trailer(struct dy_trailer *t)
{
	memset(t, 0, sizeof(*t));
	t->version = DY_TRAILER_VERSION_TAR;
	t->file_len = 1600 + DY_TRAILER_SIZE;
	t->payload_off = 1000;
	t->payload_len = 500;
	t->meta_off = 1500;
	t->meta_len = 100;
	t->tar_len = 10240;
	t->window_log = 25;
}

#endif
