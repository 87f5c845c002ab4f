/* The kubelet's HTTP endpoints: /healthz on --healthz-bind-address:
 * --healthz-port (10248), and on --address:--port (10250) /healthz, /pods,
 * /metrics (Prometheus), /stats/summary (CPU and memory of the node, its
 * pods and their containers, read from cgroups), /metrics/resource (the same
 * usage as upstream's resource metrics) and the streaming endpoints
 * (containerLogs, exec, attach, portForward: kubelet/streaming, answered
 * from the pod table here). Plain HTTP for now. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"
#include "kubelet/cgroups.h"
#include "kubelet/kubelet-internal.h"
#include "kubelet/streaming.h"

/* Buckets of kubelet_pod_start_sli_duration_seconds, as upstream declares them. */
static const double start_buckets[] = {0.5, 1,	 2,   3,    4,	  5,	6,   8,	  10,
				       20,  30,	 45,  60,   120,  180,	240, 300, 360,
				       480, 600, 900, 1200, 1800, 2700, 3600};
#define NBUCKETS (sizeof(start_buckets) / sizeof(start_buckets[0]))

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t start_counts[NBUCKETS + 1];
static double start_sum;
static uint64_t start_total;

void server_observe_pod_start(double seconds)
{
	pthread_mutex_lock(&metrics_mu);
	for (size_t i = 0; i < NBUCKETS; i++)
		if (seconds <= start_buckets[i])
			start_counts[i]++;
	start_sum += seconds;
	start_total++;
	pthread_mutex_unlock(&metrics_mu);
}

static void pods_handler(struct httpd_req *rq, void *arg)
{
	struct kubelet *k = arg;
	json_t *items = json_array();
	pthread_mutex_lock(&k->mu);
	for (struct kpod *kp = k->pods; kp; kp = kp->next) {
		if (!kp->pod || kp->removed)
			continue;
		json_t *p = json_copy_deep(kp->pod);
		if (kp->status)
			json_object_set_new(p, "status", json_copy_deep(kp->status));
		json_array_append_new(items, p);
	}
	pthread_mutex_unlock(&k->mu);
	httpd_reply_json(rq, 200,
			 json_pack("{s:s, s:s, s:{}, s:o}", "kind", "PodList", "apiVersion", "v1",
				   "metadata", "items", items));
}

static void metrics_render(struct buf *out, void *arg)
{
	struct kubelet *k = arg;
	int pods = 0, running = 0, exited = 0, created = 0;
	pthread_mutex_lock(&k->mu);
	for (struct kpod *kp = k->pods; kp; kp = kp->next) {
		if (kp->sandbox_ready)
			pods++;
		for (size_t i = 0; i < kp->nctrs; i++) {
			if (!kp->ctrs[i].id)
				continue;
			if (kp->ctrs[i].state == KCTR_RUNNING)
				running++;
			else if (kp->ctrs[i].state == KCTR_TERMINATED)
				exited++;
			else
				created++;
		}
	}
	pthread_mutex_unlock(&k->mu);
	buf_printf(out,
		   "# HELP kubelet_running_pods [ALPHA] Number of pods that have a running pod "
		   "sandbox\n# TYPE kubelet_running_pods gauge\nkubelet_running_pods %d\n",
		   pods);
	buf_printf(out,
		   "# HELP kubelet_running_containers [ALPHA] Number of containers currently "
		   "running\n# TYPE kubelet_running_containers gauge\n"
		   "kubelet_running_containers{container_state=\"created\"} %d\n"
		   "kubelet_running_containers{container_state=\"exited\"} %d\n"
		   "kubelet_running_containers{container_state=\"running\"} %d\n",
		   created, exited, running);
	pthread_mutex_lock(&metrics_mu);
	buf_append_str(out, "# HELP kubelet_pod_start_sli_duration_seconds [BETA] Duration in "
			    "seconds to start a pod, excluding time to pull images and run init "
			    "containers, measured from pod creation timestamp to when all its "
			    "containers are reported as started and observed via watch\n"
			    "# TYPE kubelet_pod_start_sli_duration_seconds histogram\n");
	for (size_t i = 0; i < NBUCKETS; i++)
		buf_printf(out, "kubelet_pod_start_sli_duration_seconds_bucket{le=\"%g\"} %llu\n",
			   start_buckets[i], (unsigned long long)start_counts[i]);
	buf_printf(out,
		   "kubelet_pod_start_sli_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		   "kubelet_pod_start_sli_duration_seconds_sum %g\n"
		   "kubelet_pod_start_sli_duration_seconds_count %llu\n",
		   (unsigned long long)start_total, start_sum, (unsigned long long)start_total);
	pthread_mutex_unlock(&metrics_mu);
}

