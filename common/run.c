/* SPDX-License-Identifier: Apache-2.0 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int
dy_which(const char *tool, char *path, size_t size)
{
	const char *dir = DY_TOOL_PATH;

	while (*dir) {
		size_t n = strcspn(dir, ":");
		struct stat st;

		if ((size_t)snprintf(path, size, "%.*s/%s", (int)n, dir, tool) < size &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
			return 0;
		dir += n + (dir[n] == ':');
	}
	return -1;
}

/* The child: stdin from /dev/null, output to fd (or inherited), exec. */
static void
child_exec(char *const argv[], char *const envp[], int outfd)
{
	static char *const default_env[] = { "PATH=" DY_TOOL_PATH, NULL };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null >= 0)
		dup2(null, 0);
	if (outfd >= 0) {
		dup2(outfd, 1);
		dup2(outfd, 2);
	}
	signal(SIGPIPE, SIG_DFL);
	execve(argv[0], argv, envp ? envp : default_env);
	dprintf(outfd >= 0 ? outfd : 2, "cannot execute %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Read the child's output, keeping the last outsize-1 bytes. */
static void
collect(int fd, char *out, size_t outsize)
{
	size_t len = 0;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((size_t)n >= outsize - 1) {
			memcpy(out, buf + (size_t)n - (outsize - 1), outsize - 1);
			len = outsize - 1;
		} else {
			if (len + (size_t)n > outsize - 1) {
				size_t drop = len + (size_t)n - (outsize - 1);
				memmove(out, out + drop, len - drop);
				len -= drop;
			}
			memcpy(out + len, buf, (size_t)n);
			len += (size_t)n;
		}
	}
	out[len] = '\0';
}

int
dy_run(char *const argv[], char *const envp[], char *out, size_t outsize, struct dy_err *err)
{
	int pipefd[2] = { -1, -1 };
	int status;
	pid_t pid;

	if (out != NULL && outsize < 2)
		return dy_errf(err, "dy_run: output buffer too small");
	if (out != NULL && pipe2(pipefd, O_CLOEXEC) < 0)
		return dy_errnof(err, "cannot run %s: pipe", argv[0]);
	pid = fork();
	if (pid < 0) {
		dy_errnof(err, "cannot run %s: fork", argv[0]);
		if (out != NULL) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		return -1;
	}
	if (pid == 0)
		child_exec(argv, envp, pipefd[1]);
	if (out != NULL) {
		close(pipefd[1]);
		collect(pipefd[0], out, outsize);
		close(pipefd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return dy_errnof(err, "cannot run %s: waitpid", argv[0]);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The command line, for messages. */
static void
join_argv(char *const argv[], char *buf, size_t size)
{
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; argv[i] != NULL && len + 1 < size; i++) {
		int n = snprintf(buf + len, size - len, "%s%s", i ? " " : "", argv[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

int
dy_run_ok(char *const argv[], char *const envp[], struct dy_err *err)
{
	char out[1024], cmd[512];
	size_t n;
	int rc;

	rc = dy_run(argv, envp, out, sizeof(out), err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;
	/* One line: newlines inside become spaces, trailing ones go. */
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\n' || out[i] == '\r' || out[i] == '\t')
			out[i] = ' ';
	join_argv(argv, cmd, sizeof(cmd));
	return dy_errf(err, "%s failed (%s %d)%s%s", cmd, rc > 128 ? "signal" : "exit",
		       rc > 128 ? rc - 128 : rc, n ? ": " : "", out);
}
