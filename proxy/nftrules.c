/* Upstream kube-proxy's nftables objects (see the header). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "nftrules.h"
#include "xalloc.h"

const struct nftr_map_info nftr_maps[NFTR_N_MAPS] = {
	[NFTR_CLUSTER_IPS] = {"cluster-ips", "Active ClusterIPs", true, false, false},
	[NFTR_NODEPORT_IPS] = {"nodeport-ips", "IPs that accept NodePort traffic", true, false, false},
	[NFTR_NO_ENDPOINT_SERVICES] = {"no-endpoint-services",
				       "vmap to drop or reject packets to services with no endpoints",
				       true, true, true},
	[NFTR_NO_ENDPOINT_NODEPORTS] = {"no-endpoint-nodeports",
					"vmap to drop or reject packets to service nodeports with no endpoints",
					false, true, true},
	[NFTR_FIREWALL_IPS] = {"firewall-ips", "destinations that are subject to LoadBalancerSourceRanges",
			       true, true, true},
	[NFTR_SERVICE_IPS] = {"service-ips", "ClusterIP, ExternalIP and LoadBalancer IP traffic", true,
			      true, true},
	[NFTR_SERVICE_NODEPORTS] = {"service-nodeports", "NodePort traffic", false, true, true},
};

const char *nftr_proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_SCTP ? "sctp" : "tcp";
}

static uint8_t proto_num(enum proxy_proto p)
{
	return p == PROTO_UDP ? IPPROTO_UDP : p == PROTO_SCTP ? IPPROTO_SCTP : IPPROTO_TCP;
}

void nftr_duration(int seconds, char *out, size_t len)
{
	int d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60, s = seconds % 60;
	size_t o = 0;
	out[0] = '\0';
	if (d)
		o += (size_t)snprintf(out + o, len - o, "%dd", d);
	if (h && o < len)
		o += (size_t)snprintf(out + o, len - o, "%dh", h);
	if (m && o < len)
		o += (size_t)snprintf(out + o, len - o, "%dm", m);
	if ((s || seconds == 0) && o < len)
		snprintf(out + o, len - o, "%ds", s);
}

/* ---- building ---- */

static struct nftr_chain *add_chain(struct nftr_ruleset *rs, char *name, const char *service)
{
	if (rs->n_chains == rs->cap_chains) {
		rs->cap_chains = rs->cap_chains ? rs->cap_chains * 2 : 64;
		rs->chains = xrealloc(rs->chains, rs->cap_chains * sizeof(*rs->chains));
	}
	struct nftr_chain *c = &rs->chains[rs->n_chains++];
	*c = (struct nftr_chain){.name = name, .service = service};
	return c;
}

static struct nftr_rule *add_rule(struct nftr_chain *c, enum nftr_kind kind, const char *a,
				  const char *b)
{
	if (c->n_rules == c->cap_rules) {
		c->cap_rules = c->cap_rules ? c->cap_rules * 2 : 4;
		c->rules = xrealloc(c->rules, c->cap_rules * sizeof(*c->rules));
	}
	struct nftr_rule *r = &c->rules[c->n_rules++];
	*r = (struct nftr_rule){
		.kind = kind,
		.a = a ? xstrdup(a) : NULL,
		.b = b ? xstrdup(b) : NULL,
	};
	return r;
}

static void add_elem(struct nftr_ruleset *rs, enum nftr_map map, const char *ip, uint8_t proto,
		     uint16_t port, const char *chain, const char *comment)
{
	const struct nftr_map_info *mi = &nftr_maps[map];
	struct buf key = BUF_INIT;
	if (mi->has_ip)
		buf_append_str(&key, ip);
	if (mi->has_port)
		buf_printf(&key, "%s%s . %u", mi->has_ip ? " . " : "", nftr_proto_name(proto), port);
	if (rs->n_elems[map] == rs->cap_elems[map]) {
		rs->cap_elems[map] = rs->cap_elems[map] ? rs->cap_elems[map] * 2 : 64;
		rs->elems[map] = xrealloc(rs->elems[map], rs->cap_elems[map] * sizeof(struct nftr_elem));
	}
	rs->elems[map][rs->n_elems[map]++] = (struct nftr_elem){
		.ip = mi->has_ip ? xstrdup(ip) : NULL,
		.proto = mi->has_port ? proto : 0,
		.port = mi->has_port ? port : 0,
		.chain = chain ? xstrdup(chain) : NULL,
		.comment = comment ? xstrdup(comment) : NULL,
		.key = buf_steal(&key),
	};
}

