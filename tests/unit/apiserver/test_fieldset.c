#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "err.h"
#include "json.h"
#include "apiserver/apply.h"
#include "apiserver/fieldset.h"
#include "apiserver/schema.h"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return v;
}

/* s as FieldsV1 text with sorted keys. */
static char *v1_text(const json_t *s)
{
	cleanup_json json_t *v1 = fieldset_to_v1(s);
	return json_dumps(v1, JSON_COMPACT | JSON_SORT_KEYS);
}

static void expect_v1(const json_t *s, const char *want)
{
	cleanup_free char *got = v1_text(s);
	assert_string_equal(got, want);
}

static const char *const deployment =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
	"\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}},"
	"\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
	"\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\","
	"\"args\":[\"-g\"],\"ports\":[{\"containerPort\":80}]}],"
	"\"tolerations\":[{\"key\":\"k\"}]}}}}";

/* ToFieldSet: leaves and map entries are members, struct fields are not;
 * atomic structs (LabelSelector) and lists (args) are leaves; map lists
 * are keyed by their keys with defaults (protocol TCP); server metadata
 * and typemeta are part of the object's set. */
static void test_fields_of_a_deployment(void **state)
{
	(void)state;
	const struct schema_type *st = schema_kind_find("Deployment");
	assert_non_null(st);
	cleanup_json json_t *obj = load(deployment);
	cleanup_json json_t *s = fieldset_of_object(st, obj);
	expect_v1(s,
		  "{\"f:apiVersion\":{},\"f:kind\":{},\"f:metadata\":{\"f:labels\":{\"f:app\":{}},"
		  "\"f:name\":{}},\"f:spec\":{\"f:replicas\":{},\"f:selector\":{},"
		  "\"f:template\":{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},"
		  "\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{\".\":{},"
		  "\"f:args\":{},\"f:image\":{},\"f:name\":{},\"f:ports\":{"
		  "\"k:{\\\"containerPort\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},"
		  "\"f:containerPort\":{}}}}},\"f:tolerations\":{}}}}}");
	/* the map-list items' keys, as upstream spells them in conflicts */
	cleanup_json json_t *members = fieldset_members(s);
	cleanup_free char *last =
		fieldset_path_string(json_array_get(members, json_array_size(members) - 1));
	assert_string_equal(last, ".spec.template.spec.containers[name=\"web\"].ports"
				  "[containerPort=80,protocol=\"TCP\"].containerPort");
}

/* The set algebra on FieldsV1 trees, and the round trip through the wire. */
static void test_set_algebra(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *av1 =
		load("{\"f:a\":{},\"f:b\":{\".\":{},\"f:c\":{}},\"f:d\":{\"f:e\":{}}}");
	cleanup_json json_t *bv1 = load("{\"f:b\":{},\"f:d\":{\"f:e\":{},\"f:g\":{}}}");
	cleanup_json json_t *a = fieldset_from_v1(av1, &err);
	cleanup_json json_t *b = fieldset_from_v1(bv1, &err);
	assert_non_null(a);
	assert_non_null(b);
	expect_v1(a, "{\"f:a\":{},\"f:b\":{\".\":{},\"f:c\":{}},\"f:d\":{\"f:e\":{}}}");
	cleanup_json json_t *u = fieldset_union(a, b);
	expect_v1(u, "{\"f:a\":{},\"f:b\":{\".\":{},\"f:c\":{}},\"f:d\":{\"f:e\":{},\"f:g\":{}}}");
	cleanup_json json_t *d = fieldset_difference(a, b);
	expect_v1(d, "{\"f:a\":{},\"f:b\":{\"f:c\":{}}}");
	cleanup_json json_t *i = fieldset_intersection(a, b);
	expect_v1(i, "{\"f:b\":{},\"f:d\":{\"f:e\":{}}}");
	cleanup_json json_t *r = fieldset_remove_prefixes(a, b);
	expect_v1(r, "{\"f:a\":{}}");
	cleanup_json json_t *none = fieldset_difference(a, u);
	assert_true(fieldset_empty(none));
	cleanup_json json_t *path = load("[\"f:b\",\"f:c\"]");
	assert_true(fieldset_has(a, path, false));
	cleanup_json json_t *bpath = load("[\"f:d\"]");
	assert_false(fieldset_has(a, bpath, false));
	assert_true(fieldset_has(a, bpath, true));
	/* what is no FieldsV1 is refused */
	cleanup_json json_t *bad = load("{\"x:a\":{}}");
	assert_null(fieldset_from_v1(bad, &err));
	assert_non_null(err);
	assert_non_null(strstr(mk_err_msg(err), "invalid path element x:a"));
}

