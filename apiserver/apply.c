/* Server-side apply and field ownership (see the header). */
#include "apiserver/apply.h"

#include <ctype.h>
#include <string.h>

#include "apiserver/fieldset.h"
#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "xalloc.h"

/* --- managers ----------------------------------------------------------------
 * The working form of managedFields: an array of objects {"id", "manager",
 * "operation", "apiVersion", "subresource"?, "time"?, "set"}, where id is
 * upstream's manager identifier (the entry's JSON without time and fields,
 * and without apiVersion for appliers), which is what makes two entries the
 * same manager. */

static char *manager_id(const char *manager, const char *operation, const char *api_version,
			const char *subresource)
{
	cleanup_json json_t *o = json_object();
	json_object_set_new(o, "manager", json_string(manager));
	json_object_set_new(o, "operation", json_string(operation));
	if (strcmp(operation, "Apply") && api_version && api_version[0])
		json_object_set_new(o, "apiVersion", json_string(api_version));
	if (subresource && subresource[0])
		json_object_set_new(o, "subresource", json_string(subresource));
	return json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static json_t *manager_new(const char *manager, const char *operation, const char *api_version,
			   const char *subresource, const char *time, json_t *set)
{
	cleanup_free char *id = manager_id(manager, operation, api_version, subresource);
	json_t *m =
		json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "manager", manager, "operation",
			  operation, "apiVersion", api_version ? api_version : "", "set", set);
	if (subresource && subresource[0])
		json_object_set_new(m, "subresource", json_string(subresource));
	if (time)
		json_object_set_new(m, "time", json_string(time));
	return m;
}

/* The managers of a managedFields array (borrowed), or NULL when it is not
 * one upstream would decode. */
static json_t *managers_decode(const json_t *mf)
{
	if (!json_is_array(mf))
		return NULL;
	cleanup_json json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(mf, i, e)
	{
		const char *manager = json_string_value(json_object_get(e, "manager"));
		const char *op = json_string_value(json_object_get(e, "operation"));
		const char *av = json_string_value(json_object_get(e, "apiVersion"));
		const char *ft = json_string_value(json_object_get(e, "fieldsType"));
		const char *sub = json_string_value(json_object_get(e, "subresource"));
		const char *time = json_string_value(json_object_get(e, "time"));
		if (!op || (strcmp(op, "Apply") && strcmp(op, "Update")) || !av || !av[0] || !ft ||
		    strcmp(ft, "FieldsV1"))
			return NULL;
		json_t *v1 = json_object_get(e, "fieldsV1");
		cleanup_json json_t *empty = json_object();
		json_t *set = fieldset_from_v1(v1 ? v1 : empty, NULL);
		if (!set)
			return NULL;
		json_array_append_new(out,
				      manager_new(manager ? manager : "", op, av, sub, time, set));
	}
	return steal_pointer(&out);
}

static json_t *manager_find(json_t *managers, const char *id)
{
	size_t i;
	json_t *m;
	json_array_foreach(managers, i, m) if (!strcmp(json_string_value(json_object_get(m, "id")),
						       id)) return m;
	return NULL;
}

static const char *mstr(const json_t *m, const char *k)
{
	const char *s = json_string_value(json_object_get(m, k));
	return s ? s : "";
}

static int manager_cmp(const void *a, const void *b)
{
	const json_t *p = *(json_t *const *)a, *q = *(json_t *const *)b;
	int c = strcmp(mstr(p, "operation"), mstr(q, "operation"));
	if (c)
		return c;
	/* RFC 3339 times in UTC with seconds compare as strings */
	if ((c = strcmp(mstr(p, "time"), mstr(q, "time"))))
		return c;
	if ((c = strcmp(mstr(p, "manager"), mstr(q, "manager"))))
		return c;
	if ((c = strcmp(mstr(p, "apiVersion"), mstr(q, "apiVersion"))))
		return c;
	return strcmp(mstr(p, "subresource"), mstr(q, "subresource"));
}

/* The n items of array a, borrowed, in a new vector (free() it). */
static json_t **items_of(const json_t *a, size_t *n)
{
	*n = json_array_size(a);
	json_t **v = xcalloc(*n ? *n : 1, sizeof(*v));
	for (size_t i = 0; i < *n; i++)
		v[i] = json_array_get(a, i);
	return v;
}

