#include "kubelet/streaming.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "kstream.h"
#include "log.h"
#include "loop.h"
#include "podspec.h"
#include "xalloc.h"
#include "kubelet/runtime.h"

/* Bytes a session lets wait in either direction before it stops reading
 * the other side, and the most one read takes (large reads keep the system
 * calls and loop turns per byte of a port-forward low). */
#define HIGH_WATER (512 * 1024)
#define CHUNK	   (256 * 1024)
/* After the command exits: how long its output may still arrive (a child
 * it left behind can hold the pipes open). */
#define DRAIN_MS 2000
/* After the last byte to a client: how long to wait for its close. */
#define LINGER_MS      5000
#define FOLLOW_TICK_MS 1000

struct follow;
struct session;

struct streaming {
	struct streaming_config cfg;
	struct loop *loop;
	pthread_t thread;
	bool thread_started;
	int ino;	    /* inotify, for log follows */
	pthread_mutex_t mu; /* follows */
	struct follow *follows;
	struct session *sessions; /* loop thread only */
	atomic_uint n_sessions;
	char rbuf[CHUNK]; /* the loop thread's read buffer */
};

/* ---- small helpers ---- */

static long long wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool flag_on(const char *v)
{
	return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0);
}

/* Splits the part of path after prefix into at most max '/'-separated
 * pieces (new strings in parts); returns how many, or -1 when there are
 * more or one is empty. */
static int split_path(const char *path, const char *prefix, char **parts, int max)
{
	size_t pl = strlen(prefix);
	if (strncmp(path, prefix, pl) != 0)
		return -1;
	const char *p = path + pl;
	int n = 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || n == max) {
			for (int i = 0; i < n; i++)
				free(parts[i]);
			return -1;
		}
		parts[n++] = xstrndup(p, len);
		p += len;
		if (*p == '/')
			p++;
	}
	return n;
}

static void free_parts(char **parts, int n)
{
	for (int i = 0; i < n; i++)
		free(parts[i]);
}

static const char *req_query(void *arg, const char *key)
{
	return httpd_req_query(arg, key);
}

static const char *req_header(void *arg, const char *name)
{
	return httpd_req_header(arg, name);
}

/* Headers for a handshake: every line of a repeated header joined, as
 * kubectl repeats X-Stream-Protocol-Version once per version. */
struct joined_headers {
	struct httpd_req *rq;
	char *keep[16];
	size_t n;
};

static const char *joined_header(void *arg, const char *name)
{
	struct joined_headers *j = arg;
	if (j->n == sizeof(j->keep) / sizeof(j->keep[0]))
		return httpd_req_header(j->rq, name);
	char *v = httpd_req_header_list(j->rq, name);
	if (v)
		j->keep[j->n++] = v;
	return v;
}

/* Kubelet errors are plain text, as upstream's kubelet writes them. */
static void reply_error(struct httpd_req *rq, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_error(struct httpd_req *rq, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	httpd_reply_header(rq, "X-Content-Type-Options", "nosniff");
	httpd_reply_text(rq, code, "text/plain; charset=utf-8", msg);
}

static const json_t *container_status(const json_t *pod, const char *name)
{
	static const char *const lists[] = {"containerStatuses", "initContainerStatuses",
					    "ephemeralContainerStatuses"};
	const json_t *st = json_object_get(pod, "status");
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		const json_t *c = json_array_find_named(json_object_get(st, lists[l]), name);
		if (c)
			return c;
	}
	return NULL;
}

/* "runc://abc" -> "abc" (new); NULL for "" or NULL. */
static char *runtime_id(const char *container_id)
{
	if (!container_id || !*container_id)
		return NULL;
	const char *sep = strstr(container_id, "://");
	return xstrdup(sep ? sep + 3 : container_id);
}

/* ---- containerLogs ---- */

int streaming_log_opts_parse(const char *(*get)(void *arg, const char *key), void *arg,
			     long long now_ns, struct logreader_opts *o, bool *previous,
			     struct mk_err **err)
{
	*o = (struct logreader_opts){.tail_lines = -1, .limit_bytes = -1};
	o->follow = flag_on(get(arg, "follow"));
	o->timestamps = flag_on(get(arg, "timestamps"));
	*previous = flag_on(get(arg, "previous"));
	static const char *const bools[] = {"follow", "timestamps", "previous"};
	for (size_t i = 0; i < 3; i++) {
		const char *v = get(arg, bools[i]);
		if (v && !flag_on(v) && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0)
			return mk_err_set(err, MK_EINVAL,
					  "{\"message\": \"Unable to decode query.\"}");
	}
	const char *tail = get(arg, "tailLines");
	/* the old "tail" parameter, "all" meaning no limit */
	const char *old = get(arg, "tail");
	if (old && *old)
		tail = strcmp(old, "all") == 0 ? NULL : old;
	struct {
		const char *name;
		long long *dst;
		long long min;
	} nums[] = {{"tailLines", &o->tail_lines, 0},
		    {"limitBytes", &o->limit_bytes, 1},
		    {"sinceSeconds", NULL, 1}};
	long long since_s = -1;
	nums[2].dst = &since_s;
	for (size_t i = 0; i < 3; i++) {
		const char *v = i == 0 ? tail : get(arg, nums[i].name);
		if (!v)
			continue;
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (!*v || *end || errno)
			return mk_err_set(err, MK_EINVAL,
					  "{\"message\": \"Unable to decode query.\"}");
		if (n < nums[i].min)
			return mk_err_set(err, MK_EINVALID, "{\"message\": \"Invalid request.\"}");
		*nums[i].dst = n;
	}
	const char *since_time = get(arg, "sinceTime");
	if (since_time && since_s >= 0)
		return mk_err_set(err, MK_EINVALID, "{\"message\": \"Invalid request.\"}");
	if (since_time) {
		long long t = logreader_parse_time(since_time, strlen(since_time));
		if (t < 0)
			return mk_err_set(err, MK_EINVAL,
					  "{\"message\": \"Unable to decode query.\"}");
		o->since_ns = t;
	} else if (since_s >= 0) {
		o->since_ns = now_ns - since_s * 1000000000LL;
	}
	return 0;
}

