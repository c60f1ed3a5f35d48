/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A configuration against what the host uses (see config.h): prefix, root
 * and networks, with the registered instance that is this one (a re-run)
 * left out.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

/* Length of p without trailing slashes (0 for "/"). */
static size_t
path_len(const char *p)
{
	size_t n = strlen(p);

	while (n > 0 && p[n - 1] == '/')
		n--;
	return n;
}

int
dy_root_same(const char *a, const char *b)
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
		    dy_root_same(h->instances[i].root, c->root))
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
	if (dy_host_has_ifname(h, ifname))
		return dy_errf(err, "DOCKYARD_DOCKER_PREFIX '%s' is taken: the interface %s exists",
			       c->prefix, ifname);
	if (dy_host_has_unit(h, unit))
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
		if (dy_root_same(c->root, in->root))
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
	n = dy_config_nets(&self->cfg, DY_KEY_ALL, names, nets);
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
		n = dy_config_nets(&h->instances[i].cfg, DY_KEY_ALL, names, theirs);
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
int
dy_config_check_nets(const struct dy_config *c, unsigned which, const struct dy_host *h,
		     struct dy_err *err)
{
	const struct dy_host_instance *self = find_self(c, h);
	const struct dy_cidr *nets[3];
	const char *names[3];
	size_t i, n = dy_config_nets(c, which, names, nets);

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
	return dy_config_check_nets(c, DY_KEY_ALL, h, err);
}

int
dy_config_check_prefix(const struct dy_config *c, const struct dy_host *h, struct dy_err *err)
{
	return check_prefix(c, h, find_self(c, h), err);
}
