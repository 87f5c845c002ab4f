/* nftables rule generation (pure): the model as upstream kube-proxy's
 * nftables-mode objects in table "ip kube-proxy": the fixed chains, sets and
 * verdict maps, per-service chains with their rules, affinity sets and map
 * elements. The libnftnl backend (nftables.h) sends these objects; the text
 * form is what `nft list table ip kube-proxy` prints for them. */
#ifndef PROXY_NFTRULES_H
#define PROXY_NFTRULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define NFTR_TABLE "kube-proxy"

enum nftr_map {
	NFTR_CLUSTER_IPS,            /* set ipv4_addr */
	NFTR_NODEPORT_IPS,           /* set ipv4_addr */
	NFTR_NO_ENDPOINT_SERVICES,   /* ip . proto . port : verdict */
	NFTR_NO_ENDPOINT_NODEPORTS,  /* proto . port : verdict */
	NFTR_FIREWALL_IPS,           /* ip . proto . port : verdict */
	NFTR_SERVICE_IPS,            /* ip . proto . port : verdict */
	NFTR_SERVICE_NODEPORTS,      /* proto . port : verdict */
	NFTR_N_MAPS,
};

struct nftr_map_info {
	const char *name, *comment;
	bool has_ip, has_port, is_map;
};
extern const struct nftr_map_info nftr_maps[NFTR_N_MAPS];

struct nftr_elem {
	char *ip;          /* NULL when the key has no address */
	uint8_t proto;     /* IPPROTO_*, 0 when the key has no protocol */
	uint16_t port;
	char *chain;       /* verdict "goto chain"; NULL with is_map = drop */
	char *comment;     /* may be NULL */
	char *key;         /* "ip . proto . port" as printed, for ordering and diffs */
	const char *service; /* "ns/name" (borrowed from the model); NULL for node IPs */
};

enum nftr_kind {
	NFTR_MASQ_CIP_SADDR, /* ip daddr <a> ip saddr != <b> jump mark-for-masquerade */
	NFTR_MASQ_CIP,       /* ip daddr <a> jump mark-for-masquerade */
	NFTR_NUMGEN,         /* numgen random mod N vmap { i : goto list[i], ... } */
	NFTR_AFF_CHECK,      /* ip saddr @<a> goto <b> */
	NFTR_SADDR_MASQ,     /* ip saddr <a> jump mark-for-masquerade */
	NFTR_AFF_UPDATE,     /* update @<a> { ip saddr } */
	NFTR_DNAT,           /* meta l4proto <proto> dnat to <a>:<port> */
	NFTR_JUMP_MASQ,      /* jump mark-for-masquerade */
	NFTR_GOTO,           /* goto <a> */
	NFTR_SADDR_GOTO,     /* ip saddr <a> goto <b> comment "short-circuit pod traffic" */
	NFTR_FIB_MASQ,       /* fib saddr type local jump mark-for-masquerade comment ... */
	NFTR_FIB_GOTO,       /* fib saddr type local goto <a> comment ... */
	NFTR_FW_DROP,        /* ip saddr != { list } drop */
};

struct nftr_rule {
	enum nftr_kind kind;
	char *a, *b;
	char **list;
	size_t n_list;
	uint8_t proto;
	uint16_t port;
};

struct nftr_chain {
	char *name;
	const char *service; /* "ns/name" (borrowed from the model) */
	struct nftr_rule *rules;
	size_t n_rules, cap_rules;
};

struct nftr_set {
	char *name;          /* affinity-<endpoint base> */
	int timeout;         /* seconds */
	const char *service;
};

struct nftr_ruleset {
	struct nftr_chain *chains; /* per-service chains in creation order */
	size_t n_chains, cap_chains;
	struct nftr_set *sets;
	size_t n_sets, cap_sets;
	struct nftr_elem *elems[NFTR_N_MAPS]; /* sorted by key, unique */
	size_t n_elems[NFTR_N_MAPS], cap_elems[NFTR_N_MAPS];
	size_t no_local_internal, no_local_external;
};

/* Builds every object (new; nftr_ruleset_free). */
void nftr_render(const struct proxy_model *m, const struct proxy_config *cfg,
		 struct nftr_ruleset *rs);
void nftr_ruleset_free(struct nftr_ruleset *rs);

/* Builds only the objects of the services whose "ns/name" is a key of changed
 * (borrowed): their chains, affinity sets and map elements, exactly as
 * nftr_render makes them, without the node IPs (new; nftr_ruleset_free). */
void nftr_render_changed(const struct proxy_model *m, const struct proxy_config *cfg,
			 const json_t *changed, struct nftr_ruleset *rs);

/* A ruleset a part at a time (start from a zeroed struct): the node-IP
 * elements, then service ports appended one by one; nftr_ruleset_finish
 * sorts and deduplicates the elements. nftr_render is all three at once. */
void nftr_render_node_ips(const struct proxy_config *cfg, struct nftr_ruleset *rs);
void nftr_render_port(const struct proxy_svc_port *p, const struct proxy_config *cfg,
		      struct nftr_ruleset *rs);
void nftr_ruleset_finish(struct nftr_ruleset *rs);
/* Moves src's map elements to the end of dst's (src keeps none). */
void nftr_ruleset_take_elems(struct nftr_ruleset *dst, struct nftr_ruleset *src);

/* The text of one rule as nft lists it: new string. */
char *nftr_rule_text(const struct nftr_rule *r);

/* The whole table as `nft list table ip kube-proxy` prints it: new string. */
char *nftr_list_text(const struct nftr_ruleset *rs, const struct proxy_config *cfg);

/* nft's duration format ("3h", "1h1s"): into out (>= 32 bytes). */
void nftr_duration(int seconds, char *out, size_t len);

/* Protocol number to "tcp"/"udp"/"sctp". */
const char *nftr_proto_name(uint8_t proto);

#endif
