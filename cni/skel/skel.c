#include "skel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

extern char **environ;

const char *const cni_versions[] = {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0",
				    "1.0.0", "1.1.0", NULL};

bool cni_version_supported(const char *v)
{
	for (int i = 0; cni_versions[i]; i++)
		if (strcmp(cni_versions[i], v) == 0)
			return true;
	return false;
}

int cni_version_cmp(const char *a, const char *b)
{
	for (;;) {
		char *ea, *eb;
		long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*ea != '.' || *eb != '.')
			return (*ea == '.') - (*eb == '.');
		a = ea + 1;
		b = eb + 1;
	}
}

int cni_fail(struct cni_ctx *ctx, struct mk_err **err, int code, const char *details,
	     const char *fmt, ...)
{
	if (err && *err)
		return -1;
	ctx->err_code = code;
	free(ctx->err_details);
	ctx->err_details = details ? xstrdup(details) : NULL;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	mk_err_set(err, MK_EINVAL, "%s", msg);
	free(msg);
	return -1;
}

void cni_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	if (s) {
		fputs(s, stdout);
		free(s);
	}
	fflush(stdout);
}

static int print_error(int code, const char *msg, const char *details)
{
	json_t *e = json_object();
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "msg", json_string(msg));
	if (details && *details)
		json_object_set_new(e, "details", json_string(details));
	cni_print_json(e);
	json_decref(e);
	return 1;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v ? v : "";
}

static bool valid_id(const char *s)
{
	/* ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ */
	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (p == s || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

static int read_stdin(struct cni_ctx *ctx)
{
	struct buf b = BUF_INIT;
	char chunk[65536];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_free(&b);
			return -1;
		}
		if (n == 0)
			break;
		buf_append(&b, chunk, (size_t)n);
	}
	ctx->stdin_len = b.len;
	ctx->stdin_data = buf_steal(&b);
	return 0;
}

static void print_versions(void)
{
	json_t *v = json_pack("{s:s}", "cniVersion", "1.1.0");
	json_t *arr = json_array();
	for (int i = 0; cni_versions[i]; i++)
		json_array_append_new(arr, json_string(cni_versions[i]));
	json_object_set_new(v, "supportedVersions", arr);
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(v);
}

static char *supported_list_go(void)
{
	struct buf b = BUF_INIT;
	buf_append_char(&b, '[');
	for (int i = 0; cni_versions[i]; i++)
		buf_printf(&b, "%s\"%s\"", i ? " " : "", cni_versions[i]);
	buf_append_char(&b, ']');
	return buf_steal(&b);
}

static int check_ifname(const char *n, const char **msg, const char **details)
{
	*details = NULL;
	if (!*n)
		*msg = "interface name is empty";
	else if (strlen(n) > 15) {
		*msg = "interface name is too long";
		*details = "interface name should be less than 16 characters";
	} else if (!strcmp(n, ".") || !strcmp(n, ".."))
		*msg = "interface name is . or ..";
	else if (strpbrk(n, "/: \t\n\r\v\f"))
		*msg = "interface name contains / or : or whitespace characters";
	else
		return 0;
	return -1;
}