static void free_elem(struct nftr_elem *e)
{
	free(e->ip);
	free(e->chain);
	free(e->comment);
	free(e->key);
}

static uint32_t ip_num(const char *ip)
{
	struct in_addr a = {0};
	if (ip)
		inet_pton(AF_INET, ip, &a);
	return ntohl(a.s_addr);
}

static int elem_cmp(const void *x, const void *y)
{
	const struct nftr_elem *a = x, *b = y;
	uint32_t ia = ip_num(a->ip), ib = ip_num(b->ip);
	if (ia != ib)
		return ia < ib ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

static void sort_unique(struct nftr_ruleset *rs)
{
	for (int m = 0; m < NFTR_N_MAPS; m++) {
		struct nftr_elem *v = rs->elems[m];
		size_t n = rs->n_elems[m], w = 0;
		if (n > 1)
			qsort(v, n, sizeof(*v), elem_cmp);
		for (size_t r = 0; r < n; r++) {
			if (w > 0 && elem_cmp(&v[w - 1], &v[r]) == 0) {
				free_elem(&v[r]);
				continue;
			}
			v[w++] = v[r];
		}
		rs->n_elems[m] = w;
	}
}

static char *ep_base(const struct proxy_svc_port *p, const struct proxy_endpoint *e)
{
	char *ip = xstrdup(e->ip);
	for (char *c = ip; *c; c++)
		if (*c == ':')
			*c = '.';
	char *s = xasprintf("%s/%s/%s/%s__%s/%d", p->ns, p->name, p->proto_str, p->port_name, ip,
			    e->port);
	char *b = hash_nft_base(s);
	free(s);
	free(ip);
	return b;
}

static void lb_rules(struct nftr_chain *c, const struct proxy_svc_port *p,
		     struct proxy_endpoint **eps, size_t n, char **ep_chain, char **aff_set)
{
	if (p->affinity)
		for (size_t i = 0; i < n; i++) {
			size_t k = (size_t)(eps[i] - p->eps);
			add_rule(c, NFTR_AFF_CHECK, aff_set[k], ep_chain[k]);
		}
	struct nftr_rule *r = add_rule(c, NFTR_NUMGEN, NULL, NULL);
	r->list = xcalloc(n, sizeof(char *));
	r->n_list = n;
	for (size_t i = 0; i < n; i++)
		r->list[i] = xstrdup(ep_chain[eps[i] - p->eps]);
}

static void render_port(const struct proxy_svc_port *p, const struct proxy_config *cfg,
			struct nftr_ruleset *rs)
{
	char *n = xasprintf("%s/%s/%s/%s", p->ns, p->name, p->proto_str, p->port_name);
	char *base = hash_nft_base(n);
	free(n);
	char *svc = xasprintf("service-%s", base), *loc = xasprintf("local-%s", base);
	char *ext = xasprintf("external-%s", base), *fw = xasprintf("firewall-%s", base);
	uint8_t pr = proto_num(p->proto);
	bool has_internal = proxy_port_has_internal(p), has_external = proxy_port_has_external(p);
	bool uses_cluster = proxy_port_uses_cluster_chain(p), uses_local = proxy_port_uses_local_chain(p);
	bool uses_ext = p->has_endpoints && proxy_port_external(p);
	bool uses_fw = p->n_lb_ips > 0 && p->n_source_ranges > 0;
	const char *internal = p->itp_local ? loc : svc, *external = p->etp_local ? loc : svc;
	const char *int_verdict = NULL, *ext_verdict = NULL; /* NULL = drop */
	if (!p->has_endpoints) {
		int_verdict = ext_verdict = "reject-chain";
	} else {
		if (!has_internal)
			rs->no_local_internal++;
		if (!has_external)
			rs->no_local_external++;
	}

	char **ep_chain = p->n_eps ? xcalloc(p->n_eps, sizeof(char *)) : NULL;
	char **aff_set = p->n_eps ? xcalloc(p->n_eps, sizeof(char *)) : NULL;
	for (size_t i = 0; i < p->n_reachable_eps; i++) {
		const struct proxy_endpoint *e = p->reachable_eps[i];
		size_t k = (size_t)(e - p->eps);
		char *eb = ep_base(p, e);
		ep_chain[k] = xasprintf("endpoint-%s", eb);
		aff_set[k] = xasprintf("affinity-%s", eb);
		free(eb);
	}

	/* endpoint chains first, as upstream creates them */
	for (size_t i = 0; i < p->n_reachable_eps; i++) {
		const struct proxy_endpoint *e = p->reachable_eps[i];
		size_t k = (size_t)(e - p->eps);
		if (p->affinity) {
			if (rs->n_sets == rs->cap_sets) {
				rs->cap_sets = rs->cap_sets ? rs->cap_sets * 2 : 16;
				rs->sets = xrealloc(rs->sets, rs->cap_sets * sizeof(*rs->sets));
			}
			rs->sets[rs->n_sets++] = (struct nftr_set){
				.name = xstrdup(aff_set[k]),
				.timeout = p->affinity_timeout,
				.service = p->key,
			};
		}
		struct nftr_chain *c = add_chain(rs, xstrdup(ep_chain[k]), p->key);
		add_rule(c, NFTR_SADDR_MASQ, e->ip, NULL);
		if (p->affinity)
			add_rule(c, NFTR_AFF_UPDATE, aff_set[k], NULL);
		struct nftr_rule *r = add_rule(c, NFTR_DNAT, e->ip, NULL);
		r->proto = pr;
		r->port = (uint16_t)e->port;
	}
	for (int which = 0; which < 2; which++) {
		bool use = which ? uses_local : uses_cluster;
		if (!use)
			continue;
		const char *name = which ? loc : svc;
		struct nftr_chain *c = add_chain(rs, xstrdup(name), p->key);
		if (has_internal && !strcmp(name, internal)) {
			if (cfg->masquerade_all)
				add_rule(c, NFTR_MASQ_CIP, p->cluster_ip, NULL);
			else if (cfg->cluster_cidr)
				add_rule(c, NFTR_MASQ_CIP_SADDR, p->cluster_ip, cfg->cluster_cidr);
		}
		if (which)
			lb_rules(c, p, p->local_eps, p->n_local_eps, ep_chain, aff_set);
		else
			lb_rules(c, p, p->cluster_eps, p->n_cluster_eps, ep_chain, aff_set);
	}
	if (uses_ext) {
		struct nftr_chain *c = add_chain(rs, xstrdup(ext), p->key);
		if (!p->etp_local) {
			add_rule(c, NFTR_JUMP_MASQ, NULL, NULL);
		} else {
			if (cfg->cluster_cidr)
				add_rule(c, NFTR_SADDR_GOTO, cfg->cluster_cidr, svc);
			add_rule(c, NFTR_FIB_MASQ, NULL, NULL);
			add_rule(c, NFTR_FIB_GOTO, svc, NULL);
		}
		if (has_external)
			add_rule(c, NFTR_GOTO, external, NULL);
	}
	if (uses_fw) {
		struct nftr_chain *c = add_chain(rs, xstrdup(fw), p->key);
		struct nftr_rule *r = add_rule(c, NFTR_FW_DROP, NULL, NULL);
		r->list = xcalloc(p->n_source_ranges, sizeof(char *));
		r->n_list = p->n_source_ranges;
		for (size_t i = 0; i < p->n_source_ranges; i++)
			r->list[i] = xstrdup(p->source_ranges[i]);
	}

	/* map elements */
	add_elem(rs, NFTR_CLUSTER_IPS, p->cluster_ip, 0, 0, NULL, NULL);
	if (has_internal)
		add_elem(rs, NFTR_SERVICE_IPS, p->cluster_ip, pr, (uint16_t)p->port, internal, NULL);
	else
		add_elem(rs, NFTR_NO_ENDPOINT_SERVICES, p->cluster_ip, pr, (uint16_t)p->port,
			 int_verdict, p->spn);
	for (int l = 0; l < 2; l++) {
		char **ips = l ? p->lb_ips : p->external_ips;
		size_t nips = l ? p->n_lb_ips : p->n_external_ips;
		for (size_t i = 0; i < nips; i++) {
			if (p->has_endpoints)
				add_elem(rs, NFTR_SERVICE_IPS, ips[i], pr, (uint16_t)p->port, ext, NULL);
			if (!has_external)
				add_elem(rs, NFTR_NO_ENDPOINT_SERVICES, ips[i], pr, (uint16_t)p->port,
					 ext_verdict, p->spn);
			if (l && uses_fw)
				add_elem(rs, NFTR_FIREWALL_IPS, ips[i], pr, (uint16_t)p->port, fw, NULL);
		}
	}
	if (p->node_port) {
		if (p->has_endpoints)
			add_elem(rs, NFTR_SERVICE_NODEPORTS, NULL, pr, (uint16_t)p->node_port, ext, NULL);
		if (!has_external)
			add_elem(rs, NFTR_NO_ENDPOINT_NODEPORTS, NULL, pr, (uint16_t)p->node_port,
				 ext_verdict, p->spn);
	}

	for (size_t i = 0; i < p->n_eps; i++) {
		free(ep_chain ? ep_chain[i] : NULL);
		free(aff_set ? aff_set[i] : NULL);
	}
	free(ep_chain);
	free(aff_set);
	free(svc);
	free(loc);
	free(ext);
	free(fw);
	free(base);
}

/* render_port, with the service noted on the elements it adds */
static void render_owned(const struct proxy_svc_port *p, const struct proxy_config *cfg,
			 struct nftr_ruleset *rs)
{
	size_t before[NFTR_N_MAPS];
	for (int mi = 0; mi < NFTR_N_MAPS; mi++)
		before[mi] = rs->n_elems[mi];
	render_port(p, cfg, rs);
	for (int mi = 0; mi < NFTR_N_MAPS; mi++)
		for (size_t i = before[mi]; i < rs->n_elems[mi]; i++)
			rs->elems[mi][i].service = p->key;
}

void nftr_render_node_ips(const struct proxy_config *cfg, struct nftr_ruleset *rs)
{
	for (size_t i = 0; i < cfg->n_node_ips; i++)
		if (strncmp(cfg->node_ips[i], "127.", 4))
			add_elem(rs, NFTR_NODEPORT_IPS, cfg->node_ips[i], 0, 0, NULL, NULL);
}

void nftr_render_port(const struct proxy_svc_port *p, const struct proxy_config *cfg,
		      struct nftr_ruleset *rs)
{
	render_owned(p, cfg, rs);
}

void nftr_ruleset_finish(struct nftr_ruleset *rs)
{
	sort_unique(rs);
}

void nftr_ruleset_take_elems(struct nftr_ruleset *dst, struct nftr_ruleset *src)
{
	for (int m = 0; m < NFTR_N_MAPS; m++) {
		size_t n = dst->n_elems[m] + src->n_elems[m];
		if (n > dst->cap_elems[m]) {
			dst->cap_elems[m] = n * 2;
			dst->elems[m] = xrealloc(dst->elems[m], dst->cap_elems[m] * sizeof(struct nftr_elem));
		}
		if (src->n_elems[m])
			memcpy(dst->elems[m] + dst->n_elems[m], src->elems[m],
			       src->n_elems[m] * sizeof(struct nftr_elem));
		dst->n_elems[m] = n;
		src->n_elems[m] = 0;
	}
}

void nftr_render(const struct proxy_model *m, const struct proxy_config *cfg,
		 struct nftr_ruleset *rs)
{
	*rs = (struct nftr_ruleset){0};
	nftr_render_node_ips(cfg, rs);
	for (size_t i = 0; i < m->n; i++)
		render_owned(&m->ports[i], cfg, rs);
	sort_unique(rs);
}

void nftr_render_changed(const struct proxy_model *m, const struct proxy_config *cfg,
			 const json_t *changed, struct nftr_ruleset *rs)
{
	*rs = (struct nftr_ruleset){0};
	for (size_t i = 0; i < m->n; i++)
		if (json_object_get(changed, m->ports[i].key))
			render_owned(&m->ports[i], cfg, rs);
	sort_unique(rs);
}

void nftr_ruleset_free(struct nftr_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_chains; i++) {
		struct nftr_chain *c = &rs->chains[i];
		for (size_t j = 0; j < c->n_rules; j++) {
			struct nftr_rule *r = &c->rules[j];
			free(r->a);
			free(r->b);
			for (size_t k = 0; k < r->n_list; k++)
				free(r->list[k]);
			free(r->list);
		}
		free(c->rules);
		free(c->name);
	}
	free(rs->chains);
	for (size_t i = 0; i < rs->n_sets; i++)
		free(rs->sets[i].name);
	free(rs->sets);
	for (int m = 0; m < NFTR_N_MAPS; m++) {
		for (size_t i = 0; i < rs->n_elems[m]; i++)
			free_elem(&rs->elems[m][i]);
		free(rs->elems[m]);
	}
	*rs = (struct nftr_ruleset){0};
}

