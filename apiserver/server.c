#include "apiserver/server.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "version.h"
#include "xalloc.h"
#include "apiserver/apiserver-internal.h"
#include "apiserver/authapi.h"
#include "apiserver/authn.h"
#include "apiserver/authz.h"
#include "apiserver/authzapi.h"
#include "apiserver/discovery.h"
#include "apiserver/handlers.h"
#include "apiserver/impersonate.h"
#include "apiserver/nodeproxy.h"
#include "apiserver/metrics.h"
#include "apiserver/openapi.h"
#include "apiserver/request.h"
#include "apiserver/status.h"
#include "apiserver/watch.h"

#define DEFAULT_THREADS 16
/* Kept-alive connections idle this long are closed, as upstream's server
 * does (its IdleTimeout); so is a request whose rest stops arriving. */
#define IDLE_TIMEOUT_S 90
#define MAX_CONNECTIONS 20000

/* --- non-resource endpoints ------------------------------------------------ */

static void serve_version(struct api_request *rq)
{
	json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", MK_VERSION_MAJOR,
			      "minor", MK_VERSION_MINOR, "gitVersion", MK_GIT_VERSION, "gitCommit",
			      "0000000000000000000000000000000000000000", "gitTreeState", "clean",
			      "buildDate", "2025-01-01T00:00:00Z", "goVersion", "go1.23.0",
			      "compiler", "gc", "platform", "linux/amd64");
	req_reply_json(rq, 200, v, NULL);
}

/* /healthz, /livez, /readyz: the store answers, as upstream's etcd check
 * (a read of <prefix>/health). */
static void serve_health(struct api_request *rq)
{
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_get(rq->srv->st, "/registry/health", &kv, &err) == 0 ||
	    mk_err_code(err) == MK_ENOTFOUND) {
		store_kv_free(&kv);
		req_reply_text(rq, 200, "text/plain; charset=utf-8", "ok");
		return;
	}
	log_warn("health check: storage: %s", mk_err_msg(err));
	req_reply_text(rq, 500, "text/plain; charset=utf-8",
		       "[-]etcd failed: reason withheld\nhealthz check failed\n");
}

/* The aggregated discovery version the Accept header asks for first ("v2",
 * "v2beta1"), or NULL for the plain documents. */
static const char *aggregated_version(const char *accept)
{
	if (!accept)
		return NULL;
	cleanup_free char *copy = xstrdup(accept);
	char *save = NULL;
	for (char *range = strtok_r(copy, ",", &save); range; range = strtok_r(NULL, ",", &save)) {
		bool g = false, as = false;
		const char *ver = NULL;
		char *psave = NULL;
		for (char *p = strtok_r(range, ";", &psave); p; p = strtok_r(NULL, ";", &psave)) {
			while (*p == ' ')
				p++;
			char *end = p + strlen(p);
			while (end > p && end[-1] == ' ')
				*--end = '\0';
			if (!strcmp(p, "g=apidiscovery.k8s.io"))
				g = true;
			else if (!strcmp(p, "as=APIGroupDiscoveryList"))
				as = true;
			else if (!strcmp(p, "v=v2"))
				ver = "v2";
			else if (!strcmp(p, "v=v2beta1"))
				ver = "v2beta1";
		}
		if (g && as && ver)
			return ver;
	}
	return NULL;
}

static void serve_discovery_root(struct api_request *rq, bool core)
{
	const char *ver = aggregated_version(req_header(rq, "Accept"));
	if (ver) {
		json_t *doc = discovery_aggregated(core, ver);
		if (!doc) {
			req_reply_status(rq, status_internal("no discovery document"));
			return;
		}
		char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(doc);
		cleanup_free char *ctype = xasprintf(
			"application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList", ver);
		req_reply_raw(rq, 200, ctype, text, strlen(text));
		return;
	}
	json_t *doc = core ? discovery_api_versions(rq->srv->server_address)
			   : discovery_group_list();
	req_reply_json(rq, 200, doc, NULL);
}

