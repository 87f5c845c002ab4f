/* kube-proxy: Services and EndpointSlices from the API server become
 * iptables (libiptc) or nftables (libnftnl) rules, as upstream writes them. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "cleanup.h"
#include "client.h"
#include "explain.h"
#include "flags.h"
#include "httpd.h"
#include "informer.h"
#include "json.h"
#include "kubeconfig.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "routes.h"
#include "memory.h"
#include "svchealth.h"
#include "sync.h"
#include "timefmt.h"
#include "version.h"
#include "xalloc.h"
#include "yamldoc.h"

#define PROXY_SELECTOR "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"

struct opts {
	char *master, *kubeconfig, *mode, *cluster_cidr, *hostname, *nodeport_addresses;
	char *healthz_addr, *metrics_addr, *config, *explain;
	int64_t sync_ms, min_sync_ms, verbosity, masq_bit;
	bool masquerade_all, cleanup;
};

struct proxy {
	struct opts o;
	struct proxy_config cfg;
	struct proxy_sync sync;
	char *node_name;
	char *node_ip;        /* primary IP (owned) */
	char **node_ips;      /* owned */
	size_t n_node_ips;
	char **np_cidrs;      /* owned */
	size_t n_np_cidrs;
	json_t *node_labels;  /* own Node's labels, for topology changes */
	struct client *client;
	struct informer *svc_inf, *slice_inf, *node_inf;
	struct httpd *healthz, *metrics;
	struct svchealth *svc_health; /* health check node ports */
	atomic_bool stop;
};

/* ---- configuration ---- */

static char **split_list(const char *s, size_t *n)
{
	*n = 0;
	if (!s || !*s)
		return NULL;
	char **v = NULL;
	char *copy = xstrdup(s);
	for (char *save = NULL, *w = strtok_r(copy, ", ", &save); w; w = strtok_r(NULL, ", ", &save)) {
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = xstrdup(w);
	}
	free(copy);
	return v;
}

static void set_str(char **dst, const json_t *v)
{
	if (json_is_string(v)) {
		free(*dst);
		*dst = xstrdup(json_string_value(v));
	}
}

/* A duration of the configuration file; zero or absent keeps the default, as
 * upstream's defaulting does. */
static void set_dur(int64_t *dst, const json_t *v)
{
	int64_t ms;
	if (json_is_string(v) && flags_parse_duration(json_string_value(v), &ms, NULL) == 0 && ms > 0)
		*dst = ms;
}

/* An "ip[:port]" bind address of the file: empty keeps the default, a missing
 * port is the default's. */
static void set_bind(char **dst, const json_t *v)
{
	const char *a = json_string_value(v);
	if (!a || !*a)
		return;
	const char *def_port = strrchr(*dst ? *dst : "", ':');
	char *n = strchr(a, ':') || !def_port ? xstrdup(a) : xasprintf("%s%s", a, def_port);
	free(*dst);
	*dst = n;
}

static bool flag_given(const struct flag *flags, const char *name)
{
	for (const struct flag *f = flags; f->name; f++)
		if (!strcmp(f->name, name))
			return f->seen;
	return false;
}

#define CONFIG_API_VERSION "kubeproxy.config.k8s.io/v1alpha1"

/* KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1): the fields the
 * command line did not set, with upstream's defaulting (zero durations and
 * empty addresses keep the defaults). The sync periods, masqueradeAll and
 * masqueradeBit come from the section of the proxy mode in use (iptables or
 * nftables), as upstream converts them. */
