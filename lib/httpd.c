/* HTTP serving on libmicrohttpd (see the header).
 *
 * One MHD daemon per server, without a listening socket of its own: one
 * acceptor thread polls every listener of the server and hands each new
 * connection to the daemon (MHD_add_connection), whose pool threads then
 * parse, call the handlers and write. That is how listeners come and go at
 * run time while sharing the pool's threads.
 *
 * A request lives from the request line (MHD's URI log callback, which also
 * sees the raw path: MHD's own decoding would cut a path at a %00) to the
 * completion callback, or to the end of its stream if that comes later. */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

#define DEFAULT_THREADS		2
#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_MAX_BODY	(3u * 1024 * 1024)
/* Per connection: request line and headers, and the write buffer of an
 * answer (a stream's chunks are cut to what is left of it). */
#define CONNECTION_MEMORY (128 * 1024)
/* Bytes a stream's reader is asked for at most per call. */
#define STREAM_BLOCK (32 * 1024)
/* How long httpd_free lets resumed streams finish. */
#define STOP_GRACE_S 2
/* Connections taken from one ready listener before the others get a turn. */
#define ACCEPT_BATCH 64

struct route {
	char *method; /* NULL: any */
	char *path;
	bool prefix;
	httpd_handler_fn fn;
	void *arg;
};

struct httpd_listener {
	int fd;
	int port;
	struct httpd_listener *next;
};

struct reply_header {
	char *name, *value;
};

struct httpd_req {
	struct httpd *h;
	struct MHD_Connection *conn;
	const char *method; /* MHD's, until the completion callback returned */
	char *path;	    /* decoded, owned */
	bool bad_path;	    /* the decoded path holds a NUL byte */
	bool started;	    /* the access handler saw it */
	bool too_large;
	bool replied;	/* an answer was given (maybe not queued) */
	bool completed; /* MHD is done with it; freed once its stream is too */
	int code;	/* of the answer queued; 0: none */
	long long start_ns;
	struct buf body;
	struct reply_header *hdrs;
	size_t n_hdrs;
	char *peer;
	int local_port;
	void *data;
	struct httpd_stream *stream;	/* until its free function ran */
	struct httpd_upgraded *upgrade; /* until the socket was handed over */
};

struct httpd_stream {
	struct httpd *h;
	struct httpd_req *rq;
	struct MHD_Connection *conn;
	httpd_stream_read_fn read;
	void (*read_free)(void *arg);
	void *arg;
	/* mu orders parking against resuming: the connection is suspended
	 * under it, and resumed under it only when it was parked */
	pthread_mutex_t mu;
	bool parked;
	bool woken;			  /* a resume came since the reader was last called */
	struct httpd_stream *prev, *next; /* h->streams, under h->mu */
};

struct httpd_upgraded {
	struct httpd *h;
	struct MHD_UpgradeResponseHandle *urh;
	httpd_upgrade_fn fn;
	void *arg;
	int fd;
	bool pending;			    /* counted in h->pending_upgrades */
	bool shut;			    /* shut down by httpd_free */
	struct httpd_upgraded *prev, *next; /* h->upgraded, under h->mu */
	/* TLS only: a thread that watches the client's TCP socket for a
	 * hang-up (see watch_hangup) and the eventfd that stops it */
	bool watching;
	pthread_t watcher;
	int tcp_fd, stop_fd;
};

struct httpd {
	char *name;
	struct httpd_config cfg; /* name points to the copy above */
	struct route *routes;
	size_t n_routes;
	struct MHD_Daemon *mhd;
	char *tls_cert, *tls_key, *tls_trust, *tls_prio; /* PEM and priorities MHD uses */

	/* mu guards the listener list, the acceptor's generations and stop
	 * flag, the stream and upgraded lists */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct httpd_listener *listeners;
	uint64_t gen, seen_gen; /* listener set changes; the last the acceptor polls */
	bool acc_stop;
	bool acc_running;
	pthread_t acceptor;
	int wake_fd;
	struct httpd_stream *streams;
	struct httpd_upgraded *upgraded;
	/* 101 answers queued whose sockets were not handed over yet (nor
	 * given up): httpd_free waits for them too, or MHD would close a
	 * socket a callee is about to own */
	unsigned pending_upgrades;
	bool stopping; /* also read without mu, atomically */
};

/* ---- the request ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The path part of a request target, percent-decoded; *nul set when a
 * decoded byte is NUL. Malformed escapes stay as they are, as MHD leaves
 * them. New string. */
