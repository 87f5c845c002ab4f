/* kube-proxy --explain: see explain.h. The rules are read as the kernel lists
 * them and walked for one new connection at a time; nothing here knows what
 * kube-proxy would write, only how netfilter evaluates what is there. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "client.h"
#include "explain.h"
#include "json.h"
#include "kubeconfig.h"
#include "names.h"
#include "strmap.h"
#include "xalloc.h"

/* The kernel refuses rulesets whose jumps loop, and kube-proxy's nest a few
 * chains deep: a walk deeper than this is not followed. */
#define MAX_DEPTH 24

/* Marks the top-level chain's label in a walk's text until the walks of the
 * built-in chains of one stage are compared and their labels merged. */
#define LABEL_MARK "\x01"

/* ---- small helpers ---- */

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_take(struct strv *s, char *x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = x;
}

static void strv_add(struct strv *s, const char *x)
{
	strv_take(s, xstrdup(x));
}

static void strv_truncate(struct strv *s, size_t n)
{
	while (s->n > n)
		free(s->v[--s->n]);
}

static void strv_release(struct strv *s)
{
	strv_truncate(s, 0);
	free(s->v);
	s->v = NULL;
	s->cap = 0;
}

static char *strv_join(const struct strv *s, const char *sep)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < s->n; i++)
		buf_printf(&b, "%s%s", i ? sep : "", s->v[i]);
	return buf_steal(&b);
}

/* name -> position in an array, kept as a strmap of decimal positions */
static void idx_set(struct strmap *m, const char *name, size_t i)
{
	char v[24];
	snprintf(v, sizeof(v), "%zu", i);
	strmap_set(m, name, v);
}

static bool idx_get(const struct strmap *m, const char *name, size_t *i)
{
	const char *v = strmap_get(m, name);
	if (!v)
		return false;
	*i = strtoul(v, NULL, 10);
	return true;
}

static bool ip4_parse(const char *s, uint32_t *a)
{
	struct in_addr x;
	if (!s || inet_pton(AF_INET, s, &x) != 1)
		return false;
	*a = ntohl(x.s_addr);
	return true;
}

/* "a.b.c.d" or "a.b.c.d/n" */
static bool cidr_parse(const char *s, uint32_t *net, int *bits)
{
	const char *slash = strchr(s, '/');
	char ip[INET_ADDRSTRLEN];
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	if (len >= sizeof(ip))
		return false;
	memcpy(ip, s, len);
	ip[len] = '\0';
	*bits = 32;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || b < 0 || b > 32)
			return false;
		*bits = (int)b;
	}
	return ip4_parse(ip, net);
}

static bool cidr_has(const char *cidr, uint32_t a)
{
	uint32_t net;
	int bits;
	if (!cidr_parse(cidr, &net, &bits))
		return false;
	uint32_t mask = bits ? ~0u << (32 - bits) : 0;
	return (net & mask) == (a & mask);
}

/* "10.0.0.1/32" -> "10.0.0.1"; anything else as it is. New string. */
static char *host_of(const char *cidr)
{
	size_t n = strlen(cidr);
	if (n > 3 && !strcmp(cidr + n - 3, "/32"))
		return xstrndup(cidr, n - 3);
	return xstrdup(cidr);
}

/* "80", "80:90" (iptables), "80-90" (nft) or a list "80,443" against port. */
static bool ports_have(const char *spec, int port)
{
	cleanup_free char *copy = xstrdup(spec);
	for (char *save = NULL, *w = strtok_r(copy, ",", &save); w;
	     w = strtok_r(NULL, ",", &save)) {
		char *end;
		long lo = strtol(w, &end, 10), hi = lo;
		if (end == w)
			continue;
		if (*end == ':' || *end == '-')
			hi = strtol(end + 1, &end, 10);
		if (*end)
			continue;
		if (port >= lo && port <= hi)
			return true;
	}
	return false;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Appends text with every line indented by n spaces. */
static void append_indented(struct buf *out, const char *text, int n)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text + 1) : strlen(text);
		if (len > 1 || *text != '\n')
			buf_printf(out, "%*s", n, "");
		buf_append(out, text, len);
		text += len;
	}
}

/* Replaces every LABEL_MARK of text by label. New string. */
static char *relabel(const char *text, const char *label)
{
	struct buf b = BUF_INIT;
	for (const char *p = text; *p; p++) {
		if (*p == LABEL_MARK[0])
			buf_append_str(&b, label);
		else
			buf_append_char(&b, *p);
	}
	return buf_steal(&b);
}

/* A share of connections, readable: "25.0 %", "0.50 %". */
static void share_text(double share, char *out, size_t len)
{
	double pct = share * 100.0;
	snprintf(out, len, pct >= 1.0 || pct == 0.0 ? "%.1f %%" : "%.2f %%", pct);
}

/* ---- targets ---- */

static const char *proto_norm(const char *s)
{
	static const char *const known[] = {"tcp", "udp", "sctp"};
	for (size_t i = 0; i < 3; i++)
		if (!strcasecmp(s, known[i]))
			return known[i];
	return NULL;
}

int explain_target_parse(const char *s, struct explain_target *t, struct mk_err **err)
{
	memset(t, 0, sizeof(*t));
	static const char want[] = "want namespace/name[:port] or IP:port[/protocol]";
	if (!s || !*s)
		return mk_err_set(err, MK_EINVAL, "--explain: empty target: %s", want);
	if (strchr(s, '[') || (strchr(s, ':') && strchr(strchr(s, ':') + 1, ':')))
		return mk_err_set(
			err, MK_EINVAL,
			"--explain %s: IPv6 is not supported, the rules explained are IPv4", s);
	const char *colon = strchr(s, ':');
	cleanup_free char *head = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
	uint32_t a;
	if (ip4_parse(head, &a)) {
		if (!colon)
			return mk_err_set(err, MK_EINVAL,
					  "--explain %s: a port is needed: IP:port[/protocol]", s);
		const char *ps = colon + 1, *slash = strchr(ps, '/');
		cleanup_free char *port = slash ? xstrndup(ps, (size_t)(slash - ps)) : xstrdup(ps);
		long n = all_digits(port) && strlen(port) <= 5 ? strtol(port, NULL, 10) : 0;
		if (n < 1 || n > 65535)
			return mk_err_set(err, MK_EINVAL,
					  "--explain %s: port \"%s\" is not a number in 1-65535", s,
					  port);
		const char *proto = slash ? proto_norm(slash + 1) : "tcp";
		if (!proto)
			return mk_err_set(err, MK_EINVAL,
					  "--explain %s: protocol \"%s\" is not tcp, udp or sctp",
					  s, slash + 1);
		t->ip = xstrdup(head);
		t->dport = (int)n;
		snprintf(t->proto, sizeof(t->proto), "%s", proto);
		return 0;
	}
	const char *slash = strchr(head, '/');
	if (!slash)
		return mk_err_set(err, MK_EINVAL, "--explain %s: %s", s, want);
	cleanup_free char *ns = xstrndup(head, (size_t)(slash - head));
	const char *name = slash + 1;
	const char *bad = names_check_dns1123_label(ns);
	if (bad)
		return mk_err_set(err, MK_EINVAL, "--explain %s: namespace \"%s\": %s", s, ns, bad);
	if ((bad = names_check_dns1123_label(name)))
		return mk_err_set(err, MK_EINVAL, "--explain %s: service name \"%s\": %s", s, name,
				  bad);
	if (colon) {
		const char *port = colon + 1;
		bool ok = all_digits(port)
				  ? strlen(port) <= 5 && atol(port) >= 1 && atol(port) <= 65535
				  : !names_check_dns1123_label(port) && strlen(port) <= 15;
		if (!ok)
			return mk_err_set(err, MK_EINVAL,
					  "--explain %s: port \"%s\" is neither a port number nor "
					  "a port name",
					  s, port);
		t->port = xstrdup(port);
	}
	t->ns = steal_pointer(&ns);
	t->name = xstrdup(name);
	return 0;
}

void explain_target_free(struct explain_target *t)
{
	if (!t)
		return;
	free(t->ns);
	free(t->name);
	free(t->port);
	free(t->ip);
	memset(t, 0, sizeof(*t));
}

/* ---- iptables-save text ---- */

struct ipt_rule {
	char *text;    /* as listed, without "-A CHAIN" (and its comment when it has a target) */
	char *comment; /* NULL when none */
	char *src, *dst, *proto, *in_if, *out_if;
	bool src_neg, dst_neg, proto_neg, in_neg, out_neg;
	char *dports; /* "80", "80:90", "80,443" */
	bool dport_neg;
	char *dst_type, *src_type; /* addrtype */
	bool dst_type_neg, src_type_neg;
	char *prob; /* statistic --probability as listed */
	char *recent_name, *recent_secs;
	bool recent_check, recent_set;
	bool not_new;	   /* a conntrack state a new connection never has */
	char *mark;	   /* -m mark --mark value, with "! " when negated */
	struct strv other; /* matches this reader cannot judge, as listed */
	char *target;
	bool is_goto;
	char *dnat_to, *reject_with;
};

struct ipt_chain {
	char *name;
	bool builtin;
	struct ipt_rule *rules;
	size_t n, cap;
};

struct ipt_table {
	char *name;
	struct ipt_chain *chains;
	size_t n, cap;
	struct strmap idx; /* chain name -> position */
};

struct ipt {
	struct ipt_table filter, nat;
};

struct tok {
	char *val; /* unquoted */
	char *raw; /* as written */
};

static void toks_free(struct tok *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].val);
		free(t[i].raw);
	}
	free(t);
}

/* Words of an iptables-save line; "..." quoted with \" and \\ escapes. */
static struct tok *ipt_tokenize(const char *line, size_t *n)
{
	struct tok *t = NULL;
	size_t cap = 0;
	*n = 0;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		const char *start = p;
		struct buf v = BUF_INIT;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				buf_append_char(&v, *p);
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ' ' && *p != '\t' && *p != '\n')
				buf_append_char(&v, *p++);
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			t = xrealloc(t, cap * sizeof(*t));
		}
		t[*n].val = buf_steal(&v);
		t[*n].raw = xstrndup(start, (size_t)(p - start));
		(*n)++;
	}
	return t;
}

static void ipt_rule_free(struct ipt_rule *r)
{
	free(r->text);
	free(r->comment);
	free(r->src);
	free(r->dst);
	free(r->proto);
	free(r->in_if);
	free(r->out_if);
	free(r->dports);
	free(r->dst_type);
	free(r->src_type);
	free(r->prob);
	free(r->recent_name);
	free(r->recent_secs);
	free(r->mark);
	strv_release(&r->other);
	free(r->target);
	free(r->dnat_to);
	free(r->reject_with);
}

static void ipt_free(struct ipt *x)
{
	struct ipt_table *tables[] = {&x->filter, &x->nat};
	for (size_t k = 0; k < 2; k++) {
		struct ipt_table *t = tables[k];
		for (size_t i = 0; i < t->n; i++) {
			struct ipt_chain *c = &t->chains[i];
			for (size_t j = 0; j < c->n; j++)
				ipt_rule_free(&c->rules[j]);
			free(c->rules);
			free(c->name);
		}
		free(t->chains);
		free(t->name);
		strmap_free(&t->idx);
	}
}

static struct ipt_chain *ipt_chain_find(const struct ipt_table *t, const char *name)
{
	size_t i;
	return idx_get(&t->idx, name, &i) ? &t->chains[i] : NULL;
}

static struct ipt_chain *ipt_chain_add(struct ipt_table *t, const char *name, bool builtin)
{
	struct ipt_chain *c = ipt_chain_find(t, name);
	if (c)
		return c;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->chains = xrealloc(t->chains, t->cap * sizeof(*t->chains));
	}
	idx_set(&t->idx, name, t->n);
	c = &t->chains[t->n++];
	*c = (struct ipt_chain){.name = xstrdup(name), .builtin = builtin};
	return c;
}