/* ---- /stats/summary ---- */

/* CPU usage needs two samples; a window shorter than this says more about
 * scheduling noise than about use, so a request that comes sooner gets the
 * rate of the last full window. */
#define CPU_WINDOW_MIN_MS 1000

struct cpu_sample {
	char *path;
	uint64_t ns;
	int64_t at_ms;
	uint64_t rate; /* nano cores over the last full window */
	struct cpu_sample *next;
};
static struct cpu_sample *samples;
static pthread_mutex_t samples_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t nano_cores(const char *path, uint64_t ns)
{
	int64_t now = kubelet_now_ms();
	pthread_mutex_lock(&samples_mu);
	struct cpu_sample *s;
	for (s = samples; s; s = s->next)
		if (!strcmp(s->path, path))
			break;
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->path = xstrdup(path);
		s->next = samples;
		samples = s;
		s->ns = ns;
		s->at_ms = now;
	} else if (now - s->at_ms >= CPU_WINDOW_MIN_MS && ns >= s->ns) {
		s->rate = (uint64_t)((double)(ns - s->ns) * 1000.0 / (double)(now - s->at_ms));
		s->ns = ns;
		s->at_ms = now;
	} else if (ns < s->ns) { /* a new cgroup under the same path */
		s->ns = ns;
		s->at_ms = now;
		s->rate = 0;
	}
	uint64_t out = s->rate;
	pthread_mutex_unlock(&samples_mu);
	return out;
}

static json_t *usage_json(struct kubelet *k, const char *path, const char *stamp, bool *failed)
{
	struct cgroups_usage u = {0};
	cleanup_err struct mk_err *err = NULL;
	json_t *out = json_object();
	if (!k->cg || cgroups_usage_read(k->cg, path, &u, &err) < 0) {
		if (failed)
			*failed = true;
		return out;
	}
	if (u.has_cpu)
		json_object_set_new(out, "cpu",
				    json_pack("{s:s, s:I, s:I}", "time", stamp, "usageNanoCores",
					      (json_int_t)nano_cores(path, u.cpu_ns),
					      "usageCoreNanoSeconds", (json_int_t)u.cpu_ns));
	if (u.has_memory)
		json_object_set_new(out, "memory",
				    json_pack("{s:s, s:I, s:I, s:I}", "time", stamp, "usageBytes",
					      (json_int_t)u.memory_usage, "workingSetBytes",
					      (json_int_t)u.working_set, "rssBytes",
					      (json_int_t)u.rss));
	return out;
}

/* The summary of the node, its pods and their running containers, as
 * upstream's stats/v1alpha1 Summary (CPU and memory only). *failed is set
 * when the node's own cgroup could not be read. New reference. */
