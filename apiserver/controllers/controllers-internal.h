/* Declarations shared by the kube-controller-manager's files: the
 * controllers' entry points and small object helpers. */
#ifndef MK_CONTROLLERS_INTERNAL_H
#define MK_CONTROLLERS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "err.h"
#include "manager.h"

/* Each controller registers its informer handlers, worker pools and periodic
 * tasks with the daemon (before daemon_run; o is borrowed for the process's
 * life); the kit starts them once this process leads and every informer
 * synced. */
typedef int (*controller_start_fn)(struct daemon *d, const struct manager_options *o,
				   struct mk_err **err);
int deployment_controller_start(struct daemon *d, const struct manager_options *o,
				struct mk_err **err);
int replicaset_controller_start(struct daemon *d, const struct manager_options *o,
				struct mk_err **err);
int endpoints_controller_start(struct daemon *d, const struct manager_options *o,
			       struct mk_err **err);
int endpointslice_controller_start(struct daemon *d, const struct manager_options *o,
				   struct mk_err **err);
int clusterroleaggregation_controller_start(struct daemon *d, const struct manager_options *o,
					     struct mk_err **err);
int serviceaccount_controller_start(struct daemon *d, const struct manager_options *o,
				    struct mk_err **err);
int namespace_controller_start(struct daemon *d, const struct manager_options *o,
			       struct mk_err **err);
int gc_controller_start(struct daemon *d, const struct manager_options *o, struct mk_err **err);
int nodeipam_controller_start(struct daemon *d, const struct manager_options *o,
			      struct mk_err **err);
int daemonset_controller_start(struct daemon *d, const struct manager_options *o,
			       struct mk_err **err);
int statefulset_controller_start(struct daemon *d, const struct manager_options *o,
				 struct mk_err **err);
int disruption_controller_start(struct daemon *d, const struct manager_options *o,
				struct mk_err **err);
int job_controller_start(struct daemon *d, const struct manager_options *o, struct mk_err **err);
int cronjob_controller_start(struct daemon *d, const struct manager_options *o,
			     struct mk_err **err);
int resourcequota_controller_start(struct daemon *d, const struct manager_options *o,
				   struct mk_err **err);
int nodelifecycle_controller_start(struct daemon *d, const struct manager_options *o,
				   struct mk_err **err);

/* Queues the key of every Service of the pod's namespace that selects it. */
void ctrl_queue_services_of_pod(struct informer *svcs, struct workqueue *q, const json_t *pod);

/* True for "default/kubernetes", whose endpoints the API server writes. */
bool ctrl_is_apiserver_service(const char *key);

/* The cached pods of namespace ns: new array. */
json_t *ctrl_pods_in(struct informer *pods, const char *ns);

/* metadata.<field> as a string, borrowed from obj, or NULL. */
const char *obj_meta_str(const json_t *obj, const char *field);

/* The ownerReference of obj with controller=true, borrowed, or NULL. */
json_t *obj_controller_ref(const json_t *obj);

/* True if a LabelSelector ({matchLabels, matchExpressions}, borrowed)
 * selects labels (may be NULL). A NULL or non-object selector selects
 * nothing, an empty one everything, as upstream's LabelSelectorAsSelector. */
bool ctrl_selector_matches(const json_t *selector, const json_t *labels);

/* True if selector selects nothing at all because it is empty ({}). */
bool ctrl_selector_empty(const json_t *selector);

/* "ns/name" of a namespaced object's key from parts. New string, free(). */
char *ctrl_key(const char *ns, const char *name);

/* Seconds since the epoch parsed from an RFC 3339 string, or 0. */
time_t ctrl_parse_time(const char *s);

#endif
