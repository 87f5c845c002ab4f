/* runtime-probe: drives kubelet/runtime, kubelet/ocispec and kubelet/cgroups
 * from the command line for tests/integration/kubelet-runtime.bats and
 * tests/bench/kubelet-runtime.sh.
 *
 *   runtime-probe [--runtime runc|crun|PATH] [--root DIR] [--state-dir DIR]
 *                 [--monitor PATH] [--workaround auto|on|off] COMMAND ARGS...
 *
 *   version                             "<name> <version> workaround=<0|1>"
 *   spec --pod F [--container NAME] --image F --rootfs DIR --cgroups-path P
 *        [--netns PATH] [--sandbox-pid N] [--hostname H] [--shm DIR]
 *        [--termination-log F] [--swap]  config.json on stdout
 *   create ID BUNDLE LOG [CGROUP]       prints the init pid
 *   create-stdin ID BUNDLE LOG          the same with stdin open (attach), once
 *   start ID | delete ID | reopen-log ID
 *   stop ID SIGNAL GRACE_MS             prints the milliseconds it took
 *   state ID                            one JSON object
 *   list                                one id per line
 *   exec ID TIMEOUT_MS MAX_OUTPUT CMD...  "exit N" then the output
 *   exec-stream ID OPTS CMD...          runtime_exec_start: OPTS is "-" or a
 *                                       comma list of stdin, tty=COLSxROWS,
 *                                       kill=MS; the probe's stdin goes to the
 *                                       command, then "exit N" or "not started N:
 *                                       <message>", "stdout:", its stdout,
 *                                       "stderr:", its stderr
 *   cgroup-path ROOT POD                the pod's cgroup path
 *   cgroup-create PATH [POD]            with the pod's limits when given
 *   cgroup-remove PATH
 *   cgroup-usage PATH                   one JSON object
 *   parallel LOGDIR ID=BUNDLE...        each container's create, start, exec,
 *                                       stop, state, delete in its own thread
 *   bench N BUNDLE LOGDIR               create+start and stop+delete through
 *                                       kubelet/runtime and through the runtime
 *                                       binary directly, medians in ms
 *
 * Errors: one line on stderr and exit 1 (exit 124 for a timed-out exec). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "kubelet/cgroups.h"
#include "kubelet/ocispec.h"
#include "kubelet/runtime.h"
#include "xalloc.h"

extern char **environ;

static int die(const char *what, struct mk_err *err)
{
	fprintf(stderr, "%s: %s\n", what, mk_err_msg(err));
	mk_err_free(err);
	return 1;
}

static json_t *load_file(const char *path)
{
	json_error_t je;
	json_t *v = json_load_file(path, 0, &je);
	if (!v) {
		fprintf(stderr, "%s: %s\n", path, je.text);
		exit(1);
	}
	return v;
}

static const char *status_name(enum runtime_status s)
{
	switch (s) {
	case RUNTIME_CREATED:
		return "created";
	case RUNTIME_RUNNING:
		return "running";
	case RUNTIME_EXITED:
		return "exited";
	case RUNTIME_UNKNOWN:
		break;
	}
	return "unknown";
}

static int cmd_spec(int argc, char **argv)
{
	const char *pod_f = NULL, *ctr = NULL, *img_f = NULL, *rootfs = NULL, *cgp = NULL;
	const char *netns = NULL, *hostname = NULL, *shm = NULL, *term = NULL;
	int sandbox_pid = 0, swap = 0;
	static const struct option lo[] = {
		{"pod", required_argument, NULL, 'p'},
		{"container", required_argument, NULL, 'c'},
		{"image", required_argument, NULL, 'i'},
		{"rootfs", required_argument, NULL, 'r'},
		{"cgroups-path", required_argument, NULL, 'g'},
		{"netns", required_argument, NULL, 'n'},
		{"sandbox-pid", required_argument, NULL, 's'},
		{"hostname", required_argument, NULL, 'h'},
		{"shm", required_argument, NULL, 'm'},
		{"termination-log", required_argument, NULL, 't'},
		{"swap", no_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			pod_f = optarg;
			break;
		case 'c':
			ctr = optarg;
			break;
		case 'i':
			img_f = optarg;
			break;
		case 'r':
			rootfs = optarg;
			break;
		case 'g':
			cgp = optarg;
			break;
		case 'n':
			netns = optarg;
			break;
		case 's':
			sandbox_pid = atoi(optarg);
			break;
		case 'h':
			hostname = optarg;
			break;
		case 'm':
			shm = optarg;
			break;
		case 't':
			term = optarg;
			break;
		case 'w':
			swap = 1;
			break;
		default:
			return 2;
		}
	}
	if (!pod_f || !img_f || !rootfs) {
		fprintf(stderr, "spec: --pod, --image and --rootfs are required\n");
		return 2;
	}
	cleanup_json json_t *pod = load_file(pod_f);
	cleanup_json json_t *img = load_file(img_f);
	const json_t *container = NULL;
	if (ctr) {
		size_t i;
		json_t *v;
		json_array_foreach(
			json_path_get(pod, "spec.containers"), i,
			v) if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", ctr))
			container = v;
		if (!container) {
			fprintf(stderr, "spec: no container %s in the pod\n", ctr);
			return 1;
		}
	}
	/* the pod's env, literal values expanded as the kubelet does */
	struct ocispec_env env[64];
	size_t n_env = 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(container, "env"), i, v)
	{
		if (n_env == 64)
			break;
		env[n_env++] = (struct ocispec_env){
			.name = json_string_value(json_object_get(v, "name")),
			.value = json_string_value(json_object_get(v, "value")) ?: "",
			.expand = true};
	}
	struct ocispec_input in = {
		.pod = pod,
		.container = container,
		.image_config = img,
		.container_id = "probe",
		.sandbox_id = "probe-sandbox",
		.rootfs = rootfs,
		.netns_path = netns,
		.sandbox_pid = sandbox_pid,
		.hostname = hostname,
		.shm_path = shm,
		.termination_log_path = term,
		.env = env,
		.n_env = n_env,
		.cgroups_path = cgp,
		.swap_accounting = swap,
	};
	in.restrict_oom_score_adj = ocispec_oom_restricted(&in.oom_score_adj_floor);
	struct mk_err *err = NULL;
	cleanup_json json_t *spec = ocispec_build(&in, &err);
	if (!spec)
		return die("spec", err);
	json_dumpf(spec, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	putchar('\n');
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Runs argv with all output to /dev/null (or out_fd) and waits; exit status. */
static int run_quiet(char *const argv[], int out_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
		posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	}
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -1;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static double median_ms(long long *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_ll);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1000.0;
}

