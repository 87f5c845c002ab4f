/* The model kept incrementally: after any sequence of Service and EndpointSlice
 * changes, proxy_model_update equals a model built from scratch (compared by
 * the full iptables and nftables renders), and the nftables render of only the
 * changed services equals their part of the full render. */
#include "fixture.h"
#include "proxy/iptrules.h"
#include "proxy/nftrules.h"

static char *ipt_text(const struct proxy_model *m, const struct proxy_config *cfg)
{
	struct iptr_ruleset rs;
	iptr_render(m, cfg, NULL, &rs);
	char *t = iptr_restore_text(&rs);
	iptr_ruleset_free(&rs);
	return t;
}

static char *nft_text(const struct proxy_model *m, const struct proxy_config *cfg)
{
	struct nftr_ruleset rs;
	nftr_render(m, cfg, &rs);
	char *t = nftr_list_text(&rs, cfg);
	nftr_ruleset_free(&rs);
	return t;
}

/* The objects of rs that belong to the services of changed, as lines. */
static char *nft_objects(const struct nftr_ruleset *rs, const json_t *changed)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < rs->n_chains; i++) {
		const struct nftr_chain *c = &rs->chains[i];
		if (!json_object_get(changed, c->service))
			continue;
		buf_printf(&b, "chain %s\n", c->name);
		for (size_t j = 0; j < c->n_rules; j++) {
			char *r = nftr_rule_text(&c->rules[j]);
			buf_printf(&b, "  %s\n", r);
			free(r);
		}
	}
	for (size_t i = 0; i < rs->n_sets; i++)
		if (json_object_get(changed, rs->sets[i].service))
			buf_printf(&b, "set %s %d\n", rs->sets[i].name, rs->sets[i].timeout);
	for (int m = 0; m < NFTR_N_MAPS; m++)
		for (size_t i = 0; i < rs->n_elems[m]; i++) {
			const struct nftr_elem *e = &rs->elems[m][i];
			if (e->service && json_object_get(changed, e->service))
				buf_printf(&b, "elem %s %s : %s %s\n", nftr_maps[m].name, e->key,
					   e->chain ? e->chain : "drop", e->comment ? e->comment : "");
		}
	return buf_steal(&b);
}

/* Brings fx->model up to date incrementally and checks it against a fresh build. */
static void check_update(struct fixture *fx)
{
	json_t *changed = fx->st.changed;
	proxy_model_update(fx->model, &fx->st, changed, &fx->cfg);
	struct proxy_model *fresh = proxy_model_build(&fx->st, &fx->cfg);
	assert_int_equal(fx->model->n, fresh->n);
	assert_int_equal(fx->model->n_endpoints, fresh->n_endpoints);
	for (size_t i = 0; i < fresh->n; i++)
		assert_string_equal(fx->model->ports[i].spn, fresh->ports[i].spn);

	char *a = ipt_text(fx->model, &fx->cfg), *b = ipt_text(fresh, &fx->cfg);
	assert_same_text(a, b);
	free(a);
	free(b);
	a = nft_text(fx->model, &fx->cfg);
	b = nft_text(fresh, &fx->cfg);
	assert_same_text(a, b);
	free(a);
	free(b);

	/* the partial nftables render is the changed services' part of the full one */
	struct nftr_ruleset part, full;
	nftr_render_changed(fx->model, &fx->cfg, changed, &part);
	nftr_render(fresh, &fx->cfg, &full);
	assert_int_equal(part.n_elems[NFTR_NODEPORT_IPS], 0);
	a = nft_objects(&part, changed);
	b = nft_objects(&full, changed);
	assert_same_text(a, b);
	free(a);
	free(b);
	nftr_ruleset_free(&part);
	nftr_ruleset_free(&full);
	proxy_model_free(fresh);
	json_object_clear(fx->st.changed);
}

static const char *meta(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

static char *svc_key(const json_t *svc)
{
	return xasprintf("%s/%s", meta(svc, "namespace"), meta(svc, "name"));
}

static json_t *service_named(struct fixture *fx, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(fx->root, "services"), i, v)
		if (!strcmp(meta(v, "name"), name))
			return v;
	fail_msg("no service %s", name);
	return NULL;
}

