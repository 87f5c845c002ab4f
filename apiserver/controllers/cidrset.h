/* Node IPAM: hands out subnets of one mask size (the node podCIDRs) from the
 * cluster CIDR, IPv4. Not thread-safe; the node IPAM controller owns it. */
#ifndef MK_CONTROLLERS_CIDRSET_H
#define MK_CONTROLLERS_CIDRSET_H

#include <stdbool.h>

#include "err.h"

struct cidrset;

/* "10.244.0.0/16" cut into /mask subnets. MK_EINVAL when malformed, not IPv4,
 * or mask not longer than the cluster's prefix (at most 2^16 subnets). */
struct cidrset *cidrset_new(const char *cluster_cidr, int mask, struct mk_err **err);
void cidrset_free(struct cidrset *s);

/* Marks cidr (an exact subnet of the set) used; MK_EINVAL if it is not one. */
int cidrset_occupy(struct cidrset *s, const char *cidr, struct mk_err **err);
/* Frees cidr; unknown or foreign cidrs are ignored. */
void cidrset_release(struct cidrset *s, const char *cidr);
/* The lowest free subnet as "a.b.c.d/mask", new string; MK_ENOTFOUND
 * ("CIDR allocation failed; there are no remaining CIDRs left to allocate in
 * the accepted range") when all are used. */
char *cidrset_allocate(struct cidrset *s, struct mk_err **err);

#endif
