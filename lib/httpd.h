/* HTTP serving for every daemon, with libmicrohttpd hidden behind our own
 * request/response API: no component includes <microhttpd.h>.
 *
 * A server has a thread pool and zero or more listening sockets (the API
 * server has one; kube-proxy's health check node ports add and remove many
 * at run time and share the same threads: one more thread accepts on every
 * listener of a server). Each request is handed to the handler of the first
 * route whose method and path match, or to the fallback handler, once its
 * whole body has arrived (bodies larger than max_body are answered 413 by
 * the server itself, or by the config's too_large handler, before any route
 * runs; a path whose decoding holds a NUL byte is answered 400).
 *
 * A handler answers exactly once, with one of the httpd_reply_* calls, on the
 * server thread that called it. An answer may be:
 *   - a complete body (JSON, text, raw bytes);
 *   - a stream: a reader callback produces the body on server threads and
 *     may say "nothing now"; the connection is then parked without holding
 *     a thread until httpd_stream_resume() is called from any thread (watches,
 *     log follows);
 *   - an upgrade (101 Switching Protocols): the connection's socket is handed
 *     to the caller after the answer was sent (WebSocket, SPDY).
 * A handler that returns without answering gets a 500.
 *
 * Threads: the handlers and readers of one server run on its pool threads,
 * possibly several at once; every function here is thread-safe unless said
 * otherwise. */
#ifndef MK_HTTPD_H
#define MK_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "err.h"

struct httpd;
struct httpd_req;
struct httpd_listener;
struct httpd_stream;
struct httpd_upgraded;

/* Called for each request; the request is borrowed until the answer is
 * complete (for a stream: until its free function ran). */
typedef void (*httpd_handler_fn)(struct httpd_req *rq, void *arg);

/* Called once per request when it is over (answered and sent, or the client
 * went away), with the answer's code (0 if none was sent) and the time since
 * the request arrived; for access logs and request metrics. */
typedef void (*httpd_done_fn)(struct httpd_req *rq, int code, double seconds, void *arg);

struct httpd_config {
	const char *name;        /* for log lines: "kube-apiserver", "healthz" */
	unsigned threads;        /* pool size; 0: 2 */
	unsigned max_connections; /* 0: 1024 */
	unsigned max_per_ip;     /* connections from one client address; 0: no limit */
	unsigned idle_timeout_s; /* a connection idle this long (also mid-request,
				  * e.g. a body that stops arriving) is closed; 0: none.
				  * Parked streams do not count as idle. */
	size_t max_body;         /* larger bodies: 413; 0: 3 MiB */
	size_t thread_stack;     /* 0: libmicrohttpd's default */
	httpd_handler_fn fallback; /* requests no route matches; NULL: 404 text */
	void *fallback_arg;
	/* Requests whose body is larger than max_body, instead of any route:
	 * at once when Content-Length says so, otherwise once the rest of the
	 * body was read and dropped. The request's body is empty; the handler
	 * should answer 413 (e.g. with its own Status body). NULL: 413 text. */
	httpd_handler_fn too_large;
	void *too_large_arg;
	httpd_done_fn done;      /* may be NULL */
	void *done_arg;
	/* TLS (GnuTLS inside libmicrohttpd): with tls_cert_pem set, every
	 * connection of this server speaks TLS. The PEM texts are copied. */
	const char *tls_cert_pem;      /* the serving certificate (chain first to last) */
	const char *tls_key_pem;       /* its private key */
	const char *tls_client_ca_pem; /* CAs whose client certificates are verified
					* (the client is asked for one, not obliged to
					* send one); NULL: none asked */
	const char *tls_priorities;    /* GnuTLS priority string (see lib/tlsprio.h);
					* NULL: "NORMAL" */
};

/* A server with no listener yet; cfg is copied. New, httpd_free(). */
struct httpd *httpd_new(const struct httpd_config *cfg, struct mk_err **err);

