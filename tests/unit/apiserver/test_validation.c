#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/resource.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return v;
}

static const struct api_resource *row(const char *api_version, const char *kind)
{
	const struct api_resource *r = api_resource_by_kind(api_version, kind);
	assert_non_null(r);
	return r;
}

/* Defaults then validation, as the handlers run them; returns the causes
 * as "<field>: <message>" joined with "; ". */
static char *check(const char *api_version, const char *kind, json_t *obj, const json_t *old)
{
	const struct api_resource *r = row(api_version, kind);
	if (r->defaults)
		r->defaults(obj);
	cleanup_json json_t *causes = json_array();
	if (r->validate)
		r->validate(obj, old, causes);
	size_t i;
	json_t *c;
	char *out = strdup("");
	json_array_foreach(causes, i, c)
	{
		const char *msg = json_string_value(json_object_get(c, "message"));
		const char *field = json_string_value(json_object_get(c, "field"));
		const char *reason = json_string_value(json_object_get(c, "reason"));
		assert_non_null(msg);
		assert_non_null(field);
		assert_non_null(reason);
		/* Upstream's cause messages do not repeat the field. */
		assert_true(strncmp(msg, field, strlen(field)) != 0);
		char *n;
		assert_true(asprintf(&n, "%s%s%s: %s", out, i ? "; " : "", field, msg) > 0);
		free(out);
		out = n;
	}
	return out;
}

static void test_pod_defaults(void **state)
{
	(void)state;
	cleanup_json json_t *pod =
		parse("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":["
		      "{\"name\":\"a\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":80}]},"
		      "{\"name\":\"b\",\"image\":\"nginx:1.25\"},"
		      "{\"name\":\"c\",\"image\":\"localhost:5000/x\"},"
		      "{\"name\":\"d\",\"image\":\"x:latest\"},"
		      "{\"name\":\"e\",\"image\":\"x@sha256:abc\"}]}}");
	cleanup_free char *errs = check("v1", "Pod", pod, NULL);
	assert_string_equal(errs, "");
	json_t *spec = json_object_get(pod, "spec");
	assert_string_equal(json_path_str(spec, "restartPolicy"), "Always");
	assert_string_equal(json_path_str(spec, "dnsPolicy"), "ClusterFirst");
	assert_int_equal(json_integer_value(json_object_get(spec, "terminationGracePeriodSeconds")),
			 30);
	assert_string_equal(json_path_str(spec, "schedulerName"), "default-scheduler");
	/* the service account and the NoExecute tolerations are admission's
	 * (test_admission) */
	assert_null(json_object_get(spec, "serviceAccountName"));
	assert_null(json_object_get(spec, "tolerations"));
	assert_string_equal(json_path_str(spec, "containers.0.imagePullPolicy"), "Always");
	assert_string_equal(json_path_str(spec, "containers.1.imagePullPolicy"), "IfNotPresent");
	assert_string_equal(json_path_str(spec, "containers.2.imagePullPolicy"), "Always");
	assert_string_equal(json_path_str(spec, "containers.3.imagePullPolicy"), "Always");
	assert_string_equal(json_path_str(spec, "containers.4.imagePullPolicy"), "IfNotPresent");
	assert_string_equal(json_path_str(spec, "containers.0.terminationMessagePath"),
			    "/dev/termination-log");
	assert_string_equal(json_path_str(spec, "containers.0.terminationMessagePolicy"), "File");
	assert_string_equal(json_path_str(spec, "containers.0.ports.0.protocol"), "TCP");
	/* Defaulting twice changes nothing. */
	cleanup_json json_t *again = json_copy_deep(pod);
	row("v1", "Pod")->defaults(again);
	assert_true(json_equal(again, pod));

	const struct api_resource *r = row("v1", "Pod");
	json_object_set_new(pod, "status", parse("{\"phase\":\"Running\"}"));
	r->prepare_create(pod);
	assert_string_equal(json_path_str(pod, "status.phase"), "Pending");
	assert_string_equal(json_path_str(pod, "status.qosClass"), "BestEffort");
	cleanup_json json_t *old =
		parse("{\"status\":{\"phase\":\"Running\",\"podIP\":\"1.2.3.4\"}}");
	r->prepare_update(pod, old);
	assert_string_equal(json_path_str(pod, "status.podIP"), "1.2.3.4");
}

