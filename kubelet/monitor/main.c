/* mink8s-monitor: the per-container supervisor. One monitor per container is
 * the parent of the container's init process, holds its stdout/stderr, writes
 * them to the CRI log and records the exit status, so that containers and
 * their exit codes outlive the kubelet.
 *
 *   mink8s-monitor --runtime /usr/sbin/runc --root /run/mink8s/runc \
 *       --bundle B --id ID --log /var/log/pods/.../0.log \
 *       --exit-file D/exit.json --pid-file D/monitor.pid --started-file D/started \
 *       [--cgroup /kubepods/burstable/pod<uid>] [--crun-hybrid-workaround] [--start]
 *
 * It is ours rather than conmon because conmon's contract does not fit well:
 * its errors go to syslog or nowhere, it needs an existing --persist-dir or
 * writes no exit file at all, it races its caller without the sync pipe, it
 * stays in its caller's cgroup, writes timestamps with a local offset instead
 * of containerd's Z, and costs +11 ms per start against +4 ms for this
 * program, plus one more package on every node.
 *
 * Protocol:
 *  1. Optionally moves itself into --cgroup in every hierarchy (cpuset filled
 *     from the parent first), so the monitor is accounted to the pod and not
 *     killed with the kubelet's cgroup.
 *  2. Forks. The foreground half waits on a pipe and prints "pid N" (stdout,
 *     exit 0) once the runtime has created the container, or "error: <why>"
 *     (stderr, exit 1) — "error: runc create: <runc's message>" when the
 *     runtime refused. The caller then runs `<runtime> start`. With --start
 *     the container is started as well ("error: runc run: ..." when the
 *     runtime refused), and nothing is left for the caller to run.
 *  3. The monitor half: setsid, child subreaper, stdio on /dev/null, SIGPIPE
 *     and SIGHUP ignored, SIGCHLD and SIGUSR1 through a signalfd; writes its
 *     own pid to --pid-file and runs
 *     `<runtime> --root R create --bundle B --pid-file B/ctr.pid ID` with the
 *     container's stdout/stderr on two pipes (with --start, `run --detach`
 *     instead of `create`: one runtime process, not two, for a container
 *     whose creation and start need nothing in between, such as a pod's
 *     pause container). With --crun-hybrid-workaround
 *     that one command runs in a private mount namespace where an empty file
 *     hides <cgroup2 mount>/cgroup.controllers (crun refuses hybrid hosts
 *     whose cgroup2 root lists any controller).
 *  4. Relays output as CRI log lines (crilog.h); SIGUSR1 reopens the log
 *     path (the kubelet renames the file for rotation, then signals).
 *     When the runtime's exec.fifo disappears (`start` consumed it), writes
 *     the start time (RFC3339Nano, one line) to --started-file; with
 *     --start, once `run` returned, before the pid is reported.
 *  5. When the init is reaped: exit code = WEXITSTATUS or 128+signal; OOM =
 *     the container memory cgroup's oom_kill counter went up since create
 *     (memory.oom_control on v1, memory.events on v2); the pipes are drained
 *     (at most 2 s, if a stray process still holds them); then --exit-file is
 *     written atomically (tmp + rename) as one JSON object
 *       {"pid":N,"exitCode":N,"signal":S,"oomKilled":bool,
 *        "startedAt":"<RFC3339Nano>","finishedAt":"<RFC3339Nano>"}
 *     ("signal" 0 for a normal exit; "startedAt" absent if the container was
 *     never started) and the monitor exits 0.
 *
 * Attach (--attach-socket PATH): the monitor also listens on a unix
 * SOCK_SEQPACKET socket at PATH (created once the container exists, removed
 * at the end) for `kubectl attach`. Every chunk of output it reads goes, as
 * well as to the log, to each connected client as one packet: a stream byte
 * (1 stdout, 2 stderr) and the data. A client that cannot take a packet at
 * once is disconnected rather than let it slow the log down. With --stdin
 * the container's stdin is a pipe the monitor holds: packets a client sends
 * with stream byte 0 are written to it (up to 1 MiB waits when the
 * container does not read; beyond that the client is disconnected); with
 * --stdin-once it is closed when a client that wrote to it leaves or shuts
 * its sending side, as upstream's StdinOnce. Clients are disconnected when the container
 * exits. (This is conmon's attach socket, with our stream numbers.)
 *
 * If the monitor is killed the container keeps running (it only loses its
 * log reader and its exit record). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "flags.h"
#include "fsutil.h"
#include "kubelet/cgroups.h"
#include "kubelet/monitor/crilog.h"
#include "kubelet/runtime.h"
#include "xalloc.h"

#define CREATE_TIMEOUT_MS (120 * 1000)
#define DRAIN_TIMEOUT_MS  2000
/* runc create's stderr kept for the error message */
#define MAX_ERR_TEXT 8192

