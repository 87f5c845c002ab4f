/* Structural schemas of custom resources (see the header). Written here
 * rather than taken from a JSON Schema library: upstream's semantics are not
 * JSON Schema's (pruning, x-kubernetes-* extensions, defaulting, its own
 * error wording), and the keywords a structural schema may use are few. */
#include "apiserver/jsonschema.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/resource.h"

static bool flag(const json_t *schema, const char *key)
{
	return json_is_true(json_object_get(schema, key));
}

static const char *type_of(const json_t *schema)
{
	const char *t = json_string_value(json_object_get(schema, "type"));
	return t ? t : "";
}

/* path + "." + key, or key at the root. New string. */
static char *child_path(const char *path, const char *key)
{
	return path && path[0] ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

static char *index_path(const char *path, size_t i)
{
	return xasprintf("%s[%zu]", path ? path : "", i);
}

/* The schema of the values of an object: its additionalProperties when that
 * is a schema, else NULL. */
static const json_t *additional_schema(const json_t *schema)
{
	const json_t *ap = json_object_get(schema, "additionalProperties");
	return json_is_object(ap) ? ap : NULL;
}

/* --- Go formatting of values in messages ---------------------------------------- */

/* Go's %v of a float64 as kube-openapi formats bounds: 10, 2.5. */
static void buf_go_float(struct buf *b, double d)
{
	if (d == floor(d) && fabs(d) < 1e21)
		buf_printf(b, "%.0f", d);
	else
		buf_printf(b, "%g", d);
}

/* Go's %#v of a decoded JSON value inside an interface{} container. */
static void buf_go_sharp(struct buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		buf_append_go_quoted(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_printf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		buf_go_float(b, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_append_str(b, "true");
		break;
	case JSON_FALSE:
		buf_append_str(b, "false");
		break;
	case JSON_NULL:
		buf_append_str(b, "interface {}(nil)");
		break;
	case JSON_ARRAY: {
		buf_append_str(b, "[]interface {}{");
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (i)
				buf_append_str(b, ", ");
			buf_go_sharp(b, e);
		}
		buf_append_char(b, '}');
		break;
	}
	case JSON_OBJECT: {
		buf_append_str(b, "map[string]interface {}{");
		size_t n;
		const char **keys = json_object_sorted_keys(v, &n);
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_append_str(b, ", ");
			buf_append_go_quoted(b, keys[i], strlen(keys[i]));
			buf_append_char(b, ':');
			buf_go_sharp(b, json_object_get(v, keys[i]));
		}
		free(keys);
		buf_append_char(b, '}');
		break;
	}
	}
}

/* The value part of "Invalid value: <v>" as upstream's field.Error prints
 * it: strings quoted, numbers and booleans bare, null as "null", the rest
 * with %#v. New string. */
static char *go_value(const json_t *v)
{
	struct buf b = BUF_INIT;
	if (!v || json_is_null(v))
		buf_append_str(&b, "\"null\"");
	else
		buf_go_sharp(&b, v);
	return buf_steal(&b);
}

/* The JSON type name kube-openapi reports for a value. */
static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	case JSON_NULL:
		break;
	}
	return "null";
}

/* --- structural checks of a CRD's schema ---------------------------------------- */

static const char *const known_types[] = {"array", "boolean", "integer", "number", "object", "string"};

static void check_node(const json_t *s, const char *path, bool need_type, const char *why,
		       json_t *causes);
static void prune_value(const json_t *s, json_t *v, const char *path, json_t *unknown);
static void validate_any(const json_t *s, const json_t *v, const char *path, bool root,
			 json_t *causes);

