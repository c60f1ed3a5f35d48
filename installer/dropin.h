/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operator drop-ins for dockerd: ROOT/etc/daemon.d/NAME.json, merged over
 * the daemon.json the installer renders, in name order.  They hold what a
 * site adds (registry mirrors, insecure registries, log options, labels)
 * and survive re-runs and upgrades, because the installer never writes
 * there.  Keys that tie the engine to its instance stay dockyard's.
 */
#ifndef DY_DROPIN_H
#define DY_DROPIN_H

#include <jansson.h>

#include "../common/err.h"

#define DY_DROPIN_DIR "etc/daemon.d"
#define DY_DROPIN_MAX (1u << 20) /* bytes per drop-in */

/* The daemon.json keys dockyard sets itself are refused in a drop-in: why
 * key is dockyard's, for the message ("set DOCKYARD_DNS in
 * etc/dockyard.env"), or NULL when key is not owned. */
const char *dy_dropin_owned_why(const char *key);

/* Parse one drop-in's text: one JSON object, no duplicate keys, no owned
 * key.  err: "NAME:LINE:COLUMN: invalid JSON: WHY" or "NAME: key K is set
 * by dockyard (...)". */
json_t *dy_dropin_parse(const char *name, const char *text, size_t len, struct dy_err *err);

/* Every DIR/ *.json (regular files, names not starting with '.'), in
 * strcmp order, merged into one object: objects merge key by key at every
 * depth, anything else (arrays too) is replaced by the later file.  A
 * missing DIR gives an empty object.  *out is NULL on error. */
int dy_dropin_load(const char *dir, json_t **out, struct dy_err *err);

/* The merged drop-ins over the rendered document (in place). */
int dy_dropin_apply(json_t *daemon, const json_t *dropins, struct dy_err *err);

/* containerd's drop-ins: ROOT/etc/containerd.d/ *.toml, which the
 * rendered containerd.toml imports.  Their names and SHA-256, one
 * "# drop-in NAME sha256 HEX" line each in name order, go into
 * containerd.toml too, so that a changed drop-in changes that file and
 * the install restarts containerd.  *out is malloc'd ("" when none). */
#define DY_CONTAINERD_DROPIN_DIR "etc/containerd.d"
int dy_containerd_dropins(const char *dir, char **out, struct dy_err *err);

#endif
