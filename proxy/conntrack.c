/* ctnetlink dump + delete (see the header), through lib/nfnl. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "conntrack.h"
#include "nfnl.h"
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
				if (mnl_attr_validate(b, MNL_TYPE_U32) < 0)
					continue;
				if (mnl_attr_get_type(b) == CTA_IP_V4_SRC)
					t->src = mnl_attr_get_u32(b);
				else if (mnl_attr_get_type(b) == CTA_IP_V4_DST)
					t->dst = mnl_attr_get_u32(b);
			}
			break;
		case CTA_TUPLE_PROTO:
			mnl_attr_for_each_nested(b, a) {
				uint16_t type = mnl_attr_get_type(b);
				if (type == CTA_PROTO_NUM && mnl_attr_validate(b, MNL_TYPE_U8) == 0)
					t->proto = mnl_attr_get_u8(b);
				else if (type == CTA_PROTO_SRC_PORT &&
					 mnl_attr_validate(b, MNL_TYPE_U16) == 0)
					t->sport = ntohs(mnl_attr_get_u16(b));
				else if (type == CTA_PROTO_DST_PORT &&
					 mnl_attr_validate(b, MNL_TYPE_U16) == 0)
					t->dport = ntohs(mnl_attr_get_u16(b));
			}
			break;
		}
	}
}

static int dump_cb(const struct nlmsghdr *nlh, void *data, struct mk_err **err)
{
	(void)err;
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
		return 0;
	if ((m->orig_dst && e.orig.dst != m->orig_dst) ||
	    (m->orig_dport && e.orig.dport != m->orig_dport) ||
	    (m->reply_src && e.reply.src != m->reply_src) ||
	    (m->reply_sport && e.reply.sport != m->reply_sport))
		return 0;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->hits = xrealloc(m->hits, m->cap * sizeof(*m->hits));
	}
	m->hits[m->n++] = e;
	return 0;
}

/* The delete request of the entry with original tuple t. */
static struct nlmsghdr *delete_msg(struct nfnl_sock *nl, const struct tuple *t)
{
	struct nlmsghdr *nlh = nfnl_msg_new(nl, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE,
					    AF_INET, 0);
	/* a few dozen bytes in NFNL_REQ_SIZE: the *_check appends cannot fail */
	struct nlattr *orig = mnl_attr_nest_start_check(nlh, NFNL_REQ_SIZE, CTA_TUPLE_ORIG);
	struct nlattr *ip = mnl_attr_nest_start_check(nlh, NFNL_REQ_SIZE, CTA_TUPLE_IP);
	bool ok = orig && ip && mnl_attr_put_u32_check(nlh, NFNL_REQ_SIZE, CTA_IP_V4_SRC, t->src) &&
		  mnl_attr_put_u32_check(nlh, NFNL_REQ_SIZE, CTA_IP_V4_DST, t->dst);
	if (ok) {
		mnl_attr_nest_end(nlh, ip);
		struct nlattr *pr = mnl_attr_nest_start_check(nlh, NFNL_REQ_SIZE, CTA_TUPLE_PROTO);
		ok = pr && mnl_attr_put_u8_check(nlh, NFNL_REQ_SIZE, CTA_PROTO_NUM, t->proto) &&
		     mnl_attr_put_u16_check(nlh, NFNL_REQ_SIZE, CTA_PROTO_SRC_PORT, htons(t->sport)) &&
		     mnl_attr_put_u16_check(nlh, NFNL_REQ_SIZE, CTA_PROTO_DST_PORT, htons(t->dport));
		if (ok) {
			mnl_attr_nest_end(nlh, pr);
			mnl_attr_nest_end(nlh, orig);
		}
	}
	if (!ok)
		abort();
	return nlh;
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
	struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl)
		return mk_err_wrap(err, "ctnetlink");
	struct match m = {
		.orig_dst = addr(orig_dst),
		.reply_src = addr(reply_src),
		.orig_dport = (uint16_t)orig_dport,
		.reply_sport = (uint16_t)reply_sport,
	};
	struct nlmsghdr *nlh =
		nfnl_msg_new(nl, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET, AF_INET, 0);
	int rc = 0;
	if (nfnl_dump(nl, nlh, dump_cb, &m, err) < 0)
		rc = mk_err_wrap(err, "listing conntrack entries");
	for (size_t i = 0; i < m.n && rc == 0; i++) {
		struct mk_err *e = NULL;
		/* an entry that expired meanwhile is fine */
		if (nfnl_talk(nl, delete_msg(nl, &m.hits[i].orig), NULL, NULL, &e) < 0 &&
		    mk_err_code(e) != MK_ENOTFOUND) {
			if (err && !*err)
				*err = e;
			else
				mk_err_free(e);
			rc = mk_err_wrap(err, "deleting conntrack entry");
			break;
		}
		mk_err_free(e);
		if (deleted)
			(*deleted)++;
	}
	free(m.hits);
	nfnl_sock_close(nl);
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