static void run_changes(const char *fixture)
{
	struct fixture fx;
	fixture_load(&fx, fixture);
	json_object_clear(fx.st.changed);
	json_t *slices = json_object_get(fx.root, "slices");
	size_t n_slices = json_array_size(slices);
	assert_true(n_slices >= 1);

	/* nothing changed */
	check_update(&fx);

	/* a slice goes away, then comes back */
	json_t *sl = json_array_get(slices, n_slices - 1);
	assert_true(proxy_state_set_slice(&fx.st, sl, true));
	check_update(&fx);
	assert_true(proxy_state_set_slice(&fx.st, sl, false));
	check_update(&fx);

	/* a slice's endpoints change: one new address, one not ready */
	json_t *mod = json_deep_copy(json_array_get(slices, 0));
	json_t *eps = json_object_get(mod, "endpoints");
	assert_true(json_array_size(eps) > 0);
	json_object_set_new(json_array_get(eps, 0), "addresses", json_pack("[s]", "10.180.9.9"));
	json_t *extra = json_deep_copy(json_array_get(eps, 0));
	json_object_set_new(extra, "addresses", json_pack("[s]", "10.180.9.10"));
	json_object_set_new(extra, "conditions", json_pack("{s:b}", "ready", 0));
	json_array_append_new(eps, extra);
	assert_true(proxy_state_set_slice(&fx.st, mod, false));
	check_update(&fx);
	json_decref(mod);

	/* every service deleted and added again, in two steps */
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(fx.root, "services"), i, v) {
		char *key = svc_key(v);
		proxy_state_set_service(&fx.st, key, NULL);
		if (i % 2)
			check_update(&fx);
		free(key);
	}
	check_update(&fx);
	assert_int_equal(fx.model->n, 0);
	json_array_foreach(json_object_get(fx.root, "services"), i, v) {
		char *key = svc_key(v);
		proxy_state_set_service(&fx.st, key, v);
		if (i % 2 == 0)
			check_update(&fx);
		free(key);
	}
	check_update(&fx);

	/* a service's port and type change; a new service sorts in between */
	json_t *first = json_array_get(json_object_get(fx.root, "services"), 0);
	json_t *svc = json_deep_copy(service_named(&fx, meta(first, "name")));
	json_t *port = json_array_get(json_object_get(json_object_get(svc, "spec"), "ports"), 0);
	json_int_t pn = json_integer_value(json_object_get(port, "port"));
	json_object_set_new(port, "port", json_integer(pn + 1000));
	const char *ns = meta(svc, "namespace");
	char *key = svc_key(svc);
	assert_true(proxy_state_set_service(&fx.st, key, svc));
	free(key);
	json_t *added = json_deep_copy(svc);
	json_object_set_new(json_object_get(added, "metadata"), "name", json_string("svc0a"));
	json_object_set_new(json_object_get(added, "spec"), "clusterIP", json_string("172.30.99.1"));
	json_object_set_new(json_object_get(added, "spec"), "clusterIPs",
			    json_pack("[s]", "172.30.99.1"));
	key = xasprintf("%s/svc0a", ns);
	assert_true(proxy_state_set_service(&fx.st, key, added));
	free(key);
	check_update(&fx);
	json_decref(svc);
	json_decref(added);
	fixture_free(&fx);
}

static void test_incremental_overall(void **state)
{
	(void)state;
	run_changes("overall.json");
}

static void test_incremental_misc(void **state)
{
	(void)state;
	run_changes("misc.json");
}

static void test_incremental_example(void **state)
{
	(void)state;
	run_changes("example-a.json");
}

static json_t *slice_obj(const char *name, const char *svc, const char *ip)
{
	json_t *labels = svc ? json_pack("{s:s}", "kubernetes.io/service-name", svc) : json_object();
	return json_pack("{s:{s:s, s:s, s:o}, s:s, s:[{s:s, s:i, s:s}], s:[{s:[s]}]}", "metadata",
			 "namespace", "ns", "name", name, "labels", labels, "addressType", "IPv4",
			 "ports", "name", "", "port", 80, "protocol", "TCP", "endpoints", "addresses",
			 ip);
}

/* The informers keep no objects: a deletion found by a relist carries only
 * namespace and name, and a slice may move to another service. */
