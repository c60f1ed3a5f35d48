/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Instance configuration: the six dockyard.env keys (DOCKYARD_ROOT,
 * DOCKYARD_DOCKER_PREFIX, DOCKYARD_BRIDGE_CIDR, DOCKYARD_FIXED_CIDR,
 * DOCKYARD_POOL_BASE, DOCKYARD_POOL_SIZE), parsed as data (never
 * evaluated), validated with messages that name the value and the rule,
 * checked against what the host already uses, and completed with
 * generated conflict-free values.
 *
 * One header, one section per file, from the bottom up: each file calls
 * only the files listed before it.
 *   cidr.c      IPv4 CIDR text and arithmetic
 *   config.c    the keys, the rule of each value and of the whole,
 *               the text of dockyard.env (optional keys: settings.h)
 *   envfile.c   reading dockyard.env
 *   hostnet.c   what the host uses
 *   conflict.c  a configuration against the host
 *   generate.c  values for the keys not given
 * merge.h, above them all, is the one place that knows where a value
 * comes from: flags, --env file or the installed dockyard.env, the
 * registered instance, generated.
 */
#ifndef DY_CONFIG_H
#define DY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

#define DY_ROOT_MAX 1024
#define DY_PREFIX_MAX 8 /* "${PREFIX}docker0" must fit IFNAMSIZ-1 = 15 */

/* ---- cidr.c ---- */

/* An IPv4 address with a prefix length; addr in host byte order.  For the
 * bridge it is the bridge's own address (host bits set); for the fixed
 * CIDR and the pool base it is the network. */
struct dy_cidr {
	uint32_t addr;
	int len;
};

#define DY_CIDR_TEXT 32 /* "a.b.c.d/n" even for a corrupt len */

/* "172.22.147.1/24" -> cidr; err names key and value ("DOCKYARD_FIXED_CIDR
 * '300.1.1.0/24' is not an IPv4 CIDR (a.b.c.d/n)"). */
int dy_cidr_parse(const char *key, const char *text, struct dy_cidr *out, struct dy_err *err);
/* "a.b.c.d/n" into buf (at least 19 bytes). */
void dy_cidr_format(const struct dy_cidr *c, char *buf, size_t size);
/* Network address of c (host bits cleared). */
uint32_t dy_cidr_network(const struct dy_cidr *c);
int dy_cidr_overlap(const struct dy_cidr *a, const struct dy_cidr *b);
/* The netmask of a prefix length, host byte order. */
uint32_t dy_cidr_mask(int len);
/* A plain decimal number at most max at p (no leading zero); the end of
 * it, or NULL with why saying what is wrong with what. */
const char *dy_parse_dec(const char *p, unsigned max, unsigned *out, const char *what, char *why,
			 size_t size);

/* ---- config.c ---- */

enum {
	DY_KEY_ROOT = 1u << 0,
	DY_KEY_PREFIX = 1u << 1,
	DY_KEY_BRIDGE = 1u << 2,
	DY_KEY_FIXED = 1u << 3,
	DY_KEY_POOL_BASE = 1u << 4,
	DY_KEY_POOL_SIZE = 1u << 5,
	DY_KEY_ALL = (1u << 6) - 1, /* the six every instance has */
	/* Optional settings (settings.h): set only when given, defaults apply
	 * otherwise; kept in dockyard.env once given. */
	DY_KEY_DNS = 1u << 6,
	DY_KEY_STORAGE = 1u << 7,
	DY_KEY_MGR_ARGS = 1u << 8,
	DY_KEY_SUBID_USER = 1u << 9,
	DY_KEY_SUBID_START = 1u << 10,
	DY_KEY_SUBID_COUNT = 1u << 11,
	DY_KEY_HTTP_PROXY = 1u << 12,
	DY_KEY_HTTPS_PROXY = 1u << 13,
	DY_KEY_NO_PROXY = 1u << 14,
	DY_KEY_LOG_MAX_SIZE = 1u << 15,
	DY_KEY_LOG_KEEP = 1u << 16,
};

#define DY_DNS_MAX 3
#define DY_SETTING_MAX 512 /* text settings: sysbox-mgr arguments, proxies */

struct dy_settings {
	char dns[DY_DNS_MAX][64]; /* DOCKYARD_DNS; ndns 0 with the key set: none */
	size_t ndns;
	char storage_driver[16]; /* auto, overlay2, zfs */
	char mgr_args[DY_SETTING_MAX];
	char subid_user[33];
	uint32_t subid_start;
	uint32_t subid_count;
	char http_proxy[DY_SETTING_MAX];
	char https_proxy[DY_SETTING_MAX];
	char no_proxy[DY_SETTING_MAX];
	uint64_t log_max_size; /* bytes */
	unsigned log_keep;
};

struct dy_config {
	char root[DY_ROOT_MAX];
	char prefix[DY_PREFIX_MAX + 1];
	struct dy_cidr bridge;
	struct dy_cidr fixed;
	struct dy_cidr pool;
	int pool_size; /* prefix length of each network carved from the pool */
	unsigned set;  /* DY_KEY_* bits of the values present */
	struct dy_settings opt;
};

void dy_config_init(struct dy_config *c);

/* A key: its dockyard.env name, its flag name and its DY_KEY_* bit. */
struct dy_config_key {
	const char *env, *flag;
	unsigned bit;
};

/* The key named name (env or flag name, "--" allowed before a flag name);
 * NULL when there is none. */
const struct dy_config_key *dy_config_key(const char *name);

