/* The Deployment controller's decisions, free of I/O: the pod-template-hash,
 * the ReplicaSet a template needs, how far each ReplicaSet may be scaled under
 * RollingUpdate (maxSurge / maxUnavailable) or Recreate, and the status and
 * conditions `kubectl rollout status` reads. */
#ifndef MK_CONTROLLERS_DEPLOYMENT_PLAN_H
#define MK_CONTROLLERS_DEPLOYMENT_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

/* The pod-template-hash of a template: FNV-32a of its canonical JSON (the
 * pod-template-hash label itself excluded) and the collision count, encoded
 * with upstream's safe alphabet. Returns a new string; free(). */
char *deploy_template_hash(const json_t *template, int64_t collision_count);

/* True if rs.spec.template equals the deployment's template, ignoring the
 * pod-template-hash label. */
bool deploy_rs_matches(const json_t *deploy, const json_t *rs);

/* A new ReplicaSet object for the deployment's current template: name
 * "<deploy>-<hash>", pod-template-hash label on metadata, selector and
 * template, controller ownerReference, revision annotation, replicas. New ref. */
json_t *deploy_new_rs(const json_t *deploy, const char *hash, int64_t revision, int64_t replicas);

/* maxSurge and maxUnavailable resolved against spec.replicas (percentages:
 * surge rounds up, unavailable rounds down; both 0 means unavailable 1). */
void deploy_resolve_surge(const json_t *deploy, int64_t *max_surge, int64_t *max_unavailable);

/* The "deployment.kubernetes.io/revision" of a ReplicaSet, 0 if none. */
int64_t deploy_rs_revision(const json_t *rs);

/* One step of the rollout: given the deployment, its new ReplicaSet (may be
 * NULL when it does not exist yet) and the old ones (array, oldest first),
 * returns the replicas each should have now: an object mapping ReplicaSet
 * name to integer, plus the key "" for a new ReplicaSet to create (only when
 * new_rs is NULL). Only changed sizes are listed. New ref. */
json_t *deploy_plan(const json_t *deploy, const json_t *new_rs, const json_t *old_rss);

/* The deployment's status from its ReplicaSets (as last observed), with
 * observedGeneration and the Available/Progressing conditions merged into
 * old_status's (kept when unchanged so lastTransitionTime holds). now is
 * RFC 3339. New ref. */
json_t *deploy_status(const json_t *deploy, const json_t *new_rs, const json_t *old_rss,
		      const char *now);

#endif
