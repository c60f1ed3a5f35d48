/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Instance configuration (see config.h).  dockyard.env is read as data with
 * a small KEY=VALUE grammar and never handed to a shell: dockyardctl sources
 * it later, so a value that a shell would expand is refused here.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/xio.h"
#include "settings.h"

#define ENV_MAX (64u * 1024)
#define ENV_LINE_MAX 4096
#define TRIES 1000
#define DY_CIDR_TEXT 32 /* "a.b.c.d/n" even for a corrupt len */
#define POOL_SIZE_DEFAULT 24
#define POOL_SIZE_MAX 30 /* a network needs a gateway and one container */
#define ROUTE_UP 0x0001u /* RTF_UP in /proc/net/route */
/* Generated networks come from 172.16.0.0/12 (RFC 1918). */
#define GEN_BASE 0xac100000u

static const struct key {
	const char *env, *flag;
	unsigned bit;
} keys[] = {
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

/* ---- CIDRs ---- */

static uint32_t
mask_of(int len)
{
	if (len <= 0)
		return 0;
	return len >= 32 ? 0xffffffffu : 0xffffffffu << (32 - len);
}

uint32_t
dy_cidr_network(const struct dy_cidr *c)
{
	return c->addr & mask_of(c->len);
}

int
dy_cidr_overlap(const struct dy_cidr *a, const struct dy_cidr *b)
{
	int len = a->len < b->len ? a->len : b->len;

	return ((a->addr ^ b->addr) & mask_of(len)) == 0;
}

void
dy_cidr_format(const struct dy_cidr *c, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u/%d", c->addr >> 24, (c->addr >> 16) & 255,
		 (c->addr >> 8) & 255, c->addr & 255, c->len);
}

/* A plain decimal number at most max.  Leading zeros are refused: inet_aton
 * and shells read "010" as octal, so such a value means different things
 * to different tools. */
static const char *
parse_dec(const char *p, unsigned max, unsigned *out, const char *what, char *why, size_t size)
{
	unsigned v = 0;
	int n = 0;

	for (; p[n] >= '0' && p[n] <= '9'; n++)
		v = v > max ? v : v * 10 + (unsigned)(p[n] - '0');
	if (n == 0) {
		snprintf(why, size, "%s is missing", what);
		return NULL;
	}
	if (n > 1 && p[0] == '0') {
		snprintf(why, size, "%s '%.*s' has a leading zero (read as octal by some tools)",
			 what, n, p);
		return NULL;
	}
	if (v > max) {
		snprintf(why, size, "%s '%.*s' is above %u", what, n > 16 ? 16 : n, p, max);
		return NULL;
	}
	*out = v;
	return p + n;
}

int
dy_cidr_parse(const char *key, const char *text, struct dy_cidr *out, struct dy_err *err)
{
	char why[128], what[24];
	const char *p = text;
	uint32_t addr = 0;
	unsigned v;
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(what, sizeof(what), "octet %d", i + 1);
		if ((p = parse_dec(p, 255, &v, what, why, sizeof(why))) == NULL)
			goto bad;
		addr = addr << 8 | v;
		if (i < 3 && *p++ != '.') {
			snprintf(why, sizeof(why), "expected '.' after octet %d", i + 1);
			goto bad;
		}
	}
	if (*p != '/') {
		snprintf(why, sizeof(why),
			 *p ? "unexpected text '%.16s' after the address"
			    : "the prefix length '/n' is missing",
			 p);
		goto bad;
	}
	if ((p = parse_dec(p + 1, 32, &v, "prefix length", why, sizeof(why))) == NULL)
		goto bad;
	if (*p != '\0') {
		snprintf(why, sizeof(why), "unexpected text '%.16s' after the prefix length", p);
		goto bad;
	}
	out->addr = addr;
	out->len = (int)v;
	return 0;
bad:
	return dy_errf(err, "%s '%.64s' is not an IPv4 CIDR (a.b.c.d/n): %s", key ? key : "CIDR",
		       text, why);
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

static int
rule_prefix(const char *prefix, struct dy_err *err)
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

