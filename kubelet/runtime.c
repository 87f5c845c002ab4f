#include "runtime.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "kubelet/cgroups.h"
#include "xalloc.h"

#define CMD_TIMEOUT_MS	      (60 * 1000)
#define CREATE_TIMEOUT_MS     (150 * 1000) /* the monitor gives create 120 s */
#define MAX_CMD_OUTPUT	      (64 * 1024)
#define KILL_WAIT_MS	      (10 * 1000)
#define MONITOR_WAIT_MS	      (5 * 1000)
#define STATE_MONITOR_WAIT_MS (3 * 1000)
#define STARTED_WAIT_MS	      1000
#define REOPEN_WAIT_MS	      1000

static const char *const default_path =
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
static char *const child_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};

struct runtime {
	char *binary; /* absolute */
	char *name;
	char *version;
	char *root;
	char *monitor;
	char *state_dir;
	bool workaround;
};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Waits until pidfd's process has exited or ms passed; true if it exited. */
static bool pidfd_wait(int pidfd, long long ms)
{
	long long deadline = mono_ms() + ms;
	for (;;) {
		long long left = deadline - mono_ms();
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int n = poll(&p, 1, left < 0 ? 0 : (int)(left > INT_MAX ? INT_MAX : left));
		if (n > 0)
			return true;
		if (n == 0)
			return false;
		if (errno != EINTR)
			return false;
	}
}

/* ---- running commands ---- */

struct cmd_result {
	int status;	   /* wait status */
	struct buf out;	   /* stdout (+ stderr unless split), at most max bytes */
	struct buf errout; /* stderr when split, at most max bytes */
	bool truncated;	   /* either stream lost bytes to the bound */
	bool timed_out;
};

static void cmd_result_free(struct cmd_result *r)
{
	buf_free(&r->out);
	buf_free(&r->errout);
}

/* Called once at the deadline, with the child's pid; returns after asking
 * the command to end. The default kills the child. */
typedef void (*timeout_fn)(pid_t pid, void *data);

static void read_some(int *fd, struct buf *b, bool *truncated, size_t max)
{
	char chunk[16384];
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
		size_t take = (size_t)n;
		if (b->len + take > max) {
			take = max - b->len;
			*truncated = true;
		}
		buf_append(b, chunk, take);
	}
}

/* Spawns argv (argv[0] absolute) with stdin on /dev/null and stdout+stderr on
 * one pipe (two with split), reads up to max bytes of each until it exits,
 * and reaps it. At timeout_ms on_timeout (or SIGKILL) ends it; 2 s later it
 * is killed for good. */
static int run_cmd_io(char *const argv[], long long timeout_ms, size_t max, bool split,
		      timeout_fn on_timeout, void *data, struct cmd_result *r, struct mk_err **err)
{
	*r = (struct cmd_result){.out = BUF_INIT, .errout = BUF_INIT};
	int p[2], q[2] = {-1, -1};
	if (pipe2(p, O_CLOEXEC) < 0)
		return mk_err_errno(err, MK_EIO, errno, "pipe");
	if (split && pipe2(q, O_CLOEXEC) < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return mk_err_errno(err, MK_EIO, e, "pipe");
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, split ? q[1] : p[1], 2);
	posix_spawnattr_init(&at);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, child_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (split)
		close(q[1]);
	int rfd[2] = {p[0], q[0]};
	if (rc != 0) {
		close(rfd[0]);
		if (rfd[1] >= 0)
			close(rfd[1]);
		return mk_err_errno(err, MK_EIO, rc, "spawn %s", argv[0]);
	}
	struct buf *dst[2] = {&r->out, &r->errout};
	for (int i = 0; i < 2; i++)
		if (rfd[i] >= 0)
			fcntl(rfd[i], F_SETFL, O_NONBLOCK);
	cleanup_close int pidfd = pidfd_open_(pid);
	long long deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : -1;
	bool exited = false, killed = false;
	while (!exited) {
		struct pollfd fds[3] = {{.fd = rfd[0], .events = POLLIN},
					{.fd = rfd[1], .events = POLLIN},
					{.fd = pidfd, .events = POLLIN}};
		int wait = -1;
		if (deadline >= 0) {
			long long left = deadline - mono_ms();
			wait = left < 0 ? 0 : (int)(left > INT_MAX ? INT_MAX : left);
		}
		if (pidfd < 0 && rfd[0] < 0 && rfd[1] < 0)
			break; /* no pidfd (old kernel): fall back to waitpid below */
		int n = poll(fds, 3, wait);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++)
			if (n > 0 && fds[i].revents && rfd[i] >= 0)
				read_some(&rfd[i], dst[i], &r->truncated, max);
		if (n > 0 && fds[2].revents) {
			exited = true;
			/* what was written before the exit */
			for (int i = 0; i < 2; i++)
				if (rfd[i] >= 0)
					read_some(&rfd[i], dst[i], &r->truncated, max);
		}
		if (n == 0 && deadline >= 0 && mono_ms() >= deadline) {
			if (!r->timed_out) {
				r->timed_out = true;
				if (on_timeout)
					on_timeout(pid, data);
				else
					kill(pid, SIGKILL);
				deadline = mono_ms() + 2000;
			} else if (!killed) {
				kill(pid, SIGKILL);
				killed = true;
				deadline = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (rfd[i] >= 0)
			close(rfd[i]);
	while (waitpid(pid, &r->status, 0) < 0) {
		if (errno != EINTR) {
			cmd_result_free(r);
			return mk_err_errno(err, MK_EIO, errno, "waitpid %s", argv[0]);
		}
	}
	return 0;
}

static int run_cmd(char *const argv[], long long timeout_ms, size_t max, timeout_fn on_timeout,
		   void *data, struct cmd_result *r, struct mk_err **err)
{
	return run_cmd_io(argv, timeout_ms, max, false, on_timeout, data, r, err);
}

static bool cmd_ok(const struct cmd_result *r)
{
	return !r->timed_out && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

/* Sets err to "<name> <verb>: <runtime message>" for a failed command. */
static int cmd_error(const struct runtime *rt, const char *verb, const struct cmd_result *r,
		     struct mk_err **err)
{
	if (r->timed_out)
		return mk_err_set(err, MK_ETIMEOUT, "%s %s: timed out", rt->name, verb);
	cleanup_free char *msg = runtime_error_text(buf_str(&r->out));
	if (!*msg) {
		if (WIFSIGNALED(r->status))
			return mk_err_set(err, MK_EIO, "%s %s: killed by signal %d", rt->name, verb,
					  WTERMSIG(r->status));
		return mk_err_set(err, MK_EIO, "%s %s: exit status %d", rt->name, verb,
				  WEXITSTATUS(r->status));
	}
	return mk_err_set(err, MK_EIO, "%s %s: %s", rt->name, verb, msg);
}

/* ---- pure parts ---- */

char *runtime_error_text(const char *text)
{
	struct buf b = BUF_INIT;
	const char *line = text;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		cleanup_free char *l = xstrndup(line, len);
		line = end ? end + 1 : NULL;
		const char *msg = strstr(l, " msg=\"");
		struct buf v = BUF_INIT;
		if (!strncmp(l, "time=\"", 6) && msg) {
			for (const char *p = msg + 6; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1]) {
					p++;
					buf_append_char(&v, *p == 'n' || *p == 't' ? ' ' : *p);
				} else {
					buf_append_char(&v, *p);
				}
			}
		} else {
			buf_append_str(&v, l);
		}
		cleanup_free char *piece = buf_steal(&v);
		size_t pl = strlen(piece);
		while (pl && isspace((unsigned char)piece[pl - 1]))
			piece[--pl] = '\0';
		if (!pl)
			continue;
		if (b.len)
			buf_append_str(&b, "; ");
		buf_append_str(&b, piece);
	}
	return buf_steal(&b);
}

