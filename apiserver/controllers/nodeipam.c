/* Node IPAM controller (--allocate-node-cidrs): gives every node the lowest
 * free subnet of --cluster-cidr of --node-cidr-mask-size as spec.podCIDR and
 * spec.podCIDRs. CIDRs already on nodes are taken at start, and a deleted
 * node's CIDR is released. */
#include <pthread.h>
#include <string.h>

#include "cidrset.h"
#include "cleanup.h"
#include "controllers-internal.h"
#include "events.h"
#include "log.h"
#include "xalloc.h"

struct ipam_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *nodes;
	pthread_mutex_t lock;
	struct cidrset *set;
	bool occupied; /* the CIDRs of existing nodes are marked used */
	/* node name -> CIDR we assigned that the cache does not show yet */
	json_t *assigned;
};

static const char *node_cidr(const json_t *node)
{
	const char *c = json_string_value(json_object_get(json_object_get(node, "spec"), "podCIDR"));
	return c && *c ? c : NULL;
}

static void on_node(json_t *node, void *arg)
{
	struct ipam_ctrl *ic = arg;
	const char *name = obj_meta_str(node, "name");
	if (name && !node_cidr(node))
		workqueue_add(ic->q, name);
}

static void on_node_update(json_t *old_node, json_t *new_node, void *arg)
{
	(void)old_node;
	on_node(new_node, arg);
}

static void on_node_delete(json_t *node, void *arg)
{
	struct ipam_ctrl *ic = arg;
	const char *name = obj_meta_str(node, "name");
	pthread_mutex_lock(&ic->lock);
	const char *cidr = node_cidr(node);
	if (cidr) {
		cidrset_release(ic->set, cidr);
		log_v(2, "nodeipam: released %s of node %s", cidr, name);
	}
	const char *pending = json_string_value(json_object_get(ic->assigned, name ? name : ""));
	if (pending && (!cidr || strcmp(pending, cidr)))
		cidrset_release(ic->set, pending);
	if (name)
		json_object_del(ic->assigned, name);
	pthread_mutex_unlock(&ic->lock);
}

/* Under ic->lock. */
static void occupy_existing(struct ipam_ctrl *ic)
{
	cleanup_json json_t *all = informer_list(ic->nodes);
	size_t i;
	json_t *n;
	json_array_foreach(all, i, n) {
		const char *cidr = node_cidr(n);
		if (!cidr)
			continue;
		cleanup_err struct mk_err *err = NULL;
		if (cidrset_occupy(ic->set, cidr, &err) < 0)
			log_warn("nodeipam: node %s has podCIDR %s: %s", obj_meta_str(n, "name"),
				 cidr, mk_err_msg(err));
	}
	ic->occupied = true;
}

static int sync_node(const char *name, void *arg, struct mk_err **err)
{
	struct ipam_ctrl *ic = arg;
	cleanup_json json_t *node = informer_get(ic->nodes, name);
	pthread_mutex_lock(&ic->lock);
	if (!ic->occupied)
		occupy_existing(ic);
	if (!node || node_cidr(node)) {
		if (node)
			json_object_del(ic->assigned, name);
		pthread_mutex_unlock(&ic->lock);
		return 0;
	}
	if (json_object_get(ic->assigned, name)) {
		/* assigned already; the cache has not caught up */
		pthread_mutex_unlock(&ic->lock);
		return 0;
	}
	cleanup_err struct mk_err *aerr = NULL;
	cleanup_free char *cidr = cidrset_allocate(ic->set, &aerr);
	if (cidr)
		json_object_set_new(ic->assigned, name, json_string(cidr));
	pthread_mutex_unlock(&ic->lock);
	if (!cidr) {
		events_post(ic->c, "cidrAllocator", "Node", "v1", node, "Normal",
			    "CIDRNotAvailable", "Node %s status is now: CIDRNotAvailable", name);
		return mk_err_set(err, mk_err_code(aerr), "%s", mk_err_msg(aerr));
	}
	cleanup_json json_t *patch =
		json_pack("{s:{s:s,s:[s]}}", "spec", "podCIDR", cidr, "podCIDRs", cidr);
	cleanup_free char *path = xasprintf("/api/v1/nodes/%s", name);
	cleanup_err struct mk_err *perr = NULL;
	cleanup_json json_t *r = client_patch(ic->c, path, "merge", patch, &perr);
	if (r) {
		log_info("nodeipam: set podCIDR %s on node %s", cidr, name);
		return 0;
	}
	pthread_mutex_lock(&ic->lock);
	cidrset_release(ic->set, cidr);
	json_object_del(ic->assigned, name);
	pthread_mutex_unlock(&ic->lock);
	if (mk_err_code(perr) == MK_ENOTFOUND)
		return 0;
	events_post(ic->c, "cidrAllocator", "Node", "v1", node, "Warning", "CIDRAssignmentFailed",
		    "Node %s status is now: CIDRAssignmentFailed", name);
	return mk_err_set(err, mk_err_code(perr), "setting podCIDR of node %s: %s", name,
			  mk_err_msg(perr));
}

int nodeipam_controller_start(struct daemon *d, const struct manager_options *o,
			       struct mk_err **err)
{
	if (!o->allocate_node_cidrs) {
		log_info("nodeipam: --allocate-node-cidrs is false, not allocating pod CIDRs");
		return 0;
	}
	struct cidrset *set = cidrset_new(o->cluster_cidr, (int)o->node_cidr_mask_size, err);
	if (!set)
		return mk_err_wrap(err, "--cluster-cidr=%s --node-cidr-mask-size=%lld",
				   o->cluster_cidr, (long long)o->node_cidr_mask_size);
	struct ipam_ctrl *ic = xcalloc(1, sizeof(*ic));
	ic->set = set;
	ic->c = daemon_client_new(d, err);
	if (!ic->c)
		return -1;
	ic->q = workqueue_new();
	ic->assigned = json_object();
	pthread_mutex_init(&ic->lock, NULL);
	struct informer_handlers h = {.on_add = on_node,
				      .on_update = on_node_update,
				      .on_delete = on_node_delete,
				      .arg = ic};
	ic->nodes = manager_informer(d, MGR_NODES, &h, err);
	if (!ic->nodes)
		return -1;
	/* one worker: allocations are serialized anyway */
	return daemon_workers(d, "nodeipam", ic->q, 1, sync_node, ic, err);
}
