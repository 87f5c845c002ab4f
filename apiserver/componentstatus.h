/* componentstatuses (v1 ComponentStatus, deprecated upstream but still
 * served): the health of the control plane as upstream's API server probes
 * it. The scheduler and the controller-manager are asked GET /healthz on
 * 127.0.0.1:10259 and 127.0.0.1:10257, etcd-0 is a read of the store. */
#ifndef MK_APISERVER_COMPONENTSTATUS_H
#define MK_APISERVER_COMPONENTSTATUS_H

#include <jansson.h>

#include "apiserver/store.h"

/* How long a component may take to answer its probe. */
#define COMPONENTSTATUS_TIMEOUT_MS 3000

/* The ComponentStatus objects of scheduler, controller-manager and etcd-0,
 * in that order, probed now (the HTTP probes at once, in parallel). New
 * array. st is read once. */
json_t *componentstatus_list(struct store *st);

/* A ComponentCondition of type Healthy for one HTTP probe of url, as
 * upstream's prober words it: "True" with the body as message for a 2xx or
 * 3xx answer; otherwise "False" with message "HTTP probe failed with
 * statuscode: 500", or, when nothing answered, the client error: `Get
 * "http://127.0.0.1:10259/healthz": dial tcp 127.0.0.1:10259: connect:
 * connection refused`. New object. */
json_t *componentstatus_probe_http(const char *url, long timeout_ms);

#endif
