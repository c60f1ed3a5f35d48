/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/opts.h: one table drives parsing and --help.  Table-driven cases
 * feed an argv through dy_opts_next and compare every returned id and
 * argument, then how the walk ended.
 */
#include <stdlib.h>

#include "../../common/log.h"
#include "../../common/opts.h"
#include "harness.h"

enum { O_OUT = 1, O_VERBOSE, O_LEVEL, O_HELP };

static const struct dy_opt table[] = {
	{ O_OUT, 'o', "out", "PATH", "installer to write" },
	{ O_VERBOSE, 'v', "verbose", NULL, "print each step" },
	{ O_LEVEL, 0, "level", "N", "zstd level" },
	{ O_HELP, 'h', "help", NULL, "show this help" },
	{ 0, 0, NULL, NULL, NULL },
};

#define MAX_ARGS 8
#define MAX_RESULTS 8

struct result {
	int id;
	const char *arg; /* NULL: none expected */
};

struct opt_case {
	const char *args[MAX_ARGS]; /* NULL-terminated, argv[0] not included */
	struct result want[MAX_RESULTS];
	int nwant;
	const char *error; /* NULL: must end with DY_OPT_END; else a substring */
};

static const struct opt_case cases[] = {
	{ { "--out", "x" }, { { O_OUT, "x" } }, 1, NULL },
	{ { "--out=x" }, { { O_OUT, "x" } }, 1, NULL },
	{ { "--out=a=b" }, { { O_OUT, "a=b" } }, 1, NULL },
	{ { "--out=" }, { { O_OUT, "" } }, 1, NULL },
	{ { "-o", "x", "-v" }, { { O_OUT, "x" }, { O_VERBOSE, NULL } }, 2, NULL },
	{ { "-h", "--verbose", "--help" },
	  { { O_HELP, NULL }, { O_VERBOSE, NULL }, { O_HELP, NULL } },
	  3,
	  NULL },
	{ { "--level", "3", "--level=19" }, { { O_LEVEL, "3" }, { O_LEVEL, "19" } }, 2, NULL },
	/* An option's argument is taken verbatim, even if it looks like one. */
	{ { "--out", "--verbose" }, { { O_OUT, "--verbose" } }, 1, NULL },
	{ { "-o", "-" }, { { O_OUT, "-" } }, 1, NULL },
	{ { "build", "-v", "file" },
	  { { DY_OPT_WORD, "build" }, { O_VERBOSE, NULL }, { DY_OPT_WORD, "file" } },
	  3,
	  NULL },
	/* A lone "-" is a word (stdin by convention). */
	{ { "-" }, { { DY_OPT_WORD, "-" } }, 1, NULL },
	{ { "-v", "--", "-o", "--verbose", "--" },
	  { { O_VERBOSE, NULL },
	    { DY_OPT_WORD, "-o" },
	    { DY_OPT_WORD, "--verbose" },
	    { DY_OPT_WORD, "--" } },
	  4,
	  NULL },
	{ { "--" }, { { 0 } }, 0, NULL },
	{ { NULL }, { { 0 } }, 0, NULL },
	/* Errors stop the walk; the words before still come out. */
	{ { "w", "--nope" }, { { DY_OPT_WORD, "w" } }, 1, "unknown option --nope" },
	{ { "--nope=1" }, { { 0 } }, 0, "unknown option --nope=1" },
	{ { "-x" }, { { 0 } }, 0, "unknown option -x" },
	{ { "--verb" }, { { 0 } }, 0, "unknown option --verb" }, /* no abbreviations */
	{ { "--outx" }, { { 0 } }, 0, "unknown option --outx" },
	{ { "-vo" }, { { 0 } }, 0, "unknown option -vo" }, /* no bundling */
	{ { "-ofile" }, { { 0 } }, 0, "unknown option -ofile" },
	{ { "--out" }, { { 0 } }, 0, "--out needs an argument (PATH)" },
	{ { "-v", "-o" }, { { O_VERBOSE, NULL } }, 1, "--out needs an argument" },
	{ { "--level" }, { { 0 } }, 0, "--level needs an argument (N)" },
	{ { "--verbose=1" }, { { 0 } }, 0, "--verbose takes no argument" },
	{ { "--help=" }, { { 0 } }, 0, "--help takes no argument" },
};

