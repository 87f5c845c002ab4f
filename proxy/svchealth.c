/* Service health check node ports (see the header). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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
 * Every listener shares two threads, whatever the number of Services: an
 * acceptor polling all listening sockets, which hands each connection to
 * one HTTP server without a socket of its own. The request handler finds
 * the Service by the connection's local port. */

struct hc_service {
	char *ns, *name;
	int port;
	size_t local_ready;
	int *fds; /* listening, one per address */
	size_t n_fds;
};

struct svchealth {
	char **ips;
	size_t n_ips;
	bool (*healthy)(void *arg);
	void *arg;

	/* mu guards what the threads read: svcs (changed only by the caller of
	 * svchealth_sync), the counts, gen/seen_gen and stop */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hc_service **svcs; /* sorted by namespace and name */
	size_t n_svcs;
	uint64_t gen, seen_gen; /* listener set changes, and the last the acceptor polls */
	bool stop;

	/* present while svcs is not empty */
	bool running;
	struct MHD_Daemon *http;
	pthread_t acceptor;
	int wake_fd; /* eventfd: the listener set changed, or stop */
};

/* The threads only parse requests and render a few hundred bytes. */
#define HC_THREAD_STACK (256 * 1024)

/* The Service served on the connection's local port, rendered under mu so
 * that it cannot go away meanwhile; 0 if there is none (any more). */
static unsigned render_for(struct svchealth *h, struct MHD_Connection *conn, bool healthy,
			   struct buf *b)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&sa, &len) < 0 ||
	    sa.sin_family != AF_INET)
		return 0;
	int port = ntohs(sa.sin_port);
	unsigned code = 0;
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n_svcs && !code; i++)
		if (h->svcs[i]->port == port)
			code = svchealth_render(h->svcs[i]->ns, h->svcs[i]->name,
						h->svcs[i]->local_ready, healthy, b);
	pthread_mutex_unlock(&h->mu);
	return code;
}