static const char *const child_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};

struct opts {
	char *runtime, *root, *bundle, *id, *log, *exit_file, *pid_file, *started_file;
	char *cgroup;
	bool crun_workaround;
	bool start; /* `run --detach`: created and started at once */
	char *attach_socket;
	bool stdin_open, stdin_once;
};

#define MAX_ATTACH   16
#define STDIN_BUFFER (1024 * 1024)

struct reaped {
	pid_t pid;
	int status;
};

struct monitor {
	struct opts *o;
	struct cgroups *cg;
	struct crilog log;
	int sfd;	  /* signalfd */
	int out_r, err_r; /* read ends of the container's stdout/stderr, -1 at EOF */
	int ino;	  /* inotify on the runtime's state dir, -1 when not watching */
	int report;	  /* write end of the report pipe, -1 once reported */
	pid_t create_pid, ctr_pid;
	int create_status, ctr_status;
	bool create_done, ctr_done;
	struct reaped *early; /* reaped before the container pid was known */
	size_t n_early;
	char *oom_file; /* the container's memory.oom_control / memory.events */
	uint64_t oom_before;
	struct timespec started, finished;
	bool has_started;
	struct buf held[2]; /* output seen while the runtime's create ran */
	int attach_l;	    /* the attach socket, or -1 */
	int clients[MAX_ATTACH];
	bool wrote_stdin[MAX_ATTACH];
	bool input_done[MAX_ATTACH]; /* the client shut its sending side */
	int stdin_w;		     /* the container's stdin (--stdin), or -1 */
	struct buf stdin_buf;	     /* waiting for the container to read */
	bool stdin_close;	     /* close stdin_w once stdin_buf is written */
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void now_real(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Writes text to path atomically: path.tmp, fsync-free (tmpfs), rename. */
static void report(struct monitor *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct monitor *m, const char *fmt, ...)
{
	if (m->report < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *s = xvasprintf(fmt, ap);
	va_end(ap);
	write_all(m->report, s, strlen(s));
	close(m->report);
	m->report = -1;
}

/* Reads the uint64 after "oom_kill " in a memory.oom_control/memory.events file. */
static bool read_oom_kills(const char *path, uint64_t *out)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char text[1024];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	if (n <= 0)
		return false;
	text[n] = '\0';
	for (char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "oom_kill ", 9)) {
			*out = strtoull(p + 9, NULL, 10);
			return true;
		}
	}
	return false;
}

/* Finds the container's memory cgroup from /proc/<pid>/cgroup and reads the
 * OOM kill counter's starting value. */
static void oom_baseline(struct monitor *m)
{
	if (!m->cg)
		return;
	const struct cgroups_hierarchy *h = cgroups_controller(m->cg, "memory");
	if (!h)
		return;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)m->ctr_pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct buf b = BUF_INIT;
	char chunk[1024];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	cleanup_free char *text = buf_steal(&b);
	cleanup_free char *cpath = cgroups_proc_path(text, h->v2 ? "" : "memory");
	if (!cpath)
		return;
	m->oom_file = xasprintf("%s%s/%s", h->mount, strcmp(cpath, "/") ? cpath : "",
				h->v2 ? "memory.events" : "memory.oom_control");
	if (!read_oom_kills(m->oom_file, &m->oom_before)) {
		free(m->oom_file);
		m->oom_file = NULL;
	}
}

