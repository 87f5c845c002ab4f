/* Service ClusterIP and NodePort allocation (IPv4), as upstream's registry
 * allocators: a requested address or port is honoured when free and in range,
 * others are picked in the upper part of each range so the lower part stays
 * free for explicit requests: ports at random, addresses as the first free
 * one after the highest held (which keeps the stored bitmap short). The first address of the
 * service range is kept for the `kubernetes` Service and only handed out on
 * request. Everything is thread-safe; nothing is handed out twice.
 *
 * State lives in memory until allocator_attach_store; from then on it lives
 * in the store, as upstream's: RangeAllocation objects at
 * /registry/ranges/serviceips and /registry/ranges/servicenodeports whose
 * data is the bitmap (bit i = slot i of the range, as the bytes of a
 * big-endian integer). Every allocation or release is a compare-and-swap of
 * that object, so several API servers sharing a store never hand out the
 * same address or port; the memory copy is only a cache of the last version
 * seen. */
#ifndef MK_APISERVER_ALLOCATOR_H
#define MK_APISERVER_ALLOCATOR_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "err.h"

/* Sets the ranges ("10.96.0.0/12", "30000-32767" or "30000+2768") and forgets
 * every allocation. Without a call the defaults above are used. MK_EINVAL
 * with a message for a malformed range (IPv6 is not supported). */
int allocator_init(const char *service_cidr, const char *node_port_range, struct mk_err **err);

/* Marks the ClusterIP(s), NodePorts and health check node port (type
 * LoadBalancer, externalTrafficPolicy Local) a stored Service holds as
 * allocated (addresses or ports outside the ranges are ignored). Returns 0, or -1 if
 * one was already held by another Service. */
int allocator_reserve_existing(const json_t *service);

/* Keeps the state in st (borrowed until the next allocator_init): merges
 * what is held in memory (allocator_reserve_existing of the stored Services)
 * into the stored RangeAllocations, creating them if absent. A stored range
 * for another CIDR or port range is replaced by the memory state. Errors of
 * the store come back as they are. */
struct store;
int allocator_attach_store(struct store *st, struct mk_err **err);

/* The first usable address of the service range ("10.96.0.1"), for the
 * `kubernetes` Service. Borrowed, valid until the next allocator_init. */
const char *allocator_first_service_ip(void);

/* A ClusterIP: requested (dotted quad) or NULL for any. Writes the address
 * into out (at least 16 bytes). Errors (MK_EINVALID) carry upstream's text
 * after "failed to allocate IP <ip>: " ("provided IP is already allocated",
 * "the provided IP (x) is not in the valid range. The range of valid IPs is
 * <cidr>"); a full range is MK_EINTERNAL "range is full"; a store that does
 * not answer, its own error (MK_EUNAVAILABLE...). */
int allocator_ip_allocate(const char *requested, char *out, size_t len, struct mk_err **err);
/* Frees an address (no-op for one not held or outside the range). A store
 * error leaves it held there (logged). */
void allocator_ip_release(const char *ip);

/* A NodePort: requested (> 0) or 0 for any; returns the port or -1 with
 * MK_EINVALID ("provided port is already allocated", "provided port is not
 * in the valid range. The range of valid ports is 30000-32767") or
 * MK_EINTERNAL ("range is full"). */
int allocator_port_allocate(int requested, struct mk_err **err);
void allocator_port_release(int port);

/* Whether ip / port is currently held (for tests and diagnostics). */
bool allocator_ip_in_use(const char *ip);
bool allocator_port_in_use(int port);

#endif
