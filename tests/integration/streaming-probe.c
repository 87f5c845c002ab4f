/* streaming-probe: serves kubelet/streaming over lib/httpd for
 * tests/integration/kubelet-streaming.bats, for one pod whose containers
 * run under kubelet/runtime (made by runtime-probe):
 *
 *   streaming-probe --pod POD.json --netns PATH --logs DIR --root DIR \
 *                   --state-dir DIR [--monitor PATH]
 *
 * prints "port N" once it listens on 127.0.0.1 and serves until SIGTERM:
 *   - the kubelet's own paths: /containerLogs/, /exec/, /attach/, /portForward/
 *   - just enough of the API server's paths for the real kubectl to reach
 *     the same handlers: /version, discovery, GET of the pod, and its log,
 *     exec, attach and portforward subresources.
 * The pod's status is made from the runtime's state on every request, as a
 * kubelet would report it: container c of pod web runs as
 * k8s_c_<pod>_<ns>_<uid>_0 and logs to DIR/c.log. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "httpd.h"
#include "json.h"
#include "xalloc.h"
#include "kubelet/runtime.h"
#include "kubelet/streaming.h"

struct probe {
	const char *pod_file, *netns, *logs;
	struct runtime *rt;
};

static char *ctr_id(const json_t *pod, const char *name)
{
	const json_t *md = json_object_get(pod, "metadata");
	return xasprintf("k8s_%s_%s_%s_%s_0", name, json_string_value(json_object_get(md, "name")),
			 json_string_value(json_object_get(md, "namespace")),
			 json_string_value(json_object_get(md, "uid")));
}

/* The pod file with kind, apiVersion and a status from the runtime. */
static json_t *load_pod(struct probe *p)
{
	json_error_t je;
	json_t *pod = json_load_file(p->pod_file, 0, &je);
	if (!pod)
		return NULL;
	json_object_set_new(pod, "kind", json_string("Pod"));
	json_object_set_new(pod, "apiVersion", json_string("v1"));
	json_t *statuses = json_array();
	size_t i;
	json_t *c;
	bool all_running = true;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		cleanup_free char *id = ctr_id(pod, name);
		struct runtime_state st;
		json_t *state;
		cleanup_free char *cid = xasprintf("runc://%s", id);
		if (runtime_state(p->rt, id, &st, NULL) < 0 || st.status == RUNTIME_UNKNOWN ||
		    st.status == RUNTIME_CREATED) {
			state = json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating");
			all_running = false;
			json_array_append_new(statuses,
					      json_pack("{s:s,s:o}", "name", name, "state", state));
			runtime_state_clear(&st);
			continue;
		}
		if (st.status == RUNTIME_RUNNING) {
			state = json_pack("{s:{s:s}}", "running", "startedAt",
					  st.started_at ? st.started_at : "");
		} else {
			state = json_pack("{s:{s:i,s:s,s:s}}", "terminated", "exitCode",
					  st.exit_code, "reason",
					  st.exit_code ? "Error" : "Completed", "containerID", cid);
			all_running = false;
		}
		json_array_append_new(statuses, json_pack("{s:s,s:s,s:o}", "name", name,
							  "containerID", cid, "state", state));
		runtime_state_clear(&st);
	}
	json_object_set_new(pod, "status",
			    json_pack("{s:s,s:o}", "phase", all_running ? "Running" : "Pending",
				      "containerStatuses", statuses));
	return pod;
}

static int ops_pod(void *arg, const char *ns, const char *name, json_t **pod, char **netns,
		   struct mk_err **err)
{
	struct probe *p = arg;
	json_t *j = load_pod(p);
	const json_t *md = json_object_get(j, "metadata");
	const char *n = json_string_value(json_object_get(md, "name"));
	const char *s = json_string_value(json_object_get(md, "namespace"));
	if (!j || !n || !s || strcmp(n, name) != 0 || strcmp(s, ns) != 0) {
		json_decref(j);
		return mk_err_set(err, MK_ENOTFOUND, "pod %s/%s not found", ns, name);
	}
	*pod = j;
	*netns = xstrdup(p->netns);
	return 0;
}

