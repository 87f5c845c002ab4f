/* kube-controller-manager: runs the control loops that turn Deployments into
 * ReplicaSets and pods, Services into endpoints, and look after namespaces,
 * owners, node CIDRs and node health, through the API server only. */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "manager.h"

static const struct {
	const char *name;
	bool default_on;
	controller_start_fn start;
} controllers[] = {
	{"deployment", true, deployment_controller_start},
	{"replicaset", true, replicaset_controller_start},
	{"endpoint", true, endpoints_controller_start},
	{"endpointslice", true, endpointslice_controller_start},
	{"serviceaccount", true, serviceaccount_controller_start},
	{"namespace", true, namespace_controller_start},
	{"garbagecollector", true, gc_controller_start},
	{"nodeipam", true, nodeipam_controller_start},
	{"nodelifecycle", true, nodelifecycle_controller_start},
	{"daemonset", true, daemonset_controller_start},
	{"disruption", true, disruption_controller_start},
	{"job", true, job_controller_start},
	{"cronjob", true, cronjob_controller_start},
	{"resourcequota", true, resourcequota_controller_start},
	{"statefulset", true, statefulset_controller_start},
	{"clusterrole-aggregation", true, clusterroleaggregation_controller_start},
};

static struct manager_options o = {
	.controllers = "*",
	.cluster_cidr = "",
	.node_cidr_mask_size = 24,
	.node_monitor_grace_ms = 40000,
	.node_monitor_period_ms = 5000,
	.concurrent_deployment = 5,
	.concurrent_replicaset = 5,
	.concurrent_endpoint = 5,
	.concurrent_endpointslice = 5,
	.concurrent_serviceaccount = 5,
	.concurrent_namespace = 10,
	.concurrent_gc = 20,
	.concurrent_daemonset = 2,
	.concurrent_job = 5,
	.concurrent_cronjob = 5,
	.concurrent_resourcequota = 5,
	.resource_quota_sync_ms = 300000,
};
static int64_t eviction_ms = 300000, toleration_s = 300;
/* accepted for upstream's command lines, unused */
static char *service_cidr, *cluster_name = "kubernetes";
static int64_t rc_syncs = 5;
static bool sa_credentials;