static int load_config(struct opts *o, struct flag *flags, struct mk_err **err)
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
	json_t *c = yamldoc_parse(buf_str(&b), b.len, err);
	buf_free(&b);
	if (!c)
		return mk_err_wrap(err, "parsing %s", o->config);
	int rc = 0;
	const char *kind = json_string_value(json_object_get(c, "kind"));
	const char *api = json_string_value(json_object_get(c, "apiVersion"));
	if (!json_is_object(c)) {
		rc = mk_err_set(err, MK_EINVAL, "%s: not a KubeProxyConfiguration object", o->config);
	} else if (kind && strcmp(kind, "KubeProxyConfiguration")) {
		rc = mk_err_set(err, MK_EINVAL, "%s: kind %s is not KubeProxyConfiguration", o->config,
				kind);
	} else if (api && strcmp(api, CONFIG_API_VERSION)) {
		rc = mk_err_set(err, MK_EINVAL,
				"%s: no kind \"KubeProxyConfiguration\" is registered for version \"%s\"",
				o->config, api);
	}
	if (rc < 0) {
		json_decref(c);
		return -1;
	}
	if (!flag_given(flags, "kubeconfig"))
		set_str(&o->kubeconfig, json_path_get(c, "clientConnection.kubeconfig"));
	const char *m = json_string_value(json_object_get(c, "mode"));
	if (!flag_given(flags, "proxy-mode") && m && *m)
		set_str(&o->mode, json_object_get(c, "mode"));
	if (!flag_given(flags, "cluster-cidr"))
		set_str(&o->cluster_cidr, json_object_get(c, "clusterCIDR"));
	if (!flag_given(flags, "hostname-override"))
		set_str(&o->hostname, json_object_get(c, "hostnameOverride"));
	const json_t *sec = json_object_get(c, strcmp(o->mode, "nftables") ? "iptables" : "nftables");
	if (!flag_given(flags, "iptables-sync-period"))
		set_dur(&o->sync_ms, json_object_get(sec, "syncPeriod"));
	if (!flag_given(flags, "iptables-min-sync-period"))
		set_dur(&o->min_sync_ms, json_object_get(sec, "minSyncPeriod"));
	const json_t *all = json_object_get(sec, "masqueradeAll");
	if (!flag_given(flags, "masquerade-all") && json_is_boolean(all))
		o->masquerade_all = json_is_true(all);
	json_t *bit = json_object_get(sec, "masqueradeBit");
	if (json_is_integer(bit))
		o->masq_bit = json_integer_value(bit);
	json_t *np = json_object_get(c, "nodePortAddresses");
	if (!flag_given(flags, "nodeport-addresses") && json_is_array(np) && json_array_size(np)) {
		struct buf l = BUF_INIT;
		size_t i;
		json_t *v;
		json_array_foreach(np, i, v)
			buf_printf(&l, "%s%s", i ? "," : "", json_string_value(v) ? json_string_value(v) : "");
		free(o->nodeport_addresses);
		o->nodeport_addresses = buf_steal(&l);
	}
	if (!flag_given(flags, "healthz-bind-address"))
		set_bind(&o->healthz_addr, json_object_get(c, "healthzBindAddress"));
	if (!flag_given(flags, "metrics-bind-address"))
		set_bind(&o->metrics_addr, json_object_get(c, "metricsBindAddress"));
	json_t *verb = json_path_get(c, "logging.verbosity");
	if (!flag_given(flags, "v") && json_is_integer(verb))
		o->verbosity = json_integer_value(verb);
	json_decref(c);
	return 0;
}