static void check_children(const json_t *s, const char *path, json_t *causes)
{
	const json_t *props = json_object_get(s, "properties");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)props, k, v)
	{
		cleanup_free char *p = xasprintf("%s.properties[%s]", path, k);
		check_node(v, p, true, "must not be empty for specified object fields", causes);
	}
	const json_t *ap = json_object_get(s, "additionalProperties");
	if (ap && !json_is_boolean(ap) && !json_is_object(ap)) {
		cleanup_free char *p = xasprintf("%s.additionalProperties", path);
		api_cause_add(causes, "FieldValueInvalid", p,
			      "Invalid value: %s: must be a boolean or a schema", json_type_name(ap));
	}
	if (json_object_size(props) && ap && !json_is_true(ap)) {
		cleanup_free char *p = xasprintf("%s.additionalProperties", path);
		api_cause_add(causes, "FieldValueForbidden", p,
			      "Forbidden: additionalProperties and properties are mutual exclusive");
	}
	if (json_is_object(ap)) {
		cleanup_free char *p = xasprintf("%s.additionalProperties", path);
		check_node(ap, p, true, "must not be empty for specified object fields", causes);
	}
	const json_t *items = json_object_get(s, "items");
	if (json_is_object(items)) {
		cleanup_free char *p = xasprintf("%s.items", path);
		check_node(items, p, true, "must not be empty for specified array items", causes);
	} else if (items) {
		cleanup_free char *p = xasprintf("%s.items", path);
		api_cause_add(causes, "FieldValueForbidden", p,
			      "Forbidden: items must be a schema object and not an array");
	} else if (!strcmp(type_of(s), "array")) {
		cleanup_free char *p = xasprintf("%s.items", path);
		api_cause_add(causes, "FieldValueRequired", p,
			      "Required value: must be specified");
	}
}

static void check_node(const json_t *s, const char *path, bool need_type, const char *why,
		       json_t *causes)
{
	if (!json_is_object(s)) {
		api_cause_add(causes, "FieldValueInvalid", path, "Invalid value: %s: must be a schema",
			      json_type_name(s));
		return;
	}
	const char *t = type_of(s);
	bool int_or_string = flag(s, "x-kubernetes-int-or-string");
	bool preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
	cleanup_free char *tpath = xasprintf("%s.type", path);
	if (json_object_get(s, "type") && !json_is_string(json_object_get(s, "type"))) {
		api_cause_add(causes, "FieldValueInvalid", tpath,
			      "Invalid value: %s: must be a string", json_type_name(json_object_get(s, "type")));
	} else if (t[0]) {
		bool known = false;
		for (size_t i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++)
			known |= !strcmp(known_types[i], t);
		if (!known)
			api_cause_add(causes, "FieldValueNotSupported", tpath,
				      "Unsupported value: \"%s\": supported values: \"array\", "
				      "\"boolean\", \"integer\", \"number\", \"object\", \"string\"",
				      t);
		if (int_or_string)
			api_cause_add(causes, "FieldValueInvalid", tpath,
				      "Invalid value: \"%s\": must be empty if "
				      "x-kubernetes-int-or-string is true",
				      t);
	} else if (need_type && !int_or_string && !preserve) {
		api_cause_add(causes, "FieldValueRequired", tpath, "Required value: %s", why);
	}
	const json_t *pu = json_object_get(s, "x-kubernetes-preserve-unknown-fields");
	if (pu && !json_is_true(pu)) {
		cleanup_free char *p = xasprintf("%s.x-kubernetes-preserve-unknown-fields", path);
		cleanup_free char *go = go_value(pu);
		api_cause_add(causes, "FieldValueInvalid", p,
			      "Invalid value: %s: must be true or undefined", go);
	}
	if (flag(s, "uniqueItems")) {
		cleanup_free char *p = xasprintf("%s.uniqueItems", path);
		api_cause_add(causes, "FieldValueForbidden", p,
			      "Forbidden: uniqueItems cannot be set to true since the runtime "
			      "complexity becomes quadratic");
	}
	const json_t *pat = json_object_get(s, "pattern");
	if (json_is_string(pat)) {
		regex_t re;
		if (regcomp(&re, json_string_value(pat), REG_EXTENDED | REG_NOSUB) != 0) {
			cleanup_free char *p = xasprintf("%s.pattern", path);
			api_cause_add(causes, "FieldValueInvalid", p,
				      "Invalid value: \"%s\": must be a valid regular expression",
				      json_string_value(pat));
		} else {
			regfree(&re);
		}
	}
	check_children(s, path, causes);
	const json_t *def = json_object_get(s, "default");
	if (def) {
		/* a default must itself be valid, after pruning, as upstream */
		cleanup_json json_t *copy = json_deep_copy(def);
		cleanup_free char *p = xasprintf("%s.default", path);
		prune_value(s, copy, p, NULL);
		validate_any(s, copy, p, false, causes);
	}
}

