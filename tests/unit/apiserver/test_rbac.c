/* rbac: one rule against request attributes as upstream's RuleAllows, and
 * the Covers arithmetic of the escalation check; kinds-rbac validation. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "apiserver/authz.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/rbac.h"
#include "apiserver/rbacpolicy.h"

static bool allows(const char *rule_json, const char *method, const char *path)
{
	cleanup_json json_t *rule = json_loads(rule_json, 0, NULL);
	assert_non_null(rule);
	struct authz_attrs a;
	authz_attrs_parse(method, path, false, &a);
	bool ok = rbac_rule_allows(rule, &a);
	authz_attrs_free(&a);
	return ok;
}

static void test_rule_allows(void **state)
{
	(void)state;
	const char *pods = "{\"verbs\":[\"get\",\"list\"],\"apiGroups\":[\"\"],"
			   "\"resources\":[\"pods\"]}";
	assert_true(allows(pods, "GET", "/api/v1/namespaces/a/pods"));
	assert_true(allows(pods, "GET", "/api/v1/namespaces/a/pods/p"));
	assert_false(allows(pods, "DELETE", "/api/v1/namespaces/a/pods/p"));
	assert_false(allows(pods, "GET", "/api/v1/namespaces/a/pods/p/log"));
	assert_false(allows(pods, "GET", "/apis/apps/v1/namespaces/a/deployments"));
	/* a subresource by its combined name or by */
	const char *logs = "{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":[\"*/log\"]}";
	assert_true(allows(logs, "GET", "/api/v1/namespaces/a/pods/p/log"));
	assert_false(allows(logs, "GET", "/api/v1/namespaces/a/pods/p"));
	/* resourceNames: only named requests */
	const char *named = "{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"],"
			    "\"resourceNames\":[\"x\"]}";
	assert_true(allows(named, "PUT", "/apis/apps/v1/namespaces/a/deployments/x"));
	assert_false(allows(named, "PUT", "/apis/apps/v1/namespaces/a/deployments/y"));
	assert_false(allows(named, "GET", "/apis/apps/v1/namespaces/a/deployments"));
	/* non-resource URLs, with a trailing star */
	const char *urls = "{\"verbs\":[\"get\"],\"nonResourceURLs\":[\"/healthz\",\"/apis/*\"]}";
	assert_true(allows(urls, "GET", "/healthz"));
	assert_true(allows(urls, "GET", "/apis/apps"));
	assert_false(allows(urls, "GET", "/healthz/etcd"));
	assert_false(allows(urls, "GET", "/api/v1/namespaces/a/pods"));
}

static bool covers(const char *owner_json, const char *rule_json, char **missing)
{
	cleanup_json json_t *owner = json_loads(owner_json, 0, NULL);
	cleanup_json json_t *rule = json_loads(rule_json, 0, NULL);
	assert_non_null(owner);
	assert_non_null(rule);
	cleanup_json json_t *m = NULL;
	bool ok = rbac_rules_cover(owner, rule, &m);
	if (missing)
		*missing = m ? json_dumps(m, JSON_COMPACT) : NULL;
	return ok;
}

