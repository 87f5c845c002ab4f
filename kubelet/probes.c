/* The kubelet's prober and lifecycle hook runner; the contract is in probes.h. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <curl/curl.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "podspec.h"
#include "version.h"
#include "xalloc.h"
#include "kubelet/probes.h"

/* Upstream reads at most 10 KiB of an HTTP body or of exec output. */
#define MAX_BODY 10240
/* Go's http.Client gives up after 10 requests in one redirect chain. */
#define MAX_REQUESTS 10
#define PROBE_UA     "kube-probe/" MK_VERSION_MAJOR "." MK_VERSION_MINOR
#define LIFECYCLE_UA "kube-lifecycle/" MK_VERSION_MAJOR "." MK_VERSION_MINOR
#define NTYPES	     3

/* ---------------- small helpers ---------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What may cut a running probe short: the job's removal or the prober's
 * stop. Either pointer may be NULL (hooks have none). */
struct cancel {
	atomic_int *job;
	atomic_int *all;
};

static bool cancelled(const struct cancel *cc)
{
	return cc && ((cc->job && atomic_load(cc->job)) || (cc->all && atomic_load(cc->all)));
}

/* Sleeps until deadline (monotonic ms) in short slices so a cancel is seen
 * soon. Returns false when cancelled. */
static bool sleep_until(int64_t deadline, const struct cancel *cc)
{
	for (;;) {
		if (cancelled(cc))
			return false;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return true;
		if (left > 100)
			left = 100;
		struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
}

/* Go's strconv.Quote, which upstream's %q messages use; new string. */
static char *go_quoted(const char *s)
{
	struct buf b = BUF_INIT;
	buf_append_go_quoted(&b, s ? s : "", s ? strlen(s) : 0);
	return buf_steal(&b);
}

/* Go spells errno texts as glibc does, with a lower-case first letter. */
static char *go_errno(int e)
{
	char tmp[256];
	char *s = xstrdup(strerror_r(e, tmp, sizeof(tmp)));
	if (s[0] >= 'A' && s[0] <= 'Z')
		s[0] = (char)(s[0] - 'A' + 'a');
	return s;
}

/* time.Duration's String() for a whole number of milliseconds. */
static char *go_duration(int64_t ms)
{
	if (ms < 1000)
		return xasprintf("%lldms", (long long)ms);
	int64_t s = ms / 1000, frac = ms % 1000;
	struct buf b = BUF_INIT;
	if (s >= 3600)
		buf_printf(&b, "%lldh", (long long)(s / 3600));
	if (s >= 60)
		buf_printf(&b, "%lldm", (long long)(s / 60 % 60));
	buf_printf(&b, "%lld", (long long)(s % 60));
	if (frac) {
		char f[8];
		snprintf(f, sizeof(f), "%03lld", (long long)frac);
		for (int i = 2; i > 0 && f[i] == '0'; i--)
			f[i] = 0;
		buf_printf(&b, ".%s", f);
	}
	buf_append_char(&b, 's');
	return buf_steal(&b);
}

/* net.JoinHostPort. */
static char *join_host_port(const char *host, int port)
{
	if (strchr(host, ':'))
		return xasprintf("[%s]:%d", host, port);
	return xasprintf("%s:%d", host, port);
}

/* "name_namespace(uid)", upstream's format.Pod. */
static char *pod_ref(const json_t *pod)
{
	const char *name = json_path_str(pod, "metadata.name");
	const char *ns = json_path_str(pod, "metadata.namespace");
	const char *uid = json_path_str(pod, "metadata.uid");
	return xasprintf("%s_%s(%s)", name ? name : "", ns ? ns : "", uid ? uid : "");
}

/* upstream's probe.ResolveContainerPort: a number, or a port name of the
 * container, or a number written as a string. Returns the port, or -1 with
 * *errmsg (new) in Go's words. */
static int resolve_port(const json_t *port, const json_t *cspec, char **errmsg)
{
	long long v = 0;
	if (json_is_string(port)) {
		const char *name = json_string_value(port);
		bool found = false;
		size_t i;
		const json_t *cp;
		json_array_foreach(json_object_get(cspec, "ports"), i, cp)
		{
			const char *n = json_string_value(json_object_get(cp, "name"));
			if (n && strcmp(n, name) == 0) {
				v = json_integer_value(json_object_get(cp, "containerPort"));
				found = true;
				break;
			}
		}
		if (!found) {
			/* strconv.Atoi: an optional sign and decimal digits */
			const char *d = name + (name[0] == '+' || name[0] == '-');
			bool digits = *d != 0;
			for (const char *q = d; *q; q++)
				digits = digits && *q >= '0' && *q <= '9';
			if (!digits) {
				cleanup_free char *q = go_quoted(name);
				*errmsg = xasprintf("strconv.Atoi: parsing %s: invalid syntax", q);
				return -1;
			}
			errno = 0;
			v = strtoll(name, NULL, 10);
			if (errno == ERANGE || strlen(d) > 18) {
				cleanup_free char *q = go_quoted(name);
				*errmsg = xasprintf("strconv.Atoi: parsing %s: value out of range",
						    q);
				return -1;
			}
		}
	} else {
		/* an absent port is Go's zero IntOrString: 0 */
		v = json_integer_value(port);
	}
	if (v > 0 && v < 65536)
		return (int)v;
	*errmsg = xasprintf("invalid port number: %lld", v);
	return -1;
}

/* The container's env as upstream's EnvVarsToMap: name -> value, "" for
 * valueFrom entries, the last one of a name wins. Borrowed strings. */
static const char *env_lookup(const json_t *env, const char *name, size_t len)
{
	const char *val = NULL;
	size_t i;
	const json_t *e;
	json_array_foreach(env, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && strlen(n) == len && strncmp(n, name, len) == 0) {
			const char *v = json_string_value(json_object_get(e, "value"));
			val = v ? v : "";
		}
	}
	return val;
}

/* upstream's expansion.Expand of $(VAR) with the container's static env:
 * "$$" is "$", an unknown $(VAR) and an unclosed "$(" stay as written. */
static char *expand_env(const char *in, const json_t *env)
{
	struct buf b = BUF_INIT;
	size_t len = strlen(in);
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '$' || i + 1 >= len) {
			buf_append_char(&b, in[i]);
			continue;
		}
		char next = in[i + 1];
		if (next == '$') {
			buf_append_char(&b, '$');
			i++;
		} else if (next == '(') {
			const char *close = strchr(in + i + 2, ')');
			if (!close) {
				buf_append_str(&b, "$(");
				i++;
				continue;
			}
			const char *name = in + i + 2;
			size_t nlen = (size_t)(close - name);
			const char *v = env_lookup(env, name, nlen);
			if (v) {
				buf_append_str(&b, v);
			} else {
				buf_append_str(&b, "$(");
				buf_append(&b, name, nlen);
				buf_append_char(&b, ')');
			}
			i = (size_t)(close - in);
		} else {
			buf_append_char(&b, '$');
			buf_append_char(&b, next);
			i++;
		}
	}
	if (b.len == 0)
		return xstrdup("");
	return buf_steal(&b);
}

/* A NULL-terminated argv from a JSON array of strings, or NULL when it is
 * not one (or empty). env: expand $(VAR) with it, NULL: as written. */
static char **argv_from_json(const json_t *cmd, const json_t *env, bool expand)
{
	if (!json_is_array(cmd) || json_array_size(cmd) == 0)
		return NULL;
	size_t n = json_array_size(cmd);
	char **argv = xcalloc(n + 1, sizeof(*argv));
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(cmd, i));
		if (!s) {
			for (size_t k = 0; k < i; k++)
				free(argv[k]);
			free(argv);
			return NULL;
		}
		argv[i] = expand ? expand_env(s, env) : xstrdup(s);
	}
	return argv;
}

static void argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

static char *argv_join(char *const *argv)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			buf_append_char(&b, ' ');
		buf_append_str(&b, argv[i]);
	}
	return b.len ? buf_steal(&b) : xstrdup("");
}

static void cleanup_argvp(char ***a)
{
	argv_free(*a);
}
#define cleanup_argv __attribute__((cleanup(cleanup_argvp)))

/* ---------------- probe outcomes ---------------- */

enum outcome_kind {
	OUT_SUCCESS,
	OUT_WARNING, /* success, with an event */
	OUT_FAILURE,
	OUT_ERROR, /* the probe could not be made: the result is thrown away */
};

