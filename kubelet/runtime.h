/* Containers through an OCI runtime's command line (runc by default, crun
 * selectable), each supervised by its own mink8s-monitor process.
 *
 * Files: the runtime keeps its state under `root` (default
 * /run/mink8s/runc, a tmpfs path, gone after a reboot like the containers);
 * this module keeps one directory per container under `state_dir` (default
 * /run/mink8s/containers/<id>/):
 *   monitor.pid  the monitor's pid (decimal, one line)
 *   init         the init's pid and start time (clock ticks since boot,
 *                /proc/PID/stat field 22) at create: "<pid> <ticks>"
 *   started      the time the container started (RFC3339Nano, one line)
 *   attach       the monitor's attach socket while the container runs
 *   exit.json    the exit record, written once by the monitor when the
 *                init is reaped: {"pid":N,"exitCode":N,"signal":S,
 *                "oomKilled":bool,"startedAt":"…","finishedAt":"…"}
 *                (exitCode = status or 128+signal; "signal" 0 for a normal
 *                exit; "startedAt" absent if never started)
 * and, while an exec runs, its process file .exec-<id>-XXXXXX beside them.
 * The bundle directory (config.json, written by the caller) also receives
 * ctr.pid from the runtime. Containers and monitors outlive the kubelet: a
 * restarted kubelet finds every container again with runtime_list() and
 * runtime_state().
 *
 * Children: every command is spawned with posix_spawn, an explicit
 * environment (PATH only; the process environment is never read nor
 * changed), stdin on /dev/null, stdout+stderr captured, all signals default
 * and unblocked, and a deadline; it is always reaped with waitpid on its own
 * pid. The calling process must therefore not ignore SIGCHLD nor reap
 * children it did not start (waitpid(-1)). A runtime's error output becomes
 * the error message: "runc start: container not running" (logrus lines are
 * reduced to their msg="..." text, several lines joined with "; ").
 *
 * Threads: a struct runtime is immutable after runtime_new(); every function
 * may be called from any thread at once. Calls on the same container are
 * ordered by the runtime's own locking; the caller should still not stop and
 * delete one container from two threads at once. */
#ifndef MK_KUBELET_RUNTIME_H
#define MK_KUBELET_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "err.h"

#define RUNTIME_DEFAULT_ROOT	  "/run/mink8s/runc"
#define RUNTIME_DEFAULT_STATE_DIR "/run/mink8s/containers"

enum runtime_workaround {
	RUNTIME_WORKAROUND_AUTO = 0,
	RUNTIME_WORKAROUND_ON,
	RUNTIME_WORKAROUND_OFF,
};

struct runtime_opts {
	const char *binary;    /* "runc" (NULL), "crun", or a path */
	const char *root;      /* the runtime's --root; NULL: RUNTIME_DEFAULT_ROOT */
	const char *monitor;   /* NULL: mink8s-monitor next to /proc/self/exe */
	const char *state_dir; /* NULL: RUNTIME_DEFAULT_STATE_DIR */
	/* Run `crun create` in a private mount namespace that hides the cgroup2
	 * controllers list (crun refuses hybrid hosts otherwise). AUTO (the
	 * zero value) turns it on when the runtime is crun, the host is hybrid
	 * and the cgroup2 root's cgroup.controllers is not empty. */
	enum runtime_workaround crun_workaround;
};

struct runtime;

/* Finds the binary (a name is looked up in $PATH at this moment, then in
 * the usual sbin/bin directories), asks it its version, makes root and
 * state_dir (0711/0700) and checks that the monitor is executable. Borrowed
 * opts. New, runtime_free(). MK_ENOTFOUND naming what is missing. */
struct runtime *runtime_new(const struct runtime_opts *opts, struct mk_err **err);

/* Accepts NULL. */
void runtime_free(struct runtime *rt);

/* "runc" or "crun" (the binary's base name), for the Node's
 * containerRuntimeVersion "runc://1.1.5". Borrowed from rt. */
