/* Service health check node ports (see the header). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
			w[*n] = (struct svchealth_want){.ns = it->p->ns, .name = it->p->name,
							.port = it->p->hc_node_port};
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

/* ---- listeners ---- */

struct hc_service {
	struct svchealth *owner;
	char *ns, *name;
	int port;
	atomic_size_t local_ready; /* written by the sync thread, read by HTTP threads */
	struct MHD_Daemon **daemons; /* one per address */
	size_t n_daemons;
};

struct svchealth {
	char **ips;
	size_t n_ips;
	bool (*healthy)(void *arg);
	void *arg;
	struct hc_service **svcs; /* sorted by namespace and name */
	size_t n_svcs;
};

/* Stack of each listener's thread: it only parses requests and renders a
 * few hundred bytes. */
#define HC_THREAD_STACK (256 * 1024)

static enum MHD_Result hc_answer(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	struct hc_service *s = cls;
	/* any method and path gets the answer; a request body is read and
	 * ignored, so the answer goes out once it has all arrived */
	if (!*con_cls) {
		*con_cls = s;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	bool healthy = s->owner->healthy ? s->owner->healthy(s->owner->arg) : true;
	struct buf b = BUF_INIT;
	unsigned code = svchealth_render(s->ns, s->name, atomic_load(&s->local_ready), healthy, &b);
	struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* A listening socket on ip:port, or -1 with errno set. Made here rather than
 * by the HTTP library so that the reason of a failure can be told. */
static int listen_on(const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void service_free(struct hc_service *s)
{
	for (size_t i = 0; i < s->n_daemons; i++)
		MHD_stop_daemon(s->daemons[i]); /* joins its thread, closes its socket */
	free(s->daemons);
	free(s->ns);
	free(s->name);
	free(s);
}

static struct hc_service *service_open(struct svchealth *h, const struct svchealth_want *w)
{
	struct hc_service *s = xcalloc(1, sizeof(*s));
	s->owner = h;
	s->ns = xstrdup(w->ns);
	s->name = xstrdup(w->name);
	s->port = w->port;
	atomic_init(&s->local_ready, w->local_ready);
	s->daemons = h->n_ips ? xcalloc(h->n_ips, sizeof(*s->daemons)) : NULL;
	for (size_t i = 0; i < h->n_ips; i++) {
		int fd = listen_on(h->ips[i], w->port);
		const char *why = fd < 0 ? strerror(errno) : NULL;
		struct MHD_Daemon *d = NULL;
		if (fd >= 0) {
			d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
					     (uint16_t)w->port, NULL, NULL, hc_answer, s,
					     MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_STACK_SIZE,
					     (size_t)HC_THREAD_STACK, MHD_OPTION_END);
			/* on failure the library may already have closed fd:
			 * not closing it again risks a leak, not another's fd */
			if (!d)
				why = "cannot start the HTTP server";
		}
		if (!d) {
			log_error("Failed to start healthcheck service=\"%s/%s\" port=%d address=%s: %s",
				  w->ns, w->name, w->port, h->ips[i], why);
			service_free(s);
			return NULL;
		}
		s->daemons[s->n_daemons++] = d;
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

	/* close first, so that a port moving from one Service to another is free */
	size_t kept = 0;
	for (size_t i = 0, j = 0; i < h->n_svcs; i++) {
		struct hc_service *s = h->svcs[i];
		while (j < n_want && service_want_cmp(s, &want[j]) > 0)
			j++;
		if (j < n_want && !service_want_cmp(s, &want[j]) && want[j].port == s->port) {
			h->svcs[kept++] = s;
			continue;
		}
		log_v(2, "Closing healthcheck service=\"%s/%s\" port=%d", s->ns, s->name, s->port);
		service_free(s);
	}
	h->n_svcs = kept;

	struct hc_service **next = n_want ? xcalloc(n_want, sizeof(*next)) : NULL;
	size_t n_next = 0;
	for (size_t i = 0, j = 0; j < n_want; j++) {
		struct hc_service *s = i < kept && !service_want_cmp(h->svcs[i], &want[j])
					       ? h->svcs[i++]
					       : NULL;
		if (s) {
			atomic_store(&s->local_ready, want[j].local_ready);
		} else {
			log_v(2, "Opening healthcheck service=\"%s/%s\" port=%d", want[j].ns,
			      want[j].name, want[j].port);
			s = service_open(h, &want[j]);
		}
		if (s)
			next[n_next++] = s;
	}
	free(h->svcs);
	h->svcs = next;
	h->n_svcs = n_next;
	if (!n_next) {
		free(next);
		h->svcs = NULL;
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
		service_free(h->svcs[i]);
	}
	free(h->svcs);
	for (size_t i = 0; i < h->n_ips; i++)
		free(h->ips[i]);
	free(h->ips);
	free(h);
}
