/* nodectl ps, pods, logs and inspect: the node's containers and pods as
 * crictl shows them, read from the kubelet's state on disk and the runtime,
 * so they work with the kubelet stopped. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "xalloc.h"
#include "kubelet/kconfig.h"
#include "kubelet/nodectl/nodectl-internal.h"
#include "kubelet/nodeview.h"
#include "kubelet/runtime.h"

static int fail(const char *what, struct mk_err *e)
{
	fprintf(stderr, "nodectl: %s%s%s\n", what, e ? ": " : "", e ? mk_err_msg(e) : "");
	mk_err_free(e);
	return 1;
}

/* The runtime the kubelet of root_dir uses; NULL (and states shown as
 * Unknown) when it cannot be opened, e.g. runc missing. */
static struct runtime *open_runtime(const struct globals *g)
{
	cleanup_free char *run = kconfig_run_dir(g->root_dir);
	cleanup_free char *rroot = xasprintf("%s/runc", run);
	cleanup_free char *state = xasprintf("%s/containers", run);
	struct runtime_opts o = {.root = rroot, .state_dir = state};
	cleanup_err struct mk_err *err = NULL;
	struct runtime *rt = runtime_new(&o, &err);
	if (!rt)
		fprintf(stderr, "nodectl: warning: %s; states are unknown\n", mk_err_msg(err));
	return rt;
}

static void print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(s ? s : "null");
	free(s);
}

/* -a, -q, -o json|table shared by ps and pods */
struct list_opts {
	bool all, quiet, json;
};

static int list_flags(int argc, char **argv, struct list_opts *o, bool allow_all)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"output", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, allow_all ? "aqo:" : "qo:", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->all = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				o->json = true;
			else if (strcmp(optarg, "table")) {
				fprintf(stderr, "nodectl: unsupported output format \"%s\"\n", optarg);
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nodectl: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	return 0;
}

int cmd_ps(const struct globals *g, int argc, char **argv)
{
	struct list_opts o = {0};
	if (list_flags(argc, argv, &o, true) < 0)
		return 2;
	struct runtime *rt = open_runtime(g);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *ctrs = nodeview_containers(g->root_dir, rt, o.all, &err);
	runtime_free(rt);
	if (!ctrs)
		return fail("listing containers", steal_pointer(&err));
	if (o.json)
		print_json(ctrs);
	else if (o.quiet) {
		size_t i;
		json_t *c;
		json_array_foreach(ctrs, i, c) puts(json_string_value(json_object_get(c, "id")));
	} else
		nodeview_print_ps(stdout, ctrs, time(NULL));
	return 0;
}

int cmd_pods(const struct globals *g, int argc, char **argv)
{
	struct list_opts o = {0};
	if (list_flags(argc, argv, &o, false) < 0)
		return 2;
	struct runtime *rt = open_runtime(g);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *pods = nodeview_pods(g->root_dir, rt, &err);
	runtime_free(rt);
	if (!pods)
		return fail("listing pods", steal_pointer(&err));
	if (o.json)
		print_json(pods);
	else if (o.quiet) {
		size_t i;
		json_t *p;
		json_array_foreach(pods, i, p) puts(json_string_value(json_object_get(p, "id")));
	} else
		nodeview_print_pods(stdout, pods, time(NULL));
	return 0;
}

/* The container argv[optind] names, from every container of the node. */
static json_t *find_container(const struct globals *g, const char *id, struct mk_err **err)
{
	struct runtime *rt = open_runtime(g);
	cleanup_json json_t *ctrs = nodeview_containers(g->root_dir, rt, true, err);
	runtime_free(rt);
	if (!ctrs)
		return NULL;
	const json_t *c = nodeview_find(ctrs, id, err);
	return c ? json_incref((json_t *)c) : NULL;
}

int cmd_logs(const struct globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"tail", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	long tail = -1;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 't')
			return 2;
		char *end;
		tail = strtol(optarg, &end, 10);
		if (*end || tail < -1) {
			fprintf(stderr, "nodectl: invalid --tail \"%s\"\n", optarg);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "nodectl: logs takes one container ID\n");
		return 2;
	}
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *ctr = find_container(g, argv[optind], &err);
	if (!ctr)
		return fail("logs", steal_pointer(&err));
	const char *path = json_string_value(json_object_get(ctr, "logPath"));
	if (!path)
		return fail("logs: the container has no log path", NULL);
	if (nodeview_print_log(path, tail, stdout, stderr, &err) < 0)
		return fail("logs", steal_pointer(&err));
	return 0;
}

int cmd_inspect(const struct globals *g, int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "nodectl: inspect takes one container ID\n");
		return 2;
	}
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *ctr = find_container(g, argv[1], &err);
	if (!ctr)
		return fail("inspect", steal_pointer(&err));
	/* crictl's shape: status, and info with the pid and the runtime spec */
	const char *id = json_string_value(json_object_get(ctr, "id"));
	const char *uid = json_string_value(json_object_get(ctr, "podUID"));
	cleanup_free char *cfg = xasprintf("%s/pods/%s/containers/%s/config.json", g->root_dir,
					   uid ? uid : "", id);
	cleanup_free char *spec_text = fs_read_file(cfg, 4 << 20, NULL, NULL);
	json_t *spec = spec_text ? json_loads(spec_text, 0, NULL) : NULL;
	json_t *status = json_pack(
		"{s:O, s:{s:O, s:O}, s:O, s:O, s:{s:O}, s:O, s:O}", "id",
		json_object_get(ctr, "id"), "metadata", "name", json_object_get(ctr, "name"),
		"attempt", json_object_get(ctr, "attempt"), "state", json_object_get(ctr, "state"),
		"createdAt", json_object_get(ctr, "createdAt"), "image", "image",
		json_object_get(ctr, "image"), "imageRef", json_object_get(ctr, "imageID"),
		"logPath", json_object_get(ctr, "logPath"));
	const char *keys[] = {"startedAt", "finishedAt", "exitCode", "reason"};
	for (size_t i = 0; i < 4; i++)
		if (json_object_get(ctr, keys[i]))
			json_object_set(status, keys[i], json_object_get(ctr, keys[i]));
	json_object_set_new(status, "labels",
			    json_pack("{s:O, s:O, s:O, s:O}", "io.kubernetes.container.name",
				      json_object_get(ctr, "name"), "io.kubernetes.pod.name",
				      json_object_get(ctr, "podName"), "io.kubernetes.pod.namespace",
				      json_object_get(ctr, "podNamespace"), "io.kubernetes.pod.uid",
				      json_object_get(ctr, "podUID")));
	json_t *info = json_pack("{s:O, s:O}", "sandboxID", json_object_get(ctr, "sandboxID") ?: json_null(),
				 "pid", json_object_get(ctr, "pid") ?: json_integer(0));
	if (spec)
		json_object_set_new(info, "runtimeSpec", spec);
	cleanup_json json_t *out = json_pack("{s:o, s:o}", "status", status, "info", info);
	print_json(out);
	return 0;
}
