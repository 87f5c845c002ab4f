/* CustomResourceDefinitions and their custom resources (see the header). */
#include "apiserver/crd.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "timefmt.h"
#include "xalloc.h"
#include "apiserver/jsonschema.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/objects.h"
#include "apiserver/printer.h"
#include "apiserver/schema.h"
#include "apiserver/store.h"

#define CRD_PREFIX "/registry/apiextensions.k8s.io/customresourcedefinitions/"
#define CLEANUP_FINALIZER "customresourcecleanup.apiextensions.k8s.io"

/* --- rows ------------------------------------------------------------------------ */

/* One printer column of a custom resource. */
struct crd_column {
	char *path; /* ".spec.replicas" without the dot: "spec.replicas" */
	char *type;
};

struct crd_row {
	struct api_resource r; /* first: a row pointer is a crd_row pointer */
	char *crd_name;	       /* "widgets.example.com" */
	int64_t crd_rev;       /* mod_rev of the CRD this row was built from */
	bool retired;
	char *api_version, *qualified, *list_kind;
	char *storage_api_version; /* "example.com/v1": the storage version's */
	json_t *schema; /* openAPIV3Schema, owned */
	const char **short_names, **categories;
	struct api_subresource subs[3];
	struct table_column *columns; /* NULL-name terminated */
	struct crd_column *cols;      /* the cells after Name */
	size_t ncols;
	struct crd_row *next;
};

static const char *const verbs_all[] = {
	"delete", "deletecollection", "get", "list", "patch", "create", "update", "watch", NULL,
};
/* a CRD being deleted takes no new objects */
static const char *const verbs_terminating[] = {
	"delete", "deletecollection", "get", "list", "patch", "update", "watch", NULL,
};
static const char *const verbs_sub[] = {"get", "patch", "update", NULL};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct crd_row *rows;	 /* served */
	struct crd_row *retired; /* kept until exit (see the header) */
	struct store *st;
	struct store_watch *watch;
	pthread_t worker;
	bool worker_running;
	bool stopping;
	bool resync; /* the watch expired: relist */
	json_t *cleanup; /* names of CRDs whose objects are to be deleted */
} reg = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static char **strv_from(const json_t *arr)
{
	size_t n = json_array_size(arr);
	char **v = xcalloc(n + 1, sizeof(char *));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s)
			v[m++] = xstrdup(s);
	}
	return v;
}

/* "spec.replicas" from ".spec.replicas" or "{.spec.replicas}". New string. */
static char *path_of_jsonpath(const char *jp)
{
	if (!jp)
		return NULL;
	size_t n = strlen(jp);
	if (n >= 2 && jp[0] == '{' && jp[n - 1] == '}') {
		jp++;
		n -= 2;
	}
	if (n && jp[0] == '.') {
		jp++;
		n--;
	}
	return xstrndup(jp, n);
}

static void row_free(struct crd_row *row)
{
	if (!row)
		return;
	free((char *)row->r.group);
	free((char *)row->r.version);
	free((char *)row->r.resource);
	free((char *)row->r.singular);
	free((char *)row->r.kind);
	free((char *)row->r.storage);
	strv_free((char **)row->short_names);
	strv_free((char **)row->categories);
	for (size_t i = 0; i < 3; i++) {
		free((char *)row->subs[i].spec_replicas_path);
		free((char *)row->subs[i].status_replicas_path);
		free((char *)row->subs[i].selector_path);
	}
	for (struct table_column *c = row->columns; c && c->name; c++) {
		free((char *)c->name);
		free((char *)c->type);
		free((char *)c->format);
		free((char *)c->description);
	}
	free(row->columns);
	for (size_t i = 0; i < row->ncols; i++) {
		free(row->cols[i].path);
		free(row->cols[i].type);
	}
	free(row->cols);
	free(row->crd_name);
	free(row->api_version);
	free(row->qualified);
	free(row->list_kind);
	free(row->storage_api_version);
	json_decref(row->schema);
	free(row);
}

static void cr_prepare_create(json_t *obj);
static void cr_prepare_update(json_t *obj, const json_t *old);
static void cr_defaults(json_t *obj);
static void cr_validate(const json_t *obj, const json_t *old, json_t *causes);
static void cr_print(const json_t *obj, time_t now, json_t *cells);
static json_t *cr_prune(const struct api_resource *r, json_t *obj);
static const char *storage_version(const json_t *obj);

/* Conversion strategy None between the versions of a CRD, as upstream:
 * only apiVersion changes. */
static void cr_from_stored(const struct api_resource *r, json_t *obj)
{
	json_object_set_new(obj, "apiVersion",
			    json_string(((const struct crd_row *)r)->api_version));
}

static void cr_to_stored(const struct api_resource *r, json_t *obj)
{
	json_object_set_new(obj, "apiVersion",
			    json_string(((const struct crd_row *)r)->storage_api_version));
}

static const char *const name_desc =
	"Name must be unique within a namespace. Is required when creating resources, although "
	"some resources may allow a client to request the generation of an appropriate name "
	"automatically. Name is primarily intended for creation idempotence and configuration "
	"definition. Cannot be updated. More info: "
	"https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

