#include "skel.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

extern char **environ;

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

static int read_stdin(struct cni_ctx *ctx)
{
	ctx->stdin_data = fs_read_fd(STDIN_FILENO, "stdin", SIZE_MAX, &ctx->stdin_len, NULL);
	return ctx->stdin_data ? 0 : -1;
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

/* The verbs: what each needs from the environment and the config version
 * it requires. */
struct verb {
	const char *name;
	size_t fn; /* offset of the handler in struct cni_plugin */
	bool per_container, need_netns, need_path;
	const char *min_version; /* NULL: any supported */
};

static const struct verb verbs[] = {
	{"ADD", offsetof(struct cni_plugin, add), true, true, true, NULL},
	{"DEL", offsetof(struct cni_plugin, del), true, false, true, NULL},
	{"CHECK", offsetof(struct cni_plugin, check), true, true, true, "0.4.0"},
	{"GC", offsetof(struct cni_plugin, gc), false, false, true, "1.1.0"},
	{"STATUS", offsetof(struct cni_plugin, status), false, false, true, "1.1.0"},
};

static const struct verb *verb_find(const char *cmd)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, cmd))
			return &verbs[i];
	return NULL;
}

/* Required variables, in the reference's order; an exit status, or -1 when
 * all are there. */
static int check_env(const struct cni_ctx *ctx, const struct verb *v)
{
	struct buf missing = BUF_INIT;
	struct {
		const char *name, *val;
		bool need;
	} vars[] = {
		{"CNI_CONTAINERID", ctx->container_id, v && v->per_container},
		{"CNI_NETNS", ctx->netns, v && v->need_netns},
		{"CNI_IFNAME", ctx->ifname, v && v->per_container},
		{"CNI_PATH", ctx->path, v && v->need_path},
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (vars[i].need && !*vars[i].val)
			buf_printf(&missing, "%s%s", missing.len ? "," : "", vars[i].name);
	}
	if (!missing.len)
		return -1;
	cleanup_free char *m = xasprintf("required env variables [%s] missing", buf_str(&missing));
	buf_free(&missing);
	return print_error(CNI_ERR_INVALID_ENV, m, NULL);
}

/* The config and the per-container variables, in the reference's order;
 * an exit status, or -1 when the verb may run. */
static int check_conf(struct cni_ctx *ctx, const struct verb *v)
{
	json_error_t jerr;
	ctx->conf = json_loadb(ctx->stdin_data, ctx->stdin_len, 0, &jerr);
	if (!ctx->conf || !json_is_object(ctx->conf)) {
		cleanup_free char *m =
			xasprintf("error unmarshall network config: %s",
				  ctx->conf ? "network config is not an object" : jerr.text);
		return print_error(CNI_ERR_DECODE, m, NULL);
	}
	const char *name = json_string_value(json_object_get(ctx->conf, "name"));
	if (!name || !*name)
		return print_error(CNI_ERR_INVALID_CONFIG, "missing network name", NULL);
	if (!cni_name_valid(name))
		return print_error(CNI_ERR_INVALID_CONFIG,
				   "invalid characters found in network name", name);
	json_t *ver = json_object_get(ctx->conf, "cniVersion");
	if (ver && !json_is_string(ver))
		return print_error(CNI_ERR_DECODE,
				   "error unmarshall network config: cniVersion is not a string",
				   NULL);
	ctx->version = ver && *json_string_value(ver) ? json_string_value(ver) : "0.1.0";
	if (!v || v->per_container) {
		if (!*ctx->container_id)
			return print_error(CNI_ERR_UNKNOWN_CONTAINER, "missing containerID", NULL);
		if (!cni_name_valid(ctx->container_id))
			return print_error(CNI_ERR_INVALID_ENV, "invalid characters in containerID",
					   ctx->container_id);
		const char *details;
		const char *why = cni_ifname_check(ctx->ifname, &details);
		if (why)
			return print_error(CNI_ERR_INVALID_ENV, why, details);
	}
	if (!v) {
		cleanup_free char *m = xasprintf("unknown CNI_COMMAND: %s", ctx->command);
		return print_error(CNI_ERR_INVALID_ENV, m, NULL);
	}
	if (!cni_version_supported(ctx->version)) {
		cleanup_free char *list = supported_list_go();
		cleanup_free char *d =
			xasprintf("config is \"%s\", plugin supports %s", ctx->version, list);
		return print_error(CNI_ERR_INCOMPATIBLE, "incompatible CNI versions", d);
	}
	if (v->min_version && cni_version_cmp(ctx->version, v->min_version) < 0) {
		cleanup_free char *m = xasprintf("config version does not allow %s", v->name);
		return print_error(CNI_ERR_INCOMPATIBLE, m, NULL);
	}
	return -1;
}

