/* componentstatuses: upstream's probes (see the header). */
#include "componentstatus.h"

#include <curl/curl.h>
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

/* As upstream: https to the secure ports, certificates not checked (the
 * components' own are usually self-signed). */
static const struct {
	const char *name, *url;
} components[] = {
	{"scheduler", "https://127.0.0.1:10259/healthz"},
	{"controller-manager", "https://127.0.0.1:10257/healthz"},
};
#define NCOMPONENTS (sizeof(components) / sizeof(components[0]))

/* upstream's prober reads at most this much of an answer */
#define MAX_BODY (10 * 1024)

struct probe {
	const char *url;
	CURL *c;
	struct buf body;
	CURLcode result;
	bool done;
};

static size_t sink(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;
	if (b->len < MAX_BODY)
		buf_append(b, data, len < MAX_BODY - b->len ? len : MAX_BODY - b->len);
	return len;
}

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
}

/* Runs the probes at once with one curl multi handle. */
static void probes_run(struct probe *p, size_t n, long timeout_ms)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_init_once);
	CURLM *m = curl_multi_init();
	for (size_t i = 0; i < n; i++) {
		p[i].c = curl_easy_init();
		p[i].result = CURLE_FAILED_INIT;
		if (!m || !p[i].c)
			continue;
		curl_easy_setopt(p[i].c, CURLOPT_URL, p[i].url);
		curl_easy_setopt(p[i].c, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(p[i].c, CURLOPT_WRITEDATA, &p[i].body);
		curl_easy_setopt(p[i].c, CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(p[i].c, CURLOPT_NOSIGNAL, 1L);
		/* as upstream's prober: no proxy, no keep-alive, redirects followed */
		curl_easy_setopt(p[i].c, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(p[i].c, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(p[i].c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(p[i].c, CURLOPT_MAXREDIRS, 10L);
		curl_easy_setopt(p[i].c, CURLOPT_USERAGENT, "kube-probe/1.32");
		curl_easy_setopt(p[i].c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(p[i].c, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(p[i].c, CURLOPT_PRIVATE, &p[i]);
		if (curl_multi_add_handle(m, p[i].c) != CURLM_OK)
			continue;
	}
	int running = m ? 1 : 0;
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			char *priv = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			struct probe *pr = (struct probe *)priv;
			if (msg->msg == CURLMSG_DONE && pr) {
				pr->result = msg->data.result;
				pr->done = true;
			}
		}
		if (running && curl_multi_poll(m, NULL, 0, 200, NULL) != CURLM_OK)
			break;
	}
	for (size_t i = 0; i < n; i++)
		if (m && p[i].c)
			curl_multi_remove_handle(m, p[i].c);
	curl_multi_cleanup(m);
}

/* Go's net/http error text for what curl reports. */
static char *probe_error(const struct probe *p)
{
	long os_errno = 0;
	curl_easy_getinfo(p->c, CURLINFO_OS_ERRNO, &os_errno);
	const char *host = strstr(p->url, "://");
	host = host ? host + 3 : p->url;
	size_t hlen = strcspn(host, "/");
	switch (p->result) {
	case CURLE_COULDNT_CONNECT:
		if (os_errno) {
			/* "connection refused", as Go words syscall errors */
			cleanup_free char *why = xstrdup(strerror((int)os_errno));
			why[0] = (char)tolower((unsigned char)why[0]);
			return xasprintf("Get \"%s\": dial tcp %.*s: connect: %s", p->url,
					 (int)hlen, host, why);
		}
		break;
	case CURLE_OPERATION_TIMEDOUT:
		return xasprintf("Get \"%s\": context deadline exceeded (Client.Timeout exceeded "
				 "while awaiting headers)",
				 p->url);
	case CURLE_GOT_NOTHING:
		return xasprintf("Get \"%s\": EOF", p->url);
	default:
		break;
	}
	return xasprintf("Get \"%s\": %s", p->url, curl_easy_strerror(p->result));
}

static json_t *condition(bool healthy, const char *message, const char *error)
{
	json_t *c = json_pack("{s:s,s:s}", "type", "Healthy", "status", healthy ? "True" : "False");
	/* both are omitempty upstream */
	if (message && *message)
		json_object_set_new(c, "message", json_string(message));
	if (error && *error)
		json_object_set_new(c, "error", json_string(error));
	return c;
}

static json_t *probe_condition(struct probe *p)
{
	if (!p->done || p->result != CURLE_OK) {
		cleanup_free char *msg = probe_error(p);
		return condition(false, msg, NULL);
	}
	long code = 0;
	curl_easy_getinfo(p->c, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 400)
		return condition(true, buf_str(&p->body), NULL);
	/* the body stays out of the message, as upstream (issue 99425) */
	cleanup_free char *msg = xasprintf("HTTP probe failed with statuscode: %ld", code);
	return condition(false, msg, NULL);
}

static void probe_free(struct probe *p)
{
	curl_easy_cleanup(p->c);
	buf_free(&p->body);
}

json_t *componentstatus_probe_http(const char *url, long timeout_ms)
{
	struct probe p = {.url = url};
	probes_run(&p, 1, timeout_ms);
	json_t *c = probe_condition(&p);
	probe_free(&p);
	return c;
}

/* etcd-0: one read through the store, as upstream's etcd prober does one
 * Get; a key that is not there is a healthy answer. */
static json_t *store_condition(struct store *st)
{
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_get(st, "/registry/health", &kv, &err) < 0 && mk_err_code(err) != MK_ENOTFOUND)
		return condition(false, NULL, mk_err_msg(err));
	store_kv_free(&kv);
	return condition(true, "ok", NULL);
}

static json_t *component_status(const char *name, json_t *cond)
{
	return json_pack("{s:s,s:s,s:{s:s,s:n},s:[o]}", "kind", "ComponentStatus", "apiVersion",
			 "v1", "metadata", "name", name, "creationTimestamp", "conditions", cond);
}

json_t *componentstatus_list(struct store *st)
{
	struct probe p[NCOMPONENTS] = {0};
	for (size_t i = 0; i < NCOMPONENTS; i++)
		p[i].url = components[i].url;
	probes_run(p, NCOMPONENTS, COMPONENTSTATUS_TIMEOUT_MS);
	json_t *items = json_array();
	for (size_t i = 0; i < NCOMPONENTS; i++) {
		json_array_append_new(items,
				      component_status(components[i].name, probe_condition(&p[i])));
		probe_free(&p[i]);
	}
	json_array_append_new(items, component_status("etcd-0", store_condition(st)));
	return items;
}