/* Options of matches and targets that take no value. */
static bool opt_is_flag(const char *o)
{
	static const char *const flags[] = {"--rcheck",
					    "--set",
					    "--update",
					    "--remove",
					    "--reap",
					    "--rsource",
					    "--rdest",
					    "--random-fully",
					    "--random",
					    "--persistent",
					    "--syn",
					    "--log-uid",
					    "--log-tcp-sequence",
					    "--log-tcp-options",
					    "--log-ip-options",
					    NULL};
	for (size_t i = 0; flags[i]; i++)
		if (!strcmp(o, flags[i]))
			return true;
	return false;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* One "-A CHAIN ..." line into r; *chain receives the chain's name (new). */
static int ipt_parse_rule(const char *line, struct ipt_rule *r, char **chain, struct mk_err **err)
{
	size_t n;
	struct tok *t = ipt_tokenize(line, &n);
	bool *skip = xcalloc(n ? n : 1, sizeof(bool));
	int rc = 0;
	memset(r, 0, sizeof(*r));
	*chain = NULL;
	if (n < 2 || strcmp(t[0].val, "-A")) {
		rc = mk_err_set(err, MK_EINVAL, "not a rule: %s", line);
		goto out;
	}
	*chain = xstrdup(t[1].val);
	const char *mod = "";
	size_t mod_at = 0;
	bool neg = false, in_target = false;
	for (size_t i = 2; i < n; i++) {
		const char *o = t[i].val;
		const char *v = i + 1 < n ? t[i + 1].val : NULL;
		if (!strcmp(o, "!")) {
			neg = true;
			continue;
		}
		if (in_target) {
			if (!strcmp(o, "--to-destination") && v)
				set_str(&r->dnat_to, v);
			else if (!strcmp(o, "--reject-with") && v)
				set_str(&r->reject_with, v);
			continue;
		}
		bool takes = !opt_is_flag(o);
		if (takes && !v) {
			rc = mk_err_set(err, MK_EINVAL, "option %s without a value: %s", o, line);
			goto out;
		}
		char **core = NULL;
		bool *core_neg = NULL;
		if (!strcmp(o, "-s") || !strcmp(o, "--source"))
			core = &r->src, core_neg = &r->src_neg;
		else if (!strcmp(o, "-d") || !strcmp(o, "--destination"))
			core = &r->dst, core_neg = &r->dst_neg;
		else if (!strcmp(o, "-p") || !strcmp(o, "--protocol"))
			core = &r->proto, core_neg = &r->proto_neg;
		else if (!strcmp(o, "-i") || !strcmp(o, "--in-interface"))
			core = &r->in_if, core_neg = &r->in_neg;
		else if (!strcmp(o, "-o") || !strcmp(o, "--out-interface"))
			core = &r->out_if, core_neg = &r->out_neg;
		if (core) {
			set_str(core, v);
			*core_neg = neg;
		} else if (!strcmp(o, "-m") || !strcmp(o, "--match")) {
			mod = v;
			mod_at = i;
		} else if (!strcmp(o, "-j") || !strcmp(o, "-g") || !strcmp(o, "--jump") ||
			   !strcmp(o, "--goto")) {
			set_str(&r->target, v);
			r->is_goto = o[1] == 'g' || !strcmp(o, "--goto");
			in_target = true;
		} else if (!strcmp(mod, "comment") && !strcmp(o, "--comment")) {
			set_str(&r->comment, v);
			skip[mod_at] = skip[mod_at + 1] = skip[i] = skip[i + 1] = true;
		} else if ((!strcmp(mod, "tcp") || !strcmp(mod, "udp") || !strcmp(mod, "sctp")) &&
			   (!strcmp(o, "--dport") || !strcmp(o, "--destination-port"))) {
			set_str(&r->dports, v);
			r->dport_neg = neg;
		} else if (!strcmp(mod, "multiport") &&
			   (!strcmp(o, "--dports") || !strcmp(o, "--destination-ports"))) {
			set_str(&r->dports, v);
			r->dport_neg = neg;
		} else if (!strcmp(mod, "addrtype") && !strcmp(o, "--dst-type")) {
			set_str(&r->dst_type, v);
			r->dst_type_neg = neg;
		} else if (!strcmp(mod, "addrtype") && !strcmp(o, "--src-type")) {
			set_str(&r->src_type, v);
			r->src_type_neg = neg;
		} else if (!strcmp(mod, "statistic") && !strcmp(o, "--probability")) {
			set_str(&r->prob, v);
		} else if (!strcmp(mod, "statistic") && !strcmp(o, "--mode") &&
			   !strcmp(v, "random")) {
			/* the probability says it all */
		} else if (!strcmp(mod, "recent") &&
			   (!strcmp(o, "--rcheck") || !strcmp(o, "--update"))) {
			r->recent_check = true;
		} else if (!strcmp(mod, "recent") && !strcmp(o, "--set")) {
			r->recent_set = true;
		} else if (!strcmp(mod, "recent") && !strcmp(o, "--name")) {
			set_str(&r->recent_name, v);
		} else if (!strcmp(mod, "recent") && !strcmp(o, "--seconds")) {
			set_str(&r->recent_secs, v);
		} else if (!strcmp(mod, "recent") &&
			   (!strcmp(o, "--reap") || !strcmp(o, "--rsource") ||
			    !strcmp(o, "--mask"))) {
			/* how the list is kept, not whether the rule matches */
		} else if ((!strcmp(mod, "conntrack") && !strcmp(o, "--ctstate")) ||
			   (!strcmp(mod, "state") && !strcmp(o, "--state"))) {
			bool has_new = false;
			cleanup_free char *states = xstrdup(v);
			for (char *s = NULL, *w = strtok_r(states, ",", &s); w;
			     w = strtok_r(NULL, ",", &s))
				has_new |= !strcmp(w, "NEW");
			/* explained is a new connection: NEW, not RELATED/ESTABLISHED/DNAT */
			if (has_new == neg)
				r->not_new = true;
		} else if (!strcmp(mod, "mark") && !strcmp(o, "--mark")) {
			free(r->mark);
			r->mark = xasprintf("%s%s", neg ? "! " : "", v);
		} else if (!strcmp(mod, "nfacct")) {
			/* a counter */
		} else {
			strv_take(&r->other,
				  xasprintf("-m %s %s%s%s%s", mod, neg ? "! " : "", o,
					    takes ? " " : "", takes ? t[i + 1].raw : ""));
		}
		if (takes)
			i++;
		neg = false;
	}
	/* the listing, without the comment when the target says what happens */
	struct buf text = BUF_INIT;
	for (size_t i = 2; i < n; i++)
		if (!skip[i] || !r->target)
			buf_printf(&text, "%s%s", text.len ? " " : "", t[i].raw);
	r->text = buf_steal(&text);
out:
	free(skip);
	toks_free(t, n);
	if (rc < 0) {
		ipt_rule_free(r);
		free(*chain);
		*chain = NULL;
	}
	return rc;
}

/* iptables-save text of the filter and nat tables (other tables ignored). */
static int ipt_parse(const char *text, struct ipt *x, struct mk_err **err)
{
	memset(x, 0, sizeof(*x));
	x->filter.name = xstrdup("filter");
	x->nat.name = xstrdup("nat");
	struct ipt_table *cur = NULL;
	bool skipping = false;
	size_t lineno = 0;
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		cleanup_free char *line = nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		p = nl ? nl + 1 : NULL;
		lineno++;
		if (!*line || line[0] == '#')
			continue;
		if (line[0] == '*') {
			cur = !strcmp(line + 1, "filter") ? &x->filter
			      : !strcmp(line + 1, "nat")  ? &x->nat
							  : NULL;
			skipping = !cur;
			continue;
		}
		if (!strcmp(line, "COMMIT")) {
			cur = NULL;
			skipping = false;
			continue;
		}
		if (skipping)
			continue;
		if (!cur)
			return mk_err_set(err, MK_EINVAL, "line %zu: \"%s\" outside a table",
					  lineno, line);
		if (line[0] == ':') {
			char name[64], policy[16];
			if (sscanf(line + 1, "%63s %15s", name, policy) != 2)
				return mk_err_set(err, MK_EINVAL, "line %zu: bad chain line \"%s\"",
						  lineno, line);
			ipt_chain_add(cur, name, strcmp(policy, "-") != 0);
			continue;
		}
		struct ipt_rule r;
		char *chain = NULL;
		if (ipt_parse_rule(line, &r, &chain, err) < 0)
			return mk_err_wrap(err, "line %zu", lineno);
		struct ipt_chain *c = ipt_chain_add(cur, chain, false);
		free(chain);
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 8;
			c->rules = xrealloc(c->rules, c->cap * sizeof(*c->rules));
		}
		c->rules[c->n++] = r;
	}
	return 0;
}

/* ---- nft list table text ---- */

struct nft_elem {
	char *key;     /* components joined by " . " */
	char *verdict; /* maps: "goto chain", "drop"...; NULL in sets */
	char *comment;
};

struct nft_set {
	char *name;
	bool map;
	char *timeout;
	struct nft_elem *e;
	size_t n, cap;
	struct strmap keys; /* element key -> position */
	bool ranges;	    /* some key holds a prefix or a range */
};

struct nft_chain {
	char *name;
	char *hook; /* base chains; NULL for regular ones */
	int prio;
	char **rules; /* as listed */
	size_t n, cap;
};

struct nft {
	struct nft_set *sets;
	size_t n_sets, cap_sets;
	struct nft_chain *chains;
	size_t n_chains, cap_chains;
	struct strmap set_idx, chain_idx; /* name -> position */
};

/* Frees a set's elements and name; s is empty afterwards. */
static void nft_set_clear(struct nft_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].key);
		free(s->e[i].verdict);
		free(s->e[i].comment);
	}
	free(s->e);
	free(s->name);
	free(s->timeout);
	strmap_free(&s->keys);
	memset(s, 0, sizeof(*s));
}

static void nft_free(struct nft *x)
{
	for (size_t i = 0; i < x->n_sets; i++)
		nft_set_clear(&x->sets[i]);
	free(x->sets);
	strmap_free(&x->set_idx);
	strmap_free(&x->chain_idx);
	for (size_t i = 0; i < x->n_chains; i++) {
		struct nft_chain *c = &x->chains[i];
		for (size_t j = 0; j < c->n; j++)
			free(c->rules[j]);
		free(c->rules);
		free(c->name);
		free(c->hook);
	}
	free(x->chains);
}

static const struct nft_set *nft_set_find(const struct nft *x, const char *name)
{
	size_t i;
	return idx_get(&x->set_idx, name, &i) ? &x->sets[i] : NULL;
}

static const struct nft_chain *nft_chain_find(const struct nft *x, const char *name)
{
	size_t i;
	return idx_get(&x->chain_idx, name, &i) ? &x->chains[i] : NULL;
}

/* Words of an nft statement: whitespace-separated, "..." kept whole, and ","
 * "{" "}" always words of their own. */
static size_t nft_tokenize(const char *s, struct strv *out)
{
	const char *p = s;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (*p == ',' || *p == '{' || *p == '}') {
			strv_take(out, xstrndup(p, 1));
			p++;
			continue;
		}
		const char *start = p;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else {
			while (*p && !isspace((unsigned char)*p) && *p != ',' && *p != '{' &&
			       *p != '}')
				p++;
		}
		strv_take(out, xstrndup(start, (size_t)(p - start)));
	}
	return out->n;
}

static char *unquote(const char *s)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		return xstrndup(s + 1, n - 2);
	return xstrdup(s);
}

/* The elements between the braces of "elements = { ... }". */
static void nft_parse_elements(struct nft_set *s, const char *list)
{
	struct strv w = {0};
	nft_tokenize(list, &w);
	size_t i = 0;
	while (i < w.n) {
		struct buf key = BUF_INIT;
		char *verdict = NULL, *comment = NULL;
		int depth = 0;
		for (; i < w.n && (depth > 0 || strcmp(w.v[i], ",")); i++) {
			const char *x = w.v[i];
			if (!strcmp(x, "{"))
				depth++;
			else if (!strcmp(x, "}"))
				depth--;
			if (depth == 0 && !strcmp(x, ":") && !verdict) {
				struct buf v = BUF_INIT;
				for (i++; i < w.n && strcmp(w.v[i], ","); i++)
					buf_printf(&v, "%s%s", v.len ? " " : "", w.v[i]);
				verdict = buf_steal(&v);
				break;
			}
			if (depth == 0 && i + 1 < w.n &&
			    (!strcmp(x, "comment") || !strcmp(x, "timeout") ||
			     !strcmp(x, "expires"))) {
				if (!strcmp(x, "comment")) {
					free(comment);
					comment = unquote(w.v[i + 1]);
				}
				i++;
				continue;
			}
			buf_printf(&key, "%s%s", key.len ? " " : "", x);
		}
		i++; /* the comma */
		if (!key.len) {
			buf_free(&key);
			free(verdict);
			free(comment);
			continue;
		}
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 16;
			s->e = xrealloc(s->e, s->cap * sizeof(*s->e));
		}
		size_t dup;
		if (!idx_get(&s->keys, buf_str(&key), &dup))
			idx_set(&s->keys, buf_str(&key), s->n);
		s->ranges |= strpbrk(buf_str(&key), "/-") != NULL;
		s->e[s->n++] = (struct nft_elem){
			.key = buf_steal(&key), .verdict = verdict, .comment = comment};
	}
	strv_release(&w);
}

static int brace_balance(const char *s)
{
	int d = 0;
	bool q = false;
	for (; *s; s++) {
		if (*s == '"')
			q = !q;
		else if (!q && *s == '{')
			d++;
		else if (!q && *s == '}')
			d--;
	}
	return d;
}

/* The value of a chain priority as nft lists it: "dstnat - 10", "-110", "filter". */
static int nft_priority(const char *s)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {{"raw", -300}, {"mangle", -150}, {"dstnat", -100},
		     {"filter", 0}, {"security", 50}, {"srcnat", 100}};
	struct strv w = {0};
	nft_tokenize(s, &w);
	int v = 0;
	size_t i = 0;
	if (w.n) {
		bool named = false;
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (!strcmp(w.v[0], names[k].name)) {
				v = names[k].value;
				named = true;
			}
		if (!named)
			v = atoi(w.v[0]);
		i = 1;
	}
	if (i + 1 < w.n && (!strcmp(w.v[i], "+") || !strcmp(w.v[i], "-")))
		v += (w.v[i][0] == '-' ? -1 : 1) * atoi(w.v[i + 1]);
	strv_release(&w);
	return v;
}

/* Takes the next line of text (trimmed; NULL at the end). */
static char *next_line(const char **p)
{
	if (!*p || !**p)
		return NULL;
	const char *nl = strchr(*p, '\n');
	size_t len = nl ? (size_t)(nl - *p) : strlen(*p);
	const char *s = *p;
	*p = nl ? nl + 1 : *p + len;
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return xstrndup(s, len);
}