void jsonschema_check(const json_t *schema, const char *path, json_t *causes)
{
	if (!json_is_object(schema)) {
		api_cause_add(causes, "FieldValueRequired", path, "Required value: schemas are required");
		return;
	}
	const char *t = type_of(schema);
	cleanup_free char *tpath = xasprintf("%s.type", path);
	if (!t[0])
		api_cause_add(causes, "FieldValueRequired", tpath,
			      "Required value: must not be empty at the root");
	else if (strcmp(t, "object"))
		api_cause_add(causes, "FieldValueInvalid", tpath,
			      "Invalid value: \"%s\": must be object at the root", t);
	check_node(schema, path, false, "", causes);
}

/* --- pruning ------------------------------------------------------------------- */

static void prune_value(const json_t *s, json_t *v, const char *path, json_t *unknown);

static void prune_object(const json_t *s, json_t *obj, const char *path, bool root,
			 json_t *unknown)
{
	bool preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
	const json_t *props = json_object_get(s, "properties");
	const json_t *ap = json_object_get(s, "additionalProperties");
	const json_t *aps = additional_schema(s);
	bool embedded = flag(s, "x-kubernetes-embedded-resource");
	/* keys are deleted after the walk: jansson's iterator may not see a
	 * deletion under it */
	cleanup_json json_t *drop = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		if ((root || embedded) &&
		    (!strcmp(k, "apiVersion") || !strcmp(k, "kind") || !strcmp(k, "metadata")))
			continue;
		cleanup_free char *p = child_path(path, k);
		const json_t *ps = json_object_get(props, k);
		if (ps) {
			prune_value(ps, v, p, unknown);
		} else if (aps) {
			prune_value(aps, v, p, unknown);
		} else if (preserve || json_is_true(ap)) {
			continue;
		} else {
			json_array_append_new(drop, json_string(k));
			if (unknown)
				json_array_append_new(unknown, json_string(p));
		}
	}
	size_t i;
	json_array_foreach(drop, i, v)
		json_object_del(obj, json_string_value(v));
}

static void prune_value(const json_t *s, json_t *v, const char *path, json_t *unknown)
{
	if (!json_is_object(s))
		return;
	if (json_is_object(v)) {
		prune_object(s, v, path, false, unknown);
	} else if (json_is_array(v)) {
		const json_t *items = json_object_get(s, "items");
		if (!json_is_object(items))
			return;
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			cleanup_free char *p = index_path(path, i);
			prune_value(items, e, p, unknown);
		}
	}
}

void jsonschema_prune(const json_t *schema, json_t *obj, json_t *unknown)
{
	if (json_is_object(schema) && json_is_object(obj))
		prune_object(schema, obj, "", true, unknown);
}

/* --- defaulting ---------------------------------------------------------------- */

static void default_value(const json_t *s, json_t *v);

static void default_object(const json_t *s, json_t *obj)
{
	const json_t *props = json_object_get(s, "properties");
	const char *k;
	json_t *ps;
	json_object_foreach((json_t *)props, k, ps)
	{
		json_t *cur = json_object_get(obj, k);
		const json_t *def = json_object_get(ps, "default");
		if (def && (!cur || (json_is_null(cur) && !flag(ps, "nullable")))) {
			json_t *d = json_deep_copy(def);
			/* a default is pruned to its schema, as upstream stores it */
			prune_value(ps, d, "", NULL);
			json_object_set_new(obj, k, d);
			cur = d;
		}
		if (cur)
			default_value(ps, cur);
	}
	const json_t *aps = additional_schema(s);
	if (aps) {
		json_t *v;
		json_object_foreach(obj, k, v)
			if (!json_object_get(props, k))
				default_value(aps, v);
	}
}

