/* ctnetlink dump + delete (see the header). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "conntrack.h"
#include "xalloc.h"

struct tuple {
	uint32_t src, dst; /* network order */
	uint16_t sport, dport;
	uint8_t proto;
};

struct entry {
	struct tuple orig, reply;
};

struct match {
	uint32_t orig_dst, reply_src; /* 0 = any */
	uint16_t orig_dport, reply_sport;
	struct entry *hits;
	size_t n, cap;
};

static void parse_tuple(const struct nlattr *nest, struct tuple *t)
{
	const struct nlattr *a;
	mnl_attr_for_each_nested(a, nest) {
		const struct nlattr *b;
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_IP:
			mnl_attr_for_each_nested(b, a) {
				if (mnl_attr_get_type(b) == CTA_IP_V4_SRC)
					t->src = mnl_attr_get_u32(b);
				else if (mnl_attr_get_type(b) == CTA_IP_V4_DST)
					t->dst = mnl_attr_get_u32(b);
			}
			break;
		case CTA_TUPLE_PROTO:
			mnl_attr_for_each_nested(b, a) {
				if (mnl_attr_get_type(b) == CTA_PROTO_NUM)
					t->proto = mnl_attr_get_u8(b);
				else if (mnl_attr_get_type(b) == CTA_PROTO_SRC_PORT)
					t->sport = ntohs(mnl_attr_get_u16(b));
				else if (mnl_attr_get_type(b) == CTA_PROTO_DST_PORT)
					t->dport = ntohs(mnl_attr_get_u16(b));
			}
			break;
		}
	}
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct match *m = data;
	struct entry e = {0};
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == CTA_TUPLE_ORIG)
			parse_tuple(a, &e.orig);
		else if (mnl_attr_get_type(a) == CTA_TUPLE_REPLY)
			parse_tuple(a, &e.reply);
	}
	if (e.orig.proto != IPPROTO_UDP)
		return MNL_CB_OK;
	if ((m->orig_dst && e.orig.dst != m->orig_dst) ||
	    (m->orig_dport && e.orig.dport != m->orig_dport) ||
	    (m->reply_src && e.reply.src != m->reply_src) ||
	    (m->reply_sport && e.reply.sport != m->reply_sport))
		return MNL_CB_OK;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->hits = xrealloc(m->hits, m->cap * sizeof(*m->hits));
	}
	m->hits[m->n++] = e;
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_hdr(char *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_INET;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

static int talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int rc;
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (rc <= MNL_CB_STOP)
			return rc == MNL_CB_ERROR ? -1 : 0;
	}
	return n < 0 ? -1 : 0;
}

static uint32_t addr(const char *s)
{
	struct in_addr a = {0};
	if (s && inet_pton(AF_INET, s, &a) != 1)
		a.s_addr = 0;
	return a.s_addr;
}

int conntrack_delete_udp(const char *orig_dst, int orig_dport, const char *reply_src,
			 int reply_sport, size_t *deleted, struct mk_err **err)
{
	if (deleted)
		*deleted = 0;
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return mk_err_errno(err, MK_EIO, errno, "opening ctnetlink socket");
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl);
		return mk_err_errno(err, MK_EIO, e, "binding ctnetlink socket");
	}
	struct match m = {
		.orig_dst = addr(orig_dst),
		.reply_src = addr(reply_src),
		.orig_dport = (uint16_t)orig_dport,
		.reply_sport = (uint16_t)reply_sport,
	};
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *nlh = ct_hdr(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq);
	int rc = 0;
	if (talk(nl, nlh, dump_cb, &m) < 0)
		rc = mk_err_errno(err, MK_EIO, errno, "listing conntrack entries");
	for (size_t i = 0; i < m.n && rc == 0; i++) {
		const struct tuple *t = &m.hits[i].orig;
		nlh = ct_hdr(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, ++seq);
		struct nlattr *orig = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
		struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
		mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, t->src);
		mnl_attr_put_u32(nlh, CTA_IP_V4_DST, t->dst);
		mnl_attr_nest_end(nlh, ip);
		struct nlattr *pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
		mnl_attr_nest_end(nlh, pr);
		mnl_attr_nest_end(nlh, orig);
		/* an entry that expired meanwhile is fine */
		if (talk(nl, nlh, NULL, NULL) < 0 && errno != ENOENT)
			rc = mk_err_errno(err, MK_EIO, errno, "deleting conntrack entry");
		else if (deleted)
			(*deleted)++;
	}
	free(m.hits);
	mnl_socket_close(nl);
	return rc;
}

json_t *conntrack_udp_state(const struct proxy_model *m)
{
	json_t *st = json_object();
	for (size_t i = 0; i < m->n; i++) {
		const struct proxy_svc_port *p = &m->ports[i];
		if (p->proto != PROTO_UDP)
			continue;
		for (size_t j = 0; j < p->n_reachable_eps; j++) {
			char *k = xasprintf("ep:%s:%d", p->reachable_eps[j]->ip, p->reachable_eps[j]->port);
			json_object_set_new(st, k, json_true());
			free(k);
		}
		if (p->has_endpoints) {
			char *k = xasprintf("svc:%s:%d", p->cluster_ip, p->port);
			json_object_set_new(st, k, json_true());
			free(k);
		}
	}
	return st;
}

void conntrack_cleanup(const json_t *before, const json_t *after, size_t *deleted,
		       size_t *failures)
{
	*deleted = *failures = 0;
	if (!before || !after)
		return;
	const char *k;
	json_t *v;
	/* endpoints that went away */
	json_object_foreach((json_t *)before, k, v) {
		if (strncmp(k, "ep:", 3) || json_object_get(after, k))
			continue;
		char *ip = xstrdup(k + 3), *colon = strrchr(ip, ':');
		int port = colon ? atoi(colon + 1) : 0;
		if (colon)
			*colon = '\0';
		size_t n = 0;
		if (conntrack_delete_udp(NULL, 0, ip, port, &n, NULL) < 0)
			(*failures)++;
		*deleted += n;
		free(ip);
	}
	/* services that got endpoints: flows rejected meanwhile */
	json_object_foreach((json_t *)after, k, v) {
		if (strncmp(k, "svc:", 4) || json_object_get(before, k))
			continue;
		char *ip = xstrdup(k + 4), *colon = strrchr(ip, ':');
		int port = colon ? atoi(colon + 1) : 0;
		if (colon)
			*colon = '\0';
		size_t n = 0;
		if (conntrack_delete_udp(ip, port, NULL, 0, &n, NULL) < 0)
			(*failures)++;
		*deleted += n;
		free(ip);
	}
}
