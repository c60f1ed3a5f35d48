/* SPDX-License-Identifier: Apache-2.0 */
/* Operator drop-ins for dockerd: see dropin.h. */
#include "dropin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xio.h"
#include "../verify/sha256.h"

#define NAMES_MAX 256

static const struct {
	const char *key, *why;
} owned[] = {
	{ "hosts", "the instance's own socket" },
	{ "data-root", "the instance's lib/docker" },
	{ "exec-root", "the instance's run/docker" },
	{ "pidfile", "dockyardctl finds dockerd by it" },
	{ "containerd", "the instance's own containerd" },
	{ "containerd-namespace", "the instance's own containerd" },
	{ "bridge", "the instance's bridge; set DOCKYARD_BRIDGE_CIDR" },
	{ "bip", "the instance's bridge; set DOCKYARD_BRIDGE_CIDR" },
	{ "fixed-cidr", "set DOCKYARD_FIXED_CIDR" },
	{ "default-address-pools", "set DOCKYARD_POOL_BASE and DOCKYARD_POOL_SIZE" },
	{ "iptables", "dockyardctl owns the instance's iptables rules" },
	{ "ip6tables", "dockyardctl owns the instance's iptables rules" },
	{ "ip-masq", "dockyardctl owns the instance's iptables rules" },
	{ "userland-proxy-path", "the instance's bin/docker-proxy" },
	{ "init-path", "the instance's bin/docker-init" },
	{ "deprecated-key-path", "the instance's own engine ID" },
	{ "group", "the instance's group" },
	{ "cgroup-parent", "the instance's own cgroup" },
	{ "runtimes", "the instance's runtime" },
	{ "default-runtime", "the instance's runtime" },
	{ "storage-driver", "set DOCKYARD_STORAGE_DRIVER" },
	{ "dns", "set DOCKYARD_DNS" },
	{ "proxies", "set DOCKYARD_HTTP_PROXY, DOCKYARD_HTTPS_PROXY, DOCKYARD_NO_PROXY" },
	{ NULL, NULL },
};

const char *
dy_dropin_owned_why(const char *key)
{
	size_t i;

	for (i = 0; owned[i].key != NULL; i++)
		if (strcmp(owned[i].key, key) == 0)
			return owned[i].why;
	return NULL;
}

json_t *
dy_dropin_parse(const char *name, const char *text, size_t len, struct dy_err *err)
{
	json_error_t jerr;
	const char *key, *why;
	json_t *doc, *value;

	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		dy_errf(err, "%s:%d:%d: invalid JSON: %s", name, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		dy_errf(err, "%s: must hold one JSON object ({\"key\": value, ...})", name);
		return NULL;
	}
	json_object_foreach(doc, key, value)
	{
		if ((why = dy_dropin_owned_why(key)) != NULL) {
			dy_errf(err, "%s: key %s is set by dockyard (%s)", name, key, why);
			json_decref(doc);
			return NULL;
		}
	}
	return doc;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return name[0] != '.' && n > k && strcmp(name + n - k, suffix) == 0;
}

/* The drop-in names of dir (those ending in suffix), sorted; *n 0 when dir
 * is missing. */
static int
list_names(const char *dir, const char *suffix, char ***out, size_t *n, struct dy_err *err)
{
	char **names = NULL;
	struct dirent *de;
	DIR *d;

	*n = 0;
	*out = NULL;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : dy_errnof(err, "cannot list %s", dir);
	names = calloc(NAMES_MAX, sizeof(*names));
	while (names != NULL && (de = readdir(d)) != NULL) {
		if (!has_suffix(de->d_name, suffix))
			continue;
		if (*n == NAMES_MAX) {
			closedir(d);
			*out = names;
			return dy_errf(err, "%s holds more than %d drop-ins", dir, NAMES_MAX);
		}
		if ((names[*n] = strdup(de->d_name)) == NULL)
			break;
		(*n)++;
	}
	closedir(d);
	*out = names;
	if (names == NULL || de != NULL)
		return dy_errf(err, "out of memory listing %s", dir);
	qsort(names, *n, sizeof(*names), by_name);
	return 0;
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

static json_t *
load_one(const char *path, struct dy_err *err)
{
	struct stat st;
	char *text;
	size_t len;
	json_t *doc;

	if (dy_read_small_file(path, DY_DROPIN_MAX, &text, &len, &st, err) < 0)
		return NULL;
	doc = dy_dropin_parse(path, text, len, err);
	free(text);
	return doc;
}

int
dy_dropin_load(const char *dir, json_t **out, struct dy_err *err)
{
	char path[4096], **names;
	json_t *all, *doc;
	size_t i, n;
	int rc = 0;

	*out = NULL;
	if (list_names(dir, ".json", &names, &n, err) < 0) {
		free_names(names, n);
		return -1;
	}
	all = json_object();
	for (i = 0; rc == 0 && all != NULL && i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path)) {
			rc = dy_errf(err, "path %s/%s is too long", dir, names[i]);
			break;
		}
		if ((doc = load_one(path, err)) == NULL)
			rc = -1;
		else if (json_object_update_recursive(all, doc) < 0)
			rc = dy_errf(err, "out of memory merging %s", path);
		json_decref(doc);
	}
	free_names(names, n);
	if (all == NULL)
		return dy_errf(err, "out of memory reading %s", dir);
	if (rc < 0) {
		json_decref(all);
		return -1;
	}
	*out = all;
	return 0;
}

int
dy_dropin_apply(json_t *daemon, const json_t *dropins, struct dy_err *err)
{
	const char *key;
	json_t *value;

	/* Checked again here: the merged object might not come from
	 * dy_dropin_load. */
	json_object_foreach((json_t *)dropins, key, value)
	{
		(void)value;
		if (dy_dropin_owned_why(key) != NULL)
			return dy_errf(err, "drop-ins: key %s is set by dockyard", key);
	}
	if (json_object_update_recursive(daemon, (json_t *)dropins) < 0)
		return dy_errf(err, "out of memory merging the drop-ins into daemon.json");
	return 0;
}

/* "# drop-in NAME sha256 HEX" of one file, appended to *text. */
static int
summarize(const char *dir, const char *name, char **text, size_t *len, struct dy_err *err)
{
	char path[4096], hex[DY_SHA256_HEX], *more;
	uint8_t sum[DY_SHA256_LEN];
	unsigned long long size;
	int fd, rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return dy_errf(err, "path %s/%s is too long", dir, name);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return dy_errnof(err, "cannot read %s", path);
	rc = dy_sha256_fd(fd, sum, &size, err);
	close(fd);
	if (rc < 0)
		return -1;
	dy_hex_encode(sum, DY_SHA256_LEN, hex);
	more = realloc(*text, *len + strlen(name) + 96);
	if (more == NULL)
		return dy_errf(err, "out of memory reading %s", dir);
	*text = more;
	*len += (size_t)sprintf(more + *len, "# drop-in %s sha256 %s\n", name, hex);
	return 0;
}

int
dy_containerd_dropins(const char *dir, char **out, struct dy_err *err)
{
	char **names = NULL;
	size_t n = 0, i, len = 0;
	int rc;

	if ((*out = calloc(1, 1)) == NULL)
		return dy_errf(err, "out of memory");
	rc = list_names(dir, ".toml", &names, &n, err);
	for (i = 0; rc == 0 && i < n; i++)
		rc = summarize(dir, names[i], out, &len, err);
	free_names(names, n);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}