struct outcome {
	enum outcome_kind kind;
	char *output;	       /* new string or NULL */
	const char *err_state; /* OUT_ERROR: "unknown" or "failure", as upstream names it */
};

static struct outcome outcome_make(enum outcome_kind kind, char *output)
{
	return (struct outcome){.kind = kind, .output = output, .err_state = "unknown"};
}

/* ---------------- HTTP over libcurl ---------------- */

struct http_sink {
	struct buf body;
	bool truncated;
	bool headers_done;
	bool tcp_connected; /* the socket had a peer when curl closed it */
	struct buf grpc_status, grpc_message, content_type;
	const struct cancel *cc;
};

static size_t http_body_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_sink *s = ud;
	size_t len = size * nmemb;
	s->headers_done = true;
	if (s->body.len + len > MAX_BODY) {
		/* upstream stops reading at the cap and probes on with what it has */
		buf_append(&s->body, ptr, MAX_BODY - s->body.len);
		s->truncated = true;
		return 0;
	}
	buf_append(&s->body, ptr, len);
	return len;
}

static void header_value(struct buf *dst, const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return;
	const char *v = line + nlen + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	buf_reset(dst);
	buf_append(dst, v, (size_t)(end - v));
}

/* Also sees HTTP/2 trailers, which is where gRPC puts its status. */
static size_t http_header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_sink *s = ud;
	size_t len = size * nmemb;
	if (len <= 2 && (ptr[0] == '\r' || ptr[0] == '\n'))
		s->headers_done = true;
	header_value(&s->grpc_status, ptr, len, "grpc-status");
	header_value(&s->grpc_message, ptr, len, "grpc-message");
	header_value(&s->content_type, ptr, len, "content-type");
	return len;
}

static int http_progress_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	struct http_sink *s = ud;
	return cancelled(s->cc) ? 1 : 0;
}

/* curl's "connect time" counts TLS too; Go's dial errors speak of TCP, so
 * ask the socket itself whether it got connected before closing it. */
static int http_close_cb(void *ud, curl_socket_t fd)
{
	struct http_sink *s = ud;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
		s->tcp_connected = true;
	return close(fd);
}

static void http_sink_free(struct http_sink *s)
{
	buf_free(&s->body);
	buf_free(&s->grpc_status);
	buf_free(&s->grpc_message);
	buf_free(&s->content_type);
}

static void cleanup_curlp(CURL **h)
{
	if (*h)
		curl_easy_cleanup(*h);
}
#define cleanup_curl __attribute__((cleanup(cleanup_curlp)))

static void cleanup_slistp(struct curl_slist **l)
{
	curl_slist_free_all(*l);
}
#define cleanup_slist __attribute__((cleanup(cleanup_slistp)))

/* Options every request shares: no proxy (upstream's probes ignore the
 * node's), no certificate checks, no signals from worker threads. */
static void curl_common(CURL *h, struct http_sink *s, char *errbuf, int64_t timeout_ms)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, http_progress_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, http_close_cb);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, s);
	if (timeout_ms < 1)
		timeout_ms = 1;
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
}

/* The cause of a failed transfer as Go's net/http words it. *in_body tells
 * that the headers had come: upstream's probe then counts the request as
 * made and the body read as the error. New string. */
static char *http_cause(CURL *h, CURLcode rc, const char *host, const char *hostport,
			const char *errbuf, const struct http_sink *s, bool *in_body)
{
	long oserr = 0;
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	*in_body = false;
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return xasprintf("dial tcp: lookup %s: no such host", host);
	case CURLE_COULDNT_CONNECT: {
		cleanup_free char *e = go_errno(oserr ? (int)oserr : ECONNREFUSED);
		return xasprintf("dial tcp %s: connect: %s", hostport, e);
	}
	case CURLE_OPERATION_TIMEDOUT:
		if (!s->tcp_connected)
			return xasprintf("dial tcp %s: i/o timeout (Client.Timeout exceeded while "
					 "awaiting headers)",
					 hostport);
		if (s->headers_done) {
			*in_body = true;
			return xstrdup("context deadline exceeded (Client.Timeout or context "
				       "cancellation while reading body)");
		}
		return xstrdup("context deadline exceeded (Client.Timeout exceeded while awaiting "
			       "headers)");
	case CURLE_SSL_CONNECT_ERROR:
		if (strstr(errbuf, "wrong version number") || strstr(errbuf, "packet length"))
			return xstrdup("http: server gave HTTP response to HTTPS client");
		return xasprintf("tls: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	case CURLE_GOT_NOTHING:
		return xstrdup("EOF");
	case CURLE_ABORTED_BY_CALLBACK:
		return xstrdup("context canceled");
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		*in_body = s->headers_done;
		if (oserr == ECONNRESET || oserr == EPIPE) {
			char *lip = NULL, *rip = NULL;
			long lport = 0, rport = 0;
			curl_easy_getinfo(h, CURLINFO_LOCAL_IP, &lip);
			curl_easy_getinfo(h, CURLINFO_LOCAL_PORT, &lport);
			curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &rip);
			curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &rport);
			cleanup_free char *l = join_host_port(lip ? lip : "", (int)lport);
			cleanup_free char *r = join_host_port(rip ? rip : "", (int)rport);
			cleanup_free char *e = go_errno((int)oserr);
			const char *op = rc == CURLE_RECV_ERROR ? "read" : "write";
			return xasprintf("%s tcp %s->%s: %s: %s", op, l, r, op, e);
		}
		return xstrdup(s->headers_done ? "unexpected EOF" : "EOF");
	default:
		return xstrdup(errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
}

/* Path as Go's url.URL.String() writes it after the host: "/" added before
 * a relative path, bytes that cannot stand in a URL escaped. */
static void url_path(struct buf *b, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	if (path[0] && path[0] != '/')
		buf_append_char(b, '/');
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\' ||
		    *p == '^' || *p == '`' || *p == '{' || *p == '|' || *p == '}') {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			buf_append(b, esc, 3);
		} else {
			buf_append_char(b, (char)*p);
		}
	}
}

/* Host part of an absolute URL, without IPv6 brackets, as Go's
 * URL.Hostname(). New string or NULL. */
static char *url_hostname(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *out = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		size_t n = strlen(host);
		if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
			out = xstrndup(host + 1, n - 2);
		else
			out = xstrdup(host);
	}
	curl_free(host);
	curl_url_cleanup(u);
	return out;
}

struct http_get {
	const char *scheme; /* "http" or "https" */
	const char *host;
	int port;
	const char *path;
	const json_t *headers;	/* httpHeaders: [{name, value}], borrowed */
	const char *user_agent; /* unless httpHeaders has one */
	bool only_same_host;	/* probes: a redirect elsewhere ends the chain */
	int64_t timeout_ms;	/* for the whole chain, as Go's Client.Timeout */
	const struct cancel *cc;
};

struct http_answer {
	long code;
	struct buf body; /* at most MAX_BODY bytes */
};

/* Header list as upstream's request builder makes it: the probe's
 * httpHeaders (a name may repeat), User-Agent and Accept unless given,
 * an empty Accept dropped, no Accept-Encoding, Connection: close. */
static struct curl_slist *http_header_list(const struct http_get *g)
{
	struct curl_slist *l = NULL;
	bool ua = false, accept = false;
	size_t i;
	const json_t *hdr;
	json_array_foreach(g->headers, i, hdr)
	{
		const char *name = json_string_value(json_object_get(hdr, "name"));
		const char *value = json_string_value(json_object_get(hdr, "value"));
		if (!name || !name[0])
			continue;
		if (!value)
			value = "";
		if (strcasecmp(name, "User-Agent") == 0)
			ua = true;
		if (strcasecmp(name, "Accept") == 0) {
			accept = true;
			if (!value[0]) {
				l = curl_slist_append(l, "Accept:");
				continue;
			}
		}
		/* curl sends "Name;" as a header with an empty value */
		cleanup_free char *line =
			value[0] ? xasprintf("%s: %s", name, value) : xasprintf("%s;", name);
		l = curl_slist_append(l, line);
	}
	if (!ua) {
		cleanup_free char *line = xasprintf("User-Agent: %s", g->user_agent);
		l = curl_slist_append(l, line);
	}
	if (!accept)
		l = curl_slist_append(l, "Accept: */*");
	l = curl_slist_append(l, "Connection: close");
	if (!l)
		abort(); /* allocation failure, as xmalloc */
	return l;
}

