/* bridge: connects the container to a Linux bridge on the host through a veth
 * pair, with addresses from the IPAM plugin, optional gateway on the bridge
 * and per-container masquerading. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cni/bridge/conf.h"
#include "cni/bridge/masq.h"
#include "ipaddr.h"
#include "cni/skel/skel.h"
#include "netlink.h"
#include "xalloc.h"

/* IF_OPER_UP of <linux/if.h>, which clashes with <net/if.h>. */
#define OPER_UP 6

static char *mac_str(const uint8_t m[6])
{
	return xasprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- host side: the bridge ---- */

/* Finds or creates the bridge. Several ADDs may race to create it: the
 * losers find it made (EEXIST). */
static int setup_bridge(struct cni_ctx *ctx, struct nl_sock *s, const struct br_conf *c,
			struct nl_link *br, struct mk_err **err)
{
	struct mk_err *e = NULL;
	if (nl_link_get(s, c->bridge, 0, br, &e) < 0) {
		if (mk_err_code(e) != MK_ENOTFOUND) {
			*err = e;
			return mk_err_wrap(err, "failed to create bridge \"%s\"", c->bridge);
		}
		mk_err_free(e);
		e = NULL;
		if (strlen(c->bridge) >= IF_NAMESIZE)
			return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
					"failed to create bridge \"%s\": could not add \"%s\": %s",
					c->bridge, c->bridge, nl_strerror(ERANGE));
		if (nl_bridge_create(s, c->bridge, (unsigned int)c->mtu, c->vlan != 0, &e) < 0) {
			if (mk_err_code(e) != MK_EEXISTS) {
				cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
					 "failed to create bridge \"%s\": could not add \"%s\": %s",
					 c->bridge, c->bridge, mk_err_msg(e));
				mk_err_free(e);
				return -1;
			}
			mk_err_free(e);
			e = NULL;
		}
		if (nl_link_get(s, c->bridge, 0, br, err) < 0)
			return mk_err_wrap(err, "failed to create bridge \"%s\"", c->bridge);
	}
	if (strcmp(br->kind, "bridge") != 0)
		return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
				"failed to create bridge \"%s\": \"%s\" already exists but is not a bridge",
				c->bridge, c->bridge);
	if (c->promisc && nl_link_set_promisc(s, br->index, true, err) < 0)
		return mk_err_wrap(err, "could not set promiscuous mode on \"%s\"", c->bridge);
	cleanup_free char *ra = xasprintf("net/ipv6/conf/%s/accept_ra", c->bridge);
	struct mk_err *ignored = NULL;
	(void)nl_sysctl_set(ra, "0", &ignored);
	mk_err_free(ignored);
	if (!(br->flags & IFF_UP) && nl_link_set_up(s, br->index, true, err) < 0)
		return mk_err_wrap(err, "failed to set bridge \"%s\" up", c->bridge);
	return 0;
}

/* ---- the veth pair, made from inside the container's namespace ---- */

struct veth_op {
	struct cni_ctx *ctx;
	const struct br_conf *c;
	int host_ns;
	char host_name[IF_NAMESIZE];
	struct nl_link cont;
};

static int make_veth_in(struct nl_sock *s, void *arg, struct mk_err **err)
{
	struct veth_op *op = arg;
	struct mk_err *e = NULL;
	if (nl_link_index(s, op->ctx->ifname, &e) > 0)
		return cni_fail(op->ctx, err, CNI_ERR_INTERNAL, NULL,
				"container veth name provided (%s) already exists", op->ctx->ifname);
	mk_err_free(e);
	e = NULL;
	for (int tries = 0;; tries++) {
		uint32_t rnd;
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)time(NULL) ^ (uint32_t)getpid() ^ (uint32_t)tries;
		snprintf(op->host_name, sizeof(op->host_name), "veth%08x", rnd);
		if (nl_veth_create(s, op->ctx->ifname, op->host_name, op->host_ns,
				   (unsigned int)op->c->mtu, op->c->has_mac ? op->c->mac : NULL, &e) == 0)
			break;
		/* The random host name was taken: try another, like the reference. */
		if (mk_err_code(e) != MK_EEXISTS || tries >= 9) {
			cni_fail(op->ctx, err, CNI_ERR_INTERNAL, NULL, "failed to make veth pair: %s",
				 mk_err_msg(e));
			mk_err_free(e);
			return -1;
		}
		mk_err_free(e);
		e = NULL;
		if (nl_link_index(s, op->ctx->ifname, &e) > 0)
			return cni_fail(op->ctx, err, CNI_ERR_INTERNAL, NULL,
					"container veth name provided (%s) already exists",
					op->ctx->ifname);
		mk_err_free(e);
		e = NULL;
	}
	if (nl_link_get(s, op->ctx->ifname, 0, &op->cont, err) < 0)
		return -1;
	return 0;
}

