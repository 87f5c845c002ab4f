/* Service health check node ports: for every Service of type LoadBalancer
 * with externalTrafficPolicy: Local and a healthCheckNodePort, an HTTP server
 * on that port answers whether this node has ready local endpoints of the
 * Service, so that external load balancers send traffic only to nodes that
 * can serve it without another hop. Listeners follow the model after each
 * successful sync; two threads serve them all, and none (nor any thread)
 * exists while no Service needs one. */
#ifndef PROXY_SVCHEALTH_H
#define PROXY_SVCHEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "model.h"

/* A Service that wants a health check port, as the model has it. */
struct svchealth_want {
	const char *ns, *name; /* borrowed from the model */
	int port;
	size_t local_ready; /* distinct "ip:port" of ready endpoints on this node */
};

/* The Services of m with a health check node port, sorted by namespace and
 * name: new array (free()), *n its length. Strings point into m. */
struct svchealth_want *svchealth_collect(const struct proxy_model *m, size_t *n);

/* Appends the JSON answer for a Service to body and returns the HTTP status:
 * 200 when it has local endpoints and the proxy is healthy, else 503. */
unsigned svchealth_render(const char *ns, const char *name, size_t local_ready, bool healthy,
			  struct buf *body);

struct svchealth;

/* Listeners will bind each of ips (IPv4 addresses, copied; "0.0.0.0" for
 * all). healthy(arg) tells whether the proxy itself is healthy; it is called
 * on the HTTP threads. */
struct svchealth *svchealth_new(char *const *ips, size_t n_ips, bool (*healthy)(void *arg),
				void *arg);
/* Opens, closes and updates listeners to match m. A port that cannot be
 * opened is logged and tried again on the next call. Not thread-safe against
 * itself: call from one thread. */
void svchealth_sync(struct svchealth *h, const struct proxy_model *m);
/* Number of Services being served (for tests). */
size_t svchealth_count(const struct svchealth *h);
/* Closes every listener. */
void svchealth_free(struct svchealth *h);

#endif
