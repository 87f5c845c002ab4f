#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <libmnl/libmnl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "nfnl.h"
#include "xalloc.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* Requests are small: one link or route with a few attributes. */
#define NL_SEND_SIZE 4096

/* The socket, sequence numbers and receive loop are lib/nfnl's. */
struct nl_sock {
	struct nfnl_sock *nf;
};

const char *nl_strerror(int errnum)
{
	return nfnl_strerror(errnum);
}

struct nl_sock *nl_sock_open(struct mk_err **err)
{
	struct nfnl_sock *nf = nfnl_sock_open_bus(NETLINK_ROUTE, err);
	if (!nf)
		return NULL;
	struct nl_sock *s = xcalloc(1, sizeof(*s));
	s->nf = nf;
	return s;
}

void nl_sock_close(struct nl_sock *s)
{
	if (!s)
		return;
	nfnl_sock_close(s->nf);
	free(s);
}

/* Sends nlh and reads until its ack or the end of its dump, passing every
 * other reply to cb. */
static int nl_talk(struct nl_sock *s, struct nlmsghdr *nlh, nfnl_cb cb, void *data,
		   struct mk_err **err)
{
	return nfnl_talk(s->nf, nlh, cb, data, err);
}

static struct nlmsghdr *msg_new(char *buf, uint16_t type, uint16_t flags)
{
	memset(buf, 0, NL_SEND_SIZE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

/* Attribute helpers that refuse to overflow the fixed send buffer. */
static bool put_ok(struct nlmsghdr *nlh, size_t len)
{
	return nlh->nlmsg_len + MNL_ATTR_HDRLEN + MNL_ALIGN(len) <= NL_SEND_SIZE;
}

static int put_str(struct nlmsghdr *nlh, uint16_t type, const char *s, struct mk_err **err)
{
	if (!mnl_attr_put_strz_check(nlh, NL_SEND_SIZE, type, s))
		return mk_err_set(err, MK_EINVAL, "netlink message too large");
	return 0;
}

static int put_data(struct nlmsghdr *nlh, uint16_t type, const void *p, size_t len,
		    struct mk_err **err)
{
	if (!put_ok(nlh, len))
		return mk_err_set(err, MK_EINVAL, "netlink message too large");
	mnl_attr_put(nlh, type, len, p);
	return 0;
}

static int addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* ---- links ---- */

struct link_parse {
	struct nl_link *one;  /* single get */
	struct nl_link *arr;  /* list */
	size_t n, cap;
};

static void parse_linkinfo(const struct nlattr *li, struct nl_link *l)
{
	const struct nlattr *a;
	mnl_attr_for_each_nested(a, li) {
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
		    mnl_attr_validate(a, MNL_TYPE_STRING) == 0) {
			size_t len = mnl_attr_get_payload_len(a);
			if (len >= sizeof(l->kind))
				len = sizeof(l->kind) - 1;
			memcpy(l->kind, mnl_attr_get_payload(a), len);
			l->kind[len] = 0;
		}
	}
}

static void parse_link(const struct nlmsghdr *nlh, struct nl_link *l)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->link_netnsid = -1;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->master = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINK:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->peer = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINK_NETNSID:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->link_netnsid = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_OPERSTATE:
			if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
				l->operstate = mnl_attr_get_u8(a);
			break;
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(a) == 6) {
				memcpy(l->mac, mnl_attr_get_payload(a), 6);
				l->has_mac = true;
			}
			break;
		case IFLA_LINKINFO:
			parse_linkinfo(a, l);
			break;
		}
	}
}

static int link_cb(const struct nlmsghdr *nlh, void *data, struct mk_err **err)
{
	(void)err;
	struct link_parse *p = data;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (p->one) {
		parse_link(nlh, p->one);
		return 0;
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->arr = xrealloc(p->arr, p->cap * sizeof(*p->arr));
	}
	parse_link(nlh, &p->arr[p->n++]);
	return 0;
}

