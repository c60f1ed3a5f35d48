/* SPDX-License-Identifier: Apache-2.0 */
#include "extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xio.h"
#include "../verify/payload.h"

#define EXTRACT_FLAGS                                                                              \
	(ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |           \
	 ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |                \
	 ARCHIVE_EXTRACT_NO_OVERWRITE)

struct extractor {
	struct archive *disk;
	const struct dy_meta *meta;
	struct dy_extract_stats *stats;
};

static int
disk_fail(struct extractor *x, const struct dy_entry *e, struct dy_err *err)
{
	return dy_errf(err, "cannot write %s into staging: %s", e->path,
		       archive_error_string(x->disk));
}

/* The header written to disk is built from the verified metadata, never
 * copied from the tar: owners, xattrs, ACLs and odd types cannot leak in. */
static int
x_begin(void *ctx, const struct dy_entry *e, struct dy_err *err)
{
	struct extractor *x = ctx;
	struct archive_entry *ae = dy_entry_header(e, (time_t)x->meta->built);
	int rc;

	if (ae == NULL)
		return dy_errf(err, "out of memory");
	rc = archive_write_header(x->disk, ae);
	archive_entry_free(ae);
	if (rc != ARCHIVE_OK)
		return disk_fail(x, e, err);
	return 0;
}

static int
x_data(void *ctx, const struct dy_entry *e, const void *buf, size_t len, uint64_t off,
       struct dy_err *err)
{
	struct extractor *x = ctx;

	if (archive_write_data_block(x->disk, buf, len, (la_int64_t)off) != ARCHIVE_OK)
		return disk_fail(x, e, err);
	x->stats->bytes_written += len;
	return 0;
}

/* Start writing a finished file back to disk now, without waiting: by
 * the end of the pass little is left for sync_tree() to wait for. */
static void
start_writeback(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	close(fd);
}

static int
x_end(void *ctx, const struct dy_entry *e, struct dy_err *err)
{
	struct extractor *x = ctx;

	if (archive_write_finish_entry(x->disk) != ARCHIVE_OK)
		return disk_fail(x, e, err);
	if (!e->is_dir) {
		x->stats->files++;
		start_writeback(e->path);
	}
	return 0;
}

/* Every file and directory of a tree (m's entries below dirfd, with
 * rename_bin's name changes) on disk: after a power cut the tree is whole
 * or absent, never a set of empty files under the final name. */
static int
sync_tree(int dirfd, const struct dy_meta *m, const char *(*rename_fn)(const char *, void *),
	  void *ctx, struct dy_err *err)
{
	size_t i;
	int fd, rc;

	for (i = 0; i <= m->nentries; i++) {
		const char *path = i < m->nentries ? m->entries[i].path : ".";
		if (rename_fn && i < m->nentries)
			path = rename_fn(path, ctx);
		fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return dy_errnof(err, "cannot open extracted %s to sync it", path);
		rc = i < m->nentries && !m->entries[i].is_dir ? fdatasync(fd) : fsync(fd);
		close(fd);
		if (rc < 0)
			return dy_errnof(err, "cannot write extracted %s to disk", path);
	}
	return 0;
}

int
dy_extract_sync(const char *dir, const struct dy_meta *m,
		const char *(*rename_fn)(const char *, void *), void *ctx, struct dy_err *err)
{
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (dirfd < 0)
		return dy_errnof(err, "cannot open %s to sync it", dir);
	rc = sync_tree(dirfd, m, rename_fn, ctx, err);
	close(dirfd);
	return rc;
}

