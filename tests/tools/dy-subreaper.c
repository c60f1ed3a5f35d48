/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dy-subreaper: test-only driver that runs a command under a parent that
 * adopts orphans and never reaps them.   dy-subreaper CMD [ARG...]
 *
 * It becomes a child sub-reaper (prctl PR_SET_CHILD_SUBREAPER), so every
 * daemon that CMD or its descendants start in the background is
 * re-parented to it, and waits only for CMD itself: a killed daemon stays
 * a zombie until CMD has finished, like under a PID 1 that reaps late.
 * TERM, INT and HUP are passed on to CMD; the exit status is CMD's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child;

static void
forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static int
on_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	return 0;
}

/* Wait for the command alone; adopted orphans are left unreaped. */
static int
wait_command(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "dy-subreaper: waitpid %ld: %s\n", (long)pid,
				strerror(errno));
			return 1;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int
main(int argc, char **argv)
{
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: dy-subreaper CMD [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) < 0) {
		fprintf(stderr, "dy-subreaper: prctl(PR_SET_CHILD_SUBREAPER): %s\n",
			strerror(errno));
		return 1;
	}
	if (on_signals() < 0) {
		fprintf(stderr, "dy-subreaper: sigaction: %s\n", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "dy-subreaper: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "dy-subreaper: cannot run %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	child = pid;
	return wait_command(pid);
}