int nl_link_get(struct nl_sock *s, const char *name, int index, struct nl_link *out,
		struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	if (name) {
		if (strlen(name) >= IF_NAMESIZE)
			return mk_err_set(err, MK_ENOTFOUND, "link %s not found", name);
		if (put_str(nlh, IFLA_IFNAME, name, err) < 0)
			return -1;
	} else {
		ifi->ifi_index = index;
	}
	uint32_t mask = RTEXT_FILTER_SKIP_STATS;
	if (put_data(nlh, IFLA_EXT_MASK, &mask, sizeof(mask), err) < 0)
		return -1;
	struct link_parse p = {.one = out};
	out->index = 0;
	if (nl_talk(s, nlh, link_cb, &p, err) < 0)
		return -1;
	if (out->index == 0)
		return mk_err_set(err, MK_ENOTFOUND, "link not found");
	return 0;
}

int nl_link_index(struct nl_sock *s, const char *name, struct mk_err **err)
{
	struct nl_link l;
	if (nl_link_get(s, name, 0, &l, err) < 0)
		return -1;
	return l.index;
}

int nl_link_list(struct nl_sock *s, struct nl_link **out, size_t *n, struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	struct link_parse p = {0};
	if (nl_talk(s, nlh, link_cb, &p, err) < 0) {
		free(p.arr);
		return -1;
	}
	*out = p.arr;
	*n = p.n;
	return 0;
}

/* RTM_NEWLINK on an existing link with the attributes the caller adds. */
static struct nlmsghdr *setlink_msg(char *buf, int index, struct ifinfomsg **ifip)
{
	struct nlmsghdr *nlh = msg_new(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	if (ifip)
		*ifip = ifi;
	return nlh;
}

static int set_flag(struct nl_sock *s, int index, unsigned int flag, bool on, struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = setlink_msg(buf, index, &ifi);
	ifi->ifi_change = flag;
	ifi->ifi_flags = on ? flag : 0;
	return nl_talk(s, nlh, NULL, NULL, err);
}

int nl_link_set_up(struct nl_sock *s, int index, bool up, struct mk_err **err)
{
	return set_flag(s, index, IFF_UP, up, err);
}

int nl_link_set_promisc(struct nl_sock *s, int index, bool on, struct mk_err **err)
{
	return set_flag(s, index, IFF_PROMISC, on, err);
}

int nl_link_set_mtu(struct nl_sock *s, int index, unsigned int mtu, struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = setlink_msg(buf, index, NULL);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(s, nlh, NULL, NULL, err);
}

int nl_link_set_mac(struct nl_sock *s, int index, const uint8_t mac[6], struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = setlink_msg(buf, index, NULL);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return nl_talk(s, nlh, NULL, NULL, err);
}

int nl_link_set_master(struct nl_sock *s, int index, int master_index, struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = setlink_msg(buf, index, NULL);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master_index);
	return nl_talk(s, nlh, NULL, NULL, err);
}

int nl_link_set_netns(struct nl_sock *s, int index, int netns_fd, struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = setlink_msg(buf, index, NULL);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	return nl_talk(s, nlh, NULL, NULL, err);
}

int nl_link_del(struct nl_sock *s, int index, struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return nl_talk(s, nlh, NULL, NULL, err);
}

static int check_name(const char *name, struct mk_err **err)
{
	if (!name || !*name || strlen(name) >= IF_NAMESIZE)
		return mk_err_set(err, MK_EINVAL, "%s", nl_strerror(ERANGE));
	return 0;
}

int nl_veth_create(struct nl_sock *s, const char *name, const char *peer, int peer_netns_fd,
		   unsigned int mtu, const uint8_t *mac, struct mk_err **err)
{
	if (check_name(name, err) < 0 || check_name(peer, err) < 0)
		return -1;
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *pe = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, pe);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	return nl_talk(s, nlh, NULL, NULL, err);
}

/* ---- bridges ---- */

int nl_bridge_create(struct nl_sock *s, const char *name, unsigned int mtu, bool vlan_filtering,
		     struct mk_err **err)
{
	if (check_name(name, err) < 0)
		return -1;
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	if (vlan_filtering) {
		struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, 1);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, li);
	return nl_talk(s, nlh, NULL, NULL, err);
}

int nl_bridge_port_set_hairpin(struct nl_sock *s, int index, bool on, struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, RTM_SETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = index;
	struct nlattr *pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
	mnl_attr_nest_end(nlh, pi);
	return nl_talk(s, nlh, NULL, NULL, err);
}

