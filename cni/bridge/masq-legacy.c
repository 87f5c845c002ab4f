#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/netfilter/xt_comment.h>
#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "masq.h"
#include "xalloc.h"

/* Whether the legacy table `nat` is loaded in this netns: opening it with
 * libiptc would otherwise load it. */
static bool legacy_nat_loaded(const char *names_file)
{
	cleanup_fclose FILE *f = fopen(names_file, "re");
	if (!f)
		return false;
	char line[64];
	while (fgets(line, sizeof(line), f))
		if (strcmp(line, "nat\n") == 0)
			return true;
	return false;
}

static int teardown4(const char *chain_name, struct mk_err **err)
{
	/* libiptc reads chain names as full xt_chainlabel buffers */
	xt_chainlabel chain = {0}, post = "POSTROUTING";
	snprintf(chain, sizeof(chain), "%s", chain_name);
	if (!legacy_nat_loaded("/proc/net/ip_tables_names"))
		return 0;
	struct xtc_handle *h = iptc_init("nat");
	if (!h)
		return mk_err_set(err, MK_EIO, "iptables-legacy nat: %s", iptc_strerror(errno));
	bool changed = false;
	int rc = 0;
	/* Deleting renumbers the rules: restart the walk after each removal. */
	for (bool again = true; again && rc == 0;) {
		again = false;
		unsigned int num = 0;
		for (const struct ipt_entry *e = iptc_first_rule("POSTROUTING", h); e;
		     e = iptc_next_rule(e, h), num++) {
			const char *t = iptc_get_target(e, h);
			if (t && strcmp(t, chain) == 0) {
				if (!iptc_delete_num_entry(post, num, h))
					rc = mk_err_set(err, MK_EIO, "deleting POSTROUTING rule: %s",
							iptc_strerror(errno));
				changed = again = true;
				break;
			}
		}
	}
	if (rc == 0 && iptc_is_chain(chain, h)) {
		if (!iptc_flush_entries(chain, h) || !iptc_delete_chain(chain, h))
			rc = mk_err_set(err, MK_EIO, "deleting chain %s: %s", chain, iptc_strerror(errno));
		changed = true;
	}
	if (rc == 0 && changed && !iptc_commit(h))
		rc = mk_err_set(err, MK_EIO, "iptables-legacy commit: %s", iptc_strerror(errno));
	iptc_free(h);
	return rc;
}

static int teardown6(const char *chain_name, struct mk_err **err)
{
	/* libiptc reads chain names as full xt_chainlabel buffers */
	xt_chainlabel chain = {0}, post = "POSTROUTING";
	snprintf(chain, sizeof(chain), "%s", chain_name);
	if (!legacy_nat_loaded("/proc/net/ip6_tables_names"))
		return 0;
	struct xtc_handle *h = ip6tc_init("nat");
	if (!h)
		return mk_err_set(err, MK_EIO, "ip6tables-legacy nat: %s", ip6tc_strerror(errno));
	bool changed = false;
	int rc = 0;
	for (bool again = true; again && rc == 0;) {
		again = false;
		unsigned int num = 0;
		for (const struct ip6t_entry *e = ip6tc_first_rule("POSTROUTING", h); e;
		     e = ip6tc_next_rule(e, h), num++) {
			const char *t = ip6tc_get_target(e, h);
			if (t && strcmp(t, chain) == 0) {
				if (!ip6tc_delete_num_entry(post, num, h))
					rc = mk_err_set(err, MK_EIO, "deleting POSTROUTING rule: %s",
							ip6tc_strerror(errno));
				changed = again = true;
				break;
			}
		}
	}
	if (rc == 0 && ip6tc_is_chain(chain, h)) {
		if (!ip6tc_flush_entries(chain, h) || !ip6tc_delete_chain(chain, h))
			rc = mk_err_set(err, MK_EIO, "deleting chain %s: %s", chain,
					ip6tc_strerror(errno));
		changed = true;
	}
	if (rc == 0 && changed && !ip6tc_commit(h))
		rc = mk_err_set(err, MK_EIO, "ip6tables-legacy commit: %s", ip6tc_strerror(errno));
	ip6tc_free(h);
	return rc;
}

int masq_legacy_teardown(const char *network, const char *container_id, struct mk_err **err)
{
	char chain[29];
	masq_chain_name(network, container_id, chain);
	if (teardown4(chain, err) < 0 || teardown6(chain, err) < 0)
		return -1;
	return 0;
}

bool masq_backend_is_legacy(void)
{
	/* Follow what `iptables` in PATH is, as the reference does by running it. */
	const char *path = getenv("PATH");
	if (!path)
		return false;
	cleanup_free char *dirs = xstrdup(path);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		cleanup_free char *p = xasprintf("%s/iptables", d);
		char real[PATH_MAX];
		if (access(p, X_OK) != 0 || !realpath(p, real))
			continue;
		return strstr(real, "legacy") != NULL;
	}
	return false;
}

