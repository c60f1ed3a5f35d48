/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Instance configuration (see config.h): the keys, the rule of each value,
 * the rules of the whole, and the text of dockyard.env.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "settings.h"

#define POOL_SIZE_MAX 30 /* a network needs a gateway and one container */

static const struct dy_config_key keys[] = {
	{ "DOCKYARD_ROOT", "root", DY_KEY_ROOT },
	{ "DOCKYARD_DOCKER_PREFIX", "prefix", DY_KEY_PREFIX },
	{ "DOCKYARD_BRIDGE_CIDR", "bridge-cidr", DY_KEY_BRIDGE },
	{ "DOCKYARD_FIXED_CIDR", "fixed-cidr", DY_KEY_FIXED },
	{ "DOCKYARD_POOL_BASE", "pool-base", DY_KEY_POOL_BASE },
	{ "DOCKYARD_POOL_SIZE", "pool-size", DY_KEY_POOL_SIZE },
	/* optional (settings.h) */
	{ "DOCKYARD_DNS", "dns", DY_KEY_DNS },
	{ "DOCKYARD_STORAGE_DRIVER", "storage-driver", DY_KEY_STORAGE },
	{ "DOCKYARD_SYSBOX_MGR_EXTRA_ARGS", "sysbox-mgr-extra-args", DY_KEY_MGR_ARGS },
	{ "DOCKYARD_SYSBOX_SUBID_USER", "sysbox-subid-user", DY_KEY_SUBID_USER },
	{ "DOCKYARD_SYSBOX_SUBID_START", "sysbox-subid-start", DY_KEY_SUBID_START },
	{ "DOCKYARD_SYSBOX_SUBID_COUNT", "sysbox-subid-count", DY_KEY_SUBID_COUNT },
	{ "DOCKYARD_HTTP_PROXY", "http-proxy", DY_KEY_HTTP_PROXY },
	{ "DOCKYARD_HTTPS_PROXY", "https-proxy", DY_KEY_HTTPS_PROXY },
	{ "DOCKYARD_NO_PROXY", "no-proxy", DY_KEY_NO_PROXY },
	{ "DOCKYARD_LOG_MAX_SIZE", "log-max-size", DY_KEY_LOG_MAX_SIZE },
	{ "DOCKYARD_LOG_KEEP", "log-keep", DY_KEY_LOG_KEEP },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

void
dy_config_init(struct dy_config *c)
{
	memset(c, 0, sizeof(*c));
}

/* ---- the rule of each value ---- */

/* containerd's ttrpc socket is the longest path an instance binds. */
#define DY_LONGEST_SOCKET "/run/containerd/containerd.sock.ttrpc"
#define DY_SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

static int
root_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '/' || ch == '-';
}

static void
describe_char(char ch, char *buf, size_t size)
{
	if (ch == ' ')
		snprintf(buf, size, "a space");
	else if (ch > ' ' && ch < 127)
		snprintf(buf, size, "'%c'", ch);
	else
		snprintf(buf, size, "byte 0x%02x", (unsigned char)ch);
}

static int
rule_root(const char *root, struct dy_err *err)
{
	const char *p, *end;
	char what[16];

	if (root[0] != '/')
		return dy_errf(err, "DOCKYARD_ROOT '%.200s' is not an absolute path", root);
	if (strcmp(root, "/") == 0)
		return dy_errf(err, "DOCKYARD_ROOT '/' is the root directory: an instance needs a "
				    "directory of its own");
	/* The longest socket below the root must fit sockaddr_un.sun_path. */
	if (strlen(root) + sizeof(DY_LONGEST_SOCKET) > DY_SUN_PATH_MAX)
		return dy_errf(err,
			       "DOCKYARD_ROOT '%.200s' is %zu characters: at most %zu fit, because "
			       "the socket %s below it must fit a unix socket address (%d bytes)",
			       root, strlen(root), DY_SUN_PATH_MAX - sizeof(DY_LONGEST_SOCKET),
			       DY_LONGEST_SOCKET, (int)DY_SUN_PATH_MAX);
	for (p = root; *p; p++) {
		if (root_char_ok(*p))
			continue;
		describe_char(*p, what, sizeof(what));
		return dy_errf(err,
			       "DOCKYARD_ROOT '%.200s' contains %s: only [A-Za-z0-9._/-] are "
			       "allowed (dockerd writes the root unquoted into a shell shim)",
			       root, what);
	}
	for (p = root + 1;; p = end + 1) {
		end = strchrnul(p, '/');
		if (end == p)
			return dy_errf(err, "DOCKYARD_ROOT '%.200s' has an empty component ('//')",
				       root);
		if ((end - p == 1 && p[0] == '.') || (end - p == 2 && strncmp(p, "..", 2) == 0))
			return dy_errf(err,
				       "DOCKYARD_ROOT '%.200s' has a '%.*s' component: give the "
				       "path without '.' and '..'",
				       root, (int)(end - p), p);
		if (*end == '\0')
			return 0;
	}
}

