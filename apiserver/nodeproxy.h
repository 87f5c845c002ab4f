/* The API server's way to the kubelets: pods/log, pods/exec, pods/attach,
 * pods/portforward and nodes/proxy, proxied to the kubelet of the pod's
 * node at the node's InternalIP and status.daemonEndpoints.kubeletEndpoint
 * port (10250 when unset), over plain HTTP.
 *
 * As upstream, the API server checks what it can (the container exists,
 * the pod has a node) and answers with Status errors in upstream's words;
 * the kubelet's own refusals come back as Status too (its 400 text as a
 * BadRequest message, which is how kubectl shows "container ... is waiting
 * to start"). exec, attach and port-forward keep the protocol kubectl chose:
 * the upgrade request (WebSocket with its subprotocols, or SPDY with
 * X-Stream-Protocol-Version) goes to the kubelet with the client's
 * handshake headers, the kubelet's 101 answer goes back, and from then on
 * bytes are copied both ways untouched. A kubelet that cannot be reached is
 * a 502 naming the node.
 *
 * Threads: the functions answer on the calling HTTP thread; upgraded
 * connections and log streams waiting on their kubelet are served by one
 * thread of this module (an event loop over all), with back-pressure: a
 * side is not read while 256 KiB wait to be written to the other. */
#ifndef MK_APISERVER_NODEPROXY_H
#define MK_APISERVER_NODEPROXY_H

#include <jansson.h>

#include "err.h"
#include "apiserver/request.h"

struct nodeproxy;

/* Starts the relay thread. New, nodeproxy_free(). */
struct nodeproxy *nodeproxy_new(struct mk_err **err);

/* Closes every relayed connection and stops the thread; free the HTTP
 * server first. Accepts NULL. */
void nodeproxy_free(struct nodeproxy *np);

/* Answers rq for subresource sub ("log", "exec", "attach", "portforward")
 * of pod (borrowed), whose node is node (borrowed; NULL when the pod has
 * none or it is not registered). */
void nodeproxy_pod(struct nodeproxy *np, struct api_request *rq, const char *sub, const json_t *pod,
		   const json_t *node);

/* Answers rq for nodes/<name>/proxy/<path> (path without its leading '/',
 * maybe ""), the request's method, query and body passed on. */
void nodeproxy_node(struct nodeproxy *np, struct api_request *rq, const json_t *node,
		    const char *path);

/* ---- pure parts, exposed for tests ---- */

/* The kubelet's host (new) and port for node: its InternalIP (else
 * ExternalIP, else Hostname) and daemonEndpoints port. -1 (MK_ENOTFOUND)
 * when it has no address. */
int nodeproxy_kubelet_addr(const json_t *node, char **host, int *port, struct mk_err **err);

/* The container a request names, or the only one, as upstream decides:
 * new name, or NULL with *status (BadRequest: "container c9 is not valid
 * for pod p1", "a container name must be specified for pod p1, choose one
 * of: [a b]" (with " or one of the init containers: [i]" for exec-like
 * subresources, as upstream words the two differently). */
char *nodeproxy_container(const json_t *pod, const char *container, bool for_log, json_t **status);

#endif
