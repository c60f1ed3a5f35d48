/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Preflight: what the host must offer before an instance is installed.
 * Each check yields pass/fail, what was seen, and the fix.  Kernel
 * features are read from /proc and /sys; the mount-propagation probe
 * (below) runs in a child process; the shared libraries come from the
 * payload metadata's "needs" lines (recorded by the builder from each ELF
 * file's PT_INTERP and DT_NEEDED).
 */
#ifndef DY_PREFLIGHT_H
#define DY_PREFLIGHT_H

#include <stdint.h>
#include <stdio.h>

#include "../common/err.h"
#include "../verify/meta.h"

struct dy_check {
	char name[48];	  /* "root", "user-namespaces", "mount-propagation", ... */
	int ok;		  /* 1 pass, 0 fail */
	int warn_only;	  /* a failure that does not refuse the install */
	char detail[512]; /* what was seen */
	char fix[512];	  /* what to do; "" when ok */
};

struct dy_preflight_in {
	const struct dy_meta *meta; /* payload: needed libraries, sysbox present, size */
	const char *root;	    /* disk space is checked where it will live */
	const char *sysroot;	    /* "" for the host */
};

struct dy_preflight {
	struct dy_check *checks;
	size_t nchecks;
	size_t failed; /* failures that refuse the install */
};

/* Run every check (none modifies the host). */
int dy_preflight_run(const struct dy_preflight_in *in, struct dy_preflight *out,
		     struct dy_err *err);
void dy_preflight_free(struct dy_preflight *p);
void dy_preflight_print(FILE *out, const struct dy_preflight *p);
int dy_preflight_print_json(FILE *out, const struct dy_preflight *p, struct dy_err *err);

/* Some kernels (Ubuntu 25.10's 6.17) do not let a child user namespace
 * change the propagation of mounts its parent owns, and sysbox-runc then
 * fails at container start.  Probed, not guessed from versions, in a
 * forked child: new user + mount namespace, then mount("", "/", NULL,
 * MS_PRIVATE|MS_REC, NULL).  1 works, 0 refused (why says errno's text),
 * -1 the probe itself could not run. */
int dy_probe_mount_propagation(char *why, size_t size);

/* This machine's architecture as installers name it: uname -m, with the
 * kernel's "arm64" spelled "aarch64". */
int dy_host_arch(char *buf, size_t size, struct dy_err *err);
/* Refuse the payload of installer path when it was built for another
 * architecture than this machine's: its binaries could not run here. */
int dy_preflight_arch(const struct dy_meta *m, const char *path, struct dy_err *err);

/* Where soname resolves on this host (ld.so.conf dirs and the default
 * ones, below sysroot), or 0 when missing. */
int dy_find_library(const char *sysroot, const char *soname, char *found, size_t size);
/* The same for a payload of architecture arch ("x86_64", "aarch64"): its
 * multiarch directories, and an ELF library for another machine does not
 * count. */
int dy_find_library_arch(const char *sysroot, const char *arch, const char *soname, char *found,
			 size_t size);

#endif
