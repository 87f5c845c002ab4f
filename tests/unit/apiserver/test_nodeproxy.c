/* nodeproxy: the kubelet's address from a Node, and the container a pod
 * subresource names, with upstream API server's messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/nodeproxy.h"

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("%s: %s", text, je.text);
	return j;
}

static void test_kubelet_addr(void **state)
{
	(void)state;
	char *host;
	int port;
	struct mk_err *err = NULL;
	json_t *n = parse("{\"metadata\":{\"name\":\"n1\"},\"status\":{\"addresses\":["
			  "{\"type\":\"Hostname\",\"address\":\"n1\"},"
			  "{\"type\":\"ExternalIP\",\"address\":\"203.0.113.9\"},"
			  "{\"type\":\"InternalIP\",\"address\":\"10.0.0.2\"}],"
			  "\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":10251}}}}");
	assert_int_equal(nodeproxy_kubelet_addr(n, &host, &port, &err), 0);
	assert_string_equal(host, "10.0.0.2");
	assert_int_equal(port, 10251);
	free(host);
	json_decref(n);

	/* no InternalIP: the external one; no port: 10250 */
	n = parse("{\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"n1\"},"
		  "{\"type\":\"ExternalIP\",\"address\":\"203.0.113.9\"}]}}");
	assert_int_equal(nodeproxy_kubelet_addr(n, &host, &port, &err), 0);
	assert_string_equal(host, "203.0.113.9");
	assert_int_equal(port, 10250);
	free(host);
	json_decref(n);

	n = parse("{\"metadata\":{\"name\":\"n2\"},\"status\":{}}");
	assert_int_equal(nodeproxy_kubelet_addr(n, &host, &port, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	assert_string_equal(mk_err_msg(err), "node \"n2\" has no address");
	mk_err_free(err);
	json_decref(n);
}

static void expect_refusal(const json_t *pod, const char *ctr, bool for_log, const char *msg)
{
	json_t *status = NULL;
	char *c = nodeproxy_container(pod, ctr, for_log, &status);
	if (c)
		fail_msg("got %s", c);
	assert_non_null(status);
	assert_int_equal(json_integer_value(json_object_get(status, "code")), 400);
	assert_string_equal(json_string_value(json_object_get(status, "reason")), "BadRequest");
	assert_string_equal(json_string_value(json_object_get(status, "message")), msg);
	json_decref(status);
}

static void test_container(void **state)
{
	(void)state;
	json_t *one = parse("{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"containers\":[{\"name\":"
			    "\"only\"}]}}");
	json_t *status = NULL;
	char *c = nodeproxy_container(one, NULL, false, &status);
	assert_string_equal(c, "only");
	free(c);
	c = nodeproxy_container(one, "", true, &status);
	assert_string_equal(c, "only");
	free(c);
	expect_refusal(one, "c9", false, "container c9 is not valid for pod p1");
	json_decref(one);

	json_t *many = parse("{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"containers\":[{\"name\":"
			     "\"a\"},{\"name\":\"b\"}],\"initContainers\":[{\"name\":\"i\"}]}}");
	c = nodeproxy_container(many, "i", false, &status);
	assert_string_equal(c, "i");
	free(c);
	/* exec words it with the init containers apart, log lists them all */
	expect_refusal(many, NULL, false,
		       "a container name must be specified for pod p1, choose one of: [a b] or one "
		       "of the init containers: [i]");
	expect_refusal(many, NULL, true,
		       "a container name must be specified for pod p1, choose one of: [i a b]");
	json_decref(many);

	json_t *none = parse("{\"metadata\":{\"name\":\"p1\"},\"spec\":{}}");
	expect_refusal(none, NULL, false, "a container name must be specified for pod p1");
	json_decref(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubelet_addr),
		cmocka_unit_test(test_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