static char **environ_copy(void)
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(environ[i]);
	return v;
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
	bool is_version = !strcmp(ctx.command, "VERSION");
	const struct verb *v = verb_find(ctx.command);
	int rc = check_env(&ctx, v);
	if (rc >= 0)
		return rc;
	if (is_version) {
		print_versions();
		return 0;
	}
	if (read_stdin(&ctx) < 0)
		return print_error(CNI_ERR_IO, "error reading from stdin", strerror(errno));
	rc = check_conf(&ctx, v);
	if (rc < 0) {
		cni_verb_fn fn = *(const cni_verb_fn *)((const char *)p + v->fn);
		struct mk_err *err = NULL;
		ctx.env = environ_copy();
		rc = 0;
		if (fn && fn(&ctx, &err) < 0)
			rc = print_error(ctx.err_code ? ctx.err_code : CNI_ERR_INTERNAL,
					 err ? mk_err_msg(err) : "unknown error", ctx.err_details);
		mk_err_free(err);
	}
	json_decref(ctx.conf);
	free(ctx.stdin_data);
	free(ctx.err_details);
	for (char **e = ctx.env; e && *e; e++)
		free(*e);
	free(ctx.env);
	return rc;
}

/* ---- delegation ---- */

/* The plugin's own environment with CNI_COMMAND set to command: a delegate
 * sees exactly what the plugin saw otherwise. New array (free each string
 * and the array). */
static char **delegate_env(const struct cni_ctx *ctx, const char *command)
{
	size_t n = 0;
	while (ctx->env && ctx->env[n])
		n++;
	char **v = xcalloc(n + 2, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(ctx->env[i], "CNI_COMMAND=", 12) != 0)
			v[k++] = xstrdup(ctx->env[i]);
	v[k] = xasprintf("CNI_COMMAND=%s", command);
	return v;
}

/* CNI_PATH's directories (empty entries skipped). New array. */
static char **path_dirs(const char *path)
{
	cleanup_free char *copy = xstrdup(path);
	char **v = xcalloc(1, sizeof(*v));
	size_t n = 0;
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		v = xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = xstrdup(d);
		v[n] = NULL;
	}
	return v;
}

/* The delegate's error, as it reported it, becomes ours. */
static int delegate_fail(struct cni_ctx *ctx, struct cni_plugin_err *pe, struct mk_err **err)
{
	cni_fail(ctx, err, pe->code ? pe->code : CNI_ERR_INTERNAL, pe->details, "%s",
		 pe->msg ? pe->msg : "delegate failed");
	cni_plugin_err_clear(pe);
	return -1;
}

int cni_delegate_start(struct cni_ctx *ctx, const char *type, const char *command,
		       struct cni_job *job, struct mk_err **err)
{
	job->job = NULL;
	char **env = delegate_env(ctx, command);
	char **dirs = path_dirs(ctx->path);
	struct cni_exec_req req = {
		.type = type,
		.bin_dirs = (const char *const *)dirs,
		.env = (const char *const *)env,
		.stdin_data = ctx->stdin_data,
		.stdin_len = ctx->stdin_len,
		.want_result = !strcmp(command, "ADD"),
		.delegate = true,
	};
	struct cni_plugin_err pe = {0};
	struct mk_err *e = NULL;
	job->job = cni_exec_start(&req, &pe, &e);
	strv_free(env);
	strv_free(dirs);
	mk_err_free(e);
	if (!job->job)
		return delegate_fail(ctx, &pe, err);
	return 0;
}

int cni_delegate_finish(struct cni_ctx *ctx, struct cni_job *job, json_t **result,
			struct mk_err **err)
{
	if (result)
		*result = NULL;
	if (!job->job)
		return -1;
	struct cni_plugin_err pe = {0};
	struct mk_err *e = NULL;
	json_t *r = cni_exec_finish(job->job, &pe, &e);
	job->job = NULL;
	mk_err_free(e);
	if (!r)
		return delegate_fail(ctx, &pe, err);
	if (result && !json_is_null(r))
		*result = r;
	else
		json_decref(r);
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

/* ---- GC ---- */

int cni_gc_valid_attachments(struct cni_ctx *ctx, const json_t **valid, struct mk_err **err)
{
	const char *key = "cni.dev/valid-attachments";
	json_t *v = json_object_get(ctx->conf, key);
	if (!v) {
		key = "cni.dev/attachments";
		v = json_object_get(ctx->conf, key);
	}
	*valid = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return cni_fail(ctx, err, CNI_ERR_DECODE, NULL,
				"invalid %s: a list of {\"containerID\", \"ifname\"} was expected, "
				"not %s",
				key, json_is_object(v) ? "an object" : "a scalar");
	size_t i;
	json_t *a;
	json_array_foreach(v, i, a)
	{
		json_t *ifn = json_object_get(a, "ifname");
		if (!json_is_object(a))
			return cni_fail(ctx, err, CNI_ERR_DECODE, NULL,
					"invalid %s: element %zu is not an object", key, i);
		if (!json_is_string(json_object_get(a, "containerID")))
			return cni_fail(ctx, err, CNI_ERR_DECODE, NULL,
					"invalid %s: element %zu has no string containerID", key,
					i);
		if (ifn && !json_is_string(ifn))
			return cni_fail(
				ctx, err, CNI_ERR_DECODE, NULL,
				"invalid %s: element %zu has an ifname that is not a string", key,
				i);
	}
	*valid = v;
	return 0;
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

int cni_args_parse(struct cni_ctx *ctx, const char *const *known, json_t **out, struct mk_err **err)
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
				rc = cni_fail(
					ctx, err, CNI_ERR_INTERNAL, NULL,
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
		rc = cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "ARGS: unknown args %s",
			      buf_str(&b));
		buf_free(&b);
	}
	json_decref(unknown);
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}
