/* DaemonSet decisions: which nodes a DaemonSet belongs on (nodeSelector,
 * required node affinity, taints against the added tolerations), the pod it
 * makes for a node, the template hash, maxUnavailable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/controllers/daemonset-plan.h"
#include "cleanup.h"
#include "json.h"

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("bad fixture: %s", je.text);
	return j;
}

/* A DaemonSet whose template spec is pod_spec (JSON text). */
static json_t *ds_with(const char *pod_spec)
{
	cleanup_free char *text = NULL;
	if (asprintf(&text,
		     "{\"metadata\":{\"name\":\"agent\",\"namespace\":\"kube-system\",\"uid\":"
		     "\"u1\","
		     "\"generation\":3},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"agent\"}"
		     "},"
		     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"agent\"}},\"spec\":%s}}}",
		     pod_spec) < 0)
		fail();
	return load(text);
}

static json_t *node(const char *name, const char *labels, const char *taints)
{
	cleanup_free char *text = NULL;
	if (asprintf(&text,
		     "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":{\"taints\":%s}}",
		     name, labels, taints) < 0)
		fail();
	return load(text);
}

static void test_node_selector_and_affinity(void **state)
{
	(void)state;
	cleanup_json json_t *sel =
		ds_with("{\"nodeSelector\":{\"role\":\"edge\"},\"containers\":[]}");
	cleanup_json json_t *edge = node("n1", "{\"role\":\"edge\",\"zone\":\"a\"}", "[]");
	cleanup_json json_t *plain = node("n2", "{\"zone\":\"b\"}", "[]");
	assert_true(ds_should_run(sel, edge));
	assert_false(ds_should_run(sel, plain));

	/* terms are ORed, requirements in a term ANDed; matchFields on the name */
	cleanup_json json_t *aff =
		ds_with("{\"affinity\":{\"nodeAffinity\":{"
			"\"requiredDuringSchedulingIgnoredDuringExecution\":"
			"{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\","
			"\"operator\":\"In\","
			"\"values\":[\"a\"]},{\"key\":\"role\",\"operator\":\"Exists\"}]},{"
			"\"matchFields\":[{"
			"\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n3\"]}]}]}}},"
			"\"containers\":[]}");
	cleanup_json json_t *n3 = node("n3", "{}", "[]");
	cleanup_json json_t *zone_a_only = node("n4", "{\"zone\":\"a\"}", "[]");
	assert_true(ds_should_run(aff, edge));
	assert_false(ds_should_run(aff, plain));
	assert_true(ds_should_run(aff, n3));
	assert_false(ds_should_run(aff, zone_a_only));
}

static void test_taints(void **state)
{
	(void)state;
	cleanup_json json_t *ds = ds_with("{\"containers\":[]}");
	cleanup_json json_t *dedicated = node(
		"n1", "{}", "[{\"key\":\"dedicated\",\"value\":\"db\",\"effect\":\"NoSchedule\"}]");
	cleanup_json json_t *prefer = node("n2", "{}",
					   "[{\"key\":\"dedicated\",\"value\":\"db\",\"effect\":"
					   "\"PreferNoSchedule\"}]");
	/* the taints upstream's DaemonSet pods tolerate on their own */
	cleanup_json json_t *cordoned =
		node("n3", "{}",
		     "[{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"},"
		     "{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\"},"
		     "{\"key\":\"node.kubernetes.io/disk-pressure\",\"effect\":\"NoSchedule\"}]");
	cleanup_json json_t *netless =
		node("n4", "{}",
		     "[{\"key\":\"node.kubernetes.io/network-unavailable\",\"effect\":"
		     "\"NoSchedule\"}]");
	assert_false(ds_should_run(ds, dedicated));
	assert_true(ds_should_run(ds, prefer));
	assert_true(ds_should_run(ds, cordoned));
	assert_false(ds_should_run(ds, netless));
	cleanup_json json_t *hostnet = ds_with("{\"hostNetwork\":true,\"containers\":[]}");
	assert_true(ds_should_run(hostnet, netless));

	cleanup_json json_t *tol = ds_with(
		"{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"db\","
		"\"effect\":\"NoSchedule\"}],\"containers\":[]}");
	assert_true(ds_should_run(tol, dedicated));
	cleanup_json json_t *wrong = ds_with("{\"tolerations\":[{\"key\":\"dedicated\","
					     "\"operator\":\"Equal\",\"value\":\"web\"}],"
					     "\"containers\":[]}");
	assert_false(ds_should_run(wrong, dedicated));
	cleanup_json json_t *all = ds_with("{\"tolerations\":[{\"operator\":\"Exists\"}],"
					   "\"containers\":[]}");
	assert_true(ds_should_run(all, dedicated));
}