static int del_link_in(struct nl_sock *s, void *arg, struct mk_err **err)
{
	const char *name = arg;
	struct mk_err *e = NULL;
	int ix = nl_link_index(s, name, &e);
	if (ix < 0) {
		mk_err_free(e);
		return 0;
	}
	return nl_link_del(s, ix, err);
}

/* ---- container side: addresses and routes ---- */

struct conf_op {
	struct cni_ctx *ctx;
	const struct br_conf *c;
	json_t *res; /* 1.x result, borrowed */
	bool up_only;
};

static int json_net(const json_t *v, struct ipaddr_net *n)
{
	const char *s = json_string_value(v);
	return s ? ipaddr_net_parse(s, n) : -1;
}

static int json_ip(const json_t *v, struct ipaddr *ip)
{
	const char *s = json_string_value(v);
	return s ? ipaddr_parse(s, ip) : -1;
}

/* The first gateway of each family among the result's addresses: the
 * default next hop of routes without one. */
struct family_gws {
	struct ipaddr gw[2]; /* [0] IPv4, [1] IPv6 */
	bool has[2];
	bool any6;
};

static int family_gws_of(const json_t *ips, struct family_gws *f, struct mk_err **err)
{
	memset(f, 0, sizeof(*f));
	size_t i;
	json_t *v;
	json_array_foreach(ips, i, v) {
		struct ipaddr_net n;
		if (json_net(json_object_get(v, "address"), &n) < 0)
			return mk_err_set(err, MK_EINVAL, "invalid address in IPAM result");
		int k = n.ip.family == AF_INET6;
		f->any6 |= k;
		struct ipaddr gw;
		if (!f->has[k] && json_ip(json_object_get(v, "gateway"), &gw) == 0) {
			f->gw[k] = gw;
			f->has[k] = true;
		}
	}
	return 0;
}

/* DAD, ARP notification and IPv6 on the container interface; failures to
 * write these knobs are not fatal, as for the reference. */
static void set_iface_sysctls(const char *ifn, const struct br_conf *c, bool any6)
{
	struct mk_err *ign = NULL;
	cleanup_free char *dad = xasprintf("net/ipv6/conf/%s/accept_dad", ifn);
	(void)nl_sysctl_set(dad, c->enabledad ? "1" : "0", &ign);
	if (c->enabledad) {
		cleanup_free char *ed = xasprintf("net/ipv6/conf/%s/enhanced_dad", ifn);
		(void)nl_sysctl_set(ed, "1", &ign);
	}
	cleanup_free char *arp = xasprintf("net/ipv4/conf/%s/arp_notify", ifn);
	(void)nl_sysctl_set(arp, "1", &ign);
	if (any6) {
		(void)nl_sysctl_set("net/ipv6/conf/lo/disable_ipv6", "0", &ign);
		cleanup_free char *d6 = xasprintf("net/ipv6/conf/%s/disable_ipv6", ifn);
		(void)nl_sysctl_set(d6, "0", &ign);
	}
	mk_err_free(ign);
}

static int add_addresses(struct nl_sock *s, int ix, const char *ifn, const json_t *ips,
			 const struct br_conf *c, struct mk_err **err)
{
	size_t i;
	json_t *v;
	json_array_foreach(ips, i, v) {
		struct ipaddr_net n;
		json_net(json_object_get(v, "address"), &n);
		struct nl_addr a = {.family = n.ip.family, .prefixlen = n.prefix, .index = ix};
		memcpy(a.addr, n.ip.b, 16);
		if (n.ip.family == AF_INET6 && !c->enabledad)
			a.flags = IFA_F_NODAD;
		if (nl_addr_add(s, &a, err) < 0) {
			cleanup_free char *ns = ipaddr_net_str(&n);
			return mk_err_wrap(err, "failed to add IP addr %s to \"%s\"", ns, ifn);
		}
	}
	return 0;
}

/* Every result route, through its own gw or else its family's gateway. */
static int add_routes(struct nl_sock *s, int ix, const char *ifn, const json_t *routes,
		      const struct family_gws *f, struct mk_err **err)
{
	size_t i;
	json_t *v;
	json_array_foreach(routes, i, v) {
		struct ipaddr_net dst;
		if (json_net(json_object_get(v, "dst"), &dst) < 0)
			continue;
		int k = dst.ip.family == AF_INET6;
		struct nl_route r = {.family = dst.ip.family, .dst_len = dst.prefix, .oif = ix};
		struct ipaddr net = ipaddr_net_first(&dst);
		memcpy(r.dst, net.b, 16);
		struct ipaddr gw = f->gw[k];
		r.has_gw = json_ip(json_object_get(v, "gw"), &gw) == 0 || f->has[k];
		memcpy(r.gw, gw.b, 16);
		if (nl_route_add(s, &r, err) < 0) {
			char b[IPADDR_STRLEN];
			cleanup_free char *ds = ipaddr_net_str(&dst);
			return mk_err_wrap(err, "failed to add route '%s via %s dev %s'", ds,
					   r.has_gw ? ipaddr_str(&gw, b) : "<nil>", ifn);
		}
	}
	return 0;
}