static enum MHD_Result hc_answer(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	struct svchealth *h = cls;
	/* any method and path gets the answer; a request body is read and
	 * ignored, so the answer goes out once it has all arrived */
	if (!*con_cls) {
		*con_cls = h;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	/* asked without mu: the proxy's health takes a lock of its own */
	bool healthy = h->healthy ? h->healthy(h->arg) : true;
	struct buf b = BUF_INIT;
	unsigned code = render_for(h, conn, healthy, &b);
	if (!code) {
		buf_free(&b);
		return MHD_NO;
	}
	struct MHD_Response *r =
		MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static void *acceptor_run(void *arg)
{
	struct svchealth *h = arg;
	struct pollfd *pfds = NULL;
	size_t cap = 0;
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		size_t n = 1;
		for (size_t i = 0; i < h->n_svcs; i++)
			n += h->svcs[i]->n_fds;
		if (n > cap) {
			cap = n;
			pfds = xrealloc(pfds, cap * sizeof(*pfds));
		}
		pfds[0] = (struct pollfd){.fd = h->wake_fd, .events = POLLIN};
		n = 1;
		for (size_t i = 0; i < h->n_svcs; i++)
			for (size_t j = 0; j < h->svcs[i]->n_fds; j++)
				pfds[n++] =
					(struct pollfd){.fd = h->svcs[i]->fds[j], .events = POLLIN};
		/* from here on sockets left out of pfds may be closed */
		h->seen_gen = h->gen;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);

		if (poll(pfds, n, -1) < 0 && errno != EINTR)
			log_error("Health check listeners: poll: %s", strerror(errno));
		uint64_t v;
		if (pfds[0].revents && read(h->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_error("Health check listeners: wake-up: %s", strerror(errno));
		for (size_t i = 1; i < n; i++) {
			if (!pfds[i].revents)
				continue;
			struct sockaddr_storage sa;
			socklen_t len = sizeof(sa);
			int c = accept4(pfds[i].fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
			/* the server owns c from here, even when it refuses it */
			if (c >= 0)
				MHD_add_connection(h->http, c, (struct sockaddr *)&sa, len);
		}
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	free(pfds);
	return NULL;
}

static void wake(struct svchealth *h)
{
	uint64_t one = 1;
	if (write(h->wake_fd, &one, sizeof(one)) < 0)
		log_error("Health check listeners: wake-up: %s", strerror(errno));
}

static bool threads_start(struct svchealth *h)
{
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0) {
		log_error("Failed to start healthcheck server: eventfd: %s", strerror(errno));
		return false;
	}
	/* epoll (AUTO): with many listeners, connections get descriptors
	 * beyond select()'s reach */
	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_NO_LISTEN_SOCKET |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	h->http = MHD_start_daemon(flags, 0, NULL, NULL, hc_answer, h, MHD_OPTION_THREAD_STACK_SIZE,
				   (size_t)HC_THREAD_STACK, MHD_OPTION_END);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HC_THREAD_STACK);
	h->stop = false;
	if (!h->http || pthread_create(&h->acceptor, &attr, acceptor_run, h) != 0) {
		log_error("Failed to start healthcheck server");
		if (h->http)
			MHD_stop_daemon(h->http);
		h->http = NULL;
		close(h->wake_fd);
		h->wake_fd = -1;
		pthread_attr_destroy(&attr);
		return false;
	}
	pthread_attr_destroy(&attr);
	h->running = true;
	return true;
}

static void threads_stop(struct svchealth *h)
{
	if (!h->running)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_mutex_unlock(&h->mu);
	wake(h);
	pthread_join(h->acceptor, NULL);
	MHD_stop_daemon(h->http); /* closes the connections it has */
	h->http = NULL;
	close(h->wake_fd);
	h->wake_fd = -1;
	h->running = false;
}

/* A listening socket on ip:port, or -1 with errno set. */
static int listen_on(const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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

/* Closes the sockets of a Service the acceptor no longer polls. */
static void service_free(struct hc_service *s)
{
	for (size_t i = 0; i < s->n_fds; i++)
		close(s->fds[i]);
	free(s->fds);
	free(s->ns);
	free(s->name);
	free(s);
}

/* The Service with its sockets bound, or NULL (logged). */
static struct hc_service *service_open(struct svchealth *h, const struct svchealth_want *w)
{
	struct hc_service *s = xcalloc(1, sizeof(*s));
	s->ns = xstrdup(w->ns);
	s->name = xstrdup(w->name);
	s->port = w->port;
	s->local_ready = w->local_ready;
	s->fds = h->n_ips ? xcalloc(h->n_ips, sizeof(*s->fds)) : NULL;
	for (size_t i = 0; i < h->n_ips; i++) {
		int fd = listen_on(h->ips[i], w->port);
		if (fd < 0) {
			log_error("Failed to start healthcheck service=\"%s/%s\" port=%d "
				  "address=%s: %s",
				  w->ns, w->name, w->port, h->ips[i], strerror(errno));
			service_free(s);
			return NULL;
		}
		s->fds[s->n_fds++] = fd;
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
	pthread_cond_init(&h->cv, NULL);
	h->wake_fd = -1;
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
	/* the acceptor lets go of them before they are closed, so that a port
	 * moving from one Service to another is free to bind */
	if (n_gone) {
		pthread_mutex_lock(&h->mu);
		memcpy(h->svcs, kept, n_kept * sizeof(*kept));
		h->n_svcs = n_kept;
		h->gen++;
		pthread_mutex_unlock(&h->mu);
		if (h->running) {
			wake(h);
			pthread_mutex_lock(&h->mu);
			while (h->seen_gen < h->gen)
				pthread_cond_wait(&h->cv, &h->mu);
			pthread_mutex_unlock(&h->mu);
		}
		for (size_t i = 0; i < n_gone; i++)
			service_free(gone[i]);
	}
	free(gone);

	/* sockets are bound without mu; the threads see the new set at once */
	struct hc_service **next = n_want ? xcalloc(n_want, sizeof(*next)) : NULL;
	size_t n_next = 0;
	bool added = false;
	for (size_t i = 0, j = 0; j < n_want; j++) {
		struct hc_service *s =
			i < n_kept && !service_want_cmp(kept[i], &want[j]) ? kept[i++] : NULL;
		if (!s) {
			log_v(2, "Opening healthcheck service=\"%s/%s\" port=%d", want[j].ns,
			      want[j].name, want[j].port);
			s = service_open(h, &want[j]);
			added |= s != NULL;
		}
		if (s)
			next[n_next++] = s;
	}
	free(kept);
	if (n_next && !h->running && !threads_start(h)) {
		/* tried again on the next sync */
		for (size_t i = 0; i < n_next; i++)
			service_free(next[i]);
		n_next = 0;
		added = false;
	}
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
	h->gen += added;
	pthread_mutex_unlock(&h->mu);
	if (added)
		wake(h);
	if (!n_next)
		threads_stop(h);
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
	threads_stop(h);
	for (size_t i = 0; i < h->n_svcs; i++) {
		log_v(2, "Closing healthcheck service=\"%s/%s\" port=%d", h->svcs[i]->ns,
		      h->svcs[i]->name, h->svcs[i]->port);
		service_free(h->svcs[i]);
	}
	free(h->svcs);
	for (size_t i = 0; i < h->n_ips; i++)
		free(h->ips[i]);
	free(h->ips);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
