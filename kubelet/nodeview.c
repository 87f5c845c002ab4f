#include "nodeview.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "timefmt.h"
#include "xalloc.h"
#include "kubelet/runtime.h"

static json_t *read_json(const char *path)
{
	cleanup_free char *text = fs_read_file(path, 4 << 20, NULL, NULL);
	return text ? json_loads(text, 0, NULL) : NULL;
}

static int by_created_desc(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *cx = json_string_value(json_object_get(x, "createdAt")) ?: "";
	const char *cy = json_string_value(json_object_get(y, "createdAt")) ?: "";
	int c = strcmp(cy, cx);
	if (c)
		return c;
	return strcmp(json_string_value(json_object_get(y, "id")) ?: "",
		      json_string_value(json_object_get(x, "id")) ?: "");
}

static json_t *sorted(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), by_created_desc);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, v[i]);
	free(v);
	json_decref(arr);
	return out;
}

static void add_state(struct runtime *rt, json_t *rec)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	struct runtime_state st = {0};
	const char *name = "Unknown";
	if (rt && id && runtime_state(rt, id, &st, NULL) == 0) {
		switch (st.status) {
		case RUNTIME_RUNNING:
			name = "Running";
			break;
		case RUNTIME_CREATED:
			name = "Created";
			break;
		case RUNTIME_EXITED:
			name = "Exited";
			json_object_set_new(rec, "exitCode", json_integer(st.exit_code));
			break;
		case RUNTIME_UNKNOWN:
			break;
		}
		if (st.pid)
			json_object_set_new(rec, "pid", json_integer(st.pid));
		if (st.started_at)
			json_object_set_new(rec, "startedAt", json_string(st.started_at));
		if (st.finished_at)
			json_object_set_new(rec, "finishedAt", json_string(st.finished_at));
		if (st.oom_killed)
			json_object_set_new(rec, "reason", json_string("OOMKilled"));
	}
	runtime_state_clear(&st);
	json_object_set_new(rec, "state", json_string(name));
}

static bool visible(const char *name, void *arg)
{
	(void)arg;
	return name[0] != '.';
}

static bool container_dir(const char *name, void *arg)
{
	(void)arg;
	return name[0] != '.' && strncmp(name, "k8s_POD_", 8);
}

json_t *nodeview_containers(const char *root_dir, struct runtime *rt, bool all, struct mk_err **err)
{
	(void)err;
	json_t *out = json_array();
	cleanup_free char *pods_dir = xasprintf("%s/pods", root_dir);
	cleanup_strv char **uids = fs_list_dir(pods_dir, visible, NULL);
	for (char **u = uids; u && *u; u++) {
		cleanup_free char *cdir = xasprintf("%s/%s/containers", pods_dir, *u);
		cleanup_strv char **ids = fs_list_dir(cdir, container_dir, NULL);
		for (char **c = ids; c && *c; c++) {
			cleanup_free char *rp = xasprintf("%s/%s/record.json", cdir, *c);
			json_t *rec = read_json(rp);
			if (!rec)
				continue;
			add_state(rt, rec);
			const char *state = json_string_value(json_object_get(rec, "state"));
			if (!all && strcmp(state, "Running") && strcmp(state, "Created")) {
				json_decref(rec);
				continue;
			}
			json_array_append_new(out, rec);
		}
	}
	return sorted(out);
}

json_t *nodeview_pods(const char *root_dir, struct runtime *rt, struct mk_err **err)
{
	(void)err;
	json_t *out = json_array();
	cleanup_free char *pods_dir = xasprintf("%s/pods", root_dir);
	cleanup_strv char **uids = fs_list_dir(pods_dir, visible, NULL);
	for (char **u = uids; u && *u; u++) {
		cleanup_free char *path = xasprintf("%s/%s/sandbox.json", pods_dir, *u);
		json_t *rec = read_json(path);
		if (!rec)
			continue;
		add_state(rt, rec);
		const char *state = json_string_value(json_object_get(rec, "state"));
		json_object_set_new(rec, "state",
				    json_string(!strcmp(state, "Running") ? "Ready" : "NotReady"));
		json_array_append_new(out, rec);
	}
	return sorted(out);
}

const char *nodeview_ago(time_t then, time_t now, char *buf)
{
	double secs = difftime(now, then);
	long s = (long)secs;
	if (s < 1)
		snprintf(buf, 64, "Less than a second ago");
	else if (s == 1)
		snprintf(buf, 64, "1 second ago");
	else if (s < 60)
		snprintf(buf, 64, "%ld seconds ago", s);
	else if (s / 60 == 1)
		snprintf(buf, 64, "About a minute ago");
	else if (s / 60 < 60)
		snprintf(buf, 64, "%ld minutes ago", s / 60);
	else {
		long h = lround(secs / 3600.0);
		if (h == 1)
			snprintf(buf, 64, "About an hour ago");
		else if (h < 48)
			snprintf(buf, 64, "%ld hours ago", h);
		else if (h < 24 * 7 * 2)
			snprintf(buf, 64, "%ld days ago", h / 24);
		else if (h < 24 * 30 * 2)
			snprintf(buf, 64, "%ld weeks ago", h / 24 / 7);
		else if (h < 24 * 365 * 2)
			snprintf(buf, 64, "%ld months ago", h / 24 / 30);
		else
			snprintf(buf, 64, "%ld years ago", (long)(secs / 3600) / 24 / 365);
	}
	return buf;
}

