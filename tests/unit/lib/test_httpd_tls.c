/* lib/httpd over TLS: a server in the test process with certificates
 * openssl(1) made, and GnuTLS clients on raw sockets. Covers an answer over
 * TLS, the client certificate as handlers see it (verified, from another CA,
 * none), and a protocol upgrade whose bytes flow through TLS. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "httpd.h"
#include "xalloc.h"

#define WAIT_S 10

static char dir[64];

static char *path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static char *slurp(const char *name)
{
	cleanup_free char *p = path(name);
	cleanup_err struct mk_err *err = NULL;
	char *text = fs_read_file(p, 1 << 20, NULL, &err);
	if (!text)
		fail_msg("%s", mk_err_msg(err));
	return text;
}

static int make_certs(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/mk-httpd-tls.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* ca signs srv (127.0.0.1) and alice (O=a, O=b); rogue, another key under
	 * the same name as ca, signs mallory */
	cleanup_free char *cmd = xasprintf(
		"cd %s && K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes' && "
		"openssl req -x509 $K -days 1 -subj /CN=ca -keyout ca.key -out ca.crt && "
		"openssl req -x509 $K -days 1 -subj /CN=ca -keyout rogue.key -out rogue.crt && "
		"printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' >srv.ext && "
		"printf 'extendedKeyUsage=clientAuth\\n' >cli.ext && "
		"printf 'extendedKeyUsage=serverAuth\\n' >notcli.ext && "
		"openssl req $K -subj /CN=srv -keyout srv.key -out srv.csr && "
		"openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -set_serial 1 -days 1 "
		"-extfile srv.ext -out srv.crt && "
		"openssl req $K -subj '/O=a/O=b/CN=alice' -keyout alice.key -out alice.csr && "
		"openssl x509 -req -in alice.csr -CA ca.crt -CAkey ca.key -set_serial 2 -days 1 "
		"-extfile cli.ext -out alice.crt && "
		"openssl req $K -subj /CN=mallory -keyout mallory.key -out mallory.csr && "
		"openssl x509 -req -in mallory.csr -CA rogue.crt -CAkey rogue.key -set_serial 3 "
		"-days 1 -extfile cli.ext -out mallory.crt && "
		"openssl req $K -subj /CN=server-only -keyout srvonly.key -out srvonly.csr && "
		"openssl x509 -req -in srvonly.csr -CA ca.crt -CAkey ca.key -set_serial 4 -days 1 "
		"-extfile notcli.ext -out srvonly.crt",
		dir);
	cleanup_free char *quiet = xasprintf("(%s) >/dev/null 2>&1", cmd);
	return system(quiet) == 0 ? 0 : -1;
}

static int remove_certs(void **state)
{
	(void)state;
	cleanup_free char *cmd = xasprintf("rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- a TLS client ---- */

struct tls_client {
	int fd;
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
};

/* Connects and handshakes, trusting ca.crt, with client certificate name
 * ("alice", "mallory") or none. */
static void tls_open(struct tls_client *c, int port, const char *name)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	struct timeval tv = {.tv_sec = WAIT_S};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&c->cred), 0);
	cleanup_free char *ca = path("ca.crt");
	assert_true(gnutls_certificate_set_x509_trust_file(c->cred, ca, GNUTLS_X509_FMT_PEM) > 0);
	if (name) {
		cleanup_free char *crt = xasprintf("%s/%s.crt", dir, name);
		cleanup_free char *key = xasprintf("%s/%s.key", dir, name);
		assert_int_equal(gnutls_certificate_set_x509_key_file(c->cred, crt, key,
								      GNUTLS_X509_FMT_PEM),
				 0);
	}
	assert_int_equal(gnutls_init(&c->s, GNUTLS_CLIENT), 0);
	assert_int_equal(gnutls_set_default_priority(c->s), 0);
	assert_int_equal(gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->cred), 0);
	gnutls_session_set_verify_cert(c->s, "127.0.0.1", 0);
	gnutls_transport_set_int(c->s, c->fd);
	int rc;
	do
		rc = gnutls_handshake(c->s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		fail_msg("handshake: %s", gnutls_strerror(rc));
}

