/* Scheduling decisions: filters, upstream's FailedScheduling message, spreading. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/scheduler/algorithm.h"
#include "cleanup.h"

static json_t *node(const char *name, const char *cpu, const char *mem, const char *ready,
		    const char *extra_spec)
{
	json_error_t je;
	json_t *n = json_pack_ex(&je, 0,
				 "{s:{s:s,s:{s:s}},s:{},s:{s:{s:s,s:s,s:s},s:[{s:s,s:s}]}}", "metadata",
				 "name", name, "labels", "kubernetes.io/hostname", name, "spec",
				 "status", "allocatable", "cpu", cpu, "memory", mem, "pods", "110",
				 "conditions", "type", "Ready", "status", ready);
	assert_non_null(n);
	if (extra_spec) {
		json_t *spec = json_loads(extra_spec, 0, &je);
		assert_non_null(spec);
		json_object_set_new(n, "spec", spec);
	}
	return n;
}

static json_t *pod(const char *uid, const char *cpu, const char *node_name, const char *owner,
		   const char *extra_spec_json)
{
	json_error_t je;
	json_t *p = json_pack_ex(&je, 0, "{s:{s:s,s:s},s:{s:[{s:s,s:s}]},s:{s:s}}", "metadata",
				 "name", uid, "uid", uid, "spec", "containers", "name", "c", "image",
				 "nginx", "status", "phase", "Pending");
	assert_non_null(p);
	json_t *spec = json_object_get(p, "spec");
	if (cpu)
		json_object_set_new(json_array_get(json_object_get(spec, "containers"), 0),
				    "resources", json_pack("{s:{s:s}}", "requests", "cpu", cpu));
	if (node_name)
		json_object_set_new(spec, "nodeName", json_string(node_name));
	if (owner)
		json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
				    json_pack("[{s:s,s:s,s:s,s:b}]", "kind", "ReplicaSet", "name",
					      "rs", "uid", owner, "controller", 1));
	if (extra_spec_json) {
		json_t *extra = json_loads(extra_spec_json, 0, &je);
		assert_non_null(extra);
		json_object_update(spec, extra);
		json_decref(extra);
	}
	return p;
}

static void test_no_nodes(void **state)
{
	(void)state;
	struct sched_snapshot *s = sched_snapshot_new();
	cleanup_json json_t *p = pod("p1", NULL, NULL, NULL, NULL);
	char *n = NULL;
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(sched_pick(s, p, &n, &err), -1);
	assert_string_equal(mk_err_msg(err), "no nodes available to schedule pods");
	sched_snapshot_free(s);
}

static void test_fit_error_message(void **state)
{
	(void)state;
	struct sched_snapshot *s = sched_snapshot_new();
	cleanup_json json_t *n1 = node("n1", "1", "1Gi", "True",
				       "{\"taints\":[{\"key\":\"dedicated\",\"value\":\"db\","
				       "\"effect\":\"NoSchedule\"}]}");
	cleanup_json json_t *n2 = node("n2", "1", "1Gi", "True", NULL);
	cleanup_json json_t *n3 = node("n3", "500m", "1Gi", "True", NULL);
	sched_snapshot_set_node(s, n1);
	sched_snapshot_set_node(s, n2);
	sched_snapshot_set_node(s, n3);
	cleanup_json json_t *big = pod("big", "2", NULL, NULL, NULL);
	char *n = NULL;
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(sched_pick(s, big, &n, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	assert_string_equal(mk_err_msg(err),
			    "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, "
			    "2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is "
			    "not helpful for scheduling.");
	sched_snapshot_free(s);
}

static void test_resources_accounted(void **state)
{
	(void)state;
	struct sched_snapshot *s = sched_snapshot_new();
	cleanup_json json_t *n1 = node("n1", "1", "1Gi", "True", NULL);
	sched_snapshot_set_node(s, n1);
	cleanup_json json_t *a = pod("a", "600m", "n1", NULL, NULL);
	sched_snapshot_set_pod(s, a);
	cleanup_json json_t *b = pod("b", "600m", NULL, NULL, NULL);
	char *n = NULL;
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(sched_pick(s, b, &n, &err), -1);
	assert_non_null(strstr(mk_err_msg(err), "1 Insufficient cpu"));
	/* the running pod finishes: its requests are released */
	json_object_set_new(json_object_get(a, "status"), "phase", json_string("Succeeded"));
	sched_snapshot_set_pod(s, a);
	cleanup_free char *picked = NULL;
	assert_int_equal(sched_pick(s, b, &picked, NULL), 0);
	assert_string_equal(picked, "n1");
	sched_snapshot_free(s);
}