void runtime_exit_clear(struct runtime_exit *ex)
{
	free(ex->started_at);
	free(ex->finished_at);
	*ex = (struct runtime_exit){0};
}

int runtime_exit_parse(const char *text, struct runtime_exit *ex, struct mk_err **err)
{
	*ex = (struct runtime_exit){0};
	json_error_t je;
	cleanup_json json_t *o = json_loads(text, 0, &je);
	if (!json_is_object(o))
		return mk_err_set(err, MK_EINVAL, "exit record: %s", o ? "not an object" : je.text);
	json_t *code = json_object_get(o, "exitCode");
	json_t *fin = json_object_get(o, "finishedAt");
	if (!json_is_integer(code) || !json_is_string(fin))
		return mk_err_set(err, MK_EINVAL, "exit record: exitCode or finishedAt missing");
	json_t *sig = json_object_get(o, "signal"), *oom = json_object_get(o, "oomKilled");
	json_t *pid = json_object_get(o, "pid"), *start = json_object_get(o, "startedAt");
	if ((sig && !json_is_integer(sig)) || (oom && !json_is_boolean(oom)) ||
	    (pid && !json_is_integer(pid)) || (start && !json_is_string(start)))
		return mk_err_set(err, MK_EINVAL, "exit record: a field has the wrong type");
	ex->exit_code = (int)json_integer_value(code);
	ex->signal = sig ? (int)json_integer_value(sig) : 0;
	ex->oom_killed = oom && json_is_true(oom);
	ex->pid = pid ? (pid_t)json_integer_value(pid) : 0;
	ex->finished_at = xstrdup(json_string_value(fin));
	ex->started_at = start ? xstrdup(json_string_value(start)) : NULL;
	return 0;
}

void runtime_state_clear(struct runtime_state *st)
{
	free(st->created_at);
	free(st->started_at);
	free(st->finished_at);
	free(st->bundle);
	*st = (struct runtime_state){0};
}

static char *trimmed(const char *s)
{
	if (!s)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return n ? xstrndup(s, n) : NULL;
}

void runtime_state_combine(const json_t *rstate, const struct runtime_exit *ex, const char *started,
			   struct runtime_state *st)
{
	*st = (struct runtime_state){0};
	const char *status = rstate ? json_string_value(json_object_get(rstate, "status")) : NULL;
	if (rstate) {
		const char *c = json_string_value(json_object_get(rstate, "created"));
		const char *b = json_string_value(json_object_get(rstate, "bundle"));
		st->created_at = c ? xstrdup(c) : NULL;
		st->bundle = b ? xstrdup(b) : NULL;
	}
	st->started_at = trimmed(started);
	if (!st->started_at && ex && ex->started_at)
		st->started_at = xstrdup(ex->started_at);

	if (status && (!strcmp(status, "created") || !strcmp(status, "running") ||
		       !strcmp(status, "paused"))) {
		st->pid = (pid_t)json_integer_value(json_object_get(rstate, "pid"));
		if (!strcmp(status, "created")) {
			st->status = RUNTIME_CREATED;
			free(st->started_at);
			st->started_at = NULL;
		} else {
			st->status = RUNTIME_RUNNING;
			if (!st->started_at && st->created_at)
				st->started_at = xstrdup(st->created_at);
		}
		return;
	}
	if (ex) {
		st->status = RUNTIME_EXITED;
		st->exit_code = ex->exit_code;
		st->signal = ex->signal;
		st->oom_killed = ex->oom_killed;
		st->finished_at = ex->finished_at ? xstrdup(ex->finished_at) : NULL;
		return;
	}
	if (status) {
		/* the runtime says stopped (or something new) and no record: the
		 * monitor died before the init and nobody saw the status */
		st->status = RUNTIME_EXITED;
		st->exit_code = 255;
		st->exit_unknown = true;
		return;
	}
	st->status = RUNTIME_UNKNOWN;
	free(st->started_at);
	st->started_at = NULL;
}

/* ---- setup ---- */

static char *find_binary(const char *name, struct mk_err **err)
{
	if (strchr(name, '/')) {
		if (access(name, X_OK) < 0) {
			mk_err_errno(err, MK_ENOTFOUND, errno, "runtime binary %s", name);
			return NULL;
		}
		char *abs = realpath(name, NULL);
		if (!abs) {
			mk_err_errno(err, MK_ENOTFOUND, errno, "runtime binary %s", name);
			return NULL;
		}
		return abs;
	}
	const char *env = getenv("PATH");
	cleanup_free char *dirs = xasprintf("%s:%s", env ? env : "", default_path);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		char *p = xasprintf("%s/%s", d, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	mk_err_set(err, MK_ENOTFOUND, "runtime binary %s not found in PATH", name);
	return NULL;
}

static int mkdir_p(const char *path, mode_t mode, struct mk_err **err)
{
	cleanup_free char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return mk_err_errno(err, MK_EIO, errno, "mkdir %s", p);
		*s = c;
		if (!c)
			return 0;
	}
}

