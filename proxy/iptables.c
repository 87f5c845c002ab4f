/* iptables backend: restore-format rule lines -> struct ipt_entry, written
 * into the tables' blobs (iptblob.h); libiptc for what is small (mangle's
 * canary, --cleanup, error messages). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_recent.h>
#include <linux/netfilter/xt_sctp.h>
#include <linux/netfilter/xt_statistic.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include "backend.h"
#include "buf.h"
#include "cleanup.h"
#include "iptables.h"
#include "iptblob.h"
#include "iptrules.h"
#include "log.h"
#include "xalloc.h"

#define XTABLES_LOCK "/run/xtables.lock"

/* ---- tokenizer: words separated by spaces, "double quoted" words ---- */

struct tokens {
	char **v;
	size_t n, cap;
	char *store;
};

static void tokens_split(struct tokens *t, const char *line, size_t len)
{
	t->n = 0;
	free(t->store);
	t->store = xmalloc(len + 1);
	char *w = t->store;
	size_t i = 0;
	while (i < len) {
		while (i < len && line[i] == ' ')
			i++;
		if (i >= len)
			break;
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 32;
			t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
		}
		t->v[t->n++] = w;
		if (line[i] == '"') {
			i++;
			while (i < len && line[i] != '"')
				*w++ = line[i++];
			i++;
		} else {
			while (i < len && line[i] != ' ')
				*w++ = line[i++];
		}
		*w++ = '\0';
	}
}

static void tokens_free(struct tokens *t)
{
	free(t->v);
	free(t->store);
}

/* ---- entry builder ---- */

/* An entry is built in a buffer large enough for any rule we generate: the
 * header, at most 8 matches of at most 512 bytes each, and a target. */
#define ENTRY_MAX 8192

struct builder {
	union {
		struct ipt_entry e;
		uint8_t raw[ENTRY_MAX];
	} u;
	size_t len;            /* bytes used, starting with the header */
	struct xt_entry_match *l4; /* the tcp/udp/sctp match for --dport */
	struct xt_entry_match *last;
	struct xt_entry_target *target;
	const char *comment;   /* for error messages */
};

static void *add_match(struct builder *b, const char *name, uint8_t rev, size_t size)
{
	size_t total = XT_ALIGN(sizeof(struct xt_entry_match) + size);
	if (b->len + total + XT_ALIGN(sizeof(struct xt_entry_target) + 64) > ENTRY_MAX)
		abort(); /* generated rules are far smaller */
	struct xt_entry_match *m = (struct xt_entry_match *)(b->u.raw + b->len);
	memset(m, 0, total);
	m->u.match_size = (uint16_t)total;
	strncpy(m->u.user.name, name, sizeof(m->u.user.name) - 1);
	m->u.user.revision = rev;
	b->len += total;
	b->last = m;
	return m->data;
}

static void *add_target(struct builder *b, const char *name, uint8_t rev, size_t size)
{
	size_t total = XT_ALIGN(sizeof(struct xt_entry_target) + size);
	struct xt_entry_target *t = (struct xt_entry_target *)(b->u.raw + b->len);
	memset(t, 0, total);
	t->u.target_size = (uint16_t)total;
	strncpy(t->u.user.name, name, sizeof(t->u.user.name) - 1);
	t->u.user.revision = rev;
	b->u.e.target_offset = (uint16_t)b->len;
	b->len += total;
	b->u.e.next_offset = (uint16_t)b->len;
	b->target = t;
	return t->data;
}

static int parse_cidr(const char *s, struct in_addr *addr, struct in_addr *mask)
{
	char a[32];
	if (strlen(s) >= sizeof(a))
		return -1;
	strcpy(a, s);
	int bits = 32;
	char *slash = strchr(a, '/');
	if (slash) {
		*slash = '\0';
		char *end;
		long v = strtol(slash + 1, &end, 10);
		if (*end || v < 0 || v > 32)
			return -1;
		bits = (int)v;
	}
	if (inet_pton(AF_INET, a, addr) != 1)
		return -1;
	mask->s_addr = bits ? htonl(0xffffffffu << (32 - bits)) : 0;
	addr->s_addr &= mask->s_addr;
	return 0;
}