static void default_value(const json_t *s, json_t *v)
{
	if (!json_is_object(s))
		return;
	if (json_is_object(v)) {
		default_object(s, v);
	} else if (json_is_array(v)) {
		const json_t *items = json_object_get(s, "items");
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			const json_t *def = json_object_get(items, "default");
			if (json_is_null(e) && def && !flag(items, "nullable")) {
				json_array_set_new(v, i, json_deep_copy(def));
				e = json_array_get(v, i);
			}
			default_value(items, e);
		}
	}
}

void jsonschema_default(const json_t *schema, json_t *obj)
{
	if (json_is_object(schema) && json_is_object(obj))
		default_object(schema, obj);
}

/* --- validation ---------------------------------------------------------------- */

static bool number_of(const json_t *v, double *d)
{
	if (json_is_integer(v)) {
		*d = (double)json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		*d = json_real_value(v);
		return true;
	}
	return false;
}

static bool type_matches(const char *t, const json_t *v)
{
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(t, "object"))
		return json_is_object(v);
	if (!strcmp(t, "array"))
		return json_is_array(v);
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "integer")) {
		/* 2.0 decodes as an integer, as Go's JSON number does */
		double d;
		return json_is_integer(v) ||
		       (json_is_real(v) && number_of(v, &d) && d == floor(d) && fabs(d) < 9e15);
	}
	return true;
}

/* Cause "Invalid value: <v>: <path> in body <text>". */
static void invalid_in_body(json_t *causes, const char *path, const json_t *v, const char *fmt,
			    ...) __attribute__((format(printf, 4, 5)));

static void invalid_in_body(json_t *causes, const char *path, const json_t *v, const char *fmt,
			    ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *text = xvasprintf(fmt, ap);
	va_end(ap);
	cleanup_free char *go = go_value(v);
	api_cause_add(causes, "FieldValueInvalid", path, "Invalid value: %s: %s in body %s", go,
		      path, text);
}

static void validate_value(const json_t *s, const json_t *v, const char *path, json_t *causes);

static void validate_number(const json_t *s, const json_t *v, const char *path, json_t *causes)
{
	double d, bound;
	if (!number_of(v, &d))
		return;
	struct buf b = BUF_INIT;
	if (number_of(json_object_get(s, "maximum"), &bound)) {
		bool excl = flag(s, "exclusiveMaximum");
		if (excl ? d >= bound : d > bound) {
			buf_go_float(&b, bound);
			invalid_in_body(causes, path, v, "should be less than %s%s",
					excl ? "" : "or equal to ", buf_str(&b));
			buf_reset(&b);
		}
	}
	if (number_of(json_object_get(s, "minimum"), &bound)) {
		bool excl = flag(s, "exclusiveMinimum");
		if (excl ? d <= bound : d < bound) {
			buf_go_float(&b, bound);
			invalid_in_body(causes, path, v, "should be greater than %s%s",
					excl ? "" : "or equal to ", buf_str(&b));
			buf_reset(&b);
		}
	}
	if (number_of(json_object_get(s, "multipleOf"), &bound) && bound > 0) {
		double q = d / bound;
		if (fabs(q - round(q)) > 1e-9) {
			buf_go_float(&b, bound);
			invalid_in_body(causes, path, v, "should be a multiple of %s", buf_str(&b));
		}
	}
	buf_free(&b);
}

