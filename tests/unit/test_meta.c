/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify/meta.h: the metadata text is the installer's table of contents.
 * The builder writes it and the installer parses it back, so the two must
 * agree byte for byte, and the parser must refuse anything it did not
 * write, naming the line.
 */
#include <stdlib.h>

#include "../../verify/meta.h"
#include "harness.h"

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEAD "dockyard-payload 1\nbuilt 1700000000\n"
#define COMP HEAD "component demo 0.1.0\n"
/* Lines: 1 header, 2 built, 3 component, 4 dir, 5 file. */
#define GOOD COMP "dir 0755 bin\nfile demo 0755 5 " SHA_A " bin/hello\n"
#define FILE_A(path) "file demo 0644 5 " SHA_A " " path "\n"

static struct dy_entry
file_entry(const char *path, size_t component, unsigned mode, uint64_t size)
{
	struct dy_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.path, sizeof(e.path), "%s", path);
	e.mode = mode;
	e.size = size;
	e.component = component;
	/* A content digest unique to the path, so mixups show. */
	dy_sha256_buf(path, strlen(path), e.sha256);
	return e;
}

static struct dy_entry
dir_entry(const char *path, unsigned mode)
{
	struct dy_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.path, sizeof(e.path), "%s", path);
	e.is_dir = 1;
	e.mode = mode;
	return e;
}

static int
add(struct dy_meta *m, struct dy_entry e)
{
	struct dy_err err = { 0 };
	int rc = dy_meta_add_entry(m, &e, &err);

	if (rc != 0)
		printf("#   add %s: %s\n", e.path, err.msg);
	return rc;
}

