/* kube-proxy benchmark driver: builds Services + EndpointSlices in memory and
 * syncs them through the real backends inside a private network namespace.
 *
 *   proxy-bench sync iptables|nftables N      first full sync of N services
 *   proxy-bench change iptables|nftables N    one slice change -> rules written
 *   proxy-bench latency iptables|nftables N   first-packet latency to the last
 *                                             service's ClusterIP
 *   proxy-bench restore N                     full sync, then the same ruleset
 *                                             through iptables-legacy-restore
 * change iptables also times upstream's way for the same kind of change
 * (iptables-legacy-restore --noflush of a partial sync's text) and the
 * kernel floor (a one-rule change of the same nat table).
 * Prints "key value" lines. Must run as root. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libiptc/libiptc.h>

#include "proxy/backend.h"
#include "proxy/memory.h"
#include "proxy/iptrules.h"
#include "proxy/model.h"
#include "proxy/sync.h"
#include "proxy/nftrules.h"
#include "buf.h"
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include "xalloc.h"

#define EPS 5

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_diff(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_usec - a->tv_usec) / 1e6;
}

/* resident set size now, in kB */
static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static json_t *service(int i)
{
	char ip[32];
	snprintf(ip, sizeof(ip), "10.96.%d.%d", i / 250, i % 250 + 1);
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:[s], s:[{s:s, s:i, s:s}]}}", "apiVersion",
			 "v1", "kind", "Service", "metadata", "namespace", "bench", "name",
			 xasprintf("svc-%d", i), "spec", "clusterIP", ip, "clusterIPs", ip, "ports", "name",
			 "http", "port", 80, "protocol", "TCP");
}

/* endpoints of service i; the last service's all point at local listeners */
static json_t *slice(int i, int n, int gen)
{
	json_t *eps = json_array();
	for (int e = 0; e < EPS; e++) {
		char ip[32];
		if (i == n - 1)
			snprintf(ip, sizeof(ip), "10.250.0.%d", e + 1);
		else
			snprintf(ip, sizeof(ip), "10.%d.%d.%d", 100 + (i * EPS + e) / 62500,
				 (i * EPS + e) / 250 % 250, (i * EPS + e) % 250 + 1 + gen);
		json_array_append_new(eps, json_pack("{s:[s], s:{s:b}}", "addresses", ip, "conditions",
						     "ready", 1));
	}
	return json_pack("{s:{s:s, s:s, s:{s:s}}, s:s, s:[{s:s, s:i, s:s}], s:o}", "metadata",
			 "namespace", "bench", "name", xasprintf("svc-%d-abcde", i), "labels",
			 "kubernetes.io/service-name", xasprintf("svc-%d", i), "addressType", "IPv4",
			 "ports", "name", "http", "port", 80, "protocol", "TCP", "endpoints", eps);
}

static void sh(const char *cmd)
{
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(1);
	}
}

/* One sync as the daemon does it: the model built once, then brought up to
 * date with the changed services only. */
static struct proxy_model *model;

static double sync_once(const struct proxy_backend *b, void *st, struct proxy_state *ps,
			struct proxy_config *cfg, const json_t *changed)
{
	double t0 = now();
	if (!model)
		model = proxy_model_build(ps, cfg);
	else
		proxy_model_update(model, ps, changed, cfg);
	struct proxy_sync_result res;
	struct mk_err *err = NULL;
	if (b->sync(st, model, cfg, changed, &res, &err) < 0) {
		fprintf(stderr, "sync: %s\n", mk_err_msg(err));
		exit(1);
	}
	/* the daemon returns freed memory only once idle (idle()) */
	return now() - t0;
}

/* what the daemon does once no sync has run for a while */
static void idle(void)
{
	malloc_trim(0);
}

/* One more slice change of the service in the middle, synced. */
static double change_once(const struct proxy_backend *b, void *st, struct proxy_state *ps,
			  struct proxy_config *cfg, int n, int gen)
{
	json_t *sl = slice(n / 2, n, gen);
	proxy_state_set_slice(ps, sl, false);
	json_decref(sl);
	json_t *changed = json_incref(ps->changed);
	json_decref(ps->changed);
	ps->changed = json_object();
	double t = sync_once(b, st, ps, cfg, changed);
	json_decref(changed);
	return t;
}

