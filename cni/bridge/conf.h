/* bridge plugin network configuration. */
#ifndef CNI_BRIDGE_CONF_H
#define CNI_BRIDGE_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cni/skel/skel.h"

struct br_conf {
	const char *name;   /* borrowed from the netconf */
	const char *bridge; /* default "cni0" */
	bool is_gw, is_default_gw, force_address, ip_masq, hairpin, promisc;
	bool macspoofchk, disable_container_iface, enabledad;
	int mtu;
	int vlan;
	const char *ipam_type; /* NULL or "" = L2 only */
	const json_t *dns;     /* netconf dns or NULL */
	uint8_t mac[6];
	bool has_mac;
};

/* Parses and validates the netconf held by ctx (with CNI_ARGS), with the
 * reference's messages. On error *err is set (and ctx's CNI code). */
int br_conf_parse(struct cni_ctx *ctx, struct br_conf *c, struct mk_err **err);

/* Parses "aa:bb:cc:dd:ee:ff". */
int br_mac_parse(const char *s, uint8_t mac[6]);

#endif