static const struct key *
find_key(const char *name)
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
	const char *end = parse_dec(value, 32, &v, "the number", why, sizeof(why));

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
	const struct key *k = find_key(key);
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
		if (rule_prefix(value, err) < 0)
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

/* ---- dockyard.env ---- */

struct env_parse {
	const char *name;
	size_t lineno;
	unsigned flags;	      /* keys set before the file: they win */
	size_t first[NKEYS];  /* line each key was set on */
	struct dy_config cfg; /* committed only when the whole file parses */
};

static char *
skip_blank(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int
name_ok(const char *s)
{
	const char *p;

	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* One level of matching quotes, or a bare word; then only a comment. */
static const char *
unquote(char *v, char **out)
{
	char *end, *rest;

	if (*v == '\'' || *v == '"') {
		if ((end = strchr(v + 1, *v)) == NULL)
			return "unterminated quote";
		*out = v + 1;
	} else {
		end = v + strcspn(v, " \t");
		if (strpbrk(v, "'\"") != NULL && strpbrk(v, "'\"") < end)
			return "quote inside an unquoted value";
		*out = v;
	}
	rest = *end ? skip_blank(end + 1) : end;
	*end = '\0';
	if (*rest != '\0' && *rest != '#')
		return "text after the value (quote a value that holds spaces)";
	return NULL;
}

static int
env_assign(struct env_parse *x, const char *key, const char *value, struct dy_err *err)
{
	const struct key *k = find_key(key);
	size_t i;

	if (strncmp(key, "DOCKYARD_", 9) != 0)
		return 0; /* other variables belong to other tools */
	if (k == NULL || strcmp(k->env, key) != 0)
		return dy_errf(err, "%s:%zu: unknown key %.64s", x->name, x->lineno, key);
	i = (size_t)(k - keys);
	if (x->first[i])
		return dy_errf(err, "%s:%zu: %s is set twice (first on line %zu)", x->name,
			       x->lineno, key, x->first[i]);
	x->first[i] = x->lineno;
	if (x->flags & k->bit)
		return 0;
	if (dy_config_set(&x->cfg, key, value, err) < 0)
		return dy_err_wrap(err, "%s:%zu", x->name, x->lineno);
	return 0;
}

static int
env_line(struct env_parse *x, char *line, struct dy_err *err)
{
	char *s = skip_blank(line), *eq, *value;
	const char *why;

	if (*s == '\0' || *s == '#')
		return 0;
	if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t'))
		s = skip_blank(s + 6);
	if ((eq = strchr(s, '=')) == NULL)
		return dy_errf(err, "%s:%zu: expected KEY=VALUE, found '%.64s'", x->name, x->lineno,
			       s);
	*eq = '\0';
	if (!name_ok(s))
		return dy_errf(err, "%s:%zu: '%.64s' is not a variable name (no spaces around '=')",
			       x->name, x->lineno, s);
	if (strpbrk(eq + 1, "$`\\") != NULL)
		return dy_errf(err,
			       "%s:%zu: the value of %s contains '%c': dockyard.env is data, "
			       "nothing in it is expanded or executed",
			       x->name, x->lineno, s, *strpbrk(eq + 1, "$`\\"));
	if ((why = unquote(eq + 1, &value)) != NULL)
		return dy_errf(err, "%s:%zu: %s: %s", x->name, x->lineno, s, why);
	return env_assign(x, s, value, err);
}

int
dy_config_parse_env(const char *name, const char *text, size_t len, struct dy_config *c,
		    struct dy_err *err)
{
	struct env_parse x = { .name = name, .flags = c->set, .cfg = *c };
	char line[ENV_LINE_MAX];
	size_t start = 0, end;

	if (len > 0 && memchr(text, '\0', len) != NULL)
		return dy_errf(err, "%s: contains a NUL byte; dockyard.env is text", name);
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		end = nl ? (size_t)(nl - text) : len;
		x.lineno++;
		if (end - start >= sizeof(line))
			return dy_errf(err, "%s:%zu: line longer than %zu bytes", name, x.lineno,
				       sizeof(line) - 1);
		memcpy(line, text + start, end - start);
		line[end - start] = '\0';
		start = end + 1;
		if (strchr(line, '\r'))
			return dy_errf(err,
				       "%s:%zu: carriage return: the file has CRLF (Windows) line "
				       "endings; convert it to LF, e.g. with dos2unix",
				       name, x.lineno);
		if (env_line(&x, line, err) < 0)
			return -1;
	}
	*c = x.cfg;
	return 0;
}

int
dy_config_load_env(const char *path, struct dy_config *c, struct dy_err *err)
{
	char *buf;
	size_t len;
	int rc;

	if (dy_read_small_file(path, ENV_MAX, &buf, &len, NULL, err) < 0)
		return -1;
	rc = dy_config_parse_env(path, buf, len, c, err);
	free(buf);
	return rc;
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
	if ((c->bridge.addr & mask_of(c->fixed.len)) != dy_cidr_network(&c->fixed))
		return dy_errf(err,
			       "DOCKYARD_BRIDGE_CIDR %s is not inside DOCKYARD_FIXED_CIDR %s: the "
			       "bridge address must lie inside the container subnet",
			       b, f);
	for (i = 0; i < 2; i++) {
		uint32_t host = c->bridge.addr & ~mask_of(lens[i]);
		struct dy_cidr net = { c->bridge.addr & mask_of(lens[i]), lens[i] };

		dy_cidr_format(&net, n, sizeof(n));
		if (host == 0 || host == ~mask_of(lens[i]))
			return dy_errf(
				err,
				"DOCKYARD_BRIDGE_CIDR %s is the %s address of %s: the bridge "
				"needs a host address",
				b, host == 0 ? "network" : "broadcast", n);
	}
	return 0;
}

static int
rule_pool_clear(const struct dy_config *c, struct dy_err *err)
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
	    rule_prefix(c->prefix, err) < 0 ||
	    rule_network("DOCKYARD_FIXED_CIDR", &c->fixed, err) < 0 ||
	    rule_network("DOCKYARD_POOL_BASE", &c->pool, err) < 0 ||
	    rule_pool_size(c->pool_size, err) < 0 || rule_bridge(c, err) < 0 ||
	    rule_pool_clear(c, err) < 0 || dy_settings_validate(c, err) < 0)
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