static void reap(struct monitor *m)
{
	for (;;) {
		int status;
		pid_t p = waitpid(-1, &status, WNOHANG);
		if (p <= 0)
			return;
		if (p == m->create_pid) {
			m->create_done = true;
			m->create_status = status;
		} else if (m->ctr_pid && p == m->ctr_pid) {
			m->ctr_done = true;
			m->ctr_status = status;
			now_real(&m->finished);
		} else if (!m->ctr_pid) {
			m->early = xrealloc(m->early, (m->n_early + 1) * sizeof(*m->early));
			m->early[m->n_early++] = (struct reaped){.pid = p, .status = status};
		}
	}
}

/* The create child: optional private mount namespace for crun, stdio on
 * the pipes, then exec. Never returns. */
static void exec_create(struct monitor *m, int in_r, int out_w, int err_w, const char *controllers)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	int in = in_r >= 0 ? in_r : open("/dev/null", O_RDONLY);
	if (in < 0 || dup2(in, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		_exit(127);
	if (m->o->crun_workaround) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("/dev/null", controllers, NULL, MS_BIND, NULL) < 0) {
			dprintf(2, "hiding %s in a private mount namespace: %s\n", controllers,
				strerror(errno));
			_exit(127);
		}
	}
	cleanup_free char *ctr_pid_file = xasprintf("%s/ctr.pid", m->o->bundle);
	char *argv[12];
	size_t n = 0;
	argv[n++] = m->o->runtime;
	argv[n++] = "--root";
	argv[n++] = m->o->root;
	argv[n++] = m->o->start ? "run" : "create";
	if (m->o->start)
		argv[n++] = "--detach";
	argv[n++] = "--bundle";
	argv[n++] = m->o->bundle;
	argv[n++] = "--pid-file";
	argv[n++] = ctr_pid_file;
	argv[n++] = m->o->id;
	argv[n] = NULL;
	execve(m->o->runtime, argv, (char **)child_env);
	dprintf(2, "exec %s: %s\n", m->o->runtime, strerror(errno));
	_exit(127);
}

/* ---- attach ---- */

/* A socket path may be longer than sun_path holds (container ids are
 * long): the directory is named through /proc/self/fd, as conmon does. */
static int attach_addr(const char *path, struct sockaddr_un *a, int *dirfd)
{
	cleanup_free char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	*dirfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -1;
	*a = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/%s", *dirfd, slash + 1);
	return 0;
}

static int attach_listen(struct monitor *m)
{
	struct sockaddr_un a;
	int dirfd;
	if (attach_addr(m->o->attach_socket, &a, &dirfd) < 0)
		return -1;
	unlink(a.sun_path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof(a));
	if (rc == 0)
		chmod(a.sun_path, 0600);
	if (rc == 0)
		rc = listen(fd, MAX_ATTACH);
	close(dirfd);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	m->attach_l = fd;
	return 0;
}

/* The client sends nothing more: with --stdin-once, if it was the writer,
 * the container's stdin ends (once what waits was written). */
static void attach_input_done(struct monitor *m, int i)
{
	m->input_done[i] = true;
	if (m->wrote_stdin[i] && m->o->stdin_once && m->stdin_w >= 0)
		m->stdin_close = true;
	m->wrote_stdin[i] = false;
}

static void attach_drop(struct monitor *m, int i)
{
	close(m->clients[i]);
	m->clients[i] = -1;
	attach_input_done(m, i);
	m->input_done[i] = false;
}

