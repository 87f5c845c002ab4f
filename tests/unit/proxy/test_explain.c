/* kube-proxy --explain: the pure core over rules recorded from the kernel
 * (tests/fixtures/proxy/explain-*.iptables-save and .nft), compared with
 * golden explanations; stale and hand-edited rules; and, as root in network
 * namespaces of its own, the reader over what a real sync of the same
 * fixtures leaves in the kernel (UPDATE_GOLDEN=1 records the fixtures from
 * there). */
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "fixture.h"
#include "proxy/explain.h"
#include "proxy/iptables.h"
#include "proxy/nftables.h"

struct scenario {
	const char *model;   /* the fixture a sync writes into the kernel */
	const char *rules;   /* "explain-cluster": .iptables-save and .nft recorded from it */
	const char *node_ip; /* this node's address in it */
	const char *api;     /* pods and nodes, or NULL */
	const char *const *targets;
};

static const char *const cluster_targets[] = {"default/web",	      "default/web:http",
					      "default/web:80",	      "default/sticky",
					      "default/lb",	      "default/empty",
					      "default/dns",	      "default/dns:dns-tcp",
					      "default/itp",	      "default/ext",
					      "10.96.12.34:80",	      "192.168.77.2:30080",
					      "203.0.113.10:443/tcp", "192.168.77.2:30999",
					      "10.96.0.10:53/UDP",    "192.168.77.100:80",
					      "10.96.12.34:81",	      "10.96.99.99:80",
					      "192.0.2.1:80",	      "default/nothere",
					      "default/web:81",	      NULL};

static const char *const overall_targets[] = {
	"ns1/svc1",	     "ns2/svc2",	 "ns3/svc3",
	"ns4/svc4",	     "ns5/svc5:p80",	 "ns6/svc6",
	"172.30.0.41:80",    "192.168.0.2:3001", "127.0.0.1:3003",
	"1.2.3.4:80",	     "5.6.7.8:80",	 "192.168.99.33:80/tcp",
	"192.168.0.2:30000", "172.30.0.46:80",	 NULL};

static const struct scenario cluster = {"explain-cluster.json", "explain-cluster", "192.168.77.2",
					"explain-api.json", cluster_targets};
static const struct scenario overall = {"overall.json", "explain-overall", "192.168.0.2", NULL,
					overall_targets};

static json_t *load_json(const char *name)
{
	char *path = fixture_path(name);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (!j)
		fail_msg("%s: %s", path, jerr.text);
	free(path);
	return j;
}

/* explain_render of one target; *rc its result. New string. */
static char *render(enum explain_mode mode, const char *rules, const char *node_ip,
		    const json_t *api, const char *target, int *rc)
{
	const char *ips[] = {node_ip, "127.0.0.1"};
	struct explain_target t;
	struct mk_err *err = NULL;
	if (explain_target_parse(target, &t, &err) < 0)
		fail_msg("%s: %s", target, mk_err_msg(err));
	struct explain_input in = {
		.mode = mode,
		.rules = rules,
		.local_ips = ips,
		.n_local_ips = 2,
		.pods = api ? json_object_get(api, "pods") : NULL,
		.nodes = api ? json_object_get(api, "nodes") : NULL,
	};
	char *out = NULL;
	*rc = explain_render(&t, &in, &out, &err);
	if (*rc < 0)
		fail_msg("%s: %s", target, mk_err_msg(err));
	explain_target_free(&t);
	return out;
}

static char *rules_of(const struct scenario *s, enum explain_mode mode)
{
	char *name =
		xasprintf("%s.%s", s->rules, mode == EXPLAIN_IPTABLES ? "iptables-save" : "nft");
	char *rules = fixture_read(name);
	if (!rules)
		fail_msg("fixture %s missing", name);
	free(name);
	return rules;
}

/* "$ kube-proxy --explain=T  (exit N)" and the output, for every target */
static char *explain_all(const struct scenario *s, enum explain_mode mode, const char *rules)
{
	json_t *api = s->api ? load_json(s->api) : NULL;
	struct buf b = BUF_INIT;
	for (size_t i = 0; s->targets[i]; i++) {
		int rc;
		char *out = render(mode, rules, s->node_ip, api, s->targets[i], &rc);
		buf_printf(&b, "$ kube-proxy --explain=%s  (exit %d)\n%s\n", s->targets[i], rc,
			   out);
		free(out);
	}
	json_decref(api);
	return buf_steal(&b);
}

