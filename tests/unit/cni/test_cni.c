/* CNI plugins' pure logic: host-local configuration and allocation order on
 * a temporary store, GC, chain names, bridge netconf parsing, CNI_ARGS.
 * (Results between versions and IP arithmetic are lib/'s: tests/unit/lib.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "cni/bridge/conf.h"
#include "cni/bridge/masq.h"
#include "cni/host-local/alloc.h"
#include "ipaddr.h"
#include "sha2.h"
#include "cni/skel/skel.h"
#include "xalloc.h"

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	assert_non_null(j);
	return j;
}

/* ---- host-local ---- */

static int hl_conf(const char *json, const char *args, struct hl_config **c, struct mk_err **err)
{
	cleanup_json json_t *j = parse(json);
	return hl_config_parse(j, args, false, c, err);
}

static void expect_conf_err(const char *ipam, const char *msg)
{
	cleanup_free char *json = xasprintf(
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"host-local\",%s}}", ipam);
	struct hl_config *c = NULL;
	struct mk_err *err = NULL;
	assert_int_equal(hl_conf(json, NULL, &c, &err), -1);
	assert_string_equal(mk_err_msg(err), msg);
	mk_err_free(err);
}

static void test_hl_config_errors(void **state)
{
	(void)state;
	expect_conf_err("\"ranges\":[[{\"subnet\":\"10.0.0.1/24\"}]]",
			"invalid range set 0: Network has host bits set. For a subnet mask of length 24 "
			"the network address is 10.0.0.0");
	expect_conf_err("\"ranges\":[[{\"subnet\":\"10.0.0.0/31\"}]]",
			"invalid range set 0: Network 10.0.0.0/31 too small to allocate from");
	expect_conf_err("\"ranges\":[[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.1.1\"}]]",
			"invalid range set 0: RangeStart 10.0.1.1 not in network 10.0.0.0/24");
	expect_conf_err("\"ranges\":[[{\"subnet\":\"bogus\"}]]", "invalid CIDR address: bogus");
	expect_conf_err("\"ranges\":[]", "no IP ranges specified");
	expect_conf_err("\"ranges\":[[]]", "invalid range set 0: empty range set");
	expect_conf_err("\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"},{\"subnet\":\"fd00::/64\"}]]",
			"invalid range set 0: mixed address families");
	expect_conf_err("\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"}],[{\"subnet\":\"10.0.0.0/25\"}]]",
			"range set 0 overlaps with 1");
	struct hl_config *c = NULL;
	struct mk_err *err = NULL;
	cleanup_json json_t *noipam = parse("{\"name\":\"n\"}");
	assert_int_equal(hl_config_parse(noipam, NULL, false, &c, &err), -1);
	assert_string_equal(mk_err_msg(err), "IPAM config missing 'ipam' key");
	mk_err_free(err);
}

static void test_hl_config_defaults(void **state)
{
	(void)state;
	struct hl_config *c = NULL;
	struct mk_err *err = NULL;
	assert_int_equal(hl_conf("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"10.5.0.0/24\"}]]},"
				 "\"ipam\":{\"subnet\":\"10.6.0.0/24\",\"ranges\":[[{\"subnet\":\"fd00::/120\"}]]}}",
				 "IP=10.6.0.9", &c, &err),
			 0);
	assert_int_equal(c->nsets, 3);
	cleanup_free char *s0 = hl_rangeset_str(&c->sets[0]);
	cleanup_free char *s1 = hl_rangeset_str(&c->sets[1]);
	cleanup_free char *s2 = hl_rangeset_str(&c->sets[2]);
	assert_string_equal(s0, "10.5.0.1-10.5.0.254");
	assert_string_equal(s1, "10.6.0.1-10.6.0.254");
	assert_string_equal(s2, "fd00::1-fd00::ff");
	assert_string_equal(c->data_dir, "/var/lib/cni/networks");
	assert_int_equal(c->nreq, 1);
	hl_config_free(c);
}

static char *tmpdir(void)
{
	char t[] = "/tmp/cniunit.XXXXXX";
	assert_non_null(mkdtemp(t));
	return xstrdup(t);
}

