/* The kube-apiserver's state shared by its request handlers (server.c,
 * handlers.c). Not a public interface. */
#ifndef MK_APISERVER_INTERNAL_H
#define MK_APISERVER_INTERNAL_H

#include "httpd.h"
#include "apiserver/authz.h"
#include "apiserver/store.h"

/* Request bodies larger than this are refused with 413. */
#define API_MAX_BODY (3u * 1024 * 1024)

struct admission;
struct watch_hub;
struct nodeproxy;
struct authn;

struct apiserver {
	struct store *st;          /* borrowed from main */
	struct httpd *http;        /* owned; NULL when the insecure port is off */
	struct httpd *https;       /* owned; NULL when the secure port is off */
	int port;                  /* the insecure port, -1 when off */
	int secure_port;           /* -1 when off */
	struct authn *authn;       /* borrowed from main; NULL without the secure port */
	const struct authz *authz; /* borrowed from main */
	char *server_address;      /* "advertise:port", owned */
	struct watch_hub *hub;     /* owned, watch.c */
	struct nodeproxy *proxy;   /* owned: pods/log, exec, attach, portforward, nodes/proxy */
	int64_t event_ttl_s;       /* TTL of Events, 0 = none */
	const struct admission *admission; /* borrowed from main; NULL: the default chain */
};

#endif