/* Adds a route: method ("GET"; NULL for any; a GET route also serves HEAD)
 * and path (both copied). A path ending in '/' matches every path below it
 * ("/containerLogs/"), otherwise the path must match exactly ("/healthz").
 * Routes are tried in the order they were added. Only before the first
 * listener is added. */
void httpd_route(struct httpd *h, const char *method, const char *path, httpd_handler_fn fn,
		 void *arg);

/* Starts listening on address ("127.0.0.1", "0.0.0.0", "::", "::1"; NULL:
 * all IPv4 addresses) and port (0: a free port, see httpd_listener_port).
 * MK_EIO with "listen tcp 127.0.0.1:10256: bind: address already in use"
 * (upstream's wording) when the port is taken. The listener belongs to h;
 * remove it with httpd_listener_close or let httpd_free close it. */
struct httpd_listener *httpd_listen(struct httpd *h, const char *address, int port,
				    struct mk_err **err);

/* The same on a socket that already listens (taken over: closed with the
 * listener). */
struct httpd_listener *httpd_listen_fd(struct httpd *h, int fd, struct mk_err **err);

/* The port a listener is bound to. */
int httpd_listener_port(const struct httpd_listener *l);

/* Stops accepting on l and closes its socket; connections already accepted
 * are served to the end. Accepts NULL. */
void httpd_listener_close(struct httpd *h, struct httpd_listener *l);

/* Closes every listener, ends parked streams (their readers are called one
 * last time and told the server stops, see httpd_stream_read_fn; streams
 * get up to 2 s to end before their connections are closed), shuts down
 * the sockets of upgraded connections and waits until each was given back
 * with httpd_upgraded_close, waits for the handlers running and frees h.
 * Accepts NULL. */
void httpd_free(struct httpd *h);

/* ---- the request ---- */

/* "GET", "POST"...; borrowed from rq. */
const char *httpd_req_method(const struct httpd_req *rq);
/* The path, percent-decoded, without the query ("/api/v1/pods"). A path
 * whose decoding holds a NUL byte never reaches a handler (400). */
const char *httpd_req_path(const struct httpd_req *rq);
/* A query parameter, percent-decoded, or NULL (also for "?a" without a
 * value); the first if repeated. Borrowed from rq. */
const char *httpd_req_query(const struct httpd_req *rq, const char *key);
/* Calls fn for every query parameter in order (value may be NULL for "?a"). */
void httpd_req_query_each(const struct httpd_req *rq,
			  void (*fn)(const char *key, const char *value, void *arg), void *arg);
/* A request header (name compared without case) or NULL. */
const char *httpd_req_header(const struct httpd_req *rq, const char *name);
/* Every value of a request header sent on several lines (a list such as
 * X-Stream-Protocol-Version), joined with ", " as RFC 9110 §5.3 allows; a
 * new string, or NULL when the header is absent. */
char *httpd_req_header_list(const struct httpd_req *rq, const char *name);
/* Calls fn for every request header line in order (names as sent). */
void httpd_req_header_each(const struct httpd_req *rq,
			   void (*fn)(const char *name, const char *value, void *arg), void *arg);
/* The body received (NUL-terminated; "" and 0 when none); borrowed from rq. */
const char *httpd_req_body(const struct httpd_req *rq, size_t *len);
/* The client's address as text ("127.0.0.1", "::1"), borrowed; and the
 * local port the request came in on. */
const char *httpd_req_peer(const struct httpd_req *rq);
int httpd_req_local_port(const struct httpd_req *rq);
/* The connection's socket, for the rare handler that must look at it
 * (SO_ORIGINAL_DST, credentials); never read or write it. */
int httpd_req_fd(const struct httpd_req *rq);

/* The client certificate of a TLS request. HTTPD_PEER_NONE when the
 * connection is plain or the client sent none; HTTPD_PEER_INVALID when one was
 * sent that does not verify against tls_client_ca_pem (unknown issuer,
 * expired, not yet valid, bad signature) or lacks the client-auth usage;
 * HTTPD_PEER_OK otherwise, with *cn (the subject's first CommonName, "" when
 * it has none) and *orgs (its Organization values in order, a
 * NULL-terminated array) set: new, free with httpd_peer_free. On
 * HTTPD_PEER_INVALID *why says why (new string, free()). */
