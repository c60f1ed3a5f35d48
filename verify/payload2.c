/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pass over a version-2 payload (verify/frames.h): worker threads
 * decode the frames, each straight into its output file mapped in memory,
 * taking its prefix from the already written file it refers to, and check
 * every file's size and SHA-256 against the metadata; meanwhile the
 * caller's thread hashes the whole file once, in order.  The payload is
 * mapped, never copied: a frame's window costs page cache, not memory.
 * Failures are reported as one thread would meet them: the digest first,
 * then the failing frame that comes first in the payload.
 */
#include "payload.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader: the frame's window */
#include <zstd.h>

#include "../common/xio.h"
#include "frames.h"

#define HASH_CHUNK (1u << 20)
#define MAX_THREADS 16

/* A frame's state: a later frame may take a DECODED file as its prefix
 * while its worker still hashes it, which keeps the hashing off the
 * chain of frames that depend on each other; nothing is committed before
 * every file is CHECKED. */
enum { PENDING = 0, CHECKED = 1, DECODED = 2, FAILED = -1, SKIPPED = -2 };

struct p2 {
	struct dy_image *img;
	struct dy_frames fr;
	int dirfd;
	int writeback;
	unsigned char *map; /* the file from map_off to the metadata */
	size_t map_len;
	uint64_t map_off;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t ntaken;	  /* frames a worker has taken */
	char *taken;	  /* per frame */
	uint64_t *weight; /* per frame: its size and its longest chain of dependants */
	signed char *state;
	struct dy_err *errs;
	int stop;
	uint64_t done_len; /* payload bytes of the frames finished */
	size_t ndone;
};

static const struct dy_entry *
entry_of(const struct p2 *p, size_t k)
{
	return &p->img->meta.entries[p->fr.v[k].entry];
}

/* DOCKYARD_DECODE_THREADS=N forces N workers (1: the serial order). */
static int
threads_wanted(size_t nframes)
{
	const char *env = getenv("DOCKYARD_DECODE_THREADS");
	long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	if ((size_t)n > nframes)
		n = nframes ? (long)nframes : 1;
	return (int)n;
}

static int
map_payload(struct p2 *p, struct dy_err *err)
{
	const struct dy_trailer *t = &p->img->trailer;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	void *m;

	p->map_off = t->payload_off / page * page;
	p->map_len = (size_t)(t->meta_off - p->map_off);
	m = mmap(NULL, p->map_len, PROT_READ, MAP_SHARED, p->img->fd, (off_t)p->map_off);
	if (m == MAP_FAILED)
		return dy_errnof(err, "%s: cannot map the payload", p->img->path);
	p->map = m;
	return 0;
}

static const unsigned char *
payload_at(const struct p2 *p, uint64_t off)
{
	return p->map + (p->img->trailer.payload_off - p->map_off) + off;
}

/* Directories first, private until the end (finish_dirs). */
static int
make_dirs(struct p2 *p, struct dy_err *err)
{
	const struct dy_meta *m = &p->img->meta;
	size_t i;

	for (i = 0; i < m->nentries; i++)
		if (m->entries[i].is_dir && mkdirat(p->dirfd, m->entries[i].path, 0700) < 0)
			return dy_errnof(err, "cannot create directory %s", m->entries[i].path);
	return 0;
}

/* Modes and times last, deepest first: writing a file changes its
 * directory's mtime. */
