/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error reporting shared by every dockyard program.
 *
 * Library code never exits: it fills a struct dy_err with a message that
 * says what failed, where and why, and returns -1.  The CLI layer decides
 * what to print and which exit status to use.
 */
#ifndef DY_ERR_H
#define DY_ERR_H

#include <stddef.h>

#define DY_ERR_MAX 1024

/* What kind of failure: only a program's main.c turns it into an exit
 * status.  A new message (dy_errf, dy_errnof) starts as DY_ERR_FAIL;
 * dy_err_wrap keeps the kind. */
enum {
	DY_ERR_FAIL = 0,  /* failed; nothing half-written */
	DY_ERR_USAGE,	  /* bad command line or configuration */
	DY_ERR_PREFLIGHT, /* the host lacks something */
	DY_ERR_LOCKED,	  /* another process holds the lock */
};

struct dy_err {
	char msg[DY_ERR_MAX];
	int kind;
};

/* Set the message; always returns -1 so callers can `return dy_errf(...)`. */
int dy_errf(struct dy_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like dy_errf, with ": strerror(errno)" appended (errno read on entry). */
int dy_errnof(struct dy_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the existing message with more context ("while X: <old>"). */
int dy_err_wrap(struct dy_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set the kind of the message already there; always returns -1. */
int dy_err_kind(struct dy_err *err, int kind);

#endif