static int configure_in(struct nl_sock *s, void *arg, struct mk_err **err)
{
	struct conf_op *op = arg;
	const char *ifn = op->ctx->ifname;
	int ix = nl_link_index(s, ifn, err);
	if (ix < 0)
		return -1;
	if (op->up_only) {
		/* L2 mode: the interface is only brought up, as the reference does. */
		if (op->c->disable_container_iface)
			return 0;
		return nl_link_set_up(s, ix, true, err);
	}
	json_t *ips = json_object_get(op->res, "ips");
	struct family_gws f;
	if (family_gws_of(ips, &f, err) < 0)
		return -1;
	set_iface_sysctls(ifn, op->c, f.any6);
	if (add_addresses(s, ix, ifn, ips, op->c, err) < 0)
		return -1;
	if (nl_link_set_up(s, ix, true, err) < 0)
		return mk_err_wrap(err, "failed to set \"%s\" UP", ifn);
	return add_routes(s, ix, ifn, json_object_get(op->res, "routes"), &f, err);
}

/* ---- gateway address on the bridge ---- */

static int ensure_bridge_addr(struct cni_ctx *ctx, struct nl_sock *s, const struct nl_link *br,
			      const struct ipaddr_net *gw, bool force, struct mk_err **err)
{
	struct nl_addr *as;
	size_t n;
	if (nl_addr_list(s, br->index, gw->ip.family, &as, &n, err) < 0)
		return mk_err_wrap(err, "could not get list of IP addresses");
	cleanup_free char *want = ipaddr_net_str(gw);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct ipaddr_net have = {.ip = {.family = as[i].family}, .prefix = as[i].prefixlen};
		memcpy(have.ip.b, as[i].addr, 16);
		cleanup_free char *hs = ipaddr_net_str(&have);
		if (!strcmp(hs, want)) {
			free(as);
			return 0;
		}
		if (gw->ip.family == AF_INET || ipaddr_net_contains(&have, &gw->ip) ||
		    ipaddr_net_contains(gw, &have.ip)) {
			if (force) {
				rc = nl_addr_del(s, &as[i], err);
				if (rc < 0)
					mk_err_wrap(err, "could not remove IP address from \"%s\"",
						    br->name);
			} else {
				rc = cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
					      "\"%s\" already has an IP address different from %s",
					      br->name, want);
			}
		}
	}
	free(as);
	if (rc < 0)
		return -1;
	struct nl_addr a = {.family = gw->ip.family, .prefixlen = gw->prefix, .index = br->index};
	memcpy(a.addr, gw->ip.b, 16);
	/* IPv6 gateway usable at once: no DAD on the bridge side. */
	if (gw->ip.family == AF_INET6)
		a.flags = IFA_F_NODAD;
	struct mk_err *e = NULL;
	if (nl_addr_add(s, &a, &e) < 0) {
		if (mk_err_code(e) != MK_EEXISTS) {
			mk_err_set(err, MK_EIO, "could not add IP address to \"%s\": %s", br->name,
				   mk_err_msg(e));
			mk_err_free(e);
			return -1;
		}
		mk_err_free(e);
	}
	/* Pin the bridge MAC, else the kernel re-derives it from the lowest port.
	 * The MAC is the one read before this ADD's port joined, as the reference
	 * does, so a new bridge keeps its own random address. */
	uint8_t mac[6];
	memcpy(mac, br->mac, 6);
	static const uint8_t zero[6];
	if (!memcmp(mac, zero, 6)) {
		/* A bridge whose ports all left reads 00:00:00:00:00:00, which cannot
		 * be set: pin the address it has taken since from its new port. */
		struct nl_link cur;
		if (nl_link_get(s, NULL, br->index, &cur, err) < 0)
			return -1;
		memcpy(mac, cur.mac, 6);
	}
	if (br->has_mac && memcmp(mac, zero, 6) && nl_link_set_mac(s, br->index, mac, err) < 0)
		return mk_err_wrap(err, "could not set bridge's mac");
	return 0;
}

static int enable_forward(int family, struct mk_err **err)
{
	const char *path = family == AF_INET ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding";
	cleanup_free char *cur = nl_sysctl_get(path, err);
	if (!cur)
		return -1;
	if (strcmp(cur, "1") == 0)
		return 0;
	return nl_sysctl_set(path, "1", err);
}

static int wait_oper_up(struct nl_sock *s, int index, struct mk_err **err)
{
	/* The port usually comes up within a millisecond: poll finely first. */
	static const long delays_us[] = {0,     100,    200,    500,    1000,   2000,   5000,
					 10000, 50000, 200000, 500000, 1000000, 1000000};
	struct nl_link l = {0};
	for (size_t i = 0; i < sizeof(delays_us) / sizeof(delays_us[0]); i++) {
		if (delays_us[i]) {
			struct timespec ts = {.tv_sec = delays_us[i] / 1000000,
					      .tv_nsec = (delays_us[i] % 1000000) * 1000L};
			nanosleep(&ts, NULL);
		}
		if (nl_link_get(s, NULL, index, &l, err) < 0)
			return -1;
		if (l.operstate == OPER_UP)
			return 0;
	}
	static const char *const names[] = {"unknown", "notpresent", "down", "lowerlayerdown",
					    "testing", "dormant", "up"};
	return mk_err_set(err, MK_EIO, "bridge port in error state: %s",
			  l.operstate < 7 ? names[l.operstate] : "unknown");
}

