/* kube-proxy: Services and EndpointSlices from the API server become
 * iptables (libiptc) or nftables (libnftnl) rules, as upstream writes them. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "cleanup.h"
#include "daemon.h"
#include "explain.h"
#include "informer.h"
#include "json.h"
#include "kpconfig.h"
#include "log.h"
#include "memory.h"
#include "metrics.h"
#include "model.h"
#include "routes.h"
#include "svchealth.h"
#include "sync.h"
#include "sysctls.h"
#include "timefmt.h"
#include "xalloc.h"

#define PROXY_SELECTOR "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"

struct opts {
	char *mode, *cluster_cidr, *hostname, *nodeport_addresses;
	char *healthz_addr, *metrics_addr, *config, *explain;
	int64_t sync_ms, min_sync_ms, masq_bit;
	bool masquerade_all, cleanup;
};

static struct opts options = {
	.mode = "iptables",
	.healthz_addr = "0.0.0.0:10256",
	.metrics_addr = "127.0.0.1:10249",
	.sync_ms = 30000,
	.min_sync_ms = 1000,
	.masq_bit = 14,
};

static struct flag flags[] = {
	{.name = "proxy-mode",
	 .type = FLAG_STRING,
	 .target = &options.mode,
	 .help = "Which proxy mode to use: 'iptables' or 'nftables'"},
	{.name = "cluster-cidr",
	 .type = FLAG_STRING,
	 .target = &options.cluster_cidr,
	 .help = "The CIDR range of the pods in the cluster"},
	{.name = "hostname-override",
	 .type = FLAG_STRING,
	 .target = &options.hostname,
	 .help = "If non-empty, will be used as the name of the Node"},
	{.name = "iptables-sync-period",
	 .type = FLAG_DURATION,
	 .target = &options.sync_ms,
	 .help = "An interval at which rules are refreshed (default 30s)"},
	{.name = "iptables-min-sync-period",
	 .type = FLAG_DURATION,
	 .target = &options.min_sync_ms,
	 .help = "The minimum period between rule resyncs (default 1s)"},
	{.name = "masquerade-all",
	 .type = FLAG_BOOL,
	 .target = &options.masquerade_all,
	 .help = "SNAT all traffic sent via Service cluster IPs"},
	{.name = "nodeport-addresses",
	 .type = FLAG_STRING,
	 .target = &options.nodeport_addresses,
	 .help = "CIDRs of the node IPs that accept NodePort traffic"},
	{.name = "healthz-bind-address",
	 .type = FLAG_STRING,
	 .target = &options.healthz_addr,
	 .help = "IP:port for the health check server (default 0.0.0.0:10256)"},
	{.name = "metrics-bind-address",
	 .type = FLAG_STRING,
	 .target = &options.metrics_addr,
	 .help = "IP:port for the metrics server (default 127.0.0.1:10249)"},
	{.name = "config",
	 .type = FLAG_STRING,
	 .target = &options.config,
	 .help = "The path to the KubeProxyConfiguration file"},
	{.name = "cleanup",
	 .type = FLAG_BOOL,
	 .target = &options.cleanup,
	 .help = "If true cleanup iptables and nftables rules and exit"},
	{.name = "explain",
	 .type = FLAG_STRING,
	 .target = &options.explain,
	 .help = "Print the path a connection to namespace/name[:port] or IP:port[/protocol] takes "
		 "through the rules the kernel holds, and exit"},
	{0},
};

static const struct daemon_config config = {
	.name = "kube-proxy",
	.summary = "The Kubernetes network proxy runs on each node.",
	.flags = flags,
	.common = DAEMON_FLAG_MASTER | DAEMON_FLAG_KUBECONFIG,
};

struct proxy {
	struct opts o;
	struct proxy_config cfg;
	struct proxy_sync sync;
	char *node_name;
	char *node_ip;	 /* primary IP (owned) */
	char **node_ips; /* owned */
	size_t n_node_ips;
	char **np_cidrs; /* owned */
	size_t n_np_cidrs;
	json_t *node_labels; /* own Node's labels, for topology changes */
	struct informer *svc_inf, *slice_inf, *node_inf;
	struct svchealth *svc_health; /* health check node ports */
};

