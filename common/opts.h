/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One option table drives both parsing and --help, so the two never
 * disagree (curl's tool_getparam/tool_help idea).
 */
#ifndef DY_OPTS_H
#define DY_OPTS_H

#include <stdio.h>

#include "err.h"

struct dy_opt {
	int id;		 /* > 0; returned by dy_opts_next */
	char short_name; /* 0 when none */
	const char *long_name;
	const char *arg; /* placeholder ("FILE") or NULL for a flag */
	const char *help;
};

struct dy_opts_state {
	int argc;
	char **argv;
	int index;	    /* next argv element to look at */
	int only_words;	    /* after "--" */
	const char *optarg; /* argument of the option just returned, or the word */
};

/* -q and -v mean the same in every program: the table lists them with
 * DY_OPTS_DISPLAY and dy_opts_next applies them to dy_display_level itself. */
enum { DY_OPT_QUIET = 1000, DY_OPT_VERBOSE };
#define DY_OPTS_DISPLAY                                                                            \
	{ DY_OPT_QUIET, 'q', "quiet", NULL, "print errors only" },                                 \
	{                                                                                          \
		DY_OPT_VERBOSE, 'v', "verbose", NULL, "print each step (repeat for more)"          \
	}

enum {
	DY_OPT_END = -1,
	DY_OPT_ERROR = -2,
	DY_OPT_WORD = 0, /* a positional argument, in optarg */
};

void dy_opts_init(struct dy_opts_state *st, int argc, char **argv, int first);
int dy_opts_next(struct dy_opts_state *st, const struct dy_opt *table, struct dy_err *err);
/* One option or word (id DY_OPT_WORD, the word in arg) for dy_opts_parse:
 * 0, or -1 with err set (or left empty when it reported the error itself). */
typedef int (*dy_opt_take_fn)(void *ctx, int id, const char *arg, struct dy_err *err);

/* Every option and word of argv[first..], in order, through take.  0, or
 * -1: err says why, or is empty when take reported the error itself. */
int dy_opts_parse(int argc, char **argv, int first, const struct dy_opt *table, dy_opt_take_fn take,
		  void *ctx, struct dy_err *err);

/* A program's whole command line (argv[1..]) through take, as
 * dy_opts_parse; an error take did not report itself is said with
 * dy_error.  0, or -1 once the error is said. */
int dy_opts_parse_argv(int argc, char **argv, const struct dy_opt *table, dy_opt_take_fn take,
		       void *ctx);

void dy_opts_help(FILE *out, const struct dy_opt *table);

/* An option's decimal argument in min..max; the error names the option. */
int dy_opt_long(const char *option, const char *arg, long min, long max, long *out,
		struct dy_err *err);

#endif
