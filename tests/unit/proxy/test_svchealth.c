/* Health check node ports: which Services want one and with how many local
 * endpoints, the answer's body and status, and live listeners on loopback
 * that follow the model. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fixture.h"
#include "proxy/svchealth.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return v;
}

/* A Service with ports [(name, port)], type, eTP and health check port. */
static void add_service(struct proxy_model *m, const struct proxy_config *cfg, const char *ns,
			const char *name, const char *type, const char *etp, int hc,
			const char *ports, const char *slices)
{
	char *text = xasprintf("{\"metadata\": {\"namespace\": \"%s\", \"name\": \"%s\"},"
			       " \"spec\": {\"type\": \"%s\", \"clusterIP\": \"10.96.0.%d\","
			       " \"externalTrafficPolicy\": \"%s\", \"healthCheckNodePort\": %d,"
			       " \"ports\": %s}}",
			       ns, name, type, (int)(m->n + 10), etp, hc, ports);
	json_t *svc = parse(text);
	json_t *sl = slices ? parse(slices) : NULL;
	proxy_model_add_service(m, svc, sl, cfg);
	json_decref(sl);
	json_decref(svc);
	free(text);
}

static const char lb_ports[] =
	"[{\"name\": \"http\", \"port\": 80, \"protocol\": \"TCP\", \"nodePort\": 30080},"
	" {\"name\": \"alt\", \"port\": 81, \"protocol\": \"TCP\", \"nodePort\": 30081},"
	" {\"name\": \"https\", \"port\": 443, \"protocol\": \"TCP\", \"nodePort\": 30443}]";

/* http and alt reach the same endpoint port 80 */
static const char lb_slices[] =
	"[{\"addressType\": \"IPv4\","
	"  \"ports\": [{\"name\": \"http\", \"port\": 80, \"protocol\": \"TCP\"},"
	"             {\"name\": \"alt\", \"port\": 80, \"protocol\": \"TCP\"},"
	"             {\"name\": \"https\", \"port\": 443, \"protocol\": \"TCP\"}],"
	"  \"endpoints\": ["
	"   {\"addresses\": [\"10.244.1.1\"], \"conditions\": {\"ready\": true},"
	"    \"nodeName\": \"node1\"},"
	"   {\"addresses\": [\"10.244.1.2\"], \"conditions\": {\"ready\": false, \"serving\": true,"
	"    \"terminating\": true}, \"nodeName\": \"node1\"},"
	"   {\"addresses\": [\"10.244.2.1\"], \"conditions\": {\"ready\": true},"
	"    \"nodeName\": \"node2\"}]},"
	" {\"addressType\": \"IPv4\","
	"  \"ports\": [{\"name\": \"https\", \"port\": 443, \"protocol\": \"TCP\"}],"
	"  \"endpoints\": ["
	"   {\"addresses\": [\"10.244.1.3\"], \"nodeName\": \"node1\"}]}]";

static const char one_port[] =
	"[{\"name\": \"http\", \"port\": 80, \"protocol\": \"TCP\", \"nodePort\": 30090}]";

static const char terminating_slice[] =
	"[{\"addressType\": \"IPv4\","
	"  \"ports\": [{\"name\": \"http\", \"port\": 80, \"protocol\": \"TCP\"}],"
	"  \"endpoints\": ["
	"   {\"addresses\": [\"10.244.1.9\"], \"conditions\": {\"ready\": false, \"serving\": true,"
	"    \"terminating\": true}, \"nodeName\": \"node1\"}]}]";

static struct proxy_config test_config(void)
{
	struct proxy_config cfg;
	proxy_config_init(&cfg);
	cfg.node_name = "node1";
	return cfg;
}