static void row_columns(struct crd_row *row, const json_t *defs)
{
	size_t n = json_array_size(defs);
	bool age = n == 0;
	row->columns = xcalloc(n + 3, sizeof(*row->columns));
	row->cols = xcalloc(n + 2, sizeof(*row->cols));
	row->columns[0] = (struct table_column){.name = xstrdup("Name"),
						.type = xstrdup("string"),
						.format = xstrdup("name"),
						.description = xstrdup(name_desc)};
	size_t k = 1;
	for (size_t i = 0; i < n; i++) {
		const json_t *d = json_array_get(defs, i);
		const char *name = json_string_value(json_object_get(d, "name"));
		const char *type = json_string_value(json_object_get(d, "type"));
		const char *fmt = json_string_value(json_object_get(d, "format"));
		const char *desc = json_string_value(json_object_get(d, "description"));
		const char *jp = json_string_value(json_object_get(d, "jsonPath"));
		if (!name || !type || !jp)
			continue;
		row->columns[k] = (struct table_column){
			.name = xstrdup(name),
			.type = xstrdup(type),
			.format = xstrdup(fmt ? fmt : ""),
			.description = xstrdup(desc ? desc : ""),
			.priority = (int)json_integer_value(json_object_get(d, "priority")),
		};
		row->cols[row->ncols++] = (struct crd_column){.path = path_of_jsonpath(jp),
							      .type = xstrdup(type)};
		k++;
	}
	if (age) {
		row->columns[k++] = (struct table_column){
			.name = xstrdup("Age"),
			.type = xstrdup("date"),
			.format = xstrdup(""),
			.description = xstrdup("CreationTimestamp is a timestamp representing the server "
					       "time when this object was created.")};
		row->cols[row->ncols++] = (struct crd_column){.path = xstrdup("metadata.creationTimestamp"),
							      .type = xstrdup("date")};
	}
	row->columns[k].name = NULL;
}

/* The rows of every served version of crd (borrowed), linked through next. */
static struct crd_row *rows_build(const json_t *crd, int64_t rev)
{
	const char *name = json_path_str(crd, "metadata.name");
	const char *group = json_path_str(crd, "spec.group");
	const char *plural = json_path_str(crd, "spec.names.plural");
	const char *kind = json_path_str(crd, "spec.names.kind");
	const char *scope = json_path_str(crd, "spec.scope");
	if (!name || !group || !plural || !kind || !scope)
		return NULL;
	const char *singular = json_path_str(crd, "spec.names.singular");
	const char *list_kind = json_path_str(crd, "spec.names.listKind");
	bool terminating = json_path_get(crd, "metadata.deletionTimestamp") != NULL;
	const char *sv = storage_version(crd);
	struct crd_row *head = NULL, **tail = &head;
	size_t i;
	json_t *v;
	json_array_foreach(json_path_get(crd, "spec.versions"), i, v)
	{
		const char *vname = json_string_value(json_object_get(v, "name"));
		if (!vname || !json_is_true(json_object_get(v, "served")))
			continue;
		struct crd_row *row = xcalloc(1, sizeof(*row));
		row->crd_name = xstrdup(name);
		row->crd_rev = rev;
		row->r.group = xstrdup(group);
		row->r.version = xstrdup(vname);
		row->r.resource = xstrdup(plural);
		row->r.singular = xstrdup(singular ? singular : "");
		row->r.kind = xstrdup(kind);
		row->r.namespaced = !strcmp(scope, "Namespaced");
		row->short_names = (const char **)strv_from(json_path_get(crd, "spec.names.shortNames"));
		row->categories = (const char **)strv_from(json_path_get(crd, "spec.names.categories"));
		row->r.short_names = row->short_names;
		row->r.categories = row->categories;
		row->r.verbs = terminating ? verbs_terminating : verbs_all;
		row->r.storage = xasprintf("%s/%s", group, plural);
		row->api_version = xasprintf("%s/%s", group, vname);
		row->qualified = xasprintf("%s.%s", plural, group);
		row->list_kind = xstrdup(list_kind ? list_kind : "");
		row->storage_api_version = xasprintf("%s/%s", group, sv ? sv : vname);
		if (sv && strcmp(sv, vname)) {
			/* the storage version's rows keep the fast paths */
			row->r.from_stored = cr_from_stored;
			row->r.to_stored = cr_to_stored;
		}
		row->schema = json_deep_copy(json_path_get(v, "schema.openAPIV3Schema"));
		size_t ns = 0;
		const json_t *subs = json_object_get(v, "subresources");
		const json_t *scale = json_object_get(subs, "scale");
		if (json_is_object(scale)) {
			row->subs[ns++] = (struct api_subresource){
				.name = "scale",
				.group = "autoscaling",
				.version = "v1",
				.kind = "Scale",
				.verbs = verbs_sub,
				.spec_replicas_path = path_of_jsonpath(
					json_string_value(json_object_get(scale, "specReplicasPath"))),
				.status_replicas_path = path_of_jsonpath(
					json_string_value(json_object_get(scale, "statusReplicasPath"))),
				.selector_path = path_of_jsonpath(
					json_string_value(json_object_get(scale, "labelSelectorPath"))),
			};
		}
		if (json_is_object(json_object_get(subs, "status")))
			row->subs[ns++] = (struct api_subresource){.name = "status",
								   .group = row->r.group,
								   .version = row->r.version,
								   .kind = row->r.kind,
								   .verbs = verbs_sub};
		row->subs[ns].name = NULL;
		row->r.subresources = row->subs;
		row_columns(row, json_object_get(v, "additionalPrinterColumns"));
		row->r.columns = row->columns;
		row->r.print_row = cr_print;
		row->r.prepare_create = cr_prepare_create;
		row->r.prepare_update = cr_prepare_update;
		row->r.defaults = cr_defaults;
		row->r.validate = cr_validate;
		row->r.prune = cr_prune;
		*tail = row;
		tail = &row->next;
	}
	return head;
}

/* --- the registry ------------------------------------------------------------------ */

static int64_t current_rev_locked(const char *name)
{
	for (struct crd_row *r = reg.rows; r; r = r->next)
		if (!strcmp(r->crd_name, name))
			return r->crd_rev;
	return 0;
}

/* Marker for a CRD without served rows, so that an older event does not
 * bring back rows a newer one removed. */
static json_t *known_revs;

/* Publishes the rows of crd (borrowed; NULL: deleted) named name at rev,
 * unless a newer state of it is already known. */
