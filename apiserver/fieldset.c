/* Field sets (see the header). */
#include "apiserver/fieldset.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "xalloc.h"

/* --- types ------------------------------------------------------------------ */

struct fieldset_type fieldset_type_of(const struct schema_type *st)
{
	if (!st)
		return (struct fieldset_type){.kind = SCHEMA_MAP, .deduced = true};
	return (struct fieldset_type){.kind = SCHEMA_STRUCT, .sub = st};
}

struct fieldset_type fieldset_type_field(const struct schema_field *f)
{
	return (struct fieldset_type){.kind = f->kind,
				      .elem = f->elem,
				      .sub = f->sub,
				      .rel = f->rel,
				      .keys = f->keys,
				      .key_defaults = f->key_defaults};
}

struct fieldset_type fieldset_type_elem(const struct fieldset_type *t)
{
	if (t->deduced)
		return *t;
	struct fieldset_type e = {.kind = t->elem, .sub = t->sub};
	/* a list of lists or of maps has no schema of its own: a leaf */
	if (e.kind == SCHEMA_LIST || e.kind == SCHEMA_MAP || (e.kind == SCHEMA_STRUCT && !e.sub))
		e.kind = SCHEMA_ANY;
	return e;
}

bool fieldset_type_atomic(const struct fieldset_type *t)
{
	switch (t->kind) {
	case SCHEMA_STRUCT:
		return !t->sub || t->rel == SCHEMA_REL_ATOMIC || t->sub->atomic;
	case SCHEMA_MAP:
		return t->rel == SCHEMA_REL_ATOMIC;
	case SCHEMA_LIST:
		return t->rel != SCHEMA_REL_SET && t->rel != SCHEMA_REL_MAP;
	default:
		return true;
	}
}

/* The type of field key of a struct or map value of type t; a field the
 * schema does not know is a leaf. */
static struct fieldset_type member_type(const struct fieldset_type *t, const char *key, size_t len)
{
	if (t->kind == SCHEMA_MAP)
		return fieldset_type_elem(t);
	const struct schema_field *f = t->sub ? schema_field_find(t->sub, key, len) : NULL;
	if (!f)
		return (struct fieldset_type){.kind = SCHEMA_ANY};
	return fieldset_type_field(f);
}

static char *item_element(const struct fieldset_type *t, const json_t *item, size_t idx)
{
	if (t->rel == SCHEMA_REL_SET && !json_is_object(item) && !json_is_array(item)) {
		cleanup_free char *v = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
		return xasprintf("v:%s", v ? v : "null");
	}
	if (t->rel == SCHEMA_REL_MAP && t->keys && json_is_object(item)) {
		cleanup_json json_t *k = json_object();
		for (size_t i = 0; t->keys[i]; i++) {
			json_t *v = json_object_get(item, t->keys[i]);
			if (v) {
				json_object_set(k, t->keys[i], v);
			} else if (t->key_defaults && t->key_defaults[i]) {
				json_t *d = json_loads(t->key_defaults[i], JSON_DECODE_ANY, NULL);
				if (d)
					json_object_set_new(k, t->keys[i], d);
			}
		}
		cleanup_free char *s = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
		return xasprintf("k:%s", s);
	}
	return xasprintf("i:%zu", idx);
}

char *fieldset_item_element(const struct fieldset_type *t, const json_t *item)
{
	return item_element(t, item, 0);
}

/* --- tree helpers ----------------------------------------------------------- */

static json_t *child(json_t *node, const char *el)
{
	json_t *c = json_object_get(node, el);
	if (!c) {
		c = json_object();
		json_object_set_new(node, el, c);
	}
	return c;
}

static void mark(json_t *node)
{
	if (!json_object_get(node, "."))
		json_object_set_new(node, ".", json_object());
}

static bool is_member(const json_t *node)
{
	return json_object_get(node, ".") != NULL;
}

/* Drops nodes that are no member and have no children; returns whether
 * node itself is left empty. */
static bool prune(json_t *node)
{
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(node, tmp, k, v)
	{
		if (!strcmp(k, "."))
			continue;
		if (prune(v))
			json_object_del(node, k);
	}
	return json_object_size(node) == 0;
}

