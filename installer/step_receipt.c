/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The receipt: what this root's installs created, read under the lock
 * (another run may have added to it) and written once the system objects
 * are in place; destroy removes what it lists.
 */
#include "steps.h"

#include <errno.h>
#include <stdlib.h>

#include "../common/xio.h"
#include "lock.h"

int
step_load_receipt(const struct run *r, struct dy_receipt *receipt, struct dy_err *err)
{
	char path[PATH_BUF], *text;
	size_t len;
	int rc;

	dy_receipt_init(receipt);
	if (act_root_path(r, path, sizeof(path), "etc/receipt", err) < 0)
		return -1;
	if (dy_read_small_file(path, DY_RECEIPT_MAX, &text, &len, NULL, err) < 0)
		return errno == ENOENT ? 0 : -1;
	rc = dy_receipt_parse(text, len, receipt, err);
	free(text);
	if (rc < 0)
		return dy_err_wrap(err, "%s", path);
	return 0;
}

int
step_receipt(struct run *r, const struct instance *in, struct dy_receipt *receipt,
	     struct dy_err *err)
{
	char lock[PATH_BUF], *text = NULL;
	size_t len;
	int rc;

	if (lock_path("", in->cfg.root, lock, sizeof(lock), err) < 0 ||
	    dy_receipt_add(receipt, err, "lock %s", lock) < 0)
		return -1;
	if (dy_receipt_format(receipt, &text, &len, err) < 0)
		return -1;
	rc = act_put_root_file(r, "etc/receipt", text, len, 0644, err);
	free(text);
	return rc < 0 ? -1 : 0;
}
