/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the host already uses (see config.h): routes, interfaces and their
 * addresses, docker unit files, and the registered instances with their
 * dockyard.env.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/xio.h"

#define ROUTE_UP 0x0001u /* RTF_UP in /proc/net/route */

void
dy_host_init(struct dy_host *h)
{
	memset(h, 0, sizeof(*h));
}

void
dy_host_free(struct dy_host *h)
{
	free(h->nets);
	free(h->ifnames);
	free(h->units);
	free(h->instances);
	dy_host_init(h);
}

/* Append item to the array *arrp of *n elements (arrp: address of a typed
 * array pointer). */
static int
push(void *arrp, size_t *n, size_t size, const void *item, struct dy_err *err)
{
	char *arr;

	memcpy(&arr, arrp, sizeof(arr));
	if ((arr = realloc(arr, (*n + 1) * size)) == NULL)
		return dy_errf(err, "out of memory");
	memcpy(arr + *n * size, item, size);
	memcpy(arrp, &arr, sizeof(arr));
	(*n)++;
	return 0;
}

static int
has_name(const char *names, size_t n, size_t size, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names + i * size, name) == 0)
			return 1;
	return 0;
}

int
dy_host_has_ifname(const struct dy_host *h, const char *name)
{
	return has_name((const char *)h->ifnames, h->nifnames, sizeof(*h->ifnames), name);
}

int
dy_host_has_unit(const struct dy_host *h, const char *name)
{
	return has_name((const char *)h->units, h->nunits, sizeof(*h->units), name);
}

static int
add_ifname(struct dy_host *h, const char *name, struct dy_err *err)
{
	char item[16];

	if (strlen(name) >= sizeof(item) ||
	    has_name((const char *)h->ifnames, h->nifnames, 16, name))
		return 0;
	snprintf(item, sizeof(item), "%s", name);
	return push(&h->ifnames, &h->nifnames, sizeof(item), item, err);
}

static int
scan_routes(struct dy_host *h, struct dy_err *err)
{
	FILE *f = fopen("/proc/net/route", "re");
	unsigned dst, flags, mask;
	char line[512], ifname[64];
	int rc = 0;

	if (f == NULL)
		return dy_errnof(err, "cannot read /proc/net/route");
	if (fgets(line, sizeof(line), f) == NULL) /* the header */
		line[0] = '\0';
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		struct dy_host_net n;

		if (sscanf(line, "%63s %x %*x %x %*d %*d %*d %x", ifname, &dst, &flags, &mask) !=
			    4 ||
		    !(flags & ROUTE_UP))
			continue;
		memset(&n, 0, sizeof(n));
		snprintf(n.name, sizeof(n.name), "%s", ifname);
		/* The kernel prints the big-endian words as host integers. */
		n.net.addr = ntohl(dst);
		n.net.len = __builtin_popcount(mask);
		rc = push(&h->nets, &h->nnets, sizeof(n), &n, err);
	}
	fclose(f);
	return rc;
}

static int
scan_ifnames(struct dy_host *h, struct dy_err *err)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *de;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : dy_errnof(err, "cannot list /sys/class/net");
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			rc = add_ifname(h, de->d_name, err);
	closedir(d);
	return rc;
}

/* Interface addresses (with the names, in case /sys is missing). */
static int
scan_ifaddrs(struct dy_host *h, struct dy_err *err)
{
	struct ifaddrs *all, *ifa;
	int rc = 0;

	if (getifaddrs(&all) < 0)
		return dy_errnof(err, "cannot list the network interfaces");
	for (ifa = all; rc == 0 && ifa; ifa = ifa->ifa_next) {
		struct dy_host_net n;

		rc = add_ifname(h, ifa->ifa_name, err);
		if (rc < 0 || !ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET ||
		    !ifa->ifa_netmask)
			continue;
		memset(&n, 0, sizeof(n));
		snprintf(n.name, sizeof(n.name), "%s", ifa->ifa_name);
		n.net.addr = ntohl(((struct sockaddr_in *)(void *)ifa->ifa_addr)->sin_addr.s_addr);
		n.net.len = __builtin_popcount(
			((struct sockaddr_in *)(void *)ifa->ifa_netmask)->sin_addr.s_addr);
		rc = push(&h->nets, &h->nnets, sizeof(n), &n, err);
	}
	freeifaddrs(all);
	return rc;
}