char *streaming_log_container(const json_t *pod, const char *container, bool previous,
			      struct mk_err **err)
{
	const char *pname =
		json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	pname = pname ? pname : "";
	if (!podspec_container(json_object_get(pod, "spec"), container))
		return mk_err_set(err, MK_ENOTFOUND, "container \"%s\" not found in pod \"%s\"",
				  container, pname),
		       NULL;
	const json_t *st = container_status(pod, container);
	const json_t *state = json_object_get(st, "state");
	const json_t *last = json_object_get(json_object_get(st, "lastState"), "terminated");
	const json_t *running = json_object_get(state, "running");
	const json_t *terminated = json_object_get(state, "terminated");
	const json_t *waiting = json_object_get(state, "waiting");
	const char *last_id = json_string_value(json_object_get(last, "containerID"));
	if (previous) {
		char *id = runtime_id(last_id);
		if (!id)
			mk_err_set(err, MK_EINVAL,
				   "previous terminated container \"%s\" in pod \"%s\" not found",
				   container, pname);
		return id;
	}
	if (running || terminated) {
		char *id = runtime_id(json_string_value(json_object_get(st, "containerID")));
		if (!id && terminated)
			id = runtime_id(last_id);
		if (id)
			return id;
		if (terminated)
			return mk_err_set(err, MK_EINVAL,
					  "container \"%s\" in pod \"%s\" is terminated", container,
					  pname),
			       NULL;
	}
	if (last) {
		char *id = runtime_id(last_id);
		if (!id)
			mk_err_set(err, MK_EINVAL, "container \"%s\" in pod \"%s\" is terminated",
				   container, pname);
		return id;
	}
	if (waiting) {
		const char *reason = json_string_value(json_object_get(waiting, "reason"));
		reason = reason ? reason : "";
		if (strcmp(reason, "ErrImagePull") == 0)
			mk_err_set(err, MK_EINVAL,
				   "container \"%s\" in pod \"%s\" is waiting to start: image "
				   "can't be "
				   "pulled",
				   container, pname);
		else if (strcmp(reason, "ImagePullBackOff") == 0)
			mk_err_set(err, MK_EINVAL,
				   "container \"%s\" in pod \"%s\" is waiting to start: trying and "
				   "failing to pull image",
				   container, pname);
		else
			mk_err_set(err, MK_EINVAL,
				   "container \"%s\" in pod \"%s\" is waiting to start: %s",
				   container, pname, reason);
		return NULL;
	}
	mk_err_set(err, MK_EINVAL,
		   "container \"%s\" in pod \"%s\" is waiting to start - no logs yet", container,
		   pname);
	return NULL;
}

/* A log answer in progress; follows are listed in s->follows so that
 * inotify and the tick can wake them. */
struct follow {
	struct streaming *s;
	struct logreader *r;
	char *id; /* the container instance, for running() */
	bool follow;
	struct httpd_stream *stream; /* set once the answer is made */
	int wd;			     /* inotify watch on the log directory, or -1 */
	struct follow *next;
};

static ssize_t follow_read(void *arg, char *out, size_t max, bool stopping)
{
	struct follow *f = arg;
	struct streaming *s = f->s;
	bool stopped = stopping || !f->follow || !s->cfg.ops.running(s->cfg.ops.arg, f->id);
	long n = logreader_read(f->r, out, max, stopped);
	if (n < 0)
		return HTTPD_STREAM_END;
	return n;
}

static void follow_free(void *arg)
{
	struct follow *f = arg;
	struct streaming *s = f->s;
	pthread_mutex_lock(&s->mu);
	bool shared = false;
	for (struct follow **p = &s->follows; *p; p = &(*p)->next) {
		if (*p == f) {
			*p = f->next;
			break;
		}
	}
	for (struct follow *o = s->follows; o; o = o->next)
		shared = shared || (f->wd >= 0 && o->wd == f->wd);
	if (f->wd >= 0 && !shared)
		inotify_rm_watch(s->ino, f->wd);
	pthread_mutex_unlock(&s->mu);
	logreader_free(f->r);
	free(f->id);
	free(f);
}

void streaming_handle_logs(struct httpd_req *rq, void *arg)
{
	char *parts[3];
	int n = split_path(httpd_req_path(rq), "/containerLogs/", parts, 3);
	if (n != 3) {
		if (n > 0)
			free_parts(parts, n);
		reply_error(rq, 400, "{\"message\": \"Missing podID.\"}");
		return;
	}
	streaming_serve_logs(arg, rq, parts[0], parts[1], parts[2]);
	free_parts(parts, n);
}

void streaming_serve_logs(struct streaming *s, struct httpd_req *rq, const char *ns,
			  const char *name, const char *ctr)
{
	struct logreader_opts o;
	bool previous;
	cleanup_err struct mk_err *err = NULL;
	if (streaming_log_opts_parse(req_query, rq, wall_ns(), &o, &previous, &err) < 0) {
		reply_error(rq, mk_err_code(err) == MK_EINVALID ? 422 : 400, "%s", mk_err_msg(err));
		return;
	}
	cleanup_json json_t *pod = NULL;
	cleanup_free char *netns = NULL;
	if (s->cfg.ops.pod(s->cfg.ops.arg, ns, name, &pod, &netns, &err) < 0) {
		if (mk_err_code(err) == MK_ENOTFOUND)
			reply_error(rq, 404, "pod \"%s\" does not exist", name);
		else
			reply_error(rq, 500, "%s", mk_err_msg(err));
		return;
	}
	cleanup_free char *id = streaming_log_container(pod, ctr, previous, &err);
	if (!id) {
		reply_error(rq, mk_err_code(err) == MK_ENOTFOUND ? 404 : 400, "%s",
			    mk_err_msg(err));
		return;
	}
	cleanup_free char *path = s->cfg.ops.log_path(s->cfg.ops.arg, ns, name, id);
	if (!path) {
		reply_error(rq, 400, "failed to get the log path of container %s", id);
		return;
	}
	struct logreader *r = logreader_open(path, &o, &err);
	if (!r) {
		reply_error(rq, 500, "%s", mk_err_msg(err));
		return;
	}
	struct follow *f = xcalloc(1, sizeof(*f));
	f->s = s;
	f->r = r;
	f->id = steal_pointer(&id);
	f->follow = o.follow;
	f->wd = -1;
	if (o.follow) {
		f->wd = inotify_add_watch(s->ino, logreader_dir(r),
					  IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM);
		pthread_mutex_lock(&s->mu);
		f->next = s->follows;
		s->follows = f;
		pthread_mutex_unlock(&s->mu);
	}
	struct httpd_stream *st =
		httpd_reply_stream(rq, 200, "text/plain", follow_read, follow_free, f);
	/* NULL: the answer was refused and follow_free has run */
	if (st && o.follow) {
		pthread_mutex_lock(&s->mu);
		for (struct follow *k = s->follows; k; k = k->next)
			if (k == f)
				f->stream = st;
		pthread_mutex_unlock(&s->mu);
		httpd_stream_resume(st);
	}
}

/* Wakes the follows watching wd (every follow with wd -1). */
static void wake_follows(struct streaming *s, int wd)
{
	pthread_mutex_lock(&s->mu);
	for (struct follow *f = s->follows; f; f = f->next)
		if (f->stream && (wd < 0 || f->wd == wd))
			httpd_stream_resume(f->stream);
	pthread_mutex_unlock(&s->mu);
}

static void on_inotify(struct loop *l, int fd, unsigned events, void *arg)
{
	(void)l;
	(void)events;
	struct streaming *s = arg;
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(fd, ev, sizeof(ev));
		if (n <= 0)
			return;
		for (char *p = ev; p < ev + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			wake_follows(s, e->wd);
			p += sizeof(*e) + e->len;
		}
	}
}

static void on_tick(struct loop *l, uint64_t id, void *arg)
{
	(void)l;
	(void)id;
	/* a stopped container ends its follows here at the latest */
	wake_follows(arg, -1);
}

/* ---- sessions: exec, attach, port-forward ---- */

