/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Extract a verified payload into a directory: everything is written into a
 * private staging directory beside the target, and renamed into place only
 * after every member and the whole-file digest checked out.  On any failure
 * the staging directory is removed and the target is untouched.
 */
#ifndef DY_EXTRACT_H
#define DY_EXTRACT_H

#include "../common/err.h"
#include "../verify/image.h"

struct dy_extract_stats {
	uint64_t bytes_read; /* image bytes read: the payload is read once */
	uint64_t files;
	uint64_t bytes_written;
};

/* target must not exist, or be an empty directory (not a symlink).  The
 * files are on disk (fdatasync) before the tree gets its name. */
int dy_extract(struct dy_image *img, const char *target, dy_progress_fn progress,
	       struct dy_extract_stats *stats, struct dy_err *err);
/* The same with the wait for the disk left to the caller, who calls
 * dy_extract_sync() before the tree goes live (the install overlaps the
 * wait with other steps); writeback has started for every file. */
int dy_extract_unsynced(struct dy_image *img, const char *target, dy_progress_fn progress,
			struct dy_extract_stats *stats, struct dy_err *err);
/* fdatasync every file of m below dir (rename_fn, when given, maps an
 * entry's path to the name it has there now), fsync its directories. */
int dy_extract_sync(const char *dir, const struct dy_meta *m,
		    const char *(*rename_fn)(const char *, void *), void *ctx, struct dy_err *err);

#endif