static int
argv_of(const struct opt_case *c, char **argv)
{
	int argc = 0;

	argv[argc++] = (char *)"prog";
	while (argc - 1 < MAX_ARGS && c->args[argc - 1] != NULL) {
		argv[argc] = (char *)c->args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	return argc;
}

static int
same_arg(const char *got, const char *want)
{
	if (want == NULL || got == NULL)
		return want == got;
	return strcmp(got, want) == 0;
}

static void
run_case(size_t n, const struct opt_case *c)
{
	struct dy_err err = { 0 };
	struct dy_opts_state st;
	char *argv[MAX_ARGS + 2];
	int argc = argv_of(c, argv), id, i;

	dy_opts_init(&st, argc, argv, 1);
	for (i = 0; i < c->nwant; i++) {
		id = dy_opts_next(&st, table, &err);
		if (id != c->want[i].id || !same_arg(st.optarg, c->want[i].arg)) {
			printf("#   case %zu, result %d: got id %d arg '%s'\n", n, i, id,
			       st.optarg ? st.optarg : "(null)");
			CHECK(0);
			return;
		}
	}
	id = dy_opts_next(&st, table, &err);
	if (c->error == NULL) {
		if (id != DY_OPT_END)
			printf("#   case %zu: expected the end, got %d (%s)\n", n, id, err.msg);
		CHECK(id == DY_OPT_END);
		/* The end is sticky. */
		CHECK(dy_opts_next(&st, table, &err) == DY_OPT_END);
	} else {
		if (id != DY_OPT_ERROR)
			printf("#   case %zu: expected an error, got %d\n", n, id);
		CHECK(id == DY_OPT_ERROR);
		CHECK_STR_CONTAINS(err.msg, c->error);
	}
}

static void
test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(i, &cases[i]);
}

/* The first argument to look at is the caller's choice (subcommands). */
static void
test_first_index(void)
{
	char *argv[] = { (char *)"prog", (char *)"--bogus", (char *)"-v", NULL };
	struct dy_err err = { 0 };
	struct dy_opts_state st;

	dy_opts_init(&st, 3, argv, 2);
	CHECK(dy_opts_next(&st, table, &err) == O_VERBOSE);
	CHECK(dy_opts_next(&st, table, &err) == DY_OPT_END);

	dy_opts_init(&st, 3, argv, 3);
	CHECK(dy_opts_next(&st, table, &err) == DY_OPT_END);
}

/* optarg points into argv, and index moves past a taken argument, so the
 * caller can hand the rest of argv on. */
static void
test_optarg_and_index(void)
{
	char *argv[] = { (char *)"prog", (char *)"-o", (char *)"f", (char *)"w", NULL };
	struct dy_err err = { 0 };
	struct dy_opts_state st;

	dy_opts_init(&st, 4, argv, 1);
	CHECK(dy_opts_next(&st, table, &err) == O_OUT);
	CHECK(st.index == 3);
	CHECK(dy_opts_next(&st, table, &err) == DY_OPT_WORD);
	CHECK(st.optarg == argv[3]);
	CHECK(dy_opts_next(&st, table, &err) == DY_OPT_END);
}

static void
test_help_lists_every_option(void)
{
	char *text = NULL, *line;
	size_t len = 0, lines = 0;
	const struct dy_opt *o;
	FILE *f = open_memstream(&text, &len);

	CHECK(f != NULL);
	if (f == NULL)
		return;
	dy_opts_help(f, table);
	CHECK(fclose(f) == 0);
	if (text == NULL)
		return;

	CHECK_STR_CONTAINS(text, "-o, --out PATH");
	CHECK_STR_CONTAINS(text, "-v, --verbose ");
	CHECK_STR_CONTAINS(text, "    --level N");
	CHECK_STR_CONTAINS(text, "-h, --help ");
	for (o = table; o->id; o++)
		CHECK_STR_CONTAINS(text, o->help);
	/* Flags show no placeholder. */
	CHECK(strstr(text, "--verbose N") == NULL && strstr(text, "--verbose PATH") == NULL);
	CHECK(strstr(text, "(null)") == NULL);

	/* One line per option, each with its help text on the same line. */
	for (line = text; *line; line++)
		lines += *line == '\n';
	CHECK(lines == sizeof(table) / sizeof(table[0]) - 1);
	line = strstr(text, "--level N");
	CHECK(line != NULL && strstr(line, "zstd level") < strchr(line, '\n'));
	free(text);
}

