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

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/allocator.h"
#include "apiserver/resource.h"
#include "apiserver/store.h"

static json_t *parse(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);
	assert_non_null(v);
	return v;
}

static const struct api_resource *services(void)
{
	return api_resource_find("", "v1", "services");
}

/* Runs the create path of a Service as the handlers do. */
static int create(json_t *svc, struct mk_err **err)
{
	const struct api_resource *r = services();
	r->defaults(svc);
	return r->on_create(svc, err);
}

static void test_init_errors(void **state)
{
	(void)state;
	cleanup_err struct mk_err *e = NULL;
	assert_int_equal(allocator_init("10.96.0.0", "30000-32767", &e), -1);
	assert_int_equal(mk_err_code(e), MK_EINVAL);
	cleanup_err struct mk_err *e2 = NULL;
	assert_int_equal(allocator_init("10.96.0.0/12", "32767-30000", &e2), -1);
	cleanup_err struct mk_err *e3 = NULL;
	assert_int_equal(allocator_init("fd00::/108", "30000-32767", &e3), -1);
	assert_int_equal(allocator_init("10.96.0.0/12", "30000+2768", NULL), 0);
	assert_string_equal(allocator_first_service_ip(), "10.96.0.1");
	assert_int_equal(allocator_init("10.0.0.0/24", "30000-30010", NULL), 0);
	assert_string_equal(allocator_first_service_ip(), "10.0.0.1");
}