/* One rule: matches, comment, target. Built for both families from one
 * layout: <entry><comment match><target>. */
struct legacy_rule {
	void *buf;
	size_t len;
};

static void *put_comment_and_target(uint8_t *p, const char *comment, const char *target,
				    const void *tinfo, size_t tinfo_len, uint16_t *target_offset,
				    size_t entry_size)
{
	struct xt_entry_match *m = (struct xt_entry_match *)p;
	size_t msize = XT_ALIGN(sizeof(*m)) + XT_ALIGN(sizeof(struct xt_comment_info));
	m->u.user.match_size = (uint16_t)msize;
	snprintf(m->u.user.name, sizeof(m->u.user.name), "comment");
	struct xt_comment_info *ci = (struct xt_comment_info *)m->data;
	snprintf(ci->comment, sizeof(ci->comment), "%s", comment);
	p += msize;
	*target_offset = (uint16_t)(entry_size + msize);
	struct xt_entry_target *t = (struct xt_entry_target *)p;
	size_t tsize = tinfo ? XT_ALIGN(sizeof(*t)) + XT_ALIGN(tinfo_len)
			     : XT_ALIGN(sizeof(struct xt_standard_target));
	t->u.user.target_size = (uint16_t)tsize;
	snprintf(t->u.user.name, sizeof(t->u.user.name), "%s", target);
	if (tinfo)
		memcpy(t->data, tinfo, tinfo_len);
	return p + tsize;
}

static size_t rule_size(size_t entry_size, size_t tinfo_len, bool module_target)
{
	size_t msize = XT_ALIGN(sizeof(struct xt_entry_match)) + XT_ALIGN(sizeof(struct xt_comment_info));
	size_t tsize = module_target ? XT_ALIGN(sizeof(struct xt_entry_target)) + XT_ALIGN(tinfo_len)
				     : XT_ALIGN(sizeof(struct xt_standard_target));
	return XT_ALIGN(entry_size) + msize + tsize;
}

