/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dy-fetch: test-only driver over dy_fetch_all, so scripts can exercise
 * the fetcher (retries, resume, mirrors, offline mode) against a local
 * server.  Never shipped.
 *
 *   dy-fetch --cache DIR [--mirror M]... [--offline] [--parallel N]
 *            [--retries N] [--backoff-ms N] [--connect-timeout S]
 *            [--low-speed-time S] [-q] [-v] NAME URL SHA256|- [...]
 *
 * Prints "NAME sha256 path" per item; exit 0 when all were fetched, 1 when
 * any failed (each reason on stderr), 2 on a usage error.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/fetch.h"
#include "../../common/log.h"
#include "../../common/opts.h"

enum {
	OPT_CACHE = 1,
	OPT_MIRROR,
	OPT_OFFLINE,
	OPT_PARALLEL,
	OPT_RETRIES,
	OPT_BACKOFF,
	OPT_CONNECT,
	OPT_LOW_SPEED,
};

static const struct dy_opt options[] = {
	{ OPT_CACHE, 0, "cache", "DIR", "cache directory (required)" },
	{ OPT_MIRROR, 0, "mirror", "M", "mirror URL prefix or directory (repeatable)" },
	{ OPT_OFFLINE, 0, "offline", NULL, "cache and on-disk mirrors only" },
	{ OPT_PARALLEL, 0, "parallel", "N", "concurrent transfers" },
	{ OPT_RETRIES, 0, "retries", "N", "extra attempts on transient errors (-1: none)" },
	{ OPT_BACKOFF, 0, "backoff-ms", "N", "first retry delay" },
	{ OPT_CONNECT, 0, "connect-timeout", "S", "connect timeout in seconds" },
	{ OPT_LOW_SPEED, 0, "low-speed-time", "S", "abort below 1 KiB/s for this long" },
	DY_OPTS_DISPLAY,
	{ 0, 0, NULL, NULL, NULL },
};

struct args {
	struct dy_fetch_opts o;
	const char **mirrors;
	const char **words;
	size_t nwords;
};

static int
parse_long(const char *what, const char *s, long min, long max, long *out)
{
	struct dy_err err;

	if (dy_opt_long(what, s, min, max, out, &err) < 0) {
		dy_error("%s", err.msg);
		return -1;
	}
	return 0;
}

static int
take_option(struct args *a, int id, const char *arg)
{
	long v = 0;

	switch (id) {
	case OPT_CACHE:
		a->o.cache_dir = arg;
		return 0;
	case OPT_MIRROR:
		a->mirrors[a->o.nmirrors++] = arg;
		return 0;
	case OPT_OFFLINE:
		a->o.offline = 1;
		return 0;
	case OPT_PARALLEL:
		if (parse_long("--parallel", arg, 1, 64, &v) < 0)
			return -1;
		a->o.max_parallel = (int)v;
		return 0;
	case OPT_RETRIES:
		if (parse_long("--retries", arg, -1, 100, &v) < 0)
			return -1;
		a->o.retries = (int)v;
		return 0;
	case OPT_BACKOFF:
		if (parse_long("--backoff-ms", arg, 1, 600000, &v) < 0)
			return -1;
		a->o.backoff_ms = (unsigned)v;
		return 0;
	case OPT_CONNECT:
		return parse_long("--connect-timeout", arg, 1, 3600, &a->o.connect_timeout_s);
	case OPT_LOW_SPEED:
		return parse_long("--low-speed-time", arg, 1, 3600, &a->o.low_speed_time_s);
	}
	return -1;
}

static int
take_arg(void *ctx, int id, const char *arg, struct dy_err *err)
{
	struct args *a = ctx;

	(void)err; /* take_option reports its own errors */
	if (id != DY_OPT_WORD)
		return take_option(a, id, arg);
	a->words[a->nwords++] = arg;
	return 0;
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	if (dy_opts_parse_argv(argc, argv, options, take_arg, a) < 0)
		return -1;
	a->o.mirrors = a->mirrors;
	if (a->o.cache_dir == NULL || a->nwords == 0 || a->nwords % 3 != 0) {
		dy_error("usage: dy-fetch --cache DIR [options] NAME URL SHA256|- [...]");
		return -1;
	}
	return 0;
}

static int
make_items(const struct args *a, struct dy_fetch_item *items)
{
	size_t i;

	for (i = 0; i < a->nwords / 3; i++) {
		const char *sha = a->words[3 * i + 2];
		items[i].name = a->words[3 * i];
		items[i].url = a->words[3 * i + 1];
		items[i].pinned = strcmp(sha, "-") != 0;
		if (items[i].pinned && dy_hex_decode(sha, items[i].sha256, DY_SHA256_LEN) < 0) {
			dy_error("%s: sha256 '%s' is not 64 lowercase hex digits", items[i].name,
				 sha);
			return -1;
		}
	}
	return 0;
}

static int
report(const struct dy_fetch_item *items, size_t n)
{
	char hex[DY_SHA256_HEX];
	int failed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (items[i].error[0] != '\0') {
			dy_error("%s", items[i].error);
			failed = 1;
			continue;
		}
		dy_hex_encode(items[i].sha256, DY_SHA256_LEN, hex);
		printf("%s %s %s\n", items[i].name, hex, items[i].path);
	}
	return failed;
}

int
main(int argc, char **argv)
{
	struct dy_fetch_item *items = NULL;
	struct args a;
	struct dy_err err;
	int rc = 2;

	dy_log_init(argv[0]);
	memset(&a, 0, sizeof(a));
	a.mirrors = calloc((size_t)argc, sizeof(*a.mirrors));
	a.words = calloc((size_t)argc, sizeof(*a.words));
	if (a.mirrors == NULL || a.words == NULL || parse_args(argc, argv, &a) < 0)
		goto out;
	items = calloc(a.nwords / 3, sizeof(*items));
	if (items == NULL || make_items(&a, items) < 0)
		goto out;
	rc = dy_fetch_all(items, a.nwords / 3, &a.o, &err) < 0;
	/* Each failed item says why; err alone covers setup failures. */
	if (report(items, a.nwords / 3) == 0 && rc)
		dy_error("%s", err.msg);
	else if (rc)
		dy_say(DY_VERBOSE, "%s", err.msg);
out:
	free(items);
	free(a.mirrors);
	free(a.words);
	return rc;
}
