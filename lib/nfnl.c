#include "nfnl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "xalloc.h"

/* Replies: the kernel fills a dump message up to 32 KiB when the reader's
 * buffer allows (smaller reads make long dumps quadratic), and an ack is
 * capped to the request's header. Twice that leaves room for any reply. */
#define NFNL_RECV_SIZE (64 * 1024)

/* Batch pages: a page is sent whole once it holds this much; a message may
 * run over it by up to the overrun, which must hold the largest message
 * (an element list is limited to 64 KiB by its 16-bit attribute length, and
 * a rule is a few hundred bytes). */
#define BATCH_PAGE (256 * 1024)
#define BATCH_OVERRUN (256 * 1024)

struct nfnl_sock {
	struct mnl_socket *mnl;
	uint32_t portid;
	uint32_t seq;     /* the next one to use */
	int sndbuf;       /* as last read back, 0 before */
	char *rbuf;       /* NFNL_RECV_SIZE bytes */
	char *req;        /* NFNL_REQ_SIZE bytes, for nfnl_msg_new() */
};

const char *nfnl_strerror(int errnum)
{
	/* Lower-case first letter, like Go's syscall errors ("file exists").
	 * Per thread: other threads may talk to the kernel meanwhile. */
	static __thread char t[96];
	snprintf(t, sizeof(t), "%s", strerror(errnum));
	t[0] = (char)tolower((unsigned char)t[0]);
	return t;
}

static int code_of(int errnum)
{
	switch (errnum) {
	case EEXIST:
		return MK_EEXISTS;
	case ENODEV:
	case ENOENT:
	case ESRCH:
	case EADDRNOTAVAIL:
		return MK_ENOTFOUND;
	default:
		return MK_EIO;
	}
}

/* What the kernel's extended ack says about an NLMSG_ERROR (or the
 * NLMSG_DONE of a dump): its text, or the offset of the attribute it
 * refused (relative to the refused message), or neither. */
struct ext_ack {
	const char *msg;
	uint32_t offset;
	bool has_offset;
};

static void ext_ack_of(const struct nlmsghdr *nlh, struct ext_ack *x)
{
	*x = (struct ext_ack){0};
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	size_t off;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		off = sizeof(int);
	} else {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
			return;
		off = sizeof(*e);
		/* an uncapped ack carries the whole request before the TLVs */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	if (off > mnl_nlmsg_get_payload_len(nlh))
		return;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, off) {
		switch (mnl_attr_get_type(a)) {
		case NLMSGERR_ATTR_MSG:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				x->msg = mnl_attr_get_str(a);
			break;
		case NLMSGERR_ATTR_OFFS:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
				x->offset = mnl_attr_get_u32(a);
				x->has_offset = true;
			}
			break;
		}
	}
}

static int kernel_err(struct mk_err **err, int errnum, const struct ext_ack *x, bool offset)
{
	if (x->msg && *x->msg)
		mk_err_set(err, code_of(errnum), "%s (%s)", nfnl_strerror(errnum), x->msg);
	else if (offset && x->has_offset)
		mk_err_set(err, code_of(errnum), "%s (attribute at offset %u)",
			   nfnl_strerror(errnum), x->offset);
	else
		mk_err_set(err, code_of(errnum), "%s", nfnl_strerror(errnum));
	if (err && *err && !(*err)->errnum)
		(*err)->errnum = errnum;
	return -1;
}

struct nfnl_sock *nfnl_sock_open_bus(int bus, struct mk_err **err)
{
	struct mnl_socket *m = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!m) {
		mk_err_errno(err, MK_EIO, errno, "opening netlink socket");
		return NULL;
	}
	int one = 1;
	/* Both are best effort: kernels before 4.12 refuse extended acks, and
	 * the replies are read the same way without them. */
	(void)mnl_socket_setsockopt(m, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(m, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(m, 0, MNL_SOCKET_AUTOPID) < 0) {
		mk_err_errno(err, MK_EIO, errno, "binding netlink socket");
		mnl_socket_close(m);
		return NULL;
	}
	struct nfnl_sock *s = xcalloc(1, sizeof(*s));
	s->mnl = m;
	s->portid = mnl_socket_get_portid(m);
	/* Seeded once per socket; the kernel only echoes it. Distinct seeds
	 * make a capture of several sockets readable. */
	s->seq = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	s->rbuf = xmalloc(NFNL_RECV_SIZE);
	return s;
}