/* The same cycle both ways: through kubelet/runtime (monitor included), and
 * the runtime binary alone as the reference measured it (create with its
 * output in a file, start, kill KILL, wait on a pidfd, delete). */
static int cmd_bench(struct runtime *rt, const char *bin, const char *root, int n,
		     const char *bundle, const char *logdir)
{
	long long *a_up = xcalloc((size_t)n, sizeof(long long));
	long long *a_down = xcalloc((size_t)n, sizeof(long long));
	long long *b_up = xcalloc((size_t)n, sizeof(long long));
	long long *b_down = xcalloc((size_t)n, sizeof(long long));
	struct mk_err *err = NULL;
	for (int i = -1; i < n; i++) { /* i == -1: warm-up */
		char id[64], log[512];
		snprintf(id, sizeof(id), "bench-rt-%d-%d", (int)getpid(), i + 1);
		snprintf(log, sizeof(log), "%s/%s.log", logdir, id);
		long long t0 = now_us();
		pid_t pid;
		if (runtime_create(rt, id, bundle, log, NULL, &pid, &err) < 0 ||
		    runtime_start(rt, id, &err) < 0)
			return die("bench create/start", err);
		long long t1 = now_us();
		if (runtime_stop(rt, id, SIGKILL, 0, &err) < 0 || runtime_delete(rt, id, &err) < 0)
			return die("bench stop/delete", err);
		long long t2 = now_us();

		snprintf(id, sizeof(id), "bench-direct-%d-%d", (int)getpid(), i + 1);
		snprintf(log, sizeof(log), "%s/%s.log", logdir, id);
		char pidfile[600];
		snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", logdir, id);
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		char *create[] = {(char *)bin,	  "--root",	(char *)root, "create", "--bundle",
				  (char *)bundle, "--pid-file", pidfile,      id,	NULL};
		char *start[] = {(char *)bin, "--root", (char *)root, "start", id, NULL};
		char *kill_[] = {(char *)bin, "--root", (char *)root, "kill", id, "KILL", NULL};
		char *del[] = {(char *)bin, "--root", (char *)root, "delete", id, NULL};
		long long t3 = now_us();
		if (run_quiet(create, lfd) != 0 || run_quiet(start, -1) != 0) {
			fprintf(stderr, "bench: direct %s create/start failed\n", bin);
			return 1;
		}
		long long t4 = now_us();
		close(lfd);
		FILE *pf = fopen(pidfile, "r");
		int cpid = 0;
		if (!pf || fscanf(pf, "%d", &cpid) != 1) {
			fprintf(stderr, "bench: no pid in %s\n", pidfile);
			return 1;
		}
		fclose(pf);
		long long t5 = now_us();
		int pfd = (int)syscall(SYS_pidfd_open, cpid, 0);
		if (run_quiet(kill_, -1) != 0) {
			fprintf(stderr, "bench: direct kill failed\n");
			return 1;
		}
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		if (pfd >= 0)
			poll(&p, 1, 10000);
		if (run_quiet(del, -1) != 0) {
			fprintf(stderr, "bench: direct delete failed\n");
			return 1;
		}
		long long t6 = now_us();
		if (pfd >= 0)
			close(pfd);
		unlink(pidfile);
		if (i >= 0) {
			a_up[i] = t1 - t0;
			a_down[i] = t2 - t1;
			b_up[i] = t4 - t3;
			b_down[i] = t6 - t5;
		}
	}
	double au = median_ms(a_up, n), ad = median_ms(a_down, n);
	double bu = median_ms(b_up, n), bd = median_ms(b_down, n);
	printf("%s create+start: runtime.c %.1f ms, %s directly %.1f ms, ratio %.2f\n",
	       runtime_name(rt), au, runtime_name(rt), bu, au / bu);
	printf("%s stop+delete: runtime.c %.1f ms, kill+wait+delete directly %.1f ms, ratio %.2f\n",
	       runtime_name(rt), ad, bd, ad / bd);
	free(a_up);
	free(a_down);
	free(b_up);
	free(b_down);
	return 0;
}

