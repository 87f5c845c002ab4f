/* The kube-scheduler's work on the daemon kit: informers on nodes and pods,
 * a pool of workers that pick a node for every pending pod of its
 * schedulerName and bind it through the pods/binding subresource (each with
 * a connection of its own), a worker that posts the Scheduled /
 * FailedScheduling events, and its metrics. */
#ifndef MK_SCHEDULER_SCHEDULER_H
#define MK_SCHEDULER_SCHEDULER_H

#include "daemon.h"
#include "err.h"

struct scheduler_options {
	const char *scheduler_name; /* "default-scheduler" */
	const char *identity;	    /* reportingInstance of events */
};

struct scheduler;

/* Registers the scheduler with d (before daemon_run); opts is borrowed for
 * the scheduler's life. New scheduler, scheduler_free() once daemon_run
 * returned; NULL with *err when the API clients cannot be made. */
struct scheduler *scheduler_new(struct daemon *d, const struct scheduler_options *opts,
				struct mk_err **err);
/* Accepts NULL. */
void scheduler_free(struct scheduler *s);

#endif
