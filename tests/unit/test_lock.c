/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder/lock.h: the lock file pins the sha256 of every artifact.  It is
 * reviewed like code, so it is written sorted and atomically, and parsing
 * refuses anything malformed with FILE:LINE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/lock.h"
#include "harness.h"
#include "testutil.h"

#define NAME "t.lock"
#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define SRC "https://example.org/a.tgz"

static const char good_text[] = "# a comment\n"						    /* 1 */
				"\n"							    /* 2 */
				"docker 29.2.1 x86_64 " SHA_A " " SRC "\n"		    /* 3 */
				"#docker 29.2.1 aarch64 pending " SRC "\n"		    /* 4 */
				"sysbox 0.6.7.9-tc aarch64 pending https://example.org/s\n" /* 5 */
				"compose 2.32.4 any " SHA_B " path:../dl/compose";	    /* 6 */

static int
parse(const char *text, struct dy_lock *l, struct dy_err *err)
{
	return dy_lock_parse(NAME, text, strlen(text), l, err);
}

static int
sha_is(const uint8_t *sha, const char *hex)
{
	char got[DY_SHA256_HEX];

	dy_hex_encode(sha, DY_SHA256_LEN, got);
	return strcmp(got, hex) == 0;
}

static int
entry_is(const struct dy_lock_entry *e, const char *component, const char *version,
	 const char *arch, const char *sha, const char *source)
{
	if (e == NULL || strcmp(e->component, component) != 0 || strcmp(e->version, version) != 0 ||
	    strcmp(e->arch, arch) != 0 || strcmp(e->source, source) != 0)
		return 0;
	if (sha == NULL)
		return e->pending == 1;
	return e->pending == 0 && sha_is(e->sha256, sha);
}

/* Parsing fails, leaves l empty, and the message holds both needles. */
static void
parse_fails_len(const char *text, size_t len, const char *where, const char *what)
{
	struct dy_err err = { 0 };
	struct dy_lock l;

	CHECK(dy_lock_parse(NAME, text, len, &l, &err) == -1);
	CHECK(l.entries == NULL && l.n == 0 && l.path == NULL);
	CHECK_STR_CONTAINS(err.msg, where);
	if (what)
		CHECK_STR_CONTAINS(err.msg, what);
	dy_lock_free(&l);
}

static void
parse_fails(const char *text, const char *where, const char *what)
{
	parse_fails_len(text, strlen(text), where, what);
}

/* Names in dir other than "." and ".."; the first one in *first. */
static int
count_names(const char *dir, char *first, size_t size)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n++ == 0)
			snprintf(first, size, "%s", de->d_name);
		else
			printf("#   also in %s: %s\n", dir, de->d_name);
	}
	closedir(d);
	return n;
}

static void
test_parse_valid(void)
{
	struct dy_err err = { 0 };
	const struct dy_lock_entry *e;
	struct dy_lock l;

	CHECK(parse(good_text, &l, &err) == 0);
	if (l.path == NULL) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK(strcmp(l.path, NAME) == 0);
	CHECK(l.n == 3);
	if (l.n == 3) {
		/* In file order, with their lines. */
		CHECK(entry_is(&l.entries[0], "docker", "29.2.1", "x86_64", SHA_A, SRC));
		CHECK(entry_is(&l.entries[1], "sysbox", "0.6.7.9-tc", "aarch64", NULL,
			       "https://example.org/s"));
		CHECK(entry_is(&l.entries[2], "compose", "2.32.4", "any", SHA_B,
			       "path:../dl/compose"));
		CHECK(l.entries[0].line == 3 && l.entries[1].line == 5 && l.entries[2].line == 6);
	}

	e = dy_lock_find(&l, "docker", "29.2.1", "x86_64");
	CHECK(e != NULL && e == &l.entries[0]);
	e = dy_lock_find(&l, "compose", "2.32.4", "any");
	CHECK(e != NULL && e->line == 6);
	/* Every field must match; the commented-out line is not an entry. */
	CHECK(dy_lock_find(&l, "docker", "29.2.1", "aarch64") == NULL);
	CHECK(dy_lock_find(&l, "docker", "29.2.2", "x86_64") == NULL);
	CHECK(dy_lock_find(&l, "docker", "29.2.1", "any") == NULL);
	CHECK(dy_lock_find(&l, "compose", "2.32.4", "x86_64") == NULL);
	CHECK(dy_lock_find(&l, "dock", "29.2.1", "x86_64") == NULL);
	dy_lock_free(&l);
	CHECK(l.entries == NULL && l.n == 0 && l.path == NULL);

	/* Empty text and comments only: an empty lock. */
	CHECK(parse("", &l, &err) == 0 && l.n == 0 && l.path != NULL);
	dy_lock_free(&l);
	CHECK(parse("# nothing pinned\n\n", &l, &err) == 0 && l.n == 0);
	dy_lock_free(&l);
}

