/* The proxy backends as a table of functions: iptables (libiptc) and
 * nftables (libnftnl). A backend writes the whole model, or with a changed
 * set only what those services need, in one all-or-nothing kernel change. */
#ifndef PROXY_BACKEND_H
#define PROXY_BACKEND_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "model.h"

struct proxy_sync_result {
	size_t rules_filter, rules_nat; /* iptables: rules written per table */
	size_t total_filter, total_nat; /* iptables: rules owned per table */
	size_t objects;                 /* nftables: commands in the batch */
	size_t no_local_internal, no_local_external;
};

struct proxy_backend {
	const char *name; /* "iptables" or "nftables" */
	/* per-daemon state (nftables keeps what it wrote): new, destroy() */
	void *(*create)(void);
	void (*destroy)(void *state);
	/* changed NULL: full sync; else the "ns/name" keys of changed services */
	int (*sync)(void *state, const struct proxy_model *m, const struct proxy_config *cfg,
		    const json_t *changed, struct proxy_sync_result *res, struct mk_err **err);
	/* removes everything this backend ever wrote (--cleanup) */
	int (*cleanup)(struct mk_err **err);
	/* removes what this backend wrote, when the other one runs (at its
	 * start); *removed: how many objects went (0: there were none) */
	int (*leftovers)(size_t *removed, struct mk_err **err);
};

extern const struct proxy_backend proxy_backend_iptables;
extern const struct proxy_backend proxy_backend_nftables;

#endif
