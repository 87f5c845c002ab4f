/* iptables rule generation (pure): the model rendered as upstream kube-proxy's
 * iptables-restore input, table by table. The libiptc backend (iptables.h)
 * turns exactly these lines into kernel entries. */
#ifndef PROXY_IPTRULES_H
#define PROXY_IPTRULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "model.h"

struct iptr_table {
	const char *name;  /* "filter" or "nat" (static) */
	char **chains;     /* chains to create or flush, in declaration order (owned) */
	size_t n_chains, cap_chains;
	struct buf rules;  /* "-A CHAIN args...\n" lines, in order */
	size_t n_rules;
	char **deletes;    /* stale chains to flush and delete (also declared) */
	size_t n_deletes, cap_deletes;
	struct buf tail;   /* rules written after the deletions (nodeports rule) */
	size_t n_tail;
};

struct iptr_ruleset {
	struct iptr_table filter, nat;
	size_t n_skipped_nat;   /* rules of unchanged services not rewritten */
	/* services with a Local policy and no local endpoints */
	size_t no_local_internal, no_local_external;
};

/* Per-sync inputs besides model and config. */
struct iptr_opts {
	/* NULL: full sync, write every service's chains. Otherwise a JSON object
	 * whose keys are the "ns/name" of services to rewrite (partial sync). */
	const json_t *changed;
	/* chains of the nat table as they exist now (for stale-chain deletion);
	 * may be NULL */
	char **existing_nat;
	size_t n_existing_nat;
};

/* Renders the whole ruleset into rs (initialised here; iptr_ruleset_free). */
void iptr_render(const struct proxy_model *m, const struct proxy_config *cfg,
		 const struct iptr_opts *opts, struct iptr_ruleset *rs);
void iptr_ruleset_free(struct iptr_ruleset *rs);

/* The iptables-restore text of rs ("*filter ... COMMIT\n*nat ... COMMIT\n"):
 * new string, free(). */
char *iptr_restore_text(const struct iptr_ruleset *rs);

/* True if a chain name is one kube-proxy generates per service (and may delete
 * when stale): KUBE-SVC-, KUBE-SVL-, KUBE-SEP-, KUBE-FW-, KUBE-EXT-. */
bool iptr_is_service_chain(const char *name);

/* Jump rules from built-in chains, installed on full syncs and removed by
 * --cleanup, in upstream's order. */
struct iptr_jump {
	const char *table, *chain, *args, *target;
	const char *comment; /* NULL for kubelet's duplicates */
};
extern const struct iptr_jump iptr_jumps[];
extern const size_t iptr_n_jumps;

#endif