/* UTF-8 characters of s, as Go's utf8.RuneCountInString counts them. */
static size_t rune_count(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static void validate_string(const json_t *s, const json_t *v, const char *path, json_t *causes)
{
	const char *str = json_string_value(v);
	size_t runes = rune_count(str);
	const json_t *maxl = json_object_get(s, "maxLength");
	if (json_is_integer(maxl) && (json_int_t)runes > json_integer_value(maxl)) {
		json_int_t m = json_integer_value(maxl);
		api_cause_add(causes, "FieldValueTooLong", path,
			      "Too long: may not be more than %lld %s", (long long)m,
			      m == 1 ? "byte" : "bytes");
	}
	const json_t *minl = json_object_get(s, "minLength");
	if (json_is_integer(minl) && (json_int_t)runes < json_integer_value(minl))
		invalid_in_body(causes, path, v, "should be at least %lld chars long",
				(long long)json_integer_value(minl));
	const char *pat = json_string_value(json_object_get(s, "pattern"));
	if (pat) {
		regex_t re;
		if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0) {
			if (regexec(&re, str, 0, NULL, 0) != 0)
				invalid_in_body(causes, path, v, "should match '%s'", pat);
			regfree(&re);
		}
	}
}

static void validate_array(const json_t *s, const json_t *v, const char *path, json_t *causes)
{
	size_t n = json_array_size(v);
	const json_t *maxi = json_object_get(s, "maxItems");
	if (json_is_integer(maxi) && (json_int_t)n > json_integer_value(maxi))
		api_cause_add(causes, "FieldValueTooMany", path, "Too many: %zu: must have at most %lld items",
			      n, (long long)json_integer_value(maxi));
	const json_t *mini = json_object_get(s, "minItems");
	if (json_is_integer(mini) && (json_int_t)n < json_integer_value(mini))
		invalid_in_body(causes, path, v, "should have at least %lld items",
				(long long)json_integer_value(mini));
	const json_t *items = json_object_get(s, "items");
	if (!json_is_object(items))
		return;
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		cleanup_free char *p = index_path(path, i);
		validate_value(items, e, p, causes);
	}
}

static void validate_object(const json_t *s, const json_t *v, const char *path, bool root,
			    json_t *causes)
{
	const json_t *req = json_object_get(s, "required");
	size_t i;
	json_t *r;
	json_array_foreach(req, i, r)
	{
		const char *k = json_string_value(r);
		if (!k || json_object_get(v, k))
			continue;
		cleanup_free char *p = child_path(path, k);
		api_cause_add(causes, "FieldValueRequired", p, "Required value");
	}
	size_t n = json_object_size(v);
	const json_t *maxp = json_object_get(s, "maxProperties");
	if (json_is_integer(maxp) && (json_int_t)n > json_integer_value(maxp))
		api_cause_add(causes, "FieldValueTooMany", path,
			      "Too many: %zu: must have at most %lld items", n,
			      (long long)json_integer_value(maxp));
	const json_t *minp = json_object_get(s, "minProperties");
	if (json_is_integer(minp) && (json_int_t)n < json_integer_value(minp))
		invalid_in_body(causes, path, v, "should have at least %lld properties",
				(long long)json_integer_value(minp));
	const json_t *props = json_object_get(s, "properties");
	const json_t *aps = additional_schema(s);
	const char *k;
	json_t *e;
	json_object_foreach((json_t *)v, k, e)
	{
		if (root && (!strcmp(k, "apiVersion") || !strcmp(k, "kind") || !strcmp(k, "metadata")))
			continue;
		const json_t *ps = json_object_get(props, k);
		if (!ps)
			ps = aps;
		if (!ps)
			continue;
		cleanup_free char *p = child_path(path, k);
		validate_value(ps, e, p, causes);
	}
}

static void validate_enum(const json_t *s, const json_t *v, const char *path, json_t *causes)
{
	const json_t *en = json_object_get(s, "enum");
	if (!json_is_array(en))
		return;
	size_t i;
	json_t *e;
	json_array_foreach(en, i, e)
		if (json_equal(e, (json_t *)v))
			return;
	struct buf b = BUF_INIT;
	json_array_foreach(en, i, e)
	{
		if (i)
			buf_append_str(&b, ", ");
		if (json_is_string(e)) {
			buf_append_go_quoted(&b, json_string_value(e), json_string_length(e));
		} else {
			cleanup_free char *t = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
			buf_append_go_quoted(&b, t, strlen(t));
		}
	}
	cleanup_free char *go = go_value(v);
	api_cause_add(causes, "FieldValueNotSupported", path,
		      "Unsupported value: %s: supported values: %s", go, buf_str(&b));
	buf_free(&b);
}

