#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "../common/xio.h"

#define READ_CHUNK (256u << 10)

void
dy_image_close(struct dy_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	free(img->meta_raw);
	img->meta_raw = NULL;
	dy_meta_free(&img->meta);
}

static int
read_tail(struct dy_image *img, struct dy_err *err)
{
	const struct dy_trailer *t = &img->trailer;

	if (dy_pread_full(img->fd, img->trailer_raw, DY_TRAILER_SIZE,
			  (off_t)(img->size - DY_TRAILER_SIZE)) < 0)
		return dy_errnof(err, "%s: cannot read trailer", img->path);
	if (dy_trailer_decode(img->trailer_raw, img->size, &img->trailer, err) < 0)
		return dy_err_wrap(err, "%s", img->path);
	img->meta_raw = malloc(t->meta_len);
	if (img->meta_raw == NULL)
		return dy_errf(err, "out of memory");
	if (dy_pread_full(img->fd, img->meta_raw, t->meta_len, (off_t)t->meta_off) < 0)
		return dy_errnof(err, "%s: cannot read metadata", img->path);
	if (dy_meta_parse(img->meta_raw, t->meta_len, &img->meta, err) < 0)
		return dy_err_wrap(err, "%s: corrupt metadata", img->path);
	return 0;
}

int
dy_image_open(struct dy_image *img, const char *path, const char *display, int follow,
	      struct dy_err *err)
{
	struct stat st;

