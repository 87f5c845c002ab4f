/* Load driver for the API server benchmark (tests/bench/apiserver.sh).
 *
 * Usage: apiserver-load PORT PID DIR   (env APISERVER_LOAD_PHASES=FILE optional)
 *   PORT  the kube-apiserver's insecure port on 127.0.0.1 (fresh data dir)
 *   PID   its process id: VmRSS/VmHWM from /proc/PID/status, CPU time from
 *         /proc/PID/stat
 *   DIR   an empty directory for the bare SQLite floor database
 *   FILE  receives "phase start end" lines (CLOCK_MONOTONIC seconds) so that
 *         a perf recording can be split by phase
 *
 * Plain HTTP/1.1 over keep-alive sockets (no library), so that the driver costs
 * little CPU next to the server on a small machine; the 100 watch streams are
 * read by one epoll loop. Phases, in order: the SQLite floor (the stored size of
 * one pod, WAL, synchronous=FULL, one row per commit, no automatic checkpoint:
 * as the store's writer), pod creates with 1 and then 8 clients, GETs of single
 * pods, filling up to 10,000 pods, LISTs of 3,000 and 10,000 pods, server
 * memory, then 100 watchers on one namespace while 8 writers create 1,000 pods
 * and patch each once; every write carries its send time (CLOCK_MONOTONIC, us)
 * in the annotation bench/sent, which the watchers compare with the arrival
 * time. Prints one table row per measurement with the server's CPU per
 * operation, the target and PASS/MISS; exits 1 if the server misbehaved (wrong
 * status, wrong item count, lost or ERROR watch events), not for a missed
 * target. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <jansson.h>
#include <sqlite3.h>

#include "buf.h"
#include "xalloc.h"

#define N_CREATE1    1000 /* sequential creates, one client */
#define CLIENTS	     8
#define PER_CLIENT   500   /* creates per client in the concurrent phase */
#define N_LIST_SMALL 3000  /* pods in namespace bench-a */
#define N_PODS	     10000 /* pods stored in all */
#define N_GET	     2000
#define LIST_REPEAT  5
#define N_FLOOR	     1000
#define WATCHERS     100
#define WATCH_PODS   1000 /* created, then patched once: 2 events each */
#define WATCH_EVENTS (2 * WATCH_PODS)
#define WATCH_IDLE_S 15.0 /* give up on a watcher after this long without data */

#define T_CREATE_P99_MS 20.0
#define T_GET_P99_MS	5.0
#define T_LIST10K_MS	1000.0
#define T_LIST3K_MS	300.0
#define T_EVENTS_PER_S	500.0
#define T_RSS_MB	100.0
#define T_FLOOR_RATIO	3.0

static int port;
static int failures;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("apiserver-load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct stats {
	double p50, p99, max;
	double per_s; /* operations per second of wall time, where measured */
};

/* Sorts v. */
static struct stats summarize(double *v, size_t n)
{
	if (n == 0)
		return (struct stats){0};
	qsort(v, n, sizeof(*v), cmp_double);
	return (struct stats){.p50 = v[n / 2], .p99 = v[n * 99 / 100], .max = v[n - 1]};
}

/* --- output ---------------------------------------------------------------- */

static int server_pid;
static double phase_t0, phase_cpu0;
static FILE *phases; /* $APISERVER_LOAD_PHASES: "name start end" in CLOCK_MONOTONIC seconds */

/* CPU time the server used so far (all threads, user + system), ms. */
static double server_cpu_ms(void)
{
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", server_pid);
	FILE *f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* fields after the parenthesised command name: state is field 3 */
	const char *p = strrchr(text, ')');
	unsigned long long ut = 0, st = 0;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		die("cannot parse %s", path);
	return (double)(ut + st) * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

static void phase_begin(void)
{
	phase_t0 = now_ms();
	phase_cpu0 = server_cpu_ms();
}

/* Ends a phase of n operations; returns the server's CPU ms per operation. */
static double phase_end(const char *name, double n)
{
	double cpu = server_cpu_ms() - phase_cpu0;
	if (phases)
		fprintf(phases, "%s %.6f %.6f\n", name, phase_t0 / 1e3, now_ms() / 1e3);
	return cpu / n;
}

#define ROW_FMT "%-38s %-44s %-13s %-14s %s\n"

/* cpu: the server's CPU ms per operation, < 0 when not measured. */
static void row(const char *what, const char *value, double cpu, const char *target,
		const char *result)
{
	char c[32] = "-";
	if (cpu >= 0)
		snprintf(c, sizeof(c), "%.3f ms", cpu);
	printf(ROW_FMT, what, value, c, target, result);
	fflush(stdout);
}

static const char *verdict(bool ok)
{
	return ok ? "PASS" : "MISS";
}

/* --- a minimal HTTP/1.1 client over one keep-alive connection ------------ */

struct hconn {
	int fd;
	char *buf; /* unread bytes are buf[off, len) */
	size_t off, len, cap;
};

static int tcp_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect to 127.0.0.1:%d: %s", port, strerror(errno));
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die("TCP_NODELAY: %s", strerror(errno));
	return fd;
}