static void registry_apply(const char *name, const json_t *crd, int64_t rev)
{
	struct crd_row *fresh = crd ? rows_build(crd, rev) : NULL;
	pthread_mutex_lock(&reg.mu);
	if (!known_revs)
		known_revs = json_object();
	int64_t known = json_integer_value(json_object_get(known_revs, name));
	if (known < current_rev_locked(name))
		known = current_rev_locked(name);
	if (rev <= known && known) {
		pthread_mutex_unlock(&reg.mu);
		while (fresh) {
			struct crd_row *n = fresh->next;
			row_free(fresh);
			fresh = n;
		}
		return;
	}
	json_object_set_new(known_revs, name, json_integer(rev));
	struct crd_row **pp = &reg.rows;
	while (*pp) {
		struct crd_row *r = *pp;
		if (!strcmp(r->crd_name, name)) {
			*pp = r->next;
			r->retired = true;
			r->next = reg.retired;
			reg.retired = r;
		} else {
			pp = &r->next;
		}
	}
	*pp = fresh;
	if (crd && json_path_get(crd, "metadata.deletionTimestamp")) {
		if (!reg.cleanup)
			reg.cleanup = json_array();
		json_array_append_new(reg.cleanup, json_string(name));
		pthread_cond_broadcast(&reg.cond);
	}
	pthread_mutex_unlock(&reg.mu);
}

static void registry_apply_text(const char *key, const char *value, int64_t rev)
{
	const char *name = key + strlen(CRD_PREFIX);
	cleanup_json json_t *crd = value ? json_loads(value, 0, NULL) : NULL;
	registry_apply(name, crd, rev);
}

static void on_event(const struct store_event *ev, void *arg)
{
	(void)arg;
	if (ev->type == STORE_EVENT_EXPIRED) {
		pthread_mutex_lock(&reg.mu);
		reg.resync = true;
		pthread_cond_broadcast(&reg.cond);
		pthread_mutex_unlock(&reg.mu);
		return;
	}
	if (!ev->key || strncmp(ev->key, CRD_PREFIX, strlen(CRD_PREFIX)))
		return;
	registry_apply_text(ev->key, ev->type == STORE_EVENT_PUT ? ev->value : NULL, ev->rev);
}

/* Lists the CRDs and watches from there on. */
static int registry_load(struct mk_err **err)
{
	struct store_list l = {0};
	if (store_list(reg.st, CRD_PREFIX, NULL, 0, 0, &l, err) < 0)
		return -1;
	cleanup_json json_t *listed = json_object();
	for (size_t i = 0; i < l.n; i++) {
		registry_apply_text(l.items[i].key, l.items[i].value, l.items[i].mod_rev);
		json_object_set_new(listed, l.items[i].key + strlen(CRD_PREFIX), json_true());
	}
	int64_t rev = l.rev;
	store_list_free(&l);
	/* a relist after a lost watch: CRDs deleted meanwhile are gone */
	cleanup_json json_t *gone = json_array();
	pthread_mutex_lock(&reg.mu);
	for (struct crd_row *r = reg.rows; r; r = r->next)
		if (!json_object_get(listed, r->crd_name) && r->crd_rev <= rev)
			json_array_append_new(gone, json_string(r->crd_name));
	pthread_mutex_unlock(&reg.mu);
	size_t i;
	json_t *g;
	json_array_foreach(gone, i, g)
		registry_apply(json_string_value(g), NULL, rev);
	struct store_watch *w = store_watch(reg.st, CRD_PREFIX, rev, on_event, NULL, err);
	if (!w)
		return -1;
	pthread_mutex_lock(&reg.mu);
	reg.watch = w;
	pthread_mutex_unlock(&reg.mu);
	return 0;
}

/* Deletes every object of the CRD name, then its cleanup finalizer (and
 * with the last finalizer the CRD). */
static void cleanup_crd(const char *name)
{
	cleanup_free char *key = xasprintf("%s%s", CRD_PREFIX, name);
	for (int attempt = 0; attempt < 16; attempt++) {
		struct store_kv kv = {0};
		cleanup_err struct mk_err *err = NULL;
		if (store_get(reg.st, key, &kv, &err) < 0)
			return;
		cleanup_json json_t *crd = json_loads(kv.value, 0, NULL);
		int64_t rev = kv.mod_rev;
		store_kv_free(&kv);
		if (!crd || !json_path_get(crd, "metadata.deletionTimestamp"))
			return;
		const char *group = json_path_str(crd, "spec.group");
		const char *plural = json_path_str(crd, "spec.names.plural");
		if (group && plural) {
			cleanup_free char *prefix = xasprintf("/registry/%s/%s/", group, plural);
			struct store_list l = {0};
			if (store_list(reg.st, prefix, NULL, 0, 0, &l, &err) < 0) {
				log_warn("deleting the objects of %s: %s", name, mk_err_msg(err));
				return;
			}
			for (size_t i = 0; i < l.n; i++) {
				cleanup_err struct mk_err *derr = NULL;
				if (store_delete(reg.st, l.items[i].key, 0, NULL, &derr) < 0 &&
				    mk_err_code(derr) != MK_ENOTFOUND)
					log_warn("deleting %s: %s", l.items[i].key, mk_err_msg(derr));
			}
			store_list_free(&l);
		}
		json_t *fins = json_path_get(crd, "metadata.finalizers");
		json_t *keep = json_array();
		size_t i;
		json_t *f;
		json_array_foreach(fins, i, f)
			if (!json_is_string(f) || strcmp(json_string_value(f), CLEANUP_FINALIZER))
				json_array_append(keep, f);
		int64_t r;
		if (json_array_size(keep) == 0) {
			json_decref(keep);
			r = store_delete(reg.st, key, rev, NULL, &err);
		} else if (json_array_size(keep) == json_array_size(fins)) {
			json_decref(keep);
			return; /* others' finalizers: they remove theirs */
		} else {
			json_path_set(crd, "metadata.finalizers", keep);
			json_object_del(json_object_get(crd, "metadata"), "resourceVersion");
			cleanup_free char *text = json_dumps(crd, JSON_COMPACT | JSON_PRESERVE_ORDER);
			r = store_update(reg.st, key, text, rev, NULL, &err);
		}
		if (r >= 0 || (mk_err_code(err) != MK_ECONFLICT))
			return;
	}
}

