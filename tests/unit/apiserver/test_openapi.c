#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "apiserver/openapi.h"
#include "golden.h"

static void test_index(void **state)
{
	(void)state;
	cleanup_json json_t *idx = openapi_v3_index();
	json_t *paths = json_object_get(idx, "paths");
	const char *want[] = {"api/v1",
			      "apis/apiextensions.k8s.io/v1",
			      "apis/apps/v1",
			      "apis/authentication.k8s.io/v1",
			      "apis/authorization.k8s.io/v1",
			      "apis/batch/v1",
			      "apis/coordination.k8s.io/v1",
			      "apis/discovery.k8s.io/v1",
			      "apis/events.k8s.io/v1",
			      "apis/metrics.k8s.io/v1beta1",
			      "apis/policy/v1",
			      "apis/rbac.authorization.k8s.io/v1"};
	assert_int_equal(json_object_size(paths), 12);
	for (size_t i = 0; i < 12; i++) {
		json_t *p = json_object_get(paths, want[i]);
		assert_non_null(p);
		cleanup_free char *hash = openapi_v3_hash(want[i]);
		assert_int_equal(strlen(hash), 16);
		char prefix[128];
		snprintf(prefix, sizeof(prefix), "/openapi/v3/%s?hash=%s", want[i], hash);
		assert_string_equal(json_path_str(p, "serverRelativeURL"), prefix);
	}
}

/* The component schemas of doc replaced by their names, so that the golden
 * file stays readable (their contents are checked below). */
static void schemas_to_names(json_t *doc)
{
	json_t *schemas = json_path_get(doc, "components.schemas");
	json_t *names = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(schemas, k, v) json_array_append_new(names, json_string(k));
	json_path_set(doc, "components.schemas", names);
}

static void test_docs_golden(void **state)
{
	(void)state;
	cleanup_json json_t *core = openapi_v3_doc("api/v1");
	schemas_to_names(core);
	golden_check(core, "openapi-api-v1.json");
	cleanup_json json_t *apps = openapi_v3_doc("apis/apps/v1");
	schemas_to_names(apps);
	golden_check(apps, "openapi-apis-apps-v1.json");
	cleanup_json json_t *batch = openapi_v3_doc("apis/batch/v1");
	schemas_to_names(batch);
	golden_check(batch, "openapi-apis-batch-v1.json");
	cleanup_json json_t *policy = openapi_v3_doc("apis/policy/v1");
	schemas_to_names(policy);
	golden_check(policy, "openapi-apis-policy-v1.json");
	cleanup_json json_t *rbac = openapi_v3_doc("apis/rbac.authorization.k8s.io/v1");
	schemas_to_names(rbac);
	golden_check(rbac, "openapi-apis-rbac-v1.json");
	assert_null(openapi_v3_doc("apis/networking.k8s.io/v1"));
	assert_null(openapi_v3_doc("/api/v1"));
	assert_null(openapi_v3_hash("apis/nope/v1"));
}

static void test_patch_ops(void **state)
{
	(void)state;
	cleanup_json json_t *core = openapi_v3_doc("api/v1");
	json_t *paths = json_object_get(core, "paths");
	json_t *pod = json_object_get(paths, "/api/v1/namespaces/{namespace}/pods/{name}");
	assert_non_null(pod);
	json_t *op = json_object_get(pod, "patch");
	assert_string_equal(json_path_str(op, "operationId"), "patchCoreV1NamespacedPod");
	assert_string_equal(json_path_str(op, "x-kubernetes-group-version-kind.kind"), "Pod");
	assert_string_equal(json_path_str(op, "x-kubernetes-group-version-kind.group"), "");
	json_t *content = json_path_get(op, "requestBody.content");
	assert_null(json_object_get(content, "application/strategic-merge-patch+json"));
	assert_non_null(json_object_get(content, "application/merge-patch+json"));
	bool fv = false, fm = false;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(op, "parameters"), i, p)
	{
		fv |= !strcmp(json_path_str(p, "name"), "fieldValidation");
		fm |= !strcmp(json_path_str(p, "name"), "fieldManager");
	}
	assert_true(fv && fm);
	assert_non_null(json_object_get(paths, "/api/v1/nodes/{name}"));
	assert_non_null(json_object_get(paths, "/api/v1/namespaces/{name}"));
	/* componentstatuses are read-only and virtual: nothing to patch. */
	assert_null(json_object_get(paths, "/api/v1/componentstatuses/{name}"));
	/* the schemas the server decodes with, as `kubectl explain` reads them */
	json_t *schemas = json_path_get(core, "components.schemas");
	json_t *svc = json_object_get(schemas, "io.k8s.api.core.v1.Service");
	assert_string_equal(json_path_str(json_array_get(json_object_get(
						  svc, "x-kubernetes-group-version-kind"), 0),
					  "kind"),
			    "Service");
	json_t *spec = json_object_get(schemas, "io.k8s.api.core.v1.ServiceSpec");
	json_t *hc = json_path_get(spec, "properties.healthCheckNodePort");
	assert_string_equal(json_path_str(hc, "type"), "integer");
	assert_string_equal(json_path_str(hc, "format"), "int32");
	assert_non_null(json_path_str(hc, "description"));
	json_t *ports = json_path_get(spec, "properties.ports");
	assert_string_equal(json_path_str(ports, "type"), "array");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_path_get(ports, "items.allOf"), 0), "$ref")),
			    "#/components/schemas/io.k8s.api.core.v1.ServicePort");
	assert_non_null(json_object_get(schemas, "io.k8s.api.core.v1.Probe"));
	assert_non_null(json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
	/* only kinds of the group version are at the top */
	assert_null(json_object_get(schemas, "io.k8s.api.apps.v1.Deployment"));
	cleanup_json json_t *apps = openapi_v3_doc("apis/apps/v1");
	json_t *ds = json_path_get(apps, "components.schemas");
	json_t *dspec = json_object_get(ds, "io.k8s.api.apps.v1.DeploymentSpec");
	assert_string_equal(json_path_str(dspec, "properties.replicas.format"), "int32");
	assert_non_null(json_path_get(dspec, "properties.strategy"));
	assert_non_null(json_object_get(ds, "io.k8s.api.core.v1.PodSpec"));

	cleanup_json json_t *disc = openapi_v3_doc("apis/discovery.k8s.io/v1");
	json_t *es = json_path_get(disc, "paths");
	json_t *slice = json_object_get(
		es, "/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/{name}");
	assert_string_equal(json_path_str(slice, "patch.operationId"),
			    "patchDiscoveryV1NamespacedEndpointSlice");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_docs_golden),
		cmocka_unit_test(test_patch_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
