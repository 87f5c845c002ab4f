#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "timefmt.h"
#include "apiserver/printer.h"
#include "apiserver/resource.h"
#include "golden.h"

/* 2026-11-23T08:00:00Z */
static const time_t NOW = 1795420800;

static json_t *input;

static int setup(void **state)
{
	(void)state;
	char *path = golden_path("printer-input.json");
	json_error_t e;
	input = json_load_file(path, 0, &e);
	free(path);
	return input ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(input);
	return 0;
}

static json_t *table_of(const char *group, const char *resource, const char *include)
{
	const struct api_resource *r = api_resource_find(group, "v1", resource);
	assert_non_null(r);
	return printer_table(r, json_object_get(input, resource), include, true, NOW);
}

/* Cell col of row i, dumped compactly ("\"1/2\"", "3"). */
static char *cell(const json_t *table, size_t row, size_t col)
{
	json_t *c = json_array_get(
		json_object_get(json_array_get(json_object_get(table, "rows"), row), "cells"), col);
	assert_non_null(c);
	return json_dump_compact(c);
}

#define assert_cell(t, row, col, want)                                                             \
	do {                                                                                       \
		cleanup_free char *_c = cell(t, row, col);                                         \
		assert_string_equal(_c, want);                                                     \
	} while (0)

static void test_goldens(void **state)
{
	(void)state;
	const char *core[] = {
		"pods",	      "nodes",	    "services", "endpoints",	   "events",
		"namespaces", "configmaps", "secrets",	"serviceaccounts", "componentstatuses"};
	for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
		cleanup_json json_t *t = table_of("", core[i], NULL);
		char name[64];
		snprintf(name, sizeof(name), "table-%s.json", core[i]);
		golden_check(t, name);
	}
	struct {
		const char *group, *resource;
	} named[] = {{"apps", "deployments"},
		     {"apps", "replicasets"},
		     {"coordination.k8s.io", "leases"},
		     {"discovery.k8s.io", "endpointslices"}};
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		cleanup_json json_t *t = table_of(named[i].group, named[i].resource, NULL);
		char name[64];
		snprintf(name, sizeof(name), "table-%s.json", named[i].resource);
		golden_check(t, name);
	}
}

static void test_pod_cells(void **state)
{
	(void)state;
	cleanup_json json_t *t = table_of("", "pods", NULL);
	/* running: 2/2 ready, restarts with the last termination 5m ago. */
	assert_cell(t, 0, 1, "\"2/2\"");
	assert_cell(t, 0, 2, "\"Running\"");
	assert_cell(t, 0, 3, "\"2 (5m ago)\"");
	assert_cell(t, 0, 4, "\"60m\"");
	assert_cell(t, 0, 5, "\"10.244.0.5\"");
	assert_cell(t, 0, 6, "\"node1\"");
	assert_cell(t, 0, 7, "\"<none>\"");
	assert_cell(t, 0, 8, "\"<none>\"");
	assert_cell(t, 1, 1, "\"0/1\"");
	assert_cell(t, 1, 2, "\"Pending\"");
	assert_cell(t, 1, 3, "\"0\"");
	assert_cell(t, 1, 4, "\"30s\"");
	assert_cell(t, 1, 5, "\"<none>\"");
	assert_cell(t, 2, 2, "\"ContainerCreating\"");
	assert_cell(t, 3, 2, "\"CrashLoopBackOff\"");
	assert_cell(t, 3, 3, "\"5 (3m ago)\"");
	assert_cell(t, 4, 2, "\"Completed\"");
	assert_cell(t, 5, 2, "\"Init:1/2\"");
	assert_cell(t, 6, 2, "\"Terminating\"");
	assert_cell(t, 6, 7, "\"node2\"");
	assert_cell(t, 6, 8, "\"1/1\"");
	/* Finished pods carry upstream's row condition. */
	json_t *done = json_array_get(json_object_get(t, "rows"), 4);
	assert_string_equal(json_path_str(done, "conditions.0.reason"), "Succeeded");
	/* Rows carry the metadata as PartialObjectMetadata. */
	json_t *row0 = json_array_get(json_object_get(t, "rows"), 0);
	assert_string_equal(json_path_str(row0, "object.kind"), "PartialObjectMetadata");
	assert_string_equal(json_path_str(row0, "object.apiVersion"), "meta.k8s.io/v1");
	assert_string_equal(json_path_str(row0, "object.metadata.labels.app"), "web");
	assert_null(json_path_get(row0, "object.spec"));
	json_t *cols = json_object_get(t, "columnDefinitions");
	assert_int_equal(json_array_size(cols), 9);
	assert_string_equal(json_path_str(cols, "0.format"), "name");
	assert_int_equal(json_integer_value(json_path_get(cols, "5.priority")), 1);
}

static void test_include_object(void **state)
{
	(void)state;
	cleanup_json json_t *full = table_of("", "pods", "Object");
	json_t *row0 = json_array_get(json_object_get(full, "rows"), 0);
	assert_string_equal(json_path_str(row0, "object.kind"), "Pod");
	assert_string_equal(json_path_str(row0, "object.apiVersion"), "v1");
	assert_string_equal(json_path_str(row0, "object.spec.nodeName"), "node1");
	/* The input object is not changed by embedding it. */
	assert_null(json_path_get(json_object_get(input, "pods"), "0.kind"));
	cleanup_json json_t *none = table_of("", "pods", "None");
	assert_true(json_is_null(
		json_path_get(json_array_get(json_object_get(none, "rows"), 0), "object")));
	const struct api_resource *r = api_resource_find("", "v1", "pods");
	cleanup_json json_t *nocols =
		printer_table(r, json_object_get(input, "pods"), NULL, false, NOW);
	assert_null(json_object_get(nocols, "columnDefinitions"));
	assert_string_equal(json_path_str(nocols, "kind"), "Table");
	assert_int_equal(json_object_size(json_object_get(nocols, "metadata")), 0);
}