static void golden(const struct scenario *s, enum explain_mode mode)
{
	char *rules = rules_of(s, mode);
	char *got = explain_all(s, mode, rules);
	char *name =
		xasprintf("%s.%s.txt", s->rules, mode == EXPLAIN_IPTABLES ? "iptables" : "nft");
	golden_check(name, got);
	free(name);
	free(got);
	free(rules);
}

static void test_golden_cluster(void **state)
{
	(void)state;
	golden(&cluster, EXPLAIN_IPTABLES);
	golden(&cluster, EXPLAIN_NFTABLES);
}

static void test_golden_overall(void **state)
{
	(void)state;
	golden(&overall, EXPLAIN_IPTABLES);
	golden(&overall, EXPLAIN_NFTABLES);
}

static void test_target_parse(void **state)
{
	(void)state;
	struct explain_target t;
	struct mk_err *err = NULL;
	assert_int_equal(explain_target_parse("default/web", &t, &err), 0);
	assert_string_equal(t.ns, "default");
	assert_string_equal(t.name, "web");
	assert_null(t.port);
	assert_null(t.ip);
	explain_target_free(&t);
	assert_int_equal(explain_target_parse("kube-system/kube-dns:dns-tcp", &t, &err), 0);
	assert_string_equal(t.port, "dns-tcp");
	explain_target_free(&t);
	assert_int_equal(explain_target_parse("10.96.0.10:53/UDP", &t, &err), 0);
	assert_string_equal(t.ip, "10.96.0.10");
	assert_int_equal(t.dport, 53);
	assert_string_equal(t.proto, "udp");
	assert_null(t.ns);
	explain_target_free(&t);
	assert_int_equal(explain_target_parse("10.96.0.10:443", &t, &err), 0);
	assert_string_equal(t.proto, "tcp");
	explain_target_free(&t);

	static const struct {
		const char *in, *msg;
	} bad[] = {
		{"", "--explain: empty target: want namespace/name[:port] or IP:port[/protocol]"},
		{"web", "--explain web: want namespace/name[:port] or IP:port[/protocol]"},
		{"10.96.0.10", "--explain 10.96.0.10: a port is needed: IP:port[/protocol]"},
		{"10.96.0.10:0", "--explain 10.96.0.10:0: port \"0\" is not a number in 1-65535"},
		{"10.96.0.10:70000",
		 "--explain 10.96.0.10:70000: port \"70000\" is not a number in 1-65535"},
		{"10.96.0.10:80/icmp",
		 "--explain 10.96.0.10:80/icmp: protocol \"icmp\" is not tcp, udp or sctp"},
		{"[fd00::1]:80",
		 "--explain [fd00::1]:80: IPv6 is not supported, the rules explained are IPv4"},
		{"Default/web", "--explain Default/web: namespace \"Default\": "},
		{"default/web/x", "--explain default/web/x: service name \"web/x\": "},
		{"default/web:",
		 "--explain default/web:: port \"\" is neither a port number nor a port name"},
		{"default/web:no_such",
		 "port \"no_such\" is neither a port number nor a port name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(explain_target_parse(bad[i].in, &t, &err), -1);
		assert_int_equal(mk_err_code(err), MK_EINVAL);
		if (!strstr(mk_err_msg(err), bad[i].msg))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].in, mk_err_msg(err),
				 bad[i].msg);
		mk_err_free(err);
		explain_target_free(&t);
	}
}

/* text with the first occurrence of from replaced by to (new) */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	if (!at)
		fail_msg("fixture lacks \"%s\"", from);
	return xasprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

static void assert_has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("missing \"%s\" in:\n%s", want, text);
}