/* "runc version 1.1.5+ds1\ncommit: ..." -> "1.1.5" */
static char *parse_version(const char *text)
{
	for (const char *p = text; *p; p++) {
		if (!isdigit((unsigned char)*p) || (p > text && !isspace((unsigned char)p[-1])))
			continue;
		size_t n = strspn(p, "0123456789.");
		while (n && p[n - 1] == '.')
			n--;
		if (n && memchr(p, '.', n))
			return xstrndup(p, n);
	}
	return xstrdup("unknown");
}

struct runtime *runtime_new(const struct runtime_opts *opts, struct mk_err **err)
{
	struct runtime_opts none = {0};
	if (!opts)
		opts = &none;
	struct runtime *rt = xcalloc(1, sizeof(*rt));
	rt->binary = find_binary(opts->binary ? opts->binary : "runc", err);
	if (!rt->binary)
		goto fail;
	const char *base = strrchr(rt->binary, '/') + 1;
	rt->name = xstrdup(base);
	rt->root = xstrdup(opts->root ? opts->root : RUNTIME_DEFAULT_ROOT);
	rt->state_dir = xstrdup(opts->state_dir ? opts->state_dir : RUNTIME_DEFAULT_STATE_DIR);
	if (rt->root[0] != '/' || rt->state_dir[0] != '/') {
		mk_err_set(err, MK_EINVAL, "runtime root and state directory must be absolute");
		goto fail;
	}
	if (opts->monitor) {
		rt->monitor = realpath(opts->monitor, NULL);
		if (!rt->monitor) {
			mk_err_errno(err, MK_ENOTFOUND, errno, "monitor %s", opts->monitor);
			goto fail;
		}
	} else {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			mk_err_errno(err, MK_EIO, errno, "readlink /proc/self/exe");
			goto fail;
		}
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		rt->monitor = xasprintf("%s/mink8s-monitor", self);
	}
	if (access(rt->monitor, X_OK) < 0) {
		mk_err_errno(err, MK_ENOTFOUND, errno, "monitor %s", rt->monitor);
		goto fail;
	}
	if (mkdir_p(rt->root, 0711, err) < 0 || mkdir_p(rt->state_dir, 0700, err) < 0)
		goto fail;

	char *argv[] = {rt->binary, "--version", NULL};
	struct cmd_result r;
	if (run_cmd(argv, CMD_TIMEOUT_MS, MAX_CMD_OUTPUT, NULL, NULL, &r, err) < 0)
		goto fail;
	if (!cmd_ok(&r)) {
		cmd_error(rt, "--version", &r, err);
		cmd_result_free(&r);
		goto fail;
	}
	rt->version = parse_version(buf_str(&r.out));
	cmd_result_free(&r);

	bool is_crun = !strncmp(rt->name, "crun", 4);
	if (opts->crun_workaround == RUNTIME_WORKAROUND_ON) {
		rt->workaround = true;
	} else if (opts->crun_workaround == RUNTIME_WORKAROUND_AUTO && is_crun) {
		struct cgroups *cg = cgroups_detect(NULL);
		if (cg && cg->mode == CGROUPS_HYBRID) {
			char *ctl = cgroups_unified_controllers(cg, NULL);
			rt->workaround = ctl && *ctl;
			free(ctl);
		}
		cgroups_free(cg);
	}
	return rt;
fail:
	runtime_free(rt);
	return NULL;
}

void runtime_free(struct runtime *rt)
{
	if (!rt)
		return;
	free(rt->binary);
	free(rt->name);
	free(rt->version);
	free(rt->root);
	free(rt->monitor);
	free(rt->state_dir);
	free(rt);
}

const char *runtime_name(const struct runtime *rt)
{
	return rt->name;
}

const char *runtime_version(const struct runtime *rt)
{
	return rt->version;
}

bool runtime_crun_workaround(const struct runtime *rt)
{
	return rt->workaround;
}

/* ---- per-container files ---- */

/* runc's rule for ids: ^[\w+-.]+$, and not a path component trick. */
static bool id_ok(const char *id)
{
	if (!id || !*id || !strcmp(id, ".") || !strcmp(id, "..") || strlen(id) > 1024)
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_+-.", *p))
			return false;
	return true;
}

static char *ctr_file(const struct runtime *rt, const char *id, const char *name)
{
	return name ? xasprintf("%s/%s/%s", rt->state_dir, id, name)
		    : xasprintf("%s/%s", rt->state_dir, id);
}

static char *slurp(const char *path)
{
	return fs_read_file(path, SIZE_MAX, NULL, NULL);
}

static bool runtime_knows(const struct runtime *rt, const char *id)
{
	cleanup_free char *d = xasprintf("%s/%s", rt->root, id);
	struct stat st;
	return stat(d, &st) == 0;
}

/* Removes the container's state directory and what is in it. */
static void remove_ctr_dir(const struct runtime *rt, const char *id)
{
	cleanup_free char *dir = ctr_file(rt, id, NULL);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	rmdir(dir);
}

/* A pidfd on id's monitor if it is alive, else -1. The pid file alone is
 * not trusted: after opening the pidfd the process's command line must name
 * this container and this pid file, so a reused pid is never taken for the
 * monitor. *log_out (if not NULL) gets the monitor's --log path (new). */
static int monitor_pidfd_log(const struct runtime *rt, const char *id, pid_t *pid_out,
			     char **log_out)
{
	cleanup_free char *pf = ctr_file(rt, id, "monitor.pid");
	cleanup_free char *text = slurp(pf);
	if (!text)
		return -1;
	long pid = strtol(text, NULL, 10);
	if (pid <= 0)
		return -1;
	int fd = pidfd_open_((pid_t)pid);
	if (fd < 0)
		return -1;
	char cpath[64];
	snprintf(cpath, sizeof(cpath), "/proc/%ld/cmdline", pid);
	cleanup_free char *cmd = NULL;
	size_t len = 0;
	{
		cleanup_close int cfd = open(cpath, O_RDONLY | O_CLOEXEC);
		struct buf b = BUF_INIT;
		char chunk[4096];
		ssize_t n;
		while (cfd >= 0 && (n = read(cfd, chunk, sizeof(chunk))) > 0)
			buf_append(&b, chunk, (size_t)n);
		len = b.len;
		cmd = buf_steal(&b);
	}
	bool id_seen = false, pf_seen = false;
	const char *log = NULL;
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1) {
		const char *arg = cmd + i,
			   *next = i + strlen(arg) + 1 < len ? arg + strlen(arg) + 1 : "";
		if (!strcmp(arg, "--id"))
			id_seen = id_seen || !strcmp(next, id);
		else if (!strcmp(arg, "--pid-file"))
			pf_seen = pf_seen || !strcmp(next, pf);
		else if (!strcmp(arg, "--log"))
			log = next;
	}
	if (!id_seen || !pf_seen) {
		close(fd);
		return -1;
	}
	if (pid_out)
		*pid_out = (pid_t)pid;
	if (log_out)
		*log_out = xstrdup(log ? log : "");
	return fd;
}