/* listeners on 10.250.0.1-5:80, local addresses of this namespace */
static int listeners(int *fds)
{
	sh("ip link set lo up && ip link add bench0 type veth peer name bench1 && "
	   "ip link set bench0 up && ip link set bench1 up && "
	   "for i in 1 2 3 4 5; do ip addr add 10.250.0.$i/32 dev bench0; done && "
	   "ip route add 10.96.0.0/12 dev bench1");
	for (int e = 0; e < EPS; e++) {
		fds[e] = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(fds[e], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
		char ip[32];
		snprintf(ip, sizeof(ip), "10.250.0.%d", e + 1);
		inet_pton(AF_INET, ip, &a.sin_addr);
		if (bind(fds[e], (void *)&a, sizeof(a)) < 0 || listen(fds[e], 1024) < 0) {
			perror("listen");
			return -1;
		}
	}
	return 0;
}

/* median time of a new TCP connection to ip:80 (SYN through the NAT rules) */
static double connect_latency(const char *ip, int rounds)
{
	double *t = xcalloc((size_t)rounds, sizeof(double));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	for (int r = 0; r < rounds; r++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		double t0 = now();
		if (connect(fd, (void *)&a, sizeof(a)) < 0) {
			perror("connect");
			exit(1);
		}
		t[r] = now() - t0;
		close(fd);
	}
	for (int i = 0; i < rounds; i++)
		for (int j = i + 1; j < rounds; j++)
			if (t[j] < t[i]) {
				double x = t[i];
				t[i] = t[j];
				t[j] = x;
			}
	double med = t[rounds / 2];
	free(t);
	return med;
}

/* ---- iptables anchor and floor for (b) ---- */

/* The service chains of the nat table as the kernel has them now. */
static char **nat_service_chains(size_t *n)
{
	struct xtc_handle *h = iptc_init("nat");
	if (!h) {
		fprintf(stderr, "iptc_init nat: %s\n", iptc_strerror(errno));
		exit(1);
	}
	size_t cap = 1024;
	char **v = xmalloc(cap * sizeof(*v));
	*n = 0;
	for (const char *c = iptc_first_chain(h); c; c = iptc_next_chain(h)) {
		if (!iptr_is_service_chain(c))
			continue;
		if (*n == cap)
			v = xrealloc(v, (cap *= 2) * sizeof(*v));
		v[(*n)++] = xstrdup(c);
	}
	iptc_free(h);
	return v;
}

/* Upstream's way for one more slice change of the same service: the partial
 * sync's iptables-restore text (both tables as upstream writes them: the
 * fixed chains in full, only the changed service's own chains, -X of its
 * stale endpoint chains) through iptables-legacy-restore -w --noflush. */
static double restore_change(struct proxy_state *ps, struct proxy_config *cfg, int n, int gen,
			     size_t *lines)
{
	json_t *sl = slice(n / 2, n, gen);
	proxy_state_set_slice(ps, sl, false);
	json_decref(sl);
	json_t *changed = ps->changed;
	ps->changed = json_object();
	proxy_model_update(model, ps, changed, cfg);
	size_t n_existing;
	char **existing = nat_service_chains(&n_existing);
	struct iptr_opts opts = {.changed = changed, .existing_nat = existing,
				 .n_existing_nat = n_existing};
	struct iptr_ruleset rs;
	iptr_render(model, cfg, &opts, &rs);
	char *text = iptr_restore_text(&rs);
	*lines = 0;
	for (const char *p = text; *p; p++)
		*lines += *p == '\n';
	char path[] = "/tmp/proxy-bench-partial.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
		perror("writing restore text");
		exit(1);
	}
	char *cmd = xasprintf("iptables-legacy-restore -w --noflush < %s", path);
	double t0 = now();
	sh(cmd);
	double t = now() - t0;
	unlink(path);
	free(cmd);
	free(text);
	iptr_ruleset_free(&rs);
	for (size_t i = 0; i < n_existing; i++)
		free(existing[i]);
	free(existing);
	json_decref(changed);
	return t;
}

/* One rule appended to KUBE-MARK-MASQ through libiptc: read the table, add,
 * replace the table; all but the add is the cost of any change. */