static struct flag flags[] = {
	{.name = "controllers",
	 .type = FLAG_STRING,
	 .target = &o.controllers,
	 .help = "A list of controllers to enable. '*' enables all on-by-default controllers, "
		 "'foo' enables the controller named 'foo', '-foo' disables the controller named "
		 "'foo'. All controllers: clusterrole-aggregation, cronjob, daemonset, deployment, "
		 "disruption, endpoint, "
		 "endpointslice, garbagecollector, job, namespace, nodeipam, nodelifecycle, "
		 "replicaset, resourcequota, serviceaccount, statefulset (default [*])"},
	{.name = "allocate-node-cidrs",
	 .type = FLAG_BOOL,
	 .target = &o.allocate_node_cidrs,
	 .help = "Should CIDRs for Pods be allocated and set on the cloud provider"},
	{.name = "cluster-cidr",
	 .type = FLAG_STRING,
	 .target = &o.cluster_cidr,
	 .help = "CIDR Range for Pods in cluster. Requires --allocate-node-cidrs to be true"},
	{.name = "node-cidr-mask-size",
	 .type = FLAG_INT,
	 .target = &o.node_cidr_mask_size,
	 .help = "Mask size for node cidr in cluster (default 24)"},
	{.name = "node-monitor-grace-period",
	 .type = FLAG_DURATION,
	 .target = &o.node_monitor_grace_ms,
	 .help = "Amount of time which we allow running Node to be unresponsive before marking "
		 "it unhealthy (default 40s)"},
	{.name = "node-monitor-period",
	 .type = FLAG_DURATION,
	 .target = &o.node_monitor_period_ms,
	 .help = "The period for syncing NodeStatus in cloud-node-lifecycle-controller "
		 "(default 5s)"},
	{.name = "pod-eviction-timeout",
	 .type = FLAG_DURATION,
	 .target = &eviction_ms,
	 .help = "The grace period for deleting pods on failed nodes (default 5m0s)"},
	{.name = "default-not-ready-toleration-seconds",
	 .type = FLAG_INT,
	 .target = &toleration_s,
	 .help = "Indicates the tolerationSeconds of the toleration for notReady:NoExecute that is "
		 "added by default to every pod that does not already have such a toleration "
		 "(default 300)"},
	{.name = "default-unreachable-toleration-seconds",
	 .type = FLAG_INT,
	 .target = &toleration_s,
	 .help = "Indicates the tolerationSeconds of the toleration for unreachable:NoExecute that "
		 "is added by default to every pod that does not already have such a toleration "
		 "(default 300)"},
	{.name = "concurrent-deployment-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_deployment,
	 .help = "The number of deployment objects that are allowed to sync concurrently "
		 "(default 5)"},
	{.name = "concurrent-replicaset-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_replicaset,
	 .help = "The number of replica sets that are allowed to sync concurrently (default 5)"},
	{.name = "concurrent-daemonset-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_daemonset,
	 .help = "The number of daemonset objects that are allowed to sync concurrently "
		 "(default 2)"},
	{.name = "concurrent-endpoint-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_endpoint,
	 .help = "The number of endpoint syncing operations that will be done concurrently "
		 "(default 5)"},
	{.name = "concurrent-service-endpoint-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_endpointslice,
	 .help = "The number of service endpoint syncing operations that will be done "
		 "concurrently (default 5)"},
	{.name = "concurrent-serviceaccount-token-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_serviceaccount,
	 .help = "The number of service account token objects that are allowed to sync "
		 "concurrently (default 5)"},
	{.name = "concurrent-namespace-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_namespace,
	 .help = "The number of namespace objects that are allowed to sync concurrently "
		 "(default 10)"},
	{.name = "concurrent-gc-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_gc,
	 .help = "The number of garbage collector workers that are allowed to sync concurrently "
		 "(default 20)"},
	{.name = "concurrent-job-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_job,
	 .help = "The number of job objects that are allowed to sync concurrently (default 5)"},
	{.name = "concurrent-cron-job-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_cronjob,
	 .help = "The number of cron job objects that are allowed to sync concurrently "
		 "(default 5)"},
	{.name = "concurrent-resource-quota-syncs",
	 .type = FLAG_INT,
	 .target = &o.concurrent_resourcequota,
	 .help = "The number of resource quotas that are allowed to sync concurrently. Larger "
		 "number = more responsive quota management, but more CPU (and network) load "
		 "(default 5)"},
	{.name = "resource-quota-sync-period",
	 .type = FLAG_DURATION,
	 .target = &o.resource_quota_sync_ms,
	 .help = "The period for syncing quota usage status in the system (default 5m0s)"},
	{.name = "concurrent-rc-syncs",
	 .type = FLAG_INT,
	 .target = &rc_syncs,
	 .help = "The number of replication controllers that are allowed to sync concurrently "
		 "(default 5)"},
	{.name = "service-cluster-ip-range",
	 .type = FLAG_STRING,
	 .target = &service_cidr,
	 .help = "CIDR Range for Services in cluster (accepted, unused)"},
	{.name = "cluster-name",
	 .type = FLAG_STRING,
	 .target = &cluster_name,
	 .help = "The instance prefix for the cluster (default \"kubernetes\")"},
	{.name = "use-service-account-credentials",
	 .type = FLAG_BOOL,
	 .target = &sa_credentials,
	 .help = "If true, use individual service account credentials for each controller "
		 "(accepted, unused)"},
	{0},
};

static const struct daemon_config config = {
	.name = "kube-controller-manager",
	.summary = "The Kubernetes controller manager is a daemon that embeds the core control "
		   "loops shipped with Kubernetes.",
	.flags = flags,
	.common = DAEMON_FLAG_MASTER | DAEMON_FLAG_KUBECONFIG | DAEMON_FLAG_LEADER_ELECT |
		  DAEMON_FLAG_SERVE,
	.lease_name = "kube-controller-manager",
	.secure_port = 10257,
};

/* Registers the enabled controllers and the event recorder. */
static int controllers_register(struct daemon *d, struct mk_err **err)
{
	struct client *ec = daemon_client_new(d, err);
	if (!ec || events_start_async(ec, err) < 0)
		return mk_err_wrap(err, "starting the event recorder");
	for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++) {
		if (!manager_controller_enabled(o.controllers, controllers[i].name,
						controllers[i].default_on)) {
			log_info("Warning: controller %s is disabled", controllers[i].name);
			continue;
		}
		log_v(1, "Registering controller %s", controllers[i].name);
		if (controllers[i].start(d, &o, err) < 0)
			return mk_err_wrap(err, "starting controller %s", controllers[i].name);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc;
	struct daemon *d = daemon_new(&config, argc, argv, &rc);
	if (!d)
		return rc;
	o.pod_eviction_timeout_s =
		daemon_flag(d, "default-not-ready-toleration-seconds")->seen ||
				daemon_flag(d, "default-unreachable-toleration-seconds")->seen
			? toleration_s
			: eviction_ms / 1000;
	cleanup_err struct mk_err *err = NULL;
	if (o.allocate_node_cidrs && !*o.cluster_cidr) {
		fprintf(stderr, "Error: --cluster-cidr is required with --allocate-node-cidrs\n");
		rc = 2;
	} else if (controllers_register(d, &err) < 0) {
		fprintf(stderr, "Error: %s\n", mk_err_msg(err));
		rc = 1;
	} else {
		log_info("Starting kube-controller-manager");
		rc = daemon_run(d);
	}
	daemon_free(d);
	return rc;
}