struct nfnl_sock *nfnl_sock_open(struct mk_err **err)
{
	return nfnl_sock_open_bus(NETLINK_NETFILTER, err);
}

void nfnl_sock_close(struct nfnl_sock *s)
{
	if (!s)
		return;
	mnl_socket_close(s->mnl);
	free(s->rbuf);
	free(s->req);
	free(s);
}

uint32_t nfnl_sock_seq(const struct nfnl_sock *s)
{
	return s->seq;
}

/* One read into s->rbuf. Returns its length, 0 when flags has MSG_DONTWAIT
 * and nothing is queued, -1 with errno set otherwise (ENOSPC: a message did
 * not fit, ENOBUFS: the kernel dropped replies for lack of room). */
static ssize_t recv_once(struct nfnl_sock *s, int flags)
{
	struct sockaddr_nl addr;
	struct iovec iov = {.iov_base = s->rbuf, .iov_len = NFNL_RECV_SIZE};
	struct msghdr msg = {
		.msg_name = &addr,
		.msg_namelen = sizeof(addr),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	for (;;) {
		ssize_t n = recvmsg(mnl_socket_get_fd(s->mnl), &msg, flags);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if ((flags & MSG_DONTWAIT) && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			return -1;
		}
		if (msg.msg_flags & MSG_TRUNC) {
			errno = ENOSPC;
			return -1;
		}
		/* only the kernel (port 0) answers requests */
		if (msg.msg_namelen != sizeof(addr) || addr.nl_pid != 0)
			continue;
		return n;
	}
}

struct nlmsghdr *nfnl_msg_new(struct nfnl_sock *s, uint16_t type, uint8_t family, uint16_t flags)
{
	if (!s->req)
		s->req = xmalloc(NFNL_REQ_SIZE);
	memset(s->req, 0, NFNL_REQ_SIZE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(s->req);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

/* The one receive loop for requests: reads until the ack of seq (or the
 * NLMSG_DONE of a dump), passing every other reply to cb while it succeeds. */
static int talk(struct nfnl_sock *s, struct nlmsghdr *nlh, nfnl_cb cb, void *arg, bool *intr,
		struct mk_err **err)
{
	uint32_t seq = s->seq++;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 0;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (mnl_socket_sendto(s->mnl, nlh, nlh->nlmsg_len) < 0)
		return mk_err_errno(err, MK_EIO, errno, "netlink send");
	/* the first failure wins; replies are read to the end regardless */
	struct mk_err *cb_err = NULL;
	int rc = 0;
	for (;;) {
		ssize_t n = recv_once(s, 0);
		if (n < 0) {
			mk_err_free(cb_err);
			return mk_err_errno(err, MK_EIO, errno, "netlink receive");
		}
		const struct nlmsghdr *m = (const struct nlmsghdr *)s->rbuf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_seq != seq || m->nlmsg_pid != s->portid)
				continue;
			if (m->nlmsg_flags & NLM_F_DUMP_INTR)
				*intr = true;
			struct ext_ack x;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
				if (mnl_nlmsg_get_payload_len(m) < sizeof(*e)) {
					mk_err_free(cb_err);
					return mk_err_set(err, MK_EIO, "netlink: short error message");
				}
				if (e->error == 0 || rc < 0)
					goto done;
				mk_err_free(cb_err);
				ext_ack_of(m, &x);
				return kernel_err(err, -e->error, &x, false);
			}
			if (m->nlmsg_type == NLMSG_DONE) {
				/* a dump ends with DONE, which may carry the dump's error */
				if (rc == 0 && mnl_nlmsg_get_payload_len(m) >= sizeof(int)) {
					int e;
					memcpy(&e, mnl_nlmsg_get_payload(m), sizeof(e));
					if (e < 0) {
						ext_ack_of(m, &x);
						return kernel_err(err, -e, &x, false);
					}
				}
				goto done;
			}
			if (m->nlmsg_type < NLMSG_MIN_TYPE || !cb || rc < 0)
				continue;
			if (cb(m, arg, &cb_err) < 0) {
				rc = -1;
				if (!cb_err)
					mk_err_set(&cb_err, MK_EINTERNAL, "netlink reply refused");
			}
		}
	}
done:
	if (rc < 0) {
		if (err && !*err)
			*err = cb_err;
		else
			mk_err_free(cb_err);
	}
	return rc;
}

