/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact fetching: download every artifact the lock pins into a
 * content-addressed cache, verify its sha256 before anyone uses it, and
 * survive flaky networks (retries with backoff, resumed transfers, mirrors).
 *
 * Cache layout:
 *   <cache>/sha256/<hex>          verified artifacts, named by their digest
 *   <cache>/partial/<key>.part    unfinished downloads (key: the pinned
 *                                 digest, or the sha256 of the URL)
 *
 * Sources are tried in order: each mirror (MIRROR/ + the basename of the
 * URL path; a directory is the same as file://DIR), then the URL itself.
 */
#ifndef DY_FETCH_H
#define DY_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../verify/sha256.h"

struct dy_fetch_item {
	const char *name;	       /* for messages, e.g. "docker 29.2.1 (x86_64)" */
	const char *url;	       /* https://, http://, file:// ; or a plain absolute path */
	int pinned;		       /* sha256 holds the expected digest (from the lock) */
	uint8_t sha256[DY_SHA256_LEN]; /* in: expected when pinned; out: actual */
	char path[4096];	       /* out: the verified file, inside the cache */
	char error[DY_ERR_MAX];	       /* out: why this item failed; "" on success */
};

struct dy_fetch_opts {
	const char *cache_dir;	    /* content-addressed: <cache>/sha256/<hex> */
	const char *const *mirrors; /* URL prefixes or directories, tried in order before the URL */
	size_t nmirrors;
	int offline; /* cache + on-disk mirrors (directories, file://) only: never opens a socket */
	int max_parallel;    /* concurrent transfers (curl multi); default 4 when 0 */
	int retries;	     /* extra attempts on transient errors; default 4 when 0; -1 = none */
	unsigned backoff_ms; /* first retry delay, doubled each time; default 1000 when 0 */
	long connect_timeout_s; /* default 30 */
	long low_speed_time_s;	/* abort a transfer slower than 1 KiB/s for this long; default 60 */
};

/*
 * Fetch and verify every item; items are independent, and all of them are
 * tried even when one fails.  Returns 0 when every item->path holds a
 * verified file; -1 otherwise, with err naming the first failed item (and
 * how many failed) and each failed item's reason in item->error.
 */
int dy_fetch_all(struct dy_fetch_item *items, size_t n, const struct dy_fetch_opts *o,
		 struct dy_err *err);

#endif