/* managers as a managedFields array, in upstream's order. */
static json_t *managers_encode(const json_t *managers)
{
	size_t n;
	cleanup_free json_t **v = items_of(managers, &n);
	qsort(v, n, sizeof(*v), manager_cmp);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object();
		if (mstr(v[i], "manager")[0])
			json_object_set_new(e, "manager", json_string(mstr(v[i], "manager")));
		json_object_set_new(e, "operation", json_string(mstr(v[i], "operation")));
		json_object_set_new(e, "apiVersion", json_string(mstr(v[i], "apiVersion")));
		if (mstr(v[i], "time")[0])
			json_object_set_new(e, "time", json_string(mstr(v[i], "time")));
		json_object_set_new(e, "fieldsType", json_string("FieldsV1"));
		json_object_set_new(e, "fieldsV1", fieldset_to_v1(json_object_get(v[i], "set")));
		if (mstr(v[i], "subresource")[0])
			json_object_set_new(e, "subresource",
					    json_string(mstr(v[i], "subresource")));
		json_array_append_new(out, e);
	}
	return out;
}

static void managers_drop_empty(json_t *managers)
{
	for (size_t i = json_array_size(managers); i-- > 0;)
		if (fieldset_empty(json_object_get(json_array_get(managers, i), "set")))
			json_array_remove(managers, i);
}

static void manager_set(json_t *m, json_t *set)
{
	json_object_set_new(m, "set", set);
}

/* The fields nobody owns, whatever the write: typemeta and the metadata the
 * server keeps (upstream's stripMetaManager). */
static json_t *strip_set(void)
{
	return json_pack("{s:{s:{}}, s:{s:{}}, s:{s:{}, s:{s:{}}, s:{s:{}}, s:{s:{}}, s:{s:{}},"
			 " s:{s:{}}, s:{s:{}}, s:{s:{}}, s:{s:{}}, s:{s:{}}}}",
			 "f:apiVersion", ".", "f:kind", ".", "f:metadata", ".", "f:name", ".",
			 "f:namespace", ".", "f:creationTimestamp", ".", "f:selfLink", ".", "f:uid",
			 ".", "f:clusterName", ".", "f:generation", ".", "f:managedFields", ".",
			 "f:resourceVersion", ".");
}

/* s without the stripped fields and those outside w's reach. */
static json_t *own_filter(json_t *s, const struct apply_write *w)
{
	cleanup_json json_t *strip = strip_set();
	json_t *out = fieldset_difference(s, strip);
	if (w->reset) {
		json_t *r = fieldset_remove_prefixes(out, w->reset);
		json_decref(out);
		out = r;
	}
	json_decref(s);
	return out;
}

static json_t *reach_filter(json_t *s, const struct apply_write *w)
{
	if (!w->reset)
		return s;
	json_t *r = fieldset_remove_prefixes(s, w->reset);
	json_decref(s);
	return r;
}

/* --- objects ---------------------------------------------------------------- */

/* obj without metadata.managedFields. New reference. */
static json_t *without_managed(const json_t *obj)
{
	json_t *c = json_copy_deep(obj);
	json_t *md = json_object_get(c, "metadata");
	if (json_is_object(md))
		json_object_del(md, "managedFields");
	return c;
}

/* The Go zero value of st as upstream encodes it: its non-pointer struct
 * fields present and empty, its required fields (no omitempty) null, all
 * else absent. What a create is compared with, so that what is there in a
 * zero object is not "added" by it. */
static json_t *zero_object(const struct schema_type *st)
{
	json_t *o = json_object();
	if (!st)
		return o;
	for (const struct schema_field *f = st->fields; f->name; f++) {
		if (f->kind == SCHEMA_STRUCT && f->zero && f->sub)
			json_object_set_new(o, f->name, zero_object(f->sub));
		else if (f->required)
			json_object_set_new(o, f->name, json_null());
	}
	return o;
}

/* --- merge ------------------------------------------------------------------ */

static json_t *merge(const struct fieldset_type *t, const json_t *lhs, const json_t *rhs);