/* Compare: what an update added, changed and removed, by the schema. */
static void test_compare(void **state)
{
	(void)state;
	const struct schema_type *st = schema_kind_find("Deployment");
	cleanup_json json_t *old = load(deployment);
	cleanup_json json_t *new = json_copy_deep(old);
	json_path_set(new, "spec.replicas", json_integer(3));
	json_path_set(new, "metadata.annotations", json_pack("{s:s}", "a", "b"));
	json_object_del(json_path_get(new, "spec.template.spec"), "tolerations");
	json_t *added, *modified, *removed;
	fieldset_compare(st, old, new, &added, &modified, &removed);
	expect_v1(added, "{\"f:metadata\":{\"f:annotations\":{\".\":{},\"f:a\":{}}}}");
	expect_v1(modified, "{\"f:spec\":{\"f:replicas\":{}}}");
	expect_v1(removed, "{\"f:spec\":{\"f:template\":{\"f:spec\":{\"f:tolerations\":{}}}}}");
	json_decref(added);
	json_decref(modified);
	json_decref(removed);
}

static json_t *applied(const json_t *live, const char *config, const char *manager, bool force,
		       json_t **conflict)
{
	const struct schema_type *st = schema_kind_find("Deployment");
	struct apply_write w = {
		.manager = manager, .api_version = "apps/v1", .time = "2026-01-02T03:04:05Z"};
	cleanup_json json_t *cfg = load(config);
	json_t *out = NULL;
	cleanup_err struct mk_err *err = NULL;
	*conflict = NULL;
	if (apply_object(st, live, cfg, &w, force, &out, conflict, &err) < 0) {
		assert_int_equal(mk_err_code(err), MK_ECONFLICT);
		return NULL;
	}
	return out;
}

static const json_t *entry(const json_t *obj, const char *manager)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_path_get(obj, "metadata.managedFields"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "manager")), manager))
			return e;
	}
	return NULL;
}

#define CFG(body)                                                                                  \
	"{\"apiVersion\":\"apps/"                                                                  \
	"v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}," body "}"

/* Two appliers: a conflict on a field the other owns with another value,
 * shared ownership with the same value, force moving the ownership, and a
 * field its only owner stops sending removed. */