/* ---- text ---- */

char *nftr_rule_text(const struct nftr_rule *r)
{
	struct buf b = BUF_INIT;
	switch (r->kind) {
	case NFTR_MASQ_CIP_SADDR:
		buf_printf(&b, "ip daddr %s ip saddr != %s jump mark-for-masquerade", r->a, r->b);
		break;
	case NFTR_MASQ_CIP:
		buf_printf(&b, "ip daddr %s jump mark-for-masquerade", r->a);
		break;
	case NFTR_NUMGEN:
		buf_printf(&b, "numgen random mod %zu vmap { ", r->n_list);
		for (size_t i = 0; i < r->n_list; i++)
			buf_printf(&b, "%s%zu : goto %s", i ? ", " : "", i, r->list[i]);
		buf_append_str(&b, " }");
		break;
	case NFTR_AFF_CHECK:
		buf_printf(&b, "ip saddr @%s goto %s", r->a, r->b);
		break;
	case NFTR_SADDR_MASQ:
		buf_printf(&b, "ip saddr %s jump mark-for-masquerade", r->a);
		break;
	case NFTR_AFF_UPDATE:
		buf_printf(&b, "update @%s { ip saddr }", r->a);
		break;
	case NFTR_DNAT:
		buf_printf(&b, "meta l4proto %s dnat to %s:%u", nftr_proto_name(r->proto), r->a, r->port);
		break;
	case NFTR_JUMP_MASQ:
		buf_append_str(&b, "jump mark-for-masquerade");
		break;
	case NFTR_GOTO:
		buf_printf(&b, "goto %s", r->a);
		break;
	case NFTR_SADDR_GOTO:
		buf_printf(&b, "ip saddr %s goto %s comment \"short-circuit pod traffic\"", r->a, r->b);
		break;
	case NFTR_FIB_MASQ:
		buf_append_str(&b,
			       "fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\"");
		break;
	case NFTR_FIB_GOTO:
		buf_printf(&b, "fib saddr type local goto %s comment \"short-circuit local traffic\"", r->a);
		break;
	case NFTR_FW_DROP:
		if (r->n_list == 1) {
			buf_printf(&b, "ip saddr != %s drop", r->list[0]);
		} else {
			buf_append_str(&b, "ip saddr != { ");
			for (size_t i = 0; i < r->n_list; i++)
				buf_printf(&b, "%s%s", i ? ", " : "", r->list[i]);
			buf_append_str(&b, " } drop");
		}
		break;
	}
	return buf_steal(&b);
}