static void hconn_open(struct hconn *c)
{
	*c = (struct hconn){.fd = tcp_connect(), .cap = 65536};
	c->buf = xmalloc(c->cap);
}

static void hconn_close(struct hconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->buf = NULL;
	c->fd = -1;
}

/* Reads more bytes into the buffer; dies on EOF or error. */
static void hconn_fill(struct hconn *c)
{
	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->cap - c->len < 16384) {
		c->cap *= 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	ssize_t n;
	do
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("read: %s", strerror(errno));
	if (n == 0)
		die("server closed the connection");
	c->len += (size_t)n;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("write: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

/* Reads a line ending in CRLF (returned without it, borrowed until the next
 * read); the buffer stays valid because lines are consumed before refilling. */
static char *hconn_line(struct hconn *c, size_t *len)
{
	for (;;) {
		char *s = c->buf + c->off;
		char *nl = memchr(s, '\n', c->len - c->off);
		if (nl) {
			size_t l = (size_t)(nl - s);
			if (l > 0 && s[l - 1] == '\r')
				l--;
			s[l] = '\0';
			c->off = (size_t)(nl - c->buf) + 1;
			*len = l;
			return s;
		}
		hconn_fill(c);
	}
}

static void hconn_take(struct hconn *c, size_t n, struct buf *out)
{
	while (n > 0) {
		if (c->off == c->len)
			hconn_fill(c);
		size_t m = c->len - c->off < n ? c->len - c->off : n;
		if (out)
			buf_append(out, c->buf + c->off, m);
		c->off += m;
		n -= m;
	}
}

/* One request and its whole answer; returns the HTTP status, body in out
 * (reset first; may be NULL to discard it). */
static int http_do(struct hconn *c, const char *method, const char *path, const char *ctype,
		   const char *body, size_t blen, struct buf *out)
{
	char head[1024];
	int hl = snprintf(head, sizeof(head),
			  "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: application/json\r\n"
			  "User-Agent: apiserver-load\r\n%s%s%sContent-Length: %zu\r\n\r\n",
			  method, path, port, ctype ? "Content-Type: " : "", ctype ? ctype : "",
			  ctype ? "\r\n" : "", blen);
	if (hl < 0 || (size_t)hl >= sizeof(head))
		die("request line too long: %s", path);
	if (blen > 0) {
		/* one write for small requests: header and body in one segment */
		char *all = xmalloc((size_t)hl + blen);
		memcpy(all, head, (size_t)hl);
		memcpy(all + hl, body, blen);
		write_all(c->fd, all, (size_t)hl + blen);
		free(all);
	} else {
		write_all(c->fd, head, (size_t)hl);
	}
	if (out)
		buf_reset(out);
	size_t l;
	char *line = hconn_line(c, &l);
	if (l < 12 || strncmp(line, "HTTP/1.", 7) != 0)
		die("bad status line for %s %s: %s", method, path, line);
	int status = atoi(line + 9);
	long clen = -1;
	bool chunked = false, close_after = false;
	while ((line = hconn_line(c, &l)) && l > 0) {
		if (!strncasecmp(line, "Content-Length:", 15))
			clen = atol(line + 15);
		else if (!strncasecmp(line, "Transfer-Encoding:", 18) &&
			 strcasestr(line, "chunked"))
			chunked = true;
		else if (!strncasecmp(line, "Connection:", 11) && strcasestr(line, "close"))
			close_after = true;
	}
	if (chunked) {
		for (;;) {
			line = hconn_line(c, &l);
			size_t n = strtoul(line, NULL, 16);
			if (n == 0) {
				while ((line = hconn_line(c, &l)) && l > 0)
					;
				break;
			}
			hconn_take(c, n, out);
			hconn_line(c, &l);
		}
	} else if (clen > 0) {
		hconn_take(c, (size_t)clen, out);
	}
	if (close_after) {
		hconn_close(c);
		hconn_open(c);
	}
	return status;
}

/* --- the objects ------------------------------------------------------------ */

static char *pod_json(const char *ns, const char *name)
{
	return xasprintf(
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		"\"namespace\":\"%s\",\"labels\":{\"app\":\"bench\",\"tier\":\"load\"},"
		"\"annotations\":{\"bench/sent\":\"%lld\"}},\"spec\":{\"containers\":[{"
		"\"name\":\"app\",\"image\":\"registry.k8s.io/pause:3.9\",\"ports\":[{"
		"\"containerPort\":8080,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"MODE\","
		"\"value\":\"bench\"}],\"resources\":{\"requests\":{\"cpu\":\"10m\",\"memory\":"
		"\"16Mi\"},\"limits\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}],"
		"\"nodeSelector\":{\"kubernetes.io/os\":\"linux\"}}}",
		name, ns, (long long)now_us());
}

/* Creates ns/name; returns the latency in ms. */
static double create_pod(struct hconn *c, const char *ns, const char *name, struct buf *out)
{
	char *body = pod_json(ns, name);
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
	double t0 = now_ms();
	int st = http_do(c, "POST", path, "application/json", body, strlen(body), out);
	double t = now_ms() - t0;
	if (st != 201)
		die("create %s/%s: HTTP %d: %.300s", ns, name, st, out ? buf_str(out) : "");
	free(body);
	return t;
}

static void create_namespace(struct hconn *c, const char *ns)
{
	char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
			       "\"metadata\":{\"name\":\"%s\"}}",
			       ns);
	struct buf out = BUF_INIT;
	int st = http_do(c, "POST", "/api/v1/namespaces", "application/json", body, strlen(body),
			 &out);
	if (st != 201)
		die("create namespace %s: HTTP %d: %.300s", ns, st, buf_str(&out));
	buf_free(&out);
	free(body);
}

/* --- concurrent creators ------------------------------------------------------ */

struct creator {
	pthread_t th;
	const char *ns;
	const char *prefix;
	int first, n;
	double *lat;
};

static void *creator_main(void *arg)
{
	struct creator *cr = arg;
	struct hconn c;
	hconn_open(&c);
	struct buf out = BUF_INIT;
	for (int i = 0; i < cr->n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s-%05d", cr->prefix, cr->first + i);
		double t = create_pod(&c, cr->ns, name, &out);
		if (cr->lat)
			cr->lat[i] = t;
	}
	buf_free(&out);
	hconn_close(&c);
	return NULL;
}

/* Runs n creators to completion; returns the wall time in ms. */
static double run_creators(struct creator *crs, int n)
{
	double t0 = now_ms();
	for (int t = 0; t < n; t++)
		if (pthread_create(&crs[t].th, NULL, creator_main, &crs[t]) != 0)
			die("pthread_create failed");
	for (int t = 0; t < n; t++)
		pthread_join(crs[t].th, NULL);
	return now_ms() - t0;
}

/* --- memory ------------------------------------------------------------------- */

static long status_kb(int pid, const char *field)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	char line[256];
	long kb = -1;
	size_t n = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			kb = atol(line + n + 1);
	fclose(f);
	return kb;
}