static char *decode_path(const char *uri, bool *nul)
{
	size_t n = strcspn(uri, "?");
	char *out = xmalloc(n + 1);
	size_t o = 0;
	*nul = false;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (uri[i] == '%' && i + 2 < n && (hi = hexval(uri[i + 1])) >= 0 &&
		    (lo = hexval(uri[i + 2])) >= 0) {
			char c = (char)(hi << 4 | lo);
			if (!c)
				*nul = true;
			out[o++] = c;
			i += 2;
		} else {
			out[o++] = uri[i];
		}
	}
	out[o] = '\0';
	return out;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct httpd_req *rq = xcalloc(1, sizeof(*rq));
	rq->h = cls;
	rq->conn = conn;
	rq->start_ns = time_mono_ns();
	rq->path = decode_path(uri ? uri : "", &rq->bad_path);
	rq->local_port = -1;
	return rq;
}

static void upgrade_settled(struct httpd *h)
{
	pthread_mutex_lock(&h->mu);
	h->pending_upgrades--;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
}

static void req_free(struct httpd_req *rq)
{
	if (rq->upgrade && rq->upgrade->pending)
		upgrade_settled(rq->h);
	buf_free(&rq->body);
	for (size_t i = 0; i < rq->n_hdrs; i++) {
		free(rq->hdrs[i].name);
		free(rq->hdrs[i].value);
	}
	free(rq->hdrs);
	free(rq->peer);
	free(rq->path);
	free(rq->upgrade); /* an upgrade answered but never carried out */
	free(rq);
}

/* The request is over for MHD and for its stream. */
static void req_finish(struct httpd_req *rq)
{
	struct httpd *h = rq->h;
	if (rq->started && h->cfg.done)
		h->cfg.done(rq, rq->code, (double)(time_mono_ns() - rq->start_ns) / 1e9,
			    h->cfg.done_arg);
	req_free(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct httpd_req *rq = *con_cls;
	*con_cls = NULL;
	if (!rq)
		return;
	rq->completed = true;
	/* MHD destroys a stream's answer right after this call */
	if (!rq->stream)
		req_finish(rq);
}

const char *httpd_req_method(const struct httpd_req *rq)
{
	return rq->method ? rq->method : "";
}

const char *httpd_req_path(const struct httpd_req *rq)
{
	return rq->path;
}

const char *httpd_req_query(const struct httpd_req *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct query_iter {
	void (*fn)(const char *key, const char *value, void *arg);
	void *arg;
};

static enum MHD_Result query_iter_one(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	(void)kind;
	struct query_iter *it = cls;
	it->fn(key, value, it->arg);
	return MHD_YES;
}

void httpd_req_query_each(const struct httpd_req *rq,
			  void (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	struct query_iter it = {.fn = fn, .arg = arg};
	MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, query_iter_one, &it);
}

const char *httpd_req_header(const struct httpd_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

struct header_list {
	const char *name;
	struct buf b;
};

static enum MHD_Result header_list_one(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	(void)kind;
	struct header_list *l = cls;
	if (key && value && strcasecmp(key, l->name) == 0) {
		if (l->b.len)
			buf_append_str(&l->b, ", ");
		buf_append_str(&l->b, value);
	}
	return MHD_YES;
}

char *httpd_req_header_list(const struct httpd_req *rq, const char *name)
{
	struct header_list l = {.name = name, .b = BUF_INIT};
	MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, header_list_one, &l);
	if (!l.b.len) {
		buf_free(&l.b);
		return NULL;
	}
	return buf_steal(&l.b);
}

struct header_each {
	void (*fn)(const char *name, const char *value, void *arg);
	void *arg;
};

static enum MHD_Result header_each_one(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	(void)kind;
	struct header_each *e = cls;
	if (key && value)
		e->fn(key, value, e->arg);
	return MHD_YES;
}

void httpd_req_header_each(const struct httpd_req *rq,
			   void (*fn)(const char *name, const char *value, void *arg), void *arg)
{
	struct header_each e = {.fn = fn, .arg = arg};
	MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, header_each_one, &e);
}

const char *httpd_req_body(const struct httpd_req *rq, size_t *len)
{
	if (len)
		*len = rq->body.len;
	return buf_str(&rq->body);
}

const char *httpd_req_peer(const struct httpd_req *rq)
{
	struct httpd_req *w = (struct httpd_req *)rq; /* filled on first use */
	if (w->peer)
		return w->peer;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char text[INET6_ADDRSTRLEN] = "";
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET) {
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text,
				  sizeof(text));
		} else if (sa->sa_family == AF_INET6) {
			const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
			/* a v4 client of a dual-stack listener shows as such */
			if (IN6_IS_ADDR_V4MAPPED(a))
				inet_ntop(AF_INET, &a->s6_addr[12], text, sizeof(text));
			else
				inet_ntop(AF_INET6, a, text, sizeof(text));
		}
	}
	w->peer = xstrdup(text);
	return w->peer;
}

int httpd_req_fd(const struct httpd_req *rq)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	return ci ? ci->connect_fd : -1;
}