/* `nft list table` text: one table's sets, maps and chains. */
static int nft_parse(const char *text, struct nft *x, struct mk_err **err)
{
	memset(x, 0, sizeof(*x));
	const char *p = text;
	char *line;
	int depth = 0;
	struct nft_set *set = NULL;
	struct nft_chain *chain = NULL;
	bool seen_table = false;
	while ((line = next_line(&p))) {
		cleanup_free char *l = line;
		if (!*l)
			continue;
		/* a statement or element list spread over lines is read whole */
		int bal = brace_balance(l);
		bool opens_block = depth < 2 && l[strlen(l) - 1] == '{' && bal == 1;
		if (bal > 0 && !opens_block) {
			struct buf all = BUF_INIT;
			buf_append_str(&all, l);
			char *more;
			while (bal > 0 && (more = next_line(&p))) {
				bal += brace_balance(more);
				buf_printf(&all, " %s", more);
				free(more);
			}
			free(l);
			l = buf_steal(&all);
		}
		if (depth == 0) {
			if (strncmp(l, "table ", 6) || !opens_block)
				return mk_err_set(err, MK_EINVAL,
						  "not an nft table listing: \"%s\"", l);
			seen_table = true;
			depth = 1;
		} else if (depth == 1) {
			char kind[16], name[512];
			if (!strcmp(l, "}")) {
				depth = 0;
			} else if (opens_block && sscanf(l, "%15s %511s", kind, name) == 2) {
				depth = 2;
				if (!strcmp(kind, "set") || !strcmp(kind, "map")) {
					if (x->n_sets == x->cap_sets) {
						x->cap_sets = x->cap_sets ? 2 * x->cap_sets : 16;
						x->sets = xrealloc(x->sets,
								   x->cap_sets * sizeof(*x->sets));
					}
					idx_set(&x->set_idx, name, x->n_sets);
					set = &x->sets[x->n_sets++];
					*set = (struct nft_set){.name = xstrdup(name),
								.map = !strcmp(kind, "map")};
				} else if (!strcmp(kind, "chain")) {
					if (x->n_chains == x->cap_chains) {
						x->cap_chains =
							x->cap_chains ? 2 * x->cap_chains : 32;
						x->chains = xrealloc(x->chains,
								     x->cap_chains *
									     sizeof(*x->chains));
					}
					idx_set(&x->chain_idx, name, x->n_chains);
					chain = &x->chains[x->n_chains++];
					*chain = (struct nft_chain){.name = xstrdup(name)};
				}
			}
			/* the table's comment and flags say nothing about packets */
		} else if (!strcmp(l, "}")) {
			depth = 1;
			set = NULL;
			chain = NULL;
		} else if (set) {
			if (!strncmp(l, "elements = {", 12)) {
				cleanup_free char *list = xstrdup(l + 12);
				char *end = strrchr(list, '}');
				if (end)
					*end = '\0';
				nft_parse_elements(set, list);
			} else if (!strncmp(l, "timeout ", 8)) {
				set_str(&set->timeout, l + 8);
			}
		} else if (chain) {
			if (!strncmp(l, "type ", 5) && strstr(l, " hook ")) {
				char hook[32];
				const char *h = strstr(l, " hook "), *pr = strstr(l, " priority ");
				if (sscanf(h + 6, "%31s", hook) == 1)
					set_str(&chain->hook, hook);
				if (pr) {
					cleanup_free char *ps = xstrdup(pr + 10);
					char *semi = strchr(ps, ';');
					if (semi)
						*semi = '\0';
					chain->prio = nft_priority(ps);
				}
			} else if (strncmp(l, "comment ", 8) && strncmp(l, "policy ", 7)) {
				if (chain->n == chain->cap) {
					chain->cap = chain->cap ? 2 * chain->cap : 8;
					chain->rules =
						xrealloc(chain->rules, chain->cap * sizeof(char *));
				}
				chain->rules[chain->n++] = steal_pointer(&l);
			}
		}
		/* other objects of the table (counters, flowtables) are skipped whole */
	}
	if (!seen_table && *text)
		return mk_err_set(err, MK_EINVAL, "not an nft table listing");
	return 0;
}

/* ---- the walk ---- */

enum { M_NO, M_YES, M_COND };

/* How the rules leave a new connection (on the path without conditions). */
enum wres {
	W_FALL,	  /* nothing final: the next chain or table decides */
	W_DNAT,	  /* sent to an endpoint */
	W_DROP,	  /* dropped or rejected */
	W_ACCEPT, /* accepted, unchanged */
};

struct ctx {
	const struct explain_input *in;
	const struct ipt *ipt;
	const struct nft *nft;
	/* the packet: a new connection to dst:dport/proto */
	const char *dst;
	uint32_t dst_a;
	const char *proto;
	int dport;
	bool filter; /* iptables filter table: packets nat left alone */
	int depth;
	/* texts this block already showed, by key: "as above" instead of twice */
	struct strv seen_keys, seen_texts;
};

/* 1 if the destination is one of this node's addresses, 0 if not, -1 when
 * the addresses are not known. */
static int dst_local(const struct ctx *x)
{
	if (!x->in->n_local_ips)
		return -1;
	for (size_t i = 0; i < x->in->n_local_ips; i++)
		if (!strcmp(x->in->local_ips[i], x->dst))
			return 1;
	return 0;
}

static const char *seen_text(const struct ctx *x, const char *key)
{
	for (size_t i = x->seen_keys.n; i-- > 0;)
		if (!strcmp(x->seen_keys.v[i], key))
			return x->seen_texts.v[i];
	return NULL;
}

static void seen_add(struct ctx *x, const char *key, const char *text)
{
	strv_add(&x->seen_keys, key);
	strv_add(&x->seen_texts, text);
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static bool pod_has_ip(const json_t *pod, const char *ip)
{
	const char *pip = json_path_str(pod, "status.podIP");
	if (pip && !strcmp(pip, ip))
		return true;
	size_t i;
	json_t *v;
	json_array_foreach(json_path_get(pod, "status.podIPs"), i, v)
	{
		const char *s = json_string_value(json_object_get(v, "ip"));
		if (s && !strcmp(s, ip))
			return true;
	}
	return false;
}

/* Who is behind an endpoint address ("10.244.1.5:80" or "10.244.1.5"): the
 * pod with that IP and its node, else the node with that address or whose
 * podCIDR holds it. New string, or NULL when pods and nodes were not read. */
static char *ip_owner(const struct ctx *x, const char *hostport)
{
	const json_t *pods = x->in->pods, *nodes = x->in->nodes;
	if (!pods && !nodes)
		return NULL;
	cleanup_free char *ip = xstrdup(hostport);
	char *colon = strchr(ip, ':');
	if (colon)
		*colon = '\0';
	const json_t *best = NULL;
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
	{
		if (!pod_has_ip(p, ip))
			continue;
		const char *phase = json_path_str(p, "status.phase");
		bool done = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
		bool host = json_is_true(json_path_get(p, "spec.hostNetwork"));
		/* a finished pod may still list the address it had; pods on the
		 * host network share the node's */
		if (!best || (!done && !host))
			best = p;
		if (!done && !host)
			break;
	}
	if (best) {
		const char *node = json_path_str(best, "spec.nodeName");
		const char *phase = json_path_str(best, "status.phase");
		struct buf b = BUF_INIT;
		buf_printf(&b, "pod %s/%s", or_empty(json_path_str(best, "metadata.namespace")),
			   or_empty(json_path_str(best, "metadata.name")));
		if (json_is_true(json_path_get(best, "spec.hostNetwork")))
			buf_append_str(&b, " (host network)");
		if (node)
			buf_printf(&b, " on node %s", node);
		else
			buf_append_str(&b, " (not scheduled)");
		if (phase && strcmp(phase, "Running"))
			buf_printf(&b, ", %s", phase);
		return buf_steal(&b);
	}
	uint32_t a;
	if (!ip4_parse(ip, &a))
		return xstrdup("no pod or node has this IP");
	json_t *n;
	json_array_foreach(nodes, i, n)
	{
		json_t *addr;
		size_t k;
		json_array_foreach(json_path_get(n, "status.addresses"), k, addr)
		{
			const char *s = json_string_value(json_object_get(addr, "address"));
			if (s && !strcmp(s, ip))
				return xasprintf(
					"node %s (%s)", or_empty(json_path_str(n, "metadata.name")),
					or_empty(json_string_value(json_object_get(addr, "type"))));
		}
	}
	json_array_foreach(nodes, i, n)
	{
		json_t *cidrs = json_path_get(n, "spec.podCIDRs");
		json_t *c;
		size_t k;
		const char *hit = NULL;
		json_array_foreach(cidrs, k, c)
		{
			if (json_is_string(c) && cidr_has(json_string_value(c), a))
				hit = json_string_value(c);
		}
		const char *one = json_path_str(n, "spec.podCIDR");
		if (!hit && one && cidr_has(one, a))
			hit = one;
		if (hit)
			return xasprintf("no pod has this IP; inside podCIDR %s of node %s", hit,
					 or_empty(json_path_str(n, "metadata.name")));
	}
	return xstrdup("no pod or node has this IP");
}

/* "the source is not in 10.244.0.0/16", "the source is 10.244.1.5" */
static char *src_phrase(const char *what, const char *cidr, bool neg)
{
	cleanup_free char *h = host_of(cidr);
	return xasprintf("%s is %s%s%s", what, neg ? "not " : "", strchr(h, '/') ? "in " : "", h);
}

/* One endpoint line of a random choice or an affinity list. */
struct ep_line {
	char *key;   /* probability as listed, "rest", numgen index */
	char *share; /* "25.0 %" or NULL */
	char *chain;
	char *dnat;   /* "DNAT 10.244.1.5:80", or NULL when the chain is not that simple */
	char *owner;  /* pod and node, or NULL */
	char *detail; /* the chain's own walk when not simple (indented below) */
};

static void ep_lines_print(struct buf *out, struct ep_line *l, size_t n, int indent)
{
	int wk = 0, ws = 0, wc = 0, wd = 0;
	for (size_t i = 0; i < n; i++) {
		wk = (int)strlen(l[i].key) > wk ? (int)strlen(l[i].key) : wk;
		if (l[i].share && (int)strlen(l[i].share) > ws)
			ws = (int)strlen(l[i].share);
		wc = (int)strlen(l[i].chain) > wc ? (int)strlen(l[i].chain) : wc;
		if (l[i].dnat && (int)strlen(l[i].dnat) > wd)
			wd = (int)strlen(l[i].dnat);
	}
	for (size_t i = 0; i < n; i++) {
		struct buf b = BUF_INIT;
		buf_printf(&b, "%*s", indent, "");
		if (wk)
			buf_printf(&b, "%-*s  ", wk, l[i].key);
		if (ws)
			buf_printf(&b, "%*s  ", ws, l[i].share ? l[i].share : "");
		buf_printf(&b, "-> %-*s", wc, l[i].chain);
		if (l[i].dnat)
			buf_printf(&b, "  %-*s", wd, l[i].dnat);
		if (l[i].owner)
			buf_printf(&b, "  %s", l[i].owner);
		/* no trailing blanks from the padding */
		while (b.len && b.data[b.len - 1] == ' ')
			b.data[--b.len] = '\0';
		buf_printf(out, "%s\n", buf_str(&b));
		buf_free(&b);
		if (l[i].detail)
			append_indented(out, l[i].detail, indent + 4);
	}
}

static void ep_lines_free(struct ep_line *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].key);
		free(l[i].share);
		free(l[i].chain);
		free(l[i].dnat);
		free(l[i].owner);
		free(l[i].detail);
	}
	free(l);
}

/* What a chain's name says about its endpoints, in kube-proxy's naming. */
static const char *chain_note(const char *name)
{
	if (!strncmp(name, "KUBE-SVL-", 9) || !strncmp(name, "local-", 6))
		return ", this node's only (traffic policy Local)";
	return "";
}

/* ---- iptables walk ---- */

static int ipt_eval(const struct ctx *x, const struct ipt_rule *r, struct strv *conds, bool *about)
{
	*about = false;
	if (r->not_new)
		return M_NO;
	if (r->proto && strcasecmp(r->proto, "all")) {
		bool eq = !strcasecmp(r->proto, x->proto);
		if (eq == r->proto_neg)
			return M_NO;
	}
	if (r->dst && cidr_has(r->dst, x->dst_a) == r->dst_neg)
		return M_NO;
	if (r->dports) {
		if (ports_have(r->dports, x->dport) == r->dport_neg)
			return M_NO;
		*about = true;
	}
	if (r->dst_type) {
		int local = dst_local(x);
		if (!strcmp(r->dst_type, "LOCAL") && local >= 0) {
			if ((local == 1) == r->dst_type_neg)
				return M_NO;
		} else {
			strv_take(conds, xasprintf("the destination is %sof type %s",
						   r->dst_type_neg ? "not " : "", r->dst_type));
		}
	}
	if (r->mark) {
		/* the filter table is walked only for packets nat left alone:
		 * nothing of kube-proxy's marked them */
		if (x->filter)
			return M_NO;
		strv_take(conds, xasprintf("the packet's mark matches %s", r->mark));
	}
	if (r->src)
		strv_take(conds, src_phrase("the source", r->src, r->src_neg));
	if (r->in_if)
		strv_take(conds,
			  xasprintf("it arrives %son %s", r->in_neg ? "not " : "", r->in_if));
	if (r->out_if)
		strv_take(conds,
			  xasprintf("it leaves %sby %s", r->out_neg ? "not " : "", r->out_if));
	if (r->src_type) {
		if (!strcmp(r->src_type, "LOCAL"))
			strv_take(conds, xasprintf("the source is %sa local address",
						   r->src_type_neg ? "not " : ""));
		else
			strv_take(conds, xasprintf("the source is %sof type %s",
						   r->src_type_neg ? "not " : "", r->src_type));
	}
	if (r->recent_check)
		strv_take(conds, xasprintf("the client is in recent list %s%s%s%s",
					   r->recent_name ? r->recent_name : "DEFAULT",
					   r->recent_secs ? " (seen in the last " : "",
					   r->recent_secs ? r->recent_secs : "",
					   r->recent_secs ? " s)" : ""));
	for (size_t i = 0; i < r->other.n; i++)
		strv_add(conds, r->other.v[i]);
	return conds->n ? M_COND : M_YES;
}

static enum wres ipt_walk(struct ctx *x, const struct ipt_table *t, const struct ipt_chain *c,
			  const char *label, struct buf *out);

/* A KUBE-SEP-style chain for this packet: at most a masquerade of the
 * endpoint's own connections, then an unconditional DNAT. *dnat: new. */
static bool ipt_ep_simple(struct ctx *x, const struct ipt_table *t, const char *name, char **dnat,
			  bool *aff, bool *hairpin)
{
	const struct ipt_chain *c = ipt_chain_find(t, name);
	*dnat = NULL;
	bool a = false, h = false, ok = c != NULL;
	for (size_t i = 0; ok && c && i < c->n && !*dnat; i++) {
		const struct ipt_rule *r = &c->rules[i];
		struct strv conds = {0};
		bool about;
		int m = ipt_eval(x, r, &conds, &about);
		if (m == M_NO) {
		} else if (m == M_COND && conds.n == 1 && r->src && !r->src_neg && r->target &&
			   !strcmp(r->target, "KUBE-MARK-MASQ")) {
			h = true;
		} else if (m == M_YES && r->target && !strcmp(r->target, "DNAT") && r->dnat_to) {
			*dnat = xstrdup(r->dnat_to);
			a = r->recent_set;
		} else {
			ok = false;
		}
		strv_release(&conds);
	}
	if (!ok || !*dnat) {
		free(*dnat);
		*dnat = NULL;
		return false;
	}
	*aff |= a;
	*hairpin |= h;
	return true;
}