/* ---- configuration ---- */

static char **split_list(const char *s, size_t *n)
{
	*n = 0;
	if (!s || !*s)
		return NULL;
	char **v = NULL;
	char *copy = xstrdup(s);
	for (char *save = NULL, *w = strtok_r(copy, ", ", &save); w;
	     w = strtok_r(NULL, ", ", &save)) {
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = xstrdup(w);
	}
	free(copy);
	return v;
}

/* An "ip[:port]" bind address of the file: empty keeps the default, a missing
 * port is the default's. */
static void set_bind(char **dst, const char *a)
{
	if (!a || !*a)
		return;
	const char *def_port = strrchr(*dst ? *dst : "", ':');
	char *n = strchr(a, ':') || !def_port ? xstrdup(a) : xasprintf("%s%s", a, def_port);
	free(*dst);
	*dst = n;
}

static bool given(const struct daemon *d, const char *name)
{
	return daemon_flag(d, name)->seen;
}

/* The value of one of the kit's string flags (--master, --kubeconfig). */
static const char *kit_str(const struct daemon *d, const char *name)
{
	return *(char **)daemon_flag(d, name)->target;
}

/* Replaces *dst with a copy of v when the file set it. */
static void set_str(char **dst, const char *v)
{
	if (v) {
		free(*dst);
		*dst = xstrdup(v);
	}
}

/* The KubeProxyConfiguration file (kpconfig.h): the fields the command line
 * did not set. */
static int load_config(struct daemon *d, struct opts *o, struct mk_err **err)
{
	FILE *f = fopen(o->config, "r");
	if (!f)
		return mk_err_errno(err, MK_ENOTFOUND, errno, "reading %s", o->config);
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	struct kpconfig c;
	int rc = kpconfig_parse(buf_str(&b), b.len, o->config, o->mode, given(d, "proxy-mode"),
				&c, err);
	buf_free(&b);
	if (rc < 0)
		return -1;
	if (!given(d, "kubeconfig"))
		set_str((char **)daemon_flag(d, "kubeconfig")->target, c.kubeconfig);
	if (!given(d, "proxy-mode"))
		set_str(&o->mode, c.mode);
	if (!given(d, "cluster-cidr"))
		set_str(&o->cluster_cidr, c.cluster_cidr);
	if (!given(d, "hostname-override"))
		set_str(&o->hostname, c.hostname_override);
	if (!given(d, "iptables-sync-period") && c.sync_ms > 0)
		o->sync_ms = c.sync_ms;
	if (!given(d, "iptables-min-sync-period") && c.min_sync_ms > 0)
		o->min_sync_ms = c.min_sync_ms;
	if (!given(d, "masquerade-all") && c.masquerade_all >= 0)
		o->masquerade_all = c.masquerade_all;
	if (c.has_masq_bit)
		o->masq_bit = c.masq_bit;
	if (!given(d, "nodeport-addresses"))
		set_str(&o->nodeport_addresses, c.nodeport_addresses);
	if (!given(d, "healthz-bind-address"))
		set_bind(&o->healthz_addr, c.healthz_addr);
	if (!given(d, "metrics-bind-address"))
		set_bind(&o->metrics_addr, c.metrics_addr);
	if (!given(d, "v") && c.has_verbosity)
		log_verbosity = c.verbosity;
	kpconfig_clear(&c);
	return 0;
}

