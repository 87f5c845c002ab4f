/* The libnftnl backend against the kernel, in a private network namespace:
 * `nft list table ip kube-proxy` must print what nftrules renders. */
#include <errno.h>
#include <sched.h>

#include "fixture.h"
#include "proxy/nftables.h"
#include "proxy/nftrules.h"

static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	struct buf b = BUF_INIT;
	char line[8192];
	while (fgets(line, sizeof(line), p))
		buf_append_str(&b, line);
	pclose(p);
	return buf_steal(&b);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Element lists are printed in the kernel's hash order and chains in creation
 * order (a re-created chain comes last): sort elements and objects. */
static char *sort_blocks(char *text)
{
	char *blocks[8192];
	size_t n = 0;
	char *p = text;
	size_t len = strlen(text);
	/* the table's closing brace belongs to no block */
	if (len >= 3 && !strcmp(text + len - 3, "\n}\n"))
		text[len - 3] = '\0';
	while (p && n < 8192) {
		blocks[n++] = p;
		char *sep = strstr(p, "\n\n");
		if (!sep)
			break;
		*sep = '\0';
		p = sep + 2;
	}
	qsort(blocks, n, sizeof(char *), cmp_str);
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_printf(&out, "%s\n\n", blocks[i]);
	free(text);
	return buf_steal(&out);
}

static char *normalize(const char *text)
{
	struct buf out = BUF_INIT;
	const char *p = text;
	while (*p) {
		const char *s = strstr(p, "elements = { ");
		if (!s) {
			buf_append_str(&out, p);
			break;
		}
		s += strlen("elements = { ");
		buf_append(&out, p, (size_t)(s - p));
		const char *e = strstr(s, " }\n");
		assert_non_null(e);
		char *list = xstrndup(s, (size_t)(e - s));
		char *items[4096];
		size_t n = 0;
		char *q = list;
		while (q && n < 4096) {
			items[n++] = q;
			char *sep = strstr(q, ",");
			if (!sep)
				break;
			*sep = '\0';
			q = sep + 1;
			while (*q == ' ' || *q == '\n' || *q == '\t')
				q++;
		}
		qsort(items, n, sizeof(char *), cmp_str);
		for (size_t i = 0; i < n; i++)
			buf_printf(&out, "%s%s", i ? ", " : "", items[i]);
		free(list);
		p = e;
	}
	return sort_blocks(buf_steal(&out));
}

static void sync_ok(struct nft_backend *b, struct fixture *fx, const json_t *changed, size_t *n)
{
	struct mk_err *err = NULL;
	if (nft_backend_sync(b, fx->model, &fx->cfg, changed, n, &err) < 0)
		fail_msg("sync: %s", mk_err_msg(err));
}

/* What `nft list table ip kube-proxy` must print for fx's model. */
static char *render_text(const struct fixture *fx)
{
	struct nftr_ruleset rs;
	nftr_render(fx->model, &fx->cfg, &rs);
	char *text = nftr_list_text(&rs, &fx->cfg);
	nftr_ruleset_free(&rs);
	return text;
}

static void check_kernel_equals(const char *want)
{
	char *got = run("nft list table ip kube-proxy");
	char *a = normalize(got), *b = normalize(want);
	assert_same_text(a, b);
	free(a);
	free(b);
	free(got);
}

static void check_kernel_equals_render(struct fixture *fx)
{
	char *want = render_text(fx);
	check_kernel_equals(want);
	free(want);
}