static void test_other_cells(void **state)
{
	(void)state;
	cleanup_json json_t *nodes = table_of("", "nodes", NULL);
	assert_cell(nodes, 0, 1, "\"Ready,SchedulingDisabled\"");
	assert_cell(nodes, 0, 2, "\"control-plane,worker\"");
	assert_cell(nodes, 0, 4, "\"v1.32.0\"");
	assert_cell(nodes, 0, 5, "\"192.168.1.10\"");
	assert_cell(nodes, 0, 6, "\"<none>\"");
	assert_cell(nodes, 1, 1, "\"NotReady\"");
	assert_cell(nodes, 2, 1, "\"Unknown\"");
	assert_cell(nodes, 2, 2, "\"<none>\"");
	assert_cell(nodes, 2, 7, "\"<unknown>\"");

	cleanup_json json_t *svc = table_of("", "services", NULL);
	assert_cell(svc, 0, 3, "\"<none>\"");
	assert_cell(svc, 0, 4, "\"443/TCP\"");
	assert_cell(svc, 1, 4, "\"80:30080/TCP,53:31053/UDP\"");
	assert_cell(svc, 1, 6, "\"a=b,app=web\"");
	assert_cell(svc, 0, 6, "\"<none>\"");
	assert_cell(svc, 2, 3, "\"5.6.7.8,lb.example.com,1.2.3.4\"");
	assert_cell(svc, 3, 3, "\"<pending>\"");
	assert_cell(svc, 4, 2, "\"None\"");
	assert_cell(svc, 4, 4, "\"<none>\"");
	assert_cell(svc, 5, 2, "\"<none>\"");
	assert_cell(svc, 5, 3, "\"example.com\"");

	cleanup_json json_t *ep = table_of("", "endpoints", NULL);
	assert_cell(ep, 0, 1, "\"<none>\"");
	assert_cell(ep, 1, 1, "\"10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 5 more...\"");
	assert_cell(ep, 2, 1, "\"10.0.0.1:6443,[fd00::1]:6443\"");

	cleanup_json json_t *ev = table_of("", "events", NULL);
	assert_cell(ev, 0, 0, "\"60s\"");
	assert_cell(ev, 0, 3, "\"pod/web\"");
	assert_cell(ev, 0, 4, "\"spec.containers{nginx}\"");
	assert_cell(ev, 0, 5, "\"kubelet, node1\"");
	assert_cell(ev, 0, 6, "\"Successfully pulled image \\\"nginx\\\"\"");
	assert_cell(ev, 0, 7, "\"2m\"");
	assert_cell(ev, 0, 8, "2");
	assert_cell(ev, 1, 0, "\"10m\"");
	assert_cell(ev, 1, 8, "1");
	assert_cell(ev, 1, 5, "\"kubelet, node1\"");

	cleanup_json json_t *deploy = table_of("apps", "deployments", NULL);
	assert_cell(deploy, 0, 1, "\"2/3\"");
	assert_cell(deploy, 0, 2, "3");
	assert_cell(deploy, 0, 5, "\"nginx,side\"");
	assert_cell(deploy, 0, 6, "\"nginx:1.25,busybox\"");
	assert_cell(deploy, 0, 7, "\"app=web,!canary,env in (dev,prod),tier=front\"");
	assert_cell(deploy, 1, 1, "\"0/0\"");

	cleanup_json json_t *cs = table_of("", "componentstatuses", NULL);
	assert_cell(cs, 0, 1, "\"Healthy\"");
	assert_cell(cs, 1, 1, "\"Unhealthy\"");
	assert_cell(cs, 1, 3, "\"dial tcp: refused\"");

	cleanup_json json_t *cm = table_of("", "configmaps", NULL);
	assert_cell(cm, 0, 1, "3");

	cleanup_json json_t *es = table_of("discovery.k8s.io", "endpointslices", NULL);
	assert_cell(es, 0, 2, "\"80,named,* + 1 more...\"");
	assert_cell(es, 0, 3, "\"10.244.0.5,10.244.0.6,10.244.0.7 + 1 more...\"");
	assert_cell(es, 1, 2, "\"<unset>\"");
}

static void test_helpers(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(printer_since(NULL, NOW, b, sizeof(b)), "<unknown>");
	assert_string_equal(printer_since("junk", NOW, b, sizeof(b)), "<unknown>");
	assert_string_equal(printer_since("2026-11-23T07:59:58Z", NOW, b, sizeof(b)), "2s");
	cleanup_json json_t *sel = json_loads("{\"matchExpressions\":[{\"key\":\"a\","
					      "\"operator\":\"Bogus\"}]}",
					      0, NULL);
	cleanup_free char *s = printer_label_selector(sel);
	assert_string_equal(s, "<invalid>");
	cleanup_free char *e = printer_label_selector(NULL);
	assert_string_equal(e, "");
	cleanup_free char *m = printer_labels_map(NULL);
	assert_string_equal(m, "<none>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_goldens),	       cmocka_unit_test(test_pod_cells),
		cmocka_unit_test(test_include_object), cmocka_unit_test(test_other_cells),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
