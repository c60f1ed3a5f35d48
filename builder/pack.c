/* SPDX-License-Identifier: Apache-2.0 */
#include "pack.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "../common/xio.h"
#include "../verify/meta.h"
#include "elf.h"
#include "pack2.h"
#include "../verify/payload.h"
#include "../verify/sig.h"
#include "../verify/trailer.h"

#define CHUNK (256u << 10)

struct source {
	const struct dy_pack_file *file;
	int fd;
};

struct writer {
	int fd;
	const char *path;
	struct dy_sha256 hash;
	uint64_t written;
	uint64_t tar_len; /* the decompressed length: the sum of the file sizes */
	int window_log;	  /* the largest window a frame declares */
	struct dy_err err;
	int failed;
};

struct job {
	const struct dy_pack_input *in;
	const struct dy_pack_opts *o;
	struct source *src;
	size_t nsrc;
	struct dy_meta meta;
	struct writer w;
	unsigned char *buf;
	char tmp[4096];
	struct dy_sig_key *key;		    /* signing key, or NULL */
	struct dy_sig_key *pub;		    /* its public half, for the self-check */
	uint8_t file_digest[DY_SHA256_LEN]; /* of the whole file, for OUT.sig */
	char sig_path[4096];
	char sig_tmp[4096];
};

static int
out_write(struct writer *w, const void *buf, size_t len)
{
	if (dy_write_full(w->fd, buf, len) < 0)
		return dy_errnof(&w->err, "cannot write %s", w->path);
	dy_sha256_update(&w->hash, buf, len);
	w->written += len;
	return 0;
}

static int
threads_wanted(int threads)
{
	long n;

	if (threads > 0)
		return threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)(n > 64 ? 64 : n) : 1;
}

static int
add_components(struct job *j, struct dy_err *err)
{
	const struct dy_pack_input *in = j->in;
	size_t i, k;

	for (i = 0; i < in->ncomponents; i++) {
		const struct dy_component *c = &in->components[i];
		if (dy_meta_add_component(&j->meta, c->name, c->version, err) < 0)
			return -1;
		for (k = 0; k < c->nattrs; k++)
			if (dy_meta_add_attr(&j->meta, c->attrs[k].key, c->attrs[k].value, err) < 0)
				return -1;
	}
	return 0;
}

/* A needs line for every dynamically linked file (after the entries are
 * final: needs refer to them by index). */
static int
add_needs(struct job *j, struct dy_err *err)
{
	const char *libs[DY_META_MAX_NEED_LIBS];
	struct dy_elf_needs *n = malloc(sizeof(*n));
	size_t i, k;
	int rc = 0;

	if (n == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; rc == 0 && i < j->nsrc; i++) {
		rc = dy_elf_needs(j->src[i].fd, j->src[i].file->label, n, err);
		/* A binary for another machine would install and then fail to run. */
		if (rc == 0 && n->is_elf && strcmp(n->arch, j->in->arch) != 0)
			rc = dy_errf(err,
				     "%s: an %s ELF file, but this installer is for %s (does the "
				     "manifest name the wrong artifact for %s?)",
				     j->src[i].file->label, n->arch, j->in->arch, j->in->arch);
		for (k = 0; rc == 0 && k < n->nlibs; k++)
			libs[k] = n->libs[k];
		if (rc == 0 && n->nlibs > 0)
			rc = dy_meta_add_need(&j->meta, j->src[i].file->dest, libs, n->nlibs, err);
	}
	free(n);
	return rc;
}

static int
open_sources(struct job *j, struct dy_err *err)
{
	const struct dy_pack_input *in = j->in;
	struct dy_entry e;
	struct stat st;
	size_t i;

	if (dy_meta_arch_valid(in->arch, err) < 0)
		return -1;
	snprintf(j->meta.arch, sizeof(j->meta.arch), "%s", in->arch);
	if (add_components(j, err) < 0)
		return -1;
	for (i = 0; i < in->nfiles; i++) {
		const struct dy_pack_file *f = &in->files[i];
		struct source *s = &j->src[j->nsrc];
		s->file = f;
		s->fd = open(f->src, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return dy_errnof(err, "%s: cannot open", f->label);
		j->nsrc++;
		if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode))
			return dy_errf(err, "%s: not a regular file", f->label);
		memset(&e, 0, sizeof(e));
		if (snprintf(e.path, sizeof(e.path), "%s", f->dest) >= (int)sizeof(e.path))
			return dy_errf(err, "%s: destination is too long", f->label);
		e.mode = f->mode;
		e.size = (uint64_t)st.st_size;
		e.component = f->component;
		if (dy_meta_add_entry(&j->meta, &e, err) < 0)
			return dy_err_wrap(err, "%s", f->label);
	}
	if (dy_meta_finish(&j->meta, err) < 0)
		return -1;
	return add_needs(j, err);
}