static char *x509_dn_part(gnutls_x509_crt_t crt, const char *oid, unsigned idx)
{
	size_t size = 0;
	int rc = gnutls_x509_crt_get_dn_by_oid(crt, oid, idx, 0, NULL, &size);
	if (rc != GNUTLS_E_SHORT_MEMORY_BUFFER)
		return NULL;
	char *out = xmalloc(size + 1);
	if (gnutls_x509_crt_get_dn_by_oid(crt, oid, idx, 0, out, &size) < 0) {
		free(out);
		return NULL;
	}
	out[size] = '\0';
	return out;
}

/* Verifies the client certificate of a TLS session (see httpd_req_peer_cert). */
static enum httpd_peer_status peer_verify(gnutls_session_t s, char **cn, char ***orgs, char **why)
{
	unsigned n = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
	if (!peers || !n)
		return HTTPD_PEER_NONE;
	/* the trust list is the one MHD loaded from tls_client_ca_pem */
	unsigned status = 0;
	int rc = gnutls_certificate_verify_peers2(s, &status);
	if (rc < 0) {
		*why = xasprintf("verifying the client certificate: %s", gnutls_strerror(rc));
		return HTTPD_PEER_INVALID;
	}
	if (status) {
		gnutls_datum_t text = {0};
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text,
								 0) == 0) {
			*why = xasprintf("%s", (char *)text.data);
			gnutls_free(text.data);
		} else {
			*why = xstrdup("the client certificate does not verify");
		}
		return HTTPD_PEER_INVALID;
	}
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) < 0)
		return *why = xstrdup("out of memory"), HTTPD_PEER_INVALID;
	if ((rc = gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER)) < 0) {
		gnutls_x509_crt_deinit(crt);
		*why = xasprintf("parsing the client certificate: %s", gnutls_strerror(rc));
		return HTTPD_PEER_INVALID;
	}
	/* As upstream's verifier: a certificate limited to other extended key
	 * usages is no client certificate. */
	bool any_eku = false, client_auth = false;
	for (unsigned i = 0;; i++) {
		char oid[128];
		size_t olen = sizeof(oid);
		if (gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &olen, NULL) < 0)
			break;
		any_eku = true;
		if (!strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) || !strcmp(oid, GNUTLS_KP_ANY))
			client_auth = true;
	}
	if (any_eku && !client_auth) {
		gnutls_x509_crt_deinit(crt);
		*why = xstrdup("x509: certificate specifies an incompatible key usage");
		return HTTPD_PEER_INVALID;
	}
	char *name = x509_dn_part(crt, GNUTLS_OID_X520_COMMON_NAME, 0);
	*cn = name ? name : xstrdup("");
	size_t k = 0;
	char **v = xcalloc(1, sizeof(char *));
	for (char *o; (o = x509_dn_part(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, (unsigned)k));) {
		v = xrealloc(v, (k + 2) * sizeof(char *));
		v[k++] = o;
		v[k] = NULL;
	}
	*orgs = v;
	gnutls_x509_crt_deinit(crt);
	return HTTPD_PEER_OK;
}

/* What one connection's client certificate gave: verified once per
 * connection (the certificate cannot change within it: no renegotiation, no
 * post-handshake authentication), since a chain verification per request
 * would cost more than the rest of a small GET. The connection is served by
 * one thread at a time, so the cache needs no lock. */
struct peer_cache {
	bool done;
	enum httpd_peer_status st;
	char *cn, **orgs, *why;
};

static char **strv_copy(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if (h->tls_trust)
			*socket_context = xcalloc(1, sizeof(struct peer_cache));
		return;
	}
	if (!*socket_context)
		return;
	struct peer_cache *pc = *socket_context;
	httpd_peer_free(pc->cn, pc->orgs);
	free(pc->why);
	free(pc);
	*socket_context = NULL;
}

enum httpd_peer_status httpd_req_peer_cert(const struct httpd_req *rq, char **cn, char ***orgs,
					   char **why)
{
	*cn = NULL;
	*orgs = NULL;
	*why = NULL;
	if (!rq->h->tls_trust)
		return HTTPD_PEER_NONE;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct peer_cache *kept = ci ? ci->socket_context : NULL;
	struct peer_cache *pc = kept ? kept : xcalloc(1, sizeof(*pc));
	if (!pc->done) {
		const union MHD_ConnectionInfo *si =
			MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		pc->st = si && si->tls_session ? peer_verify(si->tls_session, &pc->cn, &pc->orgs,
							      &pc->why)
					       : HTTPD_PEER_NONE;
		pc->done = true;
	}
	enum httpd_peer_status st = pc->st;
	if (st == HTTPD_PEER_OK) {
		*cn = xstrdup(pc->cn);
		*orgs = strv_copy(pc->orgs);
	} else if (st == HTTPD_PEER_INVALID) {
		*why = xstrdup(pc->why ? pc->why : "");
	}
	if (!kept) { /* no per-connection cache: nothing keeps it */
		httpd_peer_free(pc->cn, pc->orgs);
		free(pc->why);
		free(pc);
	}
	return st;
}

void httpd_peer_free(char *cn, char **orgs)
{
	free(cn);
	for (char **p = orgs; p && *p; p++)
		free(*p);
	free(orgs);
}