int cni_skel_main(const struct cni_plugin *p)
{
	struct cni_ctx ctx = {
		.command = env("CNI_COMMAND"),
		.container_id = env("CNI_CONTAINERID"),
		.netns = env("CNI_NETNS"),
		.ifname = env("CNI_IFNAME"),
		.args = env("CNI_ARGS"),
		.path = env("CNI_PATH"),
	};
	if (!*ctx.command) {
		fprintf(stderr, "CNI %s plugin version 1.1.0\n", p->name);
		fprintf(stderr, "CNI protocol versions supported: ");
		for (int i = 0; cni_versions[i]; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", cni_versions[i]);
		fprintf(stderr, "\n");
		return 0;
	}
	const char *cmd = ctx.command;
	bool is_add = !strcmp(cmd, "ADD"), is_del = !strcmp(cmd, "DEL");
	bool is_check = !strcmp(cmd, "CHECK"), is_version = !strcmp(cmd, "VERSION");
	bool is_gc = !strcmp(cmd, "GC"), is_status = !strcmp(cmd, "STATUS");
	bool per_container = is_add || is_del || is_check;

	struct buf missing = BUF_INIT;
	struct {
		const char *name, *val;
		bool need;
	} vars[] = {
		{"CNI_CONTAINERID", ctx.container_id, per_container},
		{"CNI_NETNS", ctx.netns, is_add || is_check},
		{"CNI_IFNAME", ctx.ifname, per_container},
		{"CNI_PATH", ctx.path, per_container || is_gc || is_status},
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (vars[i].need && !*vars[i].val)
			buf_printf(&missing, "%s%s", missing.len ? "," : "", vars[i].name);
	}
	if (missing.len) {
		cleanup_free char *m = xasprintf("required env variables [%s] missing",
						 buf_str(&missing));
		buf_free(&missing);
		return print_error(CNI_ERR_INVALID_ENV, m, NULL);
	}
	if (is_version) {
		print_versions();
		return 0;
	}
	if (read_stdin(&ctx) < 0)
		return print_error(CNI_ERR_IO, "error reading from stdin", strerror(errno));

	json_error_t jerr;
	ctx.conf = json_loadb(ctx.stdin_data, ctx.stdin_len, 0, &jerr);
	int rc = 1;
	if (!ctx.conf || !json_is_object(ctx.conf)) {
		cleanup_free char *m = xasprintf("error unmarshall network config: %s",
						 ctx.conf ? "network config is not an object"
							  : jerr.text);
		rc = print_error(CNI_ERR_DECODE, m, NULL);
		goto out;
	}
	const char *name = json_string_value(json_object_get(ctx.conf, "name"));
	if (!name || !*name) {
		rc = print_error(CNI_ERR_INVALID_CONFIG, "missing network name", NULL);
		goto out;
	}
	if (!valid_id(name)) {
		rc = print_error(CNI_ERR_INVALID_CONFIG, "invalid characters found in network name",
				 name);
		goto out;
	}
	json_t *ver = json_object_get(ctx.conf, "cniVersion");
	if (ver && !json_is_string(ver)) {
		rc = print_error(CNI_ERR_DECODE, "error unmarshall network config: cniVersion is not a string", NULL);
		goto out;
	}
	ctx.version = ver ? json_string_value(ver) : "0.1.0";
	if (!*ctx.version)
		ctx.version = "0.1.0";
	if (!is_gc && !is_status) {
		if (!*ctx.container_id) {
			rc = print_error(CNI_ERR_UNKNOWN_CONTAINER, "missing containerID", NULL);
			goto out;
		}
		if (!valid_id(ctx.container_id)) {
			rc = print_error(CNI_ERR_INVALID_ENV, "invalid characters in containerID",
					 ctx.container_id);
			goto out;
		}
		const char *msg, *details;
		if (check_ifname(ctx.ifname, &msg, &details) < 0) {
			rc = print_error(CNI_ERR_INVALID_ENV, msg, details);
			goto out;
		}
	}

	cni_verb_fn fn = NULL;
	if (is_add)
		fn = p->add;
	else if (is_del)
		fn = p->del;
	else if (is_check)
		fn = p->check;
	else if (is_gc)
		fn = p->gc;
	else if (is_status)
		fn = p->status;
	else {
		cleanup_free char *m = xasprintf("unknown CNI_COMMAND: %s", cmd);
		rc = print_error(CNI_ERR_INVALID_ENV, m, NULL);
		goto out;
	}
	if (!cni_version_supported(ctx.version)) {
		cleanup_free char *list = supported_list_go();
		cleanup_free char *d = xasprintf("config is \"%s\", plugin supports %s", ctx.version,
						 list);
		rc = print_error(CNI_ERR_INCOMPATIBLE, "incompatible CNI versions", d);
		goto out;
	}
	if (is_check && cni_version_cmp(ctx.version, "0.4.0") < 0) {
		rc = print_error(CNI_ERR_INCOMPATIBLE, "config version does not allow CHECK", NULL);
		goto out;
	}
	if ((is_gc || is_status) && cni_version_cmp(ctx.version, "1.1.0") < 0) {
		cleanup_free char *m = xasprintf("config version does not allow %s", cmd);
		rc = print_error(CNI_ERR_INCOMPATIBLE, m, NULL);
		goto out;
	}
	if (!fn) {
		rc = 0;
		goto out;
	}
	struct mk_err *err = NULL;
	if (fn(&ctx, &err) < 0) {
		rc = print_error(ctx.err_code ? ctx.err_code : CNI_ERR_INTERNAL,
				 err ? mk_err_msg(err) : "unknown error", ctx.err_details);
		mk_err_free(err);
	} else {
		rc = 0;
	}
out:
	json_decref(ctx.conf);
	free(ctx.stdin_data);
	free(ctx.err_details);
	return rc;
}

/* ---- delegation ---- */

static char *find_plugin(const char *path, const char *type)
{
	cleanup_free char *dirs = xstrdup(path);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *full = xasprintf("%s/%s", d, type);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
			return full;
		free(full);
	}
	return NULL;
}