static char *ops_log_path(void *arg, const char *ns, const char *name, const char *id)
{
	(void)ns;
	(void)name;
	struct probe *p = arg;
	/* k8s_<container>_... */
	const char *s = id + 4, *e = strchr(s, '_');
	if (strncmp(id, "k8s_", 4) != 0 || !e)
		return NULL;
	return xasprintf("%s/%.*s.log", p->logs, (int)(e - s), s);
}

static bool ops_running(void *arg, const char *id)
{
	struct probe *p = arg;
	struct runtime_state st;
	bool running = runtime_state(p->rt, id, &st, NULL) == 0 && st.status == RUNTIME_RUNNING;
	runtime_state_clear(&st);
	return running;
}

/* ---- the API server's paths ---- */

static void version(struct httpd_req *rq, void *arg)
{
	(void)arg;
	httpd_reply_json(rq, 200,
			 json_pack("{s:s,s:s,s:s,s:s}", "major", "1", "minor", "32", "gitVersion",
				   "v1.32.4", "platform", "linux/amd64"));
}

static void api(struct httpd_req *rq, void *arg)
{
	(void)arg;
	const char *path = httpd_req_path(rq);
	if (strcmp(path, "/api") == 0) {
		httpd_reply_json(rq, 200,
				 json_pack("{s:s,s:[s]}", "kind", "APIVersions", "versions", "v1"));
	} else if (strcmp(path, "/apis") == 0) {
		httpd_reply_json(rq, 200,
				 json_pack("{s:s,s:s,s:[]}", "kind", "APIGroupList", "apiVersion",
					   "v1", "groups"));
	} else {
		httpd_reply_json(
			rq, 200,
			json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:b,s:s,s:[s,s],s:[s]},"
				  "{s:s,s:s,s:b,s:s,s:[s]},{s:s,s:s,s:b,s:s,s:[s,s]},"
				  "{s:s,s:s,s:b,s:s,s:[s,s]},{s:s,s:s,s:b,s:s,s:[s,s]}]}",
				  "kind", "APIResourceList", "apiVersion", "v1", "groupVersion",
				  "v1", "resources", "name", "pods", "singularName", "pod",
				  "namespaced", 1, "kind", "Pod", "verbs", "get", "list",
				  "shortNames", "po", "name", "pods/log", "singularName", "",
				  "namespaced", 1, "kind", "Pod", "verbs", "get", "name",
				  "pods/exec", "singularName", "", "namespaced", 1, "kind",
				  "PodExecOptions", "verbs", "create", "get", "name", "pods/attach",
				  "singularName", "", "namespaced", 1, "kind", "PodAttachOptions",
				  "verbs", "create", "get", "name", "pods/portforward",
				  "singularName", "", "namespaced", 1, "kind",
				  "PodPortForwardOptions", "verbs", "create", "get"));
	}
}

struct routes {
	struct probe *p;
	struct streaming *s;
};

static void not_found(struct httpd_req *rq, const char *name)
{
	httpd_reply_json(rq, 404,
			 json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:{s:s,s:s},s:i}", "kind", "Status",
				   "apiVersion", "v1", "metadata", "status", "Failure", "message",
				   "pods not found", "reason", "NotFound", "details", "name", name,
				   "kind", "pods", "code", 404));
}

