#include "cni.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "ipaddr.h"
#include "json.h"
#include "xalloc.h"

#define DEFAULT_CACHE_DIR  "/var/lib/cni"
#define DEFAULT_TIMEOUT_MS (4 * 60 * 1000)
#define DEFAULT_PATH	   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CACHE_KIND	   "cniCacheV1"
/* A plugin's stdout is a result or an error: anything near this size is a
 * runaway. Its stderr is kept only for messages. */
#define MAX_STDOUT (16 << 20)
#define MAX_STDERR (64 << 10)
/* Configuration and cache files are small; a bound keeps a stray large file
 * from being read whole. */
#define MAX_FILE (16 << 20)

const char *const cni_versions[] = {"0.1.0", "0.2.0", "0.3.0", "0.3.1",
				    "0.4.0", "1.0.0", "1.1.0", NULL};

bool cni_version_supported(const char *v)
{
	for (int i = 0; cni_versions[i]; i++)
		if (strcmp(cni_versions[i], v) == 0)
			return true;
	return false;
}

int cni_version_cmp(const char *a, const char *b)
{
	for (;;) {
		char *ea, *eb;
		long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*ea != '.' || *eb != '.')
			return (*ea == '.') - (*eb == '.');
		a = ea + 1;
		b = eb + 1;
	}
}

bool cni_name_valid(const char *s)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (p == s || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

const char *cni_ifname_check(const char *n, const char **details)
{
	*details = NULL;
	if (!n || !*n)
		return "interface name is empty";
	if (strlen(n) > 15) {
		*details = "interface name should be less than 16 characters";
		return "interface name is too long";
	}
	if (!strcmp(n, ".") || !strcmp(n, ".."))
		return "interface name is . or ..";
	if (strpbrk(n, "/: \t\n\r\v\f"))
		return "interface name contains / or : or whitespace characters";
	return NULL;
}

int cni_err_code(const struct mk_err *e)
{
	return e ? e->domain_code : 0;
}

/* mk_err_set that also records a CNI code on the error it creates. */
static int __attribute__((format(printf, 4, 5)))
err_cni(struct mk_err **err, int code, int cni_code, const char *fmt, ...)
{
	if (!err || *err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	mk_err_set(err, code, "%s", msg);
	free(msg);
	(*err)->domain_code = cni_code;
	return -1;
}

/* ---- results between versions ---- */

static const char *ip_family_of(const char *cidr)
{
	struct ipaddr_net n;
	if (cidr && ipaddr_net_parse(cidr, &n) == 0)
		return n.ip.family == AF_INET6 ? "6" : "4";
	return strchr(cidr ? cidr : "", ':') ? "6" : "4";
}

static bool listed(const char *const *list, const char *k)
{
	for (int i = 0; list && list[i]; i++)
		if (!strcmp(list[i], k))
			return true;
	return false;
}

/* Copies an object's keys in the given order, then any others; those in
 * drop are left out. */
static json_t *ordered(const json_t *src, const char *const *keys, const char *const *drop)
{
	json_t *o = json_object();
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(src, keys[i]);
		if (v && !listed(drop, keys[i]))
			json_object_set(o, keys[i], v);
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)src, k, v)
	{
		if (!json_object_get(o, k) && !listed(drop, k))
			json_object_set(o, k, v);
	}
	return o;
}

static int add_old_ip(json_t *out, const json_t *ipobj, const char *key, json_t *routes_all,
		      struct mk_err **err)
{
	if (!ipobj)
		return 0;
	const char *ip = json_string_value(json_object_get(ipobj, "ip"));
	struct ipaddr_net n;
	if (!json_is_object(ipobj) || !ip || ipaddr_net_parse(ip, &n) < 0)
		return mk_err_set(err, MK_EINVAL, "invalid result: %s.ip is not an address/prefix",
				  key);
	json_t *e = json_object();
	json_object_set_new(e, "address", json_string(ip));
	json_t *gw = json_object_get(ipobj, "gateway");
	if (gw)
		json_object_set(e, "gateway", gw);
	json_array_append_new(json_object_get(out, "ips"), e);
	json_t *routes = json_object_get(ipobj, "routes");
	if (routes && !json_is_array(routes))
		return mk_err_set(err, MK_EINVAL, "invalid result: %s.routes is not a list", key);
	size_t i;
	json_t *r;
	json_array_foreach(routes, i, r) json_array_append(routes_all, r);
	return 0;
}

/* Checks the lists of a 0.3+ result: the shapes every reader relies on. */
static int check_lists(const json_t *res, struct mk_err **err)
{
	static const struct {
		const char *list, *key;
		bool cidr;
	} need[] = {
		{"interfaces", "name", false},
		{"ips", "address", true},
		{"routes", "dst", true},
	};
	for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
		json_t *a = json_object_get(res, need[k].list);
		if (!a || json_is_null(a))
			continue;
		if (!json_is_array(a))
			return mk_err_set(err, MK_EINVAL, "invalid result: %s is not a list",
					  need[k].list);
		size_t i;
		json_t *v;
		json_array_foreach(a, i, v)
		{
			const char *s = json_string_value(json_object_get(v, need[k].key));
			struct ipaddr_net n;
			if (!s || (need[k].cidr && ipaddr_net_parse(s, &n) < 0))
				return mk_err_set(err, MK_EINVAL,
						  "invalid result: %s[%zu].%s is %s", need[k].list,
						  i, need[k].key,
						  s ? "not an address/prefix" : "missing");
		}
	}
	json_t *dns = json_object_get(res, "dns");
	if (dns && !json_is_null(dns) && !json_is_object(dns))
		return mk_err_set(err, MK_EINVAL, "invalid result: dns is not an object");
	return 0;
}

json_t *cni_result_normalize(const json_t *res, struct mk_err **err)
{
	if (!json_is_object(res)) {
		mk_err_set(err, MK_EINVAL, "result is not a JSON object");
		return NULL;
	}
	cleanup_json json_t *out = json_object();
	json_object_set_new(out, "cniVersion", json_string("1.1.0"));
	json_object_set_new(out, "interfaces", json_array());
	json_object_set_new(out, "ips", json_array());
	json_t *routes = json_array();
	json_object_set_new(out, "routes", routes);
	if (json_object_get(res, "ip4") || json_object_get(res, "ip6")) {
		if (add_old_ip(out, json_object_get(res, "ip4"), "ip4", routes, err) < 0 ||
		    add_old_ip(out, json_object_get(res, "ip6"), "ip6", routes, err) < 0)
			return NULL;
	} else {
		if (check_lists(res, err) < 0)
			return NULL;
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(res, "interfaces"), i, v)
			json_array_append(json_object_get(out, "interfaces"), v);
		static const char *const ipkeys[] = {"interface", "address", "gateway", NULL};
		static const char *const ipdrop[] = {"version", NULL};
		json_array_foreach(json_object_get(res, "ips"), i, v) json_array_append_new(
			json_object_get(out, "ips"), ordered(v, ipkeys, ipdrop));
		json_array_foreach(json_object_get(res, "routes"), i, v)
			json_array_append(routes, v);
	}
	json_t *dns = json_object_get(res, "dns");
	json_object_set_new(out, "dns", json_is_object(dns) ? json_deep_copy(dns) : json_object());
	/* the old shape's routes are checked once gathered */
	if (check_lists(out, err) < 0)
		return NULL;
	return steal_pointer(&out);
}

