/* ReplicaSet pods from the template, deletion order, status counts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "apiserver/controllers/replicaset-plan.h"
#include "cleanup.h"

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("bad fixture: %s", je.text);
	return j;
}

static void test_pod_from_template(void **state)
{
	(void)state;
	cleanup_json json_t *rs = load(
		"{\"metadata\":{\"name\":\"web-5d4\",\"namespace\":\"default\",\"uid\":\"rs-1\"},"
		"\"spec\":{\"replicas\":2,\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\","
		"\"pod-template-hash\":\"5d4\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\","
		"\"image\":\"nginx\"}]}}}}");
	cleanup_json json_t *pod = rs_pod_from_template(rs);
	cleanup_json json_t *want = load(
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"generateName\":\"web-5d4-\","
		"\"namespace\":\"default\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
		"\"ReplicaSet\",\"name\":\"web-5d4\",\"uid\":\"rs-1\",\"controller\":true,"
		"\"blockOwnerDeletion\":true}],\"labels\":{\"app\":\"web\",\"pod-template-hash\":"
		"\"5d4\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\"}]}}");
	if (!json_equal(pod, want)) {
		cleanup_free char *got = json_dumps(pod, JSON_COMPACT);
		fail_msg("got %s", got);
	}
}

static void test_deletion_order(void **state)
{
	(void)state;
	cleanup_json json_t *pods = load(
		"[{\"metadata\":{\"name\":\"running-old\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
		"\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Running\",\"conditions\":[{"
		"\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}},"
		"{\"metadata\":{\"name\":\"unscheduled\"},\"spec\":{},\"status\":{\"phase\":\"Pending\"}},"
		"{\"metadata\":{\"name\":\"running-new\",\"creationTimestamp\":\"2026-01-02T00:00:00Z\"},"
		"\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Running\",\"conditions\":[{"
		"\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"2026-01-02T00:00:00Z\"}]}},"
		"{\"metadata\":{\"name\":\"pending\"},\"spec\":{\"nodeName\":\"n1\"},\"status\":{"
		"\"phase\":\"Pending\"}},"
		"{\"metadata\":{\"name\":\"notready\"},\"spec\":{\"nodeName\":\"n1\"},\"status\":{"
		"\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}]");
	rs_sort_for_deletion(pods);
	const char *want[] = {"unscheduled", "pending", "notready", "running-new", "running-old"};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(json_array_get(pods, i), "metadata"), "name")),
				    want[i]);
}

static void test_status(void **state)
{
	(void)state;
	cleanup_json json_t *rs = load("{\"metadata\":{\"generation\":3},\"spec\":{\"minReadySeconds\":"
				       "60,\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}}}}}");
	cleanup_json json_t *pods = load(
		"[{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"status\":{\"conditions\":[{\"type\":"
		"\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}},"
		"{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"status\":{\"conditions\":[{\"type\":"
		"\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:50Z\"}]}},"
		"{\"metadata\":{},\"status\":{}}]");
	/* 2026-01-01T00:01:30Z: the first has been ready 90 s, the second 40 s */
	cleanup_json json_t *st = rs_status(rs, pods, 1767225690);
	cleanup_json json_t *want = load("{\"replicas\":3,\"fullyLabeledReplicas\":2,\"readyReplicas\":"
					 "2,\"availableReplicas\":1,\"observedGeneration\":3}");
	if (!json_equal(st, want)) {
		cleanup_free char *got = json_dumps(st, JSON_COMPACT);
		fail_msg("got %s", got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_from_template),
		cmocka_unit_test(test_deletion_order),
		cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