enum ep_kind {
	EP_STDIN,  /* exec: the command's stdin (pipe) */
	EP_STDOUT, /* exec: stdout pipe, or the pty (also stdin) */
	EP_STDERR,
	EP_ATTACH, /* attach: the monitor's socket */
	EP_PF,	   /* a forwarded connection */
};

/* A descriptor on the container side of a session. */
struct endpoint {
	struct session *ss;
	enum ep_kind kind;
	int fd;
	unsigned events; /* registered with the loop */
	struct buf wbuf; /* waiting to be written to fd */
	size_t woff;
	bool eof;	/* read its end */
	bool shut_wr;	/* shut its write side once wbuf drains */
	bool wr_closed; /* done */
	/* port-forward */
	uint32_t stream;
	uint16_t port;
	bool connecting;
	bool tried_v6;
	int err4; /* errno of the IPv4 attempt */
	struct endpoint *next;
};

struct session {
	struct streaming *s;
	enum kstream_kind kind;
	bool attach;
	struct httpd_upgraded *u;
	int fd; /* the client */
	unsigned events;
	struct kstream *ks;
	bool client_eof;
	bool ending; /* tearing down: the client goes, commands are killed */
	bool lingering;
	uint64_t timer; /* stream creation, drain or linger */
	struct endpoint *eps;

	/* exec */
	char **argv;
	bool tty, want_stdin;
	char *ctr_id;
	struct runtime_exec x;
	bool prepared, spawned, exited, ready, confirmed;
	bool sized; /* a tty got its first size */
	int wstatus;
	/* output (stdout, stderr) before the command ran: maybe the runtime's
	 * error, decided when the pid file appears or the runtime exits */
	struct buf held[3];
	uint64_t held_timer; /* looks for the pid file while output is held */
	struct mk_err *start_err;

	/* port-forward */
	int netns_fd;
	char *pod_name, *pod_uid, *netns;

	struct session *next;
};

static void session_update(struct session *ss);
static void session_end(struct session *ss);

/* Closes ep's descriptor (an exec's belongs to its struct runtime_exec,
 * whose field is cleared so that it is closed once). */
static void ep_close(struct endpoint *ep)
{
	struct runtime_exec *x = &ep->ss->x;
	if (ep->fd >= 0) {
		if (ep->events)
			loop_fd_del(ep->ss->s->loop, ep->fd);
		close(ep->fd);
		if (ep->fd == x->in)
			x->in = -1;
		if (ep->fd == x->out)
			x->out = -1;
		if (ep->fd == x->err)
			x->err = -1;
		if (ep->fd == x->pty)
			x->pty = -1;
	}
	ep->fd = -1;
	ep->events = 0;
	ep->eof = true;
	ep->wr_closed = true;
	buf_free(&ep->wbuf);
	ep->woff = 0;
}

static void ep_unlink(struct session *ss, struct endpoint *gone)
{
	for (struct endpoint **p = &ss->eps; *p; p = &(*p)->next) {
		if (*p == gone) {
			*p = gone->next;
			ep_close(gone);
			free(gone);
			return;
		}
	}
}

static struct endpoint *ep_new(struct session *ss, enum ep_kind kind, int fd)
{
	struct endpoint *ep = xcalloc(1, sizeof(*ep));
	ep->ss = ss;
	ep->kind = kind;
	ep->fd = fd;
	ep->wbuf = (struct buf)BUF_INIT;
	ep->next = ss->eps;
	ss->eps = ep;
	return ep;
}

static struct endpoint *ep_find(struct session *ss, enum ep_kind kind, uint32_t stream)
{
	for (struct endpoint *ep = ss->eps; ep; ep = ep->next)
		if (ep->kind == kind && (kind != EP_PF || ep->stream == stream))
			return ep;
	return NULL;
}

static size_t pending_to_container(struct session *ss)
{
	size_t n = 0;
	for (struct endpoint *ep = ss->eps; ep; ep = ep->next)
		n += ep->wbuf.len - ep->woff;
	return n;
}

/* Writes what waits for ep; on failure the endpoint stops taking data. */
static void ep_flush(struct endpoint *ep)
{
	while (ep->fd >= 0 && !ep->connecting && ep->woff < ep->wbuf.len) {
		const char *p = ep->wbuf.data + ep->woff;
		size_t len = ep->wbuf.len - ep->woff, hdr = 0;
		if (ep->kind == EP_ATTACH) {
			/* packets, each queued behind its length */
			uint32_t pl;
			memcpy(&pl, p, sizeof(pl));
			hdr = sizeof(pl);
			p += hdr;
			len = pl;
		}
		ssize_t w = send(ep->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == ENOTSOCK)
			w = write(ep->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w < 0) {
			/* the reader went away (EPIPE): drop what is left */
			buf_reset(&ep->wbuf);
			ep->woff = 0;
			ep->wr_closed = true;
			return;
		}
		ep->woff += hdr + (size_t)w;
	}
	if (ep->woff >= ep->wbuf.len) {
		buf_reset(&ep->wbuf);
		ep->woff = 0;
		if (ep->shut_wr && !ep->wr_closed && ep->fd >= 0 && !ep->connecting) {
			ep->wr_closed = true;
			if (ep->kind == EP_STDIN)
				ep_close(ep); /* the command reads EOF */
			else
				shutdown(ep->fd, SHUT_WR);
		}
	}
}

static void ep_write(struct endpoint *ep, const void *data, size_t len)
{
	if (!ep || ep->wr_closed || ep->shut_wr)
		return;
	buf_append(&ep->wbuf, data, len);
	ep_flush(ep);
}

/* ---- the client side ---- */

static void on_client(struct loop *l, int fd, unsigned events, void *arg);

static void client_set_events(struct session *ss, unsigned ev)
{
	if (ss->fd < 0 || ev == ss->events)
		return;
	if (ss->events == 0)
		loop_fd_add(ss->s->loop, ss->fd, ev, on_client, ss, NULL);
	else if (ev == 0)
		loop_fd_del(ss->s->loop, ss->fd);
	else
		loop_fd_mod(ss->s->loop, ss->fd, ev, NULL);
	ss->events = ev;
}