static void print_elems(struct buf *b, const struct nftr_ruleset *rs, enum nftr_map m)
{
	size_t n = rs->n_elems[m];
	if (!n)
		return;
	buf_append_str(b, "\t\telements = { ");
	for (size_t i = 0; i < n; i++) {
		const struct nftr_elem *e = &rs->elems[m][i];
		if (i) {
			/* nft breaks after every map element and after every two addresses */
			if (nftr_maps[m].is_map || i % 2 == 0)
				buf_append_str(b, ",\n\t\t\t     ");
			else
				buf_append_str(b, ", ");
		}
		buf_append_str(b, e->key);
		if (nftr_maps[m].is_map) {
			if (e->comment)
				buf_printf(b, " comment \"%s\"", e->comment);
			if (e->chain)
				buf_printf(b, " : goto %s", e->chain);
			else
				buf_append_str(b, " : drop");
		}
	}
	buf_append_str(b, " }\n");
}

static const enum nftr_map map_order[] = {
	NFTR_CLUSTER_IPS, NFTR_NODEPORT_IPS, NFTR_NO_ENDPOINT_SERVICES, NFTR_NO_ENDPOINT_NODEPORTS,
	NFTR_FIREWALL_IPS, NFTR_SERVICE_IPS, NFTR_SERVICE_NODEPORTS,
};