static void rmrf(const char *d)
{
	cleanup_free char *cmd = xasprintf("rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static char *alloc_one(struct hl_store *st, struct hl_rangeset *set, const char *id)
{
	struct ipaddr_net a;
	struct ipaddr gw;
	struct mk_err *err = NULL;
	if (hl_alloc_get(st, set, 0, id, "eth0", NULL, &a, &gw, &err) < 0) {
		char *m = xasprintf("ERR %s", mk_err_msg(err));
		mk_err_free(err);
		return m;
	}
	return ipaddr_net_str(&a);
}

static void test_hl_allocation_order(void **state)
{
	(void)state;
	cleanup_free char *d = tmpdir();
	struct hl_config *c = NULL;
	struct mk_err *err = NULL;
	assert_int_equal(hl_conf("{\"name\":\"n\",\"ipam\":{\"ranges\":[[{\"subnet\":\"10.98.0.0/29\"}]]}}",
				 NULL, &c, &err),
			 0);
	struct hl_store *st = hl_store_open(d, "n", &err);
	assert_non_null(st);
	const char *want[] = {"10.98.0.2/29", "10.98.0.3/29", "10.98.0.4/29", "10.98.0.5/29",
			      "10.98.0.6/29"};
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "c%d", i + 1);
		cleanup_free char *got = alloc_one(st, &c->sets[0], id);
		assert_string_equal(got, want[i]);
	}
	cleanup_free char *full6 = alloc_one(st, &c->sets[0], "c6");
	assert_string_equal(full6, "ERR no IP addresses available in range set: 10.98.0.1-10.98.0.6");
	/* released addresses come back only after the cursor wraps past the gateway */
	assert_int_equal(hl_release(st, "c3", "eth0", &err), 0);
	assert_int_equal(hl_release(st, "c4", "eth0", &err), 0);
	cleanup_free char *again = alloc_one(st, &c->sets[0], "c7");
	assert_string_equal(again, "10.98.0.4/29");
	cleanup_free char *dup = alloc_one(st, &c->sets[0], "c7");
	assert_string_equal(dup, "ERR 10.98.0.4 has been allocated to c7, duplicate allocation is not allowed");
	assert_true(hl_find(st, "c7", "eth0"));
	assert_false(hl_find(st, "c7", "eth1"));
	/* the file holds id CR LF ifname, the cursor the last address */
	cleanup_free char *p = xasprintf("%s/n/10.98.0.4", d);
	FILE *f = fopen(p, "r");
	char buf[64] = {0};
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 8);
	fclose(f);
	assert_memory_equal(buf, "c7\r\neth0", 8);
	/* GC keeps only valid attachments */
	cleanup_json json_t *valid = parse("[{\"containerID\":\"c1\",\"ifname\":\"eth0\"}]");
	assert_int_equal(hl_gc(st, valid, &err), 0);
	assert_false(hl_find(st, "c2", "eth0"));
	assert_true(hl_find(st, "c1", "eth0"));
	hl_store_close(st);
	hl_config_free(c);
	rmrf(d);
}

static void test_hl_gc_refuses_malformed(void **state)
{
	(void)state;
	cleanup_free char *d = tmpdir();
	struct hl_config *c = NULL;
	struct mk_err *err = NULL;
	assert_int_equal(hl_conf("{\"name\":\"n\",\"ipam\":{\"ranges\":[[{\"subnet\":\"10.98.0.0/29\"}]]}}",
				 NULL, &c, &err),
			 0);
	struct hl_store *st = hl_store_open(d, "n", &err);
	assert_non_null(st);
	cleanup_free char *a1 = alloc_one(st, &c->sets[0], "c1");
	cleanup_free char *a2 = alloc_one(st, &c->sets[0], "c2");
	assert_string_equal(a2, "10.98.0.3/29");
	static const char *const bad[] = {
		"\"garbage\"",
		"[{\"containerID\":5},null]",
		"[{\"containerID\":\"c1\",\"ifname\":\"eth0\"},null]",
		"[{\"containerID\":\"c1\",\"ifname\":7}]",
		"{\"containerID\":\"c1\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		assert_int_equal(hl_gc(st, v, &err), -1);
		assert_int_equal(mk_err_code(err), MK_EINVAL);
		mk_err_free(err);
		err = NULL;
		json_decref(v);
		/* nothing was released */
		assert_true(hl_find(st, "c1", "eth0"));
		assert_true(hl_find(st, "c2", "eth0"));
	}
	/* the same store with a well-formed list frees the stale one */
	cleanup_json json_t *valid = parse("[{\"containerID\":\"c1\",\"ifname\":\"eth0\"}]");
	assert_int_equal(hl_gc(st, valid, &err), 0);
	assert_true(hl_find(st, "c1", "eth0"));
	assert_false(hl_find(st, "c2", "eth0"));
	hl_store_close(st);
	hl_config_free(c);
	rmrf(d);
}