/* What upstream's validation refuses of the merged flags and file. */
static int validate_opts(const struct opts *o, struct mk_err **err)
{
	if (strcmp(o->mode, "iptables") && strcmp(o->mode, "nftables") && *o->mode)
		return mk_err_set(err, MK_EINVAL,
				  "invalid proxy mode %s: must be iptables or nftables", o->mode);
	if (o->masq_bit < 0 || o->masq_bit > 31)
		return mk_err_set(err, MK_EINVAL, "masqueradeBit %lld: must be within the range [0, 31]",
				  (long long)o->masq_bit);
	if (o->sync_ms <= 0)
		return mk_err_set(err, MK_EINVAL, "syncPeriod: must be greater than 0");
	if (o->min_sync_ms < 0)
		return mk_err_set(err, MK_EINVAL, "minSyncPeriod: must be greater than or equal to 0");
	if (o->min_sync_ms > o->sync_ms)
		return mk_err_set(err, MK_EINVAL,
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
				p->node_ips = xrealloc(p->node_ips, (p->n_node_ips + 1) * sizeof(char *));
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

static void write_sysctl(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(value, f) < 0)
		log_warn("Failed to set %s to %s: %s", path, value, strerror(errno));
	if (f)
		fclose(f);
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

/* ---- health and metrics ---- */

static void http_answer(struct httpd_req *rq, void *arg)
{
	struct proxy *p = arg;
	const char *method = httpd_req_method(rq), *url = httpd_req_path(rq);
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		httpd_reply_text(rq, 405, "text/plain", "405 method not allowed\n");
		return;
	}
	struct buf b = BUF_INIT;
	unsigned code = 200;
	const char *ctype = "application/json";
	if (!strcmp(url, "/healthz") || !strcmp(url, "/livez")) {
		double last = 0;
		bool ok = proxy_sync_healthy(&p->sync, &last);
		code = ok ? 200 : 503;
		metrics_add(ok ? MV_HEALTHZ_200 : MV_HEALTHZ_503, 1);
		char *lu = time_rfc3339((time_t)last), *now = time_now_rfc3339();
		buf_printf(&b, "{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\", \"nodeEligible\": true}",
			   lu, now);
		free(lu);
		free(now);
	} else if (!strcmp(url, "/metrics")) {
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		metrics_write(&b);
	} else {
		code = 404;
		ctype = "text/plain";
		buf_append_str(&b, "404 page not found\n");
	}
	size_t len = b.len;
	httpd_reply_raw(rq, (int)code, ctype, buf_steal(&b), len);
}

static bool proxy_healthy(void *arg)
{
	return proxy_sync_healthy(&((struct proxy *)arg)->sync, NULL);
}

static void sync_health_ports(void *arg, const struct proxy_model *m)
{
	svchealth_sync(((struct proxy *)arg)->svc_health, m);
}

static struct httpd *serve(struct proxy *p, const char *addr, const char *what)
{
	if (!addr || !*addr)
		return NULL;
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
		log_error("Bad %s bind address %s", what, addr);
		return NULL;
	}
	/* "[::]:10256" */
	const char *h0 = addr, *h1 = colon;
	if (*h0 == '[' && h1 > h0 && h1[-1] == ']') {
		h0++;
		h1--;
	}
	memcpy(host, h0, (size_t)(h1 - h0));
	host[h1 - h0] = '\0';
	int port = atoi(colon + 1);
	if (port == 0)
		return NULL;
	struct httpd_config cfg = {
		.name = what,
		.threads = 1,
		.idle_timeout_s = 60,
		.fallback = http_answer,
		.fallback_arg = p,
	};
	cleanup_err struct mk_err *err = NULL;
	struct httpd *h = httpd_new(&cfg, &err);
	if (h && !httpd_listen(h, *host ? host : "0.0.0.0", port, &err)) {
		httpd_free(h);
		h = NULL;
	}
	if (!h)
		log_error("Failed to serve %s on %s: %s", what, addr, mk_err_msg(err));
	else
		log_info("Serving %s on %s", what, addr);
	return h;
}

/* ---- threads ---- */

static void *signal_thread(void *arg)
{
	struct proxy *p = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	int sig = 0;
	sigwait(&set, &sig);
	log_info("Received signal %d, stopping", sig);
	atomic_store(&p->stop, true);
	proxy_sync_stop(&p->sync);
	return NULL;
}

static void *synced_thread(void *arg)
{
	struct proxy *p = arg;
	while (!atomic_load(&p->stop)) {
		if (informer_wait_synced(p->svc_inf, 200) && informer_wait_synced(p->slice_inf, 200)) {
			log_info("Caches are synced for service and endpoint slice config");
			proxy_sync_set_synced(&p->sync, true, true);
			/* node events before the informer was published were skipped */
			while (!atomic_load(&p->stop) && !informer_wait_synced(p->node_inf, 200))
				;
			routes_update(p);
			break;
		}
	}
	return NULL;
}