static void test_collect(void **state)
{
	(void)state;
	struct proxy_config cfg = test_config();
	struct proxy_model *m = xcalloc(1, sizeof(*m));
	add_service(m, &cfg, "default", "lb", "LoadBalancer", "Local", 31000, lb_ports, lb_slices);
	add_service(m, &cfg, "default", "term", "LoadBalancer", "Local", 31001, one_port,
		    terminating_slice);
	/* eTP Cluster and NodePort Services have no health check port */
	add_service(m, &cfg, "default", "cluster", "LoadBalancer", "Cluster", 31003, one_port,
		    terminating_slice);
	add_service(m, &cfg, "default", "np", "NodePort", "Local", 31004, one_port, lb_slices);
	add_service(m, &cfg, "a", "empty", "LoadBalancer", "Local", 31002, one_port, NULL);
	proxy_model_sort(m);

	size_t n = 0;
	struct svchealth_want *w = svchealth_collect(m, &n);
	assert_int_equal(n, 3);
	assert_string_equal(w[0].ns, "a");
	assert_string_equal(w[0].name, "empty");
	assert_int_equal(w[0].port, 31002);
	assert_int_equal(w[0].local_ready, 0);
	/* 10.244.1.1:80 (http and alt), 10.244.1.1:443, 10.244.1.3:443 (ready
	 * by default); not the terminating one nor the other node's */
	assert_string_equal(w[1].name, "lb");
	assert_int_equal(w[1].port, 31000);
	assert_int_equal(w[1].local_ready, 3);
	/* the rules fall back to the serving-terminating endpoint, the health
	 * check does not */
	assert_string_equal(w[2].name, "term");
	assert_int_equal(w[2].local_ready, 0);
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->ports[i].name, "term"))
			assert_int_equal(m->ports[i].n_local_eps, 1);
	free(w);

	struct proxy_model none = {0};
	assert_null(svchealth_collect(&none, &n));
	assert_int_equal(n, 0);
	assert_null(svchealth_collect(NULL, &n));

	proxy_model_free(m);
}

static void test_render(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	assert_int_equal(svchealth_render("default", "web", 2, true, &b), 200);
	assert_string_equal(buf_str(&b), "{\n"
					 "\t\"service\": {\n"
					 "\t\t\"namespace\": \"default\",\n"
					 "\t\t\"name\": \"web\"\n"
					 "\t},\n"
					 "\t\"localEndpoints\": 2,\n"
					 "\t\"serviceProxyHealthy\": true\n"
					 "}");
	buf_reset(&b);
	assert_int_equal(svchealth_render("default", "web", 0, true, &b), 503);
	assert_non_null(strstr(buf_str(&b), "\"localEndpoints\": 0,\n"));
	buf_reset(&b);
	assert_int_equal(svchealth_render("ns", "we\"b", 1, false, &b), 503);
	assert_non_null(strstr(buf_str(&b), "\"name\": \"we\\\"b\"\n"));
	assert_non_null(strstr(buf_str(&b), "\"serviceProxyHealthy\": false\n}"));
	buf_free(&b);
}

/* ---- live listeners ---- */

/* n distinct TCP ports free on loopback right now. */
static void free_ports(int *ports, size_t n)
{
	int fds[64];
	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET};
		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		socklen_t len = sizeof(a);
		assert_true(fds[i] >= 0);
		assert_int_equal(bind(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(getsockname(fds[i], (struct sockaddr *)&a, &len), 0);
		ports[i] = ntohs(a.sin_port);
	}
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

static int free_port(void)
{
	int port;
	free_ports(&port, 1);
	return port;
}

static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* The whole answer to "GET path" on 127.0.0.1:port; NULL with errno if the
 * connection failed. */
static char *http_get(int port, const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	char *req = xasprintf("GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	free(req);
	struct buf b = BUF_INIT;
	char chunk[1024];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)r);
	close(fd);
	return buf_steal(&b);
}

static bool healthy_flag;

static bool test_healthy(void *arg)
{
	(void)arg;
	return __atomic_load_n(&healthy_flag, __ATOMIC_SEQ_CST);
}

static struct proxy_model *model_with(const struct proxy_config *cfg, int port, const char *slices)
{
	struct proxy_model *m = xcalloc(1, sizeof(*m));
	add_service(m, cfg, "default", "web", "LoadBalancer", "Local", port, one_port, slices);
	return m;
}

static const char local_slice[] =
	"[{\"addressType\": \"IPv4\","
	"  \"ports\": [{\"name\": \"http\", \"port\": 80, \"protocol\": \"TCP\"}],"
	"  \"endpoints\": ["
	"   {\"addresses\": [\"10.244.1.1\"], \"conditions\": {\"ready\": true},"
	"    \"nodeName\": \"node1\"}]}]";