static void test_hl_gateway_inside_range(void **state)
{
	(void)state;
	cleanup_free char *d = tmpdir();
	struct hl_config *c = NULL;
	struct mk_err *err = NULL;
	assert_int_equal(hl_conf("{\"name\":\"n\",\"ipam\":{\"ranges\":[[{\"subnet\":\"10.9.0.0/24\",\"gateway\":\"10.9.0.254\"}]]}}",
				 NULL, &c, &err),
			 0);
	struct hl_store *st = hl_store_open(d, "n", &err);
	cleanup_free char *first = alloc_one(st, &c->sets[0], "a");
	assert_string_equal(first, "10.9.0.1/24");
	struct ipaddr req;
	ipaddr_parse("10.9.0.254", &req);
	struct ipaddr_net a;
	struct ipaddr gw;
	assert_int_equal(hl_alloc_get(st, &c->sets[0], 0, "b", "eth0", &req, &a, &gw, &err), -1);
	assert_string_equal(mk_err_msg(err), "requested ip 10.9.0.254 is subnet's gateway");
	mk_err_free(err);
	hl_store_close(st);
	hl_config_free(c);
	rmrf(d);
}

/* ---- bridge ---- */

static void test_chain_name(void **state)
{
	(void)state;
	char chain[29];
	masq_chain_name("rtnet", "ctr-a1", chain);
	assert_string_equal(chain, "CNI-855f43039df7814b026133ab");
	char hex[129];
	sha2_512_hex("", 0, 64, hex);
	assert_string_equal(hex, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
				 "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
}

static int conf_ctx(struct cni_ctx *ctx, const char *json, const char *args)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->conf = parse(json);
	ctx->args = args ? args : "";
	return 0;
}

static void test_bridge_conf(void **state)
{
	(void)state;
	struct cni_ctx ctx;
	struct br_conf c;
	struct mk_err *err = NULL;
	conf_ctx(&ctx, "{\"name\":\"n\",\"isDefaultGateway\":true,\"mtu\":1400,\"args\":{\"cni\":{\"mac\":\"02:00:00:00:00:02\"}},"
		       "\"runtimeConfig\":{\"mac\":\"02:00:00:00:00:03\"},\"ipam\":{\"type\":\"host-local\"}}",
		 "IgnoreUnknown=1;MAC=02:00:00:00:00:01;K8S_POD_NAME=x");
	assert_int_equal(br_conf_parse(&ctx, &c, &err), 0);
	assert_string_equal(c.bridge, "cni0");
	assert_true(c.is_gw);
	assert_int_equal(c.mtu, 1400);
	assert_true(c.has_mac);
	assert_int_equal(c.mac[5], 3);
	assert_string_equal(c.ipam_type, "host-local");
	json_decref(ctx.conf);

	conf_ctx(&ctx, "{\"name\":\"n\",\"isGateway\":\"yes\"}", NULL);
	assert_int_equal(br_conf_parse(&ctx, &c, &err), -1);
	assert_string_equal(mk_err_msg(err), "failed to load netconf: json: cannot unmarshal string into Go "
					     "struct field NetConf.isGateway of type bool");
	mk_err_free(err);
	err = NULL;
	json_decref(ctx.conf);

	conf_ctx(&ctx, "{\"name\":\"n\",\"vlan\":5000}", NULL);
	assert_int_equal(br_conf_parse(&ctx, &c, &err), -1);
	assert_string_equal(mk_err_msg(err), "invalid VLAN ID 5000 (must be between 0 and 4094)");
	mk_err_free(err);
	err = NULL;
	json_decref(ctx.conf);

	conf_ctx(&ctx, "{\"name\":\"n\"}", "FOO=bar");
	assert_int_equal(br_conf_parse(&ctx, &c, &err), -1);
	assert_string_equal(mk_err_msg(err), "ARGS: unknown args [\"FOO=bar\"]");
	mk_err_free(err);
	err = NULL;
	json_decref(ctx.conf);
	free(ctx.err_details);

	conf_ctx(&ctx, "{\"name\":\"n\"}", "FOO");
	assert_int_equal(br_conf_parse(&ctx, &c, &err), -1);
	assert_string_equal(mk_err_msg(err), "ARGS: invalid pair \"FOO\"");
	mk_err_free(err);
	err = NULL;
	json_decref(ctx.conf);

	conf_ctx(&ctx, "{\"name\":\"n\"}", "MAC=zz");
	assert_int_equal(br_conf_parse(&ctx, &c, &err), -1);
	assert_string_equal(mk_err_msg(err), "failed to make veth pair: address zz: invalid MAC address");
	mk_err_free(err);
	json_decref(ctx.conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hl_config_errors),
		cmocka_unit_test(test_hl_config_defaults),
		cmocka_unit_test(test_hl_allocation_order),
		cmocka_unit_test(test_hl_gc_refuses_malformed),
		cmocka_unit_test(test_hl_gateway_inside_range),
		cmocka_unit_test(test_chain_name),
		cmocka_unit_test(test_bridge_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