static int monitor_pidfd(const struct runtime *rt, const char *id, pid_t *pid_out)
{
	return monitor_pidfd_log(rt, id, pid_out, NULL);
}

/* Waits up to ms for id's monitor to exit; true if it is gone. */
static bool monitor_wait(const struct runtime *rt, const char *id, long long ms)
{
	int fd = monitor_pidfd(rt, id, NULL);
	if (fd < 0)
		return true;
	bool gone = pidfd_wait(fd, ms);
	close(fd);
	return gone;
}

/* State and start time (in clock ticks since boot) of pid from /proc;
 * false when it is gone. */
static bool proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cleanup_free char *text = slurp(path);
	const char *p = text ? strrchr(text, ')') : NULL;
	/* after the command: state is field 3, starttime field 22 */
	return p && sscanf(p + 1,
			   " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
			   "%*d %*d %llu",
			   state, start) == 2;
}

/* Records the init's pid and start time at create: "<pid> <starttime>". */
static void init_record(const struct runtime *rt, const char *id, pid_t pid)
{
	char state;
	unsigned long long start;
	if (!proc_stat(pid, &state, &start))
		return;
	char text[64];
	int n = snprintf(text, sizeof(text), "%d %llu\n", (int)pid, start);
	cleanup_free char *path = ctr_file(rt, id, "init");
	/* runtime state: meaningless after a reboot */
	fs_write_atomic_nosync(path, text, (size_t)n, 0600, NULL);
}

/* Whether id's init, as recorded at create, still runs after it was
 * started: the same pid with the same start time (so never a reused pid),
 * not a zombie, and the monitor saw the start. This is what `<runtime>
 * state` would call "running", read without spawning the runtime (tens of
 * ms each, a second per 30 containers on a loaded node). False when
 * unsure: the caller asks the runtime. */
static bool init_running(const struct runtime *rt, const char *id, pid_t *pid)
{
	cleanup_free char *path = ctr_file(rt, id, "init");
	cleanup_free char *text = slurp(path);
	cleanup_free char *spath = ctr_file(rt, id, "started");
	cleanup_free char *epath = ctr_file(rt, id, "exit.json");
	int p;
	unsigned long long want, start;
	char state;
	if (!text || sscanf(text, "%d %llu", &p, &want) != 2 || p <= 0 ||
	    access(spath, F_OK) < 0 || access(epath, F_OK) == 0 || !runtime_knows(rt, id))
		return false;
	if (!proc_stat((pid_t)p, &state, &start) || start != want || state == 'Z' || state == 'X')
		return false;
	*pid = (pid_t)p;
	return true;
}

/* `<runtime> state id` parsed; *out NULL when the runtime does not know id. */
static int query_state(const struct runtime *rt, const char *id, json_t **out, struct mk_err **err)
{
	*out = NULL;
	char *argv[] = {rt->binary, "--root", rt->root, "state", (char *)id, NULL};
	struct cmd_result r;
	if (run_cmd(argv, CMD_TIMEOUT_MS, MAX_CMD_OUTPUT, NULL, NULL, &r, err) < 0)
		return -1;
	if (!cmd_ok(&r)) {
		int rc = 0;
		if (runtime_knows(rt, id))
			rc = cmd_error(rt, "state", &r, err);
		cmd_result_free(&r);
		return rc;
	}
	json_error_t je;
	*out = json_loads(buf_str(&r.out), 0, &je);
	cmd_result_free(&r);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return mk_err_set(err, MK_EIO, "%s state %s: unreadable output: %s", rt->name, id,
				  je.text);
	}
	return 0;
}

/* ---- operations ---- */

char *runtime_attach_socket(const struct runtime *rt, const char *id)
{
	return ctr_file(rt, id, "attach");
}

int runtime_create(const struct runtime *rt, const char *id, const char *bundle,
		   const char *log_path, const char *monitor_cgroup, pid_t *pid,
		   struct mk_err **err)
{
	struct runtime_create_opts o = {.monitor_cgroup = monitor_cgroup};
	return runtime_create_with(rt, id, bundle, log_path, &o, pid, err);
}

int runtime_create_with(const struct runtime *rt, const char *id, const char *bundle,
			const char *log_path, const struct runtime_create_opts *o, pid_t *pid,
			struct mk_err **err)
{
	const char *monitor_cgroup = o->monitor_cgroup;
	if (!id_ok(id))
		return mk_err_set(err, MK_EINVAL, "invalid container id \"%s\"", id ? id : "");
	if (!bundle || bundle[0] != '/' || !log_path || log_path[0] != '/')
		return mk_err_set(err, MK_EINVAL,
				  "container %s: bundle and log path must be absolute", id);
	if (monitor_cgroup && monitor_cgroup[0] != '/')
		return mk_err_set(err, MK_EINVAL, "container %s: cgroup path %s is not absolute",
				  id, monitor_cgroup);
	if (runtime_knows(rt, id))
		return mk_err_set(err, MK_EEXISTS, "%s create: container with id %s already exists",
				  rt->name, id);
	/* leftovers of an earlier container of that id go first */
	remove_ctr_dir(rt, id);
	cleanup_free char *dir = ctr_file(rt, id, NULL);
	if (mkdir(dir, 0700) < 0)
		return mk_err_errno(err, MK_EIO, errno, "mkdir %s", dir);
	cleanup_free char *exitf = ctr_file(rt, id, "exit.json");
	cleanup_free char *pidf = ctr_file(rt, id, "monitor.pid");
	cleanup_free char *startf = ctr_file(rt, id, "started");
	cleanup_free char *attach = runtime_attach_socket(rt, id);
	char *argv[28];
	size_t n = 0;
	argv[n++] = rt->monitor;
	argv[n++] = "--runtime";
	argv[n++] = rt->binary;
	argv[n++] = "--root";
	argv[n++] = rt->root;
	argv[n++] = "--bundle";
	argv[n++] = (char *)bundle;
	argv[n++] = "--id";
	argv[n++] = (char *)id;
	argv[n++] = "--log";
	argv[n++] = (char *)log_path;
	argv[n++] = "--exit-file";
	argv[n++] = exitf;
	argv[n++] = "--pid-file";
	argv[n++] = pidf;
	argv[n++] = "--started-file";
	argv[n++] = startf;
	if (monitor_cgroup) {
		argv[n++] = "--cgroup";
		argv[n++] = (char *)monitor_cgroup;
	}
	if (rt->workaround)
		argv[n++] = "--crun-hybrid-workaround";
	argv[n++] = "--attach-socket";
	argv[n++] = attach;
	if (o->stdin_open)
		argv[n++] = "--stdin";
	if (o->stdin_once)
		argv[n++] = "--stdin-once";
	if (o->start)
		argv[n++] = "--start";
	argv[n] = NULL;