static void tls_close(struct tls_client *c)
{
	gnutls_bye(c->s, GNUTLS_SHUT_WR);
	gnutls_deinit(c->s);
	gnutls_certificate_free_credentials(c->cred);
	close(c->fd);
}

static void tls_send(struct tls_client *c, const char *text)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = gnutls_record_send(c->s, text + off, len - off);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		assert_true(n > 0);
		off += (size_t)n;
	}
}

/* Reads into b until needle shows up (true), or EOF, an error, WAIT_S. */
static bool tls_read_until(struct tls_client *c, struct buf *b, const char *needle)
{
	char chunk[4096];
	while (!strstr(buf_str(b), needle)) {
		ssize_t n = gnutls_record_recv(c->s, chunk, sizeof(chunk));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return false;
		buf_append(b, chunk, (size_t)n);
	}
	return true;
}

/* ---- the server ---- */

/* Answers "<cn>|<o1>,<o2>", "none" or "invalid: <why>". */
static void whoami(struct httpd_req *rq, void *arg)
{
	(void)arg;
	char *cn, **orgs, *why;
	switch (httpd_req_peer_cert(rq, &cn, &orgs, &why)) {
	case HTTPD_PEER_OK: {
		struct buf b = BUF_INIT;
		buf_printf(&b, "%s|", cn);
		for (char **o = orgs; *o; o++)
			buf_printf(&b, "%s%s", o == orgs ? "" : ",", *o);
		httpd_reply_text(rq, 200, "text/plain", buf_str(&b));
		buf_free(&b);
		httpd_peer_free(cn, orgs);
		return;
	}
	case HTTPD_PEER_INVALID: {
		cleanup_free char *t = xasprintf("invalid: %s", why);
		httpd_reply_text(rq, 200, "text/plain", t);
		free(why);
		return;
	}
	case HTTPD_PEER_NONE:
		httpd_reply_text(rq, 200, "text/plain", "none");
		return;
	}
}

struct echo {
	struct httpd_upgraded *u;
	int fd;
	pthread_t thread;
	char extra[64];
};

static void *echo_main(void *arg)
{
	struct echo *e = arg;
	char chunk[256];
	ssize_t n;
	if (e->extra[0])
		send(e->fd, e->extra, strlen(e->extra), MSG_NOSIGNAL);
	while ((n = recv(e->fd, chunk, sizeof(chunk), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] >= 'a' && chunk[i] <= 'z')
				chunk[i] = (char)(chunk[i] - 32);
		if (send(e->fd, chunk, (size_t)n, MSG_NOSIGNAL) != n)
			break;
	}
	httpd_upgraded_close(e->u);
	return NULL;
}

static void on_up(struct httpd_upgraded *u, int fd, const char *extra, size_t extra_len, void *arg)
{
	struct echo *e = arg;
	e->u = u;
	e->fd = fd;
	assert_true(extra_len < sizeof(e->extra));
	memcpy(e->extra, extra, extra_len);
	e->extra[extra_len] = '\0';
	assert_int_equal(pthread_create(&e->thread, NULL, echo_main, e), 0);
}

static void upgrade(struct httpd_req *rq, void *arg)
{
	httpd_reply_header(rq, "Upgrade", "shout");
	httpd_reply_header(rq, "Connection", "Upgrade");
	httpd_reply_upgrade(rq, on_up, arg);
}

static struct httpd *tls_server(int *port, struct echo *e)
{
	cleanup_free char *cert = slurp("srv.crt"), *key = slurp("srv.key"), *ca = slurp("ca.crt");
	struct httpd_config cfg = {
		.name = "tls",
		.tls_cert_pem = cert,
		.tls_key_pem = key,
		.tls_client_ca_pem = ca,
		.tls_priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	};
	cleanup_err struct mk_err *err = NULL;
	struct httpd *h = httpd_new(&cfg, &err);
	if (!h)
		fail_msg("%s", mk_err_msg(err));
	httpd_route(h, "GET", "/whoami", whoami, NULL);
	httpd_route(h, "GET", "/up", upgrade, e);
	struct httpd_listener *l = httpd_listen(h, "127.0.0.1", 0, &err);
	assert_non_null(l);
	*port = httpd_listener_port(l);
	return h;
}

