/* KubeProxyConfiguration files (see kpconfig.h). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "flags.h"
#include "json.h"
#include "kpconfig.h"
#include "xalloc.h"
#include "yamldoc.h"

static char *str_or_null(const json_t *v)
{
	const char *s = json_string_value(v);
	return s ? xstrdup(s) : NULL;
}

/* A duration of the file: 0 (keep the default) when absent, zero or not a
 * duration, as upstream's defaulting treats a zero value. */
static int64_t dur(const json_t *v)
{
	int64_t ms;
	if (json_is_string(v) && flags_parse_duration(json_string_value(v), &ms, NULL) == 0 &&
	    ms > 0)
		return ms;
	return 0;
}

int kpconfig_parse(const char *text, size_t len, const char *name, const char *mode,
		   bool mode_given, struct kpconfig *c, struct mk_err **err)
{
	memset(c, 0, sizeof(*c));
	c->masquerade_all = -1;
	cleanup_json json_t *doc = yamldoc_parse(text, len, err);
	if (!doc)
		return mk_err_wrap(err, "parsing %s", name);
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *api = json_string_value(json_object_get(doc, "apiVersion"));
	if (!json_is_object(doc))
		return mk_err_set(err, MK_EINVAL, "%s: not a KubeProxyConfiguration object", name);
	if (kind && strcmp(kind, "KubeProxyConfiguration"))
		return mk_err_set(err, MK_EINVAL, "%s: kind %s is not KubeProxyConfiguration",
				  name, kind);
	if (api && strcmp(api, KPCONFIG_API_VERSION))
		return mk_err_set(
			err, MK_EINVAL,
			"%s: no kind \"KubeProxyConfiguration\" is registered for version \"%s\"",
			name, api);
	c->kubeconfig = str_or_null(json_path_get(doc, "clientConnection.kubeconfig"));
	const char *m = json_string_value(json_object_get(doc, "mode"));
	if (m && *m)
		c->mode = xstrdup(m);
	if (!mode_given && c->mode)
		mode = c->mode;
	c->cluster_cidr = str_or_null(json_object_get(doc, "clusterCIDR"));
	c->hostname_override = str_or_null(json_object_get(doc, "hostnameOverride"));
	const json_t *sec =
		json_object_get(doc, mode && !strcmp(mode, "nftables") ? "nftables" : "iptables");
	c->sync_ms = dur(json_object_get(sec, "syncPeriod"));
	c->min_sync_ms = dur(json_object_get(sec, "minSyncPeriod"));
	const json_t *all = json_object_get(sec, "masqueradeAll");
	if (json_is_boolean(all))
		c->masquerade_all = json_is_true(all);
	const json_t *bit = json_object_get(sec, "masqueradeBit");
	if (json_is_integer(bit)) {
		c->has_masq_bit = true;
		c->masq_bit = json_integer_value(bit);
	}
	const json_t *np = json_object_get(doc, "nodePortAddresses");
	if (json_is_array(np) && json_array_size(np)) {
		struct buf l = BUF_INIT;
		size_t i;
		json_t *v;
		json_array_foreach(np, i, v) buf_printf(
			&l, "%s%s", i ? "," : "", json_string_value(v) ? json_string_value(v) : "");
		c->nodeport_addresses = buf_steal(&l);
	}
	const char *h = json_string_value(json_object_get(doc, "healthzBindAddress"));
	if (h && *h)
		c->healthz_addr = xstrdup(h);
	const char *mb = json_string_value(json_object_get(doc, "metricsBindAddress"));
	if (mb && *mb)
		c->metrics_addr = xstrdup(mb);
	const json_t *verb = json_path_get(doc, "logging.verbosity");
	if (json_is_integer(verb)) {
		c->has_verbosity = true;
		c->verbosity = (int)json_integer_value(verb);
	}
	return 0;
}

void kpconfig_clear(struct kpconfig *c)
{
	if (!c)
		return;
	free(c->kubeconfig);
	free(c->mode);
	free(c->cluster_cidr);
	free(c->hostname_override);
	free(c->nodeport_addresses);
	free(c->healthz_addr);
	free(c->metrics_addr);
	memset(c, 0, sizeof(*c));
	c->masquerade_all = -1;
}