/* crictl's tabwriter: columns at least 20 wide, 3 spaces of padding. */
static void print_table(FILE *out, json_t *rows)
{
	size_t ncol = json_array_size(json_array_get(rows, 0));
	size_t *w = xcalloc(ncol ? ncol : 1, sizeof(*w));
	size_t i, j;
	json_t *r, *c;
	json_array_foreach(rows, i, r) json_array_foreach(r, j, c)
	{
		size_t len = strlen(json_string_value(c));
		if (len + 3 > w[j])
			w[j] = len + 3;
	}
	for (j = 0; j < ncol; j++)
		if (w[j] < 20)
			w[j] = 20;
	json_array_foreach(rows, i, r)
	{
		cleanup_buf struct buf line = BUF_INIT;
		json_array_foreach(r, j, c)
		{
			const char *s = json_string_value(c);
			if (j + 1 == ncol)
				buf_append_str(&line, s);
			else
				buf_printf(&line, "%-*s", (int)w[j], s);
		}
		fprintf(out, "%s\n", buf_str(&line));
	}
	free(w);
}

static time_t when(const json_t *rec, const char *key)
{
	time_t t = 0;
	const char *s = json_string_value(json_object_get(rec, key));
	if (s)
		time_parse_rfc3339(s, &t, NULL);
	return t;
}

void nodeview_print_ps(FILE *out, const json_t *containers, time_t now)
{
	json_t *rows = json_pack("[[s,s,s,s,s,s,s,s]]", "CONTAINER", "IMAGE", "CREATED", "STATE",
				 "NAME", "ATTEMPT", "POD ID", "POD");
	size_t i;
	json_t *c;
	json_array_foreach(containers, i, c)
	{
		char ago[64], attempt[16];
		snprintf(attempt, sizeof(attempt), "%lld",
			 (long long)json_integer_value(json_object_get(c, "attempt")));
		const char *image = json_string_value(json_object_get(c, "imageRef"));
		if (!image || !*image)
			image = json_string_value(json_object_get(c, "image")) ?: "";
		json_array_append_new(
			rows,
			json_pack("[s,s,s,s,s,s,s,s]", json_string_value(json_object_get(c, "id")),
				  image, nodeview_ago(when(c, "createdAt"), now, ago),
				  json_string_value(json_object_get(c, "state")),
				  json_string_value(json_object_get(c, "name")), attempt,
				  json_string_value(json_object_get(c, "sandboxID")) ?: "",
				  json_string_value(json_object_get(c, "podName")) ?: ""));
	}
	print_table(out, rows);
	json_decref(rows);
}

void nodeview_print_pods(FILE *out, const json_t *pods, time_t now)
{
	json_t *rows = json_pack("[[s,s,s,s,s,s,s]]", "POD ID", "CREATED", "STATE", "NAME",
				 "NAMESPACE", "ATTEMPT", "RUNTIME");
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
	{
		char ago[64], attempt[16];
		snprintf(attempt, sizeof(attempt), "%lld",
			 (long long)json_integer_value(json_object_get(p, "attempt")));
		json_array_append_new(rows,
				      json_pack("[s,s,s,s,s,s,s]",
						json_string_value(json_object_get(p, "id")),
						nodeview_ago(when(p, "createdAt"), now, ago),
						json_string_value(json_object_get(p, "state")),
						json_string_value(json_object_get(p, "name")),
						json_string_value(json_object_get(p, "namespace")),
						attempt, "(default)"));
	}
	print_table(out, rows);
	json_decref(rows);
}

const json_t *nodeview_find(const json_t *containers, const char *id, struct mk_err **err)
{
	const json_t *found = NULL;
	size_t n = 0, i;
	json_t *c;
	size_t len = strlen(id);
	json_array_foreach(containers, i, c)
	{
		const char *cid = json_string_value(json_object_get(c, "id"));
		if (!cid)
			continue;
		if (!strcmp(cid, id))
			return c;
		if (!strncmp(cid, id, len)) {
			found = c;
			n++;
		}
	}
	if (n == 1)
		return found;
	if (n > 1)
		return mk_err_set(err, MK_EINVAL, "container ID \"%s\" is ambiguous", id), NULL;
	return mk_err_set(err, MK_ENOTFOUND, "container \"%s\" not found", id), NULL;
}

int nodeview_print_log(const char *path, long tail, FILE *out, FILE *errout, struct mk_err **err)
{
	size_t len = 0;
	cleanup_free char *text = fs_read_file(path, (size_t)1 << 31, &len, err);
	if (!text)
		return -1;
	const char *start = text;
	if (tail >= 0) {
		long lines = 0;
		for (const char *p = text + len; p > text; p--)
			if (p[-1] == '\n' && p != text + len && ++lines == tail) {
				start = p;
				break;
			}
		if (tail == 0)
			start = text + len;
	}
	const char *p = start;
	while (p < text + len) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		const char *end = nl ? nl : text + len;
		const char *f[3] = {NULL, NULL, NULL};
		const char *q = p;
		for (int i = 0; i < 3 && q < end; i++) {
			const char *sp = memchr(q, ' ', (size_t)(end - q));
			f[i] = q;
			q = sp ? sp + 1 : end;
		}
		bool is_err = f[1] && !strncmp(f[1], "stderr ", 7);
		bool partial = f[2] && f[2][0] == 'P';
		FILE *to = is_err ? errout : out;
		fwrite(q, 1, (size_t)(end - q), to);
		if (!partial)
			fputc('\n', to);
		p = nl ? nl + 1 : end;
	}
	return 0;
}
