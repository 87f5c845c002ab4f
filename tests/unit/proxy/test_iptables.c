/* The libiptc backend against the kernel, in a network namespace of its own
 * (unshare): rules are read back with iptables-legacy-save. Needs root. */
#include <sched.h>
#include <unistd.h>

#include "fixture.h"
#include "proxy/iptables.h"
#include "proxy/iptrules.h"

static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	struct buf b = BUF_INIT;
	char line[4096];
	while (fgets(line, sizeof(line), p))
		if (line[0] != '#')
			buf_append_str(&b, line);
	assert_int_equal(pclose(p), 0);
	return buf_steal(&b);
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "# needs root to create a network namespace\n");
		return -1;
	}
	return 0;
}

static void sync_ok(struct fixture *fx, const json_t *changed, struct ipt_sync_stats *st)
{
	struct mk_err *err = NULL;
	int rc = ipt_backend_sync(fx->model, &fx->cfg, changed, st, &err);
	if (rc < 0)
		fail_msg("sync: %s", mk_err_msg(err));
}

/* worked example A, read back exactly as the reference's measured dump */
static void test_example_a_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "example-a.json");
	struct ipt_sync_stats st;
	sync_ok(&fx, NULL, &st);
	char *got = run("iptables-legacy-save");
	char *want = fixture_read("example-a.iptables-save");
	assert_same_text(got, want);
	free(got);
	/* a second full sync rewrites identical rules, no duplicate jumps */
	sync_ok(&fx, NULL, &st);
	got = run("iptables-legacy-save");
	assert_same_text(got, want);
	assert_int_equal(st.nat_rules, 4 + 1 + 5 + 8 + 1);
	free(got);
	free(want);
	fixture_free(&fx);

	/* the upstream fixture round-trips through the kernel as iptables-restore
	 * of the same text would */
	fixture_load(&fx, "overall.json");
	sync_ok(&fx, NULL, &st);
	got = run("iptables-legacy-save");
	struct iptr_ruleset rs;
	iptr_render(fx.model, &fx.cfg, NULL, &rs);
	char *text = iptr_restore_text(&rs);
	iptr_ruleset_free(&rs);
	FILE *f = popen("iptables-legacy-restore --noflush", "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(pclose(f), 0);
	char *again = run("iptables-legacy-save");
	assert_same_text(got, again);
	/* chains of ns1/svc1 with 4 endpoints in the previous sync are gone */
	assert_null(strstr(got, "KUBE-SEP-RPPRE45QSPCKGE5U"));
	assert_non_null(strstr(got, "-A KUBE-SEP-I77PXRDZVX7PMWMN -p tcp -m comment --comment \"ns5/svc5:p80\" -m recent --set --name KUBE-SEP-I77PXRDZVX7PMWMN --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.3:80"));
	free(text);
	free(got);
	free(again);
	fixture_free(&fx);
}

/* partial sync: only changed services' chains; stale chains deleted */
static void test_partial_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	struct ipt_sync_stats st;
	sync_ok(&fx, NULL, &st);
	char *before = run("iptables-legacy-save -t nat");
	/* drop svc4's slice: svc4 loses its nat chains, gets a REJECT */
	json_object_clear(fx.st.changed);
	json_t *sl = json_array_get(json_object_get(fx.root, "slices"), 3);
	proxy_state_set_slice(&fx.st, sl, true);
	assert_non_null(json_object_get(fx.st.changed, "ns4/svc4"));
	proxy_model_free(fx.model);
	fx.model = proxy_model_build(&fx.st, &fx.cfg);
	sync_ok(&fx, fx.st.changed, &st);
	assert_int_equal(st.deleted_chains, 4); /* SVC, EXT, 2 SEP */
	char *after = run("iptables-legacy-save -t nat");
	assert_null(strstr(after, "KUBE-SVC-4SW47YFZTEDKD3PK"));
	assert_null(strstr(after, "KUBE-SEP-UKSFD7AGPMPPLUHC"));
	/* other services untouched */
	assert_non_null(strstr(after, ":KUBE-SVC-XPGD46QRK7WJZT7O"));
	assert_non_null(strstr(after, "-A KUBE-SVC-NUKIZ6OKUXPJNT4C"));
	char *flt = run("iptables-legacy-save -t filter");
	assert_non_null(strstr(flt, "ns4/svc4:p80 has no endpoints"));
	free(flt);
	free(before);
	free(after);
	fixture_free(&fx);
}

static void test_cleanup_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	sync_ok(&fx, NULL, NULL);
	/* someone else's chain and rule survive */
	assert_int_equal(system("iptables-legacy -t nat -N OTHER && iptables-legacy -t nat -A PREROUTING -j OTHER"), 0);
	struct mk_err *err = NULL;
	assert_int_equal(ipt_backend_cleanup(&err), 0);
	char *got = run("iptables-legacy-save");
	assert_null(strstr(got, "KUBE-"));
	assert_non_null(strstr(got, "-A PREROUTING -j OTHER"));
	free(got);
	fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_a_kernel),
		cmocka_unit_test(test_partial_kernel),
		cmocka_unit_test(test_cleanup_kernel),
	};
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
