/* kubelet/runtime: the pure parts — the runtime's error text, the monitor's
 * exit record, and how the runtime's state and our files combine. The
 * commands themselves run against real runc/crun in
 * tests/integration/kubelet-runtime.bats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "kubelet/runtime.h"

static void test_error_text(void **state)
{
	(void)state;
	struct {
		const char *in, *want;
	} cases[] = {
		/* runc 1.1's logrus line */
		{"time=\"2026-12-07T14:09:55Z\" level=error msg=\"runc create failed: container "
		 "with "
		 "given ID already exists\"\n",
		 "runc create failed: container with given ID already exists"},
		/* escapes inside msg */
		{"time=\"x\" level=error msg=\"exec: \\\"sh\\\": executable file not found in "
		 "$PATH\"\n",
		 "exec: \"sh\": executable file not found in $PATH"},
		/* crun prints plain lines */
		{"cgroups in hybrid mode not supported, drop all controllers from cgroupv2\n",
		 "cgroups in hybrid mode not supported, drop all controllers from cgroupv2"},
		/* several lines joined, blank ones dropped */
		{"time=\"a\" level=warning msg=\"one\"\n\n  \nplain two  \n", "one; plain two"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_free char *got = runtime_error_text(cases[i].in);
		assert_string_equal(got, cases[i].want);
	}
}

static void test_exit_parse(void **state)
{
	(void)state;
	struct runtime_exit ex;
	assert_int_equal(
		runtime_exit_parse("{\"pid\":4685,\"exitCode\":137,\"signal\":9,"
				   "\"oomKilled\":true,\"startedAt\":\"2026-12-07T14:15:05."
				   "732443678Z\",\"finishedAt\":\"2026-12-07T14:15:06Z\"}\n",
				   &ex, NULL),
		0);
	assert_int_equal(ex.pid, 4685);
	assert_int_equal(ex.exit_code, 137);
	assert_int_equal(ex.signal, 9);
	assert_true(ex.oom_killed);
	assert_string_equal(ex.started_at, "2026-12-07T14:15:05.732443678Z");
	assert_string_equal(ex.finished_at, "2026-12-07T14:15:06Z");
	runtime_exit_clear(&ex);

	/* never started: no startedAt */
	assert_int_equal(runtime_exit_parse("{\"exitCode\":3,\"finishedAt\":\"t\"}", &ex, NULL), 0);
	assert_null(ex.started_at);
	assert_false(ex.oom_killed);
	runtime_exit_clear(&ex);

	const char *bad[] = {"",
			     "{",
			     "[]",
			     "{\"exitCode\":\"3\",\"finishedAt\":\"t\"}",
			     "{\"finishedAt\":\"t\"}",
			     "{\"exitCode\":3}",
			     "{\"exitCode\":3,\"finishedAt\":\"t\",\"oomKilled\":1}",
			     NULL};
	for (size_t i = 0; bad[i]; i++) {
		cleanup_err struct mk_err *err = NULL;
		assert_int_equal(runtime_exit_parse(bad[i], &ex, &err), -1);
		assert_int_equal(mk_err_code(err), MK_EINVAL);
		runtime_exit_clear(&ex);
	}
}

static json_t *rstate(const char *status, int pid)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "ociVersion", "1.0.2-dev", "id", "c1",
			 "pid", pid, "status", status, "bundle", "/b/c1", "created",
			 "2026-12-07T14:09:54.302935775Z");
}

static void test_combine(void **state)
{
	(void)state;
	struct runtime_state st;
	struct runtime_exit ex = {.exit_code = 3,
				  .pid = 77,
				  .started_at = "2026-12-07T14:10:00Z",
				  .finished_at = "2026-12-07T14:11:00Z"};

	cleanup_json json_t *created = rstate("created", 77);
	runtime_state_combine(created, NULL, NULL, &st);
	assert_int_equal(st.status, RUNTIME_CREATED);
	assert_int_equal(st.pid, 77);
	assert_null(st.started_at);
	assert_string_equal(st.bundle, "/b/c1");
	runtime_state_clear(&st);

	cleanup_json json_t *running = rstate("running", 77);
	runtime_state_combine(running, NULL, "2026-12-07T14:10:00.5Z\n", &st);
	assert_int_equal(st.status, RUNTIME_RUNNING);
	assert_string_equal(st.started_at, "2026-12-07T14:10:00.5Z");
	runtime_state_clear(&st);
	/* without the started file: the runtime's creation time */
	runtime_state_combine(running, NULL, NULL, &st);
	assert_string_equal(st.started_at, "2026-12-07T14:09:54.302935775Z");
	runtime_state_clear(&st);

	cleanup_json json_t *stopped = rstate("stopped", 0);
	runtime_state_combine(stopped, &ex, "2026-12-07T14:10:00Z", &st);
	assert_int_equal(st.status, RUNTIME_EXITED);
	assert_int_equal(st.exit_code, 3);
	assert_false(st.exit_unknown);
	assert_string_equal(st.finished_at, "2026-12-07T14:11:00Z");
	assert_string_equal(st.started_at, "2026-12-07T14:10:00Z");
	runtime_state_clear(&st);

	/* stopped, no record: the monitor died first */
	runtime_state_combine(stopped, NULL, "2026-12-07T14:10:00Z", &st);
	assert_int_equal(st.status, RUNTIME_EXITED);
	assert_int_equal(st.exit_code, 255);
	assert_true(st.exit_unknown);
	assert_null(st.finished_at);
	runtime_state_clear(&st);

	/* the runtime forgot it, the record remains */
	runtime_state_combine(NULL, &ex, NULL, &st);
	assert_int_equal(st.status, RUNTIME_EXITED);
	assert_string_equal(st.started_at, "2026-12-07T14:10:00Z");
	runtime_state_clear(&st);

	/* nothing */
	runtime_state_combine(NULL, NULL, "2026-12-07T14:10:00Z", &st);
	assert_int_equal(st.status, RUNTIME_UNKNOWN);
	assert_null(st.started_at);
	runtime_state_clear(&st);
	runtime_state_clear(&st); /* a cleared state clears again */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_exit_parse),
		cmocka_unit_test(test_combine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
