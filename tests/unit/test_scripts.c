/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder/scripts.h: dockyardctl ships as one script concatenated from
 * scripts/NN-name.sh.  Only a shebang on the first line of each source is
 * dropped; a shebang inside a heredoc is content and must survive, or the
 * wrappers the script writes stop being executable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../builder/scripts.h"
#include "harness.h"
#include "testutil.h"

static const char script_c[] = "#!/usr/bin/env bash\n"
			       "# 05-c: sets the greeting\n"
			       "greeting=hello"; /* no final newline */
static const char script_a[] = "#!/bin/sh\n"
			       "# 10-a: says the greeting\n"
			       "say() {\n"
			       "\tprintf '%s\\n' \"$greeting\"\n"
			       "}\n";
static const char script_b[] = "# 20-b: writes a wrapper\n"
			       "write_wrapper() {\n"
			       "\tcat >\"$1\" <<'EOF'\n"
			       "#!/bin/sh\n"
			       "exec true\n"
			       "EOF\n"
			       "}\n"
			       "case \"${1:-}\" in\n"
			       "wrap) write_wrapper \"$2\" ;;\n"
			       "say) say ;;\n"
			       "esac\n";
static const char script_z[] = "# 90-z: last line, no newline";

static int
write_file(const char *dir, const char *name, const char *text)
{
	char path[1024];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		printf("#   cannot write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Run cmd through sh; 1 when it exits 0. */
static int
sh_ok(const char *cmd)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("#   '%s' failed (status %d)\n", cmd, st);
		return 0;
	}
	return 1;
}

/* execv(path) directly, not through a shell: the kernel needs the
 * shebang.  Returns the exit status, or -1. */