static int
scan_units(struct dy_host *h, const char *sysroot, const char *dir, struct dy_err *err)
{
	char path[DY_ROOT_MAX + 64], item[256];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "%s%s", sysroot, dir);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0
							   : dy_errnof(err, "cannot list %s", path);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n < 14 || n >= sizeof(item) || strcmp(de->d_name + n - 14, "docker.service") ||
		    has_name((const char *)h->units, h->nunits, sizeof(item), de->d_name))
			continue;
		snprintf(item, sizeof(item), "%s", de->d_name);
		rc = push(&h->units, &h->nunits, sizeof(item), item, err);
	}
	closedir(d);
	return rc;
}

/* Strip trailing slashes ("/" stays "/"). */
static void
trim_slashes(char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
}

/* One registry entry: the file PREFIX holds the root; that root's
 * etc/dockyard.env gives its networks (cfg.set == 0 when unreadable). */
static int
scan_instance(struct dy_host *h, const char *sysroot, int dfd, const char *prefix,
	      struct dy_err *err)
{
	struct dy_host_instance in;
	char path[2 * DY_ROOT_MAX + 64];
	struct dy_err ignored;
	ssize_t n;
	int fd = openat(dfd, prefix, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return 0; /* a directory or symlink is not an entry */
	memset(&in, 0, sizeof(in));
	n = dy_read_some(fd, in.root, sizeof(in.root) - 1);
	close(fd);
	in.root[n > 0 ? n : 0] = '\0';
	in.root[strcspn(in.root, "\r\n")] = '\0';
	trim_slashes(in.root);
	memcpy(in.prefix, prefix, strlen(prefix) + 1); /* a valid prefix: fits */
	dy_config_init(&in.cfg);
	snprintf(path, sizeof(path), "%s%s/etc/dockyard.env", sysroot, in.root);
	if (in.root[0] == '/' && dy_config_load_env(path, &in.cfg, &ignored) < 0)
		dy_config_init(&in.cfg);
	return push(&h->instances, &h->ninstances, sizeof(in), &in, err);
}

static int
scan_registry(struct dy_host *h, const char *sysroot, struct dy_err *err)
{
	char path[DY_ROOT_MAX + 64];
	struct dy_err scratch;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/etc/dockyard/instances", sysroot);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0
							   : dy_errnof(err, "cannot list %s", path);
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (dy_config_rule_prefix(de->d_name, &scratch) == 0) /* skips ".", temp files */
			rc = scan_instance(h, sysroot, dirfd(d), de->d_name, err);
	closedir(d);
	return rc;
}

int
dy_host_scan(struct dy_host *h, const char *sysroot, struct dy_err *err)
{
	static const char *const unit_dirs[] = { "/etc/systemd/system", "/lib/systemd/system",
						 "/usr/lib/systemd/system" };
	size_t i;

	dy_host_init(h);
	if (sysroot == NULL)
		sysroot = "";
	/* An image being prepared has no routes or interfaces of its own. */
	if (*sysroot == '\0' &&
	    (scan_routes(h, err) < 0 || scan_ifnames(h, err) < 0 || scan_ifaddrs(h, err) < 0))
		goto fail;
	for (i = 0; i < sizeof(unit_dirs) / sizeof(unit_dirs[0]); i++)
		if (scan_units(h, sysroot, unit_dirs[i], err) < 0)
			goto fail;
	if (scan_registry(h, sysroot, err) == 0)
		return 0;
fail:
	dy_host_free(h);
	return -1;
}