static void test_cluster_ip(void **state)
{
	(void)state;
	assert_int_equal(allocator_init("10.96.0.0/12", "30000-32767", NULL), 0);
	/* The kubernetes Service asks for the first address by name. */
	cleanup_json json_t *k =
		parse("{\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":443}]}}");
	assert_int_equal(create(k, NULL), 0);
	assert_string_equal(json_path_str(k, "spec.clusterIPs.0"), "10.96.0.1");

	cleanup_json json_t *a = parse("{\"spec\":{\"ports\":[{\"port\":80}]}}");
	assert_int_equal(create(a, NULL), 0);
	const char *ip = json_path_str(a, "spec.clusterIP");
	assert_non_null(ip);
	assert_string_equal(json_path_str(a, "spec.clusterIPs.0"), ip);
	assert_true(allocator_ip_in_use(ip));
	assert_int_equal(strncmp(ip, "10.", 3), 0);

	/* A taken address is refused with upstream's message. */
	cleanup_json json_t *dup =
		json_pack("{s:{s:s, s:[{s:i}]}}", "spec", "clusterIP", ip, "ports", "port", 80);
	cleanup_err struct mk_err *e = NULL;
	assert_int_equal(create(dup, &e), -1);
	assert_int_equal(mk_err_code(e), MK_EINVALID);
	char want[256];
	snprintf(want, sizeof(want),
		 "spec.clusterIPs: Invalid value: []string{\"%s\"}: failed to allocate IP %s: "
		 "provided IP is already allocated",
		 ip, ip);
	assert_string_equal(mk_err_msg(e), want);

	cleanup_json json_t *out =
		parse("{\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":[{\"port\":80}]}}");
	cleanup_err struct mk_err *e2 = NULL;
	assert_int_equal(create(out, &e2), -1);
	assert_string_equal(mk_err_msg(e2),
			    "spec.clusterIPs: Invalid value: []string{\"10.0.0.1\"}: failed to "
			    "allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid "
			    "range. The range of valid IPs is 10.96.0.0/12");

	/* Headless and ExternalName Services take nothing. */
	cleanup_json json_t *h = parse("{\"spec\":{\"clusterIP\":\"None\"}}");
	assert_int_equal(create(h, NULL), 0);
	assert_string_equal(json_path_str(h, "spec.clusterIPs.0"), "None");
	cleanup_json json_t *x =
		parse("{\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"a.b\"}}");
	assert_int_equal(create(x, NULL), 0);
	assert_null(json_path_get(x, "spec.clusterIP"));

	/* Delete releases. */
	cleanup_free char *held = strdup(ip);
	services()->on_delete(a);
	assert_false(allocator_ip_in_use(held));
}

static void test_exhaustion_and_first_ip(void **state)
{
	(void)state;
	/* A /28 has 14 usable addresses; dynamic allocation skips the first. */
	assert_int_equal(allocator_init("10.1.0.0/28", "30000-30001", NULL), 0);
	char ip[16];
	for (int i = 0; i < 13; i++) {
		assert_int_equal(allocator_ip_allocate(NULL, ip, sizeof(ip), NULL), 0);
		assert_string_not_equal(ip, "10.1.0.1");
		assert_string_not_equal(ip, "10.1.0.0");
		assert_string_not_equal(ip, "10.1.0.15");
	}
	cleanup_err struct mk_err *e = NULL;
	assert_int_equal(allocator_ip_allocate(NULL, ip, sizeof(ip), &e), -1);
	assert_int_equal(mk_err_code(e), MK_EINTERNAL);
	assert_string_equal(mk_err_msg(e), "failed to allocate a serviceIP: range is full");
	assert_int_equal(allocator_ip_allocate("10.1.0.1", ip, sizeof(ip), NULL), 0);
	cleanup_err struct mk_err *e2 = NULL;
	assert_int_equal(allocator_ip_allocate("10.1.0.15", ip, sizeof(ip), &e2), -1);

	assert_int_equal(allocator_port_allocate(0, NULL) >= 30000, 1);
	assert_int_equal(allocator_port_allocate(0, NULL) >= 30000, 1);
	cleanup_err struct mk_err *e3 = NULL;
	assert_int_equal(allocator_port_allocate(0, &e3), -1);
	assert_string_equal(mk_err_msg(e3), "failed to allocate a nodePort: range is full");
}

static void test_node_ports(void **state)
{
	(void)state;
	assert_int_equal(allocator_init("10.96.0.0/12", "30000-32767", NULL), 0);
	cleanup_json json_t *a = parse("{\"spec\":{\"type\":\"NodePort\",\"ports\":["
				       "{\"name\":\"http\",\"port\":80,\"nodePort\":30080},"
				       "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}}");
	assert_int_equal(create(a, NULL), 0);
	assert_int_equal(json_integer_value(json_path_get(a, "spec.ports.0.nodePort")), 30080);
	long long dyn = json_integer_value(json_path_get(a, "spec.ports.1.nodePort"));
	assert_true(dyn >= 30000 && dyn <= 32767 && dyn != 30080);
	assert_true(allocator_port_in_use(30080));

	/* A second Service asking for 30080 is refused, and its ClusterIP is
	 * given back. */
	cleanup_json json_t *b =
		parse("{\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.5.5\","
		      "\"ports\":[{\"port\":81,\"nodePort\":30080}]}}");
	cleanup_err struct mk_err *e = NULL;
	assert_int_equal(create(b, &e), -1);
	assert_string_equal(mk_err_msg(e), "spec.ports[0].nodePort: Invalid value: 30080: provided "
					   "port is already allocated");
	assert_false(allocator_ip_in_use("10.96.5.5"));
	cleanup_json json_t *c = parse("{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":81,"
				       "\"nodePort\":80}]}}");
	cleanup_err struct mk_err *e2 = NULL;
	assert_int_equal(create(c, &e2), -1);
	assert_string_equal(mk_err_msg(e2), "spec.ports[0].nodePort: Invalid value: 80: provided "
					    "port is not in the valid range. The range of valid "
					    "ports is 30000-32767");

	/* Update: ports kept when the client leaves them out, the ClusterIP
	 * stays, a type change to ClusterIP releases the node ports. */
	const struct api_resource *r = services();
	cleanup_json json_t *upd = parse("{\"spec\":{\"type\":\"NodePort\",\"ports\":["
					 "{\"name\":\"http\",\"port\":80},"
					 "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}}");
	r->defaults(upd);
	assert_int_equal(r->on_update(upd, a, NULL), 0);
	assert_int_equal(json_integer_value(json_path_get(upd, "spec.ports.0.nodePort")), 30080);
	assert_int_equal(json_integer_value(json_path_get(upd, "spec.ports.1.nodePort")), dyn);
	assert_string_equal(json_path_str(upd, "spec.clusterIP"),
			    json_path_str(a, "spec.clusterIP"));
	assert_true(allocator_port_in_use(30080));

	/* A write that fails after on_update is undone: the new port goes back,
	 * the released one is held again. */
	cleanup_json json_t *moved = json_copy_deep(upd);
	json_object_set_new(json_path_get(moved, "spec.ports.0"), "nodePort", json_integer(30090));
	assert_int_equal(r->on_update(moved, upd, NULL), 0);
	assert_true(allocator_port_in_use(30090));
	assert_false(allocator_port_in_use(30080));
	r->on_update_abort(moved, upd);
	assert_false(allocator_port_in_use(30090));
	assert_true(allocator_port_in_use(30080));
	assert_true(allocator_port_in_use((int)dyn));

	cleanup_json json_t *back = json_copy_deep(upd);
	json_path_set(back, "spec.type", json_string("ClusterIP"));
	assert_int_equal(r->on_update(back, upd, NULL), 0);
	assert_null(json_path_get(back, "spec.ports.0.nodePort"));
	assert_false(allocator_port_in_use(30080));
	assert_false(allocator_port_in_use((int)dyn));
	assert_true(allocator_ip_in_use(json_path_str(back, "spec.clusterIP")));

	/* To ExternalName: the address goes back too. */
	cleanup_free char *ip = strdup(json_path_str(back, "spec.clusterIP"));
	cleanup_json json_t *ext =
		parse("{\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"x\"}}");
	assert_int_equal(r->on_update(ext, back, NULL), 0);
	assert_false(allocator_ip_in_use(ip));
	r->on_update_abort(ext, back);
	assert_true(allocator_ip_in_use(ip));
}

static void test_health_check_port(void **state)
{
	(void)state;
	const struct api_resource *r = services();
	assert_int_equal(allocator_init("10.96.0.0/12", "30000-32767", NULL), 0);
	/* Allocated for eTP Local, apart from the nodePort. */
	cleanup_json json_t *a =
		parse("{\"spec\":{\"type\":\"LoadBalancer\","
		      "\"externalTrafficPolicy\":\"Local\",\"ports\":[{\"port\":80}]}}");
	assert_int_equal(create(a, NULL), 0);
	long long hc = json_integer_value(json_path_get(a, "spec.healthCheckNodePort"));
	assert_true(hc >= 30000 && hc <= 32767);
	assert_true(hc != json_integer_value(json_path_get(a, "spec.ports.0.nodePort")));
	assert_true(allocator_port_in_use((int)hc));

	/* Not for eTP Cluster. */
	cleanup_json json_t *c = parse("{\"spec\":{\"type\":\"LoadBalancer\",\"ports\":"
				       "[{\"port\":80,\"nodePort\":30100}]}}");
	assert_int_equal(create(c, NULL), 0);
	assert_null(json_path_get(c, "spec.healthCheckNodePort"));

	/* A requested port is taken, or refused as upstream does (an internal
	 * error) with the ClusterIP and nodePort given back. */
	cleanup_json json_t *b =
		parse("{\"spec\":{\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":"
		      "\"Local\",\"healthCheckNodePort\":30200,\"ports\":[{\"port\":80}]}}");
	assert_int_equal(create(b, NULL), 0);
	assert_int_equal(json_integer_value(json_path_get(b, "spec.healthCheckNodePort")), 30200);
	assert_true(allocator_port_in_use(30200));
	cleanup_json json_t *clash =
		parse("{\"spec\":{\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":\"Local\","
		      "\"clusterIP\":\"10.96.9.9\",\"healthCheckNodePort\":30100,"
		      "\"ports\":[{\"port\":80,\"nodePort\":30201}]}}");
	cleanup_err struct mk_err *e = NULL;
	assert_int_equal(create(clash, &e), -1);
	assert_int_equal(mk_err_code(e), MK_EINTERNAL);
	assert_string_equal(mk_err_msg(e), "failed to allocate requested HealthCheck NodePort "
					   "30100: provided port is already allocated");
	assert_false(allocator_ip_in_use("10.96.9.9"));
	assert_false(allocator_port_in_use(30201));
	json_path_set(clash, "spec.healthCheckNodePort", json_integer(40000));
	cleanup_err struct mk_err *e2 = NULL;
	assert_int_equal(create(clash, &e2), -1);
	assert_string_equal(mk_err_msg(e2), "failed to allocate requested HealthCheck NodePort "
					    "40000: provided port is not in the valid range. The "
					    "range of valid ports is 30000-32767");

	/* eTP Local -> Cluster releases it (the client sent the old value
	 * back); a write that then fails holds it again. */
	cleanup_json json_t *off = json_copy_deep(b);
	json_path_set(off, "spec.externalTrafficPolicy", json_string("Cluster"));
	r->prepare_update(off, b);
	r->defaults(off);
	assert_null(json_path_get(off, "spec.healthCheckNodePort"));
	assert_int_equal(r->on_update(off, b, NULL), 0);
	assert_false(allocator_port_in_use(30200));
	r->on_update_abort(off, b);
	assert_true(allocator_port_in_use(30200));
	assert_int_equal(r->on_update(off, b, NULL), 0);
	assert_false(allocator_port_in_use(30200));

	/* Cluster -> Local allocates one; a failed write gives it back. */
	cleanup_json json_t *on = json_copy_deep(off);
	json_path_set(on, "spec.externalTrafficPolicy", json_string("Local"));
	r->prepare_update(on, off);
	r->defaults(on);
	assert_int_equal(r->on_update(on, off, NULL), 0);
	long long got = json_integer_value(json_path_get(on, "spec.healthCheckNodePort"));
	assert_true(got >= 30000 && allocator_port_in_use((int)got));
	r->on_update_abort(on, off);
	assert_false(allocator_port_in_use((int)got));

	/* Left out while still needed: kept. */
	cleanup_json json_t *same = json_copy_deep(a);
	json_object_del(json_object_get(same, "spec"), "healthCheckNodePort");
	r->prepare_update(same, a);
	assert_int_equal(json_integer_value(json_path_get(same, "spec.healthCheckNodePort")), hc);
	assert_int_equal(r->on_update(same, a, NULL), 0);
	assert_true(allocator_port_in_use((int)hc));

	/* Delete releases it. */
	r->on_delete(a);
	assert_false(allocator_port_in_use((int)hc));

	/* A range with room for the nodePort only. */
	assert_int_equal(allocator_init("10.96.0.0/12", "30000-30000", NULL), 0);
	cleanup_json json_t *full =
		parse("{\"spec\":{\"type\":\"LoadBalancer\","
		      "\"externalTrafficPolicy\":\"Local\",\"ports\":[{\"port\":80}]}}");
	cleanup_err struct mk_err *e3 = NULL;
	assert_int_equal(create(full, &e3), -1);
	assert_string_equal(mk_err_msg(e3), "failed to allocate a HealthCheck NodePort 0: range "
					    "is full");
	assert_false(allocator_port_in_use(30000));
}

static void test_reserve_existing(void **state)
{
	(void)state;
	assert_int_equal(allocator_init("10.96.0.0/12", "30000-32767", NULL), 0);
	cleanup_json json_t *stored = parse(
		"{\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.7.7\",\"clusterIPs\":"
		"[\"10.96.7.7\"],\"ports\":[{\"port\":53,\"protocol\":\"TCP\",\"nodePort\":31000},"
		"{\"port\":53,\"protocol\":\"UDP\",\"nodePort\":31000}]}}");
	assert_int_equal(allocator_reserve_existing(stored), 0);
	assert_true(allocator_ip_in_use("10.96.7.7"));
	assert_true(allocator_port_in_use(31000));
	/* The same Service twice is a conflict. */
	assert_int_equal(allocator_reserve_existing(stored), -1);
	cleanup_json json_t *again =
		parse("{\"spec\":{\"clusterIP\":\"10.96.7.7\",\"ports\":[{\"port\":1}]}}");
	cleanup_err struct mk_err *e = NULL;
	assert_int_equal(create(again, &e), -1);

	/* A health check port is held where the Service needs one only. */
	cleanup_json json_t *local = parse(
		"{\"spec\":{\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":\"Local\","
		"\"healthCheckNodePort\":31001,\"ports\":[{\"port\":80,\"nodePort\":31002}]}}");
	assert_int_equal(allocator_reserve_existing(local), 0);
	assert_true(allocator_port_in_use(31001));
	cleanup_json json_t *stale = parse(
		"{\"spec\":{\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":\"Cluster\","
		"\"healthCheckNodePort\":31003,\"ports\":[{\"port\":80,\"nodePort\":31004}]}}");
	assert_int_equal(allocator_reserve_existing(stale), 0);
	assert_false(allocator_port_in_use(31003));
}

#define THREADS	   4
#define PER_THREAD 200
static char got_ips[THREADS][PER_THREAD][16];
static int got_ports[THREADS][PER_THREAD];

static void *worker(void *arg)
{
	long t = (long)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		if (allocator_ip_allocate(NULL, got_ips[t][i], 16, NULL) < 0)
			got_ips[t][i][0] = '\0';
		got_ports[t][i] = allocator_port_allocate(0, NULL);
	}
	return NULL;
}

