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

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

enum {
	OPT_MANIFEST = 1,
	OPT_OUT,
	OPT_STUB,
	OPT_LEVEL,
	OPT_WINDOW,
	OPT_THREADS,
	OPT_SIGN,
	OPT_HELP,
	OPT_VERSION,
};

static const struct dy_opt options[] = {
	{ OPT_MANIFEST, 'm', "manifest", "FILE", "payload manifest to build from (required)" },
	{ OPT_OUT, 'o', "out", "PATH", "installer to write (default: dist/dockyard-installer)" },
	{ OPT_STUB, 0, "stub", "FILE",
	  "installer stub (default: dockyard-installer-stub beside this program)" },
	{ OPT_LEVEL, 'l', "level", "N", "zstd level 1..19 (default 19; tests use 3)" },
	{ OPT_WINDOW, 0, "window-log", "N",
	  "zstd window, 2^N bytes, 10..27 (default 25; bounds installer memory)" },
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
		"usage: dockyard-build [build] --manifest FILE [--out PATH] [options]\n"
		"\n"
		"Packs the files a manifest names into one self-verifying installer:\n"
		"the installer stub, a deterministic tar.zst payload, metadata and a\n"
		"trailer whose SHA-256 covers the whole file.  SOURCE_DATE_EPOCH sets the\n"
		"timestamp of every member (default %llu).\n"
		"\n"
		"options:\n",
		DY_DEFAULT_EPOCH);
	dy_opts_help(out, options);
	fprintf(out, "\nexit status: 0 built, 1 build failed, 2 usage error\n");
}

static int
parse_int(const char *what, const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < min || v > max) {
		dy_error("%s '%s' must be an integer in %ld..%ld", what, s, min, max);
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

static char *
default_stub(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/dockyard-installer-stub", dirname(self));
	return path;
}

static void
progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	dy_progress("packing entries", done, total, 0);
}

static int
parse_args(int argc, char **argv, const char **manifest, struct dy_pack_opts *o)
{
	struct dy_opts_state st;
	struct dy_err err;
	int id;

	dy_opts_init(&st, argc, argv, 1);
	while ((id = dy_opts_next(&st, options, &err)) != DY_OPT_END) {
		switch (id) {
		case DY_OPT_ERROR:
			dy_error("%s", err.msg);
			return -1;
		case DY_OPT_WORD:
			if (strcmp(st.optarg, "build") != 0) {
				dy_error("unknown command '%s' (see --help)", st.optarg);
				return -1;
			}
			break;
		case OPT_MANIFEST:
			*manifest = st.optarg;
			break;
		case OPT_OUT:
			o->out_path = st.optarg;
			break;
		case OPT_STUB:
			o->stub_path = st.optarg;
			break;
		case OPT_LEVEL:
			if (parse_int("--level", st.optarg, 1, 19, &o->level) < 0)
				return -1;
			break;
		case OPT_WINDOW:
			if (parse_int("--window-log", st.optarg, DY_WINDOW_LOG_MIN,
				      DY_WINDOW_LOG_MAX, &o->window_log) < 0)
				return -1;
			break;
		case OPT_THREADS:
			if (parse_int("--threads", st.optarg, 1, 64, &o->threads) < 0)
				return -1;
			break;
		case OPT_SIGN:
			o->sign_key = st.optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("dockyard-build %s\n", DY_VERSION);
			exit(0);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct dy_build_opts b = {
		.pack = {
			.out_path = "dist/dockyard-installer",
			.level = DY_DEFAULT_LEVEL,
			.window_log = DY_DEFAULT_WINDOW_LOG,
			.progress = progress,
		},
	};
	struct dy_pack_opts *o = &b.pack;
	struct dy_pack_result res;
	char hex[DY_SHA256_HEX];
	struct dy_err err;

	dy_log_init(argv[0]);
	if (parse_args(argc, argv, &b.manifest_path, o) < 0)
		return EXIT_USAGE;
	if (b.manifest_path == NULL) {
		dy_error("--manifest FILE is required (see --help)");
		return EXIT_USAGE;
	}
	if (o->stub_path == NULL && (o->stub_path = default_stub()) == NULL) {
		dy_error("cannot locate the installer stub; pass --stub FILE");
		return EXIT_USAGE;
	}
	if (build_epoch(&o->epoch) < 0)
		return EXIT_USAGE;
	dy_say(DY_VERBOSE, "building %s with stub %s (zstd level %d, window 2^%d)", b.manifest_path,
	       o->stub_path, o->level, o->window_log);
	if (dy_build(&b, &res, &err) < 0) {
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