static void serve_group(struct api_request *rq, const char *group)
{
	json_t *list = discovery_group_list();
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(list, "groups"), i, g)
	{
		const char *name = json_string_value(json_object_get(g, "name"));
		if (name && !strcmp(name, group)) {
			json_t *out = json_copy_deep(g);
			json_object_set_new(out, "kind", json_string("APIGroup"));
			json_object_set_new(out, "apiVersion", json_string("v1"));
			json_decref(list);
			req_reply_json(rq, 200, out, NULL);
			return;
		}
	}
	json_decref(list);
	req_reply_status(rq, status_no_route());
}

static void serve_resource_list(struct api_request *rq, const char *group, const char *version)
{
	json_t *doc = discovery_resource_list(group, version);
	if (!doc) {
		req_reply_status(rq, status_no_route());
		return;
	}
	req_reply_json(rq, 200, doc, NULL);
}

static void serve_openapi(struct api_request *rq, const char *rest)
{
	json_t *doc = rest ? openapi_v3_doc(rest) : openapi_v3_index();
	if (!doc) {
		req_reply_status(rq, status_no_route());
		return;
	}
	req_reply_json(rq, 200, doc, NULL);
}

/* Splits a path into its non-empty segments (copies, in *segs). */
static size_t split_path(const char *path, char ***segs)
{
	size_t n = 0, cap = 8;
	char **v = xmalloc(cap * sizeof(*v));
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (n == cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = xstrndup(p, len);
		p += len;
	}
	*segs = v;
	return n;
}

static void free_segs(char **segs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
}

static bool is_get(const struct api_request *rq)
{
	return !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
}

static void route(struct api_request *rq)
{
	const char *url = rq->url;
	char **segs = NULL;
	size_t n = split_path(url, &segs);

	if (n >= 1 && (!strcmp(segs[0], "api") || !strcmp(segs[0], "apis"))) {
		bool core = !strcmp(segs[0], "api");
		size_t base = core ? 2 : 3; /* segments before the resource part */
		/* /api/v1/nodes/<name>/proxy[/<path>] carries a path of its own */
		if (core && n >= 5 && !strcmp(segs[1], "v1") && !strcmp(segs[2], "nodes") &&
		    !strcmp(segs[4], "proxy")) {
			const char *rest = url;
			for (int k = 0; k < 5 && rest; k++)
				rest = strchr(rest + 1, '/');
			handlers_node_proxy(rq, segs[3], rest ? rest + 1 : "");
			goto out;
		}
		if (!core && n == 4 && !strcmp(segs[1], "authentication.k8s.io") &&
		    !strcmp(segs[2], "v1")) {
			authapi_review(rq, segs[3]);
			goto out;
		}
		if (!core && n == 4 && !strcmp(segs[1], "authorization.k8s.io") &&
		    !strcmp(segs[2], "v1")) {
			authzapi_review(rq, NULL, segs[3]);
			goto out;
		}
		if (!core && n == 6 && !strcmp(segs[1], "authorization.k8s.io") &&
		    !strcmp(segs[2], "v1") && !strcmp(segs[3], "namespaces")) {
			authzapi_review(rq, segs[4], segs[5]);
			goto out;
		}
		if (core && n == 7 && !strcmp(segs[1], "v1") && !strcmp(segs[2], "namespaces") &&
		    !strcmp(segs[4], "serviceaccounts") && !strcmp(segs[6], "token")) {
			authapi_token_request(rq, segs[3], segs[5]);
			goto out;
		}
		if (n > base) {
			handlers_resource(rq, core ? "" : segs[1], core ? segs[1] : segs[2],
					  segs + base, n - base);
			goto out;
		}
	}
	rq->m_verb = "GET";
	if (!is_get(rq)) {
		req_reply_status(rq, status_method_not_allowed());
		goto out;
	}
	if (!strcmp(url, "/version") || !strcmp(url, "/version/")) {
		serve_version(rq);
	} else if (n >= 1 && (!strcmp(segs[0], "healthz") || !strcmp(segs[0], "livez") ||
			      !strcmp(segs[0], "readyz"))) {
		serve_health(rq);
	} else if (n == 1 && !strcmp(segs[0], "metrics")) {
		cleanup_free char *text = metrics_render();
		req_reply_text(rq, 200, "text/plain; version=0.0.4; charset=utf-8", text);
	} else if (n == 1 && !strcmp(segs[0], "api")) {
		serve_discovery_root(rq, true);
	} else if (n == 1 && !strcmp(segs[0], "apis")) {
		serve_discovery_root(rq, false);
	} else if (n == 2 && !strcmp(segs[0], "api")) {
		serve_resource_list(rq, "", segs[1]);
	} else if (n == 2 && !strcmp(segs[0], "apis")) {
		serve_group(rq, segs[1]);
	} else if (n == 3 && !strcmp(segs[0], "apis")) {
		serve_resource_list(rq, segs[1], segs[2]);
	} else if (n >= 2 && !strcmp(segs[0], "openapi") && !strcmp(segs[1], "v3")) {
		const char *rest = n > 2 ? url + strlen("/openapi/v3/") : NULL;
		serve_openapi(rq, rest);
	} else if (n == 0) {
		json_t *paths = json_pack("{s:[s,s,s,s,s,s,s,s,s]}", "paths", "/api", "/api/v1",
					  "/apis", "/healthz", "/livez", "/metrics", "/openapi/v3",
					  "/readyz", "/version");
		req_reply_json(rq, 200, paths, NULL);
	} else {
		req_reply_status(rq, status_no_route());
	}
out:
	free_segs(segs, n);
}