static json_t *summary_build(struct kubelet *k, bool *failed)
{
	cleanup_free char *stamp = time_now_rfc3339();
	cleanup_free char *started = time_rfc3339(k->start_time);
	json_t *node = usage_json(k, "/", stamp, failed);
	json_object_set_new(node, "nodeName", json_string(k->node_name));
	json_object_set_new(node, "startTime", json_string(started));
	json_t *pods = json_array();
	/* paths first, under the lock; reading cgroups happens without it */
	json_t *todo = json_array();
	pthread_mutex_lock(&k->mu);
	for (struct kpod *kp = k->pods; kp; kp = kp->next) {
		if (!kp->pod || !kp->sandbox_ready)
			continue;
		json_t *ctrs = json_array();
		for (size_t i = 0; i < kp->nctrs; i++)
			if (kp->ctrs[i].id && kp->ctrs[i].state == KCTR_RUNNING)
				json_array_append_new(
					ctrs, json_pack("{s:s, s:s, s:I}", "name", kp->ctrs[i].name,
							"id", kp->ctrs[i].id, "started",
							(json_int_t)kp->ctrs[i].started_at));
		json_array_append_new(todo, json_pack("{s:O, s:s, s:s, s:s, s:I, s:o}", "pod",
						      kp->pod, "name", kp->name, "namespace",
						      kp->ns, "uid", kp->uid, "start",
						      (json_int_t)kp->start_time, "ctrs", ctrs));
	}
	pthread_mutex_unlock(&k->mu);
	size_t i;
	json_t *t;
	json_array_foreach(todo, i, t)
	{
		cleanup_free char *ppath =
			cgroups_pod_path(k->cfg.cgroup_root, json_object_get(t, "pod"), NULL);
		if (!ppath)
			continue;
		/* a pod or container that ended meanwhile is left with no usage,
		 * which is no scrape error */
		json_t *p = usage_json(k, ppath, stamp, NULL);
		json_object_set_new(p, "podRef",
				    json_pack("{s:O, s:O, s:O}", "name", json_object_get(t, "name"),
					      "namespace", json_object_get(t, "namespace"), "uid",
					      json_object_get(t, "uid")));
		cleanup_free char *pstart =
			time_rfc3339((time_t)json_integer_value(json_object_get(t, "start")));
		json_object_set_new(p, "startTime", json_string(pstart));
		json_t *cs = json_array();
		size_t j;
		json_t *c;
		json_array_foreach(json_object_get(t, "ctrs"), j, c)
		{
			cleanup_free char *cpath = xasprintf(
				"%s/%s", ppath, json_string_value(json_object_get(c, "id")));
			json_t *cj = usage_json(k, cpath, stamp, NULL);
			json_object_set(cj, "name", json_object_get(c, "name"));
			json_int_t cstarted = json_integer_value(json_object_get(c, "started"));
			cleanup_free char *cstart = time_rfc3339((time_t)cstarted);
			json_object_set_new(cj, "startTime", json_string(cstart));
			/* kept for /metrics/resource, dropped from the summary */
			json_object_set_new(cj, "-started", json_integer(cstarted));
			json_array_append_new(cs, cj);
		}
		json_object_set_new(p, "containers", cs);
		json_array_append_new(pods, p);
	}
	json_decref(todo);
	return json_pack("{s:o, s:o}", "node", node, "pods", pods);
}

static void summary_handler(struct httpd_req *rq, void *arg)
{
	bool failed = false;
	json_t *sum = summary_build(arg, &failed);
	size_t i, j;
	json_t *p, *c;
	json_array_foreach(json_object_get(sum, "pods"), i, p)
		json_array_foreach(json_object_get(p, "containers"), j, c)
			json_object_del(c, "-started");
	httpd_reply_json(rq, 200, sum);
}

/* ---- /metrics/resource ---- */

/* v as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it, which is how
 * upstream's Prometheus encoder prints sample values: the fewest digits
 * that read back as v, in exponent form for exponents below -4 or from 6 on
 * (100000, but 1e+06 and 1.2345678e+07). */
static void prom_float(struct buf *b, double v)
{
	char tmp[64];
	int prec;
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
	int exp = atoi(strchr(tmp, 'e') + 1);
	if (exp < -4 || exp >= 6)
		buf_append_str(b, tmp);
	else
		buf_printf(b, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
}

/* One metric family: its help and type once, then its samples sorted as
 * the Prometheus registry sorts them (by label values). */
struct family {
	const char *name, *type, *help;
	char **lines;
	size_t n;
};

static void family_add(struct family *f, const char *labels, double v, int64_t ts_ms)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s%s ", f->name, labels);
	prom_float(&b, v);
	if (ts_ms)
		buf_printf(&b, " %lld", (long long)ts_ms);
	buf_append_char(&b, '\n');
	f->lines = xrealloc(f->lines, (f->n + 1) * sizeof(*f->lines));
	f->lines[f->n++] = buf_steal(&b);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void family_render(struct buf *out, struct family *f)
{
	if (!f->n)
		return;
	buf_printf(out, "# HELP %s [STABLE] %s\n# TYPE %s %s\n", f->name, f->help, f->name,
		   f->type);
	qsort(f->lines, f->n, sizeof(*f->lines), cmp_str);
	for (size_t i = 0; i < f->n; i++) {
		buf_append_str(out, f->lines[i]);
		free(f->lines[i]);
	}
	free(f->lines);
}

/* A label value with Prometheus' text escapes. */
static void label_value(struct buf *b, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_append_str(b, "\\n");
		else
			buf_append_char(b, *v);
	}
}

static double usage_value(const json_t *stats, const char *res, const char *key, bool *ok)
{
	const json_t *v = json_object_get(json_object_get(stats, res), key);
	*ok = json_is_integer(v);
	return (double)json_integer_value(v);
}