static void mask_of(int prefix, int len, uint8_t *m)
{
	for (int i = 0; i < len; i++) {
		int bits = prefix - i * 8;
		m[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static struct ipt_entry *entry4(const struct ipaddr *ip, int prefix, bool src, bool inv,
				const char *comment, const char *target, bool masq, size_t *len)
{
	/* struct nf_nat_ipv4_multi_range_compat {rangesize = 1, one empty range}:
	 * spelled out, since <linux/netfilter/nf_nat.h> clashes with libiptc's
	 * headers. */
	struct {
		uint32_t rangesize;
		uint32_t flags, min_ip, max_ip;
		uint16_t min, max;
	} mr = {.rangesize = 1};
	*len = rule_size(sizeof(struct ipt_entry), sizeof(mr), masq);
	struct ipt_entry *e = xcalloc(1, *len);
	uint8_t mask[4];
	mask_of(prefix, 4, mask);
	struct in_addr a, m;
	memcpy(&a, ip->b, 4);
	memcpy(&m, mask, 4);
	a.s_addr &= m.s_addr;
	if (src) {
		e->ip.src = a;
		e->ip.smsk = m;
	} else {
		e->ip.dst = a;
		e->ip.dmsk = m;
	}
	if (inv)
		e->ip.invflags |= src ? IPT_INV_SRCIP : IPT_INV_DSTIP;
	uint8_t *end = put_comment_and_target(e->elems, comment, target, masq ? &mr : NULL,
					      sizeof(mr), &e->target_offset, sizeof(*e));
	e->next_offset = (uint16_t)(end - (uint8_t *)e);
	return e;
}

static struct ip6t_entry *entry6(const struct ipaddr *ip, int prefix, bool src, bool inv,
				 const char *comment, const char *target, bool masq, size_t *len)
{
	/* struct nf_nat_range: flags, two addresses, two ports, all zero */
	uint8_t nr[40] = {0};
	*len = rule_size(sizeof(struct ip6t_entry), sizeof(nr), masq);
	struct ip6t_entry *e = xcalloc(1, *len);
	uint8_t mask[16];
	mask_of(prefix, 16, mask);
	struct in6_addr a, m;
	memcpy(&a, ip->b, 16);
	memcpy(&m, mask, 16);
	for (int i = 0; i < 16; i++)
		a.s6_addr[i] &= m.s6_addr[i];
	if (src) {
		e->ipv6.src = a;
		e->ipv6.smsk = m;
	} else {
		e->ipv6.dst = a;
		e->ipv6.dmsk = m;
	}
	if (inv)
		e->ipv6.invflags |= src ? IP6T_INV_SRCIP : IP6T_INV_DSTIP;
	uint8_t *end = put_comment_and_target(e->elems, comment, target, masq ? nr : NULL,
					      sizeof(nr), &e->target_offset, sizeof(*e));
	e->next_offset = (uint16_t)(end - (uint8_t *)e);
	return e;
}

int masq_legacy_setup(const char *network, const char *container_id, const struct ipaddr_net *ip,
		      struct mk_err **err)
{
	char name[29];
	masq_chain_name(network, container_id, name);
	xt_chainlabel chain = {0}, post = "POSTROUTING";
	snprintf(chain, sizeof(chain), "%s", name);
	cleanup_free char *comment = xasprintf("name: \"%s\" id: \"%s\"", network, container_id);
	struct ipaddr mc;
	bool v4 = ip->ip.family == AF_INET;
	ipaddr_parse(v4 ? "224.0.0.0" : "ff00::", &mc);
	int rc = 0;
	if (v4) {
		struct xtc_handle *h = iptc_init("nat");
		if (!h)
			return mk_err_set(err, MK_EIO, "iptables-legacy nat: %s", iptc_strerror(errno));
		if (!iptc_is_chain(chain, h) && !iptc_create_chain(chain, h))
			rc = mk_err_set(err, MK_EIO, "creating chain %s: %s", name, iptc_strerror(errno));
		struct {
			const char *chain;
			struct ipt_entry *e;
			size_t len;
		} rules[3];
		rules[0].chain = chain;
		rules[0].e = entry4(&ip->ip, ip->prefix, false, false, comment, "ACCEPT", false, &rules[0].len);
		rules[1].chain = chain;
		rules[1].e = entry4(&mc, 4, false, true, comment, "MASQUERADE", true, &rules[1].len);
		rules[2].chain = post;
		rules[2].e = entry4(&ip->ip, 32, true, false, comment, name, false, &rules[2].len);
		for (int i = 0; i < 3; i++) {
			unsigned char *mm = xmalloc(rules[i].len);
			memset(mm, 0xff, rules[i].len);
			bool have = iptc_check_entry(rules[i].chain, rules[i].e, mm, h);
			free(mm);
			if (rc == 0 && !have && !iptc_append_entry(rules[i].chain, rules[i].e, h))
				rc = mk_err_set(err, MK_EIO, "appending to %s: %s", rules[i].chain,
						iptc_strerror(errno));
			free(rules[i].e);
		}
		if (rc == 0 && !iptc_commit(h))
			rc = mk_err_set(err, MK_EIO, "iptables-legacy commit: %s", iptc_strerror(errno));
		iptc_free(h);
		return rc;
	}
	struct xtc_handle *h = ip6tc_init("nat");
	if (!h)
		return mk_err_set(err, MK_EIO, "ip6tables-legacy nat: %s", ip6tc_strerror(errno));
	if (!ip6tc_is_chain(chain, h) && !ip6tc_create_chain(chain, h))
		rc = mk_err_set(err, MK_EIO, "creating chain %s: %s", name, ip6tc_strerror(errno));
	struct {
		const char *chain;
		struct ip6t_entry *e;
		size_t len;
	} rules[3];
	rules[0].chain = chain;
	rules[0].e = entry6(&ip->ip, ip->prefix, false, false, comment, "ACCEPT", false, &rules[0].len);
	rules[1].chain = chain;
	rules[1].e = entry6(&mc, 8, false, true, comment, "MASQUERADE", true, &rules[1].len);
	rules[2].chain = post;
	rules[2].e = entry6(&ip->ip, 128, true, false, comment, name, false, &rules[2].len);
	for (int i = 0; i < 3; i++) {
		unsigned char *mm = xmalloc(rules[i].len);
		memset(mm, 0xff, rules[i].len);
		bool have = ip6tc_check_entry(rules[i].chain, rules[i].e, mm, h);
		free(mm);
		if (rc == 0 && !have && !ip6tc_append_entry(rules[i].chain, rules[i].e, h))
			rc = mk_err_set(err, MK_EIO, "appending to %s: %s", rules[i].chain,
					ip6tc_strerror(errno));
		free(rules[i].e);
	}
	if (rc == 0 && !ip6tc_commit(h))
		rc = mk_err_set(err, MK_EIO, "ip6tables-legacy commit: %s", ip6tc_strerror(errno));
	ip6tc_free(h);
	return rc;
}

int masq_legacy_exists(const char *network, const char *container_id, int family)
{
	char name[29];
	masq_chain_name(network, container_id, name);
	xt_chainlabel chain = {0};
	snprintf(chain, sizeof(chain), "%s", name);
	int found = 0;
	if (family == AF_INET) {
		if (!legacy_nat_loaded("/proc/net/ip_tables_names"))
			return 0;
		struct xtc_handle *h = iptc_init("nat");
		if (h) {
			found = iptc_is_chain(chain, h) ? 1 : 0;
			iptc_free(h);
		}
	} else {
		if (!legacy_nat_loaded("/proc/net/ip6_tables_names"))
			return 0;
		struct xtc_handle *h = ip6tc_init("nat");
		if (h) {
			found = ip6tc_is_chain(chain, h) ? 1 : 0;
			ip6tc_free(h);
		}
	}
	return found;
}