/* The endpoint line of a jump to chain; *res: how that chain ends. */
static void ipt_ep_line(struct ctx *x, const struct ipt_table *t, const char *chain,
			struct ep_line *l, enum wres *res, bool *aff, bool *hairpin)
{
	char *dnat = NULL;
	l->chain = xstrdup(chain);
	if (ipt_ep_simple(x, t, chain, &dnat, aff, hairpin)) {
		l->dnat = xasprintf("DNAT %s", dnat);
		l->owner = ip_owner(x, dnat);
		*res = W_DNAT;
		free(dnat);
		return;
	}
	struct buf sub = BUF_INIT;
	const struct ipt_chain *c = ipt_chain_find(t, chain);
	*res = c ? ipt_walk(x, t, c, c->name, &sub) : W_FALL;
	if (!sub.len)
		buf_printf(&sub, "%s: %s\n", chain,
			   c ? "no rule for this packet, back to the calling chain"
			     : "no such chain: the jump fails the whole table");
	l->detail = buf_steal(&sub);
}

static void endpoint_notes(struct buf *out, bool aff, bool hairpin, int indent)
{
	if (aff)
		buf_printf(out,
			   "%*seach endpoint's chain remembers the client, for session affinity\n",
			   indent, "");
	if (hairpin)
		buf_printf(out,
			   "%*san endpoint that reaches itself through the Service is masqueraded "
			   "(hairpin)\n",
			   indent, "");
}

/* Rules i.. of c picking an endpoint at random (-m statistic) and the
 * unconditional jump after them, shown as one table. Returns the index of the
 * first rule after them. */
static size_t ipt_random(struct ctx *x, const struct ipt_table *t, const struct ipt_chain *c,
			 const char *label, size_t i, enum wres *res, struct buf *out)
{
	struct ep_line *l = NULL;
	size_t n = 0, j;
	double left = 1.0;
	bool all_end = true, aff = false, hairpin = false, rest = false, random = false;
	enum wres last = W_FALL;
	for (j = i; j < c->n && !rest; j++) {
		const struct ipt_rule *r = &c->rules[j];
		struct strv conds = {0};
		bool about;
		int m = ipt_eval(x, r, &conds, &about);
		strv_release(&conds);
		if (m == M_NO)
			continue;
		if (m != M_YES || !r->target || !ipt_chain_find(t, r->target))
			break;
		l = xrealloc(l, (n + 1) * sizeof(*l));
		struct ep_line *e = &l[n++];
		memset(e, 0, sizeof(*e));
		double share;
		if (r->prob) {
			share = left * strtod(r->prob, NULL);
			e->key = xstrdup(r->prob);
			random = true;
		} else {
			share = left;
			e->key = xstrdup(random ? "rest" : "all");
			rest = true;
		}
		left -= share;
		char s[32];
		share_text(share, s, sizeof(s));
		e->share = xstrdup(s);
		ipt_ep_line(x, t, r->target, e, &last, &aff, &hairpin);
		all_end &= last != W_FALL;
	}
	struct buf g = BUF_INIT;
	buf_printf(&g, "%s: %zu endpoint%s%s%s:\n", label, n, n == 1 ? "" : "s",
		   chain_note(c->name),
		   random ? ", one chosen at random (-m statistic --mode random)" : "");
	ep_lines_print(&g, l, n, 2);
	if (!rest) {
		char s[32];
		share_text(left, s, sizeof(s));
		buf_printf(&g, "  the other %s go on to the next rule\n", s);
	}
	endpoint_notes(&g, aff, hairpin, 2);
	cleanup_free char *key = xasprintf("random %s", c->name);
	const char *before = seen_text(x, key);
	if (before && !strcmp(before, buf_str(&g)))
		buf_printf(out, "%s: the same %zu endpoint%s as above\n", label, n,
			   n == 1 ? "" : "s");
	else
		buf_append_str(out, buf_str(&g));
	seen_add(x, key, buf_str(&g));
	buf_free(&g);
	ep_lines_free(l, n);
	/* every connection ends at an endpoint when the rest has one too */
	*res = rest && all_end ? last : W_FALL;
	return j;
}

/* Rules i.. of c sending a client back to the endpoint it had
 * (-m recent --rcheck), shown as one list. Returns the next index. */
static size_t ipt_affinity(struct ctx *x, const struct ipt_table *t, const struct ipt_chain *c,
			   const char *label, size_t i, struct buf *out)
{
	struct ep_line *l = NULL;
	size_t n = 0, j;
	bool aff = false, hairpin = false;
	const char *secs = NULL;
	for (j = i; j < c->n; j++) {
		const struct ipt_rule *r = &c->rules[j];
		struct strv conds = {0};
		bool about;
		int m = ipt_eval(x, r, &conds, &about);
		size_t nc = conds.n;
		strv_release(&conds);
		if (m != M_COND || nc != 1 || !r->recent_check || r->prob || !r->target ||
		    !ipt_chain_find(t, r->target))
			break;
		if (!secs)
			secs = r->recent_secs;
		l = xrealloc(l, (n + 1) * sizeof(*l));
		struct ep_line *e = &l[n++];
		memset(e, 0, sizeof(*e));
		e->key = xstrdup("");
		enum wres res;
		ipt_ep_line(x, t, r->target, e, &res, &aff, &hairpin);
	}
	buf_printf(out,
		   "%s: session affinity: a client seen in the last %s s goes back to its endpoint "
		   "(-m recent --rcheck):\n",
		   label, secs ? secs : "?");
	ep_lines_print(out, l, n, 2);
	ep_lines_free(l, n);
	return j;
}

/* "  rejected (icmp-port-unreachable) when ...: \"comment\"" */
static void verdict_note(struct buf *out, const char *what, const char *when, const char *comment)
{
	buf_printf(out, "  %s%s%s%s%s%s\n", what, when ? " when " : "", when ? when : "",
		   comment ? ": \"" : "", comment ? comment : "", comment ? "\"" : "");
}

static enum wres ipt_walk(struct ctx *x, const struct ipt_table *t, const struct ipt_chain *c,
			  const char *label, struct buf *out)
{
	if (x->depth >= MAX_DEPTH) {
		buf_printf(out, "%s: chains nest deeper than %d here: not followed\n", label,
			   MAX_DEPTH);
		return W_FALL;
	}
	x->depth++;
	enum wres res = W_FALL;
	bool done = false;
	for (size_t i = 0; i < c->n && !done; i++) {
		const struct ipt_rule *r = &c->rules[i];
		/* of the built-in chains, only kube-proxy's jumps are explained */
		if (c->builtin && (!r->target || strncmp(r->target, "KUBE-", 5)))
			continue;
		struct strv conds = {0};
		bool about;
		int m = ipt_eval(x, r, &conds, &about);
		if (m == M_NO) {
			strv_release(&conds);
			continue;
		}
		const struct ipt_chain *tc = r->target ? ipt_chain_find(t, r->target) : NULL;
		char *dnat = NULL;
		bool a = false, h = false;
		if (m == M_YES && tc && !r->prob && !r->is_goto &&
		    ipt_ep_simple(x, t, tc->name, &dnat, &a, &h)) {
			/* one endpoint: the same table, of one line */
			free(dnat);
			strv_release(&conds);
			i = ipt_random(x, t, c, label, i, &res, out) - 1;
			done = res != W_FALL;
			continue;
		}
		if (m == M_YES && r->prob && tc) {
			strv_release(&conds);
			i = ipt_random(x, t, c, label, i, &res, out) - 1;
			done = res != W_FALL;
			continue;
		}
		if (m == M_COND && conds.n == 1 && r->recent_check && !r->prob && tc) {
			strv_release(&conds);
			i = ipt_affinity(x, t, c, label, i, out) - 1;
			continue;
		}
		if (r->prob)
			strv_take(&conds,
				  xasprintf("a random draw passes (probability %s)", r->prob));
		cleanup_free char *when = conds.n ? strv_join(&conds, " and ") : NULL;
		strv_release(&conds);
		if (!r->target) {
			buf_printf(out, "%s: %s\n", label, r->text);
			continue;
		}
		if (!strcmp(r->target, "KUBE-MARK-MASQ")) {
			buf_printf(out, "%s: %s\n  masqueraded%s%s\n", label, r->text,
				   when ? " when " : ", whatever the source", when ? when : "");
			continue;
		}
		if (tc) {
			struct buf sub = BUF_INIT;
			enum wres sr = ipt_walk(x, t, tc, tc->name, &sub);
			if (!sub.len && !about && sr == W_FALL) {
				/* a hop that leads nowhere for this packet */
				buf_free(&sub);
				continue;
			}
			buf_printf(out, "%s: %s\n", label, r->text);
			if (!sub.len)
				buf_printf(&sub, "%s: no rule for this packet, back to %s\n",
					   tc->name, c->builtin ? "the built-in chain" : c->name);
			cleanup_free char *key = xasprintf("chain %s", tc->name);
			const char *before = seen_text(x, key);
			bool same = before && !strcmp(before, buf_str(&sub)) &&
				    strchr(sub.data, '\n') && strchr(sub.data, '\n')[1];
			if (when) {
				buf_printf(out, "  when %s:\n", when);
				if (same)
					buf_printf(out, "    %s: as above\n", tc->name);
				else
					append_indented(out, buf_str(&sub), 4);
			} else {
				if (same)
					buf_printf(out, "%s: as above\n", tc->name);
				else
					buf_append_str(out, buf_str(&sub));
				if (sr != W_FALL || r->is_goto) {
					res = sr;
					done = true;
				}
			}
			seen_add(x, key, buf_str(&sub));
			buf_free(&sub);
			continue;
		}
		buf_printf(out, "%s: %s\n", label, r->text);
		const char *tg = r->target;
		if (!strcmp(tg, "DNAT") && r->dnat_to) {
			cleanup_free char *owner = ip_owner(x, r->dnat_to);
			cleanup_free char *what = xasprintf("DNAT to %s%s%s", r->dnat_to,
							    owner ? ", " : "", owner ? owner : "");
			verdict_note(out, what, when, NULL);
			if (!when) {
				res = W_DNAT;
				done = true;
			}
		} else if (!strcmp(tg, "REJECT") || !strcmp(tg, "DROP") || !strcmp(tg, "ACCEPT")) {
			cleanup_free char *what =
				!strcmp(tg, "REJECT")
					? xasprintf("rejected (%s)",
						    r->reject_with ? r->reject_with
								   : "icmp-port-unreachable")
				: !strcmp(tg, "DROP") ? xstrdup("dropped")
						      : xstrdup("accepted");
			verdict_note(out, what, when, r->comment);
			if (!when) {
				res = !strcmp(tg, "ACCEPT") ? W_ACCEPT : W_DROP;
				done = true;
			}
		} else if (!strcmp(tg, "RETURN")) {
			verdict_note(out, "back to the calling chain", when, NULL);
			done = !when;
		} else if (r->is_goto || !strncmp(tg, "KUBE-", 5)) {
			buf_printf(out, "  %s: no such chain in the %s table\n", tg, t->name);
		} else if (when) {
			buf_printf(out, "  only when %s\n", when);
		}
	}
	x->depth--;
	return res;
}

/* ---- stages: the base chains a packet passes, merged when they read the same ---- */

struct hookrun {
	char *label; /* "nat PREROUTING", "nat-output" */
	char *text;  /* the walk, its top-level chain written as LABEL_MARK */
	int path;    /* 0 arriving from outside, 1 sent by this node */
	enum wres res;
};

/* "nat PREROUTING" + "nat OUTPUT" -> "nat PREROUTING, OUTPUT" */
static char *merge_labels(struct hookrun *h, const size_t *idx, size_t n)
{
	struct buf b = BUF_INIT;
	const char *sp = strchr(h[idx[0]].label, ' ');
	size_t pre = sp ? (size_t)(sp - h[idx[0]].label + 1) : 0;
	for (size_t i = 1; i < n && pre; i++)
		if (strncmp(h[idx[i]].label, h[idx[0]].label, pre))
			pre = 0;
	buf_append(&b, h[idx[0]].label, pre);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", h[idx[i]].label + pre);
	return buf_steal(&b);
}

/* Prints the walks of one stage, those that read the same under one label;
 * after an earlier stage's, says what this one sees. Returns true if any
 * printed something. */
static bool stage_print(struct buf *out, struct hookrun *h, size_t n, bool after)
{
	bool any = false;
	bool *done = xcalloc(n ? n : 1, sizeof(bool));
	size_t *idx = xcalloc(n ? n : 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		if (done[i] || !h[i].text || !*h[i].text)
			continue;
		size_t k = 0;
		for (size_t j = i; j < n; j++)
			if (!done[j] && h[j].text && !strcmp(h[j].text, h[i].text)) {
				idx[k++] = j;
				done[j] = true;
			}
		cleanup_free char *label = merge_labels(h, idx, k);
		cleanup_free char *text = relabel(h[i].text, label);
		if (after && !any)
			buf_append_str(out,
				       "then, for connections the rules above left unchanged:\n");
		buf_append_str(out, text);
		any = true;
	}
	free(idx);
	free(done);
	return any;
}

static void hookruns_free(struct hookrun *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].label);
		free(h[i].text);
	}
}

/* The walks of one stage must not say "as above" of each other: each starts
 * from what the block had shown before the stage; afterwards all count. */
struct seen_snap {
	size_t n;
	struct strv keys, texts;
};

static void snap_begin(const struct ctx *x, struct seen_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->n = x->seen_keys.n;
}

static void snap_rewind(struct ctx *x, struct seen_snap *s)
{
	for (size_t i = s->n; i < x->seen_keys.n; i++) {
		strv_add(&s->keys, x->seen_keys.v[i]);
		strv_add(&s->texts, x->seen_texts.v[i]);
	}
	strv_truncate(&x->seen_keys, s->n);
	strv_truncate(&x->seen_texts, s->n);
}

static void snap_end(struct ctx *x, struct seen_snap *s)
{
	for (size_t i = 0; i < s->keys.n; i++)
		seen_add(x, s->keys.v[i], s->texts.v[i]);
	strv_release(&s->keys);
	strv_release(&s->texts);
}

/* iptables: nat PREROUTING / OUTPUT, then for what nat left alone filter
 * INPUT or FORWARD / OUTPUT. */