/* Set one key from its dockyard.env name (DOCKYARD_ROOT, ...) or its flag
 * name (root, prefix, bridge-cidr, fixed-cidr, pool-base, pool-size):
 * checks the value's own rule. */
int dy_config_set(struct dy_config *c, const char *key, const char *value, struct dy_err *err);

/* The whole configuration obeys these rules: every key set; root
 * absolute, not "/", [A-Za-z0-9._/-] only, no "//", "." or ".." component;
 * prefix [a-z0-9_]{1,8}; bridge address inside the fixed CIDR and not its
 * network or broadcast address; pool not overlapping the fixed CIDR; pool
 * size longer than the pool's prefix and at most 30. */
int dy_config_validate(const struct dy_config *c, struct dy_err *err);

/* Text of ${ROOT}/etc/dockyard.env: a comment header and the six keys. */
int dy_config_format_env(const struct dy_config *c, char **out, size_t *len, struct dy_err *err);

/* The rule of DOCKYARD_DOCKER_PREFIX alone. */
int dy_config_rule_prefix(const char *prefix, struct dy_err *err);

/* The pool overlaps neither the fixed CIDR nor the bridge. */
int dy_config_pool_clear(const struct dy_config *c, struct dy_err *err);

/* The networks of c among the DY_KEY_* bits which that are set (at most
 * three): names[i] the key, nets[i] the network; returns their number. */
size_t dy_config_nets(const struct dy_config *c, unsigned which, const char **names,
		      const struct dy_cidr **nets);

/* ---- envfile.c ---- */

/* Parse dockyard.env text: KEY=VALUE lines, '#' comments, blank lines,
 * optional "export " and one level of matching quotes.  Nothing is
 * expanded or executed; a '$' or '`' in a value, CRLF line endings, an
 * unknown DOCKYARD_* key or a malformed line is an error naming
 * name:line.  Keys already set in c (flags) are kept: flags override the
 * file. */
int dy_config_parse_env(const char *name, const char *text, size_t len, struct dy_config *c,
			struct dy_err *err);
/* Read path (O_NOFOLLOW, at most 64 KiB) and parse it as above. */
int dy_config_load_env(const char *path, struct dy_config *c, struct dy_err *err);

/* ---- hostnet.c ---- */

/* What the host already uses.  dy_host_scan fills it from the live system
 * (under sysroot when not NULL/""): IPv4 routes (/proc/net/route; skipped
 * for a sysroot), interfaces and their IPv4 addresses, unit files
 * ${sysroot}/etc/systemd/system/ *docker.service, and the instances in the
 * registry ${sysroot}/etc/dockyard/instances/PREFIX (one line: the root),
 * each with its etc/dockyard.env.  Tests fill the struct directly. */
struct dy_host_net {
	char name[64]; /* route's interface, interface, or "instance PREFIX (ROOT)" */
	struct dy_cidr net;
};

struct dy_host_instance {
	char prefix[DY_PREFIX_MAX + 1];
	char root[DY_ROOT_MAX];
	struct dy_config cfg; /* cfg.set == 0 when its env file was unreadable */
};

struct dy_host {
	struct dy_host_net *nets; /* routes and interface addresses */
	size_t nnets;
	char (*ifnames)[16]; /* every interface name */
	size_t nifnames;
	char (*units)[256]; /* unit file names found */
	size_t nunits;
	struct dy_host_instance *instances;
	size_t ninstances;
};

void dy_host_init(struct dy_host *h);
int dy_host_scan(struct dy_host *h, const char *sysroot, struct dy_err *err);
void dy_host_free(struct dy_host *h);

/* The interface, or the unit file, of that name exists. */
int dy_host_has_ifname(const struct dy_host *h, const char *name);
int dy_host_has_unit(const struct dy_host *h, const char *name);

/* ---- conflict.c ---- */

/* The same absolute path, trailing slashes aside. */
int dy_root_same(const char *a, const char *b);

/* c (complete, valid) collides with nothing on the host: its networks
 * with no route, interface address or other instance's networks; its
 * prefix with no other instance, interface ${PREFIX}docker0 or unit
 * ${PREFIX}docker.service; its root neither inside another instance's
 * root nor containing one.  The instance registered with the same prefix
 * AND the same root is this one (a re-run), not a conflict.  err names
 * both sides: "DOCKYARD_POOL_BASE 172.20.0.0/16 overlaps the route
 * 172.20.5.0/24 via eth1". */
int dy_config_check_conflicts(const struct dy_config *c, const struct dy_host *h,
			      struct dy_err *err);
/* The same for the prefix alone, and for the networks among the DY_KEY_*
 * bits which. */
int dy_config_check_prefix(const struct dy_config *c, const struct dy_host *h, struct dy_err *err);
int dy_config_check_nets(const struct dy_config *c, unsigned which, const struct dy_host *h,
			 struct dy_err *err);

/* ---- generate.c ---- */

/* Fill every key not set: prefix "dy1", "dy2", ... (first free); bridge
 * ".1" of a random /24 and pool a random /20 from 172.16.0.0/12, pool
 * size 24, each retried until conflict-free (at most 1000 tries).  The
 * random source is injectable for tests; NULL: a sequence seeded from the
 * root path, so one root on an unchanged host always gets the same values
 * (plan then install agree). */
typedef uint32_t (*dy_random_fn)(void *ctx);
int dy_config_complete(struct dy_config *c, const struct dy_host *h, dy_random_fn rnd, void *ctx,
		       struct dy_err *err);

#endif
