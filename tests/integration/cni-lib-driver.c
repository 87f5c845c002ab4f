/* cni-lib-driver: runs lib/cni's list operations as a runtime would, for the
 * cni-lib suite.
 *
 *   cni-lib-driver [options] add|check|del|status
 *     --conf FILE|DIR   a .conf/.conflist file, or a directory (first usable)
 *     --bin DIR         a CNI_PATH directory (repeat for more, in order)
 *     --cache DIR       the result cache directory
 *     --netns PATH --id ID [--ifname NAME]   the attachment (default eth0)
 *     --arg K=V         a CNI_ARGS pair (repeat)
 *     --cap JSON        capability arguments ({"portMappings": [...]})
 *     --timeout MS      per plugin
 *     --env K=V         the plugins' base environment (repeat; default: PATH)
 *     --threads N       N calls at once from N threads; "%d" in --netns and
 *                       --id becomes the thread's number (0..N-1)
 *
 * Prints one JSON line per call: {"thread", "rc": 0, "result", "pod_ip"} or
 * {"thread", "rc": -1, "error", "code" (mk_err), "cni_code"}, then
 * {"unreaped": N}: children left unreaped (there must be none). Exits 0 when
 * every call succeeded, 1 when one failed, 2 on bad usage. SIGPIPE keeps its
 * default action: a plugin that does not read its stdin must not end us. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni.h"
#include "xalloc.h"

struct call {
	pthread_t thread;
	int index;
	const char *verb;
	const struct cni_netconf *nc;
	const struct cni_exec_opts *o;
	const char *netns_fmt, *id_fmt, *ifname;
	const char *const *args;
	const json_t *caps;
	char *line; /* the JSON line to print */
	int rc;
};

static char *fill(const char *fmt, int i)
{
	if (!fmt)
		return NULL;
	const char *p = strstr(fmt, "%d");
	if (!p)
		return xstrdup(fmt);
	return xasprintf("%.*s%d%s", (int)(p - fmt), fmt, i, p + 2);
}

static void *run(void *arg)
{
	struct call *c = arg;
	char *netns = fill(c->netns_fmt, c->index);
	char *id = fill(c->id_fmt, c->index);
	struct cni_runtime rt = {
		.container_id = id,
		.netns = netns,
		.ifname = c->ifname,
		.args = c->args,
		.capability_args = c->caps,
	};
	struct mk_err *err = NULL;
	json_t *res = NULL;
	if (!strcmp(c->verb, "add"))
		c->rc = cni_list_add(c->nc, &rt, c->o, &res, &err);
	else if (!strcmp(c->verb, "check"))
		c->rc = cni_list_check(c->nc, &rt, c->o, &err);
	else if (!strcmp(c->verb, "del"))
		c->rc = cni_list_del(c->nc, &rt, c->o, &err);
	else
		c->rc = cni_list_status(c->nc, c->o, &err);
	json_t *line = json_pack("{s:i,s:i}", "thread", c->index, "rc", c->rc);
	if (c->rc < 0) {
		json_object_set_new(line, "error", json_string(mk_err_msg(err)));
		json_object_set_new(line, "code", json_integer(mk_err_code(err)));
		json_object_set_new(line, "cni_code", json_integer(cni_err_code(err)));
	} else if (res) {
		char *ip = cni_result_pod_ip(res, 0);
		json_object_set_new(line, "result", res);
		json_object_set_new(line, "pod_ip", ip ? json_string(ip) : json_null());
		free(ip);
	}
	c->line = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	mk_err_free(err);
	free(netns);
	free(id);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: cni-lib-driver --conf FILE|DIR --bin DIR [--cache DIR] [--netns P] "
			"[--id ID] [--ifname N] [--arg K=V] [--cap JSON] [--timeout MS] "
			"[--env K=V] [--threads N] add|check|del|status\n");
	exit(2);
}