static json_t *convert_old(const json_t *res, const char *version, struct mk_err **err)
{
	cleanup_json json_t *out = json_object();
	json_object_set_new(out, "cniVersion", json_string(version));
	json_t *fam[2] = {NULL, NULL};
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(res, "ips"), i, v)
	{
		int f = strcmp(ip_family_of(json_string_value(json_object_get(v, "address"))),
			       "6") == 0;
		if (fam[f]) {
			json_decref(fam[0]);
			json_decref(fam[1]);
			mk_err_set(err, MK_EINVAL,
				   "CNI version %s does not support more than 1 address per family",
				   version);
			return NULL;
		}
		fam[f] = json_object();
		json_object_set(fam[f], "ip", json_object_get(v, "address"));
		json_t *gw = json_object_get(v, "gateway");
		if (gw)
			json_object_set(fam[f], "gateway", gw);
	}
	json_array_foreach(json_object_get(res, "routes"), i, v)
	{
		int f = strcmp(ip_family_of(json_string_value(json_object_get(v, "dst"))), "6") ==
			0;
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
	return steal_pointer(&out);
}

static void convert_lists(json_t *out, const json_t *res, const char *version)
{
	bool with_version = cni_version_cmp(version, "1.0.0") < 0;
	bool v11 = cni_version_cmp(version, "1.1.0") >= 0;
	size_t i;
	json_t *v;
	json_t *ifs = json_object_get(res, "interfaces");
	if (json_array_size(ifs)) {
		json_t *a = json_array();
		static const char *const ikeys[] = {"name",	  "mac",   "mtu", "sandbox",
						    "socketPath", "pciID", NULL};
		static const char *const idrop10[] = {"mtu", "socketPath", "pciID", NULL};
		json_array_foreach(ifs, i, v)
			json_array_append_new(a, ordered(v, ikeys, v11 ? NULL : idrop10));
		json_object_set_new(out, "interfaces", a);
	}
	json_t *ips = json_object_get(res, "ips");
	if (json_array_size(ips)) {
		json_t *a = json_array();
		static const char *const ipkeys[] = {"interface", "address", "gateway", NULL};
		static const char *const drop[] = {"version", NULL};
		json_array_foreach(ips, i, v)
		{
			json_t *o = ordered(v, ipkeys, drop);
			if (with_version) {
				/* 0.3/0.4: "version" first, as the reference prints it */
				json_t *o2 = json_object();
				const char *addr = json_string_value(json_object_get(v, "address"));
				json_object_set_new(o2, "version", json_string(ip_family_of(addr)));
				json_object_update(o2, o);
				json_decref(o);
				o = o2;
			}
			json_array_append_new(a, o);
		}
		json_object_set_new(out, "ips", a);
	}
	json_t *routes = json_object_get(res, "routes");
	if (json_array_size(routes)) {
		json_t *a = json_array();
		static const char *const rkeys[] = {"dst",	"gw",	 "mtu",	  "advmss",
						    "priority", "table", "scope", NULL};
		static const char *const rdrop10[] = {"mtu",   "advmss", "priority",
						      "table", "scope",	 NULL};
		json_array_foreach(routes, i, v)
			json_array_append_new(a, ordered(v, rkeys, v11 ? NULL : rdrop10));
		json_object_set_new(out, "routes", a);
	}
}

json_t *cni_result_convert(const json_t *res, const char *version, struct mk_err **err)
{
	if (!json_is_object(res)) {
		mk_err_set(err, MK_EINVAL, "result is not a JSON object");
		return NULL;
	}
	json_t *out;
	if (cni_version_cmp(version, "0.3.0") < 0) {
		out = convert_old(res, version, err);
		if (!out)
			return NULL;
	} else {
		out = json_object();
		json_object_set_new(out, "cniVersion", json_string(version));
		convert_lists(out, res, version);
	}
	json_t *dns = json_object_get(res, "dns");
	json_object_set_new(out, "dns", json_is_object(dns) ? json_deep_copy(dns) : json_object());
	return out;
}

char *cni_result_pod_ip(const json_t *res, int family)
{
	cleanup_json json_t *n = cni_result_normalize(res, NULL);
	if (!n)
		return NULL;
	json_t *ifs = json_object_get(n, "interfaces");
	bool any_sandbox = false;
	size_t i;
	json_t *v;
	json_array_foreach(ifs, i, v)
	{
		const char *sb = json_string_value(json_object_get(v, "sandbox"));
		if (sb && *sb)
			any_sandbox = true;
	}
	json_array_foreach(json_object_get(n, "ips"), i, v)
	{
		struct ipaddr_net a;
		if (ipaddr_net_parse(json_string_value(json_object_get(v, "address")), &a) < 0)
			continue;
		if (family && a.ip.family != family)
			continue;
		json_t *ix = json_object_get(v, "interface");
		if (json_is_integer(ix)) {
			json_int_t k = json_integer_value(ix);
			const char *sb =
				k >= 0 ? json_string_value(json_object_get(
						 json_array_get(ifs, (size_t)k), "sandbox"))
				       : NULL;
			if (!sb || !*sb)
				continue;
		} else if (any_sandbox) {
			continue;
		}
		char b[IPADDR_STRLEN];
		return xstrdup(ipaddr_str(&a.ip, b));
	}
	return NULL;
}

/* ---- network configuration lists ---- */

void cni_netconf_free(struct cni_netconf *nc)
{
	if (!nc)
		return;
	free(nc->name);
	free(nc->version);
	json_decref(nc->list);
	free(nc->bytes);
	free(nc->file);
	free(nc);
}

static int check_plugin(const json_t *p, size_t i, struct mk_err **err)
{
	if (!json_is_object(p))
		return mk_err_set(err, MK_EINVAL,
				  "failed to parse plugin config %zu: not an object but a %s", i,
				  json_kind_name(p));
	const char *type = json_string_value(json_object_get(p, "type"));
	if (!type || !*type)
		return mk_err_set(err, MK_EINVAL,
				  "failed to parse plugin config %zu: error parsing configuration: "
				  "missing 'type'",
				  i);
	if (strchr(type, '/'))
		return mk_err_set(err, MK_EINVAL,
				  "failed to parse plugin config %zu: invalid plugin name: %s", i,
				  type);
	json_t *caps = json_object_get(p, "capabilities");
	if (caps && !json_is_null(caps)) {
		const char *k;
		json_t *v;
		if (!json_is_object(caps))
			return mk_err_set(
				err, MK_EINVAL,
				"failed to parse plugin config %zu: capabilities is a %s, "
				"not an object",
				i, json_kind_name(caps));
		json_object_foreach(caps, k, v)
		{
			if (!json_is_boolean(v))
				return mk_err_set(
					err, MK_EINVAL,
					"failed to parse plugin config %zu: capability %s "
					"is a %s, not a bool",
					i, k, json_kind_name(v));
		}
	}
	return 0;
}

/* The version plugins are called with: the highest we speak of cniVersion
 * and cniVersions (libcni takes the highest it implements). New string. */