struct hairpin_parse {
	int index;
	int mode;
};

static int hairpin_cb(const struct nlmsghdr *nlh, void *data, struct mk_err **err)
{
	(void)err;
	struct hairpin_parse *p = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWLINK || ifi->ifi_index != p->index)
		return 0;
	const struct nlattr *a, *b;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		if ((mnl_attr_get_type(a) & NLA_TYPE_MASK) != IFLA_PROTINFO)
			continue;
		mnl_attr_for_each_nested(b, a) {
			if (mnl_attr_get_type(b) == IFLA_BRPORT_MODE &&
			    mnl_attr_validate(b, MNL_TYPE_U8) == 0)
				p->mode = mnl_attr_get_u8(b);
		}
	}
	return 0;
}

int nl_bridge_port_get_hairpin(struct nl_sock *s, int index, struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_BRIDGE;
	struct hairpin_parse p = {.index = index, .mode = -1};
	if (nl_talk(s, nlh, hairpin_cb, &p, err) < 0)
		return -1;
	if (p.mode < 0)
		return mk_err_set(err, MK_ENOTFOUND, "link %d is not a bridge port", index);
	return p.mode;
}

/* ---- addresses ---- */

static int addr_msg(struct nl_sock *s, uint16_t type, uint16_t flags, const struct nl_addr *a,
		    struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, type, flags);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = (uint8_t)a->prefixlen;
	ifa->ifa_index = (uint32_t)a->index;
	ifa->ifa_scope = (uint8_t)a->scope;
	int len = addr_len(a->family);
	mnl_attr_put(nlh, IFA_LOCAL, len, a->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, a->addr);
	if (a->family == AF_INET && a->prefixlen < 31 && type == RTM_NEWADDR) {
		/* Broadcast = address with the host bits set, as `ip addr add ... brd +`. */
		uint8_t brd[4];
		memcpy(brd, a->addr, 4);
		uint32_t host = a->prefixlen ? (0xffffffffu >> a->prefixlen) : 0xffffffffu;
		uint32_t v;
		memcpy(&v, brd, 4);
		v |= htonl(host);
		memcpy(brd, &v, 4);
		mnl_attr_put(nlh, IFA_BROADCAST, 4, brd);
	}
	if (a->flags) {
		ifa->ifa_flags = (uint8_t)(a->flags & 0xff);
		mnl_attr_put_u32(nlh, IFA_FLAGS, a->flags);
	}
	return nl_talk(s, nlh, NULL, NULL, err);
}

int nl_addr_add(struct nl_sock *s, const struct nl_addr *a, struct mk_err **err)
{
	return addr_msg(s, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, a, err);
}

int nl_addr_del(struct nl_sock *s, const struct nl_addr *a, struct mk_err **err)
{
	return addr_msg(s, RTM_DELADDR, 0, a, err);
}

struct addr_parse {
	int index;
	int family;
	struct nl_addr *arr;
	size_t n, cap;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data, struct mk_err **err)
{
	(void)err;
	struct addr_parse *p = data;
	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (p->index && (int)ifa->ifa_index != p->index)
		return 0;
	if (p->family != AF_UNSPEC && ifa->ifa_family != p->family)
		return 0;
	struct nl_addr a = {
		.family = ifa->ifa_family,
		.prefixlen = ifa->ifa_prefixlen,
		.index = (int)ifa->ifa_index,
		.scope = ifa->ifa_scope,
		.flags = ifa->ifa_flags,
	};
	bool have_local = false, have_addr = false;
	uint8_t address[16] = {0};
	int len = addr_len(a.family);
	const struct nlattr *at;
	mnl_attr_for_each(at, nlh, sizeof(*ifa)) {
		int t = mnl_attr_get_type(at);
		if ((t == IFA_LOCAL || t == IFA_ADDRESS) &&
		    mnl_attr_get_payload_len(at) == (uint16_t)len) {
			if (t == IFA_LOCAL) {
				memcpy(a.addr, mnl_attr_get_payload(at), len);
				have_local = true;
			} else {
				memcpy(address, mnl_attr_get_payload(at), len);
				have_addr = true;
			}
		} else if (t == IFA_FLAGS && mnl_attr_validate(at, MNL_TYPE_U32) == 0) {
			a.flags = mnl_attr_get_u32(at);
		}
	}
	if (!have_local && have_addr)
		memcpy(a.addr, address, len);
	if (!have_local && !have_addr)
		return 0;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->arr = xrealloc(p->arr, p->cap * sizeof(*p->arr));
	}
	p->arr[p->n++] = a;
	return 0;
}

