/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The payload's two steps.  Stage (before anything else is written): when
 * the installed payload record and every installed file match this
 * payload, only the file's digest is checked; otherwise the payload is
 * verified and extracted in one pass into ROOT/.payload-new, and a failure
 * leaves nothing behind.  Binaries (after the layout, render and system
 * steps, which overlap the staged files' writeback to disk): the wrappers
 * are written into the staged bin/, and bin/ is swapped in with two
 * renames, the previous one kept as bin.prev until the new instance
 * answers.
 */
#include "steps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xio.h"
#include "../verify/sig.h"
#include "extract.h"

/* Where a payload file lives once installed. */
static const char *
installed_rel(const struct instance *in, const char *path)
{
	if (in->mode != DY_RUNTIME_RUNC && strcmp(path, DY_SYSBOX_RUNC) == 0)
		return DY_SYSBOX_RUNC_BIN;
	return path;
}

static int
same_payload(const struct dy_meta *a, const struct dy_meta *b)
{
	size_t i;

	if (a->ncomponents != b->ncomponents || a->nentries != b->nentries)
		return 0;
	for (i = 0; i < a->ncomponents; i++)
		if (strcmp(a->components[i].name, b->components[i].name) != 0 ||
		    strcmp(a->components[i].version, b->components[i].version) != 0)
			return 0;
	for (i = 0; i < a->nentries; i++) {
		const struct dy_entry *x = &a->entries[i], *y = &b->entries[i];
		if (strcmp(x->path, y->path) != 0 || x->is_dir != y->is_dir || x->mode != y->mode ||
		    x->size != y->size || memcmp(x->sha256, y->sha256, DY_SHA256_LEN) != 0)
			return 0;
	}
	return 1;
}

/* 1 when the installed payload record matches this payload and every
 * installed file still has its size, mode and digest. */
static int
payload_current(const struct run *r, const struct instance *in)
{
	char path[PATH_BUF], *raw = NULL;
	struct dy_meta old;
	struct dy_err err;
	size_t i, len = 0;
	int fd, same;

	if (act_root_path(r, path, sizeof(path), PAYLOAD_META, &err) < 0 ||
	    dy_read_small_file(path, DY_META_MAX, &raw, &len, NULL, &err) < 0)
		return 0;
	dy_meta_init(&old);
	same = dy_meta_parse(raw, len, &old, &err) == 0 && same_payload(&old, &in->img->meta);
	dy_meta_free(&old);
	free(raw);
	for (i = 0; same && i < in->img->meta.nentries; i++) {
		const struct dy_entry *e = &in->img->meta.entries[i];
		uint8_t digest[DY_SHA256_LEN];
		unsigned long long size;
		struct stat st;

		if (e->is_dir)
			continue;
		if (act_root_path(r, path, sizeof(path), installed_rel(in, e->path), &err) < 0)
			return 0;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return 0;
		same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		       (uint64_t)st.st_size == e->size && (st.st_mode & 07777) == e->mode &&
		       dy_sha256_fd(fd, digest, &size, &err) == 0 &&
		       dy_digest_equal(digest, e->sha256, DY_SHA256_LEN);
		close(fd);
		if (!same)
			dy_say(DY_VERBOSE, "%s differs from the payload", path);
	}
	return same;
}

static void
progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	dy_progress("verifying and extracting", done, total, 1);
}

/* A crash between the two renames of a swap leaves bin.prev without bin. */
static int
recover_bin(struct run *r, struct dy_err *err)
{
	char bin[PATH_BUF], prev[PATH_BUF];
	struct stat st;

	if (act_root_path(r, bin, sizeof(bin), "bin", err) < 0 ||
	    act_root_path(r, prev, sizeof(prev), "bin.prev", err) < 0)
		return -1;
	if (lstat(bin, &st) < 0 && errno == ENOENT && lstat(prev, &st) == 0) {
		act(r, "restore", bin, NULL, "restore %s from an interrupted upgrade", bin);
		if (!r->dry && rename(prev, bin) < 0)
			return dy_errnof(err, "cannot restore %s to %s", prev, bin);
	}
	return 0;
}

