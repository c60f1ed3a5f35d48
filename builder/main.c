/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockyard-build: turn a payload manifest into a self-verifying installer.
 * This file is the CLI only; the work lives in manifest.c and pack.c.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/opts.h"
#include "../common/version.h"
#include "build.h"

/* Where `make install` puts the stub and the scripts (-D at build time);
 * a checkout finds them beside the program and through the manifest. */
#ifndef DY_STUB_PATH
#define DY_STUB_PATH "/usr/local/libexec/dockyard/dockyard-installer-stub"
#endif
#ifndef DY_SCRIPTS_DIR
#define DY_SCRIPTS_DIR "/usr/local/share/dockyard/scripts"
#endif

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

enum {
	OPT_MANIFEST = 1,
	OPT_LOCK,
	OPT_OUT,
	OPT_STUB,
	OPT_SCRIPTS,
	OPT_ARCH,
	OPT_CACHE,
	OPT_MIRROR,
	OPT_OFFLINE,
	OPT_SELECT,
	OPT_WITH,
	OPT_NO_DIST,
	OPT_LEVEL,
	OPT_WINDOW,
	OPT_THREADS,
	OPT_SIGN,
	OPT_HELP,
	OPT_VERSION,
};

static const struct dy_opt options[] = {
	{ OPT_MANIFEST, 'm', "manifest", "FILE", "payload manifest (required)" },
	{ OPT_LOCK, 0, "lock", "FILE", "lock file (default: FILE.lock beside FILE.manifest)" },
	{ OPT_OUT, 'o', "out", "PATH", "installer to write (default: dist/dockyard-installer)" },
	{ OPT_STUB, 0, "stub", "FILE",
	  "installer stub (default: dockyard-installer-stub beside this program, else "
	  "the installed one)" },
	{ OPT_SCRIPTS, 0, "scripts", "DIR",
	  "dockyardctl sources for `concat` lines (default: the manifest's path, else the "
	  "installed ones)" },
	{ OPT_ARCH, 0, "arch", "ARCH",
	  "x86_64 or aarch64 (default: this machine's); without --stub, the stub in ARCH/ "
	  "beside the default one if it exists" },
	{ OPT_CACHE, 0, "cache", "DIR",
	  "artifact cache (default: $XDG_CACHE_HOME/dockyard or ~/.cache/dockyard)" },
	{ OPT_MIRROR, 0, "mirror", "URL|DIR", "try this mirror first (repeatable, in order)" },
	{ OPT_OFFLINE, 0, "offline", NULL, "use only the cache and on-disk mirrors; no network" },
	{ OPT_SELECT, 0, "select", "NAME=VER", "build another declared version of a component" },
	{ OPT_WITH, 0, "with", "NAME", "include an optional component (repeatable)" },
	{ OPT_NO_DIST, 0, "no-dist-files", NULL, "skip SHA256SUMS, SBOM and build info" },
	{ OPT_LEVEL, 'l', "level", "N", "zstd level 1..19 (default 19; tests use 3)" },
	{ OPT_WINDOW, 0, "window-log", "N",
	  "largest zstd window of a frame, 2^N bytes, 10..27 (default 27)" },
	{ OPT_THREADS, 'T', "threads", "N", "compression workers (default: one per CPU)" },
	{ OPT_SIGN, 0, "sign", "KEY.pem",
	  "sign with this EC P-256 private key; also writes OUT.sig" },
	DY_OPTS_DISPLAY,
	{ OPT_HELP, 'h', "help", NULL, "show this help" },
	{ OPT_VERSION, 'V', "version", NULL, "show the version" },
	{ 0, 0, NULL, NULL, NULL },
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: dockyard-build [build|lock] --manifest FILE [options]\n"
		"\n"
		"build  fetch the artifacts the manifest names, verify each against the\n"
		"       lock, take out the wanted members and pack them with the installer\n"
		"       stub into one self-verifying installer; SHA256SUMS, an SPDX SBOM\n"
		"       and build info are written beside it.  SOURCE_DATE_EPOCH sets every\n"
		"       timestamp (default %llu): the same inputs give the same bytes.\n"
		"lock   fetch every artifact of every component and architecture and\n"
		"       rewrite the lock file with their sha256 (review it like code).\n"
		"\n"
		"options:\n",
		DY_DEFAULT_EPOCH);
	dy_opts_help(out, options);
	fprintf(out, "\nexit status: 0 done, 1 build or lock failed, 2 usage error\n");
}