static void attach_accept(struct monitor *m)
{
	for (;;) {
		int fd = accept4(m->attach_l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int sz = 1 << 20;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		int i = 0;
		while (i < MAX_ATTACH && m->clients[i] >= 0)
			i++;
		if (i == MAX_ATTACH) {
			close(fd);
			continue;
		}
		m->clients[i] = fd;
	}
}

/* Output to every client, in packets of at most 32 KiB of data. */
static void attach_broadcast(struct monitor *m, enum crilog_stream s, const char *data, size_t len)
{
	uint8_t tag = s == CRILOG_STDOUT ? 1 : 2;
	for (size_t off = 0; off < len; off += 32768) {
		size_t n = len - off < 32768 ? len - off : 32768;
		struct iovec iov[2] = {{.iov_base = &tag, .iov_len = 1},
				       {.iov_base = (void *)(data + off), .iov_len = n}};
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
		for (int i = 0; i < MAX_ATTACH; i++)
			if (m->clients[i] >= 0 &&
			    sendmsg(m->clients[i], &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				attach_drop(m, i);
	}
}

static void stdin_flush(struct monitor *m)
{
	if (m->stdin_close && m->stdin_w >= 0 && !m->stdin_buf.len) {
		close(m->stdin_w);
		m->stdin_w = -1;
		return;
	}
	while (m->stdin_w >= 0 && m->stdin_buf.len) {
		ssize_t n = write(m->stdin_w, m->stdin_buf.data, m->stdin_buf.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* the container closed its stdin */
			close(m->stdin_w);
			m->stdin_w = -1;
			buf_free(&m->stdin_buf);
			return;
		}
		memmove(m->stdin_buf.data, m->stdin_buf.data + n, m->stdin_buf.len - (size_t)n);
		m->stdin_buf.len -= (size_t)n;
	}
	if (m->stdin_close && m->stdin_w >= 0 && !m->stdin_buf.len) {
		close(m->stdin_w);
		m->stdin_w = -1;
	}
}

static void attach_read(struct monitor *m, int i)
{
	char pkt[65537];
	for (;;) {
		ssize_t n = recv(m->clients[i], pkt, sizeof(pkt), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			attach_drop(m, i);
			return;
		}
		if (n == 0) {
			/* a shut sending side, or a client gone: output still goes
			 * to it until a send fails */
			attach_input_done(m, i);
			stdin_flush(m);
			return;
		}
		if (pkt[0] != 0 || n < 2 || m->stdin_w < 0 || m->stdin_close)
			continue;
		if (m->stdin_buf.len + (size_t)n - 1 > STDIN_BUFFER) {
			attach_drop(m, i);
			return;
		}
		m->wrote_stdin[i] = true;
		buf_append(&m->stdin_buf, pkt + 1, (size_t)n - 1);
		stdin_flush(m);
	}
}

static void read_pipe(struct monitor *m, int *fd, enum crilog_stream s, bool hold)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(*fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(*fd);
			*fd = -1;
			return;
		}
		if (hold) {
			if (m->held[s].len < MAX_ERR_TEXT)
				buf_append(&m->held[s], chunk, (size_t)n);
			continue;
		}
		struct timespec ts;
		now_real(&ts);
		crilog_feed(&m->log, s, chunk, (size_t)n, &ts);
		attach_broadcast(m, s, chunk, (size_t)n);
	}
}

static void handle_signals(struct monitor *m)
{
	struct signalfd_siginfo si;
	for (;;) {
		ssize_t n = read(m->sfd, &si, sizeof(si));
		if (n != sizeof(si))
			return;
		if (si.ssi_signo == SIGCHLD)
			reap(m);
		else if (si.ssi_signo == SIGUSR1)
			crilog_reopen(&m->log, NULL);
	}
}

/* The container started now: the time into --started-file. */
static void mark_started(struct monitor *m)
{
	now_real(&m->started);
	m->has_started = true;
	char ts[64];
	crilog_timestamp(&m->started, ts, sizeof(ts));
	strcat(ts, "\n");
	fs_write_atomic_nosync(m->o->started_file, ts, strlen(ts), 0644, NULL);
}

static void handle_inotify(struct monitor *m)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(m->ino, ev, sizeof(ev));
	for (char *p = ev; n > 0 && p < ev + n;) {
		struct inotify_event *e = (struct inotify_event *)p;
		if (e->len && !strcmp(e->name, "exec.fifo") && !m->has_started)
			mark_started(m);
		p += sizeof(*e) + e->len;
	}
	if (m->has_started) {
		close(m->ino);
		m->ino = -1;
	}
}

