#include "apiserver/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "timefmt.h"
#include "version.h"
#include "xalloc.h"
#include "apiserver/apiserver-internal.h"
#include "apiserver/discovery.h"
#include "apiserver/metrics.h"
#include "apiserver/openapi.h"
#include "apiserver/status.h"

#define DEFAULT_THREADS 16

const char *req_query(const struct api_request *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *req_header(const struct api_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

bool req_query_bool(const struct api_request *rq, const char *key)
{
	const char *v = req_query(rq, key);
	return v && (!strcmp(v, "1") || !strcasecmp(v, "true"));
}

void req_reply_response(struct api_request *rq, int code, struct MHD_Response *resp)
{
	if (rq->answered) {
		MHD_destroy_response(resp);
		return;
	}
	rq->answered = true;
	rq->code = code;
	MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
	if (MHD_queue_response(rq->conn, (unsigned)code, resp) != MHD_YES)
		log_warn("queueing a %d answer to %s %s failed", code, rq->method, rq->url);
	MHD_destroy_response(resp);
}

static void reply_buffer(struct api_request *rq, int code, const char *content_type, char *data,
			 size_t len, const char *warning)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(data);
		return;
	}
	MHD_add_response_header(resp, "Content-Type", content_type);
	if (warning) {
		cleanup_free char *w = xasprintf("299 - \"%s\"", warning);
		MHD_add_response_header(resp, "Warning", w);
	}
	req_reply_response(rq, code, resp);
}

void req_reply_raw(struct api_request *rq, int code, const char *content_type, char *data,
		   size_t len)
{
	reply_buffer(rq, code, content_type, data, len, NULL);
}

void req_reply_json(struct api_request *rq, int code, json_t *body, const char *warning)
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
	/* Newline-terminated like upstream's encoder. */
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	reply_buffer(rq, code, "application/json", text, len, warning);
}

void req_reply_status(struct api_request *rq, json_t *status)
{
	req_reply_json(rq, status_code(status), status, NULL);
}

void req_reply_text(struct api_request *rq, int code, const char *content_type, const char *text)
{
	reply_buffer(rq, code, content_type, xstrdup(text), strlen(text), NULL);
}

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
		reply_buffer(rq, 200, ctype, text, strlen(text), NULL);
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
		req_reply_text(rq, 200, "text/plain; charset=utf-8", "ok");
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

/* --- libmicrohttpd callbacks ------------------------------------------------- */

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct api_request *rq = *con_cls;
	if (!rq) {
		rq = xcalloc(1, sizeof(*rq));
		rq->srv = cls;
		rq->conn = conn;
		rq->method = method;
		rq->url = url;
		rq->start_ns = time_mono_ns();
		*con_cls = rq;
		const char *cl = req_header(rq, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY) {
			rq->too_large = true;
			rq->m_verb = method;
			req_reply_status(rq, status_failure(413, "RequestEntityTooLarge",
							    "Request entity too large: limit is "
							    "3145728",
							    NULL));
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!rq->too_large) {
			if (rq->body.len + *upload_data_size > API_MAX_BODY) {
				rq->too_large = true;
				buf_free(&rq->body);
				rq->body = (struct buf)BUF_INIT;
			} else {
				buf_append(&rq->body, upload_data, *upload_data_size);
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	if (rq->too_large) {
		rq->m_verb = method;
		req_reply_status(rq, status_failure(413, "RequestEntityTooLarge",
						    "Request entity too large: limit is 3145728",
						    NULL));
		return MHD_YES;
	}
	route(rq);
	if (!rq->answered)
		req_reply_status(rq, status_internal("no answer was produced"));
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct api_request *rq = *con_cls;
	if (!rq)
		return;
	double secs = (double)(time_mono_ns() - rq->start_ns) / 1e9;
	if (rq->answered)
		metrics_request_observe(rq->m_verb ? rq->m_verb : rq->method,
					rq->m_resource ? rq->m_resource : "", rq->code, secs);
	log_v(3, "HTTP verb=%s url=%s status=%d latency=%.3fms", rq->method, rq->url, rq->code,
	      secs * 1000);
	buf_free(&rq->body);
	free(rq->m_resource);
	free(rq);
	*con_cls = NULL;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (log_verbosity < 2)
		return;
	cleanup_free char *msg = xvasprintf(fmt, ap);
	size_t len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	log_line('I', __FILE__, __LINE__, "libmicrohttpd: %s", msg);
}

struct apiserver *server_start(struct store *st, const struct server_config *cfg,
			       struct mk_err **err)
{
	struct sockaddr_storage ss = {0};
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	const char *bind = cfg->bind_address ? cfg->bind_address : "127.0.0.1";
	if (strchr(bind, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)cfg->port);
		if (inet_pton(AF_INET6, bind, &s6->sin6_addr) != 1)
			return mk_err_set(err, MK_EINVAL, "invalid bind address %s", bind), NULL;
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)cfg->port);
		if (inet_pton(AF_INET, bind, &s4->sin_addr) != 1)
			return mk_err_set(err, MK_EINVAL, "invalid bind address %s", bind), NULL;
	}

	struct apiserver *srv = xcalloc(1, sizeof(*srv));
	srv->st = st;
	srv->bind_address = xstrdup(bind);
	srv->bookmark_seconds = cfg->bookmark_seconds ? cfg->bookmark_seconds : 60;
	srv->hub = watch_hub_new(srv);
	unsigned threads = cfg->threads ? cfg->threads : DEFAULT_THREADS;
	srv->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
		MHD_OPTION_SOCK_ADDR, &ss,
		MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)20000,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024), MHD_OPTION_END);
	if (!srv->mhd) {
		mk_err_set(err, MK_EIO, "cannot listen on %s:%d", bind, cfg->port);
		watch_hub_free(srv->hub);
		free(srv->bind_address);
		free(srv);
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : cfg->port;
	const char *adv = cfg->advertise ? cfg->advertise : bind;
	srv->server_address = strchr(adv, ':') ? xasprintf("[%s]:%d", adv, srv->port)
					       : xasprintf("%s:%d", adv, srv->port);
	return srv;
}

int server_port(const struct apiserver *srv)
{
	return srv->port;
}

void server_stop(struct apiserver *srv)
{
	if (!srv)
		return;
	watch_hub_shutdown(srv->hub);
	MHD_stop_daemon(srv->mhd);
	watch_hub_free(srv->hub);
	free(srv->bind_address);
	free(srv->server_address);
	free(srv);
}