static int
parse_int(const char *what, const char *s, long min, long max, int *out)
{
	struct dy_err err;
	long v;

	if (dy_opt_long(what, s, min, max, &v, &err) < 0) {
		dy_error("%s", err.msg);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
build_epoch(uint64_t *epoch)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	unsigned long long v;

	*epoch = DY_DEFAULT_EPOCH;
	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || s[0] < '0' || s[0] > '9' || v > 253402300799ull) {
		dy_error("SOURCE_DATE_EPOCH '%s' must be seconds since 1970 (digits only)", s);
		return -1;
	}
	*epoch = v;
	return 0;
}

/* The stub beside this program (a checkout's dist/), else the one
 * installed with it. */
static const char *
default_stub(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(path, sizeof(path), "%s/dockyard-installer-stub", dirname(self));
		if (access(path, F_OK) == 0)
			return path;
	}
	if (access(DY_STUB_PATH, F_OK) == 0)
		return DY_STUB_PATH;
	dy_error("no installer stub: neither %s (beside this program) nor %s (where it is "
		 "installed) exists; pass --stub FILE",
		 n > 0 ? path : "dockyard-installer-stub", DY_STUB_PATH);
	return NULL;
}

/* Another machine's stub lives in ARCH/ beside the default one (make arm64
 * writes dist/aarch64/dockyard-installer-stub); without it the default
 * stays, and the builder names the mismatch if there is one. */
static const char *
arch_stub(const char *stub, const char *arch)
{
	static char path[PATH_MAX];
	char dir[PATH_MAX], base[PATH_MAX];

	if (arch == NULL || strchr(arch, '/') != NULL)
		return stub;
	snprintf(dir, sizeof(dir), "%s", stub);
	snprintf(base, sizeof(base), "%s", stub);
	if (snprintf(path, sizeof(path), "%s/%s/%s", dirname(dir), arch, basename(base)) >=
		    (int)sizeof(path) ||
	    access(path, F_OK) != 0)
		return stub;
	return path;
}

static void
progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	dy_progress("packing entries", done, total, 0);
}

struct cli {
	const char *command;
	struct dy_build_opts b;
	const char **mirrors, **selects, **withs;
};

static int
parse_number(int id, const char *arg, struct dy_pack_opts *o)
{
	if (id == OPT_LEVEL)
		return parse_int("--level", arg, 1, 19, &o->level);
	if (id == OPT_WINDOW)
		return parse_int("--window-log", arg, DY_WINDOW_LOG_MIN, DY_WINDOW_LOG_MAX,
				 &o->window_log);
	return parse_int("--threads", arg, 1, 64, &o->threads);
}

static int
parse_word(struct cli *c, const char *word)
{
	if (c->command == NULL && (strcmp(word, "build") == 0 || strcmp(word, "lock") == 0)) {
		c->command = word;
		return 0;
	}
	dy_error("unexpected argument '%s' (see --help)", word);
	return -1;
}

/* An option naming a file, directory or value kept as given; 1 for any
 * other option. */
static int
take_string(struct dy_build_opts *b, int id, const char *arg)
{
	switch (id) {
	case OPT_MANIFEST:
		b->manifest_path = arg;
		break;
	case OPT_LOCK:
		b->lock_path = arg;
		break;
	case OPT_OUT:
		b->pack.out_path = arg;
		break;
	case OPT_STUB:
		b->pack.stub_path = arg;
		break;
	case OPT_SCRIPTS:
		b->scripts_dir = arg;
		break;
	case OPT_ARCH:
		b->arch = arg;
		break;
	case OPT_CACHE:
		b->cache_dir = arg;
		break;
	case OPT_SIGN:
		b->pack.sign_key = arg;
		break;
	default:
		return 1;
	}
	return 0;
}