static char *go_path_list(const char *path)
{
	struct buf b = BUF_INIT;
	cleanup_free char *dirs = xstrdup(path);
	char *save = NULL;
	buf_append_char(&b, '[');
	int i = 0;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save))
		buf_printf(&b, "%s%s", i++ ? " " : "", d);
	buf_append_char(&b, ']');
	return buf_steal(&b);
}

/* Writes in to the child's stdin while collecting its stdout. */
static int pump(int in_fd, const char *in, size_t in_len, int out_fd, struct buf *out)
{
	size_t off = 0;
	if (in_len == 0 && in_fd >= 0) {
		close(in_fd);
		in_fd = -1;
	}
	while (out_fd >= 0) {
		struct pollfd pf[2] = {{.fd = out_fd, .events = POLLIN},
				       {.fd = in_fd, .events = POLLOUT}};
		int n = poll(pf, in_fd >= 0 ? 2 : 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (in_fd >= 0 && pf[1].revents) {
			ssize_t w = write(in_fd, in + off, in_len - off);
			if (w < 0 && errno != EINTR && errno != EAGAIN) {
				close(in_fd);
				in_fd = -1;
			} else if (w > 0) {
				off += (size_t)w;
				if (off == in_len) {
					close(in_fd);
					in_fd = -1;
				}
			}
		}
		if (pf[0].revents) {
			char chunk[8192];
			ssize_t r = read(out_fd, chunk, sizeof(chunk));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			buf_append(out, chunk, (size_t)r);
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	return 0;
}

int cni_delegate_start(struct cni_ctx *ctx, const char *type, const char *command,
		       struct cni_job *job, struct mk_err **err)
{
	memset(job, 0, sizeof(*job));
	job->in_fd = job->out_fd = -1;
	job->pid = -1;
	cleanup_free char *exe = find_plugin(ctx->path, type);
	if (!exe) {
		cleanup_free char *list = go_path_list(ctx->path);
		return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "failed to find plugin \"%s\" in path %s",
				type, list);
	}
	int inp[2], outp[2];
	if (pipe2(inp, O_CLOEXEC) < 0)
		return mk_err_errno(err, MK_EIO, errno, "pipe");
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(inp[0]);
		close(inp[1]);
		return mk_err_errno(err, MK_EIO, errno, "pipe");
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, inp[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
	cleanup_free char *saved = xstrdup(ctx->command);
	setenv("CNI_COMMAND", command, 1);
	char *argv[] = {exe, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
	setenv("CNI_COMMAND", saved, 1);
	posix_spawn_file_actions_destroy(&fa);
	close(inp[0]);
	close(outp[1]);
	if (rc != 0) {
		close(inp[1]);
		close(outp[0]);
		return mk_err_errno(err, MK_EIO, rc, "spawning %s", exe);
	}
	/* A delegate that exits early must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	job->pid = pid;
	job->in_fd = inp[1];
	job->out_fd = outp[0];
	job->type = type;
	/* A config that fits the pipe is written now, so the delegate runs while
	 * the caller goes on; a larger one is pumped in cni_delegate_finish. */
	if (ctx->stdin_len < 65536) {
		size_t off = 0;
		while (off < ctx->stdin_len) {
			ssize_t w = write(job->in_fd, ctx->stdin_data + off, ctx->stdin_len - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			off += (size_t)w;
		}
		close(job->in_fd);
		job->in_fd = -1;
	}
	return 0;
}

int cni_delegate_finish(struct cni_ctx *ctx, struct cni_job *job, json_t **result,
			struct mk_err **err)
{
	if (result)
		*result = NULL;
	if (job->pid < 0)
		return -1;
	struct buf out = BUF_INIT;
	if (job->in_fd >= 0)
		pump(job->in_fd, ctx->stdin_data, ctx->stdin_len, job->out_fd, &out);
	else
		pump(-1, NULL, 0, job->out_fd, &out);
	close(job->out_fd);
	job->out_fd = -1;
	int status;
	while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR)
		;
	job->pid = -1;
	cleanup_json json_t *j = out.len ? json_loadb(out.data, out.len, 0, NULL) : NULL;
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok) {
		const char *msg = j ? json_string_value(json_object_get(j, "msg")) : NULL;
		if (msg) {
			json_int_t code = json_integer_value(json_object_get(j, "code"));
			const char *details = json_string_value(json_object_get(j, "details"));
			cni_fail(ctx, err, code ? (int)code : CNI_ERR_INTERNAL, details, "%s", msg);
		} else if (out.len) {
			cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "netplugin failed: \"%s\"",
				 buf_str(&out));
		} else {
			cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
				 "netplugin failed with no error message: exit status %d",
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		}
		buf_free(&out);
		return -1;
	}
	if (result) {
		if (!j) {
			cni_fail(ctx, err, CNI_ERR_DECODE, NULL, "failed to decode %s result: %s",
				 job->type, buf_str(&out));
			buf_free(&out);
			return -1;
		}
		*result = steal_pointer(&j);
	}
	buf_free(&out);
	return 0;
}

int cni_delegate(struct cni_ctx *ctx, const char *type, const char *command, json_t **result,
		 struct mk_err **err)
{
	struct cni_job job;
	if (result)
		*result = NULL;
	if (cni_delegate_start(ctx, type, command, &job, err) < 0)
		return -1;
	return cni_delegate_finish(ctx, &job, result, err);
}

/* ---- CNI_ARGS ---- */

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "t")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "f")) {
		*out = false;
		return 0;
	}
	return -1;
}

