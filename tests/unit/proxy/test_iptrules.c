/* Chain-name hashes, probabilities and the rendered iptables ruleset. */
#include "fixture.h"
#include "proxy/hash.h"
#include "proxy/iptrules.h"

static void test_chain_hashes(void **state)
{
	(void)state;
	static const struct {
		const char *spn, *ep, *want;
	} v[] = {
		{"ns1/svc1:p80", NULL, "KUBE-SVC-XPGD46QRK7WJZT7O"},
		{"ns1/svc1:p80", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"},
		{"ns1/svc1:p80", "10.180.0.2:80", "KUBE-SEP-LXVODXWDISEETFEF"},
		{"ns1/svc1:p80", "10.180.0.3:80", "KUBE-SEP-ICDUIKC33SFI6ZPR"},
		{"ns1/svc1:p80", "10.180.0.4:80", "KUBE-SEP-RPPRE45QSPCKGE5U"},
		{"ns1/svc1", NULL, "KUBE-SVC-AQI2S6QIMU7PVVRP"},
		{"ns1/svc1", "10.0.1.1:80", "KUBE-SEP-3JOIVZTXZZRGORX4"},
		{"ns2/svc2:p80", NULL, "KUBE-SVC-GNZBNJ2PO5MGZ6GT"},
		{"ns5/svc5:p80", "10.180.0.3:80", "KUBE-SEP-I77PXRDZVX7PMWMN"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *got = v[i].ep ? hash_ipt_sep_chain(v[i].spn, "tcp", v[i].ep)
				    : hash_ipt_chain("KUBE-SVC-", v[i].spn, "tcp");
		assert_string_equal(got, v[i].want);
		free(got);
	}
	char *ext = hash_ipt_chain("KUBE-EXT-", "ns2/svc2:p80", "tcp");
	assert_string_equal(ext, "KUBE-EXT-GNZBNJ2PO5MGZ6GT");
	free(ext);

	static const struct {
		const char *in, *want;
	} n[] = {
		{"ns1/svc1/tcp/p80", "ULMVA6XW-ns1/svc1/tcp/p80"},
		{"ns1/svc1/tcp/p80__10.180.0.1/80", "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"},
		{"ns1/svc1/tcp/p80__10.180.0.2/80", "2ZNDXFAB-ns1/svc1/tcp/p80__10.180.0.2/80"},
		{"ns1/svc1/tcp/p80__10.180.0.3/80", "WUHIZN2H-ns1/svc1/tcp/p80__10.180.0.3/80"},
		{"ns1/svc1/tcp/p80__10.180.0.4/80", "62DVFN2G-ns1/svc1/tcp/p80__10.180.0.4/80"},
		{"ns2/svc2/tcp/p8080", "MHHHYRWA-ns2/svc2/tcp/p8080"},
		{"ns5/svc5/tcp/p80__10.180.0.3/80", "GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"},
	};
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		char *got = hash_nft_base(n[i].in);
		assert_string_equal(got, n[i].want);
		free(got);
	}
	char longname[300];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[299] = '\0';
	char *cut = hash_nft_base(longname);
	assert_int_equal(strlen(cut), 240);
	assert_string_equal(cut + 237, "...");
	free(cut);
}

static void test_probability(void **state)
{
	(void)state;
	static const struct {
		size_t n;
		const char *want;
	} v[] = {{1, "1.0000000000"},     {2, "0.5000000000"},     {3, "0.3333333333"},
		 {4, "0.2500000000"},     {10, "0.1000000000"},    {100000, "0.0000100000"},
		 {100001, "0.0000099999"}};
	char buf[32];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		proxy_probability(v[i].n, buf, sizeof(buf));
		assert_string_equal(buf, v[i].want);
	}
}

static char *render(struct fixture *fx, const struct iptr_opts *opts)
{
	struct iptr_ruleset rs;
	iptr_render(fx->model, &fx->cfg, opts, &rs);
	char *text = iptr_restore_text(&rs);
	iptr_ruleset_free(&rs);
	return text;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits text into lines; sorts the ":CHAIN" declarations of each table in
 * place (their order is free), keeps every other line where it is. */
static char *normalize_decls(const char *text)
{
	char *copy = xstrdup(text);
	char *lines[4096];
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l && n < 4096;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && lines[j][0] == ':')
			j++;
		if (j > i)
			qsort(lines + i, j - i, sizeof(char *), cmp_str);
		i = j > i ? j : i + 1;
	}
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s\n", lines[i]);
	free(copy);
	return buf_steal(&b);
}

