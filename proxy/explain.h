/* kube-proxy --explain: the path a packet takes through the rules the kernel
 * holds now, chain by chain, for a Service or for an address and port.
 *
 * The core is pure: it reads the rules as text (iptables-save output of the
 * filter and nat tables, or `nft list table ip kube-proxy`), walks them for
 * a new connection to the target's destination and says which rule matches
 * at each step, which conditions on the source decide (masquerading, traffic
 * policies, affinity), each endpoint's probability as written and its share
 * of all connections, and the DNAT target with the pod and node behind it.
 * Only what the rules say is used, so stale or hand-edited rules are
 * explained as they are. Pods and nodes (optional) only name endpoint IPs.
 *
 * The reader (explain_main) takes the rules from the kernel of the current
 * network namespace through iptables-legacy-save or nft, the local addresses
 * from getifaddrs, and pods and nodes from the API server when asked. */
#ifndef PROXY_EXPLAIN_H
#define PROXY_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

enum explain_mode {
	EXPLAIN_IPTABLES, /* legacy xtables: filter and nat tables */
	EXPLAIN_NFTABLES, /* table ip kube-proxy */
};

/* What to explain: a Service (ns and name set) or an address (ip set). */
struct explain_target {
	char *ns, *name; /* Service; NULL for an address target */
	char *port;	 /* Service port name or number; NULL: every port */
	char *ip;	 /* IPv4 address target; NULL for a Service */
	int dport;	 /* address target's port */
	char proto[8];	 /* address target's "tcp", "udp" or "sctp" */
};

/* Parses "namespace/name[:port]" or "IP:port[/protocol]" (protocol tcp by
 * default, case-insensitive) into t (zeroed here; explain_target_free).
 * Returns 0, or -1 with MK_EINVAL and a message naming the bad part. */
int explain_target_parse(const char *s, struct explain_target *t, struct mk_err **err);
void explain_target_free(struct explain_target *t);

/* The kernel's state and the optional API lookups, all borrowed for the call. */
struct explain_input {
	enum explain_mode mode;
	const char *rules;	      /* iptables-save text of filter and nat, or the nft listing */
	const char *const *local_ips; /* this node's IPv4 addresses (addrtype / fib LOCAL) */
	size_t n_local_ips;
	const json_t *pods;  /* array of Pod objects, or NULL when not looked up */
	const json_t *nodes; /* array of Node objects, or NULL */
};

/* Explains t over in. Returns 0 with the explanation in *out, 1 when no rule
 * concerns the target with the one line saying so in *out (both new strings,
 * free()), or -1 with MK_EINVAL when the rules text cannot be read. */
int explain_render(const struct explain_target *t, const struct explain_input *in, char **out,
		   struct mk_err **err);

/* kube-proxy --explain=<target>: reads the kernel's rules of mode ("iptables",
 * "nftables", or NULL to explain the rules of whichever mode the kernel holds),
 * names endpoints through the API server when master or kubeconfig is given
 * (either may be NULL), prints the explanation on stdout and returns the exit
 * status: 0 explained, 1 nothing matched or an error (one line on stderr). */
int explain_main(const char *target, const char *mode, const char *master, const char *kubeconfig);

#endif
