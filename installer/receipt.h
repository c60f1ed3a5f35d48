/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install receipt, ${ROOT}/etc/receipt: every file, directory and
 * system object the install created, in creation order, so that uninstall
 * (dockyardctl destroy, a shell script) removes exactly those and nothing
 * else.  Line-oriented so a shell can read it; paths obey the root rule
 * (no spaces):
 *
 *   dockyard-receipt 1
 *   root /dy1
 *   prefix dy1
 *   dir /dy1                         created by the install (else its subdirs)
 *   file /etc/systemd/system/dy1docker.service
 *   group dy1docker
 *   user dy1docker
 *   subuid dy1docker 165536 65536    (and subgid)
 *   apparmor /etc/apparmor.d/local/fusermount3 dy1
 *   registry /etc/dockyard/instances/dy1
 *   lock /.dy1.dockyard-lock
 *
 * Paths are as seen by the running system (for a --sysroot install: inside
 * the image).  A re-run keeps existing lines and appends new ones.
 */
#ifndef DY_RECEIPT_H
#define DY_RECEIPT_H

#include <stddef.h>

#include "../common/err.h"

#define DY_RECEIPT_MAX_LINE 1200
#define DY_RECEIPT_MAX (1u << 20) /* bytes of a whole receipt */

struct dy_receipt {
	char **lines; /* without "dockyard-receipt 1" and without LF */
	size_t nlines;
};

void dy_receipt_init(struct dy_receipt *r);
void dy_receipt_free(struct dy_receipt *r);
/* Parse receipt text; an unknown kind or bad field is an error with its
 * line number.  Strict, since a shell reads it too: fields separated by
 * one space; paths absolute, not "/", of [A-Za-z0-9._/-] without "." or
 * ".." components or a trailing '/'; names 1-32 of [a-z0-9_]; ids decimal
 * uint32, a range's count not 0; no blank, comment or repeated lines; the
 * last line ends in LF.  tests/corpus/receipt-* hold the cases
 * scripts/70-destroy.sh must read alike.  r need not be
 * initialised; on error it is left empty. */
int dy_receipt_parse(const char *text, size_t len, struct dy_receipt *r, struct dy_err *err);
/* Add "KIND ARGS..." unless the same line is already there; a line parse
 * would refuse is refused. */
int dy_receipt_add(struct dy_receipt *r, struct dy_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int dy_receipt_has(const struct dy_receipt *r, const char *line);
int dy_receipt_format(const struct dy_receipt *r, char **out, size_t *len, struct dy_err *err);

#endif