/* ---- what the host uses ---- */

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
		if (rule_prefix(de->d_name, &scratch) == 0) /* skips ".", temp files */
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

/* ---- conflicts ---- */

/* Length of p without trailing slashes (0 for "/"). */
static size_t
path_len(const char *p)
{
	size_t n = strlen(p);

	while (n > 0 && p[n - 1] == '/')
		n--;
	return n;
}

static int
same_path(const char *a, const char *b)
{
	size_t n = path_len(a);

	return a[0] == '/' && n == path_len(b) && strncmp(a, b, n) == 0;
}

/* inner lies strictly below outer, compared by whole components:
 * /dy1/x is below /dy1, /dy10 is not. */
static int
path_below(const char *inner, const char *outer)
{
	size_t n = path_len(outer);

	return inner[0] == '/' && outer[0] == '/' && strncmp(inner, outer, n) == 0 &&
	       inner[n] == '/' && path_len(inner) > n;
}

/* The registered instance that is c itself: a re-run. */
static const struct dy_host_instance *
find_self(const struct dy_config *c, const struct dy_host *h)
{
	size_t i;

	if ((c->set & (DY_KEY_ROOT | DY_KEY_PREFIX)) != (DY_KEY_ROOT | DY_KEY_PREFIX))
		return NULL;
	for (i = 0; i < h->ninstances; i++)
		if (strcmp(h->instances[i].prefix, c->prefix) == 0 &&
		    same_path(h->instances[i].root, c->root))
			return &h->instances[i];
	return NULL;
}

