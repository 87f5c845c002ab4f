/* Upstream kube-proxy's iptables rules, rule for rule (see the header). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "iptrules.h"
#include "xalloc.h"

const struct iptr_jump iptr_jumps[] = {
	{"filter", "INPUT", "-m conntrack --ctstate NEW", "KUBE-EXTERNAL-SERVICES",
	 "kubernetes externally-visible service portals"},
	{"filter", "FORWARD", "-m conntrack --ctstate NEW", "KUBE-EXTERNAL-SERVICES",
	 "kubernetes externally-visible service portals"},
	{"filter", "INPUT", "", "KUBE-NODEPORTS", "kubernetes health check service ports"},
	{"filter", "FORWARD", "-m conntrack --ctstate NEW", "KUBE-SERVICES", "kubernetes service portals"},
	{"filter", "OUTPUT", "-m conntrack --ctstate NEW", "KUBE-SERVICES", "kubernetes service portals"},
	{"filter", "FORWARD", "", "KUBE-FORWARD", "kubernetes forwarding rules"},
	{"filter", "INPUT", "-m conntrack --ctstate NEW", "KUBE-PROXY-FIREWALL",
	 "kubernetes load balancer firewall"},
	{"filter", "OUTPUT", "-m conntrack --ctstate NEW", "KUBE-PROXY-FIREWALL",
	 "kubernetes load balancer firewall"},
	{"filter", "FORWARD", "-m conntrack --ctstate NEW", "KUBE-PROXY-FIREWALL",
	 "kubernetes load balancer firewall"},
	{"nat", "OUTPUT", "", "KUBE-SERVICES", "kubernetes service portals"},
	{"nat", "PREROUTING", "", "KUBE-SERVICES", "kubernetes service portals"},
	{"nat", "POSTROUTING", "", "KUBE-POSTROUTING", "kubernetes postrouting rules"},
	{"filter", "INPUT", "", "KUBE-FIREWALL", NULL},
	{"filter", "OUTPUT", "", "KUBE-FIREWALL", NULL},
};
const size_t iptr_n_jumps = sizeof(iptr_jumps) / sizeof(iptr_jumps[0]);

bool iptr_is_service_chain(const char *name)
{
	return !strncmp(name, "KUBE-SVC-", 9) || !strncmp(name, "KUBE-SVL-", 9) ||
	       !strncmp(name, "KUBE-SEP-", 9) || !strncmp(name, "KUBE-FW-", 8) ||
	       !strncmp(name, "KUBE-EXT-", 9);
}

static void declare(struct iptr_table *t, char *chain)
{
	if (t->n_chains == t->cap_chains) {
		t->cap_chains = t->cap_chains ? t->cap_chains * 2 : 64;
		t->chains = xrealloc(t->chains, t->cap_chains * sizeof(*t->chains));
	}
	t->chains[t->n_chains++] = chain;
}

static void declare_const(struct iptr_table *t, const char *chain)
{
	declare(t, xstrdup(chain));
}

__attribute__((format(printf, 3, 4))) static void rule(struct iptr_table *t, const char *chain,
						       const char *fmt, ...)
{
	va_list ap;
	buf_printf(&t->rules, "-A %s ", chain);
	va_start(ap, fmt);
	buf_vprintf(&t->rules, fmt, ap);
	va_end(ap);
	buf_append_char(&t->rules, '\n');
	t->n_rules++;
}

/* The masquerade mark as upstream's tests print it. */
static void mark_str(const struct proxy_config *cfg, char *out, size_t len)
{
	snprintf(out, len, "%#x", 1u << cfg->masquerade_bit);
}

/* Names of one service port's chains. */
struct port_chains {
	char *svc, *svl, *ext, *fw;
	char **sep; /* per endpoint of p->eps */
};

static void port_chains_init(struct port_chains *c, const struct proxy_svc_port *p)
{
	c->svc = hash_ipt_chain("KUBE-SVC-", p->spn, p->proto_str);
	c->svl = xstrdup(c->svc);
	memcpy(c->svl, "KUBE-SVL-", 9);
	c->ext = xstrdup(c->svc);
	memcpy(c->ext, "KUBE-EXT-", 9);
	c->fw = xasprintf("KUBE-FW-%s", c->svc + 9);
	c->sep = p->n_eps ? xcalloc(p->n_eps, sizeof(*c->sep)) : NULL;
	for (size_t i = 0; i < p->n_eps; i++)
		c->sep[i] = hash_ipt_sep_chain(p->spn, p->proto_str, p->eps[i].str);
}

