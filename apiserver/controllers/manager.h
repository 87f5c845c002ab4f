/* The controller-manager's frame: one shared informer per resource (several
 * controllers subscribe to the same one), worker threads draining each
 * controller's work queue, and the leader election gate (controllers start
 * only once this process holds Lease kube-system/kube-controller-manager;
 * losing it ends the process, as upstream does). */
#ifndef MK_CONTROLLERS_MANAGER_H
#define MK_CONTROLLERS_MANAGER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "client.h"
#include "err.h"
#include "informer.h"
#include "workqueue.h"

/* The resources controllers watch. */
enum manager_resource {
	MGR_PODS,
	MGR_REPLICASETS,
	MGR_DEPLOYMENTS,
	MGR_SERVICES,
	MGR_ENDPOINTS,
	MGR_ENDPOINTSLICES,
	MGR_NAMESPACES,
	MGR_SERVICEACCOUNTS,
	MGR_NODES,
	MGR_NODE_LEASES,
	MGR_NRESOURCES,
};

struct manager_options {
	char *master;     /* --master, may be NULL */
	char *kubeconfig; /* --kubeconfig, may be NULL */
	char *controllers; /* --controllers */
	bool allocate_node_cidrs;
	char *cluster_cidr;
	int64_t node_cidr_mask_size;
	int64_t node_monitor_grace_ms;
	int64_t node_monitor_period_ms;
	int64_t pod_eviction_timeout_s; /* default toleration of the unreachable taint */
	bool leader_elect;
	int64_t lease_duration_ms, renew_deadline_ms, retry_period_ms;
	char *lease_namespace, *lease_name;
	int64_t concurrent_deployment, concurrent_replicaset, concurrent_endpoint,
		concurrent_endpointslice, concurrent_serviceaccount, concurrent_namespace,
		concurrent_gc;
};

struct manager;

/* A manager for opts (borrowed; must outlive the manager) talking to the
 * server through a client made from opts. New manager, manager_free(). */
struct manager *manager_new(const struct manager_options *opts, struct mk_err **err);
void manager_free(struct manager *m);

/* True if the --controllers list enables name (upstream rules: "*" means
 * the defaults, "-name" disables, a bare name enables; the first entry that
 * names the controller decides). */
bool manager_controller_enabled(const char *list, const char *name, bool default_on);

/* Waits for the lease (when leader election is on), starts every enabled
 * controller and the informers, and serves until *stop turns true. Returns 0,
 * or -1 when a controller cannot start. */
int manager_run(struct manager *m, volatile sig_atomic_t *stop, struct mk_err **err);

const struct manager_options *manager_options(const struct manager *m);

/* The manager's client (borrowed): for informers and light requests. */
struct client *manager_client(struct manager *m);

/* A client of its own for one controller's workers. New, client_free(). */
struct client *manager_client_new(struct manager *m, struct mk_err **err);

/* The shared informer of r (created on first use; borrowed). */
struct informer *manager_informer(struct manager *m, enum manager_resource r);

/* Adds handlers (copied) to the informer of r; every subscriber sees every
 * event. Only before the informers start. */
void manager_subscribe(struct manager *m, enum manager_resource r,
		       const struct informer_handlers *h);

/* The sync function of a controller: 0 when done with key, -1 to retry it
 * later with backoff. */
typedef int (*manager_sync_fn)(const char *key, void *arg, struct mk_err **err);

/* Starts n worker threads that wait for the informers to sync, then take
 * keys from q and call sync. q and arg are borrowed for the process life. */
int manager_run_workers(struct manager *m, const char *name, struct workqueue *q, int n,
			manager_sync_fn sync, void *arg, struct mk_err **err);

/* Calls fn(arg) every period_ms (after the informers synced) on a thread. */
int manager_run_periodic(struct manager *m, const char *name, int64_t period_ms,
			 void (*fn)(void *arg), void *arg, struct mk_err **err);

#endif
