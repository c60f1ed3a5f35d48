/* SPDX-License-Identifier: Apache-2.0 */
#include "image.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
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
	if (dy_trailer_decode(img->trailer_raw, img->size, &img->trailer, err) < 0) {
		dy_err_wrap(err, "%s", img->path);
		return dy_image_explain(img, err);
	}
	img->meta_raw = malloc(t->meta_len);
	if (img->meta_raw == NULL)
		return dy_errf(err, "out of memory");
	if (dy_pread_full(img->fd, img->meta_raw, t->meta_len, (off_t)t->meta_off) < 0)
		return dy_errnof(err, "%s: cannot read metadata", img->path);
	if (dy_meta_parse(img->meta_raw, t->meta_len, &img->meta, err) < 0) {
		dy_err_wrap(err, "%s: corrupt metadata", img->path);
		return dy_image_explain(img, err);
	}
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
		dy_errf(err,
			"%s: " DY_CORRUPT ": %llu bytes is too short to hold a dockyard trailer",
			img->path, (unsigned long long)img->size);
		goto fail;
	}
	if (read_tail(img, err) < 0)
		goto fail;
	return 0;
fail:
	dy_image_close(img);
	return -1;
}

/*
 * One pass runs on two threads: a reader thread reads the file in order,
 * hashes every byte and decompresses into a small ring of buffers; the
 * caller's thread takes the buffers (tar parsing, member digests, writes).
 * On two cores the two halves cost about the same, so the pass takes about
 * as long as the slower one.  The ring bounds memory: RING x OUT_CHUNK on
 * top of the zstd window.
 */
#define RING 4
#define OUT_CHUNK (1u << 20)

struct slot {
	unsigned char *data;
	size_t len;
	uint64_t file_pos; /* file bytes read when the slot was filled */
};

/* Owned by the reader thread until it has finished. */
struct reader_state {
	struct dy_sha256 hash;
	ZSTD_DCtx *dctx;
	ZSTD_inBuffer in;
	unsigned char *inbuf;
	uint64_t pos;	  /* next file offset to read */
	uint64_t tar_out; /* decompressed bytes produced */
	int frame_open;	  /* zstd is inside a frame */
};

struct dy_stream {
	struct dy_image *img;
	struct reader_state r;
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot slots[RING];
	uint64_t produced; /* slots filled so far */
	uint64_t consumed; /* slots the caller has released */
	int held;	   /* the caller holds slots[consumed % RING] */
	int state;	   /* 0 running, 1 at the end, -1 failed */
	int stop;	   /* the caller asks the reader to quit */
	uint64_t bytes_read;
	struct dy_err rerr; /* the reader's failure */
	dy_progress_fn progress;
	void *progress_ctx;
};

uint64_t
dy_stream_bytes_read(struct dy_stream *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->mu);
	n = s->bytes_read;
	pthread_mutex_unlock(&s->mu);
	/* The metadata and trailer were read once, at open. */
	return n + s->img->trailer.meta_len + DY_TRAILER_SIZE;
}

static void
stop_reader(struct dy_stream *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->started = 0;
}