/* The 1-minute load average and the number of CPUs: how contended the machine
 * was, since wall times on a shared machine move with it. */
static void load_row(const char *when)
{
	double load = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = -1;
		fclose(f);
	}
	char label[64], value[64];
	snprintf(label, sizeof(label), "machine load, %s", when);
	snprintf(value, sizeof(value), "loadavg %.1f on %ld CPUs", load,
		 sysconf(_SC_NPROCESSORS_ONLN));
	row(label, value, -1, "-", "");
}

/* --- the SQLite floor ---------------------------------------------------------- */

/* Bare SQLite: one row per autocommit transaction, WAL, synchronous=FULL,
 * automatic checkpoints off (as on the store's writer), values of the size
 * the server stores for one pod. */
static struct stats sqlite_floor(const char *dir, size_t value_size)
{
	char *path = xasprintf("%s/floor.db", dir);
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(
		    db,
		    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		    "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)",
		    NULL, NULL, NULL) != SQLITE_OK)
		die("floor: %s", sqlite3_errmsg(db));
	sqlite3_wal_autocheckpoint(db, 0);
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db, "INSERT INTO t (k, v) VALUES (?1, ?2)", -1, &q, NULL) !=
	    SQLITE_OK)
		die("floor: %s", sqlite3_errmsg(db));
	char *v = xmalloc(value_size + 1);
	double *lat = xcalloc(N_FLOOR, sizeof(double));
	double t_all = now_ms();
	for (int i = 0; i < N_FLOOR; i++) {
		memset(v, 'a' + i % 26, value_size);
		v[value_size] = '\0';
		char key[64];
		snprintf(key, sizeof(key), "/registry/pods/bench-a/a-%05d", i);
		double t0 = now_ms();
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, v, (int)value_size, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			die("floor insert: %s", sqlite3_errmsg(db));
		sqlite3_reset(q);
		lat[i] = now_ms() - t0;
	}
	t_all = now_ms() - t_all;
	sqlite3_finalize(q);
	sqlite3_close(db);
	struct stats s = summarize(lat, N_FLOOR);
	s.per_s = N_FLOOR / t_all * 1e3;
	free(lat);
	free(v);
	free(path);
	return s;
}