	struct cmd_result r;
	if (run_cmd(argv, CREATE_TIMEOUT_MS, MAX_CMD_OUTPUT, NULL, NULL, &r, err) < 0) {
		remove_ctr_dir(rt, id);
		return -1;
	}
	const char *out = buf_str(&r.out);
	/* "pid N" is the monitor's word that the container exists, whatever
	 * else reached the pipe */
	const char *pl = !strncmp(out, "pid ", 4) ? out : strstr(out, "\npid ");
	long v = pl ? strtol(pl + (*pl == '\n' ? 5 : 4), NULL, 10) : 0;
	if (v > 0 && !r.timed_out) {
		cmd_result_free(&r);
		*pid = (pid_t)v;
		init_record(rt, id, *pid);
		return 0;
	}
	cleanup_free char *msg = trimmed(!strncmp(out, "error: ", 7) ? out + 7 : out);
	int timed_out = r.timed_out;
	cmd_result_free(&r);
	if (runtime_knows(rt, id)) {
		/* created after all, but unreported: take it away again */
		char *del[] = {rt->binary, "--root", rt->root, "delete", "-f", (char *)id, NULL};
		struct cmd_result d;
		if (run_cmd(del, CMD_TIMEOUT_MS, MAX_CMD_OUTPUT, NULL, NULL, &d, NULL) == 0)
			cmd_result_free(&d);
		monitor_wait(rt, id, MONITOR_WAIT_MS);
	}
	remove_ctr_dir(rt, id);
	if (timed_out)
		return mk_err_set(err, MK_ETIMEOUT, "%s create: the monitor did not answer",
				  rt->name);
	return mk_err_set(err, msg && strstr(msg, "already exists") ? MK_EEXISTS : MK_EIO, "%s",
			  msg ? msg : "the monitor failed without a message");
}

int runtime_start(const struct runtime *rt, const char *id, struct mk_err **err)
{
	if (!id_ok(id))
		return mk_err_set(err, MK_EINVAL, "invalid container id \"%s\"", id ? id : "");
	char *argv[] = {rt->binary, "--root", rt->root, "start", (char *)id, NULL};
	struct cmd_result r;
	if (run_cmd(argv, CMD_TIMEOUT_MS, MAX_CMD_OUTPUT, NULL, NULL, &r, err) < 0)
		return -1;
	if (!cmd_ok(&r)) {
		cmd_error(rt, "start", &r, err);
		cmd_result_free(&r);
		return -1;
	}
	cmd_result_free(&r);
	/* The monitor sees the runtime's exec.fifo go and writes the start
	 * time; runtime_state() is exact once it is there. */
	cleanup_free char *startf = ctr_file(rt, id, "started");
	long long deadline = mono_ms() + STARTED_WAIT_MS;
	while (access(startf, F_OK) < 0 && mono_ms() < deadline)
		sleep_ms(1);
	return 0;
}

/* Parent pid of pid from /proc, or -1. */
static pid_t parent_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cleanup_free char *text = slurp(path);
	if (!text)
		return -1;
	const char *p = strrchr(text, ')');
	int ppid;
	char state;
	if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
		return -1;
	return (pid_t)ppid;
}

int runtime_stop(const struct runtime *rt, const char *id, int sig, int64_t grace_ms,
		 struct mk_err **err)
{
	if (!id_ok(id))
		return mk_err_set(err, MK_EINVAL, "invalid container id \"%s\"", id ? id : "");
	/* no state directory: nothing to ask the runtime (each spawn of it
	 * costs tens of ms, and the start path clears a new id this way) */
	if (!runtime_knows(rt, id))
		return mk_err_set(err, MK_ENOTFOUND, "container %s does not exist", id);
	cleanup_json json_t *rs = NULL;
	const char *status = "running";
	pid_t pid = 0;
	if (!init_running(rt, id, &pid)) {
		if (query_state(rt, id, &rs, err) < 0)
			return -1;
		if (!rs)
			return mk_err_set(err, MK_ENOTFOUND, "container %s does not exist", id);
		status = json_string_value(json_object_get(rs, "status"));
		pid = (pid_t)json_integer_value(json_object_get(rs, "pid"));
	}
	if (status && strcmp(status, "stopped") && pid > 0) {
		cleanup_close int fd = pidfd_open_(pid);
		if (fd >= 0) {
			/* the pid came from the runtime a moment ago; make sure it
			 * still is the container's init: its parent is the
			 * monitor, or the runtime still reports that pid */
			pid_t mon = 0;
			int mfd = monitor_pidfd(rt, id, &mon);
			bool same = mfd >= 0 && parent_of(pid) == mon;
			if (mfd >= 0)
				close(mfd);
			if (!same) {
				cleanup_json json_t *again = NULL;
				if (query_state(rt, id, &again, err) < 0)
					return -1;
				const char *s2 =
					again ? json_string_value(json_object_get(again, "status"))
					      : NULL;
				same = s2 && strcmp(s2, "stopped") &&
				       json_integer_value(json_object_get(again, "pid")) == pid;
			}
			if (same) {
				if (!strcmp(status, "created") || grace_ms <= 0)
					sig = SIGKILL;
				bool gone = pidfd_signal(fd, sig) < 0 && errno == ESRCH;
				if (!gone && sig != SIGKILL)
					gone = pidfd_wait(fd, grace_ms);
				if (!gone) {
					if (pidfd_signal(fd, SIGKILL) < 0 && errno != ESRCH)
						return mk_err_errno(err, MK_EIO, errno,
								    "kill container %s", id);
					if (!pidfd_wait(fd, KILL_WAIT_MS))
						return mk_err_set(err, MK_ETIMEOUT,
								  "container %s did not die within "
								  "%d s of SIGKILL",
								  id, KILL_WAIT_MS / 1000);
				}
			}
		}
	}
	monitor_wait(rt, id, MONITOR_WAIT_MS);
	return 0;
}

