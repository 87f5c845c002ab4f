#include "apiserver/bootstrap.h"

#include <string.h>
#include <sys/random.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "timefmt.h"
#include "names.h"
#include "xalloc.h"
#include "apiserver/objects.h"
#include "apiserver/resource.h"

#include "apiserver/allocator.h"

/* Fills server-owned metadata and defaults of obj (borrowed) for row r. */
static void prepare(const struct api_resource *r, json_t *obj)
{
	cleanup_free char *uid = names_uid_new();
	cleanup_free char *now = time_now_rfc3339();
	json_path_set(obj, "metadata.uid", json_string(uid));
	json_path_set(obj, "metadata.creationTimestamp", json_string(now));
	json_path_set(obj, "metadata.generation", json_integer(1));
	json_object_set_new(obj, "kind", json_string(r->kind));
	json_object_set_new(obj, "apiVersion", json_string(api_resource_api_version(r)));
	if (r->defaults)
		r->defaults(obj);
}

/* Creates obj unless its key exists. Returns 1 created, 0 existed, -1 error. */
static int create_absent(struct store *st, const struct api_resource *r, json_t *obj,
			 struct mk_err **err)
{
	const char *name = json_path_str(obj, "metadata.name");
	const char *ns = json_path_str(obj, "metadata.namespace");
	cleanup_free char *key = api_key(r, ns, name);
	struct store_kv kv = {0};
	cleanup_err struct mk_err *gerr = NULL;
	if (store_get(st, key, &kv, &gerr) == 0) {
		store_kv_free(&kv);
		return 0;
	}
	if (mk_err_code(gerr) != MK_ENOTFOUND)
		return mk_err_set(err, mk_err_code(gerr), "reading %s: %s", key, mk_err_msg(gerr));
	prepare(r, obj);
	cleanup_free char *value = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cleanup_err struct mk_err *cerr = NULL;
	if (store_create(st, key, value, &cerr) < 0) {
		if (mk_err_code(cerr) == MK_EEXISTS)
			return 0;
		return mk_err_set(err, mk_err_code(cerr), "creating %s: %s", key, mk_err_msg(cerr));
	}
	log_info("created %s", key);
	return 1;
}

int bootstrap_run(struct store *st, const struct bootstrap_config *cfg, struct mk_err **err)
{
	const struct api_resource *nsr = api_resource_find("", "v1", "namespaces");
	const struct api_resource *svcr = api_resource_find("", "v1", "services");
	if (!nsr || !svcr)
		return mk_err_set(err, MK_EINTERNAL, "the resource table lacks core kinds");

	static const char *const namespaces[] = {"default", "kube-system", "kube-public",
						 "kube-node-lease"};
	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
		cleanup_json json_t *ns = json_pack(
			"{s:{s:s, s:{s:s}}, s:{s:[s]}, s:{s:s}}", "metadata", "name", namespaces[i],
			"labels", "kubernetes.io/metadata.name", namespaces[i], "spec", "finalizers",
			"kubernetes", "status", "phase", "Active");
		if (create_absent(st, nsr, ns, err) < 0)
			return -1;
	}

	if (allocator_init(cfg->service_cidr, cfg->node_port_range, err) < 0)
		return -1;
	{
		cleanup_free char *prefix = api_prefix(svcr, NULL);
		struct store_list l = {0};
		if (store_list(st, prefix, NULL, 0, 0, &l, err) < 0)
			return -1;
		for (size_t i = 0; i < l.n; i++) {
			cleanup_json json_t *svc = json_loads(l.items[i].value, 0, NULL);
			if (svc)
				allocator_reserve_existing(svc);
		}
		store_list_free(&l);
	}
	if (allocator_attach_store(st, err) < 0)
		return -1;
	const char *first_ip = allocator_first_service_ip();

	cleanup_json json_t *svc = json_pack(
		"{s:{s:s, s:s, s:{s:s, s:s}}, s:{s:[{s:s, s:s, s:i, s:i}], s:s, s:[s], s:s, "
		"s:s, s:[s], s:s, s:s}, s:{s:{}}}",
		"metadata", "name", "kubernetes", "namespace", "default", "labels", "component",
		"apiserver", "provider", "kubernetes", "spec", "ports", "name", "https", "protocol",
		"TCP", "port", 443, "targetPort", cfg->port, "clusterIP", first_ip, "clusterIPs",
		first_ip, "type", "ClusterIP", "sessionAffinity", "None", "ipFamilies", "IPv4",
		"ipFamilyPolicy", "SingleStack", "internalTrafficPolicy", "Cluster", "status",
		"loadBalancer");
	int rc = create_absent(st, svcr, svc, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		allocator_reserve_existing(svc);

	return 0;
}