static void port_chains_free(struct port_chains *c, const struct proxy_svc_port *p)
{
	free(c->svc);
	free(c->svl);
	free(c->ext);
	free(c->fw);
	for (size_t i = 0; i < p->n_eps; i++)
		free(c->sep[i]);
	free(c->sep);
}

static const char *sep_of(const struct port_chains *c, const struct proxy_svc_port *p,
			  const struct proxy_endpoint *e)
{
	return c->sep[e - p->eps];
}

/* KUBE-SVC / KUBE-SVL: affinity checks then the probability ladder. */
static void lb_chain(struct iptr_table *nat, const char *chain, const struct proxy_svc_port *p,
		     const struct port_chains *c, struct proxy_endpoint **eps, size_t n, bool large)
{
	char prob[32];
	if (p->affinity) {
		for (size_t i = 0; i < n; i++) {
			const char *sep = sep_of(c, p, eps[i]);
			if (large)
				rule(nat, chain, "-m recent --name %s --rcheck --seconds %d --reap -j %s", sep,
				     p->affinity_timeout, sep);
			else
				rule(nat, chain,
				     "-m comment --comment \"%s -> %s\" -m recent --name %s --rcheck --seconds %d --reap -j %s",
				     p->spn, eps[i]->str, sep, p->affinity_timeout, sep);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *sep = sep_of(c, p, eps[i]);
		struct buf b = BUF_INIT;
		if (!large)
			buf_printf(&b, "-m comment --comment \"%s -> %s\" ", p->spn, eps[i]->str);
		if (i < n - 1) {
			proxy_probability(n - i, prob, sizeof(prob));
			buf_printf(&b, "-m statistic --mode random --probability %s ", prob);
		}
		rule(nat, chain, "%s-j %s", buf_str(&b), sep);
		buf_free(&b);
	}
}

static bool set_has(const json_t *set, const char *k)
{
	return set && json_object_get(set, k) != NULL;
}

static void render_port(const struct proxy_svc_port *p, const struct proxy_config *cfg,
			const struct iptr_opts *opts, struct iptr_ruleset *rs, json_t *active,
			bool large)
{
	struct iptr_table *flt = &rs->filter, *nat = &rs->nat;
	struct port_chains c;
	port_chains_init(&c, p);
	const char *pr = p->proto_str;
	bool has_internal = proxy_port_has_internal(p);
	bool has_external = proxy_port_has_external(p);
	bool uses_cluster = proxy_port_uses_cluster_chain(p);
	bool uses_local = proxy_port_uses_local_chain(p);
	bool uses_ext = p->has_endpoints && proxy_port_external(p);
	bool uses_fw = proxy_port_uses_fw_chain(p);
	const char *internal_chain = p->itp_local ? c.svl : c.svc;
	const char *external_chain = p->etp_local ? c.svl : c.svc;

	const char *int_verdict = "REJECT", *ext_verdict = "REJECT";
	char *int_comment = xasprintf("%s has no endpoints", p->spn);
	char *ext_comment = xstrdup(int_comment);
	if (p->has_endpoints) {
		if (!has_internal) {
			int_verdict = "DROP";
			free(int_comment);
			int_comment = xasprintf("%s has no local endpoints", p->spn);
			rs->no_local_internal++;
		}
		if (!has_external) {
			ext_verdict = "DROP";
			free(ext_comment);
			ext_comment = xasprintf("%s has no local endpoints", p->spn);
			rs->no_local_external++;
		}
	}

	/* chains this port keeps, whether or not rewritten now */
	if (uses_cluster)
		json_object_set_new(active, c.svc, json_true());
	if (uses_local)
		json_object_set_new(active, c.svl, json_true());
	if (uses_ext)
		json_object_set_new(active, c.ext, json_true());
	if (uses_fw)
		json_object_set_new(active, c.fw, json_true());
	for (size_t i = 0; i < p->n_reachable_eps; i++)
		json_object_set_new(active, sep_of(&c, p, p->reachable_eps[i]), json_true());

	/* 1. cluster IP */
	if (has_internal)
		rule(nat, "KUBE-SERVICES",
		     "-m comment --comment \"%s cluster IP\" -m %s -p %s -d %s --dport %d -j %s", p->spn,
		     pr, pr, p->cluster_ip, p->port, internal_chain);
	else
		rule(flt, "KUBE-SERVICES", "-m comment --comment \"%s\" -m %s -p %s -d %s --dport %d -j %s",
		     int_comment, pr, pr, p->cluster_ip, p->port, int_verdict);
	/* 2. external IPs */
	for (size_t i = 0; i < p->n_external_ips; i++) {
		if (p->has_endpoints)
			rule(nat, "KUBE-SERVICES",
			     "-m comment --comment \"%s external IP\" -m %s -p %s -d %s --dport %d -j %s",
			     p->spn, pr, pr, p->external_ips[i], p->port, c.ext);
		if (!has_external)
			rule(flt, "KUBE-EXTERNAL-SERVICES",
			     "-m comment --comment \"%s\" -m %s -p %s -d %s --dport %d -j %s", ext_comment,
			     pr, pr, p->external_ips[i], p->port, ext_verdict);
	}
	/* 3. load balancer IPs */
	for (size_t i = 0; i < p->n_lb_ips; i++) {
		if (p->has_endpoints)
			rule(nat, "KUBE-SERVICES",
			     "-m comment --comment \"%s loadbalancer IP\" -m %s -p %s -d %s --dport %d -j %s",
			     p->spn, pr, pr, p->lb_ips[i], p->port, uses_fw ? c.fw : c.ext);
		if (uses_fw)
			rule(flt, "KUBE-PROXY-FIREWALL",
			     "-m comment --comment \"%s traffic not accepted by %s\" -m %s -p %s -d %s --dport %d -j DROP",
			     p->spn, c.fw, pr, pr, p->lb_ips[i], p->port);
	}
	if (!has_external)
		for (size_t i = 0; i < p->n_lb_ips; i++)
			rule(flt, "KUBE-EXTERNAL-SERVICES",
			     "-m comment --comment \"%s\" -m %s -p %s -d %s --dport %d -j %s", ext_comment,
			     pr, pr, p->lb_ips[i], p->port, ext_verdict);
	/* 4. node port */
	if (p->node_port) {
		if (p->has_endpoints)
			rule(nat, "KUBE-NODEPORTS", "-m comment --comment %s -m %s -p %s --dport %d -j %s",
			     p->spn, pr, pr, p->node_port, c.ext);
		if (!has_external)
			rule(flt, "KUBE-EXTERNAL-SERVICES",
			     "-m comment --comment \"%s\" -m addrtype --dst-type LOCAL -m %s -p %s --dport %d -j %s",
			     ext_comment, pr, pr, p->node_port, ext_verdict);
	}
	/* 5. health check node port */
	if (p->hc_node_port)
		rule(flt, "KUBE-NODEPORTS",
		     "-m comment --comment \"%s health check node port\" -m tcp -p tcp --dport %d -j ACCEPT",
		     p->spn, p->hc_node_port);

	/* 6. partial sync: unchanged services keep their chains as they are */
	if (opts && opts->changed && !set_has(opts->changed, p->key)) {
		rs->n_skipped_nat += (uses_cluster ? p->n_cluster_eps + 1 : 0) +
				     (uses_local ? p->n_local_eps + 1 : 0) + 2 * p->n_reachable_eps;
		goto out;
	}

	if (uses_ext)
		declare_const(nat, c.ext);
	if (uses_fw)
		declare_const(nat, c.fw);
	if (uses_cluster)
		declare_const(nat, c.svc);
	if (uses_local)
		declare_const(nat, c.svl);
	for (size_t i = 0; i < p->n_reachable_eps; i++)
		declare_const(nat, sep_of(&c, p, p->reachable_eps[i]));

	/* 7. internal chain masquerade */
	if (has_internal) {
		if (cfg->masquerade_all)
			rule(nat, internal_chain,
			     "-m comment --comment \"%s cluster IP\" -m %s -p %s -d %s --dport %d -j KUBE-MARK-MASQ",
			     p->spn, pr, pr, p->cluster_ip, p->port);
		else if (cfg->cluster_cidr)
			rule(nat, internal_chain,
			     "-m comment --comment \"%s cluster IP\" -m %s -p %s -d %s --dport %d ! -s %s -j KUBE-MARK-MASQ",
			     p->spn, pr, pr, p->cluster_ip, p->port, cfg->cluster_cidr);
	}
	/* 8. KUBE-EXT */
	if (uses_ext) {
		if (!p->etp_local) {
			rule(nat, c.ext,
			     "-m comment --comment \"masquerade traffic for %s external destinations\" -j KUBE-MARK-MASQ",
			     p->spn);
		} else {
			if (cfg->cluster_cidr)
				rule(nat, c.ext,
				     "-m comment --comment \"pod traffic for %s external destinations\" -s %s -j %s",
				     p->spn, cfg->cluster_cidr, c.svc);
			rule(nat, c.ext,
			     "-m comment --comment \"masquerade LOCAL traffic for %s external destinations\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ",
			     p->spn);
			rule(nat, c.ext,
			     "-m comment --comment \"route LOCAL traffic for %s external destinations\" -m addrtype --src-type LOCAL -j %s",
			     p->spn, c.svc);
		}
		if (has_external)
			rule(nat, c.ext, "-j %s", external_chain);
	}
	/* 9. KUBE-FW: allowed source ranges */
	if (uses_fw) {
		for (size_t i = 0; i < p->n_source_ranges; i++)
			rule(nat, c.fw, "-m comment --comment \"%s loadbalancer IP\" -s %s -j %s", p->spn,
			     p->source_ranges[i], c.ext);
		rule(nat, c.fw,
		     "-m comment --comment \"other traffic to %s will be dropped by KUBE-PROXY-FIREWALL\"",
		     p->spn);
	}
	/* 10. load balancing */
	if (uses_cluster)
		lb_chain(nat, c.svc, p, &c, p->cluster_eps, p->n_cluster_eps, large);
	if (uses_local)
		lb_chain(nat, c.svl, p, &c, p->local_eps, p->n_local_eps, large);
	/* 11. endpoint chains */
	for (size_t i = 0; i < p->n_reachable_eps; i++) {
		const struct proxy_endpoint *e = p->reachable_eps[i];
		const char *sep = sep_of(&c, p, e);
		char *cm = large ? xstrdup("") : xasprintf("-m comment --comment %s ", p->spn);
		rule(nat, sep, "%s-s %s -j KUBE-MARK-MASQ", cm, e->ip);
		if (p->affinity)
			rule(nat, sep, "%s-m recent --name %s --set -m %s -p %s -j DNAT --to-destination %s",
			     cm, sep, pr, pr, e->str);
		else
			rule(nat, sep, "%s-m %s -p %s -j DNAT --to-destination %s", cm, pr, pr, e->str);
		free(cm);
	}
out:
	free(int_comment);
	free(ext_comment);
	port_chains_free(&c, p);
}

void iptr_render(const struct proxy_model *m, const struct proxy_config *cfg,
		 const struct iptr_opts *opts, struct iptr_ruleset *rs)
{
	*rs = (struct iptr_ruleset){0};
	rs->filter.name = "filter";
	rs->nat.name = "nat";
	struct iptr_table *flt = &rs->filter, *nat = &rs->nat;
	char mark[16];
	mark_str(cfg, mark, sizeof(mark));
	bool large = m->n_endpoints > 1000;

	declare_const(flt, "KUBE-SERVICES");
	declare_const(flt, "KUBE-EXTERNAL-SERVICES");
	declare_const(flt, "KUBE-FORWARD");
	declare_const(flt, "KUBE-NODEPORTS");
	declare_const(flt, "KUBE-PROXY-FIREWALL");
	if (cfg->localhost_nodeports) {
		declare_const(flt, "KUBE-FIREWALL");
		rule(flt, "KUBE-FIREWALL",
		     "-m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP");
	}
	declare_const(nat, "KUBE-SERVICES");
	declare_const(nat, "KUBE-NODEPORTS");
	declare_const(nat, "KUBE-POSTROUTING");
	declare_const(nat, "KUBE-MARK-MASQ");
	rule(nat, "KUBE-POSTROUTING", "-m mark ! --mark %s/%s -j RETURN", mark, mark);
	rule(nat, "KUBE-POSTROUTING", "-j MARK --xor-mark %s", mark);
	rule(nat, "KUBE-POSTROUTING",
	     "-m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE%s",
	     cfg->random_fully ? " --random-fully" : "");
	rule(nat, "KUBE-MARK-MASQ", "-j MARK --or-mark %s", mark);

	json_t *active = json_object();
	for (size_t i = 0; i < m->n; i++)
		render_port(&m->ports[i], cfg, opts, rs, active, large);

	if (cfg->drop_invalid)
		rule(flt, "KUBE-FORWARD", "-m conntrack --ctstate INVALID -j DROP");
	rule(flt, "KUBE-FORWARD",
	     "-m comment --comment \"kubernetes forwarding rules\" -m mark --mark %s/%s -j ACCEPT", mark,
	     mark);
	rule(flt, "KUBE-FORWARD",
	     "-m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");

	/* stale chains: ours, existing, not produced by this sync */
	for (size_t i = 0; opts && i < opts->n_existing_nat; i++) {
		const char *ch = opts->existing_nat[i];
		if (!iptr_is_service_chain(ch) || json_object_get(active, ch))
			continue;
		declare_const(nat, ch);
		if (nat->n_deletes == nat->cap_deletes) {
			nat->cap_deletes = nat->cap_deletes ? nat->cap_deletes * 2 : 16;
			nat->deletes = xrealloc(nat->deletes, nat->cap_deletes * sizeof(char *));
		}
		nat->deletes[nat->n_deletes++] = xstrdup(ch);
	}
	json_decref(active);

	/* the nodeports jump: must stay the last rule of KUBE-SERVICES */
	static const char np_comment[] =
		"kubernetes service nodeports; NOTE: this must be the last rule in this chain";
	if (cfg->n_nodeport_cidrs == 0) {
		buf_printf(&nat->tail,
			   "-A KUBE-SERVICES -m comment --comment \"%s\" -m addrtype --dst-type LOCAL%s -j KUBE-NODEPORTS\n",
			   np_comment, cfg->localhost_nodeports ? "" : " ! -d 127.0.0.0/8");
		nat->n_tail++;
	} else {
		for (size_t i = 0; i < cfg->n_node_ips; i++) {
			if (!strncmp(cfg->node_ips[i], "127.", 4) && !cfg->localhost_nodeports)
				continue;
			buf_printf(&nat->tail,
				   "-A KUBE-SERVICES -m comment --comment \"%s\" -d %s -j KUBE-NODEPORTS\n",
				   np_comment, cfg->node_ips[i]);
			nat->n_tail++;
		}
	}
}

static void table_free(struct iptr_table *t)
{
	for (size_t i = 0; i < t->n_chains; i++)
		free(t->chains[i]);
	free(t->chains);
	for (size_t i = 0; i < t->n_deletes; i++)
		free(t->deletes[i]);
	free(t->deletes);
	buf_free(&t->rules);
	buf_free(&t->tail);
}

void iptr_ruleset_free(struct iptr_ruleset *rs)
{
	table_free(&rs->filter);
	table_free(&rs->nat);
}

static void table_text(const struct iptr_table *t, struct buf *b)
{
	buf_printf(b, "*%s\n", t->name);
	for (size_t i = 0; i < t->n_chains; i++)
		buf_printf(b, ":%s - [0:0]\n", t->chains[i]);
	buf_append(b, t->rules.data ? t->rules.data : "", t->rules.len);
	for (size_t i = 0; i < t->n_deletes; i++)
		buf_printf(b, "-X %s\n", t->deletes[i]);
	buf_append(b, t->tail.data ? t->tail.data : "", t->tail.len);
	buf_append_str(b, "COMMIT\n");
}

char *iptr_restore_text(const struct iptr_ruleset *rs)
{
	struct buf b = BUF_INIT;
	table_text(&rs->filter, &b);
	table_text(&rs->nat, &b);
	return buf_steal(&b);
}