	memset(img, 0, sizeof(*img));
	dy_meta_init(&img->meta);
	snprintf(img->path, sizeof(img->path), "%s", display ? display : path);
	path = path ? path : display;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat refuses it
	 * (regular files ignore the flag). */
	img->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
	if (img->fd < 0 && errno == ELOOP)
		return dy_errf(err, "installer %s is a symbolic link; give the file it points to",
			       img->path);
	if (img->fd < 0)
		return dy_errnof(err, "cannot open installer %s", img->path);
	if (fstat(img->fd, &st) < 0) {
		dy_errnof(err, "cannot stat installer %s", img->path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		dy_errf(err, "installer %s is not a regular file", img->path);
		goto fail;
	}
	img->size = (uint64_t)st.st_size;
	if (img->size <= DY_TRAILER_SIZE) {
		dy_errf(err, "%s: %llu bytes is too short to hold a dockyard trailer", img->path,
			(unsigned long long)img->size);
		goto fail;
	}
	if (read_tail(img, err) < 0)
		goto fail;
	return 0;
fail:
	dy_image_close(img);
	return -1;
}

struct dy_stream {
	struct dy_image *img;
	struct dy_sha256 hash;
	ZSTD_DCtx *dctx;
	ZSTD_inBuffer in;
	unsigned char *inbuf;
	unsigned char *outbuf;
	size_t out_cap;
	uint64_t pos;	     /* next file offset to read */
	uint64_t tar_out;    /* decompressed bytes handed out */
	uint64_t bytes_read; /* file bytes read by this pass */
	int frame_open;	     /* zstd is inside a frame */
	dy_progress_fn progress;
	void *progress_ctx;
};

uint64_t
dy_stream_bytes_read(const struct dy_stream *s)
{
	/* The metadata and trailer were read once, at open. */
	return s->bytes_read + s->img->trailer.meta_len + DY_TRAILER_SIZE;
}

void
dy_stream_free(struct dy_stream *s)
{
	if (s == NULL)
		return;
	ZSTD_freeDCtx(s->dctx);
	free(s->inbuf);
	free(s->outbuf);
	free(s);
}

/* Read [pos, pos+len) of the image into buf and hash it. */
static int
read_hashed(struct dy_stream *s, void *buf, size_t len, struct dy_err *err)
{
	if (dy_pread_full(s->img->fd, buf, len, (off_t)s->pos) < 0)
		return dy_errnof(err, "%s: read failed at offset %llu", s->img->path,
				 (unsigned long long)s->pos);
	dy_sha256_update(&s->hash, buf, len);
	s->pos += len;
	s->bytes_read += len;
	if (s->progress)
		s->progress(s->progress_ctx, s->pos, s->img->size);
	return 0;
}

static int
hash_stub(struct dy_stream *s, struct dy_err *err)
{
	uint64_t end = s->img->trailer.payload_off;

	while (s->pos < end) {
		size_t n = end - s->pos < READ_CHUNK ? (size_t)(end - s->pos) : READ_CHUNK;
		if (read_hashed(s, s->inbuf, n, err) < 0)
			return -1;
	}
	return 0;
}

int
dy_stream_begin(struct dy_image *img, struct dy_stream **out, dy_progress_fn progress,
		void *progress_ctx, struct dy_err *err)
{
	struct dy_stream *s;

	*out = NULL;
	img->digest_ok = 0; /* until this pass says otherwise */
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return dy_errf(err, "out of memory");
	s->img = img;
	s->progress = progress;
	s->progress_ctx = progress_ctx;
	s->out_cap = ZSTD_DStreamOutSize();
	s->inbuf = malloc(READ_CHUNK);
	s->outbuf = malloc(s->out_cap);
	s->dctx = ZSTD_createDCtx();
	if (s->inbuf == NULL || s->outbuf == NULL || s->dctx == NULL) {
		dy_stream_free(s);
		return dy_errf(err, "out of memory");
	}
	/* Bound the decoder's memory by the window the trailer declares
	 * (itself capped at 2^27): a payload needing more is refused. */
	ZSTD_DCtx_setParameter(s->dctx, ZSTD_d_windowLogMax, img->trailer.window_log);
	dy_sha256_init(&s->hash);
	if (hash_stub(s, err) < 0) {
		dy_stream_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

static int
refill(struct dy_stream *s, struct dy_err *err)
{
	uint64_t end = s->img->trailer.meta_off;
	size_t n = end - s->pos < READ_CHUNK ? (size_t)(end - s->pos) : READ_CHUNK;

	if (read_hashed(s, s->inbuf, n, err) < 0)
		return -1;
	s->in.src = s->inbuf;
	s->in.size = n;
	s->in.pos = 0;
	return 0;
}

ssize_t
dy_stream_read(struct dy_stream *s, const void **buf, struct dy_err *err)
{
	const struct dy_trailer *t = &s->img->trailer;

	for (;;) {
		ZSTD_outBuffer out = { s->outbuf, s->out_cap, 0 };
		size_t ret;

		if (s->in.pos == s->in.size) {
			if (s->pos == t->meta_off) {
				if (s->frame_open)
					return dy_errf(err,
						       "%s: payload ends inside a zstd frame "
						       "(truncated or corrupt)",
						       s->img->path);
				return 0;
			}
			if (refill(s, err) < 0)
				return -1;
		}
		ret = ZSTD_decompressStream(s->dctx, &out, &s->in);
		if (ZSTD_isError(ret) &&
		    ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge)
			return dy_errf(err,
				       "%s: payload is not valid zstd data: it needs more memory "
				       "than the 2^%u-byte window the trailer declares",
				       s->img->path, t->window_log);
		if (ZSTD_isError(ret))
			return dy_errf(err, "%s: payload is not valid zstd data (corrupt): %s",
				       s->img->path, ZSTD_getErrorName(ret));
		s->frame_open = ret != 0;
		if (out.pos == 0)
			continue;
		if (out.pos > t->tar_len - s->tar_out)
			return dy_errf(err,
				       "%s: payload decompresses to more than the %llu bytes "
				       "the trailer declares",
				       s->img->path, (unsigned long long)t->tar_len);
		s->tar_out += out.pos;
		*buf = s->outbuf;
		return (ssize_t)out.pos;
	}
}

/*
 * Finish both digests of one pass: the signed digest stops where the
 * signature area starts, the whole-file digest goes on to the digest field.
 */
static int
compare_digest(struct dy_image *img, struct dy_sha256 *h, struct dy_err *err)
{
	uint8_t got[DY_SHA256_LEN];
	char want_hex[DY_SHA256_HEX], got_hex[DY_SHA256_HEX];
	struct dy_sha256 upto_sig;

	img->digest_ok = 0;
	dy_sha256_update(h, img->meta_raw, img->trailer.meta_len);
	dy_sha256_update(h, img->trailer_raw, DY_TRAILER_SIG_OFF);
	dy_sha256_clone(&upto_sig, h);
	dy_sha256_final(&upto_sig, img->signed_digest);
	dy_sha256_update(h, img->trailer_raw + DY_TRAILER_SIG_OFF,
			 DY_TRAILER_DIGEST_OFF - DY_TRAILER_SIG_OFF);
	dy_sha256_final(h, got);
	if (dy_digest_equal(got, img->trailer.digest, DY_SHA256_LEN)) {
		img->digest_ok = 1;
		return 0;
	}
	dy_hex_encode(img->trailer.digest, DY_SHA256_LEN, want_hex);
	dy_hex_encode(got, DY_SHA256_LEN, got_hex);
	return dy_errf(err, "%s: installer is corrupt: SHA-256 is %s, trailer expects %s",
		       img->path, got_hex, want_hex);
}

int
dy_stream_finish(struct dy_stream *s, struct dy_err *err)
{
	const void *buf;
	ssize_t n;

	while ((n = dy_stream_read(s, &buf, err)) > 0)
		;
	if (n < 0)
		return -1;
	if (s->tar_out != s->img->trailer.tar_len)
		return dy_errf(err,
			       "%s: payload decompresses to %llu bytes, trailer declares %llu "
			       "(corrupt)",
			       s->img->path, (unsigned long long)s->tar_out,
			       (unsigned long long)s->img->trailer.tar_len);
	return compare_digest(s->img, &s->hash, err);
}

int
dy_image_check_digest(struct dy_image *img, struct dy_err *err)
{
	struct dy_sha256 h;
	unsigned char *buf;
	uint64_t pos = 0, end = img->trailer.meta_off;

	img->digest_ok = 0;
	buf = malloc(READ_CHUNK);
	if (buf == NULL)
		return dy_errf(err, "out of memory");
	dy_sha256_init(&h);
	while (pos < end) {
		size_t n = end - pos < READ_CHUNK ? (size_t)(end - pos) : READ_CHUNK;
		if (dy_pread_full(img->fd, buf, n, (off_t)pos) < 0) {
			uint8_t scratch[DY_SHA256_LEN];
			free(buf);
			dy_sha256_final(&h, scratch);
			return dy_errnof(err, "%s: read failed at offset %llu", img->path,
					 (unsigned long long)pos);
		}
		dy_sha256_update(&h, buf, n);
		pos += n;
	}
	free(buf);
	return compare_digest(img, &h, err);
}