/* The payload of trailer version 2 (builder/pack2.h): the frame index,
 * then the frames; fills each file entry's sha256. */
static int
write_payload(struct job *j, struct dy_err *err)
{
	struct dy_pack2_opts po = { j->o->level, j->o->window_log, threads_wanted(j->o->threads),
				    j->o->progress, j->o->progress_ctx };
	struct dy_pack2_out out;
	int *fds = calloc(j->meta.nentries + 1, sizeof(*fds));
	size_t i, k;
	int rc = fds ? 0 : dy_errf(err, "out of memory");

	for (i = 0; rc == 0 && i < j->meta.nentries; i++)
		for (k = 0, fds[i] = -1; k < j->nsrc; k++)
			if (strcmp(j->src[k].file->dest, j->meta.entries[i].path) == 0)
				fds[i] = j->src[k].fd;
	if (rc == 0)
		rc = dy_pack2(&j->meta, fds, &po, &out, err);
	free(fds);
	if (rc < 0)
		return -1;
	rc = out_write(&j->w, out.index, out.fr.index_len);
	for (k = 0; rc == 0 && k < out.fr.n; k++)
		rc = out_write(&j->w, out.frame[k], out.fr.v[k].len);
	j->w.tar_len = out.content_len;
	j->w.window_log = out.window_log;
	dy_pack2_free(&out);
	return rc < 0 ? dy_errf(err, "%s", j->w.err.msg) : 0;
}

/* The stub must run where the payload does: an ELF executable for in->arch. */
static int
check_stub(struct job *j, int fd, struct dy_err *err)
{
	struct dy_elf_needs *n = malloc(sizeof(*n));
	int rc;

	if (n == NULL)
		return dy_errf(err, "out of memory");
	rc = dy_elf_needs(fd, j->o->stub_path, n, err);
	if (rc == 0 && !n->is_elf)
		rc = dy_errf(err, "installer stub %s is not an ELF executable", j->o->stub_path);
	else if (rc == 0 && strcmp(n->arch, j->in->arch) != 0)
		rc = dy_errf(err,
			     "installer stub %s is an %s executable, but this installer is for "
			     "%s: give the %s stub with --stub FILE",
			     j->o->stub_path, n->arch, j->in->arch, j->in->arch);
	free(n);
	return rc;
}

