#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
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
	/* unknown fields are for strict decoding, not type errors */
	expect("Pod", "{\"spec\":{\"volumez\":\"anything\"},\"extra\":1}", NULL);
	/* free-form fields take anything */
	expect("Pod", "{\"metadata\":{\"managedFields\":[{\"fieldsV1\":{\"f:a\":{}}}]}}", NULL);
	expect("Pod",
	       "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{\"sizeLimit\":\"1Gi\"}}],"
	       "\"containers\":[{\"name\":\"c\",\"livenessProbe\":{\"httpGet\":{\"port\":\"http\"},"
	       "\"periodSeconds\":3},\"securityContext\":{\"runAsUser\":1000,\"privileged\":false}}]}}",
	       NULL);
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
	/* every field of the schema is checked: volumes, probes, security contexts */
	expect("Pod", "{\"spec\":{\"volumes\":\"anything\"}}",
	       "json: cannot unmarshal string into Go struct field PodSpec.spec.volumes of type "
	       "[]v1.Volume");
	expect("Lease", "{\"spec\":{\"holderIdentity\":7}}",
	       "json: cannot unmarshal number into Go struct field LeaseSpec.spec.holderIdentity of "
	       "type string");
	expect("Deployment",
	       "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"readinessProbe\":"
	       "{\"periodSeconds\":\"5\"}}]}}}}",
	       "json: cannot unmarshal string into Go struct field "
	       "Probe.spec.template.spec.containers.readinessProbe.periodSeconds of type int32");
	expect("Pod", "{\"spec\":{\"securityContext\":{\"runAsNonRoot\":\"yes\"}}}",
	       "json: cannot unmarshal string into Go struct field "
	       "PodSecurityContext.spec.securityContext.runAsNonRoot of type bool");
	expect("Service", "{\"spec\":{\"healthCheckNodePort\":\"abc\"}}",
	       "json: cannot unmarshal string into Go struct field "
	       "ServiceSpec.spec.healthCheckNodePort of type int32");
	expect("ReplicaSet", "{\"spec\":{\"minReadySeconds\":true}}",
	       "json: cannot unmarshal bool into Go struct field ReplicaSetSpec.spec.minReadySeconds "
	       "of type int32");
	expect("Deployment", "{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":[]}}}}",
	       "json: cannot unmarshal array into Go value of type int32");
	expect("Pod", "{\"metadata\":{\"creationTimestamp\":5}}",
	       "json: cannot unmarshal number into Go value of type string");
	expect("Scale", "{\"spec\":{\"replicas\":\"2\"}}",
	       "json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type "
	       "int32");
}

/* typecheck_strict on text with its duplicated keys; the findings joined
 * by ", " ("" for none) and the object after pruning. */
static void strict(const char *kind, const char *text, unsigned flags, const char *want,
		   const char *want_after)
{
	json_error_t e;
	cleanup_json json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	cleanup_json json_t *dups = json_duplicate_keys(text, strlen(text));
	cleanup_json json_t *found = typecheck_strict(kind, v, dups, flags);
	struct buf b = BUF_INIT;
	size_t i;
	json_t *f;
	json_array_foreach(found, i, f)
	{
		if (i)
			buf_append_str(&b, ", ");
		buf_append_str(&b, json_string_value(f));
	}
	assert_string_equal(buf_str(&b), want);
	buf_free(&b);
	if (want_after) {
		cleanup_free char *after = json_dump_compact(v);
		assert_string_equal(after, want_after);
	}
}

static void test_strict_decoding(void **state)
{
	(void)state;
	/* upstream's own example body, reported in document order */
	strict("Deployment",
	       "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a\","
	       "\"name\":\"b\",\"unknownMeta\":\"x\"},\"spec\":{\"unknown1\":1,\"unknownDupe\":1,"
	       "\"unknownDupe\":2,\"paused\":true,\"paused\":false,\"selector\":{},\"template\":"
	       "{\"spec\":{\"containers\":[{\"name\":\"c\",\"unknownNested\":1,"
	       "\"imagePullPolicy\":\"Always\",\"imagePullPolicy\":\"Never\"}]}}}}",
	       TYPECHECK_PRUNE,
	       "duplicate field \"metadata.name\", unknown field \"metadata.unknownMeta\", "
	       "unknown field \"spec.unknown1\", unknown field \"spec.unknownDupe\", "
	       "duplicate field \"spec.paused\", unknown field "
	       "\"spec.template.spec.containers[0].unknownNested\", duplicate field "
	       "\"spec.template.spec.containers[0].imagePullPolicy\"",
	       "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"b\"},"
	       "\"spec\":{\"paused\":false,\"selector\":{},\"template\":{\"spec\":{\"containers\":"
	       "[{\"name\":\"c\",\"imagePullPolicy\":\"Never\"}]}}}}");
	strict("Deployment", "{\"spec\":{\"replica\":3}}", 0, "unknown field \"spec.replica\"",
	       "{\"spec\":{\"replica\":3}}");
	/* a patched object is reported in key order */
	strict("Deployment", "{\"spec\":{\"template\":{\"spec\":{\"x\":1}},\"replica\":3}}",
	       TYPECHECK_SORTED,
	       "unknown field \"spec.replica\", unknown field \"spec.template.spec.x\"", NULL);
	/* maps, free-form fields and status are not unknown fields */
	strict("Pod",
	       "{\"metadata\":{\"labels\":{\"x\":\"y\"},\"managedFields\":[{\"fieldsV1\":"
	       "{\"f:any\":{}}}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\"}}",
	       TYPECHECK_PRUNE, "", NULL);
	strict("Service", "{\"spec\":{\"ports\":[{\"port\":1},{\"prot\":2}]}}", TYPECHECK_PRUNE,
	       "unknown field \"spec.ports[1].prot\"", "{\"spec\":{\"ports\":[{\"port\":1},{}]}}");
	/* a kind without a schema is not checked */
	cleanup_json json_t *v = json_pack("{s:i}", "x", 1);
	assert_null(typecheck_strict("NodeMetrics", v, NULL, TYPECHECK_PRUNE));
	assert_non_null(json_object_get(v, "x"));
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	const char *text = "{\"a\":{\"b\":1,\"b\":2,\"b\":3},\"l\":[{\"x\":1},{\"x\":1,\"x\":[{}]}],"
			   "\"s\":\"{\\\"a\\\":1,\\\"a\\\":2}\",\"a\":null,\"\\u00e9\":1,\"\u00e9\":2}";
	cleanup_json json_t *d = json_duplicate_keys(text, strlen(text));
	cleanup_free char *got = json_dump_compact(d);
	assert_string_equal(got, "[\"a.b\",\"l[1].x\",\"a\",\"\u00e9\"]");
	cleanup_json json_t *none = json_duplicate_keys("[1,{\"a\":[]}]", 13);
	assert_int_equal(json_array_size(none), 0);
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
		cmocka_unit_test(test_strict_decoding),
		cmocka_unit_test(test_duplicate_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
