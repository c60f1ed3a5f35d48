/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packing: manifest + stub -> installer image (docs/payload-format.md).
 * The output is deterministic: entries sorted by path, mtime fixed to the
 * build epoch, one single-threaded zstd frame per file (builder/pack2.h)
 * with prefixes chosen by deterministic trials, so the bytes do not depend
 * on the number of threads that compress the frames.  The image is
 * written to a temporary file beside the output, verified with the
 * installer's own reader, and only then renamed into place.  With a
 * signing key the trailer carries an ECDSA P-256 signature and OUT.sig a
 * detached one over the whole file; signing is deterministic, so signed
 * builds are reproducible too.
 */
#ifndef DY_PACK_H
#define DY_PACK_H

#include <stdint.h>

#include <stddef.h>

#include "../common/err.h"
#include "../verify/image.h"
#include "../verify/meta.h"
#include "../verify/sha256.h"

#define DY_DEFAULT_EPOCH 1704067200ull /* 2024-01-01T00:00:00Z */
#define DY_DEFAULT_LEVEL 19
#define DY_DEFAULT_WINDOW_LOG 27

/* One file to pack: read from src, stored at dest with mode. */
struct dy_pack_file {
	const char *src;
	const char *label; /* names the file in messages (e.g. "FILE:LINE: SRC") */
	const char *dest;
	unsigned mode;
	size_t component; /* index into dy_pack_input.components */
};

struct dy_pack_input {
	const char *arch; /* "x86_64" or "aarch64": the stub's and every ELF file's */
	const struct dy_component *components; /* name, version, attributes */
	size_t ncomponents;
	const struct dy_pack_file *files;
	size_t nfiles;
};

struct dy_pack_opts {
	const char *stub_path;
	const char *out_path;
	int level;
	int window_log; /* the largest window a frame may use */
	int threads;	/* frames compressed side by side; 0: one per online CPU */
	uint64_t epoch;
	const char *sign_key; /* EC P-256 private key file, or NULL: unsigned */
	dy_progress_fn progress;
	void *progress_ctx;
};

struct dy_pack_result {
	uint64_t size;
	uint64_t stub_len;
	uint64_t payload_len;
	uint64_t tar_len;
	uint8_t digest[DY_SHA256_LEN];
};

int dy_pack(const struct dy_pack_input *in, const struct dy_pack_opts *o,
	    struct dy_pack_result *res, struct dy_err *err);

#endif