int httpd_req_local_port(const struct httpd_req *rq)
{
	struct httpd_req *w = (struct httpd_req *)rq; /* filled on first use */
	if (w->local_port >= 0)
		return w->local_port;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = httpd_req_fd(rq);
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		w->local_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		w->local_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return w->local_port;
}

void httpd_req_set_data(struct httpd_req *rq, void *data)
{
	rq->data = data;
}

void *httpd_req_data(const struct httpd_req *rq)
{
	return rq->data;
}

/* ---- answers ---- */

void httpd_reply_header(struct httpd_req *rq, const char *name, const char *value)
{
	rq->hdrs = xrealloc(rq->hdrs, (rq->n_hdrs + 1) * sizeof(*rq->hdrs));
	rq->hdrs[rq->n_hdrs++] = (struct reply_header){xstrdup(name), xstrdup(value)};
}

bool httpd_replied(const struct httpd_req *rq)
{
	return rq->replied;
}

/* True (and logged) when rq was answered already: a second answer is
 * dropped. */
static bool answered(const struct httpd_req *rq, int code)
{
	if (rq->replied)
		log_warn("%s: second answer (%d) to %s %s dropped", rq->h->name, code, rq->method,
			 rq->path);
	return rq->replied;
}

/* Queues resp (taken; NULL: creating it failed) with the headers added so
 * far. False if MHD refused: the connection is closed then. */
static bool queue(struct httpd_req *rq, int code, const char *content_type,
		  struct MHD_Response *resp)
{
	rq->replied = true;
	if (!resp) {
		log_error("%s: cannot create the answer to %s %s", rq->h->name, rq->method,
			  rq->path);
		return false;
	}
	bool cache_control = false;
	if (content_type)
		MHD_add_response_header(resp, "Content-Type", content_type);
	for (size_t i = 0; i < rq->n_hdrs; i++) {
		cache_control |= !strcasecmp(rq->hdrs[i].name, "Cache-Control");
		MHD_add_response_header(resp, rq->hdrs[i].name, rq->hdrs[i].value);
	}
	if (!cache_control)
		MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
	enum MHD_Result ok = MHD_queue_response(rq->conn, (unsigned)code, resp);
	MHD_destroy_response(resp);
	if (ok != MHD_YES) {
		log_warn("%s: queueing the %d answer to %s %s failed", rq->h->name, code,
			 rq->method, rq->path);
		return false;
	}
	rq->code = code;
	return true;
}

void httpd_reply_raw(struct httpd_req *rq, int code, const char *content_type, char *data,
		     size_t len)
{
	if (answered(rq, code)) {
		free(data);
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(
		len, data ? data : xstrdup(""), free);
	if (!resp)
		free(data);
	queue(rq, code, content_type, resp);
}

void httpd_reply_text(struct httpd_req *rq, int code, const char *content_type, const char *text)
{
	httpd_reply_raw(rq, code, content_type, xstrdup(text), strlen(text));
}

void httpd_reply_json(struct httpd_req *rq, int code, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!text) {
		text = xstrdup("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
			       "\"status\":\"Failure\",\"message\":\"encoding the answer failed\","
			       "\"reason\":\"InternalError\",\"code\":500}");
		code = 500;
	}
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	httpd_reply_raw(rq, code, "application/json", text, len);
}

/* ---- streams ---- */

static void stream_free_cb(void *cls)
{
	struct httpd_stream *s = cls;
	struct httpd *h = s->h;
	/* producers may resume s until read_free returned */
	if (s->read_free)
		s->read_free(s->arg);
	pthread_mutex_lock(&h->mu);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
	struct httpd_req *rq = s->rq;
	rq->stream = NULL;
	pthread_mutex_destroy(&s->mu);
	free(s);
	if (rq->completed)
		req_finish(rq);
}

static ssize_t stream_read_cb(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct httpd_stream *s = cls;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		s->woken = false;
		pthread_mutex_unlock(&s->mu);
		bool stopping = __atomic_load_n(&s->h->stopping, __ATOMIC_ACQUIRE);
		ssize_t n = s->read(s->arg, out, max, stopping);
		if (n == HTTPD_STREAM_END)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (n < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (n > 0)
			return n > (ssize_t)max ? (ssize_t)max : n;
		if (stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&s->mu);
		/* httpd_free sets stopping before it looks for parked streams,
		 * so a stream parking now would be missed */
		if (s->woken || __atomic_load_n(&s->h->stopping, __ATOMIC_ACQUIRE)) {
			pthread_mutex_unlock(&s->mu);
			continue;
		}
		s->parked = true;
		MHD_suspend_connection(s->conn);
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
}

struct httpd_stream *httpd_reply_stream(struct httpd_req *rq, int code, const char *content_type,
					httpd_stream_read_fn read, void (*read_free)(void *arg),
					void *arg)
{
	struct httpd *h = rq->h;
	if (answered(rq, code)) {
		if (read_free)
			read_free(arg);
		return NULL;
	}
	struct httpd_stream *s = xcalloc(1, sizeof(*s));
	s->h = h;
	s->rq = rq;
	s->conn = rq->conn;
	s->read = read;
	s->read_free = read_free;
	s->arg = arg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_lock(&h->mu);
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	pthread_mutex_unlock(&h->mu);
	rq->stream = s;
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read_cb, s, stream_free_cb);
	if (!resp) {
		stream_free_cb(s);
		queue(rq, code, content_type, NULL);
		return NULL;
	}
	/* a refused answer is destroyed at once, which frees s */
	return queue(rq, code, content_type, resp) ? s : NULL;
}

