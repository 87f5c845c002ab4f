/* metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics) served by the API server
 * itself from the kubelets' /stats/summary, so that `kubectl top` works
 * without a metrics-server. Every list asks each registered node's kubelet
 * (at the address apiserver/nodeproxy uses), all at once, for its summary,
 * and converts what comes back within the deadline; a node that does not
 * answer is left out, as metrics-server leaves out what it could not
 * scrape. */
#ifndef MK_APISERVER_METRICSAPI_H
#define MK_APISERVER_METRICSAPI_H

#include <jansson.h>

#include "apiserver/store.h"

/* How long a list waits for the kubelets. */
#define METRICSAPI_TIMEOUT_MS 5000

/* The NodeMetrics / PodMetrics objects of every node (new arrays), for the
 * resources' virtual_list. */
json_t *metricsapi_nodes(struct store *st);
json_t *metricsapi_pods(struct store *st);

/* ---- pure parts, exposed for tests ---- */

/* Appends the NodeMetrics of one kubelet summary to nodes and its pods'
 * PodMetrics to pods (either may be NULL), as metrics-server reports them:
 * CPU from usageNanoCores ("<n>n"), memory from workingSetBytes, the
 * sample's time as timestamp. Pods or containers without both numbers are
 * left out. */
void metricsapi_from_summary(const json_t *summary, json_t *nodes, json_t *pods);

#endif
