/* The libiptc backend against the kernel, in a network namespace of its own
 * (unshare): rules are read back with iptables-legacy-save. Needs root. */
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "proxy/backend.h"
#include "proxy/iptables.h"
#include "proxy/iptrules.h"
#include "proxy/sync.h"

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

/* filter and nat as the reference's dump shows what a sync writes; the
 * canaries are made outside that text and checked on their own */
#define SAVE_WRITTEN                                                                \
	"{ iptables-legacy-save -t filter && iptables-legacy-save -t nat; } | "   \
	"grep -v '^:" IPT_CANARY_CHAIN " '"

/* true when table has the canary chain, and it is empty */
static bool canary_in(const char *table)
{
	char *cmd = xasprintf("iptables-legacy -w -t %s -S %s 2>/dev/null", table, IPT_CANARY_CHAIN);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	struct buf b = BUF_INIT;
	char line[256];
	while (fgets(line, sizeof(line), p))
		buf_append_str(&b, line);
	int status = pclose(p);
	char *out = buf_steal(&b);
	bool found = status == 0;
	if (found)
		assert_string_equal(out, "-N " IPT_CANARY_CHAIN "\n");
	free(out);
	free(cmd);
	return found;
}

static void assert_canaries(bool want)
{
	assert_int_equal(canary_in("mangle"), want);
	assert_int_equal(canary_in("nat"), want);
	assert_int_equal(canary_in("filter"), want);
}

/* worked example A, read back exactly as the reference's measured dump */
static void test_example_a_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "example-a.json");
	struct ipt_sync_stats st;
	sync_ok(&fx, NULL, &st);
	char *got = run(SAVE_WRITTEN);
	char *want = fixture_read("example-a.iptables-save");
	assert_same_text(got, want);
	free(got);
	/* a second full sync rewrites identical rules, no duplicate jumps */
	sync_ok(&fx, NULL, &st);
	got = run(SAVE_WRITTEN);
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

/* the canaries: made by full syncs, never by partial ones, kept by the
 * stale-chain deletes, remade after a flush */
static void test_canaries_kernel(void **state)
{
	(void)state;
	struct mk_err *err = NULL;
	assert_int_equal(ipt_backend_cleanup(&err), 0);
	assert_canaries(false);
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	struct ipt_sync_stats st;
	sync_ok(&fx, fx.st.changed, &st);
	assert_canaries(false);
	assert_int_equal(st.canaries_created, 0);
	sync_ok(&fx, NULL, &st);
	assert_canaries(true);
	assert_int_equal(st.canaries_created, 3);
	assert_true(st.mangle_canary_created);
	assert_true(st.mangle_canary_ok);
	sync_ok(&fx, NULL, &st);
	assert_int_equal(st.canaries_created, 0);
	assert_false(st.mangle_canary_created);
	assert_true(st.mangle_canary_ok);

	/* full sync deleting stale service chains keeps the nat canary */
	json_object_clear(fx.st.changed);
	json_t *sl = json_array_get(json_object_get(fx.root, "slices"), 3);
	proxy_state_set_slice(&fx.st, sl, true);
	proxy_model_free(fx.model);
	fx.model = proxy_model_build(&fx.st, &fx.cfg);
	sync_ok(&fx, NULL, &st);
	assert_int_equal(st.deleted_chains, 4);
	assert_int_equal(st.canaries_created, 0);
	assert_canaries(true);

	/* mangle flushed: the next full sync remakes its canary alone */
	assert_int_equal(system("iptables-legacy -t mangle -F && iptables-legacy -t mangle -X"), 0);
	assert_false(canary_in("mangle"));
	sync_ok(&fx, fx.st.changed, &st);
	assert_false(canary_in("mangle"));
	sync_ok(&fx, NULL, &st);
	assert_int_equal(st.canaries_created, 1);
	assert_true(st.mangle_canary_created);
	assert_canaries(true);
	fixture_free(&fx);
}

static void *run_sync(void *arg)
{
	proxy_sync_run(arg);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* waits up to 5 s for the mangle canary and nat's KUBE-SERVICES */
static bool rules_back(void)
{
	for (int i = 0; i < 50; i++) {
		if (canary_in("mangle") &&
		    system("iptables-legacy -w -t nat -S KUBE-SERVICES >/dev/null 2>&1") == 0)
			return true;
		sleep_ms(100);
	}
	return false;
}

/* the daemon's runner: its periodic full sync notices a flush of every table
 * and puts rules and canaries back */
static void test_canaries_after_flush(void **state)
{
	(void)state;
	struct mk_err *err = NULL;
	assert_int_equal(ipt_backend_cleanup(&err), 0);
	struct fixture fx;
	fixture_load(&fx, "example-a.json");
	struct proxy_sync s;
	proxy_sync_init(&s, &proxy_backend_iptables, &fx.cfg, 0, 300);
	proxy_sync_set_synced(&s, true, true);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, run_sync, &s), 0);
	assert_true(rules_back());
	assert_canaries(true);
	/* flush and delete every chain, as `iptables -F; iptables -X` per table,
	 * in one locked run so that no sync lands in between */
	assert_int_equal(system("printf '*mangle\\nCOMMIT\\n*nat\\nCOMMIT\\n*filter\\nCOMMIT\\n' | "
				"iptables-legacy-restore -w"),
			 0);
	assert_true(rules_back());
	assert_canaries(true);
	proxy_sync_stop(&s);
	pthread_join(th, NULL);
	assert_true(s.syncs >= 2);
	assert_int_equal(s.failures, 0);
	proxy_sync_destroy(&s);
	fixture_free(&fx);
}