static void insert_path(json_t *set, const json_t *path)
{
	json_t *node = set;
	size_t i;
	json_t *el;
	json_array_foreach(path, i, el) node = child(node, json_string_value(el));
	mark(node);
}

/* --- ToFieldSet ------------------------------------------------------------- */

static void collect(const struct fieldset_type *t, const json_t *v, json_t *node)
{
	if (fieldset_type_atomic(t) || json_is_null(v)) {
		mark(node);
		return;
	}
	const char *key;
	size_t len;
	json_t *val;
	if (t->kind == SCHEMA_STRUCT || t->kind == SCHEMA_MAP) {
		if (!json_is_object(v)) {
			mark(node);
			return;
		}
		json_object_keylen_foreach((json_t *)v, key, len, val)
		{
			cleanup_free char *el = xasprintf("f:%s", key);
			json_t *c = child(node, el);
			struct fieldset_type ft = member_type(t, key, len);
			collect(&ft, val, c);
			/* map entries are members; struct fields only when empty (a
			 * deduced object's keys are taken for struct fields, as the
			 * properties of a custom resource's schema are) */
			if ((t->kind == SCHEMA_MAP && !t->deduced) || ft.kind == SCHEMA_ANY ||
			    json_is_null(val) ||
			    (json_is_object(val) && json_object_size(val) == 0))
				mark(c);
		}
		return;
	}
	if (!json_is_array(v)) {
		mark(node);
		return;
	}
	struct fieldset_type et = fieldset_type_elem(t);
	size_t i;
	json_array_foreach(v, i, val)
	{
		cleanup_free char *el = item_element(t, val, i);
		json_t *c = child(node, el);
		if (t->rel == SCHEMA_REL_MAP)
			collect(&et, val, c);
		mark(c);
	}
}

json_t *fieldset_of_object(const struct schema_type *st, const json_t *obj)
{
	json_t *set = json_object();
	struct fieldset_type t = fieldset_type_of(st);
	if (json_is_object(obj))
		collect(&t, obj, set);
	json_object_del(set, ".");
	prune(set);
	return set;
}

/* --- Compare ---------------------------------------------------------------- */

struct cmp {
	json_t *added, *modified, *removed;
	json_t *path; /* array of element strings */
};

static void cmp_leaf(struct cmp *c, const json_t *l, const json_t *r)
{
	if (!json_array_size(c->path))
		return;
	if (!l)
		insert_path(c->added, c->path);
	else if (!r)
		insert_path(c->removed, c->path);
	else if (!json_value_equal(l, r))
		insert_path(c->modified, c->path);
}

static bool empty_container(const json_t *v, bool object)
{
	if (object)
		return !json_is_object(v) || json_object_size(v) == 0;
	return !json_is_array(v) || json_array_size(v) == 0;
}

static void cmp_walk(struct cmp *c, const struct fieldset_type *t, const json_t *l,
		     const json_t *r);

static void cmp_child(struct cmp *c, const char *el, const struct fieldset_type *t, const json_t *l,
		      const json_t *r)
{
	json_array_append_new(c->path, json_string(el));
	cmp_walk(c, t, l, r);
	json_array_remove(c->path, json_array_size(c->path) - 1);
}

/* An index of a list's items by path element: element -> first item. */
static json_t *index_items(const struct fieldset_type *t, const json_t *list, json_t *order)
{
	json_t *idx = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		cleanup_free char *el = item_element(t, v, i);
		if (json_object_get(idx, el))
			continue;
		json_object_set(idx, el, v);
		if (order)
			json_array_append_new(order, json_string(el));
	}
	return idx;
}