/* What the kernel holds is explained, not what kube-proxy would write. */
static void test_hand_edited_iptables(void **state)
{
	(void)state;
	char *rules = rules_of(&cluster, EXPLAIN_IPTABLES);
	/* one endpoint's rule gone and another's probability changed by hand */
	char *a = edit(rules,
		       "-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment \"default/web:http -> "
		       "10.244.2.8:80\" -j KUBE-SEP-7SKGJ7C4MOCW7QSQ\n",
		       "");
	char *b = edit(a, "--probability 0.33333333349 -j KUBE-SEP-PKFFQ5FQAXIKWM2A",
		       "--probability 0.66666666651 -j KUBE-SEP-PKFFQ5FQAXIKWM2A");
	int rc;
	char *out = render(EXPLAIN_IPTABLES, b, "192.168.77.2", NULL, "10.96.12.34:80", &rc);
	assert_int_equal(rc, 0);
	assert_has(out, "KUBE-SVC-CDGGSHYLG3RE2FKL: 3 endpoints, one chosen at random");
	assert_has(out,
		   "0.25000000000  25.0 %  -> KUBE-SEP-THCUGE4PYEGQIHCR  DNAT 10.244.1.5:80\n");
	assert_has(out,
		   "0.66666666651  50.0 %  -> KUBE-SEP-PKFFQ5FQAXIKWM2A  DNAT 10.244.1.6:80\n");
	assert_has(out,
		   "0.50000000000  12.5 %  -> KUBE-SEP-BRUXVDZYVXMAQENK  DNAT 10.244.2.7:80\n");
	assert_has(out, "the other 12.5 % go on to the next rule");
	free(out);

	/* a stale rule to a chain left empty, and a rule added with a match
	 * this reader cannot judge */
	char *c = edit(
		rules, "-A KUBE-SERVICES -d 10.96.0.10/32",
		"-A KUBE-SERVICES -d 10.96.12.34/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-STALE\n"
		"-A KUBE-SERVICES -d 10.96.0.10/32");
	char *d = edit(c, ":KUBE-SVC-2MBSHUE5GJKPO227 - [0:0]\n",
		       ":KUBE-SVC-2MBSHUE5GJKPO227 - [0:0]\n:KUBE-SVC-STALE - [0:0]\n");
	char *e = edit(d,
		       "-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment \"default/web:http -> "
		       "10.244.1.5:80\"",
		       "-A KUBE-SVC-CDGGSHYLG3RE2FKL -m time --timestart 09:00:00 -j "
		       "KUBE-SEP-7SKGJ7C4MOCW7QSQ\n"
		       "-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment \"default/web:http -> "
		       "10.244.1.5:80\"");
	out = render(EXPLAIN_IPTABLES, e, "192.168.77.2", NULL, "10.96.12.34:80", &rc);
	assert_int_equal(rc, 0);
	assert_has(out,
		   "  KUBE-SERVICES: -d 10.96.12.34/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-STALE\n"
		   "  KUBE-SVC-STALE: no rule for this packet, back to KUBE-SERVICES\n"
		   "  KUBE-SERVICES: -d 10.96.12.34/32 -p tcp -m tcp --dport 80 -j "
		   "KUBE-SVC-CDGGSHYLG3RE2FKL\n");
	assert_has(out, "  KUBE-SVC-CDGGSHYLG3RE2FKL: -m time --timestart 09:00:00 -j "
			"KUBE-SEP-7SKGJ7C4MOCW7QSQ\n"
			"    when -m time --timestart 09:00:00:\n"
			"      KUBE-SEP-7SKGJ7C4MOCW7QSQ: -s 10.244.2.8/32 -j KUBE-MARK-MASQ\n");
	assert_has(out, "KUBE-SVC-CDGGSHYLG3RE2FKL: 4 endpoints, one chosen at random");
	free(out);
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	free(rules);
}

static void test_hand_edited_nftables(void **state)
{
	(void)state;
	char *rules = rules_of(&cluster, EXPLAIN_NFTABLES);
	/* an element taken out of the numgen map by hand */
	char *a = edit(rules, ", 3 : goto endpoint-Q6BIB7Y5-default/web/tcp/http__10.244.2.8/80 }",
		       " }");
	/* a rule nobody here can read, and one that only counts */
	char *b = edit(
		a, "\t\tip daddr 10.96.12.34 ip saddr != 10.244.0.0/16 jump mark-for-masquerade\n",
		"\t\tip daddr 10.96.12.34 ip saddr != 10.244.0.0/16 jump mark-for-masquerade\n"
		"\t\tmeta hour \"09:00\"-\"17:00\" drop\n"
		"\t\tcounter packets 0 bytes 0\n");
	int rc;
	char *out = render(EXPLAIN_NFTABLES, b, "192.168.77.2", NULL, "10.96.12.34:80", &rc);
	assert_int_equal(rc, 0);
	assert_has(out,
		   "service-SUSTUHLJ-default/web/tcp/http: meta hour \"09:00\"-\"17:00\" drop\n"
		   "    not understood here: taken as doing nothing to this packet\n");
	assert_has(out, "  3 endpoints, one chosen at random:\n");
	assert_has(out, "      2  25.0 %  -> endpoint-3H3MJ7UJ-default/web/tcp/http__10.244.2.7/80 "
			" DNAT 10.244.2.7:80\n");
	assert_has(out, "the other 25.0 % have no element and go on to the next rule");
	/* what the rest meets next: nothing in nat; cluster-ips-check lets a
	 * known ClusterIP pass */
	free(out);
	free(a);
	free(b);
	free(rules);
}