/* --- HTTP callbacks ----------------------------------------------------------- */

static struct api_request *request_new(struct apiserver *srv, struct httpd_req *hr)
{
	struct api_request *rq = xcalloc(1, sizeof(*rq));
	rq->srv = srv;
	rq->hr = hr;
	rq->method = httpd_req_method(hr);
	rq->url = httpd_req_path(hr);
	httpd_req_set_data(hr, rq);
	return rq;
}

static void serve(struct httpd_req *hr, void *arg)
{
	struct api_request *rq = request_new(arg, hr);
	route(rq);
	if (!httpd_replied(hr))
		req_reply_status(rq, status_internal("no answer was produced"));
}

/* The secure port: authentication, then authorization, then the API. */
static void serve_secure(struct httpd_req *hr, void *arg)
{
	struct api_request *rq = request_new(arg, hr);
	struct apiserver *srv = arg;
	if (authn_request(srv->authn, hr, &rq->user) < 0) {
		rq->m_verb = rq->method;
		req_reply_status(rq, status_failure(401, "Unauthorized", "Unauthorized", NULL));
		return;
	}
	json_t *istatus = NULL;
	if (impersonate_apply(srv->authz, hr, &rq->user, &istatus) < 0) {
		rq->m_verb = rq->method;
		req_reply_status(rq, istatus);
		return;
	}
	struct authz_attrs at;
	authz_attrs_parse(rq->method, rq->url, req_query_bool(rq, "watch"), &at);
	cleanup_free char *reason = NULL;
	if (!authz_allowed(srv->authz, rq->user, &at, &reason)) {
		rq->m_verb = rq->method;
		req_reply_status(rq, authz_forbidden_status(rq->user, &at, reason));
		authz_attrs_free(&at);
		return;
	}
	authz_attrs_free(&at);
	route(rq);
	if (!httpd_replied(hr))
		req_reply_status(rq, status_internal("no answer was produced"));
}

static void serve_too_large(struct httpd_req *hr, void *arg)
{
	struct api_request *rq = request_new(arg, hr);
	rq->m_verb = rq->method;
	cleanup_free char *msg = xasprintf("Request entity too large: limit is %u", API_MAX_BODY);
	req_reply_status(rq, status_failure(413, "RequestEntityTooLarge", msg, NULL));
}

static void on_done(struct httpd_req *hr, int code, double secs, void *arg)
{
	(void)arg;
	struct api_request *rq = httpd_req_data(hr);
	const char *method = httpd_req_method(hr);
	if (code)
		metrics_request_observe(rq && rq->m_verb ? rq->m_verb : method,
					rq && rq->m_resource ? rq->m_resource : "", code, secs);
	log_v(3, "HTTP verb=%s url=%s status=%d latency=%.3fms", method, httpd_req_path(hr), code,
	      secs * 1000);
	if (rq) {
		free(rq->m_resource);
		authn_user_free(rq->user);
		json_decref(rq->warnings);
		free(rq);
	}
}