/* One poll round over the signalfd, the pipes, inotify and attach. */
static void poll_once(struct monitor *m, int timeout_ms, bool hold)
{
	struct pollfd p[6 + MAX_ATTACH] = {
		{.fd = m->sfd, .events = POLLIN},
		{.fd = m->out_r, .events = POLLIN},
		{.fd = m->err_r, .events = POLLIN},
		{.fd = m->ino, .events = POLLIN},
		{.fd = m->attach_l, .events = POLLIN},
		{.fd = m->stdin_buf.len ? m->stdin_w : -1, .events = POLLOUT},
	};
	for (int i = 0; i < MAX_ATTACH; i++)
		p[6 + i] = (struct pollfd){.fd = m->input_done[i] ? -1 : m->clients[i],
					   .events = POLLIN};
	int n = poll(p, 6 + MAX_ATTACH, timeout_ms);
	if (n <= 0)
		return;
	/* the start first: output that arrived with it came after it */
	if (p[3].revents && m->ino >= 0)
		handle_inotify(m);
	if (p[4].revents && m->attach_l >= 0)
		attach_accept(m);
	for (int i = 0; i < MAX_ATTACH; i++)
		if (p[6 + i].revents && m->clients[i] >= 0)
			attach_read(m, i);
	if (p[5].revents && m->stdin_w >= 0) {
		if (p[5].revents & (POLLERR | POLLHUP)) {
			close(m->stdin_w);
			m->stdin_w = -1;
			buf_free(&m->stdin_buf);
		} else {
			stdin_flush(m);
		}
	}
	if (p[1].revents && m->out_r >= 0)
		read_pipe(m, &m->out_r, CRILOG_STDOUT, hold);
	if (p[2].revents && m->err_r >= 0)
		read_pipe(m, &m->err_r, CRILOG_STDERR, hold);
	if (p[0].revents)
		handle_signals(m);
}

static int read_ctr_pid(struct monitor *m, struct mk_err **err)
{
	cleanup_free char *path = xasprintf("%s/ctr.pid", m->o->bundle);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "open %s", path);
	char text[32];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	if (n <= 0)
		return mk_err_set(err, MK_EIO, "%s is empty", path);
	text[n] = '\0';
	char *end;
	long v = strtol(text, &end, 10);
	if (v <= 0 || (*end && *end != '\n'))
		return mk_err_set(err, MK_EIO, "%s holds no pid", path);
	m->ctr_pid = (pid_t)v;
	return 0;
}

static void write_exit_file(struct monitor *m)
{
	int code, sig = 0;
	if (WIFEXITED(m->ctr_status)) {
		code = WEXITSTATUS(m->ctr_status);
	} else {
		sig = WTERMSIG(m->ctr_status);
		code = 128 + sig;
	}
	uint64_t after = 0;
	bool oom = m->oom_file && read_oom_kills(m->oom_file, &after) && after > m->oom_before;
	char fin[64], start[64];
	crilog_timestamp(&m->finished, fin, sizeof(fin));
	cleanup_json json_t *o = json_pack("{s:i, s:i, s:i, s:b}", "pid", (int)m->ctr_pid,
					   "exitCode", code, "signal", sig, "oomKilled", oom);
	if (m->has_started) {
		crilog_timestamp(&m->started, start, sizeof(start));
		json_object_set_new(o, "startedAt", json_string(start));
	}
	json_object_set_new(o, "finishedAt", json_string(fin));
	cleanup_free char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cleanup_free char *line = xasprintf("%s\n", text);
	fs_write_atomic_nosync(m->o->exit_file, line, strlen(line), 0644, NULL);
}