static void test_unreadable_rules(void **state)
{
	(void)state;
	struct explain_target t;
	assert_int_equal(explain_target_parse("default/web", &t, NULL), 0);
	struct explain_input in = {.mode = EXPLAIN_IPTABLES,
				   .rules = "*nat\n-A KUBE-SERVICES -d\n"};
	char *out = NULL;
	struct mk_err *err = NULL;
	assert_int_equal(explain_render(&t, &in, &out, &err), -1);
	assert_null(out);
	assert_string_equal(mk_err_msg(err),
			    "reading the iptables rules: line 2: option -d without a value: "
			    "-A KUBE-SERVICES -d");
	mk_err_free(err);
	err = NULL;
	in = (struct explain_input){.mode = EXPLAIN_NFTABLES, .rules = "chain x {\n}\n"};
	assert_int_equal(explain_render(&t, &in, &out, &err), -1);
	assert_string_equal(mk_err_msg(err),
			    "reading the nftables rules: not an nft table listing: \"chain x {\"");
	mk_err_free(err);
	/* no rules at all: nothing matches, which is said in one line */
	in = (struct explain_input){.mode = EXPLAIN_IPTABLES, .rules = ""};
	assert_int_equal(explain_render(&t, &in, &out, NULL), 1);
	assert_string_equal(out, "no rule for Service default/web in the nat or filter table\n");
	free(out);
	explain_target_free(&t);
}

/* ---- the reader, over the kernel (root) ---- */

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

/* a fresh network namespace with the node's address, synced from the model */
static bool kernel_sync(const struct scenario *s)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return false;
	char *cmd = xasprintf("ip link set lo up && ip link add mkx0 type veth peer name mkx1 && "
			      "ip addr add %s/24 dev mkx0 && ip link set mkx0 up",
			      s->node_ip);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	struct fixture fx;
	fixture_load(&fx, s->model);
	struct ipt_sync_stats st;
	struct mk_err *err = NULL;
	if (ipt_backend_sync(fx.model, &fx.cfg, NULL, &st, &err) < 0)
		fail_msg("iptables sync: %s", mk_err_msg(err));
	struct nft_backend *b = nft_backend_new();
	if (nft_backend_sync(b, fx.model, &fx.cfg, NULL, NULL, &err) < 0)
		fail_msg("nftables sync: %s", mk_err_msg(err));
	nft_backend_free(b);
	fixture_free(&fx);
	return true;
}

/* explain_main's stdout and stderr, and its exit status */
static char *capture_main(const char *target, const char *mode, int *rc, char **errout)
{
	char o[] = "/tmp/explain-out-XXXXXX", e[] = "/tmp/explain-err-XXXXXX";
	int fo = mkstemp(o), fe = mkstemp(e);
	assert_true(fo >= 0 && fe >= 0);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	*rc = explain_main(target, mode, NULL, NULL);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	char *cmd = xasprintf("cat %s", o);
	char *out = run(cmd);
	free(cmd);
	cmd = xasprintf("cat %s", e);
	*errout = run(cmd);
	free(cmd);
	unlink(o);
	unlink(e);
	return out;
}

/* The rules a real sync leaves in the kernel explain exactly like the
 * recorded fixtures, read through the reader in both modes. */