static char *pick_version(const json_t *list, struct mk_err **err)
{
	json_t *cv = json_object_get(list, "cniVersion");
	if (cv && !json_is_string(cv)) {
		mk_err_set(err, MK_EINVAL,
			   "error parsing configuration list: invalid cniVersion type %s",
			   json_kind_name(cv));
		return NULL;
	}
	const char *v = json_string_value(cv);
	const char *best = NULL;
	if (v && *v && cni_version_supported(v))
		best = v;
	json_t *cvs = json_object_get(list, "cniVersions");
	if (cvs) {
		if (!json_is_array(cvs)) {
			mk_err_set(err, MK_EINVAL,
				   "error parsing configuration list: invalid type for "
				   "cniVersions: %s",
				   json_kind_name(cvs));
			return NULL;
		}
		size_t i;
		json_t *e;
		json_array_foreach(cvs, i, e)
		{
			const char *s = json_string_value(e);
			if (!s) {
				mk_err_set(err, MK_EINVAL,
					   "error parsing configuration list: invalid type for "
					   "cniVersions index %zu: %s",
					   i, json_kind_name(e));
				return NULL;
			}
			if (cni_version_supported(s) && (!best || cni_version_cmp(s, best) > 0))
				best = s;
		}
	}
	if (best)
		return xstrdup(best);
	if (!v || !*v) {
		if (json_array_size(cvs) == 0)
			return xstrdup("0.1.0"); /* the spec's version of a config without one */
		mk_err_set(err, MK_EINVAL,
			   "none of the cniVersions is supported (we speak %s to %s)",
			   cni_versions[0], "1.1.0");
		return NULL;
	}
	mk_err_set(err, MK_EINVAL, "unsupported cniVersion \"%s\" (we speak %s to %s)", v,
		   cni_versions[0], "1.1.0");
	return NULL;
}

static int read_bool(const json_t *list, const char *key, bool *out, struct mk_err **err)
{
	json_t *v = json_object_get(list, key);
	*out = false;
	if (!v)
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s)
		return mk_err_set(err, MK_EINVAL,
				  "error parsing configuration list: invalid type %s for %s",
				  json_kind_name(v), key);
	if (!strcasecmp(s, "true") || !strcasecmp(s, "false")) {
		*out = !strcasecmp(s, "true");
		return 0;
	}
	return mk_err_set(err, MK_EINVAL,
			  "error parsing configuration list: invalid value \"%s\" for %s", s, key);
}

/* Parses a list document; with allow_no_plugins a list without "plugins"
 * (whose plugins live in files beside it) is accepted with none. */
static struct cni_netconf *parse_list(const char *bytes, size_t len, json_t *list,
				      bool allow_no_plugins, struct mk_err **err)
{
	json_t *name = json_object_get(list, "name");
	if (!name) {
		mk_err_set(err, MK_EINVAL, "error parsing configuration list: no name");
		return NULL;
	}
	if (!json_is_string(name)) {
		mk_err_set(err, MK_EINVAL, "error parsing configuration list: invalid name type %s",
			   json_kind_name(name));
		return NULL;
	}
	if (!cni_name_valid(json_string_value(name))) {
		mk_err_set(err, MK_EINVAL, "invalid characters found in network name \"%s\"",
			   json_string_value(name));
		return NULL;
	}
	cleanup_free char *version = pick_version(list, err);
	if (!version)
		return NULL;
	bool disable_check, ignored;
	if (read_bool(list, "disableCheck", &disable_check, err) < 0 ||
	    read_bool(list, "disableGC", &ignored, err) < 0 ||
	    read_bool(list, "loadOnlyInlinedPlugins", &ignored, err) < 0)
		return NULL;
	json_t *plugins = json_object_get(list, "plugins");
	if (!plugins && !allow_no_plugins) {
		mk_err_set(err, MK_EINVAL, "error parsing configuration list: no 'plugins' key");
		return NULL;
	}
	if (plugins && !json_is_array(plugins)) {
		mk_err_set(err, MK_EINVAL,
			   "error parsing configuration list: invalid 'plugins' type %s",
			   json_kind_name(plugins));
		return NULL;
	}
	if (plugins && json_array_size(plugins) == 0) {
		mk_err_set(err, MK_EINVAL, "error parsing configuration list: no plugins in list");
		return NULL;
	}
	size_t i;
	json_t *p;
	json_array_foreach(plugins, i, p)
	{
		if (check_plugin(p, i, err) < 0)
			return NULL;
	}
	struct cni_netconf *nc = xcalloc(1, sizeof(*nc));
	nc->name = xstrdup(json_string_value(name));
	nc->version = steal_pointer(&version);
	nc->list = json_incref(list);
	if (!plugins)
		json_object_set_new(nc->list, "plugins", json_array());
	nc->bytes = xmalloc(len + 1);
	memcpy(nc->bytes, bytes, len);
	nc->bytes[len] = 0;
	nc->len = len;
	nc->disable_check = disable_check;
	return nc;
}

/* A copy of v whose objects hold their keys in sorted order, so a dump with
 * JSON_PRESERVE_ORDER writes them as Go's encoding/json writes maps. */
static json_t *sorted_copy(const json_t *v)
{
	if (json_is_object(v)) {
		size_t n;
		const char **keys = json_object_sorted_keys(v, &n);
		json_t *o = json_object();
		for (size_t i = 0; i < n; i++)
			json_object_set_new(o, keys[i], sorted_copy(json_object_get(v, keys[i])));
		free(keys);
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) json_array_append_new(a, sorted_copy(e));
		return a;
	}
	return json_deep_copy(v);
}

/* A single-plugin configuration as libcni's ConfListFromConf makes it a
 * list: {"cniVersion","name","plugins":[conf]}, keys sorted as Go writes a
 * map. New string. */