static void cmp_walk(struct cmp *c, const struct fieldset_type *t, const json_t *l, const json_t *r)
{
	bool object = t->kind == SCHEMA_STRUCT || t->kind == SCHEMA_MAP;
	if (fieldset_type_atomic(t) || (empty_container(l, object) && empty_container(r, object))) {
		cmp_leaf(c, l, r);
		return;
	}
	if (object) {
		const char *key;
		size_t len;
		json_t *lv;
		if (json_is_object(l)) {
			json_object_keylen_foreach((json_t *)l, key, len, lv)
			{
				cleanup_free char *el = xasprintf("f:%s", key);
				struct fieldset_type ft = member_type(t, key, len);
				cmp_child(c, el, &ft, lv,
					  json_is_object(r) ? json_object_getn(r, key, len) : NULL);
			}
		}
		if (json_is_object(r)) {
			json_object_keylen_foreach((json_t *)r, key, len, lv)
			{
				if (json_is_object(l) && json_object_getn(l, key, len))
					continue;
				cleanup_free char *el = xasprintf("f:%s", key);
				struct fieldset_type ft = member_type(t, key, len);
				cmp_child(c, el, &ft, NULL, lv);
			}
		}
	} else {
		struct fieldset_type et = fieldset_type_elem(t);
		cleanup_json json_t *order = json_array();
		cleanup_json json_t *li = index_items(t, json_is_array(l) ? l : NULL, order);
		cleanup_json json_t *ri = index_items(t, json_is_array(r) ? r : NULL, order);
		cleanup_json json_t *seen = json_object();
		size_t i;
		json_t *e;
		json_array_foreach(order, i, e)
		{
			const char *el = json_string_value(e);
			if (json_object_get(seen, el))
				continue;
			json_object_set_new(seen, el, json_true());
			cmp_child(c, el, &et, json_object_get(li, el), json_object_get(ri, el));
		}
	}
	if (json_array_size(c->path)) {
		if (!l)
			insert_path(c->added, c->path);
		else if (!r)
			insert_path(c->removed, c->path);
	}
}

void fieldset_compare(const struct schema_type *st, const json_t *old, const json_t *new,
		      json_t **added, json_t **modified, json_t **removed)
{
	struct cmp c = {.added = json_object(),
			.modified = json_object(),
			.removed = json_object(),
			.path = json_array()};
	struct fieldset_type t = fieldset_type_of(st);
	cmp_walk(&c, &t, old, new);
	json_decref(c.path);
	*added = c.added;
	*modified = c.modified;
	*removed = c.removed;
}

/* --- set algebra ------------------------------------------------------------ */

/* out[k] = d (stolen), unless d is an empty subtree. */
static void set_unless_empty(json_t *out, const char *k, json_t *d)
{
	if (json_object_size(d))
		json_object_set_new(out, k, d);
	else
		json_decref(d);
}

json_t *fieldset_union(const json_t *a, const json_t *b)
{
	json_t *out = json_copy_deep(a);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)b, k, v)
	{
		json_t *mine = json_object_get(out, k);
		if (!strcmp(k, ".") || !mine)
			json_object_set_new(out, k, json_copy_deep(v));
		else
			json_object_set_new(out, k, fieldset_union(mine, v));
	}
	return out;
}

json_t *fieldset_difference(const json_t *a, const json_t *b)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v)
	{
		json_t *theirs = json_object_get(b, k);
		if (!strcmp(k, ".")) {
			if (!theirs)
				json_object_set_new(out, k, json_object());
		} else if (!theirs) {
			json_object_set_new(out, k, json_copy_deep(v));
		} else {
			set_unless_empty(out, k, fieldset_difference(v, theirs));
		}
	}
	return out;
}

json_t *fieldset_intersection(const json_t *a, const json_t *b)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v)
	{
		json_t *theirs = json_object_get(b, k);
		if (!theirs)
			continue;
		if (!strcmp(k, ".")) {
			json_object_set_new(out, k, json_object());
			continue;
		}
		set_unless_empty(out, k, fieldset_intersection(v, theirs));
	}
	return out;
}

json_t *fieldset_remove_prefixes(const json_t *a, const json_t *b)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v)
	{
		json_t *theirs = strcmp(k, ".") ? json_object_get(b, k) : NULL;
		if (!theirs) {
			json_object_set_new(out, k, json_copy_deep(v));
			continue;
		}
		if (is_member(theirs))
			continue;
		set_unless_empty(out, k, fieldset_remove_prefixes(v, theirs));
	}
	return out;
}

bool fieldset_empty(const json_t *s)
{
	return !s || json_object_size(s) == 0;
}

bool fieldset_has(const json_t *s, const json_t *path, bool under)
{
	const json_t *node = s;
	size_t i;
	json_t *el;
	json_array_foreach(path, i, el)
	{
		node = json_object_get(node, json_string_value(el));
		if (!node)
			return false;
	}
	return under ? json_object_size(node) > 0 : is_member(node);
}

