/* SPDX-License-Identifier: Apache-2.0 */
#include "pack2.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* a prefix digested once: ZSTD_createCDict_advanced2 */
#include <zstd.h>
#include <zstd_errors.h>

/* Files smaller than this neither get nor serve as a prefix: the trials
 * would cost more than they could save. */
#define MIN_REF_SIZE (64u << 10)
/* The level the prefix trials run at: fast, and ranks prefixes the way
 * the final level does closely enough. */
#define TRIAL_LEVEL 1
/* A prefix must save at least 1/GAIN_DIV of the frame, and 1/COST_DIV of
 * its own size: the compressor digests every byte of a prefix, which at
 * high levels costs about as much as compressing it. */
#define GAIN_DIV 200
#define COST_DIV 128
#define NO_REF ((size_t)-1)
/* The weakest zstd strategy at which a prefix is digested once. */
#define DIGEST_STRATEGY ZSTD_btlazy2

struct src {
	const unsigned char *data; /* mapped source, size bytes */
	uint64_t size;
};

/* A file that serves as a prefix, digested once for every frame that
 * takes it: its padded copy and the zstd dictionary made of it. */
struct digest {
	unsigned char *pre;
	size_t len;
	ZSTD_CDict *cd;
	int wanted, done;
};

/* A unit of the compression pass: digest file k, or compress frame k. */
struct task {
	size_t k;
	int digest;
	int taken;
};