static uint16_t ctstate_bits(const char *list)
{
	uint16_t m = 0;
	char *copy = xstrdup(list);
	for (char *save = NULL, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "NEW"))
			m |= XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
		else if (!strcmp(w, "ESTABLISHED"))
			m |= XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
		else if (!strcmp(w, "RELATED"))
			m |= XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
		else if (!strcmp(w, "INVALID"))
			m |= XT_CONNTRACK_STATE_INVALID;
		else if (!strcmp(w, "DNAT"))
			m |= XT_CONNTRACK_STATE_DNAT;
		else if (!strcmp(w, "SNAT"))
			m |= XT_CONNTRACK_STATE_SNAT;
	}
	free(copy);
	return m;
}

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(s, &end, 0);
	if (errno || *end || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

/* Builds an entry from the words after "-A CHAIN". */
static int build_entry(struct builder *b, struct tokens *t, size_t start, struct mk_err **err)
{
	memset(&b->u.e, 0, sizeof(b->u.e));
	b->len = XT_ALIGN(sizeof(struct ipt_entry));
	b->l4 = b->last = NULL;
	b->target = NULL;
	b->comment = NULL;
	b->u.e.ip.proto = 0;
	bool neg = false;
	const char *target = NULL;
	size_t i = start;
#define NEXT()                                                                         \
	({                                                                             \
		if (i + 1 >= t->n)                                                     \
			return mk_err_set(err, MK_EINVAL, "option %s needs a value", t->v[i]); \
		t->v[++i];                                                             \
	})
	for (; i < t->n && !target; i++) {
		const char *w = t->v[i];
		if (!strcmp(w, "!")) {
			neg = true;
			continue;
		}
		if (!strcmp(w, "-m")) {
			const char *name = NEXT();
			if (!strcmp(name, "comment")) {
				add_match(b, "comment", 0, sizeof(struct xt_comment_info));
			} else if (!strcmp(name, "tcp")) {
				struct xt_tcp *tcp = add_match(b, "tcp", 0, sizeof(*tcp));
				tcp->spts[1] = tcp->dpts[1] = 0xffff;
				b->l4 = b->last;
			} else if (!strcmp(name, "udp")) {
				struct xt_udp *udp = add_match(b, "udp", 0, sizeof(*udp));
				udp->spts[1] = udp->dpts[1] = 0xffff;
				b->l4 = b->last;
			} else if (!strcmp(name, "sctp")) {
				struct xt_sctp_info *s = add_match(b, "sctp", 0, sizeof(*s));
				s->spts[1] = s->dpts[1] = 0xffff;
				s->chunk_match_type = SCTP_CHUNK_MATCH_ANY;
				b->l4 = b->last;
			} else if (!strcmp(name, "statistic")) {
				add_match(b, "statistic", 0, sizeof(struct xt_statistic_info));
			} else if (!strcmp(name, "recent")) {
				struct xt_recent_mtinfo_v1 *r = add_match(b, "recent", 1, sizeof(*r));
				r->side = XT_RECENT_SOURCE;
				r->mask.ip = 0xffffffff;
				strcpy(r->name, "DEFAULT");
			} else if (!strcmp(name, "addrtype")) {
				add_match(b, "addrtype", 1, sizeof(struct xt_addrtype_info_v1));
			} else if (!strcmp(name, "conntrack")) {
				add_match(b, "conntrack", 3, sizeof(struct xt_conntrack_mtinfo3));
			} else if (!strcmp(name, "mark")) {
				add_match(b, "mark", 1, sizeof(struct xt_mark_mtinfo1));
			} else {
				return mk_err_set(err, MK_EINVAL, "unknown match %s", name);
			}
			continue;
		}
		const char *mname = b->last ? b->last->u.user.name : "";
		void *md = b->last ? b->last->data : NULL;
		if (!strcmp(w, "-p")) {
			const char *p = NEXT();
			b->u.e.ip.proto = !strcmp(p, "tcp") ? IPPROTO_TCP :
					  !strcmp(p, "udp") ? IPPROTO_UDP :
					  !strcmp(p, "sctp") ? IPPROTO_SCTP : 0;
			if (!b->u.e.ip.proto)
				return mk_err_set(err, MK_EINVAL, "unknown protocol %s", p);
			if (neg)
				b->u.e.ip.invflags |= IPT_INV_PROTO;
		} else if (!strcmp(w, "-s") || !strcmp(w, "-d")) {
			bool src = w[1] == 's';
			const char *v = NEXT();
			if (parse_cidr(v, src ? &b->u.e.ip.src : &b->u.e.ip.dst,
				       src ? &b->u.e.ip.smsk : &b->u.e.ip.dmsk) < 0)
				return mk_err_set(err, MK_EINVAL, "bad address %s", v);
			if (neg)
				b->u.e.ip.invflags |= src ? IPT_INV_SRCIP : IPT_INV_DSTIP;
		} else if (!strcmp(w, "--comment") && !strcmp(mname, "comment")) {
			const char *v = NEXT();
			struct xt_comment_info *c = md;
			strncpy(c->comment, v, XT_MAX_COMMENT_LEN - 1);
			b->comment = v;
		} else if (!strcmp(w, "--dport") && b->l4) {
			uint32_t port;
			const char *v = NEXT();
			if (parse_u32(v, &port) < 0 || port > 65535)
				return mk_err_set(err, MK_EINVAL, "bad port %s", v);
			const char *l4 = b->l4->u.user.name;
			if (!strcmp(l4, "tcp")) {
				struct xt_tcp *x = (void *)b->l4->data;
				x->dpts[0] = x->dpts[1] = (uint16_t)port;
			} else if (!strcmp(l4, "udp")) {
				struct xt_udp *x = (void *)b->l4->data;
				x->dpts[0] = x->dpts[1] = (uint16_t)port;
			} else {
				struct xt_sctp_info *x = (void *)b->l4->data;
				x->dpts[0] = x->dpts[1] = (uint16_t)port;
				x->flags |= XT_SCTP_DEST_PORTS;
			}
		} else if (!strcmp(w, "--mode") && !strcmp(mname, "statistic")) {
			const char *v = NEXT();
			if (strcmp(v, "random"))
				return mk_err_set(err, MK_EINVAL, "unsupported statistic mode %s", v);
			((struct xt_statistic_info *)md)->mode = XT_STATISTIC_MODE_RANDOM;
		} else if (!strcmp(w, "--probability") && !strcmp(mname, "statistic")) {
			const char *v = NEXT();
			char *end;
			double p = strtod(v, &end);
			if (*end || p < 0 || p > 1)
				return mk_err_set(err, MK_EINVAL, "bad probability %s", v);
			/* the kernel compares a u32 random number against this */
			((struct xt_statistic_info *)md)->u.random.probability =
				(uint32_t)lround(2147483648.0 * p);
		} else if (!strcmp(mname, "recent") &&
			   (!strcmp(w, "--name") || !strcmp(w, "--rcheck") || !strcmp(w, "--set") ||
			    !strcmp(w, "--seconds") || !strcmp(w, "--reap"))) {
			struct xt_recent_mtinfo_v1 *r = md;
			if (!strcmp(w, "--name")) {
				const char *v = NEXT();
				strncpy(r->name, v, XT_RECENT_NAME_LEN - 1);
			} else if (!strcmp(w, "--rcheck")) {
				r->check_set |= XT_RECENT_CHECK;
			} else if (!strcmp(w, "--set")) {
				r->check_set |= XT_RECENT_SET;
			} else if (!strcmp(w, "--reap")) {
				r->check_set |= XT_RECENT_REAP;
			} else {
				const char *v = NEXT();
				if (parse_u32(v, &r->seconds) < 0)
					return mk_err_set(err, MK_EINVAL, "bad seconds %s", v);
			}
		} else if ((!strcmp(w, "--dst-type") || !strcmp(w, "--src-type")) &&
			   !strcmp(mname, "addrtype")) {
			const char *v = NEXT();
			if (strcmp(v, "LOCAL"))
				return mk_err_set(err, MK_EINVAL, "unsupported address type %s", v);
			struct xt_addrtype_info_v1 *a = md;
			if (w[2] == 'd') {
				a->dest = XT_ADDRTYPE_LOCAL;
				if (neg)
					a->flags |= XT_ADDRTYPE_INVERT_DEST;
			} else {
				a->source = XT_ADDRTYPE_LOCAL;
				if (neg)
					a->flags |= XT_ADDRTYPE_INVERT_SOURCE;
			}
		} else if (!strcmp(w, "--ctstate") && !strcmp(mname, "conntrack")) {
			struct xt_conntrack_mtinfo3 *c = md;
			c->state_mask = ctstate_bits(NEXT());
			c->match_flags |= XT_CONNTRACK_STATE;
			if (neg)
				c->invert_flags |= XT_CONNTRACK_STATE;
		} else if (!strcmp(w, "--mark") && !strcmp(mname, "mark")) {
			const char *v = NEXT();
			char *copy = xstrdup(v), *slash = strchr(copy, '/');
			struct xt_mark_mtinfo1 *mk = md;
			mk->mask = 0xffffffff;
			if (slash)
				*slash = '\0';
			int bad = parse_u32(copy, &mk->mark) < 0 || (slash && parse_u32(slash + 1, &mk->mask) < 0);
			free(copy);
			if (bad)
				return mk_err_set(err, MK_EINVAL, "bad mark %s", v);
			mk->invert = neg;
		} else if (!strcmp(w, "-j")) {
			target = NEXT();
		} else {
			return mk_err_set(err, MK_EINVAL, "unsupported option %s", w);
		}
		neg = false;
	}
	if (!target) {
		/* no -j: a rule that only counts, continuing with the next */
		add_target(b, "", 0, sizeof(int));
		return 0;
	}
	if (!strcmp(target, "REJECT")) {
		struct ipt_reject_info *r = add_target(b, "REJECT", 0, sizeof(*r));
		r->with = IPT_ICMP_PORT_UNREACHABLE;
	} else if (!strcmp(target, "MARK")) {
		struct xt_mark_tginfo2 *mk = add_target(b, "MARK", 2, sizeof(*mk));
		if (i + 1 >= t->n)
			return mk_err_set(err, MK_EINVAL, "MARK needs an option");
		const char *op = t->v[i], *v = t->v[i + 1];
		if (parse_u32(v, &mk->mark) < 0)
			return mk_err_set(err, MK_EINVAL, "bad mark %s", v);
		if (!strcmp(op, "--or-mark"))
			mk->mask = mk->mark;
		else if (!strcmp(op, "--xor-mark"))
			mk->mask = 0;
		else
			return mk_err_set(err, MK_EINVAL, "unsupported MARK option %s", op);
		i += 2;
	} else if (!strcmp(target, "MASQUERADE")) {
		struct nf_nat_ipv4_multi_range_compat *r = add_target(b, "MASQUERADE", 0, sizeof(*r));
		r->rangesize = 1;
		if (i < t->n && !strcmp(t->v[i], "--random-fully")) {
			r->range[0].flags |= NF_NAT_RANGE_PROTO_RANDOM_FULLY;
			i++;
		}
	} else if (!strcmp(target, "DNAT")) {
		if (i + 1 >= t->n || strcmp(t->v[i], "--to-destination"))
			return mk_err_set(err, MK_EINVAL, "DNAT needs --to-destination");
		const char *v = t->v[i + 1];
		char *copy = xstrdup(v), *colon = strrchr(copy, ':');
		struct in_addr ip;
		uint32_t port = 0;
		if (colon)
			*colon = '\0';
		int bad = inet_pton(AF_INET, copy, &ip) != 1 ||
			  (colon && (parse_u32(colon + 1, &port) < 0 || port > 65535));
		free(copy);
		if (bad)
			return mk_err_set(err, MK_EINVAL, "bad DNAT destination %s", v);
		/* revision 2: what iptables itself uses on current kernels, and the
		 * only one its save prints back */
		struct nf_nat_range2 *r = add_target(b, "DNAT", 2, sizeof(*r));
		r->flags = NF_NAT_RANGE_MAP_IPS;
		r->min_addr.ip = r->max_addr.ip = ip.s_addr;
		if (colon) {
			r->flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
			r->min_proto.tcp.port = r->max_proto.tcp.port = htons((uint16_t)port);
		}
		i += 2;
	} else {
		/* ACCEPT, DROP, RETURN or a chain: iptblob resolves the name */
		add_target(b, target, 0, sizeof(int));
	}
	if (i < t->n)
		return mk_err_set(err, MK_EINVAL, "unexpected %s after target", t->v[i]);
	return 0;
#undef NEXT
}

/* ---- tables ---- */

static int xtables_lock(struct mk_err **err)
{
	int fd = open(XTABLES_LOCK, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "opening %s", XTABLES_LOCK);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return mk_err_errno(err, MK_EIO, e, "locking %s", XTABLES_LOCK);
		}
	}
	return fd;
}