static json_t *merge_list(const struct fieldset_type *t, const json_t *lhs, const json_t *rhs)
{
	struct fieldset_type et = fieldset_type_elem(t);
	cleanup_json json_t *rindex = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(rhs, i, v)
	{
		cleanup_free char *el = fieldset_item_element(t, v);
		if (!json_object_get(rindex, el))
			json_object_set(rindex, el, v);
	}
	cleanup_json json_t *lseen = json_object();
	json_t *out = json_array();
	json_array_foreach(lhs, i, v)
	{
		cleanup_free char *el = fieldset_item_element(t, v);
		json_t *r = json_object_get(rindex, el);
		json_object_set_new(lseen, el, json_true());
		if (r && t->rel == SCHEMA_REL_MAP)
			json_array_append_new(out, merge(&et, v, r));
		else
			json_array_append_new(out, json_copy_deep(v));
	}
	json_array_foreach(rhs, i, v)
	{
		cleanup_free char *el = fieldset_item_element(t, v);
		if (json_object_get(lseen, el))
			continue;
		json_object_set_new(lseen, el, json_true());
		json_array_append_new(out, json_copy_deep(v));
	}
	return out;
}

static json_t *merge(const struct fieldset_type *t, const json_t *lhs, const json_t *rhs)
{
	if (!lhs || fieldset_type_atomic(t))
		return json_copy_deep(rhs);
	if (t->kind == SCHEMA_LIST) {
		if (!json_is_array(lhs) || !json_is_array(rhs))
			return json_copy_deep(rhs);
		return merge_list(t, lhs, rhs);
	}
	if (!json_is_object(lhs) || !json_is_object(rhs))
		return json_copy_deep(rhs);
	json_t *out = json_copy_deep(lhs);
	const char *key;
	size_t len;
	json_t *rv;
	json_object_keylen_foreach((json_t *)rhs, key, len, rv)
	{
		struct fieldset_type ft = {.kind = SCHEMA_ANY};
		if (t->kind == SCHEMA_MAP) {
			ft = fieldset_type_elem(t);
		} else {
			const struct schema_field *f = schema_field_find(t->sub, key, len);
			if (f)
				ft = fieldset_type_field(f);
		}
		json_object_setn_new(out, key, len,
				     merge(&ft, json_object_getn(lhs, key, len), rv));
	}
	return out;
}

/* --- removal of fields the applier gave up ----------------------------------- */

static bool empty_value(const json_t *v)
{
	return (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_array(v) && !json_array_size(v));
}

/* Removes from val (of type t) the members of last (the applier's previous
 * fields at this path) that nobody owns in owned (all managers' fields at
 * this path; may be NULL). Returns whether anything was removed. */
static bool prune(const struct fieldset_type *t, json_t *val, const json_t *last,
		  const json_t *owned)
{
	bool any = false;
	const char *el;
	json_t *lc;
	json_object_foreach((json_t *)last, el, lc)
	{
		if (!strcmp(el, "."))
			continue;
		const json_t *oc = owned ? json_object_get(owned, el) : NULL;
		bool member = json_object_get(lc, ".") != NULL;
		size_t nchild = json_object_size(lc) - (member ? 1 : 0);
		if (!strncmp(el, "f:", 2) && json_is_object(val)) {
			const char *key = el + 2;
			json_t *cv = json_object_get(val, key);
			if (!cv)
				continue;
			if (member && !oc) {
				json_object_del(val, key);
				any = true;
				continue;
			}
			if (!nchild)
				continue;
			struct fieldset_type ft = {.kind = SCHEMA_ANY};
			if (t->kind == SCHEMA_MAP) {
				ft = fieldset_type_elem(t);
			} else if (t->sub) {
				const struct schema_field *f =
					schema_field_find(t->sub, key, strlen(key));
				if (f)
					ft = fieldset_type_field(f);
			}
			if (prune(&ft, cv, lc, oc)) {
				any = true;
				if (!oc && empty_value(cv))
					json_object_del(val, key);
			}
		} else if ((el[0] == 'k' || el[0] == 'v') && json_is_array(val)) {
			struct fieldset_type et = fieldset_type_elem(t);
			for (size_t i = json_array_size(val); i-- > 0;) {
				json_t *item = json_array_get(val, i);
				cleanup_free char *iel = fieldset_item_element(t, item);
				if (strcmp(iel, el))
					continue;
				if (member && !oc) {
					json_array_remove(val, i);
					any = true;
				} else if (nchild && prune(&et, item, lc, oc)) {
					any = true;
				}
			}
		}
	}
	return any;
}

/* --- the shared update step -------------------------------------------------- */

struct conflicts {
	json_t *list; /* [{"id", "manager", "operation", "apiVersion", "subresource", "path"}] */
};

/* Upstream's Updater.update: compares old and new; managers other than me
 * lose the fields new changed (with force) or report them (*conflicts, then
 * -1); all lose what new removed. *changed gets added ∪ modified. */
