/* kube-proxy's Prometheus metrics with upstream's names, and their text
 * exposition. Thread-safe. */
#ifndef PROXY_METRICS_H
#define PROXY_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum metric_hist {
	MH_SYNC,      /* kubeproxy_sync_proxy_rules_duration_seconds */
	MH_SYNC_FULL, /* kubeproxy_sync_full_proxy_rules_duration_seconds */
	MH_SYNC_PART, /* kubeproxy_sync_partial_proxy_rules_duration_seconds */
	MH_NETPROG,   /* kubeproxy_network_programming_duration_seconds */
	MH_N,
};

enum metric_val {
	MV_LAST_TS,            /* gauge sync_proxy_rules_last_timestamp_seconds */
	MV_LAST_QUEUED_TS,     /* gauge ..._last_queued_timestamp_seconds */
	MV_EP_PENDING,         /* gauge ..._endpoint_changes_pending */
	MV_EP_TOTAL,           /* counter ..._endpoint_changes_total */
	MV_SVC_PENDING,        /* gauge ..._service_changes_pending */
	MV_SVC_TOTAL,          /* counter ..._service_changes_total */
	MV_IPT_FAIL,           /* counter ..._iptables_restore_failures_total */
	MV_IPT_PART_FAIL,      /* counter ..._iptables_partial_restore_failures_total */
	MV_NFT_FAIL,           /* counter ..._nftables_sync_failures_total */
	MV_IPT_TOTAL_FILTER,   /* gauge ..._iptables_total{table="filter"} */
	MV_IPT_TOTAL_NAT,
	MV_IPT_LAST_FILTER,    /* gauge ..._iptables_last{table="filter"} */
	MV_IPT_LAST_NAT,
	MV_NO_LOCAL_INTERNAL,  /* gauge ..._no_local_endpoints_total{traffic_policy="internal"} */
	MV_NO_LOCAL_EXTERNAL,
	MV_HEALTHZ_200,        /* counter kubeproxy_proxy_healthz_total{code="200"} */
	MV_HEALTHZ_503,
	MV_N,
};

void metrics_observe(enum metric_hist h, double seconds);
void metrics_set(enum metric_val v, double value);
void metrics_add(enum metric_val v, double delta);
double metrics_get(enum metric_val v);
/* Appends the Prometheus text of every metric to b. */
void metrics_write(struct buf *b);

#endif