/* One GET with Go's redirect policy. Returns 0 with the last response in
 * *ans, or -1 with *errmsg (new): "Get \"<url>\": <cause>", or only the
 * cause when the body could not be read (*body_err set). */
static int http_get_run(const struct http_get *g, struct http_answer *ans, char **errmsg,
			bool *body_err)
{
	*body_err = false;
	cleanup_free char *hostport = join_host_port(g->host, g->port);
	struct buf url = BUF_INIT;
	buf_printf(&url, "%s://%s", g->scheme, hostport);
	url_path(&url, g->path);
	cleanup_free char *cur = buf_steal(&url);
	cleanup_free char *first_host = xstrdup(g->host);
	cleanup_slist struct curl_slist *hdrs = http_header_list(g);
	int64_t deadline = mono_ms() + g->timeout_ms;

	for (int nreq = 0;; nreq++) {
		cleanup_curl CURL *h = curl_easy_init();
		if (!h) {
			*errmsg = xstrdup("cannot create an HTTP client");
			return -1;
		}
		struct http_sink s = {.body = BUF_INIT, .cc = g->cc};
		char errbuf[CURL_ERROR_SIZE] = "";
		/* curl needs a path: Go's empty path asks for "/" as well */
		cleanup_free char *req_url = NULL;
		CURLU *u = curl_url();
		char *p = NULL;
		if (curl_url_set(u, CURLUPART_URL, cur, 0) == CURLUE_OK &&
		    curl_url_get(u, CURLUPART_URL, &p, 0) == CURLUE_OK)
			req_url = xstrdup(p);
		curl_free(p);
		curl_url_cleanup(u);
		if (!req_url) {
			cleanup_free char *q = go_quoted(cur);
			*errmsg = xasprintf("Get %s: invalid URL", q);
			http_sink_free(&s);
			return -1;
		}
		curl_common(h, &s, errbuf, deadline - mono_ms());
		curl_easy_setopt(h, CURLOPT_URL, req_url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		CURLcode rc = curl_easy_perform(h);
		if (rc == CURLE_WRITE_ERROR && s.truncated)
			rc = CURLE_OK;
		if (rc != CURLE_OK) {
			cleanup_free char *hn = url_hostname(cur);
			cleanup_free char *hp = NULL;
			if (nreq == 0) {
				hp = xstrdup(hostport);
			} else {
				/* a redirect target: named by what its URL says */
				CURLU *ru = curl_url();
				char *rport = NULL;
				curl_url_set(ru, CURLUPART_URL, cur, 0);
				if (curl_url_get(ru, CURLUPART_PORT, &rport, CURLU_DEFAULT_PORT) ==
				    CURLUE_OK)
					hp = join_host_port(hn ? hn : "", atoi(rport));
				else
					hp = xstrdup(hn ? hn : "");
				curl_free(rport);
				curl_url_cleanup(ru);
			}
			cleanup_free char *cause =
				http_cause(h, rc, hn ? hn : g->host, hp, errbuf, &s, body_err);
			if (*body_err) {
				*errmsg = steal_pointer(&cause);
			} else {
				cleanup_free char *q = go_quoted(cur);
				*errmsg = xasprintf("Get %s: %s", q, cause);
			}
			http_sink_free(&s);
			return -1;
		}
		long code = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		char *loc = NULL;
		curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
		bool redirect =
			(code == 301 || code == 302 || code == 303 || code == 307 || code == 308) &&
			loc && loc[0];
		if (redirect) {
			cleanup_free char *target_host = url_hostname(loc);
			if (g->only_same_host &&
			    (!target_host || strcmp(target_host, first_host) != 0))
				redirect = false; /* Go's ErrUseLastResponse: this answer stands */
		}
		if (!redirect) {
			ans->code = code;
			buf_free(&ans->body);
			ans->body = s.body;
			s.body = (struct buf)BUF_INIT;
			http_sink_free(&s);
			return 0;
		}
		cleanup_free char *next = xstrdup(loc);
		http_sink_free(&s);
		if (nreq + 1 >= MAX_REQUESTS) {
			cleanup_free char *q = go_quoted(next);
			*errmsg = xasprintf("Get %s: stopped after %d redirects", q, MAX_REQUESTS);
			return -1;
		}
		if (mono_ms() >= deadline) {
			cleanup_free char *q = go_quoted(next);
			*errmsg = xasprintf("Get %s: context deadline exceeded (Client.Timeout "
					    "exceeded while awaiting headers)",
					    q);
			return -1;
		}
		free(cur);
		cur = steal_pointer(&next);
	}
}

/* Scheme, host and port of an httpGet object; -1 with *errmsg (new). */
static int http_get_target(const json_t *hg, const json_t *cspec, const char *pod_ip, char **scheme,
			   const char **host, int *port, char **errmsg)
{
	const char *sch = json_string_value(json_object_get(hg, "scheme"));
	*scheme = xstrdup(sch && sch[0] ? sch : "http");
	for (char *c = *scheme; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	const char *h = json_string_value(json_object_get(hg, "host"));
	*host = h && h[0] ? h : pod_ip;
	*port = resolve_port(json_object_get(hg, "port"), cspec, errmsg);
	return *port < 0 ? -1 : 0;
}

static struct outcome probe_http(const json_t *hg, const json_t *cspec, const char *pod_ip,
				 int64_t timeout_ms, const struct cancel *cc)
{
	cleanup_free char *scheme = NULL;
	const char *host = NULL;
	int port;
	char *errmsg = NULL;
	if (http_get_target(hg, cspec, pod_ip, &scheme, &host, &port, &errmsg) < 0)
		return outcome_make(OUT_ERROR, errmsg);
	if (!host || !host[0])
		return outcome_make(OUT_ERROR, xstrdup("the pod has no IP address to probe"));
	const char *path = json_string_value(json_object_get(hg, "path"));
	struct http_get g = {
		.scheme = scheme,
		.host = host,
		.port = port,
		.path = path ? path : "",
		.headers = json_object_get(hg, "httpHeaders"),
		.user_agent = PROBE_UA,
		.only_same_host = true,
		.timeout_ms = timeout_ms,
		.cc = cc,
	};
	struct http_answer ans = {.body = BUF_INIT};
	bool body_err;
	if (http_get_run(&g, &ans, &errmsg, &body_err) < 0) {
		buf_free(&ans.body);
		if (body_err) {
			struct outcome o = outcome_make(OUT_ERROR, errmsg);
			o.err_state = "failure";
			return o;
		}
		return outcome_make(OUT_FAILURE, errmsg);
	}
	long code = ans.code;
	cleanup_free char *body = buf_steal(&ans.body);
	if (code >= 200 && code < 400) {
		if (code >= 300)
			return outcome_make(
				OUT_WARNING,
				xasprintf("Probe terminated redirects, Response body: %s", body));
		return outcome_make(OUT_SUCCESS, NULL);
	}
	return outcome_make(OUT_FAILURE, xasprintf("HTTP probe failed with statuscode: %ld", code));
}

/* ---------------- TCP ---------------- */

/* Connects to host:port within timeout_ms; 0, or -1 with *errmsg in Go's
 * net.Dial words. */
static int tcp_dial(const char *host, int port, int64_t timeout_ms, const struct cancel *cc,
		    char **errmsg)
{
	cleanup_free char *hp = join_host_port(host, port);
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, portstr, &hints, &ai) != 0 || !ai) {
		*errmsg = xasprintf("dial tcp: lookup %s: no such host", host);
		return -1;
	}
	int64_t deadline = mono_ms() + timeout_ms;
	cleanup_close int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cleanup_free char *e = go_errno(errno);
		freeaddrinfo(ai);
		*errmsg = xasprintf("dial tcp %s: socket: %s", hp, e);
		return -1;
	}
	int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	int err = rc == 0 ? 0 : errno;
	if (err == EINPROGRESS) {
		for (;;) {
			if (cancelled(cc)) {
				*errmsg = xasprintf("dial tcp %s: operation was canceled", hp);
				return -1;
			}
			int64_t left = deadline - mono_ms();
			if (left <= 0) {
				*errmsg = xasprintf("dial tcp %s: i/o timeout", hp);
				return -1;
			}
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			int n = poll(&pfd, 1, (int)(left < 100 ? left : 100));
			if (n < 0 && errno != EINTR) {
				err = errno;
				break;
			}
			if (n > 0) {
				socklen_t len = sizeof(err);
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
					err = errno;
				break;
			}
		}
	}
	if (err) {
		cleanup_free char *e = go_errno(err);
		*errmsg = xasprintf("dial tcp %s: connect: %s", hp, e);
		return -1;
	}
	return 0;
}

