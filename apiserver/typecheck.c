/* Go types of request bodies (see the header), read from the kind schemas
 * (schema.h), each struct naming its Go type as the decoder's messages print
 * it. */
#include "apiserver/typecheck.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "quantity.h"
#include "xalloc.h"
#include "apiserver/schema.h"

struct walk {
	char *first; /* the first type error; decoding goes on after one */
	char *fatal; /* an error that stops the decoder at once */
};

static void type_error(struct walk *w, const char *value, const char *go, const char *path,
		       const char *type)
{
	if (w->first)
		return;
	w->first = xasprintf("json: cannot unmarshal %s into Go struct field %s.%s of type %s",
			     value, go, path, type);
}

/* A number as Go prints its literal in "number 1.5". New string. */
static char *number_text(const json_t *v)
{
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	double d = json_real_value(v);
	char tmp[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	return xstrdup(tmp);
}

static void check_int(struct walk *w, const json_t *v, const char *go, const char *path, bool is32)
{
	const char *type = is32 ? "int32" : "int64";
	if (!json_is_number(v)) {
		type_error(w, json_kind_name(v), go, path, type);
		return;
	}
	bool ok = json_is_integer(v);
	if (ok && is32) {
		json_int_t n = json_integer_value(v);
		ok = n >= INT32_MIN && n <= INT32_MAX;
	}
	if (!ok) {
		cleanup_free char *num = number_text(v);
		cleanup_free char *val = xasprintf("number %s", num);
		type_error(w, val, go, path, type);
	}
}

/* resource.Quantity reads its JSON text itself and stops the decoder on a
 * bad one. */
static void check_quantity(struct walk *w, const json_t *v)
{
	if (w->fatal || json_is_null(v))
		return;
	cleanup_free char *text = NULL;
	if (json_is_string(v))
		text = xstrdup(json_string_value(v));
	else if (json_is_number(v))
		text = number_text(v);
	else
		text = xstrdup(json_is_true(v) ? "true" : json_is_false(v) ? "false" : "{");
	/* as ParseQuantity: surrounding spaces are trimmed */
	char *s = text;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	int64_t milli;
	cleanup_err struct mk_err *err = NULL;
	if (quantity_parse_milli(s, &milli, &err) < 0 && mk_err_code(err) == MK_EINVAL &&
	    (!strncmp(mk_err_msg(err), "quantities must", 15) ||
	     !strncmp(mk_err_msg(err), "unable to parse", 15)))
		w->fatal = xstrdup(mk_err_msg(err));
}

/* The Go type of a value of kind k as the decoder prints it. New string. */
static char *go_type(enum schema_kind k, enum schema_kind elem, const struct schema_type *sub)
{
	switch (k) {
	case SCHEMA_STRING:
	case SCHEMA_TIME:
		return xstrdup("string");
	case SCHEMA_BOOL:
		return xstrdup("bool");
	case SCHEMA_INT32:
		return xstrdup("int32");
	case SCHEMA_INT64:
		return xstrdup("int64");
	case SCHEMA_NUMBER:
		return xstrdup("float64");
	case SCHEMA_QUANTITY:
		return xstrdup("resource.Quantity");
	case SCHEMA_INTORSTR:
		return xstrdup("intstr.IntOrString");
	case SCHEMA_ANY:
		return xstrdup("interface {}");
	case SCHEMA_STRUCT:
		return xasprintf("%s.%s", sub->pkg, sub->go);
	case SCHEMA_LIST: {
		cleanup_free char *e = go_type(elem, SCHEMA_STRING, sub);
		return xasprintf("[]%s", e);
	}
	case SCHEMA_MAP: {
		if (elem == SCHEMA_QUANTITY)
			return xstrdup("v1.ResourceList");
		cleanup_free char *e = go_type(elem, SCHEMA_STRING, sub);
		return xasprintf("map[string]%s", e);
	}
	}
	return xstrdup("");
}

static void walk_struct(struct walk *w, const json_t *obj, const struct schema_type *st,
			struct buf *path);

/* One value v of kind k (a field's own kind, or the element kind of a list
 * or map) inside struct st at path. */
static void walk_value(struct walk *w, const json_t *v, enum schema_kind k,
		       const struct schema_type *sub, const struct schema_type *st,
		       const char *path)
{
	if (json_is_null(v) || w->fatal)
		return;
	switch (k) {
	case SCHEMA_STRING:
		if (!json_is_string(v))
			type_error(w, json_kind_name(v), st->go, path, "string");
		return;
	case SCHEMA_TIME:
		/* metav1.Time decodes itself through a string */
		if (!json_is_string(v))
			w->fatal =
				xasprintf("json: cannot unmarshal %s into Go value of type string",
					  json_kind_name(v));
		return;
	case SCHEMA_BOOL:
		if (!json_is_boolean(v))
			type_error(w, json_kind_name(v), st->go, path, "bool");
		return;
	case SCHEMA_INT32:
	case SCHEMA_INT64:
		check_int(w, v, st->go, path, k == SCHEMA_INT32);
		return;
	case SCHEMA_NUMBER:
		if (!json_is_number(v))
			type_error(w, json_kind_name(v), st->go, path, "float64");
		return;
	case SCHEMA_QUANTITY:
		check_quantity(w, v);
		return;
	case SCHEMA_INTORSTR:
		/* IntOrString reads a string, or else an int32 by itself */
		if (!json_is_string(v)) {
			if (!json_is_number(v))
				w->fatal =
					xasprintf("json: cannot unmarshal %s into Go value of type "
						  "int32",
						  json_kind_name(v));
			else if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
				 json_integer_value(v) > INT32_MAX) {
				cleanup_free char *num = number_text(v);
				w->fatal =
					xasprintf("json: cannot unmarshal number %s into Go value "
						  "of type int32",
						  num);
			}
		}
		return;
	case SCHEMA_ANY:
		return;
	case SCHEMA_STRUCT: {
		if (!json_is_object(v)) {
			cleanup_free char *type = go_type(k, SCHEMA_STRING, sub);
			type_error(w, json_kind_name(v), st->go, path, type);
			return;
		}
		struct buf p = BUF_INIT;
		buf_append_str(&p, path);
		walk_struct(w, v, sub, &p);
		buf_free(&p);
		return;
	}
	case SCHEMA_LIST:
	case SCHEMA_MAP:
		return;
	}
}