static double libiptc_one_rule(void)
{
	struct {
		struct ipt_entry e;
		struct xt_standard_target t;
	} r;
	memset(&r, 0, sizeof(r));
	r.e.target_offset = sizeof(r.e);
	r.e.next_offset = sizeof(r);
	r.t.target.u.target_size = XT_ALIGN(sizeof(r.t));
	strcpy(r.t.target.u.user.name, "RETURN");
	double t0 = now();
	struct xtc_handle *h = iptc_init("nat");
	static const xt_chainlabel chain = "KUBE-MARK-MASQ";
	if (!h || !iptc_append_entry(chain, &r.e, h) || !iptc_commit(h)) {
		fprintf(stderr, "libiptc one-rule change: %s\n", iptc_strerror(errno));
		exit(1);
	}
	double t = now() - t0;
	iptc_free(h);
	return t;
}

static void iptables_anchor(struct proxy_state *ps, struct proxy_config *cfg, int n, int gen0,
			    int rounds)
{
	double sum = 0;
	size_t lines = 0;
	for (int r = 0; r < rounds; r++)
		sum += restore_change(ps, cfg, n, gen0 + r, &lines);
	printf("anchor_restore_seconds %.4f\n", sum / rounds);
	printf("anchor_restore_lines %zu\n", lines);
	/* measured like our syncs, with the memory of the previous round reused:
	 * one untimed round first; libiptc's rounds back to back (each appends a
	 * rule), then the iptables binary's (each deletes one) */
	libiptc_one_rule();
	double lib = 0, cli = 0;
	for (int r = 0; r < rounds; r++)
		lib += libiptc_one_rule();
	for (int r = 0; r <= rounds; r++) {
		double t0 = now();
		sh("iptables-legacy -w -t nat -D KUBE-MARK-MASQ -j RETURN");
		if (r > 0)
			cli += now() - t0;
	}
	printf("floor_libiptc_seconds %.4f\n", lib / rounds);
	printf("floor_iptables_seconds %.4f\n", cli / rounds);
}

/* Sends the batch in bt and reads acks until the kernel has answered every
 * message flagged NLM_F_ACK (n_acks of them). */
static void nft_send_wait(struct mnl_socket *nl, struct mnl_nlmsg_batch *bt, int n_acks)
{
	char buf[16384];
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(bt), mnl_nlmsg_batch_size(bt)) < 0) {
		perror("sendto");
		exit(1);
	}
	for (int acks = 0; acks < n_acks;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (struct nlmsghdr *m = (struct nlmsghdr *)buf; mnl_nlmsg_ok(m, (int)n);
		     m = mnl_nlmsg_next(m, (int *)&n)) {
			if (m->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
			if (e->error) {
				fprintf(stderr, "nftables: %s\n", strerror(-e->error));
				exit(1);
			}
			acks++;
		}
	}
}

/* The kernel's floor for any nftables change that adds a jump: one batch
 * with a new unreachable chain holding "jump mark-for-masquerade". Such a
 * commit makes the kernel re-validate every chain reachable from the base
 * chains, however small the batch. */
static double nft_floor(void)
{
	char out[8192];
	struct mnl_nlmsg_batch *bt = mnl_nlmsg_batch_start(out, sizeof(out));
	uint32_t seq = (uint32_t)time(NULL);
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt), seq++);
	mnl_nlmsg_batch_next(bt);
	struct nftnl_chain *c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFTR_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "bench-floor");
	struct nlmsghdr *h = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt), NFT_MSG_NEWCHAIN,
						   NFPROTO_IPV4, NLM_F_CREATE | NLM_F_ACK, seq++);
	nftnl_chain_nlmsg_build_payload(h, c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(bt);
	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTR_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "bench-floor");
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_JUMP);
	nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, "mark-for-masquerade");
	nftnl_rule_add_expr(r, e);
	h = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt), NFT_MSG_NEWRULE, NFPROTO_IPV4,
				  NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, seq++);
	nftnl_rule_nlmsg_build_payload(h, r);
	nftnl_rule_free(r);
	mnl_nlmsg_batch_next(bt);
	nftnl_batch_end(mnl_nlmsg_batch_current(bt), seq++);
	mnl_nlmsg_batch_next(bt);
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("netlink");
		exit(1);
	}
	double t0 = now();
	nft_send_wait(nl, bt, 2); /* acks of the chain and the rule */
	double t = now() - t0;
	mnl_socket_close(nl);
	mnl_nlmsg_batch_stop(bt);
	sh("nft delete chain ip kube-proxy bench-floor");
	return t;
}

