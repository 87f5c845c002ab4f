#include <errno.h>
#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "masq.h"

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