int
dy_config_rule_prefix(const char *prefix, struct dy_err *err)
{
	size_t n = strlen(prefix);
	char what[16];
	const char *p;

	if (n == 0)
		return dy_errf(err, "DOCKYARD_DOCKER_PREFIX is empty: the bridge, unit, user and "
				    "group names need a prefix such as 'dy1'");
	if (n > DY_PREFIX_MAX)
		return dy_errf(err,
			       "DOCKYARD_DOCKER_PREFIX '%.64s' is %zu characters: the bridge name "
			       "'%.64sdocker0' would exceed Linux's 15-character interface name "
			       "limit (at most %d)",
			       prefix, n, prefix, DY_PREFIX_MAX);
	for (p = prefix; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
			continue;
		describe_char(*p, what, sizeof(what));
		return dy_errf(err,
			       "DOCKYARD_DOCKER_PREFIX '%s' contains %s: only [a-z0-9_] are "
			       "allowed (it names the bridge, unit, user and group)",
			       prefix, what);
	}
	return 0;
}

/* The fixed CIDR and the pool base are networks: no host bits. */
static int
rule_network(const char *key, const struct dy_cidr *c, struct dy_err *err)
{
	struct dy_cidr net = { dy_cidr_network(c), c->len };
	char got[DY_CIDR_TEXT], want[DY_CIDR_TEXT];

	if (net.addr == c->addr)
		return 0;
	dy_cidr_format(c, got, sizeof(got));
	dy_cidr_format(&net, want, sizeof(want));
	return dy_errf(err, "%s %s has host bits set: the network is %s", key, got, want);
}

static int
rule_pool_size(int size, struct dy_err *err)
{
	if (size >= 1 && size <= POOL_SIZE_MAX)
		return 0;
	return dy_errf(err,
		       "DOCKYARD_POOL_SIZE %d is not a prefix length from 1 to %d (a network "
		       "needs a gateway and at least one container address)",
		       size, POOL_SIZE_MAX);
}

/* ---- setting one key ---- */

const struct dy_config_key *
dy_config_key(const char *name)
{
	size_t i;

	if (strncmp(name, "--", 2) == 0)
		name += 2;
	for (i = 0; i < NKEYS; i++)
		if (strcmp(name, keys[i].env) == 0 || strcmp(name, keys[i].flag) == 0)
			return &keys[i];
	return NULL;
}

static int
set_root(struct dy_config *c, const char *value, struct dy_err *err)
{
	size_t n = strlen(value);
	char root[DY_ROOT_MAX];

	/* "/dy1/" is "/dy1": shells complete directories with a slash. */
	while (n > 1 && value[n - 1] == '/')
		n--;
	if (n >= sizeof(c->root))
		return dy_errf(err, "DOCKYARD_ROOT is %zu characters long: at most %zu", n,
			       sizeof(c->root) - 1);
	memcpy(root, value, n);
	root[n] = '\0';
	if (rule_root(root, err) < 0)
		return -1;
	memcpy(c->root, root, n + 1);
	return 0;
}

static int
set_pool_size(struct dy_config *c, const char *value, struct dy_err *err)
{
	char why[128];
	unsigned v;
	const char *end = dy_parse_dec(value, 32, &v, "the number", why, sizeof(why));

	if (end == NULL || *end != '\0')
		return dy_errf(err,
			       "DOCKYARD_POOL_SIZE '%.64s' is not a prefix length (a number "
			       "from 1 to %d)",
			       value, POOL_SIZE_MAX);
	if (rule_pool_size((int)v, err) < 0)
		return -1;
	c->pool_size = (int)v;
	return 0;
}