void httpd_stream_resume(struct httpd_stream *s)
{
	pthread_mutex_lock(&s->mu);
	s->woken = true;
	if (s->parked) {
		s->parked = false;
		MHD_resume_connection(s->conn);
	}
	pthread_mutex_unlock(&s->mu);
}

/* ---- upgrades ---- */

/* Over TLS the callee's socket is one end of a socket pair whose other end
 * libmicrohttpd feeds from the TLS connection; when the client goes away
 * libmicrohttpd does not pass the hang-up on (the callee would wait on its
 * socket for ever). This thread watches the client's TCP socket and shuts
 * the callee's socket down when the client hangs up, as httpd_free does. */
static void *watch_hangup(void *arg)
{
	struct httpd_upgraded *u = arg;
	struct pollfd p[2] = {{.fd = u->tcp_fd, .events = POLLRDHUP},
			      {.fd = u->stop_fd, .events = POLLIN}};
	for (;;) {
		int rc = poll(p, 2, -1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0 || p[1].revents)
			return NULL;
		if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			shutdown(u->fd, SHUT_RDWR);
			return NULL;
		}
	}
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
		       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)conn;
	struct httpd_upgraded *u = cls;
	struct httpd_req *rq = con_cls;
	struct httpd *h = u->h;
	if (rq && rq->upgrade == u)
		rq->upgrade = NULL; /* the callee owns u now */
	u->urh = urh;
	u->fd = sock;
	int fl = fcntl(sock, F_GETFL);
	if (fl < 0 || fcntl(sock, F_SETFL, fl & ~O_NONBLOCK) < 0)
		log_warn("%s: upgraded connection stays non-blocking: %s", h->name,
			 strerror(errno));
	pthread_mutex_lock(&h->mu);
	if (u->pending) {
		u->pending = false;
		h->pending_upgrades--;
	}
	u->next = h->upgraded;
	if (h->upgraded)
		h->upgraded->prev = u;
	h->upgraded = u;
	if (h->stopping) {
		u->shut = true;
		shutdown(sock, SHUT_RDWR);
	}
	pthread_mutex_unlock(&h->mu);
	const union MHD_ConnectionInfo *ci =
		h->tls_cert ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD)
			    : NULL;
	if (ci) {
		u->tcp_fd = ci->connect_fd;
		u->stop_fd = eventfd(0, EFD_CLOEXEC);
		if (u->stop_fd < 0 || pthread_create(&u->watcher, NULL, watch_hangup, u) != 0) {
			log_warn("%s: no hang-up watch for an upgraded connection: %s", h->name,
				 strerror(errno));
			if (u->stop_fd >= 0)
				close(u->stop_fd);
		} else {
			u->watching = true;
		}
	}
	u->fn(u, sock, extra, extra_len, u->arg);
}

void httpd_reply_upgrade(struct httpd_req *rq, httpd_upgrade_fn fn, void *arg)
{
	if (answered(rq, 101))
		return;
	struct httpd *h = rq->h;
	pthread_mutex_lock(&h->mu);
	bool stopping = h->stopping;
	if (!stopping)
		h->pending_upgrades++;
	pthread_mutex_unlock(&h->mu);
	if (stopping) {
		/* httpd_free may be past its wait for upgraded connections */
		httpd_reply_text(rq, 503, "text/plain; charset=utf-8", "the server is stopping\n");
		return;
	}
	struct httpd_upgraded *u = xcalloc(1, sizeof(*u));
	u->h = rq->h;
	u->fn = fn;
	u->arg = arg;
	u->fd = -1;
	u->pending = true;
	struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, u);
	if (!resp) {
		free(u);
		upgrade_settled(h);
		queue(rq, 101, NULL, NULL);
		return;
	}
	/* freed (and no longer pending) with the request if the upgrade
	 * never happens */
	rq->upgrade = u;
	queue(rq, 101, NULL, resp);
}

