/* Endpoints and EndpointSlice contents from a Service and its pods. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "apiserver/controllers/endpoints-build.h"
#include "cleanup.h"

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("bad fixture: %s", je.text);
	return j;
}

static const char *SVC =
	"{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"selector\":{\"app\":"
	"\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":"
	"\"web\"},{\"name\":\"metrics\",\"port\":9090,\"protocol\":\"TCP\",\"targetPort\":9100}]}}";

static const char *PODS =
	"[{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\",\"uid\":\"u1\",\"labels\":{\"app\":"
	"\"web\"}},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":"
	"\"web\",\"containerPort\":8080}]}]},\"status\":{\"podIP\":\"10.244.0.5\",\"phase\":"
	"\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
	"{\"metadata\":{\"name\":\"b\",\"namespace\":\"default\",\"uid\":\"u2\",\"labels\":{\"app\":"
	"\"web\"}},\"spec\":{\"nodeName\":\"n2\",\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":"
	"\"web\",\"containerPort\":8080}]}]},\"status\":{\"podIP\":\"10.244.1.7\",\"phase\":"
	"\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}},"
	"{\"metadata\":{\"name\":\"other\",\"namespace\":\"default\",\"uid\":\"u3\",\"labels\":{"
	"\"app\":\"db\"}},\"spec\":{},\"status\":{\"podIP\":\"10.244.1.9\"}},"
	"{\"metadata\":{\"name\":\"pending\",\"namespace\":\"default\",\"uid\":\"u4\",\"labels\":{"
	"\"app\":\"web\"}},\"spec\":{},\"status\":{\"phase\":\"Pending\"}}]";

static void test_endpoints(void **state)
{
	(void)state;
	cleanup_json json_t *svc = load(SVC);
	cleanup_json json_t *pods = load(PODS);
	cleanup_json json_t *ep = endpoints_build(svc, pods);
	cleanup_json json_t *want = load(
		"{\"kind\":\"Endpoints\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web\","
		"\"namespace\":\"default\"},\"subsets\":[{\"ports\":[{\"name\":\"http\",\"port\":8080,"
		"\"protocol\":\"TCP\"},{\"name\":\"metrics\",\"port\":9100,\"protocol\":\"TCP\"}],"
		"\"addresses\":[{\"ip\":\"10.244.0.5\",\"nodeName\":\"n1\",\"targetRef\":{\"kind\":"
		"\"Pod\",\"namespace\":\"default\",\"name\":\"a\",\"uid\":\"u1\"}}],"
		"\"notReadyAddresses\":[{\"ip\":\"10.244.1.7\",\"nodeName\":\"n2\",\"targetRef\":{"
		"\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"b\",\"uid\":\"u2\"}}]}]}");
	if (!json_equal(ep, want)) {
		cleanup_free char *got = json_dumps(ep, JSON_COMPACT);
		fail_msg("got %s", got);
	}
}

static void test_endpointslice(void **state)
{
	(void)state;
	cleanup_json json_t *svc = load(SVC);
	cleanup_json json_t *pods = load(PODS);
	/* pod a is terminating */
	json_object_set_new(json_object_get(json_array_get(pods, 0), "metadata"),
			    "deletionTimestamp", json_string("2026-11-23T00:00:00Z"));
	cleanup_json json_t *es = endpointslice_build(svc, pods);
	json_t *eps = json_object_get(es, "endpoints");
	assert_int_equal(json_array_size(eps), 2);
	json_t *a = json_object_get(json_array_get(eps, 0), "conditions");
	assert_true(json_is_false(json_object_get(a, "ready")));
	assert_true(json_is_true(json_object_get(a, "serving")));
	assert_true(json_is_true(json_object_get(a, "terminating")));
	json_t *b = json_object_get(json_array_get(eps, 1), "conditions");
	assert_true(json_is_false(json_object_get(b, "ready")));
	assert_true(json_is_false(json_object_get(b, "serving")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(eps, 1), "nodeName")),
			    "n2");
	json_t *p0 = json_array_get(json_object_get(es, "ports"), 0);
	assert_int_equal(json_integer_value(json_object_get(p0, "port")), 8080);
	assert_string_equal(json_string_value(json_object_get(p0, "name")), "http");

	/* publishNotReadyAddresses makes every endpoint ready */
	json_object_set_new(json_object_get(svc, "spec"), "publishNotReadyAddresses", json_true());
	cleanup_json json_t *es2 = endpointslice_build(svc, pods);
	json_t *b2 = json_object_get(json_array_get(json_object_get(es2, "endpoints"), 1),
				     "conditions");
	assert_true(json_is_true(json_object_get(b2, "ready")));
}

static void test_no_selector_selects_nothing(void **state)
{
	(void)state;
	cleanup_json json_t *svc = load("{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\"},"
					"\"spec\":{\"ports\":[{\"port\":80}]}}");
	cleanup_json json_t *pods = load(PODS);
	cleanup_json json_t *ep = endpoints_build(svc, pods);
	assert_null(json_object_get(ep, "subsets"));
	assert_int_equal(endpoints_resolve_port(json_array_get(json_object_get(
							   json_object_get(svc, "spec"), "ports"), 0),
						NULL),
			 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_endpointslice),
		cmocka_unit_test(test_no_selector_selects_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