/* GET /whoami twice on one kept-alive connection as name; the body. */
static char *ask(int port, const char *name)
{
	struct tls_client c;
	tls_open(&c, port, name);
	struct buf b = BUF_INIT;
	/* twice: the second answer comes from the connection's cached verdict */
	for (int i = 0; i < 2; i++) {
		buf_reset(&b);
		tls_send(&c, "GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n");
		assert_true(tls_read_until(&c, &b, "\r\n\r\n"));
		const char *cl = strcasestr(buf_str(&b), "Content-Length: ");
		assert_non_null(cl);
		size_t body = strtoul(cl + 16, NULL, 10);
		size_t head = (size_t)(strstr(buf_str(&b), "\r\n\r\n") + 4 - buf_str(&b));
		while (b.len < head + body) {
			char chunk[1024];
			ssize_t n = gnutls_record_recv(c.s, chunk, sizeof(chunk));
			assert_true(n > 0);
			buf_append(&b, chunk, (size_t)n);
		}
	}
	tls_close(&c);
	char *out = xstrdup(strstr(buf_str(&b), "\r\n\r\n") + 4);
	buf_free(&b);
	return out;
}

static void test_peer_cert(void **state)
{
	(void)state;
	int port;
	struct echo e = {0};
	struct httpd *h = tls_server(&port, &e);
	cleanup_free char *alice = ask(port, "alice");
	assert_string_equal(alice, "alice|a,b");
	cleanup_free char *none = ask(port, NULL);
	assert_string_equal(none, "none");
	cleanup_free char *mallory = ask(port, "mallory");
	assert_non_null(strstr(mallory, "invalid: "));
	assert_non_null(strstr(mallory, "issuer is unknown"));
	/* a certificate of the right CA meant for servers only */
	cleanup_free char *srvonly = ask(port, "srvonly");
	assert_string_equal(srvonly,
			    "invalid: x509: certificate specifies an incompatible key usage");
	/* plain HTTP to the TLS port gets no answer in clear */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = WAIT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	const char *req = "GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n";
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	char chunk[256];
	ssize_t n;
	struct buf got = BUF_INIT;
	while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
		buf_append(&got, chunk, (size_t)n);
	assert_null(strstr(buf_str(&got), "HTTP/1.1 200"));
	buf_free(&got);
	close(fd);
	httpd_free(h);
}

static void test_upgrade_over_tls(void **state)
{
	(void)state;
	int port;
	struct echo e = {0};
	struct httpd *h = tls_server(&port, &e);
	struct tls_client c;
	tls_open(&c, port, "alice");
	tls_send(&c, "GET /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\n");
	struct buf b = BUF_INIT;
	assert_true(tls_read_until(&c, &b, "\r\n\r\n"));
	assert_non_null(strstr(buf_str(&b), "HTTP/1.1 101"));
	tls_send(&c, "hello over tls\n");
	assert_true(tls_read_until(&c, &b, "HELLO OVER TLS\n"));
	tls_send(&c, "again\n");
	assert_true(tls_read_until(&c, &b, "AGAIN\n"));
	/* the client hangs up: the callee sees EOF and gives the connection back */
	tls_close(&c);
	pthread_join(e.thread, NULL);
	buf_reset(&b);

	/* the server stops with an upgraded connection: the callee's socket is
	 * shut down, it gives the connection back, and httpd_free returns */
	memset(&e, 0, sizeof(e));
	tls_open(&c, port, NULL);
	tls_send(&c, "GET /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\n");
	assert_true(tls_read_until(&c, &b, "\r\n\r\n"));
	tls_send(&c, "ping\n");
	assert_true(tls_read_until(&c, &b, "PING\n"));
	httpd_free(h);
	pthread_join(e.thread, NULL);
	tls_close(&c);
	buf_free(&b);
}

static void test_config_errors(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *cert = slurp("srv.crt");
	struct httpd_config cfg = {.name = "tls", .tls_cert_pem = cert};
	assert_null(httpd_new(&cfg, &err));
	assert_string_equal(mk_err_msg(err), "tls: a TLS certificate without its key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_cert),
		cmocka_unit_test(test_upgrade_over_tls),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