const char *runtime_name(const struct runtime *rt);

/* The version the binary prints ("runc version 1.1.5+ds1" -> "1.1.5"): the
 * first dotted number, without pre-release or build suffixes. Borrowed. */
const char *runtime_version(const struct runtime *rt);

/* Whether the crun work-around is in use. */
bool runtime_crun_workaround(const struct runtime *rt);

/* Creates container id from bundle (absolute; config.json inside) through a
 * new monitor, which appends the container's output to log_path (its
 * directory must exist) and, when monitor_cgroup is not NULL, first moves
 * itself into that cgroup path (every hierarchy; on a pure cgroup v2 host
 * pass a leaf, since a cgroup with processes cannot also hold containers).
 * Returns once the runtime has created the container (not started) and
 * stores its init pid in *pid. Errors: MK_EINVAL for a bad id or path,
 * MK_EEXISTS when the runtime already has id, MK_EIO with
 * "runc create: <runtime message>" otherwise. Nothing is left behind on
 * failure. */
int runtime_create(const struct runtime *rt, const char *id, const char *bundle,
		   const char *log_path, const char *monitor_cgroup, pid_t *pid,
		   struct mk_err **err);

struct runtime_create_opts {
	const char *monitor_cgroup; /* as runtime_create's, or NULL */
	bool stdin_open;	    /* the container's stdin is a pipe the monitor
				     * feeds from attach clients (spec stdin) */
	bool stdin_once;	    /* closed when the first writer leaves (stdinOnce) */
	/* started too, by one `<runtime> run --detach` (no runtime_start
	 * follows; its error messages say "runc run: ..."): a runtime process
	 * less for a container that needs nothing between the two steps */
	bool start;
};

/* runtime_create with more options. */
int runtime_create_with(const struct runtime *rt, const char *id, const char *bundle,
			const char *log_path, const struct runtime_create_opts *o, pid_t *pid,
			struct mk_err **err);

/* Where id's monitor serves attach clients (a unix SOCK_SEQPACKET socket,
 * see kubelet/monitor): new path. It may be longer than a sockaddr_un
 * holds; connect through /proc/self/fd/<directory fd>/attach. */
char *runtime_attach_socket(const struct runtime *rt, const char *id);

/* `<runtime> start id`, then waits (up to 1 s) for the monitor to record the
 * start time. */
int runtime_start(const struct runtime *rt, const char *id, struct mk_err **err);

/* Stops a created or running container: sends sig (a created container
 * gets SIGKILL) to its init through a pidfd, waits up to grace_ms for it to
 * exit, then sends SIGKILL and waits again (up to 10 s); finally waits (up to
 * 5 s) for the monitor to write the exit record. Never `runc delete -f`
 * (which sleeps 100 ms). A container that already exited is fine;
 * MK_ENOTFOUND when the runtime does not know id. */
int runtime_stop(const struct runtime *rt, const char *id, int sig, int64_t grace_ms,
		 struct mk_err **err);

/* `<runtime> delete id` (a running container is refused: stop it first),
 * then waits for its monitor to exit and removes the container's state
 * directory. An id the runtime no longer knows only loses its files. */
int runtime_delete(const struct runtime *rt, const char *id, struct mk_err **err);

/* Has id's monitor reopen its log path (SIGUSR1), after the caller renamed
 * the file for rotation; returns once the new file exists (up to 1 s).
 * MK_ENOTFOUND when the monitor is gone (the container exited). */
int runtime_reopen_log(const struct runtime *rt, const char *id, struct mk_err **err);

enum runtime_status {
	RUNTIME_UNKNOWN = 0, /* neither the runtime nor our files know it */
	RUNTIME_CREATED,
	RUNTIME_RUNNING,
	RUNTIME_EXITED,
};