/* --- list ------------------------------------------------------------------------ */

static void list_bench(struct hconn *c, const char *path, size_t want, const char *phase,
		       const char *label, double target_ms)
{
	struct buf out = BUF_INIT;
	double t[LIST_REPEAT];
	phase_begin();
	for (int i = 0; i < LIST_REPEAT; i++) {
		double t0 = now_ms();
		int st = http_do(c, "GET", path, NULL, NULL, 0, &out);
		t[i] = now_ms() - t0;
		if (st != 200)
			die("list %s: HTTP %d", path, st);
	}
	double cpu = phase_end(phase, LIST_REPEAT);
	json_error_t jerr;
	json_t *l = json_loadb(out.data, out.len, 0, &jerr);
	if (!l)
		die("list %s: bad JSON: %s", path, jerr.text);
	size_t n = json_array_size(json_object_get(l, "items"));
	json_decref(l);
	if (n != want) {
		fprintf(stderr, "apiserver-load: list %s returned %zu items, want %zu\n", path, n,
			want);
		failures++;
	}
	struct stats s = summarize(t, LIST_REPEAT);
	char value[80], target[32];
	snprintf(value, sizeof(value), "p50 %.0f max %.0f ms (%.1f MB)", s.p50, s.max,
		 (double)out.len / 1e6);
	if (target_ms > 0)
		snprintf(target, sizeof(target), "<= %.0f ms", target_ms);
	row(label, value, cpu, target_ms > 0 ? target : "-",
	    target_ms > 0 ? verdict(s.p50 <= target_ms) : "");
	buf_free(&out);
}

/* --- watchers ------------------------------------------------------------------- */

enum wstate { W_HDR, W_SIZE, W_DATA, W_DATA_END, W_END };

struct watcher {
	int fd;
	enum wstate st;
	int http_status;
	struct buf hdr;
	char szline[24];
	size_t szlen;
	size_t chunk_left;
	struct buf line;
	long events, errors;
	double first, last; /* ms, first and last event received */
	double last_data;
	bool finished;
};

static double *wlat; /* delivery latencies of all watchers, ms */
static size_t wlat_n, wlat_cap;

static void watcher_line(struct watcher *w, const char *s, size_t len, int64_t at_us, double at)
{
	if (len == 0)
		return;
	if (memmem(s, len, "\"type\":\"ERROR\"", 14)) {
		if (w->errors++ == 0)
			fprintf(stderr, "apiserver-load: watch error: %.*s\n",
				(int)(len > 300 ? 300 : len), s);
		return;
	}
	if (memmem(s, len, "\"type\":\"BOOKMARK\"", 17))
		return;
	if (w->events++ == 0)
		w->first = at;
	w->last = at;
	static const char key[] = "\"bench/sent\":\"";
	const char *p = memmem(s, len, key, sizeof(key) - 1);
	if (p) {
		long long sent = strtoll(p + sizeof(key) - 1, NULL, 10);
		if (wlat_n == wlat_cap) {
			wlat_cap = wlat_cap ? 2 * wlat_cap : 65536;
			wlat = xrealloc(wlat, wlat_cap * sizeof(*wlat));
		}
		wlat[wlat_n++] = (double)(at_us - sent) / 1e3;
	}
}