static bool ipt_packet(struct ctx *x, struct buf *out)
{
	bool alive[2] = {true, true}, any = false;
	const char *hooks[2][2] = {{"PREROUTING", "OUTPUT"},
				   {dst_local(x) == 1 ? "INPUT" : "FORWARD", "OUTPUT"}};
	const struct ipt_table *tables[2] = {&x->ipt->nat, &x->ipt->filter};
	for (int s = 0; s < 2; s++) {
		x->filter = s == 1;
		struct hookrun h[2];
		size_t n = 0;
		struct seen_snap snap;
		snap_begin(x, &snap);
		for (int p = 0; p < 2; p++) {
			const struct ipt_chain *c = ipt_chain_find(tables[s], hooks[s][p]);
			if (!alive[p] || !c)
				continue;
			struct buf b = BUF_INIT;
			h[n].res = ipt_walk(x, tables[s], c, LABEL_MARK, &b);
			h[n].text = buf_steal(&b);
			h[n].label = xasprintf("%s %s", tables[s]->name, hooks[s][p]);
			h[n].path = p;
			n++;
			snap_rewind(x, &snap);
		}
		snap_end(x, &snap);
		any |= stage_print(out, h, n, any);
		for (size_t i = 0; i < n; i++)
			if (h[i].res == W_DNAT || h[i].res == W_DROP ||
			    (s == 1 && h[i].res == W_ACCEPT))
				alive[h[i].path] = false;
		hookruns_free(h, n);
	}
	x->filter = false;
	return any;
}

/* ---- nftables walk ---- */

enum nact {
	NA_NONE,
	NA_JUMP,
	NA_GOTO,
	NA_ACCEPT,
	NA_DROP,
	NA_REJECT,
	NA_RETURN,
	NA_DNAT,
	NA_NUMGEN,
	NA_OTHER
};

struct nft_ev {
	int m;
	struct strv conds;
	bool about;   /* matched on the destination port or through a map element */
	bool unknown; /* part of the rule was not understood */
	enum nact act;
	char *target; /* jump/goto chain */
	char *dnat;
	char *comment; /* the rule's, or the matching element's */
	char *lookup;  /* "@map: key : verdict" that matched */
	char *aff_set; /* the source is in this set (affinity) */
	char *update;  /* "update @set { ip saddr }": the set */
	char *reject_with;
	long mod; /* numgen */
	char *ng_mode;
	struct strv ng_keys, ng_verdicts;
};

static void nft_ev_free(struct nft_ev *e)
{
	strv_release(&e->conds);
	free(e->target);
	free(e->dnat);
	free(e->comment);
	free(e->lookup);
	free(e->aff_set);
	free(e->update);
	free(e->reject_with);
	free(e->ng_mode);
	strv_release(&e->ng_keys);
	strv_release(&e->ng_verdicts);
}

static void nft_set_verdict(struct nft_ev *e, const char *v)
{
	if (!strncmp(v, "goto ", 5) || !strncmp(v, "jump ", 5)) {
		e->act = v[0] == 'g' ? NA_GOTO : NA_JUMP;
		set_str(&e->target, v + 5);
	} else if (!strcmp(v, "accept")) {
		e->act = NA_ACCEPT;
	} else if (!strcmp(v, "drop")) {
		e->act = NA_DROP;
	} else if (!strcmp(v, "return")) {
		e->act = NA_RETURN;
	} else if (strcmp(v, "continue")) {
		e->act = NA_OTHER;
	}
}

static const char *const nft_stmt_words[] = {
	"jump",	   "goto",   "accept", "drop",	     "return",	 "continue",
	"reject",  "dnat",   "snat",   "masquerade", "redirect", "counter",
	"comment", "update", "add",    "numgen",     "log",	 NULL};

static bool is_stmt_word(const char *w)
{
	for (size_t i = 0; nft_stmt_words[i]; i++)
		if (!strcmp(w, nft_stmt_words[i]))
			return true;
	return false;
}

/* A field at w[*p]: "ip daddr", "meta l4proto", "th dport", "fib saddr"...;
 * new string, *p past it; NULL when w[*p] starts no field. */
static char *nft_field(const struct strv *w, size_t *p)
{
	static const char *const two[] = {"ip",	  "meta", "th",	 "tcp", "udp",
					  "sctp", "ct",	  "fib", NULL};
	static const char *const one[] = {"iifname", "oifname", "iif", "oif", "mark", NULL};
	const char *a = w->v[*p];
	for (size_t i = 0; two[i]; i++)
		if (!strcmp(a, two[i]) && *p + 1 < w->n) {
			char *f = xasprintf("%s %s", a, w->v[*p + 1]);
			*p += 2;
			return f;
		}
	for (size_t i = 0; one[i]; i++)
		if (!strcmp(a, one[i])) {
			*p += 1;
			return xstrdup(a);
		}
	return NULL;
}

static int proto_number(const char *p)
{
	return !strcmp(p, "tcp") ? 6 : !strcmp(p, "udp") ? 17 : !strcmp(p, "sctp") ? 132 : -1;
}

/* The packet's value of a field, or NULL when it depends on more than the
 * destination (the source, interfaces...). New string. */
static char *nft_value_of(const struct ctx *x, const char *f)
{
	if (!strcmp(f, "ip daddr"))
		return xstrdup(x->dst);
	if (!strcmp(f, "meta l4proto") || !strcmp(f, "ip protocol"))
		return xstrdup(x->proto);
	if (!strcmp(f, "th dport"))
		return xasprintf("%d", x->dport);
	if (!strcmp(f, "tcp dport") || !strcmp(f, "udp dport") || !strcmp(f, "sctp dport"))
		return strncmp(f, x->proto, strlen(x->proto)) || f[strlen(x->proto)] != ' '
			       ? xstrdup("")
			       : xasprintf("%d", x->dport);
	return NULL;
}

/* One component of an element key (address, prefix, range, name, number)
 * against the packet's value. */
static bool nft_component_match(const char *elem, const char *val)
{
	if (!strcmp(elem, val))
		return true;
	uint32_t a, lo, hi;
	if (ip4_parse(val, &a)) {
		if (strchr(elem, '/'))
			return cidr_has(elem, a);
		const char *dash = strchr(elem, '-');
		if (dash) {
			cleanup_free char *l = xstrndup(elem, (size_t)(dash - elem));
			return ip4_parse(l, &lo) && ip4_parse(dash + 1, &hi) && a >= lo && a <= hi;
		}
		return false;
	}
	if (all_digits(val) && (all_digits(elem) || strchr(elem, '-')))
		return ports_have(elem, atoi(val));
	int pn = proto_number(val);
	return pn > 0 && all_digits(elem) && atoi(elem) == pn;
}

/* key "a . b . c" against the packet's values */
static bool nft_key_match(const char *key, const struct strv *vals)
{
	cleanup_free char *k = xstrdup(key);
	size_t i = 0;
	char *s = k;
	for (;;) {
		char *sep = strstr(s, " . ");
		if (sep)
			*sep = '\0';
		if (i >= vals->n || !nft_component_match(s, vals->v[i]))
			return false;
		i++;
		if (!sep)
			break;
		s = sep + 3;
	}
	return i == vals->n;
}

/* Values after a field: "@set", "{ a, b }" or one word; *p past them. */
static void nft_values(const struct strv *w, size_t *p, struct strv *vals, char **set)
{
	if (*p >= w->n)
		return;
	if (w->v[*p][0] == '@') {
		*set = xstrdup(w->v[*p] + 1);
		(*p)++;
	} else if (!strcmp(w->v[*p], "{")) {
		for ((*p)++; *p < w->n && strcmp(w->v[*p], "}"); (*p)++)
			if (strcmp(w->v[*p], ","))
				strv_add(vals, w->v[*p]);
		(*p)++;
	} else {
		/* "a,b" lists (ct state) stay one word; split them */
		cleanup_free char *one = xstrdup(w->v[*p]);
		for (char *s = NULL, *t = strtok_r(one, ",", &s); t; t = strtok_r(NULL, ",", &s))
			strv_add(vals, t);
		(*p)++;
	}
}

static void nft_unknown(struct nft_ev *e, const struct strv *w, size_t p)
{
	struct buf b = BUF_INIT;
	for (size_t i = p; i < w->n; i++)
		buf_printf(&b, "%s%s", b.len ? " " : "", w->v[i]);
	strv_take(&e->conds, xasprintf("\"%s\" (not understood here)", buf_str(&b)));
	buf_free(&b);
	e->unknown = true;
}

/* The element of map s whose key holds the packet's values, or NULL. */
static const struct nft_elem *nft_map_get(const struct nft_set *s, const struct strv *vals)
{
	cleanup_free char *key = strv_join(vals, " . ");
	size_t i;
	if (idx_get(&s->keys, key, &i))
		return s->e[i].verdict ? &s->e[i] : NULL;
	for (i = 0; s->ranges && i < s->n; i++)
		if (s->e[i].verdict && nft_key_match(s->e[i].key, vals))
			return &s->e[i];
	return NULL;
}

/* The elements a vmap lookup reads: a named map or "{ k : v, ... }" at w[*p]. */
static bool nft_lookup(const struct ctx *x, const struct strv *w, size_t *p,
		       const struct strv *vals, struct nft_ev *e)
{
	if (*p >= w->n)
		return false;
	if (w->v[*p][0] == '@') {
		const char *name = w->v[*p] + 1;
		(*p)++;
		const struct nft_set *s = nft_set_find(x->nft, name);
		if (!s) {
			strv_take(&e->conds, xasprintf("\"@%s\" exists (it does not)", name));
			return true;
		}
		const struct nft_elem *el = nft_map_get(s, vals);
		if (!el)
			return false;
		e->lookup = xasprintf(
			"@%s: %s%s%s%s : %s", name, el->key, el->comment ? " comment \"" : "",
			el->comment ? el->comment : "", el->comment ? "\"" : "", el->verdict);
		if (el->comment)
			set_str(&e->comment, el->comment);
		nft_set_verdict(e, el->verdict);
		e->about = true;
		return true;
	}
	if (strcmp(w->v[*p], "{"))
		return false;
	/* an anonymous map: "{ key : verdict, ... }" */
	struct nft_set anon = {0};
	struct buf list = BUF_INIT;
	for ((*p)++; *p < w->n && strcmp(w->v[*p], "}"); (*p)++)
		buf_printf(&list, "%s ", w->v[*p]);
	(*p)++;
	nft_parse_elements(&anon, buf_str(&list));
	buf_free(&list);
	const struct nft_elem *el = nft_map_get(&anon, vals);
	if (el) {
		e->lookup = xasprintf("%s : %s", el->key, el->verdict);
		nft_set_verdict(e, el->verdict);
		e->about = true;
	}
	nft_set_clear(&anon);
	return el != NULL;
}

/* "numgen random mod N [offset K] vmap { k : verdict, ... }" at w[*p] */
static void nft_numgen(const struct strv *w, size_t *p, struct nft_ev *e)
{
	size_t i = *p + 1;
	if (i + 2 >= w->n || strcmp(w->v[i + 1], "mod")) {
		nft_unknown(e, w, *p);
		*p = w->n;
		return;
	}
	e->ng_mode = xstrdup(w->v[i]);
	e->mod = strtol(w->v[i + 2], NULL, 10);
	i += 3;
	if (i + 1 < w->n && !strcmp(w->v[i], "offset"))
		i += 2;
	if (i + 1 >= w->n || strcmp(w->v[i], "vmap") || strcmp(w->v[i + 1], "{") || e->mod <= 0) {
		nft_unknown(e, w, *p);
		*p = w->n;
		return;
	}
	struct nft_set anon = {0};
	struct buf list = BUF_INIT;
	for (i += 2; i < w->n && strcmp(w->v[i], "}"); i++)
		buf_printf(&list, "%s ", w->v[i]);
	*p = i + 1;
	nft_parse_elements(&anon, buf_str(&list));
	buf_free(&list);
	for (size_t k = 0; k < anon.n; k++) {
		strv_add(&e->ng_keys, anon.e[k].key);
		strv_add(&e->ng_verdicts, anon.e[k].verdict ? anon.e[k].verdict : "");
	}
	nft_set_clear(&anon);
	e->act = NA_NUMGEN;
}

static char *values_text(const struct strv *vals, const char *set)
{
	if (set)
		return xasprintf("@%s", set);
	if (vals->n == 1)
		return xstrdup(vals->v[0]);
	cleanup_free char *j = strv_join(vals, ", ");
	return xasprintf("{ %s }", j);
}

