/* The rendered nftables ruleset: worked example B exactly, upstream's
 * TestOverallNFTablesRules as a set of rule and element commands, goldens. */
#include "fixture.h"
#include "proxy/nftrules.h"

static char *list_text(struct fixture *fx)
{
	struct nftr_ruleset rs;
	nftr_render(fx->model, &fx->cfg, &rs);
	char *t = nftr_list_text(&rs, &fx->cfg);
	nftr_ruleset_free(&rs);
	return t;
}

static void test_example_b(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "example-a.json");
	char *got = list_text(&fx);
	char *want = fixture_read("example-b.nft");
	assert_non_null(want);
	assert_string_equal(got, want);
	free(got);
	free(want);
	fixture_free(&fx);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_lines(char *text)
{
	char *lines[1024];
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < 1024;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(char *), cmp_str);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s\n", lines[i]);
	return buf_steal(&b);
}

/* overall.upstream-nft holds the rule and element commands of upstream's test,
 * spelled as nft lists them (", " between vmap entries, a one-range anonymous
 * set printed without braces). */
static void test_overall_upstream(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	struct nftr_ruleset rs;
	nftr_render(fx.model, &fx.cfg, &rs);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < rs.n_chains; i++)
		for (size_t j = 0; j < rs.chains[i].n_rules; j++) {
			char *t = nftr_rule_text(&rs.chains[i].rules[j]);
			buf_printf(&b, "add rule ip kube-proxy %s %s\n", rs.chains[i].name, t);
			free(t);
		}
	for (int m = 0; m < NFTR_N_MAPS; m++) {
		if (m == NFTR_NODEPORT_IPS)
			continue;
		for (size_t i = 0; i < rs.n_elems[m]; i++) {
			const struct nftr_elem *e = &rs.elems[m][i];
			buf_printf(&b, "add element ip kube-proxy %s { %s", nftr_maps[m].name, e->key);
			if (e->comment)
				buf_printf(&b, " comment \"%s\"", e->comment);
			if (nftr_maps[m].is_map)
				buf_printf(&b, " : %s%s", e->chain ? "goto " : "drop", e->chain ? e->chain : "");
			buf_append_str(&b, " }\n");
		}
	}
	char *mine = sorted_lines(b.data);
	char *up = fixture_read("overall.upstream-nft");
	char *theirs = sorted_lines(up);
	assert_same_text(mine, theirs);
	/* the affinity set */
	assert_int_equal(rs.n_sets, 1);
	assert_string_equal(rs.sets[0].name, "affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80");
	assert_int_equal(rs.sets[0].timeout, 10800);
	free(mine);
	free(theirs);
	free(up);
	buf_free(&b);
	nftr_ruleset_free(&rs);
	char *t = list_text(&fx);
	golden_check("overall.nft", t);
	free(t);
	fixture_free(&fx);
}

static void test_misc_golden(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "misc.json");
	char *t = list_text(&fx);
	golden_check("misc.nft", t);
	free(t);
	fixture_free(&fx);
}

static void test_duration(void **state)
{
	(void)state;
	char d[32];
	nftr_duration(10800, d, sizeof(d));
	assert_string_equal(d, "3h");
	nftr_duration(3661, d, sizeof(d));
	assert_string_equal(d, "1h1m1s");
	nftr_duration(90000, d, sizeof(d));
	assert_string_equal(d, "1d1h");
	nftr_duration(10, d, sizeof(d));
	assert_string_equal(d, "10s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_b),
		cmocka_unit_test(test_overall_upstream),
		cmocka_unit_test(test_misc_golden),
		cmocka_unit_test(test_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
