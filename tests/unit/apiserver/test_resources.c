#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "apiserver/resource.h"
#include "apiserver/componentstatus.h"

static void test_table_lookups(void **state)
{
	(void)state;
	const struct api_resource *r = api_resource_find("apps", "v1", "deployments");
	assert_non_null(r);
	assert_string_equal(api_resource_api_version(r), "apps/v1");
	assert_string_equal(api_resource_qualified(r), "deployments.apps");
	assert_ptr_equal(api_resource_by_kind("apps/v1", "Deployment"), r);
	assert_non_null(api_resource_sub(r, "scale"));
	assert_null(api_resource_sub(r, "log"));
	const struct api_resource *pods = api_resource_find("", "v1", "pods");
	assert_string_equal(api_resource_api_version(pods), "v1");
	assert_string_equal(api_resource_qualified(pods), "pods");
	assert_null(api_resource_find("", "v1", "deployments"));
	assert_null(api_resource_by_kind("v1", "Deployment"));
	assert_string_equal(api_resource_find("", "v1", "nodes")->storage, "minions");
	assert_string_equal(api_resource_find("", "v1", "services")->storage, "services/specs");
	assert_null(api_resource_find("", "v1", "componentstatuses")->storage);
	/* Every row has the fields discovery needs. */
	for (const struct api_resource *x = api_resources; x->resource; x++) {
		assert_non_null(x->singular);
		assert_non_null(x->kind);
		assert_non_null(x->verbs);
		/* stored, listed from elsewhere, or a review that is only created */
		bool create_only = x->verbs[0] && !strcmp(x->verbs[0], "create") && !x->verbs[1];
		assert_true(x->storage != NULL || x->virtual_list != NULL || create_only);
	}
	/* "all" only on pods, services, daemonsets, deployments, replicasets,
	 * statefulsets, jobs, cronjobs. */
	size_t n_all = 0;
	for (const struct api_resource *x = api_resources; x->resource; x++)
		if (x->categories && !strcmp(x->categories[0], "all"))
			n_all++;
	assert_int_equal(n_all, 8);
	const struct api_resource *job = api_resource_by_kind("batch/v1", "Job");
	assert_non_null(job);
	assert_string_equal(job->resource, "jobs");
	assert_non_null(api_resource_sub(job, "status"));
	assert_string_equal(api_resource_qualified(api_resource_find("batch", "v1", "cronjobs")),
			    "cronjobs.batch");
}

static void test_cause_add(void **state)
{
	(void)state;
	cleanup_json json_t *causes = json_array();
	api_cause_add(causes, "FieldValueInvalid", "spec.replicas",
		      "Invalid value: %d: must be greater than or equal to 0", -1);
	cleanup_free char *s = json_dump_compact(causes);
	assert_string_equal(s,
			    "[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: -1: "
			    "must be greater than or equal to 0\",\"field\":\"spec.replicas\"}]");
	cleanup_free char *one = api_causes_message(causes);
	assert_string_equal(one,
			    "spec.replicas: Invalid value: -1: must be greater than or equal to 0");
	api_cause_add(causes, "FieldValueRequired", "spec.selector", "Required value");
	api_cause_add(causes, "FieldValueRequired", "spec.selector", "Required value");
	cleanup_free char *two = api_causes_message(causes);
	assert_string_equal(two,
			    "[spec.replicas: Invalid value: -1: must be greater than or equal to "
			    "0, spec.selector: Required value]");
	cleanup_json json_t *empty = json_array();
	cleanup_free char *none = api_causes_message(empty);
	assert_string_equal(none, "");

	cleanup_json json_t *from = api_causes_from_message(
		"spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated");
	cleanup_free char *f = json_dump_compact(from);
	assert_string_equal(
		f, "[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: 30080: "
		   "provided port is already allocated\",\"field\":"
		   "\"spec.ports[0].nodePort\"}]");
}

static void test_componentstatuses(void **state)
{
	(void)state;
	/* built by the probes of componentstatus.c (test_componentstatus) */
	const struct api_resource *r = api_resource_find("", "v1", "componentstatuses");
	assert_ptr_equal(r->virtual_list, componentstatus_list);
	assert_false(r->namespaced);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_lookups),
		cmocka_unit_test(test_cause_add),
		cmocka_unit_test(test_componentstatuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