static void test_listeners(void **state)
{
	(void)state;
	struct proxy_config cfg = test_config();
	__atomic_store_n(&healthy_flag, true, __ATOMIC_SEQ_CST);
	char *ips[] = {"127.0.0.1"};
	struct svchealth *h = svchealth_new(ips, 1, test_healthy, NULL);
	int port = free_port();

	/* nothing wanted: nothing served */
	struct proxy_model empty = {0};
	svchealth_sync(h, &empty);
	assert_int_equal(svchealth_count(h), 0);

	struct proxy_model *m = model_with(&cfg, port, local_slice);
	svchealth_sync(h, m);
	assert_int_equal(svchealth_count(h), 1);
	char *got = http_get(port, "/any/path");
	assert_non_null(got);
	assert_true(!strncmp(got, "HTTP/1.0 200", 12) || !strncmp(got, "HTTP/1.1 200", 12));
	assert_non_null(strstr(got, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(got, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(got, "\r\n\r\n{\n\t\"service\": {\n\t\t\"namespace\": \"default\",\n"
				    "\t\t\"name\": \"web\"\n\t},\n\t\"localEndpoints\": 1,\n"
				    "\t\"serviceProxyHealthy\": true\n}"));
	free(got);

	/* an unhealthy proxy fails every check */
	__atomic_store_n(&healthy_flag, false, __ATOMIC_SEQ_CST);
	got = http_get(port, "/");
	assert_non_null(got);
	assert_non_null(strstr(got, " 503 "));
	assert_non_null(strstr(got, "\"serviceProxyHealthy\": false"));
	free(got);
	__atomic_store_n(&healthy_flag, true, __ATOMIC_SEQ_CST);

	/* the endpoint moves away: same listener, new count */
	proxy_model_free(m);
	m = model_with(&cfg, port, NULL);
	svchealth_sync(h, m);
	assert_int_equal(svchealth_count(h), 1);
	got = http_get(port, "/");
	assert_non_null(got);
	assert_non_null(strstr(got, " 503 "));
	assert_non_null(strstr(got, "\"localEndpoints\": 0,"));
	free(got);

	/* the port changes: the old one closes */
	int port2 = free_port();
	proxy_model_free(m);
	m = model_with(&cfg, port2, local_slice);
	svchealth_sync(h, m);
	assert_null(http_get(port, "/"));
	assert_int_equal(errno, ECONNREFUSED);
	got = http_get(port2, "/");
	assert_non_null(got);
	assert_non_null(strstr(got, " 200 "));
	free(got);

	/* the Service goes away */
	svchealth_sync(h, &empty);
	assert_int_equal(svchealth_count(h), 0);
	assert_null(http_get(port2, "/"));
	assert_int_equal(errno, ECONNREFUSED);
	proxy_model_free(m);
	svchealth_free(h);
}

static void test_port_in_use(void **state)
{
	(void)state;
	struct proxy_config cfg = test_config();
	__atomic_store_n(&healthy_flag, true, __ATOMIC_SEQ_CST);
	char *ips[] = {"127.0.0.1"};
	struct svchealth *h = svchealth_new(ips, 1, test_healthy, NULL);
	int port = free_port();
	int busy = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(bind(busy, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(busy, 1), 0);

	struct proxy_model *m = model_with(&cfg, port, local_slice);
	svchealth_sync(h, m);
	assert_int_equal(svchealth_count(h), 0);
	/* once the port is free, the next sync takes it */
	close(busy);
	svchealth_sync(h, m);
	assert_int_equal(svchealth_count(h), 1);
	char *got = http_get(port, "/healthz");
	assert_non_null(got);
	assert_non_null(strstr(got, " 200 "));
	free(got);
	proxy_model_free(m);
	svchealth_free(h);
}

/* Every listener shares the same two threads, and none is left when no
 * Service needs a port. */
static void test_shared_threads(void **state)
{
	(void)state;
	struct proxy_config cfg = test_config();
	__atomic_store_n(&healthy_flag, true, __ATOMIC_SEQ_CST);
	char *ips[] = {"127.0.0.1"};
	struct svchealth *h = svchealth_new(ips, 1, test_healthy, NULL);
	int before = thread_count();
	enum { N = 40 };
	int ports[N];
	free_ports(ports, N);
	struct proxy_model *m = xcalloc(1, sizeof(*m));
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof(name), "svc%02d", i);
		add_service(m, &cfg, "default", name, "LoadBalancer", "Local", ports[i], one_port,
			    i % 2 ? local_slice : NULL);
	}
	proxy_model_sort(m);
	svchealth_sync(h, m);
	assert_int_equal(svchealth_count(h), N);
	assert_int_equal(thread_count(), before + 2);
	for (int i = 0; i < N; i++) {
		char *got = http_get(ports[i], "/");
		char want[64];
		snprintf(want, sizeof(want), "\"name\": \"svc%02d\"", i);
		assert_non_null(got);
		assert_non_null(strstr(got, want));
		assert_non_null(strstr(got, i % 2 ? " 200 " : " 503 "));
		free(got);
	}
	struct proxy_model empty = {0};
	svchealth_sync(h, &empty);
	assert_int_equal(svchealth_count(h), 0);
	assert_int_equal(thread_count(), before);
	proxy_model_free(m);
	svchealth_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_listeners),
		cmocka_unit_test(test_port_in_use),
		cmocka_unit_test(test_shared_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
