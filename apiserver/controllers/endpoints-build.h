/* What the endpoints and endpointslice controllers write for a Service, from
 * the pods its selector matches: pure functions, no I/O. */
#ifndef MK_CONTROLLERS_ENDPOINTS_BUILD_H
#define MK_CONTROLLERS_ENDPOINTS_BUILD_H

#include <stdbool.h>
#include <jansson.h>

/* True if every key of the service's spec.selector equals the pod's label
 * (an empty or absent selector selects nothing, as upstream). */
bool endpoints_selector_matches(const json_t *service, const json_t *pod);

/* The port a ServicePort resolves to for pod: an integer targetPort, a named
 * one looked up in the pod's container ports, or spec.port. Returns 0 when a
 * named port does not exist in the pod. */
int endpoints_resolve_port(const json_t *service_port, const json_t *pod);

/* Builds the v1 Endpoints object (kind, apiVersion, metadata name/namespace/
 * labels, subsets) for service from pods (a JSON array of the candidate pods,
 * already filtered by namespace; selector matching is done here). New ref. */
json_t *endpoints_build(const json_t *service, const json_t *pods);

/* Builds the endpoints and ports of the service's EndpointSlice (discovery/v1):
 * {"endpoints":[...],"ports":[...]} with ready/serving/terminating conditions,
 * nodeName and targetRef; the caller adds metadata. New ref. */
json_t *endpointslice_build(const json_t *service, const json_t *pods);

#endif