int nfnl_talk(struct nfnl_sock *s, struct nlmsghdr *nlh, nfnl_cb cb, void *arg,
	      struct mk_err **err)
{
	bool intr = false;
	return talk(s, nlh, cb, arg, &intr, err);
}

int nfnl_dump(struct nfnl_sock *s, struct nlmsghdr *nlh, nfnl_cb cb, void *arg,
	      struct mk_err **err)
{
	bool intr = false;
	nlh->nlmsg_flags |= NLM_F_DUMP;
	if (talk(s, nlh, cb, arg, &intr, err) < 0)
		return -1;
	return intr ? 1 : 0;
}

/* ---- nf_tables ---- */

struct table_filter {
	const char *table, *chain;
	nfnl_cb cb;
	void *arg;
};

/* Does the string attribute a hold s? */
static bool attr_is(const struct nlattr *a, const char *s)
{
	return mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 && strcmp(mnl_attr_get_str(a), s) == 0;
}

/* Passes on the objects of one table (and the rules of one chain). Recent
 * kernels filter by the request's attributes, older ones (5.x for chains,
 * 4.x for rules) answer with the objects of every table. */
static int table_filter_cb(const struct nlmsghdr *nlh, void *arg, struct mk_err **err)
{
	const struct table_filter *f = arg;
	int seen = 0, want = f->chain ? 2 : 1;
	const struct nlattr *a;
	/* the kernel puts the table (and a rule's chain) first: stop there */
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		/* the table's attribute has the same number in every object's
		 * messages */
		if (mnl_attr_get_type(a) == NFTA_TABLE_NAME) {
			if (!attr_is(a, f->table))
				return 0;
		} else if (f->chain && mnl_attr_get_type(a) == NFTA_RULE_CHAIN) {
			if (!attr_is(a, f->chain))
				return 0;
		} else {
			continue;
		}
		if (++seen == want)
			return f->cb(nlh, f->arg, err);
	}
	return 0;
}

int nfnl_nft_dump(struct nfnl_sock *s, uint16_t type, uint8_t family, const char *table,
		  const char *chain, nfnl_cb cb, void *arg, struct mk_err **err)
{
	struct nlmsghdr *nlh = nfnl_msg_new(s, (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | type),
					    family, 0);
	if (!table)
		return nfnl_dump(s, nlh, cb, arg, err);
	if (type != NFT_MSG_GETRULE)
		chain = NULL;
	if (!mnl_attr_put_strz_check(nlh, NFNL_REQ_SIZE, NFTA_TABLE_NAME, table) ||
	    (chain && !mnl_attr_put_strz_check(nlh, NFNL_REQ_SIZE, NFTA_RULE_CHAIN, chain)))
		return mk_err_set(err, MK_EINVAL, "table or chain name too long");
	struct table_filter f = {.table = table, .chain = chain, .cb = cb, .arg = arg};
	return nfnl_dump(s, nlh, table_filter_cb, &f, err);
}

struct gen_ctx {
	uint32_t genid;
	bool seen;
};

static int gen_cb(const struct nlmsghdr *nlh, void *arg, struct mk_err **err)
{
	struct gen_ctx *g = arg;
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWGEN)
		return 0;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_GEN_ID)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return mk_err_set(err, MK_EIO, "malformed NFTA_GEN_ID");
		g->genid = ntohl(mnl_attr_get_u32(a));
		g->seen = true;
	}
	return 0;
}

int nfnl_nft_genid(struct nfnl_sock *s, uint32_t *genid, struct mk_err **err)
{
	struct nlmsghdr *nlh =
		nfnl_msg_new(s, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN, AF_UNSPEC, 0);
	struct gen_ctx g = {0};
	if (nfnl_talk(s, nlh, gen_cb, &g, err) < 0)
		return mk_err_wrap(err, "reading the nftables ruleset generation");
	if (!g.seen)
		return mk_err_set(err, MK_EIO,
				  "reading the nftables ruleset generation: no generation in the answer");
	*genid = g.genid;
	return 0;
}

/* ---- batches ---- */

struct nfnl_batch {
	struct nfnl_sock *s;
	struct nftnl_batch *b;
	uint32_t begin_seq; /* the begin message's; the first message has the next */
	size_t n;           /* messages between begin and end */
	size_t bytes;       /* of every message so far */
	bool sent;
};

/* Closes the message h just built (the next one goes after it). */
static void batch_next(struct nfnl_batch *b, const struct nlmsghdr *h)
{
	b->bytes += NLMSG_ALIGN(h->nlmsg_len);
	if (nftnl_batch_update(b->b) < 0)
		abort(); /* allocation failure, as xmalloc */
	b->n++;
}