/* The kernel's own cost of n anonymous verdict maps - one per service in the
 * mandated layout (`numgen random mod 5 vmap { ... }`) - in a table of their
 * own, sent in batches of 500 like our phased full sync: every new set makes
 * the kernel walk all sets of the table, so this grows with n squared. */
static double nft_vmap_floor(int n)
{
	enum { PER_BATCH = 500 };
	size_t size = 600 * PER_BATCH + 4096;
	char *out = xmalloc(size);
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("netlink");
		exit(1);
	}
	/* a whole batch goes out in one send, and its acks (without copies of
	 * the requests) all fit in the receive buffer */
	int sndbuf = (int)size, rcvbuf = 4 << 20, one = 1;
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	uint32_t seq = (uint32_t)time(NULL);
	double total = 0;
	for (int done = 0; done < n || done == 0;) {
		struct mnl_nlmsg_batch *bt = mnl_nlmsg_batch_start(out, size);
		int acks = 0;
		nftnl_batch_begin(mnl_nlmsg_batch_current(bt), seq++);
		mnl_nlmsg_batch_next(bt);
		if (done == 0) {
			struct nftnl_table *t = nftnl_table_alloc();
			nftnl_table_set_str(t, NFTNL_TABLE_NAME, "bench-vmaps");
			struct nlmsghdr *h = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt),
								   NFT_MSG_NEWTABLE, NFPROTO_IPV4,
								   NLM_F_CREATE | NLM_F_ACK, seq++);
			nftnl_table_nlmsg_build_payload(h, t);
			nftnl_table_free(t);
			mnl_nlmsg_batch_next(bt);
			acks++;
			for (int i = 0; i < 2; i++) {
				struct nftnl_chain *c = nftnl_chain_alloc();
				nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "bench-vmaps");
				nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, i ? "target" : "services");
				h = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt), NFT_MSG_NEWCHAIN,
							  NFPROTO_IPV4, NLM_F_CREATE | NLM_F_ACK, seq++);
				nftnl_chain_nlmsg_build_payload(h, c);
				nftnl_chain_free(c);
				mnl_nlmsg_batch_next(bt);
				acks++;
			}
		}
		for (int k = 0; k < PER_BATCH && done < n; k++, done++) {
			char name[32];
			snprintf(name, sizeof(name), "__map%d", done);
			struct nftnl_set *s = nftnl_set_alloc();
			nftnl_set_set_str(s, NFTNL_SET_TABLE, "bench-vmaps");
			nftnl_set_set_str(s, NFTNL_SET_NAME, name);
			nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
			nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP);
			nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 0);
			nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
			nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
			nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
			nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)done + 1);
			struct nlmsghdr *h = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt), NFT_MSG_NEWSET,
								   NFPROTO_IPV4, NLM_F_CREATE | NLM_F_ACK, seq++);
			nftnl_set_nlmsg_build_payload(h, s);
			mnl_nlmsg_batch_next(bt);
			for (uint32_t e = 0; e < EPS; e++) {
				struct nftnl_set_elem *se = nftnl_set_elem_alloc();
				nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY, &e, 4);
				nftnl_set_elem_set_u32(se, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_GOTO);
				nftnl_set_elem_set_str(se, NFTNL_SET_ELEM_CHAIN, "target");
				nftnl_set_elem_add(s, se);
			}
			h = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt), NFT_MSG_NEWSETELEM,
						  NFPROTO_IPV4, NLM_F_CREATE | NLM_F_ACK, seq++);
			nftnl_set_elems_nlmsg_build_payload(h, s);
			nftnl_set_free(s);
			mnl_nlmsg_batch_next(bt);
			struct nftnl_rule *r = nftnl_rule_alloc();
			nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "bench-vmaps");
			nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "services");
			struct nftnl_expr *x = nftnl_expr_alloc("numgen");
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_DREG, NFT_REG_1);
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_MODULUS, EPS);
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
			nftnl_rule_add_expr(r, x);
			x = nftnl_expr_alloc("lookup");
			nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
			nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
			nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, name);
			nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t)done + 1);
			nftnl_rule_add_expr(r, x);
			h = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt), NFT_MSG_NEWRULE, NFPROTO_IPV4,
						  NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, seq++);
			nftnl_rule_nlmsg_build_payload(h, r);
			nftnl_rule_free(r);
			mnl_nlmsg_batch_next(bt);
			acks += 3;
		}
		nftnl_batch_end(mnl_nlmsg_batch_current(bt), seq++);
		mnl_nlmsg_batch_next(bt);
		double t0 = now();
		nft_send_wait(nl, bt, acks);
		total += now() - t0;
		mnl_nlmsg_batch_stop(bt);
		if (n == 0)
			break;
	}
	mnl_socket_close(nl);
	free(out);
	sh("nft delete table ip bench-vmaps");
	return total;
}