static const char *entry_comment(const struct ipt_entry *e)
{
	for (size_t off = sizeof(struct ipt_entry); off < e->target_offset;) {
		const struct xt_entry_match *m = (const void *)((const uint8_t *)e + off);
		if (!strcmp(m->u.user.name, "comment"))
			return ((const struct xt_comment_info *)m->data)->comment;
		if (m->u.match_size == 0)
			break;
		off += m->u.match_size;
	}
	return NULL;
}

/* The service a chain of ours served, from the comment ("ns/name:port ...")
 * of its first rule as the kernel has it; "" when that is not known. Only
 * for error messages: h may already have flushed the chain. */
static void chain_service(const char *table, const char *chain, char *out, size_t len)
{
	out[0] = '\0';
	struct xtc_handle *h = iptc_init(table);
	if (!h)
		return;
	const struct ipt_entry *e = iptc_is_chain(chain, h) ? iptc_first_rule(chain, h) : NULL;
	const char *c = e ? entry_comment(e) : NULL;
	if (c)
		snprintf(out, len, "%.*s", (int)strcspn(c, " "), c);
	iptc_free(h);
}

static int commit(struct xtc_handle *h, const char *table, struct mk_err **err)
{
	if (!iptc_commit(h))
		return mk_err_set(err, MK_EIO, "committing table %s: %s", table, iptc_strerror(errno));
	return 0;
}

