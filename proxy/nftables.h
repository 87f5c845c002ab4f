/* nftables backend: sends the objects of nftrules.h to the kernel as
 * libnftnl objects through lib/nfnl, one batch per sync (all or nothing). A full sync
 * rewrites every chain and refills every map; above a few hundred services
 * it goes out in phases (fixed part, service chains a batch of whole
 * services at a time, then the maps in one batch, which is what switches
 * traffic), because the kernel's cost per batch grows with the square of
 * its anonymous maps. A periodic full sync over a table no other writer has
 * committed to since our last batch rewrites only the services whose
 * rendered objects changed. A partial sync sends only the chains of changed
 * services and the map elements that differ from what was last written.
 * Must run in the network namespace it changes. */
#ifndef PROXY_NFTABLES_H
#define PROXY_NFTABLES_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "model.h"

struct nft_backend;

/* State kept between syncs: new, nft_backend_free(). */
struct nft_backend *nft_backend_new(void);
void nft_backend_free(struct nft_backend *b);

/* One sync (changed NULL: full). *n_msgs receives the number of commands
 * sent (may be NULL). */
int nft_backend_sync(struct nft_backend *b, const struct proxy_model *m,
		     const struct proxy_config *cfg, const json_t *changed, size_t *n_msgs,
		     struct mk_err **err);

/* Deletes table ip kube-proxy if it exists. */
int nft_backend_cleanup(struct mk_err **err);

/* The same at the start of the iptables mode, as upstream's
 * CleanupLeftovers; *removed: 1 if there was a table, else 0. */
int nft_backend_leftovers(size_t *removed, struct mk_err **err);

#endif
