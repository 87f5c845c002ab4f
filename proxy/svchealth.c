/* Service health check node ports (see the header). */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "httpd.h"
#include "log.h"
#include "svchealth.h"
#include "xalloc.h"

/* ---- what the model asks for ---- */

/* One ready local endpoint of a health-checked Service, or (ep NULL) just the
 * Service, so that Services without any are listed too. */
struct hc_item {
	const struct proxy_svc_port *p;
	const char *ep;
};

static int svc_cmp(const struct proxy_svc_port *a, const struct proxy_svc_port *b)
{
	int c = strcmp(a->ns, b->ns);
	return c ? c : strcmp(a->name, b->name);
}

static int item_cmp(const void *a, const void *b)
{
	const struct hc_item *x = a, *y = b;
	int c = svc_cmp(x->p, y->p);
	if (c)
		return c;
	if (!x->ep || !y->ep)
		return (x->ep != NULL) - (y->ep != NULL);
	return strcmp(x->ep, y->ep);
}

struct svchealth_want *svchealth_collect(const struct proxy_model *m, size_t *n)
{
	*n = 0;
	size_t n_items = 0, cap = 0;
	struct hc_item *items = NULL;
	for (size_t i = 0; m && i < m->n; i++) {
		const struct proxy_svc_port *p = &m->ports[i];
		if (!p->hc_node_port)
			continue;
		for (size_t j = 0; j <= p->n_eps; j++) {
			/* local_eps falls back to serving-terminating endpoints;
			 * the health check counts ready ones only */
			if (j < p->n_eps && !(p->eps[j].ready && p->eps[j].local))
				continue;
			if (n_items == cap) {
				cap = cap ? cap * 2 : 16;
				items = xrealloc(items, cap * sizeof(*items));
			}
			items[n_items++] = (struct hc_item){p, j < p->n_eps ? p->eps[j].str : NULL};
		}
	}
	if (!n_items)
		return NULL;
	qsort(items, n_items, sizeof(*items), item_cmp);
	struct svchealth_want *w = xcalloc(n_items, sizeof(*w));
	for (size_t i = 0; i < n_items; i++) {
		const struct hc_item *it = &items[i];
		if (i == 0 || svc_cmp(items[i - 1].p, it->p)) {
			w[*n] = (struct svchealth_want){
				.ns = it->p->ns, .name = it->p->name, .port = it->p->hc_node_port};
			(*n)++;
		}
		/* the same endpoint behind several ports counts once */
		if (it->ep && !(i > 0 && items[i - 1].ep && !svc_cmp(items[i - 1].p, it->p) &&
				!strcmp(items[i - 1].ep, it->ep)))
			w[*n - 1].local_ready++;
	}
	free(items);
	return w;
}

static void append_quoted(struct buf *b, const char *s)
{
	json_t *v = json_string(s);
	char *q = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
	buf_append_str(b, q ? q : "\"\"");
	free(q);
	json_decref(v);
}

unsigned svchealth_render(const char *ns, const char *name, size_t local_ready, bool healthy,
			  struct buf *body)
{
	buf_append_str(body, "{\n\t\"service\": {\n\t\t\"namespace\": ");
	append_quoted(body, ns);
	buf_append_str(body, ",\n\t\t\"name\": ");
	append_quoted(body, name);
	buf_printf(body, "\n\t},\n\t\"localEndpoints\": %zu,\n\t\"serviceProxyHealthy\": %s\n}",
		   local_ready, healthy ? "true" : "false");
	return local_ready && healthy ? 200 : 503;
}

/* ---- listeners ----
 *
 * Every listener belongs to one HTTP server, whatever the number of
 * Services: two threads (one accepting on every listening socket, one
 * serving), started with the first Service and stopped with the last. The
 * request handler finds the Service by the connection's local port. */

struct hc_service {
	char *ns, *name;
	int port;
	size_t local_ready;
	struct httpd_listener **ls; /* one per address */
	size_t n_ls;
};

