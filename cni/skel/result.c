#include "result.h"

#include <string.h>

#include "cleanup.h"
#include "ipaddr.h"
#include "skel.h"

static const char *ip_family_of(const char *cidr)
{
	struct ipaddr_net n;
	if (cidr && ipaddr_net_parse(cidr, &n) == 0)
		return n.ip.family == AF_INET6 ? "6" : "4";
	return strchr(cidr ? cidr : "", ':') ? "6" : "4";
}

/* Copies an object's keys in the given order, then any others. */
static json_t *ordered(const json_t *src, const char *const *keys, const char *const *drop)
{
	json_t *o = json_object();
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(src, keys[i]);
		if (v)
			json_object_set(o, keys[i], v);
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)src, k, v) {
		bool skip = json_object_get(o, k) != NULL;
		for (int i = 0; drop && drop[i]; i++)
			if (!strcmp(drop[i], k))
				skip = true;
		if (!skip)
			json_object_set(o, k, v);
	}
	return o;
}

static void add_old_ip(json_t *out, json_t *ipobj, const char *family, json_t *routes_all)
{
	if (!json_is_object(ipobj))
		return;
	const char *ip = json_string_value(json_object_get(ipobj, "ip"));
	if (!ip)
		return;
	json_t *e = json_object();
	json_object_set_new(e, "address", json_string(ip));
	json_t *gw = json_object_get(ipobj, "gateway");
	if (gw)
		json_object_set(e, "gateway", gw);
	json_array_append_new(json_object_get(out, "ips"), e);
	json_t *routes = json_object_get(ipobj, "routes");
	size_t i;
	json_t *r;
	json_array_foreach(routes, i, r)
		json_array_append(routes_all, r);
	(void)family;
}

json_t *cni_result_normalize(const json_t *res, struct mk_err **err)
{
	if (!json_is_object(res)) {
		mk_err_set(err, MK_EINVAL, "result is not a JSON object");
		return NULL;
	}
	json_t *out = json_object();
	json_object_set_new(out, "cniVersion", json_string("1.1.0"));
	json_object_set_new(out, "interfaces", json_array());
	json_object_set_new(out, "ips", json_array());
	json_t *routes = json_array();
	json_object_set_new(out, "routes", routes);
	if (json_object_get(res, "ip4") || json_object_get(res, "ip6")) {
		add_old_ip(out, json_object_get(res, "ip4"), "4", routes);
		add_old_ip(out, json_object_get(res, "ip6"), "6", routes);
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(res, "interfaces"), i, v)
			json_array_append(json_object_get(out, "interfaces"), v);
		static const char *const ipkeys[] = {"interface", "address", "gateway", NULL};
		static const char *const ipdrop[] = {"version", NULL};
		json_array_foreach(json_object_get(res, "ips"), i, v)
		{
			if (!json_is_object(v))
				continue;
			json_array_append_new(json_object_get(out, "ips"), ordered(v, ipkeys, ipdrop));
		}
		json_array_foreach(json_object_get(res, "routes"), i, v)
			json_array_append(routes, v);
	}
	json_t *dns = json_object_get(res, "dns");
	json_object_set_new(out, "dns", json_is_object(dns) ? json_deep_copy(dns) : json_object());
	return out;
}

json_t *cni_result_convert(const json_t *res, const char *version, struct mk_err **err)
{
	json_t *out = json_object();
	json_object_set_new(out, "cniVersion", json_string(version));
	json_t *ifs = json_object_get(res, "interfaces");
	json_t *ips = json_object_get(res, "ips");
	json_t *routes = json_object_get(res, "routes");
	json_t *dns = json_object_get(res, "dns");
	size_t i;
	json_t *v;
	if (cni_version_cmp(version, "0.3.0") < 0) {
		json_t *fam[2] = {NULL, NULL};
		json_array_foreach(ips, i, v)
		{
			int f = strcmp(ip_family_of(json_string_value(json_object_get(v, "address"))),
				       "6") == 0;
			if (fam[f]) {
				json_decref(fam[0]);
				json_decref(fam[1]);
				json_decref(out);
				mk_err_set(err, MK_EINVAL,
					   "CNI version %s does not support more than 1 address per "
					   "family",
					   version);
				return NULL;
			}
			fam[f] = json_object();
			json_object_set(fam[f], "ip", json_object_get(v, "address"));
			json_t *gw = json_object_get(v, "gateway");
			if (gw)
				json_object_set(fam[f], "gateway", gw);
		}
		json_array_foreach(routes, i, v)
		{
			int f = strcmp(ip_family_of(json_string_value(json_object_get(v, "dst"))),
				       "6") == 0;
			if (!fam[f])
				continue;
			json_t *rl = json_object_get(fam[f], "routes");
			if (!rl) {
				rl = json_array();
				json_object_set_new(fam[f], "routes", rl);
			}
			static const char *const rkeys[] = {"dst", "gw", NULL};
			json_t *r = json_object();
			for (int k = 0; rkeys[k]; k++)
				if (json_object_get(v, rkeys[k]))
					json_object_set(r, rkeys[k], json_object_get(v, rkeys[k]));
			json_array_append_new(rl, r);
		}
		if (fam[0])
			json_object_set_new(out, "ip4", fam[0]);
		if (fam[1])
			json_object_set_new(out, "ip6", fam[1]);
	} else {
		bool with_version = cni_version_cmp(version, "1.0.0") < 0;
		bool v11 = cni_version_cmp(version, "1.1.0") >= 0;
		if (json_array_size(ifs)) {
			json_t *a = json_array();
			static const char *const ikeys[] = {"name", "mac", "mtu", "sandbox",
							    "socketPath", "pciID", NULL};
			static const char *const idrop11[] = {NULL};
			static const char *const idrop10[] = {"mtu", "socketPath", "pciID", NULL};
			json_array_foreach(ifs, i, v)
				json_array_append_new(a, ordered(v, ikeys, v11 ? idrop11 : idrop10));
			json_object_set_new(out, "interfaces", a);
		}
		if (json_array_size(ips)) {
			json_t *a = json_array();
			static const char *const ipkeys[] = {"version", "interface", "address",
							     "gateway", NULL};
			static const char *const drop[] = {"version", NULL};
			json_array_foreach(ips, i, v)
			{
				json_t *o = ordered(v, ipkeys + 1, drop);
				if (with_version) {
					json_t *o2 = json_object();
					json_object_set_new(
						o2, "version",
						json_string(ip_family_of(json_string_value(
							json_object_get(v, "address")))));
					json_object_update(o2, o);
					json_decref(o);
					o = o2;
				}
				json_array_append_new(a, o);
			}
			json_object_set_new(out, "ips", a);
		}
		if (json_array_size(routes)) {
			json_t *a = json_array();
			static const char *const rkeys[] = {"dst", "gw", "mtu", "advmss",
							    "priority", "table", "scope", NULL};
			static const char *const rdrop10[] = {"mtu", "advmss", "priority",
							      "table", "scope", NULL};
			static const char *const none[] = {NULL};
			json_array_foreach(routes, i, v)
				json_array_append_new(a, ordered(v, rkeys, v11 ? none : rdrop10));
			json_object_set_new(out, "routes", a);
		}
	}
	json_object_set_new(out, "dns", json_is_object(dns) ? json_deep_copy(dns) : json_object());
	return out;
}