/* A chain of a removed service that a rule of someone else still jumps to
 * cannot be deleted: the sync fails naming the service, and writes nothing
 * (nat nor filter); once the jump is gone the next sync goes through. */
static void test_refused_kernel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	sync_ok(&fx, NULL, NULL);
	assert_int_equal(system("iptables-legacy -t nat -N HOLDER && "
				"iptables-legacy -t nat -A HOLDER -j KUBE-SVC-4SW47YFZTEDKD3PK"), 0);
	char *before = run("iptables-legacy-save -t nat; iptables-legacy-save -t filter");
	json_object_clear(fx.st.changed);
	json_t *sl = json_array_get(json_object_get(fx.root, "slices"), 3);
	proxy_state_set_slice(&fx.st, sl, true);
	proxy_model_free(fx.model);
	fx.model = proxy_model_build(&fx.st, &fx.cfg);
	struct mk_err *err = NULL;
	assert_true(ipt_backend_sync(fx.model, &fx.cfg, fx.st.changed, NULL, &err) < 0);
	const char *msg = mk_err_msg(err);
	if (!strstr(msg, "KUBE-SVC-4SW47YFZTEDKD3PK of service ns4/svc4:p80"))
		fail_msg("error does not name the service: %s", msg);
	print_message("# %s\n", msg);
	mk_err_free(err);
	char *after = run("iptables-legacy-save -t nat; iptables-legacy-save -t filter");
	assert_same_text(after, before);
	free(after);
	free(before);

	assert_int_equal(system("iptables-legacy -t nat -F HOLDER && iptables-legacy -t nat -X HOLDER"), 0);
	sync_ok(&fx, fx.st.changed, NULL);
	after = run("iptables-legacy-save");
	assert_null(strstr(after, "KUBE-SVC-4SW47YFZTEDKD3PK"));
	assert_non_null(strstr(after, "ns4/svc4:p80 has no endpoints"));
	free(after);
	fixture_free(&fx);
}

/* Rules and chains of others in the tables kube-proxy writes stay as they
 * were over full and partial syncs: their jumps still land on their chains
 * (which move in the table kube-proxy rewrites) and their counters go on. */
static void test_others_kept_kernel(void **state)
{
	(void)state;
	assert_int_equal(system("iptables-legacy -t nat -N AAA-OTHER && "
				"iptables-legacy -t nat -N ZZZ-OTHER && "
				"iptables-legacy -t nat -A ZZZ-OTHER -s 198.51.100.1/32 -j RETURN && "
				"iptables-legacy -t nat -A AAA-OTHER -j ZZZ-OTHER && "
				"iptables-legacy -t nat -A AAA-OTHER -s 198.51.100.2/32 && "
				"iptables-legacy -t nat -I PREROUTING -c 7 700 -j AAA-OTHER && "
				"iptables-legacy -t filter -A INPUT -c 9 900 -s 198.51.100.3/32 -j DROP"),
			 0);
	struct fixture fx;
	fixture_load(&fx, "overall.json");
	sync_ok(&fx, NULL, NULL);
	json_object_clear(fx.st.changed);
	json_t *sl = json_array_get(json_object_get(fx.root, "slices"), 3);
	proxy_state_set_slice(&fx.st, sl, true);
	proxy_model_free(fx.model);
	fx.model = proxy_model_build(&fx.st, &fx.cfg);
	sync_ok(&fx, fx.st.changed, NULL);
	char *got = run("iptables-legacy-save -c");
	static const char *const want[] = {
		"[7:700] -A PREROUTING -j AAA-OTHER\n",
		"[0:0] -A AAA-OTHER -j ZZZ-OTHER\n",
		"[0:0] -A AAA-OTHER -s 198.51.100.2/32\n",
		"[0:0] -A ZZZ-OTHER -s 198.51.100.1/32 -j RETURN\n",
		"[9:900] -A INPUT -s 198.51.100.3/32 -j DROP\n",
		"-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(got, want[i]))
			fail_msg("missing %s in\n%s", want[i], got);
	free(got);
	fixture_free(&fx);
	assert_int_equal(system("iptables-legacy -t nat -D PREROUTING -j AAA-OTHER && "
				"iptables-legacy -t nat -F AAA-OTHER && iptables-legacy -t nat -X AAA-OTHER && "
				"iptables-legacy -t nat -F ZZZ-OTHER && iptables-legacy -t nat -X ZZZ-OTHER && "
				"iptables-legacy -t filter -D INPUT -s 198.51.100.3/32 -j DROP"),
			 0);
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
	/* mangle holds only the canary, and it goes too */
	assert_canaries(false);
	got = run("iptables-legacy-save -t mangle");
	assert_null(strstr(got, "KUBE-"));
	free(got);
	assert_int_equal(system("iptables-legacy -t nat -D PREROUTING -j OTHER && "
				"iptables-legacy -t nat -X OTHER"),
			 0);
	fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_a_kernel),
		cmocka_unit_test(test_partial_kernel),
		cmocka_unit_test(test_canaries_kernel),
		cmocka_unit_test(test_canaries_after_flush),
		cmocka_unit_test(test_refused_kernel),
		cmocka_unit_test(test_others_kept_kernel),
		cmocka_unit_test(test_cleanup_kernel),
	};
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