static void
test_parse_rejects(void)
{
	/* Field count. */
	parse_fails("# c\ndocker 1 x86_64 " SHA_A "\n",
		    NAME ":2:", "expected 'COMPONENT VERSION ARCH SHA256|pending SOURCE'");
	parse_fails("docker 1 x86_64 " SHA_A " " SRC " extra\n", NAME ":1:", "expected 'COMPONENT");
	parse_fails("docker\n", NAME ":1:", "expected 'COMPONENT");
	parse_fails(" \n", NAME ":1:", "single spaces");
	parse_fails("docker  1 x86_64 pending src\n", NAME ":1:", "single spaces");
	parse_fails("docker 1 x86_64 pending src \n", NAME ":1:", "single spaces");
	/* Names and versions follow the payload rules. */
	parse_fails("\nDocker 1 x86_64 " SHA_A " " SRC "\n", NAME ":2:", "component name 'Docker'");
	parse_fails("-docker 1 x86_64 " SHA_A " " SRC "\n", NAME ":1:", "component name");
	parse_fails("docker 1/2 x86_64 " SHA_A " " SRC "\n", NAME ":1:", "version '1/2'");
	parse_fails("docker 1:2 x86_64 " SHA_A " " SRC "\n", NAME ":1:", "version");
	/* Architecture. */
	parse_fails("docker 1 amd64 " SHA_A " " SRC "\n",
		    NAME ":1:", "architecture 'amd64' is not x86_64, aarch64 or any");
	parse_fails("docker 1 X86_64 " SHA_A " " SRC "\n", NAME ":1:", "architecture 'X86_64'");
	/* Digests: 63 and 65 digits, uppercase, non-hex, a misspelt pending. */
	parse_fails("docker 1 x86_64 "
		    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde " SRC "\n",
		    NAME ":1:", "is neither 64 lowercase hex digits nor pending");
	parse_fails("docker 1 x86_64 " SHA_A "0 " SRC "\n", NAME ":1:", "neither 64 lowercase");
	parse_fails("docker 1 x86_64 "
		    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef " SRC "\n",
		    NAME ":1:", "'0123456789ABCDEF");
	parse_fails("docker 1 x86_64 "
		    "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef " SRC "\n",
		    NAME ":1:", "neither 64 lowercase");
	parse_fails("docker 1 x86_64 Pending " SRC "\n", NAME ":1:", "'Pending' is neither");
	/* One pin per (component, version, arch), pending or not. */
	parse_fails("docker 1 x86_64 " SHA_A " " SRC "\ndocker 1 aarch64 " SHA_A " " SRC "\n"
		    "docker 1 x86_64 pending " SRC "\n",
		    NAME ":3:", "docker 1 x86_64 is pinned twice");
}