static int update_managers(const struct schema_type *st, const json_t *old, const json_t *new,
			   json_t *managers, const char *me, bool force,
			   const struct apply_write *w, json_t **changed, json_t **removed,
			   json_t *conflicts)
{
	json_t *added, *modified, *rem;
	fieldset_compare(st, old, new, &added, &modified, &rem);
	cleanup_json json_t *ch = reach_filter(fieldset_union(added, modified), w);
	json_decref(added);
	json_decref(modified);
	rem = reach_filter(rem, w);
	size_t i;
	json_t *m;
	bool conflicted = false;
	json_array_foreach(managers, i, m)
	{
		if (!strcmp(mstr(m, "id"), me))
			continue;
		cleanup_json json_t *cs = fieldset_intersection(json_object_get(m, "set"), ch);
		if (fieldset_empty(cs))
			continue;
		conflicted = true;
		if (conflicts) {
			cleanup_json json_t *paths = fieldset_members(cs);
			size_t j;
			json_t *p;
			json_array_foreach(paths, j, p)
			{
				json_t *c = json_deep_copy(m);
				json_object_del(c, "set");
				json_object_set(c, "path", p);
				json_array_append_new(conflicts, c);
			}
		}
	}
	if (conflicted && !force) {
		json_decref(rem);
		return -1;
	}
	json_array_foreach(managers, i, m)
	{
		if (strcmp(mstr(m, "id"), me)) {
			json_t *d = fieldset_difference(json_object_get(m, "set"), ch);
			manager_set(m, d);
		}
		manager_set(m, fieldset_difference(json_object_get(m, "set"), rem));
	}
	*changed = json_incref(ch);
	*removed = rem;
	return 0;
}

/* --- conflicts as upstream words them ------------------------------------------ */

static char *print_manager(const json_t *c)
{
	struct buf b = {0};
	const char *m = mstr(c, "manager");
	buf_append_go_quoted(&b, m, strlen(m));
	if (mstr(c, "subresource")[0]) {
		const char *s = mstr(c, "subresource");
		buf_printf(&b, " with subresource ");
		buf_append_go_quoted(&b, s, strlen(s));
	}
	if (!strcmp(mstr(c, "operation"), "Update"))
		buf_printf(&b, " using %s", mstr(c, "apiVersion"));
	return buf_steal(&b);
}

static int conflict_cmp(const void *a, const void *b)
{
	const json_t *p = *(json_t *const *)a, *q = *(json_t *const *)b;
	return strcmp(mstr(p, "id"), mstr(q, "id"));
}

static json_t *conflict_status(const json_t *list)
{
	size_t n;
	cleanup_free json_t **v = items_of(list, &n);
	/* stable: paths keep their order within a manager */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && conflict_cmp(&v[j - 1], &v[j]) > 0; j--) {
			json_t *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	json_t *causes = json_array();
	struct buf msg = {0};
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *who = print_manager(v[i]);
		cleanup_free char *path = fieldset_path_string(json_object_get(v[i], "path"));
		json_array_append_new(causes,
				      json_pack("{s:s, s:s, s:s}", "type", "FieldManagerConflict",
						"message", "", "field", path));
		json_object_set_new(json_array_get(causes, i), "message",
				    json_sprintf("conflict with %s", who));
		if (n == 1) {
			buf_printf(&msg, "Apply failed with 1 conflict: conflict with %s: %s", who,
				   path);
			continue;
		}
		if (i == 0)
			buf_printf(&msg, "Apply failed with %zu conflicts: ", n);
		if (i == 0 || conflict_cmp(&v[i - 1], &v[i]))
			buf_printf(&msg, "%sconflicts with %s:", i ? "\n" : "", who);
		buf_printf(&msg, "\n- %s", path);
	}
	cleanup_free char *m = buf_steal(&msg);
	return json_pack("{s:s, s:o}", "message", m, "causes", causes);
}

/* --- last-applied migration ------------------------------------------------------ */

/* The fields the last-applied annotation of live lists whose values live
 * still has, or NULL. */
static json_t *last_applied_fields(const struct schema_type *st, const json_t *live,
				   const char *api_version)
{
	const char *la = json_string_value(
		json_object_get(json_object_get(json_object_get(live, "metadata"), "annotations"),
				APPLY_LAST_APPLIED));
	if (!la || !la[0])
		return NULL;
	cleanup_json json_t *obj = json_loads(la, 0, NULL);
	if (!json_is_object(obj) || !api_version || strcmp(mstr(obj, "apiVersion"), api_version))
		return NULL;
	json_t *set = fieldset_of_object(st, obj);
	json_t *added, *modified, *removed;
	fieldset_compare(st, obj, live, &added, &modified, &removed);
	json_t *steps[] = {modified, added, removed};
	for (size_t i = 0; i < 3; i++) {
		json_t *d = fieldset_difference(set, steps[i]);
		json_decref(set);
		set = d;
		json_decref(steps[i]);
	}
	return set;
}

