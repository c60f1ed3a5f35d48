/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv4 CIDRs: parsing with messages that name the key and the rule, the
 * text form, network and overlap arithmetic (see config.h).
 */
#include "config.h"

#include <stdio.h>

uint32_t
dy_cidr_mask(int len)
{
	if (len <= 0)
		return 0;
	return len >= 32 ? 0xffffffffu : 0xffffffffu << (32 - len);
}

uint32_t
dy_cidr_network(const struct dy_cidr *c)
{
	return c->addr & dy_cidr_mask(c->len);
}

int
dy_cidr_overlap(const struct dy_cidr *a, const struct dy_cidr *b)
{
	int len = a->len < b->len ? a->len : b->len;

	return ((a->addr ^ b->addr) & dy_cidr_mask(len)) == 0;
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
const char *
dy_parse_dec(const char *p, unsigned max, unsigned *out, const char *what, char *why, size_t size)
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
		if ((p = dy_parse_dec(p, 255, &v, what, why, sizeof(why))) == NULL)
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
	if ((p = dy_parse_dec(p + 1, 32, &v, "prefix length", why, sizeof(why))) == NULL)
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