static struct informer *start_informer(struct proxy *p, const char *path, const char *sel,
				       const struct informer_handlers *h, struct mk_err **err)
{
	struct informer *inf = informer_new(p->client, path, sel, NULL, h, err);
	if (!inf)
		return NULL;
	if (informer_start(inf, err) < 0) {
		informer_free(inf);
		return NULL;
	}
	return inf;
}

/* After parsing every string option is owned (defaults copied). */
static void opts_own(struct flag *flags)
{
	for (struct flag *f = flags; f->name; f++)
		if (f->type == FLAG_STRING && !f->seen && *(char **)f->target)
			*(char **)f->target = xstrdup(*(char **)f->target);
}

static void opts_free(struct flag *flags)
{
	for (struct flag *f = flags; f->name; f++)
		if (f->type == FLAG_STRING) {
			free(*(char **)f->target);
			*(char **)f->target = NULL;
		}
}

int main(int argc, char **argv)
{
	struct proxy p = {0};
	struct opts *o = &p.o;
	o->mode = "iptables";
	o->healthz_addr = "0.0.0.0:10256";
	o->metrics_addr = "127.0.0.1:10249";
	o->sync_ms = 30000;
	o->min_sync_ms = 1000;
	o->masq_bit = 14;
	struct flag flags[] = {
		{"master", FLAG_STRING, &o->master, "The address of the Kubernetes API server (overrides any value in kubeconfig)", false},
		{"kubeconfig", FLAG_STRING, &o->kubeconfig, "Path to kubeconfig file with authorization information", false},
		{"proxy-mode", FLAG_STRING, &o->mode, "Which proxy mode to use: 'iptables' or 'nftables'", false},
		{"cluster-cidr", FLAG_STRING, &o->cluster_cidr, "The CIDR range of the pods in the cluster", false},
		{"hostname-override", FLAG_STRING, &o->hostname, "If non-empty, will be used as the name of the Node", false},
		{"iptables-sync-period", FLAG_DURATION, &o->sync_ms, "An interval at which rules are refreshed (default 30s)", false},
		{"iptables-min-sync-period", FLAG_DURATION, &o->min_sync_ms, "The minimum period between rule resyncs (default 1s)", false},
		{"masquerade-all", FLAG_BOOL, &o->masquerade_all, "SNAT all traffic sent via Service cluster IPs", false},
		{"nodeport-addresses", FLAG_STRING, &o->nodeport_addresses, "CIDRs of the node IPs that accept NodePort traffic", false},
		{"healthz-bind-address", FLAG_STRING, &o->healthz_addr, "IP:port for the health check server (default 0.0.0.0:10256)", false},
		{"metrics-bind-address", FLAG_STRING, &o->metrics_addr, "IP:port for the metrics server (default 127.0.0.1:10249)", false},
		{"config", FLAG_STRING, &o->config, "The path to the KubeProxyConfiguration file", false},
		{"cleanup", FLAG_BOOL, &o->cleanup, "If true cleanup iptables and nftables rules and exit", false},
		{"explain", FLAG_STRING, &o->explain, "Print the path a connection to namespace/name[:port] or IP:port[/protocol] takes through the rules the kernel holds, and exit", false},
		{"v", FLAG_INT, &o->verbosity, "number for the log level verbosity", false},
		{NULL, 0, NULL, NULL, false},
	};
	struct mk_err *err = NULL;
	int r = flags_parse(flags, argc, argv, &err);
	if (r == FLAGS_VERSION) {
		fputs(MK_VERSION_LINE, stdout);
		return 0;
	}
	if (r == 1) {
		char *u = flags_usage("kube-proxy", "The Kubernetes network proxy runs on each node.", flags);
		fputs(u, stdout);
		free(u);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "Error: %s\n", mk_err_msg(err));
		return 1;
	}
	opts_own(flags);
	if ((o->config && load_config(o, flags, &err) < 0) || validate_opts(o, &err) < 0) {
		log_error("%s", mk_err_msg(err));
		return 1;
	}
	log_verbosity = (int)o->verbosity;
	if (o->explain) {
		r = explain_main(o->explain, flag_given(flags, "proxy-mode") ? o->mode : NULL,
				 o->master, o->kubeconfig);
		opts_free(flags);
		return r;
	}
	const struct proxy_backend *backend =
		!strcmp(o->mode, "nftables") ? &proxy_backend_nftables : &proxy_backend_iptables;
	if (backend == &proxy_backend_iptables && !o->cleanup)
		proxy_malloc_hugepages(argv);
	proxy_malloc_fixed_mmap_threshold();
	proxy_malloc_one_arena();
	/* after the re-exec above, so it is logged once */
	log_v(2, "Configuration: mode=%s syncPeriod=%lldms minSyncPeriod=%lldms masqueradeAll=%s "
		 "masqueradeBit=%lld clusterCIDR=%s hostnameOverride=%s nodePortAddresses=%s "
		 "healthzBindAddress=%s metricsBindAddress=%s kubeconfig=%s",
	      backend->name, (long long)o->sync_ms, (long long)o->min_sync_ms,
	      o->masquerade_all ? "true" : "false", (long long)o->masq_bit,
	      o->cluster_cidr ? o->cluster_cidr : "", o->hostname ? o->hostname : "",
	      o->nodeport_addresses ? o->nodeport_addresses : "", o->healthz_addr ? o->healthz_addr : "",
	      o->metrics_addr ? o->metrics_addr : "", o->kubeconfig ? o->kubeconfig : "");

	if (o->cleanup) {
		int rc = 0;
		if (proxy_backend_iptables.cleanup(&err) < 0) {
			log_error("Failed to clean up iptables rules: %s", mk_err_msg(err));
			mk_err_free(err);
			err = NULL;
			rc = 1;
		}
		if (proxy_backend_nftables.cleanup(&err) < 0) {
			log_error("Failed to clean up nftables rules: %s", mk_err_msg(err));
			rc = 1;
		}
		return rc;
	}

	char hn[256] = "";
	if (o->hostname && *o->hostname)
		snprintf(hn, sizeof(hn), "%s", o->hostname);
	else if (gethostname(hn, sizeof(hn) - 1) < 0)
		strcpy(hn, "localhost");
	for (char *c = hn; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	p.node_name = xstrdup(hn);

	proxy_config_init(&p.cfg);
	p.cfg.node_name = p.node_name;
	p.cfg.cluster_cidr = o->cluster_cidr && *o->cluster_cidr ? o->cluster_cidr : NULL;
	p.cfg.masquerade_all = o->masquerade_all;
	p.cfg.masquerade_bit = (int)o->masq_bit;
	p.np_cidrs = split_list(o->nodeport_addresses, &p.n_np_cidrs);
	p.cfg.nodeport_cidrs = p.np_cidrs;
	p.cfg.n_nodeport_cidrs = p.n_np_cidrs;
	if (p.n_np_cidrs) {
		struct in_addr lo;
		inet_pton(AF_INET, "127.0.0.1", &lo);
		bool any = false;
		for (size_t i = 0; i < p.n_np_cidrs; i++)
			any |= cidr_contains(p.np_cidrs[i], lo);
		p.cfg.localhost_nodeports = any;
	}
	if (backend == &proxy_backend_nftables)
		p.cfg.localhost_nodeports = false;
	p.cfg.drop_invalid = !sysctl_nonzero("/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal");
	if (p.cfg.localhost_nodeports)
		write_sysctl("/proc/sys/net/ipv4/conf/all/route_localnet", "1");
	refresh_node_ips(&p);
	log_info("Using %s Proxier, node %s, node IP %s", backend->name, p.node_name,
		 p.node_ip ? p.node_ip : "(none)");

	struct kubeconfig *kc = NULL;
	if (o->kubeconfig || !o->master) {
		kc = kubeconfig_load(o->kubeconfig, &err);
		if (!kc) {
			log_error("%s", mk_err_msg(err));
			return 1;
		}
	}
	p.client = client_new(o->master, kc, &err);
	kubeconfig_free(kc);
	if (!p.client) {
		log_error("%s", mk_err_msg(err));
		return 1;
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	proxy_sync_init(&p.sync, backend, &p.cfg, o->min_sync_ms, o->sync_ms);
	p.sync.compact = compact_caches;
	p.sync.compact_arg = &p;
	/* health check node ports listen where node ports are accepted */
	static char *const any_ip[] = {"0.0.0.0"};
	if (nodeport_all(&p))
		p.svc_health = svchealth_new(any_ip, 1, proxy_healthy, &p);
	else
		p.svc_health = svchealth_new(p.node_ips, p.n_node_ips, proxy_healthy, &p);
	p.sync.synced = sync_health_ports;
	p.sync.synced_arg = &p;
	pthread_t sig_th, synced_th;
	pthread_create(&sig_th, NULL, signal_thread, &p);

	p.healthz = serve(&p, o->healthz_addr, "healthz");
	p.metrics = serve(&p, o->metrics_addr, "metrics");

	/* the sync state keeps what the rules need of Services and
	 * EndpointSlices: the informers need not keep the objects too */
	struct informer_handlers sh = {.on_add = svc_add, .on_update = svc_update,
				       .on_delete = svc_delete, .on_error = inf_error, .arg = &p,
				       .versions_only = true};
	struct informer_handlers eh = {.on_add = slice_add, .on_update = slice_update,
				       .on_delete = slice_delete, .on_error = inf_error, .arg = &p,
				       .versions_only = true};
	struct informer_handlers nh = {.on_add = node_seen, .on_update = node_update,
				       .on_delete = node_delete, .on_error = inf_error, .arg = &p};
	p.svc_inf = start_informer(&p, "/api/v1/services", PROXY_SELECTOR, &sh, &err);
	if (p.svc_inf)
		p.slice_inf = start_informer(&p, "/apis/discovery.k8s.io/v1/endpointslices",
					     PROXY_SELECTOR, &eh, &err);
	if (p.slice_inf)
		p.node_inf = start_informer(&p, "/api/v1/nodes", NULL, &nh, &err);
	int rc = 0;
	if (!p.node_inf) {
		log_error("Failed to start informers: %s", mk_err_msg(err));
		rc = 1;
		atomic_store(&p.stop, true);
		pthread_kill(sig_th, SIGTERM);
	} else {
		pthread_create(&synced_th, NULL, synced_thread, &p);
		proxy_sync_run(&p.sync);
		atomic_store(&p.stop, true);
		pthread_join(synced_th, NULL);
	}
	pthread_join(sig_th, NULL);
	/* its threads ask the sync state for health */
	svchealth_free(p.svc_health);
	informer_free(p.node_inf);
	informer_free(p.slice_inf);
	informer_free(p.svc_inf);
	httpd_free(p.healthz);
	httpd_free(p.metrics);
	proxy_sync_destroy(&p.sync);
	client_free(p.client);
	json_decref(p.node_labels);
	for (size_t i = 0; i < p.n_node_ips; i++)
		free(p.node_ips[i]);
	free(p.node_ips);
	for (size_t i = 0; i < p.n_np_cidrs; i++)
		free(p.np_cidrs[i]);
	free(p.np_cidrs);
	free(p.node_ip);
	free(p.node_name);
	mk_err_free(err);
	opts_free(flags);
	return rc;
}