int nl_addr_list(struct nl_sock *s, int index, int family, struct nl_addr **out, size_t *n,
		 struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	struct addr_parse p = {.index = index, .family = family};
	if (nl_talk(s, nlh, addr_cb, &p, err) < 0) {
		free(p.arr);
		return -1;
	}
	*out = p.arr;
	*n = p.n;
	return 0;
}

/* ---- routes ---- */

static int route_msg(struct nl_sock *s, uint16_t type, uint16_t flags, const struct nl_route *r,
		     struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	int len = addr_len(r->family);
	uint32_t table = r->table ? r->table : RT_TABLE_MAIN;
	rtm->rtm_family = (uint8_t)r->family;
	rtm->rtm_dst_len = (uint8_t)r->dst_len;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	if (type == RTM_DELROUTE) {
		rtm->rtm_protocol = r->protocol;
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
		rtm->rtm_type = r->type;
	} else {
		rtm->rtm_protocol = r->protocol ? r->protocol : RTPROT_BOOT;
		rtm->rtm_scope = r->scope;
		rtm->rtm_type = r->type ? r->type : RTN_UNICAST;
	}
	if (table >= 256)
		mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (r->dst_len > 0)
		mnl_attr_put(nlh, RTA_DST, len, r->dst);
	if (r->has_gw)
		mnl_attr_put(nlh, RTA_GATEWAY, len, r->gw);
	if (r->has_src)
		mnl_attr_put(nlh, RTA_PREFSRC, len, r->src);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	if (r->priority)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->priority);
	if (r->mtu && type != RTM_DELROUTE) {
		struct nlattr *mx = mnl_attr_nest_start(nlh, RTA_METRICS);
		mnl_attr_put_u32(nlh, RTAX_MTU, r->mtu);
		mnl_attr_nest_end(nlh, mx);
	}
	return nl_talk(s, nlh, NULL, NULL, err);
}

int nl_route_add(struct nl_sock *s, const struct nl_route *r, struct mk_err **err)
{
	return route_msg(s, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r, err);
}

int nl_route_replace(struct nl_sock *s, const struct nl_route *r, struct mk_err **err)
{
	return route_msg(s, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, err);
}

int nl_route_del(struct nl_sock *s, const struct nl_route *r, struct mk_err **err)
{
	return route_msg(s, RTM_DELROUTE, 0, r, err);
}

struct route_parse {
	int family;
	uint32_t table;
	struct nl_route *arr;
	size_t n, cap;
};

static int route_cb(const struct nlmsghdr *nlh, void *data, struct mk_err **err)
{
	(void)err;
	struct route_parse *p = data;
	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (p->family != AF_UNSPEC && rtm->rtm_family != p->family)
		return 0;
	struct nl_route r = {
		.family = rtm->rtm_family,
		.dst_len = rtm->rtm_dst_len,
		.table = rtm->rtm_table,
		.protocol = rtm->rtm_protocol,
		.scope = rtm->rtm_scope,
		.type = rtm->rtm_type,
	};
	int len = addr_len(r.family);
	const struct nlattr *a, *m;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_TABLE:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				r.table = mnl_attr_get_u32(a);
			break;
		case RTA_DST:
			if (mnl_attr_get_payload_len(a) == (uint16_t)len)
				memcpy(r.dst, mnl_attr_get_payload(a), len);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(a) == (uint16_t)len) {
				memcpy(r.gw, mnl_attr_get_payload(a), len);
				r.has_gw = true;
			}
			break;
		case RTA_PREFSRC:
			if (mnl_attr_get_payload_len(a) == (uint16_t)len) {
				memcpy(r.src, mnl_attr_get_payload(a), len);
				r.has_src = true;
			}
			break;
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				r.oif = (int)mnl_attr_get_u32(a);
			break;
		case RTA_PRIORITY:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				r.priority = mnl_attr_get_u32(a);
			break;
		case RTA_METRICS:
			mnl_attr_for_each_nested(m, a) {
				if (mnl_attr_get_type(m) == RTAX_MTU &&
				    mnl_attr_validate(m, MNL_TYPE_U32) == 0)
					r.mtu = mnl_attr_get_u32(m);
			}
			break;
		}
	}
	uint32_t want = p->table ? p->table : RT_TABLE_MAIN;
	if (r.table != want)
		return 0;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->arr = xrealloc(p->arr, p->cap * sizeof(*p->arr));
	}
	p->arr[p->n++] = r;
	return 0;
}