/* Creates the empty canary chain in h's table if it is missing; no rule ever
 * jumps to it, so it only tells whether the table was flushed. */
static int ensure_canary(struct xtc_handle *h, const char *table, bool *created,
			 struct mk_err **err)
{
	/* libiptc reads a whole label */
	static const xt_chainlabel canary = IPT_CANARY_CHAIN;
	*created = false;
	if (iptc_is_chain(canary, h))
		return 0;
	if (!iptc_create_chain(canary, h))
		return mk_err_set(err, MK_EIO, "creating %s in table %s: %s", IPT_CANARY_CHAIN,
				  table, iptc_strerror(errno));
	*created = true;
	return 0;
}

/* The mangle canary has a handle and commit of its own: we write nothing else
 * in mangle, and reading it is cheap where nat may hold tens of MB. */
static int ensure_mangle_canary(bool *created, struct mk_err **err)
{
	*created = false;
	struct xtc_handle *h = iptc_init("mangle");
	if (!h)
		return mk_err_set(err, MK_EIO, "reading table mangle: %s", iptc_strerror(errno));
	int rc = ensure_canary(h, "mangle", created, err);
	if (rc == 0 && *created)
		rc = commit(h, "mangle", err);
	iptc_free(h);
	return rc;
}

/* ---- the sync: filter and nat as blobs (iptblob.h) ---- */

