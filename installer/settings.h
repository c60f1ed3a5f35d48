/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The optional dockyard.env settings (config.h's DY_KEY_DNS and after):
 * DNS servers, storage driver, sysbox-mgr arguments and subid range,
 * dockerd's proxies, log rotation.  Each has a rule checked with a message
 * that names the key, the value and the rule; once given (flag or file)
 * it is written to dockyard.env and kept by every re-run and upgrade.
 */
#ifndef DY_SETTINGS_H
#define DY_SETTINGS_H

#include <stddef.h>

#include "../common/err.h"
#include "config.h"

#define DY_LOG_MAX_SIZE_DEFAULT (10ull << 20)
#define DY_LOG_KEEP_DEFAULT 3
#define DY_SUBID_COUNT_DEFAULT 65536u

/* Set the optional key bit (env name key, for messages) from value. */
int dy_settings_set(struct dy_config *c, unsigned bit, const char *key, const char *value,
		    struct dy_err *err);

/* Rules between keys: the subid range ends below 2^32. */
int dy_settings_validate(const struct dy_config *c, struct dy_err *err);

/* Copy into c every optional key e has and c lacks. */
void dy_settings_merge(struct dy_config *c, const struct dy_config *e);

/* The value as dockyard.env writes it (buf at least DY_SETTING_MAX). */
void dy_settings_value(const struct dy_config *c, unsigned bit, char *buf, size_t size);

/* The storage driver dockerd gets: DOCKYARD_STORAGE_DRIVER, or for auto
 * (the default) zfs when the root's file system is ZFS, else overlay2;
 * checked against the host (the kernel offers the file system; zfs needs
 * the root on ZFS).  An image tree (sysroot not "") is not checked. */
int dy_storage_resolve(const struct dy_config *c, const char *sysroot, char *out, size_t size,
		       struct dy_err *err);

#endif