/* Two components, files added out of order, some parents left implicit. */
static int
build_sample(struct dy_meta *m)
{
	struct dy_err err = { 0 };

	dy_meta_init(m);
	m->built = 1700000000;
	if (dy_meta_add_component(m, "demo", "0.1.0", &err) < 0 ||
	    dy_meta_add_component(m, "extra", "2.0~rc1", &err) < 0) {
		printf("#   %s\n", err.msg);
		return -1;
	}
	if (add(m, file_entry("share/doc/extra/README", 1, 0644, 42)) < 0 ||
	    add(m, file_entry("bin/hello", 0, 0755, 1234)) < 0 ||
	    add(m, dir_entry("etc", 0700)) < 0 || add(m, file_entry("etc/conf", 0, 0600, 0)) < 0 ||
	    add(m, file_entry("bin/a-tool", 1, 0750, 7)) < 0)
		return -1;
	if (dy_meta_finish(m, &err) < 0) {
		printf("#   finish: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
entries_equal(const struct dy_entry *a, const struct dy_entry *b)
{
	return strcmp(a->path, b->path) == 0 && a->is_dir == b->is_dir && a->mode == b->mode &&
	       a->size == b->size && memcmp(a->sha256, b->sha256, DY_SHA256_LEN) == 0 &&
	       (a->is_dir || a->component == b->component);
}

static int
metas_equal(const struct dy_meta *a, const struct dy_meta *b)
{
	size_t i;

	if (a->built != b->built || a->ncomponents != b->ncomponents || a->nentries != b->nentries)
		return 0;
	for (i = 0; i < a->ncomponents; i++) {
		const struct dy_component *ca = &a->components[i], *cb = &b->components[i];
		size_t k;
		if (strcmp(ca->name, cb->name) != 0 || strcmp(ca->version, cb->version) != 0 ||
		    ca->nattrs != cb->nattrs)
			return 0;
		for (k = 0; k < ca->nattrs; k++)
			if (strcmp(ca->attrs[k].key, cb->attrs[k].key) != 0 ||
			    strcmp(ca->attrs[k].value, cb->attrs[k].value) != 0)
				return 0;
	}
	for (i = 0; i < a->nentries; i++)
		if (!entries_equal(&a->entries[i], &b->entries[i]))
			return 0;
	if (a->nneeds != b->nneeds)
		return 0;
	for (i = 0; i < a->nneeds; i++) {
		size_t k;
		if (a->needs[i].entry != b->needs[i].entry ||
		    a->needs[i].nlibs != b->needs[i].nlibs)
			return 0;
		for (k = 0; k < a->needs[i].nlibs; k++)
			if (strcmp(a->needs[i].libs[k], b->needs[i].libs[k]) != 0)
				return 0;
	}
	return 1;
}

static void
test_finish_sorts_and_adds_parents(void)
{
	static const char *const want[] = {
		"bin",	     "bin/a-tool",	"bin/hello",
		"etc",	     "etc/conf",	"share",
		"share/doc", "share/doc/extra", "share/doc/extra/README",
	};
	const size_t n = sizeof(want) / sizeof(want[0]);
	const struct dy_entry *e;
	struct dy_meta m;
	size_t i;

	CHECK(build_sample(&m) == 0);
	CHECK(m.nentries == n);
	for (i = 0; i < n && i < m.nentries; i++)
		CHECK(strcmp(m.entries[i].path, want[i]) == 0);

	/* Added parents are 0755 directories... */
	e = dy_meta_find(&m, "share/doc");
	CHECK(e != NULL && e->is_dir && e->mode == 0755 && e->size == 0);
	e = dy_meta_find(&m, "bin");
	CHECK(e != NULL && e->is_dir && e->mode == 0755);
	/* ...but a listed directory keeps its own mode. */
	e = dy_meta_find(&m, "etc");
	CHECK(e != NULL && e->is_dir && e->mode == 0700);
	/* Files keep their component. */
	e = dy_meta_find(&m, "bin/a-tool");
	CHECK(e != NULL && !e->is_dir && e->component == 1 && e->mode == 0750 && e->size == 7);
	CHECK(dy_meta_total_size(&m) == 42 + 1234 + 0 + 7);
	dy_meta_free(&m);
	CHECK(m.entries == NULL && m.nentries == 0 && m.components == NULL);
}

static void
test_find(void)
{
	char longpath[400];
	const struct dy_entry *e;
	struct dy_meta m;
	uint8_t d[DY_SHA256_LEN];

	CHECK(build_sample(&m) == 0);
	e = dy_meta_find(&m, "bin/hello");
	CHECK(e != NULL);
	if (e != NULL) {
		dy_sha256_buf("bin/hello", 9, d);
		CHECK(strcmp(e->path, "bin/hello") == 0 && e->size == 1234);
		CHECK(memcmp(e->sha256, d, DY_SHA256_LEN) == 0);
	}
	CHECK(dy_meta_find(&m, "share/doc/extra/README") != NULL);
	CHECK(dy_meta_find(&m, "bin/nope") == NULL);
	CHECK(dy_meta_find(&m, "bin/") == NULL);
	CHECK(dy_meta_find(&m, "") == NULL);
	/* Longer than any member path: not found, and no overflow. */
	memset(longpath, 'b', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK(dy_meta_find(&m, longpath) == NULL);
	dy_meta_free(&m);

	/* An empty meta finds nothing. */
	dy_meta_init(&m);
	CHECK(dy_meta_find(&m, "bin") == NULL);
}

static void
test_format_parse_roundtrip(void)
{
	static const char prefix[] =
		HEAD "component demo 0.1.0\ncomponent extra 2.0~rc1\ndir 0755 bin\n";
	struct dy_err err = { 0 };
	struct dy_meta m, back;
	char *text = NULL, *again = NULL;
	size_t len = 0, len2 = 0;

	CHECK(build_sample(&m) == 0);
	CHECK(dy_meta_format(&m, &text, &len, &err) == 0);
	if (text == NULL) {
		dy_meta_free(&m);
		return;
	}
	CHECK(len == strlen(text));
	CHECK(strncmp(text, prefix, strlen(prefix)) == 0);
	CHECK_STR_CONTAINS(text, "\ndir 0700 etc\n");

	CHECK(dy_meta_parse(text, len, &back, &err) == 0);
	CHECK(metas_equal(&m, &back));

	/* One spelling per metadata: re-formatting gives the same bytes. */
	CHECK(dy_meta_format(&back, &again, &len2, &err) == 0);
	CHECK(again != NULL && len2 == len && memcmp(text, again, len) == 0);

	free(text);
	free(again);
	dy_meta_free(&m);
	dy_meta_free(&back);
}

/* Hand-written canonical text parses and formats back unchanged. */
static void
test_parse_canonical_text(void)
{
	static const char text[] = GOOD;
	struct dy_err err = { 0 };
	const struct dy_entry *e;
	struct dy_meta m;
	char *out = NULL;
	size_t len = 0;

	CHECK(dy_meta_parse(text, sizeof(text) - 1, &m, &err) == 0);
	CHECK(m.built == 1700000000);
	CHECK(m.ncomponents == 1 && m.nentries == 2);
	if (m.ncomponents == 1) {
		CHECK(strcmp(m.components[0].name, "demo") == 0);
		CHECK(strcmp(m.components[0].version, "0.1.0") == 0);
	}
	e = dy_meta_find(&m, "bin/hello");
	CHECK(e != NULL && !e->is_dir && e->mode == 0755 && e->size == 5 && e->component == 0);
	if (e != NULL)
		CHECK(e->sha256[0] == 0x01 && e->sha256[1] == 0x23 && e->sha256[31] == 0xef);
	CHECK(dy_meta_format(&m, &out, &len, &err) == 0);
	CHECK(out != NULL && len == sizeof(text) - 1 && memcmp(out, text, len) == 0);
	free(out);
	dy_meta_free(&m);
}

/* Limits that are allowed exactly. */
static void
test_parse_accepts_edges(void)
{
	static const char text[] = COMP "dir 0000 bin\n"
					"file demo 0777 68719476736 " SHA_A " bin/big\n"
					"file demo 0644 0 " SHA_A " bin/empty\n";
	struct dy_err err = { 0 };
	struct dy_meta m;

	CHECK(dy_meta_parse(text, sizeof(text) - 1, &m, &err) == 0);
	CHECK(m.nentries == 3);
	if (m.nentries == 3) {
		CHECK(m.entries[0].mode == 0);
		CHECK(m.entries[1].size == DY_META_MAX_FILE_SIZE && m.entries[1].mode == 0777);
		CHECK(m.entries[2].size == 0);
	}
	dy_meta_free(&m);
}

/*
 * Parse fails, leaves m empty, and the message holds both needles (NULL:
 * skip).  A where of "line N" must be the message's own prefix
 * "metadata line N:", so "line 4" cannot pass on "line 40".  Takes a
 * length so NUL bytes can be tested.
 */
static void
parse_fails_len(const char *text, size_t len, const char *where, const char *what)
{
	struct dy_err err = { 0 };
	struct dy_meta m;
	char prefix[64];

	memset(&m, 0x5a, sizeof(m)); /* parse must initialise it */
	CHECK(dy_meta_parse(text, len, &m, &err) == -1);
	CHECK(m.ncomponents == 0 && m.nentries == 0 && m.components == NULL && m.entries == NULL &&
	      m.nneeds == 0 && m.needs == NULL && m.built == 0 && m.arch[0] == '\0');
	CHECK(err.msg[0] != '\0');
	if (where && strncmp(where, "line ", 5) == 0) {
		snprintf(prefix, sizeof(prefix), "metadata %s:", where);
		if (strncmp(err.msg, prefix, strlen(prefix)) != 0) {
			printf("#   '%s' does not start with '%s'\n", err.msg, prefix);
			CHECK(strncmp(err.msg, prefix, strlen(prefix)) == 0);
		}
	} else if (where) {
		CHECK_STR_CONTAINS(err.msg, where);
	}
	if (what)
		CHECK_STR_CONTAINS(err.msg, what);
	dy_meta_free(&m);
}

static void
parse_fails(const char *text, const char *where, const char *what)
{
	parse_fails_len(text, strlen(text), where, what);
}

static void
test_parse_rejects_header(void)
{
	parse_fails("dockyard 1\nbuilt 1\n", "line 1", "dockyard-payload 2");
	parse_fails("dockyard-payload\nbuilt 1\n", "line 1", NULL);
	parse_fails("dockyard-payload 1 x\nbuilt 1\n", "line 1", NULL);
	parse_fails("built 1\n" GOOD, "line 1", NULL);
	/* A well-formed header of another format names the line and the format. */
	parse_fails("dockyard-payload 3\nbuilt 1700000000\ncomponent demo 0.1.0\n"
		    "dir 0755 bin\n",
		    "line 1", "metadata line 1: format 3 is not supported");
	parse_fails("dockyard-payload 01\nbuilt 1700000000\ncomponent demo 0.1.0\n"
		    "dir 0755 bin\n",
		    "line 1", "format 01 is not supported");
	parse_fails("dockyard-payload 1\ncomponent demo 0.1.0\ndir 0755 bin\n", "line 2", "built");
	parse_fails("dockyard-payload 1\nbuilt\ndir 0755 bin\n", "line 2", NULL);
	parse_fails("dockyard-payload 1\nbuilt 01700000000\ndir 0755 bin\n", "line 2", NULL);
	parse_fails("dockyard-payload 1\nbuilt -1\ndir 0755 bin\n", "line 2", NULL);
	parse_fails("dockyard-payload 1\nbuilt 99999999999999999999\ndir 0755 bin\n", "line 2",
		    NULL);
	/* The header may not appear again. */
	parse_fails(GOOD "dockyard-payload 1\n", "line 6", "unknown record");
	parse_fails(GOOD "built 1\n", "line 6", "unknown record");
}

static void
test_parse_rejects_whitespace(void)
{
	/* A CR is never silently dropped, wherever it is, and is named as such
	 * before any other complaint about the line. */
	parse_fails("dockyard-payload 1\r\nbuilt 1700000000\ncomponent demo 0.1.0\n"
		    "dir 0755 bin\n",
		    "line 1", "metadata line 1: carriage return");
	parse_fails("dockyard-payload 1\nbuilt 1700000000\r\ncomponent demo 0.1.0\n"
		    "dir 0755 bin\n",
		    "line 2", "carriage return");
	parse_fails(HEAD "component demo 0.1.0\r\ndir 0755 bin\n", "line 3", "carriage return");
	parse_fails(COMP "dir 0755 bin\r\n", "line 4", "carriage return");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 5 " SHA_A " bin/hello\r\n", "line 5",
		    "carriage return");
	/* Mid-line, at the start, alone, and a bare CR used as a line break. */
	parse_fails(COMP "dir 0755 b\rin\n", "line 4", "carriage return");
	parse_fails(COMP "\rdir 0755 bin\n", "line 4", "carriage return");
	parse_fails(COMP "dir 0755 bin\n\r\n", "line 5", "carriage return");
	parse_fails(COMP "dir 0755 bin\rdir 0755 etc\n", "line 4", "carriage return");

	parse_fails(COMP "dir 0755  bin\n", "line 4", "empty field");
	parse_fails(COMP "dir 0755 bin \n", "line 4", "empty field");
	parse_fails(COMP " dir 0755 bin\n", "line 4", "empty field");
	parse_fails(COMP "dir\t0755 bin\n", "line 4", NULL);
	parse_fails(COMP "\ndir 0755 bin\n", "line 4", "empty field");
	parse_fails(COMP "dir 0755 bin a b c d e\n", "line 4", "too many fields");
	parse_fails(COMP "dir 0755 bin x\n", "line 4", "takes 2 fields");
	parse_fails(COMP "dir 0755\n", "line 4", "takes 2 fields");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 5 bin/hello\n", "line 5", "takes 5 fields");
}

static void
test_parse_rejects_buffer(void)
{
	static const char good[] = GOOD;
	char with_nul[sizeof(good)];

	/* Missing final newline: the last record might be cut short. */
	parse_fails_len(good, sizeof(good) - 2, NULL, "newline");
	memcpy(with_nul, good, sizeof(good));
	with_nul[40] = '\0';
	parse_fails_len(with_nul, sizeof(good) - 1, NULL, "NUL");
	parse_fails_len(good, 0, NULL, "size 0");
	parse_fails(COMP, NULL, "no payload entries");
	parse_fails(HEAD, NULL, "no payload entries");
}

static void
test_parse_rejects_components(void)
{
	parse_fails(GOOD "component extra 1.0\n", "line 6", "components must precede entries");
	parse_fails(COMP "component demo 0.2\ndir 0755 bin\n", "line 4", "declared twice");
	parse_fails(HEAD "component Demo 1\ndir 0755 bin\n", "line 3", "'Demo'");
	parse_fails(HEAD "component demo 1:2\ndir 0755 bin\n", "line 3", "version");
	parse_fails(HEAD "component demo\ndir 0755 bin\n", "line 3", "'component' takes");
	parse_fails(COMP "dir 0755 bin\nfile nope 0755 5 " SHA_A " bin/hello\n", "line 5",
		    "unknown component 'nope'");
}

static void
test_parse_rejects_modes_sizes_digests(void)
{
	parse_fails(COMP "dir 0755x bin\n", "line 4", "mode");
	parse_fails(COMP "dir 4755 bin\n", "line 4", "mode"); /* setuid */
	parse_fails(COMP "dir 1755 bin\n", "line 4", "mode"); /* sticky */
	parse_fails(COMP "dir 755 bin\n", "line 4", "4 octal digits");
	parse_fails(COMP "dir 00755 bin\n", "line 4", "mode");
	parse_fails(COMP "dir 0855 bin\n", "line 4", "mode");
	parse_fails(COMP "dir -755 bin\n", "line 4", "mode");
	parse_fails(COMP "dir 0755 bin\nfile demo 4755 5 " SHA_A " bin/x\n", "line 5", "mode");

	parse_fails(COMP "dir 0755 bin\nfile demo 0755 012 " SHA_A " bin/x\n", "line 5",
		    "bad size '012'");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 -1 " SHA_A " bin/x\n", "line 5", "bad size");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 +5 " SHA_A " bin/x\n", "line 5", "bad size");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 0x10 " SHA_A " bin/x\n", "line 5",
		    "bad size");
	/* One past DY_META_MAX_FILE_SIZE. */
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 68719476737 " SHA_A " bin/x\n", "line 5",
		    "bad size");

	/* 63 digits, 65 digits, uppercase, non-hex. */
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 5 "
			 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
			 " bin/x\n",
		    "line 5", "sha256");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 5 " SHA_A "0 bin/x\n", "line 5", "sha256");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 5 "
			 "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
			 " bin/x\n",
		    "line 5", "sha256");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 5 "
			 "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			 " bin/x\n",
		    "line 5", "sha256");
}