/* Evaluates one listed rule for x's packet. */
static void nft_eval(const struct ctx *x, const char *rule, struct nft_ev *e)
{
	memset(e, 0, sizeof(*e));
	e->m = M_YES;
	struct strv w = {0};
	nft_tokenize(rule, &w);
	size_t p = 0;
	while (p < w.n && e->m != M_NO) {
		const char *a = w.v[p];
		const char *b = p + 1 < w.n ? w.v[p + 1] : "";
		if ((!strcmp(a, "jump") || !strcmp(a, "goto")) && *b) {
			e->act = a[0] == 'j' ? NA_JUMP : NA_GOTO;
			set_str(&e->target, b);
			p += 2;
		} else if (!strcmp(a, "accept") || !strcmp(a, "drop") || !strcmp(a, "return") ||
			   !strcmp(a, "continue")) {
			nft_set_verdict(e, a);
			p++;
		} else if (!strcmp(a, "reject")) {
			e->act = NA_REJECT;
			struct buf r = BUF_INIT;
			for (p++; p < w.n && !is_stmt_word(w.v[p]); p++)
				buf_printf(&r, "%s%s", r.len ? " " : "", w.v[p]);
			if (r.len)
				e->reject_with = buf_steal(&r);
			buf_free(&r);
		} else if (!strcmp(a, "dnat")) {
			for (p++; p < w.n && strcmp(w.v[p], "to"); p++)
				;
			if (p + 1 >= w.n) {
				nft_unknown(e, &w, 0);
				break;
			}
			e->act = NA_DNAT;
			set_str(&e->dnat, w.v[p + 1]);
			p += 2;
		} else if (!strcmp(a, "masquerade") || !strcmp(a, "snat") ||
			   !strcmp(a, "redirect") || !strcmp(a, "log")) {
			e->act = e->act ? e->act : NA_OTHER;
			for (p++; p < w.n && !is_stmt_word(w.v[p]); p++)
				;
		} else if (!strcmp(a, "counter")) {
			p++;
			if (p + 3 < w.n && !strcmp(w.v[p], "packets"))
				p += 4;
		} else if (!strcmp(a, "comment") && *b) {
			free(e->comment);
			e->comment = unquote(b);
			p += 2;
		} else if ((!strcmp(a, "update") || !strcmp(a, "add")) && b[0] == '@') {
			set_str(&e->update, b + 1);
			for (p += 2; p < w.n && strcmp(w.v[p], "}"); p++)
				;
			p++;
		} else if (!strcmp(a, "numgen")) {
			nft_numgen(&w, &p, e);
		} else if (!strcmp(a, "meta") && !strcmp(b, "mark") && p + 2 < w.n &&
			   !strcmp(w.v[p + 2], "set")) {
			e->act = e->act ? e->act : NA_OTHER;
			for (p += 3; p < w.n && !is_stmt_word(w.v[p]); p++)
				;
		} else {
			size_t q = p;
			cleanup_free char *f = nft_field(&w, &q);
			if (!f || q >= w.n) {
				nft_unknown(e, &w, p);
				break;
			}
			if (!strcmp(w.v[q], ".")) {
				/* a concatenation looked up in a verdict map */
				struct strv vals = {0};
				bool known = true;
				char *v = nft_value_of(x, f);
				known &= v != NULL;
				strv_take(&vals, v ? v : xstrdup(""));
				while (q + 1 < w.n && !strcmp(w.v[q], ".")) {
					q++;
					cleanup_free char *g = nft_field(&w, &q);
					v = g ? nft_value_of(x, g) : NULL;
					known &= v != NULL;
					strv_take(&vals, v ? v : xstrdup(""));
				}
				if (!known || q >= w.n || strcmp(w.v[q], "vmap")) {
					strv_release(&vals);
					nft_unknown(e, &w, p);
					break;
				}
				q++;
				if (!nft_lookup(x, &w, &q, &vals, e))
					e->m = M_NO;
				strv_release(&vals);
				p = q;
				continue;
			}
			bool neg = false;
			if (!strncmp(f, "fib ", 4) && !strcmp(w.v[q], "type"))
				q++;
			if (q < w.n && (!strcmp(w.v[q], "!=") || !strcmp(w.v[q], "==")))
				neg = w.v[q++][0] == '!';
			struct strv vals = {0};
			char *set = NULL;
			nft_values(&w, &q, &vals, &set);
			if (!vals.n && !set) {
				strv_release(&vals);
				nft_unknown(e, &w, p);
				break;
			}
			const struct nft_set *s = set ? nft_set_find(x->nft, set) : NULL;
			cleanup_free char *vt = values_text(&vals, set);
			cleanup_free char *pv = nft_value_of(x, f);
			if (!strcmp(f, "ct state")) {
				bool has_new = false;
				for (size_t i = 0; i < vals.n; i++)
					has_new |= !strcmp(vals.v[i], "new");
				if (has_new == neg)
					e->m = M_NO;
			} else if (!strcmp(f, "fib daddr")) {
				int local = dst_local(x);
				bool want = vals.n == 1 && !strcmp(vals.v[0], "local");
				if (local < 0 || !want)
					strv_take(&e->conds,
						  xasprintf("the destination is %sof type %s",
							    neg ? "not " : "", vt));
				else if ((local == 1) == neg)
					e->m = M_NO;
			} else if (!strcmp(f, "fib saddr")) {
				strv_take(&e->conds,
					  xasprintf("the source is %s%s%s", neg ? "not " : "",
						    strcmp(vt, "local") ? "of type " : "a ",
						    strcmp(vt, "local") ? vt : "local address"));
			} else if (!strcmp(f, "ip saddr")) {
				if (set && !neg && !strncmp(set, "affinity-", 9))
					e->aff_set = xstrdup(set);
				strv_take(&e->conds, set ? xasprintf("the source is %sin %s",
								     neg ? "not " : "", vt)
							 : src_phrase("the source", vt, neg));
			} else if (pv) {
				bool in = false;
				if (set && s) {
					size_t at;
					in = idx_get(&s->keys, pv, &at);
					for (size_t i = 0; s->ranges && i < s->n && !in; i++)
						in = nft_component_match(s->e[i].key, pv);
				} else if (set) {
					strv_take(&e->conds,
						  xasprintf("\"@%s\" exists (it does not)", set));
				}
				for (size_t i = 0; i < vals.n && !in; i++)
					in = nft_component_match(vals.v[i], pv);
				if ((set && !s) || in != neg) {
					if (strstr(f, "dport"))
						e->about = true;
				} else {
					e->m = M_NO;
				}
			} else {
				strv_take(&e->conds, xasprintf("%s %s%s", f, neg ? "!= " : "", vt));
			}
			free(set);
			strv_release(&vals);
			p = q;
		}
	}
	if (e->m != M_NO && e->conds.n)
		e->m = M_COND;
	strv_release(&w);
}

/* The rule as listed, a numgen's endpoint list shortened (the table below it
 * lists them). New string. */
static char *nft_rule_text(const char *rule)
{
	const char *ng = strstr(rule, "numgen ");
	const char *open = ng ? strstr(ng, "vmap {") : NULL;
	const char *close = open ? strchr(open, '}') : NULL;
	if (!close)
		return xstrdup(rule);
	return xasprintf("%.*s{ ... }%s", (int)(open + 5 - rule), rule, close + 1);
}

static enum wres nft_walk(struct ctx *x, const struct nft_chain *c, const char *label,
			  struct buf *out);

/* An endpoint chain for this packet: at most a masquerade of the endpoint's
 * own connections and an affinity update, then an unconditional DNAT. */
static bool nft_ep_simple(struct ctx *x, const char *name, char **dnat, bool *aff, bool *hairpin)
{
	const struct nft_chain *c = nft_chain_find(x->nft, name);
	*dnat = NULL;
	bool a = false, h = false, ok = c != NULL;
	for (size_t i = 0; ok && c && i < c->n && !*dnat; i++) {
		struct nft_ev e;
		nft_eval(x, c->rules[i], &e);
		if (e.m == M_NO) {
		} else if (e.m == M_COND && e.conds.n == 1 && e.act == NA_JUMP &&
			   !strcmp(e.target, "mark-for-masquerade") && !e.aff_set && !e.unknown) {
			h = true;
		} else if (e.m == M_YES && e.act == NA_NONE && e.update) {
			a = true;
		} else if (e.m == M_YES && e.act == NA_DNAT) {
			*dnat = xstrdup(e.dnat);
		} else {
			ok = false;
		}
		nft_ev_free(&e);
	}
	if (!ok || !*dnat) {
		free(*dnat);
		*dnat = NULL;
		return false;
	}
	*aff |= a;
	*hairpin |= h;
	return true;
}

static void nft_ep_line(struct ctx *x, const char *verdict, struct ep_line *l, enum wres *res,
			bool *aff, bool *hairpin)
{
	const char *chain =
		!strncmp(verdict, "goto ", 5) || !strncmp(verdict, "jump ", 5) ? verdict + 5 : NULL;
	char *dnat = NULL;
	l->chain = xstrdup(chain ? chain : verdict);
	*res = W_FALL;
	if (!chain) {
		l->detail = xasprintf("%s\n", verdict);
		*res = !strcmp(verdict, "drop")	    ? W_DROP
		       : !strcmp(verdict, "accept") ? W_ACCEPT
						    : W_FALL;
		return;
	}
	if (nft_ep_simple(x, chain, &dnat, aff, hairpin)) {
		l->dnat = xasprintf("DNAT %s", dnat);
		l->owner = ip_owner(x, dnat);
		*res = W_DNAT;
		free(dnat);
		return;
	}
	struct buf sub = BUF_INIT;
	const struct nft_chain *c = nft_chain_find(x->nft, chain);
	if (c)
		*res = nft_walk(x, c, c->name, &sub);
	if (!sub.len)
		buf_printf(&sub, "%s: %s\n", chain,
			   c ? "no rule for this packet" : "no such chain in the table");
	l->detail = buf_steal(&sub);
}

/* "numgen random mod N vmap {...}": one endpoint per number. */
static enum wres nft_random(struct ctx *x, const struct nft_chain *c, const char *label,
			    const char *rule, struct nft_ev *e, struct buf *out)
{
	size_t n = e->ng_keys.n;
	struct ep_line *l = xcalloc(n ? n : 1, sizeof(*l));
	bool all_end = true, aff = false, hairpin = false;
	enum wres last = W_FALL;
	for (size_t i = 0; i < n; i++) {
		l[i].key = xstrdup(e->ng_keys.v[i]);
		char s[32];
		share_text(1.0 / (double)e->mod, s, sizeof(s));
		l[i].share = xstrdup(s);
		nft_ep_line(x, e->ng_verdicts.v[i], &l[i], &last, &aff, &hairpin);
		all_end &= last != W_FALL;
	}
	cleanup_free char *text = nft_rule_text(rule);
	struct buf g = BUF_INIT;
	buf_printf(&g, "%s: %s\n", label, text);
	buf_printf(&g, "  %zu endpoint%s%s%s:\n", n, n == 1 ? "" : "s", chain_note(c->name),
		   e->mod == 1 && n == 1	? ""
		   : !strcmp(e->ng_mode, "inc") ? ", one chosen in turn"
						: ", one chosen at random");
	ep_lines_print(&g, l, n, 4);
	if ((long)n < e->mod) {
		char s[32];
		share_text((double)(e->mod - (long)n) / (double)e->mod, s, sizeof(s));
		buf_printf(&g, "    the other %s have no element and go on to the next rule\n", s);
	}
	endpoint_notes(&g, aff, hairpin, 4);
	cleanup_free char *key = xasprintf("random %s", c->name);
	const char *before = seen_text(x, key);
	if (before && !strcmp(before, buf_str(&g)))
		buf_printf(out, "%s: the same %zu endpoint%s as above\n", label, n,
			   n == 1 ? "" : "s");
	else
		buf_append_str(out, buf_str(&g));
	seen_add(x, key, buf_str(&g));
	buf_free(&g);
	ep_lines_free(l, n);
	return (long)n >= e->mod && all_end ? last : W_FALL;
}

/* Rules i.. of c: "ip saddr @affinity-X goto endpoint-X", one per endpoint. */
static size_t nft_affinity(struct ctx *x, const struct nft_chain *c, const char *label, size_t i,
			   struct buf *out)
{
	struct ep_line *l = NULL;
	size_t n = 0, j;
	bool aff = false, hairpin = false;
	const char *timeout = NULL;
	for (j = i; j < c->n; j++) {
		struct nft_ev e;
		nft_eval(x, c->rules[j], &e);
		bool member = e.m == M_COND && e.conds.n == 1 && e.aff_set &&
			      (e.act == NA_GOTO || e.act == NA_JUMP);
		if (member) {
			const struct nft_set *s = nft_set_find(x->nft, e.aff_set);
			if (s && s->timeout && !timeout)
				timeout = s->timeout;
			l = xrealloc(l, (n + 1) * sizeof(*l));
			struct ep_line *ep = &l[n++];
			memset(ep, 0, sizeof(*ep));
			ep->key =
				xasprintf("%zu client%s", s ? s->n : 0, s && s->n == 1 ? "" : "s");
			cleanup_free char *v = xasprintf("goto %s", e.target);
			enum wres res;
			nft_ep_line(x, v, ep, &res, &aff, &hairpin);
		}
		nft_ev_free(&e);
		if (!member)
			break;
	}
	buf_printf(out,
		   "%s: session affinity: a client seen in the last %s goes back to its endpoint "
		   "(ip saddr @affinity-...; clients listed now):\n",
		   label, timeout ? timeout : "?");
	ep_lines_print(out, l, n, 2);
	ep_lines_free(l, n);
	return j;
}

static enum wres nft_walk(struct ctx *x, const struct nft_chain *c, const char *label,
			  struct buf *out)
{
	if (x->depth >= MAX_DEPTH) {
		buf_printf(out, "%s: chains nest deeper than %d here: not followed\n", label,
			   MAX_DEPTH);
		return W_FALL;
	}
	x->depth++;
	enum wres res = W_FALL;
	bool done = false;
	for (size_t i = 0; i < c->n && !done; i++) {
		struct nft_ev e;
		nft_eval(x, c->rules[i], &e);
		if (e.m == M_NO) {
			nft_ev_free(&e);
			continue;
		}
		if (e.act == NA_NUMGEN && e.m == M_YES) {
			res = nft_random(x, c, label, c->rules[i], &e, out);
			done = res != W_FALL;
			nft_ev_free(&e);
			continue;
		}
		if (e.aff_set && e.m == M_COND && e.conds.n == 1 &&
		    (e.act == NA_GOTO || e.act == NA_JUMP)) {
			nft_ev_free(&e);
			i = nft_affinity(x, c, label, i, out) - 1;
			continue;
		}
		cleanup_free char *when = e.conds.n ? strv_join(&e.conds, " and ") : NULL;
		cleanup_free char *text = nft_rule_text(c->rules[i]);
		const struct nft_chain *tc = e.target ? nft_chain_find(x->nft, e.target) : NULL;
		if ((e.act == NA_JUMP || e.act == NA_GOTO) &&
		    !strcmp(e.target, "mark-for-masquerade")) {
			buf_printf(out, "%s: %s\n  masqueraded%s%s\n", label, text,
				   when ? " when " : ", whatever the source", when ? when : "");
		} else if ((e.act == NA_JUMP || e.act == NA_GOTO) && tc) {
			struct buf sub = BUF_INIT;
			enum wres sr = nft_walk(x, tc, tc->name, &sub);
			if (!sub.len && !e.about && sr == W_FALL && e.act == NA_JUMP) {
				buf_free(&sub);
				nft_ev_free(&e);
				continue;
			}
			buf_printf(out, "%s: %s\n", label, text);
			if (e.lookup)
				buf_printf(out, "  %s\n", e.lookup);
			if (!sub.len)
				buf_printf(&sub, "%s: no rule for this packet\n", tc->name);
			cleanup_free char *key = xasprintf("chain %s", tc->name);
			const char *before = seen_text(x, key);
			bool same = before && !strcmp(before, buf_str(&sub)) &&
				    strchr(sub.data, '\n')[1];
			if (when) {
				buf_printf(out, "  when %s:\n", when);
				if (same)
					buf_printf(out, "    %s: as above\n", tc->name);
				else
					append_indented(out, buf_str(&sub), 4);
			} else {
				if (same)
					buf_printf(out, "%s: as above\n", tc->name);
				else
					buf_append_str(out, buf_str(&sub));
				/* a goto does not come back here */
				if (sr != W_FALL || e.act == NA_GOTO) {
					res = sr;
					done = true;
				}
			}
			seen_add(x, key, buf_str(&sub));
			buf_free(&sub);
		} else {
			buf_printf(out, "%s: %s\n", label, text);
			if (e.lookup)
				buf_printf(out, "  %s\n", e.lookup);
			switch (e.act) {
			case NA_DNAT: {
				cleanup_free char *owner = ip_owner(x, e.dnat);
				cleanup_free char *what =
					xasprintf("DNAT to %s%s%s", e.dnat, owner ? ", " : "",
						  owner ? owner : "");
				verdict_note(out, what, when, NULL);
				if (!when)
					res = W_DNAT;
				break;
			}
			case NA_REJECT: {
				cleanup_free char *what =
					xasprintf("rejected%s%s%s", e.reject_with ? " (" : "",
						  e.reject_with ? e.reject_with : "",
						  e.reject_with ? ")" : "");
				verdict_note(out, what, when, e.comment);
				if (!when)
					res = W_DROP;
				break;
			}
			case NA_DROP:
			case NA_ACCEPT:
				verdict_note(out, e.act == NA_DROP ? "dropped" : "accepted", when,
					     e.comment);
				if (!when)
					res = e.act == NA_DROP ? W_DROP : W_ACCEPT;
				break;
			case NA_RETURN:
				verdict_note(out, "back to the calling chain", when, NULL);
				break;
			case NA_JUMP:
			case NA_GOTO:
				buf_printf(out, "  %s: no such chain in the table\n", e.target);
				break;
			default:
				if (e.unknown)
					buf_printf(
						out,
						"  not understood here: taken as doing nothing to "
						"this packet\n");
				else if (when)
					buf_printf(out, "  only when %s\n", when);
			}
			done = !when &&
			       (e.act == NA_DNAT || e.act == NA_REJECT || e.act == NA_DROP ||
				e.act == NA_ACCEPT || e.act == NA_RETURN);
		}
		nft_ev_free(&e);
	}
	x->depth--;
	return res;
}