static void test_covers(void **state)
{
	(void)state;
	const char *owner = "[{\"verbs\":[\"get\",\"list\"],\"apiGroups\":[\"\"],"
			    "\"resources\":[\"pods\",\"*/status\"]}]";
	assert_true(covers(owner,
			   "{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],"
			   "\"resources\":[\"pods\",\"deployments/status\"]}",
			   NULL));
	cleanup_free char *m = NULL;
	assert_false(covers(owner,
			    "{\"verbs\":[\"get\",\"delete\"],\"apiGroups\":[\"\"],"
			    "\"resources\":[\"pods\"]}",
			    &m));
	assert_string_equal(
		m, "[{\"verbs\":[\"delete\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\"]}]");
	/* a wildcard asked is only covered by a wildcard held */
	assert_false(covers(owner,
			    "{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],"
			    "\"resources\":[\"*\"]}",
			    NULL));
	assert_true(covers("[{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]}]",
			   "{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":[\"*\"]}",
			   NULL));
	/* named grants cover named asks only */
	const char *named = "[{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":"
			    "[\"secrets\"],\"resourceNames\":[\"a\"]}]";
	assert_true(covers(named,
			   "{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":"
			   "[\"secrets\"],\"resourceNames\":[\"a\"]}",
			   NULL));
	assert_false(covers(named,
			    "{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":"
			    "[\"secrets\"]}",
			    NULL));
}

static void test_policy(void **state)
{
	(void)state;
	cleanup_json json_t *objs = rbacpolicy_objects();
	const json_t *view = NULL, *admin_binding = NULL;
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o)
	{
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *name = json_string_value(json_path_get(o, "metadata.name"));
		if (!strcmp(kind, "ClusterRole") && !strcmp(name, "view"))
			view = o;
		if (!strcmp(kind, "ClusterRoleBinding") && !strcmp(name, "cluster-admin"))
			admin_binding = o;
		/* every object passes the validation the API applies */
		cleanup_json json_t *causes = json_array();
		if (!strcmp(kind, "ClusterRole"))
			kinds_clusterrole_validate(o, NULL, causes);
		else if (!strcmp(kind, "Role"))
			kinds_role_validate(o, NULL, causes);
		else if (!strcmp(kind, "RoleBinding"))
			kinds_rolebinding_validate(o, NULL, causes);
		else
			kinds_clusterrolebinding_validate(o, NULL, causes);
		if (json_array_size(causes))
			fail_msg("%s %s: %s", kind, name, json_dumps(causes, JSON_COMPACT));
	}
	assert_non_null(view);
	json_t *sel = json_object_get(json_array_get(json_path_get(view, "aggregationRule."
									 "clusterRoleSelectors"),
						     0),
				      "matchLabels");
	assert_string_equal(json_string_value(json_object_get(
				    sel, "rbac.authorization.k8s.io/aggregate-to-view")),
			    "true");
	assert_int_equal(json_array_size(json_object_get(view, "rules")), 0);
	assert_non_null(admin_binding);
	assert_string_equal(json_string_value(json_path_get(admin_binding, "subjects.0.name")),
			    "system:masters");
}

static void test_validation(void **state)
{
	(void)state;
	cleanup_json json_t *role =
		json_loads("{\"rules\":[{\"verbs\":[],\"apiGroups\":[\"\"]},"
			   "{\"verbs\":[\"get\"],\"nonResourceURLs\":[\"/x\"]}]}",
			   0, NULL);
	cleanup_json json_t *causes = json_array();
	kinds_role_validate(role, NULL, causes);
	cleanup_free char *msg = api_causes_message(causes);
	assert_string_equal(msg, "[rules[0].verbs: Required value: verbs must contain at least one "
				 "value, rules[0].resources: Required value: resource rules must "
				 "supply at least one resource, rules[1].nonResourceURLs: Invalid "
				 "value: []string{\"/x\"}: namespaced rules cannot apply to "
				 "non-resource URLs]");
	cleanup_json json_t *crb = json_loads(
		"{\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\","
		"\"name\":\"a/b\"},\"subjects\":[{\"kind\":\"Robot\",\"name\":\"r\"}]}",
		0, NULL);
	cleanup_json json_t *c2 = json_array();
	kinds_clusterrolebinding_validate(crb, NULL, c2);
	cleanup_free char *msg2 = api_causes_message(c2);
	assert_string_equal(msg2, "[roleRef.kind: Unsupported value: \"Role\": supported values: "
				  "\"ClusterRole\", roleRef.name: Invalid value: \"a/b\": may not "
				  "contain '/', subjects[0].kind: Unsupported value: \"Robot\": "
				  "supported values: \"ServiceAccount\", \"User\", \"Group\"]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_allows),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
