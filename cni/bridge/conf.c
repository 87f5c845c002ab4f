#include "conf.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"

int br_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				      &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int get_bool(struct cni_ctx *ctx, const char *key, bool *out, struct mk_err **err)
{
	json_t *v = json_object_get(ctx->conf, key);
	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return cni_fail(
			ctx, err, CNI_ERR_INTERNAL, NULL,
			"failed to load netconf: json: cannot unmarshal %s into Go struct field "
			"NetConf.%s of type bool",
			json_kind_name(v), key);
	*out = json_is_true(v);
	return 0;
}

static int get_int(struct cni_ctx *ctx, const char *key, int *out, struct mk_err **err)
{
	json_t *v = json_object_get(ctx->conf, key);
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return cni_fail(
			ctx, err, CNI_ERR_INTERNAL, NULL,
			"failed to load netconf: json: cannot unmarshal %s into Go struct field "
			"NetConf.%s of type int",
			json_kind_name(v), key);
	*out = (int)json_integer_value(v);
	return 0;
}

int br_conf_parse(struct cni_ctx *ctx, struct br_conf *c, struct mk_err **err)
{
	memset(c, 0, sizeof(*c));
	const json_t *conf = ctx->conf;
	c->name = json_string_value(json_object_get(conf, "name"));
	json_t *br = json_object_get(conf, "bridge");
	if (br && !json_is_null(br) && !json_is_string(br))
		return cni_fail(
			ctx, err, CNI_ERR_INTERNAL, NULL,
			"failed to load netconf: json: cannot unmarshal %s into Go struct field "
			"NetConf.bridge of type string",
			json_kind_name(br));
	c->bridge = json_string_value(br);
	if (!c->bridge || !*c->bridge)
		c->bridge = "cni0";
	static const struct {
		const char *key;
		size_t off;
	} bools[] = {
		{"isGateway", offsetof(struct br_conf, is_gw)},
		{"isDefaultGateway", offsetof(struct br_conf, is_default_gw)},
		{"forceAddress", offsetof(struct br_conf, force_address)},
		{"ipMasq", offsetof(struct br_conf, ip_masq)},
		{"hairpinMode", offsetof(struct br_conf, hairpin)},
		{"promiscMode", offsetof(struct br_conf, promisc)},
		{"macspoofchk", offsetof(struct br_conf, macspoofchk)},
		{"disableContainerInterface", offsetof(struct br_conf, disable_container_iface)},
		{"enabledad", offsetof(struct br_conf, enabledad)},
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (get_bool(ctx, bools[i].key, (bool *)((char *)c + bools[i].off), err) < 0)
			return -1;
	if (get_int(ctx, "mtu", &c->mtu, err) < 0 || get_int(ctx, "vlan", &c->vlan, err) < 0)
		return -1;
	if (c->vlan < 0 || c->vlan > 4094)
		return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
				"invalid VLAN ID %d (must be between 0 and 4094)", c->vlan);
	if (c->is_default_gw)
		c->is_gw = true;
	if (c->hairpin && c->promisc)
		return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
				"cannot set hairpin mode and promiscuous mode at the same time.");
	json_t *ipam = json_object_get(conf, "ipam");
	c->ipam_type = json_string_value(json_object_get(ipam, "type"));
	if (c->ipam_type && !*c->ipam_type)
		c->ipam_type = NULL;
	if (c->disable_container_iface && c->ipam_type)
		return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
				"cannot use IPAM when DisableContainerInterface flag is set");
	json_t *dns = json_object_get(conf, "dns");
	c->dns = json_is_object(dns) ? dns : NULL;

	/* MAC: runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC */
	static const char *const known[] = {"MAC", NULL};
	cleanup_json json_t *args = NULL;
	if (cni_args_parse(ctx, known, &args, err) < 0)
		return -1;
	const char *mac = json_string_value(json_object_get(args, "MAC"));
	const char *m2 = json_string_value(
		json_object_get(json_object_get(json_object_get(conf, "args"), "cni"), "mac"));
	if (m2)
		mac = m2;
	const char *m3 =
		json_string_value(json_object_get(json_object_get(conf, "runtimeConfig"), "mac"));
	if (m3)
		mac = m3;
	if (mac) {
		if (br_mac_parse(mac, c->mac) < 0)
			return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
					"failed to make veth pair: address %s: invalid MAC address",
					mac);
		c->has_mac = true;
	}
	return 0;
}
