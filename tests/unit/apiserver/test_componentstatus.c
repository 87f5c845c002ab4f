/* componentstatuses: upstream's HTTP probe wording against real sockets
 * (refused, silent, 500, healthy) and the store probe of etcd-0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "httpd.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/componentstatus.h"

/* A loopback TCP socket on a free port, listening or not: connecting to one
 * that does not listen is refused, and the port stays ours meanwhile. */
static int loopback_socket(bool listening, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	socklen_t sl = sizeof(sa);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void assert_condition(const json_t *c, const char *status, const char *message)
{
	assert_string_equal(json_path_str(c, "type"), "Healthy");
	assert_string_equal(json_path_str(c, "status"), status);
	if (message)
		assert_string_equal(json_path_str(c, "message"), message);
	else
		assert_null(json_object_get(c, "message"));
	/* upstream's HTTP probe never fills error */
	assert_null(json_object_get(c, "error"));
}

static void test_refused(void **state)
{
	(void)state;
	int port;
	int fd = loopback_socket(false, &port);
	cleanup_free char *url = xasprintf("http://127.0.0.1:%d/healthz", port);
	cleanup_free char *want = xasprintf("Get \"%s\": dial tcp 127.0.0.1:%d: connect: "
					    "connection refused",
					    url, port);
	cleanup_json json_t *c = componentstatus_probe_http(url, 2000);
	assert_condition(c, "False", want);
	close(fd);
}

static void test_silent(void **state)
{
	(void)state;
	/* accepted by the kernel, never answered */
	int port;
	int fd = loopback_socket(true, &port);
	cleanup_free char *url = xasprintf("http://127.0.0.1:%d/healthz", port);
	cleanup_free char *want = xasprintf("Get \"%s\": context deadline exceeded "
					    "(Client.Timeout exceeded while awaiting headers)",
					    url);
	cleanup_json json_t *c = componentstatus_probe_http(url, 300);
	assert_condition(c, "False", want);
	close(fd);
}

static void answer_ok(struct httpd_req *rq, void *arg)
{
	(void)arg;
	httpd_reply_text(rq, 200, "text/plain; charset=utf-8", "ok");
}

static void answer_500(struct httpd_req *rq, void *arg)
{
	(void)arg;
	httpd_reply_text(rq, 500, "text/plain; charset=utf-8",
			 "[+]ping ok\n[-]x failed: reason withheld\nhealthz check failed\n");
}

static void test_answers(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	struct httpd *h = httpd_new(&(struct httpd_config){.name = "probed"}, &err);
	assert_non_null(h);
	httpd_route(h, "GET", "/healthz", answer_ok, NULL);
	httpd_route(h, "GET", "/bad/healthz", answer_500, NULL);
	struct httpd_listener *l = httpd_listen(h, "127.0.0.1", 0, &err);
	assert_non_null(l);
	int port = httpd_listener_port(l);
	cleanup_free char *ok_url = xasprintf("http://127.0.0.1:%d/healthz", port);
	cleanup_free char *bad_url = xasprintf("http://127.0.0.1:%d/bad/healthz", port);
	cleanup_json json_t *ok = componentstatus_probe_http(ok_url, 2000);
	assert_condition(ok, "True", "ok");
	/* the body stays out of a failure's message, as upstream */
	cleanup_json json_t *bad = componentstatus_probe_http(bad_url, 2000);
	assert_condition(bad, "False", "HTTP probe failed with statuscode: 500");
	httpd_free(h);
}

static void test_list(void **state)
{
	(void)state;
	char dir[] = "/tmp/mk-cs-XXXXXX";
	assert_non_null(mkdtemp(dir));
	cleanup_err struct mk_err *err = NULL;
	struct store *st = store_sqlite_open(dir, &err);
	assert_non_null(st);
	cleanup_json json_t *items = componentstatus_list(st);
	assert_int_equal(json_array_size(items), 3);
	const char *names[] = {"scheduler", "controller-manager", "etcd-0"};
	for (size_t i = 0; i < 3; i++) {
		json_t *it = json_array_get(items, i);
		assert_string_equal(json_path_str(it, "kind"), "ComponentStatus");
		assert_string_equal(json_path_str(it, "apiVersion"), "v1");
		assert_string_equal(json_path_str(it, "metadata.name"), names[i]);
		/* whatever runs on this machine's ports, the probe said something */
		json_t *c = json_array_get(json_object_get(it, "conditions"), 0);
		assert_string_equal(json_path_str(c, "type"), "Healthy");
		assert_non_null(json_path_str(c, "message"));
	}
	json_t *etcd = json_array_get(json_object_get(json_array_get(items, 2), "conditions"), 0);
	assert_condition(etcd, "True", "ok");
	store_close(st);
	cleanup_free char *cmd = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
