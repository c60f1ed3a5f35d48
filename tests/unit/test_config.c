/* SPDX-License-Identifier: Apache-2.0 */
/*
 * installer/config.h: dockyard.env parsing (data only), validation rules
 * with their messages, host conflicts, generation with a deterministic
 * random source, and the host scan on a sysroot built here.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../installer/config.h"
#include "../../installer/merge.h"
#include "harness.h"
#include "testutil.h"

#define NAME "t.env"

static const char good_env[] = "# dockyard instance\n"				/* 1 */
			       "\n"						/* 2 */
			       "DOCKYARD_ROOT=/dy7\n"				/* 3 */
			       "export DOCKYARD_DOCKER_PREFIX='dy7'\n"		/* 4 */
			       "  DOCKYARD_BRIDGE_CIDR=\"172.22.147.1/24\"\n"	/* 5 */
			       "DOCKYARD_FIXED_CIDR=172.22.147.0/24 # bridge\n" /* 6 */
			       "OTHER_TOOL=ignored\n"				/* 7 */
			       "DOCKYARD_POOL_BASE=172.23.0.0/16\n"		/* 8 */
			       "\t# indented comment\n"				/* 9 */
			       "DOCKYARD_POOL_SIZE=26";				/* 10: no LF */

static int
parse(const char *text, struct dy_config *c, struct dy_err *err)
{
	return dy_config_parse_env(NAME, text, strlen(text), c, err);
}