static void watcher_data(struct watcher *w, const char *p, size_t n, int64_t at_us, double at)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		if (!nl) {
			buf_append(&w->line, p, n);
			return;
		}
		size_t m = (size_t)(nl - p);
		if (w->line.len > 0) {
			buf_append(&w->line, p, m);
			watcher_line(w, w->line.data, w->line.len, at_us, at);
			buf_reset(&w->line);
		} else {
			watcher_line(w, p, m, at_us, at);
		}
		p = nl + 1;
		n -= m + 1;
	}
}

/* Feeds raw bytes from the socket: response head, then chunked framing. */
static void watcher_feed(struct watcher *w, const char *p, size_t n, int64_t at_us, double at)
{
	while (n > 0) {
		switch (w->st) {
		case W_HDR:
			buf_append_char(&w->hdr, *p++);
			n--;
			if (w->hdr.len >= 4 &&
			    !memcmp(w->hdr.data + w->hdr.len - 4, "\r\n\r\n", 4)) {
				w->http_status = atoi(w->hdr.data + 9);
				if (w->http_status != 200 || !strcasestr(w->hdr.data, "chunked"))
					die("watch answered: %s", w->hdr.data);
				w->st = W_SIZE;
			}
			break;
		case W_SIZE:
			if (*p == '\n') {
				w->szline[w->szlen] = '\0';
				w->chunk_left = strtoul(w->szline, NULL, 16);
				w->szlen = 0;
				w->st = w->chunk_left ? W_DATA : W_END;
			} else if (*p != '\r' && w->szlen + 1 < sizeof(w->szline)) {
				w->szline[w->szlen++] = *p;
			}
			p++;
			n--;
			break;
		case W_DATA: {
			size_t m = n < w->chunk_left ? n : w->chunk_left;
			watcher_data(w, p, m, at_us, at);
			p += m;
			n -= m;
			w->chunk_left -= m;
			if (w->chunk_left == 0)
				w->st = W_DATA_END;
			break;
		}
		case W_DATA_END:
			if (*p == '\n')
				w->st = W_SIZE;
			p++;
			n--;
			break;
		case W_END:
			return;
		}
	}
}

struct watch_writer {
	pthread_t th;
	int id;
	double *lat;
	int n;
};

/* Creates its share of the watched pods, then patches each once. */
static void *watch_writer_main(void *arg)
{
	struct watch_writer *ww = arg;
	struct hconn c;
	hconn_open(&c);
	struct buf out = BUF_INIT;
	ww->n = 0;
	for (int i = ww->id; i < WATCH_PODS; i += CLIENTS) {
		char name[32];
		snprintf(name, sizeof(name), "w-%05d", i);
		ww->lat[ww->n++] = create_pod(&c, "bench-w", name, &out);
	}
	for (int i = ww->id; i < WATCH_PODS; i += CLIENTS) {
		char path[128];
		snprintf(path, sizeof(path), "/api/v1/namespaces/bench-w/pods/w-%05d", i);
		char *body = xasprintf("{\"metadata\":{\"annotations\":{\"bench/sent\":\"%lld\"}}}",
				       (long long)now_us());
		double t0 = now_ms();
		int st = http_do(&c, "PATCH", path, "application/merge-patch+json", body,
				 strlen(body), &out);
		ww->lat[ww->n++] = now_ms() - t0;
		if (st != 200)
			die("patch %s: HTTP %d: %.300s", path, st, buf_str(&out));
		free(body);
	}
	buf_free(&out);
	hconn_close(&c);
	return NULL;
}

static int64_t list_rv(struct hconn *c, const char *path)
{
	struct buf out = BUF_INIT;
	int st = http_do(c, "GET", path, NULL, NULL, 0, &out);
	if (st != 200)
		die("list %s: HTTP %d", path, st);
	json_error_t jerr;
	json_t *l = json_loadb(out.data, out.len, 0, &jerr);
	if (!l)
		die("list %s: bad JSON: %s", path, jerr.text);
	const char *rv = json_string_value(
		json_object_get(json_object_get(l, "metadata"), "resourceVersion"));
	if (!rv)
		die("list %s: no resourceVersion", path);
	int64_t v = strtoll(rv, NULL, 10);
	json_decref(l);
	buf_free(&out);
	return v;
}

/* Runs the epoll loop until pred holds for every watcher or until deadline.
 * Returns false at the deadline. */
