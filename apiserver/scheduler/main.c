/* kube-scheduler: binds pending pods to nodes, through the API server only. */
#include "cleanup.h"
#include "daemon.h"
#include "leaderelect.h"
#include "log.h"
#include "scheduler.h"

static char *scheduler_name = "default-scheduler";

static struct flag flags[] = {
	{.name = "scheduler-name",
	 .type = FLAG_STRING,
	 .target = &scheduler_name,
	 .help = "Pods whose spec.schedulerName is this are scheduled (default "
		 "\"default-scheduler\")"},
	{0},
};

static const struct daemon_config config = {
	.name = "kube-scheduler",
	.summary = "The Kubernetes scheduler binds pending pods to nodes that fit them.",
	.flags = flags,
	.common = DAEMON_FLAG_MASTER | DAEMON_FLAG_KUBECONFIG | DAEMON_FLAG_LEADER_ELECT |
		  DAEMON_FLAG_SERVE,
	.lease_name = "kube-scheduler",
	.secure_port = 10259,
};

int main(int argc, char **argv)
{
	int rc;
	struct daemon *d = daemon_new(&config, argc, argv, &rc);
	if (!d)
		return rc;
	cleanup_free char *identity = leader_identity_new();
	struct scheduler_options opts = {.scheduler_name = scheduler_name, .identity = identity};
	cleanup_err struct mk_err *err = NULL;
	struct scheduler *s = scheduler_new(d, &opts, &err);
	if (!s) {
		log_error("%s", mk_err_msg(err));
		rc = 1;
	} else {
		log_info("Starting kube-scheduler, scheduling pods of %s", scheduler_name);
		rc = daemon_run(d);
	}
	scheduler_free(s);
	daemon_free(d);
	return rc;
}
