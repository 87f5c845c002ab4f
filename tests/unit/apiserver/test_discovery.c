#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "apiserver/discovery.h"
#include "apiserver/resource.h"
#include "golden.h"

static void test_aggregated_golden(void **state)
{
	(void)state;
	cleanup_json json_t *core = discovery_aggregated(true, "v2");
	golden_check(core, "discovery-api-v2.json");
	cleanup_json json_t *apis = discovery_aggregated(false, "v2");
	golden_check(apis, "discovery-apis-v2.json");
	cleanup_json json_t *beta = discovery_aggregated(false, "v2beta1");
	assert_string_equal(json_path_str(beta, "apiVersion"), "apidiscovery.k8s.io/v2beta1");
	/* Same items, only the apiVersion differs. */
	assert_true(json_equal(json_object_get(beta, "items"), json_object_get(apis, "items")));
	assert_null(discovery_aggregated(true, "v3"));
}

static json_t *find_named(const json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it)
	{
		const char *s = json_string_value(json_object_get(it, key));
		if (s && !strcmp(s, value))
			return it;
	}
	return NULL;
}

static void test_aggregated_content(void **state)
{
	(void)state;
	cleanup_json json_t *core = discovery_aggregated(true, "v2");
	json_t *items = json_object_get(core, "items");
	assert_int_equal(json_array_size(items), 1);
	json_t *res = json_path_get(json_array_get(items, 0), "versions.0.resources");
	json_t *pods = find_named(res, "resource", "pods");
	assert_non_null(pods);
	assert_string_equal(json_path_str(pods, "scope"), "Namespaced");
	assert_string_equal(json_path_str(pods, "shortNames.0"), "po");
	assert_string_equal(json_path_str(pods, "categories.0"), "all");
	json_t *nodes = find_named(res, "resource", "nodes");
	assert_string_equal(json_path_str(nodes, "scope"), "Cluster");
	assert_null(json_object_get(nodes, "categories"));
	/* events.k8s.io is not served, so core events keep "ev" alone. */
	json_t *ev = find_named(res, "resource", "events");
	assert_string_equal(json_path_str(ev, "shortNames.0"), "ev");

	cleanup_json json_t *apis = discovery_aggregated(false, "v2");
	json_t *apps = json_array_get(json_object_get(apis, "items"), 0);
	assert_string_equal(json_path_str(apps, "metadata.name"), "apps");
	json_t *deploy =
		find_named(json_path_get(apps, "versions.0.resources"), "resource", "deployments");
	json_t *scale = find_named(json_object_get(deploy, "subresources"), "subresource", "scale");
	assert_string_equal(json_path_str(scale, "responseKind.group"), "autoscaling");
	assert_string_equal(json_path_str(scale, "responseKind.kind"), "Scale");
	/* autoscaling is only a subresource kind: no group of its own. */
	json_t *it;
	size_t i;
	json_array_foreach(json_object_get(apis, "items"), i, it)
		assert_string_not_equal(json_path_str(it, "metadata.name"), "autoscaling");
}

static void test_plain(void **state)
{
	(void)state;
	cleanup_json json_t *v = discovery_api_versions("127.0.0.1:8080");
	golden_check(v, "discovery-api.json");
	cleanup_json json_t *groups = discovery_group_list();
	golden_check(groups, "discovery-apis.json");
	cleanup_json json_t *core = discovery_resource_list("", "v1");
	golden_check(core, "discovery-api-v1.json");
	cleanup_json json_t *apps = discovery_resource_list("apps", "v1");
	golden_check(apps, "discovery-apis-apps-v1.json");
	json_t *scale = find_named(json_object_get(apps, "resources"), "name", "deployments/scale");
	assert_non_null(scale);
	assert_string_equal(json_path_str(scale, "group"), "autoscaling");
	assert_string_equal(json_path_str(scale, "version"), "v1");
	json_t *status =
		find_named(json_object_get(apps, "resources"), "name", "deployments/status");
	assert_null(json_object_get(status, "group"));
	cleanup_json json_t *batch = discovery_resource_list("batch", "v1");
	golden_check(batch, "discovery-apis-batch-v1.json");
	cleanup_json json_t *policy = discovery_resource_list("policy", "v1");
	golden_check(policy, "discovery-apis-policy-v1.json");
	assert_null(discovery_resource_list("policy", "v1beta1"));
	cleanup_json json_t *authz = discovery_resource_list("authorization.k8s.io", "v1");
	golden_check(authz, "discovery-apis-authorization-v1.json");
	cleanup_json json_t *rbac = discovery_resource_list("rbac.authorization.k8s.io", "v1");
	golden_check(rbac, "discovery-apis-rbac-v1.json");
	assert_null(discovery_resource_list("rbac.authorization.k8s.io", "v1beta1"));
	assert_null(discovery_resource_list("apps", "v1beta1"));
	assert_null(discovery_resource_list("autoscaling", "v1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregated_golden),
		cmocka_unit_test(test_aggregated_content),
		cmocka_unit_test(test_plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