static void kernel_check(const struct scenario *s)
{
	if (!kernel_sync(s)) {
		fprintf(stderr, "# needs root to create a network namespace: skipped\n");
		return;
	}
	char *ipt = run("iptables-legacy-save -t filter && iptables-legacy-save -t nat");
	char *nft = run("nft list table ip kube-proxy");
	if (getenv("UPDATE_GOLDEN")) {
		char *n1 = xasprintf("%s.iptables-save", s->rules),
		     *n2 = xasprintf("%s.nft", s->rules);
		golden_check(n1, ipt);
		golden_check(n2, nft);
		free(n1);
		free(n2);
	}
	char *want_ipt_rules = rules_of(s, EXPLAIN_IPTABLES);
	char *want_nft_rules = rules_of(s, EXPLAIN_NFTABLES);
	for (size_t i = 0; s->targets[i]; i++) {
		int rc_i, rc_n, rc_w, rc_m;
		char *wi = render(EXPLAIN_IPTABLES, want_ipt_rules, s->node_ip, NULL, s->targets[i],
				  &rc_w);
		char *wn = render(EXPLAIN_NFTABLES, want_nft_rules, s->node_ip, NULL, s->targets[i],
				  &rc_m);
		char *gi = render(EXPLAIN_IPTABLES, ipt, s->node_ip, NULL, s->targets[i], &rc_i);
		char *gn = render(EXPLAIN_NFTABLES, nft, s->node_ip, NULL, s->targets[i], &rc_n);
		assert_same_text(gi, wi);
		assert_same_text(gn, wn);
		assert_int_equal(rc_i, rc_w);
		assert_int_equal(rc_n, rc_m);
		/* the reader: both modes' rules are there, both are explained */
		int rc;
		char *err;
		char *got = capture_main(s->targets[i], NULL, &rc, &err);
		char *want = rc_w == 0 && rc_m == 0 ? xasprintf("%s\n%s", wi, wn)
			     : rc_w == 0	    ? xstrdup(wi)
			     : rc_m == 0	    ? xstrdup(wn)
						    : xstrdup("");
		assert_same_text(got, want);
		assert_int_equal(rc, rc_w == 0 || rc_m == 0 ? 0 : 1);
		if (rc) {
			char *both = xasprintf("%s%s", wi, wn);
			assert_same_text(err, both);
			free(both);
		}
		free(got);
		free(err);
		free(want);
		/* one mode asked for */
		got = capture_main(s->targets[i], "nftables", &rc, &err);
		assert_same_text(rc_m == 0 ? got : err, wn);
		assert_int_equal(rc, rc_m);
		free(got);
		free(err);
		free(wi);
		free(wn);
		free(gi);
		free(gn);
	}
	free(want_ipt_rules);
	free(want_nft_rules);
	free(ipt);
	free(nft);
}

static void test_kernel_cluster(void **state)
{
	(void)state;
	kernel_check(&cluster);
}

static void test_kernel_overall(void **state)
{
	(void)state;
	kernel_check(&overall);
}

/* the reader's one-line answers when the kernel has nothing (root) */
static void test_kernel_nothing(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "# needs root to create a network namespace: skipped\n");
		return;
	}
	int rc;
	char *err;
	char *out = capture_main("default/web", NULL, &rc, &err);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "");
	assert_string_equal(err, "no kube-proxy rules here: neither chain KUBE-SERVICES in the nat "
				 "table nor table ip kube-proxy\n");
	free(out);
	free(err);
	out = capture_main("10.96.0.1:443", "nftables", &rc, &err);
	assert_int_equal(rc, 1);
	assert_string_equal(err, "no rule for 10.96.0.1:443: table ip kube-proxy does not exist\n");
	free(out);
	free(err);
	out = capture_main("10.96.0.1:443", "iptables", &rc, &err);
	assert_int_equal(rc, 1);
	assert_string_equal(err, "no rule for 10.96.0.1:443/tcp in the nat or filter table\n");
	free(out);
	free(err);
	out = capture_main("10.96.0.1", NULL, &rc, &err);
	assert_int_equal(rc, 1);
	assert_string_equal(err,
			    "Error: --explain 10.96.0.1: a port is needed: IP:port[/protocol]\n");
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_parse),
		cmocka_unit_test(test_golden_cluster),
		cmocka_unit_test(test_golden_overall),
		cmocka_unit_test(test_hand_edited_iptables),
		cmocka_unit_test(test_hand_edited_nftables),
		cmocka_unit_test(test_unreadable_rules),
		cmocka_unit_test(test_kernel_cluster),
		cmocka_unit_test(test_kernel_overall),
		cmocka_unit_test(test_kernel_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