static void *worker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&reg.mu);
	while (!reg.stopping) {
		if (reg.resync) {
			reg.resync = false;
			struct store_watch *old = reg.watch;
			reg.watch = NULL;
			pthread_mutex_unlock(&reg.mu);
			store_watch_stop(reg.st, old);
			cleanup_err struct mk_err *err = NULL;
			if (registry_load(&err) < 0) {
				log_warn("custom resource definitions: relisting: %s", mk_err_msg(err));
				pthread_mutex_lock(&reg.mu);
				reg.resync = true;
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 1;
				pthread_cond_timedwait(&reg.cond, &reg.mu, &ts);
				continue;
			}
			pthread_mutex_lock(&reg.mu);
			continue;
		}
		if (json_array_size(reg.cleanup)) {
			json_t *q = reg.cleanup;
			reg.cleanup = NULL;
			pthread_mutex_unlock(&reg.mu);
			size_t i;
			json_t *n;
			json_array_foreach(q, i, n)
				cleanup_crd(json_string_value(n));
			json_decref(q);
			pthread_mutex_lock(&reg.mu);
			continue;
		}
		pthread_cond_wait(&reg.cond, &reg.mu);
	}
	pthread_mutex_unlock(&reg.mu);
	return NULL;
}

int crd_registry_start(struct store *st, struct mk_err **err)
{
	reg.st = st;
	reg.stopping = false;
	if (registry_load(err) < 0)
		return -1;
	if (pthread_create(&reg.worker, NULL, worker_main, NULL) != 0) {
		store_watch_stop(st, reg.watch);
		reg.watch = NULL;
		return mk_err_set(err, MK_EIO, "starting the CRD worker failed");
	}
	reg.worker_running = true;
	return 0;
}

void crd_registry_stop(void)
{
	if (!reg.worker_running)
		return;
	pthread_mutex_lock(&reg.mu);
	reg.stopping = true;
	pthread_cond_broadcast(&reg.cond);
	struct store_watch *w = reg.watch;
	reg.watch = NULL;
	pthread_mutex_unlock(&reg.mu);
	pthread_join(reg.worker, NULL);
	reg.worker_running = false;
	store_watch_stop(reg.st, w);
	pthread_mutex_lock(&reg.mu);
	json_decref(reg.cleanup);
	reg.cleanup = NULL;
	pthread_mutex_unlock(&reg.mu);
}

/* --- lookups ----------------------------------------------------------------------- */

static const struct crd_row *find_locked(const char *group, const char *version,
					 const char *resource)
{
	for (struct crd_row *r = reg.rows; r; r = r->next)
		if (!strcmp(r->r.group, group) && !strcmp(r->r.version, version) &&
		    !strcmp(r->r.resource, resource))
			return r;
	return NULL;
}

const struct api_resource *crd_resource_find(const char *group, const char *version,
					     const char *resource)
{
	if (!group || !version || !resource || !strchr(group, '.'))
		return NULL;
	pthread_mutex_lock(&reg.mu);
	const struct crd_row *r = find_locked(group, version, resource);
	struct store *st = reg.st;
	pthread_mutex_unlock(&reg.mu);
	if (r || !st)
		return r ? &r->r : NULL;
	/* A CRD written through another server, or whose event an etcd watch
	 * has not delivered yet: read it, so that a CRD is served once its
	 * write has returned. */
	cleanup_free char *key = xasprintf("%s%s.%s", CRD_PREFIX, resource, group);
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_get(st, key, &kv, &err) < 0)
		return NULL;
	registry_apply_text(kv.key ? kv.key : key, kv.value, kv.mod_rev);
	store_kv_free(&kv);
	pthread_mutex_lock(&reg.mu);
	r = find_locked(group, version, resource);
	pthread_mutex_unlock(&reg.mu);
	return r ? &r->r : NULL;
}

const struct api_resource *crd_resource_by_kind(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	const struct crd_row *found = NULL;
	pthread_mutex_lock(&reg.mu);
	for (struct crd_row *r = reg.rows; r && !found; r = r->next)
		if (!strcmp(r->api_version, api_version) && !strcmp(r->r.kind, kind))
			found = r;
	pthread_mutex_unlock(&reg.mu);
	return found ? &found->r : NULL;
}

static int row_cmp(const void *a, const void *b)
{
	const struct crd_row *x = *(const struct crd_row *const *)a;
	const struct crd_row *y = *(const struct crd_row *const *)b;
	int c = strcmp(x->crd_name, y->crd_name);
	return c ? c : strcmp(x->r.version, y->r.version);
}

const struct api_resource **crd_resources(size_t *n)
{
	pthread_mutex_lock(&reg.mu);
	size_t count = 0;
	for (struct crd_row *r = reg.rows; r; r = r->next)
		count++;
	const struct crd_row **rows = xcalloc(count + 1, sizeof(*rows));
	size_t i = 0;
	for (struct crd_row *r = reg.rows; r; r = r->next)
		rows[i++] = r;
	pthread_mutex_unlock(&reg.mu);
	qsort(rows, count, sizeof(*rows), row_cmp);
	*n = count;
	return (const struct api_resource **)rows;
}

bool crd_resource_is_custom(const struct api_resource *r)
{
	return r && r->prune == cr_prune;
}

const char *crd_resource_api_version(const struct api_resource *r)
{
	return ((const struct crd_row *)r)->api_version;
}

const char *crd_resource_qualified(const struct api_resource *r)
{
	return ((const struct crd_row *)r)->qualified;
}

/* The row of a custom object by its apiVersion and kind, or NULL. */
static const struct crd_row *row_of(const json_t *obj)
{
	const struct api_resource *r =
		crd_resource_by_kind(json_path_str(obj, "apiVersion"), json_path_str(obj, "kind"));
	return (const struct crd_row *)r;
}

