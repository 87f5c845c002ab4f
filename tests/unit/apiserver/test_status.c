/* Status objects: upstream's reasons, codes and message forms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "apiserver/resource.h"
#include "apiserver/status.h"

static void assert_status(const json_t *s, int code, const char *reason, const char *message)
{
	assert_string_equal(json_path_str(s, "kind"), "Status");
	assert_string_equal(json_path_str(s, "apiVersion"), "v1");
	assert_string_equal(json_path_str(s, "status"), "Failure");
	assert_int_equal(status_code(s), code);
	assert_string_equal(json_path_str(s, "reason"), reason);
	assert_string_equal(json_path_str(s, "message"), message);
}

static void test_not_found_and_exists(void **state)
{
	(void)state;
	const struct api_resource *pods = api_resource_find("", "v1", "pods");
	const struct api_resource *deps = api_resource_find("apps", "v1", "deployments");
	assert_non_null(pods);
	assert_non_null(deps);
	cleanup_json json_t *a = status_not_found(pods, "x");
	assert_status(a, 404, "NotFound", "pods \"x\" not found");
	assert_string_equal(json_path_str(a, "details.kind"), "pods");
	assert_null(json_path_get(a, "details.group"));
	cleanup_json json_t *b = status_not_found(deps, "web");
	assert_status(b, 404, "NotFound", "deployments.apps \"web\" not found");
	assert_string_equal(json_path_str(b, "details.group"), "apps");
	cleanup_json json_t *c = status_already_exists(deps, "web");
	assert_status(c, 409, "AlreadyExists", "deployments.apps \"web\" already exists");
	cleanup_json json_t *d = status_conflict(deps, "web", NULL);
	assert_status(d, 409, "Conflict",
		      "Operation cannot be fulfilled on deployments.apps \"web\": the object has "
		      "been modified; please apply your changes to the latest version and try "
		      "again");
}

static void test_invalid(void **state)
{
	(void)state;
	const struct api_resource *deps = api_resource_find("apps", "v1", "deployments");
	cleanup_json json_t *causes = json_array();
	api_cause_add(causes, "FieldValueInvalid", "spec.replicas",
		      "Invalid value: -1: must be greater than or equal to 0");
	cleanup_json json_t *one = status_invalid(deps, "web", causes);
	assert_status(one, 422, "Invalid",
		      "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be "
		      "greater than or equal to 0");
	assert_string_equal(json_path_str(one, "details.causes.0.field"), "spec.replicas");
	assert_string_equal(json_path_str(one, "details.kind"), "Deployment");
	api_cause_add(causes, "FieldValueRequired", "spec.selector", "Required value");
	cleanup_json json_t *two = status_invalid(deps, "web", causes);
	assert_string_equal(json_path_str(two, "message"),
			    "Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: "
			    "must be greater than or equal to 0, spec.selector: Required value]");
	const struct api_resource *pods = api_resource_find("", "v1", "pods");
	cleanup_json json_t *core = status_invalid(pods, "p", causes);
	assert_true(strncmp(json_path_str(core, "message"), "Pod \"p\" is invalid: [", 21) == 0);
}

static void test_from_err(void **state)
{
	(void)state;
	static const struct {
		int code;
		int http;
		const char *reason;
	} cases[] = {
		{MK_ENOTFOUND, 404, "NotFound"},      {MK_EEXISTS, 409, "AlreadyExists"},
		{MK_ECONFLICT, 409, "Conflict"},      {MK_EEXPIRED, 410, "Expired"},
		{MK_EINVAL, 400, "BadRequest"},       {MK_EINVALID, 422, "Invalid"},
		{MK_ETOOLARGE, 413, "RequestEntityTooLarge"},
		{MK_EUNSUPPORTED, 415, "UnsupportedMediaType"},
		{MK_ETIMEOUT, 504, "Timeout"},        {MK_EIO, 500, "InternalError"},
	};
	const struct api_resource *pods = api_resource_find("", "v1", "pods");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_err struct mk_err *e = NULL;
		mk_err_set(&e, cases[i].code, "boom");
		cleanup_json json_t *s = status_from_err(e, pods, "p");
		assert_int_equal(status_code(s), cases[i].http);
		assert_string_equal(json_path_str(s, "reason"), cases[i].reason);
	}
	/* a backend's refusal in its own words, as upstream passes etcd's on */
	cleanup_err struct mk_err *be = NULL;
	mk_err_set(&be, MK_EBACKEND, "etcdserver: request is too large");
	cleanup_json json_t *bs = status_from_err(be, pods, "p");
	assert_int_equal(status_code(bs), 500);
	assert_null(json_object_get(bs, "reason"));
	assert_string_equal(json_path_str(bs, "message"), "etcdserver: request is too large");
	cleanup_json json_t *ok = status_success(pods, "p", "u-1");
	assert_string_equal(json_path_str(ok, "status"), "Success");
	assert_string_equal(json_path_str(ok, "details.uid"), "u-1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_found_and_exists),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_from_err),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