/* Plans (pass one) or writes (pass two) the "-A CHAIN ..." lines of text. */
static int blob_lines(struct iptb *t, const struct buf *text, bool emit, struct builder *b,
		      struct tokens *tk, struct mk_err **err)
{
	const char *p = text->data, *end = text->data + text->len;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		tokens_split(tk, p, len);
		p += len + 1;
		if (tk->n < 2 || strcmp(tk->v[0], "-A"))
			return mk_err_set(err, MK_EINVAL, "bad rule line");
		const char *chain = tk->v[1];
		if (build_entry(b, tk, 2, err) < 0)
			return mk_err_wrap(err, "rule in %s", chain);
		int rc = emit ? iptb_emit_rule(t, chain, &b->u.e, err)
			      : iptb_plan_rule(t, chain, &b->u.e, err);
		if (rc < 0)
			return mk_err_wrap(err, "appending to %s (%s)", chain,
					   b->comment ? b->comment : "no comment");
	}
	return 0;
}

/* The missing jump rules of this table, at the top of their built-in
 * chains, as upstream does with `iptables -C || iptables -I`. */
static int blob_jumps(struct iptb *t, const char *table, struct builder *b, struct tokens *tk,
		      struct mk_err **err)
{
	for (size_t j = 0; j < iptr_n_jumps; j++) {
		const struct iptr_jump *jp = &iptr_jumps[j];
		if (strcmp(jp->table, table) ||
		    iptb_builtin_has(t, jp->chain, jp->target, jp->comment))
			continue;
		bool created;
		iptb_chain_ensure(t, jp->target, &created);
		cleanup_free char *line =
			jp->comment ? xasprintf("%s -m comment --comment \"%s\" -j %s", jp->args,
						jp->comment, jp->target)
				    : xasprintf("%s -j %s", jp->args, jp->target);
		tokens_split(tk, line, strlen(line));
		if (build_entry(b, tk, 0, err) < 0 || iptb_builtin_insert(t, jp->chain, &b->u.e, err) < 0)
			return mk_err_wrap(err, "inserting jump %s -> %s", jp->chain, jp->target);
	}
	return 0;
}

/* Pass one of a table: declared chains created or flushed, jumps, rules,
 * stale chains deleted, the tail; then the canary (full syncs). */
static int blob_plan(struct iptb *t, const struct iptr_table *rt, bool full, bool *canary_made,
		     struct builder *b, struct tokens *tk, struct mk_err **err)
{
	*canary_made = false;
	for (size_t i = 0; i < rt->n_chains; i++)
		iptb_chain_declare(t, rt->chains[i]);
	if (full && blob_jumps(t, rt->name, b, tk, err) < 0)
		return -1;
	if (blob_lines(t, &rt->rules, false, b, tk, err) < 0)
		return -1;
	for (size_t i = 0; i < rt->n_deletes; i++) {
		bool referenced;
		cleanup_err struct mk_err *derr = NULL;
		if (iptb_chain_delete(t, rt->deletes[i], &referenced, &derr) == 0)
			continue;
		char svc[XT_MAX_COMMENT_LEN];
		chain_service(rt->name, rt->deletes[i], svc, sizeof(svc));
		return mk_err_set(err, MK_EIO, "deleting chain %s%s%s: %s", rt->deletes[i],
				  *svc ? " of service " : "", svc, mk_err_msg(derr));
	}
	if (blob_lines(t, &rt->tail, false, b, tk, err) < 0)
		return -1;
	/* the nat and filter canaries ride in this sync's commits; upstream
	 * makes them outside its restore text, and so they are not in ours */
	if (full)
		iptb_chain_ensure(t, IPT_CANARY_CHAIN, canary_made);
	return 0;
}

