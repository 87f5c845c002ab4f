/* rtnetlink through libmnl: links, veth pairs, bridges, addresses, routes and
 * network namespaces.
 *
 * One socket = one network namespace. To act inside another namespace, use
 * nl_netns_run(): it enters the namespace on the calling thread, opens a fresh
 * socket there, runs the callback and returns to the original namespace.
 *
 * Errors: kernel refusals become mk_err with errnum set to the kernel's errno,
 * code MK_EEXISTS (EEXIST), MK_ENOTFOUND (ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL)
 * or MK_EIO, and a message that is the lower-case errno text ("file exists")
 * followed by the kernel's extended ack text in parentheses when it sent one. */
#ifndef MK_NETLINK_H
#define MK_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "err.h"

struct nl_sock;

/* Opens a NETLINK_ROUTE socket in the calling thread's current network
 * namespace, with extended acks. New; nl_sock_close() it. */
struct nl_sock *nl_sock_open(struct mk_err **err);
/* Accepts NULL. */
void nl_sock_close(struct nl_sock *s);

/* The errno text as the kernel's tools and Go print it: "file exists".
 * Borrowed, per thread, valid until the next call on the same thread. */
const char *nl_strerror(int errnum);

/* ---- links ---- */

struct nl_link {
	int index;
	char name[IF_NAMESIZE];
	char kind[16];      /* IFLA_INFO_KIND ("bridge", "veth"), "" if none */
	unsigned int flags; /* IFF_* */
	unsigned int mtu;
	int master;         /* ifindex of the master, 0 if none */
	int peer;           /* IFLA_LINK: peer ifindex of a veth (maybe in another netns) */
	int link_netnsid;   /* IFLA_LINK_NETNSID, -1 if none */
	uint8_t operstate;  /* IF_OPER_* */
	uint8_t mac[6];
	bool has_mac;
};

/* Fills *out for the link named name (or with that index when name is NULL).
 * MK_ENOTFOUND when there is none. */
int nl_link_get(struct nl_sock *s, const char *name, int index, struct nl_link *out,
		struct mk_err **err);
/* ifindex of name, or -1 (MK_ENOTFOUND when missing). */
int nl_link_index(struct nl_sock *s, const char *name, struct mk_err **err);
/* Every link of the namespace: *out new array of *n entries, free(). */
int nl_link_list(struct nl_sock *s, struct nl_link **out, size_t *n, struct mk_err **err);
int nl_link_set_up(struct nl_sock *s, int index, bool up, struct mk_err **err);
int nl_link_set_mtu(struct nl_sock *s, int index, unsigned int mtu, struct mk_err **err);
int nl_link_set_mac(struct nl_sock *s, int index, const uint8_t mac[6], struct mk_err **err);
/* master_index 0 detaches. */
int nl_link_set_master(struct nl_sock *s, int index, int master_index, struct mk_err **err);
int nl_link_set_promisc(struct nl_sock *s, int index, bool on, struct mk_err **err);
/* Moves the link into the namespace of netns_fd. */
int nl_link_set_netns(struct nl_sock *s, int index, int netns_fd, struct mk_err **err);
int nl_link_del(struct nl_sock *s, int index, struct mk_err **err);

/* Creates a veth pair: name in the socket's namespace, peer in the namespace of
 * peer_netns_fd (-1: the same). mtu 0 = kernel default; mac (of name) may be
 * NULL. MK_EEXISTS when either name is taken. */
int nl_veth_create(struct nl_sock *s, const char *name, const char *peer, int peer_netns_fd,
		   unsigned int mtu, const uint8_t *mac, struct mk_err **err);

/* ---- bridges ---- */

/* Creates a bridge (MK_EEXISTS when the name exists). mtu 0 = default. */
int nl_bridge_create(struct nl_sock *s, const char *name, unsigned int mtu, bool vlan_filtering,
		     struct mk_err **err);
