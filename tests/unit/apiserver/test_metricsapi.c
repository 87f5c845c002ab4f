/* metricsapi: NodeMetrics and PodMetrics from a kubelet summary, with
 * quantities as metrics-server prints them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "json.h"
#include "apiserver/metricsapi.h"

static void test_from_summary(void **state)
{
	(void)state;
	json_error_t je;
	json_t *sum = json_loads(
		"{\"node\":{\"nodeName\":\"n1\",\"cpu\":{\"time\":\"2026-12-07T12:00:00Z\","
		"\"usageNanoCores\":1234567},\"memory\":{\"workingSetBytes\":3145728}},"
		"\"pods\":[{\"podRef\":{\"name\":\"p\",\"namespace\":\"ns\"},\"containers\":["
		"{\"name\":\"a\",\"cpu\":{\"time\":\"2026-12-07T12:00:01Z\",\"usageNanoCores\":0},"
		"\"memory\":{\"workingSetBytes\":1000}},"
		"{\"name\":\"b\",\"cpu\":{\"usageNanoCores\":7},\"memory\":{\"workingSetBytes\":"
		"1536}},"
		"{\"name\":\"no-memory\",\"cpu\":{\"usageNanoCores\":7}}]},"
		"{\"podRef\":{\"name\":\"q\",\"namespace\":\"ns\"},\"containers\":[{\"name\":\"c\"}"
		"]},"
		"{\"containers\":[]}]}",
		0, &je);
	assert_non_null(sum);
	json_t *nodes = json_array(), *pods = json_array();
	metricsapi_from_summary(sum, nodes, pods);

	assert_int_equal(json_array_size(nodes), 1);
	json_t *n = json_array_get(nodes, 0);
	assert_string_equal(json_path_str(n, "kind"), "NodeMetrics");
	assert_string_equal(json_path_str(n, "apiVersion"), "metrics.k8s.io/v1beta1");
	assert_string_equal(json_path_str(n, "metadata.name"), "n1");
	assert_string_equal(json_path_str(n, "timestamp"), "2026-12-07T12:00:00Z");
	assert_string_equal(json_path_str(n, "window"), "10s");
	assert_string_equal(json_path_str(n, "usage.cpu"), "1234567n");
	assert_string_equal(json_path_str(n, "usage.memory"), "3Mi");

	/* q has no usable container and is left out */
	assert_int_equal(json_array_size(pods), 1);
	json_t *p = json_array_get(pods, 0);
	assert_string_equal(json_path_str(p, "kind"), "PodMetrics");
	assert_string_equal(json_path_str(p, "metadata.namespace"), "ns");
	assert_string_equal(json_path_str(p, "timestamp"), "2026-12-07T12:00:01Z");
	json_t *cs = json_object_get(p, "containers");
	assert_int_equal(json_array_size(cs), 2);
	assert_string_equal(json_path_str(json_array_get(cs, 0), "usage.cpu"), "0n");
	assert_string_equal(json_path_str(json_array_get(cs, 0), "usage.memory"), "1000");
	assert_string_equal(json_path_str(json_array_get(cs, 1), "name"), "b");
	assert_string_equal(json_path_str(json_array_get(cs, 1), "usage.memory"), "1536");

	/* only what is asked for */
	json_t *more = json_array();
	metricsapi_from_summary(sum, NULL, more);
	assert_int_equal(json_array_size(more), 1);
	json_decref(more);
	json_decref(nodes);
	json_decref(pods);
	json_decref(sum);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_summary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