static void test_pod_qos(void **state)
{
	(void)state;
	const struct api_resource *r = row("v1", "Pod");
	cleanup_json json_t *g =
		parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\","
		      "\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}]}}");
	r->defaults(g);
	assert_string_equal(json_path_str(g, "spec.containers.0.resources.requests.cpu"), "1");
	r->prepare_create(g);
	assert_string_equal(json_path_str(g, "status.qosClass"), "Guaranteed");
	cleanup_json json_t *b = parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\","
				       "\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}]}}");
	r->defaults(b);
	r->prepare_create(b);
	assert_string_equal(json_path_str(b, "status.qosClass"), "Burstable");
}

static void test_pod_validation(void **state)
{
	(void)state;
	cleanup_json json_t *empty = parse("{\"spec\":{}}");
	cleanup_free char *e1 = check("v1", "Pod", empty, NULL);
	assert_string_equal(e1, "spec.containers: Required value");

	cleanup_json json_t *bad =
		parse("{\"spec\":{\"restartPolicy\":\"Sometimes\",\"containers\":["
		      "{\"name\":\"web\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":70000},"
		      "{\"containerPort\":80,\"protocol\":\"XYZ\"}]},"
		      "{\"name\":\"web\",\"image\":\"\"},{\"image\":\"x\"},{\"name\":\"Bad_Name\","
		      "\"image\":\"x\"}]}}");
	cleanup_free char *e2 = check("v1", "Pod", bad, NULL);
	assert_string_equal(
		e2,
		"spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between "
		"1 "
		"and 65535, inclusive; "
		"spec.containers[0].ports[1].protocol: Unsupported value: \"XYZ\": supported "
		"values: "
		"\"SCTP\", \"TCP\", \"UDP\"; "
		"spec.containers[1].name: Duplicate value: \"web\"; "
		"spec.containers[1].image: Required value; "
		"spec.containers[2].name: Required value; "
		"spec.containers[3].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label "
		"must consist of lower case alphanumeric characters or '-', and must start and end "
		"with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
		"validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'); "
		"spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: "
		"\"Always\", \"OnFailure\", \"Never\"");

	/* Updates may change images but not the rest of the spec. */
	cleanup_json json_t *old =
		parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\"}]}}");
	row("v1", "Pod")->defaults(old);
	cleanup_json json_t *img =
		parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:2\"}]}}");
	cleanup_free char *e3 = check("v1", "Pod", img, old);
	assert_string_equal(e3, "");
	cleanup_json json_t *more =
		parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\"},"
		      "{\"name\":\"b\",\"image\":\"y\"}]}}");
	cleanup_free char *e4 = check("v1", "Pod", more, old);
	assert_non_null(
		strstr(e4, "spec: Forbidden: pod updates may not change fields other than"));
}

