#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "apiserver/crd.h"
#include "apiserver/resource.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s", e.text);
	return v;
}

static const char good[] =
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
	"\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\","
	"\"scope\":\"Namespaced\",\"names\":{\"plural\":\"widgets\",\"kind\":\"Widget\"},"
	"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":{"
	"\"openAPIV3Schema\":{\"type\":\"object\"}}}]}}";

static char *messages(const json_t *causes)
{
	struct buf b = BUF_INIT;
	cleanup_free char *m = api_causes_message(causes);
	buf_append_str(&b, m);
	return buf_steal(&b);
}

static void test_defaults_and_status(void **state)
{
	(void)state;
	cleanup_json json_t *crd = parse(good);
	crd_prepare_create(crd);
	assert_string_equal(json_path_str(crd, "spec.names.singular"), "widget");
	assert_string_equal(json_path_str(crd, "spec.names.listKind"), "WidgetList");
	assert_string_equal(json_path_str(crd, "spec.conversion.strategy"), "None");
	json_t *conds = json_path_get(crd, "status.conditions");
	assert_int_equal(json_array_size(conds), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(conds, 0), "type")),
			    "NamesAccepted");
	assert_string_equal(json_string_value(json_object_get(json_array_get(conds, 1), "type")),
			    "Established");
	assert_string_equal(json_string_value(json_object_get(json_array_get(conds, 1), "status")),
			    "True");
	assert_string_equal(json_path_str(crd, "status.acceptedNames.listKind"), "WidgetList");
	assert_string_equal(
		json_string_value(json_array_get(json_path_get(crd, "status.storedVersions"), 0)), "v1");
	assert_string_equal(
		json_string_value(json_array_get(json_path_get(crd, "metadata.finalizers"), 0)),
		"customresourcecleanup.apiextensions.k8s.io");
	cleanup_json json_t *causes = json_array();
	crd_validate(crd, NULL, causes);
	assert_int_equal(json_array_size(causes), 0);
	/* an update keeps the conditions' times and adds a new storage version */
	cleanup_json json_t *next = json_deep_copy(crd);
	json_t *versions = json_path_get(next, "spec.versions");
	json_object_set_new(json_array_get(versions, 0), "storage", json_false());
	json_array_append_new(versions, parse("{\"name\":\"v2\",\"served\":true,\"storage\":true,"
					      "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\"}}}"));
	crd_prepare_update(next, crd);
	json_t *stored = json_path_get(next, "status.storedVersions");
	assert_int_equal(json_array_size(stored), 2);
	assert_string_equal(json_string_value(json_array_get(stored, 1)), "v2");
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_path_get(next, "status.conditions"), 0), "lastTransitionTime")),
		json_string_value(json_object_get(
			json_array_get(json_path_get(crd, "status.conditions"), 0), "lastTransitionTime")));
}

static void test_validate(void **state)
{
	(void)state;
	cleanup_json json_t *crd = parse(
		"{\"metadata\":{\"name\":\"things.example.com\"},\"spec\":{\"group\":\"example\","
		"\"scope\":\"Global\",\"names\":{\"plural\":\"Widgets\",\"singular\":\"widget\","
		"\"kind\":\"Widget\",\"listKind\":\"Widget\",\"shortNames\":[\"w_x\"]},"
		"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true},"
		"{\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":"
		"{\"type\":\"object\"}},\"subresources\":{\"scale\":{\"specReplicasPath\":"
		"\".status.r\",\"statusReplicasPath\":\".status.r\"}},\"additionalPrinterColumns\":"
		"[{\"name\":\"X\",\"type\":\"text\",\"jsonPath\":\".spec.x\"}]}]}}");
	cleanup_json json_t *causes = json_array();
	crd_validate(crd, NULL, causes);
	cleanup_free char *got = messages(causes);
	assert_string_equal(
		got,
		"[metadata.name: Invalid value: \"things.example.com\": must be "
		"spec.names.plural+\".\"+spec.group, "
		"spec.group: Invalid value: \"example\": should be a domain with at least one dot, "
		"spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", "
		"\"Namespaced\", "
		"spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required, "
		"spec.versions[1].subresources.scale.specReplicasPath: Invalid value: \".status.r\": "
		"should be a json path under .spec, "
		"spec.versions[1].additionalPrinterColumns[0].type: Unsupported value: \"text\": "
		"supported values: \"boolean\", \"date\", \"integer\", \"number\", \"string\", "
		"spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{"
		"apiextensions.CustomResourceDefinitionVersion{Name:\"v1\", Served:true, Storage:true, "
		"...}, apiextensions.CustomResourceDefinitionVersion{Name:\"v1\", Served:true, "
		"Storage:true, ...}}: must contain unique version names, "
		"spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{"
		"apiextensions.CustomResourceDefinitionVersion{Name:\"v1\", Served:true, Storage:true, "
		"...}, apiextensions.CustomResourceDefinitionVersion{Name:\"v1\", Served:true, "
		"Storage:true, ...}}: must have exactly one version marked as storage version, "
		"spec.names.plural: Invalid value: \"Widgets\": a DNS-1035 label must consist of lower "
		"case alphanumeric characters or '-', start with an alphabetic character, and end "
		"with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
		"validation is '[a-z]([-a-z0-9]*[a-z0-9])?'), "
		"spec.names.listKind: Invalid value: \"Widget\": kind and listKind may not be the "
		"same, "
		"spec.names.shortNames[0]: Invalid value: \"w_x\": a DNS-1035 label must consist of "
		"lower case alphanumeric characters or '-', start with an alphabetic character, and "
		"end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
		"validation is '[a-z]([-a-z0-9]*[a-z0-9])?')]");
	/* group, plural and scope are immutable */
	cleanup_json json_t *old = parse(good);
	cleanup_json json_t *changed = parse(good);
	json_path_set(changed, "spec.scope", json_string("Cluster"));
	cleanup_json json_t *c2 = json_array();
	crd_defaults(old);
	crd_defaults(changed);
	crd_validate(changed, old, c2);
	cleanup_free char *got2 = messages(c2);
	assert_string_equal(got2, "spec.scope: Invalid value: \"Cluster\": field is immutable");
}

static void test_no_registry(void **state)
{
	(void)state;
	/* without a started registry nothing custom is served */
	assert_null(crd_resource_find("example.com", "v1", "widgets"));
	size_t n = 1;
	const struct api_resource **rows = crd_resources(&n);
	assert_int_equal(n, 0);
	free(rows);
	crd_registry_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_status),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_no_registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