/* "DOCKYARD_ROOT, DOCKYARD_DOCKER_PREFIX, ..." */
static const char *
known_keys(void)
{
	static char list[NKEYS * 40];
	size_t i, n = 0;

	if (list[0] == '\0')
		for (i = 0; i < NKEYS; i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
					      keys[i].env);
	return list;
}

int
dy_config_set(struct dy_config *c, const char *key, const char *value, struct dy_err *err)
{
	const struct dy_config_key *k = dy_config_key(key);
	struct dy_cidr cidr;

	if (k == NULL)
		return dy_errf(err, "unknown configuration key '%.64s' (known: %s)", key,
			       known_keys());
	if (k->bit & ~(unsigned)DY_KEY_ALL)
		return dy_settings_set(c, k->bit, k->env, value, err);
	switch (k->bit) {
	case DY_KEY_ROOT:
		if (set_root(c, value, err) < 0)
			return -1;
		break;
	case DY_KEY_PREFIX:
		if (dy_config_rule_prefix(value, err) < 0)
			return -1;
		snprintf(c->prefix, sizeof(c->prefix), "%s", value);
		break;
	case DY_KEY_POOL_SIZE:
		if (set_pool_size(c, value, err) < 0)
			return -1;
		break;
	default:
		if (dy_cidr_parse(k->env, value, &cidr, err) < 0 ||
		    (k->bit != DY_KEY_BRIDGE && rule_network(k->env, &cidr, err) < 0))
			return -1;
		*(k->bit == DY_KEY_BRIDGE  ? &c->bridge
		  : k->bit == DY_KEY_FIXED ? &c->fixed
					   : &c->pool) = cidr;
	}
	c->set |= k->bit;
	return 0;
}

/* ---- the configuration as a whole ---- */

static int
rule_all_set(const struct dy_config *c, struct dy_err *err)
{
	char missing[256] = "";
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if ((keys[i].bit & DY_KEY_ALL) && !(c->set & keys[i].bit))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "%s%s", *missing ? ", " : "", keys[i].env);
	if (*missing)
		return dy_errf(err, "configuration incomplete: %s not set", missing);
	return 0;
}

/* The bridge address is a host address of the fixed CIDR (and of its own
 * subnet): neither network nor broadcast address. */
static int
rule_bridge(const struct dy_config *c, struct dy_err *err)
{
	char b[DY_CIDR_TEXT], f[DY_CIDR_TEXT], n[DY_CIDR_TEXT];
	int lens[2] = { c->fixed.len, c->bridge.len }, i;

	dy_cidr_format(&c->bridge, b, sizeof(b));
	dy_cidr_format(&c->fixed, f, sizeof(f));
	if ((c->bridge.addr & dy_cidr_mask(c->fixed.len)) != dy_cidr_network(&c->fixed))
		return dy_errf(err,
			       "DOCKYARD_BRIDGE_CIDR %s is not inside DOCKYARD_FIXED_CIDR %s: the "
			       "bridge address must lie inside the container subnet",
			       b, f);
	for (i = 0; i < 2; i++) {
		uint32_t host = c->bridge.addr & ~dy_cidr_mask(lens[i]);
		struct dy_cidr net = { c->bridge.addr & dy_cidr_mask(lens[i]), lens[i] };

		dy_cidr_format(&net, n, sizeof(n));
		if (host == 0 || host == ~dy_cidr_mask(lens[i]))
			return dy_errf(
				err,
				"DOCKYARD_BRIDGE_CIDR %s is the %s address of %s: the bridge "
				"needs a host address",
				b, host == 0 ? "network" : "broadcast", n);
	}
	return 0;
}

