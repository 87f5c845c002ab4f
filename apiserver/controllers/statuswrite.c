/* Status writes of the workload controllers (see the header). */
#include "statuswrite.h"

#include <stdbool.h>
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "xalloc.h"

int status_write(struct client *c, const json_t *obj, const char *api_version, const char *kind,
		 const char *plural, json_t *status, json_t **stored, struct mk_err **err)
{
	if (stored)
		*stored = NULL;
	json_t *old = json_object_get(obj, "status");
	cleanup_json json_t *empty = json_object();
	if (json_equal(status, old ? old : empty))
		return 0;
	cleanup_json json_t *copy = json_deep_copy(obj);
	json_object_set_new(copy, "apiVersion", json_string(api_version));
	json_object_set_new(copy, "kind", json_string(kind));
	json_object_set(copy, "status", status);
	bool core = !strchr(api_version, '/');
	cleanup_free char *path =
		xasprintf("/api%s/%s/namespaces/%s/%s/%s/status", core ? "" : "s", api_version,
			  obj_meta_str(obj, "namespace"), plural, obj_meta_str(obj, "name"));
	json_t *r = client_update(c, path, copy, err);
	if (!r)
		return -1;
	if (stored)
		*stored = r;
	else
		json_decref(r);
	return 1;
}