static void
test_parse_rejects_bytes(void)
{
	static const char nul[] = "docker 1 x86_64 pending " SRC "\n\0\n";
	char longline[4200];

	parse_fails("docker 1 x86_64 " SHA_A " " SRC "\r\n",
		    NAME ":1:", "carriage return or tab; lock files use LF and single spaces");
	parse_fails("# ok\ndocker 1 x86_64 " SHA_A "\r" SRC "\n", NAME ":2:", "carriage return");
	parse_fails("# comment\r\n", NAME ":1:", "carriage return");
	parse_fails("\n\ndocker\t1 x86_64 " SHA_A " " SRC "\n", NAME ":3:", "tab");
	parse_fails("docker 1 x86_64 " SHA_A " " SRC "\t\n", NAME ":1:", "tab");
	parse_fails("#\tcomment\n", NAME ":1:", "tab");
	parse_fails_len(nul, sizeof(nul) - 1, NAME ": contains a NUL byte", NULL);

	memset(longline, '#', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	parse_fails(longline, NAME ":1:", "line too long");
}

static void
test_set(void)
{
	struct dy_err err = { 0 };
	const struct dy_lock_entry *e;
	struct dy_lock l;
	uint8_t sha[DY_SHA256_LEN];

	CHECK(parse("docker 1 x86_64 pending " SRC "\n", &l, &err) == 0);
	CHECK(l.n == 1);

	/* Add. */
	CHECK(dy_hex_decode(SHA_B, sha, DY_SHA256_LEN) == 0);
	CHECK(dy_lock_set(&l, "docker", "1", "aarch64", "https://example.org/b", sha, &err) == 0);
	CHECK(l.n == 2);
	e = dy_lock_find(&l, "docker", "1", "aarch64");
	CHECK(entry_is(e, "docker", "1", "aarch64", SHA_B, "https://example.org/b"));
	/* The caller's buffers are copied, not kept. */
	memset(sha, 0, sizeof(sha));
	CHECK(entry_is(e, "docker", "1", "aarch64", SHA_B, "https://example.org/b"));

	/* Replace: pending becomes pinned, the source follows, no new entry. */
	CHECK(dy_hex_decode(SHA_A, sha, DY_SHA256_LEN) == 0);
	CHECK(dy_lock_set(&l, "docker", "1", "x86_64", "https://example.org/new", sha, &err) == 0);
	CHECK(l.n == 2);
	e = dy_lock_find(&l, "docker", "1", "x86_64");
	CHECK(entry_is(e, "docker", "1", "x86_64", SHA_A, "https://example.org/new"));
	CHECK(e == &l.entries[0] && e->line == 1);

	/* And back to pending. */
	CHECK(dy_lock_set(&l, "docker", "1", "x86_64", SRC, NULL, &err) == 0);
	CHECK(l.n == 2 && entry_is(&l.entries[0], "docker", "1", "x86_64", NULL, SRC));
	dy_lock_free(&l);

	/* On an empty lock that was never parsed. */
	memset(&l, 0, sizeof(l));
	CHECK(dy_lock_set(&l, "a", "1", "any", "path:a", NULL, &err) == 0);
	CHECK(l.n == 1 &&
	      entry_is(dy_lock_find(&l, "a", "1", "any"), "a", "1", "any", NULL, "path:a"));
	dy_lock_free(&l);
}

#define WANT_ENTRIES                                                                               \
	"compose 2 any " SHA_B " path:tool\n"                                                      \
	"docker 29.2.1 aarch64 " SHA_B " https://example.org/arm.tgz\n"                            \
	"docker 29.2.1 x86_64 " SHA_A " https://example.org/x86.tgz\n"                             \
	"sysbox 0.6.7.10-tc x86_64 " SHA_A " https://example.org/s10\n"                            \
	"sysbox 0.6.7.9-tc x86_64 pending https://example.org/s9\n"

/* Five entries, added out of order. */
static void
fill_unsorted(struct dy_lock *l)
{
	struct dy_err err = { 0 };
	uint8_t a[DY_SHA256_LEN], b[DY_SHA256_LEN];

	CHECK(dy_hex_decode(SHA_A, a, DY_SHA256_LEN) == 0 &&
	      dy_hex_decode(SHA_B, b, DY_SHA256_LEN) == 0);
	memset(l, 0, sizeof(*l));
	CHECK(dy_lock_set(l, "sysbox", "0.6.7.9-tc", "x86_64", "https://example.org/s9", NULL,
			  &err) == 0);
	CHECK(dy_lock_set(l, "docker", "29.2.1", "x86_64", "https://example.org/x86.tgz", a,
			  &err) == 0);
	CHECK(dy_lock_set(l, "sysbox", "0.6.7.10-tc", "x86_64", "https://example.org/s10", a,
			  &err) == 0);
	CHECK(dy_lock_set(l, "docker", "29.2.1", "aarch64", "https://example.org/arm.tgz", b,
			  &err) == 0);
	CHECK(dy_lock_set(l, "compose", "2", "any", "path:tool", b, &err) == 0);
}

/* Comment lines first, then one sorted line per entry. */
static void
check_written(const char *path)
{
	static const char want_entries[] = WANT_ENTRIES;
	size_t len = 0;
	char *text;

	text = tu_read_file(path, &len);
	CHECK(text != NULL);
	if (text != NULL) {
		CHECK(text[0] == '#');
		CHECK(len > strlen(want_entries) &&
		      strcmp(text + len - strlen(want_entries), want_entries) == 0);
		CHECK_STR_CONTAINS(text, "\n# component version arch sha256|pending source\n");
		if (len <= strlen(want_entries) ||
		    strcmp(text + len - strlen(want_entries), want_entries) != 0)
			printf("#   written:\n%s", text);
	}
	free(text);
}

/* Loading gives the same entries, sorted, on consecutive lines. */
static void
check_loaded(const struct dy_lock *back, const char *path)
{
	size_t i;

	CHECK(back->n == 5 && back->path != NULL && strcmp(back->path, path) == 0);
	if (back->n != 5)
		return;
	CHECK(entry_is(&back->entries[0], "compose", "2", "any", SHA_B, "path:tool"));
	CHECK(entry_is(&back->entries[1], "docker", "29.2.1", "aarch64", SHA_B,
		       "https://example.org/arm.tgz"));
	CHECK(entry_is(&back->entries[2], "docker", "29.2.1", "x86_64", SHA_A,
		       "https://example.org/x86.tgz"));
	CHECK(entry_is(&back->entries[3], "sysbox", "0.6.7.10-tc", "x86_64", SHA_A,
		       "https://example.org/s10"));
	CHECK(entry_is(&back->entries[4], "sysbox", "0.6.7.9-tc", "x86_64", NULL,
		       "https://example.org/s9"));
	for (i = 1; i < back->n; i++)
		CHECK(back->entries[i].line == back->entries[i - 1].line + 1);
}

/* Rewriting a loaded lock replaces the file with the same bytes. */
static void
check_rewrite_same(struct dy_lock *back, const char *path)
{
	struct dy_err err = { 0 };
	size_t len = 0, len2 = 0;
	char *text, *again;

	text = tu_read_file(path, &len);
	CHECK(dy_lock_write(back, path, &err) == 0);
	if (text != NULL) {
		again = tu_read_file(path, &len2);
		CHECK(again != NULL && len2 == len && memcmp(again, text, len) == 0);
		free(again);
	}
	free(text);
}

static void
test_write_and_load(void)
{
	struct dy_err err = { 0 };
	struct dy_lock l, back;
	char dir[512], path[600], name[256] = "";
	struct stat st;
	mode_t old;
	int rc;

	if (tu_make_tmpdir(dir, sizeof(dir), "lock") < 0) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/x.lock", dir);
	fill_unsorted(&l);

	/* A restrictive umask does not leak into the lock's mode. */
	old = umask(077);
	rc = dy_lock_write(&l, path, &err);
	umask(old);
	CHECK(rc == 0);
	if (rc != 0)
		printf("#   %s\n", err.msg);
	/* Writing did not reorder the caller's lock. */
	CHECK(l.n == 5 && strcmp(l.entries[0].component, "sysbox") == 0);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
	/* Only the lock itself is left: no temporary file. */
	CHECK(count_names(dir, name, sizeof(name)) == 1 && strcmp(name, "x.lock") == 0);
	check_written(path);

	CHECK(dy_lock_load(path, 0, &back, &err) == 0);
	check_loaded(&back, path);
	check_rewrite_same(&back, path);
	CHECK(count_names(dir, name, sizeof(name)) == 1);

	/* An empty lock writes only comments and loads back empty. */
	dy_lock_free(&back);
	memset(&back, 0, sizeof(back));
	CHECK(dy_lock_write(&back, path, &err) == 0);
	CHECK(dy_lock_load(path, 0, &back, &err) == 0 && back.n == 0);
	dy_lock_free(&back);

	CHECK(unlink(path) == 0);
	CHECK(rmdir(dir) == 0);
	dy_lock_free(&l);
}

static void
test_load_missing(void)
{
	struct dy_err err = { 0 };
	char dir[512], path[600], name[256];
	struct dy_lock l;

	if (tu_make_tmpdir(dir, sizeof(dir), "lock") < 0) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/none.lock", dir);

	CHECK(dy_lock_load(path, 1, &l, &err) == 0);
	CHECK(l.n == 0 && l.entries == NULL && l.path != NULL && strcmp(l.path, path) == 0);
	dy_lock_free(&l);

	CHECK(dy_lock_load(path, 0, &l, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "cannot open lock file");
	CHECK_STR_CONTAINS(err.msg, path);
	CHECK(l.n == 0 && l.path == NULL);

	/* missing_ok is about a missing file only: a directory, or a path
	 * through a regular file, is an error. */
	CHECK(dy_lock_load(dir, 1, &l, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "is not a regular file");
	CHECK_STR_CONTAINS(err.msg, dir);
	CHECK(dy_lock_load("payload/demo.manifest/x.lock", 1, &l, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "cannot open lock file payload/demo.manifest/x.lock");
	CHECK(l.path == NULL);
	dy_lock_free(&l);

	/* Writing into a missing directory fails and names it. */
	snprintf(path, sizeof(path), "%s/sub/x.lock", dir);
	memset(&l, 0, sizeof(l));
	CHECK(dy_lock_write(&l, path, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, path);
	CHECK(count_names(dir, name, sizeof(name)) == 0);
	CHECK(rmdir(dir) == 0);
}

static void
path_for_is(const char *manifest, const char *want)
{
	char *got = dy_lock_path_for(manifest);

	CHECK(got != NULL && strcmp(got, want) == 0);
	if (got != NULL && strcmp(got, want) != 0)
		printf("#   dy_lock_path_for(%s) = %s, want %s\n", manifest, got, want);
	free(got);
}

static void
test_path_for(void)
{
	path_for_is("a/b.manifest", "a/b.lock");
	path_for_is("payload/dockyard.manifest", "payload/dockyard.lock");
	path_for_is("x.manifest", "x.lock");
	path_for_is("x", "x.lock");
	path_for_is("a.manifest.bak", "a.manifest.bak.lock");
	path_for_is("a/b.txt", "a/b.txt.lock");
}

/* The file is in the order dy_lock_write produces. */
static void
check_sorted(const struct dy_lock *l)
{
	size_t i;

	for (i = 1; i < l->n; i++) {
		int c = strcmp(l->entries[i - 1].component, l->entries[i].component);
		if (c == 0)
			c = strcmp(l->entries[i - 1].version, l->entries[i].version);
		if (c == 0)
			c = strcmp(l->entries[i - 1].arch, l->entries[i].arch);
		CHECK(c < 0);
	}
}

/* The release lock parses and pins what the release needs. */
static void
test_dockyard_lock(void)
{
	struct dy_err err = { 0 };
	const struct dy_lock_entry *e;
	struct dy_lock l;

	CHECK(dy_lock_load("payload/dockyard.lock", 0, &l, &err) == 0);
	if (l.path == NULL) {
		printf("#   %s\n", err.msg);
	} else {
		CHECK(l.n == 12);
		e = dy_lock_find(&l, "sysbox", "0.6.7.9-tc", "x86_64");
		CHECK(e != NULL && e->pending == 1);
		CHECK(e != NULL && strcmp(e->source, "https://github.com/thieso2/sysbox/releases/"
						     "download/v0.6.7.9-tc/"
						     "sysbox-static-x86_64.tar.gz") == 0);
		e = dy_lock_find(&l, "docker", "29.2.1", "x86_64");
		CHECK(entry_is(e, "docker", "29.2.1", "x86_64",
			       "995b1d0b51e96d551a3b49c552c0170bc6ce9f8b9e0866b8c15bbc67d1cf93a3",
			       "https://download.docker.com/linux/static/stable/x86_64/"
			       "docker-29.2.1.tgz"));
		e = dy_lock_find(&l, "sysbox", "0.6.7.10-tc", "x86_64");
		CHECK(e != NULL && e->pending == 0);
		check_sorted(&l);
	}
	dy_lock_free(&l);
}

/* Every Debian entry: pinned, local under build/debs, its arch's .deb. */
static void
check_debian_entries(const struct dy_lock *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct dy_lock_entry *e = &l->entries[i];
		const char *deb = strcmp(e->arch, "x86_64") == 0 ? "_amd64.deb" : "_arm64.deb";
		size_t len = strlen(e->source);
		CHECK(e->pending == 0);
		CHECK(strcmp(e->arch, "x86_64") == 0 || strcmp(e->arch, "aarch64") == 0);
		CHECK(strncmp(e->source, "path:../build/debs/", 19) == 0);
		CHECK(len > 10 && strcmp(e->source + len - 10, deb) == 0);
	}
}

/* The Debian lock pins five packages, each for both architectures. */
static void
test_debian_lock(void)
{
	struct dy_err err = { 0 };
	const struct dy_lock_entry *e;
	struct dy_lock l;

	CHECK(dy_lock_load("payload/debian.lock", 0, &l, &err) == 0);
	if (l.path == NULL) {
		printf("#   %s\n", err.msg);
	} else {
		CHECK(l.n == 10);
		check_debian_entries(&l);
		e = dy_lock_find(&l, "runc", "1.1.5+ds1-1+deb12u1", "aarch64");
		CHECK(e != NULL &&
		      sha_is(e->sha256,
			     "9cd43580a5e01bbcb57b662aa94df63914ffde088e9f739324cf0d6fb87c38c0"));
		e = dy_lock_find(&l, "runc", "1.1.5+ds1-1+deb12u1", "x86_64");
		CHECK(e != NULL &&
		      sha_is(e->sha256,
			     "a00351f8c0318de0b424ecf5cd0fdb69880a89f3511cae4f6fff7de3e57881c5"));
	}
	dy_lock_free(&l);
}

int
main(void)
{
	RUN(test_parse_valid);
	RUN(test_parse_rejects);
	RUN(test_parse_rejects_bytes);
	RUN(test_set);
	RUN(test_write_and_load);
	RUN(test_load_missing);
	RUN(test_path_for);
	RUN(test_dockyard_lock);
	RUN(test_debian_lock);
	return DONE();
}
