/* informer-probe: runs one informer against an API server and prints each
 * handler call as a line on stdout, for tests/integration/client_informer.bats.
 *
 *   informer-probe [--server URL | --kubeconfig FILE] [--selector LABELS] PATH
 *
 * Lines: "SYNCED" once the first list is in, then
 *   ADDED <ns>/<name> <labels as compact JSON>
 *   MODIFIED <ns>/<name> <labels>
 *   DELETED <ns>/<name> <labels>
 * Informer errors (connection refused while the server restarts, ...) go to
 * stderr as "error: <message>". Runs until SIGTERM or SIGINT. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "client.h"
#include "informer.h"
#include "json.h"
#include "kubeconfig.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void print_event(const char *type, json_t *obj)
{
	cleanup_free char *key = informer_key(obj);
	json_t *labels = json_path_get(obj, "metadata.labels");
	cleanup_free char *l = labels ? json_dump_compact(labels) : strdup("{}");
	pthread_mutex_lock(&out_lock);
	printf("%s %s %s\n", type, key ? key : "?", l ? l : "{}");
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void on_add(json_t *obj, void *arg)
{
	(void)arg;
	print_event("ADDED", obj);
}

static void on_update(json_t *old_obj, json_t *new_obj, void *arg)
{
	(void)arg, (void)old_obj;
	print_event("MODIFIED", new_obj);
}

static void on_delete(json_t *obj, void *arg)
{
	(void)arg;
	print_event("DELETED", obj);
}

static void on_error(const struct mk_err *e, void *arg)
{
	(void)arg;
	fprintf(stderr, "error: %s\n", mk_err_msg(e));
}

static int usage(void)
{
	fprintf(stderr, "usage: informer-probe [--server URL | --kubeconfig FILE] "
			"[--selector LABELS] PATH\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *kubeconfig = NULL, *selector = NULL, *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
			server = argv[++i];
		else if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
			kubeconfig = argv[++i];
		else if (strcmp(argv[i], "--selector") == 0 && i + 1 < argc)
			selector = argv[++i];
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			return usage();
	}
	if (!path)
		return usage();

	/* Signals are taken by sigwait below; block them before any thread starts. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	cleanup_err struct mk_err *err = NULL;
	struct kubeconfig *kc = NULL;
	if (!server) {
		kc = kubeconfig_load(kubeconfig, &err);
		if (!kc) {
			fprintf(stderr, "error: %s\n", mk_err_msg(err));
			return 1;
		}
	}
	struct client *c = client_new(server, kc, &err);
	kubeconfig_free(kc);
	if (!c) {
		fprintf(stderr, "error: %s\n", mk_err_msg(err));
		return 1;
	}
	struct informer_handlers h = {.on_add = on_add,
				      .on_update = on_update,
				      .on_delete = on_delete,
				      .on_error = on_error};
	struct informer *inf = informer_new(c, path, selector, NULL, &h, &err);
	if (!inf || informer_start(inf, &err) < 0) {
		fprintf(stderr, "error: %s\n", mk_err_msg(err));
		informer_free(inf);
		client_free(c);
		return 1;
	}
	if (informer_wait_synced(inf, 0)) {
		pthread_mutex_lock(&out_lock);
		printf("SYNCED\n");
		fflush(stdout);
		pthread_mutex_unlock(&out_lock);
	}
	int sig = 0;
	sigwait(&set, &sig);
	informer_free(inf);
	client_free(c);
	return 0;
}