static void test_pod_for_node(void **state)
{
	(void)state;
	cleanup_json json_t *ds = ds_with(
		"{\"affinity\":{\"nodeAffinity\":{"
		"\"requiredDuringSchedulingIgnoredDuringExecution\":"
		"{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":"
		"\"Exists\"}]}]}}},\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\","
		"\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":30}],"
		"\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}");
	cleanup_json json_t *pod = ds_pod_for_node(ds, "n1", "7d9c8b");
	assert_string_equal(json_path_str(pod, "metadata.generateName"), "agent-");
	assert_string_equal(json_path_str(pod, "metadata.namespace"), "kube-system");
	assert_string_equal(json_path_str(pod, "metadata.labels.app"), "agent");
	assert_string_equal(json_path_str(pod, "metadata.labels.controller-revision-hash"),
			    "7d9c8b");
	assert_string_equal(json_path_str(pod, "metadata.labels.pod-template-generation"), "3");
	json_t *ref = json_path_get(pod, "metadata.ownerReferences.0");
	assert_string_equal(json_path_str(ref, "kind"), "DaemonSet");
	assert_string_equal(json_path_str(ref, "uid"), "u1");
	assert_true(json_is_true(json_object_get(ref, "controller")));
	cleanup_free char *terms = json_dumps(
		json_path_get(pod,
			      "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuring"
			      "Execution.nodeSelectorTerms"),
		JSON_COMPACT);
	assert_string_equal(terms, "[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":"
				   "\"In\",\"values\":[\"n1\"]}]}]");
	assert_string_equal(ds_pod_node(pod), "n1");
	/* the template's own not-ready toleration is kept, the others added */
	json_t *tols = json_path_get(pod, "spec.tolerations");
	assert_int_equal(json_array_size(tols), 6);
	assert_int_equal(json_integer_value(json_path_get(tols, "0.tolerationSeconds")), 30);
	assert_string_equal(json_path_str(tols, "5.key"), "node.kubernetes.io/unschedulable");
	/* the DaemonSet's template is left as it was */
	assert_int_equal(json_array_size(json_path_get(ds, "spec.template.spec.tolerations")), 1);
}

static void test_hash(void **state)
{
	(void)state;
	cleanup_json json_t *a =
		ds_with("{\"containers\":[{\"name\":\"c\",\"image\":\"busybox:1\"}]}");
	cleanup_json json_t *b =
		ds_with("{\"containers\":[{\"name\":\"c\",\"image\":\"busybox:2\"}]}");
	cleanup_json json_t *a2 =
		ds_with("{\"containers\":[{\"image\":\"busybox:1\",\"name\":\"c\"}]}");
	cleanup_free char *ha = ds_template_hash(a);
	cleanup_free char *hb = ds_template_hash(b);
	cleanup_free char *ha2 = ds_template_hash(a2);
	assert_string_not_equal(ha, hb);
	assert_string_equal(ha, ha2); /* key order does not matter */
	assert_true(strlen(ha) > 0 && strspn(ha, "bcdfghjklmnpqrstvwxz2456789") == strlen(ha));
}

static void test_max_unavailable(void **state)
{
	(void)state;
	cleanup_json json_t *ds = load("{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{"
				       "\"maxUnavailable\":\"30%\",\"maxSurge\":0}}}}");
	assert_int_equal(ds_max_unavailable(ds, 10), 3);
	assert_int_equal(ds_max_unavailable(ds, 4), 2); /* 1.2 rounds up */
	assert_int_equal(ds_max_unavailable(ds, 0), 1);
	cleanup_json json_t *two = load("{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{"
					"\"maxUnavailable\":2}}}}");
	assert_int_equal(ds_max_unavailable(two, 10), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_selector_and_affinity),
		cmocka_unit_test(test_taints),
		cmocka_unit_test(test_pod_for_node),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_max_unavailable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