/* /api/v1/namespaces/<ns>/pods/<name>[/<sub>] */
static void namespaced(struct httpd_req *rq, void *arg)
{
	struct routes *r = arg;
	char ns[256], name[256], sub[64] = "";
	const char *path = httpd_req_path(rq);
	if (sscanf(path, "/api/v1/namespaces/%255[^/]/pods/%255[^/]/%63s", ns, name, sub) < 2) {
		not_found(rq, "");
		return;
	}
	const char *ctr = httpd_req_query(rq, "container");
	cleanup_json json_t *pod = load_pod(r->p);
	if (!ctr) {
		json_t *first = json_array_get(
			json_object_get(json_object_get(pod, "spec"), "containers"), 0);
		ctr = json_string_value(json_object_get(first, "name"));
	}
	if (!*sub) {
		const json_t *md = json_object_get(pod, "metadata");
		const char *n = json_string_value(json_object_get(md, "name"));
		if (!n || strcmp(n, name) != 0) {
			not_found(rq, name);
			return;
		}
		httpd_reply_json(rq, 200, json_incref(pod));
	} else if (strcmp(sub, "log") == 0) {
		streaming_serve_logs(r->s, rq, ns, name, ctr ? ctr : "");
	} else if (strcmp(sub, "exec") == 0 || strcmp(sub, "attach") == 0) {
		streaming_serve_remotecommand(r->s, rq, ns, name, NULL, ctr ? ctr : "",
					      strcmp(sub, "attach") == 0);
	} else if (strcmp(sub, "portforward") == 0) {
		streaming_serve_portforward(r->s, rq, ns, name, NULL);
	} else {
		not_found(rq, name);
	}
}

int main(int argc, char **argv)
{
	struct probe p = {0};
	struct runtime_opts ro = {0};
	static const struct option lo[] = {
		{"pod", 1, NULL, 'p'},	{"netns", 1, NULL, 'n'},     {"logs", 1, NULL, 'l'},
		{"root", 1, NULL, 'r'}, {"state-dir", 1, NULL, 's'}, {"monitor", 1, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			p.pod_file = optarg;
			break;
		case 'n':
			p.netns = optarg;
			break;
		case 'l':
			p.logs = optarg;
			break;
		case 'r':
			ro.root = optarg;
			break;
		case 's':
			ro.state_dir = optarg;
			break;
		case 'm':
			ro.monitor = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!p.pod_file || !p.netns || !p.logs) {
		fprintf(stderr, "usage: streaming-probe --pod F --netns P --logs D [--root R] "
				"[--state-dir S] [--monitor M]\n");
		return 2;
	}
	/* before any thread starts, so that all inherit the mask */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct mk_err *err = NULL;
	p.rt = runtime_new(&ro, &err);
	if (!p.rt) {
		fprintf(stderr, "runtime: %s\n", mk_err_msg(err));
		return 1;
	}
	struct streaming_config sc = {
		.rt = p.rt,
		.ops = {.pod = ops_pod,
			.log_path = ops_log_path,
			.running = ops_running,
			.arg = &p},
	};
	struct streaming *s = streaming_new(&sc, &err);
	if (!s) {
		fprintf(stderr, "streaming: %s\n", mk_err_msg(err));
		return 1;
	}
	struct routes r = {.p = &p, .s = s};
	struct httpd_config hc = {.name = "streaming-probe", .threads = 4};
	struct httpd *h = httpd_new(&hc, &err);
	if (!h) {
		fprintf(stderr, "httpd: %s\n", mk_err_msg(err));
		return 1;
	}
	httpd_route(h, "GET", "/containerLogs/", streaming_handle_logs, s);
	httpd_route(h, NULL, "/exec/", streaming_handle_exec, s);
	httpd_route(h, NULL, "/attach/", streaming_handle_attach, s);
	httpd_route(h, NULL, "/portForward/", streaming_handle_portforward, s);
	httpd_route(h, "GET", "/version", version, NULL);
	httpd_route(h, "GET", "/api", api, NULL);
	httpd_route(h, "GET", "/apis", api, NULL);
	httpd_route(h, "GET", "/api/v1", api, NULL);
	httpd_route(h, NULL, "/api/v1/namespaces/", namespaced, &r);
	struct httpd_listener *l = httpd_listen(h, "127.0.0.1", 0, &err);
	if (!l) {
		fprintf(stderr, "listen: %s\n", mk_err_msg(err));
		return 1;
	}
	printf("port %d\n", httpd_listener_port(l));
	fflush(stdout);

	int sig;
	sigwait(&set, &sig);
	httpd_free(h);
	streaming_free(s);
	runtime_free(p.rt);
	return 0;
}