enum httpd_peer_status { HTTPD_PEER_NONE, HTTPD_PEER_OK, HTTPD_PEER_INVALID };
enum httpd_peer_status httpd_req_peer_cert(const struct httpd_req *rq, char **cn, char ***orgs,
					   char **why);
/* Frees what httpd_req_peer_cert returned; accepts NULLs. */
void httpd_peer_free(char *cn, char **orgs);

/* One pointer of the caller's per request (NULL at first), e.g. for labels
 * a done callback reads. The caller frees what it stores, at the latest in
 * its done callback. */
void httpd_req_set_data(struct httpd_req *rq, void *data);
void *httpd_req_data(const struct httpd_req *rq);

/* ---- answers ---- */

/* Adds a header to the answer to come (copied); call before httpd_reply_*.
 * Every answer carries "Cache-Control: no-cache, private" unless a handler
 * sets its own. */
void httpd_reply_header(struct httpd_req *rq, const char *name, const char *value);

/* body serialised compactly, keys in the object's order, plus a newline (as
 * upstream's encoder writes it), Content-Type application/json; body is
 * stolen. */
void httpd_reply_json(struct httpd_req *rq, int code, json_t *body);
/* text (copied) with the given Content-Type. */
void httpd_reply_text(struct httpd_req *rq, int code, const char *content_type,
		      const char *text);
/* data (taken: free()d by the server), len bytes. */
void httpd_reply_raw(struct httpd_req *rq, int code, const char *content_type, char *data,
		     size_t len);
/* True once one of the reply functions was called for rq. */
bool httpd_replied(const struct httpd_req *rq);

/* A streamed body. The reader writes at most max bytes into out and returns
 * how many; 0 when it has nothing now (the connection is parked until
 * httpd_stream_resume); HTTPD_STREAM_END to end the body normally;
 * HTTPD_STREAM_ABORT to cut the connection. When the server stops, the reader
 * is called once with stopping true and should return what it still wants
 * to send, then END. The free function runs once when the stream is over
 * (ended, aborted, or the client went away), on a server thread; no
 * resume may be called after it returned. A parked connection is not
 * watched: a client that goes away meanwhile is noticed when the stream is
 * resumed and writes again. */
#define HTTPD_STREAM_END ((ssize_t)-1)
#define HTTPD_STREAM_ABORT ((ssize_t)-2)
typedef ssize_t (*httpd_stream_read_fn)(void *arg, char *out, size_t max, bool stopping);

/* Answers with a chunked body produced by read (on server threads, never two
 * at once for one stream, never before the handler returned);
 * read_free(arg) when done (may be NULL). Returns the stream handle, valid
 * until read_free has been called; NULL if the answer could not be queued
 * (read_free has run then). */
struct httpd_stream *httpd_reply_stream(struct httpd_req *rq, int code, const char *content_type,
					httpd_stream_read_fn read, void (*read_free)(void *arg),
					void *arg);
/* Wakes a parked stream so its reader is called again; harmless when it is
 * not parked. */
void httpd_stream_resume(struct httpd_stream *s);

/* Protocol upgrade: answers 101 with the headers added so far (the handler
 * adds Upgrade, Connection and the protocol's own headers). Once the answer
 * is on the wire, on_upgrade is called on a thread of the server with the
 * connection's socket (blocking mode) and any bytes the client sent after
 * its request (borrowed for the call). The callee owns the connection from
 * then on and must call httpd_upgraded_close(u) exactly once when done (from
 * any thread); it must not close fd itself. The request's done callback
 * runs once the connection was given back, with code 101. */
typedef void (*httpd_upgrade_fn)(struct httpd_upgraded *u, int fd, const char *extra,
				 size_t extra_len, void *arg);
void httpd_reply_upgrade(struct httpd_req *rq, httpd_upgrade_fn on_upgrade, void *arg);
void httpd_upgraded_close(struct httpd_upgraded *u);

#endif
