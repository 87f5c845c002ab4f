/* kube-controller-manager: runs the control loops that turn Deployments into
 * ReplicaSets and pods, Services into endpoints, and look after namespaces,
 * owners, node CIDRs and node health, through the API server only. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "flags.h"
#include "log.h"
#include "manager.h"
#include "version.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

int main(int argc, char **argv)
{
	int64_t v = 0, eviction_ms = 300000, not_ready_tol = 300;
	char *ignored_str = NULL;
	int64_t ignored_int = 0;
	struct manager_options o = {
		.controllers = "*",
		.cluster_cidr = "",
		.node_cidr_mask_size = 24,
		.node_monitor_grace_ms = 40000,
		.node_monitor_period_ms = 5000,
		.leader_elect = true,
		.lease_duration_ms = 15000,
		.renew_deadline_ms = 10000,
		.retry_period_ms = 2000,
		.lease_namespace = "kube-system",
		.lease_name = "kube-controller-manager",
		.concurrent_deployment = 5,
		.concurrent_replicaset = 5,
		.concurrent_endpoint = 5,
		.concurrent_endpointslice = 5,
		.concurrent_serviceaccount = 5,
		.concurrent_namespace = 10,
		.concurrent_gc = 20,
	};
	struct flag table[] = {
		{.name = "master", .type = FLAG_STRING, .target = &o.master,
		 .help = "The address of the Kubernetes API server (overrides any value in kubeconfig)"},
		{.name = "kubeconfig", .type = FLAG_STRING, .target = &o.kubeconfig,
		 .help = "Path to kubeconfig file with authorization and master location information"},
		{.name = "controllers", .type = FLAG_STRING, .target = &o.controllers,
		 .help = "A list of controllers to enable. '*' enables all on-by-default controllers, "
			 "'foo' enables the controller named 'foo', '-foo' disables the controller "
			 "named 'foo'. All controllers: deployment, endpoint, endpointslice, "
			 "garbagecollector, namespace, nodeipam, nodelifecycle, replicaset, "
			 "serviceaccount (default [*])"},
		{.name = "allocate-node-cidrs", .type = FLAG_BOOL, .target = &o.allocate_node_cidrs,
		 .help = "Should CIDRs for Pods be allocated and set on the cloud provider"},
		{.name = "cluster-cidr", .type = FLAG_STRING, .target = &o.cluster_cidr,
		 .help = "CIDR Range for Pods in cluster. Requires --allocate-node-cidrs to be true"},
		{.name = "node-cidr-mask-size", .type = FLAG_INT, .target = &o.node_cidr_mask_size,
		 .help = "Mask size for node cidr in cluster (default 24)"},
		{.name = "node-monitor-grace-period", .type = FLAG_DURATION,
		 .target = &o.node_monitor_grace_ms,
		 .help = "Amount of time which we allow running Node to be unresponsive before "
			 "marking it unhealthy (default 40s)"},
		{.name = "node-monitor-period", .type = FLAG_DURATION,
		 .target = &o.node_monitor_period_ms,
		 .help = "The period for syncing NodeStatus in cloud-node-lifecycle-controller "
			 "(default 5s)"},
		{.name = "pod-eviction-timeout", .type = FLAG_DURATION, .target = &eviction_ms,
		 .help = "The grace period for deleting pods on failed nodes (default 5m0s)"},
		{.name = "default-not-ready-toleration-seconds", .type = FLAG_INT,
		 .target = &not_ready_tol,
		 .help = "Indicates the tolerationSeconds of the toleration for notReady:NoExecute "
			 "that is added by default to every pod that does not already have such a "
			 "toleration (default 300)"},
		{.name = "default-unreachable-toleration-seconds", .type = FLAG_INT,
		 .target = &not_ready_tol,
		 .help = "Indicates the tolerationSeconds of the toleration for unreachable:NoExecute "
			 "that is added by default to every pod that does not already have such a "
			 "toleration (default 300)"},
		{.name = "leader-elect", .type = FLAG_BOOL, .target = &o.leader_elect,
		 .help = "Start a leader election client and gain leadership before executing the "
			 "main loop (default true)"},
		{.name = "leader-elect-lease-duration", .type = FLAG_DURATION,
		 .target = &o.lease_duration_ms,
		 .help = "The duration that non-leader candidates will wait after observing a "
			 "leadership renewal until attempting to acquire leadership (default 15s)"},
		{.name = "leader-elect-renew-deadline", .type = FLAG_DURATION,
		 .target = &o.renew_deadline_ms,
		 .help = "The interval between attempts by the acting master to renew a leadership "
			 "slot before it stops leading (default 10s)"},
		{.name = "leader-elect-retry-period", .type = FLAG_DURATION,
		 .target = &o.retry_period_ms,
		 .help = "The duration the clients should wait between attempting acquisition and "
			 "renewal of a leadership (default 2s)"},
		{.name = "leader-elect-resource-namespace", .type = FLAG_STRING,
		 .target = &o.lease_namespace,
		 .help = "The namespace of resource object that is used for locking during leader "
			 "election (default \"kube-system\")"},
		{.name = "leader-elect-resource-name", .type = FLAG_STRING, .target = &o.lease_name,
		 .help = "The name of resource object that is used for locking during leader "
			 "election (default \"kube-controller-manager\")"},
		{.name = "concurrent-deployment-syncs", .type = FLAG_INT,
		 .target = &o.concurrent_deployment,
		 .help = "The number of deployment objects that are allowed to sync concurrently "
			 "(default 5)"},
		{.name = "concurrent-replicaset-syncs", .type = FLAG_INT,
		 .target = &o.concurrent_replicaset,
		 .help = "The number of replica sets that are allowed to sync concurrently "
			 "(default 5)"},
		{.name = "concurrent-endpoint-syncs", .type = FLAG_INT,
		 .target = &o.concurrent_endpoint,
		 .help = "The number of endpoint syncing operations that will be done concurrently "
			 "(default 5)"},
		{.name = "concurrent-service-endpoint-syncs", .type = FLAG_INT,
		 .target = &o.concurrent_endpointslice,
		 .help = "The number of service endpoint syncing operations that will be done "
			 "concurrently (default 5)"},
		{.name = "concurrent-serviceaccount-token-syncs", .type = FLAG_INT,
		 .target = &o.concurrent_serviceaccount,
		 .help = "The number of service account token objects that are allowed to sync "
			 "concurrently (default 5)"},
		{.name = "concurrent-namespace-syncs", .type = FLAG_INT,
		 .target = &o.concurrent_namespace,
		 .help = "The number of namespace objects that are allowed to sync concurrently "
			 "(default 10)"},
		{.name = "concurrent-gc-syncs", .type = FLAG_INT, .target = &o.concurrent_gc,
		 .help = "The number of garbage collector workers that are allowed to sync "
			 "concurrently (default 20)"},
		{.name = "concurrent-rc-syncs", .type = FLAG_INT, .target = &ignored_int,
		 .help = "The number of replication controllers that are allowed to sync "
			 "concurrently (default 5)"},
		{.name = "service-cluster-ip-range", .type = FLAG_STRING, .target = &ignored_str,
		 .help = "CIDR Range for Services in cluster (accepted, unused)"},
		{.name = "cluster-name", .type = FLAG_STRING, .target = &ignored_str,
		 .help = "The instance prefix for the cluster (default \"kubernetes\")"},
		{.name = "use-service-account-credentials", .type = FLAG_BOOL,
		 .target = &(bool){false},
		 .help = "If true, use individual service account credentials for each controller "
			 "(accepted, unused)"},
		{.name = "v", .type = FLAG_INT, .target = &v,
		 .help = "number for the log level verbosity"},
		{0},
	};
	cleanup_err struct mk_err *err = NULL;
	int rc = flags_parse(table, argc, argv, &err);
	if (rc == FLAGS_VERSION) {
		fputs(MK_VERSION_LINE, stdout);
		return 0;
	}
	if (rc == 1) {
		cleanup_free char *usage = flags_usage(
			"kube-controller-manager",
			"The Kubernetes controller manager is a daemon that embeds the core control "
			"loops shipped with Kubernetes.",
			table);
		fputs(usage, stdout);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "Error: %s\n", mk_err_msg(err));
		return 2;
	}
	log_verbosity = (int)v;
	o.pod_eviction_timeout_s = eviction_ms / 1000;
	for (struct flag *f = table; f->name; f++) {
		if (f->seen && (!strcmp(f->name, "default-not-ready-toleration-seconds") ||
				!strcmp(f->name, "default-unreachable-toleration-seconds")))
			o.pod_eviction_timeout_s = not_ready_tol;
	}
	if (o.allocate_node_cidrs && !*o.cluster_cidr) {
		fprintf(stderr, "Error: --cluster-cidr is required with --allocate-node-cidrs\n");
		return 2;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct manager *m = manager_new(&o, &err);
	if (!m) {
		fprintf(stderr, "Error: %s\n", mk_err_msg(err));
		return 1;
	}
	log_info("Starting kube-controller-manager");
	if (manager_run(m, &stopping, &err) < 0) {
		log_error("%s", mk_err_msg(err));
		return 1;
	}
	log_info("Shutting down kube-controller-manager");
	/* Workers hold the manager until exit; the process ends here. */
	return 0;
}