/* --- entry points ------------------------------------------------------------ */

int apply_object(const struct schema_type *st, const json_t *live, const json_t *config,
		 const struct apply_write *w, bool force, json_t **out, json_t **conflict,
		 struct mk_err **err)
{
	if (!json_is_object(config))
		return mk_err_set(err, MK_EINVAL, "the applied configuration must be an object");
	const char *av = json_string_value(json_object_get(config, "apiVersion"));
	if (av && w->api_version && strcmp(av, w->api_version))
		return mk_err_set(err, MK_EINVAL,
				  "Incorrect version specified in apply patch. Specified patch "
				  "version: %s, expected: %s",
				  av, w->api_version);
	const json_t *cmf = json_object_get(json_object_get(config, "metadata"), "managedFields");
	if (cmf && !json_is_null(cmf))
		return mk_err_set(err, MK_EINVAL, "metadata.managedFields must be nil");
	cleanup_json json_t *live_obj = live ? without_managed(live) : json_object();
	cleanup_json json_t *managers =
		live ? managers_decode(json_path_get(live, "metadata.managedFields")) : NULL;
	if (!managers)
		managers = json_array();
	if (live && !json_array_size(managers)) {
		/* an object no manager was recorded for: its fields so far belong to
		 * "before-first-apply", as upstream records them */
		cleanup_json json_t *zero = zero_object(st);
		json_t *added, *modified, *removed;
		fieldset_compare(st, zero, live_obj, &added, &modified, &removed);
		json_t *set = own_filter(fieldset_union(added, modified), w);
		json_decref(added);
		json_decref(modified);
		json_decref(removed);
		json_array_append_new(managers,
				      manager_new("before-first-apply", "Update", w->api_version,
						  w->subresource, w->time, set));
		managers_drop_empty(managers);
	}
	struct fieldset_type t = fieldset_type_of(st);
	cleanup_json json_t *merged = merge(&t, live_obj, config);
	cleanup_free char *me = manager_id(w->manager, "Apply", w->api_version, w->subresource);
	json_t *mine = manager_find(managers, me);
	cleanup_json json_t *last =
		mine ? json_incref(json_object_get(mine, "set")) : json_object();
	const char *prev_time = mine ? mstr(mine, "time") : NULL;
	cleanup_free char *keep_time = prev_time && prev_time[0] ? xstrdup(prev_time) : NULL;
	json_t *set = own_filter(fieldset_of_object(st, config), w);
	if (mine) {
		manager_set(mine, set);
		json_object_set_new(mine, "apiVersion", json_string(w->api_version));
	} else {
		mine = manager_new(w->manager, "Apply", w->api_version, w->subresource, NULL, set);
		json_array_append_new(managers, mine);
	}
	if (!fieldset_empty(last)) {
		cleanup_json json_t *owned = json_object();
		size_t i;
		json_t *m;
		json_array_foreach(managers, i, m)
		{
			json_t *u = fieldset_union(owned, json_object_get(m, "set"));
			json_decref(owned);
			owned = u;
		}
		prune(&t, merged, last, owned);
	}
	/* the working copy: a forced retry starts again from these */
	cleanup_json json_t *saved = json_deep_copy(managers);
	cleanup_json json_t *list = json_array();
	json_t *changed = NULL, *removed = NULL;
	int rc = update_managers(st, live_obj, merged, managers, me, force, w, &changed, &removed,
				 list);
	if (rc < 0 && !strcmp(w->manager, "kubectl") && live) {
		/* conflicts only on fields the client-side apply annotation lists:
		 * the applier takes them over (upstream's lastAppliedManager) */
		cleanup_json json_t *allowed = last_applied_fields(st, live_obj, w->api_version);
		bool all = allowed != NULL;
		size_t i;
		json_t *c;
		json_array_foreach(list, i, c)
		{
			if (!all)
				break;
			all = fieldset_has(allowed, json_object_get(c, "path"), false);
		}
		if (all) {
			json_decref(managers);
			managers = steal_pointer(&saved);
			json_array_clear(list);
			rc = update_managers(st, live_obj, merged, managers, me, true, w, &changed,
					     &removed, NULL);
		} else if (allowed) {
			for (size_t j = json_array_size(list); j-- > 0;)
				if (fieldset_has(allowed,
						 json_object_get(json_array_get(list, j), "path"),
						 false))
					json_array_remove(list, j);
		}
	}
	if (rc < 0) {
		*conflict = conflict_status(list);
		return mk_err_set(err, MK_ECONFLICT, "%s", mstr(*conflict, "message"));
	}
	json_decref(changed);
	json_decref(removed);
	mine = manager_find(managers, me);
	bool same = json_value_equal(live_obj, merged);
	if (mine)
		json_object_set_new(mine, "time",
				    json_string(same && keep_time ? keep_time : w->time));
	managers_drop_empty(managers);
	if (!strcmp(w->manager, "kubectl") && live &&
	    json_is_string(json_object_get(json_path_get(live_obj, "metadata.annotations"),
					   APPLY_LAST_APPLIED))) {
		/* keep client-side apply's annotation in step with this apply */
		cleanup_json json_t *cfg = json_copy_deep(config);
		json_t *ann = json_path_get(cfg, "metadata.annotations");
		if (json_is_object(ann)) {
			json_object_del(ann, APPLY_LAST_APPLIED);
			if (!json_object_size(ann))
				json_object_del(json_object_get(cfg, "metadata"), "annotations");
		}
		cleanup_free char *text = json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_t *mann = json_path_get(merged, "metadata.annotations");
		if (json_is_object(mann) && text) {
			cleanup_free char *line = xasprintf("%s\n", text);
			json_object_set_new(mann, APPLY_LAST_APPLIED, json_string(line));
		}
	}
	if (!json_is_object(json_object_get(merged, "metadata")))
		json_object_set_new(merged, "metadata", json_object());
	json_object_set_new(json_object_get(merged, "metadata"), "managedFields",
			    managers_encode(managers));
	*out = steal_pointer(&merged);
	return 0;
}