static void resource_metrics_handler(struct httpd_req *rq, void *arg)
{
	enum { CCPU, CMEM, CSTART, NCPU, NMEM, PCPU, PMEM, NFAM };
	struct family fam[NFAM] = {
		[CCPU] = {"container_cpu_usage_seconds_total", "counter",
			  "Cumulative cpu time consumed by the container in core-seconds"},
		[CMEM] = {"container_memory_working_set_bytes", "gauge",
			  "Current working set of the container in bytes"},
		[CSTART] = {"container_start_time_seconds", "gauge",
			    "Start time of the container since unix epoch in seconds"},
		[NCPU] = {"node_cpu_usage_seconds_total", "counter",
			  "Cumulative cpu time consumed by the node in core-seconds"},
		[NMEM] = {"node_memory_working_set_bytes", "gauge",
			  "Current working set of the node in bytes"},
		[PCPU] = {"pod_cpu_usage_seconds_total", "counter",
			  "Cumulative cpu time consumed by the pod in core-seconds"},
		[PMEM] = {"pod_memory_working_set_bytes", "gauge",
			  "Current working set of the pod in bytes"},
	};
	bool failed = false, ok;
	json_t *sum = summary_build(arg, &failed);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t ts = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	const json_t *node = json_object_get(sum, "node");
	double v = usage_value(node, "cpu", "usageCoreNanoSeconds", &ok) / 1e9;
	if (ok)
		family_add(&fam[NCPU], "", v, ts);
	v = usage_value(node, "memory", "workingSetBytes", &ok);
	if (ok)
		family_add(&fam[NMEM], "", v, ts);
	size_t i, j;
	json_t *p, *c;
	json_array_foreach(json_object_get(sum, "pods"), i, p)
	{
		const json_t *ref = json_object_get(p, "podRef");
		struct buf pl = BUF_INIT;
		buf_append_str(&pl, "namespace=\"");
		label_value(&pl, json_string_value(json_object_get(ref, "namespace")));
		buf_append_str(&pl, "\",pod=\"");
		label_value(&pl, json_string_value(json_object_get(ref, "name")));
		buf_append_char(&pl, '"');
		cleanup_free char *plabels = xasprintf("{%s}", buf_str(&pl));
		v = usage_value(p, "cpu", "usageCoreNanoSeconds", &ok) / 1e9;
		if (ok)
			family_add(&fam[PCPU], plabels, v, ts);
		v = usage_value(p, "memory", "workingSetBytes", &ok);
		if (ok)
			family_add(&fam[PMEM], plabels, v, ts);
		json_array_foreach(json_object_get(p, "containers"), j, c)
		{
			struct buf cl = BUF_INIT;
			buf_append_str(&cl, "{container=\"");
			label_value(&cl, json_string_value(json_object_get(c, "name")));
			buf_printf(&cl, "\",%s}", buf_str(&pl));
			json_int_t started = json_integer_value(json_object_get(c, "-started"));
			if (started > 0)
				family_add(&fam[CSTART], buf_str(&cl), (double)started, 0);
			v = usage_value(c, "cpu", "usageCoreNanoSeconds", &ok) / 1e9;
			if (ok)
				family_add(&fam[CCPU], buf_str(&cl), v, ts);
			v = usage_value(c, "memory", "workingSetBytes", &ok);
			if (ok)
				family_add(&fam[CMEM], buf_str(&cl), v, ts);
			buf_free(&cl);
		}
		buf_free(&pl);
	}
	json_decref(sum);
	struct buf out = BUF_INIT;
	for (int f = 0; f < NFAM; f++)
		family_render(&out, &fam[f]);
	buf_printf(&out,
		   "# HELP resource_scrape_error [STABLE] 1 if there was an error while getting "
		   "container metrics, 0 otherwise\n# TYPE resource_scrape_error gauge\n"
		   "resource_scrape_error %d\n",
		   failed ? 1 : 0);
	size_t len = out.len;
	httpd_reply_raw(rq, 200, "text/plain; version=0.0.4; charset=utf-8", buf_steal(&out), len);
}

/* ---- streaming: the pod table seen by kubelet/streaming ---- */

/* The record of ns/name (k->mu held), or NULL. */
static struct kpod *pod_by_name(struct kubelet *k, const char *ns, const char *name)
{
	for (struct kpod *kp = k->pods; kp; kp = kp->next)
		if (kp->pod && !kp->removed && !strcmp(kp->ns, ns) && !strcmp(kp->name, name))
			return kp;
	return NULL;
}