void httpd_upgraded_close(struct httpd_upgraded *u)
{
	struct httpd *h = u->h;
	/* the watcher polls the TCP socket, which the close below frees */
	if (u->watching) {
		uint64_t one = 1;
		if (write(u->stop_fd, &one, sizeof(one)) < 0)
			log_error("%s: stopping a hang-up watch: %s", h->name, strerror(errno));
		pthread_join(u->watcher, NULL);
		close(u->stop_fd);
	}
	/* before httpd_free may see the list empty and stop the daemon */
	if (MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE) != MHD_YES)
		log_warn("%s: closing an upgraded connection failed", h->name);
	pthread_mutex_lock(&h->mu);
	if (u->prev)
		u->prev->next = u->next;
	else
		h->upgraded = u->next;
	if (u->next)
		u->next->prev = u->prev;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
	free(u);
}

/* ---- dispatch ---- */

static bool route_matches(const struct route *r, const char *method, const char *path)
{
	if (r->method && strcmp(r->method, method) &&
	    !(!strcmp(r->method, "GET") && !strcmp(method, "HEAD")))
		return false;
	if (r->prefix)
		return !strncmp(path, r->path, strlen(r->path));
	return !strcmp(path, r->path);
}

static void dispatch(struct httpd *h, struct httpd_req *rq)
{
	httpd_handler_fn fn = h->cfg.fallback;
	void *arg = h->cfg.fallback_arg;
	for (size_t i = 0; i < h->n_routes; i++) {
		if (route_matches(&h->routes[i], rq->method, rq->path)) {
			fn = h->routes[i].fn;
			arg = h->routes[i].arg;
			break;
		}
	}
	if (fn)
		fn(rq, arg);
	else
		httpd_reply_text(rq, 404, "text/plain; charset=utf-8", "404 page not found\n");
	if (!rq->replied)
		httpd_reply_text(rq, 500, "text/plain; charset=utf-8",
				 "the handler gave no answer\n");
}

static void answer_too_large(struct httpd *h, struct httpd_req *rq)
{
	buf_free(&rq->body);
	if (h->cfg.too_large)
		h->cfg.too_large(rq, h->cfg.too_large_arg);
	if (!rq->replied)
		httpd_reply_text(rq, 413, "text/plain; charset=utf-8",
				 "request entity too large\n");
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	(void)url;
	(void)version;
	struct httpd *h = cls;
	struct httpd_req *rq = *con_cls;
	if (!rq) /* cannot happen: the URI callback made it */
		return MHD_NO;
	if (!rq->started) {
		rq->started = true;
		rq->conn = conn;
		rq->method = method;
		if (rq->bad_path) {
			httpd_reply_text(rq, 400, "text/plain; charset=utf-8",
					 "400 Bad Request: invalid path\n");
			return rq->code ? MHD_YES : MHD_NO;
		}
		const char *cl = httpd_req_header(rq, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > h->cfg.max_body) {
			rq->too_large = true;
			answer_too_large(h, rq);
			return rq->code ? MHD_YES : MHD_NO;
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_large && !rq->replied) {
			if (rq->body.len + *upload_size > h->cfg.max_body) {
				rq->too_large = true;
				buf_free(&rq->body);
				rq->body = (struct buf)BUF_INIT;
			} else {
				buf_append(&rq->body, upload, *upload_size);
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->replied)
		return rq->code ? MHD_YES : MHD_NO;
	if (rq->too_large)
		answer_too_large(h, rq);
	else
		dispatch(h, rq);
	/* an answer MHD did not take: the connection is closed */
	return rq->code ? MHD_YES : MHD_NO;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	if (log_verbosity < 2)
		return;
	cleanup_free char *msg = xvasprintf(fmt, ap);
	size_t len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	log_line('I', __FILE__, __LINE__, "%s: libmicrohttpd: %s", h->name, msg);
}

/* ---- listeners ---- */

static void wake_acceptor(struct httpd *h)
{
	uint64_t one = 1;
	if (write(h->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("%s: waking the acceptor: %s", h->name, strerror(errno));
}

/* Takes what one listener has waiting (a bounded batch). True when the
 * process is out of descriptors: the acceptor then pauses. */
static bool accept_some(struct httpd *h, int lfd)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int c = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("%s: accept: %s", h->name, strerror(errno));
				return true;
			}
			return false; /* EAGAIN, or a connection that went away */
		}
		/* MHD owns c from here, even when it refuses it (limits) */
		MHD_add_connection(h->mhd, c, (struct sockaddr *)&sa, len);
	}
	return false;
}