int nl_route_list(struct nl_sock *s, int family, uint32_t table, struct nl_route **out,
		  size_t *n, struct mk_err **err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_new(buf, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	struct route_parse p = {.family = family, .table = table};
	if (nl_talk(s, nlh, route_cb, &p, err) < 0) {
		free(p.arr);
		return -1;
	}
	*out = p.arr;
	*n = p.n;
	return 0;
}

/* ---- namespaces ---- */

int nl_netns_open(const char *path, struct mk_err **err)
{
	struct statfs st;
	if (statfs(path, &st) < 0) {
		int e = errno;
		mk_err_set(err, e == ENOENT ? MK_ENOTFOUND : MK_EIO, "failed to Statfs \"%s\": %s",
			   path, nl_strerror(e));
		if (err && *err)
			(*err)->errnum = e;
		return -1;
	}
	if ((unsigned long)st.f_type != NSFS_MAGIC && (unsigned long)st.f_type != PROC_SUPER_MAGIC)
		return mk_err_set(err, MK_EINVAL, "unknown FS magic on \"%s\": %lx", path,
				  (unsigned long)st.f_type);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		mk_err_set(err, e == ENOENT ? MK_ENOTFOUND : MK_EIO, "failed to open \"%s\": %s",
			   path, nl_strerror(e));
		if (err && *err)
			(*err)->errnum = e;
		return -1;
	}
	return fd;
}

int nl_netns_run(int netns_fd, nl_netns_fn fn, void *arg, struct mk_err **err)
{
	cleanup_close int orig = -1;
	if (netns_fd >= 0) {
		orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (orig < 0)
			return mk_err_errno(err, MK_EIO, errno, "opening current netns");
		if (setns(netns_fd, CLONE_NEWNET) < 0)
			return mk_err_errno(err, MK_EIO, errno, "entering netns");
	}
	int rc;
	struct nl_sock *s = nl_sock_open(err);
	if (!s) {
		rc = -1;
	} else {
		rc = fn(s, arg, err);
		nl_sock_close(s);
	}
	/* A thread left in the wrong namespace would act on the wrong host. */
	if (orig >= 0 && setns(orig, CLONE_NEWNET) < 0)
		abort();
	return rc;
}

int nl_sysctl_set(const char *path, const char *value, struct mk_err **err)
{
	cleanup_free char *full = xasprintf("/proc/sys/%s", path);
	cleanup_close int fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return mk_err_errno(err, errno == ENOENT ? MK_ENOTFOUND : MK_EIO, errno,
				    "open %s", full);
	size_t len = strlen(value);
	if (write(fd, value, len) != (ssize_t)len)
		return mk_err_errno(err, MK_EIO, errno, "write %s", full);
	return 0;
}

char *nl_sysctl_get(const char *path, struct mk_err **err)
{
	cleanup_free char *full = xasprintf("/proc/sys/%s", path);
	cleanup_close int fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mk_err_errno(err, errno == ENOENT ? MK_ENOTFOUND : MK_EIO, errno, "open %s", full);
		return NULL;
	}
	char b[256];
	ssize_t n = read(fd, b, sizeof(b) - 1);
	if (n < 0) {
		mk_err_errno(err, MK_EIO, errno, "read %s", full);
		return NULL;
	}
	b[n] = 0;
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' '))
		b[--n] = 0;
	return xstrdup(b);
}