void
dy_stream_free(struct dy_stream *s)
{
	size_t i;

	if (s == NULL)
		return;
	stop_reader(s);
	ZSTD_freeDCtx(s->r.dctx);
	free(s->r.inbuf);
	for (i = 0; i < RING; i++)
		free(s->slots[i].data);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- the reader thread ---- */

/* Read [pos, pos+len) of the image into buf and hash it. */
static int
read_hashed(struct dy_stream *s, void *buf, size_t len, struct dy_err *err)
{
	struct reader_state *r = &s->r;

	if (dy_pread_full(s->img->fd, buf, len, (off_t)r->pos) < 0)
		return dy_errnof(err, "%s: read failed at offset %llu", s->img->path,
				 (unsigned long long)r->pos);
	dy_sha256_update(&r->hash, buf, len);
	r->pos += len;
	return 0;
}

static int
hash_stub(struct dy_stream *s, struct dy_err *err)
{
	uint64_t end = s->img->trailer.payload_off;

	while (s->r.pos < end) {
		size_t n = end - s->r.pos < READ_CHUNK ? (size_t)(end - s->r.pos) : READ_CHUNK;
		if (read_hashed(s, s->r.inbuf, n, err) < 0)
			return -1;
	}
	return 0;
}

static int
refill(struct dy_stream *s, struct dy_err *err)
{
	struct reader_state *r = &s->r;
	uint64_t end = s->img->trailer.meta_off;
	size_t n = end - r->pos < READ_CHUNK ? (size_t)(end - r->pos) : READ_CHUNK;

	if (read_hashed(s, r->inbuf, n, err) < 0)
		return -1;
	r->in.src = r->inbuf;
	r->in.size = n;
	r->in.pos = 0;
	return 0;
}

/* One step of the decoder into out: 1 when the payload has ended, 0 when
 * more may follow, -1 on error. */
static int
decode_step(struct dy_stream *s, ZSTD_outBuffer *out, struct dy_err *err)
{
	const struct dy_trailer *t = &s->img->trailer;
	struct reader_state *r = &s->r;
	size_t ret;

	if (r->in.pos == r->in.size) {
		if (r->pos == t->meta_off) {
			if (r->frame_open)
				return dy_errf(err,
					       "%s: payload ends inside a zstd frame "
					       "(truncated or corrupt)",
					       s->img->path);
			return 1;
		}
		if (refill(s, err) < 0)
			return -1;
	}
	ret = ZSTD_decompressStream(r->dctx, out, &r->in);
	if (ZSTD_isError(ret) && ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge)
		return dy_errf(err,
			       "%s: payload is not valid zstd data: it needs more memory "
			       "than the 2^%u-byte window the trailer declares",
			       s->img->path, t->window_log);
	if (ZSTD_isError(ret))
		return dy_errf(err, "%s: payload is not valid zstd data (corrupt): %s",
			       s->img->path, ZSTD_getErrorName(ret));
	r->frame_open = ret != 0;
	if (out->pos > t->tar_len - r->tar_out)
		return dy_errf(err,
			       "%s: payload decompresses to more than the %llu bytes "
			       "the trailer declares",
			       s->img->path, (unsigned long long)t->tar_len);
	return 0;
}

/* Decompress into one slot until it is full, the payload ends or an error
 * stops it (what came before the error is still handed out): the last
 * decode_step result. */
static int
fill_slot(struct dy_stream *s, struct slot *slot, struct dy_err *err)
{
	ZSTD_outBuffer out = { slot->data, OUT_CHUNK, 0 };
	size_t good = 0;
	int rc = 0;

	while (rc == 0 && out.pos < out.size) {
		rc = decode_step(s, &out, err);
		if (rc >= 0)
			good = out.pos;
	}
	s->r.tar_out += good;
	slot->len = good;
	slot->file_pos = s->r.pos;
	return rc;
}

/* Wait for a free slot: its index, or -1 when asked to stop. */
static int
wait_free_slot(struct dy_stream *s)
{
	int idx;

	pthread_mutex_lock(&s->mu);
	while (!s->stop && s->produced - s->consumed >= RING)
		pthread_cond_wait(&s->cv, &s->mu);
	idx = s->stop ? -1 : (int)(s->produced % RING);
	pthread_mutex_unlock(&s->mu);
	return idx;
}

static void
publish(struct dy_stream *s, int has_data, int state)
{
	pthread_mutex_lock(&s->mu);
	if (has_data)
		s->produced++;
	s->bytes_read = s->r.pos;
	s->state = state;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void *
reader_main(void *arg)
{
	struct dy_stream *s = arg;
	struct dy_err err;
	int idx, rc;

	if (hash_stub(s, &err) < 0)
		goto fail;
	for (;;) {
		idx = wait_free_slot(s);
		if (idx < 0)
			return NULL;
		rc = fill_slot(s, &s->slots[idx], &err);
		if (rc < 0)
			s->rerr = err; /* read by the caller only after state -1 */
		publish(s, s->slots[idx].len > 0, rc);
		if (rc != 0)
			return NULL;
	}
fail:
	s->rerr = err;
	publish(s, 0, -1);
	return NULL;
}

/* ---- the caller's side ---- */

static int
start_reader(struct dy_stream *s, struct dy_err *err)
{
	sigset_t all, old;
	int rc;

	/* Signals go to the caller's thread, as in a single-threaded program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->thread, NULL, reader_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return dy_errnof(err, "cannot start the reader thread");
	}
	s->started = 1;
	return 0;
}

int
dy_stream_begin(struct dy_image *img, struct dy_stream **out, dy_progress_fn progress,
		void *progress_ctx, struct dy_err *err)
{
	struct dy_stream *s;
	size_t i;

	*out = NULL;
	img->digest_ok = 0; /* until this pass says otherwise */
	img->digest_checked = 0;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return dy_errf(err, "out of memory");
	s->img = img;
	s->progress = progress;
	s->progress_ctx = progress_ctx;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->r.inbuf = malloc(READ_CHUNK);
	s->r.dctx = ZSTD_createDCtx();
	for (i = 0; i < RING; i++)
		s->slots[i].data = malloc(OUT_CHUNK);
	for (i = 0; i < RING && s->slots[i].data; i++)
		;
	if (s->r.inbuf == NULL || s->r.dctx == NULL || i < RING) {
		dy_stream_free(s);
		return dy_errf(err, "out of memory");
	}
	/* Bound the decoder's memory by the window the trailer declares
	 * (itself capped at 2^27): a payload needing more is refused. */
	ZSTD_DCtx_setParameter(s->r.dctx, ZSTD_d_windowLogMax, img->trailer.window_log);
	dy_sha256_init(&s->r.hash);
	if (start_reader(s, err) < 0) {
		dy_stream_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

ssize_t
dy_stream_read(struct dy_stream *s, const void **buf, struct dy_err *err)
{
	struct slot *slot;

	pthread_mutex_lock(&s->mu);
	if (s->held) {
		s->held = 0;
		s->consumed++;
		pthread_cond_broadcast(&s->cv);
	}
	while (s->consumed == s->produced && s->state == 0)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->consumed == s->produced) {
		/* Everything before a failure has been handed out first, so
		 * errors surface where a single pass would meet them. */
		int state = s->state;
		pthread_mutex_unlock(&s->mu);
		if (state < 0)
			return dy_errf(err, "%s", s->rerr.msg);
		return 0;
	}
	slot = &s->slots[s->consumed % RING];
	s->held = 1;
	pthread_mutex_unlock(&s->mu);
	if (s->progress)
		s->progress(s->progress_ctx, slot->file_pos, s->img->size);
	*buf = slot->data;
	return (ssize_t)slot->len;
}

/* The one message for a file whose digest does not match, whatever the
 * first symptom was (without the file name it may repeat). */
static int
corrupt(const struct dy_image *img, const uint8_t got[DY_SHA256_LEN],
	const uint8_t want[DY_SHA256_LEN], const char *symptom, struct dy_err *err)
{
	char want_hex[DY_SHA256_HEX], got_hex[DY_SHA256_HEX], first[DY_ERR_MAX];
	size_t n = strlen(img->path);

	dy_hex_encode(want, DY_SHA256_LEN, want_hex);
	dy_hex_encode(got, DY_SHA256_LEN, got_hex);
	if (symptom == NULL)
		return dy_errf(err, "%s: " DY_CORRUPT ": SHA-256 is %s, trailer expects %s",
			       img->path, got_hex, want_hex);
	if (strncmp(symptom, img->path, n) == 0 && strncmp(symptom + n, ": ", 2) == 0)
		symptom += n + 2;
	snprintf(first, sizeof(first), "%s", symptom);
	return dy_errf(err,
		       "%s: " DY_CORRUPT ": SHA-256 is %s, trailer expects %s (first symptom: %s)",
		       img->path, got_hex, want_hex, first);
}

/*
 * Finish both digests of one pass: the signed digest stops where the
 * signature area starts, the whole-file digest goes on to the digest field.
 */
static int
compare_digest(struct dy_image *img, struct dy_sha256 *h, struct dy_err *err)
{
	uint8_t got[DY_SHA256_LEN];
	struct dy_sha256 upto_sig;

	img->digest_ok = 0;
	img->digest_checked = 1;
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
	return corrupt(img, got, img->trailer.digest, NULL, err);
}

int
dy_image_finish_digest(struct dy_image *img, struct dy_sha256 *h, struct dy_err *err)
{
	return compare_digest(img, h, err);
}

/* SHA-256 of the file's first end bytes into h: 0, or -1 on a read error. */
static int
hash_range(const struct dy_image *img, uint64_t end, struct dy_sha256 *h, struct dy_err *err)
{
	unsigned char *buf = malloc(READ_CHUNK);
	uint64_t pos = 0;

	dy_sha256_init(h);
	if (buf == NULL)
		return dy_errf(err, "out of memory");
	while (pos < end) {
		size_t n = end - pos < READ_CHUNK ? (size_t)(end - pos) : READ_CHUNK;
		if (dy_pread_full(img->fd, buf, n, (off_t)pos) < 0) {
			free(buf);
			return dy_errnof(err, "%s: read failed at offset %llu", img->path,
					 (unsigned long long)pos);
		}
		dy_sha256_update(h, buf, n);
		pos += n;
	}
	free(buf);
	return 0;
}

/*
 * The digest field is the file's last 32 bytes and covers every byte
 * before it, so it can be checked without trusting any other trailer
 * field: that is what lets a failure found before or during a pass be
 * told apart from a damaged file.
 */
int
dy_image_explain(struct dy_image *img, struct dy_err *err)
{
	uint8_t got[DY_SHA256_LEN], want[DY_SHA256_LEN];
	struct dy_sha256 h;
	struct dy_err io;
	uint64_t end;

	if (img->fd < 0 || img->size < DY_SHA256_LEN)
		return -1;
	end = img->size - DY_SHA256_LEN;
	if (hash_range(img, end, &h, &io) < 0 ||
	    dy_pread_full(img->fd, want, DY_SHA256_LEN, (off_t)end) < 0) {
		dy_sha256_final(&h, got);
		return -1; /* the file cannot be read: the first symptom stands */
	}
	dy_sha256_final(&h, got);
	if (dy_digest_equal(got, want, DY_SHA256_LEN))
		return -1;
	return corrupt(img, got, want, err->msg, err);
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
	stop_reader(s); /* it has ended: its state is the caller's now */
	/* The digest first: a damaged file is reported as one, whatever
	 * else about it is wrong. */
	if (compare_digest(s->img, &s->r.hash, err) < 0)
		return -1;
	if (s->r.tar_out != s->img->trailer.tar_len)
		return dy_errf(err, "%s: payload decompresses to %llu bytes, trailer declares %llu",
			       s->img->path, (unsigned long long)s->r.tar_out,
			       (unsigned long long)s->img->trailer.tar_len);
	return 0;
}

int
dy_image_check_digest(struct dy_image *img, struct dy_err *err)
{
	struct dy_sha256 h;
	uint8_t scratch[DY_SHA256_LEN];

	img->digest_ok = 0;
	if (hash_range(img, img->trailer.meta_off, &h, err) < 0) {
		dy_sha256_final(&h, scratch);
		return -1;
	}
	return compare_digest(img, &h, err);
}