static void *acceptor_main(void *arg)
{
	struct httpd *h = arg;
	struct pollfd *pfds = NULL;
	size_t cap = 0;
	bool pause = false;
	pthread_mutex_lock(&h->mu);
	while (!h->acc_stop) {
		size_t n = 1;
		for (struct httpd_listener *l = h->listeners; l; l = l->next)
			n++;
		if (n > cap) {
			cap = n;
			pfds = xrealloc(pfds, cap * sizeof(*pfds));
		}
		pfds[0] = (struct pollfd){.fd = h->wake_fd, .events = POLLIN};
		n = 1;
		for (struct httpd_listener *l = h->listeners; l; l = l->next)
			pfds[n++] = (struct pollfd){.fd = l->fd, .events = POLLIN};
		/* from here on, sockets left out of pfds may be closed */
		h->seen_gen = h->gen;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->mu);

		/* out of descriptors: only the wake-up, for a while */
		int rc = pause ? poll(pfds, 1, 100) : poll(pfds, n, -1);
		if (rc < 0 && errno != EINTR)
			log_error("%s: poll: %s", h->name, strerror(errno));
		uint64_t v;
		if (pfds[0].revents && read(h->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_error("%s: acceptor wake-up: %s", h->name, strerror(errno));
		bool was_paused = pause;
		pause = false;
		for (size_t i = 1; i < n && !was_paused; i++)
			if (pfds[i].revents)
				pause |= accept_some(h, pfds[i].fd);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	free(pfds);
	return NULL;
}

/* Waits until the acceptor polls the current listener set. h->mu held. */
static void acceptor_sync(struct httpd *h)
{
	h->gen++;
	wake_acceptor(h);
	while (h->acc_running && h->seen_gen < h->gen)
		pthread_cond_wait(&h->cond, &h->mu);
}

static struct httpd_listener *listener_add(struct httpd *h, int fd, struct mk_err **err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		mk_err_errno(err, MK_EIO, errno, "listening socket");
		close(fd);
		return NULL;
	}
	struct httpd_listener *l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	l->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					   : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	pthread_mutex_lock(&h->mu);
	l->next = h->listeners;
	h->listeners = l;
	h->gen++;
	pthread_mutex_unlock(&h->mu);
	wake_acceptor(h);
	return l;
}

/* Go's wording for a system call's error: strerror, first letter lower. */
static char *err_text(int e)
{
	char *s = xstrdup(strerror(e));
	if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
		s[0] = (char)(s[0] - 'A' + 'a');
	return s;
}

struct httpd_listener *httpd_listen(struct httpd *h, const char *address, int port,
				    struct mk_err **err)
{
	struct sockaddr_storage ss = {0};
	socklen_t sslen;
	const char *addr = address ? address : "0.0.0.0";
	cleanup_free char *shown = strchr(addr, ':') ? xasprintf("[%s]:%d", addr, port)
						     : xasprintf("%s:%d", addr, port);
	if (port < 0 || port > 65535)
		return mk_err_set(err, MK_EINVAL, "listen tcp %s: invalid port", shown), NULL;
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return mk_err_set(err, MK_EINVAL, "listen tcp %s: invalid address", shown),
			       NULL;
		sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return mk_err_set(err, MK_EINVAL, "listen tcp %s: invalid address", shown),
			       NULL;
		sslen = sizeof(*s4);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	const char *step = "socket";
	if (fd >= 0) {
		int one = 1;
		step = "setsockopt";
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0) {
			step = "bind";
			if (bind(fd, (struct sockaddr *)&ss, sslen) == 0) {
				step = "listen";
				if (listen(fd, SOMAXCONN) == 0)
					return listener_add(h, fd, err);
			}
		}
	}
	int e = errno;
	if (fd >= 0)
		close(fd);
	cleanup_free char *why = err_text(e);
	mk_err_set(err, MK_EIO, "listen tcp %s: %s: %s", shown, step, why);
	if (err && *err && !(*err)->errnum)
		(*err)->errnum = e;
	return NULL;
}

struct httpd_listener *httpd_listen_fd(struct httpd *h, int fd, struct mk_err **err)
{
	return listener_add(h, fd, err);
}

int httpd_listener_port(const struct httpd_listener *l)
{
	return l->port;
}

void httpd_listener_close(struct httpd *h, struct httpd_listener *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&h->mu);
	for (struct httpd_listener **p = &h->listeners; *p; p = &(*p)->next) {
		if (*p == l) {
			*p = l->next;
			break;
		}
	}
	acceptor_sync(h);
	pthread_mutex_unlock(&h->mu);
	close(l->fd);
	free(l);
}

/* ---- the server ---- */

