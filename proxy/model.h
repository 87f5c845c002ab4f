/* The pure model of kube-proxy: Services and EndpointSlices as read from the
 * API, turned into sorted service ports with categorised endpoints, exactly as
 * upstream's change trackers and CategorizeEndpoints do. No kernel, no network. */
#ifndef PROXY_MODEL_H
#define PROXY_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "strmap.h"

/* Configuration shared by model and rule generators. Strings are borrowed for
 * the lifetime of the config's user. */
struct proxy_config {
	const char *node_name;      /* endpoints with this nodeName are local */
	const char *cluster_cidr;   /* local-traffic detector; NULL = none */
	const char *service_cidr;   /* nftables "unallocated ClusterIP" drop; NULL = none */
	const char *node_ip;        /* primary node IP (nftables nodeport-ips) */
	char **nodeport_cidrs;      /* --nodeport-addresses; NULL/empty = all */
	size_t n_nodeport_cidrs;
	char **node_ips;            /* node addresses matching nodeport_cidrs (iptables
				     * explicit-address mode, nftables nodeport-ips) */
	size_t n_node_ips;
	bool masquerade_all;
	int masquerade_bit;         /* 14 */
	bool localhost_nodeports;   /* iptables: KUBE-FIREWALL rule, 127/8 nodeports */
	bool random_fully;          /* MASQUERADE --random-fully */
	bool drop_invalid;          /* KUBE-FORWARD ctstate INVALID drop */
};

/* Fills defaults (bit 14, localhost node ports, random-fully, invalid drop). */
void proxy_config_init(struct proxy_config *cfg);

/* Upstream's default and largest ClientIP affinity timeouts, in seconds. */
#define PROXY_AFFINITY_DEFAULT_SECONDS 10800
#define PROXY_AFFINITY_MAX_SECONDS 86400

struct proxy_endpoint {
	char *ip;          /* ip and str point into the port's ep_strings */
	int port;
	char *str;         /* "ip:port", "[ip6]:port" */
	bool ready, serving, terminating, local;
};

enum proxy_proto { PROTO_TCP, PROTO_UDP, PROTO_SCTP };

struct proxy_svc_port {
	char *strings;      /* owns ns, name, port_name, spn, key, cluster_ip */
	char *ns, *name;    /* service */
	char *port_name;    /* "" when unnamed */
	char *spn;          /* "ns/name" or "ns/name:port" */
	char *key;          /* "ns/name" */
	enum proxy_proto proto;
	const char *proto_str; /* "tcp", "udp", "sctp" (static) */
	char *cluster_ip;
	int port, node_port, hc_node_port;
	char **external_ips;
	size_t n_external_ips;
	char **lb_ips;
	size_t n_lb_ips;
	char **source_ranges;
	size_t n_source_ranges;
	bool affinity;
	int affinity_timeout;
	bool etp_local, itp_local; /* eTP only if externally accessible */

	/* every endpoint of this port from all slices, deduplicated, sorted by str */
	struct proxy_endpoint *eps;
	size_t n_eps;
	char *ep_strings;   /* owns the endpoints' ip and str */

	/* categorised (pointers into eps, sorted; one allocation from cluster_eps) */
	struct proxy_endpoint **cluster_eps, **local_eps, **reachable_eps;
	size_t n_cluster_eps, n_local_eps, n_reachable_eps;
	bool has_endpoints;
};

/* Derived booleans of a service port (upstream's names). */
bool proxy_port_external(const struct proxy_svc_port *p);
bool proxy_port_has_internal(const struct proxy_svc_port *p);
bool proxy_port_has_external(const struct proxy_svc_port *p);
bool proxy_port_uses_cluster_chain(const struct proxy_svc_port *p);
bool proxy_port_uses_local_chain(const struct proxy_svc_port *p);
bool proxy_port_uses_fw_chain(const struct proxy_svc_port *p);

/* The objects kube-proxy has seen, reduced to the fields the model reads and
 * kept as compact JSON text of positional arrays (whole objects would cost
 * tens of MB in large clusters). Keys are "ns/name". */
struct proxy_state {
	struct strmap services;  /* "ns/name" -> compact Service text */
	struct strmap slices;    /* "ns/svcname" -> text of { "slice-name": compact EndpointSlice } */
	struct strmap slice_services; /* "ns/slice-name" -> "ns/svcname" it is filed under */
	json_t *changed;   /* "ns/name" -> true: services whose objects changed */
};

void proxy_state_init(struct proxy_state *st);
void proxy_state_free(struct proxy_state *st);
/* Records a Service (borrowed; only its relevant fields are copied) or its
 * deletion (svc NULL with key). Returns true if it changed anything relevant. */
bool proxy_state_set_service(struct proxy_state *st, const char *key, json_t *svc);
/* Re-allocates the state's entries on the calling thread (strmap_compact). */
void proxy_state_compact(struct proxy_state *st);
/* Records an EndpointSlice (borrowed) or its deletion (deleted: only its
 * metadata namespace and name are read). Slices without the
 * kubernetes.io/service-name label are treated as deleted. */
bool proxy_state_set_slice(struct proxy_state *st, json_t *slice, bool deleted);

/* All service ports of the state, sorted by spn then protocol. */
struct proxy_model {
	struct proxy_svc_port *ports;
	size_t n;
	size_t n_endpoints; /* sum of n_eps (large-cluster mode) */
};

/* Builds the model: new, proxy_model_free(). Services of type ExternalName or
 * without a cluster IP are skipped.
 *
 * Whatever the API server stored, the model holds only what the backends can
 * render: a Service whose affinity timeout is not 1-86400 s, or whose cluster
 * IP is special, is skipped whole; a port whose port or nodePort is no port
 * number is skipped; external and load balancer IPs that are special
 * (loopback, unspecified, link-local, multicast, broadcast) or malformed,
 * EndpointSlice ports that are no port numbers and endpoints whose address
 * no DNAT can serve (unspecified, multicast, broadcast, malformed) are left
 * out. Each is logged (an error line naming the Service or
 * EndpointSlice) when the Service's ports are built, which happens when it or
 * its slices change, not on every sync. */
struct proxy_model *proxy_model_build(const struct proxy_state *st, const struct proxy_config *cfg);
void proxy_model_free(struct proxy_model *m);

/* Brings m (built by proxy_model_build from an earlier st) up to date with st
 * for the services whose "ns/name" is a key of changed (borrowed): their ports
 * are dropped and rebuilt from st, every other port is kept as it is. The
 * result equals proxy_model_build(st, cfg). Pointers into m->ports do not
 * survive the call. */
void proxy_model_update(struct proxy_model *m, const struct proxy_state *st, const json_t *changed,
			const struct proxy_config *cfg);

/* Adds the ports of one Service (borrowed) with endpoints from slices (a JSON
 * array of EndpointSlice, borrowed, may be NULL) to m, leaving out and
 * logging what proxy_model_build would. Exposed for tests. */
void proxy_model_add_service(struct proxy_model *m, const json_t *svc, const json_t *slices,
			     const struct proxy_config *cfg);
/* Sorts ports; called by proxy_model_build. */
void proxy_model_sort(struct proxy_model *m);

/* The probability 1/n as upstream prints it ("%0.10f"); endpoint i of n uses
 * proxy_probability(n - i). Writes into out (at least 16 bytes). */
void proxy_probability(size_t n, char *out, size_t outlen);

/* "ip:port" or "[ip]:port": new string. */
char *proxy_join_host_port(const char *ip, int port);

#endif
