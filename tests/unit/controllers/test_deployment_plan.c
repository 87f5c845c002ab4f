/* Rollout arithmetic: a simulated rolling update never exceeds maxSurge nor
 * drops below maxUnavailable, Recreate empties the old set first, and the
 * status/conditions read as kubectl rollout status expects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "apiserver/controllers/deployment-plan.h"
#include "cleanup.h"

static json_t *deployment(int replicas, const char *surge, const char *unavail, const char *image)
{
	json_t *d = json_pack("{s:{s:s,s:s,s:s,s:i},s:{s:i,s:{s:{s:s}},s:{s:{s:{s:s}},s:{s:[{s:s,"
			      "s:s}]}},s:{s:s,s:{s:s,s:s}}}}",
			      "metadata", "name", "web", "namespace", "default", "uid", "d-uid",
			      "generation", 2, "spec", "replicas", replicas, "selector",
			      "matchLabels", "app", "web", "template", "metadata", "labels", "app",
			      "web", "spec", "containers", "name", "c", "image", image, "strategy",
			      "type", "RollingUpdate", "rollingUpdate", "maxSurge", surge,
			      "maxUnavailable", unavail);
	assert_non_null(d);
	return d;
}

static void test_hash_stable_and_template_sensitive(void **state)
{
	(void)state;
	cleanup_json json_t *a = deployment(3, "25%", "25%", "nginx:1");
	cleanup_json json_t *b = deployment(5, "1", "0", "nginx:1");
	cleanup_json json_t *c = deployment(3, "25%", "25%", "nginx:2");
	cleanup_free char *ha = deploy_template_hash(json_object_get(json_object_get(a, "spec"), "template"), 0);
	cleanup_free char *hb = deploy_template_hash(json_object_get(json_object_get(b, "spec"), "template"), 0);
	cleanup_free char *hc = deploy_template_hash(json_object_get(json_object_get(c, "spec"), "template"), 0);
	cleanup_free char *ha1 = deploy_template_hash(json_object_get(json_object_get(a, "spec"), "template"), 1);
	assert_string_equal(ha, hb);
	assert_string_not_equal(ha, hc);
	assert_string_not_equal(ha, ha1);
	for (const char *p = ha; *p; p++)
		assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", *p));

	cleanup_json json_t *rs = deploy_new_rs(a, ha, 1, 3);
	cleanup_free char *want_name = NULL;
	assert_true(asprintf(&want_name, "web-%s", ha) > 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(rs, "metadata"), "name")),
			    want_name);
	assert_true(deploy_rs_matches(a, rs));
	assert_true(deploy_rs_matches(b, rs));
	assert_false(deploy_rs_matches(c, rs));
	assert_int_equal(deploy_rs_revision(rs), 1);
	json_t *ml = json_object_get(json_object_get(json_object_get(rs, "spec"), "selector"), "matchLabels");
	assert_string_equal(json_string_value(json_object_get(ml, "pod-template-hash")), ha);
}

static void test_surge_resolution(void **state)
{
	(void)state;
	int64_t s, u;
	cleanup_json json_t *a = deployment(10, "25%", "25%", "x");
	deploy_resolve_surge(a, &s, &u);
	assert_int_equal(s, 3); /* rounds up */
	assert_int_equal(u, 2); /* rounds down */
	cleanup_json json_t *b = deployment(3, "0", "0", "x");
	deploy_resolve_surge(b, &s, &u);
	assert_int_equal(s, 0);
	assert_int_equal(u, 1);
}

static void set_rs(json_t *rs, int64_t replicas)
{
	json_object_set_new(json_object_get(rs, "spec"), "replicas", json_integer(replicas));
}

/* Pods appear and become available at once; the invariants are checked on
 * the spec sizes after each step. */
