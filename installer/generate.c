/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Generated values for the keys not given (see config.h): the first free
 * prefix and conflict-free networks drawn from 172.16.0.0/12.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#define TRIES 1000
#define POOL_SIZE_DEFAULT 24
/* Generated networks come from 172.16.0.0/12 (RFC 1918). */
#define GEN_BASE 0xac100000u

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

static int
pick_prefix(struct dy_config *c, const struct dy_host *h, struct dy_err *err)
{
	struct dy_err last;
	int i;

	c->set |= DY_KEY_PREFIX;
	for (i = 1; i <= TRIES; i++) {
		snprintf(c->prefix, sizeof(c->prefix), "dy%d", i % 100000);
		if (dy_config_check_prefix(c, h, &last) == 0)
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
		if (((c->set & DY_KEY_POOL_BASE) == 0 || dy_config_pool_clear(c, &last) == 0) &&
		    dy_config_check_nets(c, DY_KEY_BRIDGE | DY_KEY_FIXED, h, &last) == 0)
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
		if (dy_config_pool_clear(c, &last) == 0 &&
		    dy_config_check_nets(c, DY_KEY_POOL_BASE, h, &last) == 0)
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