static struct outcome probe_tcp(const json_t *ts, const json_t *cspec, const char *pod_ip,
				int64_t timeout_ms, const struct cancel *cc)
{
	char *errmsg = NULL;
	int port = resolve_port(json_object_get(ts, "port"), cspec, &errmsg);
	if (port < 0)
		return outcome_make(OUT_ERROR, errmsg);
	const char *host = json_string_value(json_object_get(ts, "host"));
	if (!host || !host[0])
		host = pod_ip;
	if (!host || !host[0])
		return outcome_make(OUT_ERROR, xstrdup("the pod has no IP address to probe"));
	if (tcp_dial(host, port, timeout_ms, cc, &errmsg) < 0)
		return outcome_make(OUT_FAILURE, errmsg);
	return outcome_make(OUT_SUCCESS, NULL);
}

/* ---------------- gRPC health checking ---------------- */

/* grpc.health.v1.HealthCheckResponse.ServingStatus */
static const char *const serving_names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

/* google.golang.org/grpc/codes names, which upstream's messages print. */
static const char *const grpc_code_names[] = {
	"OK",
	"Canceled",
	"Unknown",
	"InvalidArgument",
	"DeadlineExceeded",
	"NotFound",
	"AlreadyExists",
	"PermissionDenied",
	"ResourceExhausted",
	"FailedPrecondition",
	"Aborted",
	"OutOfRange",
	"Unimplemented",
	"Internal",
	"Unavailable",
	"DataLoss",
	"Unauthenticated",
};

static char *grpc_code_name(long code)
{
	if (code >= 0 && code < (long)(sizeof(grpc_code_names) / sizeof(grpc_code_names[0])))
		return xstrdup(grpc_code_names[code]);
	return xasprintf("Code(%ld)", code);
}

/* A HealthCheckRequest in a gRPC length-prefixed message: field 1 (service,
 * string) only when not empty, as protobuf leaves out default values. */
static void grpc_request(struct buf *b, const char *service)
{
	size_t slen = strlen(service);
	struct buf msg = BUF_INIT;
	if (slen) {
		buf_append_char(&msg, 0x0a);
		size_t v = slen;
		while (v >= 0x80) {
			buf_append_char(&msg, (char)(0x80 | (v & 0x7f)));
			v >>= 7;
		}
		buf_append_char(&msg, (char)v);
		buf_append(&msg, service, slen);
	}
	unsigned char hdr[5] = {0, (unsigned char)(msg.len >> 24), (unsigned char)(msg.len >> 16),
				(unsigned char)(msg.len >> 8), (unsigned char)msg.len};
	buf_append(b, hdr, 5);
	if (msg.len)
		buf_append(b, msg.data, msg.len);
	buf_free(&msg);
}

static bool pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		unsigned char c = *(*p)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

/* The status of the first message of a gRPC response body: 0..3, or -1
 * when there is no well-formed HealthCheckResponse. A missing field is
 * UNKNOWN (0), protobuf's default. */
static int grpc_response_status(const unsigned char *data, size_t len)
{
	if (len < 5 || data[0] != 0)
		return -1;
	size_t mlen = (size_t)data[1] << 24 | (size_t)data[2] << 16 | (size_t)data[3] << 8 |
		      (size_t)data[4];
	if (mlen > len - 5)
		return -1;
	const unsigned char *p = data + 5, *end = p + mlen;
	uint64_t status = 0;
	while (p < end) {
		uint64_t key, v;
		if (!pb_varint(&p, end, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (!pb_varint(&p, end, &v))
				return -1;
			if (key >> 3 == 1)
				status = v;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 2:
			if (!pb_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return -1;
			p += v;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		default:
			return -1;
		}
	}
	return status <= 3 ? (int)status : 0;
}

/* grpc-message is percent-encoded on the wire. */
static char *percent_decode(const char *s)
{
	struct buf b = BUF_INIT;
	for (const char *p = s; *p; p++) {
		unsigned int v;
		if (p[0] == '%' && p[1] && p[2] && sscanf(p + 1, "%2x", &v) == 1) {
			buf_append_char(&b, (char)v);
			p += 2;
		} else {
			buf_append_char(&b, *p);
		}
	}
	return b.len ? buf_steal(&b) : xstrdup("");
}

/* grpc-go's mapping of a non-200 HTTP status to a gRPC code. */
static long grpc_code_of_http(long http)
{
	switch (http) {
	case 400:
		return 13; /* Internal */
	case 401:
		return 16; /* Unauthenticated */
	case 403:
		return 7; /* PermissionDenied */
	case 404:
		return 12; /* Unimplemented */
	case 429:
	case 502:
	case 503:
	case 504:
		return 14; /* Unavailable */
	default:
		return 2; /* Unknown */
	}
}

static const char *http_status_text(long code)
{
	switch (code) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "";
	}
}

/* The Check RPC as upstream's probe makes it with grpc-go: insecure, over
 * HTTP/2 with prior knowledge, dialing until the timeout (grpc.WithBlock)
 * so a closed port ends in a timeout. */
static struct outcome probe_grpc(const char *host, int port, const char *service,
				 int64_t timeout_ms, const struct cancel *cc)
{
	cleanup_free char *addr = join_host_port(host, port);
	cleanup_free char *qaddr = go_quoted(addr);
	cleanup_free char *dur = go_duration(timeout_ms);
	cleanup_free char *url = xasprintf("http://%s/grpc.health.v1.Health/Check", addr);
	cleanup_buf struct buf req = BUF_INIT;
	grpc_request(&req, service);
	int64_t deadline = mono_ms() + timeout_ms;
	int64_t backoff = 1000; /* grpc-go's first reconnect delay */

	for (;;) {
		cleanup_curl CURL *h = curl_easy_init();
		if (!h)
			return outcome_make(OUT_ERROR, xstrdup("cannot create an HTTP client"));
		struct http_sink s = {.body = BUF_INIT, .cc = cc};
		char errbuf[CURL_ERROR_SIZE] = "";
		int64_t left = deadline - mono_ms();
		curl_common(h, &s, errbuf, left);
		cleanup_slist struct curl_slist *hdrs = NULL;
		cleanup_free char *tmo =
			xasprintf("grpc-timeout: %lldm", (long long)(left > 0 ? left : 1));
		cleanup_free char *ua = xasprintf("User-Agent: %s", PROBE_UA);
		const char *lines[] = {"Content-Type: application/grpc",
				       "TE: trailers",
				       tmo,
				       ua,
				       "Accept:",
				       "Expect:"};
		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			struct curl_slist *n = curl_slist_append(hdrs, lines[i]);
			if (!n)
				abort();
			hdrs = n;
		}
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
				 (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req.len);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		CURLcode rc = curl_easy_perform(h);
		if (rc == CURLE_WRITE_ERROR && s.truncated)
			rc = CURLE_OK;
		if (rc == CURLE_ABORTED_BY_CALLBACK || cancelled(cc)) {
			http_sink_free(&s);
			return outcome_make(OUT_ERROR, xstrdup("context canceled"));
		}
		if (rc != CURLE_OK) {
			bool rpc_sent = s.tcp_connected && rc == CURLE_OPERATION_TIMEDOUT;
			bool got_answer = s.headers_done;
			http_sink_free(&s);
			if (rpc_sent)
				return outcome_make(
					OUT_FAILURE,
					xasprintf("timeout: health rpc did not complete "
						  "within %s",
						  dur));
			if (got_answer) {
				return outcome_make(
					OUT_FAILURE,
					xasprintf(
						"error: health rpc probe failed: rpc error: code = "
						"Unavailable desc = %s",
						errbuf[0] ? errbuf : curl_easy_strerror(rc)));
			}
			/* not connected yet: grpc-go keeps dialing until the deadline */
			int64_t now = mono_ms();
			if (now + backoff < deadline && sleep_until(now + backoff, cc)) {
				backoff = backoff * 16 / 10;
				continue;
			}
			sleep_until(deadline, cc);
			return outcome_make(
				OUT_FAILURE,
				xasprintf("timeout: failed to connect service %s within "
					  "%s: context deadline exceeded",
					  qaddr, dur));
		}
		long http = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
		long code = -1;
		cleanup_free char *desc = NULL;
		bool is_grpc = strncmp(buf_str(&s.content_type), "application/grpc", 16) == 0;
		if (http != 200 || !is_grpc) {
			struct buf m = BUF_INIT;
			code = http == 200 ? 13 : grpc_code_of_http(http);
			if (http != 200)
				buf_printf(&m,
					   "unexpected HTTP status code received from server: %ld "
					   "(%s)",
					   http, http_status_text(http));
			if (!is_grpc) {
				cleanup_free char *q = go_quoted(buf_str(&s.content_type));
				buf_printf(&m, "%stransport: received unexpected content-type %s",
					   m.len ? "; " : "", q);
			}
			desc = buf_steal(&m);
		} else if (s.grpc_status.len) {
			code = strtol(buf_str(&s.grpc_status), NULL, 10);
			desc = percent_decode(buf_str(&s.grpc_message));
		} else {
			code = 13;
			desc = xstrdup("server closed the stream without sending trailers");
		}
		int status = code == 0
				     ? grpc_response_status((const unsigned char *)buf_str(&s.body),
							    s.body.len)
				     : -1;
		http_sink_free(&s);
		if (code == 0 && status < 0) {
			code = 13;
			free(desc);
			desc = xstrdup("grpc: failed to unmarshal the received message");
		}
		if (code != 0) {
			cleanup_free char *name = grpc_code_name(code);
			if (code == 12)
				return outcome_make(
					OUT_FAILURE,
					xasprintf("error: this server does not implement "
						  "the grpc health protocol "
						  "(grpc.health.v1.Health): %s",
						  desc));
			if (code == 4)
				return outcome_make(
					OUT_FAILURE,
					xasprintf("timeout: health rpc did not complete "
						  "within %s",
						  dur));
			return outcome_make(OUT_FAILURE,
					    xasprintf("error: health rpc probe failed: rpc error: "
						      "code = %s desc = %s",
						      name, desc));
		}
		if (status != 1)
			return outcome_make(OUT_FAILURE,
					    xasprintf("service unhealthy (responded with \"%s\")",
						      serving_names[status]));
		return outcome_make(OUT_SUCCESS, xstrdup("service healthy"));
	}
}

