/* SPDX-License-Identifier: Apache-2.0 */
/*
 * instances: every instance registered on this host (or in an image tree),
 * read from the registry /etc/dockyard/instances/PREFIX (one line: the
 * root): prefix, root, payload, state, socket, networks, isolation.  A
 * broken entry (an unreadable file, a root that is gone, a missing
 * dockyard.env) is reported as such and never stops the listing.
 */
#ifndef DY_INSTANCES_H
#define DY_INSTANCES_H

#include <jansson.h>
#include <stdio.h>

#include "../common/err.h"

/* The registry below sysroot ("" for this host) as JSON (schema 1,
 * docs/schemas/instances.json).  With probe set, each instance's state
 * comes from its own `dockyardctl status --json`; without, it is null
 * (an image tree runs nothing). */
json_t *dy_instances_scan(const char *sysroot, int probe, struct dy_err *err);

/* The same as a table, one line per instance. */
void dy_instances_print(FILE *out, const json_t *doc);

#endif