/* ---- ADD ---- */

static json_t *dns_of(const json_t *dns)
{
	json_t *o = json_object();
	static const char *const keys[] = {"nameservers", "domain", "search", "options", NULL};
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(dns, keys[i]);
		if (v && !(json_is_array(v) && json_array_size(v) == 0) &&
		    !(json_is_string(v) && !*json_string_value(v)))
			json_object_set(o, keys[i], v);
	}
	return o;
}

/* One ADD: what it has set up so far, which its rollback undoes newest
 * first. The bridge and its addresses are never undone: other ADDs may have
 * joined the bridge the moment it existed. */
struct add {
	struct cni_ctx *ctx;
	struct br_conf c;
	int ns, host_ns;
	struct nl_sock *s;
	struct cni_job ipam; /* the IPAM ADD while it runs */
	bool ipam_done, veth_made, spoof_done, masq_done;
	struct nl_link br, host;
	struct veth_op vop;
	json_t *res;      /* the 1.x result being built */
	json_t *ipam_dns; /* the IPAM result's dns */
	struct ipaddr_net *gws; /* gateways for the bridge (isGateway) */
	size_t ngw;
};

/* The bridge, and the veth pair made from inside the container with its host
 * end up, enslaved, hairpin set (and mac spoof check). */
static int add_attach(struct add *a, struct mk_err **err)
{
	struct cni_ctx *ctx = a->ctx;
	if (setup_bridge(ctx, a->s, &a->c, &a->br, err) < 0)
		return -1;
	a->vop = (struct veth_op){.ctx = ctx, .c = &a->c, .host_ns = a->host_ns};
	if (nl_netns_run(a->ns, make_veth_in, &a->vop, err) < 0)
		return -1;
	a->veth_made = true;
	const char *hn = a->vop.host_name;
	if (nl_link_get(a->s, hn, 0, &a->host, err) < 0)
		return -1;
	if (nl_link_set_up(a->s, a->host.index, true, err) < 0)
		return mk_err_wrap(err, "failed to set \"%s\" up", hn);
	cleanup_free char *ra = xasprintf("net/ipv6/conf/%s/accept_ra", hn);
	struct mk_err *ign = NULL;
	(void)nl_sysctl_set(ra, "0", &ign);
	mk_err_free(ign);
	if (nl_link_set_master(a->s, a->host.index, a->br.index, err) < 0)
		return mk_err_wrap(err, "failed to connect \"%s\" to bridge %s", hn, a->c.bridge);
	if (nl_bridge_port_set_hairpin(a->s, a->host.index, a->c.hairpin, err) < 0)
		return mk_err_wrap(err, "failed to setup hairpin mode for %s", hn);
	if (a->c.macspoofchk) {
		a->spoof_done = true;
		if (spoofchk_setup(ctx->container_id, ctx->ifname, hn, a->vop.cont.mac, err) < 0)
			return mk_err_wrap(err, "failed to set up mac spoof check");
	}
	return 0;
}

/* The IPAM plugin's result into a->res (ips, routes) and a->ipam_dns. */
static int add_ipam_result(struct add *a, struct mk_err **err)
{
	json_t *raw = NULL;
	if (cni_delegate_finish(a->ctx, &a->ipam, &raw, err) < 0)
		return -1;
	a->ipam_done = true;
	json_t *ir = cni_result_normalize(raw, err);
	json_decref(raw);
	if (!ir)
		return -1;
	json_object_set(a->res, "ips", json_object_get(ir, "ips"));
	json_object_set(a->res, "routes", json_object_get(ir, "routes"));
	a->ipam_dns = json_incref(json_object_get(ir, "dns"));
	json_decref(ir);
	if (json_array_size(json_object_get(a->res, "ips")) == 0)
		return cni_fail(a->ctx, err, CNI_ERR_INTERNAL, NULL,
				"IPAM plugin returned missing IP config");
	return 0;
}

/* Every address gets interface 2 (the container's) and, with isGateway, a
 * gateway (the subnet's first address when IPAM gave none) that the bridge
 * will carry; isDefaultGateway adds a default route per family that IPAM did
 * not route. */
