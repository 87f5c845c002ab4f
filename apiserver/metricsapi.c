#include "apiserver/metricsapi.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "timefmt.h"
#include "xalloc.h"
#include "apiserver/nodeproxy.h"

/* A kubelet's summary of many pods stays well under this. */
#define MAX_SUMMARY (16 * 1024 * 1024)

/* ---- conversion ---- */

static json_t *cpu_quantity(json_int_t nano)
{
	char s[32];
	snprintf(s, sizeof(s), "%lldn", (long long)nano);
	return json_string(s);
}

/* Bytes as resource.NewQuantity(n, BinarySI) prints them: Ki, Mi... when
 * exact, plain otherwise. */
static json_t *memory_quantity(json_int_t bytes)
{
	static const char *const suffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
	int i = 0;
	long long v = (long long)bytes;
	while (v != 0 && v % 1024 == 0 && i < 6) {
		v /= 1024;
		i++;
	}
	char s[32];
	snprintf(s, sizeof(s), "%lld%s", v, suffix[i]);
	return json_string(s);
}

/* {"cpu": ..., "memory": ...} from a summary's cpu and memory stats, or
 * NULL when either number is missing. */
static json_t *usage_of(const json_t *stats, const char **time)
{
	const json_t *cpu = json_object_get(stats, "cpu");
	const json_t *mem = json_object_get(stats, "memory");
	const json_t *nc = json_object_get(cpu, "usageNanoCores");
	const json_t *ws = json_object_get(mem, "workingSetBytes");
	if (!json_is_integer(nc) || !json_is_integer(ws))
		return NULL;
	if (time)
		*time = json_string_value(json_object_get(cpu, "time"));
	return json_pack("{s:o,s:o}", "cpu", cpu_quantity(json_integer_value(nc)), "memory",
			 memory_quantity(json_integer_value(ws)));
}

void metricsapi_from_summary(const json_t *summary, json_t *nodes, json_t *pods)
{
	cleanup_free char *now = time_now_rfc3339();
	const json_t *node = json_object_get(summary, "node");
	const char *t = NULL;
	json_t *usage = usage_of(node, &t);
	const char *node_name = json_string_value(json_object_get(node, "nodeName"));
	if (nodes && usage && node_name) {
		json_array_append_new(
			nodes, json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:s,s:o}", "kind", "NodeMetrics",
					 "apiVersion", "metrics.k8s.io/v1beta1", "metadata", "name",
					 node_name, "creationTimestamp", now, "timestamp",
					 t ? t : now, "window", "10s", "usage", usage));
	} else {
		json_decref(usage);
	}
	size_t i;
	const json_t *p;
	json_array_foreach(json_object_get(summary, "pods"), i, p)
	{
		const json_t *ref = json_object_get(p, "podRef");
		const char *name = json_string_value(json_object_get(ref, "name"));
		const char *ns = json_string_value(json_object_get(ref, "namespace"));
		if (!pods || !name || !ns)
			continue;
		json_t *ctrs = json_array();
		const char *pt = NULL;
		size_t k;
		const json_t *c;
		json_array_foreach(json_object_get(p, "containers"), k, c)
		{
			const char *cname = json_string_value(json_object_get(c, "name"));
			json_t *cu = usage_of(c, pt ? NULL : &pt);
			if (cname && cu)
				json_array_append_new(
					ctrs, json_pack("{s:s,s:o}", "name", cname, "usage", cu));
			else
				json_decref(cu);
		}
		if (!json_array_size(ctrs)) {
			json_decref(ctrs);
			continue;
		}
		json_array_append_new(pods, json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:s,s:s,s:o}",
						      "kind", "PodMetrics", "apiVersion",
						      "metrics.k8s.io/v1beta1", "metadata", "name",
						      name, "namespace", ns, "creationTimestamp",
						      now, "timestamp", pt ? pt : now, "window",
						      "10s", "containers", ctrs));
	}
}

/* ---- asking the kubelets ---- */

struct scrape {
	char *url;
	CURL *c;
	struct buf body;
	bool ok;
};

static size_t sink(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;
	if (b->len + len > MAX_SUMMARY)
		return 0; /* abort the transfer */
	buf_append(b, data, len);
	return len;
}

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
}

static void scrape_all(struct scrape *s, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_init_once);
	CURLM *m = curl_multi_init();
	if (!m)
		return;
	for (size_t i = 0; i < n; i++) {
		s[i].c = curl_easy_init();
		if (!s[i].c)
			continue;
		curl_easy_setopt(s[i].c, CURLOPT_URL, s[i].url);
		curl_easy_setopt(s[i].c, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(s[i].c, CURLOPT_WRITEDATA, &s[i].body);
		curl_easy_setopt(s[i].c, CURLOPT_TIMEOUT_MS, (long)METRICSAPI_TIMEOUT_MS);
		curl_easy_setopt(s[i].c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(s[i].c, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(s[i].c, CURLOPT_PRIVATE, &s[i]);
		curl_multi_add_handle(m, s[i].c);
	}
	int running = 1;
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			char *priv = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			struct scrape *sc = (struct scrape *)priv;
			long code = 0;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			if (msg->msg == CURLMSG_DONE && sc)
				sc->ok = msg->data.result == CURLE_OK && code == 200;
		}
		if (running && curl_multi_poll(m, NULL, 0, 200, NULL) != CURLM_OK)
			break;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i].c)
			curl_multi_remove_handle(m, s[i].c);
	curl_multi_cleanup(m);
}

/* Scrapes every registered node and converts. */
static void collect(struct store *st, json_t *nodes, json_t *pods)
{
	struct store_list l = {0};
	if (store_list(st, "/registry/minions/", NULL, 0, 0, &l, NULL) < 0)
		return;
	struct scrape *s = xcalloc(l.n ? l.n : 1, sizeof(*s));
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++) {
		cleanup_json json_t *node = json_loads(l.items[i].value, 0, NULL);
		char *host = NULL;
		int port = 0;
		if (!node || nodeproxy_kubelet_addr(node, &host, &port, NULL) < 0)
			continue;
		s[n].url = strchr(host, ':') ? xasprintf("http://[%s]:%d/stats/summary", host, port)
					     : xasprintf("http://%s:%d/stats/summary", host, port);
		s[n].body = (struct buf)BUF_INIT;
		free(host);
		n++;
	}
	store_list_free(&l);
	scrape_all(s, n);
	for (size_t i = 0; i < n; i++) {
		if (s[i].ok) {
			cleanup_json json_t *sum =
				json_loadb(s[i].body.data, s[i].body.len, 0, NULL);
			if (sum)
				metricsapi_from_summary(sum, nodes, pods);
		}
		if (s[i].c)
			curl_easy_cleanup(s[i].c);
		buf_free(&s[i].body);
		free(s[i].url);
	}
	free(s);
}

json_t *metricsapi_nodes(struct store *st)
{
	json_t *nodes = json_array();
	collect(st, nodes, NULL);
	return nodes;
}

json_t *metricsapi_pods(struct store *st)
{
	json_t *pods = json_array();
	collect(st, NULL, pods);
	return pods;
}