static int
set_all(struct dy_config *c, const char *root, const char *prefix, const char *bridge,
	const char *fixed, const char *pool, const char *size)
{
	struct dy_err err;

	dy_config_init(c);
	if (dy_config_set(c, "root", root, &err) < 0 ||
	    dy_config_set(c, "prefix", prefix, &err) < 0 ||
	    dy_config_set(c, "bridge-cidr", bridge, &err) < 0 ||
	    dy_config_set(c, "fixed-cidr", fixed, &err) < 0 ||
	    dy_config_set(c, "pool-base", pool, &err) < 0 ||
	    dy_config_set(c, "pool-size", size, &err) < 0) {
		printf("#   set_all: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void
valid(struct dy_config *c)
{
	set_all(c, "/dy7", "dy7", "172.22.147.1/24", "172.22.147.0/24", "172.23.0.0/16", "26");
}

static int
cidr_is(const struct dy_cidr *c, const char *text)
{
	char buf[32];

	dy_cidr_format(c, buf, sizeof(buf));
	if (strcmp(buf, text) != 0)
		printf("#   cidr %s, expected %s\n", buf, text);
	return strcmp(buf, text) == 0;
}

static void
cidr_fails(const char *text, const char *why)
{
	struct dy_err err = { 0 };
	struct dy_cidr c = { 7, 7 };
	char head[128];

	snprintf(head, sizeof(head),
		 "DOCKYARD_FIXED_CIDR '%s' is not an IPv4 CIDR (a.b.c.d/n): ", text);
	CHECK(dy_cidr_parse("DOCKYARD_FIXED_CIDR", text, &c, &err) == -1);
	CHECK(c.addr == 7 && c.len == 7);
	CHECK_STR_CONTAINS(err.msg, head);
	CHECK_STR_CONTAINS(err.msg, why);
}

static void
test_cidr(void)
{
	struct dy_err err;
	struct dy_cidr a, b;

	CHECK(dy_cidr_parse("K", "172.22.147.1/24", &a, &err) == 0);
	CHECK(a.addr == 0xac169301u && a.len == 24);
	CHECK(dy_cidr_network(&a) == 0xac169300u);
	CHECK(cidr_is(&a, "172.22.147.1/24"));
	CHECK(dy_cidr_parse("K", "0.0.0.0/0", &a, &err) == 0 && a.addr == 0 && a.len == 0);
	CHECK(dy_cidr_network(&a) == 0);
	CHECK(dy_cidr_parse("K", "255.255.255.255/32", &a, &err) == 0 && a.addr == 0xffffffffu);
	CHECK(dy_cidr_network(&a) == 0xffffffffu);

	cidr_fails("300.1.1.1/24", "octet 1 '300' is above 255");
	cidr_fails("1.2.3.256/24", "octet 4 '256' is above 255");
	cidr_fails("1.2.3.4/33", "prefix length '33' is above 32");
	cidr_fails("1.2.3.4", "the prefix length '/n' is missing");
	cidr_fails("1.2.3.4/", "prefix length is missing");
	cidr_fails("1.2.3/24", "expected '.' after octet 3");
	cidr_fails("1.2.3.4.5/24", "unexpected text '.5/24' after the address");
	cidr_fails("1.2.3.4/24x", "unexpected text 'x' after the prefix length");
	cidr_fails("1.2.3.4/24 ", "unexpected text ' '");
	cidr_fails(" 1.2.3.4/24", "octet 1 is missing");
	cidr_fails("", "octet 1 is missing");
	cidr_fails("-1.2.3.4/24", "octet 1 is missing");
	cidr_fails("1.2.3.99999999999999999999/8", "octet 4 '9999999999999999' is above 255");
	/* Leading zeros are refused: inet_aton reads "010" as 8. */
	cidr_fails("10.010.0.0/16", "octet 2 '010' has a leading zero");
	cidr_fails("10.0.0.0/08", "prefix length '08' has a leading zero");
	CHECK(dy_cidr_parse("K", "10.0.0.0/8", &a, &err) == 0 && cidr_is(&a, "10.0.0.0/8"));

	CHECK(dy_cidr_parse(NULL, "x", &a, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "CIDR 'x' is not an IPv4 CIDR");

	/* Overlap uses the shorter prefix; host bits do not matter. */
	dy_cidr_parse("K", "172.16.0.0/12", &a, &err);
	dy_cidr_parse("K", "172.20.1.9/24", &b, &err);
	CHECK(dy_cidr_overlap(&a, &b) && dy_cidr_overlap(&b, &a));
	dy_cidr_parse("K", "172.32.0.0/24", &b, &err);
	CHECK(!dy_cidr_overlap(&a, &b) && !dy_cidr_overlap(&b, &a));
	dy_cidr_parse("K", "0.0.0.0/0", &b, &err);
	CHECK(dy_cidr_overlap(&a, &b));
}

static void
test_set(void)
{
	struct dy_err err = { 0 };
	struct dy_config c, before;

	dy_config_init(&c);
	CHECK(c.set == 0);
	CHECK(dy_config_set(&c, "DOCKYARD_ROOT", "/srv/dy1/", &err) == 0);
	CHECK(strcmp(c.root, "/srv/dy1") == 0 && c.set == DY_KEY_ROOT);
	CHECK(dy_config_set(&c, "root", "/srv/dy2", &err) == 0 && strcmp(c.root, "/srv/dy2") == 0);
	CHECK(dy_config_set(&c, "--prefix", "a_1", &err) == 0 && strcmp(c.prefix, "a_1") == 0);
	CHECK(dy_config_set(&c, "DOCKYARD_DOCKER_PREFIX", "abcdefgh", &err) == 0);
	CHECK(dy_config_set(&c, "bridge-cidr", "10.1.2.3/24", &err) == 0);
	CHECK(cidr_is(&c.bridge, "10.1.2.3/24"));
	CHECK(dy_config_set(&c, "DOCKYARD_FIXED_CIDR", "10.1.2.0/24", &err) == 0);
	CHECK(dy_config_set(&c, "pool-base", "10.8.0.0/16", &err) == 0);
	CHECK(dy_config_set(&c, "DOCKYARD_POOL_SIZE", "30", &err) == 0 && c.pool_size == 30);
	CHECK(c.set == DY_KEY_ALL);

	/* Failures name the value and the rule, and change nothing. */
	before = c;
	CHECK(dy_config_set(&c, "prefix", "abcdefghi", &err) == -1);
	CHECK(strcmp(err.msg, "DOCKYARD_DOCKER_PREFIX 'abcdefghi' is 9 characters: the bridge "
			      "name 'abcdefghidocker0' would exceed Linux's 15-character "
			      "interface name limit (at most 8)") == 0);
	CHECK(dy_config_set(&c, "fixed-cidr", "10.1.2.1/24", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_FIXED_CIDR 10.1.2.1/24 has host bits set: the "
				    "network is 10.1.2.0/24");
	CHECK(dy_config_set(&c, "pool-base", "10.8.0.1/16", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_POOL_BASE 10.8.0.1/16 has host bits set");
	CHECK(dy_config_set(&c, "bridge-cidr", "10.1.2/24", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_BRIDGE_CIDR '10.1.2/24' is not an IPv4 CIDR");
	CHECK(dy_config_set(&c, "pool-size", "31", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_POOL_SIZE 31 is not a prefix length from 1 to 30");
	CHECK(dy_config_set(&c, "pool-size", "0", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_POOL_SIZE 0 is not a prefix length");
	CHECK(dy_config_set(&c, "pool-size", "024", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_POOL_SIZE '024' is not a prefix length");
	CHECK(dy_config_set(&c, "pool-size", "24x", &err) == -1);
	CHECK(dy_config_set(&c, "root", "/a b", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_ROOT '/a b' contains a space");
	CHECK(dy_config_set(&c, "DOCKYARD_BRIDGE", "10.0.0.1/24", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "unknown configuration key 'DOCKYARD_BRIDGE'");
	CHECK(dy_config_set(&c, "dockyard_root", "/x", &err) == -1);
	CHECK(memcmp(&c, &before, sizeof(c)) == 0);
}

static void
test_parse_env(void)
{
	struct dy_err err = { 0 };
	struct dy_config c;

	dy_config_init(&c);
	CHECK(dy_config_parse_env(NAME, good_env, strlen(good_env), &c, &err) == 0);
	if (c.set != DY_KEY_ALL)
		printf("#   %s\n", err.msg);
	CHECK(c.set == DY_KEY_ALL);
	CHECK(strcmp(c.root, "/dy7") == 0 && strcmp(c.prefix, "dy7") == 0);
	CHECK(cidr_is(&c.bridge, "172.22.147.1/24") && cidr_is(&c.fixed, "172.22.147.0/24"));
	CHECK(cidr_is(&c.pool, "172.23.0.0/16") && c.pool_size == 26);
	CHECK(dy_config_validate(&c, &err) == 0);

	/* Flags set before the file win over it. */
	dy_config_init(&c);
	CHECK(dy_config_set(&c, "prefix", "mine", &err) == 0);
	CHECK(dy_config_set(&c, "pool-size", "20", &err) == 0);
	CHECK(dy_config_parse_env(NAME, good_env, strlen(good_env), &c, &err) == 0);
	CHECK(strcmp(c.prefix, "mine") == 0 && c.pool_size == 20 && strcmp(c.root, "/dy7") == 0);
	/* ... even when the file's value would be invalid. */
	dy_config_init(&c);
	CHECK(dy_config_set(&c, "prefix", "mine", &err) == 0);
	CHECK(parse("DOCKYARD_DOCKER_PREFIX=BAD\n", &c, &err) == 0);
	CHECK(strcmp(c.prefix, "mine") == 0 && c.set == DY_KEY_PREFIX);

	/* Empty text and comments only set nothing. */
	dy_config_init(&c);
	CHECK(parse("", &c, &err) == 0 && c.set == 0);
	CHECK(parse("# x\n\n", &c, &err) == 0 && c.set == 0);
	CHECK(parse("DOCKYARD_ROOT=\"/a\" # c\n", &c, &err) == 0);
	CHECK(strcmp(c.root, "/a") == 0);
}

/* Parsing fails, leaves c as it was, and the message holds both needles. */
static void
env_fails(const char *text, const char *where, const char *what)
{
	struct dy_err err = { 0 };
	struct dy_config c, before;

	dy_config_init(&c);
	dy_config_set(&c, "pool-size", "22", &err);
	before = c;
	CHECK(dy_config_parse_env(NAME, text, strlen(text), &c, &err) == -1);
	CHECK(memcmp(&c, &before, sizeof(c)) == 0);
	CHECK_STR_CONTAINS(err.msg, where);
	CHECK_STR_CONTAINS(err.msg, what);
}

static void
test_parse_env_rejects(void)
{
	static const char nul[] = "DOCKYARD_ROOT=/x\0\n";
	char dir[256], text[512], marker[300];
	struct dy_config c;
	struct dy_err err;

	if (tu_make_tmpdir(dir, sizeof(dir), "config-env") < 0) {
		CHECK(0);
		return;
	}
	/* Never executed: the command would create the marker file. */
	snprintf(marker, sizeof(marker), "%s/ran", dir);
	snprintf(text, sizeof(text), "DOCKYARD_ROOT=/x\nDOCKYARD_DOCKER_PREFIX=$(touch %s)\n",
		 marker);
	env_fails(text,
		  NAME ":2:", "contains '$': dockyard.env is data, nothing in it is expanded");
	snprintf(text, sizeof(text), "DOCKYARD_ROOT=\"`touch %s`\"\n", marker);
	env_fails(text, NAME ":1:", "contains '`'");
	CHECK(access(marker, F_OK) == -1);
	tu_remove_tree(dir);

	env_fails("DOCKYARD_ROOT=/x${HOME}\n", NAME ":1:", "contains '$'");
	env_fails("OTHER=$PATH\n", NAME ":1:", "contains '$'");
	env_fails("DOCKYARD_ROOT='/a\\b'\n", NAME ":1:", "contains '\\'");
	env_fails("# ok\r\nDOCKYARD_ROOT=/x\r\n", NAME ":1:", "CRLF (Windows) line endings");
	env_fails("DOCKYARD_ROOT=/x\nDOCKYARD_DOCKER_PREFIX=dy1\r\n", NAME ":2:", "CRLF");
	env_fails("\n\nDOCKYARD_FOO=1\n", NAME ":3:", "unknown key DOCKYARD_FOO");
	env_fails("docker_root=/x\nDOCKYARD_root=/x\n", NAME ":2:", "unknown key DOCKYARD_root");
	env_fails("# c\nDOCKYARD_ROOT /x\n",
		  NAME ":2:", "expected KEY=VALUE, found 'DOCKYARD_ROOT /x'");
	env_fails("export\n", NAME ":1:", "expected KEY=VALUE");
	env_fails("DOCKYARD_ROOT = /x\n", NAME ":1:", "'DOCKYARD_ROOT ' is not a variable name");
	env_fails("=x\n", NAME ":1:", "is not a variable name");
	env_fails("DOCKYARD_ROOT='/x\n", NAME ":1:", "DOCKYARD_ROOT: unterminated quote");
	env_fails("DOCKYARD_ROOT=\"/x'\n", NAME ":1:", "unterminated quote");
	env_fails("DOCKYARD_ROOT=/a b\n", NAME ":1:", "text after the value");
	env_fails("DOCKYARD_ROOT='/a'b\n", NAME ":1:", "text after the value");
	env_fails("DOCKYARD_ROOT=/a'b'\n", NAME ":1:", "quote inside an unquoted value");
	env_fails("DOCKYARD_ROOT=/a\n#\nDOCKYARD_ROOT=/b\n",
		  NAME ":3:", "DOCKYARD_ROOT is set twice (first on line 1)");
	/* A value's own rule, with file:line in front. */
	env_fails("DOCKYARD_ROOT=/x\n\nDOCKYARD_DOCKER_PREFIX=Dy1\n", NAME ":3: ",
		  "DOCKYARD_DOCKER_PREFIX 'Dy1' contains 'D': only [a-z0-9_] are allowed");
	env_fails(
		"DOCKYARD_POOL_BASE=172.23.0.0/16\nDOCKYARD_FIXED_CIDR=300.1.1.0/24\n",
		NAME ":2: ", "DOCKYARD_FIXED_CIDR '300.1.1.0/24' is not an IPv4 CIDR (a.b.c.d/n)");
	/* A flag does not excuse a malformed line for its key. */
	env_fails("DOCKYARD_POOL_SIZE=$(id)\n", NAME ":1:", "contains '$'");

	dy_config_init(&c);
	CHECK(dy_config_parse_env(NAME, nul, sizeof(nul) - 1, &c, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, NAME ": contains a NUL byte");
}

static void
test_load_env(void)
{
	struct dy_err err = { 0 };
	char dir[256], path[300], link[300];
	struct dy_config c;

	if (tu_make_tmpdir(dir, sizeof(dir), "config-load") < 0) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/dockyard.env", dir);
	snprintf(link, sizeof(link), "%s/link.env", dir);
	CHECK(dy_write_file_atomic(path, good_env, strlen(good_env), 0644, &err) == 0);
	CHECK(symlink("dockyard.env", link) == 0);

	dy_config_init(&c);
	CHECK(dy_config_load_env(path, &c, &err) == 0 && c.set == DY_KEY_ALL);
	CHECK(c.pool_size == 26);
	/* Messages carry the file's path as the name. */
	CHECK(dy_write_file_atomic(path, "\nDOCKYARD_X=1\n", 14, 0644, &err) == 0);
	dy_config_init(&c);
	CHECK(dy_config_load_env(path, &c, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, path);
	CHECK_STR_CONTAINS(err.msg, "dockyard.env:2: unknown key DOCKYARD_X");
	CHECK(dy_config_load_env(link, &c, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "cannot open");
	CHECK(dy_config_load_env(dir, &c, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "is not a regular file");
	snprintf(path, sizeof(path), "%s/missing.env", dir);
	CHECK(dy_config_load_env(path, &c, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "missing.env");
	CHECK(c.set == 0);
	tu_remove_tree(dir);
}

/* c with one key replaced by value through the struct (bypassing set). */
static void
invalid(void (*change)(struct dy_config *), const char *msg)
{
	struct dy_err err = { 0 };
	struct dy_config c;

	valid(&c);
	change(&c);
	CHECK(dy_config_validate(&c, &err) == -1);
	if (strcmp(err.msg, msg) != 0)
		printf("#   got:  %s\n#   want: %s\n", err.msg, msg);
	CHECK(strcmp(err.msg, msg) == 0);
}

#define ROOT(name, value)                                                                          \
	static void name(struct dy_config *c)                                                      \
	{                                                                                          \
		snprintf(c->root, sizeof(c->root), "%s", value);                                   \
	}
ROOT(root_relative, "dy7")
ROOT(root_slash, "/")
ROOT(root_star, "/dy*")
ROOT(root_dslash, "/a//b")
ROOT(root_dot, "/a/./b")
ROOT(root_dotdot, "/a/..")
ROOT(root_long, "/srv/instances/build-farm/x86_64/integration/nightly/dockyard-engines/a")

static void
prefix_empty(struct dy_config *c)
{
	c->prefix[0] = '\0';
}
static void
prefix_upper(struct dy_config *c)
{
	strcpy(c->prefix, "Dy7");
}
static void
unset_some(struct dy_config *c)
{
	c->set &= ~(unsigned)(DY_KEY_ROOT | DY_KEY_POOL_BASE);
}
static void
bridge_outside(struct dy_config *c)
{
	c->bridge.addr = 0xac169401u; /* 172.22.148.1 */
}
static void
bridge_network(struct dy_config *c)
{
	c->bridge.addr = 0xac169300u;
}
static void
bridge_broadcast(struct dy_config *c)
{
	c->bridge.addr = 0xac1693ffu;
}
static void
fixed_hostbits(struct dy_config *c)
{
	c->fixed.addr = 0xac169301u;
}
static void
pool_overlaps(struct dy_config *c)
{
	c->pool.addr = 0xac160000u; /* 172.22.0.0/16 holds 172.22.147.0/24 */
}
static void
pool_size_short(struct dy_config *c)
{
	c->pool_size = 16;
}
static void
pool_size_long(struct dy_config *c)
{
	c->pool_size = 31;
}

static void
test_validate(void)
{
	struct dy_err err = { 0 };
	struct dy_config c;

	valid(&c);
	CHECK(dy_config_validate(&c, &err) == 0);
	invalid(unset_some, "configuration incomplete: DOCKYARD_ROOT, DOCKYARD_POOL_BASE not set");
	invalid(root_relative, "DOCKYARD_ROOT 'dy7' is not an absolute path");
	invalid(root_slash, "DOCKYARD_ROOT '/' is the root directory: an instance needs a "
			    "directory of its own");
	invalid(root_star, "DOCKYARD_ROOT '/dy*' contains '*': only [A-Za-z0-9._/-] are allowed "
			   "(dockerd writes the root unquoted into a shell shim)");
	invalid(root_dslash, "DOCKYARD_ROOT '/a//b' has an empty component ('//')");
	invalid(root_dot, "DOCKYARD_ROOT '/a/./b' has a '.' component: give the path without '.' "
			  "and '..'");
	invalid(root_dotdot, "DOCKYARD_ROOT '/a/..' has a '..' component: give the path without "
			     "'.' and '..'");
	invalid(root_long,
		"DOCKYARD_ROOT "
		"'/srv/instances/build-farm/x86_64/integration/nightly/dockyard-engines/a' "
		"is 71 characters: at most 70 fit, because the socket "
		"/run/containerd/containerd.sock.ttrpc below it must fit a unix socket "
		"address (108 bytes)");
	invalid(prefix_empty, "DOCKYARD_DOCKER_PREFIX is empty: the bridge, unit, user and group "
			      "names need a prefix such as 'dy1'");
	invalid(prefix_upper, "DOCKYARD_DOCKER_PREFIX 'Dy7' contains 'D': only [a-z0-9_] are "
			      "allowed (it names the bridge, unit, user and group)");
	invalid(bridge_outside, "DOCKYARD_BRIDGE_CIDR 172.22.148.1/24 is not inside "
				"DOCKYARD_FIXED_CIDR 172.22.147.0/24: the bridge address must lie "
				"inside the container subnet");
	invalid(bridge_network, "DOCKYARD_BRIDGE_CIDR 172.22.147.0/24 is the network address of "
				"172.22.147.0/24: the bridge needs a host address");
	invalid(bridge_broadcast, "DOCKYARD_BRIDGE_CIDR 172.22.147.255/24 is the broadcast "
				  "address of 172.22.147.0/24: the bridge needs a host address");
	invalid(fixed_hostbits, "DOCKYARD_FIXED_CIDR 172.22.147.1/24 has host bits set: the "
				"network is 172.22.147.0/24");
	invalid(pool_overlaps, "DOCKYARD_POOL_BASE 172.22.0.0/16 overlaps DOCKYARD_FIXED_CIDR "
			       "172.22.147.0/24: networks created from the pool would collide "
			       "with the bridge's containers");
	invalid(pool_size_short, "DOCKYARD_POOL_SIZE 16 is not longer than the prefix of "
				 "DOCKYARD_POOL_BASE 172.23.0.0/16: each network carved from the "
				 "pool must be smaller than the pool");
	invalid(pool_size_long, "DOCKYARD_POOL_SIZE 31 is not a prefix length from 1 to 30 (a "
				"network needs a gateway and at least one container address)");

	/* A fixed CIDR smaller than the bridge's subnet is fine. */
	CHECK(set_all(&c, "/a/b-c_d.e", "x_9", "10.0.0.130/24", "10.0.0.128/25", "10.1.0.0/16",
		      "24") == 0);
	CHECK(dy_config_validate(&c, &err) == 0);
	/* ... but the bridge must not be the network address of either. */
	CHECK(dy_config_set(&c, "bridge-cidr", "10.0.0.128/24", &err) == 0);
	CHECK(dy_config_validate(&c, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "is the network address of 10.0.0.128/25");
}

static void
test_format_roundtrip(void)
{
	struct dy_err err = { 0 };
	struct dy_config c, back;
	char *text = NULL;
	size_t len = 0;

	valid(&c);
	CHECK(dy_config_format_env(&c, &text, &len, &err) == 0);
	if (text == NULL)
		return;
	CHECK(len == strlen(text) && text[len - 1] == '\n' && text[0] == '#');
	CHECK_STR_CONTAINS(text, "\nDOCKYARD_ROOT=/dy7\n");
	CHECK_STR_CONTAINS(text, "\nDOCKYARD_BRIDGE_CIDR=172.22.147.1/24\n");
	CHECK_STR_CONTAINS(text, "\nDOCKYARD_POOL_SIZE=26\n");
	dy_config_init(&back);
	CHECK(dy_config_parse_env("x", text, len, &back, &err) == 0);
	CHECK(memcmp(&c, &back, sizeof(c)) == 0);
	free(text);

	c.pool_size = 8;
	text = NULL;
	CHECK(dy_config_format_env(&c, &text, &len, &err) == -1 && text == NULL);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_POOL_SIZE 8");
}

/* ---- the host ---- */

static struct dy_host_net host_nets[] = {
	{ "eth0", { 0, 0 } },		       /* default route: reaches, not occupies */
	{ "eth1", { 0xac140500u, 24 } },       /* 172.20.5.0/24 */
	{ "eth0", { 0xc0a8010au, 24 } },       /* address 192.168.1.10/24 */
	{ "dy1docker0", { 0xac169300u, 24 } }, /* dy1's own bridge route */
	{ "br-0123", { 0xac170500u, 24 } },    /* a network of dy1's pool */
};
static char host_ifnames[][16] = { "lo", "eth0", "dy3docker0", "dy1docker0" };
static char host_units[][256] = { "docker.service", "dy4docker.service", "dy1docker.service" };
static struct dy_host_instance host_instances[2];

static void
fake_host(struct dy_host *h)
{
	dy_host_init(h);
	memset(host_instances, 0, sizeof(host_instances));
	strcpy(host_instances[0].prefix, "dy1");
	strcpy(host_instances[0].root, "/dy1");
	set_all(&host_instances[0].cfg, "/dy1", "dy1", "172.22.147.1/24", "172.22.147.0/24",
		"172.23.0.0/16", "24");
	strcpy(host_instances[1].prefix, "dy2");
	strcpy(host_instances[1].root, "/srv/dy2");
	h->nets = host_nets;
	h->nnets = sizeof(host_nets) / sizeof(host_nets[0]);
	h->ifnames = host_ifnames;
	h->nifnames = sizeof(host_ifnames) / sizeof(host_ifnames[0]);
	h->units = host_units;
	h->nunits = sizeof(host_units) / sizeof(host_units[0]);
	h->instances = host_instances;
	h->ninstances = 2;
}

static void
conflict(const struct dy_host *h, const char *key, const char *value, const char *msg)
{
	struct dy_err err = { 0 };
	struct dy_config c;

	set_all(&c, "/dy9", "dy9", "10.9.0.1/24", "10.9.0.0/24", "10.10.0.0/16", "24");
	CHECK(dy_config_set(&c, key, value, &err) == 0);
	CHECK(dy_config_check_conflicts(&c, h, &err) == -1);
	if (strstr(err.msg, msg) == NULL)
		printf("#   %s=%s\n", key, value);
	CHECK_STR_CONTAINS(err.msg, msg);
}

static void
test_conflicts(void)
{
	struct dy_err err = { 0 };
	struct dy_config c;
	struct dy_host h;

	fake_host(&h);
	/* Nothing taken; the default route 0.0.0.0/0 does not count. */
	set_all(&c, "/dy9", "dy9", "10.9.0.1/24", "10.9.0.0/24", "10.10.0.0/16", "24");
	CHECK(dy_config_check_conflicts(&c, &h, &err) == 0);
	if (err.msg[0])
		printf("#   %s\n", err.msg);

	conflict(&h, "pool-base", "172.20.0.0/16",
		 "DOCKYARD_POOL_BASE 172.20.0.0/16 overlaps the route 172.20.5.0/24 via eth1");
	conflict(
		&h, "bridge-cidr", "192.168.1.1/24",
		"DOCKYARD_BRIDGE_CIDR 192.168.1.1/24 overlaps the address 192.168.1.10/24 of eth0");
	conflict(&h, "fixed-cidr", "172.22.147.128/25",
		 "DOCKYARD_FIXED_CIDR 172.22.147.128/25 overlaps DOCKYARD_BRIDGE_CIDR "
		 "172.22.147.1/24 of instance dy1 (/dy1)");
	conflict(&h, "pool-base", "172.23.0.0/16",
		 "DOCKYARD_POOL_BASE 172.23.0.0/16 overlaps DOCKYARD_POOL_BASE 172.23.0.0/16 of "
		 "instance dy1 (/dy1)");
	conflict(&h, "prefix", "dy1",
		 "DOCKYARD_DOCKER_PREFIX 'dy1' (root /dy9) is taken by the instance dy1 registered "
		 "with root /dy1");
	conflict(&h, "prefix", "dy2", "registered with root /srv/dy2");
	conflict(&h, "prefix", "dy3",
		 "DOCKYARD_DOCKER_PREFIX 'dy3' is taken: the interface dy3docker0 exists");
	conflict(&h, "prefix", "dy4",
		 "DOCKYARD_DOCKER_PREFIX 'dy4' is taken: the unit file dy4docker.service exists");
	conflict(&h, "root", "/dy1", "DOCKYARD_ROOT /dy1 is already the root of instance dy1");
	conflict(&h, "root", "/dy1/sub",
		 "DOCKYARD_ROOT /dy1/sub is inside the root /dy1 of "
		 "instance dy1");
	conflict(&h, "root", "/srv",
		 "DOCKYARD_ROOT /srv contains the root /srv/dy2 of instance "
		 "dy2");
}

/* Roots compare by whole components; an instance is no conflict with
 * itself, but its networks still are with the others'. */
static void
test_conflicts_self(void)
{
	struct dy_err err = { 0 };
	struct dy_config c;
	struct dy_host h;

	fake_host(&h);
	set_all(&c, "/dy9", "dy9", "10.9.0.1/24", "10.9.0.0/24", "10.10.0.0/16", "24");
	/* Paths compare by whole components. */
	CHECK(dy_config_set(&c, "root", "/dy10", &err) == 0);
	CHECK(dy_config_check_conflicts(&c, &h, &err) == 0);
	CHECK(dy_config_set(&c, "root", "/srv/dy", &err) == 0);
	CHECK(dy_config_check_conflicts(&c, &h, &err) == 0);
	CHECK(dy_config_set(&c, "root", "/srv/dy2x/a", &err) == 0);
	CHECK(dy_config_check_conflicts(&c, &h, &err) == 0);

	/* Same prefix and root: this instance, re-run; its own bridge route,
	 * pool networks, interface and unit are no conflict. */
	c = host_instances[0].cfg;
	CHECK(dy_config_check_conflicts(&c, &h, &err) == 0);
	if (err.msg[0])
		printf("#   %s\n", err.msg);
	/* ... but its networks still must not collide with the others'. */
	CHECK(dy_config_set(&c, "pool-base", "172.20.0.0/16", &err) == 0);
	CHECK(dy_config_check_conflicts(&c, &h, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "overlaps the route 172.20.5.0/24 via eth1");
	/* A different root under the same prefix is another instance. */
	c = host_instances[0].cfg;
	CHECK(dy_config_set(&c, "root", "/dy1b", &err) == 0);
	CHECK(dy_config_check_conflicts(&c, &h, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "'dy1' (root /dy1b) is taken by the instance dy1");
}

/* Deterministic random source: the given values in turn, then the last. */
struct seq {
	const uint32_t *v;
	size_t n, used;
};

static uint32_t
seq_next(void *ctx)
{
	struct seq *s = ctx;
	uint32_t v = s->v[s->used < s->n ? s->used : s->n - 1];

	s->used++;
	return v;
}

/* The host test_complete* generate against: 172.16.0.0/24 routed. */
static struct dy_host_net taken16 = { "eth1", { 0xac100000u, 24 } };
static char ifnames[][16] = { "dy2docker0" };

static void
complete_host(struct dy_host *h)
{
	fake_host(h);
	h->nets = &taken16;
	h->nnets = 1;
	h->ifnames = ifnames;
	h->nifnames = 1;
}

/* bridge: 0 -> 172.16.0.0/24 (route), 1683 -> 172.22.147.0/24 (dy1),
 * 4096 + 5 -> 172.16.5.0/24 free; pool: 0 -> 172.16.0.0/20 (holds the
 * fixed CIDR), 112 -> 172.23.0.0/20 (in dy1's pool), 34 -> 172.18.32.0/20. */
static const uint32_t draws[] = { 0, 1683, 4096 + 5, 0, 112, 34 };

static void
test_complete(void)
{
	struct seq s = { draws, 6, 0 };
	struct dy_err err = { 0 };
	struct dy_config c;
	struct dy_host h;

	complete_host(&h);
	dy_config_init(&c);
	CHECK(dy_config_set(&c, "root", "/dy3", &err) == 0);
	CHECK(dy_config_complete(&c, &h, seq_next, &s, &err) == 0);
	if (c.set != DY_KEY_ALL)
		printf("#   %s\n", err.msg);
	CHECK(c.set == DY_KEY_ALL && s.used == 6);
	CHECK(strcmp(c.prefix, "dy3") == 0); /* dy1 and dy2 are registered */
	CHECK(strcmp(c.root, "/dy3") == 0);
	CHECK(cidr_is(&c.bridge, "172.16.5.1/24") && cidr_is(&c.fixed, "172.16.5.0/24"));
	CHECK(cidr_is(&c.pool, "172.18.32.0/20") && c.pool_size == 24);
	CHECK(dy_config_validate(&c, &err) == 0 && dy_config_check_conflicts(&c, &h, &err) == 0);
}

static void
test_complete_given(void)
{
	struct seq s = { draws, 6, 0 };
	struct dy_err err = { 0 };
	struct dy_config c, before;
	struct dy_host h;

	complete_host(&h);
	/* Given values are kept; only the rest is generated. */
	dy_config_init(&c);
	CHECK(dy_config_set(&c, "root", "/x", &err) == 0);
	CHECK(dy_config_set(&c, "prefix", "mine", &err) == 0);
	CHECK(dy_config_set(&c, "fixed-cidr", "10.5.0.0/24", &err) == 0);
	CHECK(dy_config_set(&c, "pool-base", "10.6.0.0/20", &err) == 0);
	CHECK(dy_config_complete(&c, &h, seq_next, &s, &err) == 0);
	CHECK(strcmp(c.prefix, "mine") == 0 && cidr_is(&c.fixed, "10.5.0.0/24"));
	CHECK(cidr_is(&c.bridge, "10.5.0.1/24") && cidr_is(&c.pool, "10.6.0.0/20"));
	CHECK(c.pool_size == 24 && s.used == 0);

	/* A given value that conflicts is an error, and c stays as it was. */
	dy_config_init(&c);
	CHECK(dy_config_set(&c, "root", "/x", &err) == 0);
	CHECK(dy_config_set(&c, "bridge-cidr", "172.16.0.9/24", &err) == 0);
	before = c;
	CHECK(dy_config_complete(&c, &h, seq_next, &s, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_BRIDGE_CIDR 172.16.0.9/24 overlaps the route "
				    "172.16.0.0/24 via eth1");
	CHECK(memcmp(&c, &before, sizeof(c)) == 0);

	/* No root: nothing to generate it from. */
	dy_config_init(&c);
	CHECK(dy_config_complete(&c, &h, seq_next, &s, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "DOCKYARD_ROOT not set");

	/* Re-run with only the root: the registered instance's values. */
	dy_config_init(&c);
	CHECK(dy_config_set(&c, "root", "/dy1/", &err) == 0);
	dy_config_merge_registered(&c, &h);
	CHECK(dy_config_complete(&c, &h, seq_next, &s, &err) == 0);
	CHECK(memcmp(&c, &host_instances[0].cfg, sizeof(c)) == 0);
}

static void
test_complete_exhausted(void)
{
	static struct dy_host_net all12 = { "eth9", { 0xac100000u, 12 } };
	struct seq s = { draws, 6, 0 };
	struct dy_err err = { 0 };
	struct dy_config c;
	struct dy_host h;

	complete_host(&h);
	/* Exhausted: every /24 and /20 of 172.16.0.0/12 is routed. */
	h.nets = &all12;
	dy_config_init(&c);
	CHECK(dy_config_set(&c, "root", "/x", &err) == 0);
	CHECK(dy_config_complete(&c, &h, seq_next, &s, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "no free /24 for the bridge in 172.16.0.0/12 after 1000 "
				    "random tries (last conflict: DOCKYARD_BRIDGE_CIDR");
	CHECK_STR_CONTAINS(err.msg, "via eth9");
	CHECK(dy_config_set(&c, "bridge-cidr", "10.0.0.1/24", &err) == 0);
	CHECK(dy_config_complete(&c, &h, NULL, NULL, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "no free /20 for the address pool in 172.16.0.0/12 after "
				    "1000 random tries");
}

static void
test_complete_random(void)
{
	struct dy_err err = { 0 };
	struct dy_config c;
	struct dy_host h;

	/* The system's random source gives a valid, conflict-free result. */
	fake_host(&h);
	dy_config_init(&c);
	CHECK(dy_config_set(&c, "root", "/y", &err) == 0);
	CHECK(dy_config_complete(&c, &h, NULL, NULL, &err) == 0);
	CHECK(c.set == DY_KEY_ALL && dy_config_validate(&c, &err) == 0);
	CHECK(strcmp(c.prefix, "dy5") == 0); /* dy3 interface, dy4 unit */
	CHECK((c.fixed.addr & 0xfff00000u) == 0xac100000u && c.fixed.len == 24);
	CHECK((c.pool.addr & 0xfff00000u) == 0xac100000u && c.pool.len == 20);

	/* The default source is seeded from the root: the same root on the
	 * same host gets the same networks (a plan is what install does);
	 * another root, other networks. */
	{
		struct dy_config again, other;
		dy_config_init(&again);
		dy_config_init(&other);
		CHECK(dy_config_set(&again, "root", "/y", &err) == 0);
		CHECK(dy_config_set(&other, "root", "/z", &err) == 0);
		CHECK(dy_config_complete(&again, &h, NULL, NULL, &err) == 0);
		CHECK(dy_config_complete(&other, &h, NULL, NULL, &err) == 0);
		CHECK(again.fixed.addr == c.fixed.addr && again.pool.addr == c.pool.addr);
		CHECK(strcmp(again.prefix, c.prefix) == 0);
		CHECK(other.fixed.addr != c.fixed.addr);
	}
}

static void
test_prefix_exhausted(void)
{
	static struct dy_host_instance many[1000];
	struct dy_err err = { 0 };
	struct dy_config c;
	struct dy_host h;
	size_t i;

	dy_host_init(&h);
	for (i = 0; i < 1000; i++) {
		snprintf(many[i].prefix, sizeof(many[i].prefix), "dy%zu", (i + 1) % 10000);
		snprintf(many[i].root, sizeof(many[i].root), "/i%zu", i);
	}
	h.instances = many;
	h.ninstances = 1000;
	dy_config_init(&c);
	CHECK(dy_config_set(&c, "root", "/x", &err) == 0);
	CHECK(dy_config_complete(&c, &h, NULL, NULL, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "no free instance prefix: dy1 to dy1000 are all taken");
	CHECK(c.set == DY_KEY_ROOT);
}

/* ---- scanning ---- */

static int
put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	struct dy_err err;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	*strrchr(path, '/') = '\0';
	if (dy_mkdir_p(path, 0755, &err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return dy_write_file_atomic(path, text, strlen(text), 0644, &err);
}

static const struct dy_host_instance *
instance(const struct dy_host *h, const char *prefix)
{
	size_t i;

	for (i = 0; i < h->ninstances; i++)
		if (strcmp(h->instances[i].prefix, prefix) == 0)
			return &h->instances[i];
	return NULL;
}

static int
has_unit(const struct dy_host *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nunits; i++)
		if (strcmp(h->units[i], name) == 0)
			return 1;
	return 0;
}

static void
test_scan_sysroot(void)
{
	const struct dy_host_instance *one, *two;
	struct dy_err err = { 0 };
	struct dy_config c;
	struct dy_host h;
	char dir[256];

	if (tu_make_tmpdir(dir, sizeof(dir), "config-scan") < 0) {
		CHECK(0);
		return;
	}
	CHECK(put(dir, "etc/systemd/system/dy1docker.service", "[Unit]\n") == 0);
	CHECK(put(dir, "lib/systemd/system/docker.service", "[Unit]\n") == 0);
	CHECK(put(dir, "usr/lib/systemd/system/dy2docker.service", "[Unit]\n") == 0);
	CHECK(put(dir, "usr/lib/systemd/system/docker.socket", "[Unit]\n") == 0);
	CHECK(put(dir, "etc/dockyard/instances/dy1", "/inst/one\n") == 0);
	CHECK(put(dir, "etc/dockyard/instances/dy2", "/inst/two/\n") == 0);
	CHECK(put(dir, "etc/dockyard/instances/.dy3.tmp", "/inst/three\n") == 0);
	CHECK(put(dir, "inst/one/etc/dockyard.env", good_env) == 0);

	CHECK(dy_host_scan(&h, dir, &err) == 0);
	if (err.msg[0])
		printf("#   %s\n", err.msg);
	/* Routes and interfaces belong to the running host, not the image. */
	CHECK(h.nnets == 0 && h.nifnames == 0);
	CHECK(h.nunits == 3 && has_unit(&h, "dy1docker.service") && has_unit(&h, "docker.service"));
	CHECK(has_unit(&h, "dy2docker.service") && !has_unit(&h, "docker.socket"));
	CHECK(h.ninstances == 2);
	one = instance(&h, "dy1");
	two = instance(&h, "dy2");
	CHECK(one && strcmp(one->root, "/inst/one") == 0 && one->cfg.set == DY_KEY_ALL);
	CHECK(one && cidr_is(&one->cfg.pool, "172.23.0.0/16"));
	CHECK(two && strcmp(two->root, "/inst/two") == 0 && two->cfg.set == 0);

	/* The scan feeds the conflict check. */
	set_all(&c, "/inst/two/x", "dy5", "10.0.0.1/24", "10.0.0.0/24", "172.23.0.0/16", "24");
	CHECK(dy_config_check_conflicts(&c, &h, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "inside the root /inst/two of instance dy2");
	dy_host_free(&h);
	CHECK(h.instances == NULL && h.ninstances == 0 && h.units == NULL);

	/* No registry or unit directories at all: an empty host. */
	tu_remove_tree(dir);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(dy_host_scan(&h, dir, &err) == 0 && h.ninstances == 0 && h.nunits == 0);
	dy_host_free(&h);
	tu_remove_tree(dir);
}

static void
test_scan_live(void)
{
	struct dy_err err = { 0 };
	struct dy_host h;
	int lo = 0, lo_net = 0;
	size_t i;

	CHECK(dy_host_scan(&h, NULL, &err) == 0);
	if (err.msg[0])
		printf("#   %s\n", err.msg);
	for (i = 0; i < h.nifnames; i++)
		lo |= strcmp(h.ifnames[i], "lo") == 0;
	for (i = 0; i < h.nnets; i++)
		lo_net |= strcmp(h.nets[i].name, "lo") == 0 && h.nets[i].net.addr == 0x7f000001u;
	CHECK(lo && lo_net);
	dy_host_free(&h);
	CHECK(dy_host_scan(&h, "", &err) == 0 && h.nifnames > 0);
	dy_host_free(&h);
}

/* Precedence of merge.h: flags, then --env FILE, else the root's installed
 * dockyard.env; a file naming another root is refused. */
static void
test_merge_given(void)
{
	static const char installed[] = "DOCKYARD_DOCKER_PREFIX=old\n"
					"DOCKYARD_POOL_SIZE=26\n"
					"DOCKYARD_LOG_KEEP=7\n";
	static const char given[] = "DOCKYARD_DOCKER_PREFIX=file\n"
				    "DOCKYARD_FIXED_CIDR=10.9.0.0/24\n";
	struct dy_config_sources src;
	struct dy_err err = { 0 };
	char sysroot[256], path[400], envf[400];
	struct dy_config flags, c;

	if (tu_make_tmpdir(sysroot, sizeof(sysroot), "config-merge") < 0) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/r/etc", sysroot);
	CHECK(dy_mkdir_p(path, 0755, &err) == 0);
	snprintf(path, sizeof(path), "%s/r/etc/dockyard.env", sysroot);
	CHECK(dy_write_file_atomic(path, installed, strlen(installed), 0644, &err) == 0);
	snprintf(envf, sizeof(envf), "%s/given.env", sysroot);
	CHECK(dy_write_file_atomic(envf, given, strlen(given), 0644, &err) == 0);
	dy_config_init(&flags);
	src = (struct dy_config_sources){ &flags, NULL, sysroot };

	/* No root: nothing to read from. */
	CHECK(dy_config_merge_given(&src, &c, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "--root DIR is required");

	/* The installed file fills what the flags leave open. */
	CHECK(dy_config_set(&flags, "root", "/r", &err) == 0);
	CHECK(dy_config_set(&flags, "pool-size", "25", &err) == 0);
	CHECK(dy_config_merge_given(&src, &c, &err) == 0);
	CHECK(strcmp(c.prefix, "old") == 0 && c.pool_size == 25 && c.opt.log_keep == 7);
	CHECK(c.set == (DY_KEY_ROOT | DY_KEY_PREFIX | DY_KEY_POOL_SIZE | DY_KEY_LOG_KEEP));

	/* --env replaces the installed file, and flags still win over it. */
	CHECK(dy_config_set(&flags, "prefix", "flag", &err) == 0);
	src.env_file = envf;
	CHECK(dy_config_merge_given(&src, &c, &err) == 0);
	CHECK(strcmp(c.prefix, "flag") == 0 && cidr_is(&c.fixed, "10.9.0.0/24"));
	CHECK(!(c.set & DY_KEY_LOG_KEEP));

	/* A file written for another root is not this instance's. */
	CHECK(dy_write_file_atomic(envf, "DOCKYARD_ROOT=/other\n", 21, 0644, &err) == 0);
	CHECK(dy_config_merge_given(&src, &c, &err) == -1);
	CHECK_STR_CONTAINS(err.msg,
			   "given.env says DOCKYARD_ROOT=/other, but the root given is /r");
	tu_remove_tree(sysroot);
}

int
main(void)
{
	RUN(test_cidr);
	RUN(test_set);
	RUN(test_parse_env);
	RUN(test_parse_env_rejects);
	RUN(test_load_env);
	RUN(test_validate);
	RUN(test_format_roundtrip);
	RUN(test_conflicts);
	RUN(test_conflicts_self);
	RUN(test_complete);
	RUN(test_complete_given);
	RUN(test_complete_exhausted);
	RUN(test_complete_random);
	RUN(test_merge_given);
	RUN(test_prefix_exhausted);
	RUN(test_scan_sysroot);
	RUN(test_scan_live);
	return DONE();
}