/* Pass two: the new blob laid out and the rules written into it. */
static int blob_write(struct iptb *t, const struct iptr_table *rt, struct builder *b,
		      struct tokens *tk, struct mk_err **err)
{
	if (iptb_layout(t, err) < 0 || blob_lines(t, &rt->rules, true, b, tk, err) < 0 ||
	    blob_lines(t, &rt->tail, true, b, tk, err) < 0)
		return mk_err_wrap(err, "table %s", rt->name);
	return 0;
}

static int blob_apply(const struct iptr_table *rt, bool full, bool *canary_made,
		      struct mk_err **err)
{
	struct iptb *t = iptb_read(rt->name, err);
	if (!t)
		return -1;
	struct builder *b = xmalloc(sizeof(*b));
	struct tokens tk = {0};
	int rc = blob_plan(t, rt, full, canary_made, b, &tk, err);
	if (rc == 0)
		rc = blob_write(t, rt, b, &tk, err);
	if (rc == 0)
		rc = iptb_commit(t, err);
	tokens_free(&tk);
	free(b);
	iptb_free(t);
	return rc;
}

int ipt_backend_apply_table(const struct iptr_table *t, bool jumps, struct mk_err **err)
{
	cleanup_close int lock = xtables_lock(err);
	if (lock < 0)
		return -1;
	bool made;
	(void)jumps;
	return blob_apply(t, jumps, &made, err);
}

int ipt_backend_sync(const struct proxy_model *m, const struct proxy_config *cfg,
		     const json_t *changed, struct ipt_sync_stats *stats, struct mk_err **err)
{
	cleanup_close int lock = xtables_lock(err);
	if (lock < 0)
		return -1;
	bool full = changed == NULL;
	struct iptb *nat = iptb_read("nat", err);
	if (!nat)
		return -1;
	struct iptb *flt = iptb_read("filter", err);
	if (!flt) {
		iptb_free(nat);
		return -1;
	}
	/* existing chains for stale-chain detection: names in nat's index,
	 * valid until it is freed */
	size_t n = 0, n_user = iptb_n_user_chains(nat);
	char **existing = xmalloc((n_user + 1) * sizeof(*existing));
	for (size_t i = 0; i < n_user; i++) {
		const char *c = iptb_user_chain(nat, i);
		if (iptr_is_service_chain(c))
			existing[n++] = (char *)c;
	}
	struct iptr_opts opts = {.changed = changed, .existing_nat = existing, .n_existing_nat = n};
	struct iptr_ruleset rs;
	iptr_render(m, cfg, &opts, &rs);
	free(existing);
	struct builder *b = xmalloc(sizeof(*b));
	struct tokens tk = {0};
	bool made_filter = false, made_nat = false, made_mangle = false, mangle_ok = false;
	/* both tables planned before either is written: a refused rule or
	 * delete in nat leaves filter as it was too */
	int rc = blob_plan(flt, &rs.filter, full, &made_filter, b, &tk, err);
	if (rc == 0)
		rc = blob_plan(nat, &rs.nat, full, &made_nat, b, &tk, err);
	/* filter first: its REJECTs never point at nat chains, and a failed nat
	 * commit leaves the previous nat rules in force */
	if (rc == 0)
		rc = blob_write(flt, &rs.filter, b, &tk, err);
	if (rc == 0)
		rc = iptb_commit(flt, err);
	iptb_free(flt);
	if (rc == 0)
		rc = blob_write(nat, &rs.nat, b, &tk, err);
	if (rc == 0)
		rc = iptb_commit(nat, err);
	iptb_free(nat);
	tokens_free(&tk);
	free(b);
	/* mangle last: its canary stands for rules that are in place. Not fatal,
	 * as upstream: the rules are written, only flush detection is missing */
	if (rc == 0 && full) {
		struct mk_err *cerr = NULL;
		mangle_ok = ensure_mangle_canary(&made_mangle, &cerr) == 0;
		if (!mangle_ok) {
			log_error("Could not set up iptables canary: %s", mk_err_msg(cerr));
			mk_err_free(cerr);
		}
	}
	if (rc == 0 && stats) {
		*stats = (struct ipt_sync_stats){
			.canaries_created = made_filter + made_nat + made_mangle,
			.mangle_canary_created = made_mangle,
			.mangle_canary_ok = mangle_ok,
			.filter_rules = rs.filter.n_rules,
			.nat_rules = rs.nat.n_rules + rs.nat.n_tail,
			.nat_total = rs.nat.n_rules + rs.nat.n_tail + rs.n_skipped_nat,
			.deleted_chains = rs.nat.n_deletes,
			.no_local_internal = rs.no_local_internal,
			.no_local_external = rs.no_local_external,
		};
	}
	iptr_ruleset_free(&rs);
	return rc;
}

