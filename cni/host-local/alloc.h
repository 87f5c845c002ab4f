/* host-local IPAM: configuration, the on-disk store and the round-robin
 * allocator, compatible with the reference plugin's files:
 *   <dataDir>/<network>/<ip>                 "<containerID>\r\n<ifname>"
 *   <dataDir>/<network>/last_reserved_ip.<i> "<ip>" (per range set)
 *   <dataDir>/<network>/lock                 flock(LOCK_EX) around each change */
#ifndef CNI_HOSTLOCAL_ALLOC_H
#define CNI_HOSTLOCAL_ALLOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ipaddr.h"
#include "err.h"

struct hl_range {
	struct ipaddr_net subnet; /* network address, prefix */
	struct ipaddr start, end, gateway;
};

struct hl_rangeset {
	struct hl_range *r;
	size_t n;
};

struct hl_config {
	char *name;     /* network name */
	char *data_dir; /* default /var/lib/cni/networks */
	char *resolv_conf;
	json_t *routes; /* borrowed from the netconf, may be NULL */
	struct hl_rangeset *sets;
	size_t nsets;
	struct ipaddr *req; /* requested IPs */
	size_t nreq;
};

/* Parses the whole netconf (with cni_args the CNI_ARGS string) like the
 * reference: legacy single range and runtimeConfig.ipRanges prepended,
 * ranges canonicalised and checked. When allow_no_ranges, a config without
 * any range loads with nsets 0 (DEL must still release). New config in *out
 * (hl_config_free), messages as the reference's. */
int hl_config_parse(const json_t *conf, const char *cni_args, bool allow_no_ranges,
		    struct hl_config **out, struct mk_err **err);
void hl_config_free(struct hl_config *c);

/* "start-end,start-end" of a range set: new string. */
char *hl_rangeset_str(const struct hl_rangeset *s);
bool hl_rangeset_contains(const struct hl_rangeset *s, const struct ipaddr *ip);

struct hl_store;
/* Opens (creating) <data_dir>/<name> and its lock file. */
struct hl_store *hl_store_open(const char *data_dir, const char *name, struct mk_err **err);
void hl_store_close(struct hl_store *st);
int hl_store_lock(struct hl_store *st, struct mk_err **err);
void hl_store_unlock(struct hl_store *st);

/* Allocates from set index idx (requested may be NULL); takes the lock.
 * *addr gets the address with the range's prefix, *gw its gateway. */
int hl_alloc_get(struct hl_store *st, const struct hl_rangeset *set, int idx, const char *id,
		 const char *ifname, const struct ipaddr *requested, struct ipaddr_net *addr,
		 struct ipaddr *gw, struct mk_err **err);
/* Releases every reservation of (id, ifname), else (legacy) of id alone;
 * takes the lock. Succeeds when there is none. */
int hl_release(struct hl_store *st, const char *id, const char *ifname, struct mk_err **err);
/* True when some file holds (id, ifname) or the legacy id. */
bool hl_find(struct hl_store *st, const char *id, const char *ifname);
/* Releases every reservation whose (id, ifname) is not in valid (array of
 * {"containerID","ifname"}); takes the lock. A valid that is not such an
 * array is refused (MK_EINVAL) and nothing is released. */
int hl_gc(struct hl_store *st, const json_t *valid, struct mk_err **err);
/* True when the set has no free address left. */
bool hl_rangeset_full(struct hl_store *st, const struct hl_rangeset *set);

/* Parses a resolv.conf into a CNI dns object (new reference). */
json_t *hl_resolv_parse(const char *path, struct mk_err **err);

#endif
