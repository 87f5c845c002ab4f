/* quota: what objects count toward ResourceQuota resources, as upstream's
 * evaluators count them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "quota.h"

static json_t *parse(const char *s)
{
	json_t *v = json_loads(s, 0, NULL);
	assert_non_null(v);
	return v;
}

static json_int_t milli(const json_t *usage, const char *name)
{
	json_t *v = json_object_get(usage, name);
	if (!json_is_integer(v))
		fail_msg("%s not counted", name);
	return json_integer_value(v);
}

static void test_pod(void **state)
{
	(void)state;
	/* containers add up; the largest init container raises the total */
	cleanup_json json_t *pod = parse(
		"{\"spec\":{\"initContainers\":[{\"name\":\"i\",\"resources\":{\"requests\":{"
		"\"cpu\":\"2\"}}}],\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{"
		"\"cpu\":\"250m\",\"memory\":\"64Mi\"},\"limits\":{\"memory\":\"128Mi\"}}},{"
		"\"name\":"
		"\"b\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"64Mi\",\"nvidia."
		"com/"
		"gpu\":\"1\"}}}]}}");
	cleanup_json json_t *u = quota_usage_of("", "pods", pod);
	assert_int_equal(milli(u, "pods"), 1000);
	assert_int_equal(milli(u, "count/pods"), 1000);
	assert_int_equal(milli(u, "requests.cpu"), 2000);
	assert_int_equal(milli(u, "cpu"), 2000);
	assert_int_equal(milli(u, "requests.memory"), 128LL * 1024 * 1024 * 1000);
	assert_int_equal(milli(u, "limits.memory"), 128LL * 1024 * 1024 * 1000);
	assert_int_equal(milli(u, "requests.nvidia.com/gpu"), 1000);
	assert_null(json_object_get(u, "nvidia.com/gpu"));
	assert_null(json_object_get(u, "limits.cpu"));
	/* a finished pod counts only as an object */
	json_object_set_new(pod, "status", parse("{\"phase\":\"Succeeded\"}"));
	cleanup_json json_t *done = quota_usage_of("", "pods", pod);
	assert_int_equal(json_object_size(done), 1);
	assert_int_equal(milli(done, "count/pods"), 1000);
}

static void test_services_and_counts(void **state)
{
	(void)state;
	cleanup_json json_t *svc =
		parse("{\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":"
		      "80},{\"port\":443}]}}");
	cleanup_json json_t *u = quota_usage_of("", "services", svc);
	assert_int_equal(milli(u, "services"), 1000);
	assert_int_equal(milli(u, "services.loadbalancers"), 1000);
	assert_int_equal(milli(u, "services.nodeports"), 2000);
	cleanup_json json_t *obj = parse("{}");
	cleanup_json json_t *cm = quota_usage_of("", "configmaps", obj);
	assert_int_equal(milli(cm, "configmaps"), 1000);
	assert_int_equal(milli(cm, "count/configmaps"), 1000);
	cleanup_json json_t *d = quota_usage_of("apps", "deployments", obj);
	assert_int_equal(json_object_size(d), 1);
	assert_int_equal(milli(d, "count/deployments.apps"), 1000);
	assert_true(quota_tracks("apps", "deployments", "count/deployments.apps"));
	assert_false(quota_tracks("apps", "deployments", "count/deployments"));
	assert_true(quota_tracks("", "pods", "limits.cpu"));
	assert_true(quota_tracks("", "services", "services.nodeports"));
	assert_false(quota_tracks("", "configmaps", "pods"));
	/* sums */
	quota_usage_add(cm, cm);
	assert_int_equal(milli(cm, "configmaps"), 2000);
}

static void test_missing_and_format(void **state)
{
	(void)state;
	cleanup_json json_t *pod = parse(
		"{\"spec\":{\"containers\":[{\"name\":\"b\",\"resources\":{\"requests\":{\"cpu\":"
		"\"1\"}}},{\"name\":\"a\"}]}}");
	cleanup_json json_t *hard = parse("{\"requests.cpu\":\"2\",\"limits.memory\":\"1Gi\","
					  "\"pods\":\"3\"}");
	cleanup_free char *m = quota_pod_missing(pod, hard);
	assert_string_equal(m, "must specify limits.memory for: a,b; requests.cpu for: a");
	cleanup_json json_t *easy = parse("{\"pods\":\"3\"}");
	assert_null(quota_pod_missing(pod, easy));
	cleanup_free char *a = quota_format("requests.memory", 192LL * 1024 * 1024 * 1000);
	assert_string_equal(a, "192Mi");
	cleanup_free char *b = quota_format("requests.cpu", 600);
	assert_string_equal(b, "600m");
	cleanup_free char *c = quota_format("pods", 2000);
	assert_string_equal(c, "2");
	cleanup_json json_t *v = json_string("1500m");
	assert_int_equal(quota_value(v), 1500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod),
		cmocka_unit_test(test_services_and_counts),
		cmocka_unit_test(test_missing_and_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