int runtime_delete(const struct runtime *rt, const char *id, struct mk_err **err)
{
	if (!id_ok(id))
		return mk_err_set(err, MK_EINVAL, "invalid container id \"%s\"", id ? id : "");
	if (runtime_knows(rt, id)) {
		char *argv[] = {rt->binary, "--root", rt->root, "delete", (char *)id, NULL};
		struct cmd_result r;
		if (run_cmd(argv, CMD_TIMEOUT_MS, MAX_CMD_OUTPUT, NULL, NULL, &r, err) < 0)
			return -1;
		if (!cmd_ok(&r) && runtime_knows(rt, id)) {
			cmd_error(rt, "delete", &r, err);
			cmd_result_free(&r);
			return -1;
		}
		cmd_result_free(&r);
	}
	monitor_wait(rt, id, MONITOR_WAIT_MS);
	remove_ctr_dir(rt, id);
	return 0;
}

int runtime_reopen_log(const struct runtime *rt, const char *id, struct mk_err **err)
{
	if (!id_ok(id))
		return mk_err_set(err, MK_EINVAL, "invalid container id \"%s\"", id ? id : "");
	cleanup_free char *log = NULL;
	cleanup_close int fd = monitor_pidfd_log(rt, id, NULL, &log);
	if (fd < 0)
		return mk_err_set(err, MK_ENOTFOUND, "container %s has no running monitor", id);
	if (pidfd_signal(fd, SIGUSR1) < 0)
		return mk_err_errno(err, errno == ESRCH ? MK_ENOTFOUND : MK_EIO, errno,
				    "signalling the monitor of %s", id);
	/* the monitor creates the file again when it reopens it */
	long long deadline = mono_ms() + REOPEN_WAIT_MS;
	while (access(log, F_OK) < 0) {
		if (mono_ms() >= deadline)
			return mk_err_set(err, MK_ETIMEOUT, "the monitor of %s did not reopen %s",
					  id, log);
		if (pidfd_wait(fd, 1))
			return mk_err_set(err, MK_ENOTFOUND, "the monitor of %s exited", id);
	}
	return 0;
}

static int read_exit(const struct runtime *rt, const char *id, struct runtime_exit *ex, bool *has)
{
	*has = false;
	cleanup_free char *path = ctr_file(rt, id, "exit.json");
	cleanup_free char *text = slurp(path);
	if (!text)
		return 0;
	/* a record that does not parse is treated as missing (exit unknown) */
	if (runtime_exit_parse(text, ex, NULL) == 0)
		*has = true;
	return 0;
}

int runtime_state(const struct runtime *rt, const char *id, struct runtime_state *st,
		  struct mk_err **err)
{
	*st = (struct runtime_state){0};
	if (!id_ok(id))
		return mk_err_set(err, MK_EINVAL, "invalid container id \"%s\"", id ? id : "");
	pid_t ipid;
	if (init_running(rt, id, &ipid)) {
		cleanup_free char *spath = ctr_file(rt, id, "started");
		cleanup_free char *started = slurp(spath);
		st->status = RUNTIME_RUNNING;
		st->pid = ipid;
		st->started_at = trimmed(started);
		pid_t mon = 0;
		int mfd = monitor_pidfd(rt, id, &mon);
		if (mfd >= 0) {
			st->monitor_pid = mon;
			close(mfd);
		}
		return 0;
	}
	cleanup_json json_t *rs = NULL;
	if (query_state(rt, id, &rs, err) < 0)
		return -1;
	struct runtime_exit ex = {0};
	bool has_exit;
	read_exit(rt, id, &ex, &has_exit);
	const char *status = rs ? json_string_value(json_object_get(rs, "status")) : NULL;
	if (!has_exit && status && !strcmp(status, "stopped")) {
		/* the init is gone; its monitor may still be draining the pipes */
		if (monitor_wait(rt, id, STATE_MONITOR_WAIT_MS))
			read_exit(rt, id, &ex, &has_exit);
	}
	cleanup_free char *spath = ctr_file(rt, id, "started");
	cleanup_free char *started = slurp(spath);
	runtime_state_combine(rs, has_exit ? &ex : NULL, started, st);
	runtime_exit_clear(&ex);
	pid_t mon = 0;
	int mfd = monitor_pidfd(rt, id, &mon);
	if (mfd >= 0) {
		st->monitor_pid = mon;
		close(mfd);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int runtime_list(const struct runtime *rt, char ***ids, size_t *n, struct mk_err **err)
{
	*ids = NULL;
	*n = 0;
	char *argv[] = {rt->binary, "--root", rt->root, "list", "-q", NULL};
	struct cmd_result r;
	if (run_cmd(argv, CMD_TIMEOUT_MS, 16 * 1024 * 1024, NULL, NULL, &r, err) < 0)
		return -1;
	if (!cmd_ok(&r)) {
		cmd_error(rt, "list", &r, err);
		cmd_result_free(&r);
		return -1;
	}
	char **v = NULL;
	size_t k = 0;
	cleanup_free char *text = buf_steal(&r.out);
	cmd_result_free(&r);
	char *save = NULL;
	for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		cleanup_free char *id = trimmed(t);
		if (!id || !id_ok(id))
			continue;
		v = xrealloc(v, (k + 1) * sizeof(*v));
		v[k++] = steal_pointer(&id);
	}
	DIR *d = opendir(rt->state_dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_type != DT_DIR || !id_ok(e->d_name))
				continue;
			v = xrealloc(v, (k + 1) * sizeof(*v));
			v[k++] = xstrdup(e->d_name);
		}
		closedir(d);
	}
	if (k)
		qsort(v, k, sizeof(*v), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < k; i++) {
		if (u && !strcmp(v[u - 1], v[i])) {
			free(v[i]);
			continue;
		}
		v[u++] = v[i];
	}
	v = xrealloc(v, (u + 1) * sizeof(*v));
	v[u] = NULL;
	*ids = v;
	*n = u;
	return 0;
}

struct exec_kill {
	const char *pid_file;
};

/* At the timeout: kill the exec'd process (runc exec then returns); runc
 * itself follows 2 s later if it has not. */
static void exec_timeout(pid_t runc_pid, void *data)
{
	struct exec_kill *k = data;
	cleanup_free char *text = slurp(k->pid_file);
	long pid = text ? strtol(text, NULL, 10) : 0;
	if (pid > 0) {
		int fd = pidfd_open_((pid_t)pid);
		if (fd >= 0) {
			pidfd_signal(fd, SIGKILL);
			close(fd);
		}
	} else {
		kill(runc_pid, SIGKILL);
	}
}