/* --- listing ---------------------------------------------------------------- */

static void members_at(const json_t *node, json_t *prefix, json_t *out)
{
	size_t n;
	cleanup_free const char **keys = json_object_sorted_keys(node, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_object_get(node, keys[i]);
		if (strcmp(keys[i], ".") && is_member(c)) {
			json_t *p = json_copy_deep(prefix);
			json_array_append_new(p, json_string(keys[i]));
			json_array_append_new(out, p);
		}
	}
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_object_get(node, keys[i]);
		if (!strcmp(keys[i], ".") || json_object_size(c) <= (is_member(c) ? 1u : 0u))
			continue;
		json_array_append_new(prefix, json_string(keys[i]));
		members_at(c, prefix, out);
		json_array_remove(prefix, json_array_size(prefix) - 1);
	}
}

json_t *fieldset_members(const json_t *s)
{
	json_t *out = json_array();
	cleanup_json json_t *prefix = json_array();
	members_at(s, prefix, out);
	return out;
}

char *fieldset_path_string(const json_t *path)
{
	struct buf b = {0};
	size_t i;
	json_t *e;
	json_array_foreach(path, i, e)
	{
		const char *el = json_string_value(e);
		if (!strncmp(el, "f:", 2)) {
			buf_printf(&b, ".%s", el + 2);
		} else if (!strncmp(el, "k:", 2)) {
			cleanup_json json_t *k = json_loads(el + 2, 0, NULL);
			const char *name;
			json_t *v;
			bool first = true;
			buf_printf(&b, "[");
			json_object_foreach(k, name, v)
			{
				cleanup_free char *vs =
					json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
				buf_printf(&b, "%s%s=%s", first ? "" : ",", name, vs ? vs : "");
				first = false;
			}
			buf_printf(&b, "]");
		} else if (!strncmp(el, "v:", 2)) {
			buf_printf(&b, "[=%s]", el + 2);
		} else {
			buf_printf(&b, "[%s]", el + 2);
		}
	}
	return buf_steal(&b);
}

/* --- FieldsV1 ------------------------------------------------------------- */

static bool element_valid(const char *k)
{
	if (!strcmp(k, "."))
		return true;
	if (strlen(k) < 2 || k[1] != ':')
		return false;
	switch (k[0]) {
	case 'f':
		return true;
	case 'k': {
		cleanup_json json_t *v = json_loads(k + 2, 0, NULL);
		return json_is_object(v);
	}
	case 'v': {
		cleanup_json json_t *v = json_loads(k + 2, JSON_DECODE_ANY, NULL);
		return v != NULL;
	}
	case 'i': {
		char *end;
		strtol(k + 2, &end, 10);
		return k[2] && !*end;
	}
	default:
		return false;
	}
}

static json_t *from_v1(const json_t *v1, struct mk_err **err)
{
	if (!json_is_object(v1)) {
		mk_err_set(err, MK_EINVAL, "expected an object of path elements");
		return NULL;
	}
	cleanup_json json_t *out = json_object();
	if (json_object_size(v1) == 0)
		mark(out);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)v1, k, v)
	{
		if (!element_valid(k)) {
			mk_err_set(err, MK_EINVAL, "parsing JSON: invalid path element %s", k);
			return NULL;
		}
		if (!strcmp(k, ".")) {
			mark(out);
			continue;
		}
		json_t *c = from_v1(v, err);
		if (!c)
			return NULL;
		json_object_set_new(out, k, c);
	}
	return steal_pointer(&out);
}

json_t *fieldset_from_v1(const json_t *v1, struct mk_err **err)
{
	json_t *s = from_v1(v1, err);
	if (!s)
		return NULL;
	json_object_del(s, ".");
	prune(s);
	return s;
}

static json_t *to_v1(const json_t *s)
{
	json_t *out = json_object();
	size_t n;
	cleanup_free const char **keys = json_object_sorted_keys(s, &n);
	bool member = is_member(s);
	if (member && n > 1)
		json_object_set_new(out, ".", json_object());
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], "."))
			json_object_set_new(out, keys[i], to_v1(json_object_get(s, keys[i])));
	return out;
}

json_t *fieldset_to_v1(const json_t *s)
{
	return to_v1(s);
}