/* --- custom resource hooks ---------------------------------------------------------- */

static void cr_prepare_create(json_t *obj)
{
	const struct crd_row *row = row_of(obj);
	if (row && api_resource_sub(&row->r, "status"))
		json_object_del(obj, "status");
}

static void cr_prepare_update(json_t *obj, const json_t *old)
{
	(void)obj;
	(void)old; /* status is kept by the handler for rows with a status subresource */
}

static void cr_defaults(json_t *obj)
{
	const struct crd_row *row = row_of(obj);
	if (!row || !row->schema)
		return;
	jsonschema_prune(row->schema, obj, NULL);
	jsonschema_default(row->schema, obj);
}

static void cr_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	(void)old;
	const struct crd_row *row = row_of(obj);
	if (row && row->schema)
		jsonschema_validate(row->schema, obj, causes);
}

static json_t *cr_prune(const struct api_resource *r, json_t *obj)
{
	const struct crd_row *row = (const struct crd_row *)r;
	if (!row->schema)
		return NULL;
	cleanup_json json_t *paths = json_array();
	jsonschema_prune(row->schema, obj, paths);
	if (!json_array_size(paths))
		return NULL;
	json_t *out = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(paths, i, p)
	{
		cleanup_free char *s = xasprintf("unknown field \"%s\"", json_string_value(p));
		json_array_append_new(out, json_string(s));
	}
	return out;
}

/* The value at a simple JSONPath ("spec.replicas", "status.conditions[0].type"),
 * borrowed from obj, or NULL. */
static const json_t *value_at(const json_t *obj, const char *path)
{
	cleanup_free char *copy = xstrdup(path);
	const json_t *v = obj;
	char *save = NULL;
	for (char *seg = strtok_r(copy, ".", &save); seg && v; seg = strtok_r(NULL, ".", &save)) {
		char *br = strchr(seg, '[');
		if (br)
			*br = '\0';
		if (seg[0])
			v = json_object_get(v, seg);
		while (br && v) {
			char *end = strchr(br + 1, ']');
			if (!end)
				return NULL;
			*end = '\0';
			const char *idx = br + 1;
			if (idx[0] == '\'' || idx[0] == '"') {
				cleanup_free char *k = xstrndup(idx + 1, strlen(idx) >= 2 ? strlen(idx) - 2 : 0);
				v = json_object_get(v, k);
			} else {
				long i = strtol(idx, NULL, 10);
				if (i < 0)
					i += (long)json_array_size(v);
				v = i >= 0 ? json_array_get(v, (size_t)i) : NULL;
			}
			br = strchr(end + 1, '[');
		}
	}
	return v;
}

/* One cell as upstream's CR table convertor makes it: strings printed,
 * integers and numbers as numbers, booleans, dates as ages, absent as null. */
static json_t *cell_of(const json_t *v, const char *type, time_t now)
{
	if (!v || json_is_null(v))
		return json_null();
	if (!strcmp(type, "string")) {
		if (json_is_string(v))
			return json_incref((json_t *)v);
		cleanup_free char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		return json_string(s);
	}
	if (!strcmp(type, "integer")) {
		if (json_is_integer(v))
			return json_incref((json_t *)v);
		if (json_is_real(v))
			return json_integer((json_int_t)json_real_value(v));
		return json_null();
	}
	if (!strcmp(type, "number"))
		return json_is_number(v) ? json_incref((json_t *)v) : json_null();
	if (!strcmp(type, "boolean"))
		return json_is_boolean(v) ? json_incref((json_t *)v) : json_null();
	if (!strcmp(type, "date")) {
		time_t t;
		if (!json_is_string(v) || time_parse_rfc3339(json_string_value(v), &t, NULL) < 0)
			return json_null();
		char b[32];
		return json_string(time_human_duration(t, now, b, sizeof(b)));
	}
	cleanup_free char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return json_string(s);
}

static void cr_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	const struct crd_row *row = row_of(obj);
	if (!row)
		return;
	for (size_t i = 0; i < row->ncols; i++)
		json_array_append_new(cells,
				      cell_of(value_at(obj, row->cols[i].path), row->cols[i].type, now));
}

/* --- OpenAPI ---------------------------------------------------------------------- */

/* "com.example.v1.Widget" for group example.com: the group's labels
 * reversed, as upstream names CR definitions. New string. */
static char *definition_name(const struct crd_row *row)
{
	struct buf b = BUF_INIT;
	cleanup_free char *g = xstrdup(row->r.group);
	char *labels[64];
	size_t n = 0;
	char *save = NULL;
	for (char *l = strtok_r(g, ".", &save); l && n < 64; l = strtok_r(NULL, ".", &save))
		labels[n++] = l;
	while (n)
		buf_printf(&b, "%s.", labels[--n]);
	buf_printf(&b, "%s.%s", row->r.version, row->r.kind);
	return buf_steal(&b);
}