struct par_job {
	struct runtime *rt;
	const char *id, *bundle, *logdir;
	char *result; /* "ok" or the first error; new */
};

/* One container's whole life from one thread. */
static void *par_run(void *arg)
{
	struct par_job *j = arg;
	struct mk_err *err = NULL;
	char log[600];
	snprintf(log, sizeof(log), "%s/%s.log", j->logdir, j->id);
	pid_t pid;
	struct runtime_exec_result res = {0};
	struct runtime_state st = {0};
	const char *const argv[] = {"sh", "-c", "echo exec-ok", NULL};
	if (runtime_create(j->rt, j->id, j->bundle, log, NULL, &pid, &err) < 0 ||
	    runtime_start(j->rt, j->id, &err) < 0 ||
	    runtime_exec_sync(j->rt, j->id, argv, 10000, 100, &res, &err) < 0 ||
	    runtime_stop(j->rt, j->id, SIGKILL, 0, &err) < 0 ||
	    runtime_state(j->rt, j->id, &st, &err) < 0) {
		j->result = xasprintf("%s: %s", j->id, mk_err_msg(err));
	} else if (strcmp(res.output, "exec-ok\n") || res.exit_code != 0) {
		j->result = xasprintf("%s: exec gave %d \"%s\"", j->id, res.exit_code, res.output);
	} else if (st.status != RUNTIME_EXITED || st.exit_code != 137) {
		j->result = xasprintf("%s: state %s exit %d", j->id, status_name(st.status),
				      st.exit_code);
	} else if (runtime_delete(j->rt, j->id, &err) < 0) {
		j->result = xasprintf("%s: %s", j->id, mk_err_msg(err));
	} else {
		j->result = xstrdup("ok");
	}
	mk_err_free(err);
	free(res.output);
	runtime_state_clear(&st);
	return NULL;
}

