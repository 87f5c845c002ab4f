/* What a fresh API server creates before serving, as upstream's bootstrap
 * controllers do: the namespaces default, kube-system, kube-public and
 * kube-node-lease; the `kubernetes` Service in default (first address of the
 * service range, port 443; its endpoints are the reconciler's, reconciler.h);
 * and the service IP/port allocator primed with every stored Service and
 * attached to the store. */
#ifndef MK_APISERVER_BOOTSTRAP_H
#define MK_APISERVER_BOOTSTRAP_H

#include "err.h"
#include "apiserver/store.h"

struct bootstrap_config {
	const char *service_cidr;    /* "10.96.0.0/12" */
	const char *node_port_range; /* "30000-32767" */
	int port;                    /* the server's port */
};

/* Idempotent: existing objects are kept. */
int bootstrap_run(struct store *st, const struct bootstrap_config *cfg, struct mk_err **err);

#endif
