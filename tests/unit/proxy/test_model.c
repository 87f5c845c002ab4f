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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incremental_overall),
		cmocka_unit_test(test_incremental_misc),
		cmocka_unit_test(test_incremental_example),
		cmocka_unit_test(test_slice_stubs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