int
dy_config_pool_clear(const struct dy_config *c, struct dy_err *err)
{
	const struct dy_cidr *other[2] = { &c->fixed, &c->bridge };
	const char *names[2] = { "DOCKYARD_FIXED_CIDR", "DOCKYARD_BRIDGE_CIDR" };
	char p[DY_CIDR_TEXT], o[DY_CIDR_TEXT];
	int i;

	for (i = 0; i < 2; i++) {
		if (!dy_cidr_overlap(&c->pool, other[i]))
			continue;
		dy_cidr_format(&c->pool, p, sizeof(p));
		dy_cidr_format(other[i], o, sizeof(o));
		return dy_errf(err,
			       "DOCKYARD_POOL_BASE %s overlaps %s %s: networks created from the "
			       "pool would collide with the bridge's containers",
			       p, names[i], o);
	}
	return 0;
}

int
dy_config_validate(const struct dy_config *c, struct dy_err *err)
{
	char p[DY_CIDR_TEXT];

	if (rule_all_set(c, err) < 0 || rule_root(c->root, err) < 0 ||
	    dy_config_rule_prefix(c->prefix, err) < 0 ||
	    rule_network("DOCKYARD_FIXED_CIDR", &c->fixed, err) < 0 ||
	    rule_network("DOCKYARD_POOL_BASE", &c->pool, err) < 0 ||
	    rule_pool_size(c->pool_size, err) < 0 || rule_bridge(c, err) < 0 ||
	    dy_config_pool_clear(c, err) < 0 || dy_settings_validate(c, err) < 0)
		return -1;
	if (c->pool_size <= c->pool.len) {
		dy_cidr_format(&c->pool, p, sizeof(p));
		return dy_errf(err,
			       "DOCKYARD_POOL_SIZE %d is not longer than the prefix of "
			       "DOCKYARD_POOL_BASE %s: each network carved from the pool must be "
			       "smaller than the pool",
			       c->pool_size, p);
	}
	return 0;
}

/* KEY=VALUE of each optional key set; quoted when it holds a space. */
static size_t
format_settings(const struct dy_config *c, char *out, size_t size)
{
	char value[DY_SETTING_MAX];
	size_t i, n = 0;

	for (i = 0; i < NKEYS && n < size; i++) {
		if (!(keys[i].bit & ~(unsigned)DY_KEY_ALL) || !(c->set & keys[i].bit))
			continue;
		dy_settings_value(c, keys[i].bit, value, sizeof(value));
		n += (size_t)snprintf(out + n, size - n,
				      strchr(value, ' ') ? "%s=\"%s\"\n" : "%s=%s\n", keys[i].env,
				      value);
	}
	return n;
}

int
dy_config_format_env(const struct dy_config *c, char **out, size_t *len, struct dy_err *err)
{
	char b[DY_CIDR_TEXT], f[DY_CIDR_TEXT], p[DY_CIDR_TEXT];
	size_t size = DY_ROOT_MAX + 1024 + NKEYS * (DY_SETTING_MAX + 64);
	int n;

	if (dy_config_validate(c, err) < 0)
		return -1;
	if ((*out = malloc(size)) == NULL)
		return dy_errf(err, "out of memory");
	dy_cidr_format(&c->bridge, b, sizeof(b));
	dy_cidr_format(&c->fixed, f, sizeof(f));
	dy_cidr_format(&c->pool, p, sizeof(p));
	n = snprintf(*out, size,
		     "# dockyard instance configuration, written by dockyard-installer.\n"
		     "# KEY=VALUE data, never executed.  Installer flags override it.\n"
		     "DOCKYARD_ROOT=%s\n"
		     "DOCKYARD_DOCKER_PREFIX=%s\n"
		     "DOCKYARD_BRIDGE_CIDR=%s\n"
		     "DOCKYARD_FIXED_CIDR=%s\n"
		     "DOCKYARD_POOL_BASE=%s\n"
		     "DOCKYARD_POOL_SIZE=%d\n",
		     c->root, c->prefix, b, f, p, c->pool_size);
	*len = (size_t)n + format_settings(c, *out + n, size - (size_t)n);
	return 0;
}

/* The networks a configuration occupies, as far as they are set. */
size_t
dy_config_nets(const struct dy_config *c, unsigned which, const char **names,
	       const struct dy_cidr **nets)
{
	size_t i, n = 0;

	for (i = 2; i < 5; i++) {
		if (!(c->set & which & keys[i].bit))
			continue;
		names[n] = keys[i].env;
		nets[n++] = i == 2 ? &c->bridge : i == 3 ? &c->fixed : &c->pool;
	}
	return n;
}
