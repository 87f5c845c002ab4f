/* UDP conntrack deletion through ctnetlink, in a private network namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>

#include "fixture.h"
#include "proxy/conntrack.h"

static void udp_send(int port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_true(sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1);
	close(fd);
}

/* entries in this namespace's table for UDP dport */
static int count(int port)
{
	FILE *f = fopen("/proc/net/nf_conntrack", "r");
	if (!f)
		return -1;
	char line[512], want[32];
	snprintf(want, sizeof(want), " dport=%d ", port);
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " udp ") && strstr(line, want))
			n++;
	fclose(f);
	return n;
}

static void test_delete_udp(void **state)
{
	(void)state;
	/* a conntrack match makes the kernel track this namespace's traffic */
	assert_int_equal(system("iptables-legacy -A OUTPUT -m conntrack --ctstate NEW -j ACCEPT"), 0);
	assert_int_equal(system("ip link set lo up"), 0);
	udp_send(9999);
	udp_send(9998);
	if (count(9999) < 0)
		skip();
	assert_int_equal(count(9999), 1);
	assert_int_equal(count(9998), 1);
	size_t n = 0;
	struct mk_err *err = NULL;
	assert_int_equal(conntrack_delete_udp(NULL, 0, "127.0.0.1", 9999, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(count(9999), 0);
	assert_int_equal(count(9998), 1);
	/* by original destination */
	assert_int_equal(conntrack_delete_udp("127.0.0.1", 9998, NULL, 0, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(count(9998), 0);
}

static void test_cleanup_diff(void **state)
{
	(void)state;
	json_t *before = json_pack("{s:b, s:b}", "ep:127.0.0.1:9997", 1, "ep:127.0.0.1:9996", 1);
	json_t *after = json_pack("{s:b, s:b}", "ep:127.0.0.1:9996", 1, "svc:127.0.0.1:9995", 1);
	udp_send(9997);
	udp_send(9996);
	udp_send(9995);
	size_t deleted, failures;
	conntrack_cleanup(before, after, &deleted, &failures);
	assert_int_equal(failures, 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(count(9997), 0);
	assert_int_equal(count(9996), 1);
	assert_int_equal(count(9995), 0);
	json_decref(before);
	json_decref(after);
}

static int setup(void **state)
{
	(void)state;
	return unshare(CLONE_NEWNET) < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delete_udp),
		cmocka_unit_test(test_cleanup_diff),
	};
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