bool crd_openapi_components(const char *group, const char *version, json_t *schemas)
{
	size_t n;
	const struct api_resource **rows = crd_resources(&n);
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		const struct crd_row *row = (const struct crd_row *)rows[i];
		if (strcmp(row->r.group, group) || strcmp(row->r.version, version))
			continue;
		any = true;
		json_t *s = row->schema ? json_deep_copy(row->schema)
					: json_pack("{s:s, s:b}", "type", "object",
						    "x-kubernetes-preserve-unknown-fields", 1);
		json_t *props = json_object_get(s, "properties");
		if (!json_is_object(props)) {
			props = json_object();
			json_object_set_new(s, "properties", props);
		}
		json_object_set_new(
			props, "apiVersion",
			json_pack("{s:s, s:s}", "description",
				  "APIVersion defines the versioned schema of this representation of "
				  "an object. Servers should convert recognized schemas to the latest "
				  "internal value, and may reject unrecognized values. More info: "
				  "https://git.k8s.io/community/contributors/devel/sig-architecture/"
				  "api-conventions.md#resources",
				  "type", "string"));
		json_object_set_new(
			props, "kind",
			json_pack("{s:s, s:s}", "description",
				  "Kind is a string value representing the REST resource this object "
				  "represents. Servers may infer this from the endpoint the client "
				  "submits requests to. Cannot be updated. In CamelCase. More info: "
				  "https://git.k8s.io/community/contributors/devel/sig-architecture/"
				  "api-conventions.md#types-kinds",
				  "type", "string"));
		const char *meta = schema_openapi_object_meta(schemas);
		if (meta) {
			cleanup_free char *ref = xasprintf("#/components/schemas/%s", meta);
			json_object_set_new(
				props, "metadata",
				json_pack("{s:[{s:s}], s:s}", "allOf", "$ref", ref, "description",
					  "Standard object's metadata. More info: "
					  "https://git.k8s.io/community/contributors/devel/"
					  "sig-architecture/api-conventions.md#metadata"));
		}
		json_object_set_new(s, "x-kubernetes-group-version-kind",
				    json_pack("[{s:s, s:s, s:s}]", "group", row->r.group, "kind",
					      row->r.kind, "version", row->r.version));
		cleanup_free char *dn = definition_name(row);
		json_object_set_new(schemas, dn, s);
		/* the list kind, as upstream publishes it */
		if (row->list_kind[0]) {
			cleanup_free char *ldn = xasprintf("%sList", dn);
			cleanup_free char *ref = xasprintf("#/components/schemas/%s", dn);
			json_object_set_new(
				schemas, ldn,
				json_pack("{s:s, s:s, s:[s], s:{s:{s:s}, s:{s:s, s:{s:s}}, s:{s:s}, "
					  "s:{s:s}}, s:[{s:s, s:s, s:s}]}",
					  "description", "", "type", "object", "required", "items",
					  "properties", "apiVersion", "type", "string", "items",
					  "type", "array", "items", "$ref", ref, "kind", "type",
					  "string", "metadata", "type", "object",
					  "x-kubernetes-group-version-kind", "group", row->r.group,
					  "kind", row->list_kind, "version", row->r.version));
		}
	}
	free(rows);
	return any;
}

/* --- the CustomResourceDefinition kind ---------------------------------------------- */

void crd_defaults(json_t *obj)
{
	json_t *names = json_path_get(obj, "spec.names");
	const char *kind = json_string_value(json_object_get(names, "kind"));
	if (json_is_object(names) && kind && kind[0]) {
		const char *singular = json_string_value(json_object_get(names, "singular"));
		if (!singular || !singular[0]) {
			cleanup_free char *low = xstrdup(kind);
			for (char *c = low; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			json_object_set_new(names, "singular", json_string(low));
		}
		const char *lk = json_string_value(json_object_get(names, "listKind"));
		if (!lk || !lk[0]) {
			cleanup_free char *l = xasprintf("%sList", kind);
			json_object_set_new(names, "listKind", json_string(l));
		}
	}
	json_t *spec = json_object_get(obj, "spec");
	if (json_is_object(spec) && !json_is_object(json_object_get(spec, "conversion")))
		json_object_set_new(spec, "conversion", json_pack("{s:s}", "strategy", "None"));
}

static const char *storage_version(const json_t *obj)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_path_get(obj, "spec.versions"), i, v)
		if (json_is_true(json_object_get(v, "storage")))
			return json_string_value(json_object_get(v, "name"));
	return NULL;
}

/* The status upstream's controllers write at once: names accepted as
 * asked, established, the storage version recorded. */
static void crd_status(json_t *obj, const json_t *old_status)
{
	cleanup_free char *now = time_now_rfc3339();
	json_t *status = json_object();
	json_t *names = json_path_get(obj, "spec.names");
	json_object_set_new(status, "acceptedNames",
			    json_is_object(names) ? json_deep_copy(names) : json_object());
	json_t *conds = json_array();
	static const struct {
		const char *type, *reason, *message;
	} want[] = {
		{"NamesAccepted", "NoConflicts", "no conflicts found"},
		{"Established", "InitialNamesAccepted", "the initial names have been accepted"},
	};
	for (size_t i = 0; i < 2; i++) {
		const char *since = now;
		size_t j;
		json_t *c;
		json_array_foreach(json_object_get(old_status, "conditions"), j, c)
		{
			const char *t = json_string_value(json_object_get(c, "type"));
			const char *s = json_string_value(json_object_get(c, "status"));
			const char *lt = json_string_value(json_object_get(c, "lastTransitionTime"));
			if (t && s && lt && !strcmp(t, want[i].type) && !strcmp(s, "True"))
				since = lt;
		}
		json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
						       want[i].type, "status", "True",
						       "lastTransitionTime", since, "reason",
						       want[i].reason, "message", want[i].message));
	}
	if (json_path_get(obj, "metadata.deletionTimestamp"))
		json_array_append_new(conds,
				      json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "Terminating",
						"status", "True", "lastTransitionTime", now, "reason",
						"InstanceDeletionInProgress", "message",
						"CustomResource deletion is in progress"));
	json_object_set_new(status, "conditions", conds);
	json_t *stored = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(old_status, "storedVersions"), i, v)
		json_array_append(stored, v);
	const char *sv = storage_version(obj);
	bool have = false;
	json_array_foreach(stored, i, v)
		have |= sv && json_is_string(v) && !strcmp(json_string_value(v), sv);
	if (sv && !have)
		json_array_append_new(stored, json_string(sv));
	json_object_set_new(status, "storedVersions", stored);
	json_object_set_new(obj, "status", status);
}

void crd_prepare_create(json_t *obj)
{
	crd_defaults(obj);
	crd_status(obj, NULL);
	json_t *md = json_object_get(obj, "metadata");
	json_t *fins = json_object_get(md, "finalizers");
	if (!json_is_array(fins)) {
		fins = json_array();
		json_object_set_new(md, "finalizers", fins);
	}
	size_t i;
	json_t *f;
	json_array_foreach(fins, i, f)
		if (json_is_string(f) && !strcmp(json_string_value(f), CLEANUP_FINALIZER))
			return;
	json_array_append_new(fins, json_string(CLEANUP_FINALIZER));
}

