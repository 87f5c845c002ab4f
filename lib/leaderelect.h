/* Leader election on a coordination.k8s.io/v1 Lease, as upstream's
 * controller-manager and scheduler do: the holder renews spec.renewTime; a
 * lease not renewed for leaseDurationSeconds may be taken over, counting
 * leaseTransitions. Compare-and-swap through the Lease's resourceVersion. */
#ifndef MK_LEADERELECT_H
#define MK_LEADERELECT_H

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
 * lease afterwards, 0 when another live holder has it, -1 on an API error.
 * The daemon kit runs the acquire and renew loops (lib/daemon). */
int leader_elector_try(struct leader_elector *le, time_t now, struct mk_err **err);

/* "<hostname>_<random uuid>", upstream's identity form. New string; free(). */
char *leader_identity_new(void);

#endif
