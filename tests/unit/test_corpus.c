/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C side of the conformance corpus, tests/corpus/: rules that both the
 * installer (C) and dockyardctl (shell) implement.  tests/t/t0025-corpus.sh
 * runs the same cases through the shell functions; both must give the
 * answer each case expects.  The case format is described at the top of
 * every corpus file.
 */
#include <errno.h>
#include <stdlib.h>

#include "../../installer/config.h"
#include "../../installer/receipt.h"
#include "../../installer/steps.h"
#include "harness.h"

#define CORPUS_DIR "tests/corpus"
#define RECEIPT_HEAD "dockyard-receipt 1\nroot /dy1\n"
#define CASE_MAX 4096

/* A check: 0 accepts, -1 refuses with err. */
typedef int (*check_fn)(const char *input, size_t len, struct dy_err *err);

/* Decode \t \n \r \\ and \c (end here, and no line break after) into out;
 * returns the length, or -1 for an unknown escape.  *more says whether a
 * line break follows. */
static long
decode(const char *in, char *out, size_t size, int *more)
{
	static const char from[] = "tnr\\", to[] = "\t\n\r\\";
	const char *esc;
	size_t n = 0;

	*more = 1;
	for (; *in && n + 1 < size; in++) {
		if (*in != '\\') {
			out[n++] = *in;
			continue;
		}
		in++;
		if (*in == 'c') {
			*more = 0;
			break;
		}
		if (*in == '\0' || (esc = strchr(from, *in)) == NULL)
			return -1;
		out[n++] = to[esc - from];
	}
	out[n] = '\0';
	return (long)n;
}

static int
parse_receipt(const char *text, size_t len, struct dy_err *err)
{
	struct dy_receipt r;

	if (dy_receipt_parse(text, len, &r, err) < 0)
		return -1;
	dy_receipt_free(&r);
	return 0;
}

static int
check_receipt_lines(const char *input, size_t len, struct dy_err *err)
{
	char text[CASE_MAX + sizeof(RECEIPT_HEAD)];

	memcpy(text, RECEIPT_HEAD, strlen(RECEIPT_HEAD));
	memcpy(text + strlen(RECEIPT_HEAD), input, len);
	return parse_receipt(text, strlen(RECEIPT_HEAD) + len, err);
}

static int
check_receipt_text(const char *input, size_t len, struct dy_err *err)
{
	return parse_receipt(input, len, err);
}

static int
check_env_value(const char *input, size_t len, struct dy_err *err)
{
	char kv[CASE_MAX], *eq;
	struct dy_config c;

	(void)len;
	snprintf(kv, sizeof(kv), "%s", input);
	if ((eq = strchr(kv, '=')) == NULL)
		return dy_errf(err, "case '%s' is not KEY=VALUE", input);
	*eq = '\0';
	dy_config_init(&c);
	return dy_config_set(&c, kv, eq + 1, err);
}

static int
check_root(const char *input, size_t len, struct dy_err *err)
{
	struct dy_config c;

	(void)len;
	dy_config_init(&c);
	return dy_config_set(&c, "DOCKYARD_ROOT", input, err);
}

/* One accept/refuse case file; returns the number of cases, or -1. */
static int
run_cases(const char *name, check_fn check)
{
	char path[256], line[CASE_MAX], input[CASE_MAX], *tab;
	int cases = 0, lineno = 0, more, expect;
	struct dy_err err;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, name);
	if ((f = fopen(path, "r")) == NULL) {
		printf("#   cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		tab = strchr(line, '\t');
		expect = tab && tab - line == 6 && strncmp(line, "accept", 6) == 0   ? 0
			 : tab && tab - line == 6 && strncmp(line, "refuse", 6) == 0 ? -1
										     : 1;
		n = expect == 1 ? -1 : decode(tab + 1, input, sizeof(input) - 1, &more);
		if (n < 0) {
			printf("#   %s:%d: not a case (accept|refuse, a tab, the input)\n", path,
			       lineno);
			cases = -1;
			break;
		}
		if (more)
			input[n++] = '\n';
		err.msg[0] = '\0';
		if (check(input, (size_t)n, &err) != expect) {
			printf("#   %s:%d: expected %s, C %s: %s (%s)\n", path, lineno,
			       expect ? "refuse" : "accept", expect ? "accepts" : "refuses",
			       tab + 1, err.msg);
			h_failures++;
			h_test_failed = 1;
		}
		cases++;
	}
	fclose(f);
	return cases;
}

/* A value is the input without the line break the case adds. */
static int
strip_nl_then(check_fn check, const char *input, size_t len, struct dy_err *err)
{
	char copy[CASE_MAX];

	if (len > 0 && input[len - 1] == '\n')
		len--;
	memcpy(copy, input, len);
	copy[len] = '\0';
	return check(copy, len, err);
}

static int
check_env_line(const char *input, size_t len, struct dy_err *err)
{
	return strip_nl_then(check_env_value, input, len, err);
}

static int
check_root_line(const char *input, size_t len, struct dy_err *err)
{
	return strip_nl_then(check_root, input, len, err);
}

static int total;

/* The accept/refuse files and the C check each case goes through. */
static const struct {
	const char *file;
	check_fn check;
} corpora[] = {
	{ "receipt-lines", check_receipt_lines },
	{ "receipt-texts", check_receipt_text },
	{ "env-values", check_env_line },
	{ "root-paths", check_root_line },
};

static void
test_accept_refuse(void)
{
	size_t i;
	int n;

	for (i = 0; i < sizeof(corpora) / sizeof(corpora[0]); i++) {
		n = run_cases(corpora[i].file, corpora[i].check);
		if (n <= 0)
			printf("#   %s: no cases\n", corpora[i].file);
		CHECK(n > 0);
		total += n > 0 ? n : 0;
	}
}

/* ROOT, the lock beside it, and a destroy's state directory beside it. */
static void
test_beside_root(void)
{
	char line[CASE_MAX], got[DY_ROOT_MAX + 64], *root, *lock, *state;
	struct dy_config c;
	struct dy_err err;
	int n = 0;
	FILE *f = fopen(CORPUS_DIR "/beside-root", "r");

	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		root = strtok(line, "\t"), lock = strtok(NULL, "\t"), state = strtok(NULL, "\t");
		CHECK(root && lock && state && strtok(NULL, "\t") == NULL);
		if (!(root && lock && state))
			break;
		dy_config_init(&c);
		CHECK(dy_config_set(&c, "DOCKYARD_ROOT", root, &err) == 0);
		CHECK(beside_root("", c.root, "dockyard-lock", got, sizeof(got), &err) == 0);
		if (strcmp(got, lock) != 0)
			printf("#   %s: lock %s, expected %s\n", root, got, lock);
		CHECK(strcmp(got, lock) == 0);
		CHECK(beside_root("", c.root, "dockyard-destroy", got, sizeof(got), &err) == 0);
		if (strcmp(got, state) != 0)
			printf("#   %s: destroy state %s, expected %s\n", root, got, state);
		CHECK(strcmp(got, state) == 0);
		n++;
	}
	if (f)
		fclose(f);
	CHECK(n > 0);
	total += n;
}

int
main(void)
{
	RUN(test_accept_refuse);
	RUN(test_beside_root);
	printf("# %d corpus cases\n", total);
	return DONE();
}