struct svchealth {
	char **ips;
	size_t n_ips;
	bool (*healthy)(void *arg);
	void *arg;

	/* mu guards what the HTTP thread reads: svcs (changed only by the
	 * caller of svchealth_sync) and their counts */
	pthread_mutex_t mu;
	struct hc_service **svcs; /* sorted by namespace and name */
	size_t n_svcs;
	struct httpd *http; /* present while svcs is not empty */
};

/* The threads only parse requests and render a few hundred bytes. */
#define HC_THREAD_STACK (256 * 1024)
/* A client that stops sending mid-request does not keep its connection. */
#define HC_IDLE_TIMEOUT_S 60

static void hc_answer(struct httpd_req *rq, void *arg)
{
	struct svchealth *h = arg;
	/* any method and path gets the answer; asked without mu: the proxy's
	 * health takes a lock of its own */
	bool healthy = h->healthy ? h->healthy(h->arg) : true;
	int port = httpd_req_local_port(rq);
	struct buf b = BUF_INIT;
	unsigned code = 0;
	/* rendered under mu so that the Service cannot go away meanwhile */
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n_svcs && !code; i++)
		if (h->svcs[i]->port == port)
			code = svchealth_render(h->svcs[i]->ns, h->svcs[i]->name,
						h->svcs[i]->local_ready, healthy, &b);
	pthread_mutex_unlock(&h->mu);
	if (!code) {
		/* accepted just before its Service went */
		buf_free(&b);
		httpd_reply_text(rq, 503, "text/plain; charset=utf-8", "no service on this port\n");
		return;
	}
	httpd_reply_header(rq, "X-Content-Type-Options", "nosniff");
	size_t len = b.len;
	httpd_reply_raw(rq, (int)code, "application/json", buf_steal(&b), len);
}

static bool server_start(struct svchealth *h)
{
	struct httpd_config cfg = {
		.name = "healthcheck",
		.threads = 1,
		.thread_stack = HC_THREAD_STACK,
		.idle_timeout_s = HC_IDLE_TIMEOUT_S,
		.fallback = hc_answer,
		.fallback_arg = h,
	};
	cleanup_err struct mk_err *err = NULL;
	h->http = httpd_new(&cfg, &err);
	if (!h->http)
		log_error("Failed to start healthcheck server: %s", mk_err_msg(err));
	return h->http != NULL;
}

/* Closes the listeners of a Service and frees it. */
static void service_free(struct svchealth *h, struct hc_service *s)
{
	for (size_t i = 0; i < s->n_ls; i++)
		httpd_listener_close(h->http, s->ls[i]);
	free(s->ls);
	free(s->ns);
	free(s->name);
	free(s);
}

/* The Service with its sockets listening, or NULL (logged). */
static struct hc_service *service_open(struct svchealth *h, const struct svchealth_want *w)
{
	struct hc_service *s = xcalloc(1, sizeof(*s));
	s->ns = xstrdup(w->ns);
	s->name = xstrdup(w->name);
	s->port = w->port;
	s->local_ready = w->local_ready;
	s->ls = h->n_ips ? xcalloc(h->n_ips, sizeof(*s->ls)) : NULL;
	for (size_t i = 0; i < h->n_ips; i++) {
		cleanup_err struct mk_err *err = NULL;
		struct httpd_listener *l = httpd_listen(h->http, h->ips[i], w->port, &err);
		if (!l) {
			log_error("Failed to start healthcheck service=\"%s/%s\" port=%d "
				  "address=%s: %s",
				  w->ns, w->name, w->port, h->ips[i], mk_err_msg(err));
			service_free(h, s);
			return NULL;
		}
		s->ls[s->n_ls++] = l;
	}
	return s;
}