struct runtime_state {
	enum runtime_status status;
	pid_t pid;	   /* the init's pid when created or running */
	int exit_code;	   /* EXITED: the code; 255 when unknown (below) */
	int signal;	   /* EXITED: the killing signal, 0 if it exited */
	bool exit_unknown; /* EXITED without a record: the monitor died before
			    * the init (killed, node trouble). Reported as code
			    * 255 like containerd's unknownExitCode; finished_at
			    * is then NULL. */
	bool oom_killed;
	char *created_at;  /* RFC3339Nano from the runtime, or NULL */
	char *started_at;  /* or NULL (not started, or unknown) */
	char *finished_at; /* EXITED, or NULL */
	char *bundle;	   /* from the runtime, or NULL */
	pid_t monitor_pid; /* 0 when its monitor is gone */
};

/* The state of id from `<runtime> state` and our files (see the table at
 * runtime_state_combine). A started container whose init (pid and start
 * time recorded at create) still runs is RUNNING without asking the
 * runtime; created_at and bundle are then NULL. A stopped container whose monitor is still alive
 * gets up to 3 s to write its exit record. Fills *st (new strings, free with
 * runtime_state_clear()); an unknown id is RUNTIME_UNKNOWN, not an error. */
int runtime_state(const struct runtime *rt, const char *id, struct runtime_state *st,
		  struct mk_err **err);

/* Frees the strings of st and zeroes it; accepts a zeroed st. */
void runtime_state_clear(struct runtime_state *st);

/* Every container id the runtime has, plus ids that only have a state
 * directory here (left by a crash), sorted, without duplicates. *ids is a
 * new NULL-terminated array of new strings: free each and the array. */
int runtime_list(const struct runtime *rt, char ***ids, size_t *n, struct mk_err **err);

struct runtime_exec_result {
	int exit_code;
	/* stdout, then stderr (as the kubelet joins ExecSync's two streams), at
	 * most max_output bytes; new */
	char *output;
	size_t len;
	bool truncated; /* more output was dropped */
};

/* Runs argv in container id and waits for it, for exec probes: the
 * container's config.json "process" (user, capabilities, env, cwd) with args
 * replaced and terminal false, through `<runtime> exec --process`. At
 * timeout_ms the process is killed and MK_ETIMEOUT returned ("command
 * \"sh -c sleep 10\" timed out"), res still holding the output so far.
 * MK_EIO with the runtime's message when it cannot exec (stopped container,
 * missing binary: "runc exec: ..."). Free res->output. */
int runtime_exec_sync(const struct runtime *rt, const char *id, const char *const *argv,
		      int64_t timeout_ms, size_t max_output, struct runtime_exec_result *res,
		      struct mk_err **err);

/* A command started in a container with runtime_exec_start, streaming. */
struct runtime_exec {
	pid_t pid;	/* the runtime process: `<runtime> exec` in the foreground,
			 * whose exit status is the command's (reap it yourself) */
	int in;		/* write end of the command's stdin, or -1 (none asked) */
	int out;	/* read end of its stdout; with a tty the pty master */
	int err;	/* read end of its stderr; -1 with a tty */
	int pty;	/* the pty master (same as out) with a tty, else -1 */
	char *file;	/* the process file, removed by runtime_exec_clear */
	char *pid_file; /* where the runtime writes the command's pid once it runs */
	/* private to runtime_exec_*: what the spawn needs */
	char *id, *slave;
	bool tty;
	int child_in, child_out, child_err;
};

/* Starts argv in container id for a streaming exec and returns at once:
 * `<runtime> exec --process F --pid-file P id` in the foreground, its
 * stdio on pipes (stdin /dev/null unless with_stdin), or with tty on the
 * slave of a new pty whose master the caller keeps (the runtime copies it
 * to a terminal it makes for the command, and passes resizes on). The
 * process file is the container's with args replaced and terminal set
 * (TERM=xterm added with a tty). Fills *x (fds non-blocking, close-on-exec;
 * free with runtime_exec_clear). Errors as runtime_exec_sync before the
 * spawn; the command's own failures come through runtime_exec_status. */
