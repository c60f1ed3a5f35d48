/*
 * One build: manifest -> pack input -> installer.  The CLI in main.c only
 * fills dy_build_opts; everything a build does is reachable from here.
 */
#ifndef DY_BUILD_H
#define DY_BUILD_H

#include "../common/err.h"
#include "pack.h"

struct dy_build_opts {
	const char *manifest_path;
	struct dy_pack_opts pack; /* stub, output, compression, epoch */
};

int dy_build(const struct dy_build_opts *o, struct dy_pack_result *res, struct dy_err *err);

#endif