static void test_slice_stubs(void **state)
{
	(void)state;
	struct proxy_state st;
	proxy_state_init(&st);
	json_t *a = slice_obj("s1", "a", "10.0.0.1");
	assert_true(proxy_state_set_slice(&st, a, false));
	assert_false(proxy_state_set_slice(&st, a, false));
	assert_non_null(strmap_get(&st.slices, "ns/a"));
	json_object_clear(st.changed);

	/* relabelled to service b: gone from a, recorded under b */
	json_t *b = slice_obj("s1", "b", "10.0.0.1");
	assert_true(proxy_state_set_slice(&st, b, false));
	assert_null(strmap_get(&st.slices, "ns/a"));
	assert_non_null(strmap_get(&st.slices, "ns/b"));
	assert_non_null(json_object_get(st.changed, "ns/a"));
	assert_non_null(json_object_get(st.changed, "ns/b"));
	json_object_clear(st.changed);

	/* deleted through a stub without labels */
	json_t *stub = json_pack("{s:{s:s, s:s}}", "metadata", "namespace", "ns", "name", "s1");
	assert_true(proxy_state_set_slice(&st, stub, true));
	assert_null(strmap_get(&st.slices, "ns/b"));
	assert_int_equal(strmap_size(&st.slice_services), 0);
	assert_non_null(json_object_get(st.changed, "ns/b"));
	assert_false(proxy_state_set_slice(&st, stub, true));

	/* a slice losing its label is as good as deleted */
	json_t *none = slice_obj("s1", NULL, "10.0.0.1");
	assert_true(proxy_state_set_slice(&st, a, false));
	assert_true(proxy_state_set_slice(&st, none, false));
	assert_int_equal(strmap_size(&st.slices), 0);
	assert_false(proxy_state_set_slice(&st, none, false));

	json_decref(a);
	json_decref(b);
	json_decref(stub);
	json_decref(none);
	proxy_state_free(&st);
}

/* ---- what the API server should have refused never reaches the rules ---- */

static json_t *svc_obj(const char *name, const char *ip, const char *spec_extra)
{
	char *text = xasprintf("{\"metadata\":{\"namespace\":\"ns\",\"name\":\"%s\"},"
			       "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"%s\","
			       "\"ports\":[{\"name\":\"\",\"port\":80,\"protocol\":\"TCP\"}]%s%s}}",
			       name, ip, spec_extra[0] ? "," : "", spec_extra);
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("%s: %s", text, e.text);
	free(text);
	return v;
}

/* Replaces the "ports" of svc by the JSON text ports. */
static void set_ports(json_t *svc, const char *ports)
{
	json_object_set_new(json_object_get(svc, "spec"), "ports", json_loads(ports, 0, NULL));
}

/* Log lines written while it runs: stderr goes to a file meanwhile. */
struct capture {
	int saved;
	FILE *f;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(2);
	dup2(fileno(c->f), 2);
}