static int
copy_stub(struct job *j, struct dy_err *err)
{
	uint8_t tail[DY_TRAILER_SIZE];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(j->o->stub_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dy_errnof(err, "cannot open installer stub %s", j->o->stub_path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= DY_TRAILER_SIZE) {
		close(fd);
		return dy_errf(err, "installer stub %s is not a regular file of useful size",
			       j->o->stub_path);
	}
	if (dy_pread_full(fd, tail, sizeof(tail), st.st_size - DY_TRAILER_SIZE) == 0 &&
	    memcmp(tail, DY_TRAILER_MAGIC, 8) == 0) {
		close(fd);
		return dy_errf(err, "%s already carries a payload; give the bare stub",
			       j->o->stub_path);
	}
	if (check_stub(j, fd, err) < 0) {
		close(fd);
		return -1;
	}
	while ((n = dy_read_some(fd, j->buf, CHUNK)) > 0)
		if (out_write(&j->w, j->buf, (size_t)n) < 0) {
			close(fd);
			return dy_errf(err, "%s", j->w.err.msg);
		}
	close(fd);
	if (n < 0)
		return dy_errnof(err, "cannot read installer stub %s", j->o->stub_path);
	return 0;
}

/*
 * Sign the SHA-256 of every byte so far: stub, payload, metadata and the
 * trailer up to its signature area, flags and sig_len included.  The raw
 * form has a fixed length, so sig_len could be hashed before signing.
 */
static int
sign_trailer(struct job *j, struct dy_trailer *t, struct dy_err *err)
{
	uint8_t digest[DY_SHA256_LEN];
	struct dy_sha256 upto_sig;
	size_t len;

	dy_sha256_clone(&upto_sig, &j->w.hash);
	dy_sha256_final(&upto_sig, digest);
	if (dy_sig_key_sign(j->key, digest, DY_SIG_RAW, t->sig, sizeof(t->sig), &len, err) < 0)
		return -1;
	if (len != t->sig_len)
		return dy_errf(err, "signature is %zu bytes, the trailer says %u", len, t->sig_len);
	return 0;
}

/* The trailer's digest, and the whole file's (that digest appended), which
 * OUT.sig signs. */
static void
finish_digests(struct job *j, struct dy_trailer *t)
{
	struct dy_sha256 whole;

	dy_sha256_clone(&whole, &j->w.hash);
	dy_sha256_final(&j->w.hash, t->digest);
	dy_sha256_update(&whole, t->digest, DY_SHA256_LEN);
	dy_sha256_final(&whole, j->file_digest);
}

static int
write_tail(struct job *j, struct dy_trailer *t, struct dy_err *err)
{
	uint8_t raw[DY_TRAILER_SIZE];
	char *meta;
	size_t meta_len;

	t->meta_off = j->w.written;
	t->payload_len = t->meta_off - t->payload_off;
	t->tar_len = j->w.tar_len;
	j->meta.built = j->o->epoch;
	if (dy_meta_format(&j->meta, &meta, &meta_len, err) < 0)
		return -1;
	if (out_write(&j->w, meta, meta_len) < 0) {
		free(meta);
		return dy_errf(err, "%s", j->w.err.msg);
	}
	free(meta);
	t->meta_len = meta_len;
	t->version = DY_TRAILER_VERSION;
	t->window_log = (uint8_t)j->w.window_log;
	t->file_len = j->w.written + DY_TRAILER_SIZE;
	if (j->key != NULL) {
		t->flags = DY_TRAILER_SIGNED;
		t->sig_len = DY_SIG_RAW_LEN;
	}
	dy_trailer_encode(t, raw);
	dy_sha256_update(&j->w.hash, raw, DY_TRAILER_SIG_OFF);
	if (j->key != NULL && sign_trailer(j, t, err) < 0)
		return -1;
	dy_trailer_encode(t, raw);
	dy_sha256_update(&j->w.hash, raw + DY_TRAILER_SIG_OFF,
			 DY_TRAILER_DIGEST_OFF - DY_TRAILER_SIG_OFF);
	finish_digests(j, t);
	dy_trailer_encode(t, raw);
	if (dy_write_full(j->w.fd, raw, sizeof(raw)) < 0)
		return dy_errnof(err, "cannot write %s", j->tmp);
	return 0;
}

/* Read the image back with the installer's own checks before it counts. */
static int
verify_output(struct job *j, struct dy_err *err)
{
	struct dy_image img;
	int rc;

	if (dy_image_open(&img, j->tmp, NULL, 0, err) < 0)
		return dy_err_wrap(err, "self-check of the new installer failed");
	rc = dy_payload_walk(&img, NULL, NULL, NULL, err);
	if (rc == 0 && j->pub != NULL)
		rc = dy_sig_check_image(&img, j->pub, err);
	dy_image_close(&img);
	if (rc < 0)
		return dy_err_wrap(err, "self-check of the new installer failed");
	return 0;
}

/* Before anything is written: a key that cannot sign fails the build. */
static int
load_key(struct job *j, struct dy_err *err)
{
	const char *out = j->o->out_path;

	if (snprintf(j->sig_path, sizeof(j->sig_path), "%s.sig", out) >= (int)sizeof(j->sig_path))
		return dy_errf(err, "output path %.64s... is too long", out);
	if (dy_sig_key_load(j->o->sign_key, 1, &j->key, err) < 0)
		return -1;
	return dy_sig_key_public(j->key, &j->pub, err);
}

/*
 * OUT.sig: DER ECDSA over the SHA-256 of the whole installer, for
 * `openssl dgst -sha256 -verify PUB -signature OUT.sig OUT`.  The
 * self-check matched the file on disk against the digest this extends,
 * so file_digest is the digest of that file.  Written to a temporary
 * file; renamed together with the installer.
 */
static int
write_detached_sig(struct job *j, struct dy_err *err)
{
	uint8_t sig[DY_SIG_DER_MAX];
	size_t len;
	int fd;

	if (dy_sig_key_sign(j->key, j->file_digest, DY_SIG_DER, sig, sizeof(sig), &len, err) < 0 ||
	    dy_sig_key_verify(j->pub, j->file_digest, DY_SIG_DER, sig, len, err) < 0)
		return dy_err_wrap(err, "detached signature %s", j->sig_path);
	if (snprintf(j->sig_tmp, sizeof(j->sig_tmp), "%s.tmp-XXXXXX", j->sig_path) >=
	    (int)sizeof(j->sig_tmp)) {
		j->sig_tmp[0] = '\0';
		return dy_errf(err, "output path %.64s... is too long", j->sig_path);
	}
	fd = mkostemp(j->sig_tmp, O_CLOEXEC);
	if (fd < 0) {
		j->sig_tmp[0] = '\0';
		return dy_errnof(err, "cannot create temporary file beside %s", j->sig_path);
	}
	if (dy_write_full(fd, sig, len) < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		dy_errnof(err, "cannot write %s", j->sig_tmp);
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return dy_errnof(err, "cannot write %s", j->sig_tmp);
	return 0;
}

static int
sync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (copy == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

static int
remove_stale_sig(const char *out, struct dy_err *err)
{
	char sig[4096];

	if (snprintf(sig, sizeof(sig), "%s.sig", out) >= (int)sizeof(sig))
		return 0;
	if (unlink(sig) < 0 && errno != ENOENT)
		return dy_errnof(err, "cannot remove the stale signature %s", sig);
	return 0;
}

static int
build(struct job *j, struct dy_pack_result *res, struct dy_err *err)
{
	struct dy_trailer t;

	memset(&t, 0, sizeof(t));
	if (j->o->sign_key != NULL && load_key(j, err) < 0)
		return -1;
	if (open_sources(j, err) < 0)
		return -1;
	snprintf(j->tmp, sizeof(j->tmp), "%s.tmp-XXXXXX", j->o->out_path);
	j->w.fd = mkostemp(j->tmp, O_CLOEXEC);
	if (j->w.fd < 0)
		return dy_errnof(err, "cannot create temporary file beside %s", j->o->out_path);
	j->w.path = j->tmp;
	dy_sha256_init(&j->w.hash);
	if (copy_stub(j, err) < 0)
		return -1;
	t.payload_off = j->w.written;
	if (write_payload(j, err) < 0 || write_tail(j, &t, err) < 0)
		return -1;
	if (fsync(j->w.fd) < 0)
		return dy_errnof(err, "cannot flush %s", j->tmp);
	if (verify_output(j, err) < 0)
		return -1;
	if (fchmod(j->w.fd, 0755) < 0)
		return dy_errnof(err, "cannot set mode of %s", j->tmp);
	if (j->key != NULL && write_detached_sig(j, err) < 0)
		return -1;
	if (rename(j->tmp, j->o->out_path) < 0)
		return dy_errnof(err, "cannot rename %s to %s", j->tmp, j->o->out_path);
	j->tmp[0] = '\0';
	if (j->key != NULL && rename(j->sig_tmp, j->sig_path) < 0)
		return dy_errnof(err, "cannot rename %s to %s", j->sig_tmp, j->sig_path);
	j->sig_tmp[0] = '\0';
	/* An unsigned build must not leave the previous build's OUT.sig
	 * beside it, looking like a signature of this one. */
	if (j->key == NULL && remove_stale_sig(j->o->out_path, err) < 0)
		return -1;
	sync_parent(j->o->out_path);
	res->size = t.file_len;
	res->stub_len = t.payload_off;
	res->payload_len = t.payload_len;
	res->tar_len = t.tar_len;
	memcpy(res->digest, t.digest, DY_SHA256_LEN);
	return 0;
}

int
dy_pack(const struct dy_pack_input *in, const struct dy_pack_opts *o, struct dy_pack_result *res,
	struct dy_err *err)
{
	struct job j;
	size_t i;
	int rc;

	memset(&j, 0, sizeof(j));
	memset(res, 0, sizeof(*res));
	j.in = in;
	j.o = o;
	j.w.fd = -1;
	dy_meta_init(&j.meta);
	j.src = calloc(in->nfiles + 1, sizeof(*j.src));
	j.buf = malloc(CHUNK);
	if (j.src == NULL || j.buf == NULL)
		rc = dy_errf(err, "out of memory");
	else
		rc = build(&j, res, err);
	if (j.w.fd >= 0)
		close(j.w.fd);
	if (rc < 0 && j.tmp[0] != '\0' && j.w.fd >= 0)
		unlink(j.tmp);
	if (rc < 0 && j.sig_tmp[0] != '\0')
		unlink(j.sig_tmp);
	dy_sig_key_free(j.key);
	dy_sig_key_free(j.pub);
	for (i = 0; i < j.nsrc; i++)
		if (j.src[i].fd >= 0)
			close(j.src[i].fd);
	free(j.src);
	free(j.buf);
	dy_meta_free(&j.meta);
	return rc;
}
