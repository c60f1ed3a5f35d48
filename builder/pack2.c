/* SPDX-License-Identifier: Apache-2.0 */
#include "pack2.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

/* Files smaller than this neither get nor serve as a prefix: the trials
 * would cost more than they could save. */
#define MIN_REF_SIZE (64u << 10)
/* The level the prefix trials run at: fast, and ranks prefixes the way
 * the final level does closely enough. */
#define TRIAL_LEVEL 1
/* A further prefix file must save at least 1/GAIN_DIV of the frame, and
 * 1/COST_DIV of its own size: the compressor indexes every byte of a
 * prefix, which at high levels costs about as much as compressing it. */
#define GAIN_DIV 200
#define COST_DIV 128

struct src {
	const unsigned char *data; /* mapped source, size bytes */
	uint64_t size;
};

struct packer {
	const struct dy_pack2_opts *o;
	struct dy_meta *m;
	struct src *src; /* per frame */
	struct dy_pack2_out *out;
	pthread_mutex_t mu;
	size_t *order; /* frames by size, largest first: the compression queue */
	size_t next;
	size_t ndone;
	int failed;
	struct dy_err err;
};

static int
ceil_log2(uint64_t v)
{
	int l = 0;

	while (l < 63 && (1ull << l) < v)
		l++;
	return l;
}

/* Map frame k's source and hash it into its entry. */
static int
map_source(struct packer *pk, size_t k, int fd, struct dy_err *err)
{
	struct dy_entry *e = &pk->m->entries[pk->out->fr.v[k].entry];
	struct stat st;
	struct dy_sha256 h;
	void *p;

	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != e->size)
		return dy_errf(err, "%s: changed size while being packed", e->path);
	pk->src[k].size = e->size;
	dy_sha256_init(&h);
	if (e->size > 0) {
		p = mmap(NULL, e->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			return dy_errnof(err, "%s: cannot map it", e->path);
		pk->src[k].data = p;
		dy_sha256_update(&h, p, e->size);
	}
	dy_sha256_final(&h, e->sha256);
	return 0;
}

/* The prefix of a frame with refs: the files, each padded with zeros to
 * DY_FRAMES_ALIGN (what the decoder's side-by-side mapping reads). */
static unsigned char *
build_prefix(const struct packer *pk, const uint32_t *refs, unsigned n, size_t *len)
{
	unsigned char *buf;
	uint64_t total = 0, off = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		total += dy_frames_padded(pk->src[refs[i]].size);
	*len = (size_t)total;
	buf = calloc(total ? total : 1, 1);
	for (i = 0; buf != NULL && i < n; i++) {
		memcpy(buf + off, pk->src[refs[i]].data, pk->src[refs[i]].size);
		off += dy_frames_padded(pk->src[refs[i]].size);
	}
	return buf;
}

static int
window_for(const struct packer *pk, size_t prelen, uint64_t size)
{
	int wl = ceil_log2((uint64_t)prelen + size);

	if (wl < DY_WINDOW_LOG_MIN)
		wl = DY_WINDOW_LOG_MIN;
	return wl > pk->o->window_log_max ? pk->o->window_log_max : wl;
}

/* Compress frame k with prefix files refs at level into a new buffer:
 * its length, or 0 with err set. */
static size_t
compress_frame(const struct packer *pk, size_t k, const uint32_t *refs, unsigned n, int level,
	       unsigned char **out, struct dy_err *err)
{
	const struct src *s = &pk->src[k];
	size_t prelen, cap = ZSTD_compressBound(s->size), r = 0;
	unsigned char *pre = build_prefix(pk, refs, n, &prelen);
	ZSTD_CCtx *c = ZSTD_createCCtx();

	*out = malloc(cap);
	if (pre == NULL || c == NULL || *out == NULL)
		r = (size_t)-ZSTD_error_memory_allocation;
	if (r == 0)
		r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_for(pk, prelen, s->size));
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c, ZSTD_c_enableLongDistanceMatching, 1);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(r) && prelen > 0)
		r = ZSTD_CCtx_refPrefix(c, pre, prelen); /* raw content */
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(c, *out, cap, s->data, s->size);
	ZSTD_freeCCtx(c);
	free(pre);
	if (!ZSTD_isError(r))
		return r;
	free(*out);
	*out = NULL;
	dy_errf(err, "zstd compression of %s failed: %s",
		pk->m->entries[pk->out->fr.v[k].entry].path, ZSTD_getErrorName(r));
	return 0;
}