char *nftr_list_text(const struct nftr_ruleset *rs, const struct proxy_config *cfg)
{
	struct buf b = BUF_INIT;
	char mark[16];
	snprintf(mark, sizeof(mark), "0x%08x", 1u << cfg->masquerade_bit);
	buf_append_str(&b, "table ip kube-proxy {\n\tcomment \"rules for kube-proxy\"\n");
	bool first = true;
	for (size_t i = 0; i < sizeof(map_order) / sizeof(map_order[0]); i++) {
		const struct nftr_map_info *mi = &nftr_maps[map_order[i]];
		buf_printf(&b, "%s\t%s %s {\n\t\ttype %s%s%s\n\t\tcomment \"%s\"\n", first ? "" : "\n",
			   mi->is_map ? "map" : "set", mi->name, mi->has_ip ? "ipv4_addr" : "",
			   mi->has_port ? (mi->has_ip ? " . inet_proto . inet_service" : "inet_proto . inet_service") : "",
			   mi->is_map ? " : verdict" : "", mi->comment);
		print_elems(&b, rs, map_order[i]);
		buf_append_str(&b, "\t}\n");
		first = false;
	}
	for (size_t i = 0; i < rs->n_sets; i++) {
		char d[32];
		nftr_duration(rs->sets[i].timeout, d, sizeof(d));
		buf_printf(&b,
			   "\n\tset %s {\n\t\ttype ipv4_addr\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\ttimeout %s\n\t}\n",
			   rs->sets[i].name, d);
	}
	buf_append_str(&b,
		       "\n\tchain filter-prerouting-pre-dnat {\n"
		       "\t\ttype filter hook prerouting priority dstnat - 10; policy accept;\n"
		       "\t\tct state new jump firewall-check\n\t}\n"
		       "\n\tchain filter-output-pre-dnat {\n"
		       "\t\ttype filter hook output priority -110; policy accept;\n"
		       "\t\tct state new jump firewall-check\n\t}\n"
		       "\n\tchain filter-input {\n"
		       "\t\ttype filter hook input priority filter; policy accept;\n"
		       "\t\tct state new jump nodeport-endpoints-check\n"
		       "\t\tct state new jump service-endpoints-check\n\t}\n"
		       "\n\tchain filter-forward {\n"
		       "\t\ttype filter hook forward priority filter; policy accept;\n"
		       "\t\tct state new jump service-endpoints-check\n"
		       "\t\tct state new jump cluster-ips-check\n\t}\n"
		       "\n\tchain filter-output {\n"
		       "\t\ttype filter hook output priority filter; policy accept;\n"
		       "\t\tct state new jump service-endpoints-check\n"
		       "\t\tct state new jump cluster-ips-check\n\t}\n"
		       "\n\tchain nat-prerouting {\n"
		       "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
		       "\t\tjump services\n\t}\n"
		       "\n\tchain nat-output {\n"
		       "\t\ttype nat hook output priority -100; policy accept;\n"
		       "\t\tjump services\n\t}\n"
		       "\n\tchain nat-postrouting {\n"
		       "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		       "\t\tjump masquerading\n\t}\n"
		       "\n\tchain nodeport-endpoints-check {\n"
		       "\t\tip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports\n\t}\n"
		       "\n\tchain service-endpoints-check {\n"
		       "\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services\n\t}\n"
		       "\n\tchain firewall-check {\n"
		       "\t\tip daddr . meta l4proto . th dport vmap @firewall-ips\n\t}\n"
		       "\n\tchain services {\n"
		       "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n"
		       "\t\tip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports\n\t}\n");
	buf_printf(&b,
		   "\n\tchain masquerading {\n"
		   "\t\tmeta mark & %s == 0x00000000 return\n"
		   "\t\tmeta mark set meta mark ^ %s\n"
		   "\t\tmasquerade fully-random\n\t}\n",
		   mark, mark);
	buf_append_str(&b, "\n\tchain cluster-ips-check {\n"
			   "\t\tip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"\n");
	if (cfg->service_cidr)
		buf_printf(&b, "\t\tip daddr %s drop comment \"Drop traffic to unallocated ClusterIPs\"\n",
			   cfg->service_cidr);
	buf_append_str(&b, "\t}\n");
	buf_printf(&b, "\n\tchain mark-for-masquerade {\n\t\tmeta mark set meta mark | %s\n\t}\n", mark);
	buf_append_str(&b, "\n\tchain reject-chain {\n"
			   "\t\tcomment \"helper for @no-endpoint-services / @no-endpoint-nodeports\"\n"
			   "\t\treject\n\t}\n");
	for (size_t i = 0; i < rs->n_chains; i++) {
		const struct nftr_chain *c = &rs->chains[i];
		buf_printf(&b, "\n\tchain %s {\n", c->name);
		for (size_t j = 0; j < c->n_rules; j++) {
			char *t = nftr_rule_text(&c->rules[j]);
			buf_printf(&b, "\t\t%s\n", t);
			free(t);
		}
		buf_append_str(&b, "\t}\n");
	}
	buf_append_str(&b, "}\n");
	return buf_steal(&b);
}