static char *conf_to_list_bytes(const json_t *conf)
{
	json_t *cv = json_object_get(conf, "cniVersion");
	json_t *l = json_object();
	json_object_set_new(l, "cniVersion",
			    json_string(json_is_string(cv) ? json_string_value(cv) : ""));
	json_object_set(l, "name", json_object_get(conf, "name"));
	json_object_set_new(l, "plugins", json_pack("[O]", conf));
	json_t *sorted = sorted_copy(l);
	char *s = json_dumps(sorted, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(sorted);
	json_decref(l);
	return s;
}

static struct cni_netconf *parse_doc(const char *bytes, size_t len, const char *file,
				     bool allow_no_plugins, struct mk_err **err)
{
	json_error_t jerr;
	cleanup_json json_t *doc = json_loadb(bytes, len, 0, &jerr);
	if (!doc) {
		mk_err_set(err, MK_EINVAL, "error parsing configuration: %s (line %d)", jerr.text,
			   jerr.line);
		return NULL;
	}
	if (!json_is_object(doc)) {
		mk_err_set(err, MK_EINVAL, "error parsing configuration: a %s, not an object",
			   json_kind_name(doc));
		return NULL;
	}
	struct cni_netconf *nc;
	if (json_object_get(doc, "plugins") || !json_object_get(doc, "type")) {
		nc = parse_list(bytes, len, doc, allow_no_plugins, err);
	} else {
		/* a .conf: checked as a plugin, then made the one-plugin list */
		if (check_plugin(doc, 0, err) < 0)
			return NULL;
		json_t *name = json_object_get(doc, "name");
		if (!json_is_string(name)) {
			mk_err_set(err, MK_EINVAL, "error parsing configuration: no name");
			return NULL;
		}
		cleanup_free char *lb = conf_to_list_bytes(doc);
		cleanup_json json_t *list = json_loads(lb, 0, NULL);
		nc = list ? parse_list(lb, strlen(lb), list, false, err) : NULL;
	}
	if (nc && file)
		nc->file = xstrdup(file);
	return nc;
}

struct cni_netconf *cni_netconf_parse(const char *bytes, size_t len, const char *file,
				      struct mk_err **err)
{
	return parse_doc(bytes, len, file, false, err);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

static bool has_ext(const char *name, void *arg)
{
	const char *const *exts = arg;
	for (int i = 0; exts[i]; i++)
		if (has_suffix(name, exts[i]))
			return true;
	return false;
}

/* Regular files of dir whose names end in one of exts, sorted by name.
 * New NULL-terminated array of paths (strv_free), NULL when dir cannot be
 * read. */
static char **list_files(const char *dir, const char *const *exts)
{
	cleanup_strv char **names = fs_list_dir(dir, has_ext, (void *)exts);
	if (!names)
		return NULL;
	size_t total = 0, n = 0;
	while (names[total])
		total++;
	for (size_t i = 0; i < total; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		free(names[i]);
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			free(path);
		else
			names[n++] = path; /* n <= i: a slot already freed */
	}
	names[n] = NULL;
	return steal_pointer(&names);
}

/* Appends the plugins of <dir>/<name>/ *.conf to nc (libcni loads them unless
 * the list sets loadOnlyInlinedPlugins). */
static int load_plugin_files(struct cni_netconf *nc, const char *dir, struct mk_err **err)
{
	bool inlined_only = false;
	(void)read_bool(nc->list, "loadOnlyInlinedPlugins", &inlined_only, NULL);
	json_t *plugins = json_object_get(nc->list, "plugins");
	if (!inlined_only) {
		static const char *const ext[] = {".conf", NULL};
		cleanup_free char *sub = xasprintf("%s/%s", dir, nc->name);
		cleanup_strv char **files = list_files(sub, ext);
		for (size_t i = 0; files && files[i]; i++) {
			size_t len;
			cleanup_free char *b = fs_read_file(files[i], MAX_FILE, &len, err);
			if (!b)
				return -1;
			json_error_t jerr;
			json_t *p = json_loadb(b, len, 0, &jerr);
			if (!p)
				return mk_err_set(err, MK_EINVAL,
						  "%s: error parsing configuration: %s", files[i],
						  jerr.text);
			if (check_plugin(p, json_array_size(plugins), err) < 0) {
				json_decref(p);
				return mk_err_wrap(err, "%s", files[i]);
			}
			json_array_append_new(plugins, p);
		}
	}
	if (json_array_size(plugins) == 0)
		return mk_err_set(err, MK_EINVAL, "no plugin configs found");
	return 0;
}

struct cni_netconf *cni_netconf_load_dir(const char *dir, struct mk_err **err)
{
	static const char *const exts[] = {".conf", ".conflist", ".json", NULL};
	cleanup_strv char **files = list_files(dir, exts);
	cleanup_free char *why = NULL;
	for (size_t i = 0; files && files[i]; i++) {
		struct mk_err *e = NULL;
		size_t len;
		cleanup_free char *b = fs_read_file(files[i], MAX_FILE, &len, &e);
		struct cni_netconf *nc = b ? parse_doc(b, len, files[i], true, &e) : NULL;
		if (nc && load_plugin_files(nc, dir, &e) < 0) {
			cni_netconf_free(nc);
			nc = NULL;
		}
		if (nc)
			return nc;
		if (!why)
			why = xasprintf("%s: %s", files[i], mk_err_msg(e));
		mk_err_free(e);
	}
	if (why)
		mk_err_set(err, MK_ENOTFOUND, "no networks found in %s (skipped %s)", dir, why);
	else
		mk_err_set(err, MK_ENOTFOUND, "no networks found in %s", dir);
	return NULL;
}

json_t *cni_netconf_plugin_build(const struct cni_netconf *nc, size_t i,
				 const json_t *capability_args, const json_t *prev_result)
{
	json_t *p = json_array_get(json_object_get(nc->list, "plugins"), i);
	if (!p)
		return NULL;
	json_t *conf = json_deep_copy(p);
	json_object_set_new(conf, "name", json_string(nc->name));
	json_object_set_new(conf, "cniVersion", json_string(nc->version));
	if (prev_result)
		json_object_set_new(conf, "prevResult", json_deep_copy(prev_result));
	json_t *rc = json_object();
	const char *cap;
	json_t *on;
	json_object_foreach(json_object_get(p, "capabilities"), cap, on)
	{
		json_t *arg = json_object_get(capability_args, cap);
		if (json_is_true(on) && arg)
			json_object_set_new(rc, cap, json_deep_copy(arg));
	}
	/* as libcni: runtimeConfig replaces one written in the file, and only
	 * when there is something to pass */
	if (json_object_size(rc))
		json_object_set_new(conf, "runtimeConfig", rc);
	else
		json_decref(rc);
	return conf;
}

/* ---- invoking one plugin ---- */

void cni_plugin_err_clear(struct cni_plugin_err *pe)
{
	if (!pe)
		return;
	free(pe->msg);
	free(pe->details);
	*pe = (struct cni_plugin_err){0};
}

static void plugin_err_set(struct cni_plugin_err *pe, int code, const char *msg,
			   const char *details)
{
	if (!pe)
		return;
	cni_plugin_err_clear(pe);
	pe->code = code;
	pe->msg = xstrdup(msg);
	pe->details = details && *details ? xstrdup(details) : NULL;
}

/* How Go's os/exec prints a wait status: "exit status 1", "signal: killed". */
static char *status_str(int status)
{
	if (status == -1)
		return xstrdup("exit status unknown (the child was reaped elsewhere)");
	if (WIFEXITED(status))
		return xasprintf("exit status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status)) {
		const char *d = sigdescr_np(WTERMSIG(status));
		char *s = xasprintf("signal: %s", d ? d : "unknown signal");
		for (char *p = s + 8; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return s;
	}
	return xasprintf("wait status %d", status);
}

void cni_plugin_err_parse(const char *out, size_t out_len, const char *errtext, int status,
			  struct cni_plugin_err *pe)
{
	cleanup_free char *st = status_str(status);
	struct buf b = BUF_INIT;
	cni_plugin_err_clear(pe);
	if (out_len == 0) {
		if (errtext && *errtext) {
			buf_append_str(&b, "netplugin failed: ");
			buf_append_go_quoted(&b, errtext, strlen(errtext));
			buf_printf(&b, ": %s", st);
		} else {
			buf_printf(&b, "netplugin failed with no error message: %s", st);
		}
		pe->msg = buf_steal(&b);
		return;
	}
	json_error_t jerr;
	cleanup_json json_t *j = json_loadb(out, out_len, JSON_DECODE_ANY, &jerr);
	const char *why = NULL;
	json_t *code = json_object_get(j, "code"), *msg = json_object_get(j, "msg");
	json_t *details = json_object_get(j, "details");
	if (!j)
		why = jerr.text;
	else if (!json_is_object(j))
		why = "not an object";
	else if (code && !(json_is_integer(code) && json_integer_value(code) >= 0 &&
			   json_integer_value(code) <= INT_MAX))
		why = "code is not a number";
	else if ((msg && !json_is_string(msg)) || (details && !json_is_string(details)))
		why = "msg or details is not a string";
	if (why) {
		buf_append_str(&b, "netplugin failed but error parsing its diagnostic message ");
		buf_append_go_quoted(&b, out, out_len);
		buf_printf(&b, ": %s", why);
		pe->msg = buf_steal(&b);
		return;
	}
	pe->code = (int)json_integer_value(code);
	pe->msg = xstrdup(msg ? json_string_value(msg) : "");
	const char *d = json_string_value(details);
	pe->details = d && *d ? xstrdup(d) : NULL;
}

struct cni_exec_job {
	pid_t pid;
	int pidfd;
	int in_fd, out_fd, err_fd;
	bool exited;
	int status;
	const char *in; /* borrowed from the request */
	size_t in_len, in_off;
	struct buf out, errtext;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	int64_t timeout_ms;
	char *type;
	char *verb; /* "add", "delete", ... for messages */
	bool want_result, delegate;
};

static void job_free(struct cni_exec_job *j)
{
	if (!j)
		return;
	if (j->in_fd >= 0)
		close(j->in_fd);
	if (j->out_fd >= 0)
		close(j->out_fd);
	if (j->err_fd >= 0)
		close(j->err_fd);
	if (j->pidfd >= 0)
		close(j->pidfd);
	buf_free(&j->out);
	buf_free(&j->errtext);
	free(j->type);
	free(j->verb);
	free(j);
}

/* libcni's words for a command in its messages. */
static char *verb_of(const char *const *env)
{
	for (const char *const *e = env; e && *e; e++) {
		if (strncmp(*e, "CNI_COMMAND=", 12) != 0)
			continue;
		const char *c = *e + 12;
		if (!strcmp(c, "DEL"))
			return xstrdup("delete");
		char *v = xstrdup(c);
		for (char *p = v; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return v;
	}
	return xstrdup("exec");
}

/* Go's fmt of a []string: "[/a /b]". */
static char *go_list(const char *const *v)
{
	struct buf b = BUF_INIT;
	buf_append_char(&b, '[');
	for (size_t i = 0; v && v[i]; i++)
		buf_printf(&b, "%s%s", i ? " " : "", v[i]);
	buf_append_char(&b, ']');
	return buf_steal(&b);
}

static char *find_plugin(const char *type, const char *const *dirs, struct cni_plugin_err *pe,
			 struct mk_err **err)
{
	const char *why = NULL;
	cleanup_free char *whybuf = NULL;
	if (!type || !*type)
		why = "no plugin name provided";
	else if (strchr(type, '/'))
		why = whybuf = xasprintf("invalid plugin name: %s", type);
	else if (!dirs || !dirs[0])
		why = "no paths provided";
	if (!why) {
		for (size_t i = 0; dirs[i]; i++) {
			char *full = xasprintf("%s/%s", dirs[i], type);
			struct stat st;
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
				return full;
			free(full);
		}
		cleanup_free char *list = go_list(dirs);
		why = whybuf = xasprintf("failed to find plugin \"%s\" in path %s", type, list);
	}
	plugin_err_set(pe, 0, why, NULL);
	mk_err_set(err, MK_ENOTFOUND, "%s", why);
	return NULL;
}

static void deadline_after(struct timespec *d, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
}

/* Milliseconds left before d (0 when passed), rounded up. */
static int ms_left(const struct timespec *d)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ns = (int64_t)(d->tv_sec - now.tv_sec) * 1000000000L + (d->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	int64_t ms = (ns + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Writes to the pipe of a child that may have exited. SIGPIPE's default
 * action ends the whole process, and ignoring it process-wide would change it
 * for every other thread and for every child spawned meanwhile (ignored
 * signals survive exec). So it is blocked in this thread only while writing,
 * and a SIGPIPE our write raised (thread-directed, so it stays pending on this
 * thread) is consumed with a zero-timeout sigtimedwait before the mask is
 * restored. One already pending before the write is not ours and is left
 * alone. */
static ssize_t write_nosigpipe(int fd, const void *p, size_t n)
{
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	ssize_t w;
	do
		w = write(fd, p, n);
	while (w < 0 && errno == EINTR);
	int e = errno;
	if (w < 0 && e == EPIPE && !was_pending) {
		static const struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

/* Writes what the pipe takes now; closes it when done or when the child no
 * longer reads. */
static void job_write(struct cni_exec_job *j)
{
	while (j->in_fd >= 0 && j->in_off < j->in_len) {
		ssize_t w = write_nosigpipe(j->in_fd, j->in + j->in_off, j->in_len - j->in_off);
		if (w < 0) {
			if (errno == EAGAIN)
				return;
			break; /* EPIPE: the plugin did not read it all, its business */
		}
		j->in_off += (size_t)w;
	}
	if (j->in_fd >= 0) {
		close(j->in_fd);
		j->in_fd = -1;
	}
}

/* Reads what is there; closes fd at end of file. */
static int job_read(int *fd, struct buf *b, size_t max, bool *over)
{
	char chunk[16384];
	for (;;) {
		ssize_t r = read(*fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0) {
			close(*fd);
			*fd = -1;
			return 0;
		}
		size_t keep = b->len >= max		 ? 0
			      : (size_t)r < max - b->len ? (size_t)r
							 : max - b->len;
		buf_append(b, chunk, keep);
		if (keep < (size_t)r && over)
			*over = true;
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int spawn(struct cni_exec_job *j, const char *exe, const char *const *env,
		 struct mk_err **err)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
	int rc = -1;
	/* close-on-exec, so no other thread's child inherits our ends */
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    (!j->delegate && pipe2(er, O_CLOEXEC) < 0)) {
		mk_err_errno(err, MK_EIO, errno, "pipe");
		goto out;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	if (!j->delegate)
		posix_spawn_file_actions_adddup2(&fa, er[1], STDERR_FILENO);
	/* descriptors other threads opened without O_CLOEXEC stay ours */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* The plugin starts with no blocked signal and default dispositions,
	 * whatever the calling thread blocks or the process ignores. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	if (!j->delegate) {
		posix_spawnattr_setpgroup(&at, 0);
		flags |= POSIX_SPAWN_SETPGROUP;
	}
	posix_spawnattr_setflags(&at, flags);
	char *argv[] = {(char *)exe, NULL};
	int e;
	/* A plugin binary being replaced is busy for a moment: retry like libcni. */
	for (int tries = 0;; tries++) {
		e = posix_spawn(&j->pid, exe, &fa, &at, argv, (char *const *)env);
		if (e != ETXTBSY || tries >= 5 || ms_left(&j->deadline) < 1000)
			break;
		struct timespec sec = {1, 0};
		nanosleep(&sec, NULL);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e != 0) {
		j->pid = -1;
		mk_err_errno(err, MK_EIO, e, "spawning %s", exe);
		goto out;
	}
	j->in_fd = in[1];
	j->out_fd = out[0];
	j->err_fd = er[0];
	in[1] = out[0] = er[0] = -1;
	set_nonblock(j->in_fd);
	set_nonblock(j->out_fd);
	if (j->err_fd >= 0)
		set_nonblock(j->err_fd);
	/* the exit as a readable descriptor, polled with the pipes; without
	 * pidfds (before Linux 5.3) the exit is waited for after the pipes end */
	j->pidfd = pidfd_open(j->pid, 0);
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (er[i] >= 0)
			close(er[i]);
	}
	return rc;
}

struct cni_exec_job *cni_exec_start(const struct cni_exec_req *req, struct cni_plugin_err *perr,
				    struct mk_err **err)
{
	cleanup_free char *exe = find_plugin(req->type, req->bin_dirs, perr, err);
	if (!exe)
		return NULL;
	struct cni_exec_job *j = xcalloc(1, sizeof(*j));
	j->pid = -1;
	j->pidfd = j->in_fd = j->out_fd = j->err_fd = -1;
	j->in = req->stdin_data;
	j->in_len = req->stdin_len;
	j->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
	deadline_after(&j->deadline, j->timeout_ms);
	j->type = xstrdup(req->type);
	j->verb = verb_of(req->env);
	j->want_result = req->want_result;
	j->delegate = req->delegate;
	if (spawn(j, exe, req->env, err) < 0) {
		plugin_err_set(perr, 0, mk_err_msg(*err), NULL);
		job_free(j);
		return NULL;
	}
	/* a configuration that fits the pipe is written now, so the plugin runs
	 * while the caller goes on */
	job_write(j);
	return j;
}

static void job_reap(struct cni_exec_job *j)
{
	int st;
	pid_t r;
	do
		r = waitpid(j->pid, &st, 0);
	while (r < 0 && errno == EINTR);
	j->status = r == j->pid ? st : -1;
	j->exited = true;
}

/* Kills the plugin (with its process group when it leads one) and reaps it. */
static void job_kill(struct cni_exec_job *j)
{
	if (!j->exited) {
		/* the group exists while its leader is unreaped: no pid reuse */
		kill(j->delegate ? j->pid : -j->pid, SIGKILL);
		job_reap(j);
	}
}

/* Runs the job to its end or its deadline. 0, or -1 on a timeout (killed). */
static int job_run(struct cni_exec_job *j, bool *too_much)
{
	while (j->in_fd >= 0 || j->out_fd >= 0 || j->err_fd >= 0 || !j->exited) {
		if (j->exited && j->in_fd >= 0) {
			close(j->in_fd); /* nobody left to read it */
			j->in_fd = -1;
		}
		struct pollfd pf[4];
		int n = 0, ix_in = -1, ix_out = -1, ix_err = -1, ix_pid = -1;
		if (j->in_fd >= 0)
			pf[ix_in = n++] = (struct pollfd){.fd = j->in_fd, .events = POLLOUT};
		if (j->out_fd >= 0)
			pf[ix_out = n++] = (struct pollfd){.fd = j->out_fd, .events = POLLIN};
		if (j->err_fd >= 0)
			pf[ix_err = n++] = (struct pollfd){.fd = j->err_fd, .events = POLLIN};
		if (!j->exited && j->pidfd >= 0)
			pf[ix_pid = n++] = (struct pollfd){.fd = j->pidfd, .events = POLLIN};
		if (n == 0) {
			/* no pidfd: the pipes ended, the exit follows */
			int st;
			pid_t r = waitpid(j->pid, &st, WNOHANG);
			if (r == j->pid || (r < 0 && errno != EINTR)) {
				j->status = r == j->pid ? st : -1;
				j->exited = true;
				continue;
			}
			if (ms_left(&j->deadline) == 0)
				goto timeout;
			struct timespec tick = {0, 10 * 1000000L};
			nanosleep(&tick, NULL);
			continue;
		}
		int left = ms_left(&j->deadline);
		if (left == 0)
			goto timeout;
		int r = poll(pf, (nfds_t)n, left);
		if (r < 0 && errno != EINTR)
			goto timeout; /* cannot wait: treated as a deadline */
		if (r <= 0)
			continue;
		if (ix_in >= 0 && pf[ix_in].revents)
			job_write(j);
		if (ix_out >= 0 && pf[ix_out].revents) {
			bool over = false;
			job_read(&j->out_fd, &j->out, MAX_STDOUT, &over);
			if (over) {
				*too_much = true;
				job_kill(j);
				return 0;
			}
		}
		if (ix_err >= 0 && pf[ix_err].revents)
			job_read(&j->err_fd, &j->errtext, MAX_STDERR, NULL);
		if (ix_pid >= 0 && pf[ix_pid].revents)
			job_reap(j);
	}
	return 0;
timeout:
	job_kill(j);
	return -1;
}

json_t *cni_exec_finish(struct cni_exec_job *j, struct cni_plugin_err *perr, struct mk_err **err)
{
	bool too_much = false;
	int rc = job_run(j, &too_much);
	json_t *res = NULL;
	struct cni_plugin_err own = {0};
	struct cni_plugin_err *pe = perr ? perr : &own;
	cleanup_free char *prefix = xasprintf("plugin type=\"%s\" failed (%s)", j->type, j->verb);
	struct buf b = BUF_INIT;
	if (rc < 0 || too_much) {
		if (rc < 0)
			buf_printf(&b, "netplugin timed out after %lld ms",
				   (long long)j->timeout_ms);
		else
			buf_printf(&b, "netplugin printed more than %d bytes", MAX_STDOUT);
		if (j->errtext.len) {
			buf_append_str(&b, ": ");
			buf_append_go_quoted(&b, j->errtext.data, j->errtext.len);
		}
		plugin_err_set(pe, 0, buf_str(&b), NULL);
		mk_err_set(err, rc < 0 ? MK_ETIMEOUT : MK_EIO, "%s: %s", prefix, buf_str(&b));
	} else if (j->status != 0) {
		cni_plugin_err_parse(j->out.data, j->out.len, buf_str(&j->errtext), j->status, pe);
		err_cni(err, MK_EIO, pe->code, "%s: %s%s%s", prefix, pe->msg,
			pe->details ? "; " : "", pe->details ? pe->details : "");
	} else if (j->want_result) {
		json_error_t jerr;
		res = json_loadb(j->out.data ? j->out.data : "", j->out.len, 0, &jerr);
		if (!res) {
			buf_printf(&b, "failed to decode result: %s", jerr.text);
			plugin_err_set(pe, 0, buf_str(&b), NULL);
			mk_err_set(err, MK_EIO, "%s: %s", prefix, buf_str(&b));
		}
	} else {
		res = json_null();
	}
	buf_free(&b);
	cni_plugin_err_clear(&own);
	job_free(j);
	return res;
}

json_t *cni_exec_plugin(const struct cni_exec_req *req, struct cni_plugin_err *perr,
			struct mk_err **err)
{
	struct cni_exec_job *j = cni_exec_start(req, perr, err);
	if (!j)
		return NULL;
	return cni_exec_finish(j, perr, err);
}

/* ---- invoking a list ---- */

/* The environment of one call: the base environment without the CNI
 * variables, then those of the call (libcni always sets all six). New
 * NULL-terminated array (strv_free). */
static char **build_env(const struct cni_exec_opts *o, const char *cmd,
			const struct cni_runtime *rt)
{
	static const char *const own[] = {
		"CNI_COMMAND=", "CNI_CONTAINERID=", "CNI_NETNS=", "CNI_ARGS=",
		"CNI_IFNAME=",	"CNI_PATH=",	    NULL};
	static const char *const def[] = {DEFAULT_PATH, NULL};
	const char *const *base = o->base_env ? o->base_env : def;
	size_t n = 0;
	while (base[n])
		n++;
	char **env = xcalloc(n + 7, sizeof(*env));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool skip = false;
		for (int m = 0; own[m]; m++)
			skip |= !strncmp(base[i], own[m], strlen(own[m]));
		if (!skip)
			env[k++] = xstrdup(base[i]);
	}
	struct buf args = BUF_INIT, path = BUF_INIT;
	for (size_t i = 0; rt && rt->args && rt->args[i] && rt->args[i + 1]; i += 2)
		buf_printf(&args, "%s%s=%s", i ? ";" : "", rt->args[i], rt->args[i + 1]);
	for (size_t i = 0; o->bin_dirs && o->bin_dirs[i]; i++)
		buf_printf(&path, "%s%s", i ? ":" : "", o->bin_dirs[i]);
	env[k++] = xasprintf("CNI_COMMAND=%s", cmd);
	env[k++] = xasprintf("CNI_CONTAINERID=%s", rt && rt->container_id ? rt->container_id : "");
	env[k++] = xasprintf("CNI_NETNS=%s", rt && rt->netns ? rt->netns : "");
	env[k++] = xasprintf("CNI_ARGS=%s", buf_str(&args));
	env[k++] = xasprintf("CNI_IFNAME=%s", rt && rt->ifname ? rt->ifname : "");
	env[k++] = xasprintf("CNI_PATH=%s", buf_str(&path));
	buf_free(&args);
	buf_free(&path);
	return env;
}

/* Runs plugin i of nc for cmd. want_result: its stdout, else JSON null. */
static json_t *run_one(const struct cni_netconf *nc, size_t i, const char *cmd,
		       const struct cni_runtime *rt, const struct cni_exec_opts *o,
		       const json_t *prev, bool want_result, struct mk_err **err)
{
	bool status = !strcmp(cmd, "STATUS");
	cleanup_json json_t *conf =
		cni_netconf_plugin_build(nc, i, status ? NULL : rt->capability_args, prev);
	cleanup_free char *in = json_dumps(conf, JSON_COMPACT);
	cleanup_strv char **env = build_env(o, cmd, status ? NULL : rt);
	const char *type = json_string_value(json_object_get(conf, "type"));
	struct cni_exec_req req = {
		.type = type,
		.bin_dirs = o->bin_dirs,
		.env = (const char *const *)env,
		.stdin_data = in,
		.stdin_len = strlen(in),
		.timeout_ms = o->timeout_ms,
		.want_result = want_result,
	};
	struct cni_exec_job *j = cni_exec_start(&req, NULL, err);
	if (!j) {
		cleanup_free char *verb = verb_of(req.env);
		mk_err_wrap(err, "plugin type=\"%s\" failed (%s)", type, verb);
		return NULL;
	}
	return cni_exec_finish(j, NULL, err);
}

/* A plugin's ADD output as the list's version: an empty cniVersion is the
 * list's (libcni's fixup), another version is converted. New reference. */
static json_t *result_fixup(const json_t *raw, const char *version, struct mk_err **err)
{
	if (!json_is_object(raw)) {
		mk_err_set(err, MK_EIO, "failed to decode result: not a JSON object");
		return NULL;
	}
	cleanup_json json_t *norm = cni_result_normalize(raw, err);
	if (!norm)
		return NULL;
	const char *rv = json_string_value(json_object_get(raw, "cniVersion"));
	if (rv && !strcmp(rv, version))
		return json_deep_copy(raw);
	if (!rv || !*rv) {
		json_t *r = json_deep_copy(raw);
		json_object_set_new(r, "cniVersion", json_string(version));
		return r;
	}
	return cni_result_convert(norm, version, err);
}

static int check_runtime(const struct cni_runtime *rt, struct mk_err **err)
{
	const char *id = rt->container_id, *details;
	if (!id || !*id)
		return err_cni(err, MK_EINVAL, CNI_ERR_UNKNOWN_CONTAINER, "missing containerID");
	if (!cni_name_valid(id))
		return err_cni(err, MK_EINVAL, CNI_ERR_INVALID_ENV,
			       "invalid characters in containerID; %s", id);
	const char *why = cni_ifname_check(rt->ifname, &details);
	if (why)
		return err_cni(err, MK_EINVAL, CNI_ERR_INVALID_ENV, "%s%s%s", why,
			       details ? "; " : "", details ? details : "");
	return 0;
}

static size_t plugin_count(const struct cni_netconf *nc)
{
	return json_array_size(json_object_get(nc->list, "plugins"));
}

static const char *cache_dir_of(const struct cni_exec_opts *o)
{
	return o->cache_dir ? o->cache_dir : DEFAULT_CACHE_DIR;
}

static int cache_del(const char *dir, const char *net, const struct cni_runtime *rt);

int cni_list_add(const struct cni_netconf *nc, const struct cni_runtime *rt,
		 const struct cni_exec_opts *o, json_t **result, struct mk_err **err)
{
	*result = NULL;
	if (check_runtime(rt, err) < 0)
		return -1;
	cleanup_json json_t *prev = NULL;
	for (size_t i = 0; i < plugin_count(nc); i++) {
		cleanup_json json_t *raw = run_one(nc, i, "ADD", rt, o, prev, true, err);
		if (!raw)
			return -1;
		json_t *r = result_fixup(raw, nc->version, err);
		if (!r) {
			const char *type = json_string_value(json_object_get(
				json_array_get(json_object_get(nc->list, "plugins"), i), "type"));
			return mk_err_wrap(err, "plugin type=\"%s\" failed (add)", type);
		}
		json_decref(prev);
		prev = r;
	}
	if (cni_cache_put(cache_dir_of(o), nc, rt, prev, err) < 0)
		return mk_err_wrap(err, "failed to set network \"%s\" cached result", nc->name);
	*result = steal_pointer(&prev);
	return 0;
}

/* The cached result as the list's version for CHECK and DEL; NULL with
 * *err when there is none or it cannot be used. */
static json_t *cached_prev(const struct cni_netconf *nc, const struct cni_runtime *rt,
			   const struct cni_exec_opts *o, struct mk_err **err)
{
	cleanup_json json_t *c =
		cni_cache_get(cache_dir_of(o), nc->name, rt->container_id, rt->ifname, err);
	if (!c)
		return NULL;
	const char *v = json_string_value(json_object_get(c, "cniVersion"));
	if (v && !strcmp(v, nc->version))
		return steal_pointer(&c);
	cleanup_json json_t *n = cni_result_normalize(c, err);
	json_t *r = n ? cni_result_convert(n, nc->version, err) : NULL;
	if (!r)
		mk_err_wrap(err, "failed to convert cached result to config version \"%s\"",
			    nc->version);
	return r;
}

int cni_list_check(const struct cni_netconf *nc, const struct cni_runtime *rt,
		   const struct cni_exec_opts *o, struct mk_err **err)
{
	if (nc->disable_check || cni_version_cmp(nc->version, "0.4.0") < 0)
		return 0;
	if (check_runtime(rt, err) < 0)
		return -1;
	struct mk_err *e = NULL;
	cleanup_json json_t *prev = cached_prev(nc, rt, o, &e);
	if (!prev && mk_err_code(e) != MK_ENOTFOUND) {
		*err = e;
		return mk_err_wrap(err, "failed to get network \"%s\" cached result", nc->name);
	}
	mk_err_free(e);
	for (size_t i = 0; i < plugin_count(nc); i++) {
		cleanup_json json_t *r = run_one(nc, i, "CHECK", rt, o, prev, false, err);
		if (!r)
			return -1;
	}
	return 0;
}

int cni_list_del(const struct cni_netconf *nc, const struct cni_runtime *rt,
		 const struct cni_exec_opts *o, struct mk_err **err)
{
	if (check_runtime(rt, err) < 0)
		return -1;
	cleanup_json json_t *prev = NULL;
	if (cni_version_cmp(nc->version, "0.4.0") >= 0) {
		/* an entry that cannot be read is no prevResult (and goes below) */
		struct mk_err *e = NULL;
		prev = cached_prev(nc, rt, o, &e);
		mk_err_free(e);
	}
	for (size_t i = plugin_count(nc); i-- > 0;) {
		cleanup_json json_t *r = run_one(nc, i, "DEL", rt, o, prev, false, err);
		if (!r)
			return -1;
	}
	if (cache_del(cache_dir_of(o), nc->name, rt) < 0)
		return mk_err_errno(err, MK_EIO, errno,
				    "removing the cached result of network \"%s\"", nc->name);
	return 0;
}

int cni_list_status(const struct cni_netconf *nc, const struct cni_exec_opts *o,
		    struct mk_err **err)
{
	if (cni_version_cmp(nc->version, "1.1.0") < 0)
		return 0;
	for (size_t i = 0; i < plugin_count(nc); i++) {
		cleanup_json json_t *r = run_one(nc, i, "STATUS", NULL, o, NULL, false, err);
		if (!r)
			return -1;
	}
	return 0;
}

/* ---- the cache ---- */

static bool cache_names_ok(const char *net, const char *id, const char *ifname)
{
	const char *details;
	return cni_name_valid(net) && cni_name_valid(id) && !cni_ifname_check(ifname, &details);
}

static char *cache_path(const char *dir, const char *net, const char *id, const char *ifname)
{
	return xasprintf("%s/results/%s-%s-%s", dir, net, id, ifname);
}

static int cache_del(const char *dir, const char *net, const struct cni_runtime *rt)
{
	cleanup_free char *p = cache_path(dir, net, rt->container_id, rt->ifname);
	return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
}

/* mkdir -p with mode for what it creates, as Go's MkdirAll. */
static int mkdir_p(const char *path, mode_t mode, struct mk_err **err)
{
	cleanup_free char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return mk_err_errno(err, MK_EIO, errno, "mkdir %s", p);
		*s = c;
		if (!c)
			return 0;
	}
}

int cni_cache_put(const char *cache_dir, const struct cni_netconf *nc, const struct cni_runtime *rt,
		  const json_t *result, struct mk_err **err)
{
	if (!cache_names_ok(nc->name, rt->container_id, rt->ifname))
		return mk_err_set(
			err, MK_EINVAL,
			"cache file path requires a valid network name (\"%s\"), container "
			"ID (\"%s\") and interface name (\"%s\")",
			nc->name, rt->container_id ? rt->container_id : "",
			rt->ifname ? rt->ifname : "");
	/* cachedInfo's fields in libcni's order, its maps with sorted keys */
	cleanup_free char *cfg = base64_encode(nc->bytes, nc->len);
	cleanup_json json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", CACHE_KIND,
					   "containerId", rt->container_id, "config", cfg, "ifName",
					   rt->ifname, "networkName", nc->name);
	if (rt->netns && *rt->netns)
		json_object_set_new(c, "netns", json_string(rt->netns));
	if (rt->args && rt->args[0]) {
		json_t *a = json_array();
		for (size_t i = 0; rt->args[i] && rt->args[i + 1]; i += 2)
			json_array_append_new(a, json_pack("[s,s]", rt->args[i], rt->args[i + 1]));
		json_object_set_new(c, "cniArgs", a);
	}
	if (json_object_size(rt->capability_args))
		json_object_set_new(c, "capabilityArgs", sorted_copy(rt->capability_args));
	if (result && !json_is_null(result))
		json_object_set_new(c, "result", sorted_copy(result));
	cleanup_free char *text = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cleanup_free char *dir = xasprintf("%s/results", cache_dir);
	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_free char *path = cache_path(cache_dir, nc->name, rt->container_id, rt->ifname);
	/* written beside and renamed over: readers never see half a file */
	cleanup_free char *tmp =
		xasprintf("%s/.%s-%s-%s.XXXXXX", dir, nc->name, rt->container_id, rt->ifname);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "creating %s", tmp);
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return mk_err_errno(err, MK_EIO, e, "writing %s", tmp);
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return mk_err_errno(err, MK_EIO, e, "writing %s", path);
	}
	return 0;
}

json_t *cni_cache_get(const char *cache_dir, const char *network, const char *container_id,
		      const char *ifname, struct mk_err **err)
{
	if (!cache_names_ok(network, container_id, ifname)) {
		mk_err_set(err, MK_EINVAL,
			   "cache file path requires a valid network name, container ID and "
			   "interface name");
		return NULL;
	}
	cleanup_free char *path = cache_path(cache_dir ? cache_dir : DEFAULT_CACHE_DIR, network,
					     container_id, ifname);
	size_t len;
	cleanup_free char *text = fs_read_file(path, MAX_FILE, &len, err);
	if (!text)
		return NULL;
	json_error_t jerr;
	cleanup_json json_t *c = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(c)) {
		mk_err_set(err, MK_EINVAL, "failed to unmarshal cached network \"%s\" config: %s",
			   network, c ? "not an object" : jerr.text);
		return NULL;
	}
	json_t *kind = json_object_get(c, "kind");
	if (!kind)
		return steal_pointer(&c); /* an entry of old libcni: just the result */
	if (!json_is_string(kind) || strcmp(json_string_value(kind), CACHE_KIND) != 0) {
		mk_err_set(err, MK_EINVAL, "read cached network \"%s\" config has wrong kind",
			   network);
		return NULL;
	}
	json_t *r = json_object_get(c, "result");
	if (!json_is_object(r)) {
		mk_err_set(err, MK_EINVAL, "cached network \"%s\" entry has no result", network);
		return NULL;
	}
	return json_incref(r);
}