/* What upstream's validation refuses of the merged flags and file. */
static int validate_opts(const struct opts *o, struct mk_err **err)
{
	if (strcmp(o->mode, "iptables") && strcmp(o->mode, "nftables") && *o->mode)
		return mk_err_set(err, MK_EINVAL,
				  "invalid proxy mode %s: must be iptables or nftables", o->mode);
	if (o->masq_bit < 0 || o->masq_bit > 31)
		return mk_err_set(err, MK_EINVAL,
				  "masqueradeBit %lld: must be within the range [0, 31]",
				  (long long)o->masq_bit);
	if (o->sync_ms <= 0)
		return mk_err_set(err, MK_EINVAL, "syncPeriod: must be greater than 0");
	if (o->min_sync_ms < 0)
		return mk_err_set(err, MK_EINVAL,
				  "minSyncPeriod: must be greater than or equal to 0");
	if (o->min_sync_ms > o->sync_ms)
		return mk_err_set(
			err, MK_EINVAL,
			"minSyncPeriod %lldms: must be less than or equal to syncPeriod %lldms",
			(long long)o->min_sync_ms, (long long)o->sync_ms);
	return 0;
}

/* ---- node addresses ---- */

static bool cidr_contains(const char *cidr, struct in_addr a)
{
	char buf[32];
	if (strlen(cidr) >= sizeof(buf))
		return false;
	strcpy(buf, cidr);
	int bits = 32;
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		bits = atoi(slash + 1);
	}
	struct in_addr net;
	if (inet_pton(AF_INET, buf, &net) != 1 || bits < 0 || bits > 32)
		return false;
	uint32_t mask = bits ? htonl(~0u << (32 - bits)) : 0;
	return (net.s_addr & mask) == (a.s_addr & mask);
}

/* Whether --nodeport-addresses admits every IPv4 address (empty or a /0). */
static bool nodeport_all(const struct proxy *p)
{
	if (p->n_np_cidrs == 0)
		return true;
	for (size_t i = 0; i < p->n_np_cidrs; i++) {
		const char *slash = strchr(p->np_cidrs[i], '/');
		if (slash && !strcmp(slash, "/0") && !strchr(p->np_cidrs[i], ':'))
			return true;
	}
	return false;
}

/* Host addresses matching --nodeport-addresses, else the primary IP. */
static void refresh_node_ips(struct proxy *p)
{
	for (size_t i = 0; i < p->n_node_ips; i++)
		free(p->node_ips[i]);
	free(p->node_ips);
	p->node_ips = NULL;
	p->n_node_ips = 0;
	struct ifaddrs *ifa = NULL;
	char *first = NULL;
	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			char s[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &a, s, sizeof(s));
			bool loop = (i->ifa_flags & IFF_LOOPBACK) != 0;
			if (!first && !loop)
				first = xstrdup(s);
			bool want = false;
			for (size_t c = 0; c < p->n_np_cidrs; c++)
				want |= cidr_contains(p->np_cidrs[c], a);
			if (want) {
				p->node_ips =
					xrealloc(p->node_ips, (p->n_node_ips + 1) * sizeof(char *));
				p->node_ips[p->n_node_ips++] = xstrdup(s);
			}
		}
		freeifaddrs(ifa);
	}
	if (!p->node_ip && first)
		p->node_ip = xstrdup(first);
	free(first);
	if (p->n_np_cidrs == 0 && p->node_ip) {
		p->node_ips = xcalloc(1, sizeof(char *));
		p->node_ips[p->n_node_ips++] = xstrdup(p->node_ip);
	}
	p->cfg.node_ip = p->node_ip;
	p->cfg.node_ips = p->node_ips;
	p->cfg.n_node_ips = p->n_node_ips;
}

static bool sysctl_nonzero(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = 0;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v != 0;
}

/* ---- informer handlers ---- */

static void svc_add(json_t *o, void *arg)
{
	proxy_sync_service(&((struct proxy *)arg)->sync, o, false);
}

static void svc_update(json_t *old, json_t *o, void *arg)
{
	(void)old;
	proxy_sync_service(&((struct proxy *)arg)->sync, o, false);
}

static void svc_delete(json_t *o, void *arg)
{
	proxy_sync_service(&((struct proxy *)arg)->sync, o, true);
}

static void slice_add(json_t *o, void *arg)
{
	proxy_sync_slice(&((struct proxy *)arg)->sync, o, false);
}

static void slice_update(json_t *old, json_t *o, void *arg)
{
	(void)old;
	proxy_sync_slice(&((struct proxy *)arg)->sync, o, false);
}