static size_t
trial(const struct packer *pk, size_t k, const uint32_t *refs, unsigned n, struct dy_err *err)
{
	unsigned char *buf;
	size_t len = compress_frame(pk, k, refs, n, TRIAL_LEVEL, &buf, err);

	free(buf);
	return len;
}

/* One more prefix file for frame k, tried after those chosen: the
 * earliest that gives the smallest frame, or 0 when none saves enough. */
static int
add_best_ref(struct packer *pk, size_t k, size_t *best, struct dy_err *err)
{
	struct dy_frame *fr = &pk->out->fr.v[k];
	uint32_t refs[DY_FRAMES_MAX_REFS];
	size_t j, len, pick = (size_t)-1, limit = *best - *best / GAIN_DIV, gain = 0;
	unsigned i;

	memcpy(refs, fr->ref, sizeof(refs));
	for (j = 0; j < k; j++) {
		for (i = 0; i < fr->nref && fr->ref[i] != j; i++)
			;
		if (i < fr->nref || pk->src[j].size < MIN_REF_SIZE)
			continue;
		refs[fr->nref] = (uint32_t)j;
		len = trial(pk, k, refs, fr->nref + 1, err);
		if (len == 0)
			return -1;
		if (len<limit && * best - len >= pk->src[j].size / COST_DIV && * best - len> gain) {
			gain = *best - len;
			pick = j;
		}
	}
	if (pick == (size_t)-1)
		return 0;
	fr->ref[fr->nref++] = (uint32_t)pick;
	*best -= gain;
	return 1;
}

/* Greedy and deterministic: no prefix, then one file at a time. */
static int
choose_refs(struct packer *pk, size_t k, struct dy_err *err)
{
	size_t best;
	int rc = 1;

	if (pk->src[k].size < MIN_REF_SIZE)
		return 0;
	best = trial(pk, k, NULL, 0, err);
	if (best == 0)
		return -1;
	while (rc == 1 && pk->out->fr.v[k].nref < DY_FRAMES_MAX_REFS)
		rc = add_best_ref(pk, k, &best, err);
	return rc < 0 ? -1 : 0;
}

static long
take_job(struct packer *pk)
{
	long k = -1;

	pthread_mutex_lock(&pk->mu);
	if (!pk->failed && pk->next < pk->out->fr.n)
		k = (long)pk->order[pk->next++];
	pthread_mutex_unlock(&pk->mu);
	return k;
}

static void *
compress_main(void *arg)
{
	struct packer *pk = arg;
	struct dy_frame *fr;
	struct dy_err err;
	size_t len;
	long k;

	while ((k = take_job(pk)) >= 0) {
		fr = &pk->out->fr.v[k];
		len = 0;
		/* Each frame's prefixes depend on the sources only: chosen
		 * here, in parallel, the result is the same in any order. */
		if (pk->src[k].size > 0 && choose_refs(pk, (size_t)k, &err) == 0)
			len = compress_frame(pk, (size_t)k, fr->ref, fr->nref, pk->o->level,
					     &pk->out->frame[k], &err);
		pthread_mutex_lock(&pk->mu);
		fr->len = len;
		if (len == 0 && pk->src[k].size > 0 && !pk->failed) {
			pk->failed = 1;
			pk->err = err;
		}
		pk->ndone++;
		pthread_mutex_unlock(&pk->mu);
		if (pk->o->progress)
			pk->o->progress(pk->o->progress_ctx, pk->ndone, pk->out->fr.n);
	}
	return NULL;
}

