#include "history.h"

#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "daemonset-plan.h"
#include "json.h"
#include "log.h"
#include "xalloc.h"

int history_sync(struct client *c, struct informer *revs, const json_t *owner, const char *kind,
		 const char *hash, struct mk_err **err)
{
	const char *ns = obj_meta_str(owner, "namespace");
	const char *uid = obj_meta_str(owner, "uid");
	cleanup_free char *name = xasprintf("%s-%s", obj_meta_str(owner, "name"), hash);
	cleanup_json json_t *all = informer_list(revs);
	cleanup_json json_t *mine = json_array();
	long long max = 0;
	json_t *current = NULL;
	size_t i;
	json_t *r;
	json_array_foreach(all, i, r)
	{
		const char *cuid = json_string_value(json_object_get(obj_controller_ref(r), "uid"));
		const char *rns = obj_meta_str(r, "namespace");
		if (!cuid || !uid || strcmp(cuid, uid) || !rns || strcmp(rns, ns))
			continue;
		json_array_append(mine, r);
		long long n = json_integer_value(json_object_get(r, "revision"));
		if (n > max)
			max = n;
		if (!strcmp(obj_meta_str(r, "name"), name))
			current = r;
	}
	cleanup_free char *coll = xasprintf("/apis/apps/v1/namespaces/%s/controllerrevisions", ns);
	if (!current) {
		json_t *tmpl = json_deep_copy(json_path_get(owner, "spec.template"));
		json_object_set_new(tmpl, "$patch", json_string("replace"));
		json_t *labels =
			json_deep_copy(json_path_get(owner, "spec.template.metadata.labels"));
		if (!json_is_object(labels)) {
			json_decref(labels);
			labels = json_object();
		}
		json_object_set_new(labels, DS_HASH_LABEL, json_string(hash));
		cleanup_json json_t *rev = json_pack(
			"{s:s, s:s, s:{s:s, s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, "
			"s:{s:{s:o}}, s:I}",
			"apiVersion", "apps/v1", "kind", "ControllerRevision", "metadata", "name",
			name, "namespace", ns, "labels", labels, "ownerReferences", "apiVersion",
			"apps/v1", "kind", kind, "name", obj_meta_str(owner, "name"), "uid", uid,
			"controller", 1, "blockOwnerDeletion", 1, "data", "spec", "template", tmpl,
			"revision", (json_int_t)(max + 1));
		cleanup_err struct mk_err *cerr = NULL;
		cleanup_json json_t *made = client_create(c, coll, rev, &cerr);
		if (!made && mk_err_code(cerr) != MK_EEXISTS)
			return mk_err_set(err, mk_err_code(cerr), "creating revision %s: %s", name,
					  mk_err_msg(cerr));
	} else if (json_integer_value(json_object_get(current, "revision")) < max) {
		/* an old template came back (rollout undo): it is the newest again */
		cleanup_json json_t *patch = json_pack("{s:I}", "revision", (json_int_t)(max + 1));
		cleanup_free char *path = xasprintf("%s/%s", coll, name);
		cleanup_json json_t *done = client_patch(c, path, "merge", patch, err);
		if (!done)
			return -1;
	}
	json_t *lim = json_path_get(owner, "spec.revisionHistoryLimit");
	long long keep = json_is_integer(lim) ? json_integer_value(lim) : 10;
	long long old = (long long)json_array_size(mine) - (current ? 1 : 0) - keep;
	/* the oldest revisions go first */
	while (old-- > 0) {
		json_t *oldest = NULL;
		json_array_foreach(mine, i, r)
		{
			if (!strcmp(obj_meta_str(r, "name"), name))
				continue;
			if (!oldest ||
			    json_integer_value(json_object_get(r, "revision")) <
				    json_integer_value(json_object_get(oldest, "revision")))
				oldest = r;
		}
		if (!oldest)
			break;
		cleanup_free char *path = xasprintf("%s/%s", coll, obj_meta_str(oldest, "name"));
		cleanup_err struct mk_err *derr = NULL;
		if (client_delete(c, path, NULL, &derr) < 0 && mk_err_code(derr) != MK_ENOTFOUND)
			log_v(1, "deleting revision %s: %s", path, mk_err_msg(derr));
		for (i = 0; i < json_array_size(mine); i++)
			if (json_array_get(mine, i) == oldest) {
				json_array_remove(mine, i);
				break;
			}
	}
	return 0;
}
