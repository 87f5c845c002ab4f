/* The lease endpoint reconciler on a real (SQLite) store: servers starting
 * at once, the endpoints listing every live lease, a stopped server leaving,
 * an expired lease dropping out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/reconciler.h"
#include "apiserver/store.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The addresses of the stored kubernetes Endpoints and EndpointSlice, each
 * joined with ','. */
static void endpoints_ips(struct store *st, char *eps, char *slice, size_t len)
{
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_get(st, "/registry/services/endpoints/default/kubernetes", &kv, &err) < 0)
		fail_msg("endpoints: %s", mk_err_msg(err));
	cleanup_json json_t *e = json_loads(kv.value, 0, NULL);
	store_kv_free(&kv);
	eps[0] = 0;
	size_t i;
	json_t *a;
	json_array_foreach(json_path_get(e, "subsets.0.addresses"), i, a)
		snprintf(eps + strlen(eps), len - strlen(eps), "%s%s", i ? "," : "",
			 json_string_value(json_object_get(a, "ip")));
	assert_int_equal(json_integer_value(json_path_get(e, "subsets.0.ports.0.port")), 6443);
	if (store_get(st, "/registry/endpointslices/default/kubernetes", &kv, &err) < 0)
		fail_msg("endpointslice: %s", mk_err_msg(err));
	cleanup_json json_t *s = json_loads(kv.value, 0, NULL);
	store_kv_free(&kv);
	slice[0] = 0;
	json_array_foreach(json_object_get(s, "endpoints"), i, a)
		snprintf(slice + strlen(slice), len - strlen(slice), "%s%s", i ? "," : "",
			 json_string_value(json_path_get(a, "addresses.0")));
	assert_string_equal(json_path_str(s, "addressType"), "IPv4");
}

struct starter {
	struct store *st;
	const char *ip;
	struct reconciler *r;
};

static void *start_one(void *arg)
{
	struct starter *s = arg;
	struct reconciler_config cfg = {.ip = s->ip, .port = 6443, .interval_ms = 100, .ttl_s = 1};
	cleanup_err struct mk_err *err = NULL;
	s->r = reconciler_start(s->st, &cfg, &err);
	if (!s->r)
		fprintf(stderr, "reconciler_start %s: %s\n", s->ip, mk_err_msg(err));
	return NULL;
}

static bool wait_ips(struct store *st, const char *want)
{
	char eps[256], slice[256];
	for (int i = 0; i < 200; i++) { /* 10 s */
		endpoints_ips(st, eps, slice, sizeof(eps));
		if (!strcmp(eps, want) && !strcmp(slice, want))
			return true;
		nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
	}
	fprintf(stderr, "endpoints %s, slice %s, want %s\n", eps, slice, want);
	return false;
}

static void test_servers_come_and_go(void **state)
{
	(void)state;
	char dir[] = "/tmp/mk-reconciler-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	cleanup_err struct mk_err *err = NULL;
	struct store *st = store_sqlite_open(dir, &err);
	assert_non_null(st);

	/* three servers starting at the same moment race on creating the
	 * Endpoints: all start, and it lists all three, sorted */
	struct starter s[3] = {{st, "10.0.0.3", NULL}, {st, "10.0.0.1", NULL}, {st, "10.0.0.2", NULL}};
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, start_one, &s[i]), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 3; i++)
		assert_non_null(s[i].r);
	assert_true(wait_ips(st, "10.0.0.1,10.0.0.2,10.0.0.3"));
	struct store_kv kv = {0};
	assert_int_equal(store_get(st, "/registry/masterleases/10.0.0.2", &kv, &err), 0);
	cleanup_json json_t *lease = json_loads(kv.value, 0, NULL);
	store_kv_free(&kv);
	assert_string_equal(json_path_str(lease, "kind"), "Endpoints");
	assert_string_equal(json_path_str(lease, "subsets.0.addresses.0.ip"), "10.0.0.2");

	/* a stopped server takes its lease and address away at once */
	reconciler_stop(s[0].r);
	assert_int_equal(store_get(st, "/registry/masterleases/10.0.0.3", &kv, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err), err = NULL;
	assert_true(wait_ips(st, "10.0.0.1,10.0.0.2"));

	/* a lease nobody renews (a server that died) expires and drops out */
	assert_true(store_create_ttl(st, "/registry/masterleases/10.0.0.9",
				     "{\"kind\":\"Endpoints\",\"apiVersion\":\"v1\",\"metadata\":"
				     "{\"name\":\"10.0.0.9\"}}",
				     1, &err) > 0);
	assert_true(wait_ips(st, "10.0.0.1,10.0.0.2,10.0.0.9"));
	assert_true(wait_ips(st, "10.0.0.1,10.0.0.2"));

	/* the last one leaves its address rather than nothing */
	reconciler_stop(s[1].r);
	reconciler_stop(s[2].r);
	char eps[256], slice[256];
	endpoints_ips(st, eps, slice, sizeof(eps));
	assert_string_equal(eps, "10.0.0.2");
	assert_string_equal(slice, "10.0.0.2");

	store_close(st);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_servers_come_and_go),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