static void push(const char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *cache = NULL, *netns = NULL, *id = NULL, *ifname = "eth0";
	const char **bins = NULL, **args = NULL, **envs = NULL;
	size_t nbins = 0, nargs = 0, nenvs = 0;
	json_t *caps = NULL;
	long timeout = 0, threads = 1;
	int i;
	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		if (!strcmp(k, "--conf"))
			conf = v;
		else if (!strcmp(k, "--bin"))
			push(&bins, &nbins, v);
		else if (!strcmp(k, "--cache"))
			cache = v;
		else if (!strcmp(k, "--netns"))
			netns = v;
		else if (!strcmp(k, "--id"))
			id = v;
		else if (!strcmp(k, "--ifname"))
			ifname = v;
		else if (!strcmp(k, "--env"))
			push(&envs, &nenvs, v);
		else if (!strcmp(k, "--timeout"))
			timeout = strtol(v, NULL, 10);
		else if (!strcmp(k, "--threads"))
			threads = strtol(v, NULL, 10);
		else if (!strcmp(k, "--cap")) {
			caps = json_loads(v, 0, NULL);
			if (!caps)
				usage();
		} else if (!strcmp(k, "--arg")) {
			const char *eq = strchr(v, '=');
			if (!eq)
				usage();
			push(&args, &nargs, xstrndup(v, (size_t)(eq - v)));
			push(&args, &nargs, eq + 1);
		} else
			usage();
	}
	if (i != argc - 1 || !conf || threads < 1 || threads > 64)
		usage();
	const char *verb = argv[i];
	if (strcmp(verb, "add") && strcmp(verb, "check") && strcmp(verb, "del") &&
	    strcmp(verb, "status"))
		usage();
	if (!envs) {
		const char *path = getenv("PATH");
		push(&envs, &nenvs, xasprintf("PATH=%s", path ? path : "/usr/bin:/bin"));
	}

	struct mk_err *err = NULL;
	struct stat st;
	struct cni_netconf *nc = NULL;
	if (stat(conf, &st) == 0 && S_ISDIR(st.st_mode)) {
		nc = cni_netconf_load_dir(conf, &err);
	} else {
		FILE *f = fopen(conf, "re");
		char *buf = NULL;
		size_t n = 0, cap = 0, r;
		do {
			if (n == cap)
				buf = xrealloc(buf, cap = cap * 2 + 65536);
			r = f ? fread(buf + n, 1, cap - n, f) : 0;
			n += r;
		} while (r > 0);
		if (f)
			fclose(f);
		nc = f ? cni_netconf_parse(buf, n, conf, &err) : NULL;
		if (!f)
			mk_err_set(&err, MK_ENOTFOUND, "%s: %s", conf, strerror(errno));
		free(buf);
	}
	if (!nc) {
		json_t *line = json_pack("{s:i,s:s,s:i}", "rc", -1, "error", mk_err_msg(err),
					 "code", mk_err_code(err));
		char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		return 1;
	}
	struct cni_exec_opts o = {
		.bin_dirs = bins,
		.cache_dir = cache,
		.timeout_ms = timeout,
		.base_env = envs,
	};
	struct call *calls = xcalloc((size_t)threads, sizeof(*calls));
	for (long t = 0; t < threads; t++) {
		calls[t] = (struct call){
			.index = (int)t,
			.verb = verb,
			.nc = nc,
			.o = &o,
			.netns_fmt = netns,
			.id_fmt = id,
			.ifname = ifname,
			.args = args,
			.caps = caps,
		};
		if (pthread_create(&calls[t].thread, NULL, run, &calls[t]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	}
	int rc = 0;
	for (long t = 0; t < threads; t++) {
		pthread_join(calls[t].thread, NULL);
		printf("%s\n", calls[t].line);
		if (calls[t].rc < 0)
			rc = 1;
		free(calls[t].line);
	}
	/* every plugin run must have been reaped by lib/cni */
	int unreaped = 0, status;
	for (;;) {
		pid_t r = waitpid(-1, &status, WNOHANG);
		if (r < 0)
			break; /* ECHILD: no child at all */
		unreaped++;
		if (r == 0)
			break; /* one still running */
	}
	printf("{\"unreaped\":%d}\n", unreaped);
	free(calls);
	cni_netconf_free(nc);
	json_decref(caps);
	return rc;
}
