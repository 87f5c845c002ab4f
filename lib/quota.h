/* ResourceQuota usage as upstream's quota evaluators count it: what one
 * object adds to the resources a quota may limit ("pods", "requests.cpu",
 * "count/deployments.apps", "services.nodeports"...). Shared by the API
 * server's ResourceQuota admission and the controller-manager's quota
 * controller, so that both count alike. */
#ifndef MK_QUOTA_H
#define MK_QUOTA_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

/* The usage obj (borrowed) of resource (plural) in group ("" core) adds:
 * a new object mapping resource names to integers in milli-units (a pod
 * gives {"pods":1000, "count/pods":1000, "requests.cpu":500, "cpu":500,
 * ...}). A terminal pod (Succeeded, Failed) counts only in count/pods. */
json_t *quota_usage_of(const char *group, const char *resource, const json_t *obj);

/* Adds every entry of add (milli integers) into sum (created as needed). */
void quota_usage_add(json_t *sum, const json_t *add);

/* True if a quota of hard resource name counts objects of group/resource
 * (pods count toward "pods", "requests.cpu", "count/pods", ...). */
bool quota_tracks(const char *group, const char *resource, const char *name);

/* The quantity text of milli for resource name: binary suffixes (Mi, Gi)
 * for memory and storage, decimal otherwise ("500m", "2"). New string. */
char *quota_format(const char *name, int64_t milli);

/* A quota map's value ("1Gi", "2") in milli-units; 0 if it does not parse. */
int64_t quota_value(const json_t *v);

/* The containers' names lacking a request or limit a quota of the hard names
 * requires ("requests.cpu", "cpu", "limits.memory"...), as upstream's
 * message "must specify limits.cpu for: a,b; requests.memory for: a":
 * NULL if none lacks one, else a new string. */
char *quota_pod_missing(const json_t *pod, const json_t *hard);

#endif
