/* SPDX-License-Identifier: Apache-2.0 */
#include "opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void
dy_opts_init(struct dy_opts_state *st, int argc, char **argv, int first)
{
	memset(st, 0, sizeof(*st));
	st->argc = argc;
	st->argv = argv;
	st->index = first;
}

static const struct dy_opt *
find_long(const struct dy_opt *t, const char *name, size_t len)
{
	for (; t->id; t++)
		if (strlen(t->long_name) == len && strncmp(t->long_name, name, len) == 0)
			return t;
	return NULL;
}

static const struct dy_opt *
find_short(const struct dy_opt *t, char c)
{
	for (; t->id; t++)
		if (t->short_name == c)
			return t;
	return NULL;
}

static int
take_arg(struct dy_opts_state *st, const struct dy_opt *o, const char *inline_arg,
	 struct dy_err *err)
{
	if (o->arg == NULL) {
		if (inline_arg != NULL)
			return dy_errf(err, "option --%s takes no argument", o->long_name);
		st->optarg = NULL;
		return o->id;
	}
	if (inline_arg != NULL) {
		st->optarg = inline_arg;
		return o->id;
	}
	if (st->index >= st->argc)
		return dy_errf(err, "option --%s needs an argument (%s)", o->long_name, o->arg);
	st->optarg = st->argv[st->index++];
	return o->id;
}

static int next_option(struct dy_opts_state *st, const struct dy_opt *table, struct dy_err *err);

int
dy_opts_next(struct dy_opts_state *st, const struct dy_opt *table, struct dy_err *err)
{
	int id;

	for (;;) {
		id = next_option(st, table, err);
		if (id == DY_OPT_QUIET)
			dy_display_level = DY_QUIET;
		else if (id == DY_OPT_VERBOSE)
			dy_display_level++;
		else
			return id;
	}
}

int
dy_opts_parse(int argc, char **argv, int first, const struct dy_opt *table, dy_opt_take_fn take,
	      void *ctx, struct dy_err *err)
{
	struct dy_opts_state st;
	int id;

	dy_opts_init(&st, argc, argv, first);
	while ((id = dy_opts_next(&st, table, err)) != DY_OPT_END) {
		if (id == DY_OPT_ERROR)
			return -1;
		err->msg[0] = '\0';
		if (take(ctx, id, st.optarg, err) < 0)
			return -1;
	}
	return 0;
}

int
dy_opts_parse_argv(int argc, char **argv, const struct dy_opt *table, dy_opt_take_fn take,
		   void *ctx)
{
	struct dy_err err;

	if (dy_opts_parse(argc, argv, 1, table, take, ctx, &err) == 0)
		return 0;
	if (err.msg[0])
		dy_error("%s", err.msg);
	return -1;
}

static int
next_option(struct dy_opts_state *st, const struct dy_opt *table, struct dy_err *err)
{
	const struct dy_opt *o;
	const char *a, *eq;
	int rc;

	if (st->index >= st->argc)
		return DY_OPT_END;
	a = st->argv[st->index++];
	if (st->only_words || a[0] != '-' || a[1] == '\0') {
		st->optarg = a;
		return DY_OPT_WORD;
	}
	if (strcmp(a, "--") == 0) {
		st->only_words = 1;
		return next_option(st, table, err);
	}
	if (a[1] == '-') {
		eq = strchr(a + 2, '=');
		o = find_long(table, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
		if (o == NULL) {
			dy_errf(err, "unknown option %s (see --help)", a);
			return DY_OPT_ERROR;
		}
		rc = take_arg(st, o, eq ? eq + 1 : NULL, err);
		return rc < 0 ? DY_OPT_ERROR : rc;
	}
	if (a[2] != '\0' || (o = find_short(table, a[1])) == NULL) {
		dy_errf(err, "unknown option %s (see --help)", a);
		return DY_OPT_ERROR;
	}
	rc = take_arg(st, o, NULL, err);
	return rc < 0 ? DY_OPT_ERROR : rc;
}

void
dy_opts_help(FILE *out, const struct dy_opt *t)
{
	char left[64];

	for (; t->id; t++) {
		if (t->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", t->short_name, t->long_name,
				 t->arg ? " " : "", t->arg ? t->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", t->long_name,
				 t->arg ? " " : "", t->arg ? t->arg : "");
		fprintf(out, "  %-28s %s\n", left, t->help);
	}
}

int
dy_opt_long(const char *option, const char *arg, long min, long max, long *out, struct dy_err *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end != '\0' || v < min || v > max)
		return dy_errf(err, "%s '%s' must be an integer in %ld..%ld", option, arg, min,
			       max);
	*out = v;
	return 0;
}
