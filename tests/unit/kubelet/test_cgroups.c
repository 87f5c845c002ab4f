/* kubelet/cgroups: the pure parts — QoS class, pod cgroup path, pod-level
 * limits, share/quota conversions, mountinfo and /proc/<pid>/cgroup parsing.
 * The file-system parts run against the real cgroup mounts in
 * tests/integration/kubelet-runtime.bats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "kubelet/cgroups.h"

/* A pod from a compact description: each container "cpu_req/cpu_lim/mem_req/mem_lim"
 * with "-" for absent. */
static json_t *pod_of(const char *const *ctrs, const char *const *inits)
{
	json_t *pod = json_pack("{s:{s:s, s:s, s:s}, s:{s:[], s:[]}}", "metadata", "name", "p",
				"namespace", "default", "uid", "1234-abcd", "spec", "containers",
				"initContainers");
	const char *const *lists[2] = {ctrs, inits};
	const char *keys[2] = {"containers", "initContainers"};
	for (int l = 0; l < 2; l++) {
		json_t *arr = json_object_get(json_object_get(pod, "spec"), keys[l]);
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			char cr[32], cl[32], mr[32], ml[32];
			assert_int_equal(
				sscanf(lists[l][i], "%31[^/]/%31[^/]/%31[^/]/%31s", cr, cl, mr, ml),
				4);
			json_t *req = json_object(), *lim = json_object();
			if (strcmp(cr, "-"))
				json_object_set_new(req, "cpu", json_string(cr));
			if (strcmp(cl, "-"))
				json_object_set_new(lim, "cpu", json_string(cl));
			if (strcmp(mr, "-"))
				json_object_set_new(req, "memory", json_string(mr));
			if (strcmp(ml, "-"))
				json_object_set_new(lim, "memory", json_string(ml));
			json_array_append_new(arr, json_pack("{s:s, s:{s:o, s:o}}", "name", "c",
							     "resources", "requests", req, "limits",
							     lim));
		}
	}
	return pod;
}

static enum cgroups_qos qos_of(const char *const *ctrs, const char *const *inits)
{
	cleanup_json json_t *pod = pod_of(ctrs, inits);
	return cgroups_pod_qos(pod);
}

static void test_qos(void **state)
{
	(void)state;
	/* nothing anywhere */
	assert_int_equal(qos_of((const char *[]){"-/-/-/-", NULL}, NULL), CGROUPS_QOS_BESTEFFORT);
	/* zero quantities do not count */
	assert_int_equal(qos_of((const char *[]){"0/-/0/-", NULL}, NULL), CGROUPS_QOS_BESTEFFORT);
	/* limits = requests for cpu and memory in every container */
	assert_int_equal(qos_of((const char *[]){"100m/100m/64Mi/64Mi", "1/1/1Gi/1Gi", NULL}, NULL),
			 CGROUPS_QOS_GUARANTEED);
	/* limits only: requests default to them */
	assert_int_equal(qos_of((const char *[]){"-/500m/-/128Mi", NULL}, NULL),
			 CGROUPS_QOS_GUARANTEED);
	/* equal sums are not enough when a container lacks a limit */
	assert_int_equal(qos_of((const char *[]){"100m/100m/64Mi/64Mi", "-/-/-/-", NULL}, NULL),
			 CGROUPS_QOS_BURSTABLE);
	/* request below limit */
	assert_int_equal(qos_of((const char *[]){"100m/200m/64Mi/64Mi", NULL}, NULL),
			 CGROUPS_QOS_BURSTABLE);
	/* only memory limited */
	assert_int_equal(qos_of((const char *[]){"-/-/-/64Mi", NULL}, NULL), CGROUPS_QOS_BURSTABLE);
	/* only a request */
	assert_int_equal(qos_of((const char *[]){"100m/-/-/-", NULL}, NULL), CGROUPS_QOS_BURSTABLE);
	/* an init container without limits spoils Guaranteed */
	assert_int_equal(
		qos_of((const char *[]){"1/1/1Gi/1Gi", NULL}, (const char *[]){"-/-/-/-", NULL}),
		CGROUPS_QOS_BURSTABLE);
	/* an init container with requests makes a BestEffort pod Burstable */
	assert_int_equal(
		qos_of((const char *[]){"-/-/-/-", NULL}, (const char *[]){"10m/-/-/-", NULL}),
		CGROUPS_QOS_BURSTABLE);
	/* status.qosClass wins */
	cleanup_json json_t *pod = pod_of((const char *[]){"-/-/-/-", NULL}, NULL);
	json_object_set_new(pod, "status", json_pack("{s:s}", "qosClass", "Guaranteed"));
	assert_int_equal(cgroups_pod_qos(pod), CGROUPS_QOS_GUARANTEED);
	assert_string_equal(cgroups_qos_name(CGROUPS_QOS_BURSTABLE), "Burstable");
	assert_string_equal(cgroups_qos_name(CGROUPS_QOS_BESTEFFORT), "BestEffort");
}