/* The order in which a packet meets base chains: per hook, by priority;
 * output chains at or before NAT's priority belong with prerouting. */
struct nft_base {
	const struct nft_chain *c;
	int path, stage;
};

static int nft_base_cmp(const void *a, const void *b)
{
	const struct nft_base *x = a, *y = b;
	if (x->stage != y->stage)
		return x->stage - y->stage;
	if (x->c->prio != y->c->prio)
		return x->c->prio < y->c->prio ? -1 : 1;
	return 0;
}

static bool nft_packet(struct ctx *x, struct buf *out)
{
	int local = dst_local(x);
	struct nft_base *bases = xcalloc(x->nft->n_chains + 1, sizeof(*bases));
	size_t nb = 0;
	for (size_t i = 0; i < x->nft->n_chains; i++) {
		const struct nft_chain *c = &x->nft->chains[i];
		if (!c->hook)
			continue;
		struct nft_base b = {.c = c};
		if (!strcmp(c->hook, "prerouting"))
			b.path = 0, b.stage = 0;
		else if (!strcmp(c->hook, "input") && local == 1)
			b.path = 0, b.stage = 1;
		else if (!strcmp(c->hook, "forward") && local != 1)
			b.path = 0, b.stage = 1;
		else if (!strcmp(c->hook, "output"))
			b.path = 1, b.stage = c->prio <= -100 ? 0 : 1;
		else
			continue;
		bases[nb++] = b;
	}
	/* stable: equal keys keep the table's order */
	for (size_t i = 1; i < nb; i++)
		for (size_t j = i; j > 0 && nft_base_cmp(&bases[j - 1], &bases[j]) > 0; j--) {
			struct nft_base t = bases[j];
			bases[j] = bases[j - 1];
			bases[j - 1] = t;
		}
	bool alive[2] = {true, true}, any = false;
	for (size_t i = 0; i < nb;) {
		size_t j = i;
		while (j < nb && !nft_base_cmp(&bases[i], &bases[j]))
			j++;
		struct hookrun *h = xcalloc(j - i, sizeof(*h));
		size_t n = 0;
		struct seen_snap snap;
		snap_begin(x, &snap);
		for (size_t k = i; k < j; k++) {
			if (!alive[bases[k].path])
				continue;
			struct buf b = BUF_INIT;
			h[n].res = nft_walk(x, bases[k].c, LABEL_MARK, &b);
			h[n].text = buf_steal(&b);
			h[n].label = xstrdup(bases[k].c->name);
			h[n].path = bases[k].path;
			n++;
			snap_rewind(x, &snap);
		}
		snap_end(x, &snap);
		any |= stage_print(out, h, n, any);
		for (size_t k = 0; k < n; k++)
			if (h[k].res == W_DNAT || h[k].res == W_DROP)
				alive[h[k].path] = false;
		hookruns_free(h, n);
		free(h);
		i = j;
	}
	free(bases);
	return any;
}

/* ---- where a Service's traffic enters the rules ---- */

enum ekind { E_CLUSTER, E_EXTERNAL, E_LB, E_EXT_LB, E_NODEPORT, E_HC };
static const char *const ekind_names[] = {"ClusterIP",	      "external IP",
					  "load-balancer IP", "external or load-balancer IP",
					  "NodePort",	      "health check node port"};

struct entry {
	char *spn; /* "ns/name" or "ns/name:port" */
	char proto[8];
	enum ekind kind;
	char *ip; /* NULL: a node port with no node address known */
	int port;
};

struct entries {
	struct entry *e;
	size_t n, cap;
	struct strmap idx; /* "spn proto class ip port" -> position */
};

static int kind_class(enum ekind k)
{
	return k == E_EXTERNAL || k == E_LB || k == E_EXT_LB ? E_EXTERNAL : (int)k;
}

static void entries_add(struct entries *es, const char *spn, const char *proto, enum ekind kind,
			const char *ip, int port)
{
	cleanup_free char *key =
		xasprintf("%s %s %d %s %d", spn, proto, kind_class(kind), ip ? ip : "-", port);
	size_t i;
	if (idx_get(&es->idx, key, &i)) {
		/* the same address seen again, maybe with what it is */
		if (es->e[i].kind == E_EXT_LB)
			es->e[i].kind = kind;
		return;
	}
	idx_set(&es->idx, key, es->n);
	if (es->n == es->cap) {
		es->cap = es->cap ? 2 * es->cap : 16;
		es->e = xrealloc(es->e, es->cap * sizeof(*es->e));
	}
	struct entry *e = &es->e[es->n++];
	*e = (struct entry){
		.spn = xstrdup(spn), .kind = kind, .ip = ip ? xstrdup(ip) : NULL, .port = port};
	snprintf(e->proto, sizeof(e->proto), "%s", proto);
}

static void entries_free(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++) {
		free(es->e[i].spn);
		free(es->e[i].ip);
	}
	free(es->e);
	strmap_free(&es->idx);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->spn, y->spn);
	if (!c)
		c = strcmp(x->proto, y->proto);
	if (!c)
		c = (int)x->kind - (int)y->kind;
	if (!c)
		c = strcmp(x->ip ? x->ip : "", y->ip ? y->ip : "");
	if (!c)
		c = x->port - y->port;
	return c;
}

/* this node's first address that is not loopback */
static const char *first_node_ip(const struct ctx *x)
{
	for (size_t i = 0; i < x->in->n_local_ips; i++)
		if (strncmp(x->in->local_ips[i], "127.", 4))
			return x->in->local_ips[i];
	return NULL;
}

/* "ns/svc:p has no endpoints" -> "ns/svc:p" when comment ends in suffix */
static char *strip_suffix(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, k = strlen(suffix);
	if (n <= k || strcmp(s + n - k, suffix))
		return NULL;
	return xstrndup(s, n - k);
}

static char *lower(const char *s)
{
	char *r = xstrdup(s ? s : "");
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

/* iptables: by the comments kube-proxy puts on the rules that take a
 * Service's traffic in. */
static void ipt_entries(const struct ctx *x, struct entries *es)
{
	const char *np_ip = NULL;
	const struct ipt_chain *svcs = ipt_chain_find(&x->ipt->nat, "KUBE-SERVICES");
	for (size_t i = 0; svcs && i < svcs->n && !np_ip; i++) {
		const struct ipt_rule *r = &svcs->rules[i];
		if (r->target && !strcmp(r->target, "KUBE-NODEPORTS"))
			np_ip = r->dst && !r->dst_neg ? r->dst : first_node_ip(x);
	}
	cleanup_free char *np = np_ip ? host_of(np_ip) : NULL;
	if (!np)
		np = first_node_ip(x) ? xstrdup(first_node_ip(x)) : NULL;
	static const struct {
		const char *table, *chain, *suffix;
		enum ekind kind;
	} where[] = {
		{"nat", "KUBE-SERVICES", " cluster IP", E_CLUSTER},
		{"nat", "KUBE-SERVICES", " external IP", E_EXTERNAL},
		{"nat", "KUBE-SERVICES", " loadbalancer IP", E_LB},
		{"nat", "KUBE-NODEPORTS", "", E_NODEPORT},
		{"filter", "KUBE-SERVICES", " has no endpoints", E_CLUSTER},
		{"filter", "KUBE-SERVICES", " has no local endpoints", E_CLUSTER},
		{"filter", "KUBE-EXTERNAL-SERVICES", " has no endpoints", E_EXT_LB},
		{"filter", "KUBE-EXTERNAL-SERVICES", " has no local endpoints", E_EXT_LB},
		{"filter", "KUBE-NODEPORTS", " health check node port", E_HC},
	};
	for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		const struct ipt_table *t =
			!strcmp(where[w].table, "nat") ? &x->ipt->nat : &x->ipt->filter;
		const struct ipt_chain *c = ipt_chain_find(t, where[w].chain);
		for (size_t i = 0; c && i < c->n; i++) {
			const struct ipt_rule *r = &c->rules[i];
			if (!r->comment || !r->dports || !r->proto || strchr(r->dports, ',') ||
			    strchr(r->dports, ':'))
				continue;
			cleanup_free char *spn = *where[w].suffix
							 ? strip_suffix(r->comment, where[w].suffix)
							 : xstrdup(r->comment);
			if (!spn || strchr(spn, ' ') || !strchr(spn, '/'))
				continue;
			cleanup_free char *proto = lower(r->proto);
			enum ekind kind = where[w].kind;
			cleanup_free char *ip = NULL;
			if (kind == E_EXT_LB && !r->dst)
				kind = E_NODEPORT;
			if (kind == E_NODEPORT || kind == E_HC) {
				/* the localhost twin of a node port rule */
				if (r->dst)
					continue;
				ip = np ? xstrdup(np) : NULL;
			} else {
				if (!r->dst || r->dst_neg)
					continue;
				ip = host_of(r->dst);
			}
			entries_add(es, spn, proto, kind, ip, atoi(r->dports));
		}
	}
	const struct ipt_chain *fw = ipt_chain_find(&x->ipt->filter, "KUBE-PROXY-FIREWALL");
	for (size_t i = 0; fw && i < fw->n; i++) {
		const struct ipt_rule *r = &fw->rules[i];
		const char *s = r->comment ? strstr(r->comment, " traffic not accepted by ") : NULL;
		if (!s || !r->dst || !r->dports || !r->proto)
			continue;
		cleanup_free char *spn = xstrndup(r->comment, (size_t)(s - r->comment));
		cleanup_free char *proto = lower(r->proto);
		cleanup_free char *ip = host_of(r->dst);
		entries_add(es, spn, proto, E_LB, ip, atoi(r->dports));
	}
}

/* "service-HASH8-ns/name/proto/port" -> "ns/name:port" and proto; false
 * when the chain name is not of that shape. */
static bool nft_chain_spn(const char *chain, char **spn, char *proto, size_t plen)
{
	const char *d = strchr(chain, '-');
	if (!d || strlen(d) < 10 || d[9] != '-')
		return false;
	const char *base = d + 10;
	cleanup_free char *copy = xstrdup(base);
	char *parts[4] = {0};
	size_t n = 0;
	for (char *p = copy; n < 4; n++) {
		parts[n] = p;
		char *s = strchr(p, '/');
		if (!s) {
			n++;
			break;
		}
		*s = '\0';
		p = s + 1;
	}
	if (n != 4 || strchr(parts[3], '/'))
		return false;
	*spn = *parts[3] ? xasprintf("%s/%s:%s", parts[0], parts[1], parts[3])
			 : xasprintf("%s/%s", parts[0], parts[1]);
	snprintf(proto, plen, "%s", parts[2]);
	return true;
}

static bool nft_set_has(const struct nft_set *s, const char *key)
{
	size_t i;
	return s && idx_get(&s->keys, key, &i);
}

/* nftables: by the map elements that take a Service's traffic in. */
static void nft_entries(const struct ctx *x, struct entries *es)
{
	const struct nft_set *np_set = nft_set_find(x->nft, "nodeport-ips");
	const char *np = np_set && np_set->n ? np_set->e[0].key : first_node_ip(x);
	const struct nft_set *cips = nft_set_find(x->nft, "cluster-ips");
	const struct nft_set *fw = nft_set_find(x->nft, "firewall-ips");
	static const char *const maps[] = {"service-ips", "firewall-ips", "service-nodeports",
					   "no-endpoint-services", "no-endpoint-nodeports"};
	for (size_t m = 0; m < sizeof(maps) / sizeof(maps[0]); m++) {
		const struct nft_set *s = nft_set_find(x->nft, maps[m]);
		bool nodeports = strstr(maps[m], "nodeports") != NULL;
		for (size_t i = 0; s && i < s->n; i++) {
			const struct nft_elem *el = &s->e[i];
			char ip[64] = "", proto[8] = "";
			int port = 0;
			if (nodeports ? sscanf(el->key, "%7s . %d", proto, &port) != 2
				      : sscanf(el->key, "%63s . %7s . %d", ip, proto, &port) != 3)
				continue;
			char *spn = NULL;
			char vproto[8];
			if (el->comment && strchr(el->comment, '/'))
				spn = xstrdup(el->comment);
			else if (!el->verdict || strncmp(el->verdict, "goto ", 5) ||
				 !nft_chain_spn(el->verdict + 5, &spn, vproto, sizeof(vproto)))
				continue;
			enum ekind kind =
				nodeports		? E_NODEPORT
				: nft_set_has(cips, ip) ? E_CLUSTER
				: !strcmp(maps[m], "firewall-ips") || nft_set_has(fw, el->key)
					? E_LB
					: E_EXT_LB;
			entries_add(es, spn, proto, kind, nodeports ? np : ip, port);
			free(spn);
		}
	}
}

