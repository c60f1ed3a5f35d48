/* SPDX-License-Identifier: Apache-2.0 */
/*
 * installer/receipt.h: the install receipt that dockyardctl destroy reads
 * with a shell loop, so parsing is strict (kinds, field shapes, one space
 * between fields) and every error names its line.
 */
#include <stdlib.h>

#include "../../installer/receipt.h"
#include "harness.h"

static const char good[] = "dockyard-receipt 1\n"
			   "root /dy1\n"
			   "prefix dy1\n"
			   "dir /dy1\n"
			   "file /etc/systemd/system/dy1docker.service\n"
			   "group dy1docker\n"
			   "user dy1docker\n"
			   "subuid dy1docker 165536 65536\n"
			   "subgid dy1docker 165536 65536\n"
			   "apparmor /etc/apparmor.d/local/fusermount3 dy1\n"
			   "registry /etc/dockyard/instances/dy1\n"
			   "lock /.dy1.dockyard-lock\n";

static int
parse(const char *text, struct dy_receipt *r, struct dy_err *err)
{
	return dy_receipt_parse(text, strlen(text), r, err);
}

static void
test_round_trip(void)
{
	struct dy_err err = { 0 };
	struct dy_receipt r;
	size_t len = 0;
	char *out = NULL;

	CHECK(parse(good, &r, &err) == 0);
	if (r.nlines == 0) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK(r.nlines == 11);
	CHECK(strcmp(r.lines[0], "root /dy1") == 0);
	CHECK(strcmp(r.lines[10], "lock /.dy1.dockyard-lock") == 0);
	CHECK(dy_receipt_has(&r, "subuid dy1docker 165536 65536"));
	CHECK(!dy_receipt_has(&r, "subuid dy1docker 165536"));
	CHECK(!dy_receipt_has(&r, "subuid dy1docker 165536 65536 "));
	CHECK(dy_receipt_format(&r, &out, &len, &err) == 0);
	CHECK(out != NULL && len == strlen(good) && memcmp(out, good, len) == 0);
	free(out);
	dy_receipt_free(&r);
	CHECK(r.lines == NULL && r.nlines == 0);
}

static void
test_empty_receipt_formats_header(void)
{
	struct dy_err err = { 0 };
	struct dy_receipt r;
	size_t len = 0;
	char *out = NULL;

	dy_receipt_init(&r);
	CHECK(dy_receipt_format(&r, &out, &len, &err) == 0);
	CHECK(out && strcmp(out, "dockyard-receipt 1\n") == 0 && len == 19);
	free(out);
	CHECK(parse("dockyard-receipt 1\n", &r, &err) == 0 && r.nlines == 0);
	dy_receipt_free(&r);
}

static void
test_add_dedup(void)
{
	struct dy_err err = { 0 };
	struct dy_receipt r;
	size_t len = 0;
	char *out = NULL;

	CHECK(parse("dockyard-receipt 1\nroot /dy1\n", &r, &err) == 0);
	CHECK(dy_receipt_add(&r, &err, "root %s", "/dy1") == 0);
	CHECK(r.nlines == 1);
	CHECK(dy_receipt_add(&r, &err, "subuid %s %u %u", "dy1docker", 131072u, 65536u) == 0);
	CHECK(dy_receipt_add(&r, &err, "dir %s/%s", "/dy1", "lib") == 0);
	CHECK(dy_receipt_add(&r, &err, "subuid dy1docker 131072 65536") == 0);
	CHECK(r.nlines == 3);
	CHECK(dy_receipt_format(&r, &out, &len, &err) == 0);
	CHECK(out && strcmp(out, "dockyard-receipt 1\nroot /dy1\nsubuid dy1docker 131072 65536\n"
				 "dir /dy1/lib\n") == 0);
	free(out);
	dy_receipt_free(&r);
}

/* add refuses what parse would refuse, and leaves the receipt alone. */
static void
add_fails(struct dy_receipt *r, const char *line, const char *why)
{
	struct dy_err err = { 0 };
	size_t before = r->nlines;

	CHECK(dy_receipt_add(r, &err, "%s", line) == -1);
	CHECK(r->nlines == before);
	CHECK_STR_CONTAINS(err.msg, why);
}