static void slice_delete(json_t *o, void *arg)
{
	proxy_sync_slice(&((struct proxy *)arg)->sync, o, true);
}

/* Other nodes' podCIDR routes (with --cluster-cidr): recomputed from the
 * informer's cache on every Node event, on the informer's thread. */
static void routes_update(struct proxy *p)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	if (!p->cfg.cluster_cidr || !p->node_inf)
		return;
	pthread_mutex_lock(&mu);
	json_t *nodes = informer_list(p->node_inf);
	size_t n = 0;
	struct route_want *w = routes_wanted(nodes, p->node_name, &n);
	json_decref(nodes);
	struct mk_err *err = NULL;
	if (routes_apply(w, n, &err) < 0)
		log_error("Failed to sync pod routes: %s", mk_err_msg(err));
	else
		log_v(2, "Pod routes synced: %zu routes to other nodes", n);
	mk_err_free(err);
	routes_free(w, n);
	pthread_mutex_unlock(&mu);
}

static void node_seen(json_t *o, void *arg)
{
	struct proxy *p = arg;
	routes_update(p);
	const char *name = json_path_str(o, "metadata.name");
	if (!name || strcmp(name, p->node_name))
		return;
	json_t *labels = json_path_get(o, "metadata.labels");
	pthread_mutex_lock(&p->sync.mu);
	bool changed = p->node_labels && !json_value_equal(p->node_labels, labels);
	json_decref(p->node_labels);
	p->node_labels = labels ? json_copy_deep(labels) : json_object();
	pthread_mutex_unlock(&p->sync.mu);
	if (changed) {
		log_info("Node %s labels changed, full sync", name);
		proxy_sync_request_full(&p->sync);
	}
}

static void node_update(json_t *old, json_t *o, void *arg)
{
	(void)old;
	node_seen(o, arg);
}

static void node_delete(json_t *o, void *arg)
{
	(void)o;
	routes_update(arg);
}

static void compact_caches(void *arg)
{
	struct proxy *p = arg;
	informer_compact(p->svc_inf);
	informer_compact(p->slice_inf);
}

static void inf_error(const struct mk_err *e, void *arg)
{
	(void)arg;
	log_warn("Watch failed, retrying: %s", mk_err_msg(e));
}

/* Services and EndpointSlices feed the sync state, which keeps what the
 * rules need of them: their informers keep only keys and versions. Nodes
 * give the routes to other nodes' pod CIDRs and this node's labels. */
static int watch_cluster(struct proxy *p, struct daemon *d, struct mk_err **err)
{
	struct informer_handlers sh = {.on_add = svc_add,
				       .on_update = svc_update,
				       .on_delete = svc_delete,
				       .on_error = inf_error,
				       .arg = p,
				       .versions_only = true};
	struct informer_handlers eh = {.on_add = slice_add,
				       .on_update = slice_update,
				       .on_delete = slice_delete,
				       .on_error = inf_error,
				       .arg = p,
				       .versions_only = true};
	struct informer_handlers nh = {.on_add = node_seen,
				       .on_update = node_update,
				       .on_delete = node_delete,
				       .on_error = inf_error,
				       .arg = p};
	p->svc_inf = daemon_informer(d, "/api/v1/services", PROXY_SELECTOR, NULL, &sh, err);
	p->slice_inf = p->svc_inf ? daemon_informer(d, "/apis/discovery.k8s.io/v1/endpointslices",
						    PROXY_SELECTOR, NULL, &eh, err)
				  : NULL;
	p->node_inf =
		p->slice_inf ? daemon_informer(d, "/api/v1/nodes", NULL, NULL, &nh, err) : NULL;
	return p->node_inf ? 0 : mk_err_wrap(err, "watching the cluster");
}

/* ---- health and metrics ---- */

/* Monotonic nanoseconds at start: Go prints a time's monotonic reading
 * relative to its process's start. */
static long long start_mono_ns;

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A time as Go's time.Time prints it, which upstream's /healthz quotes:
 * "2024-05-03 14:54:34.183464574 +0000 UTC m=+2391.545187587" (fraction
 * without trailing zeros; m= the monotonic reading since start). New
 * string. */