/* Seconds `nft -f` takes to load /tmp/proxy-bench.nft (removed after). */
static double time_nft_file(void)
{
	double t0 = now();
	sh("nft -f /tmp/proxy-bench.nft");
	double t = now() - t0;
	unlink("/tmp/proxy-bench.nft");
	return t;
}

/* Upstream's way of writing a whole ruleset in nftables mode: the table as
 * `nft list` prints it, loaded by `nft -f` into an empty namespace (the
 * table deleted first), one transaction like knftables' full sync. */
static double nft_restore_anchor(void)
{
	sh("nft list table ip kube-proxy > /tmp/proxy-bench.nft");
	sh("nft delete table ip kube-proxy");
	return time_nft_file();
}

/* Upstream's way for the same change: the transaction text knftables hands
 * to `nft -f` (add, flush and fill each of the service's chains, flush the
 * chains it no longer has), timed through the nft binary. */
static double nft_upstream_change(const struct proxy_model *before, const struct proxy_model *after,
				  const struct proxy_config *cfg, const json_t *changed)
{
	struct nftr_ruleset old, rs;
	nftr_render_changed(before, cfg, changed, &old);
	nftr_render_changed(after, cfg, changed, &rs);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < rs.n_chains; i++) {
		const struct nftr_chain *c = &rs.chains[i];
		buf_printf(&b, "add chain ip kube-proxy %s\nflush chain ip kube-proxy %s\n", c->name,
			   c->name);
		for (size_t j = 0; j < c->n_rules; j++) {
			char *t = nftr_rule_text(&c->rules[j]);
			buf_printf(&b, "add rule ip kube-proxy %s %s\n", c->name, t);
			free(t);
		}
	}
	for (size_t i = 0; i < old.n_chains; i++) {
		bool kept = false;
		for (size_t j = 0; j < rs.n_chains && !kept; j++)
			kept = !strcmp(old.chains[i].name, rs.chains[j].name);
		if (!kept)
			buf_printf(&b, "flush chain ip kube-proxy %s\n", old.chains[i].name);
	}
	nftr_ruleset_free(&old);
	nftr_ruleset_free(&rs);
	FILE *f = fopen("/tmp/proxy-bench.nft", "w");
	fputs(b.data ? b.data : "", f);
	fclose(f);
	buf_free(&b);
	return time_nft_file();
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: proxy-bench sync|change|latency|restore [mode] N\n");
		return 2;
	}
	const char *what = argv[1];
	const char *mode = argc > 3 ? argv[2] : "iptables";
	int n = atoi(argv[argc - 1]);
	const struct proxy_backend *b =
		!strcmp(mode, "nftables") ? &proxy_backend_nftables : &proxy_backend_iptables;
	/* as kube-proxy in iptables mode runs */
	if (b == &proxy_backend_iptables) {
		proxy_malloc_hugepages(argv);
		/* the iptables binaries timed as anchors run as they would without us */
		unsetenv("GLIBC_TUNABLES");
	}
	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare");
		return 1;
	}
	struct proxy_config cfg;
	proxy_config_init(&cfg);
	cfg.node_name = "bench-node";
	cfg.cluster_cidr = "10.244.0.0/16";
	char *node_ips[] = {"192.168.0.2"};
	cfg.node_ip = node_ips[0];
	cfg.node_ips = node_ips;
	cfg.n_node_ips = 1;
	struct proxy_state ps;
	proxy_state_init(&ps);
	for (int i = 0; i < n; i++) {
		json_t *s = service(i), *sl = slice(i, n, 0);
		char key[64];
		snprintf(key, sizeof(key), "bench/svc-%d", i);
		proxy_state_set_service(&ps, key, s);
		proxy_state_set_slice(&ps, sl, false);
		json_decref(s);
		json_decref(sl);
	}
	json_object_clear(ps.changed);
	printf("rss_objects_kb %ld\n", rss_kb());
	int fds[EPS];
	if (!strcmp(what, "latency") && listeners(fds) < 0)
		return 1;
	void *st = b->create();
	double full = sync_once(b, st, &ps, &cfg, NULL);
	printf("full_sync_seconds %.4f\n", full);
	idle();
	printf("rss_after_full_kb %ld\n", rss_kb());
	long rss_end = -1;
	const char *re = getenv("PROXY_BENCH_ROUNDS");
	int rounds = re && atoi(re) > 0 ? atoi(re) : 5;
	if (!strcmp(what, "sync")) {
		/* the periodic full resync: the same objects over the table in place */
		printf("full_resync_seconds %.4f\n", sync_once(b, st, &ps, &cfg, NULL));
		if (b == &proxy_backend_nftables) {
			/* the same after a commit of another writer: the proxy cannot
			 * trust its records and reads the table back */
			sh("nft add table ip bench-other && nft delete table ip bench-other");
			printf("foreign_resync_seconds %.4f\n", sync_once(b, st, &ps, &cfg, NULL));
			printf("vmap_floor_seconds %.4f\n", nft_vmap_floor(n));
		}
		/* a restarted daemon: no memory of what it wrote before */
		b->destroy(st);
		st = b->create();
		printf("restart_sync_seconds %.4f\n", sync_once(b, st, &ps, &cfg, NULL));
		if (b == &proxy_backend_nftables)
			printf("nft_restore_seconds %.4f\n", nft_restore_anchor());
	}
	if (!strcmp(what, "change")) {
		/* one slice of a service in the middle changes one endpoint: first
		 * after idle (the memory of earlier syncs returned to the system),
		 * then back to back as under churn */
		printf("change_after_idle_seconds %.4f\n", change_once(b, st, &ps, &cfg, n, 1));
		double sum = 0;
		struct rusage r0, r1;
		getrusage(RUSAGE_SELF, &r0);
		for (int r = 1; r <= rounds; r++)
			sum += change_once(b, st, &ps, &cfg, n, 1 + r);
		getrusage(RUSAGE_SELF, &r1);
		idle();
		printf("change_sync_seconds %.4f\n", sum / rounds);
		/* where it goes: this process's own work vs the kernel's (netlink) */
		printf("change_user_seconds %.4f\n", tv_diff(&r0.ru_utime, &r1.ru_utime) / rounds);
		printf("change_sys_seconds %.4f\n", tv_diff(&r0.ru_stime, &r1.ru_stime) / rounds);
		printf("change_page_faults %ld\n", (r1.ru_minflt - r0.ru_minflt) / rounds);
		rss_end = rss_kb();
		if (b == &proxy_backend_iptables)
			iptables_anchor(&ps, &cfg, n, rounds + 2, rounds);
	} else if (!strcmp(what, "latency")) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.96.%d.%d", (n - 1) / 250, (n - 1) % 250 + 1);
		printf("first_packet_seconds %.6f\n", connect_latency(ip, 200));
	} else if (!strcmp(what, "restore")) {
		sh("iptables-legacy-save > /tmp/proxy-bench.rules");
		sh("iptables-legacy -t nat -F && iptables-legacy -t nat -X && "
		   "iptables-legacy -t filter -F && iptables-legacy -t filter -X");
		double t0 = now();
		sh("iptables-legacy-restore < /tmp/proxy-bench.rules");
		printf("restore_seconds %.4f\n", now() - t0);
		unlink("/tmp/proxy-bench.rules");
	}
	/* after our own syncs, before any anchor runs */
	printf("rss_end_kb %ld\n", rss_end >= 0 ? rss_end : rss_kb());
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("max_rss_kb %ld\n", ru.ru_maxrss);
	if (!strcmp(what, "change") && b == &proxy_backend_nftables) {
		printf("floor_seconds %.4f\n", nft_floor());
		/* one more endpoint change, as upstream would write it */
		struct proxy_model *before = proxy_model_build(&ps, &cfg);
		json_t *sl = slice(n / 2, n, rounds + 2); /* after the change rounds' */
		proxy_state_set_slice(&ps, sl, false);
		json_decref(sl);
		struct proxy_model *after = proxy_model_build(&ps, &cfg);
		printf("upstream_change_seconds %.4f\n",
		       nft_upstream_change(before, after, &cfg, ps.changed));
		proxy_model_free(before);
		proxy_model_free(after);
	}
	b->destroy(st);
	proxy_model_free(model);
	proxy_state_free(&ps);
	return 0;
}