struct httpd *httpd_new(const struct httpd_config *cfg, struct mk_err **err)
{
	struct httpd *h = xcalloc(1, sizeof(*h));
	h->cfg = *cfg;
	h->name = xstrdup(cfg->name ? cfg->name : "httpd");
	h->cfg.name = h->name;
	if (!h->cfg.threads)
		h->cfg.threads = DEFAULT_THREADS;
	if (!h->cfg.max_connections)
		h->cfg.max_connections = DEFAULT_MAX_CONNECTIONS;
	if (!h->cfg.max_body)
		h->cfg.max_body = DEFAULT_MAX_BODY;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0) {
		mk_err_errno(err, MK_EIO, errno, "%s: eventfd", h->name);
		httpd_free(h);
		return NULL;
	}

	struct MHD_OptionItem extra[7];
	size_t n = 0;
	bool tls = h->cfg.tls_cert_pem != NULL;
	if (tls) {
		if (!h->cfg.tls_key_pem) {
			mk_err_set(err, MK_EINVAL, "%s: a TLS certificate without its key", h->name);
			httpd_free(h);
			return NULL;
		}
		/* MHD keeps the pointers until it stops: our copies live as long */
		h->tls_cert = xstrdup(h->cfg.tls_cert_pem);
		h->tls_key = xstrdup(h->cfg.tls_key_pem);
		h->tls_prio = xstrdup(h->cfg.tls_priorities ? h->cfg.tls_priorities : "NORMAL");
		extra[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert};
		extra[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key};
		extra[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, h->tls_prio};
		if (h->cfg.tls_client_ca_pem) {
			h->tls_trust = xstrdup(h->cfg.tls_client_ca_pem);
			extra[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
							     h->tls_trust};
		}
	}
	h->cfg.tls_cert_pem = h->cfg.tls_key_pem = NULL;
	h->cfg.tls_client_ca_pem = h->cfg.tls_priorities = NULL;
	if (h->cfg.threads > 1)
		extra[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
						     (intptr_t)h->cfg.threads, NULL};
	if (h->cfg.thread_stack)
		extra[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_STACK_SIZE,
						     (intptr_t)h->cfg.thread_stack, NULL};
	extra[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	/* epoll: many connections get descriptors beyond select()'s reach */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0);
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_access, h, MHD_OPTION_EXTERNAL_LOGGER,
				  on_mhd_log, h, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				  MHD_OPTION_CONNECTION_LIMIT, h->cfg.max_connections,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->cfg.max_per_ip,
				  MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.idle_timeout_s,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
				  MHD_OPTION_ARRAY, extra, MHD_OPTION_END);
	if (!h->mhd) {
		mk_err_set(err, MK_EIO, "%s: cannot start the HTTP server", h->name);
		httpd_free(h);
		return NULL;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (h->cfg.thread_stack)
		pthread_attr_setstacksize(&attr, h->cfg.thread_stack);
	int rc = pthread_create(&h->acceptor, &attr, acceptor_main, h);
	pthread_attr_destroy(&attr);
	if (rc) {
		mk_err_errno(err, MK_EIO, rc, "%s: starting the acceptor thread", h->name);
		httpd_free(h);
		return NULL;
	}
	h->acc_running = true;
	return h;
}

void httpd_route(struct httpd *h, const char *method, const char *path, httpd_handler_fn fn,
		 void *arg)
{
	size_t len = strlen(path);
	h->routes = xrealloc(h->routes, (h->n_routes + 1) * sizeof(*h->routes));
	h->routes[h->n_routes++] = (struct route){
		.method = method ? xstrdup(method) : NULL,
		.path = xstrdup(path),
		.prefix = len && path[len - 1] == '/',
		.fn = fn,
		.arg = arg,
	};
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	if (h->acc_running) {
		pthread_mutex_lock(&h->mu);
		h->acc_stop = true;
		pthread_mutex_unlock(&h->mu);
		wake_acceptor(h);
		pthread_join(h->acceptor, NULL);
		h->acc_running = false;
	}
	while (h->listeners) {
		struct httpd_listener *l = h->listeners;
		h->listeners = l->next;
		close(l->fd);
		free(l);
	}

	pthread_mutex_lock(&h->mu);
	__atomic_store_n(&h->stopping, true, __ATOMIC_RELEASE);
	/* MHD may not stop while a connection is parked: every parked stream
	 * is resumed, and its reader, told the server stops, ends it */
	for (struct httpd_stream *s = h->streams; s; s = s->next)
		httpd_stream_resume(s);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_GRACE_S;
	while (h->streams && pthread_cond_timedwait(&h->cond, &h->mu, &until) == 0)
		;
	/* upgraded connections belong to their callees: their sockets are
	 * shut down so that they notice, and given back. A 101 still on its
	 * way is waited for as well (for a while): handed over, it is shut
	 * down at once and given back too; no new one is queued from now on. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_GRACE_S;
	bool patient = true;
	while (h->upgraded || (h->pending_upgrades && patient)) {
		for (struct httpd_upgraded *u = h->upgraded; u; u = u->next) {
			if (!u->shut) {
				u->shut = true;
				shutdown(u->fd, SHUT_RDWR);
			}
		}
		if (h->upgraded)
			pthread_cond_wait(&h->cond, &h->mu);
		else
			patient = pthread_cond_timedwait(&h->cond, &h->mu, &until) == 0;
	}
	pthread_mutex_unlock(&h->mu);

	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	for (size_t i = 0; i < h->n_routes; i++) {
		free(h->routes[i].method);
		free(h->routes[i].path);
	}
	free(h->routes);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
	free(h->tls_cert);
	if (h->tls_key)
		explicit_bzero(h->tls_key, strlen(h->tls_key));
	free(h->tls_key);
	free(h->tls_trust);
	free(h->tls_prio);
	free(h->name);
	free(h);
}