static void test_example_a(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "example-a.json");
	char *text = render(&fx, NULL);
	char *want = fixture_read("example-a.iptables");
	assert_non_null(want);
	char *nt = normalize_decls(text), *nw = normalize_decls(want);
	assert_string_equal(nt, nw);
	free(nt);
	free(nw);
	free(want);
	free(text);
	fixture_free(&fx);
}

/* Lines of one table section, sorted. */
static char *sorted_table(const char *text, const char *table)
{
	char *hdr = xasprintf("*%s\n", table);
	const char *s = strstr(text, hdr);
	assert_non_null(s);
	s += strlen(hdr);
	const char *e = strstr(s, "COMMIT\n");
	assert_non_null(e);
	char *sec = xstrndup(s, (size_t)(e - s));
	char *lines[4096];
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(sec, "\n", &save); l && n < 4096;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(char *), cmp_str);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s\n", lines[i]);
	free(sec);
	free(hdr);
	return buf_steal(&b);
}

/* upstream's TestOverallIPTablesRules, as a set of lines per table (the nfacct
 * counters upstream's test enables are left out of the expected file). */
static void test_overall_upstream(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	char *text = render(&fx, NULL);
	golden_check("overall.iptables", text);
	char *want = fixture_read("overall.upstream-iptables");
	assert_non_null(want);
	for (int t = 0; t < 2; t++) {
		const char *table = t ? "nat" : "filter";
		char *a = sorted_table(text, table), *b = sorted_table(want, table);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	/* nodeports rule last in KUBE-SERVICES */
	const char *last = strrchr(strstr(text, "*nat"), '\n');
	(void)last;
	const char *np = strstr(text, "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports");
	assert_non_null(np);
	assert_null(strstr(np + 1, "-A KUBE-SERVICES"));
	free(want);
	free(text);
	fixture_free(&fx);
}

/* A partial sync after a service changed rewrites only that service's chains
 * and deletes chains that are no longer produced. */
static void test_partial_and_stale(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	json_t *changed = json_object();
	json_object_set_new(changed, "ns4/svc4", json_true());
	char *existing[] = {"KUBE-SVC-XPGD46QRK7WJZT7O", "KUBE-SEP-UHEGFW77JX3KXTOV",
			    "KUBE-SVC-2VJB64SDSIJUP5T6", "KUBE-MARK-MASQ", "DOCKER"};
	struct iptr_opts opts = {.changed = changed, .existing_nat = existing, .n_existing_nat = 5};
	char *text = render(&fx, &opts);
	golden_check("overall-partial.iptables", text);
	/* svc4's chains are rewritten, svc1's are not */
	assert_non_null(strstr(text, ":KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]"));
	assert_null(strstr(text, ":KUBE-SVC-XPGD46QRK7WJZT7O"));
	assert_non_null(strstr(text, "-X KUBE-SEP-UHEGFW77JX3KXTOV\n"));
	assert_non_null(strstr(text, "-X KUBE-SVC-2VJB64SDSIJUP5T6\n"));
	assert_null(strstr(text, "-X KUBE-SVC-XPGD46QRK7WJZT7O"));
	assert_null(strstr(text, "DOCKER"));
	/* KUBE-SERVICES is complete */
	assert_non_null(strstr(text, "\"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 172.30.0.41"));
	json_decref(changed);
	free(text);
	fixture_free(&fx);
}

static void test_misc_golden(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "misc.json");
	char *text = render(&fx, NULL);
	golden_check("misc.iptables", text);
	free(text);
	fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_hashes),
		cmocka_unit_test(test_probability),
		cmocka_unit_test(test_example_a),
		cmocka_unit_test(test_overall_upstream),
		cmocka_unit_test(test_partial_and_stale),
		cmocka_unit_test(test_misc_golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
