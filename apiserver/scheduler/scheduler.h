/* The kube-scheduler daemon: watches nodes and pods through informers, binds
 * every pending pod of schedulerName default-scheduler through the
 * pods/binding subresource, and records Scheduled / FailedScheduling events. */
#ifndef MK_SCHEDULER_SCHEDULER_H
#define MK_SCHEDULER_SCHEDULER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "err.h"

struct scheduler_options {
	const char *scheduler_name; /* "default-scheduler" */
	const char *identity;       /* reportingInstance of events */
};

/* Runs until *stop becomes non-zero. c is borrowed; the scheduler opens its
 * own extra clients for binding and events from c's server. Returns 0, or -1
 * when the informers cannot be started. */
int scheduler_run(struct client *c, const struct scheduler_options *opts,
		  volatile sig_atomic_t *stop, struct mk_err **err);

#endif