/* The monitor half. Returns the process exit status. */
static int run_monitor(struct monitor *m)
{
	struct mk_err *err = NULL;
	struct opts *o = m->o;
	const char *verb = o->start ? "run" : "create";
	cleanup_free char *controllers = NULL;
	if (o->crun_workaround) {
		const struct cgroups_hierarchy *u = NULL;
		for (size_t i = 0; m->cg && i < m->cg->n; i++)
			if (m->cg->h[i].v2)
				u = &m->cg->h[i];
		if (!u) {
			report(m, "error: --crun-hybrid-workaround: no cgroup2 mount\n");
			return 1;
		}
		controllers = xasprintf("%s/cgroup.controllers", u->mount);
	}

	char pidtext[32];
	snprintf(pidtext, sizeof(pidtext), "%d\n", (int)getpid());
	if (fs_write_atomic_nosync(o->pid_file, pidtext, strlen(pidtext), 0644, &err) < 0) {
		report(m, "error: %s\n", mk_err_msg(err));
		mk_err_free(err);
		return 1;
	}
	if (crilog_open(&m->log, o->log, &err) < 0) {
		report(m, "error: %s\n", mk_err_msg(err));
		mk_err_free(err);
		unlink(o->pid_file);
		return 1;
	}
	int outp[2], errp[2], inp[2] = {-1, -1};
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (o->stdin_open && pipe2(inp, O_CLOEXEC) < 0)) {
		report(m, "error: pipe: %s\n", strerror(errno));
		unlink(o->pid_file);
		return 1;
	}
	m->stdin_w = inp[1];
	if (m->stdin_w >= 0)
		fcntl(m->stdin_w, F_SETFL, O_NONBLOCK);
	m->out_r = outp[0];
	m->err_r = errp[0];
	fcntl(m->out_r, F_SETFL, O_NONBLOCK);
	fcntl(m->err_r, F_SETFL, O_NONBLOCK);

	m->create_pid = fork();
	if (m->create_pid < 0) {
		report(m, "error: fork: %s\n", strerror(errno));
		unlink(o->pid_file);
		return 1;
	}
	if (m->create_pid == 0)
		exec_create(m, inp[0], outp[1], errp[1], controllers);
	close(outp[1]);
	close(errp[1]);
	if (inp[0] >= 0)
		close(inp[0]);

	long long deadline = now_ms() + CREATE_TIMEOUT_MS;
	while (!m->create_done) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			kill(m->create_pid, SIGKILL);
			deadline = now_ms() + 5000;
			report(m, "error: %s %s: timed out after %d s\n", base_name(o->runtime),
			       verb, CREATE_TIMEOUT_MS / 1000);
			continue;
		}
		poll_once(m, (int)left, true);
	}
	if (!WIFEXITED(m->create_status) || WEXITSTATUS(m->create_status) != 0) {
		/* the runtime's own messages are on the container's stderr pipe */
		if (m->err_r >= 0)
			read_pipe(m, &m->err_r, CRILOG_STDERR, true);
		if (m->out_r >= 0)
			read_pipe(m, &m->out_r, CRILOG_STDOUT, true);
		struct buf all = BUF_INIT;
		buf_append(&all, m->held[1].data ? m->held[1].data : "", m->held[1].len);
		buf_append_char(&all, '\n');
		buf_append(&all, m->held[0].data ? m->held[0].data : "", m->held[0].len);
		cleanup_free char *text = buf_steal(&all);
		cleanup_free char *msg = runtime_error_text(text);
		if (!*msg && WIFSIGNALED(m->create_status))
			report(m, "error: %s %s: killed by signal %d\n", base_name(o->runtime),
			       verb, WTERMSIG(m->create_status));
		else
			report(m, "error: %s %s: %s\n", base_name(o->runtime), verb,
			       *msg ? msg : "failed without a message");
		unlink(o->pid_file);
		return 1;
	}
	if (read_ctr_pid(m, &err) < 0) {
		report(m, "error: %s %s: %s\n", base_name(o->runtime), verb, mk_err_msg(err));
		mk_err_free(err);
		unlink(o->pid_file);
		return 1;
	}
	for (size_t i = 0; i < m->n_early; i++) {
		if (m->early[i].pid == m->ctr_pid) {
			m->ctr_done = true;
			m->ctr_status = m->early[i].status;
			now_real(&m->finished);
		}
	}
	oom_baseline(m);
	if (o->start) {
		mark_started(m);
	} else {
		cleanup_free char *state_dir = xasprintf("%s/%s", o->root, o->id);
		m->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (m->ino >= 0 && inotify_add_watch(m->ino, state_dir, IN_DELETE) < 0) {
			close(m->ino);
			m->ino = -1;
		}
	}
	/* anything the runtime printed while creating goes to the log */
	struct timespec ts;
	now_real(&ts);
	for (int s = 0; s < 2; s++)
		if (m->held[s].len)
			crilog_feed(&m->log, (enum crilog_stream)s, m->held[s].data, m->held[s].len,
				    &ts);
	/* without its socket the container runs all the same, unattachable */
	if (o->attach_socket)
		attach_listen(m);
	report(m, "pid %d\n", (int)m->ctr_pid);

	while (!m->ctr_done)
		poll_once(m, -1, false);

	/* drain what the container wrote last; a stray holder of the pipes
	 * (a process that left the container's process tree) bounds this */
	deadline = now_ms() + DRAIN_TIMEOUT_MS;
	while (m->out_r >= 0 || m->err_r >= 0) {
		long long left = deadline - now_ms();
		if (left <= 0)
			break;
		poll_once(m, (int)left, false);
	}
	now_real(&ts);
	crilog_flush(&m->log, CRILOG_STDOUT, &ts);
	crilog_flush(&m->log, CRILOG_STDERR, &ts);
	for (int i = 0; i < MAX_ATTACH; i++)
		if (m->clients[i] >= 0)
			attach_drop(m, i);
	if (m->attach_l >= 0) {
		close(m->attach_l);
		unlink(o->attach_socket);
	}
	write_exit_file(m);
	crilog_close(&m->log);
	return 0;
}