static void test_pod_path(void **state)
{
	(void)state;
	cleanup_json json_t *g = pod_of((const char *[]){"1/1/1Gi/1Gi", NULL}, NULL);
	cleanup_json json_t *b = pod_of((const char *[]){"1/-/-/-", NULL}, NULL);
	cleanup_json json_t *e = pod_of((const char *[]){"-/-/-/-", NULL}, NULL);
	cleanup_free char *pg = cgroups_pod_path(NULL, g, NULL);
	cleanup_free char *pb = cgroups_pod_path("/", b, NULL);
	cleanup_free char *pe = cgroups_pod_path("/mk/", e, NULL);
	assert_string_equal(pg, "/kubepods/pod1234-abcd");
	assert_string_equal(pb, "/kubepods/burstable/pod1234-abcd");
	assert_string_equal(pe, "/mk/kubepods/besteffort/pod1234-abcd");
	json_object_del(json_object_get(e, "metadata"), "uid");
	cleanup_err struct mk_err *err = NULL;
	assert_null(cgroups_pod_path(NULL, e, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
}

static void test_conversions(void **state)
{
	(void)state;
	assert_int_equal(cgroups_milli_to_shares(0), 2);
	assert_int_equal(cgroups_milli_to_shares(1), 2);
	assert_int_equal(cgroups_milli_to_shares(100), 102);
	assert_int_equal(cgroups_milli_to_shares(1000), 1024);
	assert_int_equal(cgroups_milli_to_shares(500000), 262144);
	assert_int_equal(cgroups_milli_to_quota(0, 100000), 0);
	assert_int_equal(cgroups_milli_to_quota(5, 100000), 1000);
	assert_int_equal(cgroups_milli_to_quota(250, 100000), 25000);
	assert_int_equal(cgroups_milli_to_quota(1500, 100000), 150000);
	assert_int_equal(cgroups_shares_to_weight(2), 1);
	assert_int_equal(cgroups_shares_to_weight(1024), 39);
	assert_int_equal(cgroups_shares_to_weight(262144), 10000);
}

static void limits_of(const char *const *ctrs, const char *const *inits, struct cgroups_limits *l)
{
	cleanup_json json_t *pod = pod_of(ctrs, inits);
	cgroups_pod_limits(pod, l);
}

static void test_pod_limits(void **state)
{
	(void)state;
	struct cgroups_limits l;
	/* Guaranteed: everything, sums of the containers */
	limits_of((const char *[]){"500m/500m/100Mi/100Mi", "1/1/100Mi/100Mi", NULL}, NULL, &l);
	assert_int_equal(l.cpu_shares, 1536);
	assert_int_equal(l.cpu_quota, 150000);
	assert_int_equal(l.cpu_period, 100000);
	assert_int_equal(l.memory, 209715200);
	/* Burstable with every limit declared */
	limits_of((const char *[]){"100m/200m/-/64Mi", NULL}, NULL, &l);
	assert_int_equal(l.cpu_shares, 102);
	assert_int_equal(l.cpu_quota, 20000);
	assert_int_equal(l.cpu_period, 100000);
	assert_int_equal(l.memory, 67108864);
	/* Burstable, one container without limits: shares only */
	limits_of((const char *[]){"100m/200m/-/64Mi", "250m/-/-/-", NULL}, NULL, &l);
	assert_int_equal(l.cpu_shares, 358);
	assert_int_equal(l.cpu_quota, 0);
	assert_int_equal(l.cpu_period, 0);
	assert_int_equal(l.memory, 0);
	/* an init container larger than the sum sets the pod's figures */
	limits_of((const char *[]){"100m/100m/64Mi/64Mi", NULL},
		  (const char *[]){"2/2/1Gi/1Gi", NULL}, &l);
	assert_int_equal(l.cpu_shares, 2048);
	assert_int_equal(l.cpu_quota, 200000);
	assert_int_equal(l.memory, 1073741824);
	/* BestEffort */
	limits_of((const char *[]){"-/-/-/-", NULL}, NULL, &l);
	assert_int_equal(l.cpu_shares, 2);
	assert_int_equal(l.cpu_quota, 0);
	assert_int_equal(l.memory, 0);
}

/* This machine's layout: v1 controllers each mounted alone, cgroup2 beside. */
static const char hybrid[] =
	"22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw\n"
	"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	/* a bind of a sub-cgroup elsewhere is not a hierarchy root */
	"41 60 0:31 /kubepods /var/lib/x rw,relatime - cgroup cgroup rw,memory\n";

static void test_mountinfo(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	struct cgroups *cg = cgroups_parse_mountinfo(hybrid, &err);
	assert_non_null(cg);
	assert_int_equal(cg->mode, CGROUPS_HYBRID);
	assert_int_equal(cg->n, 6);
	assert_string_equal(cg->h[0].controllers, "cpu");
	assert_string_equal(cg->h[4].controllers, "name=systemd");
	assert_string_equal(cg->h[5].mount, "/sys/fs/cgroup/unified");
	assert_true(cg->h[5].v2);
	const struct cgroups_hierarchy *h = cgroups_controller(cg, "memory");
	assert_string_equal(h->mount, "/sys/fs/cgroup/memory");
	/* pids is not mounted in v1 here: the cgroup2 mount is the answer */
	assert_true(cgroups_controller(cg, "pids")->v2);
	assert_string_equal(cgroups_mode_name(cg->mode), "hybrid");
	cgroups_free(cg);

	cg = cgroups_parse_mountinfo(
		"25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", NULL);
	assert_int_equal(cg->mode, CGROUPS_V2);
	assert_int_equal(cg->n, 1);
	assert_string_equal(cgroups_controller(cg, "memory")->mount, "/sys/fs/cgroup");
	cgroups_free(cg);

	cg = cgroups_parse_mountinfo(
		"31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
		"32 30 0:29 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,memory\n",
		NULL);
	assert_int_equal(cg->mode, CGROUPS_V1);
	assert_string_equal(cgroups_controller(cg, "cpuacct")->controllers, "cpu,cpuacct");
	assert_string_equal(cgroups_controller(cg, "memory")->mount, "/sys/fs/cgroup/my dir");
	assert_null(cgroups_controller(cg, "pids"));
	cgroups_free(cg);

	assert_null(cgroups_parse_mountinfo("1 0 0:1 / / rw - ext4 /dev/sda rw\n", &err));
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
}

static void test_proc_path(void **state)
{
	(void)state;
	const char *text = "9:name=systemd:/a/b\n"
			   "4:memory:/kubepods/burstable/pod1/c1\n"
			   "1:cpu,cpuacct:/x\n"
			   "0::/unified/path\n";
	cleanup_free char *m = cgroups_proc_path(text, "memory");
	cleanup_free char *c = cgroups_proc_path(text, "cpuacct");
	cleanup_free char *s = cgroups_proc_path(text, "name=systemd");
	cleanup_free char *u = cgroups_proc_path(text, "");
	assert_string_equal(m, "/kubepods/burstable/pod1/c1");
	assert_string_equal(c, "/x");
	assert_string_equal(s, "/a/b");
	assert_string_equal(u, "/unified/path");
	assert_null(cgroups_proc_path(text, "pids"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qos),	    cmocka_unit_test(test_pod_path),
		cmocka_unit_test(test_conversions), cmocka_unit_test(test_pod_limits),
		cmocka_unit_test(test_mountinfo),   cmocka_unit_test(test_proc_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