static void add_gateways(struct add *a)
{
	json_t *ips = json_object_get(a->res, "ips");
	json_t *routes = json_object_get(a->res, "routes");
	bool def_found[2] = {false, false};
	size_t i;
	json_t *v;
	json_array_foreach(routes, i, v) {
		struct ipaddr_net d;
		if (json_net(json_object_get(v, "dst"), &d) == 0 && d.prefix == 0)
			def_found[d.ip.family == AF_INET6] = true;
	}
	a->gws = xcalloc(json_array_size(ips) + 1, sizeof(*a->gws));
	json_array_foreach(ips, i, v) {
		struct ipaddr_net addr;
		if (json_net(json_object_get(v, "address"), &addr) < 0)
			continue;
		struct ipaddr gw;
		char b[IPADDR_STRLEN];
		bool hg = json_ip(json_object_get(v, "gateway"), &gw) == 0;
		/* "interface" before "address", as the reference prints it */
		json_t *ord = json_pack("{s:i,s:O}", "interface", 2, "address",
					json_object_get(v, "address"));
		if (!hg && a->c.is_gw) {
			gw = ipaddr_net_first(&addr);
			ipaddr_next(&gw);
			hg = true;
			json_object_set_new(ord, "gateway", json_string(ipaddr_str(&gw, b)));
		} else if (json_object_get(v, "gateway")) {
			json_object_set(ord, "gateway", json_object_get(v, "gateway"));
		}
		json_array_set_new(ips, i, ord);
		if (!hg || !a->c.is_gw)
			continue;
		a->gws[a->ngw++] = (struct ipaddr_net){.ip = gw, .prefix = addr.prefix};
		int f = addr.ip.family == AF_INET6;
		if (a->c.is_default_gw && !def_found[f]) {
			json_array_append_new(routes, json_pack("{s:s,s:s}", "dst",
								f ? "::/0" : "0.0.0.0/0", "gw",
								ipaddr_str(&gw, b)));
			def_found[f] = true;
		}
	}
}

/* isGateway: once the port forwards, each gateway on the bridge and
 * forwarding on for its family. */
static int add_bridge_gateways(struct add *a, struct mk_err **err)
{
	if (wait_oper_up(a->s, a->host.index, err) < 0)
		return -1;
	bool fwd[2] = {false, false};
	for (size_t k = 0; k < a->ngw; k++) {
		if (ensure_bridge_addr(a->ctx, a->s, &a->br, &a->gws[k], a->c.force_address, err) < 0)
			return mk_err_wrap(err, "failed to set bridge addr");
		int f = a->gws[k].ip.family == AF_INET6;
		if (fwd[f])
			continue;
		if (enable_forward(a->gws[k].ip.family, err) < 0)
			return mk_err_wrap(err, "failed to enable forwarding");
		fwd[f] = true;
	}
	return 0;
}

static int add_masq(struct add *a, struct mk_err **err)
{
	a->masq_done = true;
	bool legacy = masq_backend_is_legacy();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(a->res, "ips"), i, v) {
		struct ipaddr_net addr;
		if (json_net(json_object_get(v, "address"), &addr) < 0)
			continue;
		const char *id = a->ctx->container_id;
		int rc = legacy ? masq_legacy_setup(a->c.name, id, &addr, err)
				: masq_setup(a->c.name, id, &addr, err);
		if (rc < 0)
			return mk_err_wrap(err, "failed to set up IP masquerading");
	}
	return 0;
}

/* The interfaces as they are now (the bridge may have taken a port's MAC),
 * the dns, and the result printed in the config's version. */
static int add_print_result(struct add *a, struct mk_err **err)
{
	struct cni_ctx *ctx = a->ctx;
	if (nl_link_get(a->s, NULL, a->br.index, &a->br, err) < 0 ||
	    nl_link_get(a->s, NULL, a->host.index, &a->host, err) < 0)
		return -1;
	cleanup_free char *bm = mac_str(a->br.mac);
	cleanup_free char *hm = mac_str(a->host.mac);
	cleanup_free char *cm = mac_str(a->vop.cont.mac);
	json_t *ifs = json_object_get(a->res, "interfaces");
	json_array_append_new(ifs, json_pack("{s:s,s:s}", "name", a->c.bridge, "mac", bm));
	json_array_append_new(ifs, json_pack("{s:s,s:s}", "name", a->vop.host_name, "mac", hm));
	json_array_append_new(ifs, json_pack("{s:s,s:s,s:s}", "name", ctx->ifname, "mac", cm,
					     "sandbox", ctx->netns));
	/* The netconf's dns wins when it says anything; else the IPAM's. */
	json_t *dns = dns_of(a->c.dns);
	if (json_object_size(dns) == 0 && a->ipam_dns) {
		json_decref(dns);
		dns = dns_of(a->ipam_dns);
	}
	json_object_set_new(a->res, "dns", dns);
	cleanup_json json_t *out = cni_result_convert(a->res, ctx->version, err);
	if (!out)
		return -1;
	cni_print_json(out);
	return 0;
}

