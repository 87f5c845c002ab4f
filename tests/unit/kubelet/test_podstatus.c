/* Pod status as the kubelet reports it: phase, conditions, container states. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "kubelet/kubelet-internal.h"
#include "kubelet/podstatus.h"

static json_t *pod_of(const char *policy, int init, int app)
{
	json_t *pod = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:[], s:[]}}", "metadata", "name", "p",
				"namespace", "default", "uid", "u1", "spec", "restartPolicy", policy,
				"initContainers", "containers");
	for (int i = 0; i < init; i++) {
		char name[16];
		snprintf(name, sizeof(name), "init%d", i);
		json_array_append_new(json_path_get(pod, "spec.initContainers"),
				      json_pack("{s:s, s:s}", "name", name, "image", "busybox"));
	}
	for (int i = 0; i < app; i++) {
		char name[16];
		snprintf(name, sizeof(name), "app%d", i);
		json_array_append_new(json_path_get(pod, "spec.containers"),
				      json_pack("{s:s, s:s}", "name", name, "image", "nginx"));
	}
	return pod;
}

static struct kpod *kpod_of(const json_t *pod)
{
	struct kpod *kp = xcalloc(1, sizeof(*kp));
	size_t n = json_array_size(json_path_get(pod, "spec.initContainers")) +
		   json_array_size(json_path_get(pod, "spec.containers"));
	kp->ctrs = xcalloc(n, sizeof(*kp->ctrs));
	const char *lists[] = {"spec.initContainers", "spec.containers"};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_path_get(pod, lists[l]), i, c)
		{
			struct kctr *k = &kp->ctrs[kp->nctrs++];
			k->name = xstrdup(json_string_value(json_object_get(c, "name")));
			k->init = l == 0;
			k->state = KCTR_WAITING;
		}
	}
	kp->sandbox_ready = true;
	kp->pod_ip = xstrdup("10.244.0.7");
	return kp;
}

static void set_running(struct kctr *c, bool ready)
{
	c->state = KCTR_RUNNING;
	c->id = xasprintf("k8s_%s_p_default_u1_0", c->name);
	c->ready = ready;
	c->started = true;
	c->started_at = 1700000000;
}

static void set_exited(struct kctr *c, int code)
{
	c->state = KCTR_TERMINATED;
	free(c->id);
	c->id = xasprintf("k8s_%s_p_default_u1_%d", c->name, c->attempt);
	c->cur.valid = true;
	c->cur.exit_code = code;
	c->cur.reason = xstrdup(code ? "Error" : "Completed");
	c->cur.started = 1700000000;
	c->cur.finished = 1700000005;
}

static const json_t *cond(const json_t *st, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
	{
		if (!strcmp(json_string_value(json_object_get(c, "type")), type))
			return c;
	}
	return NULL;
}

static void test_pending_then_running(void **state)
{
	(void)state;
	cleanup_json json_t *pod = pod_of("Always", 0, 2);
	struct kpod *kp = kpod_of(pod);
	cleanup_json json_t *st = podstatus_compute(kp, pod, "192.168.1.2", NULL, 1700000100);
	assert_string_equal(json_path_str(st, "phase"), "Pending");
	assert_string_equal(json_path_str(st, "containerStatuses.0.state.waiting.reason"),
			    "ContainerCreating");
	assert_string_equal(json_path_str(st, "podIP"), "10.244.0.7");
	assert_string_equal(json_path_str(st, "hostIP"), "192.168.1.2");
	assert_string_equal(json_path_str(st, "qosClass"), "BestEffort");
	const json_t *ready = cond(st, "Ready");
	assert_string_equal(json_string_value(json_object_get(ready, "status")), "False");
	assert_string_equal(json_string_value(json_object_get(ready, "reason")), "ContainersNotReady");
	assert_string_equal(json_string_value(json_object_get(ready, "message")),
			    "containers with unready status: [app0 app1]");

	set_running(&kp->ctrs[0], true);
	set_running(&kp->ctrs[1], false);
	cleanup_json json_t *st2 = podstatus_compute(kp, pod, "192.168.1.2", st, 1700000200);
	assert_string_equal(json_path_str(st2, "phase"), "Running");
	assert_string_equal(json_string_value(json_object_get(cond(st2, "Ready"), "message")),
			    "containers with unready status: [app1]");
	/* an unchanged condition keeps its transition time */
	assert_string_equal(json_string_value(json_object_get(cond(st2, "Ready"), "lastTransitionTime")),
			    json_string_value(json_object_get(cond(st, "Ready"), "lastTransitionTime")));
	assert_string_equal(json_path_str(st2, "containerStatuses.0.containerID"),
			    "runc://k8s_app0_p_default_u1_0");
	kp->ctrs[1].ready = true;
	cleanup_json json_t *st3 = podstatus_compute(kp, pod, "192.168.1.2", st2, 1700000300);
	assert_string_equal(json_string_value(json_object_get(cond(st3, "Ready"), "status")), "True");
	assert_null(json_object_get(cond(st3, "Ready"), "reason"));
	assert_string_not_equal(
		json_string_value(json_object_get(cond(st3, "Ready"), "lastTransitionTime")),
		json_string_value(json_object_get(cond(st2, "Ready"), "lastTransitionTime")));
	kubelet_pod_free(kp);
}

