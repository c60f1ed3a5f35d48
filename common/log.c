/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dy_display_level = DY_NORMAL;
const char *dy_progname = "dockyard";
static int progress_drawn;

void
dy_log_init(const char *argv0)
{
	const char *slash;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	slash = strrchr(argv0, '/');
	dy_progname = slash ? slash + 1 : argv0;
}

static void
vprint(const char *tag, const char *fmt, va_list ap)
{
	dy_progress_end();
	fprintf(stderr, "%s: %s", dy_progname, tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
dy_say(int level, const char *fmt, ...)
{
	va_list ap;

	if (dy_display_level < level)
		return;
	va_start(ap, fmt);
	vprint("", fmt, ap);
	va_end(ap);
}

void
dy_warn(const char *fmt, ...)
{
	va_list ap;

	if (dy_display_level < DY_NORMAL)
		return;
	va_start(ap, fmt);
	vprint("warning: ", fmt, ap);
	va_end(ap);
}

void
dy_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("error: ", fmt, ap);
	va_end(ap);
}

void
dy_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("error: ", fmt, ap);
	va_end(ap);
	exit(status);
}

int
dy_progress_enabled(void)
{
	return dy_display_level >= DY_NORMAL && isatty(STDERR_FILENO);
}

void
dy_progress(const char *label, unsigned long long done, unsigned long long total, int bytes)
{
	unsigned pct;

	if (!dy_progress_enabled())
		return;
	pct = total ? (unsigned)(done * 100 / total) : 100;
	if (bytes)
		fprintf(stderr, "\r%s: %s %3u%% (%llu/%llu MiB)", dy_progname, label, pct,
			done >> 20, total >> 20);
	else
		fprintf(stderr, "\r%s: %s %3u%% (%llu/%llu)", dy_progname, label, pct, done, total);
	progress_drawn = 1;
}

void
dy_progress_end(void)
{
	if (!progress_drawn)
		return;
	fputs("\r\033[K", stderr);
	progress_drawn = 0;
}