static int foreground(int rfd)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	for (;;) {
		ssize_t n = read(rfd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_append(&b, chunk, (size_t)n);
	}
	cleanup_free char *text = buf_steal(&b);
	if (!strncmp(text, "pid ", 4)) {
		fputs(text, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (!*text)
		fputs("error: the monitor exited before the container was created\n", stderr);
	else
		fputs(text, stderr);
	return 1;
}

/* Steps 1-3 of the protocol; returns the exit status of whichever half
 * returns here (the foreground's, or the monitor's when it is done). */
static int launch(struct opts *o)
{
	struct mk_err *err = NULL;
	struct monitor m = {.o = o,
			    .sfd = -1,
			    .out_r = -1,
			    .err_r = -1,
			    .ino = -1,
			    .attach_l = -1,
			    .stdin_w = -1};
	for (int i = 0; i < MAX_ATTACH; i++)
		m.clients[i] = -1;
	int rc = 1;
	m.cg = cgroups_detect(NULL);
	if (o->cgroup && *o->cgroup) {
		if (!m.cg) {
			fprintf(stderr, "error: --cgroup %s: no cgroup file system found\n",
				o->cgroup);
			goto out;
		}
		if (cgroups_enter(m.cg, o->cgroup, getpid(), &err) < 0) {
			fprintf(stderr, "error: %s\n", mk_err_msg(err));
			mk_err_free(err);
			goto out;
		}
	}

	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0) {
		fprintf(stderr, "error: pipe: %s\n", strerror(errno));
		goto out;
	}
	/* block before fork so that no SIGCHLD/SIGUSR1 is lost in the child */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "error: fork: %s\n", strerror(errno));
		goto out;
	}
	if (pid > 0) {
		close(rp[1]);
		rc = foreground(rp[0]);
		close(rp[0]);
		goto out;
	}
	close(rp[0]);
	m.report = rp[1];
	setsid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		report(&m, "error: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
		goto out;
	}
	if (chdir("/") < 0) {
		report(&m, "error: chdir /: %s\n", strerror(errno));
		goto out;
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0) {
		report(&m, "error: /dev/null: %s\n", strerror(errno));
		goto out;
	}
	close(devnull);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	m.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m.sfd < 0) {
		report(&m, "error: signalfd: %s\n", strerror(errno));
		goto out;
	}
	rc = run_monitor(&m);
out:
	cgroups_free(m.cg);
	free(m.oom_file);
	free(m.early);
	buf_free(&m.held[0]);
	buf_free(&m.held[1]);
	buf_free(&m.stdin_buf);
	return rc;
}