static void test_concurrent_unique(void **state)
{
	(void)state;
	/* 800 ports from a range of 1000, 800 addresses from a /22. */
	assert_int_equal(allocator_init("10.2.0.0/22", "30000-30999", NULL), 0);
	pthread_t th[THREADS];
	for (long t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, worker, (void *)t), 0);
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	cleanup_json json_t *seen_ips = json_object();
	cleanup_json json_t *seen_ports = json_object();
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < PER_THREAD; i++) {
			assert_true(got_ips[t][i][0]);
			assert_null(json_object_get(seen_ips, got_ips[t][i]));
			json_object_set_new(seen_ips, got_ips[t][i], json_true());
			char p[16];
			assert_true(got_ports[t][i] >= 30000 && got_ports[t][i] <= 30999);
			snprintf(p, sizeof(p), "%d", got_ports[t][i]);
			assert_null(json_object_get(seen_ports, p));
			json_object_set_new(seen_ports, p, json_true());
		}
	assert_int_equal(json_object_size(seen_ips), THREADS * PER_THREAD);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static json_t *stored_range(struct store *st, const char *key)
{
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_get(st, key, &kv, &err) < 0)
		fail_msg("get %s: %s", key, mk_err_msg(err));
	json_t *o = json_loads(kv.value, 0, NULL);
	store_kv_free(&kv);
	assert_non_null(o);
	return o;
}

