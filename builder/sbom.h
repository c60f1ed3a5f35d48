/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a build leaves beside the installer in its output directory:
 *   SHA256SUMS                 sha256sum -c compatible, for every file below
 *   NAME.spdx.json             SPDX 2.3 SBOM: each component with its
 *                              version, purl (with the architecture of an
 *                              artifact built for one), declared licence, download
 *                              location and sha256; the stub too, with the
 *                              Debian packages statically linked into it
 *                              (STUB.deps beside the stub, written by
 *                              tools/stub-deps.sh when the stub is linked)
 *   NAME.buildinfo.json        how it was built: builder version, manifest
 *                              and lock digests, epoch, arch, compression
 * All are deterministic (sorted keys, times from the build epoch) and
 * written by rename.
 */
#ifndef DY_SBOM_H
#define DY_SBOM_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../verify/sha256.h"

struct dy_sbom_component {
	const char *name;
	const char *version;
	const char *source; /* URL or local path of the artifact; NULL for local files */
	int has_sha256;
	uint8_t sha256[DY_SHA256_LEN]; /* of the artifact */
	const char *role;	       /* "" or image */
	const char *kind;	       /* "" (local files), file, tar, tgz, deb */
	const char *license;	       /* SPDX expression or "" */
	const char *content_path;      /* no artifact: the file whose sha256 stands for it */
};

struct dy_sbom_info {
	const char *installer_path;
	uint64_t epoch;
	const char *arch;
	int level;
	int window_log;
	const char *manifest_path;
	const char *lock_path; /* NULL when the build used no lock */
	const char *sig_path;  /* detached signature, or NULL */
	const char *stub_path; /* the installer stub; STUB.deps beside it, if any */
	const struct dy_sbom_component *components;
	size_t ncomponents;
};

int dy_write_dist_files(const struct dy_sbom_info *info, struct dy_err *err);

#endif