/* ---------------- exec ---------------- */

static struct outcome probe_exec(probes_exec_fn exec, void *arg, const char *container_id,
				 const json_t *ex, const json_t *cspec, int64_t timeout_ms)
{
	cleanup_argv char **argv =
		argv_from_json(json_object_get(ex, "command"), json_object_get(cspec, "env"), true);
	if (!argv)
		return outcome_make(OUT_ERROR, xstrdup("exec probe without a command"));
	if (!exec)
		return outcome_make(OUT_ERROR, xstrdup("exec probes are not available"));
	int code = -1;
	char *output = NULL;
	cleanup_err struct mk_err *e = NULL;
	if (exec(arg, container_id, argv, timeout_ms, &code, &output, &e) < 0) {
		free(output);
		if (mk_err_code(e) == MK_ETIMEOUT) {
			cleanup_free char *cmd = argv_join(argv);
			cleanup_free char *q = go_quoted(cmd);
			return outcome_make(OUT_FAILURE, xasprintf("command %s timed out", q));
		}
		return outcome_make(OUT_ERROR, xstrdup(e ? mk_err_msg(e) : "exec failed"));
	}
	if (!output)
		output = xstrdup("");
	if (strlen(output) > MAX_BODY)
		output[MAX_BODY] = 0;
	return outcome_make(code == 0 ? OUT_SUCCESS : OUT_FAILURE, output);
}

/* ---------------- the prober ---------------- */

enum job_state {
	JOB_IDLE,    /* waiting for startup, or on hold after a final result */
	JOB_HEAP,    /* timer set */
	JOB_QUEUED,  /* due, waiting for a worker */
	JOB_RUNNING, /* a worker has it: the worker frees it if it was removed */
};

/* Result last told to the kubelet per type; NONE before the first one. */
#define REP_NONE (-1)

struct pctr;

struct pjob {
	struct pctr *c;
	enum probe_type type;
	const json_t *probe; /* in c->spec; NULL: a startup that passes at once */
	int64_t delay_s, period_ms, timeout_ms;
	int success_threshold, failure_threshold;
	enum job_state state;
	bool hold;	     /* after this run: stay idle */
	bool start_siblings; /* after this run: schedule liveness and readiness */
	int64_t due;	     /* monotonic ms */
	size_t heap_idx;
	struct pjob *qnext; /* run queue */
	int last;	    /* result of the last run, REP_NONE before the first */
	int run;	    /* runs in a row with that result */
	bool removed;
	atomic_int cancel;
};

struct pctr {
	char *uid, *name, *id, *pod_ip;
	json_t *spec; /* copy of the container's spec */
	time_t started_at;
	int rep[NTYPES];
	struct pjob *jobs[NTYPES];
	int refs;      /* jobs alive + prober_remove callers waiting */
	int reporting; /* callbacks about it running now */
	bool removed;
	struct pctr *next;
};

struct prober {
	struct prober_callbacks cb;
	pthread_mutex_t mu;
	pthread_cond_t sched_cv, work_cv, done_cv;
	bool stop;
	atomic_int stopping;
	struct pjob **heap;
	size_t nheap, capheap;
	struct pjob *qhead, *qtail;
	struct pctr *ctrs;
	pthread_t sched;
	bool sched_started;
	pthread_t *workers;
	int nworkers; /* started */
};

/* Set on a worker thread while it runs callbacks: prober_remove from there
 * must not wait for callbacks, its own among them. */
static __thread bool in_callback;

const char *probe_type_name(enum probe_type t)
{
	switch (t) {
	case PROBE_LIVENESS:
		return "Liveness";
	case PROBE_READINESS:
		return "Readiness";
	case PROBE_STARTUP:
		return "Startup";
	}
	return "Unknown";
}

static void heap_swap(struct prober *p, size_t a, size_t b)
{
	struct pjob *t = p->heap[a];
	p->heap[a] = p->heap[b];
	p->heap[b] = t;
	p->heap[a]->heap_idx = a;
	p->heap[b]->heap_idx = b;
}

static void heap_up(struct prober *p, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (p->heap[parent]->due <= p->heap[i]->due)
			break;
		heap_swap(p, i, parent);
		i = parent;
	}
}

static void heap_down(struct prober *p, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < p->nheap && p->heap[l]->due < p->heap[m]->due)
			m = l;
		if (r < p->nheap && p->heap[r]->due < p->heap[m]->due)
			m = r;
		if (m == i)
			return;
		heap_swap(p, i, m);
		i = m;
	}
}

static void heap_push(struct prober *p, struct pjob *j, int64_t due)
{
	if (p->nheap == p->capheap) {
		p->capheap = p->capheap ? p->capheap * 2 : 16;
		p->heap = xrealloc(p->heap, p->capheap * sizeof(*p->heap));
	}
	j->due = due;
	j->state = JOB_HEAP;
	j->heap_idx = p->nheap;
	p->heap[p->nheap++] = j;
	heap_up(p, j->heap_idx);
	pthread_cond_signal(&p->sched_cv);
}

static void heap_remove(struct prober *p, struct pjob *j)
{
	size_t i = j->heap_idx;
	p->nheap--;
	if (i != p->nheap) {
		heap_swap(p, i, p->nheap);
		heap_down(p, i);
		heap_up(p, i);
	}
	j->state = JOB_IDLE;
}

static void queue_push(struct prober *p, struct pjob *j)
{
	j->qnext = NULL;
	j->state = JOB_QUEUED;
	if (p->qtail)
		p->qtail->qnext = j;
	else
		p->qhead = j;
	p->qtail = j;
	pthread_cond_signal(&p->work_cv);
}

static void queue_unlink(struct prober *p, struct pjob *j)
{
	struct pjob **pp = &p->qhead, *prev = NULL;
	while (*pp && *pp != j) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (!*pp)
		return;
	*pp = j->qnext;
	if (p->qtail == j)
		p->qtail = prev;
	j->state = JOB_IDLE;
}