static int stream_pod(void *arg, const char *ns, const char *name, json_t **pod, char **netns,
		      struct mk_err **err)
{
	struct kubelet *k = arg;
	pthread_mutex_lock(&k->mu);
	struct kpod *kp = pod_by_name(k, ns, name);
	if (kp) {
		*pod = json_copy_deep(kp->pod);
		if (kp->status)
			json_object_set_new(*pod, "status", json_copy_deep(kp->status));
		*netns = kp->netns ? xstrdup(kp->netns) : NULL;
	}
	pthread_mutex_unlock(&k->mu);
	if (!kp)
		return mk_err_set(err, MK_ENOTFOUND, "pod \"%s/%s\" not found", ns, name);
	return 0;
}

/* The container of kp whose instance id is (any attempt, not only the
 * current one: previous logs), and that attempt; k->mu held. */
static struct kctr *ctr_of_id(struct kpod *kp, const char *id, int *attempt)
{
	const char *us = strrchr(id, '_');
	if (!us)
		return NULL;
	char *end;
	long a = strtol(us + 1, &end, 10);
	if (*end || end == us + 1 || a < 0 || a > 1000000)
		return NULL;
	for (size_t i = 0; i < kp->nctrs; i++) {
		cleanup_free char *want = containers_id(kp, kp->ctrs[i].name, (int)a);
		if (!strcmp(want, id)) {
			*attempt = (int)a;
			return &kp->ctrs[i];
		}
	}
	return NULL;
}

static char *stream_log_path(void *arg, const char *ns, const char *name, const char *id)
{
	struct kubelet *k = arg;
	char *out = NULL;
	pthread_mutex_lock(&k->mu);
	struct kpod *kp = pod_by_name(k, ns, name);
	int attempt;
	struct kctr *c = kp ? ctr_of_id(kp, id, &attempt) : NULL;
	if (c)
		out = containers_log_path(k, kp->pod, c->name, attempt);
	pthread_mutex_unlock(&k->mu);
	return out;
}

static bool stream_running(void *arg, const char *id)
{
	struct kubelet *k = arg;
	bool out = false;
	pthread_mutex_lock(&k->mu);
	for (struct kpod *kp = k->pods; kp && !out; kp = kp->next)
		for (size_t i = 0; i < kp->nctrs; i++)
			if (kp->ctrs[i].id && !strcmp(kp->ctrs[i].id, id)) {
				out = kp->ctrs[i].state == KCTR_RUNNING;
				break;
			}
	pthread_mutex_unlock(&k->mu);
	return out;
}

int server_start(struct kubelet *k, struct mk_err **err)
{
	daemon_metrics(k->d, metrics_render, k);
	if (k->cfg.healthz_port > 0) {
		struct httpd *h = daemon_httpd(k->d, NULL, err);
		if (!h || daemon_listen(k->d, h, k->cfg.healthz_bind_address,
					(int)k->cfg.healthz_port, err) < 0)
			return -1;
	}
	struct httpd_config cfg = {.name = "kubelet", .threads = 4};
	struct httpd *h = daemon_httpd(k->d, &cfg, err);
	if (!h)
		return -1;
	httpd_route(h, "GET", "/pods", pods_handler, k);
	httpd_route(h, "GET", "/pods/", pods_handler, k);
	httpd_route(h, "GET", "/stats/summary", summary_handler, k);
	httpd_route(h, "GET", "/metrics/resource", resource_metrics_handler, k);
	struct streaming_config sc = {
		.rt = k->rt,
		.ops = {.pod = stream_pod,
			.log_path = stream_log_path,
			.running = stream_running,
			.arg = k},
	};
	struct streaming *s = k->streaming = streaming_new(&sc, err);
	if (!s)
		return -1;
	httpd_route(h, "GET", "/containerLogs/", streaming_handle_logs, s);
	static const char *const methods[] = {"GET", "POST"};
	for (size_t i = 0; i < 2; i++) {
		httpd_route(h, methods[i], "/exec/", streaming_handle_exec, s);
		httpd_route(h, methods[i], "/attach/", streaming_handle_attach, s);
		httpd_route(h, methods[i], "/portForward/", streaming_handle_portforward, s);
	}
	return daemon_listen(k->d, h, k->cfg.address, (int)k->cfg.port, err);
}
