/* SPDX-License-Identifier: Apache-2.0 */
#include "payload.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct reader {
	const char *path;
	struct dy_stream *stream;
	struct dy_err err;
	int failed;
};

static la_ssize_t
read_cb(struct archive *a, void *client, const void **buf)
{
	struct reader *r = client;
	ssize_t n = dy_stream_read(r->stream, buf, &r->err);

	if (n < 0) {
		r->failed = 1;
		archive_set_error(a, EIO, "%s", r->err.msg);
		return -1;
	}
	return n;
}

/* The archive's own error, unless the stream underneath failed first:
 * then the stream's message says what really happened. */
static int
archive_fail(struct archive *a, struct reader *r, const char *what, struct dy_err *err)
{
	if (r->failed)
		return dy_errf(err, "%s", r->err.msg);
	return dy_errf(err, "%s: payload %s: %s", r->path, what, archive_error_string(a));
}

static int
check_kind(struct archive_entry *ae, const char *name, const struct dy_entry *want,
	   struct dy_err *err)
{
	mode_t type = archive_entry_filetype(ae);

	if (archive_entry_hardlink(ae) != NULL)
		return dy_errf(err,
			       "payload member %s is a hard link; only files and "
			       "directories are allowed",
			       name);
	if (type == AE_IFLNK)
		return dy_errf(err,
			       "payload member %s is a symbolic link; only files and "
			       "directories are allowed",
			       name);
	if (type != AE_IFREG && type != AE_IFDIR)
		return dy_errf(err,
			       "payload member %s is a device or special file; only "
			       "files and directories are allowed",
			       name);
	if ((type == AE_IFDIR) != (want->is_dir != 0))
		return dy_errf(err, "payload member %s is a %s but the metadata lists a %s", name,
			       type == AE_IFDIR ? "directory" : "file",
			       want->is_dir ? "directory" : "file");
	if ((unsigned)archive_entry_perm(ae) != want->mode)
		return dy_errf(err, "payload member %s has mode %04o, metadata says %04o", name,
			       (unsigned)archive_entry_perm(ae), want->mode);
	if (!want->is_dir &&
	    (!archive_entry_size_is_set(ae) || (uint64_t)archive_entry_size(ae) != want->size))
		return dy_errf(err, "payload member %s has size %lld, metadata says %llu", name,
			       (long long)archive_entry_size(ae), (unsigned long long)want->size);
	return 0;
}

static int
check_header(struct archive_entry *ae, const struct dy_meta *m, size_t idx, struct dy_err *err)
{
	const char *raw = archive_entry_pathname(ae);
	char name[DY_MEMBER_PATH_MAX + 2];
	size_t len;

	if (raw == NULL)
		return dy_errf(err, "payload member without a name");
	len = strlen(raw);
	if (len > DY_MEMBER_PATH_MAX + 1)
		return dy_errf(err, "payload member name '%.40s...' is too long", raw);
	memcpy(name, raw, len + 1);
	if (archive_entry_filetype(ae) == AE_IFDIR && len > 1 && name[len - 1] == '/')
		name[len - 1] = '\0';
	if (dy_member_path_valid(name, err) < 0)
		return dy_err_wrap(err, "payload member refused");
	if (idx >= m->nentries)
		return dy_errf(err, "payload member %s is not listed in the metadata", name);
	if (strcmp(name, m->entries[idx].path) != 0)
		return dy_errf(err,
			       "payload member %s does not match metadata entry %s "
			       "(unlisted, reordered or duplicate member)",
			       name, m->entries[idx].path);
	return check_kind(ae, name, &m->entries[idx], err);
}