static void test_example_b_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "example-a.json");
	struct nft_backend *b = nft_backend_new();
	sync_ok(b, &fx, NULL, NULL);
	char *got = run("nft list table ip kube-proxy");
	char *want = fixture_read("example-b.nft");
	assert_same_text(got, want);
	free(got);
	/* a full sync again: same table */
	sync_ok(b, &fx, NULL, NULL);
	got = run("nft list table ip kube-proxy");
	assert_same_text(got, want);
	free(got);
	free(want);
	fixture_free(&fx);

	/* switch to the upstream fixture: ns1/svc1 loses 3 endpoints */
	fixture_load(&fx, "overall.json");
	sync_ok(b, &fx, NULL, NULL);
	check_kernel_equals_render(&fx);
	fixture_free(&fx);
	fixture_load(&fx, "misc.json");
	sync_ok(b, &fx, NULL, NULL);
	check_kernel_equals_render(&fx);
	/* a restarted proxy (fresh state) rewrites the same table */
	nft_backend_free(b);
	b = nft_backend_new();
	sync_ok(b, &fx, NULL, NULL);
	check_kernel_equals_render(&fx);
	fixture_free(&fx);
	nft_backend_free(b);
}

/* A partial sync sends only the changed service's chains and elements. */
static void test_partial_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	struct nft_backend *b = nft_backend_new();
	size_t n_full = 0, n_part = 0;
	sync_ok(b, &fx, NULL, &n_full);
	/* nothing changed: only the empty batch and table */
	json_t *none = json_object();
	sync_ok(b, &fx, none, &n_part);
	assert_int_equal(n_part, 3);
	/* svc4 loses its endpoints */
	json_object_clear(fx.st.changed);
	json_t *sl = json_array_get(json_object_get(fx.root, "slices"), 3);
	proxy_state_set_slice(&fx.st, sl, true);
	proxy_model_free(fx.model);
	fx.model = proxy_model_build(&fx.st, &fx.cfg);
	sync_ok(b, &fx, fx.st.changed, &n_part);
	/* begin, table, 4 chain flushes + 4 deletes, elements out and in, end */
	if (n_part > 16)
		fail_msg("partial sync sent %zu messages", n_part);
	assert_true(n_part < n_full / 4);
	check_kernel_equals_render(&fx);
	char *got = run("nft list table ip kube-proxy");
	assert_null(strstr(got, "ns4/svc4/tcp/p80__"));
	assert_non_null(strstr(got, "172.30.0.44 . tcp . 80 comment \"ns4/svc4:p80\" : goto reject-chain"));
	free(got);
	/* and gets them back */
	proxy_state_set_slice(&fx.st, sl, false);
	proxy_model_free(fx.model);
	fx.model = proxy_model_build(&fx.st, &fx.cfg);
	json_t *ch = json_object();
	json_object_set_new(ch, "ns4/svc4", json_true());
	sync_ok(b, &fx, ch, &n_part);
	check_kernel_equals_render(&fx);
	json_decref(ch);
	json_decref(none);
	nft_backend_free(b);
	fixture_free(&fx);
}

/* Adds n ClusterIP services of 5 endpoints each to fx and rebuilds its model. */
static void add_services(struct fixture *fx, int n)
{
	for (int i = 0; i < n; i++) {
		char ip[32], name[32], key[64];
		snprintf(ip, sizeof(ip), "172.31.%d.%d", i / 250, i % 250 + 1);
		snprintf(name, sizeof(name), "big-%d", i);
		snprintf(key, sizeof(key), "big/%s", name);
		json_t *svc = json_pack("{s:{s:s, s:s}, s:{s:s, s:[s], s:[{s:s, s:i, s:s}]}}",
					"metadata", "namespace", "big", "name", name, "spec",
					"clusterIP", ip, "clusterIPs", ip, "ports", "name", "http",
					"port", 80, "protocol", "TCP");
		json_t *eps = json_array();
		for (int e = 0; e < 5; e++) {
			snprintf(ip, sizeof(ip), "10.9.%d.%d", (i * 5 + e) / 250, (i * 5 + e) % 250 + 1);
			json_array_append_new(eps, json_pack("{s:[s], s:{s:b}}", "addresses", ip,
							     "conditions", "ready", 1));
		}
		json_t *sl = json_pack("{s:{s:s, s:s+, s:{s:s}}, s:s, s:[{s:s, s:i, s:s}], s:o}",
				       "metadata", "namespace", "big", "name", name, "-abcde",
				       "labels", "kubernetes.io/service-name", name, "addressType",
				       "IPv4", "ports", "name", "http", "port", 80, "protocol", "TCP",
				       "endpoints", eps);
		proxy_state_set_service(&fx->st, key, svc);
		proxy_state_set_slice(&fx->st, sl, false);
		json_decref(svc);
		json_decref(sl);
	}
	proxy_model_free(fx->model);
	fx->model = proxy_model_build(&fx->st, &fx->cfg);
}