/* Writes the process file for an exec of argv into id: the container's
 * config.json "process" with args replaced and terminal set (with a tty,
 * TERM=xterm is added unless the container sets TERM, as containerd does).
 * *file and *pid_file are new paths beside the container directories,
 * never inside one (a file is not taken for a container by runtime_list);
 * the caller unlinks both. */
static int exec_process_file(const struct runtime *rt, const char *id, const char *const *argv,
			     bool tty, char **file, char **pid_file, struct mk_err **err)
{
	if (!id_ok(id))
		return mk_err_set(err, MK_EINVAL, "invalid container id \"%s\"", id ? id : "");
	if (!argv || !argv[0])
		return mk_err_set(err, MK_EINVAL, "exec in %s: empty command", id);
	cleanup_json json_t *rs = NULL;
	if (query_state(rt, id, &rs, err) < 0)
		return -1;
	if (!rs)
		return mk_err_set(err, MK_ENOTFOUND, "container %s does not exist", id);
	const char *bundle = json_string_value(json_object_get(rs, "bundle"));
	if (!bundle)
		return mk_err_set(err, MK_EIO, "%s state %s: no bundle", rt->name, id);
	cleanup_free char *cfg_path = xasprintf("%s/config.json", bundle);
	json_error_t je;
	cleanup_json json_t *cfg = json_load_file(cfg_path, 0, &je);
	json_t *proc = json_object_get(cfg, "process");
	if (!json_is_object(proc))
		return mk_err_set(err, MK_EIO, "exec in %s: %s: no process object (%s)", id,
				  cfg_path, cfg ? "missing" : je.text);
	cleanup_json json_t *p = json_deep_copy(proc);
	json_t *args = json_array();
	for (size_t i = 0; argv[i]; i++)
		json_array_append_new(args, json_string(argv[i]));
	json_object_set_new(p, "args", args);
	json_object_set_new(p, "terminal", json_boolean(tty));
	json_object_del(p, "consoleSize");
	if (tty) {
		json_t *env = json_object_get(p, "env");
		bool has_term = false;
		for (size_t i = 0; json_is_array(env) && i < json_array_size(env); i++) {
			const char *e = json_string_value(json_array_get(env, i));
			has_term = has_term || (e && strncmp(e, "TERM=", 5) == 0);
		}
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(p, "env", env);
		}
		if (!has_term)
			json_array_append_new(env, json_string("TERM=xterm"));
	}

	char *tmpl = xasprintf("%s/.exec-%s-XXXXXX", rt->state_dir, id);
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		int e = errno;
		free(tmpl);
		return mk_err_errno(err, MK_EIO, e, "exec in %s: temp file", id);
	}
	int drc = json_dumpfd(p, fd, JSON_COMPACT);
	close(fd);
	if (drc < 0) {
		unlink(tmpl);
		free(tmpl);
		return mk_err_set(err, MK_EIO, "exec in %s: writing the process file", id);
	}
	*pid_file = xasprintf("%s.pid", tmpl);
	*file = tmpl;
	return 0;
}

int runtime_exec_sync(const struct runtime *rt, const char *id, const char *const *argv,
		      int64_t timeout_ms, size_t max_output, struct runtime_exec_result *res,
		      struct mk_err **err)
{
	*res = (struct runtime_exec_result){0};
	cleanup_free char *tmpl = NULL, *pidf = NULL;
	if (exec_process_file(rt, id, argv, false, &tmpl, &pidf, err) < 0)
		return -1;
	char *cmd[] = {rt->binary, "--root",	 rt->root, "exec",     "--process",
		       tmpl,	   "--pid-file", pidf,	   (char *)id, NULL};
	struct exec_kill k = {.pid_file = pidf};
	struct cmd_result r;
	/* read a little more than asked: the runtime's own error must survive a
	 * tiny max_output */
	size_t cap = max_output > MAX_CMD_OUTPUT ? max_output : MAX_CMD_OUTPUT;
	int rc = run_cmd_io(cmd, timeout_ms, cap + 1, true, exec_timeout, &k, &r, err);
	bool ran = access(pidf, F_OK) == 0;
	unlink(tmpl);
	unlink(pidf);
	if (rc < 0)
		return -1;
	if (!ran && !r.timed_out) {
		/* the runtime failed before the process existed: its message */
		struct cmd_result both = {.status = r.status};
		buf_append(&both.out, r.errout.data ? r.errout.data : "", r.errout.len);
		buf_append_char(&both.out, '\n');
		buf_append(&both.out, r.out.data ? r.out.data : "", r.out.len);
		cmd_error(rt, "exec", &both, err);
		cmd_result_free(&both);
		cmd_result_free(&r);
		return -1;
	}
	/* stdout then stderr, as the kubelet joins ExecSync's two streams */
	struct buf all = BUF_INIT;
	size_t take_out = r.out.len < max_output ? r.out.len : max_output;
	buf_append(&all, r.out.data ? r.out.data : "", take_out);
	size_t room = max_output - take_out;
	size_t take = r.errout.len < room ? r.errout.len : room;
	buf_append(&all, r.errout.data ? r.errout.data : "", take);
	res->truncated = r.truncated || take_out < r.out.len || take < r.errout.len;
	res->len = all.len;
	res->output = buf_steal(&all);
	if (r.timed_out) {
		res->exit_code = -1;
		struct buf c = BUF_INIT;
		for (size_t i = 0; argv[i]; i++) {
			if (i)
				buf_append_char(&c, ' ');
			buf_append_str(&c, argv[i]);
		}
		mk_err_set(err, MK_ETIMEOUT, "command \"%s\" timed out", buf_str(&c));
		buf_free(&c);
		cmd_result_free(&r);
		return -1;
	}
	res->exit_code = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
	cmd_result_free(&r);
	return 0;
}

/* ---- streaming exec ---- */

