#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "buf.h"
#include "json.h"
#include "apiserver/jsonschema.h"
#include "apiserver/resource.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return v;
}

static const char widget_schema[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"spec\":{\"type\":\"object\",\"required\":[\"color\"],\"properties\":{"
	"\"color\":{\"type\":\"string\",\"enum\":[\"red\",\"green\"]},"
	"\"replicas\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10,\"default\":1},"
	"\"ratio\":{\"type\":\"number\",\"exclusiveMaximum\":true,\"maximum\":1.5},"
	"\"name\":{\"type\":\"string\",\"pattern\":\"^[a-z]+$\",\"maxLength\":5,\"minLength\":2},"
	"\"ports\":{\"type\":\"array\",\"maxItems\":2,\"items\":{\"type\":\"object\","
	"\"properties\":{\"port\":{\"type\":\"integer\"},\"proto\":{\"type\":\"string\","
	"\"default\":\"TCP\"}}}},"
	"\"labels\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
	"\"target\":{\"x-kubernetes-int-or-string\":true},"
	"\"free\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true},"
	"\"opt\":{\"type\":\"string\",\"nullable\":true}"
	"}},"
	"\"status\":{\"type\":\"object\",\"properties\":{\"ready\":{\"type\":\"boolean\"}}}}}";

/* The messages of causes (borrowed), as "<field>: <message>" lines. */
static char *lines(const json_t *causes)
{
	struct buf b = BUF_INIT;
	size_t i;
	json_t *c;
	json_array_foreach(causes, i, c)
		buf_printf(&b, "%s: %s\n", json_string_value(json_object_get(c, "field")),
			   json_string_value(json_object_get(c, "message")));
	return buf_steal(&b);
}

static void test_prune(void **state)
{
	(void)state;
	cleanup_json json_t *s = parse(widget_schema);
	cleanup_json json_t *obj = parse(
		"{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"},"
		"\"spec\":{\"color\":\"red\",\"bogus\":1,\"ports\":[{\"port\":1,\"x\":2}],"
		"\"labels\":{\"a\":\"b\"},\"free\":{\"any\":{\"deep\":[1]}}},\"top\":true}");
	cleanup_json json_t *unknown = json_array();
	jsonschema_prune(s, obj, unknown);
	cleanup_json json_t *want = parse("[\"spec.bogus\",\"spec.ports[0].x\",\"top\"]");
	assert_true(json_equal(unknown, want));
	cleanup_json json_t *after = parse(
		"{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"},"
		"\"spec\":{\"color\":\"red\",\"ports\":[{\"port\":1}],\"labels\":{\"a\":\"b\"},"
		"\"free\":{\"any\":{\"deep\":[1]}}}}");
	assert_true(json_equal(obj, after));
	/* a second pass finds nothing */
	cleanup_json json_t *again = json_array();
	jsonschema_prune(s, obj, again);
	assert_int_equal(json_array_size(again), 0);
}

static void test_default(void **state)
{
	(void)state;
	cleanup_json json_t *s = parse(widget_schema);
	cleanup_json json_t *obj =
		parse("{\"spec\":{\"color\":\"red\",\"ports\":[{\"port\":80},{\"port\":53,"
		      "\"proto\":\"UDP\"}],\"opt\":null}}");
	jsonschema_default(s, obj);
	assert_int_equal(json_integer_value(json_path_get(obj, "spec.replicas")), 1);
	json_t *ports = json_path_get(obj, "spec.ports");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 0), "proto")),
			    "TCP");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 1), "proto")),
			    "UDP");
	/* no default reaches into an object the object does not have */
	assert_null(json_object_get(obj, "status"));
	/* a given value stays */
	cleanup_json json_t *o2 = parse("{\"spec\":{\"color\":\"red\",\"replicas\":4}}");
	jsonschema_default(s, o2);
	assert_int_equal(json_integer_value(json_path_get(o2, "spec.replicas")), 4);
}

static void test_validate_ok(void **state)
{
	(void)state;
	cleanup_json json_t *s = parse(widget_schema);
	cleanup_json json_t *obj = parse(
		"{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"},"
		"\"spec\":{\"color\":\"green\",\"replicas\":10,\"ratio\":1.25,\"name\":\"abc\","
		"\"ports\":[{\"port\":1}],\"labels\":{\"a\":\"b\"},\"target\":\"80%\",\"opt\":null},"
		"\"status\":{\"ready\":true}}");
	cleanup_json json_t *causes = json_array();
	jsonschema_validate(s, obj, causes);
	cleanup_free char *got = lines(causes);
	assert_string_equal(got, "");
	cleanup_json json_t *o2 = parse("{\"spec\":{\"color\":\"red\",\"target\":8080,\"replicas\":2.0}}");
	jsonschema_validate(s, o2, causes);
	assert_int_equal(json_array_size(causes), 0);
}