static int
by_size_desc(const void *a, const void *b, void *ctx)
{
	const struct src *s = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (s[x].size != s[y].size)
		return s[x].size < s[y].size ? 1 : -1;
	return x < y ? -1 : x > y;
}

static int
compress_all(struct packer *pk, struct dy_err *err)
{
	pthread_t th[64];
	int n = pk->o->threads > 64 ? 64 : pk->o->threads, i, started = 0;
	size_t k;

	for (k = 0; k < pk->out->fr.n; k++)
		pk->order[k] = k;
	qsort_r(pk->order, pk->out->fr.n, sizeof(*pk->order), by_size_desc, pk->src);
	for (i = 0; i < n; i++)
		if (pthread_create(&th[started], NULL, compress_main, pk) == 0)
			started++;
	if (started == 0)
		compress_main(pk);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (pk->failed) {
		*err = pk->err;
		return -1;
	}
	return 0;
}

/* The index, the totals and the largest window, once every frame is made. */
static int
finish(struct packer *pk, struct dy_err *err)
{
	struct dy_pack2_out *out = pk->out;
	size_t k;

	out->index = malloc(out->fr.index_len);
	if (out->index == NULL)
		return dy_errf(err, "out of memory");
	dy_frames_encode(&out->fr, out->index);
	out->window_log = DY_WINDOW_LOG_MIN;
	for (k = 0; k < out->fr.n; k++) {
		const struct dy_frame *fr = &out->fr.v[k];
		size_t prelen = 0;
		unsigned i;
		int wl;
		for (i = 0; i < fr->nref; i++)
			prelen += dy_frames_padded(pk->src[fr->ref[i]].size);
		wl = window_for(pk, prelen, pk->src[k].size);
		if (pk->src[k].size > 0 && wl > out->window_log)
			out->window_log = wl;
		out->content_len += pk->src[k].size;
	}
	return 0;
}

static int
run(struct packer *pk, const int *fds, struct dy_err *err)
{
	size_t k;

	for (k = 0; k < pk->out->fr.n; k++)
		if (map_source(pk, k, fds[pk->out->fr.v[k].entry], err) < 0)
			return -1;
	if (compress_all(pk, err) < 0)
		return -1;
	return finish(pk, err);
}

int
dy_pack2(struct dy_meta *m, const int *fds, const struct dy_pack2_opts *o, struct dy_pack2_out *out,
	 struct dy_err *err)
{
	struct packer pk;
	size_t k;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&pk, 0, sizeof(pk));
	pk.o = o;
	pk.m = m;
	pk.out = out;
	if (dy_frames_init(&out->fr, m, err) < 0)
		return -1;
	pk.src = calloc(out->fr.n + 1, sizeof(*pk.src));
	pk.order = calloc(out->fr.n + 1, sizeof(*pk.order));
	out->frame = calloc(out->fr.n + 1, sizeof(*out->frame));
	if (pk.src == NULL || pk.order == NULL || out->frame == NULL)
		rc = dy_errf(err, "out of memory");
	else {
		pthread_mutex_init(&pk.mu, NULL);
		rc = run(&pk, fds, err);
		pthread_mutex_destroy(&pk.mu);
	}
	for (k = 0; pk.src != NULL && k < out->fr.n; k++)
		if (pk.src[k].data != NULL)
			munmap((void *)pk.src[k].data, pk.src[k].size);
	free(pk.src);
	free(pk.order);
	return rc;
}

void
dy_pack2_free(struct dy_pack2_out *out)
{
	size_t k;

	for (k = 0; out->frame != NULL && k < out->fr.n; k++)
		free(out->frame[k]);
	free(out->frame);
	free(out->index);
	dy_frames_free(&out->fr);
	memset(out, 0, sizeof(*out));
}
