/* Leader election on a coordination.k8s.io/v1 Lease, as upstream's
 * controller-manager and scheduler do: the holder renews spec.renewTime; a
 * lease not renewed for leaseDurationSeconds may be taken over, counting
 * leaseTransitions. Compare-and-swap through the Lease's resourceVersion. */
#ifndef MK_LEADERELECT_H
#define MK_LEADERELECT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "client.h"
#include "err.h"

struct leader_elector;

/* c is borrowed for the elector's lifetime; strings are copied. */
struct leader_elector *leader_elector_new(struct client *c, const char *ns, const char *name,
					  const char *identity, int lease_seconds);
void leader_elector_free(struct leader_elector *le);

/* One attempt to acquire or renew at time now. Returns 1 when we hold the
 * lease afterwards, 0 when another live holder has it, -1 on an API error. */
int leader_elector_try(struct leader_elector *le, time_t now, struct mk_err **err);

/* What the acquire and renew loops report; every member may be NULL. */
struct leader_callbacks {
	/* An attempt failed with an API error (borrowed for the call); the
	 * loop goes on. */
	void (*on_error)(const struct mk_err *err, void *arg);
	/* The lease went to another holder or was not renewed within the
	 * deadline: the caller must stop acting at once (upstream exits). */
	void (*on_lost)(void *arg);
	void *arg;
};

/* Tries every retry_ms until we hold the lease (returns 1) or *stop becomes
 * non-zero (returns 0). */
int leader_elector_acquire(struct leader_elector *le, int64_t retry_ms,
			   volatile sig_atomic_t *stop, const struct leader_callbacks *cb);

/* Renews the lease every retry_ms on a thread of its own for the rest of the
 * process; calls cb->on_lost once when it is lost. le and cb must outlive
 * the process's use of them. Returns 0, or -1 (MK_EIO) if no thread. */
int leader_elector_keep(struct leader_elector *le, int64_t retry_ms, int64_t renew_deadline_ms,
			const struct leader_callbacks *cb, struct mk_err **err);

/* "<hostname>_<random uuid>", upstream's identity form. New string; free(). */
char *leader_identity_new(void);

#endif