static bool pump(int ep, struct watcher *ws, double deadline, bool want_events)
{
	char rbuf[65536];
	for (;;) {
		int pending = 0;
		double now = now_ms();
		for (int i = 0; i < WATCHERS; i++) {
			struct watcher *w = &ws[i];
			if (want_events) {
				if (!w->finished && (w->events >= WATCH_EVENTS || w->st == W_END ||
						     now - w->last_data > WATCH_IDLE_S * 1e3))
					w->finished = true;
				pending += !w->finished;
			} else {
				pending += w->st == W_HDR;
			}
		}
		if (pending == 0)
			return true;
		if (now >= deadline)
			return false;
		struct epoll_event evs[WATCHERS];
		int n = epoll_wait(ep, evs, WATCHERS, 100);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct watcher *w = evs[i].data.ptr;
			ssize_t r = read(w->fd, rbuf, sizeof(rbuf));
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			int64_t at_us = now_us();
			double at = (double)at_us / 1e3;
			if (r <= 0) {
				w->st = W_END;
				epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
				continue;
			}
			w->last_data = at;
			watcher_feed(w, rbuf, (size_t)r, at_us, at);
		}
	}
}

static void watch_bench(struct hconn *c, int pid)
{
	int64_t rv = list_rv(c, "/api/v1/namespaces/bench-w/pods");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	struct watcher *ws = xcalloc(WATCHERS, sizeof(*ws));
	char req[512];
	int rl = snprintf(req, sizeof(req),
			  "GET /api/v1/namespaces/bench-w/pods?watch=1&resourceVersion=%lld "
			  "HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: application/json\r\n"
			  "User-Agent: apiserver-load\r\n\r\n",
			  (long long)rv, port);
	double t0 = now_ms();
	for (int i = 0; i < WATCHERS; i++) {
		struct watcher *w = &ws[i];
		w->fd = tcp_connect();
		w->last_data = t0;
		write_all(w->fd, req, (size_t)rl);
		if (fcntl(w->fd, F_SETFL, O_NONBLOCK) < 0)
			die("O_NONBLOCK: %s", strerror(errno));
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &ev) < 0)
			die("epoll_ctl: %s", strerror(errno));
	}
	if (!pump(ep, ws, now_ms() + 10e3, false))
		die("not every watch was answered within 10 s");
	double connect_ms = now_ms() - t0;

	struct watch_writer wr[CLIENTS];
	double *wlat_w = xcalloc(WATCH_EVENTS, sizeof(double));
	phase_begin();
	double w0 = now_ms();
	for (int t = 0; t < CLIENTS; t++) {
		wr[t] = (struct watch_writer){.id = t,
					      .lat = wlat_w + t * (WATCH_EVENTS / CLIENTS)};
		if (pthread_create(&wr[t].th, NULL, watch_writer_main, &wr[t]) != 0)
			die("pthread_create failed");
	}
	for (int i = 0; i < WATCHERS; i++)
		ws[i].last_data = w0;
	/* The writers run on their own threads meanwhile; this thread reads. */
	pump(ep, ws, w0 + 90e3, true);
	for (int t = 0; t < CLIENTS; t++)
		pthread_join(wr[t].th, NULL);
	double cpu = phase_end("watch", WATCH_EVENTS);
	double wend = 0;
	long got_min = WATCH_EVENTS, lost = 0, errors = 0;
	double *rate = xcalloc(WATCHERS, sizeof(double));
	for (int i = 0; i < WATCHERS; i++) {
		struct watcher *w = &ws[i];
		if (w->events < got_min)
			got_min = w->events;
		if (w->events < WATCH_EVENTS)
			lost++;
		errors += w->errors;
		rate[i] = w->events > 0 && w->last > w0 ? (double)w->events / (w->last - w0) * 1e3
							: 0;
		if (w->last > wend)
			wend = w->last;
		close(w->fd);
		buf_free(&w->hdr);
		buf_free(&w->line);
	}
	close(ep);
	/* the writers' own rate: events written per second while watched */
	struct stats wrs = summarize(wlat_w, WATCH_EVENTS);
	struct stats rs = summarize(rate, WATCHERS);
	struct stats dl = summarize(wlat, wlat_n);
	char value[96], label[64];
	snprintf(label, sizeof(label), "watch: %d watchers connected", WATCHERS);
	snprintf(value, sizeof(value), "in %.0f ms", connect_ms);
	row(label, value, -1, "-", "");
	snprintf(value, sizeof(value), "%d events in %.1f s, p50 %.1f p99 %.0f ms", WATCH_EVENTS,
		 (wend - w0) / 1e3, wrs.p50, wrs.p99);
	row("watch: writes (8 clients, create+patch)", value, -1, "-", "");
	snprintf(value, sizeof(value), "min %.0f p50 %.0f /s", rate[0], rs.p50);
	snprintf(label, sizeof(label), ">= %.0f /s", T_EVENTS_PER_S);
	row("watch: events/s to each watcher", value, cpu, label,
	    verdict(rate[0] >= T_EVENTS_PER_S && lost == 0));
	snprintf(value, sizeof(value), "p50 %.1f p99 %.1f max %.0f ms", dl.p50, dl.p99, dl.max);
	row("watch: delivery latency (sent -> read)", value, -1, "-", "");
	if (lost > 0 || errors > 0) {
		fprintf(stderr,
			"apiserver-load: %ld watchers got fewer than %d events (fewest %ld), "
			"%ld ERROR events\n",
			lost, WATCH_EVENTS, got_min, errors);
		failures++;
	}
	snprintf(value, sizeof(value), "RSS %.1f MB, peak %.1f MB",
		 status_kb(pid, "VmRSS") / 1024.0, status_kb(pid, "VmHWM") / 1024.0);
	row("memory after the watch phase", value, -1, "-", "");
	free(rate);
	free(wlat_w);
	free(ws);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: apiserver-load PORT PID DIR\n");
		return 2;
	}
	port = atoi(argv[1]);
	server_pid = atoi(argv[2]);
	const char *dir = argv[3];
	const char *phases_path = getenv("APISERVER_LOAD_PHASES");
	if (phases_path && phases_path[0] && !(phases = fopen(phases_path, "w")))
		die("%s: %s", phases_path, strerror(errno));
	char value[96], target[32], label[64];

	struct hconn c;
	hconn_open(&c);
	create_namespace(&c, "bench-a");
	create_namespace(&c, "bench-b");
	create_namespace(&c, "bench-w");

	/* Warm up, and learn how large a stored pod is for the floor. */
	struct buf out = BUF_INIT;
	create_pod(&c, "bench-a", "warm", &out);
	size_t value_size = out.len;
	if (http_do(&c, "DELETE", "/api/v1/namespaces/bench-a/pods/warm", NULL, NULL, 0, &out) !=
	    200)
		die("delete warm: %s", buf_str(&out));

	printf(ROW_FMT, "measurement", "value", "server CPU/op", "target", "result");
	load_row("at the start");
	struct stats floor = sqlite_floor(dir, value_size);
	snprintf(value, sizeof(value), "%.0f/s, p50 %.3f p99 %.3f ms", floor.per_s, floor.p50,
		 floor.p99);
	snprintf(label, sizeof(label), "floor: SQLite insert, %zu B", value_size);
	row(label, value, -1, "-", "");

	/* 1 client, sequential */
	double *lat = xcalloc(CLIENTS * PER_CLIENT, sizeof(double));
	phase_begin();
	double t0 = now_ms();
	for (int i = 0; i < N_CREATE1; i++) {
		char name[32];
		snprintf(name, sizeof(name), "a-%05d", i);
		lat[i] = create_pod(&c, "bench-a", name, &out);
	}
	double wall = now_ms() - t0;
	double cpu = phase_end("create1", N_CREATE1);
	struct stats c1 = summarize(lat, N_CREATE1);
	snprintf(value, sizeof(value), "%.0f/s, p50 %.2f p99 %.2f ms", N_CREATE1 / wall * 1e3,
		 c1.p50, c1.p99);
	snprintf(target, sizeof(target), "p99 <= %.0f ms", T_CREATE_P99_MS);
	row("create pod, 1 client", value, cpu, target, verdict(c1.p99 <= T_CREATE_P99_MS));
	snprintf(value, sizeof(value), "p50 %.2f, p99 %.2f, rate %.2f", c1.p50 / floor.p50,
		 c1.p99 / floor.p99, floor.per_s / (N_CREATE1 / wall * 1e3));
	snprintf(target, sizeof(target), "p50 <= %.0fx", T_FLOOR_RATIO);
	row("ratio API create / SQLite floor", value, -1, target,
	    verdict(c1.p50 / floor.p50 <= T_FLOOR_RATIO));

	/* 8 clients: 4 fill bench-a up to 3,000, 4 start bench-b */
	struct creator crs[CLIENTS];
	for (int t = 0; t < CLIENTS; t++) {
		bool a = t < CLIENTS / 2;
		int k = a ? t : t - CLIENTS / 2;
		crs[t] = (struct creator){.ns = a ? "bench-a" : "bench-b",
					  .prefix = a ? "a" : "b",
					  .first = a ? N_CREATE1 + k * PER_CLIENT : k * PER_CLIENT,
					  .n = PER_CLIENT,
					  .lat = lat + t * PER_CLIENT};
	}
	phase_begin();
	wall = run_creators(crs, CLIENTS);
	cpu = phase_end("create8", CLIENTS * PER_CLIENT);
	struct stats c8 = summarize(lat, CLIENTS * PER_CLIENT);
	snprintf(value, sizeof(value), "%.0f/s, p50 %.2f p99 %.2f ms",
		 CLIENTS * PER_CLIENT / wall * 1e3, c8.p50, c8.p99);
	snprintf(target, sizeof(target), "p99 <= %.0f ms", T_CREATE_P99_MS);
	row("create pod, 8 clients", value, cpu, target, verdict(c8.p99 <= T_CREATE_P99_MS));

	/* GET single pods */
	srand(42);
	phase_begin();
	for (int i = 0; i < N_GET; i++) {
		char path[128];
		snprintf(path, sizeof(path), "/api/v1/namespaces/bench-a/pods/a-%05d",
			 rand() % N_LIST_SMALL);
		double g0 = now_ms();
		int st = http_do(&c, "GET", path, NULL, NULL, 0, &out);
		lat[i] = now_ms() - g0;
		if (st != 200)
			die("get %s: HTTP %d", path, st);
	}
	cpu = phase_end("get", N_GET);
	struct stats g = summarize(lat, N_GET);
	snprintf(value, sizeof(value), "p50 %.2f p99 %.2f ms", g.p50, g.p99);
	snprintf(target, sizeof(target), "p99 <= %.0f ms", T_GET_P99_MS);
	row("get pod, 1 client", value, cpu, target, verdict(g.p99 <= T_GET_P99_MS));

	/* fill bench-b up to 10,000 pods in all */
	int rest = N_PODS - N_LIST_SMALL - (CLIENTS / 2) * PER_CLIENT;
	for (int t = 0; t < CLIENTS; t++)
		crs[t] =
			(struct creator){.ns = "bench-b",
					 .prefix = "b",
					 .first = (CLIENTS / 2) * PER_CLIENT + t * (rest / CLIENTS),
					 .n = rest / CLIENTS};
	phase_begin();
	wall = run_creators(crs, CLIENTS);
	cpu = phase_end("fill", rest);
	snprintf(value, sizeof(value), "%d pods in %.1f s (%.0f/s)", rest, wall / 1e3,
		 rest / wall * 1e3);
	row("fill to 10,000 pods, 8 clients", value, cpu, "-", "");
	long rss_kb = status_kb(server_pid, "VmRSS");
	snprintf(value, sizeof(value), "%.1f MB", rss_kb / 1024.0);
	snprintf(target, sizeof(target), "<= %.0f MB", T_RSS_MB);
	row("RSS, 10,000 pods stored", value, -1, target, verdict(rss_kb / 1024.0 <= T_RSS_MB));

	list_bench(&c, "/api/v1/namespaces/bench-a/pods", N_LIST_SMALL, "list3k",
		   "list 3,000 pods (one namespace)", T_LIST3K_MS);
	list_bench(&c, "/api/v1/pods", N_PODS, "list10k", "list 10,000 pods (all namespaces)",
		   T_LIST10K_MS);

	long rss2_kb = status_kb(server_pid, "VmRSS"), hwm_kb = status_kb(server_pid, "VmHWM");
	snprintf(value, sizeof(value), "RSS %.1f MB, peak (VmHWM) %.1f MB", rss2_kb / 1024.0,
		 hwm_kb / 1024.0);
	row("RSS after those LISTs", value, -1, target, verdict(hwm_kb / 1024.0 <= T_RSS_MB));

	watch_bench(&c, server_pid);
	load_row("at the end");

	buf_free(&out);
	free(lat);
	free(wlat);
	hconn_close(&c);
	if (phases)
		fclose(phases);
	return failures ? 1 : 0;
}
