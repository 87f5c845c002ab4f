/* UDP conntrack cleanup through ctnetlink (lib/nfnl): when a UDP endpoint goes
 * away, the flows the kernel had DNATed to it are deleted so clients are not
 * blackholed; when a UDP service gets its first endpoint, the flows to its IP
 * that were rejected meanwhile are deleted. Runs in the caller's netns. */
#ifndef PROXY_CONNTRACK_H
#define PROXY_CONNTRACK_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "model.h"

/* Deletes UDP entries matching every non-NULL/non-zero criterion: original
 * destination address and port, reply source address and port. *deleted
 * receives the count (may be NULL). */
int conntrack_delete_udp(const char *orig_dst, int orig_dport, const char *reply_src,
			 int reply_sport, size_t *deleted, struct mk_err **err);

/* The UDP state of a model kept between syncs: an object with
 * "ep:<ip>:<port>" for each reachable UDP endpoint and "svc:<ip>:<port>" for
 * each UDP cluster IP with endpoints. New reference. */
json_t *conntrack_udp_state(const struct proxy_model *m);

/* Deletes the entries made stale between two states (either may be NULL:
 * nothing to do). Errors are counted in *failures, the rest goes on. */
void conntrack_cleanup(const json_t *before, const json_t *after, size_t *deleted,
		       size_t *failures);

#endif
