/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder/unpack.c: members out of tarballs, .deb files and bare files.
 * Every fixture is written here with libarchive's writer, in a temporary
 * directory that is the working directory while the tests run: artifacts
 * at its top, outputs under out/, so "nothing left on disk" means out/ is
 * empty.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../builder/unpack.h"
#include "../../common/xio.h"
#include "harness.h"
#include "testutil.h"

#define NOLIMIT UINT64_MAX

static char tmp[64];

/* One entry of a fixture archive; type 0 means a regular file. */
struct fx {
	const char *name;
	const char *data;
	const char *symlink;
	const char *hardlink;
	unsigned type;
};

static void
add_entries(struct archive *a, const struct fx *fx)
{
	struct archive_entry *ae;

	for (; fx->name; fx++) {
		unsigned type = fx->type ? fx->type : AE_IFREG;
		size_t len = fx->data ? strlen(fx->data) : 0;

		ae = archive_entry_new();
		archive_entry_set_pathname(ae, fx->name);
		archive_entry_set_mtime(ae, 1700000000, 0);
		archive_entry_set_filetype(ae, type);
		archive_entry_set_perm(ae, type == AE_IFDIR ? 0755 : 0644);
		if (fx->symlink)
			archive_entry_set_symlink(ae, fx->symlink);
		if (fx->hardlink)
			archive_entry_set_hardlink(ae, fx->hardlink);
		if (type == AE_IFCHR)
			archive_entry_set_rdev(ae, makedev(1, 3));
		if (type == AE_IFREG && !fx->hardlink)
			archive_entry_set_size(ae, (la_int64_t)len);
		CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
		if (len)
			CHECK(archive_write_data(a, fx->data, len) == (la_ssize_t)len);
		archive_entry_free(ae);
	}
}