static void walk_field(struct walk *w, const json_t *v, const struct schema_field *f,
		       const struct schema_type *st, const char *path)
{
	if (json_is_null(v) || w->fatal)
		return;
	if (f->kind == SCHEMA_LIST) {
		if (!json_is_array(v)) {
			cleanup_free char *type = go_type(f->kind, f->elem, f->sub);
			type_error(w, json_kind_name(v), st->go, path, type);
			return;
		}
		/* paths run through lists without indices, as Go's decoder's do */
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) walk_value(w, x, f->elem, f->sub, st, path);
		return;
	}
	if (f->kind == SCHEMA_MAP) {
		if (!json_is_object(v)) {
			cleanup_free char *type = go_type(f->kind, f->elem, f->sub);
			type_error(w, json_kind_name(v), st->go, path, type);
			return;
		}
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) walk_value(w, x, f->elem, f->sub, st, path);
		return;
	}
	walk_value(w, v, f->kind, f->sub, st, path);
}

/* path: the JSON path of obj ("" at the top), extended per field. */
static void walk_struct(struct walk *w, const json_t *obj, const struct schema_type *st,
			struct buf *path)
{
	size_t base = path->len;
	/* in document order: the first error in the body is the one reported */
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		const struct schema_field *f = schema_field_find(st, k, strlen(k));
		if (!f)
			continue;
		path->len = base;
		if (path->data)
			path->data[base] = '\0';
		if (base)
			buf_append_char(path, '.');
		buf_append_str(path, k);
		walk_field(w, v, f, st, buf_str(path));
		if (w->fatal)
			return;
	}
}

/* The schema of kind; for a kind without one, a struct named after it with
 * only the metadata of every object. */
static const struct schema_type *kind_schema(const char *kind, struct schema_type *scratch,
					     struct schema_field meta_only[2])
{
	const struct schema_type *st = schema_kind_find(kind);
	if (st)
		return st;
	const struct schema_type *pod = schema_kind_find("Pod");
	meta_only[0] = *schema_field_find(pod, "metadata", strlen("metadata"));
	meta_only[1] = (struct schema_field){.name = NULL};
	*scratch = (struct schema_type){.go = kind ? kind : "", .pkg = "", .fields = meta_only};
	return scratch;
}