struct nfnl_batch *nfnl_batch_begin(struct nfnl_sock *s)
{
	struct nfnl_batch *b = xcalloc(1, sizeof(*b));
	b->s = s;
	b->b = nftnl_batch_alloc(BATCH_PAGE, BATCH_OVERRUN);
	if (!b->b)
		abort();
	b->begin_seq = s->seq++;
	struct nlmsghdr *h = nftnl_batch_begin(nftnl_batch_buffer(b->b), b->begin_seq);
	b->bytes = NLMSG_ALIGN(h->nlmsg_len);
	if (nftnl_batch_update(b->b) < 0)
		abort();
	return b;
}

void nfnl_batch_free(struct nfnl_batch *b)
{
	if (!b)
		return;
	nftnl_batch_free(b->b);
	free(b);
}

/* The header of the next message, in the batch's buffer. */
static struct nlmsghdr *batch_hdr(struct nfnl_batch *b, uint16_t type, uint32_t family,
				  uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->b), type, (uint16_t)family, flags,
				     b->s->seq++);
}

size_t nfnl_batch_table(struct nfnl_batch *b, uint16_t type, uint16_t flags,
			const struct nftnl_table *t)
{
	size_t i = b->n;
	struct nlmsghdr *h = batch_hdr(b, type, nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), flags);
	nftnl_table_nlmsg_build_payload(h, t);
	batch_next(b, h);
	return i;
}

size_t nfnl_batch_chain(struct nfnl_batch *b, uint16_t type, uint16_t flags,
			const struct nftnl_chain *c)
{
	size_t i = b->n;
	struct nlmsghdr *h = batch_hdr(b, type, nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), flags);
	nftnl_chain_nlmsg_build_payload(h, c);
	batch_next(b, h);
	return i;
}

size_t nfnl_batch_rule(struct nfnl_batch *b, uint16_t type, uint16_t flags,
		       struct nftnl_rule *r)
{
	size_t i = b->n;
	struct nlmsghdr *h = batch_hdr(b, type, nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), flags);
	nftnl_rule_nlmsg_build_payload(h, r);
	batch_next(b, h);
	return i;
}

size_t nfnl_batch_set(struct nfnl_batch *b, uint16_t type, uint16_t flags,
		      struct nftnl_set *set)
{
	size_t i = b->n;
	struct nlmsghdr *h = batch_hdr(b, type, nftnl_set_get_u32(set, NFTNL_SET_FAMILY), flags);
	nftnl_set_nlmsg_build_payload(h, set);
	batch_next(b, h);
	return i;
}

size_t nfnl_batch_set_elems(struct nfnl_batch *b, uint16_t type, uint16_t flags,
			    struct nftnl_set *set, size_t *n_msgs)
{
	size_t first = b->n;
	uint32_t family = nftnl_set_get_u32(set, NFTNL_SET_FAMILY);
	struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(set);
	if (!it)
		abort();
	/* the iterator stops a message before its element list would exceed
	 * the 16-bit attribute length, and resumes there in the next one */
	int more;
	do {
		struct nlmsghdr *h = batch_hdr(b, type, family, flags);
		more = nftnl_set_elems_nlmsg_build_payload_iter(h, it);
		batch_next(b, h);
	} while (more > 0);
	nftnl_set_elems_iter_destroy(it);
	if (n_msgs)
		*n_msgs = b->n - first;
	return first;
}

size_t nfnl_batch_count(const struct nfnl_batch *b)
{
	return b->n;
}

size_t nfnl_batch_size(const struct nfnl_batch *b)
{
	return b->bytes;
}

/* Makes room for a write of len bytes in s's send buffer. */
static int fit_sndbuf(struct nfnl_sock *s, size_t len, struct mk_err **err)
{
	int fd = mnl_socket_get_fd(s->mnl);
	socklen_t sl = sizeof(s->sndbuf);
	if (!s->sndbuf && getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf, &sl) < 0)
		return mk_err_errno(err, MK_EIO, errno, "reading the netlink send buffer size");
	/* the kernel refuses a netlink write above the buffer less 32 bytes */
	if (len + 32 <= (size_t)s->sndbuf)
		return 0;
	if (len > (size_t)(1 << 30))
		return mk_err_set(err, MK_ETOOLARGE, "netlink batch of %zu bytes is too large", len);
	int want = (int)len + 65536;
	/* FORCE passes over net.core.wmem_max with CAP_NET_ADMIN, which
	 * changing nf_tables takes anyway */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	sl = sizeof(s->sndbuf);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf, &sl) < 0)
		return mk_err_errno(err, MK_EIO, errno, "reading the netlink send buffer size");
	if (len + 32 > (size_t)s->sndbuf)
		return mk_err_set(err, MK_ETOOLARGE,
				  "netlink batch of %zu bytes exceeds the socket send buffer (%d bytes)",
				  len, s->sndbuf);
	return 0;
}