static int add_run(struct add *a, struct mk_err **err)
{
	struct cni_ctx *ctx = a->ctx;
	/* The IPAM plugin runs while the bridge and the veth are set up. */
	if (a->c.ipam_type && cni_delegate_start(ctx, a->c.ipam_type, "ADD", &a->ipam, err) < 0)
		return -1;
	if (add_attach(a, err) < 0)
		return -1;
	a->res = json_pack("{s:s,s:[],s:[],s:[]}", "cniVersion", "1.1.0", "interfaces", "ips",
			   "routes");
	struct conf_op cop = {.ctx = ctx, .c = &a->c, .res = a->res, .up_only = !a->c.ipam_type};
	if (a->c.ipam_type) {
		if (add_ipam_result(a, err) < 0)
			return -1;
		add_gateways(a);
	}
	if (nl_netns_run(a->ns, configure_in, &cop, err) < 0)
		return -1;
	if (a->c.ipam_type && a->c.is_gw && add_bridge_gateways(a, err) < 0)
		return -1;
	if (a->c.ipam_type && a->c.ip_masq && add_masq(a, err) < 0)
		return -1;
	return add_print_result(a, err);
}

/* Undoes what the failed ADD made, newest first, keeping its error (code
 * and details included). */
static void add_rollback(struct add *a)
{
	struct cni_ctx *ctx = a->ctx;
	int code = ctx->err_code;
	char *details = steal_pointer(&ctx->err_details);
	struct mk_err *e = NULL;
	/* reap a still running IPAM ADD; what it allocated is released below */
	if (a->ipam.job && cni_delegate_finish(ctx, &a->ipam, NULL, &e) == 0)
		a->ipam_done = true;
	if (a->masq_done) {
		(void)masq_teardown(a->c.name, ctx->container_id, &e);
		(void)masq_legacy_teardown(a->c.name, ctx->container_id, &e);
	}
	if (a->spoof_done)
		(void)spoofchk_teardown(ctx->container_id, ctx->ifname, &e);
	if (a->veth_made)
		(void)nl_netns_run(a->ns, del_link_in, (void *)ctx->ifname, &e);
	if (a->ipam_done)
		(void)cni_delegate(ctx, a->c.ipam_type, "DEL", NULL, &e);
	mk_err_free(e);
	ctx->err_code = code;
	free(ctx->err_details);
	ctx->err_details = details;
}

static int br_add(struct cni_ctx *ctx, struct mk_err **err)
{
	struct add a = {.ctx = ctx, .ns = -1, .host_ns = -1};
	if (br_conf_parse(ctx, &a.c, err) < 0)
		return -1;
	/* The namespace is validated before the host is touched. */
	a.ns = nl_netns_open(ctx->netns, err);
	if (a.ns < 0)
		return mk_err_wrap(err, "failed to open netns \"%s\"", ctx->netns);
	int rc = -1;
	a.host_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (a.host_ns < 0) {
		mk_err_errno(err, MK_EIO, errno, "opening host netns");
		goto out;
	}
	a.s = nl_sock_open(err);
	if (!a.s)
		goto out;
	rc = add_run(&a, err);
	if (rc < 0)
		add_rollback(&a);
out:
	json_decref(a.res);
	json_decref(a.ipam_dns);
	free(a.gws);
	nl_sock_close(a.s);
	if (a.host_ns >= 0)
		close(a.host_ns);
	close(a.ns);
	return rc;
}

/* ---- DEL ---- */

struct del_job {
	pthread_t thread;
	int ns;
	const char *ifname;
	int rc;
	struct mk_err *err;
};

static void *del_thread(void *arg)
{
	struct del_job *dj = arg;
	dj->rc = nl_netns_run(dj->ns, del_link_in, (void *)dj->ifname, &dj->err);
	return NULL;
}

static int br_del(struct cni_ctx *ctx, struct mk_err **err)
{
	struct br_conf c;
	if (br_conf_parse(ctx, &c, err) < 0)
		return -1;
	/* The kernel takes tens of milliseconds to unregister a veth; the IPAM
	 * release and the NAT teardown proceed meanwhile on this thread. */
	struct del_job dj = {.ns = -1, .ifname = ctx->ifname};
	bool threaded = false;
	if (*ctx->netns) {
		struct mk_err *e = NULL;
		dj.ns = nl_netns_open(ctx->netns, &e);
		/* A missing path or one that is no longer a namespace: already gone. */
		mk_err_free(e);
		if (dj.ns >= 0) {
			threaded = pthread_create(&dj.thread, NULL, del_thread, &dj) == 0;
			if (!threaded)
				del_thread(&dj);
		}
	}
	struct mk_err *e2 = NULL;
	int rc2 = 0;
	if (c.ipam_type && cni_delegate(ctx, c.ipam_type, "DEL", NULL, &e2) < 0)
		rc2 = -1;
	/* The chain is found by its name, so it goes even when the netns is gone. */
	/* Both backends: the chain may come from a plugin that used the other. */
	if (rc2 == 0 && c.ip_masq &&
	    (masq_teardown(c.name, ctx->container_id, &e2) < 0 ||
	     masq_legacy_teardown(c.name, ctx->container_id, &e2) < 0)) {
		mk_err_wrap(&e2, "failed to tear down IP masquerading");
		rc2 = -1;
	}
	if (rc2 == 0 && c.macspoofchk && spoofchk_teardown(ctx->container_id, ctx->ifname, &e2) < 0) {
		mk_err_wrap(&e2, "failed to tear down mac spoof check");
		rc2 = -1;
	}
	if (threaded)
		pthread_join(dj.thread, NULL);
	if (dj.ns >= 0)
		close(dj.ns);
	if (dj.rc < 0) {
		mk_err_free(e2);
		*err = dj.err;
		return mk_err_wrap(err, "failed to delete \"%s\"", ctx->ifname);
	}
	if (rc2 < 0) {
		*err = e2;
		return -1;
	}
	return 0;
}

