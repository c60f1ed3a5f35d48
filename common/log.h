/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Display level and messages for the CLI layer (zstd's programs/ style):
 * -q lowers the level, -v raises it; progress is shown only when stderr is
 * a terminal.
 */
#ifndef DY_LOG_H
#define DY_LOG_H

enum dy_level {
	DY_QUIET = 0,	/* errors only */
	DY_NORMAL = 1,	/* results and warnings */
	DY_VERBOSE = 2, /* each step */
	DY_DEBUG = 3,
};

extern int dy_display_level;
extern const char *dy_progname;

void dy_log_init(const char *argv0);
void dy_say(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dy_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dy_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void dy_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* True when progress lines may be drawn (stderr is a tty, level normal+). */
int dy_progress_enabled(void);
/* One redrawn status line; bytes selects MiB units, else plain counts. */
void dy_progress(const char *label, unsigned long long done, unsigned long long total, int bytes);
void dy_progress_end(void);

#endif