static int
exec_status(const char *path)
{
	char *const argv[] = { (char *)path, NULL };
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(path, argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* dir/src holds four scripts plus files that must be ignored. */
static int
make_sources(const char *dir, char *src, size_t size)
{
	snprintf(src, size, "%s/src", dir);
	if (mkdir(src, 0755) < 0)
		return -1;
	return write_file(src, "10-a.sh", script_a) | write_file(src, "20-b.sh", script_b) |
	       write_file(src, "05-c.sh", script_c) | write_file(src, "90-z.sh", script_z) |
	       write_file(src, "notes.txt", "echo notes-must-not-appear\n") |
	       write_file(src, "30-sh", "echo no-suffix-must-not-appear\n") |
	       write_file(src, ".x.sh", "echo hidden-must-not-appear\n");
}

static void
check_content(const char *out)
{
	const char *p05, *p10, *p20, *body;
	char want[2048];

	/* Exactly one shebang line of our own, first. */
	CHECK(strncmp(out, "#!/bin/sh\n", 10) == 0);
	CHECK(strncmp(out + 10, "#!", 2) != 0);
	/* The sources' first-line shebangs are gone: what remains is ours
	 * and the one inside the heredoc. */
	CHECK(count(out, "#!") == 2);
	CHECK(strstr(out, "#!/usr/bin/env bash") == NULL);
	CHECK(count(out, "#!/bin/sh\n") == 2);
	/* The heredoc is intact, shebang included. */
	CHECK_STR_CONTAINS(out, "\tcat >\"$1\" <<'EOF'\n#!/bin/sh\nexec true\nEOF\n}\n");

	/* Byte order of the names: 05, 10, 20 (then 90). */
	p05 = strstr(out, "# 05-c: sets the greeting\n");
	p10 = strstr(out, "# 10-a: says the greeting\n");
	p20 = strstr(out, "# 20-b: writes a wrapper\n");
	CHECK(p05 != NULL && p10 != NULL && p20 != NULL);
	CHECK(p05 < p10 && p10 < p20);
	/* Every source line survives, in order; 05-c's last line gets its
	 * newline before 10-a begins. */
	CHECK_STR_CONTAINS(out, "# 05-c: sets the greeting\ngreeting=hello\n");
	CHECK(p10 == NULL || strstr(out, "greeting=hello\n") < p10);
	CHECK_STR_CONTAINS(out, script_a + 10);
	CHECK_STR_CONTAINS(out, script_b);
	/* The last source had no final newline either: the script still
	 * ends in one. */
	CHECK(strlen(out) > strlen(script_z) && strcmp(out + strlen(out) - strlen(script_z) - 1,
						       "# 90-z: last line, no newline\n") == 0);

	/* Files that are not NN-name.sh sources are not included. */
	CHECK(strstr(out, "must-not-appear") == NULL);

	/* Builds are reproducible, so the layout is exact: after the two
	 * header lines, each source under a marker, nothing else. */
	snprintf(want, sizeof(want),
		 "\n# ---- 05-c.sh ----\n%s\n"
		 "\n# ---- 10-a.sh ----\n%s"
		 "\n# ---- 20-b.sh ----\n%s"
		 "\n# ---- 90-z.sh ----\n%s\n",
		 script_c + 20, script_a + 10, script_b, script_z);
	body = strchr(out, '\n');
	body = body ? strchr(body + 1, '\n') : NULL;
	CHECK(body != NULL && strcmp(body + 1, want) == 0);
	if (body != NULL && strcmp(body + 1, want) != 0)
		printf("#   got:\n%s#   want:\n%s", body + 1, want);
}

/* The concatenated script is valid POSIX sh and runs as one script. */
static void
check_runs(const char *out_path, const char *wrapper)
{
	char cmd[2048], line[64];
	FILE *f;
	char *out;

	snprintf(cmd, sizeof(cmd), "sh -n '%s'", out_path);
	CHECK(sh_ok(cmd));
	if (access("/usr/bin/shellcheck", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "/usr/bin/shellcheck -s sh '%s'", out_path);
		CHECK(sh_ok(cmd));
	}

	/* 10-a sees the variable 05-c set. */
	snprintf(cmd, sizeof(cmd), "sh '%s' say", out_path);
	f = popen(cmd, "r");
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK(fgets(line, sizeof(line), f) != NULL && strcmp(line, "hello\n") == 0);
		CHECK(pclose(f) == 0);
	}

	/* The heredoc writes a wrapper that the kernel can execute: its
	 * shebang survived concatenation. */
	snprintf(cmd, sizeof(cmd), "sh '%s' wrap '%s'", out_path, wrapper);
	CHECK(sh_ok(cmd));
	out = tu_read_file(wrapper, NULL);
	CHECK(out != NULL && strcmp(out, "#!/bin/sh\nexec true\n") == 0);
	free(out);
	CHECK(chmod(wrapper, 0755) == 0);
	CHECK(exec_status(wrapper) == 0);
}

static void
test_concat(void)
{
	struct dy_err err = { 0 };
	char dir[512], src[600], out_path[600], wrapper[600];
	struct stat st;
	mode_t old;
	char *out;
	int rc;

	if (tu_make_tmpdir(dir, sizeof(dir), "scripts") < 0) {
		CHECK(0);
		return;
	}
	CHECK(make_sources(dir, src, sizeof(src)) == 0);
	snprintf(out_path, sizeof(out_path), "%s/dockyardctl", dir);
	snprintf(wrapper, sizeof(wrapper), "%s/wrapper", dir);

	old = umask(022);
	rc = dy_scripts_concat(src, out_path, &err);
	umask(old);
	CHECK(rc == 0);
	if (rc != 0) {
		printf("#   %s\n", err.msg);
		tu_remove_tree(dir);
		return;
	}
	CHECK(stat(out_path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);

	out = tu_read_file(out_path, NULL);
	CHECK(out != NULL);
	if (out != NULL)
		check_content(out);
	free(out);
	check_runs(out_path, wrapper);
	tu_remove_tree(dir);
}

static void
test_errors(void)
{
	struct dy_err err = { 0 };
	char dir[512], src[600], empty[600], out_path[600], path[700], missing[600];
	char *text;

	if (tu_make_tmpdir(dir, sizeof(dir), "scripts") < 0) {
		CHECK(0);
		return;
	}
	snprintf(out_path, sizeof(out_path), "%s/out", dir);

	/* No sources: an empty directory, or one with no NN-name.sh. */
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	CHECK(mkdir(empty, 0755) == 0);
	CHECK(dy_scripts_concat(empty, out_path, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, empty);
	CHECK_STR_CONTAINS(err.msg, "holds no *.sh scripts");
	CHECK(!exists(out_path));
	CHECK(write_file(empty, "README", "x\n") == 0 && write_file(empty, ".h.sh", "x\n") == 0);
	CHECK(dy_scripts_concat(empty, out_path, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "holds no *.sh scripts");
	CHECK(!exists(out_path));

	/* A missing directory is named. */
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	CHECK(dy_scripts_concat(missing, out_path, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "cannot open script directory");
	CHECK_STR_CONTAINS(err.msg, missing);
	CHECK(!exists(out_path));

	/* The output is created new: an existing file is an error and is left
	 * as it was. */
	CHECK(make_sources(dir, src, sizeof(src)) == 0);
	CHECK(write_file(dir, "out", "precious\n") == 0);
	CHECK(dy_scripts_concat(src, out_path, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, out_path);
	text = tu_read_file(out_path, NULL);
	CHECK(text != NULL && strcmp(text, "precious\n") == 0);
	free(text);

	/* Nor is a symlink at the output path followed. */
	snprintf(path, sizeof(path), "%s/link-out", dir);
	CHECK(symlink("out", path) == 0);
	CHECK(dy_scripts_concat(src, path, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, path);
	text = tu_read_file(out_path, NULL);
	CHECK(text != NULL && strcmp(text, "precious\n") == 0);
	free(text);

	/* A symlinked source is refused, and no partial output is left. */
	CHECK(write_file(dir, "elsewhere.sh", "echo elsewhere\n") == 0);
	snprintf(path, sizeof(path), "%s/15-link.sh", src);
	CHECK(symlink("../elsewhere.sh", path) == 0);
	snprintf(path, sizeof(path), "%s/out2", dir);
	CHECK(dy_scripts_concat(src, path, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "15-link.sh");
	CHECK(!exists(path));

	tu_remove_tree(dir);
}

int
main(void)
{
	RUN(test_concat);
	RUN(test_errors);
	return DONE();
}