static int
check_prefix(const struct dy_config *c, const struct dy_host *h,
	     const struct dy_host_instance *self, struct dy_err *err)
{
	char ifname[32], unit[32];
	size_t i;

	for (i = 0; i < h->ninstances; i++)
		if (&h->instances[i] != self && strcmp(h->instances[i].prefix, c->prefix) == 0)
			return dy_errf(err,
				       "DOCKYARD_DOCKER_PREFIX '%s' (root %s) is taken by the "
				       "instance %s registered with root %s",
				       c->prefix, (c->set & DY_KEY_ROOT) ? c->root : "not set",
				       h->instances[i].prefix, h->instances[i].root);
	if (self)
		return 0; /* its bridge and unit are this instance's own */
	snprintf(ifname, sizeof(ifname), "%sdocker0", c->prefix);
	snprintf(unit, sizeof(unit), "%sdocker.service", c->prefix);
	if (has_name((const char *)h->ifnames, h->nifnames, sizeof(*h->ifnames), ifname))
		return dy_errf(err, "DOCKYARD_DOCKER_PREFIX '%s' is taken: the interface %s exists",
			       c->prefix, ifname);
	if (has_name((const char *)h->units, h->nunits, sizeof(*h->units), unit))
		return dy_errf(err, "DOCKYARD_DOCKER_PREFIX '%s' is taken: the unit file %s exists",
			       c->prefix, unit);
	return 0;
}

static int
check_root(const struct dy_config *c, const struct dy_host *h, const struct dy_host_instance *self,
	   struct dy_err *err)
{
	const struct dy_host_instance *in;
	size_t i;

	for (i = 0; i < h->ninstances; i++) {
		in = &h->instances[i];
		if (in == self)
			continue;
		if (same_path(c->root, in->root))
			return dy_errf(err, "DOCKYARD_ROOT %s is already the root of instance %s",
				       c->root, in->prefix);
		if (path_below(c->root, in->root))
			return dy_errf(err, "DOCKYARD_ROOT %s is inside the root %s of instance %s",
				       c->root, in->root, in->prefix);
		if (path_below(in->root, c->root))
			return dy_errf(err, "DOCKYARD_ROOT %s contains the root %s of instance %s",
				       c->root, in->root, in->prefix);
	}
	return 0;
}

