/* iptables backend: writes the ruleset of iptrules.h into the kernel's legacy
 * xtables as whole-table blobs (iptblob.h), one replace per table and sync
 * (and one on mangle, through libiptc, when its canary has to be made),
 * while holding
 * /run/xtables.lock so the iptables binaries of kubelet and CNI wait. Must run
 * in the network namespace whose rules it changes. */
#ifndef PROXY_IPTABLES_H
#define PROXY_IPTABLES_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"
#include "model.h"

/* Upstream's flush detector: an empty chain in mangle, nat and filter, made
 * outside the restore text. Full syncs create whichever is missing; the
 * mangle one going away means someone flushed iptables. */
#define IPT_CANARY_CHAIN "KUBE-PROXY-CANARY"

struct ipt_sync_stats {
	size_t filter_rules, nat_rules; /* rules written in this sync */
	size_t nat_total;               /* rules owned, counting unchanged services */
	size_t deleted_chains;
	size_t no_local_internal, no_local_external;
	/* full syncs only: canaries this sync had to create (0-3); the mangle
	 * one created, and in place after the sync */
	size_t canaries_created;
	bool mangle_canary_created, mangle_canary_ok;
};

/* One sync. changed NULL: full sync, which also installs the jump rules from
 * the built-in chains and the missing canaries (nat's and filter's in their
 * tables' commits, mangle's in a commit of its own after them; failing to
 * make that one is logged, not fatal); otherwise a partial sync that rewrites
 * only the chains of services whose "ns/name" is a key of changed. Stale
 * per-service chains are deleted in the same commit. On failure nothing of the
 * failing table is applied and the error names the refused rule's service. */
int ipt_backend_sync(const struct proxy_model *m, const struct proxy_config *cfg,
		     const json_t *changed, struct ipt_sync_stats *stats, struct mk_err **err);

/* Removes every KUBE-* chain of the filter, nat and mangle tables (the
 * canaries too) and the rules that jump to them from built-in chains
 * (--cleanup). */
int ipt_backend_cleanup(struct mk_err **err);

/* What the iptables mode leaves when the nftables mode takes over, as
 * upstream's CleanupLeftovers removes it: kube-proxy's jump rules out of the
 * built-in chains (kubelet's, without comment, stay), and its chains of
 * filter, nat and mangle (KUBE-SERVICES, KUBE-NODEPORTS, ..., every service
 * chain, the canaries) unless something else still jumps to them. Tables
 * that are not loaded are not read. *removed: rules and chains removed. */
int ipt_backend_leftovers(size_t *removed, struct mk_err **err);

/* Applies one table of restore-format lines ("-A CHAIN ...") in one replace:
 * declared chains created or flushed, rules appended, deletes removed (and,
 * with ensure_jumps, the missing jumps and the canary). Exposed for tests.
 * chains/deletes as in struct iptr_table. */
struct iptr_table;
int ipt_backend_apply_table(const struct iptr_table *t, bool ensure_jumps, struct mk_err **err);

#endif