/* The repeatable options, the flags and the numbers. */
static int
take_other(struct cli *c, int id, const char *arg)
{
	struct dy_build_opts *b = &c->b;

	switch (id) {
	case OPT_MIRROR:
		c->mirrors[b->nmirrors++] = arg;
		break;
	case OPT_OFFLINE:
		b->offline = 1;
		break;
	case OPT_SELECT:
		c->selects[b->nselects++] = arg;
		break;
	case OPT_WITH:
		c->withs[b->nwiths++] = arg;
		break;
	case OPT_NO_DIST:
		b->no_dist_files = 1;
		break;
	case OPT_LEVEL:
	case OPT_WINDOW:
	case OPT_THREADS:
		return parse_number(id, arg, &b->pack);
	case OPT_HELP:
		usage(stdout);
		exit(0);
	case OPT_VERSION:
		printf("dockyard-build %s\n", DY_VERSION);
		exit(0);
	}
	return 0;
}

static int
take_arg(void *ctx, int id, const char *arg, struct dy_err *err)
{
	struct cli *c = ctx;
	int rc;

	(void)err; /* the handlers report their own errors */
	if (id == DY_OPT_WORD)
		return parse_word(c, arg);
	if ((rc = take_string(&c->b, id, arg)) == 1)
		rc = take_other(c, id, arg);
	return rc;
}

static int
parse_args(int argc, char **argv, struct cli *c)
{
	return dy_opts_parse_argv(argc, argv, options, take_arg, c);
}

static int
run_build(struct dy_build_opts *b)
{
	struct dy_pack_opts *o = &b->pack;
	struct dy_pack_result res;
	char hex[DY_SHA256_HEX];
	struct dy_err err;
	int stub_given = o->stub_path != NULL;

	if (o->stub_path == NULL && (o->stub_path = default_stub()) == NULL)
		return EXIT_USAGE;
	if (!stub_given)
		o->stub_path = arch_stub(o->stub_path, b->arch);
	if (build_epoch(&o->epoch) < 0)
		return EXIT_USAGE;
	dy_say(DY_VERBOSE, "building %s with stub %s (zstd level %d, window 2^%d)",
	       b->manifest_path, o->stub_path, o->level, o->window_log);
	if (dy_build(b, &res, &err) < 0) {
		dy_progress_end();
		dy_error("%s", err.msg);
		return EXIT_FAIL;
	}
	dy_progress_end();
	dy_hex_encode(res.digest, DY_SHA256_LEN, hex);
	dy_say(DY_NORMAL, "wrote %s: %llu bytes (stub %llu, payload %llu from %llu tar bytes)",
	       o->out_path, (unsigned long long)res.size, (unsigned long long)res.stub_len,
	       (unsigned long long)res.payload_len, (unsigned long long)res.tar_len);
	dy_say(DY_VERBOSE, "trailer sha256 %s", hex);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli c;
	struct dy_err err;
	int rc;

	dy_log_init(argv[0]);
	memset(&c, 0, sizeof(c));
	c.b.pack.out_path = "dist/dockyard-installer";
	c.b.pack.level = DY_DEFAULT_LEVEL;
	c.b.pack.window_log = DY_DEFAULT_WINDOW_LOG;
	c.b.pack.progress = progress;
	c.b.builtin_scripts_dir = DY_SCRIPTS_DIR;
	/* Repeatable options: never more of them than arguments. */
	c.mirrors = calloc((size_t)argc + 1, sizeof(char *));
	c.selects = calloc((size_t)argc + 1, sizeof(char *));
	c.withs = calloc((size_t)argc + 1, sizeof(char *));
	if (c.mirrors == NULL || c.selects == NULL || c.withs == NULL)
		dy_die(EXIT_FAIL, "out of memory");
	c.b.mirrors = c.mirrors;
	c.b.selects = c.selects;
	c.b.withs = c.withs;
	if (parse_args(argc, argv, &c) < 0)
		rc = EXIT_USAGE;
	else if (c.b.manifest_path == NULL) {
		dy_error("--manifest FILE is required (see --help)");
		rc = EXIT_USAGE;
	} else if (c.command && strcmp(c.command, "lock") == 0) {
		rc = 0;
		if (dy_lock_update(&c.b, &err) < 0) {
			dy_error("%s", err.msg);
			rc = EXIT_FAIL;
		}
	} else
		rc = run_build(&c.b);
	free(c.mirrors);
	free(c.selects);
	free(c.withs);
	return rc;
}