int main(int argc, char **argv)
{
	/* Only what this program opens may live as long as the container: a
	 * stray inherited descriptor (a caller's socket) would stay open for
	 * the container's lifetime. */
	if (close_range(3, ~0U, 0) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	}
	struct opts o = {0};
	struct flag table[] = {
		{.name = "runtime",
		 .type = FLAG_STRING,
		 .target = &o.runtime,
		 .help = "path of the OCI runtime binary (runc, crun)"},
		{.name = "root",
		 .type = FLAG_STRING,
		 .target = &o.root,
		 .help = "the runtime's state root (--root)"},
		{.name = "bundle",
		 .type = FLAG_STRING,
		 .target = &o.bundle,
		 .help = "bundle directory holding config.json"},
		{.name = "id", .type = FLAG_STRING, .target = &o.id, .help = "container id"},
		{.name = "log",
		 .type = FLAG_STRING,
		 .target = &o.log,
		 .help = "CRI log file to append to"},
		{.name = "exit-file",
		 .type = FLAG_STRING,
		 .target = &o.exit_file,
		 .help = "where the exit record is written (JSON)"},
		{.name = "pid-file",
		 .type = FLAG_STRING,
		 .target = &o.pid_file,
		 .help = "where the monitor writes its own pid"},
		{.name = "started-file",
		 .type = FLAG_STRING,
		 .target = &o.started_file,
		 .help = "where the start time is written once the container started"},
		{.name = "cgroup",
		 .type = FLAG_STRING,
		 .target = &o.cgroup,
		 .help = "cgroup path to move the monitor into first (every hierarchy)"},
		{.name = "crun-hybrid-workaround",
		 .type = FLAG_BOOL,
		 .target = &o.crun_workaround,
		 .help = "hide the cgroup2 controllers file from the runtime's create"},
		{.name = "start",
		 .type = FLAG_BOOL,
		 .target = &o.start,
		 .help = "start the container too (`run --detach`): no `start` is left to run"},
		{.name = "attach-socket",
		 .type = FLAG_STRING,
		 .target = &o.attach_socket,
		 .help = "unix socket where attach clients get the output (and give stdin)"},
		{.name = "stdin",
		 .type = FLAG_BOOL,
		 .target = &o.stdin_open,
		 .help = "keep the container's stdin open, fed by attach clients"},
		{.name = "stdin-once",
		 .type = FLAG_BOOL,
		 .target = &o.stdin_once,
		 .help = "close the container's stdin when the first attach client writing to it "
			 "leaves"},
		{.name = NULL},
	};
	struct mk_err *err = NULL;
	int rc = flags_parse(table, argc, argv, &err);
	if (rc == 1 || rc == FLAGS_VERSION) {
		cleanup_free char *u = flags_usage(
			"mink8s-monitor", "Supervises one container: its log and its exit.", table);
		fputs(u, stdout);
		rc = 0;
		goto done;
	}
	if (rc < 0) {
		fprintf(stderr, "error: %s\n", mk_err_msg(err));
		mk_err_free(err);
		rc = 2;
		goto done;
	}
	const char *missing = !o.runtime	? "runtime"
			      : !o.root		? "root"
			      : !o.bundle	? "bundle"
			      : !o.id		? "id"
			      : !o.log		? "log"
			      : !o.exit_file	? "exit-file"
			      : !o.pid_file	? "pid-file"
			      : !o.started_file ? "started-file"
						: NULL;
	rc = 2;
	if (missing)
		fprintf(stderr, "error: --%s is required\n", missing);
	else if (o.runtime[0] != '/' || o.bundle[0] != '/' || o.root[0] != '/')
		fprintf(stderr, "error: --runtime, --root and --bundle must be absolute paths\n");
	else
		rc = launch(&o);
done:
	free(o.runtime);
	free(o.root);
	free(o.bundle);
	free(o.id);
	free(o.log);
	free(o.exit_file);
	free(o.pid_file);
	free(o.started_file);
	free(o.cgroup);
	free(o.attach_socket);
	return rc;
}
