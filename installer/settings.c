/* SPDX-License-Identifier: Apache-2.0 */
/* The optional dockyard.env settings: see settings.h. */
#include "settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#define SUBID_FLOOR 100000u /* ids below belong to the host's own users */
#define SUBID_UNIT 65536u   /* a container's uid range */
#define LOG_MIN (4ull << 10)
#define LOG_MAX (4ull << 30)
#define LOG_KEEP_MAX 99
#define ZFS_MAGIC 0x2fc12fc1

/* ---- one rule each ---- */

static int
only_chars(const char *key, const char *value, const char *allowed, const char *rule,
	   struct dy_err *err)
{
	size_t bad = strspn(value, allowed);

	if (value[bad] == '\0')
		return 0;
	if (value[bad] == ' ')
		return dy_errf(err, "%s '%.200s' contains a space: %s", key, value, rule);
	return dy_errf(err, "%s '%.200s' contains '%c': %s", key, value, value[bad], rule);
}

static int
fits(const char *key, const char *value, size_t size, struct dy_err *err)
{
	if (strlen(value) < size)
		return 0;
	return dy_errf(err, "%s is %zu characters long: at most %zu", key, strlen(value), size - 1);
}

/* "1.1.1.1,2001:db8::1" (commas or spaces); "" for none. */
static int
set_dns(struct dy_settings *o, const char *key, const char *value, struct dy_err *err)
{
	unsigned char bin[16];
	char one[64];
	const char *p = value;
	size_t n;
	int af;

	o->ndns = 0;
	while (*p) {
		n = strcspn(p, ", ");
		if (n > 0) {
			if (o->ndns == DY_DNS_MAX)
				return dy_errf(err, "%s '%.200s': at most %d servers", key, value,
					       DY_DNS_MAX);
			snprintf(one, sizeof(one), "%.*s", (int)(n < 63 ? n : 63), p);
			af = strchr(one, ':') ? AF_INET6 : AF_INET;
			if (n > 63 || inet_pton(af, one, bin) != 1)
				return dy_errf(err,
					       "%s '%.200s': '%s' is not an IPv4 or IPv6 address",
					       key, value, one);
			if ((af == AF_INET && bin[0] == 127) ||
			    (af == AF_INET6 &&
			     memcmp(bin, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0))
				return dy_errf(err,
					       "%s '%.200s': %s is a loopback address, which "
					       "containers cannot reach",
					       key, value, one);
			inet_ntop(af, bin, o->dns[o->ndns++], sizeof(o->dns[0]));
		}
		p += n + (p[n] != '\0');
	}
	return 0;
}

static int
set_storage(struct dy_settings *o, const char *key, const char *value, struct dy_err *err)
{
	if (strcmp(value, "auto") != 0 && strcmp(value, "overlay2") != 0 &&
	    strcmp(value, "zfs") != 0)
		return dy_errf(err, "%s '%.64s' is not a storage driver: auto, overlay2 or zfs",
			       key, value);
	snprintf(o->storage_driver, sizeof(o->storage_driver), "%s", value);
	return 0;
}

/* Words for sysbox-mgr's command line: dockyardctl splits them on
 * spaces, so no quoting is needed or possible. */
static int
set_mgr_args(struct dy_settings *o, const char *key, const char *value, struct dy_err *err)
{
	static const char rule[] = "arguments are words of [A-Za-z0-9._/:=,@+-] separated by "
				   "single spaces, the first an option ('-...')";

	if (fits(key, value, sizeof(o->mgr_args), err) < 0 ||
	    only_chars(key, value,
		       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:=,@+- ",
		       rule, err) < 0)
		return -1;
	if (value[0] != '\0' &&
	    (value[0] != '-' || strstr(value, "  ") != NULL || value[strlen(value) - 1] == ' '))
		return dy_errf(err, "%s '%.200s': %s", key, value, rule);
	snprintf(o->mgr_args, sizeof(o->mgr_args), "%s", value);
	return 0;
}

static int
set_user(struct dy_settings *o, const char *key, const char *value, struct dy_err *err)
{
	static const char rule[] = "a user name is 1 to 32 characters of [a-z0-9_-], starting "
				   "with a letter or '_'";

	if (value[0] == '\0' || strlen(value) > 32 ||
	    !((value[0] >= 'a' && value[0] <= 'z') || value[0] == '_'))
		return dy_errf(err, "%s '%.64s': %s", key, value, rule);
	if (only_chars(key, value, "abcdefghijklmnopqrstuvwxyz0123456789_-", rule, err) < 0)
		return -1;
	snprintf(o->subid_user, sizeof(o->subid_user), "%s", value);
	return 0;
}

/* A plain decimal number (no sign, no leading zero) at most max. */
static int
decimal(const char *value, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (value[0] == '\0' || (value[0] == '0' && value[1] != '\0'))
		return -1;
	for (p = value; *p; p++) {
		if (*p < '0' || *p > '9' || v > max / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
set_subid(struct dy_settings *o, unsigned bit, const char *key, const char *value,
	  struct dy_err *err)
{
	uint64_t v;

	if (decimal(value, UINT32_MAX, &v) < 0)
		return dy_errf(err, "%s '%.64s' is not a number from %u to %u", key, value,
			       bit == DY_KEY_SUBID_START ? SUBID_FLOOR : SUBID_UNIT, UINT32_MAX);
	if (bit == DY_KEY_SUBID_START) {
		if (v < SUBID_FLOOR)
			return dy_errf(err,
				       "%s %llu is below %u: lower ids belong to the host's own "
				       "users",
				       key, (unsigned long long)v, SUBID_FLOOR);
		o->subid_start = (uint32_t)v;
		return 0;
	}
	if (v < SUBID_UNIT || v % SUBID_UNIT != 0)
		return dy_errf(err,
			       "%s %llu is not a multiple of %u: each container gets %u ids, and "
			       "at least one container must fit",
			       key, (unsigned long long)v, SUBID_UNIT, SUBID_UNIT);
	o->subid_count = (uint32_t)v;
	return 0;
}

/* http://[user:password@]host[:port][/]; "" for none. */
static int
set_proxy(char *dst, size_t size, const char *key, const char *value, struct dy_err *err)
{
	static const char rule[] = "a proxy is a URL http://host:port, https://... or "
				   "socks5://... of [A-Za-z0-9._~:/@%+-]";

	if (fits(key, value, size, err) < 0 ||
	    only_chars(key, value,
		       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~:/@%+-",
		       rule, err) < 0)
		return -1;
	if (value[0] != '\0' && strncmp(value, "http://", 7) != 0 &&
	    strncmp(value, "https://", 8) != 0 && strncmp(value, "socks5://", 9) != 0)
		return dy_errf(err, "%s '%.200s': %s", key, value, rule);
	if (value[0] != '\0' && value[strcspn(value, ":") + 3] == '\0')
		return dy_errf(err, "%s '%.200s' names no host: %s", key, value, rule);
	snprintf(dst, size, "%s", value);
	return 0;
}

static int
set_no_proxy(struct dy_settings *o, const char *key, const char *value, struct dy_err *err)
{
	if (fits(key, value, sizeof(o->no_proxy), err) < 0 ||
	    only_chars(key, value,
		       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/*,-",
		       "hosts, domains, addresses and CIDRs of [A-Za-z0-9._:/*-], separated "
		       "by commas",
		       err) < 0)
		return -1;
	snprintf(o->no_proxy, sizeof(o->no_proxy), "%s", value);
	return 0;
}

/* "10M": a number with an optional K, M or G (1024-based). */
static int
set_log_size(struct dy_settings *o, const char *key, const char *value, struct dy_err *err)
{
	char num[32];
	size_t n = strlen(value);
	uint64_t v, mult = 1;
	char last = n ? value[n - 1] : '\0';

	if (last == 'K' || last == 'k')
		mult = 1ull << 10;
	else if (last == 'M' || last == 'm')
		mult = 1ull << 20;
	else if (last == 'G' || last == 'g')
		mult = 1ull << 30;
	if (mult > 1)
		n--;
	snprintf(num, sizeof(num), "%.*s", (int)(n < 31 ? n : 31), value);
	if (n >= sizeof(num) || decimal(num, LOG_MAX, &v) < 0 || v * mult < LOG_MIN ||
	    v * mult > LOG_MAX)
		return dy_errf(err,
			       "%s '%.64s' is not a size from 4K to 4G (a number with an "
			       "optional K, M or G suffix, 1024-based)",
			       key, value);
	o->log_max_size = v * mult;
	return 0;
}

static int
set_log_keep(struct dy_settings *o, const char *key, const char *value, struct dy_err *err)
{
	uint64_t v;

	if (decimal(value, LOG_KEEP_MAX, &v) < 0 || v < 1)
		return dy_errf(err, "%s '%.64s' is not a number of old logs to keep from 1 to %d",
			       key, value, LOG_KEEP_MAX);
	o->log_keep = (unsigned)v;
	return 0;
}

int
dy_settings_set(struct dy_config *c, unsigned bit, const char *key, const char *value,
		struct dy_err *err)
{
	struct dy_settings *o = &c->opt;
	int rc;

	switch (bit) {
	case DY_KEY_DNS:
		rc = set_dns(o, key, value, err);
		break;
	case DY_KEY_STORAGE:
		rc = set_storage(o, key, value, err);
		break;
	case DY_KEY_MGR_ARGS:
		rc = set_mgr_args(o, key, value, err);
		break;
	case DY_KEY_SUBID_USER:
		rc = set_user(o, key, value, err);
		break;
	case DY_KEY_SUBID_START:
	case DY_KEY_SUBID_COUNT:
		rc = set_subid(o, bit, key, value, err);
		break;
	case DY_KEY_HTTP_PROXY:
		rc = set_proxy(o->http_proxy, sizeof(o->http_proxy), key, value, err);
		break;
	case DY_KEY_HTTPS_PROXY:
		rc = set_proxy(o->https_proxy, sizeof(o->https_proxy), key, value, err);
		break;
	case DY_KEY_NO_PROXY:
		rc = set_no_proxy(o, key, value, err);
		break;
	case DY_KEY_LOG_MAX_SIZE:
		rc = set_log_size(o, key, value, err);
		break;
	case DY_KEY_LOG_KEEP:
		rc = set_log_keep(o, key, value, err);
		break;
	default:
		return dy_errf(err, "%s is not an optional setting", key);
	}
	if (rc == 0)
		c->set |= bit;
	return rc;
}

int
dy_settings_validate(const struct dy_config *c, struct dy_err *err)
{
	uint64_t start = c->opt.subid_start, count = DY_SUBID_COUNT_DEFAULT;

	if (c->set & DY_KEY_SUBID_COUNT)
		count = c->opt.subid_count;
	if ((c->set & DY_KEY_SUBID_START) && start + count > (uint64_t)UINT32_MAX + 1)
		return dy_errf(err,
			       "DOCKYARD_SYSBOX_SUBID_START %llu with DOCKYARD_SYSBOX_SUBID_COUNT "
			       "%llu ends above 4294967295, the highest id",
			       (unsigned long long)start, (unsigned long long)count);
	return 0;
}

void
dy_settings_merge(struct dy_config *c, const struct dy_config *e)
{
	unsigned take = e->set & ~c->set & ~(unsigned)DY_KEY_ALL;
	struct dy_settings *o = &c->opt;
	const struct dy_settings *x = &e->opt;

	if (take & DY_KEY_DNS) {
		memcpy(o->dns, x->dns, sizeof(o->dns));
		o->ndns = x->ndns;
	}
	if (take & DY_KEY_STORAGE)
		memcpy(o->storage_driver, x->storage_driver, sizeof(o->storage_driver));
	if (take & DY_KEY_MGR_ARGS)
		memcpy(o->mgr_args, x->mgr_args, sizeof(o->mgr_args));
	if (take & DY_KEY_SUBID_USER)
		memcpy(o->subid_user, x->subid_user, sizeof(o->subid_user));
	if (take & DY_KEY_SUBID_START)
		o->subid_start = x->subid_start;
	if (take & DY_KEY_SUBID_COUNT)
		o->subid_count = x->subid_count;
	if (take & DY_KEY_HTTP_PROXY)
		memcpy(o->http_proxy, x->http_proxy, sizeof(o->http_proxy));
	if (take & DY_KEY_HTTPS_PROXY)
		memcpy(o->https_proxy, x->https_proxy, sizeof(o->https_proxy));
	if (take & DY_KEY_NO_PROXY)
		memcpy(o->no_proxy, x->no_proxy, sizeof(o->no_proxy));
	if (take & DY_KEY_LOG_MAX_SIZE)
		o->log_max_size = x->log_max_size;
	if (take & DY_KEY_LOG_KEEP)
		o->log_keep = x->log_keep;
	c->set |= take;
}

static void
format_size(uint64_t v, char *buf, size_t size)
{
	if (v % (1ull << 30) == 0)
		snprintf(buf, size, "%lluG", (unsigned long long)(v >> 30));
	else if (v % (1ull << 20) == 0)
		snprintf(buf, size, "%lluM", (unsigned long long)(v >> 20));
	else if (v % (1ull << 10) == 0)
		snprintf(buf, size, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(buf, size, "%llu", (unsigned long long)v);
}

void
dy_settings_value(const struct dy_config *c, unsigned bit, char *buf, size_t size)
{
	const struct dy_settings *o = &c->opt;
	size_t i, n = 0;

	buf[0] = '\0';
	switch (bit) {
	case DY_KEY_DNS:
		for (i = 0; i < o->ndns && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", o->dns[i]);
		break;
	case DY_KEY_STORAGE:
		snprintf(buf, size, "%s", o->storage_driver);
		break;
	case DY_KEY_MGR_ARGS:
		snprintf(buf, size, "%s", o->mgr_args);
		break;
	case DY_KEY_SUBID_USER:
		snprintf(buf, size, "%s", o->subid_user);
		break;
	case DY_KEY_SUBID_START:
		snprintf(buf, size, "%u", o->subid_start);
		break;
	case DY_KEY_SUBID_COUNT:
		snprintf(buf, size, "%u", o->subid_count);
		break;
	case DY_KEY_HTTP_PROXY:
		snprintf(buf, size, "%s", o->http_proxy);
		break;
	case DY_KEY_HTTPS_PROXY:
		snprintf(buf, size, "%s", o->https_proxy);
		break;
	case DY_KEY_NO_PROXY:
		snprintf(buf, size, "%s", o->no_proxy);
		break;
	case DY_KEY_LOG_MAX_SIZE:
		format_size(o->log_max_size, buf, size);
		break;
	case DY_KEY_LOG_KEEP:
		snprintf(buf, size, "%u", o->log_keep);
		break;
	}
}

/* ---- storage driver against the host ---- */

/* fs is listed in /proc/filesystems, or its module is installed. */
static int
kernel_has(const char *fs, const char *module)
{
	char line[128], want[64], path[512];
	struct utsname u;
	int found = 0;
	FILE *f;

	/* A /proc file has no size: read it line by line. */
	snprintf(want, sizeof(want), "\t%s\n", fs);
	if ((f = fopen("/proc/filesystems", "re")) != NULL) {
		while (!found && fgets(line, sizeof(line), f) != NULL)
			found = strstr(line, want) != NULL;
		fclose(f);
	}
	if (found || uname(&u) < 0)
		return found;
	snprintf(path, sizeof(path), "/lib/modules/%s/kernel/%s.ko", u.release, module);
	if (access(path, F_OK) == 0)
		return 1;
	snprintf(path, sizeof(path), "/lib/modules/%s/kernel/%s.ko.xz", u.release, module);
	return access(path, F_OK) == 0;
}

/* The file system type of root, or of its nearest existing ancestor. */
static long
fs_type(const char *root)
{
	char path[DY_ROOT_MAX];
	struct statfs sf;
	char *slash;

	snprintf(path, sizeof(path), "%s", root);
	while (statfs(path, &sf) < 0) {
		if (errno != ENOENT || (slash = strrchr(path, '/')) == NULL)
			return -1;
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	return (long)sf.f_type;
}

int
dy_storage_resolve(const struct dy_config *c, const char *sysroot, char *out, size_t size,
		   struct dy_err *err)
{
	const char *want = (c->set & DY_KEY_STORAGE) ? c->opt.storage_driver : "auto";
	int on_zfs;

	if (sysroot != NULL && sysroot[0] != '\0') {
		snprintf(out, size, "%s", strcmp(want, "auto") == 0 ? "overlay2" : want);
		return 0;
	}
	on_zfs = fs_type(c->root) == ZFS_MAGIC;
	if (strcmp(want, "auto") == 0)
		want = on_zfs ? "zfs" : "overlay2";
	if (strcmp(want, "zfs") == 0 && !on_zfs)
		return dy_errf(err,
			       "DOCKYARD_STORAGE_DRIVER zfs: %s is not on a ZFS file system "
			       "(dockerd's zfs driver keeps lib/docker on a ZFS dataset)",
			       c->root);
	if (strcmp(want, "zfs") == 0 && !kernel_has("zfs", "zfs/zfs"))
		return dy_errf(err, "DOCKYARD_STORAGE_DRIVER zfs: the kernel has no zfs file "
				    "system (/proc/filesystems, no zfs module)");
	if (strcmp(want, "overlay2") == 0 && !kernel_has("overlay", "fs/overlayfs/overlay"))
		return dy_errf(err,
			       "DOCKYARD_STORAGE_DRIVER %s: the kernel has no overlay file system "
			       "(/proc/filesystems, no overlay module)",
			       (c->set & DY_KEY_STORAGE) ? c->opt.storage_driver : "auto");
	snprintf(out, size, "%s", want);
	return 0;
}