static int cleanup_table(const char *table, struct mk_err **err)
{
	struct xtc_handle *h = iptc_init(table);
	if (!h) {
		/* a table that does not exist holds nothing of ours */
		if (errno == ENOENT)
			return 0;
		return mk_err_set(err, MK_EIO, "reading table %s: %s", table, iptc_strerror(errno));
	}
	int rc = 0;
	size_t n = 0, cap = 64;
	char **chains = xmalloc(cap * sizeof(*chains));
	for (const char *c = iptc_first_chain(h); c; c = iptc_next_chain(h)) {
		if (iptc_builtin(c, h)) {
			/* built-in chains are marked '!': their jumps to KUBE-* go */
			if (n == cap)
				chains = xrealloc(chains, (cap *= 2) * sizeof(*chains));
			chains[n++] = xasprintf("!%s", c);
			continue;
		}
		if (strncmp(c, "KUBE-", 5))
			continue;
		if (n == cap)
			chains = xrealloc(chains, (cap *= 2) * sizeof(*chains));
		chains[n++] = xstrdup(c);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (chains[i][0] != '!')
			continue;
		const char *c = chains[i] + 1;
		unsigned int idx = 0;
		const struct ipt_entry *e = iptc_first_rule(c, h);
		while (e) {
			const char *tg = iptc_get_target(e, h);
			if (tg && !strncmp(tg, "KUBE-", 5)) {
				if (!iptc_delete_num_entry(c, idx, h)) {
					rc = mk_err_set(err, MK_EIO, "deleting jump from %s: %s", c,
							iptc_strerror(errno));
					break;
				}
				/* restart: the iterator is invalid after a deletion */
				idx = 0;
				e = iptc_first_rule(c, h);
				continue;
			}
			idx++;
			e = iptc_next_rule(e, h);
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		if (chains[i][0] != '!' && !iptc_flush_entries(chains[i], h))
			rc = mk_err_set(err, MK_EIO, "flushing %s: %s", chains[i], iptc_strerror(errno));
	for (size_t i = 0; i < n && rc == 0; i++)
		if (chains[i][0] != '!' && !iptc_delete_chain(chains[i], h))
			rc = mk_err_set(err, MK_EIO, "deleting %s: %s", chains[i], iptc_strerror(errno));
	if (rc == 0)
		rc = commit(h, table, err);
	for (size_t i = 0; i < n; i++)
		free(chains[i]);
	free(chains);
	iptc_free(h);
	return rc;
}

int ipt_backend_cleanup(struct mk_err **err)
{
	cleanup_close int lock = xtables_lock(err);
	if (lock < 0)
		return -1;
	if (cleanup_table("filter", err) < 0 || cleanup_table("nat", err) < 0 ||
	    cleanup_table("mangle", err) < 0)
		return -1;
	return 0;
}

/* Whether the legacy table is loaded: reading one that is not would load
 * its module (and with it a table of rules nobody asked for). */
static bool table_loaded(const char *table)
{
	FILE *f = fopen("/proc/net/ip_tables_names", "r");
	if (!f)
		return false;
	char line[64];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = !strcmp(line, table);
	}
	fclose(f);
	return found;
}

/* The chains kube-proxy alone writes: upstream's cleanup list, with the
 * firewall chain, the masquerade mark and the canaries. */
static bool proxy_chain(const char *table, const char *c)
{
	static const char *const filter[] = {"KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES",
					     "KUBE-FORWARD", "KUBE-NODEPORTS",
					     "KUBE-PROXY-FIREWALL", IPT_CANARY_CHAIN};
	static const char *const nat[] = {"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING",
					  "KUBE-MARK-MASQ", IPT_CANARY_CHAIN};
	if (!strcmp(table, "mangle"))
		return !strcmp(c, IPT_CANARY_CHAIN);
	bool is_nat = !strcmp(table, "nat");
	const char *const *v = is_nat ? nat : filter;
	size_t n = is_nat ? sizeof(nat) / sizeof(nat[0]) : sizeof(filter) / sizeof(filter[0]);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(c, v[i]))
			return true;
	return is_nat && iptr_is_service_chain(c);
}

/* Whether e is one of kube-proxy's jumps from a built-in chain (by target
 * and comment: kubelet's jumps to the same chains carry none). */
static bool proxy_jump(const char *table, const char *chain, const struct ipt_entry *e,
		       struct xtc_handle *h)
{
	const char *tg = iptc_get_target(e, h), *cm = entry_comment(e);
	for (size_t j = 0; tg && cm && j < iptr_n_jumps; j++) {
		const struct iptr_jump *jp = &iptr_jumps[j];
		if (jp->comment && !strcmp(jp->table, table) && !strcmp(jp->chain, chain) &&
		    !strcmp(jp->target, tg) && !strcmp(jp->comment, cm))
			return true;
	}
	return false;
}

/* One table's leftovers, in one commit: kube-proxy's jumps out of the
 * built-in chains, then its chains flushed and deleted. A chain something
 * else still jumps to is flushed and kept. */