struct apiserver *server_start(struct store *st, const struct server_config *cfg,
			       struct mk_err **err)
{
	const char *bind = cfg->bind_address ? cfg->bind_address : "127.0.0.1";
	struct apiserver *srv = xcalloc(1, sizeof(*srv));
	srv->st = st;
	srv->event_ttl_s = cfg->event_ttl_s;
	srv->admission = cfg->admission;
	srv->hub = watch_hub_new(st, cfg->bookmark_seconds ? cfg->bookmark_seconds : 60,
				 cfg->watch_queue_bytes);
	srv->proxy = nodeproxy_new(err);
	if (!srv->proxy) {
		server_stop(srv);
		return NULL;
	}
	struct httpd_config hc = {
		.name = "kube-apiserver",
		.threads = cfg->threads ? cfg->threads : DEFAULT_THREADS,
		.max_connections = MAX_CONNECTIONS,
		.idle_timeout_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : IDLE_TIMEOUT_S,
		.max_body = API_MAX_BODY,
		.fallback = serve,
		.fallback_arg = srv,
		.too_large = serve_too_large,
		.too_large_arg = srv,
		.done = on_done,
		.done_arg = srv,
	};
	srv->port = srv->secure_port = -1;
	srv->authn = cfg->authn;
	srv->authz = cfg->authz;
	if (cfg->port >= 0) {
		srv->http = httpd_new(&hc, err);
		if (!srv->http) {
			server_stop(srv);
			return NULL;
		}
		/* a list serves the same port on each address (the first one's, when any port) */
		cleanup_free char *binds = xstrdup(bind);
		char *save = NULL;
		srv->port = cfg->port;
		for (char *a = strtok_r(binds, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
			struct httpd_listener *l = httpd_listen(srv->http, a, srv->port, err);
			if (!l) {
				server_stop(srv);
				return NULL;
			}
			srv->port = httpd_listener_port(l);
		}
	}
	if (cfg->tls_cert_pem) {
		if (!cfg->authn || !cfg->authz) {
			mk_err_set(err, MK_EINVAL, "the secure port needs authentication and "
						   "authorization");
			server_stop(srv);
			return NULL;
		}
		hc.name = "kube-apiserver-secure";
		hc.fallback = serve_secure;
		hc.tls_cert_pem = cfg->tls_cert_pem;
		hc.tls_key_pem = cfg->tls_key_pem;
		hc.tls_client_ca_pem = cfg->client_ca_pem;
		hc.tls_priorities = cfg->tls_priorities;
		srv->https = httpd_new(&hc, err);
		if (!srv->https) {
			server_stop(srv);
			return NULL;
		}
		const char *sbind = cfg->secure_bind ? cfg->secure_bind : "0.0.0.0";
		struct httpd_listener *l = httpd_listen(srv->https, sbind, cfg->secure_port, err);
		if (!l) {
			server_stop(srv);
			return NULL;
		}
		srv->secure_port = httpd_listener_port(l);
	}
	if (srv->port < 0 && srv->secure_port < 0) {
		mk_err_set(err, MK_EINVAL, "neither the secure nor the insecure port is served");
		server_stop(srv);
		return NULL;
	}
	int shown_port = srv->secure_port >= 0 ? srv->secure_port : srv->port;
	const char *adv = cfg->advertise ? cfg->advertise : bind;
	srv->server_address = strchr(adv, ':') ? xasprintf("[%s]:%d", adv, shown_port)
					       : xasprintf("%s:%d", adv, shown_port);
	return srv;
}

int server_port(const struct apiserver *srv)
{
	return srv->port;
}

int server_secure_port(const struct apiserver *srv)
{
	return srv->secure_port;
}

void server_stop(struct apiserver *srv)
{
	if (!srv)
		return;
	/* ends the watch streams, whose last act is to leave the hub */
	httpd_free(srv->https);
	httpd_free(srv->http);
	nodeproxy_free(srv->proxy);
	watch_hub_free(srv->hub);
	free(srv->server_address);
	free(srv);
}