static char *go_time(double unix_secs, long long mono)
{
	time_t sec = (time_t)unix_secs;
	long long nsec = (long long)((unix_secs - (double)sec) * 1e9);
	if (nsec < 0)
		nsec = 0;
	if (nsec > 999999999)
		nsec = 999999999;
	struct tm tm;
	gmtime_r(&sec, &tm);
	char date[64], frac[16] = "";
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	if (nsec) {
		snprintf(frac, sizeof(frac), ".%09lld", nsec);
		for (size_t n = strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	long long m = mono - start_mono_ns;
	char sign = m < 0 ? '-' : '+';
	if (m < 0)
		m = -m;
	return xasprintf("%s%s +0000 UTC m=%c%lld.%09lld", date, frac, sign, m / 1000000000LL,
			 m % 1000000000LL);
}

/* upstream's /healthz of kube-proxy (see proxy_sync_healthy); as upstream,
 * a healthy proxy reports the current time as lastUpdated */
static void answer_healthz(struct httpd_req *rq, void *arg)
{
	struct proxy *p = arg;
	double last = 0;
	int64_t last_mono = 0;
	bool ok = proxy_sync_healthy(&p->sync, &last, &last_mono);
	metrics_add(ok ? MV_HEALTHZ_200 : MV_HEALTHZ_503, 1);
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	double now = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
	long long mono = mono_ns();
	cleanup_free char *cur = go_time(now, mono);
	cleanup_free char *lu =
		ok || !last ? xstrdup(cur) : go_time(last, (long long)last_mono);
	cleanup_free char *body = xasprintf(
		"{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\", \"nodeEligible\": true}", lu,
		cur);
	httpd_reply_header(rq, "X-Content-Type-Options", "nosniff");
	httpd_reply_text(rq, ok ? 200 : 503, "application/json", body);
}

static void write_metrics(struct buf *out, void *arg)
{
	(void)arg;
	metrics_write(out);
}

static bool proxy_healthy(void *arg)
{
	return proxy_sync_healthy(&((struct proxy *)arg)->sync, NULL, NULL);
}

static void sync_health_ports(void *arg, const struct proxy_model *m)
{
	svchealth_sync(((struct proxy *)arg)->svc_health, m);
}

/* Serves the proxy's /healthz and /livez and the kit's /metrics on an
 * "ip:port" bind address ("[::]:10256" for IPv6); empty or port 0: not
 * served. A bad address is logged and the proxy goes on without that
 * server. */
static void serve(struct proxy *p, struct daemon *d, const char *addr, const char *what)
{
	if (!addr || !*addr)
		return;
	const char *colon = strrchr(addr, ':');
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || !colon[1] || *end || port < 0 || port > 65535) {
		log_error("Bad %s bind address %s", what, addr);
		return;
	}
	if (port == 0)
		return;
	const char *h0 = addr, *h1 = colon;
	if (*h0 == '[' && h1 > h0 + 1 && h1[-1] == ']') {
		h0++;
		h1--;
	}
	cleanup_free char *host = xstrndup(h0, (size_t)(h1 - h0));
	cleanup_err struct mk_err *err = NULL;
	struct httpd_config cfg = {.name = what, .threads = 1, .idle_timeout_s = 60};
	struct httpd *h = daemon_httpd(d, &cfg, &err);
	if (h) {
		httpd_route(h, NULL, "/healthz", answer_healthz, p);
		httpd_route(h, NULL, "/livez", answer_healthz, p);
	}
	if (!h || daemon_listen(d, h, *host ? host : "0.0.0.0", (int)port, &err) < 0)
		log_error("Failed to serve %s on %s: %s", what, addr, mk_err_msg(err));
}

/* ---- the sync loop ---- */

/* Runs on a thread of the kit once the informers synced. */
static void sync_loop(void *arg)
{
	struct proxy *p = arg;
	log_info("Caches are synced for service and endpoint slice config");
	proxy_sync_set_synced(&p->sync, true, true);
	/* node events before the informer was published were skipped */
	routes_update(p);
	proxy_sync_run(&p->sync);
}

static void sync_wake(void *arg)
{
	proxy_sync_stop(&((struct proxy *)arg)->sync);
}

/* ---- set-up ---- */

/* --cleanup: removes what both modes wrote and puts back the sysctls
 * kube-proxy changed; the exit status. */
static int cleanup_rules(void)
{
	int rc = 0;
	cleanup_err struct mk_err *err = NULL;
	if (proxy_backend_iptables.cleanup(&err) < 0) {
		log_error("Failed to clean up iptables rules: %s", mk_err_msg(err));
		mk_err_free(err);
		err = NULL;
		rc = 1;
	}
	if (proxy_backend_nftables.cleanup(&err) < 0) {
		log_error("Failed to clean up nftables rules: %s", mk_err_msg(err));
		mk_err_free(err);
		err = NULL;
		rc = 1;
	}
	/* the settings kube-proxy changed go back to what they were */
	size_t restored;
	if (sysctls_restore(&restored, &err) < 0) {
		log_error("Failed to restore sysctls: %s", mk_err_msg(err));
		rc = 1;
	}
	return rc;
}

/* The other mode's rules go at start, as upstream's: a node switched from
 * one mode to the other keeps no rules of the old one. A failure is logged
 * and the proxy goes on, as upstream's does. */
static void cleanup_other_mode(const struct proxy_backend *backend)
{
	const struct proxy_backend *other = backend == &proxy_backend_nftables
						    ? &proxy_backend_iptables
						    : &proxy_backend_nftables;
	cleanup_err struct mk_err *err = NULL;
	size_t removed = 0;
	if (other->leftovers(&removed, &err) < 0)
		log_error("Failed to clean up %s rules: %s", other->name, mk_err_msg(err));
	else if (removed)
		log_info("Removed the rules of the %s proxy mode (%zu objects)", other->name,
			 removed);
}

/* The node's name and addresses and the rules' configuration. */
static void node_setup(struct proxy *p, const struct proxy_backend *backend)
{
	char hn[256] = "";
	if (options.hostname && *options.hostname)
		snprintf(hn, sizeof(hn), "%s", options.hostname);
	else if (gethostname(hn, sizeof(hn) - 1) < 0)
		strcpy(hn, "localhost");
	for (char *c = hn; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	p->node_name = xstrdup(hn);

	proxy_config_init(&p->cfg);
	p->cfg.node_name = p->node_name;
	p->cfg.cluster_cidr =
		options.cluster_cidr && *options.cluster_cidr ? options.cluster_cidr : NULL;
	p->cfg.masquerade_all = options.masquerade_all;
	p->cfg.masquerade_bit = (int)options.masq_bit;
	p->np_cidrs = split_list(options.nodeport_addresses, &p->n_np_cidrs);
	p->cfg.nodeport_cidrs = p->np_cidrs;
	p->cfg.n_nodeport_cidrs = p->n_np_cidrs;
	if (p->n_np_cidrs) {
		struct in_addr lo;
		inet_pton(AF_INET, "127.0.0.1", &lo);
		bool any = false;
		for (size_t i = 0; i < p->n_np_cidrs; i++)
			any |= cidr_contains(p->np_cidrs[i], lo);
		p->cfg.localhost_nodeports = any;
	}
	if (backend == &proxy_backend_nftables)
		p->cfg.localhost_nodeports = false;
	p->cfg.drop_invalid =
		!sysctl_nonzero("/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal");
	cleanup_err struct mk_err *err = NULL;
	if (p->cfg.localhost_nodeports &&
	    sysctls_set("net/ipv4/conf/all/route_localnet", "1", &err) < 0)
		log_warn("Failed to set route_localnet: %s", mk_err_msg(err));
	refresh_node_ips(p);
	log_info("Using %s Proxier, node %s, node IP %s", backend->name, p->node_name,
		 p->node_ip ? p->node_ip : "(none)");
}

/* The sync state, and the health check node ports, which listen where node
 * ports are accepted. */
static void sync_setup(struct proxy *p, const struct proxy_backend *backend)
{
	proxy_sync_init(&p->sync, backend, &p->cfg, options.min_sync_ms, options.sync_ms);
	p->sync.compact = compact_caches;
	p->sync.compact_arg = p;
	static char *const any_ip[] = {"0.0.0.0"};
	if (nodeport_all(p))
		p->svc_health = svchealth_new(any_ip, 1, proxy_healthy, p);
	else
		p->svc_health = svchealth_new(p->node_ips, p->n_node_ips, proxy_healthy, p);
	p->sync.synced = sync_health_ports;
	p->sync.synced_arg = p;
}

/* After daemon_run: nothing calls into p any more. */
static void proxy_free(struct proxy *p)
{
	/* its threads ask the sync state for health */
	svchealth_free(p->svc_health);
	proxy_sync_destroy(&p->sync);
	json_decref(p->node_labels);
	for (size_t i = 0; i < p->n_node_ips; i++)
		free(p->node_ips[i]);
	free(p->node_ips);
	for (size_t i = 0; i < p->n_np_cidrs; i++)
		free(p->np_cidrs[i]);
	free(p->np_cidrs);
	free(p->node_ip);
	free(p->node_name);
}

int main(int argc, char **argv)
{
	start_mono_ns = mono_ns();
	int rc;
	struct daemon *d = daemon_new(&config, argc, argv, &rc);
	if (!d)
		return rc;
	cleanup_err struct mk_err *err = NULL;
	if ((options.config && load_config(d, &options, &err) < 0) ||
	    validate_opts(&options, &err) < 0) {
		log_error("%s", mk_err_msg(err));
		daemon_free(d);
		return 1;
	}
	if (options.explain) {
		rc = explain_main(options.explain, given(d, "proxy-mode") ? options.mode : NULL,
				  kit_str(d, "master"), kit_str(d, "kubeconfig"));
		daemon_free(d);
		return rc;
	}
	const struct proxy_backend *backend = !strcmp(options.mode, "nftables")
						      ? &proxy_backend_nftables
						      : &proxy_backend_iptables;
	if (backend == &proxy_backend_iptables && !options.cleanup)
		proxy_malloc_hugepages(argv);
	proxy_malloc_fixed_mmap_threshold();
	proxy_malloc_one_arena();
	/* after the re-exec above, so it is logged once */
	log_v(2,
	      "Configuration: mode=%s syncPeriod=%lldms minSyncPeriod=%lldms masqueradeAll=%s "
	      "masqueradeBit=%lld clusterCIDR=%s hostnameOverride=%s nodePortAddresses=%s "
	      "healthzBindAddress=%s metricsBindAddress=%s kubeconfig=%s",
	      backend->name, (long long)options.sync_ms, (long long)options.min_sync_ms,
	      options.masquerade_all ? "true" : "false", (long long)options.masq_bit,
	      options.cluster_cidr ? options.cluster_cidr : "",
	      options.hostname ? options.hostname : "",
	      options.nodeport_addresses ? options.nodeport_addresses : "",
	      options.healthz_addr ? options.healthz_addr : "",
	      options.metrics_addr ? options.metrics_addr : "",
	      kit_str(d, "kubeconfig") ? kit_str(d, "kubeconfig") : "");
	if (options.cleanup) {
		rc = cleanup_rules();
		daemon_free(d);
		return rc;
	}

	struct proxy p = {0};
	cleanup_other_mode(backend);
	node_setup(&p, backend);
	sync_setup(&p, backend);
	serve(&p, d, options.healthz_addr, "healthz");
	serve(&p, d, options.metrics_addr, "metrics");
	daemon_metrics(d, write_metrics, NULL);
	if (watch_cluster(&p, d, &err) < 0 ||
	    daemon_thread(d, "proxy-sync", false, sync_loop, sync_wake, &p, &err) < 0) {
		log_error("Failed to start: %s", mk_err_msg(err));
		rc = 1;
	} else {
		rc = daemon_run(d);
	}
	proxy_free(&p);
	daemon_free(d);
	return rc;
}