/* whether an entry's Service is the target's */
static bool entry_is(const struct entry *e, const struct explain_target *t)
{
	size_t nl = strlen(t->ns), ml = strlen(t->name);
	if (strncmp(e->spn, t->ns, nl) || e->spn[nl] != '/' ||
	    strncmp(e->spn + nl + 1, t->name, ml))
		return false;
	const char *rest = e->spn + nl + 1 + ml;
	if (*rest && *rest != ':')
		return false;
	if (t->port && !all_digits(t->port))
		return *rest == ':' && !strcmp(rest + 1, t->port);
	return true;
}

/* ---- rendering ---- */

static const char *mode_name(const struct ctx *x)
{
	return x->ipt ? "iptables" : "nftables";
}

static const char *where_name(const struct ctx *x)
{
	return x->ipt ? "the nat or filter table" : "table ip kube-proxy";
}

/* Walks one packet through every stage; false when no rule concerns it. */
static bool explain_packet(struct ctx *x, const char *ip, const char *proto, int port,
			   struct buf *out)
{
	x->dst = ip;
	x->proto = proto;
	x->dport = port;
	if (!ip4_parse(ip, &x->dst_a))
		return false;
	return x->ipt ? ipt_packet(x, out) : nft_packet(x, out);
}

static bool explain_service(struct ctx *x, const struct explain_target *t, struct entries *es,
			    struct buf *out)
{
	bool any = false;
	size_t i = 0;
	while (i < es->n) {
		size_t j = i;
		while (j < es->n && !strcmp(es->e[j].spn, es->e[i].spn) &&
		       !strcmp(es->e[j].proto, es->e[i].proto))
			j++;
		bool want = entry_is(&es->e[i], t);
		if (want && t->port && all_digits(t->port)) {
			want = false;
			for (size_t k = i; k < j; k++)
				want |= kind_class(es->e[k].kind) != E_NODEPORT &&
					es->e[k].kind != E_HC && es->e[k].port == atoi(t->port);
		}
		if (want) {
			buf_printf(out, "%sService %s (%s), %s mode\n", any ? "\n" : "",
				   es->e[i].spn, es->e[i].proto, mode_name(x));
			strv_truncate(&x->seen_keys, 0);
			strv_truncate(&x->seen_texts, 0);
			for (size_t k = i; k < j; k++) {
				const struct entry *e = &es->e[k];
				if (!e->ip) {
					buf_printf(out,
						   "  %s %d/%s: no node address known to try it "
						   "with\n",
						   ekind_names[e->kind], e->port, e->proto);
					continue;
				}
				buf_printf(out, "  %s %s:%d/%s\n", ekind_names[e->kind], e->ip,
					   e->port, e->proto);
				struct buf b = BUF_INIT;
				if (!explain_packet(x, e->ip, e->proto, e->port, &b))
					buf_append_str(&b, "no rule takes this packet anywhere\n");
				append_indented(out, buf_str(&b), 4);
				buf_free(&b);
			}
			any = true;
		}
		i = j;
	}
	return any;
}

static bool explain_address(struct ctx *x, const struct explain_target *t, struct entries *es,
			    struct buf *out)
{
	struct buf b = BUF_INIT;
	if (!explain_packet(x, t->ip, t->proto, t->dport, &b)) {
		buf_free(&b);
		return false;
	}
	struct strv what = {0};
	int local = dst_local(x);
	for (size_t i = 0; i < es->n; i++) {
		const struct entry *e = &es->e[i];
		bool node_port = e->kind == E_NODEPORT || e->kind == E_HC;
		if (strcmp(e->proto, t->proto) || e->port != t->dport ||
		    (node_port ? local != 1 && (!e->ip || strcmp(e->ip, t->ip))
			       : !e->ip || strcmp(e->ip, t->ip)))
			continue;
		strv_take(&what, xasprintf("%s of Service %s", ekind_names[e->kind], e->spn));
	}
	cleanup_free char *w = strv_join(&what, "; ");
	strv_release(&what);
	buf_printf(out, "%s:%d/%s, %s mode%s%s\n", t->ip, t->dport, t->proto, mode_name(x),
		   *w ? ": " : "", w);
	append_indented(out, buf_str(&b), 2);
	buf_free(&b);
	return true;
}

int explain_render(const struct explain_target *t, const struct explain_input *in, char **out,
		   struct mk_err **err)
{
	struct ipt ipt;
	struct nft nft;
	struct ctx x = {.in = in};
	int rc;
	if (in->mode == EXPLAIN_IPTABLES) {
		rc = ipt_parse(in->rules ? in->rules : "", &ipt, err);
		x.ipt = &ipt;
	} else {
		rc = nft_parse(in->rules ? in->rules : "", &nft, err);
		x.nft = &nft;
	}
	if (rc < 0) {
		mk_err_wrap(err, "reading the %s rules", mode_name(&x));
		goto out;
	}
	struct entries es = {0};
	if (x.ipt)
		ipt_entries(&x, &es);
	else
		nft_entries(&x, &es);
	if (es.n)
		qsort(es.e, es.n, sizeof(*es.e), entry_cmp);
	struct buf b = BUF_INIT;
	bool found = t->ip ? explain_address(&x, t, &es, &b) : explain_service(&x, t, &es, &b);
	entries_free(&es);
	if (found) {
		*out = buf_steal(&b);
		rc = 0;
	} else {
		buf_free(&b);
		cleanup_free char *what =
			t->ip	  ? xasprintf("%s:%d/%s", t->ip, t->dport, t->proto)
			: t->port ? xasprintf("Service %s/%s port %s", t->ns, t->name, t->port)
				  : xasprintf("Service %s/%s", t->ns, t->name);
		*out = xasprintf("no rule for %s in %s\n", what, where_name(&x));
		rc = 1;
	}
out:
	strv_release(&x.seen_keys);
	strv_release(&x.seen_texts);
	if (x.ipt)
		ipt_free(&ipt);
	else
		nft_free(&nft);
	return rc;
}

/* ---- the reader: kernel state and the API ---- */

extern char **environ;

/* Runs argv (looked up in PATH) with stderr discarded; *out receives its
 * stdout (new). Returns its exit status, or -1 with err when it cannot run. */
static int run_capture(const char *const argv[], char **out, struct mk_err **err)
{
	*out = NULL;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return mk_err_errno(err, MK_EIO, errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return mk_err_errno(err, rc == ENOENT ? MK_ENOTFOUND : MK_EIO, rc, "running %s",
				    argv[0]);
	}
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf_append(&b, chunk, (size_t)n);
	}
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			buf_free(&b);
			return mk_err_errno(err, MK_EIO, errno, "waiting for %s", argv[0]);
		}
	*out = buf_steal(&b);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The legacy xtables' filter and nat tables as iptables-save prints them
 * (the tables our iptables backend writes through libiptc). */
static int read_iptables(char **text, struct mk_err **err)
{
	static const char *const bins[] = {"iptables-legacy-save", "iptables-save"};
	for (size_t i = 0; i < 2; i++) {
		if (i == 1) {
			/* a plain iptables-save only if it is the legacy variant */
			const char *v[] = {bins[i], "--version", NULL};
			char *ver = NULL;
			int rc = run_capture(v, &ver, NULL);
			bool legacy = rc == 0 && strstr(ver, "legacy");
			free(ver);
			if (!legacy)
				break;
		}
		struct buf all = BUF_INIT;
		int rc = 0;
		static const char *const tables[] = {"filter", "nat"};
		for (size_t t = 0; t < 2 && rc == 0; t++) {
			const char *argv[] = {bins[i], "-t", tables[t], NULL};
			char *o = NULL;
			struct mk_err *e = NULL;
			rc = run_capture(argv, &o, &e);
			if (rc == 0)
				buf_append_str(&all, o);
			free(o);
			if (rc < 0 && mk_err_code(e) != MK_ENOTFOUND) {
				mk_err_set(err, mk_err_code(e), "%s", mk_err_msg(e));
				mk_err_free(e);
				buf_free(&all);
				return -1;
			}
			mk_err_free(e);
		}
		if (rc == 0) {
			*text = buf_steal(&all);
			return 0;
		}
		buf_free(&all);
		if (rc > 0)
			return mk_err_set(err, MK_EIO, "%s -t nat failed (exit status %d)", bins[i],
					  rc);
	}
	return mk_err_set(
		err, MK_ENOTFOUND,
		"iptables-legacy-save not found: it reads the legacy tables kube-proxy writes");
}

/* `nft list table ip kube-proxy`; *text NULL when the table does not exist. */
static int read_nftables(char **text, struct mk_err **err)
{
	const char *argv[] = {"nft", "list", "table", "ip", "kube-proxy", NULL};
	int rc = run_capture(argv, text, err);
	if (rc < 0)
		return -1;
	if (rc != 0) {
		free(*text);
		*text = NULL;
	}
	return 0;
}

static bool ipt_has_rules(const char *text)
{
	return text && (strstr(text, "\n:KUBE-SERVICES ") || strstr(text, "\n:KUBE-NODEPORTS "));
}

/* This network namespace's IPv4 addresses (new array of new strings). */
static char **local_addresses(size_t *n)
{
	struct ifaddrs *ifa = NULL;
	char **v = NULL;
	*n = 0;
	if (getifaddrs(&ifa) < 0)
		return NULL;
	/* the node's own addresses first, loopback last */
	for (int pass = 0; pass < 2; pass++)
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			char s[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, s,
				  sizeof(s));
			if ((pass == 0) == !strncmp(s, "127.", 4))
				continue;
			v = xrealloc(v, (*n + 1) * sizeof(*v));
			v[(*n)++] = xstrdup(s);
		}
	freeifaddrs(ifa);
	return v;
}

/* Pods and nodes from the API server, to name endpoint IPs. */
static int read_api(const char *master, const char *kubeconfig, json_t **pods, json_t **nodes,
		    struct mk_err **err)
{
	struct kubeconfig *kc = NULL;
	if (kubeconfig) {
		kc = kubeconfig_load(kubeconfig, err);
		if (!kc)
			return -1;
	}
	struct client *c = client_new(master, kc, err);
	kubeconfig_free(kc);
	if (!c)
		return -1;
	cleanup_json json_t *pl = client_list(c, "/api/v1/pods", NULL, NULL, err);
	cleanup_json json_t *nl = pl ? client_list(c, "/api/v1/nodes", NULL, NULL, err) : NULL;
	client_free(c);
	if (!nl)
		return -1;
	*pods = json_incref(json_object_get(pl, "items"));
	*nodes = json_incref(json_object_get(nl, "items"));
	return 0;
}

int explain_main(const char *target, const char *mode, const char *master, const char *kubeconfig)
{
	struct explain_target t;
	struct mk_err *err = NULL;
	if (explain_target_parse(target, &t, &err) < 0) {
		fprintf(stderr, "Error: %s\n", mk_err_msg(err));
		mk_err_free(err);
		return 1;
	}
	cleanup_free char *ipt_text = NULL, *nft_text = NULL;
	bool want_ipt = !mode || !strcmp(mode, "iptables"),
	     want_nft = !mode || !strcmp(mode, "nftables");
	int rc = 1;
	json_t *pods = NULL, *nodes = NULL;
	size_t n_ips = 0;
	char **ips = NULL;
	if (want_ipt && read_iptables(&ipt_text, &err) < 0) {
		if (mode || mk_err_code(err) != MK_ENOTFOUND)
			goto fail;
		mk_err_free(err);
		err = NULL;
	}
	if (want_nft && read_nftables(&nft_text, &err) < 0) {
		if (mode || mk_err_code(err) != MK_ENOTFOUND)
			goto fail;
		mk_err_free(err);
		err = NULL;
	}
	if (!mode) {
		/* explain whichever mode's rules the kernel holds */
		want_ipt = ipt_has_rules(ipt_text);
		want_nft = nft_text != NULL;
		if (!want_ipt && !want_nft) {
			fprintf(stderr,
				"no kube-proxy rules here: neither chain KUBE-SERVICES in the "
				"nat table nor table ip kube-proxy\n");
			goto out;
		}
	} else if (want_nft && !nft_text) {
		fprintf(stderr, "no rule for %s: table ip kube-proxy does not exist\n", target);
		goto out;
	}
	if ((master || kubeconfig) && read_api(master, kubeconfig, &pods, &nodes, &err) < 0) {
		fprintf(stderr, "warning: pods and nodes are not named: %s\n", mk_err_msg(err));
		mk_err_free(err);
		err = NULL;
	}
	ips = local_addresses(&n_ips);
	struct buf found = BUF_INIT, missing = BUF_INIT;
	for (int m = 0; m < 2; m++) {
		if (!(m == 0 ? want_ipt : want_nft))
			continue;
		struct explain_input in = {
			.mode = m == 0 ? EXPLAIN_IPTABLES : EXPLAIN_NFTABLES,
			.rules = m == 0 ? ipt_text : nft_text,
			.local_ips = (const char *const *)ips,
			.n_local_ips = n_ips,
			.pods = pods,
			.nodes = nodes,
		};
		char *text = NULL;
		int r = explain_render(&t, &in, &text, &err);
		if (r < 0) {
			buf_free(&found);
			buf_free(&missing);
			goto fail;
		}
		if (r == 0)
			buf_printf(&found, "%s%s", found.len ? "\n" : "", text);
		else
			buf_append_str(&missing, text);
		free(text);
	}
	if (found.len) {
		fputs(buf_str(&found), stdout);
		rc = 0;
	} else {
		fputs(buf_str(&missing), stderr);
	}
	buf_free(&found);
	buf_free(&missing);
	goto out;
fail:
	fprintf(stderr, "Error: %s\n", mk_err_msg(err));
	mk_err_free(err);
out:
	for (size_t i = 0; i < n_ips; i++)
		free(ips[i]);
	free(ips);
	json_decref(pods);
	json_decref(nodes);
	explain_target_free(&t);
	return rc;
}