static struct archive *
tar_writer(int filter)
{
	struct archive *a = archive_write_new();

	CHECK(archive_write_add_filter(a, filter) == ARCHIVE_OK);
	CHECK(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	return a;
}

static void
write_tar(const char *path, int filter, const struct fx *fx)
{
	struct archive *a = tar_writer(filter);

	CHECK(archive_write_open_filename(a, path) == ARCHIVE_OK);
	add_entries(a, fx);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
}

/* A whole archive in memory, to be nested in a .deb; free() it. */
static void *
tar_bytes(int filter, const struct fx *fx, size_t *len)
{
	size_t cap = 4u << 20;
	void *buf = malloc(cap);
	struct archive *a = tar_writer(filter);

	*len = 0;
	CHECK(buf != NULL);
	CHECK(archive_write_open_memory(a, buf, cap, len) == ARCHIVE_OK);
	add_entries(a, fx);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	return buf;
}

struct member {
	const char *name;
	const void *data;
	size_t len;
};

static void
write_ar(const char *path, const struct member *m, size_t n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae;
	size_t i;

	CHECK(archive_write_set_format_ar_svr4(a) == ARCHIVE_OK);
	/* No padding after the last member: dpkg reads the file as is. */
	CHECK(archive_write_set_bytes_per_block(a, 0) == ARCHIVE_OK);
	CHECK(archive_write_open_filename(a, path) == ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		ae = archive_entry_new();
		archive_entry_set_pathname(ae, m[i].name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_mtime(ae, 1700000000, 0);
		archive_entry_set_size(ae, (la_int64_t)m[i].len);
		CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
		CHECK(archive_write_data(a, m[i].data, m[i].len) == (la_ssize_t)m[i].len);
		archive_entry_free(ae);
	}
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
}

static const struct fx deb_control[] = {
	{ .name = "./", .type = AE_IFDIR },
	{ .name = "./control",
	  .data = "Package: dy-test\nVersion: 1.0\nArchitecture: all\n"
		  "Maintainer: Dockyard <dockyard@example.org>\nDescription: test\n" },
	{ NULL },
};

/* debian-binary, control.tar.xz, then data as data_name compressed with
 * filter: the layout dpkg-deb --build writes. */
static void
write_deb(const char *path, const char *data_name, int filter, const struct fx *fx)
{
	size_t clen, dlen;
	void *c = tar_bytes(ARCHIVE_FILTER_XZ, deb_control, &clen);
	void *d = tar_bytes(filter, fx, &dlen);
	const struct member m[] = {
		{ "debian-binary", "2.0\n", 4 },
		{ "control.tar.xz", c, clen },
		{ data_name, d, dlen },
	};

	write_ar(path, m, 3);
	free(c);
	free(d);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	CHECK(fd >= 0);
	CHECK(dy_write_full(fd, data, len) == 0);
	close(fd);
}

static int
file_is(const char *path, const char *want)
{
	size_t len = 0;
	char *got = tu_read_file(path, &len);
	int same = got && len == strlen(want) && memcmp(got, want, len) == 0;

	if (!same)
		printf("#   %s: expected '%s', got '%s'\n", path, want, got ? got : "(unreadable)");
	free(got);
	return same;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Entries under out/: what a failed call must have left (none). */
static int
outputs_left(void)
{
	DIR *d = opendir("out");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Start each test in an empty temporary directory holding out/. */
static void
fresh(void)
{
	struct dy_err err;

	CHECK(chdir("/") == 0);
	CHECK(dy_remove_tree_at(AT_FDCWD, tmp, &err) == 0);
	CHECK(mkdir(tmp, 0700) == 0);
	CHECK(chdir(tmp) == 0);
	CHECK(mkdir("out", 0700) == 0);
}

static int
unpack_ok(const char *artifact, enum dy_artifact_kind kind, struct dy_want *w, size_t n)
{
	struct dy_err err = { 0 };
	int rc = dy_unpack(artifact, kind, w, n, NOLIMIT, &err);

	if (rc != 0)
		printf("#   unpack %s failed: %s\n", artifact, err.msg);
	return rc == 0;
}

/* The call fails, its message holds both needles (NULL: skip), and no
 * output is left behind. */
static void
unpack_fails(const char *artifact, enum dy_artifact_kind kind, struct dy_want *w, size_t n,
	     uint64_t max, const char *needle1, const char *needle2)
{
	struct dy_err err = { 0 };
	size_t i;

	CHECK(dy_unpack(artifact, kind, w, n, max, &err) == -1);
	printf("#   refused: %s\n", err.msg);
	if (needle1)
		CHECK_STR_CONTAINS(err.msg, needle1);
	if (needle2)
		CHECK_STR_CONTAINS(err.msg, needle2);
	for (i = 0; i < n; i++)
		CHECK(!w[i].found);
	CHECK(outputs_left() == 0);
}

static const char DOCKERD[] = "#!dockerd\x01\x02 binary bytes\n";
static const char CONTAINERD[] = "containerd: a little longer than the other one\n";

static const struct fx docker_tree[] = {
	{ .name = "docker/", .type = AE_IFDIR },
	{ .name = "docker/containerd", .data = CONTAINERD },
	{ .name = "docker/dockerd", .data = DOCKERD },
	{ .name = "docker/runc", .data = "runc\n" },
	{ .name = "docker/empty", .data = "" },
	{ NULL },
};

/* Two members out of a .tgz, byte for byte; others are not written. */
static void
test_tgz_members(void)
{
	struct dy_want w[] = {
		{ .member = "docker/dockerd", .out_path = "out/dockerd" },
		{ .member = "docker/containerd", .out_path = "out/containerd" },
		{ .member = "docker/empty", .out_path = "out/empty" },
	};

	fresh();
	write_tar("docker.tgz", ARCHIVE_FILTER_GZIP, docker_tree);
	CHECK(unpack_ok("docker.tgz", DY_KIND_TAR, w, 3));
	CHECK(w[0].found && w[0].size == sizeof(DOCKERD) - 1);
	CHECK(w[1].found && w[1].size == sizeof(CONTAINERD) - 1);
	CHECK(w[2].found && w[2].size == 0);
	CHECK(file_is("out/dockerd", DOCKERD));
	CHECK(file_is("out/containerd", CONTAINERD));
	CHECK(file_is("out/empty", ""));
	CHECK(outputs_left() == 3);
}

/* Compression is detected by content, whatever the file is called. */
static void
test_compressions(void)
{
	static const int filters[] = { ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_ZSTD,
				       ARCHIVE_FILTER_BZIP2 };
	size_t i;

	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		struct dy_want w = { .member = "docker/dockerd", .out_path = "out/d" };
		fresh();
		write_tar("docker.tar", filters[i], docker_tree);
		CHECK(unpack_ok("docker.tar", DY_KIND_TAR, &w, 1));
		CHECK(w.found && file_is("out/d", DOCKERD));
	}
}

/* "./" and "/" prefixes are ignored on both sides. */
static void
test_leading_dot_slash(void)
{
	static const struct fx tree[] = {
		{ .name = "./", .type = AE_IFDIR },
		{ .name = "./sysbox-runc", .data = "runc" },
		{ .name = "./sysbox-fs", .data = "fs" },
		{ .name = "sysbox-mgr", .data = "mgr" },
		{ NULL },
	};
	struct dy_want w[] = {
		{ .member = "sysbox-runc", .out_path = "out/runc" },
		{ .member = "./sysbox-fs", .out_path = "out/fs" },
		{ .member = "/sysbox-mgr", .out_path = "out/mgr" },
	};

	fresh();
	write_tar("sysbox.tar.gz", ARCHIVE_FILTER_GZIP, tree);
	CHECK(unpack_ok("sysbox.tar.gz", DY_KIND_TAR, w, 3));
	CHECK(file_is("out/runc", "runc"));
	CHECK(file_is("out/fs", "fs"));
	CHECK(file_is("out/mgr", "mgr"));
}

static void
test_missing_member(void)
{
	struct dy_want w[] = {
		{ .member = "docker/runc", .out_path = "out/runc" },
		{ .member = "dockerd", .out_path = "out/dockerd" },
	};
	struct dy_want none = { .member = "bin/nothing-like-it", .out_path = "out/x" };

	fresh();
	write_tar("docker.tgz", ARCHIVE_FILTER_GZIP, docker_tree);
	unpack_fails("docker.tgz", DY_KIND_TAR, w, 2, NOLIMIT,
		     "member dockerd not found in docker.tgz;", "did you mean docker/dockerd?");
	unpack_fails("docker.tgz", DY_KIND_TAR, &none, 1, NOLIMIT,
		     "bin/nothing-like-it not found in", "docker.tgz");
}

static void
test_duplicate_member(void)
{
	static const struct fx tree[] = {
		{ .name = "docker/dockerd", .data = "first" },
		{ .name = "docker/runc", .data = "runc" },
		{ .name = "./docker/dockerd", .data = "second" },
		{ NULL },
	};
	struct dy_want w[] = {
		{ .member = "docker/runc", .out_path = "out/runc" },
		{ .member = "docker/dockerd", .out_path = "out/dockerd" },
	};

	fresh();
	write_tar("dup.tgz", ARCHIVE_FILTER_GZIP, tree);
	unpack_fails("dup.tgz", DY_KIND_TAR, w, 2, NOLIMIT, "docker/dockerd appears twice in",
		     "dup.tgz");
}

/* The limit is checked against the header before anything is created,
 * and an earlier member already written is removed again. */
static void
test_oversized_member(void)
{
	static const struct fx tree[] = {
		{ .name = "docker/runc", .data = "runc\n" },
		{ .name = "docker/dockerd", .data = DOCKERD },
		{ .name = "docker/containerd", .data = CONTAINERD },
		{ NULL },
	};
	struct dy_want w[] = {
		{ .member = "docker/runc", .out_path = "out/runc" },
		{ .member = "docker/containerd", .out_path = "out/containerd" },
	};
	struct dy_want fits = { .member = "docker/dockerd", .out_path = "out/dockerd" };
	struct dy_err err = { 0 };
	char limit[64];

	fresh();
	write_tar("docker.tgz", ARCHIVE_FILTER_GZIP, tree);
	snprintf(limit, sizeof(limit), "is %zu bytes, more than the limit of 40",
		 sizeof(CONTAINERD) - 1);
	unpack_fails("docker.tgz", DY_KIND_TAR, w, 2, 40, "docker/containerd", limit);
	/* Exactly at the limit is fine. */
	CHECK(dy_unpack("docker.tgz", DY_KIND_TAR, &fits, 1, sizeof(DOCKERD) - 1, &err) == 0);
	CHECK(file_is("out/dockerd", DOCKERD));
}

/* Two wants may name one member (or reach it through a link): the data
 * is read once and written to both. */
static void
test_member_wanted_twice(void)
{
	struct dy_want w[] = {
		{ .member = "docker/dockerd", .out_path = "out/a" },
		{ .member = "./docker/dockerd", .out_path = "out/b" },
	};

	fresh();
	write_tar("docker.tgz", ARCHIVE_FILTER_GZIP, docker_tree);
	CHECK(unpack_ok("docker.tgz", DY_KIND_TAR, w, 2));
	CHECK(file_is("out/a", DOCKERD) && file_is("out/b", DOCKERD));
	CHECK(w[1].found && w[1].size == sizeof(DOCKERD) - 1);
}

static void
test_directory_member(void)
{
	struct dy_want w = { .member = "docker", .out_path = "out/docker" };

	fresh();
	write_tar("docker.tgz", ARCHIVE_FILTER_GZIP, docker_tree);
	unpack_fails("docker.tgz", DY_KIND_TAR, &w, 1, NOLIMIT, "member docker of",
		     "is a directory");
}

static void
test_device_member(void)
{
	static const struct fx tree[] = {
		{ .name = "dev/null", .type = AE_IFCHR },
		{ .name = "dev/fifo", .type = AE_IFIFO },
		{ NULL },
	};
	struct dy_want null = { .member = "dev/null", .out_path = "out/null" };
	struct dy_want fifo = { .member = "dev/fifo", .out_path = "out/fifo" };

	fresh();
	write_tar("dev.tar", ARCHIVE_FILTER_NONE, tree);
	unpack_fails("dev.tar", DY_KIND_TAR, &null, 1, NOLIMIT, "dev/null",
		     "is a character device");
	unpack_fails("dev.tar", DY_KIND_TAR, &fifo, 1, NOLIMIT, "dev/fifo", "is a fifo");
}

/* O_EXCL: an existing output is an error and stays as it was. */
static void
test_out_path_exists(void)
{
	struct dy_want w = { .member = "docker/dockerd", .out_path = "out/dockerd" };
	struct dy_err err = { 0 };

	fresh();
	write_tar("docker.tgz", ARCHIVE_FILTER_GZIP, docker_tree);
	write_file("out/dockerd", "precious", 8);
	CHECK(dy_unpack("docker.tgz", DY_KIND_TAR, &w, 1, NOLIMIT, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "cannot create");
	CHECK_STR_CONTAINS(err.msg, "out/dockerd");
	CHECK_STR_CONTAINS(err.msg, "File exists");
	CHECK(!w.found);
	CHECK(file_is("out/dockerd", "precious"));

	/* Not through a symlink either. */
	CHECK(symlink("../elsewhere", "out/link") == 0);
	w.out_path = "out/link";
	CHECK(dy_unpack("docker.tgz", DY_KIND_TAR, &w, 1, NOLIMIT, &err) == -1);
	CHECK(!exists("elsewhere"));
}

/* A truncated archive fails even after a wanted member was written:
 * that member is removed again. */
static void
test_truncated_archive(void)
{
	struct dy_want w[] = {
		{ .member = "docker/containerd", .out_path = "out/containerd" },
		{ .member = "docker/runc", .out_path = "out/runc" },
	};
	char big[200000];
	struct fx tree[] = {
		{ .name = "docker/containerd", .data = CONTAINERD },
		{ .name = "docker/filler", .data = big },
		{ .name = "docker/runc", .data = "runc" },
		{ NULL },
	};
	size_t i, len = 0;
	char *whole;

	/* Incompressible filler, so the cut lands inside it. */
	srand(7);
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('A' + rand() % 26);
	big[sizeof(big) - 1] = '\0';
	fresh();
	write_tar("full.tgz", ARCHIVE_FILTER_GZIP, tree);
	whole = tu_read_file("full.tgz", &len);
	CHECK(whole != NULL && len > 1000);
	if (whole == NULL)
		return;
	write_file("cut.tgz", whole, len / 2);
	free(whole);
	unpack_fails("cut.tgz", DY_KIND_TAR, w, 2, NOLIMIT, "cut.tgz", "cannot read");
	/* Only the first member wanted: still refused, the archive is damaged. */
	unpack_fails("cut.tgz", DY_KIND_TAR, w, 1, NOLIMIT, "cut.tgz", NULL);

	/* Cut inside the wanted member's own data: short data is refused
	 * while that member's output is open. */
	write_tar("full.tar", ARCHIVE_FILTER_NONE, tree);
	whole = tu_read_file("full.tar", &len);
	CHECK(whole != NULL);
	if (whole == NULL)
		return;
	write_file("cut.tar", whole, 100000);
	free(whole);
	w[1] = (struct dy_want){ .member = "docker/filler", .out_path = "out/filler" };
	unpack_fails("cut.tar", DY_KIND_TAR, w, 2, NOLIMIT, "cut.tar: cannot read docker/filler",
		     NULL);
}

static void
test_not_an_archive(void)
{
	struct dy_want w = { .member = "docker/dockerd", .out_path = "out/dockerd" };

	fresh();
	write_file("junk.tgz", "this is not a tarball at all\n", 29);
	unpack_fails("junk.tgz", DY_KIND_TAR, &w, 1, NOLIMIT, "junk.tgz", "cannot read");
	unpack_fails("absent.tgz", DY_KIND_TAR, &w, 1, NOLIMIT, "cannot open", "absent.tgz");
}

static void
test_file_copy(void)
{
	struct dy_want w = { .out_path = "out/docker-compose" };
	struct dy_want two[] = { { .out_path = "out/a" }, { .out_path = "out/b" } };

	fresh();
	write_file("docker-compose-linux-x86_64", DOCKERD, sizeof(DOCKERD) - 1);
	CHECK(unpack_ok("docker-compose-linux-x86_64", DY_KIND_FILE, &w, 1));
	CHECK(w.found && w.size == sizeof(DOCKERD) - 1);
	CHECK(file_is("out/docker-compose", DOCKERD));
	CHECK(unlink("out/docker-compose") == 0);

	unpack_fails("docker-compose-linux-x86_64", DY_KIND_FILE, &w, 1, 10,
		     "more than the limit of 10", "docker-compose-linux-x86_64");
	unpack_fails("docker-compose-linux-x86_64", DY_KIND_FILE, two, 2, NOLIMIT, "2 outputs",
		     NULL);
	unpack_fails(tmp, DY_KIND_FILE, &w, 1, NOLIMIT, "not a regular file", NULL);
}

static void
test_bad_wants(void)
{
	struct dy_want dotdot = { .member = "docker/../etc/passwd", .out_path = "out/x" };
	struct dy_want empty = { .member = "./", .out_path = "out/x" };
	struct dy_want noout = { .member = "docker/dockerd" };

	fresh();
	write_tar("docker.tgz", ARCHIVE_FILTER_GZIP, docker_tree);
	unpack_fails("docker.tgz", DY_KIND_TAR, &dotdot, 1, NOLIMIT, "'..' component", NULL);
	unpack_fails("docker.tgz", DY_KIND_TAR, &empty, 1, NOLIMIT, "names no file", NULL);
	unpack_fails("docker.tgz", DY_KIND_TAR, &noout, 1, NOLIMIT, "no output path", NULL);
	unpack_fails("docker.tgz", DY_KIND_TAR, &noout, 0, NOLIMIT, "no member wanted", NULL);
}

static const struct fx deb_tree[] = {
	{ .name = "./", .type = AE_IFDIR },
	{ .name = "./usr/", .type = AE_IFDIR },
	{ .name = "./usr/bin/", .type = AE_IFDIR },
	{ .name = "./usr/bin/docker", .data = "docker cli\n" },
	{ .name = "./usr/sbin/", .type = AE_IFDIR },
	{ .name = "./usr/sbin/dockerd", .data = DOCKERD },
	{ .name = "./usr/share/doc/docker.io/README", .data = "read me\n" },
	{ NULL },
};

/* data.tar.xz, .zst, .gz and a plain data.tar, each read in place. */
static void
test_deb_members(void)
{
	static const struct {
		const char *name;
		int filter;
	} data[] = {
		{ "data.tar.xz", ARCHIVE_FILTER_XZ },
		{ "data.tar.zst", ARCHIVE_FILTER_ZSTD },
		{ "data.tar.gz", ARCHIVE_FILTER_GZIP },
		{ "data.tar", ARCHIVE_FILTER_NONE },
	};
	size_t i;

	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		struct dy_want w[] = {
			{ .member = "usr/sbin/dockerd", .out_path = "out/dockerd" },
			{ .member = "/usr/bin/docker", .out_path = "out/docker" },
		};
		printf("#   %s\n", data[i].name);
		fresh();
		write_deb("docker.io.deb", data[i].name, data[i].filter, deb_tree);
		CHECK(unpack_ok("docker.io.deb", DY_KIND_DEB, w, 2));
		CHECK(w[0].found && w[0].size == sizeof(DOCKERD) - 1);
		CHECK(file_is("out/dockerd", DOCKERD));
		CHECK(file_is("out/docker", "docker cli\n"));
		CHECK(outputs_left() == 2);
	}
}

/* Messages name the package and its data member; control.tar is not
 * searched. */
static void
test_deb_missing(void)
{
	struct dy_want w = { .member = "sbin/dockerd", .out_path = "out/dockerd" };
	struct dy_want ctl = { .member = "control", .out_path = "out/control" };

	fresh();
	write_deb("docker.io.deb", "data.tar.xz", ARCHIVE_FILTER_XZ, deb_tree);
	unpack_fails("docker.io.deb", DY_KIND_DEB, &w, 1, NOLIMIT,
		     "member sbin/dockerd not found in docker.io.deb (data.tar.xz)",
		     "did you mean usr/sbin/dockerd?");
	unpack_fails("docker.io.deb", DY_KIND_DEB, &ctl, 1, NOLIMIT, "control not found", NULL);
	w.member = "usr/sbin/dockerd";
	unpack_fails("docker.io.deb", DY_KIND_DEB, &w, 1, 10,
		     "usr/sbin/dockerd of docker.io.deb (data.tar.xz)",
		     "more than the limit of 10");
}

static void
test_deb_malformed(void)
{
	struct dy_want w = { .member = "usr/sbin/dockerd", .out_path = "out/dockerd" };
	size_t dlen, len = 0;
	void *d;
	char *whole;

	fresh();
	d = tar_bytes(ARCHIVE_FILTER_XZ, deb_tree, &dlen);
	{
		const struct member nodata[] = { { "debian-binary", "2.0\n", 4 } };
		const struct member twodata[] = {
			{ "debian-binary", "2.0\n", 4 },
			{ "data.tar.xz", d, dlen },
			{ "data.tar.gz", "x", 1 },
		};
		const struct member nomagic[] = { { "data.tar.xz", d, dlen } };
		write_ar("nodata.deb", nodata, 1);
		write_ar("twodata.deb", twodata, 3);
		write_ar("nomagic.deb", nomagic, 1);
	}
	free(d);
	unpack_fails("nodata.deb", DY_KIND_DEB, &w, 1, NOLIMIT, "nodata.deb", "no data.tar member");
	/* The first data member was read and written: removed again. */
	unpack_fails("twodata.deb", DY_KIND_DEB, &w, 1, NOLIMIT, "twodata.deb",
		     "two data members, data.tar.xz and data.tar.gz");
	unpack_fails("nomagic.deb", DY_KIND_DEB, &w, 1, NOLIMIT, "nomagic.deb",
		     "first member is 'data.tar.xz', not debian-binary");

	write_tar("docker.tgz", ARCHIVE_FILTER_GZIP, docker_tree);
	unpack_fails("docker.tgz", DY_KIND_DEB, &w, 1, NOLIMIT, "docker.tgz", "cannot read");

	/* Cut inside data.tar.xz: the nested reader sees the damage. */
	write_deb("docker.io.deb", "data.tar.xz", ARCHIVE_FILTER_XZ, deb_tree);
	whole = tu_read_file("docker.io.deb", &len);
	CHECK(whole != NULL);
	if (whole == NULL)
		return;
	write_file("cut.deb", whole, len - 40);
	free(whole);
	unpack_fails("cut.deb", DY_KIND_DEB, &w, 1, NOLIMIT, "cut.deb", "cannot read");
}

static const struct fx link_tree[] = {
	{ .name = "bin/docker", .type = AE_IFLNK, .symlink = "../docker/docker" },
	{ .name = "bin/dockerd", .type = AE_IFLNK, .symlink = "/docker/dockerd" },
	{ .name = "docker/", .type = AE_IFDIR },
	{ .name = "docker/docker", .type = AE_IFLNK, .symlink = "./docker-29.2.1" },
	{ .name = "docker/docker-29.2.1", .data = "docker cli 29\n" },
	{ .name = "docker/dockerd", .data = DOCKERD },
	{ .name = "./docker/dockerd-again", .hardlink = "./docker/dockerd" },
	{ .name = "lib", .type = AE_IFLNK, .symlink = "usr/lib" },
	{ .name = "usr/lib/plugin", .data = "plugin\n" },
	{ .name = "docker/dir-link", .type = AE_IFLNK, .symlink = "." },
	{ NULL },
};

/* Relative, absolute, chained, hard and directory links all lead to the
 * data they name, written under the wanted output. */
static void
test_links_resolved(void)
{
	struct dy_want w[] = {
		{ .member = "bin/docker", .out_path = "out/docker" },
		{ .member = "bin/dockerd", .out_path = "out/dockerd" },
		{ .member = "docker/dockerd-again", .out_path = "out/dockerd-again" },
		{ .member = "lib/plugin", .out_path = "out/plugin" },
		{ .member = "docker/dir-link/dir-link/docker", .out_path = "out/docker2" },
		{ .member = "docker/dockerd", .out_path = "out/dockerd-direct" },
	};

	fresh();
	write_tar("links.tgz", ARCHIVE_FILTER_GZIP, link_tree);
	CHECK(unpack_ok("links.tgz", DY_KIND_TAR, w, 6));
	CHECK(file_is("out/docker", "docker cli 29\n"));
	CHECK(w[0].found && w[0].size == 14);
	CHECK(file_is("out/dockerd", DOCKERD));
	CHECK(file_is("out/dockerd-again", DOCKERD));
	CHECK(file_is("out/plugin", "plugin\n"));
	CHECK(file_is("out/docker2", "docker cli 29\n"));
	CHECK(file_is("out/dockerd-direct", DOCKERD));
	CHECK(outputs_left() == 6);
}

/* Links inside a .deb: the package is read a second time. */
static void
test_deb_links(void)
{
	static const struct fx tree[] = {
		{ .name = "./usr/bin/docker", .type = AE_IFLNK, .symlink = "../libexec/docker" },
		{ .name = "./usr/libexec/docker", .data = "docker cli\n" },
		{ .name = "./usr/sbin/dockerd", .data = DOCKERD },
		{ .name = "./usr/sbin/dockerd-hl", .hardlink = "./usr/sbin/dockerd" },
		{ NULL },
	};
	struct dy_want w[] = {
		{ .member = "usr/bin/docker", .out_path = "out/docker" },
		{ .member = "usr/sbin/dockerd-hl", .out_path = "out/dockerd" },
	};

	fresh();
	write_deb("docker.io.deb", "data.tar.zst", ARCHIVE_FILTER_ZSTD, tree);
	CHECK(unpack_ok("docker.io.deb", DY_KIND_DEB, w, 2));
	CHECK(file_is("out/docker", "docker cli\n"));
	CHECK(file_is("out/dockerd", DOCKERD));
}

/* DY_UNPACK_MAX_HOPS links are followed; one more is a loop. */
static void
test_link_hops(void)
{
	char names[DY_UNPACK_MAX_HOPS + 2][16], targets[DY_UNPACK_MAX_HOPS + 2][16];
	struct fx tree[DY_UNPACK_MAX_HOPS + 4];
	struct dy_want w = { .member = "l0", .out_path = "out/x" };
	int i;

	memset(tree, 0, sizeof(tree));
	for (i = 0; i <= DY_UNPACK_MAX_HOPS; i++) {
		snprintf(names[i], sizeof(names[i]), "l%d", i);
		snprintf(targets[i], sizeof(targets[i]), "l%d", i + 1);
		tree[i] = (struct fx){ .name = names[i], .type = AE_IFLNK, .symlink = targets[i] };
	}
	/* l0 -> l1 -> ... -> l8 -> l9 (a file): nine hops. */
	tree[i] = (struct fx){ .name = "l9", .data = "end" };
	fresh();
	write_tar("hops.tar", ARCHIVE_FILTER_NONE, tree);
	unpack_fails("hops.tar", DY_KIND_TAR, &w, 1, NOLIMIT, "member l0 of hops.tar",
		     "more than 8 links to follow");
	w.member = "l1"; /* eight hops */
	CHECK(unpack_ok("hops.tar", DY_KIND_TAR, &w, 1));
	CHECK(file_is("out/x", "end"));
}

static void
test_link_refused(void)
{
	static const struct fx tree[] = {
		{ .name = "docker/escape", .type = AE_IFLNK, .symlink = "../../etc/passwd" },
		{ .name = "docker/abs-escape", .type = AE_IFLNK, .symlink = "/../etc/passwd" },
		{ .name = "docker/hard-escape", .hardlink = "../etc/passwd" },
		{ .name = "docker/loop-a", .type = AE_IFLNK, .symlink = "loop-b" },
		{ .name = "docker/loop-b", .type = AE_IFLNK, .symlink = "./loop-a" },
		{ .name = "docker/self", .type = AE_IFLNK, .symlink = "self" },
		{ .name = "docker/to-dir", .type = AE_IFLNK, .symlink = "../docker" },
		{ .name = "docker/to-root", .type = AE_IFLNK, .symlink = ".." },
		{ .name = "docker/to-dev", .type = AE_IFLNK, .symlink = "/dev/null" },
		{ .name = "docker/dangling", .type = AE_IFLNK, .symlink = "nowhere" },
		{ .name = "docker/to-dup", .type = AE_IFLNK, .symlink = "dup" },
		{ .name = "docker/dup", .data = "one" },
		{ .name = "docker/dup", .data = "two" },
		{ .name = "docker/ok", .data = "ok" },
		{ .name = "dev/null", .type = AE_IFCHR },
		{ .name = "docker/", .type = AE_IFDIR },
		{ NULL },
	};
	static const struct {
		const char *member, *needle1, *needle2;
	} cases[] = {
		{ "docker/escape", "link docker/escape -> ../../etc/passwd",
		  "climbs above the archive root" },
		{ "docker/abs-escape", "/../etc/passwd", "climbs above the archive root" },
		{ "docker/hard-escape", "docker/hard-escape -> ../etc/passwd",
		  "climbs above the archive root" },
		{ "docker/loop-a", "member docker/loop-a of bad.tgz", "link loop" },
		{ "docker/self", "docker/self", "link loop" },
		{ "docker/to-dir", "leads to docker, a directory", NULL },
		{ "docker/to-root", "leads to the archive root", NULL },
		{ "docker/to-dev", "leads to dev/null, a character device", NULL },
		{ "docker/dangling", "leads to docker/nowhere, which is not in the archive", NULL },
		{ "docker/to-dup", "its target docker/dup appears twice", NULL },
	};
	struct dy_want w[2];
	size_t i;

	fresh();
	write_tar("bad.tgz", ARCHIVE_FILTER_GZIP, tree);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* A good member first, so a refusal must also remove it. */
		w[0] = (struct dy_want){ .member = "docker/ok", .out_path = "out/ok" };
		w[1] = (struct dy_want){ .member = cases[i].member, .out_path = "out/x" };
		unpack_fails("bad.tgz", DY_KIND_TAR, w, 2, NOLIMIT, cases[i].needle1,
			     cases[i].needle2);
	}
}

/* The size limit applies to the data a link leads to. */
static void
test_link_oversized(void)
{
	struct dy_want w = { .member = "bin/dockerd", .out_path = "out/dockerd" };

	fresh();
	write_tar("links.tgz", ARCHIVE_FILTER_GZIP, link_tree);
	unpack_fails("links.tgz", DY_KIND_TAR, &w, 1, 10,
		     "member bin/dockerd links to docker/dockerd", "more than the limit of 10");
}

/* A shell command's exit status, output discarded. */
static int
quiet(const char *cmd)
{
	char full[512];
	int rc;

	snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
	rc = system(full);
	return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

static void
make_dirs(const char *const *dirs)
{
	for (; *dirs; dirs++) {
		CHECK(mkdir(*dirs, 0755) == 0);
		CHECK(chmod(*dirs, 0755) == 0); /* dpkg-deb refuses a 0700 DEBIAN/ */
	}
}

/*
 * The layout assumed here is the one dpkg-deb writes: a package it built
 * (with each of its compressors, a symlink and a hard link inside) is read
 * back, and the fixtures made above pass dpkg-deb's own reader.
 */
static void
test_dpkg_deb_layout(void)
{
	static const char *const dirs[] = { "pkg",	   "pkg/DEBIAN",   "pkg/usr",
					    "pkg/usr/bin", "pkg/usr/sbin", NULL };
	static const char *const compressors[] = { "xz", "zstd", "gzip", "none" };
	char cmd[256];
	size_t i;

	if (access("/usr/bin/dpkg-deb", X_OK) != 0) {
		printf("#   skipped: /usr/bin/dpkg-deb is not installed\n");
		return;
	}
	fresh();
	make_dirs(dirs);
	write_file("pkg/DEBIAN/control", deb_control[1].data, strlen(deb_control[1].data));
	write_file("pkg/usr/sbin/dockerd", DOCKERD, sizeof(DOCKERD) - 1);
	CHECK(symlink("../sbin/dockerd", "pkg/usr/bin/docker") == 0);
	CHECK(link("pkg/usr/sbin/dockerd", "pkg/usr/sbin/dockerd-hl") == 0);
	for (i = 0; i < sizeof(compressors) / sizeof(compressors[0]); i++) {
		struct dy_want w[] = {
			{ .member = "usr/sbin/dockerd", .out_path = "out/dockerd" },
			{ .member = "usr/bin/docker", .out_path = "out/docker" },
			{ .member = "usr/sbin/dockerd-hl", .out_path = "out/dockerd-hl" },
		};
		printf("#   dpkg-deb -Z%s\n", compressors[i]);
		snprintf(cmd, sizeof(cmd), "dpkg-deb --root-owner-group -Z%s --build pkg real.deb",
			 compressors[i]);
		CHECK(quiet(cmd) == 0);
		CHECK(unpack_ok("real.deb", DY_KIND_DEB, w, 3));
		CHECK(file_is("out/dockerd", DOCKERD));
		CHECK(file_is("out/docker", DOCKERD));
		CHECK(file_is("out/dockerd-hl", DOCKERD));
		unlink("out/dockerd");
		unlink("out/docker");
		unlink("out/dockerd-hl");
		unlink("real.deb");
	}

	write_deb("fixture-xz.deb", "data.tar.xz", ARCHIVE_FILTER_XZ, deb_tree);
	write_deb("fixture-zst.deb", "data.tar.zst", ARCHIVE_FILTER_ZSTD, deb_tree);
	CHECK(quiet("dpkg-deb --contents fixture-xz.deb") == 0);
	CHECK(quiet("dpkg-deb --contents fixture-zst.deb") == 0);
	CHECK(quiet("dpkg-deb --field fixture-xz.deb Package") == 0);
}

static void
test_kind_parse(void)
{
	enum dy_artifact_kind k = DY_KIND_DEB;

	CHECK(dy_artifact_kind_parse("file", &k) == 0 && k == DY_KIND_FILE);
	CHECK(dy_artifact_kind_parse("tar", &k) == 0 && k == DY_KIND_TAR);
	k = DY_KIND_FILE;
	CHECK(dy_artifact_kind_parse("tgz", &k) == 0 && k == DY_KIND_TAR);
	CHECK(dy_artifact_kind_parse("deb", &k) == 0 && k == DY_KIND_DEB);
	k = DY_KIND_FILE;
	CHECK(dy_artifact_kind_parse("zip", &k) == -1 && k == DY_KIND_FILE);
	CHECK(dy_artifact_kind_parse("", &k) == -1);
	CHECK(dy_artifact_kind_parse("TAR", &k) == -1);
	CHECK(dy_artifact_kind_parse("tar.gz", &k) == -1);
	CHECK(strcmp(dy_artifact_kind_name(DY_KIND_FILE), "file") == 0);
	CHECK(strcmp(dy_artifact_kind_name(DY_KIND_TAR), "tar") == 0);
	CHECK(strcmp(dy_artifact_kind_name(DY_KIND_DEB), "deb") == 0);
}

int
main(void)
{
	struct dy_err err;

	snprintf(tmp, sizeof(tmp), "/tmp/dy-unpack.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_tgz_members);
	RUN(test_compressions);
	RUN(test_leading_dot_slash);
	RUN(test_missing_member);
	RUN(test_duplicate_member);
	RUN(test_oversized_member);
	RUN(test_member_wanted_twice);
	RUN(test_directory_member);
	RUN(test_device_member);
	RUN(test_out_path_exists);
	RUN(test_truncated_archive);
	RUN(test_not_an_archive);
	RUN(test_file_copy);
	RUN(test_bad_wants);
	RUN(test_deb_members);
	RUN(test_deb_missing);
	RUN(test_deb_malformed);
	RUN(test_links_resolved);
	RUN(test_deb_links);
	RUN(test_link_hops);
	RUN(test_link_refused);
	RUN(test_link_oversized);
	RUN(test_dpkg_deb_layout);
	RUN(test_kind_parse);
	if (chdir("/") < 0 || dy_remove_tree_at(AT_FDCWD, tmp, &err) < 0)
		printf("# cleanup: %s\n", err.msg);
	return DONE();
}