/* The captured text: new string. */
static char *capture_end(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	long n = ftell(c->f);
	char *t = xmalloc((size_t)n + 1);
	rewind(c->f);
	size_t r = fread(t, 1, (size_t)n, c->f);
	t[r] = '\0';
	fclose(c->f);
	return t;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void add_svc(struct proxy_state *st, json_t *svc)
{
	char *key = svc_key(svc);
	proxy_state_set_service(st, key, svc);
	free(key);
}

static void test_invalid_objects_left_out(void **state)
{
	(void)state;
	struct proxy_config cfg;
	proxy_config_init(&cfg);
	cfg.node_name = "node1";
	cfg.cluster_cidr = "10.244.0.0/16";
	struct proxy_state st;
	proxy_state_init(&st);
	static const char *const names[] = {"aff-neg", "aff-zero", "aff-str", "aff-big", "ext",
					    "sp",      "ports",    "np",      "epaddr",  "web"};
	static const char *const extra[] = {
		"\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{"
		"\"timeoutSeconds\":-5}}",
		"\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{"
		"\"timeoutSeconds\":0}}",
		"\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{"
		"\"timeoutSeconds\":\"abc\"}}",
		"\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{"
		"\"timeoutSeconds\":99999999999}}",
		"\"externalIPs\":[\"0.0.0.0\",\"127.0.0.1\",\"224.0.0.1\",\"255.255.255.255\","
		"\"239.1.1.1\",\"169.254.1.1\",\"10.1.2.0/24\",\"x\",\"192.168.77.50\"]",
		"",
		"",
		"\"type\":\"NodePort\"",
		"",
		"\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{"
		"\"timeoutSeconds\":86400}}",
	};
	for (size_t i = 0; i < 10; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.96.0.%zu", 10 + i);
		json_t *svc = svc_obj(names[i], ip, extra[i]);
		if (!strcmp(names[i], "ports"))
			set_ports(svc, "[{\"name\":\"a\",\"port\":70000,\"protocol\":\"TCP\"},"
				       "{\"name\":\"b\",\"port\":81,\"protocol\":\"TCP\"}]");
		if (!strcmp(names[i], "np"))
			set_ports(svc, "[{\"name\":\"a\",\"port\":80,\"nodePort\":99999,"
				       "\"protocol\":\"TCP\"},{\"name\":\"b\",\"port\":81,"
				       "\"nodePort\":30081,\"protocol\":\"TCP\"}]");
		add_svc(&st, svc);
		json_decref(svc);
		char *sname = xasprintf("%s-abcde", names[i]);
		json_t *sl = slice_obj(sname, names[i], "10.244.1.11");
		free(sname);
		json_t *p0 = json_array_get(json_object_get(sl, "ports"), 0);
		if (!strcmp(names[i], "sp"))
			json_object_set_new(p0, "port", json_integer(70000));
		if (!strcmp(names[i], "ports") || !strcmp(names[i], "np")) {
			json_object_set_new(p0, "name", json_string("b"));
			json_object_set_new(p0, "port", json_integer(8081));
		}
		if (!strcmp(names[i], "epaddr")) {
			json_t *eps = json_object_get(sl, "endpoints");
			json_array_append_new(eps, json_pack("{s:[s]}", "addresses", "127.0.0.3"));
			json_array_append_new(eps, json_pack("{s:[s]}", "addresses", "0.0.0.0"));
			json_array_append_new(eps, json_pack("{s:[s]}", "addresses", "224.0.0.9"));
			json_array_append_new(eps, json_pack("{s:[s]}", "addresses", "10.0.0.0/8"));
		}
		proxy_state_set_slice(&st, sl, false);
		json_decref(sl);
	}

	struct capture c;
	capture_start(&c);
	struct proxy_model *m = proxy_model_build(&st, &cfg);
	char *log = capture_end(&c);
	json_object_clear(st.changed);

	/* what is left: the good services and the good parts of the others */
	char *spns = xstrdup("");
	for (size_t i = 0; i < m->n; i++) {
		char *n = xasprintf("%s%s%s", spns, i ? " " : "", m->ports[i].spn);
		free(spns);
		spns = n;
	}
	assert_string_equal(spns, "ns/epaddr ns/ext ns/np:b ns/ports:b ns/sp ns/web");
	free(spns);
	for (size_t i = 0; i < m->n; i++) {
		const struct proxy_svc_port *p = &m->ports[i];
		if (!strcmp(p->name, "ext")) {
			assert_int_equal(p->n_external_ips, 1);
			assert_string_equal(p->external_ips[0], "192.168.77.50");
		}
		if (!strcmp(p->name, "sp"))
			assert_int_equal(p->n_eps, 0);
		if (!strcmp(p->name, "epaddr")) {
			/* a loopback endpoint is served, as upstream's proxy does */
			assert_int_equal(p->n_eps, 2);
			assert_string_equal(p->eps[0].str, "10.244.1.11:80");
			assert_string_equal(p->eps[1].str, "127.0.0.3:80");
		}
		if (!strcmp(p->name, "np"))
			assert_int_equal(p->node_port, 30081);
		if (!strcmp(p->name, "web"))
			assert_int_equal(p->affinity_timeout, 86400);
	}

	/* each refusal logged once, naming its object */
	static const char *const lines[] = {
		"Skipping service ns/aff-neg: spec.sessionAffinityConfig.clientIP.timeoutSeconds -5: "
		"must be greater than 0 and less than 86400",
		"Skipping service ns/aff-zero: spec.sessionAffinityConfig.clientIP.timeoutSeconds 0: "
		"must be greater than 0 and less than 86400",
		"Skipping service ns/aff-str: spec.sessionAffinityConfig.clientIP.timeoutSeconds "
		"\"abc\": must be greater than 0 and less than 86400",
		"Skipping service ns/aff-big: spec.sessionAffinityConfig.clientIP.timeoutSeconds "
		"99999999999: must be greater than 0 and less than 86400",
		"Skipping external IP \"0.0.0.0\" of service ns/ext: may not be unspecified (0.0.0.0)",
		"Skipping external IP \"127.0.0.1\" of service ns/ext: may not be in the loopback "
		"range (127.0.0.0/8, ::1/128)",
		"Skipping external IP \"224.0.0.1\" of service ns/ext: may not be in the link-local "
		"multicast range (224.0.0.0/24, ff02::/10)",
		"Skipping external IP \"255.255.255.255\" of service ns/ext: may not be the broadcast "
		"address (255.255.255.255)",
		"Skipping external IP \"239.1.1.1\" of service ns/ext: may not be multicast "
		"(224.0.0.0/4)",
		"Skipping external IP \"169.254.1.1\" of service ns/ext: may not be in the link-local "
		"range (169.254.0.0/16, fe80::/10)",
		"Skipping external IP \"10.1.2.0/24\" of service ns/ext: must be a valid IP address",
		"Skipping external IP \"x\" of service ns/ext: must be a valid IP address",
		"Skipping EndpointSlice ns/sp-abcde for service port ns/sp: port 70000: must be "
		"between 1 and 65535, inclusive",
		"Skipping port \"a\" of service ns/ports: port 70000: must be between 1 and 65535, "
		"inclusive",
		"Skipping port \"a\" of service ns/np: nodePort 99999: must be between 1 and 65535, "
		"inclusive",
		"Skipping 3 endpoint(s) of EndpointSlice ns/epaddr-abcde for service port ns/epaddr: "
		"address \"0.0.0.0\" may not be unspecified (0.0.0.0)",
	};
	size_t n_lines = sizeof(lines) / sizeof(lines[0]);
	for (size_t i = 0; i < n_lines; i++)
		if (count(log, lines[i]) != 1)
			fail_msg("logged %zu times: %s\nlog:\n%s", count(log, lines[i]), lines[i], log);
	assert_int_equal(count(log, "\n"), n_lines);
	free(log);

	/* both backends render the rest, and nothing of the rest */
	char *ipt = ipt_text(m, &cfg), *nft = nft_text(m, &cfg);
	static const char *const absent[] = {"70000", "4464", "99999", "34463", "127.0.0.1",
					     "0.0.0.0/", "224.0.0.1", "224.0.0.9", "255.255.255.255",
					     "10.96.0.10", "10.96.0.11", "10.96.0.12", "10.96.0.13",
					     "10.0.0.0/8"};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		if (strstr(ipt, absent[i]))
			fail_msg("iptables rules hold %s:\n%s", absent[i], ipt);
		if (strstr(nft, absent[i]))
			fail_msg("nftables rules hold %s:\n%s", absent[i], nft);
	}
	assert_non_null(strstr(ipt, "-d 192.168.77.50 --dport 80"));
	assert_non_null(strstr(ipt, "--seconds 86400"));
	assert_non_null(strstr(ipt, "10.244.1.11:8081"));
	assert_non_null(strstr(ipt, "--to-destination 127.0.0.3:80"));
	assert_non_null(strstr(nft, "dnat to 127.0.0.3:80"));
	assert_non_null(strstr(nft, "192.168.77.50 . tcp . 80"));
	assert_non_null(strstr(nft, "timeout 1d"));
	free(ipt);
	free(nft);

	/* a sync that changes something else logs nothing again; a change of
	 * the bad Service logs it again, once */
	json_t *other = svc_obj("other", "10.96.0.99", "");
	add_svc(&st, other);
	json_decref(other);
	capture_start(&c);
	proxy_model_update(m, &st, st.changed, &cfg);
	log = capture_end(&c);
	assert_string_equal(log, "");
	free(log);
	json_object_clear(st.changed);
	json_t *neg = svc_obj("aff-neg", "10.96.0.10", extra[0]);
	json_object_set_new(json_object_get(neg, "spec"), "selector",
			    json_pack("{s:s}", "app", "x"));
	json_t *ports = json_object_get(json_object_get(neg, "spec"), "ports");
	json_object_set_new(json_array_get(ports, 0), "port", json_integer(88));
	add_svc(&st, neg);
	json_decref(neg);
	capture_start(&c);
	proxy_model_update(m, &st, st.changed, &cfg);
	log = capture_end(&c);
	assert_int_equal(count(log, "Skipping service ns/aff-neg"), 1);
	assert_int_equal(count(log, "\n"), 1);
	free(log);
	json_object_clear(st.changed);

	proxy_model_free(m);
	proxy_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incremental_overall),
		cmocka_unit_test(test_incremental_misc),
		cmocka_unit_test(test_incremental_example),
		cmocka_unit_test(test_slice_stubs),
		cmocka_unit_test(test_invalid_objects_left_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