void crd_prepare_update(json_t *obj, const json_t *old)
{
	crd_defaults(obj);
	crd_status(obj, json_object_get(old, "status"));
}

/* The DNS-1035 label rule as upstream words it; NULL when s follows it. */
static const char *dns1035(const char *s)
{
	static const char msg[] =
		"a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
		"start with an alphabetic character, and end with an alphanumeric character (e.g. "
		"'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
	size_t n = strlen(s);
	if (n > 63)
		return "must be no more than 63 characters";
	if (!n || !islower((unsigned char)s[0]) ||
	    !(islower((unsigned char)s[n - 1]) || isdigit((unsigned char)s[n - 1])))
		return msg;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return msg;
	return NULL;
}

static void check_label(json_t *causes, const char *field, const char *value, bool mixed_case)
{
	if (!value || !value[0])
		return;
	cleanup_free char *low = xstrdup(value);
	if (mixed_case)
		for (char *c = low; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	const char *e = dns1035(low);
	if (e)
		api_cause_add(causes, "FieldValueInvalid", field, "Invalid value: \"%s\": %s%s", value,
			      mixed_case ? "may have mixed case, but should otherwise match: " : "", e);
}

static void required(json_t *causes, const json_t *obj, const char *path)
{
	const char *v = json_path_str(obj, path);
	if (!v || !v[0])
		api_cause_add(causes, "FieldValueRequired", path, "Required value");
}

/* Go's %#v of spec.versions as upstream quotes it in its messages, in
 * short: the type and each version's name. */
static char *versions_value(const json_t *versions)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, "[]apiextensions.CustomResourceDefinitionVersion{");
	size_t i;
	json_t *v;
	json_array_foreach(versions, i, v)
	{
		const char *n = json_string_value(json_object_get(v, "name"));
		buf_printf(&b, "%sapiextensions.CustomResourceDefinitionVersion{Name:\"%s\", "
			       "Served:%s, Storage:%s, ...}",
			   i ? ", " : "", n ? n : "",
			   json_is_true(json_object_get(v, "served")) ? "true" : "false",
			   json_is_true(json_object_get(v, "storage")) ? "true" : "false");
	}
	buf_append_char(&b, '}');
	return buf_steal(&b);
}

static void validate_path_under(json_t *causes, const char *field, const char *jp,
				const char *const *roots, const char *what)
{
	if (!jp)
		return;
	bool ok = false;
	for (const char *const *r = roots; *r; r++) {
		size_t n = strlen(*r);
		if (!strncmp(jp, *r, n) && jp[n] && jp[n] != '.')
			ok = true;
	}
	if (!ok)
		api_cause_add(causes, "FieldValueInvalid", field, "Invalid value: \"%s\": %s", jp,
			      what);
}

static void validate_version(const json_t *v, size_t i, json_t *causes)
{
	cleanup_free char *base = xasprintf("spec.versions[%zu]", i);
	cleanup_free char *nf = xasprintf("%s.name", base);
	const char *name = json_string_value(json_object_get(v, "name"));
	if (!name || !name[0])
		api_cause_add(causes, "FieldValueRequired", nf, "Required value");
	else
		check_label(causes, nf, name, false);
	cleanup_free char *sp = xasprintf("%s.schema.openAPIV3Schema", base);
	const json_t *schema = json_path_get(v, "schema.openAPIV3Schema");
	if (!schema)
		api_cause_add(causes, "FieldValueRequired", sp, "Required value: schemas are required");
	else
		jsonschema_check(schema, sp, causes);
	const json_t *scale = json_path_get(v, "subresources.scale");
	if (json_is_object(scale)) {
		static const char *const spec_root[] = {".spec.", NULL};
		static const char *const status_root[] = {".status.", NULL};
		static const char *const either[] = {".spec.", ".status.", NULL};
		cleanup_free char *f1 = xasprintf("%s.subresources.scale.specReplicasPath", base);
		cleanup_free char *f2 = xasprintf("%s.subresources.scale.statusReplicasPath", base);
		cleanup_free char *f3 = xasprintf("%s.subresources.scale.labelSelectorPath", base);
		const char *srp = json_string_value(json_object_get(scale, "specReplicasPath"));
		const char *strp = json_string_value(json_object_get(scale, "statusReplicasPath"));
		if (!srp || !srp[0])
			api_cause_add(causes, "FieldValueRequired", f1, "Required value");
		else
			validate_path_under(causes, f1, srp, spec_root,
					    "should be a json path under .spec");
		if (!strp || !strp[0])
			api_cause_add(causes, "FieldValueRequired", f2, "Required value");
		else
			validate_path_under(causes, f2, strp, status_root,
					    "should be a json path under .status");
		validate_path_under(causes, f3,
				    json_string_value(json_object_get(scale, "labelSelectorPath")),
				    either, "should be a json path under either .spec or .status");
	}
	size_t j;
	json_t *c;
	json_array_foreach(json_object_get(v, "additionalPrinterColumns"), j, c)
	{
		cleanup_free char *cf = xasprintf("%s.additionalPrinterColumns[%zu]", base, j);
		cleanup_free char *fname = xasprintf("%s.name", cf);
		cleanup_free char *ftype = xasprintf("%s.type", cf);
		cleanup_free char *fpath = xasprintf("%s.jsonPath", cf);
		const char *cn = json_string_value(json_object_get(c, "name"));
		const char *ct = json_string_value(json_object_get(c, "type"));
		const char *jp = json_string_value(json_object_get(c, "jsonPath"));
		if (!cn || !cn[0])
			api_cause_add(causes, "FieldValueRequired", fname, "Required value");
		if (!ct || !ct[0])
			api_cause_add(causes, "FieldValueRequired", ftype, "Required value");
		else if (strcmp(ct, "boolean") && strcmp(ct, "date") && strcmp(ct, "integer") &&
			 strcmp(ct, "number") && strcmp(ct, "string"))
			api_cause_add(causes, "FieldValueNotSupported", ftype,
				      "Unsupported value: \"%s\": supported values: \"boolean\", "
				      "\"date\", \"integer\", \"number\", \"string\"",
				      ct);
		if (!jp || !jp[0])
			api_cause_add(causes, "FieldValueRequired", fpath, "Required value");
	}
}

