/* kube-scheduler: binds pending pods to nodes, through the API server only. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "client.h"
#include "flags.h"
#include "kubeconfig.h"
#include "leaderelect.h"
#include "log.h"
#include "scheduler.h"
#include "version.h"
#include "xalloc.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void lease_error(const struct mk_err *err, void *arg)
{
	(void)arg;
	log_warn("leader election: %s", mk_err_msg(err));
}

/* Losing the lease ends the process, as upstream does, so two schedulers
 * never bind at once. */
static void lease_lost(void *arg)
{
	(void)arg;
	log_error("leaderelection lost");
	exit(1);
}

static const struct leader_callbacks lease_callbacks = {.on_error = lease_error,
							  .on_lost = lease_lost};

int main(int argc, char **argv)
{
	char *master = NULL, *kubeconfig = NULL;
	char *lease_ns = "kube-system", *lease_name = "kube-scheduler";
	char *scheduler_name = "default-scheduler";
	int64_t v = 0, lease_ms = 15000, renew_ms = 10000, retry_ms = 2000;
	bool elect = true;
	struct flag table[] = {
		{.name = "master", .type = FLAG_STRING, .target = &master,
		 .help = "The address of the Kubernetes API server (overrides any value in kubeconfig)"},
		{.name = "kubeconfig", .type = FLAG_STRING, .target = &kubeconfig,
		 .help = "Path to kubeconfig file with authorization and master location information"},
		{.name = "scheduler-name", .type = FLAG_STRING, .target = &scheduler_name,
		 .help = "Pods whose spec.schedulerName is this are scheduled (default-scheduler)"},
		{.name = "leader-elect", .type = FLAG_BOOL, .target = &elect,
		 .help = "Start a leader election client and gain leadership before scheduling (default true)"},
		{.name = "leader-elect-lease-duration", .type = FLAG_DURATION, .target = &lease_ms,
		 .help = "How long non-leaders wait before taking over an unrenewed lease (default 15s)"},
		{.name = "leader-elect-renew-deadline", .type = FLAG_DURATION, .target = &renew_ms,
		 .help = "How long the leader keeps retrying a renewal before giving up (default 10s)"},
		{.name = "leader-elect-retry-period", .type = FLAG_DURATION, .target = &retry_ms,
		 .help = "Wait between attempts to acquire or renew leadership (default 2s)"},
		{.name = "leader-elect-resource-namespace", .type = FLAG_STRING, .target = &lease_ns,
		 .help = "Namespace of the Lease used for leader election (default kube-system)"},
		{.name = "leader-elect-resource-name", .type = FLAG_STRING, .target = &lease_name,
		 .help = "Name of the Lease used for leader election (default kube-scheduler)"},
		{.name = "v", .type = FLAG_INT, .target = &v, .help = "number for the log level verbosity"},
		{0},
	};
	cleanup_err struct mk_err *err = NULL;
	int rc = flags_parse(table, argc, argv, &err);
	if (rc == FLAGS_VERSION) {
		fputs(MK_VERSION_LINE, stdout);
		return 0;
	}
	if (rc == 1) {
		cleanup_free char *usage = flags_usage(
			"kube-scheduler",
			"The Kubernetes scheduler binds pending pods to nodes that fit them.", table);
		fputs(usage, stdout);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "Error: %s\n", mk_err_msg(err));
		return 2;
	}
	log_verbosity = (int)v;

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct kubeconfig *kc = NULL;
	if (!master || kubeconfig) {
		kc = kubeconfig_load(kubeconfig, &err);
		if (!kc) {
			fprintf(stderr, "Error: %s\n", mk_err_msg(err));
			return 1;
		}
	}
	struct client *c = client_new(master, kc, &err);
	kubeconfig_free(kc);
	if (!c) {
		fprintf(stderr, "Error: %s\n", mk_err_msg(err));
		return 1;
	}
	cleanup_free char *identity = leader_identity_new();
	if (elect) {
		struct leader_elector *le = leader_elector_new(c, lease_ns, lease_name, identity,
							       (int)((lease_ms + 999) / 1000));
		log_info("attempting to acquire leader lease %s/%s...", lease_ns, lease_name);
		if (!leader_elector_acquire(le, retry_ms, &stopping, &lease_callbacks))
			return 0;
		log_info("successfully acquired lease %s/%s", lease_ns, lease_name);
		if (leader_elector_keep(le, retry_ms, renew_ms, &lease_callbacks, &err) < 0) {
			fprintf(stderr, "Error: %s\n", mk_err_msg(err));
			return 1;
		}
	}
	struct scheduler_options opts = {.scheduler_name = scheduler_name, .identity = identity};
	if (scheduler_run(c, &opts, &stopping, &err) < 0) {
		log_error("%s", mk_err_msg(err));
		client_free(c);
		return 1;
	}
	client_free(c);
	return 0;
}