/* The name of the service chain of big/<name> in the kernel (new string). */
static char *service_chain(const char *name)
{
	char *cmd = xasprintf("nft list table ip kube-proxy | grep -o 'service-[A-Z0-9]*-big/%s/tcp/http'", name);
	char *chain = run(cmd);
	free(cmd);
	assert_true(strlen(chain) > 10);
	chain[strcspn(chain, "\n")] = '\0';
	return chain;
}

/* Big full syncs go out in several batches; the table must be the same. A
 * periodic full sync over an untouched table sends only what differs; one
 * over a table someone else changed rewrites the chains that differ from
 * their tags, and so does a restarted proxy. */
static void test_big_full_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	add_services(&fx, 560); /* ~3,400 service chains: three parts */
	struct nft_backend *b = nft_backend_new();
	size_t n_full = 0, n = 0;
	sync_ok(b, &fx, NULL, &n_full);
	check_kernel_equals_render(&fx);
	/* full again, nothing changed anywhere: begin, table, end */
	sync_ok(b, &fx, NULL, &n);
	assert_int_equal(n, 3);
	/* another writer empties one service chain, takes a rule out of a
	 * second and adds one to a third: the next full sync (it cannot trust
	 * its records) rewrites those three and finds the others intact */
	char *c1 = service_chain("big-7"), *c2 = service_chain("big-8"), *c3 = service_chain("big-9");
	char *cmd = xasprintf("nft flush chain ip kube-proxy %s && "
			      "nft delete rule ip kube-proxy %s handle $(nft -a list chain ip kube-proxy %s | "
			      "grep -o 'handle [0-9]*$' | sed -n 2p | cut -d' ' -f2) && "
			      "nft add rule ip kube-proxy %s counter",
			      c1, c2, c2, c3);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("nft list chain ip kube-proxy %s", c1);
	char *got = run(cmd);
	assert_null(strstr(got, "numgen"));
	free(got);
	free(cmd);
	sync_ok(b, &fx, NULL, &n);
	if (n > n_full / 20)
		fail_msg("the repair sent %zu messages, the first full sync %zu", n, n_full);
	check_kernel_equals_render(&fx);
	free(c1);
	free(c2);
	free(c3);
	/* a restarted proxy (no records) finds the whole table intact */
	nft_backend_free(b);
	b = nft_backend_new();
	sync_ok(b, &fx, NULL, &n);
	if (n > n_full / 20)
		fail_msg("the restart sent %zu messages, the first full sync %zu", n, n_full);
	check_kernel_equals_render(&fx);
	nft_backend_free(b);
	fixture_free(&fx);
}

/* Gives ns1/svc1 ClientIP affinity in fx (its model rebuilt) and returns the
 * key of what changed. */
static json_t *svc1_gets_affinity(struct fixture *fx)
{
	json_t *svc = json_deep_copy(json_array_get(json_object_get(fx->root, "services"), 0));
	json_object_set_new(json_object_get(svc, "spec"), "sessionAffinity", json_string("ClientIP"));
	json_object_clear(fx->st.changed);
	proxy_state_set_service(&fx->st, "ns1/svc1", svc);
	json_decref(svc);
	proxy_model_free(fx->model);
	fx->model = proxy_model_build(&fx->st, &fx->cfg);
	return json_deep_copy(fx->st.changed);
}

