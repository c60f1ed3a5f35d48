/* SPDX-License-Identifier: Apache-2.0 */
/*
 * installer/preflight.h: the host checks before an install.  Only
 * side-effect-free checks run here; fixtures (fake sysroots, roots) live
 * in a private temporary directory that is removed at the end.
 */
#include <jansson.h>
#include <stdlib.h>

#include "../../installer/preflight.h"
#include "harness.h"
#include "testutil.h"

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define META_HEAD "dockyard-payload 1\nbuilt 1700000000\n"
#define META_ENTRIES                                                                               \
	"dir 0755 bin\nfile demo 0755 1000 " SHA_A " bin/a\nfile demo 0755 2000 " SHA_A " bin/b\n"

static char tmpdir[1024];

static int
write_text(const char *dir, const char *rel, const char *text)
{
	char path[8192], parent[8192], *slash;
	struct dy_err err;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	*slash = '\0';
	if (dy_mkdir_p(parent, 0755, &err) < 0 ||
	    dy_write_file_atomic(path, text, strlen(text), 0644, &err) < 0) {
		printf("#   %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
parse_meta(const char *text, struct dy_meta *m)
{
	struct dy_err err = { 0 };

	if (dy_meta_parse(text, strlen(text), m, &err) < 0) {
		printf("#   meta: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static const struct dy_check *
find_check(const struct dy_preflight *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nchecks; i++)
		if (strcmp(p->checks[i].name, name) == 0)
			return &p->checks[i];
	printf("#   no check named %s\n", name);
	return NULL;
}

static int
run(const struct dy_meta *m, const char *root, const char *sysroot, struct dy_preflight *p)
{
	struct dy_preflight_in in = { m, root, sysroot };
	struct dy_err err = { 0 };

	if (dy_preflight_run(&in, p, &err) < 0) {
		printf("#   preflight: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void
test_probe(void)
{
	char why[256] = "";
	int rc = dy_probe_mount_propagation(why, sizeof(why));

	printf("#   mount-propagation probe: %d (%s)\n", rc, why);
	CHECK(rc == 0 || rc == 1);
	CHECK(why[0] != '\0');
	if (rc == 0)
		CHECK(strstr(why, "unshare") != NULL || strstr(why, "mount(") != NULL);
}

static void
test_find_library_host(void)
{
	char found[4096] = "";
	struct stat st;

	CHECK(dy_find_library("", "libc.so.6", found, sizeof(found)) == 1);
	printf("#   libc.so.6: %s\n", found);
	CHECK(found[0] == '/' && stat(found, &st) == 0);
	CHECK(strstr(found, "/libc.so.6") != NULL);
	CHECK(dy_find_library("", "libdoesnotexist.so.9", found, sizeof(found)) == 0);
	CHECK(found[0] == '\0');
	/* Not a soname: never looked up. */
	CHECK(dy_find_library("", "../libc.so.6", found, sizeof(found)) == 0);
	CHECK(dy_find_library("", "", found, sizeof(found)) == 0);
}

/* A fake image: ld.so.conf includes a glob of files, one of them a
 * relative include, another includes itself (a loop ld.so survives too). */
static int
make_sysroot(char *sys, size_t size)
{
	snprintf(sys, size, "%s/sysroot", tmpdir);
	if (write_text(sys, "etc/ld.so.conf", "# comment\n\ninclude /etc/ld.so.conf.d/*.conf\n") <
		    0 ||
	    write_text(sys, "etc/ld.so.conf.d/10-loop.conf", "include 10-loop.conf\n") < 0 ||
	    write_text(sys, "etc/ld.so.conf.d/20-custom.conf",
		       "  /opt/custom/lib   # trailing comment\ninclude more.d/*.conf\n") < 0 ||
	    write_text(sys, "etc/ld.so.conf.d/more.d/x.conf", "/opt/nested/lib\n") < 0 ||
	    write_text(sys, "etc/ld.so.conf.d/ignored.txt", "/opt/ignored\n") < 0 ||
	    write_text(sys, "opt/custom/lib/libcustom.so.3", "x") < 0 ||
	    write_text(sys, "opt/nested/lib/libnested.so.1", "x") < 0 ||
	    write_text(sys, "opt/ignored/libignored.so.1", "x") < 0 ||
	    write_text(sys, "usr/lib64/libdefault.so.2", "x") < 0)
		return -1;
	return 0;
}

static void
test_find_library_sysroot(void)
{
	char sys[4096], found[4096], want[8192];

	CHECK(make_sysroot(sys, sizeof(sys)) == 0);
	CHECK(dy_find_library(sys, "libcustom.so.3", found, sizeof(found)) == 1);
	snprintf(want, sizeof(want), "%s/opt/custom/lib/libcustom.so.3", sys);
	CHECK(strcmp(found, want) == 0);
	CHECK(dy_find_library(sys, "libnested.so.1", found, sizeof(found)) == 1);
	CHECK(dy_find_library(sys, "libdefault.so.2", found, sizeof(found)) == 1);
	snprintf(want, sizeof(want), "%s/usr/lib64/libdefault.so.2", sys);
	CHECK(strcmp(found, want) == 0);
	/* Only *.conf files are read. */
	CHECK(dy_find_library(sys, "libignored.so.1", found, sizeof(found)) == 0);
	/* The host's libraries do not count for an image. */
	CHECK(dy_find_library(sys, "libc.so.6", found, sizeof(found)) == 0);
	/* Nor the image's for the host. */
	CHECK(dy_find_library("", "libcustom.so.3", found, sizeof(found)) == 0);
}

/* rel below dir: the first 20 bytes of a 64-bit little-endian ELF file
 * for machine (62 x86_64, 183 aarch64), all the lookup reads. */
static int
write_elf(const char *dir, const char *rel, unsigned machine)
{
	unsigned char h[20] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	char path[8192];
	struct dy_err err;

	h[16] = 3; /* ET_DYN */
	h[18] = (unsigned char)(machine & 0xff);
	h[19] = (unsigned char)(machine >> 8);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (write_text(dir, rel, "") < 0 ||
	    dy_write_file_atomic(path, h, sizeof(h), 0644, &err) < 0)
		return -1;
	return 0;
}

/* An aarch64 payload's libraries: its multiarch directories first, and
 * an x86_64 copy of the soname does not count (nor the reverse). */
static void
test_find_library_arch(void)
{
	char sys[4096], found[4096], want[8192];

	snprintf(sys, sizeof(sys), "%s/multiarch", tmpdir);
	CHECK(write_elf(sys, "lib/aarch64-linux-gnu/liba.so.1", 183) == 0);
	CHECK(write_elf(sys, "usr/lib/x86_64-linux-gnu/liba.so.1", 62) == 0);
	CHECK(write_elf(sys, "usr/lib64/libx.so.2", 62) == 0);
	CHECK(write_text(sys, "usr/lib/libscript.so", "GROUP ( libscript.so.1 )\n") == 0);
	CHECK(dy_find_library_arch(sys, "aarch64", "liba.so.1", found, sizeof(found)) == 1);
	snprintf(want, sizeof(want), "%s/lib/aarch64-linux-gnu/liba.so.1", sys);
	CHECK(strcmp(found, want) == 0);
	CHECK(dy_find_library_arch(sys, "x86_64", "liba.so.1", found, sizeof(found)) == 1);
	snprintf(want, sizeof(want), "%s/usr/lib/x86_64-linux-gnu/liba.so.1", sys);
	CHECK(strcmp(found, want) == 0);
	CHECK(dy_find_library_arch(sys, "aarch64", "libx.so.2", found, sizeof(found)) == 0);
	CHECK(found[0] == '\0');
	CHECK(dy_find_library_arch(sys, "x86_64", "libx.so.2", found, sizeof(found)) == 1);
	/* A file that is not ELF is taken by its presence, as before. */
	CHECK(dy_find_library_arch(sys, "aarch64", "libscript.so", found, sizeof(found)) == 1);
	/* An unknown architecture finds nothing. */
	CHECK(dy_find_library_arch(sys, "riscv64", "liba.so.1", found, sizeof(found)) == 0);
}

static void
test_missing_library_fails(void)
{
	static const char text[] = META_HEAD "component demo 1\n" META_ENTRIES
					     "needs bin/a libc.so.6 libdoesnotexist.so.9\n"
					     "needs bin/b libdoesnotexist.so.9\n";
	const struct dy_check *k;
	struct dy_preflight p;
	struct dy_meta m;

	CHECK(parse_meta(text, &m) == 0);
	CHECK(run(&m, tmpdir, "", &p) == 0);
	k = find_check(&p, "shared-libraries");
	CHECK(k != NULL);
	if (k != NULL) {
		printf("#   %s / fix: %s\n", k->detail, k->fix);
		CHECK(!k->ok && !k->warn_only);
		CHECK_STR_CONTAINS(k->detail, "missing libdoesnotexist.so.9");
		CHECK_STR_CONTAINS(k->detail, "bin/a bin/b");
		CHECK(strstr(k->detail, "libc.so.6") == NULL);
		CHECK_STR_CONTAINS(k->fix, "apt-get install");
		CHECK_STR_CONTAINS(k->fix, "libdoesnotexist.so.9");
	}
	CHECK(p.failed >= 1);
	dy_preflight_free(&p);
	CHECK(p.checks == NULL && p.nchecks == 0);
	dy_meta_free(&m);
}

static void
test_present_libraries_pass(void)
{
	static const char text[] =
		META_HEAD "component demo 1\n" META_ENTRIES "needs bin/a /bin/sh libc.so.6\n";
	static const char statics[] = META_HEAD "component demo 1\n" META_ENTRIES;
	const struct dy_check *k;
	struct dy_preflight p;
	struct dy_meta m;

	/* /bin/sh stands in for an interpreter: it is checked by path. */
	CHECK(parse_meta(text, &m) == 0);
	CHECK(run(&m, tmpdir, "", &p) == 0);
	k = find_check(&p, "shared-libraries");
	CHECK(k != NULL && k->ok && k->fix[0] == '\0');
	if (k != NULL)
		CHECK_STR_CONTAINS(k->detail, "all 2 libraries");
	dy_preflight_free(&p);
	dy_meta_free(&m);

	CHECK(parse_meta(statics, &m) == 0);
	CHECK(run(&m, tmpdir, "", &p) == 0);
	k = find_check(&p, "shared-libraries");
	CHECK(k != NULL && k->ok);
	if (k != NULL)
		CHECK_STR_CONTAINS(k->detail, "statically linked");
	dy_preflight_free(&p);
	dy_meta_free(&m);
}

/* For an image, kernel checks only warn; libraries are looked up inside. */
static void
test_sysroot(void)
{
	static const char text[] =
		META_HEAD "component demo 1\n" META_ENTRIES "needs bin/a /bin/sh libcustom.so.3\n";
	static const char *const kernel[] = { "overlayfs", "bridge", "netfilter", "conntrack",
					      "cgroup" };
	char sys[4096];
	const struct dy_check *k;
	struct dy_preflight p;
	struct dy_meta m;
	size_t i;

	CHECK(make_sysroot(sys, sizeof(sys)) == 0);
	CHECK(parse_meta(text, &m) == 0);
	CHECK(run(&m, "/dy1", sys, &p) == 0);
	for (i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++) {
		k = find_check(&p, kernel[i]);
		CHECK(k != NULL && k->warn_only);
	}
	k = find_check(&p, "root");
	CHECK(k != NULL && !k->warn_only);
	/* libcustom is in the image; /bin/sh is not.  What the image holds
	 * only warns: its pipeline may add it after the install. */
	k = find_check(&p, "shared-libraries");
	CHECK(k != NULL && !k->ok && k->warn_only);
	if (k != NULL) {
		CHECK_STR_CONTAINS(k->detail, "missing /bin/sh");
		CHECK(strstr(k->detail, "libcustom") == NULL);
	}
	/* Disk space is measured where the root will be: inside the image. */
	k = find_check(&p, "disk-space");
	CHECK(k != NULL);
	if (k != NULL)
		CHECK_STR_CONTAINS(k->detail, sys);
	dy_preflight_free(&p);
	dy_meta_free(&m);
}

static void
test_sysbox_makes_checks_required(void)
{
	static const char plain[] = META_HEAD "component demo 1\n" META_ENTRIES;
	static const char sysbox[] =
		META_HEAD "component demo 1\n"
			  "component sysbox 0.6.7.9-tc sysbox-run-dir=args\n" META_ENTRIES;
	static const char *const names[] = { "mount-propagation", "fuse", "rsync",
					     "user-namespaces" };
	const struct dy_check *k;
	struct dy_preflight p;
	struct dy_meta m;
	size_t i;

	CHECK(parse_meta(plain, &m) == 0);
	CHECK(run(&m, tmpdir, "", &p) == 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		k = find_check(&p, names[i]);
		CHECK(k != NULL && k->warn_only);
	}
	k = find_check(&p, "overlayfs");
	CHECK(k != NULL && !k->warn_only);
	dy_preflight_free(&p);
	dy_meta_free(&m);

	CHECK(parse_meta(sysbox, &m) == 0);
	CHECK(run(&m, tmpdir, "", &p) == 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		k = find_check(&p, names[i]);
		CHECK(k != NULL && !k->warn_only);
	}
	k = find_check(&p, "mount-propagation");
	if (k != NULL && !k->ok)
		CHECK_STR_CONTAINS(k->fix, "--force");
	dy_preflight_free(&p);
	dy_meta_free(&m);
}

static void
test_disk_space(void)
{
	static const char text[] = META_HEAD "component demo 1\n" META_ENTRIES;
	char root[8192], bin[8192];
	struct dy_err err = { 0 };
	const struct dy_check *k;
	struct dy_preflight p;
	struct dy_meta m;

	snprintf(root, sizeof(root), "%s/not/yet/there", tmpdir);
	CHECK(parse_meta(text, &m) == 0);
	CHECK(run(&m, root, "", &p) == 0);
	k = find_check(&p, "disk-space");
	CHECK(k != NULL && k->ok);
	if (k != NULL) {
		printf("#   %s\n", k->detail);
		/* Measured at the nearest existing ancestor. */
		CHECK_STR_CONTAINS(k->detail, tmpdir);
		CHECK(strstr(k->detail, "not/yet") == NULL);
		CHECK(strstr(k->detail, "again") == NULL);
	}
	dy_preflight_free(&p);

	/* An installed bin/: the upgrade keeps it, so bin/ counts twice. */
	snprintf(bin, sizeof(bin), "%s/inst/bin", tmpdir);
	CHECK(dy_mkdir_p(bin, 0755, &err) == 0);
	snprintf(root, sizeof(root), "%s/inst", tmpdir);
	CHECK(run(&m, root, "", &p) == 0);
	k = find_check(&p, "disk-space");
	CHECK(k != NULL && k->ok);
	if (k != NULL)
		CHECK_STR_CONTAINS(k->detail, "bin/ again");
	dy_preflight_free(&p);
	dy_meta_free(&m);
}

static char *
capture_print(const struct dy_preflight *p, int json)
{
	struct dy_err err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (json)
		CHECK(dy_preflight_print_json(f, p, &err) == 0);
	else
		dy_preflight_print(f, p);
	fclose(f);
	return buf;
}

/* Every verdict line puts its detail in the same column. */
static void
check_text_report(const char *out)
{
	const char *line;
	long col = -1;

	for (line = out; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0))
		printf("#   %.*s\n", (int)strcspn(line, "\n"), line); /* for the log */
	CHECK_STR_CONTAINS(out, "FAIL  shared-libraries");
	CHECK_STR_CONTAINS(out, "\n  fix: apt-get install the packages providing "
				"libdoesnotexist.so.9");
	for (line = out; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : 0) {
		const char *name, *detail;
		if (strncmp(line, "  fix: ", 7) == 0)
			continue;
		CHECK(strncmp(line, "PASS  ", 6) == 0 || strncmp(line, "FAIL  ", 6) == 0 ||
		      strncmp(line, "WARN  ", 6) == 0);
		name = line + 6;
		detail = name + strcspn(name, " ");
		detail += strspn(detail, " ");
		if (col < 0)
			col = detail - line;
		CHECK(detail - line == col);
	}
}

/* The JSON report: one object per check, in order, with every field. */
static void
check_json_report(const char *out, const struct dy_preflight *p)
{
	json_error_t jerr;
	json_t *root, *checks, *c;
	size_t i;

	root = out ? json_loads(out, 0, &jerr) : NULL;
	CHECK(root != NULL);
	checks = json_object_get(root, "checks");
	CHECK(json_is_array(checks) && json_array_size(checks) == p->nchecks);
	CHECK(json_is_integer(json_object_get(root, "failed")) &&
	      (size_t)json_integer_value(json_object_get(root, "failed")) == p->failed);
	json_array_foreach(checks, i, c)
	{
		CHECK(json_is_string(json_object_get(c, "name")));
		CHECK(json_is_boolean(json_object_get(c, "ok")));
		CHECK(json_is_boolean(json_object_get(c, "required")));
		CHECK(json_is_string(json_object_get(c, "detail")));
		CHECK(json_is_string(json_object_get(c, "fix")));
		if (i < p->nchecks) {
			CHECK(strcmp(json_string_value(json_object_get(c, "name")),
				     p->checks[i].name) == 0);
			CHECK(json_is_true(json_object_get(c, "ok")) == (p->checks[i].ok != 0));
			CHECK(json_is_true(json_object_get(c, "required")) ==
			      (p->checks[i].warn_only == 0));
		}
	}
	json_decref(root);
}

static void
test_output(void)
{
	static const char text[] =
		META_HEAD "component demo 1\n" META_ENTRIES "needs bin/a libdoesnotexist.so.9\n";
	struct dy_preflight p;
	struct dy_meta m;
	char *out;

	CHECK(parse_meta(text, &m) == 0);
	CHECK(run(&m, tmpdir, "", &p) == 0);
	out = capture_print(&p, 0);
	CHECK(out != NULL);
	if (out != NULL)
		check_text_report(out);
	free(out);
	out = capture_print(&p, 1);
	check_json_report(out, &p);
	free(out);
	dy_preflight_free(&p);
	dy_meta_free(&m);
}

int
main(void)
{
	if (tu_make_tmpdir(tmpdir, sizeof(tmpdir), "preflight") < 0)
		return 1;
	RUN(test_probe);
	RUN(test_find_library_host);
	RUN(test_find_library_sysroot);
	RUN(test_find_library_arch);
	RUN(test_missing_library_fails);
	RUN(test_present_libraries_pass);
	RUN(test_sysroot);
	RUN(test_sysbox_makes_checks_required);
	RUN(test_disk_space);
	RUN(test_output);
	tu_remove_tree(tmpdir);
	return DONE();
}