struct packer {
	const struct dy_pack2_opts *o;
	struct dy_meta *m;
	struct src *src;     /* per frame */
	struct digest *dig;  /* per frame */
	struct task *task;   /* digests, then frames by size, largest first */
	size_t ntask, ndone; /* frames done, for progress */
	struct dy_pack2_out *out;
	pthread_mutex_t mu;
	pthread_cond_t cv;
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

static const char *
path_of(const struct packer *pk, size_t k)
{
	return pk->m->entries[pk->out->fr.v[k].entry].path;
}

/* The prefix made of file r: the file padded with zeros to
 * DY_FRAMES_ALIGN (what the decoder's side-by-side mapping reads). */
static unsigned char *
build_prefix(const struct packer *pk, size_t r, size_t *len)
{
	unsigned char *buf;

	*len = (size_t)dy_frames_padded(pk->src[r].size);
	buf = calloc(*len ? *len : 1, 1);
	if (buf != NULL)
		memcpy(buf, pk->src[r].data, pk->src[r].size);
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

/* Level, window, long mode and checksum: the same for every frame, its
 * trials and its digested prefix. */
static size_t
set_params(ZSTD_CCtx_params *p, int level, int wl)
{
	size_t r = ZSTD_CCtxParams_setParameter(p, ZSTD_c_compressionLevel, level);

	if (!ZSTD_isError(r))
		r = ZSTD_CCtxParams_setParameter(p, ZSTD_c_windowLog, wl);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtxParams_setParameter(p, ZSTD_c_enableLongDistanceMatching, 1);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtxParams_setParameter(p, ZSTD_c_checksumFlag, 1);
	return r;
}

/* Compress src into a new buffer with a prefix: raw (pre) or digested
 * (cd), or none.  Its length, or a zstd error code. */
static size_t
compress_with(const struct src *s, int level, int wl, const void *pre, size_t prelen,
	      const ZSTD_CDict *cd, unsigned char **out)
{
	size_t cap = ZSTD_compressBound(s->size), r;
	ZSTD_CCtx_params *p = ZSTD_createCCtxParams();
	ZSTD_CCtx *c = ZSTD_createCCtx();

	*out = malloc(cap);
	r = p && c && *out ? set_params(p, level, wl) : (size_t)-ZSTD_error_memory_allocation;
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParametersUsingCCtxParams(c, p);
	if (!ZSTD_isError(r) && cd != NULL)
		r = ZSTD_CCtx_refCDict(c, cd);
	else if (!ZSTD_isError(r) && prelen > 0)
		r = ZSTD_CCtx_refPrefix(c, pre, prelen); /* raw content */
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(c, *out, cap, s->data, s->size);
	ZSTD_freeCCtx(c);
	ZSTD_freeCCtxParams(p);
	if (ZSTD_isError(r)) {
		free(*out);
		*out = NULL;
	}
	return r;
}

/* The length of frame k at the trial level with file r (or NO_REF) as
 * its prefix; 0 with err set on failure. */
static size_t
trial(const struct packer *pk, size_t k, size_t r, struct dy_err *err)
{
	unsigned char *pre = NULL, *buf = NULL;
	size_t prelen = 0, len = (size_t)-ZSTD_error_memory_allocation;

	if (r == NO_REF || (pre = build_prefix(pk, r, &prelen)) != NULL)
		len = compress_with(&pk->src[k], TRIAL_LEVEL,
				    window_for(pk, prelen, pk->src[k].size), pre, prelen, NULL,
				    &buf);
	free(pre);
	free(buf);
	if (!ZSTD_isError(len))
		return len;
	dy_errf(err, "zstd compression of %s failed: %s", path_of(pk, k), ZSTD_getErrorName(len));
	return 0;
}

/* The trials of one frame, run side by side: cand[i] as prefix (NO_REF:
 * none) gives len[i]. */
struct trials {
	const struct packer *pk;
	size_t k, n, next;
	size_t *cand, *len;
	pthread_mutex_t mu;
	int failed;
	struct dy_err err;
};

static void *
trials_main(void *arg)
{
	struct trials *t = arg;
	struct dy_err err = { 0 };
	size_t i, len;

	for (;;) {
		pthread_mutex_lock(&t->mu);
		i = t->failed ? t->n : t->next++;
		pthread_mutex_unlock(&t->mu);
		if (i >= t->n)
			return NULL;
		len = trial(t->pk, t->k, t->cand[i], &err);
		pthread_mutex_lock(&t->mu);
		t->len[i] = len;
		if (len == 0 && !t->failed) {
			t->failed = 1;
			t->err = err;
		}
		pthread_mutex_unlock(&t->mu);
	}
}

/* Run fn(arg) on n threads (at most 64) and wait for them all; on the
 * caller's thread when none can start. */
static void
run_threads(void *(*fn)(void *), void *arg, int n)
{
	pthread_t th[64];
	int i, started = 0;

	for (i = 0; i < n && i < 64; i++)
		if (pthread_create(&th[started], NULL, fn, arg) == 0)
			started++;
	if (started == 0)
		fn(arg);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

static int
run_trials(const struct packer *pk, struct trials *t, struct dy_err *err)
{
	pthread_mutex_init(&t->mu, NULL);
	run_threads(trials_main, t, (size_t)pk->o->threads < t->n ? pk->o->threads : (int)t->n);
	pthread_mutex_destroy(&t->mu);
	if (t->failed)
		*err = t->err;
	return t->failed ? -1 : 0;
}

/* Digesting a prefix once for all its frames pays at the levels whose
 * match finder is a binary tree: there, indexing a prefix costs about as
 * much as compressing it.  Below, each frame loads its prefix itself:
 * cheap there, and zstd's long mode (which a digested prefix does not
 * feed) then finds most of what the frame takes from it. */
static int
digest_pays(int level)
{
	return ZSTD_getCParams(level, 0, 0).strategy >= DIGEST_STRATEGY;
}

/* The candidates for frame k's prefix: no prefix, then every earlier
 * file large enough that takes no prefix itself (so a frame never waits
 * for more than one file, and each prefix file is digested once). */
static size_t
candidates(const struct packer *pk, size_t k, size_t *cand)
{
	size_t j, n = 0;

	cand[n++] = NO_REF;
	for (j = 0; j < k; j++)
		if (pk->src[j].size >= MIN_REF_SIZE && pk->out->fr.v[j].nref == 0)
			cand[n++] = j;
	return n;
}

/* The candidate that gives the smallest frame, the earliest on a tie, if
 * it saves enough; else none. */
static size_t
best_candidate(const struct packer *pk, const struct trials *t)
{
	size_t i, best = t->len[0], limit = best - best / GAIN_DIV, gain = 0, pick = NO_REF;

	for (i = 1; i < t->n; i++) {
		size_t len = t->len[i], r = t->cand[i];
		if (len < limit && best - len >= pk->src[r].size / COST_DIV && best - len > gain) {
			gain = best - len;
			pick = r;
		}
	}
	return pick;
}

/* Frame k's prefix: deterministic, from the sources and the choices of
 * the frames before it only. */
static int
choose_ref(struct packer *pk, size_t k, struct dy_err *err)
{
	struct trials t;
	size_t pick;
	int rc;

	if (pk->src[k].size < MIN_REF_SIZE)
		return 0;
	memset(&t, 0, sizeof(t));
	t.pk = pk;
	t.k = k;
	t.cand = calloc(k + 1, sizeof(*t.cand));
	t.len = calloc(k + 1, sizeof(*t.len));
	if (t.cand == NULL || t.len == NULL)
		rc = dy_errf(err, "out of memory");
	else {
		t.n = candidates(pk, k, t.cand);
		rc = t.n > 1 ? run_trials(pk, &t, err) : 0;
	}
	if (rc == 0 && t.n > 1 && (pick = best_candidate(pk, &t)) != NO_REF) {
		pk->out->fr.v[k].ref[0] = (uint32_t)pick;
		pk->out->fr.v[k].nref = 1;
		pk->dig[pick].wanted = digest_pays(pk->o->level);
	}
	free(t.cand);
	free(t.len);
	return rc;
}

/* Digest file k into the dictionary its takers share (raw content: the
 * same bytes as a prefix, so the decoder needs nothing new). */
static int
make_digest(struct packer *pk, size_t k, struct dy_err *err)
{
	struct digest *d = &pk->dig[k];
	ZSTD_CCtx_params *p = ZSTD_createCCtxParams();
	size_t r = (size_t)-ZSTD_error_memory_allocation;

	d->pre = build_prefix(pk, k, &d->len);
	if (p != NULL && d->pre != NULL)
		r = set_params(p, pk->o->level, pk->o->window_log_max);
	if (!ZSTD_isError(r)) {
		d->cd = ZSTD_createCDict_advanced2(d->pre, d->len, ZSTD_dlm_byRef,
						   ZSTD_dct_rawContent, p, ZSTD_defaultCMem);
		if (d->cd == NULL)
			r = (size_t)-ZSTD_error_memory_allocation;
	}
	ZSTD_freeCCtxParams(p);
	if (!ZSTD_isError(r))
		return 0;
	return dy_errf(err, "zstd cannot digest %s as a prefix: %s", path_of(pk, k),
		       ZSTD_getErrorName(r));
}

/* Compress frame k at the build's level with its prefix: digested when
 * digest_pays, else loaded by this frame alone. */
static size_t
compress_frame(struct packer *pk, size_t k, struct dy_err *err)
{
	const struct dy_frame *fr = &pk->out->fr.v[k];
	const struct digest *d = fr->nref ? &pk->dig[fr->ref[0]] : NULL;
	unsigned char *pre = NULL;
	size_t prelen = 0, r = 0;

	if (d != NULL && d->cd != NULL)
		prelen = d->len;
	else if (d != NULL && (pre = build_prefix(pk, fr->ref[0], &prelen)) == NULL)
		r = (size_t)-ZSTD_error_memory_allocation;
	if (r == 0)
		r = compress_with(&pk->src[k], pk->o->level,
				  window_for(pk, prelen, pk->src[k].size), pre, prelen,
				  d ? d->cd : NULL, &pk->out->frame[k]);
	free(pre);
	if (!ZSTD_isError(r))
		return r;
	dy_errf(err, "zstd compression of %s failed: %s", path_of(pk, k), ZSTD_getErrorName(r));
	return 0;
}

static int
task_ready(const struct packer *pk, const struct task *t)
{
	const struct dy_frame *fr = &pk->out->fr.v[t->k];

	return t->digest || fr->nref == 0 || !pk->dig[fr->ref[0]].wanted ||
	       pk->dig[fr->ref[0]].done;
}

/* The first task not taken that can run now; waits while every task
 * left waits for a digest.  NULL when none is left or one failed. */
static struct task *
take_task(struct packer *pk)
{
	struct task *t = NULL;
	size_t i, left;

	pthread_mutex_lock(&pk->mu);
	while (t == NULL && !pk->failed) {
		for (i = 0, left = 0; i < pk->ntask && t == NULL; i++) {
			left += !pk->task[i].taken;
			if (!pk->task[i].taken && task_ready(pk, &pk->task[i]))
				t = &pk->task[i];
		}
		if (t != NULL)
			t->taken = 1;
		else if (left == 0)
			break;
		else
			pthread_cond_wait(&pk->cv, &pk->mu);
	}
	pthread_mutex_unlock(&pk->mu);
	return t;
}

static void
finish_task(struct packer *pk, const struct task *t, int rc, const struct dy_err *err)
{
	size_t done;

	pthread_mutex_lock(&pk->mu);
	if (rc < 0 && !pk->failed) {
		pk->failed = 1;
		pk->err = *err;
	}
	if (t->digest)
		pk->dig[t->k].done = 1;
	done = t->digest ? 0 : ++pk->ndone;
	pthread_cond_broadcast(&pk->cv);
	pthread_mutex_unlock(&pk->mu);
	if (done && pk->o->progress)
		pk->o->progress(pk->o->progress_ctx, done, pk->out->fr.n);
}

/* One task: 0, or -1 with err set. */
static int
run_task(struct packer *pk, const struct task *t, struct dy_err *err)
{
	struct dy_frame *fr = &pk->out->fr.v[t->k];

	if (t->digest)
		return make_digest(pk, t->k, err);
	fr->len = pk->src[t->k].size > 0 ? compress_frame(pk, t->k, err) : 0;
	return fr->len == 0 && pk->src[t->k].size > 0 ? -1 : 0;
}

static void *
compress_main(void *arg)
{
	struct packer *pk = arg;
	struct dy_err err = { 0 };
	struct task *t;

	while ((t = take_task(pk)) != NULL)
		finish_task(pk, t, run_task(pk, t, &err), &err);
	return NULL;
}

static int
by_size_desc(const void *a, const void *b, void *ctx)
{
	const struct packer *pk = ctx;
	const struct task *x = a, *y = b;

	if (x->digest != y->digest)
		return x->digest ? -1 : 1;
	if (pk->src[x->k].size != pk->src[y->k].size)
		return pk->src[x->k].size < pk->src[y->k].size ? 1 : -1;
	return x->k < y->k ? -1 : x->k > y->k;
}

/* The tasks: every wanted digest, then every frame; digests first (the
 * frames that take them wait), then largest first. */
static void
plan_tasks(struct packer *pk)
{
	size_t k;

	pk->ntask = 0;
	for (k = 0; k < pk->out->fr.n; k++)
		if (pk->dig[k].wanted)
			pk->task[pk->ntask++] = (struct task){ k, 1, 0 };
	for (k = 0; k < pk->out->fr.n; k++)
		pk->task[pk->ntask++] = (struct task){ k, 0, 0 };
	qsort_r(pk->task, pk->ntask, sizeof(*pk->task), by_size_desc, pk);
}

static int
compress_all(struct packer *pk, struct dy_err *err)
{
	plan_tasks(pk);
	run_threads(compress_main, pk, pk->o->threads);
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
	/* In file order: a frame's candidates are the earlier files that
	 * took no prefix.  Each frame's trials run side by side. */
	for (k = 0; k < pk->out->fr.n; k++)
		if (choose_ref(pk, k, err) < 0)
			return -1;
	if (compress_all(pk, err) < 0)
		return -1;
	return finish(pk, err);
}

static void
packer_free(struct packer *pk)
{
	size_t k;

	for (k = 0; pk->src != NULL && k < pk->out->fr.n; k++)
		if (pk->src[k].data != NULL)
			munmap((void *)pk->src[k].data, pk->src[k].size);
	for (k = 0; pk->dig != NULL && k < pk->out->fr.n; k++) {
		ZSTD_freeCDict(pk->dig[k].cd);
		free(pk->dig[k].pre);
	}
	free(pk->src);
	free(pk->dig);
	free(pk->task);
}

int
dy_pack2(struct dy_meta *m, const int *fds, const struct dy_pack2_opts *o, struct dy_pack2_out *out,
	 struct dy_err *err)
{
	struct packer pk;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&pk, 0, sizeof(pk));
	pk.o = o;
	pk.m = m;
	pk.out = out;
	if (dy_frames_init(&out->fr, m, err) < 0)
		return -1;
	n = out->fr.n + 1;
	pk.src = calloc(n, sizeof(*pk.src));
	pk.dig = calloc(n, sizeof(*pk.dig));
	pk.task = calloc(2 * n, sizeof(*pk.task));
	out->frame = calloc(n, sizeof(*out->frame));
	if (pk.src == NULL || pk.dig == NULL || pk.task == NULL || out->frame == NULL)
		rc = dy_errf(err, "out of memory");
	else {
		pthread_mutex_init(&pk.mu, NULL);
		pthread_cond_init(&pk.cv, NULL);
		rc = run(&pk, fds, err);
		pthread_cond_destroy(&pk.cv);
		pthread_mutex_destroy(&pk.mu);
	}
	packer_free(&pk);
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
