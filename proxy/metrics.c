/* Metrics registry (see the header). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

#define MAX_BUCKETS 64

struct hist_def {
	const char *name, *help;
	double bounds[MAX_BUCKETS];
	size_t n_bounds;
};

static struct hist_def hists[MH_N];
static double hist_sum[MH_N];
static unsigned long long hist_count[MH_N], hist_bucket[MH_N][MAX_BUCKETS];
static double vals[MV_N];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const struct {
	const char *name, *labels, *type, *help;
} val_defs[MV_N] = {
	[MV_LAST_TS] = {"kubeproxy_sync_proxy_rules_last_timestamp_seconds", "", "gauge",
			"The last time proxy rules were successfully synced"},
	[MV_LAST_QUEUED_TS] = {"kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds", "", "gauge",
			       "The last time a sync of proxy rules was queued"},
	[MV_EP_PENDING] = {"kubeproxy_sync_proxy_rules_endpoint_changes_pending", "", "gauge",
			   "Pending proxy rules Endpoint changes"},
	[MV_EP_TOTAL] = {"kubeproxy_sync_proxy_rules_endpoint_changes_total", "", "counter",
			 "Cumulative proxy rules Endpoint changes"},
	[MV_SVC_PENDING] = {"kubeproxy_sync_proxy_rules_service_changes_pending", "", "gauge",
			    "Pending proxy rules Service changes"},
	[MV_SVC_TOTAL] = {"kubeproxy_sync_proxy_rules_service_changes_total", "", "counter",
			  "Cumulative proxy rules Service changes"},
	[MV_IPT_FAIL] = {"kubeproxy_sync_proxy_rules_iptables_restore_failures_total", "", "counter",
			 "Cumulative proxy iptables restore failures"},
	[MV_IPT_PART_FAIL] = {"kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total", "",
			      "counter", "Cumulative proxy iptables partial restore failures"},
	[MV_NFT_FAIL] = {"kubeproxy_sync_proxy_rules_nftables_sync_failures_total", "", "counter",
			 "Cumulative proxy nftables sync failures"},
	[MV_IPT_TOTAL_FILTER] = {"kubeproxy_sync_proxy_rules_iptables_total", "table=\"filter\"", "gauge",
				 "Total number of iptables rules owned by kube-proxy"},
	[MV_IPT_TOTAL_NAT] = {"kubeproxy_sync_proxy_rules_iptables_total", "table=\"nat\"", "gauge",
			      "Total number of iptables rules owned by kube-proxy"},
	[MV_IPT_LAST_FILTER] = {"kubeproxy_sync_proxy_rules_iptables_last", "table=\"filter\"", "gauge",
				"Number of iptables rules written by kube-proxy in last sync"},
	[MV_IPT_LAST_NAT] = {"kubeproxy_sync_proxy_rules_iptables_last", "table=\"nat\"", "gauge",
			     "Number of iptables rules written by kube-proxy in last sync"},
	[MV_NO_LOCAL_INTERNAL] = {"kubeproxy_sync_proxy_rules_no_local_endpoints_total",
				  "traffic_policy=\"internal\"", "gauge",
				  "Number of services with a Local traffic policy and no endpoints"},
	[MV_NO_LOCAL_EXTERNAL] = {"kubeproxy_sync_proxy_rules_no_local_endpoints_total",
				  "traffic_policy=\"external\"", "gauge",
				  "Number of services with a Local traffic policy and no endpoints"},
	[MV_HEALTHZ_200] = {"kubeproxy_proxy_healthz_total", "code=\"200\"", "counter",
			    "Cumulative proxy healthz HTTP status"},
	[MV_HEALTHZ_503] = {"kubeproxy_proxy_healthz_total", "code=\"503\"", "counter",
			    "Cumulative proxy healthz HTTP status"},
};

static void init(void)
{
	const char *names[MH_N] = {
		"kubeproxy_sync_proxy_rules_duration_seconds",
		"kubeproxy_sync_full_proxy_rules_duration_seconds",
		"kubeproxy_sync_partial_proxy_rules_duration_seconds",
		"kubeproxy_network_programming_duration_seconds",
	};
	const char *helps[MH_N] = {
		"SyncProxyRules latency in seconds",
		"SyncProxyRules latency in seconds for full resyncs",
		"SyncProxyRules latency in seconds for partial resyncs",
		"In Cluster Network Programming Latency in seconds",
	};
	for (int h = 0; h < MH_N; h++) {
		hists[h].name = names[h];
		hists[h].help = helps[h];
		size_t n = 0;
		if (h == MH_NETPROG) {
			hists[h].bounds[n++] = 0.25;
			hists[h].bounds[n++] = 0.5;
			for (int s = 1; s <= 59; s++)
				hists[h].bounds[n++] = s;
			for (int s = 60; s <= 115 && n < MAX_BUCKETS; s += 5)
				hists[h].bounds[n++] = s;
		} else {
			double b = 0.001;
			for (int k = 0; k <= 14; k++, b *= 2)
				hists[h].bounds[n++] = b;
		}
		hists[h].n_bounds = n;
	}
}

void metrics_observe(enum metric_hist h, double seconds)
{
	pthread_once(&once, init);
	pthread_mutex_lock(&mu);
	hist_sum[h] += seconds;
	hist_count[h]++;
	for (size_t i = 0; i < hists[h].n_bounds; i++)
		if (seconds <= hists[h].bounds[i])
			hist_bucket[h][i]++;
	pthread_mutex_unlock(&mu);
}

void metrics_set(enum metric_val v, double value)
{
	pthread_mutex_lock(&mu);
	vals[v] = value;
	pthread_mutex_unlock(&mu);
}

void metrics_add(enum metric_val v, double delta)
{
	pthread_mutex_lock(&mu);
	vals[v] += delta;
	pthread_mutex_unlock(&mu);
}

double metrics_get(enum metric_val v)
{
	pthread_mutex_lock(&mu);
	double x = vals[v];
	pthread_mutex_unlock(&mu);
	return x;
}

void metrics_write(struct buf *b)
{
	pthread_once(&once, init);
	pthread_mutex_lock(&mu);
	for (int h = 0; h < MH_N; h++) {
		const struct hist_def *d = &hists[h];
		buf_printf(b, "# HELP %s [ALPHA] %s\n# TYPE %s histogram\n", d->name, d->help, d->name);
		for (size_t i = 0; i < d->n_bounds; i++)
			buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", d->name, d->bounds[i], hist_bucket[h][i]);
		buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", d->name,
			   hist_count[h], d->name, hist_sum[h], d->name, hist_count[h]);
	}
	const char *prev = "";
	for (int v = 0; v < MV_N; v++) {
		if (strcmp(prev, val_defs[v].name))
			buf_printf(b, "# HELP %s [ALPHA] %s\n# TYPE %s %s\n", val_defs[v].name,
				   val_defs[v].help, val_defs[v].name, val_defs[v].type);
		prev = val_defs[v].name;
		if (*val_defs[v].labels)
			buf_printf(b, "%s{%s} %.17g\n", val_defs[v].name, val_defs[v].labels, vals[v]);
		else
			buf_printf(b, "%s %.17g\n", val_defs[v].name, vals[v]);
	}
	pthread_mutex_unlock(&mu);
}
