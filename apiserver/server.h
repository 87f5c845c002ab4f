/* The kube-apiserver's HTTP side: an HTTP server (lib/httpd: a thread pool,
 * watches parked without a thread) routing every request to the discovery,
 * OpenAPI, health, metrics and resource handlers. */
#ifndef MK_APISERVER_SERVER_H
#define MK_APISERVER_SERVER_H

#include <stddef.h>

#include "err.h"
#include "apiserver/store.h"

struct admission;

struct apiserver;

struct authn;
struct authz;

struct server_config {
	const char *bind_address; /* "127.0.0.1", "::1" or a comma-separated list */
	int port;                 /* insecure port; 0: any free port; -1: off */
	/* The secure port, served when tls_cert_pem is set: TLS, every request
	 * authenticated by authn and authorized by authz. */
	const char *secure_bind;    /* NULL: "0.0.0.0" */
	int secure_port;            /* 0: any free port */
	const char *tls_cert_pem;   /* serving certificate chain (PEM text) */
	const char *tls_key_pem;
	const char *client_ca_pem;  /* NULL: no client certificates */
	const char *tls_priorities; /* GnuTLS priority string (lib/tlsprio) */
	struct authn *authn;        /* borrowed until server_stop */
	const struct authz *authz;  /* borrowed until server_stop */
	const char *advertise;    /* address other components reach us at */
	unsigned threads;         /* polling threads (0: default) */
	unsigned bookmark_seconds; /* watch BOOKMARK interval (0: 60) */
	int64_t event_ttl_s;       /* Events are deleted this long after their last write (0: never) */
	size_t watch_queue_bytes;  /* what one watcher may have queued (0: 64 MiB) */
	unsigned idle_timeout_s;   /* idle or stalled connections closed after (0: 90) */
	/* the admission chain, borrowed until server_stop (NULL: upstream's default set) */
	const struct admission *admission;
};

/* Starts serving with st (borrowed until server_stop). New handle or NULL. */
struct apiserver *server_start(struct store *st, const struct server_config *cfg,
			       struct mk_err **err);
/* The insecure port actually bound, or -1 when off. */
int server_port(const struct apiserver *srv);
/* The secure port actually bound, or -1 when off. */
int server_secure_port(const struct apiserver *srv);
/* Ends watch streams, stops the daemon and frees srv; accepts NULL. */
void server_stop(struct apiserver *srv);

#endif
