/* streaming: the containerLogs query and the choice of the container
 * instance whose log to read, with upstream kubelet's messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet/streaming.h"

struct query {
	const char *keys[8];
	const char *values[8];
};

static const char *get(void *arg, const char *key)
{
	struct query *q = arg;
	for (int i = 0; i < 8 && q->keys[i]; i++)
		if (strcmp(q->keys[i], key) == 0)
			return q->values[i];
	return NULL;
}

#define NOW (1800000000LL * 1000000000LL)

static void test_log_opts(void **state)
{
	(void)state;
	struct logreader_opts o;
	bool previous;
	struct mk_err *err = NULL;

	struct query none = {{NULL}, {NULL}};
	assert_int_equal(streaming_log_opts_parse(get, &none, NOW, &o, &previous, &err), 0);
	assert_false(o.follow);
	assert_false(o.timestamps);
	assert_false(previous);
	assert_int_equal(o.tail_lines, -1);
	assert_int_equal(o.limit_bytes, -1);
	assert_int_equal(o.since_ns, 0);

	/* the API server sends "true"; "1" is accepted too */
	struct query all = {
		{"follow", "timestamps", "previous", "tailLines", "limitBytes", "sinceSeconds"},
		{"true", "1", "true", "10", "500", "60"}};
	assert_int_equal(streaming_log_opts_parse(get, &all, NOW, &o, &previous, &err), 0);
	assert_true(o.follow);
	assert_true(o.timestamps);
	assert_true(previous);
	assert_int_equal(o.tail_lines, 10);
	assert_int_equal(o.limit_bytes, 500);
	assert_int_equal(o.since_ns, NOW - 60 * 1000000000LL);

	struct query since = {{"sinceTime"}, {"2027-01-15T08:00:00Z"}};
	assert_int_equal(streaming_log_opts_parse(get, &since, NOW, &o, &previous, &err), 0);
	assert_int_equal(o.since_ns, 1800000000LL * 1000000000LL);

	/* the old tail parameter; "all" means everything */
	struct query tail = {{"tail"}, {"3"}};
	assert_int_equal(streaming_log_opts_parse(get, &tail, NOW, &o, &previous, &err), 0);
	assert_int_equal(o.tail_lines, 3);
	struct query tail_all = {{"tailLines", "tail"}, {"5", "all"}};
	assert_int_equal(streaming_log_opts_parse(get, &tail_all, NOW, &o, &previous, &err), 0);
	assert_int_equal(o.tail_lines, -1);

	static const struct {
		const char *key, *value;
		int code;
		const char *msg;
	} bad[] = {
		{"tailLines", "-1", MK_EINVALID, "{\"message\": \"Invalid request.\"}"},
		{"limitBytes", "0", MK_EINVALID, "{\"message\": \"Invalid request.\"}"},
		{"sinceSeconds", "0", MK_EINVALID, "{\"message\": \"Invalid request.\"}"},
		{"tailLines", "x", MK_EINVAL, "{\"message\": \"Unable to decode query.\"}"},
		{"tailLines", "", MK_EINVAL, "{\"message\": \"Unable to decode query.\"}"},
		{"follow", "maybe", MK_EINVAL, "{\"message\": \"Unable to decode query.\"}"},
		{"sinceTime", "yesterday", MK_EINVAL, "{\"message\": \"Unable to decode query.\"}"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct query q = {{bad[i].key}, {bad[i].value}};
		assert_int_equal(streaming_log_opts_parse(get, &q, NOW, &o, &previous, &err), -1);
		assert_int_equal(mk_err_code(err), bad[i].code);
		assert_string_equal(mk_err_msg(err), bad[i].msg);
		mk_err_free(err);
		err = NULL;
	}
	struct query both = {{"sinceTime", "sinceSeconds"}, {"2027-01-15T08:00:00Z", "5"}};
	assert_int_equal(streaming_log_opts_parse(get, &both, NOW, &o, &previous, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVALID);
	mk_err_free(err);
}

static json_t *pod_with(const char *status_json)
{
	json_error_t je;
	char *text;
	int n = asprintf(&text,
			 "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":"
			 "\"c1\"}],\"initContainers\":[{\"name\":\"init\"}]},\"status\":{"
			 "\"containerStatuses\":[%s]}}",
			 status_json);
	assert_true(n > 0);
	json_t *j = json_loads(text, 0, &je);
	free(text);
	assert_non_null(j);
	return j;
}

static void expect_id(const char *status, bool previous, const char *want)
{
	json_t *pod = pod_with(status);
	struct mk_err *err = NULL;
	char *id = streaming_log_container(pod, "c1", previous, &err);
	if (!id)
		fail_msg("%s: %s", status, mk_err_msg(err));
	assert_string_equal(id, want);
	free(id);
	json_decref(pod);
}

static void expect_error(const char *status, const char *ctr, bool previous, int code,
			 const char *msg)
{
	json_t *pod = pod_with(status);
	struct mk_err *err = NULL;
	char *id = streaming_log_container(pod, ctr, previous, &err);
	if (id)
		fail_msg("%s: got %s", status, id);
	assert_int_equal(mk_err_code(err), code);
	assert_string_equal(mk_err_msg(err), msg);
	mk_err_free(err);
	json_decref(pod);
}

static void test_log_container(void **state)
{
	(void)state;
	expect_id(
		"{\"name\":\"c1\",\"containerID\":\"runc://k8s_c1_1\",\"state\":{\"running\":{}}}",
		false, "k8s_c1_1");
	/* the last terminated instance while the next waits to restart */
	const char *crash =
		"{\"name\":\"c1\",\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
		"\"lastState\":{\"terminated\":{\"containerID\":\"runc://k8s_c1_0\"}}}";
	expect_id(crash, false, "k8s_c1_0");
	expect_id(crash, true, "k8s_c1_0");
	/* previous after a restart: the one before the running one */
	expect_id("{\"name\":\"c1\",\"containerID\":\"runc://k8s_c1_2\",\"state\":{\"running\":{}},"
		  "\"lastState\":{\"terminated\":{\"containerID\":\"runc://k8s_c1_1\"}}}",
		  true, "k8s_c1_1");
	expect_id("{\"name\":\"c1\",\"containerID\":\"runc://k8s_c1_0\",\"state\":{\"terminated\":{"
		  "\"exitCode\":0}}}",
		  false, "k8s_c1_0");

	expect_error("{\"name\":\"c1\",\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}",
		     "c1", false, MK_EINVAL,
		     "container \"c1\" in pod \"web\" is waiting to start: ContainerCreating");
	expect_error("{\"name\":\"c1\",\"state\":{\"waiting\":{\"reason\":\"ErrImagePull\"}}}",
		     "c1", false, MK_EINVAL,
		     "container \"c1\" in pod \"web\" is waiting to start: image can't be pulled");
	expect_error(
		"{\"name\":\"c1\",\"state\":{\"waiting\":{\"reason\":\"ImagePullBackOff\"}}}", "c1",
		false, MK_EINVAL,
		"container \"c1\" in pod \"web\" is waiting to start: trying and failing to pull "
		"image");
	expect_error(
		"{\"name\":\"c1\",\"containerID\":\"runc://k8s_c1_1\",\"state\":{\"running\":{}}}",
		"c1", true, MK_EINVAL,
		"previous terminated container \"c1\" in pod \"web\" not found");
	expect_error("{\"name\":\"c1\",\"state\":{\"terminated\":{\"exitCode\":1}}}", "c1", false,
		     MK_EINVAL, "container \"c1\" in pod \"web\" is terminated");
	/* no status yet */
	expect_error("", "c1", false, MK_EINVAL,
		     "container \"c1\" in pod \"web\" is waiting to start - no logs yet");
	expect_error("", "nope", false, MK_ENOTFOUND,
		     "container \"nope\" not found in pod \"web\"");
	/* an init container is a container of the pod */
	expect_error("", "init", false, MK_EINVAL,
		     "container \"init\" in pod \"web\" is waiting to start - no logs yet");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_opts),
		cmocka_unit_test(test_log_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