int runtime_exec_start(const struct runtime *rt, const char *id, const char *const *argv, bool tty,
		       bool with_stdin, struct runtime_exec *x, struct mk_err **err);

/* runtime_exec_start in two steps: prepare does everything that may take
 * time (reads the runtime's state, writes the process file, makes the pty
 * or pipes: x's descriptors are ready, pid is 0); spawn only starts the
 * runtime, so that a caller may first set the terminal's size with
 * runtime_exec_resize. After a failed spawn, clear x. */
int runtime_exec_prepare(const struct runtime *rt, const char *id, const char *const *argv,
			 bool tty, bool with_stdin, struct runtime_exec *x, struct mk_err **err);
int runtime_exec_spawn(const struct runtime *rt, struct runtime_exec *x, struct mk_err **err);

/* Whether the command runs yet (its pid file is there), i.e. whatever it
 * prints now is its own output and not the runtime's error. */
bool runtime_exec_started(const struct runtime_exec *x);

/* The outcome once x->pid was reaped with wait status `status`. Returns the
 * command's exit code (WEXITSTATUS, or 128+signal) when it ran; when the
 * runtime could not start it, -1 with MK_EIO and the runtime's message
 * (`output`, what the runtime printed, NUL-terminated; logrus lines
 * reduced) and *not_started true: *exit_code is then 127 when the
 * executable does not exist and 126 when it cannot be run, as a shell (and
 * docker's exec) answers. */
int runtime_exec_status(const struct runtime *rt, const struct runtime_exec *x, int status,
			const char *output, int *exit_code, bool *not_started, struct mk_err **err);

/* Kills the command (SIGKILL through a pidfd on its pid), e.g. when its
 * client went away; the runtime process then returns. Before the command
 * started, kills the runtime process. */
void runtime_exec_kill(const struct runtime_exec *x);

/* Sets the pty's size and tells the runtime (SIGWINCH, once spawned), which
 * resizes the command's terminal. MK_EINVAL without a tty. */
int runtime_exec_resize(const struct runtime_exec *x, unsigned cols, unsigned rows,
			struct mk_err **err);

/* Closes the descriptors still open and removes the files; call once the
 * runtime process was reaped. Zeroes x; accepts a zeroed x. */
void runtime_exec_clear(struct runtime_exec *x);

/* ---- pure parts, exposed for tests ---- */

/* A runtime's stderr reduced to one line: each logrus line
 * (time="…" level=error msg="…") gives its unquoted msg, other non-empty
 * lines are kept as they are; joined with "; ". "" for no text. New. */
char *runtime_error_text(const char *stderr_text);

struct runtime_exit {
	int exit_code;
	int signal;
	bool oom_killed;
	pid_t pid;
	char *started_at;  /* new or NULL */
	char *finished_at; /* new */
};

/* Parses an exit.json record. MK_EINVAL for anything but the format above
 * (exitCode and finishedAt are required). Free with runtime_exit_clear(). */
int runtime_exit_parse(const char *text, struct runtime_exit *ex, struct mk_err **err);
void runtime_exit_clear(struct runtime_exit *ex);

/* Combines what is known about a container into *st:
 *   runtime state (`state` JSON or NULL) | exit record | -> status
 *   "created"                             | any         | CREATED, pid
 *   "running" / "paused"                  | any         | RUNNING, pid, started
 *   "stopped"                             | present     | EXITED from the record
 *   "stopped"                             | absent      | EXITED, 255, exit_unknown
 *   NULL                                  | present     | EXITED from the record
 *   NULL                                  | absent      | UNKNOWN
 * started (the started file's text or NULL) gives started_at, else the
 * record's, else for a running container the runtime's "created". */
void runtime_state_combine(const json_t *rstate, const struct runtime_exit *ex, const char *started,
			   struct runtime_state *st);

#endif