static void
test_add_rejects_bad_lines(void)
{
	struct dy_receipt r;
	char longpath[DY_RECEIPT_MAX_LINE + 10];

	dy_receipt_init(&r);
	add_fails(&r, "dir /dy 1", "takes 1 field");
	add_fails(&r, "dir /dy1\nrm /", "newline");
	add_fails(&r, "dir relative", "must be absolute");
	add_fails(&r, "dir /", "must not be /");
	add_fails(&r, "file /dy1/*", "[A-Za-z0-9._/-]");
	add_fails(&r, "dir /dy1/../etc", ". or ..");
	add_fails(&r, "user Dy1", "[a-z0-9_]");
	add_fails(&r, "subuid dy1docker 0165536 65536", "leading zeros");
	add_fails(&r, "subuid dy1docker 4294967296 1", "below 2^32");
	add_fails(&r, "wipe /dy1", "unknown kind 'wipe'");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	add_fails(&r, longpath, "longer than");
	CHECK(r.nlines == 0);
	dy_receipt_free(&r);
}

static void
parse_fails_len(const char *text, size_t len, const char *where, const char *what)
{
	struct dy_err err = { 0 };
	struct dy_receipt r;

	CHECK(dy_receipt_parse(text, len, &r, &err) == -1);
	CHECK(r.lines == NULL && r.nlines == 0);
	CHECK_STR_CONTAINS(err.msg, where);
	CHECK_STR_CONTAINS(err.msg, what);
}

static void
parse_fails(const char *text, const char *where, const char *what)
{
	parse_fails_len(text, strlen(text), where, what);
}

static void
test_bad_lines_name_their_number(void)
{
	static const char nul[] = "dockyard-receipt 1\nroot /d\0y\n";

	parse_fails("", "line 1", "empty receipt");
	parse_fails("dockyard-receipt 2\nroot /dy1\n", "line 1", "unsupported receipt version '2'");
	parse_fails("root /dy1\n", "line 1", "not a dockyard receipt");
	parse_fails("dockyard-receipt 1\nroot /dy1\nbogus /x\n", "line 3", "unknown kind 'bogus'");
	parse_fails("dockyard-receipt 1\nroot /dy1\n\n", "line 3", "empty line");
	parse_fails("dockyard-receipt 1\n# comment\n", "line 2", "unknown kind '#'");
	parse_fails("dockyard-receipt 1\nroot  /dy1\n", "line 2", "one space");
	parse_fails("dockyard-receipt 1\nroot /dy1 \n", "line 2", "one space");
	parse_fails("dockyard-receipt 1\nroot\t/dy1\n", "line 2", "unknown kind");
	parse_fails("dockyard-receipt 1\nroot /dy1\nfile /a b\n", "line 3", "takes 1 field, not 2");
	parse_fails("dockyard-receipt 1\nsubuid dy1docker 165536\n", "line 2",
		    "takes 3 fields, not 2");
	parse_fails("dockyard-receipt 1\nsubgid dy1docker x 65536\n", "line 2",
		    "subgid field 2 'x'");
	parse_fails("dockyard-receipt 1\napparmor /etc/x DY1\n", "line 2", "apparmor field 2");
	parse_fails("dockyard-receipt 1\nfile /etc/a b\n", "line 2", "takes 1 field");
	parse_fails("dockyard-receipt 1\nfile /etc/$HOME\n", "line 2", "[A-Za-z0-9._/-]");
	parse_fails("dockyard-receipt 1\nroot /dy1\nroot /dy1\n", "line 3", "repeats line 2");
	parse_fails("dockyard-receipt 1\nroot /dy1", "line 2", "no newline");
	parse_fails_len(nul, sizeof(nul) - 1, "line 2", "[A-Za-z0-9._/-]");
}

int
main(void)
{
	RUN(test_round_trip);
	RUN(test_empty_receipt_formats_header);
	RUN(test_add_dedup);
	RUN(test_add_rejects_bad_lines);
	RUN(test_bad_lines_name_their_number);
	return DONE();
}