static void validate_any(const json_t *s, const json_t *v, const char *path, bool root,
			 json_t *causes)
{
	if (json_is_null(v)) {
		if (flag(s, "nullable") || (!type_of(s)[0] && !flag(s, "x-kubernetes-int-or-string")))
			return;
	}
	const char *t = type_of(s);
	if (flag(s, "x-kubernetes-int-or-string")) {
		if (!json_is_string(v) && !json_is_integer(v)) {
			cleanup_free char *go = go_value(v);
			api_cause_add(causes, "FieldValueTypeInvalid", path,
				      "Invalid value: %s: %s in body must be of type integer,string: "
				      "\"%s\"",
				      go, path, json_type_name(v));
			return;
		}
	} else if (t[0] && !type_matches(t, v)) {
		cleanup_free char *go = go_value(v);
		api_cause_add(causes, "FieldValueTypeInvalid", path,
			      "Invalid value: %s: %s in body must be of type %s: \"%s\"", go,
			      path, t, json_type_name(v));
		return;
	}
	validate_enum(s, v, path, causes);
	if (json_is_number(v))
		validate_number(s, v, path, causes);
	else if (json_is_string(v))
		validate_string(s, v, path, causes);
	else if (json_is_array(v))
		validate_array(s, v, path, causes);
	else if (json_is_object(v))
		validate_object(s, v, path, root, causes);
	/* allOf/anyOf/oneOf/not of structural schemas carry value checks only */
	const json_t *all = json_object_get(s, "allOf");
	size_t i;
	json_t *sub;
	json_array_foreach(all, i, sub)
		validate_any(sub, v, path, root, causes);
	const json_t *any = json_object_get(s, "anyOf");
	if (json_array_size(any)) {
		bool ok = false;
		json_array_foreach(any, i, sub)
		{
			cleanup_json json_t *c = json_array();
			validate_any(sub, v, path, root, c);
			ok |= json_array_size(c) == 0;
		}
		if (!ok)
			invalid_in_body(causes, path, v, "%s", "must validate at least one schema (anyOf)");
	}
	const json_t *one = json_object_get(s, "oneOf");
	if (json_array_size(one)) {
		size_t ok = 0;
		json_array_foreach(one, i, sub)
		{
			cleanup_json json_t *c = json_array();
			validate_any(sub, v, path, root, c);
			ok += json_array_size(c) == 0;
		}
		if (ok != 1)
			invalid_in_body(causes, path, v, "%s", "must validate one and only one schema (oneOf)");
	}
	const json_t *not = json_object_get(s, "not");
	if (json_is_object(not)) {
		cleanup_json json_t *c = json_array();
		validate_any(not, v, path, root, c);
		if (!json_array_size(c))
			invalid_in_body(causes, path, v, "%s", "must not validate the schema (not)");
	}
}

static void validate_value(const json_t *s, const json_t *v, const char *path, json_t *causes)
{
	if (json_is_object(s))
		validate_any(s, v, path, false, causes);
}

void jsonschema_validate(const json_t *schema, const json_t *obj, json_t *causes)
{
	if (json_is_object(schema))
		validate_any(schema, obj, "", true, causes);
}

const json_t *jsonschema_at(const json_t *schema, const char *dotted)
{
	cleanup_free char *copy = xstrdup(dotted);
	const json_t *s = schema;
	char *save = NULL;
	for (char *seg = strtok_r(copy, ".", &save); seg && s; seg = strtok_r(NULL, ".", &save))
		s = json_object_get(json_object_get(s, "properties"), seg);
	return s;
}