static bool client_flush(struct session *ss)
{
	while (ss->fd >= 0 && kstream_out_len(ss->ks) > 0) {
		ssize_t w = send(ss->fd, kstream_out_data(ss->ks), kstream_out_len(ss->ks),
				 MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (w < 0) {
			ss->client_eof = true;
			return false;
		}
		kstream_out_consume(ss->ks, (size_t)w);
	}
	return true;
}

/* ---- exec ---- */

static void exec_flush_held(struct session *ss)
{
	for (int ch = 1; ch <= 2; ch++) {
		if (ss->held[ch].len)
			kstream_exec_write(ss->ks, ch, ss->held[ch].data, ss->held[ch].len);
		buf_free(&ss->held[ch]);
	}
}

#define HELD_CHECK_MS 20

static void on_held_check(struct loop *l, uint64_t id, void *arg);

/* The command started (its pid file is there): what it printed goes out. */
static bool exec_confirm(struct session *ss)
{
	if (!ss->confirmed) {
		if (!runtime_exec_started(&ss->x))
			return false;
		ss->confirmed = true;
		exec_flush_held(ss);
	}
	if (ss->held_timer) {
		loop_timer_cancel(ss->s->loop, ss->held_timer);
		ss->held_timer = 0;
	}
	return true;
}

static void exec_output(struct session *ss, int channel, const char *data, size_t len)
{
	if (!exec_confirm(ss)) {
		buf_append(&ss->held[channel], data, len);
		/* a command that prints before the runtime wrote the pid file,
		 * then waits, must not have its output wait with it */
		if (!ss->held_timer)
			ss->held_timer = loop_timer_add(ss->s->loop, HELD_CHECK_MS, HELD_CHECK_MS,
							on_held_check, ss);
		return;
	}
	kstream_exec_write(ss->ks, channel, data, len);
}

static void on_held_check(struct loop *l, uint64_t id, void *arg)
{
	(void)l;
	(void)id;
	struct session *ss = arg;
	if (ss->exited || ss->ending || kstream_finished(ss->ks)) {
		/* exec_finish decides what the held output was */
		loop_timer_cancel(ss->s->loop, ss->held_timer);
		ss->held_timer = 0;
		return;
	}
	if (exec_confirm(ss))
		session_update(ss);
}

static void exec_finish(struct session *ss)
{
	cleanup_json json_t *st = NULL;
	if (ss->start_err) {
		cleanup_free char *m = xasprintf("error executing command in container: %s",
						 mk_err_msg(ss->start_err));
		st = kstream_status_internal(m);
	} else {
		int code = 0;
		bool not_started = false;
		cleanup_err struct mk_err *err = NULL;
		/* the runtime writes its error to its stderr, which is the
		 * command's stderr (or the terminal) */
		const struct buf *said = ss->held[2].len ? &ss->held[2] : &ss->held[1];
		if (runtime_exec_status(ss->s->cfg.rt, &ss->x, ss->wstatus, buf_str(said), &code,
					&not_started, &err) < 0) {
			if (code > 0) {
				/* as a shell would: the message, and 126 or 127; the
				 * runtime's log line said as Docker and containerd
				 * say it */
				cleanup_free char *text = runtime_error_text(buf_str(said));
				cleanup_free char *line =
					xasprintf("OCI runtime exec failed: %s: unknown\n", text);
				buf_free(&ss->held[1]);
				buf_free(&ss->held[2]);
				kstream_exec_write(ss->ks, ss->tty ? 1 : 2, line, strlen(line));
				st = kstream_status_exit((const char *const *)ss->argv, code);
			} else {
				cleanup_free char *m =
					xasprintf("error executing command in container: %s",
						  mk_err_msg(err));
				st = kstream_status_internal(m);
			}
		} else {
			exec_flush_held(ss);
			st = code == 0 ? kstream_status_success()
				       : kstream_status_exit((const char *const *)ss->argv, code);
		}
	}
	buf_free(&ss->held[1]);
	buf_free(&ss->held[2]);
	kstream_exec_finish(ss->ks, st);
}

/* Exec is over when the runtime exited and its output ended (or the drain
 * time passed). */
static void exec_maybe_finish(struct session *ss)
{
	if (kstream_finished(ss->ks) || ss->ending || !ss->exited)
		return;
	for (struct endpoint *ep = ss->eps; ep; ep = ep->next)
		if ((ep->kind == EP_STDOUT || ep->kind == EP_STDERR) && !ep->eof)
			return;
	exec_finish(ss);
}

static void on_drain_timeout(struct loop *l, uint64_t id, void *arg)
{
	(void)l;
	(void)id;
	struct session *ss = arg;
	ss->timer = 0;
	for (struct endpoint *ep = ss->eps; ep; ep = ep->next)
		if (ep->kind == EP_STDOUT || ep->kind == EP_STDERR)
			ep->eof = true;
	exec_maybe_finish(ss);
	session_update(ss);
}

static void on_exec_exit(struct loop *l, pid_t pid, int status, void *arg)
{
	(void)pid;
	struct session *ss = arg;
	ss->exited = true;
	ss->wstatus = status;
	if (ss->ending) {
		session_end(ss);
		return;
	}
	if (ss->timer)
		loop_timer_cancel(l, ss->timer);
	ss->timer = loop_timer_add(l, DRAIN_MS, 0, on_drain_timeout, ss);
	exec_maybe_finish(ss);
	session_update(ss);
}

/* ---- port-forward ---- */

struct ns_socket {
	int nsfd, family, fd, err;
};

/* Runs in a thread of its own: a socket belongs to the network namespace
 * of the thread that creates it, and this thread's namespace change dies
 * with it. */
static void *ns_socket_thread(void *arg)
{
	struct ns_socket *a = arg;
	if (setns(a->nsfd, CLONE_NEWNET) < 0) {
		a->err = errno;
		return NULL;
	}
	a->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		a->err = errno;
	return NULL;
}

static int ns_socket(int nsfd, int family)
{
	struct ns_socket a = {.nsfd = nsfd, .family = family, .fd = -1};
	pthread_t t;
	int rc = pthread_create(&t, NULL, ns_socket_thread, &a);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	pthread_join(t, NULL);
	if (a.fd < 0)
		errno = a.err;
	return a.fd;
}

static const char *connect_text(int e)
{
	return e == ECONNREFUSED ? "connection refused" : strerror(e);
}

static void pf_failed(struct session *ss, struct endpoint *ep, int err6)
{
	cleanup_free char *msg = xasprintf(
		"error forwarding port %u to pod %s, uid %s: failed to connect to localhost:%u "
		"inside namespace \"%s\", IPv4: dial tcp4 127.0.0.1:%u: connect: %s IPv6 dial "
		"tcp6 [::1]:%u: connect: %s ",
		ep->port, ss->pod_name, ss->pod_uid, ep->port, ss->netns, ep->port,
		connect_text(ep->err4), ep->port, connect_text(err6));
	kstream_pf_close(ss->ks, ep->stream, msg);
	ep_unlink(ss, ep);
}

/* Starts (or restarts over IPv6) the connection of ep. */
static void pf_connect(struct session *ss, struct endpoint *ep)
{
	int v6 = ep->tried_v6;
	int fd = ns_socket(ss->netns_fd, v6 ? AF_INET6 : AF_INET);
	if (fd < 0) {
		int e = errno;
		if (!v6)
			ep->err4 = e;
		if (!v6) {
			ep->tried_v6 = true;
			pf_connect(ss, ep);
		} else {
			pf_failed(ss, ep, e);
		}
		return;
	}
	int r;
	if (v6) {
		struct sockaddr_in6 a = {.sin6_family = AF_INET6,
					 .sin6_port = htons(ep->port),
					 .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	} else {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons(ep->port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	}
	ep->fd = fd;
	ep->events = 0;
	if (r == 0 || errno == EINPROGRESS) {
		ep->connecting = r != 0;
		return;
	}
	int e = errno;
	close(fd);
	ep->fd = -1;
	if (!v6) {
		ep->err4 = e;
		ep->tried_v6 = true;
		pf_connect(ss, ep);
	} else {
		pf_failed(ss, ep, e);
	}
}

/* A connection that was connecting became writable. */
static void pf_connected(struct session *ss, struct endpoint *ep)
{
	int e = 0;
	socklen_t sl = sizeof(e);
	getsockopt(ep->fd, SOL_SOCKET, SO_ERROR, &e, &sl);
	if (e == 0) {
		ep->connecting = false;
		ep_flush(ep);
		return;
	}
	loop_fd_del(ss->s->loop, ep->fd);
	close(ep->fd);
	ep->fd = -1;
	ep->events = 0;
	if (!ep->tried_v6) {
		ep->err4 = e;
		ep->tried_v6 = true;
		pf_connect(ss, ep);
	} else {
		pf_failed(ss, ep, e);
	}
}

static void on_size_timeout(struct loop *l, uint64_t id, void *arg);

/* Starts the command once the client is ready (and a tty has its first
 * size, or waited a second for it: kubectl sends it at once). */
static void exec_maybe_spawn(struct session *ss)
{
	if (!ss->prepared || ss->spawned || ss->ending || !ss->ready)
		return;
	if (ss->tty && !ss->sized) {
		if (!ss->timer)
			ss->timer = loop_timer_add(ss->s->loop, 1000, 0, on_size_timeout, ss);
		return;
	}
	if (ss->timer) {
		loop_timer_cancel(ss->s->loop, ss->timer);
		ss->timer = 0;
	}
	struct mk_err *err = NULL;
	if (runtime_exec_spawn(ss->s->cfg.rt, &ss->x, &err) < 0) {
		ss->start_err = err;
		exec_finish(ss);
		return;
	}
	ss->spawned = true;
	if (loop_child_add(ss->s->loop, ss->x.pid, on_exec_exit, ss, &err) < 0) {
		/* not reaped: it would stay a zombie and the session wait */
		log_error("streaming: watching exec %d: %s", (int)ss->x.pid, mk_err_msg(err));
		mk_err_free(err);
		kill(ss->x.pid, SIGKILL);
		waitpid(ss->x.pid, &ss->wstatus, 0);
		ss->exited = true;
		exec_finish(ss);
	}
}

static void on_size_timeout(struct loop *l, uint64_t id, void *arg)
{
	(void)l;
	(void)id;
	struct session *ss = arg;
	ss->timer = 0;
	ss->sized = true;
	exec_maybe_spawn(ss);
	session_update(ss);
}

/* ---- events from the client ---- */

static void handle_event(struct session *ss, const struct kstream_event *ev)
{
	switch (ev->type) {
	case KSTREAM_EV_READY:
		ss->ready = true;
		if (ss->timer) {
			/* the stream creation timeout */
			loop_timer_cancel(ss->s->loop, ss->timer);
			ss->timer = 0;
		}
		if (ss->start_err) {
			exec_finish(ss);
			return;
		}
		exec_maybe_spawn(ss);
		break;
	case KSTREAM_EV_STDIN: {
		struct endpoint *ep = ss->attach ? ep_find(ss, EP_ATTACH, 0)
				      : ss->tty	 ? ep_find(ss, EP_STDOUT, 0)
						 : ep_find(ss, EP_STDIN, 0);
		if (ss->attach && ep && !ep->wr_closed && !ep->shut_wr) {
			/* packets of stream byte 0 (stdin) and at most 32 KiB */
			for (size_t off = 0; off < ev->len; off += 32768) {
				size_t n = ev->len - off < 32768 ? ev->len - off : 32768;
				uint32_t pl = (uint32_t)n + 1;
				uint8_t zero = 0;
				buf_append(&ep->wbuf, &pl, sizeof(pl));
				buf_append(&ep->wbuf, &zero, 1);
				buf_append(&ep->wbuf, ev->data + off, n);
			}
			ep_flush(ep);
		} else {
			ep_write(ep, ev->data, ev->len);
		}
		break;
	}
	case KSTREAM_EV_STDIN_EOF: {
		/* a pipe is closed; the attach socket's sending side is shut */
		struct endpoint *ep = ep_find(ss, ss->attach ? EP_ATTACH : EP_STDIN, 0);
		if (ep) {
			ep->shut_wr = true;
			ep_flush(ep);
		}
		break;
	}
	case KSTREAM_EV_RESIZE:
		if (ss->tty && ss->prepared) {
			struct mk_err *err = NULL;
			if (runtime_exec_resize(&ss->x, ev->width, ev->height, &err) < 0)
				mk_err_free(err);
			ss->sized = true;
			exec_maybe_spawn(ss);
		}
		break;
	case KSTREAM_EV_PF_OPEN: {
		struct endpoint *ep = ep_new(ss, EP_PF, -1);
		ep->stream = ev->stream;
		ep->port = ev->port;
		pf_connect(ss, ep);
		break;
	}
	case KSTREAM_EV_PF_DATA:
		ep_write(ep_find(ss, EP_PF, ev->stream), ev->data, ev->len);
		break;
	case KSTREAM_EV_PF_EOF: {
		struct endpoint *ep = ep_find(ss, EP_PF, ev->stream);
		if (ep) {
			ep->shut_wr = true;
			ep_flush(ep);
			if (ep->eof)
				ep_unlink(ss, ep);
		}
		break;
	}
	case KSTREAM_EV_PF_RESET: {
		struct endpoint *ep = ep_find(ss, EP_PF, ev->stream);
		if (ep) {
			kstream_pf_close(ss->ks, ep->stream, NULL);
			ep_unlink(ss, ep);
		}
		break;
	}
	case KSTREAM_EV_CLOSED:
		ss->client_eof = true;
		break;
	}
}

static void client_readable(struct session *ss)
{
	ssize_t n = recv(ss->fd, ss->s->rbuf, sizeof(ss->s->rbuf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		ss->client_eof = true;
		return;
	}
	if (ss->lingering)
		return; /* after our end, only the client's close matters */
	kstream_feed(ss->ks, ss->s->rbuf, (size_t)n);
	struct kstream_event ev;
	struct mk_err *err = NULL;
	int r;
	while ((r = kstream_next(ss->ks, &ev, &err)) == 1) {
		handle_event(ss, &ev);
		if (ss->client_eof)
			break;
	}
	if (r < 0) {
		log_v(4, "streaming: client protocol error: %s", mk_err_msg(err));
		mk_err_free(err);
		ss->client_eof = true;
	}
}

static void endpoint_readable(struct session *ss, struct endpoint *ep)
{
	ssize_t n = read(ep->fd, ss->s->rbuf, sizeof(ss->s->rbuf));
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF, or EIO from a pty whose other side is gone */
		ep->eof = true;
		if (ep->kind == EP_PF) {
			kstream_pf_close(ss->ks, ep->stream, NULL);
			if (ep->wr_closed || ep->shut_wr)
				ep_unlink(ss, ep);
		} else if (ep->kind == EP_ATTACH) {
			/* the container ended (or its monitor went away) */
			cleanup_json json_t *st = kstream_status_success();
			kstream_exec_finish(ss->ks, st);
		} else {
			exec_maybe_finish(ss);
		}
		return;
	}
	switch (ep->kind) {
	case EP_STDOUT:
		exec_output(ss, 1, ss->s->rbuf, (size_t)n);
		break;
	case EP_STDERR:
		exec_output(ss, 2, ss->s->rbuf, (size_t)n);
		break;
	case EP_PF:
		kstream_pf_write(ss->ks, ep->stream, ss->s->rbuf, (size_t)n);
		break;
	case EP_ATTACH:
		/* packets from the monitor: a stream byte, then data */
		if (n > 1 && (ss->s->rbuf[0] == 1 || ss->s->rbuf[0] == 2))
			kstream_exec_write(ss->ks, ss->s->rbuf[0], ss->s->rbuf + 1, (size_t)n - 1);
		break;
	default:
		break;
	}
}

/* ---- the session's life ---- */

static void on_fd(struct loop *l, int fd, unsigned events, void *arg);

static void on_linger_timeout(struct loop *l, uint64_t id, void *arg)
{
	(void)l;
	(void)id;
	struct session *ss = arg;
	ss->timer = 0;
	ss->client_eof = true;
	session_update(ss);
}

static void on_creation_timeout(struct loop *l, uint64_t id, void *arg)
{
	(void)l;
	(void)id;
	struct session *ss = arg;
	ss->timer = 0;
	if (!ss->ready) {
		log_warn("streaming: timed out waiting for client to create streams");
		ss->client_eof = true;
		session_update(ss);
	}
}

/* Re-evaluates what to wait for; ends the session when it is over. */
static void session_update(struct session *ss)
{
	if (ss->ending)
		return;
	if (!client_flush(ss) || ss->client_eof) {
		session_end(ss);
		return;
	}
	bool out_full = kstream_out_len(ss->ks) >= HIGH_WATER;
	bool in_full = pending_to_container(ss) >= HIGH_WATER;
	if (kstream_finished(ss->ks) && kstream_out_len(ss->ks) == 0 && !ss->lingering) {
		/* everything said: half-close, then wait a little for the
		 * client's own close so that it reads all (no RST) */
		shutdown(ss->fd, SHUT_WR);
		ss->lingering = true;
		if (ss->timer)
			loop_timer_cancel(ss->s->loop, ss->timer);
		ss->timer = loop_timer_add(ss->s->loop, LINGER_MS, 0, on_linger_timeout, ss);
	}
	unsigned cev = 0;
	if (!in_full || ss->lingering)
		cev |= LOOP_READ;
	if (kstream_out_len(ss->ks) > 0)
		cev |= LOOP_WRITE;
	client_set_events(ss, cev);
	for (struct endpoint *ep = ss->eps; ep; ep = ep->next) {
		unsigned ev = 0;
		bool can_read =
			!ep->eof && ep->kind != EP_STDIN && !out_full &&
			!kstream_finished(ss->ks) &&
			(ss->kind != KSTREAM_EXEC || (ss->attach ? ss->ready : ss->spawned));
		if (can_read && !ep->connecting)
			ev |= LOOP_READ;
		if (ep->connecting || (ep->woff < ep->wbuf.len && !ep->wr_closed))
			ev |= LOOP_WRITE;
		if (ep->fd >= 0 && ev != ep->events) {
			if (ep->events == 0)
				loop_fd_add(ss->s->loop, ep->fd, ev, on_fd, ep, NULL);
			else if (ev == 0)
				loop_fd_del(ss->s->loop, ep->fd);
			else
				loop_fd_mod(ss->s->loop, ep->fd, ev, NULL);
			ep->events = ev;
		}
	}
}

/* A container-side descriptor is ready. */
static void on_fd(struct loop *l, int fd, unsigned events, void *arg)
{
	(void)l;
	(void)fd;
	struct endpoint *ep = arg;
	struct session *ss = ep->ss;
	if (ep->connecting && (events & (LOOP_WRITE | LOOP_HUP))) {
		pf_connected(ss, ep);
		session_update(ss);
		return;
	}
	if (events & LOOP_WRITE)
		ep_flush(ep);
	if (events & (LOOP_READ | LOOP_HUP)) {
		if (ep->fd >= 0 && !ep->eof)
			endpoint_readable(ss, ep);
		else if (events & LOOP_HUP && ep->kind == EP_STDIN)
			ep->wr_closed = true;
	}
	session_update(ss);
}

static void on_client(struct loop *l, int fd, unsigned events, void *arg)
{
	(void)l;
	(void)fd;
	struct session *ss = arg;
	if (events & (LOOP_READ | LOOP_HUP))
		client_readable(ss);
	session_update(ss);
}

static void session_free(struct session *ss)
{
	struct streaming *s = ss->s;
	for (struct session **p = &s->sessions; *p; p = &(*p)->next) {
		if (*p == ss) {
			*p = ss->next;
			break;
		}
	}
	atomic_fetch_sub(&s->n_sessions, 1);
	while (ss->eps)
		ep_unlink(ss, ss->eps);
	runtime_exec_clear(&ss->x);
	if (ss->timer)
		loop_timer_cancel(s->loop, ss->timer);
	if (ss->held_timer)
		loop_timer_cancel(s->loop, ss->held_timer);
	kstream_free(ss->ks);
	for (size_t i = 0; ss->argv && ss->argv[i]; i++)
		free(ss->argv[i]);
	free(ss->argv);
	free(ss->ctr_id);
	buf_free(&ss->held[1]);
	buf_free(&ss->held[2]);
	mk_err_free(ss->start_err);
	if (ss->netns_fd >= 0)
		close(ss->netns_fd);
	free(ss->pod_name);
	free(ss->pod_uid);
	free(ss->netns);
	free(ss);
}

/* Ends the session: the client goes now; a command still running is
 * killed and the session freed once its runtime is reaped. */
static void session_end(struct session *ss)
{
	if (!ss->ending) {
		ss->ending = true;
		if (ss->fd >= 0) {
			if (ss->events)
				loop_fd_del(ss->s->loop, ss->fd);
			ss->events = 0;
			httpd_upgraded_close(ss->u);
			ss->fd = -1;
		}
		if (ss->spawned && !ss->exited)
			runtime_exec_kill(&ss->x);
		for (struct endpoint *ep = ss->eps; ep; ep = ep->next)
			ep_close(ep);
	}
	if (ss->spawned && !ss->exited)
		return; /* on_exec_exit comes back here */
	session_free(ss);
}

/* On the loop thread: registers a new session's descriptors. */
static void session_start(struct loop *l, void *arg)
{
	struct session *ss = arg;
	struct streaming *s = ss->s;
	ss->next = s->sessions;
	s->sessions = ss;
	fcntl(ss->fd, F_SETFL, fcntl(ss->fd, F_GETFL) | O_NONBLOCK);
	client_set_events(ss, LOOP_READ);
	if (ss->kind == KSTREAM_EXEC && !ss->attach)
		ss->timer = loop_timer_add(l, (uint64_t)s->cfg.stream_creation_timeout_ms, 0,
					   on_creation_timeout, ss);
	/* what the client sent right after its request */
	struct kstream_event ev;
	struct mk_err *err = NULL;
	int r;
	while ((r = kstream_next(ss->ks, &ev, &err)) == 1)
		handle_event(ss, &ev);
	if (r < 0) {
		mk_err_free(err);
		ss->client_eof = true;
	}
	session_update(ss);
}

/* On an HTTP server thread, once the 101 answer is out. */
static void on_upgrade(struct httpd_upgraded *u, int fd, const char *extra, size_t extra_len,
		       void *arg)
{
	struct session *ss = arg;
	ss->u = u;
	ss->fd = fd;
	if (extra_len)
		kstream_feed(ss->ks, extra, extra_len);
	if (ss->kind == KSTREAM_EXEC && !ss->attach) {
		/* the runtime call takes a few ms: here, not on the relay thread */
		struct mk_err *err = NULL;
		if (runtime_exec_prepare(ss->s->cfg.rt, ss->ctr_id, (const char *const *)ss->argv,
					 ss->tty, ss->want_stdin, &ss->x, &err) < 0) {
			ss->start_err = err;
		} else {
			ss->prepared = true;
			ep_new(ss, EP_STDOUT, ss->x.out);
			if (!ss->tty) {
				ep_new(ss, EP_STDERR, ss->x.err);
				if (ss->x.in >= 0)
					ep_new(ss, EP_STDIN, ss->x.in);
			}
		}
	}
	atomic_fetch_add(&ss->s->n_sessions, 1);
	loop_call(ss->s->loop, session_start, ss);
}

/* ---- handlers ---- */

static struct session *session_new(struct streaming *s, enum kstream_kind kind)
{
	struct session *ss = xcalloc(1, sizeof(*ss));
	ss->s = s;
	ss->kind = kind;
	ss->fd = -1;
	ss->netns_fd = -1;
	for (int i = 0; i < 3; i++)
		ss->held[i] = (struct buf)BUF_INIT;
	ss->x = (struct runtime_exec){.in = -1, .out = -1, .err = -1, .pty = -1};
	return ss;
}

/* The handshake, then the 101 answer; false when an error was answered. */
static bool upgrade(struct httpd_req *rq, struct session *ss, const struct kstream_exec_opts *o,
		    const uint16_t *ports, size_t nports)
{
	struct kstream_answer a;
	cleanup_err struct mk_err *err = NULL;
	struct joined_headers jh = {.rq = rq};
	int hrc = kstream_handshake(ss->kind, httpd_req_method(rq), joined_header, &jh, &a, &err);
	for (size_t i = 0; i < jh.n; i++)
		free(jh.keep[i]);
	if (hrc < 0) {
		for (size_t i = 0; i < a.n_headers; i++)
			httpd_reply_header(rq, a.headers[i].name, a.headers[i].value);
		reply_error(rq, a.code, "%s", mk_err_msg(err));
		kstream_answer_clear(&a);
		return false;
	}
	ss->ks = kstream_new(ss->kind, &a, o, ports, nports);
	for (size_t i = 0; i < a.n_headers; i++)
		httpd_reply_header(rq, a.headers[i].name, a.headers[i].value);
	kstream_answer_clear(&a);
	httpd_reply_upgrade(rq, on_upgrade, ss);
	return true;
}

/* Frees a session that never reached the relay thread. */
static void session_discard(struct session *ss)
{
	for (struct endpoint *ep = ss->eps, *next; ep; ep = next) {
		next = ep->next;
		if (ep->fd >= 0)
			close(ep->fd);
		buf_free(&ep->wbuf);
		free(ep);
	}
	kstream_free(ss->ks);
	for (size_t i = 0; ss->argv && ss->argv[i]; i++)
		free(ss->argv[i]);
	free(ss->argv);
	free(ss->ctr_id);
	if (ss->netns_fd >= 0)
		close(ss->netns_fd);
	free(ss->netns);
	free(ss->pod_name);
	free(ss->pod_uid);
	free(ss);
}

/* Connects to the monitor's attach socket of container id; -1 with errno.
 * The path is named through its directory's descriptor: it may be longer
 * than sun_path. */
static int attach_connect(struct streaming *s, const char *id)
{
	cleanup_free char *path = runtime_attach_socket(s->cfg.rt, id);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	cleanup_close int dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dirfd, slash + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		errno = e == ENOENT ? ENOTCONN : e;
		return -1;
	}
	return fd;
}

struct exec_query {
	char **argv;
	size_t n;
};

static void collect_command(const char *key, const char *value, void *arg)
{
	struct exec_query *q = arg;
	if (strcmp(key, "command") != 0 || !value)
		return;
	q->argv = xrealloc(q->argv, (q->n + 2) * sizeof(*q->argv));
	q->argv[q->n++] = xstrdup(value);
	q->argv[q->n] = NULL;
}

void streaming_serve_remotecommand(struct streaming *s, struct httpd_req *rq, const char *ns,
				   const char *name, const char *uid, const char *ctr, bool attach)
{
	struct kstream_exec_opts o = {
		/* the kubelet's names (what the API server sends), and kubectl's */
		.in = flag_on(httpd_req_query(rq, "input")) ||
		      flag_on(httpd_req_query(rq, "stdin")),
		.out = flag_on(httpd_req_query(rq, "output")) ||
		       flag_on(httpd_req_query(rq, "stdout")),
		.err = flag_on(httpd_req_query(rq, "error")) ||
		       flag_on(httpd_req_query(rq, "stderr")),
		.tty = flag_on(httpd_req_query(rq, "tty")),
	};
	if (o.tty)
		o.err = false;
	struct exec_query q = {0};
	if (!attach)
		httpd_req_query_each(rq, collect_command, &q);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *pod = NULL;
	cleanup_free char *netns = NULL;
	const char *pod_uid = NULL;
	const json_t *st = NULL;
	char *id = NULL;
	int code = 0;
	cleanup_free char *msg = NULL;
	if (!o.in && !o.out && !o.err) {
		code = 400;
		msg = xstrdup("you must specify at least 1 of stdin, stdout, stderr");
	} else if (!attach && q.n == 0) {
		code = 400;
		msg = xstrdup("you must specify a command");
	} else if (s->cfg.ops.pod(s->cfg.ops.arg, ns, name, &pod, &netns, &err) < 0 ||
		   ((pod_uid = json_string_value(
			     json_object_get(json_object_get(pod, "metadata"), "uid"))) &&
		    uid && strcmp(uid, pod_uid) != 0)) {
		code = mk_err_code(err) == MK_ENOTFOUND || !err ? 404 : 500;
		msg = xstrdup(code == 404 ? "pod does not exist" : mk_err_msg(err));
	} else if (!(st = container_status(pod, ctr)) ||
		   !json_object_get(json_object_get(st, "state"), "running") ||
		   !(id = runtime_id(json_string_value(json_object_get(st, "containerID"))))) {
		code = 500;
		msg = xasprintf("container not found (\"%s\")", ctr);
	}
	if (code) {
		reply_error(rq, code, "%s", msg);
		for (size_t i = 0; i < q.n; i++)
			free(q.argv[i]);
		free(q.argv);
		return;
	}
	struct session *ss = session_new(s, KSTREAM_EXEC);
	ss->attach = attach;
	ss->argv = q.argv;
	ss->tty = o.tty;
	ss->want_stdin = o.in;
	ss->ctr_id = id;
	if (attach) {
		int fd = attach_connect(s, id);
		if (fd < 0) {
			reply_error(rq, 500, "failed to attach to container %s: %s", id,
				    strerror(errno));
			session_discard(ss);
			return;
		}
		ep_new(ss, EP_ATTACH, fd);
		ss->ready = true;
	}
	if (!upgrade(rq, ss, &o, NULL, 0))
		session_discard(ss);
}

/* exec and attach: /<verb>/<ns>/<pod>[/<uid>]/<container> */
static void handle_remotecommand(struct httpd_req *rq, struct streaming *s, bool attach)
{
	char *parts[4];
	const char *prefix = attach ? "/attach/" : "/exec/";
	int n = split_path(httpd_req_path(rq), prefix, parts, 4);
	if (n != 3 && n != 4) {
		if (n > 0)
			free_parts(parts, n);
		reply_error(rq, 404, "404 page not found");
		return;
	}
	streaming_serve_remotecommand(s, rq, parts[0], parts[1], n == 4 ? parts[2] : NULL,
				      parts[n - 1], attach);
	free_parts(parts, n);
}

void streaming_handle_exec(struct httpd_req *rq, void *arg)
{
	handle_remotecommand(rq, arg, false);
}

void streaming_handle_attach(struct httpd_req *rq, void *arg)
{
	handle_remotecommand(rq, arg, true);
}

/* The WebSocket `port` values: repeated and/or comma-separated. */
static void collect_ports(const char *key, const char *value, void *arg)
{
	struct buf *b = arg;
	if (strcmp(key, "port") == 0 && value) {
		if (b->len)
			buf_append_char(b, ',');
		buf_append_str(b, *value ? value : ",");
	}
}

void streaming_handle_portforward(struct httpd_req *rq, void *arg)
{
	char *parts[3];
	int n = split_path(httpd_req_path(rq), "/portForward/", parts, 3);
	if (n != 2 && n != 3) {
		if (n > 0)
			free_parts(parts, n);
		reply_error(rq, 404, "404 page not found");
		return;
	}
	streaming_serve_portforward(arg, rq, parts[0], parts[1], n == 3 ? parts[2] : NULL);
	free_parts(parts, n);
}

void streaming_serve_portforward(struct streaming *s, struct httpd_req *rq, const char *ns,
				 const char *name, const char *uid)
{
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *pod = NULL;
	cleanup_free char *netns = NULL;
	const char *pod_uid = NULL;
	int rc = s->cfg.ops.pod(s->cfg.ops.arg, ns, name, &pod, &netns, &err);
	if (rc == 0)
		pod_uid =
			json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
	if (rc < 0 || (uid && pod_uid && strcmp(uid, pod_uid) != 0)) {
		if (rc < 0 && mk_err_code(err) != MK_ENOTFOUND)
			reply_error(rq, 500, "%s", mk_err_msg(err));
		else
			reply_error(rq, 404, "pod does not exist");
		return;
	}
	if (!netns) {
		reply_error(rq, 500, "pod %s has no network namespace", name);
		return;
	}
	int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		reply_error(rq, 500, "opening the network namespace of pod %s: %s", name,
			    strerror(errno));
		return;
	}
	/* WebSocket channels name their ports in the query */
	uint16_t *ports = NULL;
	size_t nports = 0;
	if (ws_is_upgrade_request(req_header, rq)) {
		struct buf b = BUF_INIT;
		httpd_req_query_each(rq, collect_ports, &b);
		const char *p = buf_str(&b);
		const char *bad = NULL;
		if (!*p)
			bad = "query parameter \"port\" is required";
		while (*p && !bad) {
			char *end;
			unsigned long v = strtoul(p, &end, 10);
			if (end == p || (*end && *end != ',') || v > 65535) {
				bad = "unable to parse a port";
			} else if (v < 1) {
				bad = "port must be > 0";
			} else {
				ports = xrealloc(ports, (nports + 1) * sizeof(*ports));
				ports[nports++] = (uint16_t)v;
			}
			p = *end ? end + 1 : end;
		}
		if (bad) {
			reply_error(rq, 400, "%s", bad);
			buf_free(&b);
			free(ports);
			close(nsfd);
			return;
		}
		buf_free(&b);
	}
	struct session *ss = session_new(s, KSTREAM_PORTFORWARD);
	ss->netns_fd = nsfd;
	ss->netns = xstrdup(netns);
	ss->pod_name = xstrdup(name);
	ss->pod_uid = xstrdup(pod_uid ? pod_uid : "");
	if (!upgrade(rq, ss, NULL, ports, nports))
		session_discard(ss);
	free(ports);
}

/* ---- the module ---- */

static void *relay_thread(void *arg)
{
	struct streaming *s = arg;
	struct mk_err *err = NULL;
	if (loop_run(s->loop, &err) < 0) {
		log_error("streaming: %s", mk_err_msg(err));
		mk_err_free(err);
	}
	return NULL;
}

struct streaming *streaming_new(const struct streaming_config *cfg, struct mk_err **err)
{
	struct streaming *s = xcalloc(1, sizeof(*s));
	s->cfg = *cfg;
	if (!s->cfg.stream_creation_timeout_ms)
		s->cfg.stream_creation_timeout_ms = 30000;
	s->ino = -1;
	pthread_mutex_init(&s->mu, NULL);
	s->loop = loop_new(err);
	if (!s->loop)
		goto fail;
	s->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino < 0) {
		mk_err_errno(err, MK_EIO, errno, "inotify");
		goto fail;
	}
	if (loop_fd_add(s->loop, s->ino, LOOP_READ, on_inotify, s, err) < 0)
		goto fail;
	loop_timer_add(s->loop, FOLLOW_TICK_MS, FOLLOW_TICK_MS, on_tick, s);
	int rc = pthread_create(&s->thread, NULL, relay_thread, s);
	if (rc != 0) {
		mk_err_errno(err, MK_EIO, rc, "starting the streaming thread");
		goto fail;
	}
	s->thread_started = true;
	return s;
fail:
	streaming_free(s);
	return NULL;
}

static void stop_when_empty(struct loop *l, uint64_t id, void *arg);

static void end_all(struct loop *l, void *arg)
{
	struct streaming *s = arg;
	struct session *next;
	/* timers are the loop thread's: added here, not by streaming_free */
	loop_timer_add(l, 50, 50, stop_when_empty, s);
	for (struct session *ss = s->sessions; ss; ss = next) {
		next = ss->next;
		session_end(ss);
	}
	/* commands still being killed: their exits come through the loop */
	if (!s->sessions)
		loop_stop(l);
}

static void stop_when_empty(struct loop *l, uint64_t id, void *arg)
{
	(void)id;
	struct streaming *s = arg;
	if (!s->sessions)
		loop_stop(l);
}

void streaming_free(struct streaming *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		loop_call(s->loop, end_all, s);
		pthread_join(s->thread, NULL);
	}
	loop_free(s->loop);
	if (s->ino >= 0)
		close(s->ino);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

unsigned streaming_sessions(struct streaming *s)
{
	return atomic_load(&s->n_sessions);
}