void crd_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	const char *name = json_path_str(obj, "metadata.name");
	const char *group = json_path_str(obj, "spec.group");
	const char *plural = json_path_str(obj, "spec.names.plural");
	cleanup_free char *want = xasprintf("%s.%s", plural ? plural : "", group ? group : "");
	if (name && strcmp(name, want))
		api_cause_add(causes, "FieldValueInvalid", "metadata.name",
			      "Invalid value: \"%s\": must be spec.names.plural+\".\"+spec.group",
			      name);
	if (!group || !group[0]) {
		api_cause_add(causes, "FieldValueRequired", "spec.group", "Required value");
	} else if (names_check_dns1123_subdomain(group)) {
		api_cause_add(causes, "FieldValueInvalid", "spec.group", "Invalid value: \"%s\": %s",
			      group, names_check_dns1123_subdomain(group));
	} else if (!strchr(group, '.')) {
		api_cause_add(causes, "FieldValueInvalid", "spec.group",
			      "Invalid value: \"%s\": should be a domain with at least one dot", group);
	}
	const char *scope = json_path_str(obj, "spec.scope");
	if (!scope || !scope[0])
		api_cause_add(causes, "FieldValueRequired", "spec.scope", "Required value");
	else if (strcmp(scope, "Cluster") && strcmp(scope, "Namespaced"))
		api_cause_add(causes, "FieldValueNotSupported", "spec.scope",
			      "Unsupported value: \"%s\": supported values: \"Cluster\", \"Namespaced\"",
			      scope);
	const json_t *versions = json_path_get(obj, "spec.versions");
	size_t storage = 0;
	bool unique = true;
	size_t i;
	json_t *v;
	json_array_foreach(versions, i, v)
	{
		if (json_is_true(json_object_get(v, "storage")))
			storage++;
		const char *vn = json_string_value(json_object_get(v, "name"));
		for (size_t j = 0; j < i && vn; j++) {
			const char *o = json_string_value(
				json_object_get(json_array_get(versions, j), "name"));
			if (o && !strcmp(o, vn))
				unique = false;
		}
		validate_version(v, i, causes);
	}
	if (!json_array_size(versions)) {
		api_cause_add(causes, "FieldValueInvalid", "spec.versions",
			      "Invalid value: []apiextensions.CustomResourceDefinitionVersion(nil): "
			      "must have exactly one version marked as storage version");
	} else {
		cleanup_free char *vv = versions_value(versions);
		if (!unique)
			api_cause_add(causes, "FieldValueInvalid", "spec.versions",
				      "Invalid value: %s: must contain unique version names", vv);
		if (storage != 1)
			api_cause_add(causes, "FieldValueInvalid", "spec.versions",
				      "Invalid value: %s: must have exactly one version marked as "
				      "storage version",
				      vv);
	}
	required(causes, obj, "spec.names.plural");
	required(causes, obj, "spec.names.singular");
	required(causes, obj, "spec.names.kind");
	required(causes, obj, "spec.names.listKind");
	check_label(causes, "spec.names.plural", json_path_str(obj, "spec.names.plural"), false);
	check_label(causes, "spec.names.singular", json_path_str(obj, "spec.names.singular"), false);
	check_label(causes, "spec.names.kind", json_path_str(obj, "spec.names.kind"), true);
	check_label(causes, "spec.names.listKind", json_path_str(obj, "spec.names.listKind"), true);
	const char *kind = json_path_str(obj, "spec.names.kind");
	const char *lk = json_path_str(obj, "spec.names.listKind");
	if (kind && lk && kind[0] && !strcmp(kind, lk))
		api_cause_add(causes, "FieldValueInvalid", "spec.names.listKind",
			      "Invalid value: \"%s\": kind and listKind may not be the same", lk);
	json_array_foreach(json_path_get(obj, "spec.names.shortNames"), i, v)
	{
		cleanup_free char *f = xasprintf("spec.names.shortNames[%zu]", i);
		check_label(causes, f, json_string_value(v), false);
	}
	json_array_foreach(json_path_get(obj, "spec.names.categories"), i, v)
	{
		cleanup_free char *f = xasprintf("spec.names.categories[%zu]", i);
		check_label(causes, f, json_string_value(v), false);
	}
	const char *strategy = json_path_str(obj, "spec.conversion.strategy");
	if (strategy && strcmp(strategy, "None") && strcmp(strategy, "Webhook"))
		api_cause_add(causes, "FieldValueNotSupported", "spec.conversion.strategy",
			      "Unsupported value: \"%s\": supported values: \"None\", \"Webhook\"",
			      strategy);
	else if (strategy && !strcmp(strategy, "Webhook"))
		api_cause_add(causes, "FieldValueForbidden", "spec.conversion.strategy",
			      "Forbidden: conversion webhooks are not supported by this server");
	if (!old)
		return;
	static const struct {
		const char *path;
	} immutable[] = {{"spec.group"}, {"spec.names.plural"}, {"spec.scope"}, {"spec.names.kind"}};
	for (size_t k = 0; k < sizeof(immutable) / sizeof(immutable[0]); k++) {
		const char *a = json_path_str(obj, immutable[k].path);
		const char *b = json_path_str(old, immutable[k].path);
		if (a && b && strcmp(a, b))
			api_cause_add(causes, "FieldValueInvalid", immutable[k].path,
				      "Invalid value: \"%s\": field is immutable", a);
	}
}