static int leftovers_table(const char *table, size_t *removed, struct mk_err **err)
{
	if (!table_loaded(table))
		return 0;
	struct xtc_handle *h = iptc_init(table);
	if (!h)
		return mk_err_set(err, MK_EIO, "reading table %s: %s", table, iptc_strerror(errno));
	int rc = 0;
	size_t n = 0, cap = 64, before = *removed;
	char **chains = xmalloc(cap * sizeof(*chains));
	for (const char *c = iptc_first_chain(h); c; c = iptc_next_chain(h)) {
		if (n == cap)
			chains = xrealloc(chains, (cap *= 2) * sizeof(*chains));
		chains[n++] = xstrdup(c);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!iptc_builtin(chains[i], h))
			continue;
		unsigned int idx = 0;
		for (const struct ipt_entry *e = iptc_first_rule(chains[i], h); e;) {
			if (!proxy_jump(table, chains[i], e, h)) {
				idx++;
				e = iptc_next_rule(e, h);
				continue;
			}
			if (!iptc_delete_num_entry(chains[i], idx, h)) {
				rc = mk_err_set(err, MK_EIO, "deleting a jump from %s: %s", chains[i],
						iptc_strerror(errno));
				break;
			}
			(*removed)++;
			/* the iterator does not survive a deletion: walk again to idx */
			e = iptc_first_rule(chains[i], h);
			for (unsigned int k = 0; e && k < idx; k++)
				e = iptc_next_rule(e, h);
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!proxy_chain(table, chains[i]))
			continue;
		for (const struct ipt_entry *e = iptc_first_rule(chains[i], h); e;
		     e = iptc_next_rule(e, h))
			(*removed)++;
		if (!iptc_flush_entries(chains[i], h))
			rc = mk_err_set(err, MK_EIO, "flushing %s: %s", chains[i],
					iptc_strerror(errno));
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned int refs = 0;
		if (!proxy_chain(table, chains[i]) || !iptc_get_references(&refs, chains[i], h))
			continue;
		if (refs) {
			log_info("Keeping chain %s of table %s: other rules jump to it", chains[i],
				 table);
			continue;
		}
		if (!iptc_delete_chain(chains[i], h))
			rc = mk_err_set(err, MK_EIO, "deleting %s: %s", chains[i],
					iptc_strerror(errno));
		else
			(*removed)++;
	}
	if (rc == 0 && *removed > before)
		rc = commit(h, table, err);
	for (size_t i = 0; i < n; i++)
		free(chains[i]);
	free(chains);
	iptc_free(h);
	return rc;
}

int ipt_backend_leftovers(size_t *removed, struct mk_err **err)
{
	*removed = 0;
	cleanup_close int lock = xtables_lock(err);
	if (lock < 0)
		return -1;
	static const char *const tables[] = {"filter", "nat", "mangle"};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (leftovers_table(tables[i], removed, err) < 0)
			return -1;
	return 0;
}

/* ---- backend table ---- */

struct ipt_state {
	bool canary_made; /* a sync made the mangle canary or found it */
};

static void *ipt_create(void)
{
	return xcalloc(1, sizeof(struct ipt_state));
}

static void ipt_destroy(void *state)
{
	free(state);
}

static int ipt_sync(void *state, const struct proxy_model *m, const struct proxy_config *cfg,
		    const json_t *changed, struct proxy_sync_result *res, struct mk_err **err)
{
	struct ipt_state *s = state;
	struct ipt_sync_stats st;
	if (ipt_backend_sync(m, cfg, changed, &st, err) < 0)
		return -1;
	/* full syncs (every sync period) look for the mangle canary: gone after
	 * we had it means someone flushed iptables, and this full sync has just
	 * rewritten every rule and canary. Upstream first waits for the nat and
	 * filter canaries to go too, so as not to race a flush in progress; here
	 * the next periodic full sync repairs that case, and nat is never read
	 * only to look for its canary. */
	if (changed == NULL) {
		if (s->canary_made && st.mangle_canary_created)
			log_v(2, "iptables mangle table was flushed (%s gone): rules and "
				 "canaries recreated",
			      IPT_CANARY_CHAIN);
		s->canary_made |= st.mangle_canary_ok;
	}
	*res = (struct proxy_sync_result){
		.rules_filter = st.filter_rules,
		.rules_nat = st.nat_rules,
		.total_filter = st.filter_rules,
		.total_nat = st.nat_total,
		.no_local_internal = st.no_local_internal,
		.no_local_external = st.no_local_external,
	};
	return 0;
}

const struct proxy_backend proxy_backend_iptables = {
	.name = "iptables",
	.create = ipt_create,
	.destroy = ipt_destroy,
	.sync = ipt_sync,
	.cleanup = ipt_backend_cleanup,
	.leftovers = ipt_backend_leftovers,
};