static void test_selector_affinity_tolerations(void **state)
{
	(void)state;
	struct sched_snapshot *s = sched_snapshot_new();
	cleanup_json json_t *n1 = node("n1", "4", "8Gi", "True", NULL);
	cleanup_json json_t *n2 = node("n2", "4", "8Gi", "True",
				       "{\"taints\":[{\"key\":\"gpu\",\"effect\":\"NoSchedule\"}]}");
	cleanup_json json_t *n3 = node("n3", "4", "8Gi", "False", NULL);
	cleanup_json json_t *n4 = node("n4", "4", "8Gi", "True", "{\"unschedulable\":true}");
	sched_snapshot_set_node(s, n1);
	sched_snapshot_set_node(s, n2);
	sched_snapshot_set_node(s, n3);
	sched_snapshot_set_node(s, n4);

	cleanup_json json_t *sel = pod("sel", NULL, NULL, NULL,
				       "{\"nodeSelector\":{\"kubernetes.io/hostname\":\"n2\"},"
				       "\"tolerations\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}");
	cleanup_free char *a = NULL;
	assert_int_equal(sched_pick(s, sel, &a, NULL), 0);
	assert_string_equal(a, "n2");

	cleanup_json json_t *aff = pod("aff", NULL, NULL, NULL,
				       "{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnor"
				       "edDuringExecution\":{\"nodeSelectorTerms\":[{\"matchExpressions"
				       "\":[{\"key\":\"kubernetes.io/hostname\",\"operator\":\"NotIn\","
				       "\"values\":[\"n1\"]}]}]}}}}");
	char *b = NULL;
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(sched_pick(s, aff, &b, &err), -1);
	assert_string_equal(mk_err_msg(err),
			    "0/4 nodes are available: 1 node(s) didn't match Pod's node "
			    "affinity/selector, 1 node(s) had untolerated taint {gpu: }, 1 node(s) "
			    "had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were "
			    "unschedulable. preemption: 0/4 nodes are available: 4 Preemption is not "
			    "helpful for scheduling.");
	sched_snapshot_free(s);
}

static void test_host_ports(void **state)
{
	(void)state;
	struct sched_snapshot *s = sched_snapshot_new();
	cleanup_json json_t *n1 = node("n1", "4", "8Gi", "True", NULL);
	sched_snapshot_set_node(s, n1);
	const char *ports = "{\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"ports\":[{"
			    "\"containerPort\":80,\"hostPort\":8080,\"protocol\":\"TCP\"}]}]}";
	cleanup_json json_t *a = pod("a", NULL, NULL, NULL, ports);
	cleanup_free char *n = NULL;
	assert_int_equal(sched_pick(s, a, &n, NULL), 0);
	sched_snapshot_assume(s, a, n);
	cleanup_json json_t *b = pod("b", NULL, NULL, NULL, ports);
	char *m = NULL;
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(sched_pick(s, b, &m, &err), -1);
	assert_non_null(strstr(mk_err_msg(err), "1 node(s) didn't have free ports"));
	sched_snapshot_free(s);
}

static void test_spreads_replicas(void **state)
{
	(void)state;
	struct sched_snapshot *s = sched_snapshot_new();
	const char *names[] = {"n1", "n2", "n3"};
	json_t *nodes[3];
	for (int i = 0; i < 3; i++) {
		nodes[i] = node(names[i], "4", "8Gi", "True", NULL);
		sched_snapshot_set_node(s, nodes[i]);
	}
	int count[3] = {0};
	for (int r = 0; r < 6; r++) {
		char uid[16];
		snprintf(uid, sizeof(uid), "r%d", r);
		json_t *p = pod(uid, "100m", NULL, "rs-uid", NULL);
		char *n = NULL;
		assert_int_equal(sched_pick(s, p, &n, NULL), 0);
		sched_snapshot_assume(s, p, n);
		count[n[1] - '1']++;
		free(n);
		json_decref(p);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(count[i], 2);
		json_decref(nodes[i]);
	}
	sched_snapshot_remove_node(s, "n2");
	sched_snapshot_remove_pod(s, "r0");
	sched_snapshot_free(s);
}

int main(void)
{
	srandom(1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_nodes),
		cmocka_unit_test(test_fit_error_message),
		cmocka_unit_test(test_resources_accounted),
		cmocka_unit_test(test_selector_affinity_tolerations),
		cmocka_unit_test(test_host_ports),
		cmocka_unit_test(test_spreads_replicas),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
