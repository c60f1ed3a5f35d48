/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockyardctl is written as several shell sources (scripts/NN-name.sh) and
 * shipped as one script.  Concatenation keeps every line of every source
 * except a shebang on the FIRST line of each: a "#!/bin/sh" further down
 * (say, inside a heredoc that writes a wrapper) is content and must survive.
 */
#ifndef DY_SCRIPTS_H
#define DY_SCRIPTS_H

#include "../common/err.h"

/* Every DIR/NAME.sh in byte order -> out_path (created new, mode 0644). */
int dy_scripts_concat(const char *dir, const char *out_path, struct dy_err *err);

#endif
