#include "manager.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "labels.h"
#include "timefmt.h"
#include "xalloc.h"

static const char *const resource_paths[MGR_NRESOURCES] = {
	[MGR_PODS] = "/api/v1/pods",
	[MGR_REPLICASETS] = "/apis/apps/v1/replicasets",
	[MGR_DEPLOYMENTS] = "/apis/apps/v1/deployments",
	[MGR_SERVICES] = "/api/v1/services",
	[MGR_ENDPOINTS] = "/api/v1/endpoints",
	[MGR_ENDPOINTSLICES] = "/apis/discovery.k8s.io/v1/endpointslices",
	[MGR_NAMESPACES] = "/api/v1/namespaces",
	[MGR_SERVICEACCOUNTS] = "/api/v1/serviceaccounts",
	[MGR_NODES] = "/api/v1/nodes",
	[MGR_NODE_LEASES] = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
	[MGR_DAEMONSETS] = "/apis/apps/v1/daemonsets",
	[MGR_CONTROLLERREVISIONS] = "/apis/apps/v1/controllerrevisions",
	[MGR_PDBS] = "/apis/policy/v1/poddisruptionbudgets",
	[MGR_JOBS] = "/apis/batch/v1/jobs",
	[MGR_CRONJOBS] = "/apis/batch/v1/cronjobs",
	[MGR_RESOURCEQUOTAS] = "/api/v1/resourcequotas",
	[MGR_STATEFULSETS] = "/apis/apps/v1/statefulsets",
	[MGR_CLUSTERROLES] = "/apis/rbac.authorization.k8s.io/v1/clusterroles",
};

struct informer *manager_informer(struct daemon *d, enum manager_resource r,
				  const struct informer_handlers *h, struct mk_err **err)
{
	return daemon_informer(d, resource_paths[r], NULL, NULL, h, err);
}

bool manager_controller_enabled(const char *list, const char *name, bool default_on)
{
	if (!list || !*list)
		list = "*";
	bool star = false;
	cleanup_free char *copy = xstrdup(list);
	char *save = NULL;
	/* as upstream: the first entry naming the controller decides */
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (!strcmp(tok, "*"))
			star = true;
		else if (tok[0] == '-' && !strcmp(tok + 1, name))
			return false;
		else if (!strcmp(tok, name))
			return true;
	}
	return star && default_on;
}

/* Helpers shared by the controllers. */

const char *obj_meta_str(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

json_t *obj_controller_ref(const json_t *obj)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   o)
	{
		if (json_is_true(json_object_get(o, "controller")))
			return o;
	}
	return NULL;
}

bool ctrl_selector_matches(const json_t *selector, const json_t *labels)
{
	if (!json_is_object(selector))
		return false;
	/* a malformed selector (the API server validates them) selects nothing */
	struct label_selector *sel = labels_selector_from_json(selector, NULL);
	bool ok = sel && labels_selector_matches(sel, labels);
	labels_selector_free(sel);
	return ok;
}

bool ctrl_selector_empty(const json_t *selector)
{
	return json_is_object(selector) &&
	       !json_object_size(json_object_get(selector, "matchLabels")) &&
	       !json_array_size(json_object_get(selector, "matchExpressions"));
}

char *ctrl_key(const char *ns, const char *name)
{
	return ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

time_t ctrl_parse_time(const char *s)
{
	time_t t;
	if (!s || time_parse_rfc3339(s, &t, NULL) < 0)
		return 0;
	return t;
}
