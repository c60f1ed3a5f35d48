/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container images the builder assembles itself: a docker-archive (the
 * `docker save` format that `docker load` reads) holding manifest.json,
 * the image config (HEX.json, HEX its sha256) and one layer tar
 * (LAYERHEX/layer.tar, LAYERHEX the layer's sha256, which is also its
 * diff_id).  Both tars are written with libarchive and the JSON with
 * jansson: entries sorted by path, owner 0:0, every mtime and the config's
 * "created" at the build epoch, keys sorted, so the same inputs give the
 * same bytes.
 *
 * The layer's parent directories are added (0755) when not listed.  A
 * dynamically linked ELF file whose interpreter the layer does not hold
 * is refused: the image could never run it.
 */
#ifndef DY_BUILDER_IMAGE_H
#define DY_BUILDER_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../verify/sha256.h"
#include "manifest.h"
#include "unpack.h"

enum dy_layer_type { DY_LAYER_FILE, DY_LAYER_LINK, DY_LAYER_DIR };

struct dy_layer_entry {
	const char *path; /* inside the image, relative, no "..": "bin/busybox" */
	enum dy_layer_type type;
	const char *src;   /* FILE: the file holding its data; LINK: the target */
	unsigned mode;	   /* FILE, DIR */
	const char *label; /* names the entry in messages (manifest FILE:LINE) */
};

struct dy_image_spec {
	const char *tag;  /* REPO:TAG */
	const char *arch; /* the OCI spelling: amd64, arm64 */
	uint64_t epoch;
	const char *const *env; /* KEY=VALUE */
	size_t nenv;
	const char *const *cmd;
	size_t ncmd;
	const char *const *labels; /* KEY=VALUE */
	size_t nlabels;
	const struct dy_layer_entry *entries;
	size_t nentries;
};

struct dy_image_result {
	uint8_t layer_sha256[DY_SHA256_LEN];
	uint8_t config_sha256[DY_SHA256_LEN];
	uint64_t size; /* of the archive */
};

/* Write the docker-archive to out_path (created exclusively; the layer is
 * staged at out_path.layer).  On error nothing is left at either path. */
int dy_image_write(const struct dy_image_spec *s, const char *out_path, struct dy_image_result *res,
		   struct dy_err *err);

/* Where a layer line's component keeps its artifact (already fetched and
 * verified), and how to read it. */
typedef int (*dy_image_source_fn)(void *ctx, const char *component, const char **path,
				  enum dy_artifact_kind *kind, struct dy_err *err);

/* Assemble the kind = image component c of manifest m into out_path:
 * layer lines are taken out of their artifacts into OUT.N files beside
 * out_path (removed again), file lines are read relative to the manifest,
 * link lines become symbolic links; arch is the manifest's spelling. */
int dy_image_build(const struct dy_manifest *m, const struct dy_mcomponent *c,
		   dy_image_source_fn source, void *ctx, const char *arch, uint64_t epoch,
		   const char *out_path, struct dy_image_result *res, struct dy_err *err);

/* "x86_64" -> "amd64", "aarch64" -> "arm64"; NULL when unknown. */
const char *dy_image_arch(const char *arch);

#endif
