/* The `kubernetes` Service's endpoints, kept by every API server sharing a
 * store, as upstream's lease endpoint reconciler does: each server holds a
 * master lease, /registry/masterleases/<its advertised IP> (an Endpoints
 * object written with a TTL and rewritten every interval), and sets the
 * default/kubernetes Endpoints and EndpointSlice to the addresses of all live
 * leases, sorted, on its port. A server that stops deletes its lease and
 * reconciles again; one that dies drops out when its lease expires. */
#ifndef MK_APISERVER_RECONCILER_H
#define MK_APISERVER_RECONCILER_H

#include <stdint.h>

#include "err.h"
#include "apiserver/store.h"

struct reconciler;

struct reconciler_config {
	const char *ip;      /* the advertised address */
	int port;            /* the port of every server (the Endpoints' port) */
	int64_t interval_ms; /* between rounds (0: 10 s) */
	int64_t ttl_s;       /* of the lease (0: 15 s) */
};

/* Runs a first round (the lease and the endpoints exist when it returns),
 * then one every interval on a thread of its own. st is borrowed until
 * reconciler_stop. New handle, or NULL with *err when the first round failed. */
struct reconciler *reconciler_start(struct store *st, const struct reconciler_config *cfg,
				    struct mk_err **err);

/* One round now: refreshes the lease, then the endpoints. */
int reconciler_sync(struct reconciler *r, struct mk_err **err);

/* Stops the thread, deletes the lease and reconciles once more (best
 * effort), then frees r. Accepts NULL. */
void reconciler_stop(struct reconciler *r);

#endif