struct svchealth *svchealth_new(char *const *ips, size_t n_ips, bool (*healthy)(void *arg),
				void *arg)
{
	struct svchealth *h = xcalloc(1, sizeof(*h));
	h->ips = n_ips ? xcalloc(n_ips, sizeof(*h->ips)) : NULL;
	for (size_t i = 0; i < n_ips; i++)
		h->ips[h->n_ips++] = xstrdup(ips[i]);
	h->healthy = healthy;
	h->arg = arg;
	pthread_mutex_init(&h->mu, NULL);
	return h;
}

static int service_want_cmp(const struct hc_service *s, const struct svchealth_want *w)
{
	int c = strcmp(s->ns, w->ns);
	return c ? c : strcmp(s->name, w->name);
}

void svchealth_sync(struct svchealth *h, const struct proxy_model *m)
{
	size_t n_want = 0;
	struct svchealth_want *want = svchealth_collect(m, &n_want);

	/* Services that go (or move to another port), and those kept */
	struct hc_service **gone = h->n_svcs ? xcalloc(h->n_svcs, sizeof(*gone)) : NULL;
	struct hc_service **kept = h->n_svcs ? xcalloc(h->n_svcs, sizeof(*kept)) : NULL;
	size_t n_gone = 0, n_kept = 0;
	for (size_t i = 0, j = 0; i < h->n_svcs; i++) {
		struct hc_service *s = h->svcs[i];
		while (j < n_want && service_want_cmp(s, &want[j]) > 0)
			j++;
		if (j < n_want && !service_want_cmp(s, &want[j]) && want[j].port == s->port) {
			kept[n_kept++] = s;
		} else {
			log_v(2, "Closing healthcheck service=\"%s/%s\" port=%d", s->ns, s->name,
			      s->port);
			gone[n_gone++] = s;
		}
	}
	/* closed before the new ones open, so that a port moving from one
	 * Service to another is free to bind */
	if (n_gone) {
		pthread_mutex_lock(&h->mu);
		memcpy(h->svcs, kept, n_kept * sizeof(*kept));
		h->n_svcs = n_kept;
		pthread_mutex_unlock(&h->mu);
		for (size_t i = 0; i < n_gone; i++)
			service_free(h, gone[i]);
	}
	free(gone);

	/* sockets are opened without mu; the server sees the new set at once */
	struct hc_service **next = n_want ? xcalloc(n_want, sizeof(*next)) : NULL;
	size_t n_next = 0;
	bool started = n_want && (h->http || server_start(h));
	for (size_t i = 0, j = 0; j < n_want; j++) {
		struct hc_service *s =
			i < n_kept && !service_want_cmp(kept[i], &want[j]) ? kept[i++] : NULL;
		if (!s && started) {
			log_v(2, "Opening healthcheck service=\"%s/%s\" port=%d", want[j].ns,
			      want[j].name, want[j].port);
			/* tried again on the next sync if it fails */
			s = service_open(h, &want[j]);
		}
		if (s)
			next[n_next++] = s;
	}
	free(kept);
	pthread_mutex_lock(&h->mu);
	free(h->svcs);
	h->svcs = n_next ? next : NULL;
	h->n_svcs = n_next;
	if (!n_next)
		free(next);
	for (size_t i = 0, j = 0; i < n_next; i++) {
		while (service_want_cmp(next[i], &want[j]))
			j++;
		next[i]->local_ready = want[j].local_ready;
	}
	pthread_mutex_unlock(&h->mu);
	if (!n_next) {
		httpd_free(h->http);
		h->http = NULL;
	}
	free(want);
}

size_t svchealth_count(const struct svchealth *h)
{
	return h ? h->n_svcs : 0;
}

void svchealth_free(struct svchealth *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_svcs; i++) {
		log_v(2, "Closing healthcheck service=\"%s/%s\" port=%d", h->svcs[i]->ns,
		      h->svcs[i]->name, h->svcs[i]->port);
		service_free(h, h->svcs[i]);
	}
	free(h->svcs);
	httpd_free(h->http);
	for (size_t i = 0; i < h->n_ips; i++)
		free(h->ips[i]);
	free(h->ips);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