int runtime_exec_prepare(const struct runtime *rt, const char *id, const char *const *argv,
			 bool tty, bool with_stdin, struct runtime_exec *x, struct mk_err **err)
{
	*x = (struct runtime_exec){.in = -1,
				   .out = -1,
				   .err = -1,
				   .pty = -1,
				   .child_in = -1,
				   .child_out = -1,
				   .child_err = -1};
	if (exec_process_file(rt, id, argv, tty, &x->file, &x->pid_file, err) < 0)
		return -1;
	x->id = xstrdup(id);
	x->tty = tty;
	if (tty) {
		char slave[128];
		x->pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (x->pty < 0 || grantpt(x->pty) < 0 || unlockpt(x->pty) < 0 ||
		    ptsname_r(x->pty, slave, sizeof(slave)) != 0)
			goto fail;
		x->slave = xstrdup(slave);
		x->out = x->pty;
	} else {
		int p[2];
		if (with_stdin) {
			if (pipe2(p, O_CLOEXEC) < 0)
				goto fail;
			x->child_in = p[0];
			x->in = p[1];
		}
		if (pipe2(p, O_CLOEXEC) < 0)
			goto fail;
		x->out = p[0];
		x->child_out = p[1];
		if (pipe2(p, O_CLOEXEC) < 0)
			goto fail;
		x->err = p[0];
		x->child_err = p[1];
	}
	int fds[] = {x->in, x->err, x->out};
	for (size_t i = 0; i < 3; i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	return 0;
fail:
	mk_err_errno(err, MK_EIO, errno, "exec in %s: %s", id, tty ? "pty" : "pipe");
	runtime_exec_clear(x);
	return -1;
}

int runtime_exec_spawn(const struct runtime *rt, struct runtime_exec *x, struct mk_err **err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	if (x->tty) {
		/* a session of its own whose controlling terminal is the slave:
		 * the runtime puts it in raw mode and reads its size on SIGWINCH */
		flags |= POSIX_SPAWN_SETSID;
		posix_spawn_file_actions_addopen(&fa, 0, x->slave, O_RDWR, 0);
		posix_spawn_file_actions_adddup2(&fa, 0, 1);
		posix_spawn_file_actions_adddup2(&fa, 0, 2);
	} else {
		if (x->child_in >= 0)
			posix_spawn_file_actions_adddup2(&fa, x->child_in, 0);
		else
			posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, x->child_out, 1);
		posix_spawn_file_actions_adddup2(&fa, x->child_err, 2);
	}
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, flags);
	char *cmd[12];
	size_t n = 0;
	cmd[n++] = rt->binary;
	cmd[n++] = "--root";
	cmd[n++] = rt->root;
	cmd[n++] = "exec";
	if (x->tty)
		cmd[n++] = "--tty";
	cmd[n++] = "--process";
	cmd[n++] = x->file;
	cmd[n++] = "--pid-file";
	cmd[n++] = x->pid_file;
	cmd[n++] = x->id;
	cmd[n] = NULL;
	int src = posix_spawn(&x->pid, rt->binary, &fa, &at, cmd, child_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	int *ends[] = {&x->child_in, &x->child_out, &x->child_err};
	for (size_t i = 0; i < 3; i++) {
		if (*ends[i] >= 0)
			close(*ends[i]);
		*ends[i] = -1;
	}
	if (src != 0) {
		x->pid = 0;
		return mk_err_errno(err, MK_EIO, src, "spawn %s", rt->binary);
	}
	return 0;
}

int runtime_exec_start(const struct runtime *rt, const char *id, const char *const *argv, bool tty,
		       bool with_stdin, struct runtime_exec *x, struct mk_err **err)
{
	if (runtime_exec_prepare(rt, id, argv, tty, with_stdin, x, err) < 0)
		return -1;
	if (runtime_exec_spawn(rt, x, err) < 0) {
		runtime_exec_clear(x);
		return -1;
	}
	return 0;
}

bool runtime_exec_started(const struct runtime_exec *x)
{
	return x->pid_file && access(x->pid_file, F_OK) == 0;
}

int runtime_exec_status(const struct runtime *rt, const struct runtime_exec *x, int status,
			const char *output, int *exit_code, bool *not_started, struct mk_err **err)
{
	*not_started = false;
	if (runtime_exec_started(x)) {
		*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		return 0;
	}
	*not_started = true;
	*exit_code = -1;
	cleanup_free char *msg = runtime_error_text(output ? output : "");
	/* runc: `exec failed: unable to start container process: exec: "x":
	 * executable file not found in $PATH` (or `stat /x: no such file or
	 * directory`, or `permission denied`) */
	if (strstr(msg, "start container process: exec: "))
		*exit_code = strstr(msg, "not found") || strstr(msg, "no such file") ? 127 : 126;
	if (!*msg)
		return mk_err_set(err, MK_EIO, "%s exec: exit status %d", rt->name,
				  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return mk_err_set(err, MK_EIO, "%s exec: %s", rt->name, msg);
}

void runtime_exec_kill(const struct runtime_exec *x)
{
	cleanup_free char *text = x->pid_file ? slurp(x->pid_file) : NULL;
	long pid = text ? strtol(text, NULL, 10) : 0;
	if (pid > 0) {
		int fd = pidfd_open_((pid_t)pid);
		if (fd >= 0) {
			pidfd_signal(fd, SIGKILL);
			close(fd);
			return;
		}
	}
	if (x->pid > 0)
		kill(x->pid, SIGKILL);
}

int runtime_exec_resize(const struct runtime_exec *x, unsigned cols, unsigned rows,
			struct mk_err **err)
{
	if (x->pty < 0)
		return mk_err_set(err, MK_EINVAL, "exec: no terminal to resize");
	struct winsize ws = {.ws_col = (unsigned short)cols, .ws_row = (unsigned short)rows};
	if (ioctl(x->pty, TIOCSWINSZ, &ws) < 0)
		return mk_err_errno(err, MK_EIO, errno, "exec: resize");
	/* the runtime reads the new size from its terminal on SIGWINCH */
	if (x->pid > 0)
		kill(x->pid, SIGWINCH);
	return 0;
}

void runtime_exec_clear(struct runtime_exec *x)
{
	int *ends[] = {&x->child_in, &x->child_out, &x->child_err};
	for (size_t i = 0; i < 3; i++)
		if (*ends[i] >= 0)
			close(*ends[i]);
	if (x->in >= 0)
		close(x->in);
	if (x->err >= 0)
		close(x->err);
	if (x->out >= 0)
		close(x->out);
	if (x->pty >= 0 && x->pty != x->out)
		close(x->pty);
	if (x->file)
		unlink(x->file);
	if (x->pid_file)
		unlink(x->pid_file);
	free(x->file);
	free(x->pid_file);
	free(x->id);
	free(x->slave);
	*x = (struct runtime_exec){.in = -1,
				   .out = -1,
				   .err = -1,
				   .pty = -1,
				   .child_in = -1,
				   .child_out = -1,
				   .child_err = -1};
}