static void test_apply_conflicts_and_removal(void **state)
{
	(void)state;
	json_t *conflict = NULL;
	cleanup_json json_t *one = applied(
		NULL, CFG("\"spec\":{\"replicas\":2,\"paused\":true,\"minReadySeconds\":5}"), "a",
		false, &conflict);
	assert_non_null(one);
	const json_t *ea = entry(one, "a");
	assert_non_null(ea);
	assert_string_equal(json_string_value(json_object_get(ea, "operation")), "Apply");
	assert_string_equal(json_string_value(json_object_get(ea, "time")), "2026-01-02T03:04:05Z");
	cleanup_free char *fa = json_dumps(json_object_get(ea, "fieldsV1"), JSON_COMPACT);
	assert_string_equal(fa, "{\"f:spec\":{\"f:minReadySeconds\":{},\"f:paused\":{},"
				"\"f:replicas\":{}}}");

	cleanup_json json_t *none = applied(one, CFG("\"spec\":{\"replicas\":3,\"paused\":false}"),
					    "b", false, &conflict);
	assert_null(none);
	assert_non_null(conflict);
	assert_string_equal(json_string_value(json_object_get(conflict, "message")),
			    "Apply failed with 2 conflicts: conflicts with \"a\":\n"
			    "- .spec.paused\n- .spec.replicas");
	json_t *c0 = json_array_get(json_object_get(conflict, "causes"), 0);
	assert_string_equal(json_string_value(json_object_get(c0, "type")), "FieldManagerConflict");
	assert_string_equal(json_string_value(json_object_get(c0, "message")),
			    "conflict with \"a\"");
	assert_string_equal(json_string_value(json_object_get(c0, "field")), ".spec.paused");
	json_decref(conflict);

	/* the same value: no conflict, both own it */
	cleanup_json json_t *shared =
		applied(one, CFG("\"spec\":{\"replicas\":2}"), "b", false, &conflict);
	assert_non_null(shared);
	assert_non_null(entry(shared, "a"));
	assert_non_null(entry(shared, "b"));

	/* forced: b takes replicas from a */
	cleanup_json json_t *forced =
		applied(one, CFG("\"spec\":{\"replicas\":4}"), "b", true, &conflict);
	assert_non_null(forced);
	assert_int_equal(json_integer_value(json_path_get(forced, "spec.replicas")), 4);
	cleanup_free char *fa2 =
		json_dumps(json_object_get(entry(forced, "a"), "fieldsV1"), JSON_COMPACT);
	assert_string_equal(fa2, "{\"f:spec\":{\"f:minReadySeconds\":{},\"f:paused\":{}}}");

	/* a stops sending paused: gone; replicas (b's now) stays */
	cleanup_json json_t *pruned =
		applied(forced, CFG("\"spec\":{\"minReadySeconds\":5}"), "a", false, &conflict);
	assert_non_null(pruned);
	assert_null(json_path_get(pruned, "spec.paused"));
	assert_int_equal(json_integer_value(json_path_get(pruned, "spec.replicas")), 4);
	assert_int_equal(json_integer_value(json_path_get(pruned, "spec.minReadySeconds")), 5);
}

/* Map lists merge by key: an applier's container is merged into the live
 * list beside another manager's, and dropped when it stops sending it. */
static void test_apply_map_list(void **state)
{
	(void)state;
	json_t *conflict = NULL;
	cleanup_json json_t *one = applied(NULL,
					   CFG("\"spec\":{\"template\":{\"spec\":{\"containers\":[{"
					       "\"name\":\"a\",\"image\":\"x\"}]}}}"),
					   "a", false, &conflict);
	cleanup_json json_t *two = applied(one,
					   CFG("\"spec\":{\"template\":{\"spec\":{\"containers\":[{"
					       "\"name\":\"b\",\"image\":\"y\"}]}}}"),
					   "b", false, &conflict);
	assert_non_null(two);
	json_t *cs = json_path_get(two, "spec.template.spec.containers");
	assert_int_equal(json_array_size(cs), 2);
	cleanup_json json_t *three =
		applied(two,
			"{\"apiVersion\":\"apps/"
			"v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}}",
			"b", false, &conflict);
	cs = json_path_get(three, "spec.template.spec.containers");
	assert_int_equal(json_array_size(cs), 1);
	assert_string_equal(json_path_str(json_array_get(cs, 0), "name"), "a");
	assert_null(entry(three, "b"));
}

/* Updates: the writer owns what it changed; others lose it; the client-side
 * apply annotation lets "kubectl" take over what it lists. */