/* ---- CHECK ---- */

struct check_op {
	struct cni_ctx *ctx;
	json_t *res;
	int cont_index;
	struct nl_link cont;
};

static int check_in(struct nl_sock *s, void *arg, struct mk_err **err)
{
	struct check_op *op = arg;
	const char *ifn = op->ctx->ifname;
	if (nl_link_get(s, ifn, 0, &op->cont, err) < 0) {
		mk_err_free(*err);
		*err = NULL;
		return cni_fail(op->ctx, err, CNI_ERR_INTERNAL, NULL, "Interface name %s not found", ifn);
	}
	if (strcmp(op->cont.kind, "veth") != 0)
		return cni_fail(op->ctx, err, CNI_ERR_INTERNAL, NULL, "Error: Container interface %s not of type veth", ifn);
	json_t *ifc = json_array_get(json_object_get(op->res, "interfaces"), (size_t)op->cont_index);
	const char *mac = json_string_value(json_object_get(ifc, "mac"));
	if (mac) {
		cleanup_free char *have = mac_str(op->cont.mac);
		if (strcasecmp(have, mac) != 0)
			return cni_fail(op->ctx, err, CNI_ERR_INTERNAL, NULL,
					"Interface %s Mac %s doesn't match container Mac: %s", ifn, mac,
					have);
	}
	struct nl_addr *as;
	size_t n;
	if (nl_addr_list(s, op->cont.index, AF_UNSPEC, &as, &n, err) < 0)
		return -1;
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(json_object_get(op->res, "ips"), i, v) {
		json_t *ix = json_object_get(v, "interface");
		if (ix && json_integer_value(ix) != op->cont_index)
			continue;
		struct ipaddr_net want;
		if (json_net(json_object_get(v, "address"), &want) < 0)
			continue;
		bool found = false;
		for (size_t k = 0; k < n; k++)
			if (as[k].family == want.ip.family && as[k].prefixlen == want.prefix &&
			    !memcmp(as[k].addr, want.ip.b, (size_t)ipaddr_len(&want.ip)))
				found = true;
		if (!found) {
			rc = cni_fail(op->ctx, err, CNI_ERR_INTERNAL, NULL,
				      "Failed to match addr %s on interface %s",
				      json_string_value(json_object_get(v, "address")), ifn);
			break;
		}
	}
	free(as);
	if (rc < 0)
		return -1;
	struct nl_route *rs;
	if (nl_route_list(s, AF_UNSPEC, 0, &rs, &n, err) < 0)
		return -1;
	json_array_foreach(json_object_get(op->res, "routes"), i, v) {
		struct ipaddr_net dst;
		if (json_net(json_object_get(v, "dst"), &dst) < 0)
			continue;
		struct ipaddr net = ipaddr_net_first(&dst), gw;
		bool hg = json_ip(json_object_get(v, "gw"), &gw) == 0;
		bool found = false;
		for (size_t k = 0; k < n; k++) {
			if (rs[k].family != dst.ip.family || rs[k].dst_len != dst.prefix ||
			    memcmp(rs[k].dst, net.b, (size_t)ipaddr_len(&net)))
				continue;
			if (hg && (!rs[k].has_gw || memcmp(rs[k].gw, gw.b, (size_t)ipaddr_len(&gw))))
				continue;
			found = true;
		}
		if (!found) {
			rc = cni_fail(op->ctx, err, CNI_ERR_INTERNAL, NULL,
				      "Expected Route {Dst:%s GW:%s} not found in routing table",
				      json_string_value(json_object_get(v, "dst")),
				      hg ? json_string_value(json_object_get(v, "gw")) : "<nil>");
			break;
		}
	}
	free(rs);
	return rc;
}