void apply_update(const struct schema_type *st, const json_t *old, json_t *obj,
		  const struct apply_write *w)
{
	json_t *md = json_object_get(obj, "metadata");
	if (!json_is_object(md))
		return;
	const json_t *given = json_object_get(md, "managedFields");
	const json_t *had = old ? json_path_get(old, "metadata.managedFields") : NULL;
	cleanup_json json_t *managers = NULL;
	if (given && !json_value_equal(given, had) && !w->subresource)
		managers = managers_decode(given);
	if (!managers)
		managers = managers_decode(had);
	if (!managers)
		managers = json_array();
	json_object_del(md, "managedFields");
	if (old && !json_array_size(had) && !json_array_size(managers)) {
		/* an object without managers stays so until it is applied */
		return;
	}
	cleanup_json json_t *old_obj = old ? without_managed(old) : zero_object(st);
	cleanup_free char *me = manager_id(w->manager, "Update", w->api_version, w->subresource);
	json_t *changed = NULL, *removed = NULL;
	update_managers(st, old_obj, obj, managers, me, true, w, &changed, &removed, NULL);
	json_t *mine = manager_find(managers, me);
	cleanup_json json_t *took = own_filter(json_incref(changed), w);
	if (!fieldset_empty(took)) {
		json_t *base = mine ? json_object_get(mine, "set") : NULL;
		cleanup_json json_t *empty = json_object();
		json_t *set = own_filter(fieldset_union(base ? base : empty, took), w);
		if (mine) {
			manager_set(mine, set);
			json_object_set_new(mine, "time", json_string(w->time));
		} else {
			json_array_append_new(managers,
					      manager_new(w->manager, "Update", w->api_version,
							  w->subresource, w->time, set));
		}
	}
	json_decref(changed);
	json_decref(removed);
	managers_drop_empty(managers);
	if (json_array_size(managers))
		json_object_set_new(md, "managedFields", managers_encode(managers));
}

char *apply_manager_name(const char *field_manager, const char *user_agent)
{
	if (field_manager && field_manager[0])
		return xstrdup(field_manager);
	struct buf b = {0};
	for (const char *p = user_agent ? user_agent : ""; *p && *p != '/'; p++) {
		if (!isprint((unsigned char)*p) && !((unsigned char)*p & 0x80))
			continue;
		if (b.len > 128)
			break;
		buf_append_char(&b, *p);
	}
	return buf_steal(&b);
}