static void test_phases(void **state)
{
	(void)state;
	/* Never: all exited 0 -> Succeeded, any failure -> Failed */
	cleanup_json json_t *pod = pod_of("Never", 0, 2);
	struct kpod *kp = kpod_of(pod);
	set_exited(&kp->ctrs[0], 0);
	set_exited(&kp->ctrs[1], 0);
	cleanup_json json_t *st = podstatus_compute(kp, pod, NULL, NULL, 1700000100);
	assert_string_equal(json_path_str(st, "phase"), "Succeeded");
	assert_string_equal(json_string_value(json_object_get(cond(st, "Ready"), "reason")),
			    "PodCompleted");
	assert_string_equal(json_path_str(st, "containerStatuses.0.state.terminated.reason"),
			    "Completed");
	kp->ctrs[1].cur.exit_code = 3;
	cleanup_json json_t *st2 = podstatus_compute(kp, pod, NULL, NULL, 1700000100);
	assert_string_equal(json_path_str(st2, "phase"), "Failed");
	/* terminal stays terminal */
	kp->ctrs[1].state = KCTR_WAITING;
	cleanup_json json_t *st3 = podstatus_compute(kp, pod, NULL, st2, 1700000100);
	assert_string_equal(json_path_str(st3, "phase"), "Failed");
	kubelet_pod_free(kp);

	/* Always: exited and waiting to restart -> Running */
	cleanup_json json_t *pod2 = pod_of("Always", 0, 1);
	kp = kpod_of(pod2);
	set_exited(&kp->ctrs[0], 1);
	kp->ctrs[0].last = kp->ctrs[0].cur;
	kp->ctrs[0].cur = (struct kexit){0};
	kp->ctrs[0].state = KCTR_WAITING;
	kp->ctrs[0].attempt = 1;
	kp->ctrs[0].waiting_reason = xstrdup("CrashLoopBackOff");
	cleanup_json json_t *st4 = podstatus_compute(kp, pod2, NULL, NULL, 1700000100);
	assert_string_equal(json_path_str(st4, "phase"), "Running");
	assert_int_equal(json_integer_value(json_path_get(st4, "containerStatuses.0.restartCount")), 1);
	assert_string_equal(json_path_str(st4, "containerStatuses.0.state.waiting.reason"),
			    "CrashLoopBackOff");
	assert_int_equal(json_integer_value(
				 json_path_get(st4, "containerStatuses.0.lastState.terminated.exitCode")),
			 1);
	kubelet_pod_free(kp);

	/* OnFailure: exited 0 -> Succeeded */
	cleanup_json json_t *pod3 = pod_of("OnFailure", 0, 1);
	kp = kpod_of(pod3);
	set_exited(&kp->ctrs[0], 0);
	cleanup_json json_t *st5 = podstatus_compute(kp, pod3, NULL, NULL, 1700000100);
	assert_string_equal(json_path_str(st5, "phase"), "Succeeded");
	kubelet_pod_free(kp);
}

static void test_init_containers(void **state)
{
	(void)state;
	cleanup_json json_t *pod = pod_of("Always", 2, 1);
	struct kpod *kp = kpod_of(pod);
	set_running(&kp->ctrs[0], false);
	cleanup_json json_t *st = podstatus_compute(kp, pod, NULL, NULL, 1700000100);
	assert_string_equal(json_path_str(st, "phase"), "Pending");
	const json_t *init = cond(st, "Initialized");
	assert_string_equal(json_string_value(json_object_get(init, "status")), "False");
	assert_string_equal(json_string_value(json_object_get(init, "message")),
			    "containers with incomplete status: [init0 init1]");
	assert_string_equal(json_path_str(st, "initContainerStatuses.0.state.running.startedAt"),
			    "2023-11-14T22:13:20Z");
	set_exited(&kp->ctrs[0], 0);
	set_exited(&kp->ctrs[1], 0);
	set_running(&kp->ctrs[2], true);
	cleanup_json json_t *st2 = podstatus_compute(kp, pod, NULL, st, 1700000200);
	assert_string_equal(json_path_str(st2, "phase"), "Running");
	assert_string_equal(json_string_value(json_object_get(cond(st2, "Initialized"), "status")),
			    "True");
	assert_string_equal(json_string_value(json_object_get(cond(st2, "Ready"), "status")), "True");
	kubelet_pod_free(kp);

	/* Never and a failed init container: Failed */
	cleanup_json json_t *pod2 = pod_of("Never", 1, 1);
	kp = kpod_of(pod2);
	set_exited(&kp->ctrs[0], 2);
	cleanup_json json_t *st3 = podstatus_compute(kp, pod2, NULL, NULL, 1700000100);
	assert_string_equal(json_path_str(st3, "phase"), "Failed");
	kubelet_pod_free(kp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pending_then_running),
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_init_containers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