static int br_check(struct cni_ctx *ctx, struct mk_err **err)
{
	struct br_conf c;
	if (br_conf_parse(ctx, &c, err) < 0)
		return -1;
	cleanup_close int ns = nl_netns_open(ctx->netns, err);
	if (ns < 0)
		return mk_err_wrap(err, "failed to open netns \"%s\"", ctx->netns);
	if (c.ipam_type && cni_delegate(ctx, c.ipam_type, "CHECK", NULL, err) < 0)
		return -1;
	json_t *prev = json_object_get(ctx->conf, "prevResult");
	if (!prev)
		return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "Required prevResult missing");
	cleanup_json json_t *res = cni_result_normalize(prev, err);
	if (!res)
		return -1;
	int br_ix = -1, cont_ix = -1;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(res, "interfaces"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *sb = json_string_value(json_object_get(v, "sandbox"));
		if (name && !strcmp(name, c.bridge))
			br_ix = (int)i;
		if (name && !strcmp(name, ctx->ifname) && sb) {
			if (strcmp(sb, ctx->netns) != 0)
				return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
						"Sandbox in prevResult %s doesn't match configured netns: %s",
						sb, ctx->netns);
			cont_ix = (int)i;
		}
	}
	struct nl_sock *s = nl_sock_open(err);
	if (!s)
		return -1;
	int rc = -1;
	struct nl_link br;
	struct mk_err *e = NULL;
	if (nl_link_get(s, c.bridge, 0, &br, &e) < 0) {
		mk_err_free(e);
		cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "Interface name %s not found", c.bridge);
		goto out;
	}
	if (strcmp(br.kind, "bridge") != 0) {
		cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
			 "Interface %s does not have link type of bridge", c.bridge);
		goto out;
	}
	if (br_ix >= 0) {
		const char *mac = json_string_value(
			json_object_get(json_array_get(json_object_get(res, "interfaces"), (size_t)br_ix),
					"mac"));
		cleanup_free char *have = mac_str(br.mac);
		if (mac && strcasecmp(mac, have) != 0) {
			cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
				 "Bridge interface %s Mac doesn't match: %s", c.bridge, mac);
			goto out;
		}
	}
	if (((br.flags & IFF_PROMISC) != 0) != c.promisc) {
		cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
			 "Bridge interface %s configured Promisc Mode %s doesn't match current state: %s ",
			 c.bridge, c.promisc ? "true" : "false",
			 (br.flags & IFF_PROMISC) ? "true" : "false");
		goto out;
	}
	if (cont_ix < 0) {
		cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "Interface name %s not found", ctx->ifname);
		goto out;
	}
	struct check_op op = {.ctx = ctx, .res = res, .cont_index = cont_ix};
	if (nl_netns_run(ns, check_in, &op, err) < 0)
		goto out;
	/* the host end: a veth on the bridge whose peer is the container's interface */
	struct nl_link *links;
	size_t n;
	if (nl_link_list(s, &links, &n, err) < 0)
		goto out;
	bool found = false;
	for (size_t k = 0; k < n; k++)
		if (!strcmp(links[k].kind, "veth") && links[k].master == br.index &&
		    links[k].index == op.cont.peer && links[k].peer == op.cont.index)
			found = true;
	free(links);
	if (!found) {
		cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "CNI veth created for bridge %s was not found",
			 c.bridge);
		goto out;
	}
	if (c.ip_masq) {
		json_array_foreach(json_object_get(res, "ips"), i, v) {
			struct ipaddr_net a;
			if (json_net(json_object_get(v, "address"), &a) < 0)
				continue;
			int ex = masq_exists(c.name, ctx->container_id, a.ip.family, err);
			if (ex < 0)
				goto out;
			if (ex == 0)
				ex = masq_legacy_exists(c.name, ctx->container_id, a.ip.family);
			if (ex == 0) {
				char chain[29];
				masq_chain_name(c.name, ctx->container_id, chain);
				cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
					 "masquerade chain %s not found", chain);
				goto out;
			}
		}
	}
	rc = 0;
out:
	nl_sock_close(s);
	return rc;
}

/* ---- 1.1: GC and STATUS go to the IPAM plugin ---- */

static int br_gc(struct cni_ctx *ctx, struct mk_err **err)
{
	const char *type = json_string_value(json_object_get(json_object_get(ctx->conf, "ipam"), "type"));
	/* A list that cannot be read frees nothing, here or in the IPAM plugin. */
	const json_t *valid;
	if (cni_gc_valid_attachments(ctx, &valid, err) < 0)
		return -1;
	cleanup_json json_t *empty = json_array();
	/* GC goes on past errors: the IPAM's and ours are both attempted. */
	struct mk_err *e1 = NULL;
	int rc = 0;
	if (type && *type && cni_delegate(ctx, type, "GC", NULL, &e1) < 0)
		rc = -1;
	const char *name = json_string_value(json_object_get(ctx->conf, "name"));
	if (json_is_true(json_object_get(ctx->conf, "ipMasq")) &&
	    masq_gc(name, valid ? valid : empty, rc < 0 ? NULL : &e1) < 0)
		rc = -1;
	if (rc < 0)
		*err = e1;
	return rc;
}

static int br_status(struct cni_ctx *ctx, struct mk_err **err)
{
	const char *type = json_string_value(json_object_get(json_object_get(ctx->conf, "ipam"), "type"));
	if (type && *type)
		return cni_delegate(ctx, type, "STATUS", NULL, err);
	return 0;
}

int main(void)
{
	static const struct cni_plugin plugin = {
		.name = "bridge",
		.add = br_add,
		.del = br_del,
		.check = br_check,
		.gc = br_gc,
		.status = br_status,
	};
	return cni_skel_main(&plugin);
}