static void test_validate_messages(void **state)
{
	(void)state;
	cleanup_json json_t *s = parse(widget_schema);
	cleanup_json json_t *obj =
		parse("{\"spec\":{\"color\":\"blue\",\"replicas\":20,\"ratio\":1.5,\"name\":\"ABCDEFG\","
		      "\"ports\":[{\"port\":\"x\"},{},{}],\"labels\":{\"a\":1},\"target\":true},"
		      "\"status\":{\"ready\":\"yes\"}}");
	cleanup_json json_t *causes = json_array();
	jsonschema_validate(s, obj, causes);
	cleanup_free char *got = lines(causes);
	assert_string_equal(
		got,
		"spec.color: Unsupported value: \"blue\": supported values: \"red\", \"green\"\n"
		"spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal "
		"to 10\n"
		"spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1.5\n"
		"spec.name: Too long: may not be more than 5 bytes\n"
		"spec.name: Invalid value: \"ABCDEFG\": spec.name in body should match '^[a-z]+$'\n"
		"spec.ports: Too many: 3: must have at most 2 items\n"
		"spec.ports[0].port: Invalid value: \"x\": spec.ports[0].port in body must be of type "
		"integer: \"string\"\n"
		"spec.labels.a: Invalid value: 1: spec.labels.a in body must be of type string: "
		"\"integer\"\n"
		"spec.target: Invalid value: true: spec.target in body must be of type "
		"integer,string: \"boolean\"\n"
		"status.ready: Invalid value: \"yes\": status.ready in body must be of type boolean: "
		"\"string\"\n");
	cleanup_json json_t *missing = parse("{\"spec\":{\"name\":\"a\",\"replicas\":-1}}");
	cleanup_json json_t *c2 = json_array();
	jsonschema_validate(s, missing, c2);
	cleanup_free char *got2 = lines(c2);
	/* findings in document order */
	assert_string_equal(got2, "spec.color: Required value\n"
				  "spec.name: Invalid value: \"a\": spec.name in body should be at "
				  "least 2 chars long\n"
				  "spec.replicas: Invalid value: -1: spec.replicas in body should be "
				  "greater than or equal to 0\n");
}

static void test_check_structural(void **state)
{
	(void)state;
	cleanup_json json_t *good = parse(widget_schema);
	cleanup_json json_t *causes = json_array();
	jsonschema_check(good, "s", causes);
	cleanup_free char *none = lines(causes);
	assert_string_equal(none, "");

	cleanup_json json_t *bad = parse(
		"{\"type\":\"object\",\"properties\":{\"spec\":{\"properties\":{\"a\":{\"type\":"
		"\"strin\"},\"b\":{\"type\":\"array\"},\"c\":{\"type\":\"integer\",\"default\":\"x\"},"
		"\"d\":{\"type\":\"object\",\"properties\":{\"e\":{\"type\":\"string\"}},"
		"\"additionalProperties\":{\"type\":\"string\"}},\"f\":{\"type\":\"array\","
		"\"uniqueItems\":true,\"items\":{\"type\":\"string\"}}}}}}");
	cleanup_json json_t *c2 = json_array();
	jsonschema_check(bad, "o", c2);
	cleanup_free char *got = lines(c2);
	assert_string_equal(
		got,
		"o.properties[spec].type: Required value: must not be empty for specified object "
		"fields\n"
		"o.properties[spec].properties[a].type: Unsupported value: \"strin\": supported "
		"values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"\n"
		"o.properties[spec].properties[b].items: Required value: must be specified\n"
		"o.properties[spec].properties[c].default: Invalid value: \"x\": "
		"o.properties[spec].properties[c].default in body must be of type integer: "
		"\"string\"\n"
		"o.properties[spec].properties[d].additionalProperties: Forbidden: "
		"additionalProperties and properties are mutual exclusive\n"
		"o.properties[spec].properties[f].uniqueItems: Forbidden: uniqueItems cannot be set "
		"to true since the runtime complexity becomes quadratic\n");
	cleanup_json json_t *root = parse("{\"type\":\"string\"}");
	cleanup_json json_t *c3 = json_array();
	jsonschema_check(root, "r", c3);
	cleanup_free char *got3 = lines(c3);
	assert_string_equal(got3, "r.type: Invalid value: \"string\": must be object at the root\n");
}

static void test_at(void **state)
{
	(void)state;
	cleanup_json json_t *s = parse(widget_schema);
	const json_t *r = jsonschema_at(s, "spec.replicas");
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "type")), "integer");
	assert_null(jsonschema_at(s, "spec.nothing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_validate_ok),
		cmocka_unit_test(test_validate_messages),
		cmocka_unit_test(test_check_structural),
		cmocka_unit_test(test_at),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