/* strtoull skips leading white space: a tab, \v or \f before a number
 * must not give it a second spelling (found by fuzz_trailer). */
static void
test_parse_rejects_space_in_numbers(void)
{
	parse_fails(COMP "dir \t755 bin\n", "line 4", "mode");
	parse_fails(COMP "dir \v755 bin\n", "line 4", "mode");
	parse_fails(COMP "dir 0755 bin\nfile demo \f755 5 " SHA_A " bin/x\n", "line 5", "mode");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 \t5 " SHA_A " bin/x\n", "line 5",
		    "bad size");
	parse_fails(COMP "dir 0755 bin\nfile demo 0755 \v5 " SHA_A " bin/x\n", "line 5",
		    "bad size");
	parse_fails("dockyard-payload 1\nbuilt \t1700000000\ncomponent demo 0.1.0\n"
		    "dir 0755 bin\n",
		    "line 2", "built");
}

static void
test_parse_rejects_paths_and_order(void)
{
	char text[1024];
	char longp[DY_MEMBER_PATH_MAX + 2];

	parse_fails(COMP FILE_A("../etc/passwd"), "line 4", "'..'");
	parse_fails(COMP FILE_A("/abs"), "line 4", "absolute");
	parse_fails(COMP "dir 0755 /abs\n", "line 4", "absolute");
	parse_fails(COMP "dir 0755 bin\ndir 0755 bin/./x\n", "line 5", "'.'");
	parse_fails(COMP "dir 0755 bin\ndir 0755 bin/\n", "line 5", "empty component");

	parse_fails(COMP "dir 0755 bin\ndir 0755 abc\n", "line 5", "out of order");
	parse_fails(COMP "dir 0755 bin\ndir 0755 bin\n", "line 5", "duplicate");
	parse_fails(COMP "dir 0755 bin\n" FILE_A("bin"), "line 5", "duplicate");
	parse_fails(COMP "dir 0755 bin\n" FILE_A("bin/b") FILE_A("bin/a"), "line 6",
		    "out of order");

	/* Parent must be a listed directory; the message names the child's line. */
	parse_fails(COMP FILE_A("bin/hello"), "line 4",
		    "metadata line 4: bin/hello: parent directory bin is not listed");
	parse_fails(COMP FILE_A("bin") FILE_A("bin/x"), "line 5",
		    "bin/x: parent directory bin is not listed");
	parse_fails(COMP "dir 0755 a\n" FILE_A("a/b/c"), "line 5",
		    "a/b/c: parent directory a/b is not listed");
	parse_fails(COMP "dir 0755 a\ndir 0755 a/b\n" FILE_A("a/b/c") FILE_A("a/c/d"), "line 7",
		    "a/c/d: parent directory a/c is not listed");

	/* A path longer than any member path. */
	memset(longp, 'p', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	snprintf(text, sizeof(text), COMP "dir 0755 %s\n", longp);
	parse_fails(text, "line 4", "longer than 255");
}

static void
test_add_entry_rejects(void)
{
	struct dy_err err = { 0 };
	struct dy_entry e;
	struct dy_meta m;

	dy_meta_init(&m);
	CHECK(dy_meta_add_component(&m, "demo", "1", &err) == 0);

	e = file_entry("bin/x", 0, 04755, 1);
	CHECK(dy_meta_add_entry(&m, &e, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "setuid");
	CHECK_STR_CONTAINS(err.msg, "bin/x");
	e = file_entry("bin/x", 0, 02755, 1);
	CHECK(dy_meta_add_entry(&m, &e, &err) == -1);
	e = dir_entry("tmp", 01777);
	CHECK(dy_meta_add_entry(&m, &e, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "sticky");

	e = file_entry("../x", 0, 0644, 1);
	CHECK(dy_meta_add_entry(&m, &e, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "'..'");
	e = file_entry("/abs", 0, 0644, 1);
	CHECK(dy_meta_add_entry(&m, &e, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "absolute");
	e = dir_entry("", 0755);
	CHECK(dy_meta_add_entry(&m, &e, &err) == -1);
	e = file_entry("a b", 0, 0644, 1);
	CHECK(dy_meta_add_entry(&m, &e, &err) == -1);

	e = file_entry("bin/x", 1, 0644, 1);
	CHECK(dy_meta_add_entry(&m, &e, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "no declared component");
	e = file_entry("bin/x", 0, 0644, DY_META_MAX_FILE_SIZE + 1);
	CHECK(dy_meta_add_entry(&m, &e, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "limit");

	/* Nothing refused was kept. */
	CHECK(m.nentries == 0);
	dy_meta_free(&m);
}

static void
test_add_component_rejects(void)
{
	struct dy_err err = { 0 };
	struct dy_meta m;

	dy_meta_init(&m);
	CHECK(dy_meta_add_component(&m, "demo", "1.0", &err) == 0);
	CHECK(dy_meta_add_component(&m, "demo", "2.0", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "declared twice");
	CHECK(dy_meta_add_component(&m, "Bad", "1", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "component name");
	CHECK(dy_meta_add_component(&m, "ok", "1 0", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "version");
	CHECK(dy_meta_add_component(&m, "ok", "", &err) == -1);
	CHECK(m.ncomponents == 1);
	dy_meta_free(&m);
}

static void
test_finish_rejects(void)
{
	struct dy_err err = { 0 };
	struct dy_meta m;

	/* Duplicate paths. */
	dy_meta_init(&m);
	CHECK(dy_meta_add_component(&m, "demo", "1", &err) == 0);
	CHECK(add(&m, file_entry("bin/x", 0, 0755, 1)) == 0);
	CHECK(add(&m, file_entry("bin/x", 0, 0755, 2)) == 0);
	CHECK(dy_meta_finish(&m, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "bin/x");
	dy_meta_free(&m);

	/* A file cannot be the parent of another entry. */
	dy_meta_init(&m);
	CHECK(dy_meta_add_component(&m, "demo", "1", &err) == 0);
	CHECK(add(&m, file_entry("bin", 0, 0755, 1)) == 0);
	CHECK(add(&m, file_entry("bin/x", 0, 0755, 1)) == 0);
	CHECK(dy_meta_finish(&m, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "parent directory bin");
	dy_meta_free(&m);
}

/* Many entries exercise growth of the arrays and the sort. */
static void
test_many_entries(void)
{
	struct dy_err err = { 0 };
	struct dy_meta m, back;
	char path[32], *text = NULL;
	size_t i, len = 0;

	dy_meta_init(&m);
	dy_meta_init(&back);
	CHECK(dy_meta_add_component(&m, "demo", "1", &err) == 0);
	for (i = 0; i < 1000; i++) {
		snprintf(path, sizeof(path), "d%zu/f%zu", (i * 7919) % 13, (i * 104729) % 1000);
		CHECK(add(&m, file_entry(path, 0, 0644, i)) == 0);
	}
	CHECK(dy_meta_finish(&m, &err) == 0);
	CHECK(m.nentries == 1000 + 13);
	for (i = 1; i < m.nentries; i++)
		CHECK(strcmp(m.entries[i - 1].path, m.entries[i].path) < 0);
	CHECK(dy_meta_find(&m, "d5") != NULL && dy_meta_find(&m, "d5")->is_dir);
	CHECK(dy_meta_format(&m, &text, &len, &err) == 0);
	CHECK(text != NULL && dy_meta_parse(text, len, &back, &err) == 0);
	CHECK(metas_equal(&m, &back));
	free(text);
	dy_meta_free(&m);
	dy_meta_free(&back);
}

/* Attributes ride on the component line and survive a round trip. */
static void
test_component_attrs(void)
{
	static const char text[] =
		HEAD "component demo 0.1.0\n"
		     "component img 1 role=image\n"
		     "component sysbox 0.6.7.9-tc sysbox-run-dir=args role=image\n"
		     "dir 0755 bin\n";
	struct dy_err err = { 0 };
	struct dy_meta m;
	char *out = NULL;
	size_t len = 0;

	CHECK(dy_meta_parse(text, sizeof(text) - 1, &m, &err) == 0);
	CHECK(m.ncomponents == 3);
	if (m.ncomponents == 3) {
		CHECK(m.components[0].nattrs == 0);
		CHECK(dy_meta_attr(&m.components[0], "role") == NULL);
		CHECK(dy_meta_attr(&m.components[1], "role") != NULL &&
		      strcmp(dy_meta_attr(&m.components[1], "role"), "image") == 0);
		CHECK(dy_meta_attr(&m.components[2], "sysbox-run-dir") != NULL &&
		      strcmp(dy_meta_attr(&m.components[2], "sysbox-run-dir"), "args") == 0);
		CHECK(m.components[2].nattrs == 2);
	}
	/* Attributes keep their order, so formatting is byte-identical. */
	CHECK(dy_meta_format(&m, &out, &len, &err) == 0);
	CHECK(out != NULL && len == sizeof(text) - 1 && memcmp(out, text, len) == 0);
	free(out);
	dy_meta_free(&m);
}

static void
test_component_attrs_rejected(void)
{
	struct dy_err err = { 0 };
	struct dy_meta m;

	parse_fails(HEAD "component demo 1 role\ndir 0755 bin\n", "line 3", "key=value");
	parse_fails(HEAD "component demo 1 colour=red\ndir 0755 bin\n", "line 3",
		    "unknown attribute 'colour'");
	parse_fails(HEAD "component demo 1 role=binary\ndir 0755 bin\n", "line 3",
		    "not an allowed value");
	parse_fails(HEAD "component demo 1 role=image role=image\ndir 0755 bin\n", "line 3",
		    "twice");
	parse_fails(HEAD "component demo 1 role=\ndir 0755 bin\n", "line 3", NULL);
	parse_fails(HEAD "component demo 1 =image\ndir 0755 bin\n", "line 3", NULL);
	/* Attributes on a later component do not leak onto an earlier one. */
	parse_fails(HEAD "component demo 1 role=image\ncomponent x 1 role=image role=image\n"
			 "dir 0755 bin\n",
		    "line 4", "twice");

	dy_meta_init(&m);
	CHECK(dy_meta_add_attr(&m, "role", "image", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "before any component");
	CHECK(dy_meta_add_component(&m, "demo", "1", &err) == 0);
	CHECK(dy_meta_add_attr(&m, "sysbox-run-dir", "env", &err) == 0);
	CHECK(dy_meta_add_attr(&m, "sysbox-run-dir", "args", &err) == -1);
	CHECK(dy_meta_add_attr(&m, "sysbox-run-dir", "ENV", &err) == -1);
	CHECK(m.components[0].nattrs == 1);
	dy_meta_free(&m);
}

/* ---- needs lines ---- */

#define NEEDS_BASE                                                                                 \
	COMP "dir 0755 bin\n" FILE_A("bin/a") FILE_A("bin/b") "dir 0755 etc\n" FILE_A("etc/c")

static void
test_needs_roundtrip(void)
{
	static const char text[] =
		NEEDS_BASE "needs bin/a /lib64/ld-linux-x86-64.so.2 libc.so.6 libseccomp.so.2\n"
			   "needs bin/b libstdc++.so.6 libc.so.6\n";
	static const char *const want[] = { "/lib64/ld-linux-x86-64.so.2", "libc.so.6",
					    "libseccomp.so.2", "libstdc++.so.6" };
	struct dy_err err = { 0 };
	const char **libs = NULL;
	struct dy_meta m;
	char *out = NULL;
	size_t len = 0, n = 0, i;

	CHECK(dy_meta_parse(text, sizeof(text) - 1, &m, &err) == 0);
	CHECK(m.nneeds == 2);
	if (m.nneeds == 2) {
		CHECK(strcmp(m.entries[m.needs[0].entry].path, "bin/a") == 0);
		CHECK(m.needs[0].nlibs == 3 && strcmp(m.needs[0].libs[2], "libseccomp.so.2") == 0);
		CHECK(strcmp(m.entries[m.needs[1].entry].path, "bin/b") == 0);
		CHECK(m.needs[1].nlibs == 2 && strcmp(m.needs[1].libs[0], "libstdc++.so.6") == 0);
	}
	/* Libraries keep their order, so formatting is byte-identical. */
	CHECK(dy_meta_format(&m, &out, &len, &err) == 0);
	CHECK(out != NULL && len == sizeof(text) - 1 && memcmp(out, text, len) == 0);
	/* The union is sorted and has no duplicates. */
	CHECK(dy_meta_needed_libs(&m, &libs, &n, &err) == 0);
	CHECK(n == 4);
	for (i = 0; i < n && i < 4; i++)
		CHECK(strcmp(libs[i], want[i]) == 0);
	free(libs);
	free(out);
	dy_meta_free(&m);
	CHECK(m.needs == NULL && m.nneeds == 0);

	/* Without needs lines nothing is needed. */
	CHECK(dy_meta_parse(NEEDS_BASE, sizeof(NEEDS_BASE) - 1, &m, &err) == 0);
	CHECK(dy_meta_needed_libs(&m, &libs, &n, &err) == 0 && n == 0 && libs == NULL);
	dy_meta_free(&m);
}

/* The builder adds needs in any order; they come out sorted by path. */
static void
test_needs_add(void)
{
	static const char *const c[] = { "libc.so.6" };
	static const char *const ab[] = { "liba.so.1", "libb.so.2" };
	static const char *const dup[] = { "liba.so.1", "liba.so.1" };
	static const char *const bad[] = { "lib a.so" };
	struct dy_err err = { 0 };
	struct dy_meta m, back;
	char *out = NULL;
	size_t len = 0;

	CHECK(build_sample(&m) == 0);
	CHECK(dy_meta_add_need(&m, "etc/conf", c, 1, &err) == 0);
	CHECK(dy_meta_add_need(&m, "bin/hello", ab, 2, &err) == 0);
	CHECK(dy_meta_add_need(&m, "bin/a-tool", c, 1, &err) == 0);
	CHECK(m.nneeds == 3);
	if (m.nneeds == 3) {
		CHECK(strcmp(m.entries[m.needs[0].entry].path, "bin/a-tool") == 0);
		CHECK(strcmp(m.entries[m.needs[1].entry].path, "bin/hello") == 0);
		CHECK(strcmp(m.entries[m.needs[2].entry].path, "etc/conf") == 0);
	}
	CHECK(dy_meta_add_need(&m, "bin/hello", c, 1, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "listed twice");
	CHECK(dy_meta_add_need(&m, "bin/nope", c, 1, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "no such payload entry");
	CHECK(dy_meta_add_need(&m, "share/doc", c, 1, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "directory");
	CHECK(dy_meta_add_need(&m, "share/doc/extra/README", dup, 2, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "needs liba.so.1 twice");
	CHECK(dy_meta_add_need(&m, "share/doc/extra/README", bad, 1, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "'lib a.so'");
	CHECK(dy_meta_add_need(&m, "share/doc/extra/README", c, 0, &err) == -1);
	CHECK(m.nneeds == 3);

	dy_meta_init(&back);
	CHECK(dy_meta_format(&m, &out, &len, &err) == 0);
	CHECK(out != NULL && strstr(out, "needs bin/a-tool libc.so.6\nneeds bin/hello liba.so.1 "
					 "libb.so.2\nneeds etc/conf libc.so.6\n") != NULL);
	CHECK(out != NULL && dy_meta_parse(out, len, &back, &err) == 0);
	CHECK(back.nneeds == 3 && metas_equal(&m, &back));
	free(out);
	dy_meta_free(&m);
	dy_meta_free(&back);
}

static void
test_lib_names(void)
{
	struct dy_err err = { 0 };
	char longname[DY_META_LIB_MAX + 2];

	CHECK(dy_meta_lib_valid("libc.so.6", &err) == 0);
	CHECK(dy_meta_lib_valid("libstdc++.so.6", &err) == 0);
	CHECK(dy_meta_lib_valid("ld-linux-aarch64.so.1", &err) == 0);
	CHECK(dy_meta_lib_valid("/lib64/ld-linux-x86-64.so.2", &err) == 0);
	CHECK(dy_meta_lib_valid("/lib/ld-linux-aarch64.so.1", &err) == 0);
	CHECK(dy_meta_lib_valid("", &err) == -1);
	CHECK(dy_meta_lib_valid(".", &err) == -1);
	CHECK(dy_meta_lib_valid("..", &err) == -1);
	CHECK(dy_meta_lib_valid("lib/c.so", &err) == -1);
	CHECK(dy_meta_lib_valid("libc.so.6;rm", &err) == -1);
	CHECK(dy_meta_lib_valid("/", &err) == -1);
	CHECK(dy_meta_lib_valid("/lib//ld.so", &err) == -1);
	CHECK(dy_meta_lib_valid("/lib/../ld.so", &err) == -1);
	CHECK(dy_meta_lib_valid("/lib/ld.so/", &err) == -1);
	CHECK(dy_meta_lib_valid("/lib/l d.so", &err) == -1);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(dy_meta_lib_valid(longname, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "longer than");
	longname[DY_META_LIB_MAX] = '\0';
	CHECK(dy_meta_lib_valid(longname, &err) == 0);
}

static void
test_needs_rejected(void)
{
	char many[64 * 16 + 64], *p;
	int i;

	/* Sorted by path, each path once. */
	parse_fails(NEEDS_BASE "needs bin/b libc.so.6\nneeds bin/a libc.so.6\n", "line 10",
		    "out of order or a duplicate");
	parse_fails(NEEDS_BASE "needs bin/a libc.so.6\nneeds bin/a libm.so.6\n", "line 10",
		    "out of order or a duplicate");
	/* The path must be a file entry listed above. */
	parse_fails(NEEDS_BASE "needs bin/zz libc.so.6\n", "line 9", "not a file entry");
	parse_fails(NEEDS_BASE "needs etc libc.so.6\n", "line 9", "not a file entry");
	/* Library names. */
	parse_fails(NEEDS_BASE "needs bin/a lib$.so\n", "line 9", "neither a soname");
	parse_fails(NEEDS_BASE "needs bin/a ../libc.so.6\n", "line 9", "neither a soname");
	parse_fails(NEEDS_BASE "needs bin/a /lib/../x.so\n", "line 9", "neither a soname");
	parse_fails(NEEDS_BASE "needs bin/a libc.so.6 libc.so.6\n", "line 9", "twice");
	parse_fails(NEEDS_BASE "needs bin/a\n", "line 9", "'needs' takes a path");
	parse_fails(NEEDS_BASE "needs bin/a  libc.so.6\n", "line 9", "empty field");
	/* After every entry, and entries may not follow. */
	parse_fails(COMP "needs bin/a libc.so.6\ndir 0755 bin\n", "line 4", "must follow");
	parse_fails(NEEDS_BASE "needs bin/a libc.so.6\ndir 0755 var\n", "line 10",
		    "entries must precede needs");
	parse_fails(NEEDS_BASE "needs bin/a libc.so.6\ncomponent x 1\n", "line 10",
		    "components must precede");
	/* At most DY_META_MAX_NEED_LIBS libraries on one line. */
	p = many + sprintf(many, NEEDS_BASE "needs bin/a");
	for (i = 0; i < DY_META_MAX_NEED_LIBS + 1; i++)
		p += sprintf(p, " l%d.so", i);
	sprintf(p, "\n");
	parse_fails(many, "line 9", "too many fields");
}

/* Format 2 records the architecture on line 3; format 1 has none and is
 * taken as x86_64.  Each formats back to exactly its own text. */
static void
test_arch_roundtrip(void)
{
	static const char v2[] = "dockyard-payload 2\nbuilt 1700000000\narch aarch64\n"
				 "component demo 0.1.0\ndir 0755 bin\n";
	static const char v1[] = HEAD "component demo 0.1.0\ndir 0755 bin\n";
	struct dy_err err = { 0 };
	struct dy_meta m;
	char *out = NULL;
	size_t len = 0;

	CHECK(dy_meta_parse(v2, sizeof(v2) - 1, &m, &err) == 0);
	CHECK(strcmp(m.arch, "aarch64") == 0 && strcmp(dy_meta_arch(&m), "aarch64") == 0);
	CHECK(dy_meta_format(&m, &out, &len, &err) == 0);
	CHECK(out != NULL && len == sizeof(v2) - 1 && memcmp(out, v2, len) == 0);
	free(out);
	dy_meta_free(&m);
	CHECK(m.arch[0] == '\0');

	CHECK(dy_meta_parse(v1, sizeof(v1) - 1, &m, &err) == 0);
	CHECK(m.arch[0] == '\0' && strcmp(dy_meta_arch(&m), "x86_64") == 0);
	CHECK(dy_meta_format(&m, &out, &len, &err) == 0);
	CHECK(out != NULL && len == sizeof(v1) - 1 && memcmp(out, v1, len) == 0);
	free(out);
	dy_meta_free(&m);

	CHECK(dy_meta_arch_valid("x86_64", &err) == 0 && dy_meta_arch_valid("aarch64", &err) == 0);
	CHECK(dy_meta_arch_valid("arm64", &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "'arm64' is not x86_64 or aarch64");
}

static void
test_arch_rejected(void)
{
	/* Format 2 without its arch line, or with a bad one. */
	parse_fails("dockyard-payload 2\nbuilt 1700000000\ncomponent demo 0.1.0\n"
		    "dir 0755 bin\n",
		    "line 3", "expected 'arch x86_64' or 'arch aarch64'");
	parse_fails("dockyard-payload 2\nbuilt 1700000000\narch arm64\n"
		    "component demo 0.1.0\ndir 0755 bin\n",
		    "line 3", "'arm64' is not x86_64 or aarch64");
	parse_fails("dockyard-payload 2\nbuilt 1700000000\narch x86_64 aarch64\n"
		    "component demo 0.1.0\ndir 0755 bin\n",
		    "line 3", NULL);
	parse_fails("dockyard-payload 2\nbuilt 1700000000\narch x86_64\narch x86_64\n"
		    "component demo 0.1.0\ndir 0755 bin\n",
		    "line 4", "unknown record 'arch'");
	/* Format 1 has no arch line at all. */
	parse_fails(HEAD "arch x86_64\ncomponent demo 0.1.0\ndir 0755 bin\n", "line 3",
		    "unknown record 'arch'");
	/* A header and an arch, but no entries. */
	parse_fails("dockyard-payload 2\nbuilt 1700000000\narch x86_64\n", NULL,
		    "no payload entries");
	parse_fails("dockyard-payload 2\nbuilt 1700000000\n", NULL, "no payload entries");
}

int
main(void)
{
	RUN(test_finish_sorts_and_adds_parents);
	RUN(test_find);
	RUN(test_format_parse_roundtrip);
	RUN(test_parse_canonical_text);
	RUN(test_parse_accepts_edges);
	RUN(test_parse_rejects_header);
	RUN(test_parse_rejects_whitespace);
	RUN(test_parse_rejects_buffer);
	RUN(test_parse_rejects_components);
	RUN(test_parse_rejects_modes_sizes_digests);
	RUN(test_parse_rejects_space_in_numbers);
	RUN(test_parse_rejects_paths_and_order);
	RUN(test_add_entry_rejects);
	RUN(test_add_component_rejects);
	RUN(test_finish_rejects);
	RUN(test_many_entries);
	RUN(test_component_attrs);
	RUN(test_component_attrs_rejected);
	RUN(test_needs_roundtrip);
	RUN(test_needs_add);
	RUN(test_lib_names);
	RUN(test_needs_rejected);
	RUN(test_arch_roundtrip);
	RUN(test_arch_rejected);
	return DONE();
}