/* What another API server on the same store does: rewrite the range. */
static void stored_range_set(struct store *st, const char *key, const char *range,
			     const char *data)
{
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(store_get(st, key, &kv, &err), 0);
	cleanup_free char *v = xasprintf("{\"kind\":\"RangeAllocation\",\"apiVersion\":\"v1\","
					 "\"metadata\":{},\"range\":\"%s\",\"data\":\"%s\"}",
					 range, data);
	assert_true(store_update(st, key, v, kv.mod_rev, NULL, &err) > 0);
	store_kv_free(&kv);
}

/* With a store attached, the state lives in RangeAllocation objects laid out
 * as upstream's (data = the bitmap as big-endian integer bytes), each change
 * goes through them, and what another server wrote there is obeyed even
 * when this one's copy is stale. */
static void test_store_backed(void **state)
{
	(void)state;
	char dir[] = "/tmp/mk-alloc-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	cleanup_err struct mk_err *err = NULL;
	struct store *st = store_sqlite_open(dir, &err);
	assert_non_null(st);

	assert_int_equal(allocator_init("10.0.0.0/28", "30000-30003", NULL), 0);
	cleanup_json json_t *held = parse("{\"spec\":{\"clusterIP\":\"10.0.0.10\",\"ports\":"
					  "[{\"port\":80,\"nodePort\":30002}]}}");
	assert_int_equal(allocator_reserve_existing(held), 0);
	assert_int_equal(allocator_attach_store(st, &err), 0);
	/* slot 10: 2^10 = 0x0400; port slot 2: 0x04 */
	cleanup_json json_t *r = stored_range(st, "/registry/ranges/serviceips");
	assert_string_equal(json_path_str(r, "kind"), "RangeAllocation");
	assert_string_equal(json_path_str(r, "range"), "10.0.0.0/28");
	assert_string_equal(json_path_str(r, "data"), "BAA=");
	cleanup_json json_t *p = stored_range(st, "/registry/ranges/servicenodeports");
	assert_string_equal(json_path_str(p, "range"), "30000-30003");
	assert_string_equal(json_path_str(p, "data"), "BA==");

	char ip[16];
	assert_int_equal(allocator_ip_allocate("10.0.0.1", ip, sizeof(ip), &err), 0);
	json_decref(r);
	r = stored_range(st, "/registry/ranges/serviceips");
	assert_string_equal(json_path_str(r, "data"), "BAI="); /* 2^10 + 2^1 */

	/* another server took 10.0.0.5 (slot 5) and freed 10.0.0.10 */
	stored_range_set(st, "/registry/ranges/serviceips", "10.0.0.0/28", "Ig=="); /* 2^1 + 2^5 */
	assert_int_equal(allocator_ip_allocate("10.0.0.5", ip, sizeof(ip), &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVALID);
	assert_string_equal(mk_err_msg(err),
			    "failed to allocate IP 10.0.0.5: provided IP is already allocated");
	mk_err_free(err), err = NULL;
	assert_int_equal(allocator_ip_allocate("10.0.0.10", ip, sizeof(ip), &err), 0);
	/* the rest of the range: 14 usable slots, 3 held; never slot 5 */
	int got = 0;
	while (allocator_ip_allocate(NULL, ip, sizeof(ip), NULL) == 0) {
		assert_string_not_equal(ip, "10.0.0.5");
		got++;
	}
	assert_int_equal(got, 14 - 3);
	json_decref(r);
	r = stored_range(st, "/registry/ranges/serviceips");
	assert_string_equal(json_path_str(r, "data"), "f/4="); /* slots 1..14 */

	/* a release another server's write made stale here still reaches the store */
	stored_range_set(st, "/registry/ranges/servicenodeports", "30000-30003", "DA=="); /* 2, 3 */
	allocator_port_release(30003);
	json_decref(p);
	p = stored_range(st, "/registry/ranges/servicenodeports");
	assert_string_equal(json_path_str(p, "data"), "BA==");
	assert_int_equal(allocator_port_allocate(0, &err) >= 30000, 1);
	assert_int_equal(allocator_port_allocate(0, &err) >= 30000, 1);
	assert_int_equal(allocator_port_allocate(0, &err) >= 30000, 1);
	assert_int_equal(allocator_port_allocate(0, &err), -1);
	assert_string_equal(mk_err_msg(err), "failed to allocate a nodePort: range is full");

	assert_int_equal(allocator_init("10.96.0.0/12", "30000-32767", NULL), 0); /* detaches */
	store_close(st);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_cluster_ip),
		cmocka_unit_test(test_exhaustion_and_first_ip),
		cmocka_unit_test(test_node_ports),
		cmocka_unit_test(test_health_check_port),
		cmocka_unit_test(test_reserve_existing),
		cmocka_unit_test(test_concurrent_unique),
		cmocka_unit_test(test_store_backed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