/* parallel LOGDIR ID=BUNDLE...: every container in its own thread at once. */
static int cmd_parallel(struct runtime *rt, const char *logdir, char **pairs, int n)
{
	struct par_job *jobs = xcalloc((size_t)n, sizeof(*jobs));
	pthread_t *th = xcalloc((size_t)n, sizeof(*th));
	for (int i = 0; i < n; i++) {
		char *eq = strchr(pairs[i], '=');
		if (!eq) {
			fprintf(stderr, "parallel: %s is not ID=BUNDLE\n", pairs[i]);
			return 2;
		}
		*eq = '\0';
		jobs[i] = (struct par_job){
			.rt = rt, .id = pairs[i], .bundle = eq + 1, .logdir = logdir};
	}
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, par_run, &jobs[i]);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		printf("%s %s\n", jobs[i].id, jobs[i].result);
		if (strcmp(jobs[i].result, "ok"))
			rc = 1;
		free(jobs[i].result);
	}
	free(jobs);
	free(th);
	return rc;
}

/* exec-stream: drives runtime_exec_start/status/kill/resize the way the
 * kubelet's streaming does, with the probe's stdin as the client's. */
static int cmd_exec_stream(struct runtime *rt, const char *id, const char *opts,
			   const char *const *argv)
{
	bool with_stdin = strstr(opts, "stdin") != NULL;
	const char *t = strstr(opts, "tty=");
	const char *k = strstr(opts, "kill=");
	unsigned cols = 0, rows = 0;
	if (t && sscanf(t + 4, "%ux%u", &cols, &rows) != 2)
		return fprintf(stderr, "exec-stream: bad tty size\n"), 2;
	long kill_ms = k ? atol(k + 5) : -1;
	struct runtime_exec x;
	struct mk_err *err = NULL;
	if (runtime_exec_start(rt, id, argv, t != NULL, with_stdin || t, &x, &err) < 0)
		return die("exec-stream", err);
	if (t && runtime_exec_resize(&x, cols, rows, &err) < 0)
		return die("exec-stream resize", err);
	int pidfd = (int)syscall(SYS_pidfd_open, x.pid, 0);
	struct buf out = BUF_INIT, errb = BUF_INIT;
	int in_fd = (with_stdin || t) ? 0 : -1;
	int to = t ? x.pty : x.in;
	long long t0 = now_us();
	bool exited = false, killed = false;
	long long drain_until = 0;
	while (!exited || (drain_until && now_us() < drain_until)) {
		struct pollfd fds[4] = {{.fd = exited ? -1 : pidfd, .events = POLLIN},
					{.fd = x.out, .events = POLLIN},
					{.fd = x.err, .events = POLLIN},
					{.fd = in_fd, .events = POLLIN}};
		int n = poll(fds, 4, 20);
		if (n < 0 && errno != EINTR)
			break;
		char chunk[4096];
		for (int i = 1; i <= 2; i++) {
			int fd = i == 1 ? x.out : x.err;
			if (fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(fd, chunk, sizeof(chunk));
			if (r > 0) {
				buf_append(i == 1 ? &out : &errb, chunk, (size_t)r);
			} else if (r == 0 || errno != EAGAIN) {
				/* EOF (EIO on a pty whose slave is gone) */
				if (i == 1)
					x.out = -1, x.pty = t ? -1 : x.pty;
				else
					x.err = -1;
				close(fd);
			}
		}
		if (in_fd >= 0 && (fds[3].revents & (POLLIN | POLLHUP))) {
			ssize_t r = read(0, chunk, sizeof(chunk));
			if (r > 0 && to >= 0) {
				if (write(to, chunk, (size_t)r) != r)
					fprintf(stderr, "exec-stream: short write\n");
			} else if (r <= 0) {
				in_fd = -1;
				if (!t && x.in >= 0) {
					close(x.in);
					x.in = -1;
					to = -1;
				}
			}
		}
		if (kill_ms >= 0 && !killed && now_us() - t0 > kill_ms * 1000 &&
		    runtime_exec_started(&x)) {
			runtime_exec_kill(&x);
			killed = true;
		}
		if (!exited && (fds[0].revents & POLLIN)) {
			exited = true;
			drain_until = now_us() + 500000;
		}
		if (exited && x.out < 0 && x.err < 0)
			break;
	}
	int status = 0;
	waitpid(x.pid, &status, 0);
	close(pidfd);
	int code = 0;
	bool not_started = false;
	int rc = 0;
	if (runtime_exec_status(rt, &x, status, buf_str(&errb)[0] ? buf_str(&errb) : buf_str(&out),
				&code, &not_started, &err) < 0) {
		printf("not started %d: %s\n", code, mk_err_msg(err));
		mk_err_free(err);
	} else {
		printf("exit %d\n", code);
	}
	printf("stdout:\n%s", buf_str(&out));
	printf("stderr:\n%s", buf_str(&errb));
	buf_free(&out);
	buf_free(&errb);
	runtime_exec_clear(&x);
	return rc;
}

int main(int argc, char **argv)
{
	struct runtime_opts o = {0};
	const char *root = RUNTIME_DEFAULT_ROOT;
	int i = 1;
	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--runtime"))
			o.binary = argv[i + 1];
		else if (!strcmp(argv[i], "--root"))
			o.root = root = argv[i + 1];
		else if (!strcmp(argv[i], "--state-dir"))
			o.state_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--monitor"))
			o.monitor = argv[i + 1];
		else if (!strcmp(argv[i], "--workaround"))
			o.crun_workaround = !strcmp(argv[i + 1], "on")	  ? RUNTIME_WORKAROUND_ON
					    : !strcmp(argv[i + 1], "off") ? RUNTIME_WORKAROUND_OFF
									  : RUNTIME_WORKAROUND_AUTO;
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: runtime-probe [options] COMMAND ARGS...\n");
		return 2;
	}
	const char *cmd = argv[i];
	char **a = argv + i + 1;
	int na = argc - i - 1;
	struct mk_err *err = NULL;

	if (!strcmp(cmd, "spec"))
		return cmd_spec(na + 1, argv + i);
	if (!strncmp(cmd, "cgroup-", 7)) {
		struct cgroups *cg = cgroups_detect(&err);
		if (!cg)
			return die(cmd, err);
		int rc = 0;
		if (!strcmp(cmd, "cgroup-path") && na == 2) {
			cleanup_json json_t *pod = load_file(a[1]);
			cleanup_free char *p = cgroups_pod_path(a[0], pod, &err);
			if (!p)
				rc = die(cmd, err);
			else
				printf("%s\n", p);
		} else if (!strcmp(cmd, "cgroup-create") && (na == 1 || na == 2)) {
			struct cgroups_limits lim;
			if (na == 2) {
				cleanup_json json_t *pod = load_file(a[1]);
				cgroups_pod_limits(pod, &lim);
			}
			if (cgroups_create(cg, a[0], na == 2 ? &lim : NULL, &err) < 0)
				rc = die(cmd, err);
		} else if (!strcmp(cmd, "cgroup-remove") && na == 1) {
			if (cgroups_remove(cg, a[0], &err) < 0)
				rc = die(cmd, err);
		} else if (!strcmp(cmd, "cgroup-usage") && na == 1) {
			struct cgroups_usage u;
			if (cgroups_usage_read(cg, a[0], &u, &err) < 0) {
				rc = die(cmd, err);
			} else {
				cleanup_json json_t *o2 = json_pack(
					"{s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b}", "cpuNs",
					(json_int_t)u.cpu_ns, "memory", (json_int_t)u.memory_usage,
					"workingSet", (json_int_t)u.working_set, "pids",
					(json_int_t)u.pids, "oomKills", (json_int_t)u.oom_kills,
					"hasCpu", u.has_cpu, "hasMemory", u.has_memory, "hasPids",
					u.has_pids);
				json_dumpf(o2, stdout, JSON_COMPACT);
				putchar('\n');
			}
		} else {
			fprintf(stderr, "%s: bad arguments\n", cmd);
			rc = 2;
		}
		cgroups_free(cg);
		return rc;
	}

	struct runtime *rt = runtime_new(&o, &err);
	if (!rt)
		return die("runtime", err);
	int rc = 0;
	if (!strcmp(cmd, "version")) {
		printf("%s %s workaround=%d\n", runtime_name(rt), runtime_version(rt),
		       runtime_crun_workaround(rt));
	} else if (!strcmp(cmd, "create") && (na == 3 || na == 4)) {
		pid_t pid;
		if (runtime_create(rt, a[0], a[1], a[2], na == 4 ? a[3] : NULL, &pid, &err) < 0)
			rc = die("create", err);
		else
			printf("%d\n", (int)pid);
	} else if (!strcmp(cmd, "create-stdin") && na == 3) {
		pid_t pid;
		struct runtime_create_opts co = {.stdin_open = true, .stdin_once = true};
		if (runtime_create_with(rt, a[0], a[1], a[2], &co, &pid, &err) < 0)
			rc = die("create", err);
		else
			printf("%d\n", (int)pid);
	} else if (!strcmp(cmd, "start") && na == 1) {
		if (runtime_start(rt, a[0], &err) < 0)
			rc = die("start", err);
	} else if (!strcmp(cmd, "reopen-log") && na == 1) {
		if (runtime_reopen_log(rt, a[0], &err) < 0)
			rc = die("reopen-log", err);
	} else if (!strcmp(cmd, "delete") && na == 1) {
		if (runtime_delete(rt, a[0], &err) < 0)
			rc = die("delete", err);
	} else if (!strcmp(cmd, "stop") && na == 3) {
		long long t0 = now_us();
		if (runtime_stop(rt, a[0], atoi(a[1]), atoll(a[2]), &err) < 0)
			rc = die("stop", err);
		else
			printf("%lld\n", (now_us() - t0) / 1000);
	} else if (!strcmp(cmd, "state") && na == 1) {
		struct runtime_state st;
		if (runtime_state(rt, a[0], &st, &err) < 0) {
			rc = die("state", err);
		} else {
			cleanup_json json_t *j = json_pack(
				"{s:s, s:i, s:i, s:i, s:b, s:b, s:s?, s:s?, s:s?, s:i}", "status",
				status_name(st.status), "pid", (int)st.pid, "exitCode",
				st.exit_code, "signal", st.signal, "exitUnknown", st.exit_unknown,
				"oomKilled", st.oom_killed, "createdAt", st.created_at, "startedAt",
				st.started_at, "finishedAt", st.finished_at, "monitorPid",
				(int)st.monitor_pid);
			json_dumpf(j, stdout, JSON_COMPACT);
			putchar('\n');
			runtime_state_clear(&st);
		}
	} else if (!strcmp(cmd, "list") && na == 0) {
		char **ids;
		size_t n;
		if (runtime_list(rt, &ids, &n, &err) < 0) {
			rc = die("list", err);
		} else {
			for (size_t k = 0; k < n; k++) {
				printf("%s\n", ids[k]);
				free(ids[k]);
			}
			free(ids);
		}
	} else if (!strcmp(cmd, "exec") && na >= 4) {
		struct runtime_exec_result res;
		int erc = runtime_exec_sync(rt, a[0], (const char *const *)(a + 3), atoll(a[1]),
					    (size_t)atoll(a[2]), &res, &err);
		if (erc < 0) {
			rc = mk_err_code(err) == MK_ETIMEOUT ? 124 : 1;
			fprintf(stderr, "exec: %s\n", mk_err_msg(err));
			mk_err_free(err);
			if (res.output)
				fwrite(res.output, 1, res.len, stdout);
		} else {
			printf("exit %d%s\n", res.exit_code, res.truncated ? " truncated" : "");
			fwrite(res.output, 1, res.len, stdout);
		}
		free(res.output);
	} else if (!strcmp(cmd, "exec-stream") && na >= 3) {
		rc = cmd_exec_stream(rt, a[0], a[1], (const char *const *)(a + 2));
	} else if (!strcmp(cmd, "parallel") && na >= 2) {
		rc = cmd_parallel(rt, a[0], a + 1, na - 1);
	} else if (!strcmp(cmd, "bench") && na == 3) {
		rc = cmd_bench(rt,
			       o.binary && strchr(o.binary, '/')   ? o.binary
			       : !strcmp(runtime_name(rt), "crun") ? "/usr/bin/crun"
								   : "/usr/sbin/runc",
			       root, atoi(a[0]), a[1], a[2]);
	} else {
		fprintf(stderr, "%s: unknown command or bad arguments\n", cmd);
		rc = 2;
	}
	runtime_free(rt);
	return rc;
}