int nfnl_batch_send(struct nfnl_batch *b, size_t *refused, struct mk_err **err)
{
	if (refused)
		*refused = NFNL_BATCH_NONE;
	if (b->sent)
		return mk_err_set(err, MK_EINTERNAL, "netlink batch sent twice");
	b->sent = true;
	struct nfnl_sock *s = b->s;
	uint32_t end_seq = s->seq++;
	nftnl_batch_end(nftnl_batch_buffer(b->b), end_seq);
	if (nftnl_batch_update(b->b) < 0)
		abort();

	int iovlen = nftnl_batch_iovec_len(b->b);
	struct iovec *iov = xcalloc((size_t)iovlen, sizeof(*iov));
	nftnl_batch_iovec(b->b, iov, (uint32_t)iovlen);
	size_t total = 0;
	for (int i = 0; i < iovlen; i++)
		total += iov[i].iov_len;
	if (fit_sndbuf(s, total, err) < 0) {
		free(iov);
		return -1;
	}
	/* The kernel takes a batch only whole, from one write: BEGIN to END in
	 * one message buffer. The pages go out as one iovec. */
	struct sockaddr_nl snl = {.nl_family = AF_NETLINK};
	struct msghdr msg = {
		.msg_name = &snl,
		.msg_namelen = sizeof(snl),
		.msg_iov = iov,
		.msg_iovlen = (size_t)iovlen,
	};
	ssize_t sent;
	do
		sent = sendmsg(mnl_socket_get_fd(s->mnl), &msg, 0);
	while (sent < 0 && errno == EINTR);
	free(iov);
	if (sent < 0)
		return mk_err_errno(err, MK_EIO, errno, "sending netlink batch");

	/* The kernel handles the whole batch inside that write and has queued
	 * every answer before it returns: an error for each refused message
	 * (successes answer nothing, as no ack is asked: 100,000 acks would
	 * cost as much as the rules). So what is queued now is all there is. */
	uint32_t first = b->begin_seq + 1;
	bool found = false, lost = false;
	size_t idx = NFNL_BATCH_WHOLE;
	int errnum = 0;
	struct ext_ack x = {0};
	char *xmsg = NULL;
	for (;;) {
		ssize_t n = recv_once(s, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* replies dropped for lack of room: the first is
				 * queued before any dropped one */
				lost = true;
				continue;
			}
			free(xmsg);
			return mk_err_errno(err, MK_EIO, errno, "reading netlink batch answers");
		}
		const struct nlmsghdr *m = (const struct nlmsghdr *)s->rbuf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_pid != s->portid || m->nlmsg_type != NLMSG_ERROR)
				continue;
			/* sequence numbers may wrap inside a batch: compare distances */
			uint32_t d = m->nlmsg_seq - b->begin_seq;
			if (d > end_seq - b->begin_seq)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
			if (mnl_nlmsg_get_payload_len(m) < sizeof(*e) || e->error == 0)
				continue;
			size_t i = m->nlmsg_seq - first < b->n ? (size_t)(m->nlmsg_seq - first)
							       : NFNL_BATCH_WHOLE;
			/* answers come in batch order; keep the first refused */
			if (found && (i == NFNL_BATCH_WHOLE || (idx != NFNL_BATCH_WHOLE && i >= idx)))
				continue;
			found = true;
			idx = i;
			errnum = -e->error;
			ext_ack_of(m, &x);
			free(xmsg);
			xmsg = x.msg ? xstrdup(x.msg) : NULL;
			x.msg = xmsg;
		}
	}
	if (!found && !lost)
		return 0;
	if (refused)
		*refused = idx;
	int rc;
	if (found)
		rc = kernel_err(err, errnum, &x, true);
	else
		rc = mk_err_set(err, MK_EIO,
				"the kernel refused the batch and its answers were lost "
				"(receive buffer full)");
	free(xmsg);
	return rc;
}
