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
installed_rel(const struct inst *ins, const char *path)
{
	if (ins->mode != DY_RUNTIME_RUNC && strcmp(path, DY_SYSBOX_RUNC) == 0)
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
binaries_current(struct inst *ins)
{
	char path[PATH_BUF], *raw = NULL;
	struct dy_meta old;
	struct dy_err err;
	size_t i, len = 0;
	int fd, same;

	if (ins_root_path(ins, path, sizeof(path), PAYLOAD_META, &err) < 0 ||
	    dy_read_small_file(path, DY_META_MAX, &raw, &len, NULL, &err) < 0)
		return 0;
	dy_meta_init(&old);
	same = dy_meta_parse(raw, len, &old, &err) == 0 && same_payload(&old, &ins->img->meta);
	dy_meta_free(&old);
	free(raw);
	for (i = 0; same && i < ins->img->meta.nentries; i++) {
		const struct dy_entry *e = &ins->img->meta.entries[i];
		uint8_t digest[DY_SHA256_LEN];
		unsigned long long size;
		struct stat st;

		if (e->is_dir)
			continue;
		if (ins_root_path(ins, path, sizeof(path), installed_rel(ins, e->path), &err) < 0)
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
recover_bin(struct inst *ins, struct dy_err *err)
{
	char bin[PATH_BUF], prev[PATH_BUF];
	struct stat st;

	if (ins_root_path(ins, bin, sizeof(bin), "bin", err) < 0 ||
	    ins_root_path(ins, prev, sizeof(prev), "bin.prev", err) < 0)
		return -1;
	if (lstat(bin, &st) < 0 && errno == ENOENT && lstat(prev, &st) == 0) {
		ins_act(ins, "restore", bin, NULL, "restore %s from an interrupted upgrade", bin);
		if (!ins->dry && rename(prev, bin) < 0)
			return dy_errnof(err, "cannot restore %s to %s", prev, bin);
	}
	return 0;
}

/* Render one wrapper into bindir/name: 1 written, 0 unchanged, -1 error. */
static int
put_wrapper(struct inst *ins, render_fn fn, const char *bindir, const char *name,
	    struct dy_err *err)
{
	struct dy_render_in in = { &ins->cfg, &ins->img->meta, NULL, 0, NULL, NULL };
	struct dy_rendered r;
	char path[PATH_BUF];
	int rc;

	memset(&r, 0, sizeof(r));
	if (fn(&in, &r, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", bindir, name);
	rc = ins_put_file(ins, path, path, r.data, r.len, r.mode, err);
	dy_rendered_free(&r);
	return rc;
}

/* The wrappers the installer writes into bin/ (of the staging tree, or of
 * the live root on a re-run). */
static int
render_wrappers(struct inst *ins, const char *bindir, struct dy_err *err)
{
	int rc = put_wrapper(ins, dy_render_docker_wrapper, bindir, "docker", err);

	if (rc < 0 || ins->mode == DY_RUNTIME_RUNC)
		return rc < 0 ? -1 : 0;
	rc = put_wrapper(ins, dy_render_runtime_wrapper, bindir, "sysbox-runc", err);
	if (rc > 0)
		ins->config_changed = 1;
	return rc < 0 ? -1 : 0;
}

/* Move the staged payload's files outside bin/ into the root, one rename
 * each (lib/ is user data: only the payload's own files are replaced). */
static int
place_other_files(struct inst *ins, const char *staging, struct dy_err *err)
{
	const struct dy_meta *m = &ins->img->meta;
	char from[PATH_BUF], to[PATH_BUF];
	size_t i;

	for (i = 0; i < m->nentries; i++) {
		const struct dy_entry *e = &m->entries[i];
		if (strcmp(e->path, "bin") == 0 || strncmp(e->path, "bin/", 4) == 0)
			continue;
		if (ins_root_path(ins, to, sizeof(to), e->path, err) < 0)
			return -1;
		if (e->is_dir) {
			if (ins_ensure_dir(ins, to, e->mode, err) < 0)
				return -1;
			continue;
		}
		if (ins_join_path(from, sizeof(from), staging, e->path, err) < 0)
			return -1;
		if (rename(from, to) < 0)
			return dy_errnof(err, "cannot move %s to %s", from, to);
	}
	return 0;
}

/* Swap the staged bin/ in; the previous one becomes bin.prev. */
static int
swap_bin(struct inst *ins, const char *staging, struct dy_err *err)
{
	char bin[PATH_BUF], prev[PATH_BUF], staged[PATH_BUF];
	struct stat st;

	if (ins_root_path(ins, bin, sizeof(bin), "bin", err) < 0 ||
	    ins_root_path(ins, prev, sizeof(prev), "bin.prev", err) < 0)
		return -1;
	if (ins_join_path(staged, sizeof(staged), staging, "bin", err) < 0)
		return -1;
	if (lstat(bin, &st) == 0) {
		ins_act(ins, "swap", bin, NULL, "swap %s (the previous one waits in bin.prev)",
			bin);
		if (ins_remove_at_root(ins, "bin.prev", err) < 0)
			return -1;
		if (rename(bin, prev) < 0)
			return dy_errnof(err, "cannot move %s aside to %s", bin, prev);
		ins->upgraded = 1;
		ins_fault_point("swap");
	}
	if (rename(staged, bin) < 0) {
		dy_errnof(err, "cannot move %s to %s", staged, bin);
		if (ins->upgraded && rename(prev, bin) == 0)
			ins->upgraded = 0;
		return -1;
	}
	return 0;
}

static int
check_payload_shape(const struct inst *ins, struct dy_err *err)
{
	if (dy_meta_find(&ins->img->meta, "bin/dockyardctl") == NULL)
		return dy_errf(err, "the payload has no bin/dockyardctl: this installer cannot "
				    "control an instance");
	if (dy_meta_find(&ins->img->meta, "bin/docker") != NULL)
		return dy_errf(err, "the payload ships bin/docker, which is the installer's "
				    "wrapper; ship the client as bin/docker-cli");
	if (ins->mode != DY_RUNTIME_RUNC && dy_meta_find(&ins->img->meta, DY_SYSBOX_RUNC) == NULL)
		return dy_errf(err, "the payload declares sysbox but has no %s", DY_SYSBOX_RUNC);
	return 0;
}

static int
verify_signature(struct inst *ins, struct dy_err *err)
{
	struct dy_sig_key *pub = NULL;
	int rc;

	if (ins->o->key == NULL)
		return 0;
	if (dy_sig_key_load(ins->o->key, 0, &pub, err) < 0)
		return -1;
	if (!ins->img->digest_ok && dy_image_check_digest(ins->img, err) < 0) {
		dy_sig_key_free(pub);
		return -1;
	}
	rc = dy_sig_check_image(ins->img, pub, err);
	if (rc == 0)
		dy_say(DY_VERBOSE, "signature OK (%s)", dy_sig_key_name(pub));
	dy_sig_key_free(pub);
	return rc;
}

/* Create the root for the staging tree when it is missing; the layout
 * step records it in the receipt. */
static int
ensure_root(struct inst *ins, struct dy_err *err)
{
	int made = ins_ensure_dir(ins, ins->root, 0755, err);

	if (made < 0)
		return -1;
	ins->root_made = made;
	return 0;
}

/* Once the file is verified: the signature, the payload's shape and the
 * preflight report, all of which read the metadata. */
static int
verified(struct inst *ins, struct dy_err *err)
{
	if (verify_signature(ins, err) < 0 || check_payload_shape(ins, err) < 0)
		return -1;
	ins_preflight_report(ins);
	return 0;
}

/* Extract the payload into ROOT/.payload-new in the one pass that also
 * checks every member and the whole-file digest; then what reads the
 * metadata. */
static int
stage_payload(struct inst *ins, struct dy_err *err)
{
	char staging[PATH_BUF], from[PATH_BUF], to[PATH_BUF];
	struct dy_extract_stats stats;

	if (ensure_root(ins, err) < 0 ||
	    ins_root_path(ins, staging, sizeof(staging), STAGING_NAME, err) < 0 ||
	    ins_remove_at_root(ins, STAGING_NAME, err) < 0)
		return -1;
	if (dy_extract_unsynced(ins->img, staging, progress, &stats, err) < 0) {
		dy_progress_end();
		return -1;
	}
	dy_progress_end();
	dy_say(DY_VERBOSE, "verified and extracted %llu bytes; read the %llu-byte file %s",
	       (unsigned long long)stats.bytes_written, (unsigned long long)ins->img->size,
	       stats.bytes_read == ins->img->size ? "once" : "more than once");
	ins_fault_point("staged");
	if (verified(ins, err) < 0)
		return -1;
	if (ins->mode == DY_RUNTIME_RUNC)
		return 0;
	if (ins_join_path(from, sizeof(from), staging, DY_SYSBOX_RUNC, err) < 0 ||
	    ins_join_path(to, sizeof(to), staging, DY_SYSBOX_RUNC_BIN, err) < 0)
		return -1;
	if (rename(from, to) < 0)
		return dy_errnof(err, "cannot rename %s to %s", from, to);
	return 0;
}

void
step_unstage(struct inst *ins)
{
	struct dy_err ignored;

	if (ins->dry || ins->binaries_current)
		return;
	if (ins_remove_at_root(ins, STAGING_NAME, &ignored) < 0)
		return;
	/* Only while it is still empty: after the layout step it is not. */
	if (ins->root_made && rmdir(ins->root) == 0)
		ins->root_made = 0;
}

int
step_stage(struct inst *ins, struct dy_err *err)
{
	if (recover_bin(ins, err) < 0)
		return -1;
	/* Read-only comparisons with the installed files; what they find is
	 * acted on only once the file is verified. */
	ins->binaries_current = binaries_current(ins);
	if (ins->binaries_current) {
		dy_say(DY_VERBOSE, "binaries in %s/bin are up to date", ins->root);
		/* Nothing is extracted, but the metadata that drives the
		 * rendering must still come from an intact file: the one read. */
		if (!ins->img->digest_ok && dy_image_check_digest(ins->img, err) < 0)
			return -1;
		return verified(ins, err);
	}
	ins_act(ins, "extract", ins->root, NULL,
		"extract %zu payload entries (%llu bytes) into %s/bin", ins->img->meta.nentries,
		(unsigned long long)dy_meta_total_size(&ins->img->meta), ins->root);
	if (ins->dry) {
		/* plan checks the digest before anything else (main.c) */
		if (!ins->img->digest_ok && dy_image_check_digest(ins->img, err) < 0)
			return -1;
		return verified(ins, err);
	}
	if (stage_payload(ins, err) < 0) {
		step_unstage(ins);
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
step_binaries(struct inst *ins, struct dy_err *err)
{
	char staging[PATH_BUF], to[PATH_BUF];

	if (ins->binaries_current || ins->dry) {
		if (ins_root_path(ins, staging, sizeof(staging), "bin", err) < 0)
			return -1;
		if (!ins->binaries_current && access(staging, F_OK) == 0)
			ins_act(ins, "swap", staging, NULL,
				"swap %s (the previous one waits in bin.prev)", staging);
		return render_wrappers(ins, staging, err);
	}
	if (ins_root_path(ins, staging, sizeof(staging), STAGING_NAME, err) < 0)
		return -1;
	/* The writeback started during the stage has had the layout, render
	 * and system steps to finish; what is left is waited for here, before
	 * anything of the staged tree goes live. */
	if (dy_extract_sync(staging, &ins->img->meta, staged_name, ins, err) < 0 ||
	    ins_join_path(to, sizeof(to), staging, "bin", err) < 0 ||
	    render_wrappers(ins, to, err) < 0 || place_other_files(ins, staging, err) < 0 ||
	    swap_bin(ins, staging, err) < 0)
		goto fail;
	ins->config_changed = 1;
	ins->extracted = 1;
	return ins_remove_at_root(ins, STAGING_NAME, err);
fail:
	ins_remove_at_root(ins, STAGING_NAME, &(struct dy_err){ 0 });
	return -1;
}