int cni_args_parse(struct cni_ctx *ctx, const char *const *known, json_t **out,
		   struct mk_err **err)
{
	*out = json_object();
	if (!*ctx->args)
		return 0;
	cleanup_free char *copy = xstrdup(ctx->args);
	bool ignore_unknown = false;
	json_t *unknown = json_array();
	char *save = NULL;
	int rc = 0;
	for (char *pair = strtok_r(copy, ";", &save); pair; pair = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(pair, '=');
		if (!eq || strchr(eq + 1, '=')) {
			rc = cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "ARGS: invalid pair \"%s\"",
				      pair);
			break;
		}
		*eq = 0;
		const char *k = pair, *v = eq + 1;
		if (!strcmp(k, "IgnoreUnknown")) {
			if (parse_bool(v, &ignore_unknown) < 0) {
				rc = cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
					      "ARGS: error parsing value of pair \"%s=%s\": boolean "
					      "unmarshal error: invalid input %s",
					      k, v, v);
				break;
			}
			continue;
		}
		bool is_known = false;
		for (int i = 0; known && known[i]; i++)
			if (!strcmp(known[i], k))
				is_known = true;
		if (is_known)
			json_object_set_new(*out, k, json_string(v));
		else
			json_array_append_new(unknown, json_sprintf("%s=%s", k, v));
	}
	if (rc == 0 && json_array_size(unknown) && !ignore_unknown) {
		struct buf b = BUF_INIT;
		buf_append_char(&b, '[');
		for (size_t i = 0; i < json_array_size(unknown); i++)
			buf_printf(&b, "%s\"%s\"", i ? " " : "",
				   json_string_value(json_array_get(unknown, i)));
		buf_append_char(&b, ']');
		rc = cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "ARGS: unknown args %s", buf_str(&b));
		buf_free(&b);
	}
	json_decref(unknown);
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}