static void test_deployment(void **state)
{
	(void)state;
	cleanup_json json_t *d =
		parse("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"matchLabels\":{"
		      "\"app\":\"web\"}},"
		      "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
		      "\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\"}]}}}}");
	cleanup_free char *e1 = check("apps/v1", "Deployment", d, NULL);
	assert_string_equal(e1, "");
	json_t *spec = json_object_get(d, "spec");
	assert_int_equal(json_integer_value(json_object_get(spec, "replicas")), 1);
	assert_string_equal(json_path_str(spec, "strategy.type"), "RollingUpdate");
	assert_string_equal(json_path_str(spec, "strategy.rollingUpdate.maxSurge"), "25%");
	assert_string_equal(json_path_str(spec, "strategy.rollingUpdate.maxUnavailable"), "25%");
	assert_int_equal(json_integer_value(json_object_get(spec, "revisionHistoryLimit")), 10);
	assert_int_equal(json_integer_value(json_object_get(spec, "progressDeadlineSeconds")), 600);
	assert_string_equal(json_path_str(spec, "template.spec.restartPolicy"), "Always");
	assert_string_equal(json_path_str(spec, "template.spec.containers.0.imagePullPolicy"),
			    "Always");
	/* Admission-only pod fields stay off templates. */
	assert_null(json_path_get(spec, "template.spec.serviceAccountName"));
	assert_null(json_path_get(spec, "template.spec.tolerations"));

	cleanup_json json_t *mismatch =
		parse("{\"spec\":{\"replicas\":-1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
		      "\"template\":{\"metadata\":{\"labels\":{\"app\":\"api\",\"tier\":\"x\"}},"
		      "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\","
		      "\"image\":\"i\"}]}}}}");
	cleanup_free char *e2 = check("apps/v1", "Deployment", mismatch, NULL);
	assert_string_equal(
		e2,
		"spec.replicas: Invalid value: -1: must be greater than or equal to 0; "
		"spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"api\", "
		"\"tier\":\"x\"}: `selector` does not match template `labels`; "
		"spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported "
		"values: \"Always\"");

	cleanup_json json_t *nosel = parse("{\"spec\":{\"template\":{\"spec\":{\"containers\":["
					   "{\"name\":\"c\",\"image\":\"i\"}]}}}}");
	cleanup_free char *e3 = check("apps/v1", "Deployment", nosel, NULL);
	assert_string_equal(e3, "spec.selector: Required value");

	cleanup_json json_t *recreate = parse(
		"{\"spec\":{\"strategy\":{\"type\":\"Recreate\"},\"selector\":{\"matchLabels\":{"
		"\"a\":\"b\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":["
		"{\"name\":\"c\",\"image\":\"i\"}]}}}}");
	cleanup_free char *e4 = check("apps/v1", "Deployment", recreate, NULL);
	assert_string_equal(e4, "");
	assert_null(json_path_get(recreate, "spec.strategy.rollingUpdate"));

	cleanup_json json_t *zero = parse(
		"{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":0,\"maxUnavailable\":\"0%"
		"\"}},"
		"\"selector\":{\"matchLabels\":{\"a\":\"b\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":["
		"{\"name\":\"c\",\"image\":\"i\"}]}}}}");
	cleanup_free char *e5 = check("apps/v1", "Deployment", zero, NULL);
	assert_string_equal(e5,
			    "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": "
			    "may not be 0 when `maxSurge` is 0");

	/* The selector is immutable. */
	cleanup_json json_t *changed = json_copy_deep(d);
	json_path_set(changed, "spec.selector.matchLabels.app", json_string("web2"));
	json_path_set(changed, "spec.template.metadata.labels.app", json_string("web2"));
	cleanup_free char *e6 = check("apps/v1", "Deployment", changed, d);
	assert_string_equal(e6, "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:"
				"map[string]string{\"app\":\"web2\"}, MatchExpressions:"
				"[]v1.LabelSelectorRequirement(nil)}: field is immutable");

	const struct api_resource *r = row("apps/v1", "Deployment");
	json_object_set_new(d, "status", parse("{\"replicas\":3}"));
	r->prepare_create(d);
	assert_int_equal(json_object_size(json_object_get(d, "status")), 0);
}

static void test_replicaset(void **state)
{
	(void)state;
	cleanup_json json_t *rs =
		parse("{\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":\"app\","
		      "\"operator\":\"In\","
		      "\"values\":[\"a\",\"b\"]}]},\"template\":{\"metadata\":{\"labels\":{\"app\":"
		      "\"b\"}},"
		      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}");
	cleanup_free char *e = check("apps/v1", "ReplicaSet", rs, NULL);
	assert_string_equal(e, "");
	assert_int_equal(json_integer_value(json_path_get(rs, "spec.replicas")), 1);
	cleanup_json json_t *empty = parse("{\"spec\":{\"selector\":{},\"template\":{\"spec\":{"
					   "\"containers\":[{\"name\":\"c\","
					   "\"image\":\"i\"}]}}}}");
	cleanup_free char *e2 = check("apps/v1", "ReplicaSet", empty, NULL);
	assert_string_equal(e2, "spec.selector: Invalid value: &v1.LabelSelector{MatchLabels:"
				"map[string]string(nil), MatchExpressions:"
				"[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid "
				"for replicaset");
}

static void test_service(void **state)
{
	(void)state;
	cleanup_json json_t *svc = parse("{\"spec\":{\"selector\":{\"app\":\"web\"},"
					 "\"ports\":[{\"port\":80}]}}");
	cleanup_free char *e1 = check("v1", "Service", svc, NULL);
	assert_string_equal(e1, "");
	json_t *spec = json_object_get(svc, "spec");
	assert_string_equal(json_path_str(spec, "type"), "ClusterIP");
	assert_string_equal(json_path_str(spec, "sessionAffinity"), "None");
	assert_string_equal(json_path_str(spec, "ports.0.protocol"), "TCP");
	assert_int_equal(json_integer_value(json_path_get(spec, "ports.0.targetPort")), 80);
	assert_string_equal(json_path_str(spec, "ipFamilies.0"), "IPv4");
	assert_string_equal(json_path_str(spec, "ipFamilyPolicy"), "SingleStack");
	assert_string_equal(json_path_str(spec, "internalTrafficPolicy"), "Cluster");
	assert_null(json_object_get(spec, "externalTrafficPolicy"));

	cleanup_json json_t *np = parse("{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,"
					"\"targetPort\":\"http\"}]}}");
	cleanup_free char *e2 = check("v1", "Service", np, NULL);
	assert_string_equal(e2, "");
	assert_string_equal(json_path_str(np, "spec.externalTrafficPolicy"), "Cluster");
	assert_string_equal(json_path_str(np, "spec.ports.0.targetPort"), "http");

	cleanup_json json_t *noports = parse("{\"spec\":{}}");
	cleanup_free char *e3 = check("v1", "Service", noports, NULL);
	assert_string_equal(e3, "spec.ports: Required value");
	cleanup_json json_t *headless = parse("{\"spec\":{\"clusterIP\":\"None\"}}");
	cleanup_free char *e4 = check("v1", "Service", headless, NULL);
	assert_string_equal(e4, "");

	cleanup_json json_t *bad = parse(
		"{\"spec\":{\"type\":\"Weird\",\"ports\":[{\"port\":0},{\"name\":\"a\",\"port\":80,"
		"\"protocol\":\"ICMP\",\"nodePort\":30001},{\"name\":\"a\",\"port\":81}]}}");
	cleanup_free char *e5 = check("v1", "Service", bad, NULL);
	assert_string_equal(
		e5, "spec.type: Unsupported value: \"Weird\": supported values: \"ClusterIP\", "
		    "\"ExternalName\", \"LoadBalancer\", \"NodePort\"; "
		    "spec.ports[0].name: Required value; "
		    "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive; "
		    "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, "
		    "inclusive; "
		    "spec.ports[1].protocol: Unsupported value: \"ICMP\": supported values: "
		    "\"SCTP\", \"TCP\", \"UDP\"; "
		    "spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'Weird'; "
		    "spec.ports[2].name: Duplicate value: \"a\"");
	cleanup_json json_t *ext = parse("{\"spec\":{\"type\":\"ExternalName\"}}");
	cleanup_free char *e6 = check("v1", "Service", ext, NULL);
	assert_string_equal(e6, "spec.externalName: Required value");
	cleanup_json json_t *badip =
		parse("{\"spec\":{\"clusterIP\":\"abc\",\"ports\":[{\"port\":1}]}}");
	cleanup_free char *e7 = check("v1", "Service", badip, NULL);
	assert_string_equal(e7, "spec.clusterIPs[0]: Invalid value: \"abc\": must be a valid IP "
				"address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
	/* healthCheckNodePort: only for LoadBalancer + eTP Local, fixed once held. */
	cleanup_json json_t *hc = parse("{\"spec\":{\"type\":\"NodePort\",\"healthCheckNodePort\":"
					"30001,\"ports\":[{\"port\":1}]}}");
	cleanup_free char *e8 = check("v1", "Service", hc, NULL);
	assert_string_equal(e8, "spec.healthCheckNodePort: Invalid value: 30001: may only be set "
				"when `type` is 'LoadBalancer' and `externalTrafficPolicy` is "
				"'Local'");
	cleanup_json json_t *zero = parse("{\"spec\":{\"healthCheckNodePort\":0,"
					  "\"ports\":[{\"port\":1}]}}");
	cleanup_free char *e9 = check("v1", "Service", zero, NULL);
	assert_string_equal(e9, "");
	assert_null(json_path_get(zero, "spec.healthCheckNodePort"));
	cleanup_json json_t *neg =
		parse("{\"spec\":{\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":"
		      "\"Local\",\"healthCheckNodePort\":-1,\"ports\":[{\"port\":1}]}}");
	cleanup_free char *e10 = check("v1", "Service", neg, NULL);
	assert_string_equal(e10, "spec.healthCheckNodePort: Invalid value: -1: must be between 1 "
				 "and 65535, inclusive");
	cleanup_json json_t *old =
		parse("{\"spec\":{\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":"
		      "\"Local\",\"healthCheckNodePort\":30001,\"ports\":[{\"port\":1}]}}");
	cleanup_json json_t *moved = json_copy_deep(old);
	json_path_set(moved, "spec.healthCheckNodePort", json_integer(30002));
	cleanup_free char *e11 = check("v1", "Service", moved, old);
	assert_string_equal(e11, "spec.healthCheckNodePort: Forbidden: field is immutable");
	/* Off with the old value left in: an update drops it. */
	cleanup_json json_t *off = json_copy_deep(old);
	json_path_set(off, "spec.externalTrafficPolicy", json_string("Cluster"));
	row("v1", "Service")->prepare_update(off, old);
	cleanup_free char *e12 = check("v1", "Service", off, old);
	assert_string_equal(e12, "");
	assert_null(json_path_get(off, "spec.healthCheckNodePort"));
}

/* A ClusterIP Service with ports and the given extra spec members, checked. */
static char *check_service_with(const char *extra)
{
	char *text;
	assert_true(asprintf(&text, "{\"spec\":{\"ports\":[{\"port\":80}]%s%s}}",
			     extra[0] ? "," : "", extra) > 0);
	cleanup_json json_t *svc = parse(text);
	free(text);
	return check("v1", "Service", svc, NULL);
}

static void test_service_affinity(void **state)
{
	(void)state;
	/* ClientIP without a timeout gets upstream's default */
	cleanup_json json_t *svc = parse("{\"spec\":{\"sessionAffinity\":\"ClientIP\","
					 "\"ports\":[{\"port\":80}]}}");
	cleanup_free char *e = check("v1", "Service", svc, NULL);
	assert_string_equal(e, "");
	assert_int_equal(json_integer_value(json_path_get(
				 svc, "spec.sessionAffinityConfig.clientIP.timeoutSeconds")),
			 10800);
	static const struct {
		const char *timeout, *want;
	} cases[] = {
		{"1", ""},
		{"86400", ""},
		{"-5", "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: -5: "
		       "must be greater than 0 and less than 86400"},
		{"0", "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must "
		      "be greater than 0 and less than 86400"},
		{"86401", "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: "
			  "86401: must be greater than 0 and less than 86400"},
		{"99999999999", "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid "
				"value: 99999999999: must be greater than 0 and less than 86400"},
		{"\"abc\"", "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: "
			    "\"abc\": must be greater than 0 and less than 86400"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_free char *extra = xasprintf(
			"\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":"
			"{\"timeoutSeconds\":%s}}",
			cases[i].timeout);
		cleanup_free char *got = check_service_with(extra);
		assert_string_equal(got, cases[i].want);
	}
	cleanup_free char *e3 = check_service_with(
		"\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":10}}");
	assert_string_equal(e3, "spec.sessionAffinityConfig: Forbidden: must not be set when "
				"session affinity is None");
}

static void test_service_external_ips(void **state)
{
	(void)state;
	/* what upstream accepts: any other address, 255.255.255.255 included */
	cleanup_free char *ok = check_service_with(
		"\"externalIPs\":[\"192.168.77.10\",\"8.8.8.8\",\"255.255.255.255\",\"224.0.1.1\","
		"\"2001:db8::1\"]");
	assert_string_equal(ok, "");
	cleanup_free char *bad = check_service_with(
		"\"externalIPs\":[\"0.0.0.0\",\"127.0.0.1\",\"224.0.0.1\",\"169.254.169.254\","
		"\"abc\",\"::\",\"::1\",\"fe80::1\",\"ff02::2\",\"::ffff:127.0.0.2\",5]");
	assert_string_equal(
		bad, "spec.externalIPs[0]: Invalid value: \"0.0.0.0\": may not be unspecified "
		     "(0.0.0.0); "
		     "spec.externalIPs[1]: Invalid value: \"127.0.0.1\": may not be in the loopback "
		     "range (127.0.0.0/8, ::1/128); "
		     "spec.externalIPs[2]: Invalid value: \"224.0.0.1\": may not be in the "
		     "link-local multicast range (224.0.0.0/24, ff02::/10); "
		     "spec.externalIPs[3]: Invalid value: \"169.254.169.254\": may not be in the "
		     "link-local range (169.254.0.0/16, fe80::/10); "
		     "spec.externalIPs[4]: Invalid value: \"abc\": must be a valid IP address, "
		     "(e.g. 10.9.8.7 or 2001:db8::ffff); "
		     "spec.externalIPs[5]: Invalid value: \"::\": may not be unspecified (::); "
		     "spec.externalIPs[6]: Invalid value: \"::1\": may not be in the loopback "
		     "range (127.0.0.0/8, ::1/128); "
		     "spec.externalIPs[7]: Invalid value: \"fe80::1\": may not be in the "
		     "link-local range (169.254.0.0/16, fe80::/10); "
		     "spec.externalIPs[8]: Invalid value: \"ff02::2\": may not be in the "
		     "link-local multicast range (224.0.0.0/24, ff02::/10); "
		     "spec.externalIPs[9]: Invalid value: \"::ffff:127.0.0.2\": may not be in the "
		     "loopback range (127.0.0.0/8, ::1/128); "
		     "spec.externalIPs[10]: Invalid value: 5: must be a valid IP address, (e.g. "
		     "10.9.8.7 or 2001:db8::ffff)");
}

static void test_endpointslice(void **state)
{
	(void)state;
	cleanup_json json_t *sl = parse(
		"{\"addressType\":\"IPv4\",\"ports\":[{\"port\":80},{\"name\":\"b\",\"port\":81,"
		"\"protocol\":\"UDP\"}],\"endpoints\":[{\"addresses\":[\"10.244.1.11\"],"
		"\"nodeName\":\"node1\",\"conditions\":{\"ready\":true}}]}");
	cleanup_free char *e = check("discovery.k8s.io/v1", "EndpointSlice", sl, NULL);
	assert_string_equal(e, "");
	/* upstream's defaults of a port */
	assert_string_equal(json_path_str(sl, "ports.0.name"), "");
	assert_string_equal(json_path_str(sl, "ports.0.protocol"), "TCP");
	cleanup_json json_t *bad = parse(
		"{\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"a\",\"port\":70000},"
		"{\"name\":\"a\",\"port\":-1,\"protocol\":\"ICMP\"},{\"name\":\"Bad_\",\"port\":\"x\"},"
		"{\"name\":\"n\"}],"
		"\"endpoints\":[{\"addresses\":[]},{\"addresses\":[\"127.0.0.1\",\"fe80::1\",\"x\"],"
		"\"nodeName\":\"Node_1\"}]}");
	cleanup_free char *e2 = check("discovery.k8s.io/v1", "EndpointSlice", bad, NULL);
	assert_string_equal(
		e2, "endpoints[0].addresses: Required value: must contain at least 1 address; "
		    "endpoints[1].addresses[0]: Invalid value: \"127.0.0.1\": may not be in the "
		    "loopback range (127.0.0.0/8, ::1/128); "
		    "endpoints[1].addresses[1]: Invalid value: \"fe80::1\": must be a valid IPv4 "
		    "address; "
		    "endpoints[1].addresses[1]: Invalid value: \"fe80::1\": may not be in the "
		    "link-local range (169.254.0.0/16, fe80::/10); "
		    "endpoints[1].addresses[2]: Invalid value: \"x\": must be a valid IPv4 address; "
		    "endpoints[1].addresses[2]: Invalid value: \"x\": must be a valid IP address; "
		    "endpoints[1].nodeName: Invalid value: \"Node_1\": a lowercase RFC 1123 "
		    "subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
		    "must start and end with an alphanumeric character (e.g. 'example.com', regex "
		    "used for validation is "
		    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'); "
		    "ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive; "
		    "ports[1].name: Duplicate value: \"a\"; "
		    "ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", "
		    "\"TCP\", \"UDP\"; "
		    "ports[1].port: Invalid value: -1: must be between 1 and 65535, inclusive; "
		    "ports[2].name: Invalid value: \"Bad_\": a lowercase RFC 1123 label must "
		    "consist of lower case alphanumeric characters or '-', and must start and end "
		    "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
		    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'); "
		    "ports[2].port: Invalid value: \"x\": must be between 1 and 65535, inclusive");
	cleanup_json json_t *old = parse("{\"addressType\":\"IPv4\"}");
	cleanup_json json_t *v6 = parse("{\"addressType\":\"IPv6\"}");
	cleanup_free char *e3 = check("discovery.k8s.io/v1", "EndpointSlice", v6, old);
	assert_string_equal(e3, "addressType: Invalid value: \"IPv6\": field is immutable");
	cleanup_json json_t *none = parse("{\"addressType\":\"IP\"}");
	cleanup_free char *e4 = check("discovery.k8s.io/v1", "EndpointSlice", none, NULL);
	assert_string_equal(e4, "addressType: Unsupported value: \"IP\": supported values: "
				"\"FQDN\", \"IPv4\", \"IPv6\"");
}

static void test_namespace_secret_configmap(void **state)
{
	(void)state;
	const struct api_resource *ns = row("v1", "Namespace");
	cleanup_json json_t *n = parse("{\"metadata\":{\"name\":\"team\"}}");
	ns->defaults(n);
	ns->prepare_create(n);
	assert_string_equal(json_path_str(n, "spec.finalizers.0"), "kubernetes");
	assert_string_equal(json_path_str(n, "status.phase"), "Active");
	assert_string_equal(json_string_value(json_object_get(json_path_get(n, "metadata.labels"),
							      "kubernetes.io/metadata.name")),
			    "team");
	cleanup_json json_t *upd =
		parse("{\"metadata\":{\"name\":\"team\"},\"spec\":{\"finalizers\":[]},"
		      "\"status\":{\"phase\":\"Terminating\"}}");
	ns->prepare_update(upd, n);
	assert_string_equal(json_path_str(upd, "spec.finalizers.0"), "kubernetes");
	assert_string_equal(json_path_str(upd, "status.phase"), "Active");

	cleanup_json json_t *s = parse("{\"stringData\":{\"user\":\"admin\",\"k\":\"ab\"}}");
	cleanup_free char *e1 = check("v1", "Secret", s, NULL);
	assert_string_equal(e1, "");
	assert_string_equal(json_path_str(s, "type"), "Opaque");
	assert_string_equal(json_path_str(s, "data.user"), "YWRtaW4=");
	assert_string_equal(json_path_str(s, "data.k"), "YWI=");
	assert_null(json_object_get(s, "stringData"));
	cleanup_json json_t *bad = parse("{\"data\":{\"bad key\":\"\"}}");
	cleanup_free char *e2 = check("v1", "Secret", bad, NULL);
	assert_string_equal(e2,
			    "data[bad key]: Invalid value: \"bad key\": a valid config key must "
			    "consist of alphanumeric characters, '-', '_' or '.' (e.g. "
			    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
			    "validation is '[-._a-zA-Z0-9]+')");
	cleanup_json json_t *tls = parse("{\"type\":\"kubernetes.io/tls\",\"data\":{}}");
	cleanup_json json_t *was = parse("{\"type\":\"Opaque\"}");
	cleanup_free char *e3 = check("v1", "Secret", tls, was);
	assert_string_equal(e3, "data[tls.crt]: Required value; data[tls.key]: Required value; "
				"type: Invalid value: \"kubernetes.io/tls\": field is immutable");

	cleanup_json json_t *docker = parse("{\"type\":\"kubernetes.io/dockerconfigjson\"}");
	cleanup_free char *e5 = check("v1", "Secret", docker, NULL);
	assert_string_equal(e5, "data[.dockerconfigjson]: Required value");
	cleanup_json json_t *basic = parse("{\"type\":\"kubernetes.io/basic-auth\",\"data\":{}}");
	cleanup_free char *e6 = check("v1", "Secret", basic, NULL);
	assert_string_equal(e6, "data[username]: Required value");
	cleanup_json json_t *sat = parse("{\"type\":\"kubernetes.io/service-account-token\"}");
	cleanup_free char *e7 = check("v1", "Secret", sat, NULL);
	assert_string_equal(e7,
			    "metadata.annotations[kubernetes.io/service-account.name]: Required "
			    "value");

	cleanup_json json_t *cm =
		parse("{\"data\":{\"a\":\"1\",\"..\":\"x\"},\"binaryData\":{\"a\":\"AA==\"}}");
	cleanup_free char *e4 = check("v1", "ConfigMap", cm, NULL);
	assert_string_equal(e4, "data[..]: Invalid value: \"..\": must not be '..'; "
				"binaryData[a]: Invalid value: \"a\": duplicate of key present in "
				"data");
}

static void test_immutable_and_type_change(void **state)
{
	(void)state;
	cleanup_json json_t *old = parse("{\"immutable\":true,\"data\":{\"a\":\"1\"}}");
	cleanup_json json_t *same = parse("{\"immutable\":true,\"data\":{\"a\":\"1\"}}");
	cleanup_free char *e1 = check("v1", "ConfigMap", same, old);
	assert_string_equal(e1, "");
	cleanup_json json_t *changed = parse("{\"data\":{\"a\":\"2\"}}");
	cleanup_free char *e2 = check("v1", "ConfigMap", changed, old);
	assert_string_equal(e2, "data: Forbidden: field is immutable when `immutable` is set; "
				"immutable: Forbidden: field is immutable when `immutable` is set");

	/* NodePort -> ExternalName through apply: the old type's fields go. */
	const struct api_resource *r = row("v1", "Service");
	cleanup_json json_t *was = parse(
		"{\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.9\",\"clusterIPs\":"
		"[\"10.96.0.9\"],\"externalTrafficPolicy\":\"Cluster\",\"ports\":[{\"port\":80,"
		"\"protocol\":\"TCP\",\"targetPort\":80,\"nodePort\":30111}]}}");
	cleanup_json json_t *next = json_copy_deep(was);
	json_path_set(next, "spec.type", json_string("ExternalName"));
	json_path_set(next, "spec.externalName", json_string("example.com"));
	r->prepare_update(next, was);
	cleanup_free char *e3 = check("v1", "Service", next, was);
	assert_string_equal(e3, "");
	assert_null(json_path_get(next, "spec.clusterIP"));
	assert_null(json_path_get(next, "spec.externalTrafficPolicy"));
	assert_null(
		json_object_get(json_array_get(json_path_get(next, "spec.ports"), 0), "nodePort"));
}

static void test_field_selectors(void **state)
{
	(void)state;
	const char *v;
	cleanup_json json_t *pod = parse("{\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":"
					 "\"Running\",\"podIPs\":[{\"ip\":\"10.0.0.9\"}]}}");
	const struct api_resource *pods = row("v1", "Pod");
	assert_true(pods->field_value(pod, "spec.nodeName", &v));
	assert_string_equal(v, "n1");
	assert_true(pods->field_value(pod, "status.phase", &v));
	assert_string_equal(v, "Running");
	assert_true(pods->field_value(pod, "status.podIP", &v));
	assert_string_equal(v, "10.0.0.9");
	assert_true(pods->field_value(pod, "spec.schedulerName", &v));
	assert_string_equal(v, "");
	assert_true(pods->field_value(pod, "spec.serviceAccountName", &v));
	assert_false(pods->field_value(pod, "spec.containers", &v));

	cleanup_json json_t *ev = parse("{\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\","
					"\"uid\":\"u\"},\"reason\":\"Pulled\",\"type\":\"Normal\","
					"\"source\":{\"component\":\"kubelet\"}}");
	const struct api_resource *events = row("v1", "Event");
	assert_true(events->field_value(ev, "involvedObject.kind", &v));
	assert_string_equal(v, "Pod");
	assert_true(events->field_value(ev, "involvedObject.namespace", &v));
	assert_string_equal(v, "");
	assert_true(events->field_value(ev, "involvedObject.uid", &v));
	assert_string_equal(v, "u");
	assert_true(events->field_value(ev, "source", &v));
	assert_string_equal(v, "kubelet");
	assert_true(events->field_value(ev, "reason", &v));
	assert_string_equal(v, "Pulled");
	assert_false(events->field_value(ev, "message", &v));

	cleanup_json json_t *node = parse("{\"spec\":{\"unschedulable\":true}}");
	assert_true(row("v1", "Node")->field_value(node, "spec.unschedulable", &v));
	assert_string_equal(v, "true");
	cleanup_json json_t *ns = parse("{\"status\":{\"phase\":\"Active\"}}");
	assert_true(row("v1", "Namespace")->field_value(ns, "status.phase", &v));
	assert_string_equal(v, "Active");
	cleanup_json json_t *sec = parse("{\"type\":\"Opaque\"}");
	assert_true(row("v1", "Secret")->field_value(sec, "type", &v));
	assert_string_equal(v, "Opaque");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_defaults),
		cmocka_unit_test(test_pod_qos),
		cmocka_unit_test(test_pod_validation),
		cmocka_unit_test(test_deployment),
		cmocka_unit_test(test_replicaset),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_service_affinity),
		cmocka_unit_test(test_service_external_ips),
		cmocka_unit_test(test_endpointslice),
		cmocka_unit_test(test_namespace_secret_configmap),
		cmocka_unit_test(test_immutable_and_type_change),
		cmocka_unit_test(test_field_selectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