/* Sets the bridge port's hairpin mode (IFLA_BRPORT_MODE) of an enslaved link. */
int nl_bridge_port_set_hairpin(struct nl_sock *s, int index, bool on, struct mk_err **err);
/* Reads it back: 1 on, 0 off, -1 error. */
int nl_bridge_port_get_hairpin(struct nl_sock *s, int index, struct mk_err **err);

/* ---- addresses ---- */

struct nl_addr {
	int family;        /* AF_INET, AF_INET6 */
	uint8_t addr[16];  /* 4 or 16 bytes used */
	int prefixlen;
	int index;         /* ifindex */
	int scope;         /* RT_SCOPE_* */
	unsigned int flags; /* IFA_F_* */
};

/* Adds addr/prefixlen to the link (IFA_F_* in flags, e.g. IFA_F_NODAD).
 * MK_EEXISTS when present. */
int nl_addr_add(struct nl_sock *s, const struct nl_addr *a, struct mk_err **err);
int nl_addr_del(struct nl_sock *s, const struct nl_addr *a, struct mk_err **err);
/* Addresses of link index (0: all) and family (AF_UNSPEC: both): *out new, free(). */
int nl_addr_list(struct nl_sock *s, int index, int family, struct nl_addr **out, size_t *n,
		 struct mk_err **err);

/* ---- routes ---- */

struct nl_route {
	int family;
	uint8_t dst[16];
	int dst_len;       /* 0 = default route */
	uint8_t gw[16];
	bool has_gw;
	uint8_t src[16];
	bool has_src;      /* preferred source (RTA_PREFSRC) */
	int oif;           /* 0 = none */
	uint32_t table;    /* 0 = main */
	uint8_t protocol;  /* 0 = RTPROT_BOOT on add */
	uint8_t scope;     /* RT_SCOPE_UNIVERSE(0) is the default; link routes use RT_SCOPE_LINK */
	uint8_t type;      /* 0 = RTN_UNICAST on add */
	uint32_t priority; /* metric, 0 = none */
	uint32_t mtu;      /* RTAX_MTU, 0 = none */
};

/* Adds a route; MK_EEXISTS when one with the same key exists. */
int nl_route_add(struct nl_sock *s, const struct nl_route *r, struct mk_err **err);
/* Adds or replaces the route with the same destination, table and metric. */
int nl_route_replace(struct nl_sock *s, const struct nl_route *r, struct mk_err **err);
/* Deletes a route matching r's destination (and gw/oif when set). */
int nl_route_del(struct nl_sock *s, const struct nl_route *r, struct mk_err **err);
/* Routes of table (0 = main) and family (AF_UNSPEC: both): *out new, free(). */
int nl_route_list(struct nl_sock *s, int family, uint32_t table, struct nl_route **out,
		  size_t *n, struct mk_err **err);

/* ---- network namespaces ---- */

/* Opens a netns path (/var/run/netns/x, /proc/<pid>/ns/net) read-only and
 * checks by statfs that it is a namespace file. New fd (close it), or -1:
 * MK_ENOTFOUND when the path is missing (errnum ENOENT), MK_EINVAL with
 * `unknown FS magic on "<path>": <hex>` when it is not a namespace. */
int nl_netns_open(const char *path, struct mk_err **err);

/* Body run inside a namespace with a socket opened there (borrowed). */
typedef int (*nl_netns_fn)(struct nl_sock *s, void *arg, struct mk_err **err);

/* Enters the namespace netns_fd on the calling thread, opens a socket there,
 * calls fn, closes the socket and returns to the thread's original namespace.
 * Returns fn's result. netns_fd -1 runs fn in the current namespace. */
int nl_netns_run(int netns_fd, nl_netns_fn fn, void *arg, struct mk_err **err);

/* Writes value to /proc/sys/<path> ("net/ipv4/ip_forward") of the calling
 * thread's current namespace. */
int nl_sysctl_set(const char *path, const char *value, struct mk_err **err);
/* Reads it: new string without the trailing newline, or NULL. */
char *nl_sysctl_get(const char *path, struct mk_err **err);

#endif