static void ctr_unref(struct prober *p, struct pctr *c)
{
	(void)p;
	if (--c->refs > 0)
		return;
	free(c->uid);
	free(c->name);
	free(c->id);
	free(c->pod_ip);
	json_decref(c->spec);
	free(c);
}

static void job_free(struct prober *p, struct pjob *j)
{
	struct pctr *c = j->c;
	if (c->jobs[j->type] == j)
		c->jobs[j->type] = NULL;
	free(j);
	ctr_unref(p, c);
}

/* Monotonic time of wall-clock second `wall` (plus extra_s). */
static int64_t due_after_start(time_t wall, int64_t extra_s)
{
	int64_t now = mono_ms();
	int64_t at = now + ((int64_t)wall + extra_s) * 1000 - real_ms();
	return at > now ? at : now;
}

/* Takes c (and its jobs) out of the table; frees what no worker holds. */
static void ctr_detach(struct prober *p, struct pctr *c)
{
	for (struct pctr **pp = &p->ctrs; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	c->removed = true;
	c->refs++; /* the last job_free must not take c from under the loop */
	for (int t = 0; t < NTYPES; t++) {
		struct pjob *j = c->jobs[t];
		if (!j)
			continue;
		j->removed = true;
		atomic_store(&j->cancel, 1);
		if (j->state == JOB_HEAP)
			heap_remove(p, j);
		else if (j->state == JOB_QUEUED)
			queue_unlink(p, j);
		if (j->state != JOB_RUNNING)
			job_free(p, j);
	}
	ctr_unref(p, c);
}

/* Waits until no callback about c runs on another thread; c must be held
 * by a reference. */
static void ctr_wait_quiet(struct prober *p, struct pctr *c)
{
	if (in_callback)
		return;
	while (c->reporting > 0)
		pthread_cond_wait(&p->done_cv, &p->mu);
}

static void remove_matching(struct prober *p, const char *uid, const char *name)
{
	if (!p || !uid)
		return;
	pthread_mutex_lock(&p->mu);
	bool again = true;
	while (again) {
		again = false;
		for (struct pctr *c = p->ctrs; c; c = c->next) {
			if (strcmp(c->uid, uid) != 0 || (name && strcmp(c->name, name) != 0))
				continue;
			c->refs++;
			ctr_detach(p, c);
			ctr_wait_quiet(p, c);
			ctr_unref(p, c);
			again = true; /* the list may have changed while waiting */
			break;
		}
	}
	pthread_mutex_unlock(&p->mu);
}

void prober_remove(struct prober *p, const char *pod_uid, const char *container)
{
	if (container)
		remove_matching(p, pod_uid, container);
}

void prober_remove_pod(struct prober *p, const char *pod_uid)
{
	remove_matching(p, pod_uid, NULL);
}

/* One timing field: absent or 0 is the default (Go's zero value is what
 * the API server defaults); a negative or non-integer value is refused. */
static int probe_field(const json_t *probe, const char *key, int64_t def, int64_t min, int64_t *out,
		       struct mk_err **err)
{
	const json_t *v = json_object_get(probe, key);
	if (!v || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 0)) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min)
		return mk_err_set(err, MK_EINVAL, "%s: must be an integer of at least %lld", key,
				  (long long)min);
	*out = json_integer_value(v);
	return 0;
}

/* Checks a probe and fills the job's timing. */
static int probe_parse(const json_t *probe, enum probe_type type, struct pjob *j,
		       struct mk_err **err)
{
	if (!json_is_object(probe))
		return mk_err_set(err, MK_EINVAL, "must be an object");
	static const char *const handlers[] = {"exec", "httpGet", "tcpSocket", "grpc"};
	int n = 0;
	for (size_t i = 0; i < 4; i++) {
		const json_t *h = json_object_get(probe, handlers[i]);
		if (!h || json_is_null(h))
			continue;
		if (!json_is_object(h))
			return mk_err_set(err, MK_EINVAL, "%s: must be an object", handlers[i]);
		n++;
	}
	if (n != 1)
		return mk_err_set(err, MK_EINVAL,
				  "must have exactly one handler (exec, httpGet, "
				  "tcpSocket or grpc), has %d",
				  n);
	const json_t *ex = json_object_get(probe, "exec");
	if (json_is_object(ex)) {
		char **argv = argv_from_json(json_object_get(ex, "command"), NULL, false);
		if (!argv)
			return mk_err_set(err, MK_EINVAL,
					  "exec.command: must be a non-empty list of strings");
		argv_free(argv);
	}
	const json_t *g = json_object_get(probe, "grpc");
	if (json_is_object(g)) {
		json_int_t port = json_integer_value(json_object_get(g, "port"));
		if (port <= 0 || port > 65535)
			return mk_err_set(err, MK_EINVAL, "grpc.port: must be between 1 and 65535");
		const json_t *svc = json_object_get(g, "service");
		if (svc && !json_is_null(svc) && !json_is_string(svc))
			return mk_err_set(err, MK_EINVAL, "grpc.service: must be a string");
	}
	int64_t timeout_s, period_s, st, ft;
	if (probe_field(probe, "initialDelaySeconds", 0, 0, &j->delay_s, err) < 0 ||
	    probe_field(probe, "timeoutSeconds", 1, 1, &timeout_s, err) < 0 ||
	    probe_field(probe, "periodSeconds", 10, 1, &period_s, err) < 0 ||
	    probe_field(probe, "successThreshold", 1, 1, &st, err) < 0 ||
	    probe_field(probe, "failureThreshold", 3, 1, &ft, err) < 0)
		return -1;
	if (type != PROBE_READINESS && st != 1)
		return mk_err_set(err, MK_EINVAL, "successThreshold: must be 1");
	j->timeout_ms = timeout_s * 1000;
	j->period_ms = period_s * 1000;
	j->success_threshold = (int)(st > INT32_MAX ? INT32_MAX : st);
	j->failure_threshold = (int)(ft > INT32_MAX ? INT32_MAX : ft);
	return 0;
}

static const char *const probe_keys[NTYPES] = {
	[PROBE_LIVENESS] = "livenessProbe",
	[PROBE_READINESS] = "readinessProbe",
	[PROBE_STARTUP] = "startupProbe",
};