/* The networks a configuration occupies, as far as they are set. */
static size_t
config_nets(const struct dy_config *c, unsigned which, const char **names,
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

/* A host network that belongs to this instance itself on a re-run: on its
 * bridge, or inside its own subnets (user-defined networks of its pool). */
static int
own_net(const struct dy_host_net *hn, const struct dy_config *c,
	const struct dy_host_instance *self)
{
	const struct dy_cidr *nets[3];
	const char *names[3];
	char ifname[32];
	size_t i, n;

	if (self == NULL)
		return 0;
	snprintf(ifname, sizeof(ifname), "%sdocker0", c->prefix);
	if (strcmp(hn->name, ifname) == 0)
		return 1;
	n = config_nets(&self->cfg, DY_KEY_ALL, names, nets);
	for (i = 0; i < n; i++)
		if (hn->net.len >= nets[i]->len && dy_cidr_overlap(&hn->net, nets[i]))
			return 1;
	return 0;
}

static int
check_net(const char *key, const struct dy_cidr *net, const struct dy_config *c,
	  const struct dy_host *h, const struct dy_host_instance *self, struct dy_err *err)
{
	const struct dy_cidr *theirs[3];
	const char *names[3];
	char a[DY_CIDR_TEXT], b[DY_CIDR_TEXT];
	size_t i, j, n;

	dy_cidr_format(net, a, sizeof(a));
	for (i = 0; i < h->ninstances; i++) {
		if (&h->instances[i] == self)
			continue;
		n = config_nets(&h->instances[i].cfg, DY_KEY_ALL, names, theirs);
		for (j = 0; j < n; j++) {
			if (!dy_cidr_overlap(net, theirs[j]))
				continue;
			dy_cidr_format(theirs[j], b, sizeof(b));
			return dy_errf(err, "%s %s overlaps %s %s of instance %s (%s)", key, a,
				       names[j], b, h->instances[i].prefix, h->instances[i].root);
		}
	}
	for (i = 0; i < h->nnets; i++) {
		const struct dy_host_net *hn = &h->nets[i];

		/* The default route reaches everything; it occupies nothing. */
		if (hn->net.len == 0 || own_net(hn, c, self) || !dy_cidr_overlap(net, &hn->net))
			continue;
		dy_cidr_format(&hn->net, b, sizeof(b));
		if (dy_cidr_network(&hn->net) == hn->net.addr)
			return dy_errf(err, "%s %s overlaps the route %s via %s", key, a, b,
				       hn->name);
		return dy_errf(err, "%s %s overlaps the address %s of %s", key, a, b, hn->name);
	}
	return 0;
}

/* The networks of c among the keys which, against the host. */
static int
check_nets(const struct dy_config *c, unsigned which, const struct dy_host *h, struct dy_err *err)
{
	const struct dy_host_instance *self = find_self(c, h);
	const struct dy_cidr *nets[3];
	const char *names[3];
	size_t i, n = config_nets(c, which, names, nets);

	for (i = 0; i < n; i++)
		if (check_net(names[i], nets[i], c, h, self, err) < 0)
			return -1;
	return 0;
}

int
dy_config_check_conflicts(const struct dy_config *c, const struct dy_host *h, struct dy_err *err)
{
	const struct dy_host_instance *self = find_self(c, h);

	if ((c->set & DY_KEY_PREFIX) && check_prefix(c, h, self, err) < 0)
		return -1;
	if ((c->set & DY_KEY_ROOT) && check_root(c, h, self, err) < 0)
		return -1;
	return check_nets(c, DY_KEY_ALL, h, err);
}

/* ---- generation ---- */

/* The default random source is a sequence seeded from the root path
 * (FNV-1a, then splitmix64): the same root on an unchanged host gets the
 * same networks, so a plan shows what the following install will pick,
 * and different roots still spread over the range. */
struct seeded {
	uint64_t state;
};

static void
seed_from(struct seeded *s, const char *root)
{
	const unsigned char *p;

	s->state = 0xcbf29ce484222325ull;
	for (p = (const unsigned char *)root; *p; p++)
		s->state = (s->state ^ *p) * 0x100000001b3ull;
}

static uint32_t
seeded_random(void *ctx)
{
	struct seeded *s = ctx;
	uint64_t z = (s->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* A re-run with only --root keeps the registered instance's values. */
static void
adopt_registered(struct dy_config *c, const struct dy_host *h)
{
	const struct dy_host_instance *in = NULL;
	size_t i;

	for (i = 0; i < h->ninstances && (c->set & DY_KEY_ROOT); i++)
		if (same_path(h->instances[i].root, c->root) &&
		    (!(c->set & DY_KEY_PREFIX) || strcmp(h->instances[i].prefix, c->prefix) == 0))
			in = &h->instances[i];
	if (in == NULL)
		return;
	if (!(c->set & DY_KEY_PREFIX)) {
		snprintf(c->prefix, sizeof(c->prefix), "%s", in->prefix);
		c->set |= DY_KEY_PREFIX;
	}
	if (!(c->set & DY_KEY_BRIDGE) && (in->cfg.set & DY_KEY_BRIDGE))
		c->bridge = in->cfg.bridge;
	if (!(c->set & DY_KEY_FIXED) && (in->cfg.set & DY_KEY_FIXED))
		c->fixed = in->cfg.fixed;
	if (!(c->set & DY_KEY_POOL_BASE) && (in->cfg.set & DY_KEY_POOL_BASE))
		c->pool = in->cfg.pool;
	if (!(c->set & DY_KEY_POOL_SIZE) && (in->cfg.set & DY_KEY_POOL_SIZE))
		c->pool_size = in->cfg.pool_size;
	c->set |=
		in->cfg.set & (DY_KEY_BRIDGE | DY_KEY_FIXED | DY_KEY_POOL_BASE | DY_KEY_POOL_SIZE);
	dy_settings_merge(c, &in->cfg);
}

static int
pick_prefix(struct dy_config *c, const struct dy_host *h, struct dy_err *err)
{
	struct dy_err last;
	int i;

	c->set |= DY_KEY_PREFIX;
	for (i = 1; i <= TRIES; i++) {
		snprintf(c->prefix, sizeof(c->prefix), "dy%d", i % 100000);
		if (check_prefix(c, h, find_self(c, h), &last) == 0)
			return 0;
	}
	return dy_errf(err, "no free instance prefix: dy1 to dy%d are all taken (last: %s)", TRIES,
		       last.msg);
}

/* One of bridge and fixed CIDR given: the other follows from it. */
static void
derive_bridge_fixed(struct dy_config *c)
{
	if ((c->set & DY_KEY_BRIDGE) && !(c->set & DY_KEY_FIXED)) {
		c->fixed.addr = dy_cidr_network(&c->bridge);
		c->fixed.len = c->bridge.len;
		c->set |= DY_KEY_FIXED;
	} else if ((c->set & DY_KEY_FIXED) && !(c->set & DY_KEY_BRIDGE)) {
		c->bridge.addr = c->fixed.addr + 1;
		c->bridge.len = c->fixed.len;
		c->set |= DY_KEY_BRIDGE;
	}
}

static int
pick_bridge(struct dy_config *c, const struct dy_host *h, dy_random_fn rnd, void *ctx,
	    struct dy_err *err)
{
	struct dy_err last;
	int i;

	c->set |= DY_KEY_BRIDGE | DY_KEY_FIXED;
	for (i = 0; i < TRIES; i++) {
		uint32_t net = GEN_BASE | (rnd(ctx) % 4096u) << 8;

		c->fixed = (struct dy_cidr){ net, 24 };
		c->bridge = (struct dy_cidr){ net | 1, 24 };
		if (((c->set & DY_KEY_POOL_BASE) == 0 || rule_pool_clear(c, &last) == 0) &&
		    check_nets(c, DY_KEY_BRIDGE | DY_KEY_FIXED, h, &last) == 0)
			return 0;
	}
	return dy_errf(err,
		       "no free /24 for the bridge in 172.16.0.0/12 after %d random tries "
		       "(last conflict: %s)",
		       TRIES, last.msg);
}

static int
pick_pool(struct dy_config *c, const struct dy_host *h, dy_random_fn rnd, void *ctx,
	  struct dy_err *err)
{
	struct dy_err last;
	int i;

	c->set |= DY_KEY_POOL_BASE;
	for (i = 0; i < TRIES; i++) {
		/* A /20 (16 networks of the default /24): 256 candidates, so
		 * that tens of instances fit in 172.16.0.0/12 beside their
		 * bridges; 16 /16s ran out at about eight. */
		c->pool = (struct dy_cidr){ GEN_BASE | (rnd(ctx) % 256u) << 12, 20 };
		if (rule_pool_clear(c, &last) == 0 &&
		    check_nets(c, DY_KEY_POOL_BASE, h, &last) == 0)
			return 0;
	}
	return dy_errf(err,
		       "no free /20 for the address pool in 172.16.0.0/12 after %d random "
		       "tries (last conflict: %s)",
		       TRIES, last.msg);
}

int
dy_config_complete(struct dy_config *c, const struct dy_host *h, dy_random_fn rnd, void *ctx,
		   struct dy_err *err)
{
	struct dy_config t = *c;
	struct seeded seq;

	if (rnd == NULL) {
		seed_from(&seq, (c->set & DY_KEY_ROOT) ? c->root : "");
		rnd = seeded_random;
		ctx = &seq;
	}
	adopt_registered(&t, h);
	if (!(t.set & DY_KEY_PREFIX) && pick_prefix(&t, h, err) < 0)
		return -1;
	derive_bridge_fixed(&t);
	if (!(t.set & DY_KEY_BRIDGE) && pick_bridge(&t, h, rnd, ctx, err) < 0)
		return -1;
	if (!(t.set & DY_KEY_POOL_BASE) && pick_pool(&t, h, rnd, ctx, err) < 0)
		return -1;
	if (!(t.set & DY_KEY_POOL_SIZE)) {
		/* 24, or one step below a pool given smaller than a /24 */
		t.pool_size = t.pool.len < POOL_SIZE_DEFAULT ? POOL_SIZE_DEFAULT : t.pool.len + 1;
		t.set |= DY_KEY_POOL_SIZE;
	}
	if (dy_config_validate(&t, err) < 0 || dy_config_check_conflicts(&t, h, err) < 0)
		return -1;
	*c = t;
	return 0;
}