/* Split target into an opened parent directory and a final name. */
static int
open_parent(const char *target, int *parentfd, char *base, size_t base_len, struct dy_err *err)
{
	char *a = strdup(target), *b = strdup(target);
	const char *name;
	int rc = 0;

	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return dy_errf(err, "out of memory");
	}
	name = basename(a);
	if (*target == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strcmp(name, "/") == 0)
		rc = dy_errf(err, "extract target '%s' must name a directory to create", target);
	else if (snprintf(base, base_len, "%s", name) >= (int)base_len)
		rc = dy_errf(err, "extract target name '%s' is too long", name);
	else if ((*parentfd = open(dirname(b), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = dy_errnof(err, "cannot open the directory that should hold %s", target);
	free(a);
	free(b);
	return rc;
}

static int
dir_is_empty(int fd)
{
	struct dirent *de;
	int dup_fd = dup(fd), empty = 1;
	DIR *d;

	if (dup_fd < 0 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int
check_target(int parentfd, const char *base, const char *target, struct dy_err *err)
{
	struct stat st;
	int fd, empty;

	if (fstatat(parentfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return dy_errnof(err, "cannot inspect extract target %s", target);
	}
	if (S_ISLNK(st.st_mode))
		return dy_errf(err, "extract target %s is a symbolic link; refusing to follow it",
			       target);
	if (!S_ISDIR(st.st_mode))
		return dy_errf(err, "extract target %s exists and is not a directory", target);
	fd = openat(parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dy_errnof(err, "cannot open extract target %s", target);
	empty = dir_is_empty(fd);
	close(fd);
	if (!empty)
		return dy_errf(err,
			       "extract target %s is not empty; extract into a new or "
			       "empty directory",
			       target);
	return 0;
}

/* A fresh, unpredictable, private (0700) directory beside the target. */
static int
make_staging(int parentfd, const char *base, char *name, size_t len, struct dy_err *err)
{
	unsigned char rnd[8];
	char hex[17];
	int tries, i;

	for (tries = 0; tries < 16; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			return dy_errnof(err, "cannot get random bytes for a staging name");
		for (i = 0; i < 8; i++)
			snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
		snprintf(name, len, ".%.200s.dockyard-staging-%s", base, hex);
		if (mkdirat(parentfd, name, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return dy_errnof(err, "cannot create staging directory %s", name);
	}
	return dy_errf(err, "cannot find a free staging directory name");
}

/* Version 2 writes no file through x_data: count them from the metadata. */
static void
count_files(const struct dy_meta *m, struct dy_extract_stats *stats)
{
	size_t i;

	for (i = 0; i < m->nentries; i++)
		if (!m->entries[i].is_dir) {
			stats->files++;
			stats->bytes_written += m->entries[i].size;
		}
}

static int
extract_into(struct dy_image *img, int stagefd, dy_progress_fn progress,
	     struct dy_extract_stats *stats, int sync_now, struct dy_err *err)
{
	struct extractor x = { archive_write_disk_new(), &img->meta, stats };
	struct dy_walk_ops ops = { x_begin, x_data, x_end, progress, NULL };
	int cwd, rc;

	if (x.disk == NULL)
		return dy_errf(err, "out of memory");
	/* libarchive resolves names against the working directory: work
	 * inside the staging directory we opened, never through a path. */
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || fchdir(stagefd) < 0) {
		rc = dy_errnof(err, "cannot enter staging directory");
		if (cwd >= 0)
			close(cwd);
		archive_write_free(x.disk);
		return rc;
	}
	archive_write_disk_set_options(x.disk, EXTRACT_FLAGS);
	/* Version 2 decodes straight into the staging directory. */
	rc = dy_payload_walk_into(img, &ops, &x, stagefd, &stats->bytes_read, err);
	if (rc == 0 && img->trailer.version != DY_TRAILER_VERSION_TAR)
		count_files(&img->meta, stats);
	if (archive_write_close(x.disk) != ARCHIVE_OK && rc == 0)
		rc = dy_errf(err, "cannot finish extraction: %s", archive_error_string(x.disk));
	archive_write_free(x.disk);
	if (rc == 0 && sync_now)
		rc = sync_tree(stagefd, &img->meta, NULL, NULL, err);
	if (fchdir(cwd) < 0 && rc == 0)
		rc = dy_errnof(err, "cannot return to the working directory");
	close(cwd);
	return rc;
}

static int
extract_tree(struct dy_image *img, const char *target, dy_progress_fn progress,
	     struct dy_extract_stats *stats, int sync_now, struct dy_err *err)
{
	char base[256], staging[320];
	struct dy_err cleanup_err;
	int parentfd = -1, stagefd = -1, rc;

	memset(stats, 0, sizeof(*stats));
	if (open_parent(target, &parentfd, base, sizeof(base), err) < 0)
		return -1;
	rc = check_target(parentfd, base, target, err);
	if (rc == 0)
		rc = make_staging(parentfd, base, staging, sizeof(staging), err);
	if (rc < 0) {
		close(parentfd);
		return -1;
	}
	stagefd = openat(parentfd, staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (stagefd < 0)
		rc = dy_errnof(err, "cannot open staging directory %s", staging);
	if (rc == 0)
		rc = extract_into(img, stagefd, progress, stats, sync_now, err);
	if (rc == 0 && fchmod(stagefd, 0755) < 0)
		rc = dy_errnof(err, "cannot set the mode of %s", target);
	/* rename(2) replaces an empty directory atomically. */
	if (rc == 0 && renameat(parentfd, staging, parentfd, base) < 0)
		rc = dy_errnof(err, "cannot move the extracted tree into place at %s", target);
	if (stagefd >= 0)
		close(stagefd);
	if (rc < 0 && dy_remove_tree_at(parentfd, staging, &cleanup_err) < 0)
		dy_err_wrap(err, "%s; also failed to remove staging", cleanup_err.msg);
	close(parentfd);
	return rc;
}

int
dy_extract(struct dy_image *img, const char *target, dy_progress_fn progress,
	   struct dy_extract_stats *stats, struct dy_err *err)
{
	return extract_tree(img, target, progress, stats, 1, err);
}

int
dy_extract_unsynced(struct dy_image *img, const char *target, dy_progress_fn progress,
		    struct dy_extract_stats *stats, struct dy_err *err)
{
	return extract_tree(img, target, progress, stats, 0, err);
}
