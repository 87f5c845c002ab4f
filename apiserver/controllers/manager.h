/* What the kube-controller-manager adds to the daemon kit: its options, the
 * resources its controllers watch (one shared informer each, whichever
 * controllers subscribe), and upstream's --controllers rule. The kit runs
 * the informers, the controllers' worker pools and periodic tasks, leader
 * election on Lease kube-system/kube-controller-manager and the stop. */
#ifndef MK_CONTROLLERS_MANAGER_H
#define MK_CONTROLLERS_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "err.h"
#include "informer.h"

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
	MGR_DAEMONSETS,
	MGR_CONTROLLERREVISIONS,
	MGR_PDBS,
	MGR_JOBS,
	MGR_CRONJOBS,
	MGR_RESOURCEQUOTAS,
	MGR_STATEFULSETS,
	MGR_CLUSTERROLES,
	MGR_NRESOURCES,
};

struct manager_options {
	char *controllers; /* --controllers */
	bool allocate_node_cidrs;
	char *cluster_cidr;
	int64_t node_cidr_mask_size;
	int64_t node_monitor_grace_ms;
	int64_t node_monitor_period_ms;
	int64_t pod_eviction_timeout_s; /* default toleration of the unreachable taint */
	int64_t concurrent_deployment, concurrent_replicaset, concurrent_endpoint,
		concurrent_endpointslice, concurrent_serviceaccount, concurrent_namespace,
		concurrent_gc, concurrent_daemonset, concurrent_job, concurrent_cronjob,
		concurrent_resourcequota;
	int64_t resource_quota_sync_ms; /* --resource-quota-sync-period */
};

/* The shared informer of r, adding h (copied; may be NULL) to its
 * subscribers; borrowed from d. Only before daemon_run. NULL with *err when
 * the API client cannot be made. */
struct informer *manager_informer(struct daemon *d, enum manager_resource r,
				  const struct informer_handlers *h, struct mk_err **err);

/* True if the --controllers list enables name (upstream rules: "*" means
 * the defaults, "-name" disables, a bare name enables; the first entry that
 * names the controller decides). */
bool manager_controller_enabled(const char *list, const char *name, bool default_on);

#endif
