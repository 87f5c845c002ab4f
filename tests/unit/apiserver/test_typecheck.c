#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "apiserver/status.h"
#include "apiserver/typecheck.h"

/* typecheck_body on text; NULL when it passes, else its message (new). */
static char *check(const char *kind, const char *text)
{
	json_error_t e;
	cleanup_json json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return typecheck_body(kind, v);
}

static void expect(const char *kind, const char *text, const char *want)
{
	cleanup_free char *got = check(kind, text);
	if (!want) {
		if (got)
			fail_msg("%s: unexpected error: %s", text, got);
		return;
	}
	if (!got)
		fail_msg("%s: no error, expected %s", text, want);
	assert_string_equal(got, want);
}

static void test_well_typed_bodies_pass(void **state)
{
	(void)state;
	expect("Deployment",
	       "{\"metadata\":{\"name\":\"d\",\"labels\":{\"a\":\"b\"},\"finalizers\":[\"x\"]},"
	       "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},"
	       "\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":"
	       "[{\"name\":\"c\",\"image\":\"x\",\"ports\":[{\"containerPort\":80}],"
	       "\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":128}}}]}}}}",
	       NULL);
	/* nulls are what Go leaves at the zero value */
	expect("Pod", "{\"metadata\":{\"labels\":null},\"spec\":{\"nodeName\":null}}", NULL);
	/* fields this server does not know are left alone */
	expect("Pod", "{\"spec\":{\"volumes\":\"anything\"},\"extra\":1}", NULL);
	expect("Lease", "{\"metadata\":{\"name\":\"l\"},\"spec\":{\"holderIdentity\":7}}", NULL);
	expect("Service",
	       "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":\"http\"},{\"port\":81,"
	       "\"targetPort\":8081}]}}",
	       NULL);
}

static void test_messages_are_the_decoders(void **state)
{
	(void)state;
	expect("Deployment", "{\"spec\":{\"replicas\":\"abc\"}}",
	       "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of "
	       "type int32");
	expect("Deployment", "{\"spec\":{\"replicas\":1.5}}",
	       "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas "
	       "of type int32");
	expect("ReplicaSet", "{\"spec\":{\"replicas\":-3000000000}}",
	       "json: cannot unmarshal number -3000000000 into Go struct field "
	       "ReplicaSetSpec.spec.replicas of type int32");
	expect("ConfigMap", "{\"metadata\":{\"labels\":{\"a\":1}}}",
	       "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of "
	       "type string");
	expect("ConfigMap", "{\"metadata\":{\"annotations\":[]}}",
	       "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.annotations of "
	       "type map[string]string");
	expect("Secret", "{\"metadata\":\"x\"}",
	       "json: cannot unmarshal string into Go struct field Secret.metadata of type "
	       "v1.ObjectMeta");
	expect("Event", "{\"metadata\":{\"name\":5}}",
	       "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type "
	       "string");
	/* paths run through lists without indices */
	expect("Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":true}]}}",
	       "json: cannot unmarshal bool into Go struct field Container.spec.containers.name of "
	       "type string");
	expect("Pod", "{\"spec\":{\"containers\":{}}}",
	       "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type "
	       "[]v1.Container");
	expect("Deployment",
	       "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":"
	       "\"80\"}]}]}}}}",
	       "json: cannot unmarshal string into Go struct field "
	       "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32");
	expect("Namespace", "{\"spec\":{\"finalizers\":[1]}}",
	       "json: cannot unmarshal number into Go struct field NamespaceSpec.spec.finalizers of "
	       "type string");
	/* quantities stop the decoder with their own message */
	expect("Pod", "{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"abc\"}}}]}}",
	       "quantities must match the regular expression "
	       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	expect("Node", "{\"status\":{\"capacity\":{\"cpu\":true}}}",
	       "quantities must match the regular expression "
	       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	expect("Pod", "{\"spec\":{\"containers\":[{\"resources\":{\"limits\":\"1\"}}]}}",
	       "json: cannot unmarshal string into Go struct field "
	       "ResourceRequirements.spec.containers.resources.limits of type v1.ResourceList");
	expect("Service", "{\"spec\":{\"ports\":[{\"targetPort\":true}]}}",
	       "json: cannot unmarshal bool into Go value of type int32");
	/* the first error in the body wins, but a quantity's stops everything */
	expect("Deployment", "{\"metadata\":{\"name\":1},\"spec\":{\"replicas\":\"x\"}}",
	       "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type "
	       "string");
	expect("Pod",
	       "{\"metadata\":{\"name\":1},\"spec\":{\"containers\":[{\"resources\":{\"limits\":"
	       "{\"cpu\":\"x\"}}}]}}",
	       "quantities must match the regular expression "
	       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	expect("Scale", "{\"spec\":{\"replicas\":\"2\"}}",
	       "json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type "
	       "int32");
}

/* Messages with bytes that are not UTF-8 still make a Status. */
static void test_status_of_raw_bytes(void **state)
{
	(void)state;
	cleanup_json json_t *s = status_bad_request("Invalid value: \"\xff\xc3\xa9\xe2\x82\"");
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "message")),
			    "Invalid value: \"\\xff\xc3\xa9\\xe2\\x82\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_typed_bodies_pass),
		cmocka_unit_test(test_messages_are_the_decoders),
		cmocka_unit_test(test_status_of_raw_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