static int
finish_dirs(struct p2 *p, struct dy_err *err)
{
	const struct dy_meta *m = &p->img->meta;
	struct timespec ts[2] = { { (time_t)m->built, 0 }, { (time_t)m->built, 0 } };
	size_t i;

	for (i = m->nentries; i-- > 0;) {
		const struct dy_entry *e = &m->entries[i];
		if (!e->is_dir)
			continue;
		if (fchmodat(p->dirfd, e->path, e->mode, 0) < 0 ||
		    utimensat(p->dirfd, e->path, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return dy_errnof(err, "cannot set mode and time of %s", e->path);
	}
	return 0;
}

/* Wait until frame ref is decoded: 0, or -1 when it failed or the pass
 * stops. */
static int
wait_ref(struct p2 *p, uint32_t ref)
{
	int st;

	pthread_mutex_lock(&p->mu);
	while (p->state[ref] == PENDING && !p->stop)
		pthread_cond_wait(&p->cv, &p->mu);
	st = p->state[ref];
	pthread_mutex_unlock(&p->mu);
	return st == CHECKED || st == DECODED ? 0 : -1;
}

static void
mark_decoded(struct p2 *p, size_t k)
{
	pthread_mutex_lock(&p->mu);
	p->state[k] = DECODED;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* The frame must be exactly one zstd frame that declares the file's size
 * and a window within the trailer's. */
static int
check_frame(const struct p2 *p, size_t k, const unsigned char *src, struct dy_err *err)
{
	const struct dy_entry *e = entry_of(p, k);
	uint64_t len = p->fr.v[k].len;
	ZSTD_frameHeader fh;
	size_t n = ZSTD_findFrameCompressedSize(src, len);

	if (ZSTD_isError(n) || n != len)
		return dy_errf(err, "%s: frame of %s is truncated or corrupt (%s)", p->img->path,
			       e->path,
			       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "not exactly one frame");
	if (ZSTD_getFrameHeader(&fh, src, len) != 0 || fh.frameType != ZSTD_frame ||
	    fh.frameContentSize != e->size)
		return dy_errf(err, "%s: frame of %s does not declare its %llu bytes", p->img->path,
			       e->path, (unsigned long long)e->size);
	if (fh.windowSize > (1ull << p->img->trailer.window_log))
		return dy_errf(err,
			       "%s: frame of %s needs a window over the 2^%u bytes the trailer "
			       "declares",
			       p->img->path, e->path, p->img->trailer.window_log);
	return 0;
}

/* Map one prefix file at its place in the reserved region. */
static int
map_one(const struct p2 *p, const struct dy_entry *re, unsigned char *at, struct dy_err *err)
{
	int fd = openat(p->dirfd, re->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	void *m;

	if (fd < 0)
		return dy_errnof(err, "cannot open %s, part of a prefix", re->path);
	m = mmap(at, re->size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return dy_errnof(err, "cannot map %s", re->path);
	return 0;
}

/*
 * The prefix of frame k: its (checked) files side by side, each at a
 * multiple of 64 KiB, in one region reserved without memory.  Past each
 * file's last page the region reads as zeros, the padding the encoder
 * used; those pages are the kernel's shared zero page, not memory.
 */
static int
map_prefix(const struct p2 *p, size_t k, unsigned char **pre, size_t *len, struct dy_err *err)
{
	const struct dy_frame *fr = &p->fr.v[k];
	uint64_t off = 0, total = 0;
	unsigned i;

	*pre = NULL;
	*len = 0;
	for (i = 0; i < fr->nref; i++)
		total += dy_frames_padded(entry_of(p, fr->ref[i])->size);
	if (total == 0)
		return 0;
	*pre = mmap(NULL, total, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*pre == MAP_FAILED) {
		*pre = NULL;
		return dy_errnof(err, "cannot reserve %llu bytes of address space",
				 (unsigned long long)total);
	}
	*len = total;
	for (i = 0; i < fr->nref; i++) {
		const struct dy_entry *re = entry_of(p, fr->ref[i]);
		if (map_one(p, re, *pre + off, err) < 0)
			return -1;
		off += dy_frames_padded(re->size);
	}
	return 0;
}

static int
check_digest(const struct p2 *p, const struct dy_entry *e, const void *out, struct dy_err *err)
{
	uint8_t got[DY_SHA256_LEN];
	char got_hex[DY_SHA256_HEX], want_hex[DY_SHA256_HEX];
	struct dy_sha256 h;

	dy_sha256_init(&h);
	dy_sha256_update(&h, out, e->size);
	dy_sha256_final(&h, got);
	if (dy_digest_equal(got, e->sha256, DY_SHA256_LEN))
		return 0;
	dy_hex_encode(got, DY_SHA256_LEN, got_hex);
	dy_hex_encode(e->sha256, DY_SHA256_LEN, want_hex);
	return dy_errf(err, "%s: payload member %s: sha256 %s, metadata expects %s", p->img->path,
		       e->path, got_hex, want_hex);
}

/* Decode frame k into out (e->size bytes) with its prefix, and check it. */
static int
decode_into(struct p2 *p, ZSTD_DCtx *dctx, size_t k, void *out, struct dy_err *err)
{
	const struct dy_entry *e = entry_of(p, k);
	const unsigned char *src = payload_at(p, p->fr.v[k].off);
	unsigned char *pre;
	size_t prelen, got;
	int rc;

	if (check_frame(p, k, src, err) < 0)
		return -1;
	rc = map_prefix(p, k, &pre, &prelen, err);
	got = 0;
	if (rc == 0) {
		ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
		got = ZSTD_DCtx_refPrefix(dctx, pre, prelen); /* raw content, by reference */
		if (!ZSTD_isError(got))
			got = ZSTD_decompressDCtx(dctx, out, e->size, src, p->fr.v[k].len);
	}
	if (pre != NULL)
		munmap(pre, prelen);
	if (rc < 0)
		return -1;
	if (ZSTD_isError(got))
		return dy_errf(err, "%s: frame of %s is not valid zstd data (corrupt): %s",
			       p->img->path, e->path, ZSTD_getErrorName(got));
	if (got != e->size)
		return dy_errf(err, "payload member %s: %zu bytes, metadata says %llu", e->path,
			       got, (unsigned long long)e->size);
	mark_decoded(p, k);
	return check_digest(p, e, out, err);
}

/* Give the file its size, decode into a shared mapping of it. */
static int
fill_file(struct p2 *p, ZSTD_DCtx *dctx, size_t k, int fd, struct dy_err *err)
{
	const struct dy_entry *e = entry_of(p, k);
	void *out;
	int rc;

	if (e->size == 0)
		return 0;
	if (ftruncate(fd, (off_t)e->size) < 0)
		return dy_errnof(err, "cannot size %s in staging", e->path);
	out = mmap(NULL, e->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (out == MAP_FAILED)
		return dy_errnof(err, "cannot map %s in staging", e->path);
	/* Fault the pages in one call rather than one fault per page (an
	 * older kernel without it takes the faults as they come). */
	(void)madvise(out, e->size, MADV_POPULATE_WRITE);
	rc = decode_into(p, dctx, k, out, err);
	munmap(out, e->size);
	return rc;
}

static int
decode_frame(struct p2 *p, ZSTD_DCtx *dctx, size_t k, struct dy_err *err)
{
	const struct dy_entry *e = entry_of(p, k);
	struct timespec ts[2] = { { (time_t)p->img->meta.built, 0 },
				  { (time_t)p->img->meta.built, 0 } };
	const struct dy_frame *fr = &p->fr.v[k];
	unsigned i;
	int fd, rc;

	/* -2: a symptom of a failure reported elsewhere. */
	for (i = 0; i < fr->nref; i++)
		if (wait_ref(p, fr->ref[i]) < 0) {
			dy_errf(err, "payload member %s: its prefix %s failed", e->path,
				entry_of(p, fr->ref[i])->path);
			return -2;
		}
	fd = openat(p->dirfd, e->path, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return dy_errnof(err, "cannot create %s in staging", e->path);
	rc = fill_file(p, dctx, k, fd, err);
	if (rc == 0 && (fchmod(fd, e->mode) < 0 || futimens(fd, ts) < 0))
		rc = dy_errnof(err, "cannot set mode and time of %s", e->path);
	/* Start writing it back now: little is left for the final sync. */
	if (rc == 0 && p->writeback)
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	close(fd);
	return rc;
}

/* Every file frame k takes as prefix is decoded (or has failed). */
static int
refs_ready(const struct p2 *p, size_t k)
{
	unsigned i;

	for (i = 0; i < p->fr.v[k].nref; i++)
		if (p->state[p->fr.v[k].ref[i]] == PENDING)
			return 0;
	return 1;
}

/* The ready frame that heads the longest chain of frames waiting for it
 * (the earliest on a tie): its index, or -1 when none is left. */
static long
pick_frame(const struct p2 *p, int *waiting)
{
	long best = -1;
	size_t k;

	*waiting = 0;
	for (k = 0; k < p->fr.n; k++) {
		if (p->taken[k])
			continue;
		if (!refs_ready(p, k))
			*waiting = 1;
		else if (best < 0 || p->weight[k] > p->weight[best])
			best = (long)k;
	}
	return best;
}

/* Take a frame to decode: its index, or -1 when none is left. */
static long
take_frame(struct p2 *p)
{
	long k = -1;
	int waiting = 0;

	pthread_mutex_lock(&p->mu);
	while (!p->stop && (k = pick_frame(p, &waiting)) < 0 && waiting)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->stop)
		k = -1;
	if (k >= 0) {
		p->taken[k] = 1;
		p->ntaken++;
	}
	pthread_mutex_unlock(&p->mu);
	return k;
}

static void
finish_frame(struct p2 *p, size_t k, int rc, const struct dy_err *err)
{
	pthread_mutex_lock(&p->mu);
	p->state[k] = rc == -2 ? SKIPPED : rc < 0 ? FAILED : CHECKED;
	if (rc < 0)
		p->errs[k] = *err; /* the others go on: the first in the payload is reported */
	p->done_len += p->fr.v[k].len;
	p->ndone++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void *
worker_main(void *arg)
{
	struct p2 *p = arg;
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	struct dy_err err;
	long k;

	while ((k = take_frame(p)) >= 0) {
		int rc = dctx ? decode_frame(p, dctx, (size_t)k, &err)
			      : dy_errf(&err, "out of memory for a zstd decoder");
		finish_frame(p, (size_t)k, rc, &err);
	}
	ZSTD_freeDCtx(dctx);
	return NULL;
}

static void
stop_all(struct p2 *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static int
start_workers(struct p2 *p, pthread_t *th, int n, int *started, struct dy_err *err)
{
	sigset_t all, old;
	int rc = 0;

	/* Signals go to the caller's thread, as in a single-threaded program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (*started = 0; *started < n; (*started)++) {
		rc = pthread_create(&th[*started], NULL, worker_main, p);
		if (rc != 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		return 0;
	errno = rc;
	return dy_errnof(err, "cannot start a decoding thread");
}

/* Every byte before the metadata into h, once, in order: the stub up to
 * the payload's mapping read, the rest from the mapping. */
static int
hash_file(struct p2 *p, struct dy_sha256 *h, dy_progress_fn progress, void *pctx,
	  struct dy_err *err)
{
	unsigned char *buf = malloc(HASH_CHUNK);
	uint64_t pos = 0, end = p->map_off;
	int rc = 0;

	dy_sha256_init(h);
	if (buf == NULL)
		return dy_errf(err, "out of memory");
	while (rc == 0 && pos < end) {
		size_t n = end - pos < HASH_CHUNK ? (size_t)(end - pos) : HASH_CHUNK;
		if (dy_pread_full(p->img->fd, buf, n, (off_t)pos) < 0)
			rc = dy_errnof(err, "%s: read failed at offset %llu", p->img->path,
				       (unsigned long long)pos);
		dy_sha256_update(h, buf, n);
		pos += n;
	}
	free(buf);
	for (pos = 0; rc == 0 && pos < p->map_len; pos += HASH_CHUNK) {
		size_t n = p->map_len - pos < HASH_CHUNK ? p->map_len - pos : HASH_CHUNK;
		dy_sha256_update(h, p->map + pos, n);
		if (progress)
			progress(pctx, (p->map_off + pos + n) / 2, p->img->size);
	}
	return rc;
}

/* Wait for the workers, reporting progress as frames finish. */
static void
wait_frames(struct p2 *p, pthread_t *th, int n, dy_progress_fn progress, void *pctx)
{
	const struct dy_trailer *t = &p->img->trailer;
	uint64_t half = t->payload_off + t->payload_len / 2;
	int i;

	pthread_mutex_lock(&p->mu);
	while (p->ndone < p->ntaken || (!p->stop && p->ntaken < p->fr.n)) {
		uint64_t at = half + p->done_len / 2;
		pthread_mutex_unlock(&p->mu);
		if (progress)
			progress(pctx, at, p->img->size);
		pthread_mutex_lock(&p->mu);
		if (p->ndone < p->ntaken || (!p->stop && p->ntaken < p->fr.n))
			pthread_cond_wait(&p->cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

/* The failure of the first frame that failed on its own, if any. */
static const struct dy_err *
first_failure(const struct p2 *p)
{
	size_t k;

	for (k = 0; k < p->fr.n; k++)
		if (p->state[k] == FAILED)
			return &p->errs[k];
	return NULL;
}

/* After the digest matched: the first frame that failed, then the totals. */
static int
conclude(struct p2 *p, struct dy_err *err)
{
	const struct dy_err *first = first_failure(p);
	uint64_t total = 0;
	size_t k;

	if (first != NULL) {
		*err = *first;
		return -1;
	}
	for (k = 0; k < p->fr.n; k++)
		total += entry_of(p, k)->size;
	if (total != p->img->trailer.tar_len)
		return dy_errf(err, "%s: payload decompresses to %llu bytes, trailer declares %llu",
			       p->img->path, (unsigned long long)total,
			       (unsigned long long)p->img->trailer.tar_len);
	return finish_dirs(p, err);
}

/* The digest is compared as soon as the file is hashed: when it differs
 * the workers stop, and the file is reported as damaged. */
static int
run_pass(struct p2 *p, const struct dy_walk_ops *ops, struct dy_err *err)
{
	dy_progress_fn progress = ops ? ops->progress : NULL;
	void *pctx = ops ? ops->progress_ctx : NULL;
	pthread_t th[MAX_THREADS];
	int n = threads_wanted(p->fr.n), started, rc, dig_rc;
	struct dy_sha256 h;
	struct dy_err derr;

	if (make_dirs(p, err) < 0)
		return -1;
	rc = start_workers(p, th, n, &started, err);
	dig_rc = hash_file(p, &h, progress, pctx, &derr);
	if (dig_rc == 0)
		dig_rc = dy_image_finish_digest(p->img, &h, &derr);
	if (rc < 0 || dig_rc < 0)
		stop_all(p);
	wait_frames(p, th, started, progress, pctx);
	if (rc < 0)
		return -1;
	if (dig_rc < 0) {
		*err = derr;
		return -1;
	}
	return conclude(p, err);
}

static void
p2_free(struct p2 *p)
{
	if (p->map != NULL)
		munmap(p->map, p->map_len);
	dy_frames_free(&p->fr);
	free(p->state);
	free(p->errs);
	free(p->taken);
	free(p->weight);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}

/* A frame's weight: its size plus the heaviest chain of frames that take
 * it as prefix.  References point back, so one backward pass suffices;
 * weight[] holds the heaviest dependant until a frame's turn comes. */
static void
set_weights(struct p2 *p)
{
	size_t k;
	unsigned i;

	for (k = p->fr.n; k-- > 0;) {
		const struct dy_frame *fr = &p->fr.v[k];
		p->weight[k] += entry_of(p, k)->size;
		for (i = 0; i < fr->nref; i++)
			if (p->weight[fr->ref[i]] < p->weight[k])
				p->weight[fr->ref[i]] = p->weight[k];
	}
}

static int
p2_setup(struct p2 *p, struct dy_image *img, int dirfd, struct dy_err *err)
{
	memset(p, 0, sizeof(*p));
	p->img = img;
	p->dirfd = dirfd;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (map_payload(p, err) < 0)
		return -1;
	if (dy_frames_decode(payload_at(p, 0), img->trailer.payload_len, &img->meta, &p->fr, err) <
	    0)
		return dy_err_wrap(err, "%s", img->path);
	p->state = calloc(p->fr.n + 1, sizeof(*p->state));
	p->errs = calloc(p->fr.n + 1, sizeof(*p->errs));
	p->taken = calloc(p->fr.n + 1, sizeof(*p->taken));
	p->weight = calloc(p->fr.n + 1, sizeof(*p->weight));
	if (p->state == NULL || p->errs == NULL || p->taken == NULL || p->weight == NULL)
		return dy_errf(err, "out of memory");
	set_weights(p);
	return 0;
}

/* A private scratch directory for a pass that keeps nothing (check). */
static int
make_scratch(char *path, size_t len, struct dy_err *err)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(path, len, "%s/dockyard-check.XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
	if (mkdtemp(path) == NULL)
		return dy_errnof(err, "cannot create a scratch directory %s", path);
	return 0;
}

static int
walk_into(struct dy_image *img, const struct dy_walk_ops *ops, int dirfd, int writeback,
	  struct dy_err *err)
{
	struct p2 p;
	int rc;

	img->digest_ok = 0;
	img->digest_checked = 0;
	rc = p2_setup(&p, img, dirfd, err);
	p.writeback = writeback;
	if (rc == 0)
		rc = run_pass(&p, ops, err);
	p2_free(&p);
	if (rc < 0 && !img->digest_checked)
		dy_image_explain(img, err);
	return rc;
}

int
dy_payload2_walk(struct dy_image *img, const struct dy_walk_ops *ops, int outdir,
		 uint64_t *bytes_read, struct dy_err *err)
{
	char scratch[4096];
	struct dy_err rm_err;
	int dirfd, rc;

	if (bytes_read)
		*bytes_read = img->size; /* every byte once: read, or mapped and hashed */
	if (outdir >= 0)
		return walk_into(img, ops, outdir, 1, err);
	if (make_scratch(scratch, sizeof(scratch), err) < 0)
		return -1;
	dirfd = open(scratch, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		rc = dy_errnof(err, "cannot open scratch directory %s", scratch);
	else
		rc = walk_into(img, ops, dirfd, 0, err);
	if (dirfd >= 0)
		close(dirfd);
	if (dy_remove_tree_at(AT_FDCWD, scratch, &rm_err) < 0 && rc == 0)
		rc = dy_errf(err, "%s", rm_err.msg);
	return rc;
}