static int
copy_data(struct archive *a, struct reader *r, const struct dy_entry *e,
	  const struct dy_walk_ops *ops, void *ctx, struct dy_err *err)
{
	uint8_t got[DY_SHA256_LEN];
	char got_hex[DY_SHA256_HEX], want_hex[DY_SHA256_HEX];
	struct dy_sha256 h;
	uint64_t done = 0;
	const void *buf;
	size_t size;
	la_int64_t off;
	int rc;

	dy_sha256_init(&h);
	while ((rc = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		if (off < 0 || (uint64_t)off != done || size > e->size - done) {
			dy_sha256_final(&h, got);
			return dy_errf(err, "payload member %s: data does not match its size",
				       e->path);
		}
		dy_sha256_update(&h, buf, size);
		if (ops && ops->data && ops->data(ctx, e, buf, size, done, err) < 0) {
			dy_sha256_final(&h, got);
			return -1;
		}
		done += size;
	}
	dy_sha256_final(&h, got);
	if (rc != ARCHIVE_EOF)
		return archive_fail(a, r, e->path, err);
	if (done != e->size)
		return dy_errf(err, "payload member %s: %llu bytes, metadata says %llu", e->path,
			       (unsigned long long)done, (unsigned long long)e->size);
	if (!dy_digest_equal(got, e->sha256, DY_SHA256_LEN)) {
		dy_hex_encode(got, DY_SHA256_LEN, got_hex);
		dy_hex_encode(e->sha256, DY_SHA256_LEN, want_hex);
		return dy_errf(err, "payload member %s: sha256 %s, metadata expects %s", e->path,
			       got_hex, want_hex);
	}
	return 0;
}

static int
walk_entries(struct archive *a, struct reader *r, struct dy_image *img,
	     const struct dy_walk_ops *ops, void *ctx, struct dy_err *err)
{
	const struct dy_meta *m = &img->meta;
	struct archive_entry *ae;
	size_t idx;
	int rc;

	for (idx = 0;; idx++) {
		const struct dy_entry *e;
		rc = archive_read_next_header(a, &ae);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK)
			return archive_fail(a, r, "header", err);
		if (check_header(ae, m, idx, err) < 0)
			return -1;
		e = &m->entries[idx];
		if (ops && ops->begin && ops->begin(ctx, e, err) < 0)
			return -1;
		if (!e->is_dir && copy_data(a, r, e, ops, ctx, err) < 0)
			return -1;
		if (ops && ops->end && ops->end(ctx, e, err) < 0)
			return -1;
	}
	if (idx != m->nentries)
		return dy_errf(err, "payload is missing %s, listed in the metadata",
			       m->entries[idx].path);
	return 0;
}

/*
 * A payload that fails mid-stream is most often a damaged file, and the
 * first symptom (a tar or zstd complaint) hides that.  Unless this pass
 * compared the digest already, check it over the whole file: when it does
 * not match, say the file is corrupt.
 */
static void
explain_failure(struct dy_image *img, struct dy_err *err)
{
	if (!img->digest_checked)
		dy_image_explain(img, err);
}

int
dy_payload_walk(struct dy_image *img, const struct dy_walk_ops *ops, void *ctx,
		uint64_t *bytes_read, struct dy_err *err)
{
	struct reader r;
	struct archive *a;
	int rc;

	if (img->trailer.version != DY_TRAILER_VERSION_TAR)
		return dy_payload2_walk(img, ops, -1, bytes_read, err);
	memset(&r, 0, sizeof(r));
	r.path = img->path;
	if (dy_stream_begin(img, &r.stream, ops ? ops->progress : NULL,
			    ops ? ops->progress_ctx : NULL, err) < 0)
		return -1;
	a = archive_read_new();
	if (a == NULL) {
		dy_stream_free(r.stream);
		return dy_errf(err, "out of memory");
	}
	archive_read_support_format_tar(a);
	if (archive_read_open(a, &r, NULL, read_cb, NULL) != ARCHIVE_OK)
		rc = archive_fail(a, &r, "open", err);
	else
		rc = walk_entries(a, &r, img, ops, ctx, err);
	archive_read_free(a);
	if (rc == 0)
		rc = dy_stream_finish(r.stream, err);
	if (bytes_read)
		*bytes_read = dy_stream_bytes_read(r.stream);
	dy_stream_free(r.stream); /* the reader thread stops here */
	if (rc != 0)
		explain_failure(img, err);
	return rc;
}

int
dy_payload_walk_into(struct dy_image *img, const struct dy_walk_ops *ops, void *ctx, int outdir,
		     uint64_t *bytes_read, struct dy_err *err)
{
	if (img->trailer.version != DY_TRAILER_VERSION_TAR)
		return dy_payload2_walk(img, ops, outdir, bytes_read, err);
	return dy_payload_walk(img, ops, ctx, bytes_read, err);
}

struct archive_entry *
dy_entry_header(const struct dy_entry *e, time_t mtime)
{
	struct archive_entry *ae = archive_entry_new();

	if (ae == NULL)
		return NULL;
	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_filetype(ae, e->is_dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ae, e->mode);
	archive_entry_set_size(ae, e->is_dir ? 0 : (la_int64_t)e->size);
	archive_entry_set_mtime(ae, mtime, 0);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	return ae;
}
