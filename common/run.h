/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running the system's tools (systemctl, dockyardctl, docker, the shadow
 * tools) from a static program: absolute paths, a clean environment, the
 * output kept for the error message.
 */
#ifndef DY_RUN_H
#define DY_RUN_H

#include <stddef.h>

#include "err.h"

/* The directories searched for tools, in order (no $PATH: the caller's
 * environment must not choose what runs as root). */
#define DY_TOOL_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Full path of tool in DY_TOOL_PATH; 0 found, -1 not. */
int dy_which(const char *tool, char *path, size_t size);

/*
 * Run argv (argv[0] an absolute path) with envp (NULL: PATH=DY_TOOL_PATH
 * only), stdin from /dev/null.  When out is not NULL, stdout and stderr
 * are captured into it (NUL-terminated, the tail kept when longer);
 * otherwise they go to this program's stderr.  Returns the exit status,
 * 128+N when killed by signal N, or -1 with err set when it could not run.
 */
int dy_run(char *const argv[], char *const envp[], char *out, size_t outsize, struct dy_err *err);

/* dy_run, and an error naming the command, its status and its output
 * when the status is not 0. */
int dy_run_ok(char *const argv[], char *const envp[], struct dy_err *err);

#endif
