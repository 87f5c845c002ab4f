/* ServiceAccount controller: every active namespace has a ServiceAccount
 * named "default" (recreated if deleted). */
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "xalloc.h"

struct sa_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *nss, *sas;
};

static void on_ns(json_t *ns, void *arg)
{
	struct sa_ctrl *sc = arg;
	const char *name = obj_meta_str(ns, "name");
	if (name)
		workqueue_add(sc->q, name);
}

static void on_ns_update(json_t *old_ns, json_t *new_ns, void *arg)
{
	(void)old_ns;
	on_ns(new_ns, arg);
}

static void on_sa_delete(json_t *sa, void *arg)
{
	struct sa_ctrl *sc = arg;
	const char *name = obj_meta_str(sa, "name");
	const char *ns = obj_meta_str(sa, "namespace");
	if (name && ns && !strcmp(name, "default"))
		workqueue_add(sc->q, ns);
}

static int sync_ns(const char *key, void *arg, struct mk_err **err)
{
	struct sa_ctrl *sc = arg;
	cleanup_json json_t *ns = informer_get(sc->nss, key);
	if (!ns || json_object_get(json_object_get(ns, "metadata"), "deletionTimestamp"))
		return 0;
	const char *phase = json_string_value(json_object_get(json_object_get(ns, "status"),
							      "phase"));
	if (phase && !strcmp(phase, "Terminating"))
		return 0;
	cleanup_free char *sakey = xasprintf("%s/default", key);
	cleanup_json json_t *sa = informer_get(sc->sas, sakey);
	if (sa)
		return 0;
	cleanup_json json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind",
					     "ServiceAccount", "metadata", "name", "default",
					     "namespace", key);
	cleanup_free char *coll = xasprintf("/api/v1/namespaces/%s/serviceaccounts", key);
	cleanup_err struct mk_err *cerr = NULL;
	cleanup_json json_t *made = client_create(sc->c, coll, obj, &cerr);
	if (made || mk_err_code(cerr) == MK_EEXISTS)
		return 0;
	/* a namespace being deleted refuses new objects; its next event tells */
	if (mk_err_code(cerr) == MK_ENOTFOUND)
		return 0;
	return mk_err_set(err, mk_err_code(cerr), "creating serviceaccount %s/default: %s", key,
			  mk_err_msg(cerr));
}

int serviceaccount_controller_start(struct daemon *d, const struct manager_options *o,
				     struct mk_err **err)
{
	struct sa_ctrl *sc = xcalloc(1, sizeof(*sc));
	sc->c = daemon_client_new(d, err);
	if (!sc->c)
		return -1;
	sc->q = workqueue_new();
	struct informer_handlers nh = {.on_add = on_ns, .on_update = on_ns_update, .arg = sc};
	struct informer_handlers sh = {.on_delete = on_sa_delete, .arg = sc};
	sc->nss = manager_informer(d, MGR_NAMESPACES, &nh, err);
	sc->sas = manager_informer(d, MGR_SERVICEACCOUNTS, &sh, err);
	if (!sc->nss || !sc->sas)
		return -1;
	return daemon_workers(d, "serviceaccount", sc->q, (int)o->concurrent_serviceaccount,
			      sync_ns, sc, err);
}