int prober_add(struct prober *p, const json_t *pod, const char *container, const char *container_id,
	       const char *pod_ip, time_t started_at, struct mk_err **err)
{
	const char *uid = json_path_str(pod, "metadata.uid");
	if (!uid || !uid[0])
		return mk_err_set(err, MK_EINVAL, "pod without metadata.uid");
	if (!container || !container_id)
		return mk_err_set(err, MK_EINVAL, "container name and id are required");
	const json_t *cspec = podspec_container(json_object_get(pod, "spec"), container);
	if (!cspec)
		return mk_err_set(err, MK_ENOTFOUND, "pod %s has no container %s", uid, container);
	bool deleting = json_path_get(pod, "metadata.deletionTimestamp") &&
			!json_is_null(json_path_get(pod, "metadata.deletionTimestamp"));

	struct pctr *c = xcalloc(1, sizeof(*c));
	c->uid = xstrdup(uid);
	c->name = xstrdup(container);
	c->id = xstrdup(container_id);
	c->pod_ip = xstrdup(pod_ip ? pod_ip : "");
	c->spec = json_copy_deep(cspec);
	c->started_at = started_at;
	c->rep[PROBE_STARTUP] = REP_NONE;
	c->rep[PROBE_READINESS] = PROBE_FAILURE;
	c->rep[PROBE_LIVENESS] = PROBE_SUCCESS;
	for (int t = 0; t < NTYPES; t++) {
		const json_t *probe = json_object_get(c->spec, probe_keys[t]);
		if (json_is_null(probe))
			probe = NULL;
		/* a pod being deleted is not restarted for liveness: upstream
		 * counts its liveness and startup as passed */
		if (deleting && t != PROBE_READINESS)
			probe = NULL;
		if (!probe && t != PROBE_STARTUP)
			continue;
		struct pjob *j = xcalloc(1, sizeof(*j));
		j->c = c;
		j->type = (enum probe_type)t;
		j->probe = probe;
		j->last = REP_NONE;
		j->state = JOB_IDLE;
		j->success_threshold = j->failure_threshold = 1;
		atomic_init(&j->cancel, 0);
		c->jobs[t] = j;
		c->refs++;
		if (probe && probe_parse(probe, j->type, j, err) < 0) {
			mk_err_wrap(err, "container %s: %s", container, probe_keys[t]);
			for (int k = 0; k < NTYPES; k++) {
				free(c->jobs[k]);
				c->jobs[k] = NULL;
			}
			c->refs = 1;
			ctr_unref(p, c);
			return -1;
		}
	}

	pthread_mutex_lock(&p->mu);
	/* the old instance goes first, with its callbacks in flight, so the
	 * kubelet never hears of it after hearing of the new one */
	bool again = true;
	while (again) {
		again = false;
		for (struct pctr *o = p->ctrs; o; o = o->next) {
			if (strcmp(o->uid, uid) == 0 && strcmp(o->name, container) == 0) {
				o->refs++;
				ctr_detach(p, o);
				ctr_wait_quiet(p, o);
				ctr_unref(p, o);
				again = true;
				break;
			}
		}
	}
	c->next = p->ctrs;
	p->ctrs = c;
	struct pjob *s = c->jobs[PROBE_STARTUP];
	heap_push(p, s, s->probe ? due_after_start(started_at, s->delay_s) : mono_ms());
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* What one run tells the kubelet: results and events, in order. */
struct report {
	bool is_event;
	enum probe_type type;
	enum probe_result r;
	const char *reason;
	char *msg; /* owned */
};

#define MAX_REPORTS 4

static void report_add(struct report *reps, int *n, bool is_event, enum probe_type type,
		       enum probe_result r, const char *reason, char *msg)
{
	if (*n >= MAX_REPORTS) {
		free(msg);
		return;
	}
	reps[(*n)++] = (struct report){
		.is_event = is_event, .type = type, .r = r, .reason = reason, .msg = msg};
}

/* Applies a run's outcome to j and its container (p->mu held): counts it
 * against the thresholds, decides what to report and where j goes next. */
static int job_settle(struct pjob *j, const struct outcome *o, struct report *reps)
{
	struct pctr *c = j->c;
	const char *tname = probe_type_name(j->type);
	const char *out = o->output ? o->output : "";
	int n = 0;
	int64_t now = mono_ms();
	enum probe_result r;

	j->hold = false;
	switch (o->kind) {
	case OUT_ERROR:
		report_add(reps, &n, true, j->type, PROBE_FAILURE, PROBES_REASON_UNHEALTHY,
			   xasprintf("%s probe errored and resulted in %s state: %s", tname,
				     o->err_state, out));
		goto next;
	case OUT_WARNING:
		report_add(reps, &n, true, j->type, PROBE_SUCCESS, PROBES_REASON_PROBE_WARNING,
			   xasprintf("%s probe warning: %s", tname, out));
		r = PROBE_SUCCESS;
		break;
	case OUT_FAILURE:
		report_add(reps, &n, true, j->type, PROBE_FAILURE, PROBES_REASON_UNHEALTHY,
			   xasprintf("%s probe failed: %s", tname, out));
		r = PROBE_FAILURE;
		break;
	case OUT_SUCCESS:
	default:
		r = PROBE_SUCCESS;
		break;
	}
	if (j->last == (int)r) {
		j->run++;
	} else {
		j->last = (int)r;
		j->run = 1;
	}
	if ((r == PROBE_FAILURE && j->run < j->failure_threshold) ||
	    (r == PROBE_SUCCESS && j->run < j->success_threshold))
		goto next;
	if (c->rep[j->type] != (int)r) {
		c->rep[j->type] = (int)r;
		report_add(reps, &n, false, j->type, r, NULL,
			   r == PROBE_FAILURE ? xasprintf("%s probe failed: %s", tname, out)
					      : NULL);
	}
	if (j->type == PROBE_STARTUP || (j->type == PROBE_LIVENESS && r == PROBE_FAILURE)) {
		/* final for this instance: wait for the next one */
		j->hold = true;
		j->run = 0;
	}
	if (j->type == PROBE_STARTUP && r == PROBE_SUCCESS) {
		/* liveness and readiness start once this run's reports are out,
		 * so Startup SUCCESS always comes first */
		j->start_siblings = true;
		if (!c->jobs[PROBE_READINESS] && c->rep[PROBE_READINESS] != PROBE_SUCCESS) {
			c->rep[PROBE_READINESS] = PROBE_SUCCESS;
			report_add(reps, &n, false, PROBE_READINESS, PROBE_SUCCESS, NULL, NULL);
		}
	}
next:
	if (!j->hold) {
		int64_t due = j->due + j->period_ms;
		j->due = due > now ? due : now;
	}
	return n;
}

static struct outcome job_probe(struct prober *p, struct pjob *j)
{
	struct pctr *c = j->c;
	if (!j->probe)
		return outcome_make(OUT_SUCCESS, NULL);
	struct cancel cc = {.job = &j->cancel, .all = &p->stopping};
	const json_t *h;
	if ((h = json_object_get(j->probe, "exec")) && json_is_object(h))
		return probe_exec(p->cb.exec, p->cb.arg, c->id, h, c->spec, j->timeout_ms);
	if ((h = json_object_get(j->probe, "httpGet")) && json_is_object(h))
		return probe_http(h, c->spec, c->pod_ip, j->timeout_ms, &cc);
	if ((h = json_object_get(j->probe, "tcpSocket")) && json_is_object(h))
		return probe_tcp(h, c->spec, c->pod_ip, j->timeout_ms, &cc);
	if ((h = json_object_get(j->probe, "grpc")) && json_is_object(h)) {
		if (!c->pod_ip[0])
			return outcome_make(OUT_ERROR,
					    xstrdup("the pod has no IP address to probe"));
		const char *svc = json_string_value(json_object_get(h, "service"));
		return probe_grpc(c->pod_ip, (int)json_integer_value(json_object_get(h, "port")),
				  svc ? svc : "", j->timeout_ms, &cc);
	}
	return outcome_make(OUT_ERROR, xasprintf("missing probe handler for %s", c->name));
}

/* Runs the callbacks of one run without the lock. A report is dropped once
 * the container was removed, also by one of these callbacks. */
static void deliver(struct prober *p, struct pjob *j, struct report *reps, int n)
{
	struct pctr *c = j->c;
	in_callback = true;
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&p->mu);
		bool gone = j->removed || p->stop;
		pthread_mutex_unlock(&p->mu);
		if (gone)
			break;
		if (reps[i].is_event) {
			if (p->cb.event)
				p->cb.event(p->cb.arg, c->uid, c->name, reps[i].type,
					    reps[i].reason, reps[i].msg);
		} else {
			p->cb.result(p->cb.arg, c->uid, c->name, reps[i].type, reps[i].r,
				     reps[i].msg);
		}
	}
	in_callback = false;
}