static void test_update_and_migration(void **state)
{
	(void)state;
	const struct schema_type *st = schema_kind_find("Deployment");
	struct apply_write w = {.manager = "kubectl-client-side-apply",
				.api_version = "apps/v1",
				.time = "2026-01-02T03:04:05Z"};
	cleanup_json json_t *obj = load(CFG("\"spec\":{\"replicas\":1,\"paused\":true}"));
	json_path_set(obj, "metadata.annotations",
		      json_pack("{s:s}", APPLY_LAST_APPLIED,
				"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
				"\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":1}}\n"));
	apply_update(st, NULL, obj, &w);
	const json_t *e = entry(obj, "kubectl-client-side-apply");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "operation")), "Update");
	cleanup_free char *f = json_dumps(json_object_get(e, "fieldsV1"), JSON_COMPACT);
	assert_string_equal(f, "{\"f:metadata\":{\"f:annotations\":{\".\":{},"
			       "\"f:kubectl.kubernetes.io/last-applied-configuration\":{}}},"
			       "\"f:spec\":{\"f:paused\":{},\"f:replicas\":{}}}");

	/* kubectl applies server-side: replicas is listed in last-applied and
	 * matches, so it is taken over; paused is not listed: a conflict */
	json_t *conflict = NULL;
	cleanup_json json_t *refused =
		applied(obj, CFG("\"spec\":{\"replicas\":5,\"paused\":false}"), "kubectl", false,
			&conflict);
	assert_null(refused);
	assert_string_equal(json_string_value(json_object_get(conflict, "message")),
			    "Apply failed with 1 conflict: conflict with "
			    "\"kubectl-client-side-apply\" using apps/v1: .spec.paused");
	json_decref(conflict);
	cleanup_json json_t *migrated =
		applied(obj, CFG("\"spec\":{\"replicas\":5}"), "kubectl", false, &conflict);
	assert_non_null(migrated);
	assert_int_equal(json_integer_value(json_path_get(migrated, "spec.replicas")), 5);
	cleanup_free char *k =
		json_dumps(json_object_get(entry(migrated, "kubectl"), "fieldsV1"), JSON_COMPACT);
	assert_string_equal(k, "{\"f:spec\":{\"f:replicas\":{}}}");
	/* and the annotation follows the applied configuration */
	const char *la = json_string_value(json_object_get(
		json_path_get(migrated, "metadata.annotations"), APPLY_LAST_APPLIED));
	assert_non_null(la);
	assert_non_null(strstr(la, "\"replicas\":5"));

	/* a later update by another manager takes replicas from kubectl */
	cleanup_json json_t *next = json_copy_deep(migrated);
	json_path_set(next, "spec.replicas", json_integer(7));
	struct apply_write edit = {.manager = "kubectl-edit",
				   .api_version = "apps/v1",
				   .time = "2026-01-02T03:04:06Z"};
	apply_update(st, migrated, next, &edit);
	assert_null(entry(next, "kubectl"));
	assert_non_null(entry(next, "kubectl-edit"));
}

/* Without a schema: objects are owned key by key, lists as a whole. */
static void test_deduced(void **state)
{
	(void)state;
	cleanup_json json_t *obj =
		load("{\"spec\":{\"a\":1,\"l\":[{\"x\":1}],\"m\":{\"k\":\"v\"}}}");
	cleanup_json json_t *s = fieldset_of_object(NULL, obj);
	expect_v1(s, "{\"f:spec\":{\"f:a\":{},\"f:l\":{},\"f:m\":{\"f:k\":{}}}}");
	struct apply_write w = {
		.manager = "a", .api_version = "example.com/v1", .time = "2026-01-02T03:04:05Z"};
	json_t *out = NULL, *conflict = NULL;
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(apply_object(NULL, NULL, obj, &w, false, &out, &conflict, &err), 0);
	cleanup_json json_t *cfg = load("{\"spec\":{\"l\":[{\"y\":2}],\"m\":{\"j\":\"w\"}}}");
	w.manager = "b";
	json_t *out2 = NULL;
	assert_int_equal(apply_object(NULL, out, cfg, &w, false, &out2, &conflict, &err), -1);
	assert_string_equal(json_string_value(json_object_get(conflict, "message")),
			    "Apply failed with 1 conflict: conflict with \"a\": .spec.l");
	json_decref(conflict);
	json_decref(out);
}

static void test_manager_names(void **state)
{
	(void)state;
	cleanup_free char *a = apply_manager_name(NULL, "kubectl-edit/v1.32.0 (linux/amd64)");
	assert_string_equal(a, "kubectl-edit");
	cleanup_free char *b = apply_manager_name("mine", "kubectl/v1.32.0");
	assert_string_equal(b, "mine");
	cleanup_free char *c = apply_manager_name(NULL, "a\tb/1");
	assert_string_equal(c, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_of_a_deployment),
		cmocka_unit_test(test_set_algebra),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_apply_conflicts_and_removal),
		cmocka_unit_test(test_apply_map_list),
		cmocka_unit_test(test_update_and_migration),
		cmocka_unit_test(test_deduced),
		cmocka_unit_test(test_manager_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