static void simulate(int replicas, const char *surge, const char *unavail, int64_t max_total,
		     int64_t min_available)
{
	cleanup_json json_t *d1 = deployment(replicas, surge, unavail, "nginx:1");
	cleanup_json json_t *d2 = deployment(replicas, surge, unavail, "nginx:2");
	json_t *old = deploy_new_rs(d1, "old", 1, replicas);
	json_object_set_new(old, "status", json_pack("{s:i,s:i,s:i}", "replicas", replicas,
						     "readyReplicas", replicas, "availableReplicas",
						     replicas));
	json_t *olds = json_pack("[o]", old);
	json_t *new_rs = NULL;
	for (int step = 0; step < 50; step++) {
		cleanup_json json_t *plan = deploy_plan(d2, new_rs, olds);
		if (!json_object_size(plan))
			break;
		json_t *v = json_object_get(plan, "");
		if (v) {
			new_rs = deploy_new_rs(d2, "new", 2, json_integer_value(v));
		}
		v = new_rs ? json_object_get(plan, json_string_value(json_object_get(json_object_get(new_rs, "metadata"), "name"))) : NULL;
		if (v)
			set_rs(new_rs, json_integer_value(v));
		v = json_object_get(plan, json_string_value(json_object_get(json_object_get(old, "metadata"), "name")));
		if (v)
			set_rs(old, json_integer_value(v));
		int64_t o = json_integer_value(json_object_get(json_object_get(old, "spec"), "replicas"));
		int64_t n = json_integer_value(json_object_get(json_object_get(new_rs, "spec"), "replicas"));
		assert_true(o + n <= max_total);
		/* available before the new pods come up: old ones only */
		int64_t old_avail = json_integer_value(json_object_get(json_object_get(old, "status"), "availableReplicas"));
		int64_t new_avail = new_rs ? json_integer_value(json_object_get(json_object_get(new_rs, "status"), "availableReplicas")) : 0;
		assert_true((o < old_avail ? o : old_avail) + new_avail >= min_available);
		json_object_set_new(old, "status", json_pack("{s:I,s:I,s:I}", "replicas", o, "readyReplicas", o, "availableReplicas", o));
		json_object_set_new(new_rs, "status", json_pack("{s:I,s:I,s:I}", "replicas", n, "readyReplicas", n, "availableReplicas", n));
	}
	assert_int_equal(json_integer_value(json_object_get(json_object_get(new_rs, "spec"), "replicas")), replicas);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(old, "spec"), "replicas")), 0);

	json_array_clear(olds);
	cleanup_json json_t *st = deploy_status(d2, new_rs, olds, "2026-11-23T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(st, "updatedReplicas")), replicas);
	assert_int_equal(json_integer_value(json_object_get(st, "availableReplicas")), replicas);
	assert_int_equal(json_integer_value(json_object_get(st, "observedGeneration")), 2);
	json_t *prog = json_array_get(json_object_get(st, "conditions"), 1);
	assert_string_equal(json_string_value(json_object_get(prog, "reason")), "NewReplicaSetAvailable");
	assert_string_equal(json_string_value(json_object_get(prog, "message")),
			    "ReplicaSet \"web-new\" has successfully progressed.");
	json_decref(new_rs);
	json_decref(olds);
}

static void test_rolling_update_surge_only(void **state)
{
	(void)state;
	simulate(3, "1", "0", 4, 3);
}

static void test_rolling_update_unavailable_only(void **state)
{
	(void)state;
	simulate(4, "0", "1", 4, 3);
}

static void test_rolling_update_defaults(void **state)
{
	(void)state;
	simulate(10, "25%", "25%", 13, 8);
}

static void test_recreate(void **state)
{
	(void)state;
	cleanup_json json_t *d = deployment(2, "1", "1", "nginx:2");
	json_object_set_new(json_object_get(d, "spec"), "strategy", json_pack("{s:s}", "type", "Recreate"));
	cleanup_json json_t *old = deploy_new_rs(d, "old", 1, 2);
	json_object_set_new(old, "status", json_pack("{s:i}", "replicas", 2));
	cleanup_json json_t *olds = json_pack("[O]", old);
	cleanup_json json_t *p1 = deploy_plan(d, NULL, olds);
	assert_int_equal(json_integer_value(json_object_get(p1, "web-old")), 0);
	assert_int_equal(json_integer_value(json_object_get(p1, "")), 0);
	set_rs(old, 0);
	cleanup_json json_t *new_rs = deploy_new_rs(d, "new", 2, 0);
	cleanup_json json_t *p2 = deploy_plan(d, new_rs, olds);
	assert_null(json_object_get(p2, "web-new")); /* old pods still running */
	json_object_set_new(old, "status", json_pack("{s:i}", "replicas", 0));
	cleanup_json json_t *p3 = deploy_plan(d, new_rs, olds);
	assert_int_equal(json_integer_value(json_object_get(p3, "web-new")), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_stable_and_template_sensitive),
		cmocka_unit_test(test_surge_resolution),
		cmocka_unit_test(test_rolling_update_surge_only),
		cmocka_unit_test(test_rolling_update_unavailable_only),
		cmocka_unit_test(test_rolling_update_defaults),
		cmocka_unit_test(test_recreate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
