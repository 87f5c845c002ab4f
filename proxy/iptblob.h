/* One legacy xtables table (filter, nat) as the kernel holds it: read whole
 * with IPT_SO_GET_ENTRIES, changed chain by chain, and written back whole
 * with IPT_SO_SET_REPLACE, which applies all or nothing.
 *
 * Why not libiptc: it keeps the kernel's blob, a copy of every rule in its
 * cache and the compiled blob of the commit, three copies of a table that
 * is 60 MB at 10,000 services. Here the kernel's blob is read once, what is
 * kept of it is referenced (or, when little is kept, copied out and the
 * blob freed), and the new blob is written once, in place: new rules are
 * added in two passes over the same input, the first one sizing each chain
 * (iptb_plan_rule), the second one writing each rule where it goes
 * (iptb_emit_rule).
 *
 * Chains are laid out as libiptc lays them out (built-in chains in hook
 * order, user chains sorted by name), so iptables-save prints the same.
 * Counters of the rules kept are carried over, as libiptc does. Not
 * thread-safe. */
#ifndef PROXY_IPTBLOB_H
#define PROXY_IPTBLOB_H

#include <stdbool.h>
#include <netinet/in.h>
#include <stddef.h>

#include <libiptc/libiptc.h>

#include "err.h"

struct iptb;

/* Reads table ("filter", "nat") of the calling thread's network namespace:
 * new, iptb_free(). The caller holds the xtables lock until iptb_commit. */
struct iptb *iptb_read(const char *table, struct mk_err **err);
void iptb_free(struct iptb *t);

bool iptb_has_chain(const struct iptb *t, const char *chain);

/* The user chains as read, in order; *n receives their number. Borrowed
 * from t, until iptb_free. */
const char *iptb_user_chain(const struct iptb *t, size_t i);
size_t iptb_n_user_chains(const struct iptb *t);

/* The first planning steps, before any iptb_plan_rule:
 * creates chain, or drops the rules it had (as iptables-restore's
 * ":CHAIN - [0:0]"). */
void iptb_chain_declare(struct iptb *t, const char *chain);
/* Creates chain if it is missing; *created says whether it was. */
void iptb_chain_ensure(struct iptb *t, const char *chain, bool *created);
/* Whether built-in chain holds a rule jumping to target with this comment
 * (NULL: a rule without comment). */
bool iptb_builtin_has(const struct iptb *t, const char *builtin, const char *target,
		      const char *comment);
/* Inserts e (copied) at the top of built-in chain, ahead of the rules
 * inserted before. */
int iptb_builtin_insert(struct iptb *t, const char *builtin, const struct ipt_entry *e,
			struct mk_err **err);
/* Deletes chain, flushed or not: refused (MK_ECONFLICT, *referenced set)
 * while rules that stay jump to it. */
int iptb_chain_delete(struct iptb *t, const char *chain, bool *referenced, struct mk_err **err);

/* Pass one: e (borrowed) will be appended to chain. A standard target
 * naming a chain ("KUBE-SVC-...") is a jump to it; ACCEPT, DROP, RETURN,
 * "" (none) are verdicts; any other name is an extension target. */
int iptb_plan_rule(struct iptb *t, const char *chain, const struct ipt_entry *e,
		   struct mk_err **err);

/* After the last planning step: allocates the new blob and writes all but
 * the new rules into it. What was read and is not kept is freed. */
int iptb_layout(struct iptb *t, struct mk_err **err);

/* Pass two: the rules planned, again, in the same order. */
int iptb_emit_rule(struct iptb *t, const char *chain, const struct ipt_entry *e,
		   struct mk_err **err);

/* Replaces the kernel's table with the new blob, then adds the kept rules'
 * counters. */
int iptb_commit(struct iptb *t, struct mk_err **err);

/* Size in bytes of the blob read and of the one written (0 before
 * iptb_layout). */
size_t iptb_size_read(const struct iptb *t);
size_t iptb_size_written(const struct iptb *t);

#endif