/* -q and -v from DY_OPTS_DISPLAY are applied by dy_opts_next itself and
 * never reach the caller. */
static void
test_display_options(void)
{
	static const struct dy_opt display_table[] = {
		{ O_OUT, 'o', "out", "PATH", "installer to write" },
		DY_OPTS_DISPLAY,
		{ 0, 0, NULL, NULL, NULL },
	};
	char *argv[] = { (char *)"prog", (char *)"-v",	      (char *)"--verbose",
			 (char *)"x",	 (char *)"-q",	      (char *)"-o",
			 (char *)"f",	 (char *)"--quiet=1", NULL };
	int saved = dy_display_level;
	struct dy_err err = { 0 };
	struct dy_opts_state st;

	dy_display_level = DY_NORMAL;
	dy_opts_init(&st, 8, argv, 1);
	CHECK(dy_opts_next(&st, display_table, &err) == DY_OPT_WORD);
	CHECK(st.optarg != NULL && strcmp(st.optarg, "x") == 0);
	CHECK(dy_display_level == DY_DEBUG);
	CHECK(dy_opts_next(&st, display_table, &err) == O_OUT);
	CHECK(dy_display_level == DY_QUIET);
	CHECK(dy_opts_next(&st, display_table, &err) == DY_OPT_ERROR);
	CHECK_STR_CONTAINS(err.msg, "--quiet takes no argument");
	CHECK(dy_opts_next(&st, display_table, &err) == DY_OPT_END);
	dy_display_level = saved;
}

/* dy_opts_parse hands each option and word to take, in order; a parse
 * error fills err; take's own -1 stops the walk with err as take left it. */
struct seen {
	int ids[MAX_RESULTS];
	int n;
	int fail_at; /* id whose take fails; -1: none */
};

static int
take_seen(void *ctx, int id, const char *arg, struct dy_err *err)
{
	struct seen *s = ctx;

	(void)arg;
	if (s->n < MAX_RESULTS)
		s->ids[s->n++] = id;
	if (id == s->fail_at)
		return dy_errf(err, "take refused %d", id);
	return 0;
}

static void
test_parse(void)
{
	char *argv[] = { (char *)"prog",      (char *)"w",	(char *)"-o", (char *)"f",
			 (char *)"--level=3", (char *)"--nope", NULL };
	struct dy_err err = { 0 };
	struct seen s = { { 0 }, 0, -1 };

	CHECK(dy_opts_parse(5, argv, 1, table, take_seen, &s, &err) == 0);
	CHECK(s.n == 3 && s.ids[0] == DY_OPT_WORD && s.ids[1] == O_OUT && s.ids[2] == O_LEVEL);
	s.n = 0;
	CHECK(dy_opts_parse(6, argv, 1, table, take_seen, &s, &err) == -1);
	CHECK(s.n == 3);
	CHECK_STR_CONTAINS(err.msg, "unknown option --nope");
	s.n = 0;
	s.fail_at = O_OUT;
	CHECK(dy_opts_parse(6, argv, 1, table, take_seen, &s, &err) == -1);
	CHECK(s.n == 2);
	CHECK_STR_CONTAINS(err.msg, "take refused 1");
}

int
main(void)
{
	RUN(test_table);
	RUN(test_first_index);
	RUN(test_optarg_and_index);
	RUN(test_help_lists_every_option);
	RUN(test_display_options);
	RUN(test_parse);
	return DONE();
}