static void *worker_main(void *arg)
{
	struct prober *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && !p->qhead)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->stop)
			break;
		struct pjob *j = p->qhead;
		p->qhead = j->qnext;
		if (!p->qhead)
			p->qtail = NULL;
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&p->mu);

		/* the job's probe spec and container data do not change while
		 * it lives, so the probe runs without the lock */
		struct outcome o = job_probe(p, j);

		pthread_mutex_lock(&p->mu);
		struct report reps[MAX_REPORTS];
		int n = 0;
		if (!j->removed && !p->stop)
			n = job_settle(j, &o, reps);
		free(o.output);
		if (n > 0) {
			j->c->reporting++;
			pthread_mutex_unlock(&p->mu);
			deliver(p, j, reps, n);
			for (int i = 0; i < n; i++)
				free(reps[i].msg);
			pthread_mutex_lock(&p->mu);
			j->c->reporting--;
			pthread_cond_broadcast(&p->done_cv);
		}
		if (j->start_siblings && !j->removed && !p->stop) {
			struct pctr *c = j->c;
			for (int t = 0; t < NTYPES; t++) {
				struct pjob *sib = c->jobs[t];
				if (t == PROBE_STARTUP || !sib || sib->state != JOB_IDLE)
					continue;
				heap_push(p, sib, due_after_start(c->started_at, sib->delay_s));
			}
		}
		j->start_siblings = false;
		if (j->removed)
			job_free(p, j);
		else if (j->hold || p->stop)
			j->state = JOB_IDLE;
		else
			heap_push(p, j, j->due);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void *sched_main(void *arg)
{
	struct prober *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		if (p->nheap == 0) {
			pthread_cond_wait(&p->sched_cv, &p->mu);
			continue;
		}
		struct pjob *top = p->heap[0];
		int64_t now = mono_ms();
		if (top->due <= now) {
			heap_remove(p, top);
			queue_push(p, top);
			continue;
		}
		struct timespec ts = {.tv_sec = top->due / 1000,
				      .tv_nsec = (top->due % 1000) * 1000000};
		pthread_cond_timedwait(&p->sched_cv, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct prober *prober_new(const struct prober_callbacks *cb, struct mk_err **err)
{
	if (!cb || !cb->result)
		return mk_err_set(err, MK_EINVAL, "prober: a result callback is required"), NULL;
	CURLcode crc = curl_global_init(CURL_GLOBAL_ALL);
	if (crc != CURLE_OK)
		return mk_err_set(err, MK_EIO, "initializing libcurl: %s", curl_easy_strerror(crc)),
		       NULL;
	struct prober *p = xcalloc(1, sizeof(*p));
	p->cb = *cb;
	int nw = cb->workers > 0 ? cb->workers : 4;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->sched_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	atomic_init(&p->stopping, 0);
	p->workers = xcalloc((size_t)nw, sizeof(*p->workers));
	int rc = pthread_create(&p->sched, NULL, sched_main, p);
	if (rc == 0) {
		p->sched_started = true;
		pthread_setname_np(p->sched, "prober-sched");
		for (; p->nworkers < nw; p->nworkers++) {
			rc = pthread_create(&p->workers[p->nworkers], NULL, worker_main, p);
			if (rc != 0)
				break;
			char name[16];
			snprintf(name, sizeof(name), "prober-work-%d", p->nworkers % 100);
			pthread_setname_np(p->workers[p->nworkers], name);
		}
	}
	if (rc != 0) {
		mk_err_errno(err, MK_EIO, rc, "prober: starting a thread");
		prober_free(p);
		return NULL;
	}
	return p;
}

void prober_free(struct prober *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	atomic_store(&p->stopping, 1);
	pthread_cond_broadcast(&p->sched_cv);
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	if (p->sched_started)
		pthread_join(p->sched, NULL);
	for (int i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	while (p->ctrs)
		ctr_detach(p, p->ctrs);
	free(p->heap);
	free(p->workers);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->sched_cv);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	free(p);
	curl_global_cleanup();
}

/* ---------------- lifecycle hooks ---------------- */

static int hook_fail(char **message, struct mk_err **err, int code, char *msg)
{
	int rc = mk_err_set(err, code, "%s", msg);
	if (message)
		*message = msg;
	else
		free(msg);
	return rc;
}

int probes_run_handler(const json_t *handler, const json_t *pod, const char *container,
		       const char *container_id, const char *pod_ip, int64_t timeout_ms,
		       probes_exec_fn exec, void *exec_arg, char **message, struct mk_err **err)
{
	if (message)
		*message = NULL;
	cleanup_free char *podname = pod_ref(pod);
	cleanup_free char *qpod = go_quoted(podname);
	cleanup_free char *qctr = go_quoted(container ? container : "");
	const json_t *cspec =
		container ? podspec_container(json_object_get(pod, "spec"), container) : NULL;
	const json_t *ex = json_object_get(handler, "exec");
	const json_t *hg = json_object_get(handler, "httpGet");
	const json_t *sl = json_object_get(handler, "sleep");
	cleanup_argv char **argv =
		json_is_object(ex) ? argv_from_json(json_object_get(ex, "command"), NULL, false)
				   : NULL;

	if (json_is_object(ex) && argv && exec) {
		cleanup_free char *cmd = argv_join(argv);
		int code = -1;
		cleanup_free char *output = NULL;
		cleanup_err struct mk_err *e = NULL;
		int rc = exec(exec_arg, container_id, argv, timeout_ms, &code, &output, &e);
		if (rc == 0 && code == 0)
			return 0;
		if (!output)
			output = xstrdup("");
		if (strlen(output) > MAX_BODY)
			output[MAX_BODY] = 0;
		cleanup_free char *why = NULL;
		int ecode = MK_EIO;
		if (rc == 0) {
			why = xasprintf("command '%s' exited with %d: %s", cmd, code, output);
		} else if (mk_err_code(e) == MK_ETIMEOUT) {
			cleanup_free char *q = go_quoted(cmd);
			why = xasprintf("command %s timed out", q);
			ecode = MK_ETIMEOUT;
		} else {
			why = xstrdup(e ? mk_err_msg(e) : "exec failed");
		}
		cleanup_free char *qout = go_quoted(output);
		return hook_fail(message, err, ecode,
				 xasprintf("Exec lifecycle hook ([%s]) for Container %s in Pod %s "
					   "failed - error: %s, message: %s",
					   cmd, qctr, qpod, why, qout));
	}
	if (json_is_object(hg)) {
		const char *path = json_string_value(json_object_get(hg, "path"));
		cleanup_free char *scheme = NULL;
		const char *host = NULL;
		int port;
		char *why = NULL;
		int ecode = MK_EIO;
		if (http_get_target(hg, cspec, pod_ip, &scheme, &host, &port, &why) == 0) {
			if (!host || !host[0]) {
				why = xstrdup("failed to find networking container: the pod has no "
					      "IP address");
			} else {
				struct http_get g = {
					.scheme = scheme,
					.host = host,
					.port = port,
					.path = path ? path : "",
					.headers = json_object_get(hg, "httpHeaders"),
					.user_agent = LIFECYCLE_UA,
					.only_same_host = false,
					.timeout_ms = timeout_ms > 0 ? timeout_ms : INT32_MAX,
					.cc = NULL,
				};
				struct http_answer ans = {.body = BUF_INIT};
				bool body_err;
				int rc = http_get_run(&g, &ans, &why, &body_err);
				buf_free(&ans.body);
				/* a body that cannot be read is not an error for a hook */
				if (rc == 0 || body_err) {
					free(why);
					return 0;
				}
				if (strstr(why, "Client.Timeout exceeded"))
					ecode = MK_ETIMEOUT;
			}
		}
		cleanup_free char *w = why;
		return hook_fail(message, err, ecode,
				 xasprintf("HTTP lifecycle hook (%s) for Container %s in Pod %s "
					   "failed - error: %s",
					   path ? path : "", qctr, qpod, w));
	}
	if (json_is_object(sl) && json_is_integer(json_object_get(sl, "seconds")) &&
	    json_integer_value(json_object_get(sl, "seconds")) >= 0) {
		int64_t secs = json_integer_value(json_object_get(sl, "seconds"));
		int64_t start = mono_ms();
		if (timeout_ms <= 0 || secs * 1000 <= timeout_ms) {
			sleep_until(start + secs * 1000, NULL);
			return 0;
		}
		sleep_until(start + timeout_ms, NULL);
		return hook_fail(message, err, MK_ETIMEOUT,
				 xasprintf("Sleep lifecycle hook (%lld) for Container %s in Pod %s "
					   "failed - error: container terminated before sleep hook "
					   "finished",
					   (long long)secs, qctr, qpod));
	}
	cleanup_free char *dump = handler ? json_dump_compact(handler) : xstrdup("null");
	if (json_is_object(ex) && argv && !exec)
		return hook_fail(message, err, MK_EINVAL,
				 xstrdup("Cannot run handler: exec hooks are not available"));
	return hook_fail(message, err, MK_EINVAL,
			 xasprintf("Cannot run handler: invalid handler: %s", dump));
}

/* ---------------- grace period ---------------- */

int64_t probes_kill_grace_seconds(const json_t *pod, const char *container, enum probe_type t)
{
	const json_t *dg = json_path_get(pod, "metadata.deletionGracePeriodSeconds");
	if (json_is_integer(dg))
		return json_integer_value(dg);
	const json_t *tg = json_path_get(pod, "spec.terminationGracePeriodSeconds");
	if (!json_is_integer(tg))
		return 2; /* upstream's minimumGracePeriodInSeconds */
	if (t == PROBE_LIVENESS || t == PROBE_STARTUP) {
		const json_t *c =
			container ? podspec_container(json_object_get(pod, "spec"), container)
				  : NULL;
		const json_t *pg = json_object_get(json_object_get(c, probe_keys[t]),
						   "terminationGracePeriodSeconds");
		if (json_is_integer(pg))
			return json_integer_value(pg);
	}
	return json_integer_value(tg);
}
