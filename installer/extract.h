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

/* target must not exist, or be an empty directory (not a symlink). */
int dy_extract(struct dy_image *img, const char *target, dy_progress_fn progress,
	       struct dy_extract_stats *stats, struct dy_err *err);

#endif