/* When the kernel refuses a change, the error names the Service, the batch
 * is not applied at all, and the next sync (a full one) writes it. */
static void test_refused_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	struct nft_backend *b = nft_backend_new();
	sync_ok(b, &fx, NULL, NULL);
	char *want_before = render_text(&fx);

	/* someone else holds the name of svc1's coming affinity set, with
	 * another type: the kernel refuses to create ours */
	json_t *changed = svc1_gets_affinity(&fx);
	struct nftr_ruleset rs;
	nftr_render_changed(fx.model, &fx.cfg, changed, &rs);
	assert_true(rs.n_sets > 0);
	char *set = xstrdup(rs.sets[0].name);
	nftr_ruleset_free(&rs);
	char *cmd = xasprintf("nft add set ip kube-proxy '%s' '{ type ipv6_addr; }'", set);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	struct mk_err *err = NULL;
	assert_true(nft_backend_sync(b, fx.model, &fx.cfg, changed, NULL, &err) < 0);
	const char *msg = mk_err_msg(err);
	if (!strstr(msg, "refused a change for service ns1/svc1"))
		fail_msg("error does not name the service: %s", msg);
	print_message("# %s\n", msg);
	mk_err_free(err);

	/* nothing of the batch took: without the foreign set, the table is what
	 * the previous model renders */
	cmd = xasprintf("nft delete set ip kube-proxy '%s'", set);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	check_kernel_equals(want_before);
	free(want_before);

	/* the next sync succeeds and has svc1's affinity */
	sync_ok(b, &fx, changed, NULL);
	check_kernel_equals_render(&fx);
	cmd = xasprintf("nft list set ip kube-proxy '%s'", set);
	char *got = run(cmd);
	assert_non_null(strstr(got, "type ipv4_addr"));
	free(got);
	free(cmd);
	free(set);
	json_decref(changed);
	nft_backend_free(b);
	fixture_free(&fx);
}

/* Chains and sets of other tables are not ours: a full sync, which removes
 * what our table has and the model does not, leaves them alone even when
 * their names look like a service's. */
static void test_other_tables_kernel(void **state)
{
	(void)state;
	assert_int_equal(system("nft add table ip other-writer && "
				"nft add chain ip other-writer 'service-X-ns9/gone/tcp/p' && "
				"nft add set ip other-writer affinity-X-ns9/gone '{ type ipv4_addr; }'"),
			 0);
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	struct nft_backend *b = nft_backend_new();
	sync_ok(b, &fx, NULL, NULL);
	check_kernel_equals_render(&fx);
	/* a restarted proxy reads the table back: still only ours */
	nft_backend_free(b);
	b = nft_backend_new();
	sync_ok(b, &fx, NULL, NULL);
	check_kernel_equals_render(&fx);
	char *got = run("nft list table ip other-writer");
	assert_non_null(strstr(got, "chain service-X-ns9/gone/tcp/p"));
	assert_non_null(strstr(got, "set affinity-X-ns9/gone"));
	free(got);
	assert_int_equal(system("nft delete table ip other-writer"), 0);
	nft_backend_free(b);
	fixture_free(&fx);
}

static void test_cleanup_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	struct nft_backend *b = nft_backend_new();
	sync_ok(b, &fx, NULL, NULL);
	struct mk_err *err = NULL;
	assert_int_equal(nft_backend_cleanup(&err), 0);
	char *got = run("nft list tables");
	assert_null(strstr(got, "kube-proxy"));
	free(got);
	/* cleaning up nothing is fine */
	assert_int_equal(nft_backend_cleanup(&err), 0);
	nft_backend_free(b);
	fixture_free(&fx);
}

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "# unshare: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_b_kernel),
		cmocka_unit_test(test_partial_kernel),
		cmocka_unit_test(test_big_full_kernel),
		cmocka_unit_test(test_refused_kernel),
		cmocka_unit_test(test_other_tables_kernel),
		cmocka_unit_test(test_cleanup_kernel),
	};
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