char *typecheck_body(const char *kind, const json_t *obj)
{
	if (!json_is_object(obj))
		return NULL;
	struct schema_type scratch;
	struct schema_field meta_only[2];
	const struct schema_type *st = kind_schema(kind, &scratch, meta_only);
	struct walk w = {0};
	struct buf path = BUF_INIT;
	walk_struct(&w, obj, st, &path);
	buf_free(&path);
	if (w.fatal) {
		free(w.first);
		return w.fatal;
	}
	return w.first;
}

/* --- strict decoding --------------------------------------------------------- */

struct strict {
	const json_t *dups; /* borrowed: paths of duplicated keys, or NULL */
	bool prune;
	bool sorted;
	json_t *found; /* the messages, in document order */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_dup(const struct strict *s, const char *path)
{
	size_t i;
	json_t *d;
	json_array_foreach(s->dups, i, d) if (!strcmp(json_string_value(d), path)) return true;
	return false;
}

static void strict_struct(struct strict *s, json_t *obj, const struct schema_type *st,
			  struct buf *path);

/* path: where v is; a struct value is descended into. */
static void strict_value(struct strict *s, json_t *v, enum schema_kind k,
			 const struct schema_type *sub, struct buf *path)
{
	if (k == SCHEMA_STRUCT && json_is_object(v))
		strict_struct(s, v, sub, path);
}

static void strict_struct(struct strict *s, json_t *obj, const struct schema_type *st,
			  struct buf *path)
{
	size_t base = path->len;
	/* the keys first: pruning deletes from obj */
	size_t n = json_object_size(obj), nk = 0;
	cleanup_free char **keys = xmalloc((n ? n : 1) * sizeof(*keys));
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val) keys[nk++] = xstrdup(key);
	if (s->sorted)
		qsort(keys, nk, sizeof(*keys), cmp_str);
	for (size_t ki = 0; ki < nk; ki++) {
		cleanup_free char *k = keys[ki];
		json_t *v = json_object_get(obj, k);
		path->len = base;
		if (path->data)
			path->data[base] = '\0';
		if (base)
			buf_append_char(path, '.');
		buf_append_str(path, k);
		const struct schema_field *f = schema_field_find(st, k, strlen(k));
		if (!f) {
			/* a field both unknown and duplicated is reported as unknown */
			json_array_append_new(s->found,
					      json_sprintf("unknown field \"%s\"", buf_str(path)));
			if (s->prune)
				json_object_del(obj, k);
			continue;
		}
		if (is_dup(s, buf_str(path)))
			json_array_append_new(
				s->found, json_sprintf("duplicate field \"%s\"", buf_str(path)));
		size_t here = path->len;
		if (f->kind == SCHEMA_LIST && json_is_array(v)) {
			size_t i;
			json_t *x;
			json_array_foreach(v, i, x)
			{
				path->len = here;
				path->data[here] = '\0';
				buf_printf(path, "[%zu]", i);
				strict_value(s, x, f->elem, f->sub, path);
			}
		} else if (f->kind == SCHEMA_MAP && json_is_object(v)) {
			const char *mk;
			json_t *x;
			json_object_foreach(v, mk, x)
			{
				path->len = here;
				path->data[here] = '\0';
				buf_printf(path, ".%s", mk);
				if (is_dup(s, buf_str(path)))
					json_array_append_new(s->found,
							      json_sprintf("duplicate field \"%s\"",
									   buf_str(path)));
				strict_value(s, x, f->elem, f->sub, path);
			}
		} else {
			strict_value(s, v, f->kind, f->sub, path);
		}
	}
	path->len = base;
	if (path->data)
		path->data[base] = '\0';
}

json_t *typecheck_strict(const char *kind, json_t *obj, const json_t *dups, unsigned flags)
{
	const struct schema_type *st = schema_kind_find(kind);
	if (!st || !json_is_object(obj))
		return NULL;
	struct strict s = {.dups = dups,
			   .prune = flags & TYPECHECK_PRUNE,
			   .sorted = flags & TYPECHECK_SORTED,
			   .found = json_array()};
	struct buf path = BUF_INIT;
	strict_struct(&s, obj, st, &path);
	buf_free(&path);
	if (!json_array_size(s.found)) {
		json_decref(s.found);
		return NULL;
	}
	return s.found;
}
