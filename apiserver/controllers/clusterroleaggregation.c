/* ClusterRole aggregation controller (upstream's "clusterrole-aggregation"):
 * a ClusterRole with an aggregationRule gets as its rules the union of the
 * rules of every other ClusterRole whose labels match one of its
 * clusterRoleSelectors, in the order of their names, each rule once. Any
 * ClusterRole change requeues every aggregated role, since a label or a
 * rule of any role may change what they hold. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "labels.h"
#include "xalloc.h"

#define COLLECTION "/apis/rbac.authorization.k8s.io/v1/clusterroles"

struct agg_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *roles;
};

static void requeue_aggregated(struct agg_ctrl *ac)
{
	cleanup_json json_t *all = informer_list(ac->roles);
	size_t i;
	json_t *r;
	json_array_foreach(all, i, r)
	{
		const char *name = obj_meta_str(r, "name");
		if (name && json_is_object(json_object_get(r, "aggregationRule")))
			workqueue_add(ac->q, name);
	}
}

static void on_add(json_t *obj, void *arg)
{
	(void)obj;
	requeue_aggregated(arg);
}

static void on_update(json_t *old, json_t *obj, void *arg)
{
	(void)old;
	(void)obj;
	requeue_aggregated(arg);
}

static int cmp_name(const void *a, const void *b)
{
	const char *x = obj_meta_str(*(json_t *const *)a, "name");
	const char *y = obj_meta_str(*(json_t *const *)b, "name");
	return strcmp(x ? x : "", y ? y : "");
}

static bool rule_present(const json_t *rules, const json_t *rule)
{
	size_t i;
	json_t *r;
	json_array_foreach(rules, i, r)
	{
		if (json_equal(r, rule))
			return true;
	}
	return false;
}

/* True when labels match one of the selectors. */
static bool selected(const json_t *selectors, const json_t *labels)
{
	size_t i;
	json_t *s;
	json_array_foreach(selectors, i, s)
	{
		cleanup_err struct mk_err *err = NULL;
		struct label_selector *sel = labels_selector_from_json(s, &err);
		if (!sel)
			continue;
		/* an empty selector matches nothing here, as upstream's */
		bool ok = !labels_selector_empty(sel) && labels_selector_matches(sel, labels);
		labels_selector_free(sel);
		if (ok)
			return true;
	}
	return false;
}

static int sync_role(const char *key, void *arg, struct mk_err **err)
{
	struct agg_ctrl *ac = arg;
	cleanup_json json_t *role = informer_get(ac->roles, key);
	json_t *selectors =
		json_object_get(json_object_get(role, "aggregationRule"), "clusterRoleSelectors");
	if (!role || !json_is_array(selectors))
		return 0;
	cleanup_json json_t *all = informer_list(ac->roles);
	size_t n = json_array_size(all);
	json_t **sorted = xcalloc(n + 1, sizeof(json_t *));
	for (size_t i = 0; i < n; i++)
		sorted[i] = json_array_get(all, i);
	qsort(sorted, n, sizeof(json_t *), cmp_name);
	cleanup_json json_t *rules = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *name = obj_meta_str(sorted[i], "name");
		if (!name || !strcmp(name, key) ||
		    !selected(selectors,
			      json_object_get(json_object_get(sorted[i], "metadata"), "labels")))
			continue;
		size_t j;
		json_t *rule;
		json_array_foreach(json_object_get(sorted[i], "rules"), j, rule)
		{
			if (!rule_present(rules, rule))
				json_array_append(rules, rule);
		}
	}
	free(sorted);
	json_t *have = json_object_get(role, "rules");
	if (json_equal(have ? have : json_null(), rules) ||
	    (!json_array_size(have) && !json_array_size(rules)))
		return 0;
	cleanup_json json_t *next = json_deep_copy(role);
	json_object_set(next, "rules", rules);
	json_object_set_new(next, "apiVersion", json_string("rbac.authorization.k8s.io/v1"));
	json_object_set_new(next, "kind", json_string("ClusterRole"));
	cleanup_free char *path = xasprintf(COLLECTION "/%s", key);
	cleanup_err struct mk_err *uerr = NULL;
	cleanup_json json_t *done = client_update(ac->c, path, next, &uerr);
	if (done || mk_err_code(uerr) == MK_ENOTFOUND)
		return 0;
	return mk_err_set(err, mk_err_code(uerr), "aggregating clusterrole %s: %s", key,
			  mk_err_msg(uerr));
}

int clusterroleaggregation_controller_start(struct daemon *d, const struct manager_options *o,
					    struct mk_err **err)
{
	(void)o;
	struct agg_ctrl *ac = xcalloc(1, sizeof(*ac));
	ac->c = daemon_client_new(d, err);
	if (!ac->c)
		return -1;
	ac->q = workqueue_new();
	struct informer_handlers h = {
		.on_add = on_add, .on_update = on_update, .on_delete = on_add, .arg = ac};
	ac->roles = manager_informer(d, MGR_CLUSTERROLES, &h, err);
	if (!ac->roles)
		return -1;
	return daemon_workers(d, "clusterrole-aggregation", ac->q, 1, sync_role, ac, err);
}
