/* Pod routes for multi-node clusters: one route per other node, its
 * spec.podCIDR via its InternalIP, in the main table, marked with our own
 * routing protocol number so that only routes this module added are ever
 * replaced or removed. The node's own podCIDR is left to the CNI bridge. */
#ifndef PROXY_ROUTES_H
#define PROXY_ROUTES_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

/* rtm_protocol of our routes ("ip route" prints it as "proto 67") */
#define ROUTES_PROTO 67

struct route_want {
	char *cidr; /* "10.244.2.0/24" */
	char *via;  /* "192.168.77.3" */
};

/* The routes wanted for nodes (a JSON array of Node objects, borrowed) seen
 * from node self: new array (routes_free), sorted by cidr. Nodes without an
 * IPv4 podCIDR or InternalIP are skipped. */
struct route_want *routes_wanted(const json_t *nodes, const char *self, size_t *n);
void routes_free(struct route_want *r, size_t n);

/* Makes the main table hold exactly the wanted routes among those with
 * protocol ROUTES_PROTO: replaces every wanted one, deletes the others.
 * Runs in the caller's network namespace. */
int routes_apply(const struct route_want *r, size_t n, struct mk_err **err);

#endif