/* Render one wrapper into bindir/name: 1 written, 0 unchanged, -1 error. */
static int
put_wrapper(struct run *r, const struct instance *in, render_fn fn, const char *bindir,
	    const char *name, struct dy_err *err)
{
	struct dy_render_in rin = { &in->cfg, &in->img->meta, NULL, 0, NULL, NULL };
	struct dy_rendered out;
	char path[PATH_BUF];
	int rc;

	memset(&out, 0, sizeof(out));
	if (fn(&rin, &out, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", bindir, name);
	rc = act_put_file(r, path, path, out.data, out.len, out.mode, err);
	dy_rendered_free(&out);
	return rc;
}

/* The wrappers the installer writes into bin/ (of the staging tree, or of
 * the live root on a re-run). */
static int
render_wrappers(struct run *r, const struct instance *in, struct restart *rs, const char *bindir,
		struct dy_err *err)
{
	int rc = put_wrapper(r, in, dy_render_docker_wrapper, bindir, "docker", err);

	if (rc < 0 || in->mode == DY_RUNTIME_RUNC)
		return rc < 0 ? -1 : 0;
	rc = put_wrapper(r, in, dy_render_runtime_wrapper, bindir, "sysbox-runc", err);
	if (rc > 0)
		rs->needed = 1;
	return rc < 0 ? -1 : 0;
}

/* Move the staged payload's files outside bin/ into the root, one rename
 * each (lib/ is user data: only the payload's own files are replaced). */
static int
place_other_files(struct run *r, const struct instance *in, const char *staging, struct dy_err *err)
{
	const struct dy_meta *m = &in->img->meta;
	char from[PATH_BUF], to[PATH_BUF];
	size_t i;

	for (i = 0; i < m->nentries; i++) {
		const struct dy_entry *e = &m->entries[i];
		if (strcmp(e->path, "bin") == 0 || strncmp(e->path, "bin/", 4) == 0)
			continue;
		if (act_root_path(r, to, sizeof(to), e->path, err) < 0)
			return -1;
		if (e->is_dir) {
			if (act_ensure_dir(r, to, e->mode, err) < 0)
				return -1;
			continue;
		}
		if (act_join_path(from, sizeof(from), staging, e->path, err) < 0)
			return -1;
		if (rename(from, to) < 0)
			return dy_errnof(err, "cannot move %s to %s", from, to);
	}
	return 0;
}

/* Swap the staged bin/ in; the previous one becomes bin.prev. */
static int
swap_bin(struct run *r, struct stage *stg, const char *staging, struct dy_err *err)
{
	char bin[PATH_BUF], prev[PATH_BUF], staged[PATH_BUF];
	struct stat st;

	if (act_root_path(r, bin, sizeof(bin), "bin", err) < 0 ||
	    act_root_path(r, prev, sizeof(prev), "bin.prev", err) < 0)
		return -1;
	if (act_join_path(staged, sizeof(staged), staging, "bin", err) < 0)
		return -1;
	if (lstat(bin, &st) == 0) {
		act(r, "swap", bin, NULL, "swap %s (the previous one waits in bin.prev)", bin);
		if (act_remove_at_root(r, "bin.prev", err) < 0)
			return -1;
		if (rename(bin, prev) < 0)
			return dy_errnof(err, "cannot move %s aside to %s", bin, prev);
		stg->upgraded = 1;
		act_fault_point("swap");
	}
	if (rename(staged, bin) < 0) {
		dy_errnof(err, "cannot move %s to %s", staged, bin);
		if (stg->upgraded && rename(prev, bin) == 0)
			stg->upgraded = 0;
		return -1;
	}
	return 0;
}

static int
check_payload_shape(const struct instance *in, struct dy_err *err)
{
	if (dy_meta_find(&in->img->meta, "bin/dockyardctl") == NULL)
		return dy_errf(err, "the payload has no bin/dockyardctl: this installer cannot "
				    "control an instance");
	if (dy_meta_find(&in->img->meta, "bin/docker") != NULL)
		return dy_errf(err, "the payload ships bin/docker, which is the installer's "
				    "wrapper; ship the client as bin/docker-cli");
	if (in->mode != DY_RUNTIME_RUNC && dy_meta_find(&in->img->meta, DY_SYSBOX_RUNC) == NULL)
		return dy_errf(err, "the payload declares sysbox but has no %s", DY_SYSBOX_RUNC);
	return 0;
}

static int
verify_signature(const struct run *r, const struct instance *in, struct dy_err *err)
{
	struct dy_sig_key *pub = NULL;
	int rc;

	if (r->o->key == NULL)
		return 0;
	if (dy_sig_key_load(r->o->key, 0, &pub, err) < 0)
		return -1;
	if (!in->img->digest_ok && dy_image_check_digest(in->img, err) < 0) {
		dy_sig_key_free(pub);
		return -1;
	}
	rc = dy_sig_check_image(in->img, pub, err);
	if (rc == 0)
		dy_say(DY_VERBOSE, "signature OK (%s)", dy_sig_key_name(pub));
	dy_sig_key_free(pub);
	return rc;
}

/* Create the root for the staging tree when it is missing; the layout
 * step records it in the receipt. */
static int
ensure_root(struct run *r, struct stage *stg, struct dy_err *err)
{
	int made = act_ensure_dir(r, r->root, 0755, err);

	if (made < 0)
		return -1;
	stg->root_made = made;
	return 0;
}

/* Once the file is verified: the signature, the payload's shape and the
 * preflight report, all of which read the metadata. */
static int
verified(const struct run *r, const struct instance *in, struct dy_preflight *report,
	 struct dy_err *err)
{
	if (verify_signature(r, in, err) < 0 || check_payload_shape(in, err) < 0)
		return -1;
	preflight_report(r, report);
	return 0;
}

/* Extract the payload into ROOT/.payload-new in the one pass that also
 * checks every member and the whole-file digest; then what reads the
 * metadata. */
static int
stage_payload(struct run *r, const struct instance *in, struct dy_preflight *report,
	      struct stage *stg, struct dy_err *err)
{
	char staging[PATH_BUF], from[PATH_BUF], to[PATH_BUF];
	struct dy_extract_stats stats;

	if (ensure_root(r, stg, err) < 0 ||
	    act_root_path(r, staging, sizeof(staging), STAGING_NAME, err) < 0 ||
	    act_remove_at_root(r, STAGING_NAME, err) < 0)
		return -1;
	if (dy_extract_unsynced(in->img, staging, progress, &stats, err) < 0) {
		dy_progress_end();
		return -1;
	}
	dy_progress_end();
	dy_say(DY_VERBOSE, "verified and extracted %llu bytes; read the %llu-byte file %s",
	       (unsigned long long)stats.bytes_written, (unsigned long long)in->img->size,
	       stats.bytes_read == in->img->size ? "once" : "more than once");
	act_fault_point("staged");
	if (verified(r, in, report, err) < 0)
		return -1;
	if (in->mode == DY_RUNTIME_RUNC)
		return 0;
	if (act_join_path(from, sizeof(from), staging, DY_SYSBOX_RUNC, err) < 0 ||
	    act_join_path(to, sizeof(to), staging, DY_SYSBOX_RUNC_BIN, err) < 0)
		return -1;
	if (rename(from, to) < 0)
		return dy_errnof(err, "cannot rename %s to %s", from, to);
	return 0;
}

void
step_unstage(const struct run *r, struct stage *stg)
{
	struct dy_err ignored;

	if (r->dry || stg->current)
		return;
	if (act_remove_at_root(r, STAGING_NAME, &ignored) < 0)
		return;
	/* Only while it is still empty: after the layout step it is not. */
	if (stg->root_made && rmdir(r->root) == 0)
		stg->root_made = 0;
}

int
step_stage(struct run *r, const struct instance *in, struct dy_preflight *report, struct stage *stg,
	   struct dy_err *err)
{
	if (recover_bin(r, err) < 0)
		return -1;
	/* Read-only comparisons with the installed files; what they find is
	 * acted on only once the file is verified. */
	stg->current = payload_current(r, in);
	if (stg->current) {
		dy_say(DY_VERBOSE, "binaries in %s/bin are up to date", r->root);
		/* Nothing is extracted, but the metadata that drives the
		 * rendering must still come from an intact file: the one read. */
		if (!in->img->digest_ok && dy_image_check_digest(in->img, err) < 0)
			return -1;
		return verified(r, in, report, err);
	}
	act(r, "extract", r->root, NULL, "extract %zu payload entries (%llu bytes) into %s/bin",
	    in->img->meta.nentries, (unsigned long long)dy_meta_total_size(&in->img->meta),
	    r->root);
	if (r->dry) {
		/* plan checks the digest before anything else (main.c) */
		if (!in->img->digest_ok && dy_image_check_digest(in->img, err) < 0)
			return -1;
		return verified(r, in, report, err);
	}
	if (stage_payload(r, in, report, stg, err) < 0) {
		step_unstage(r, stg);
		return -1;
	}
	return 0;
}

static const char *
staged_name(const char *path, void *ctx)
{
	return installed_rel(ctx, path);
}

int
step_binaries(struct run *r, const struct instance *in, struct stage *stg, struct restart *rs,
	      struct dy_err *err)
{
	char staging[PATH_BUF], to[PATH_BUF];

	if (stg->current || r->dry) {
		if (act_root_path(r, staging, sizeof(staging), "bin", err) < 0)
			return -1;
		if (!stg->current && access(staging, F_OK) == 0)
			act(r, "swap", staging, NULL,
			    "swap %s (the previous one waits in bin.prev)", staging);
		return render_wrappers(r, in, rs, staging, err);
	}
	if (act_root_path(r, staging, sizeof(staging), STAGING_NAME, err) < 0)
		return -1;
	/* The writeback started during the stage has had the layout, render
	 * and system steps to finish; what is left is waited for here, before
	 * anything of the staged tree goes live. */
	if (dy_extract_sync(staging, &in->img->meta, staged_name, (void *)in, err) < 0 ||
	    act_join_path(to, sizeof(to), staging, "bin", err) < 0 ||
	    render_wrappers(r, in, rs, to, err) < 0 || place_other_files(r, in, staging, err) < 0 ||
	    swap_bin(r, stg, staging, err) < 0)
		goto fail;
	rs->needed = 1;
	stg->extracted = 1;
	return act_remove_at_root(r, STAGING_NAME, err);
fail:
	act_remove_at_root(r, STAGING_NAME, &(struct dy_err){ 0 });
	return -1;
}
