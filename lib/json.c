/* JSON helpers: dotted paths, dumps, equality, JSON pointer, merge patch and
 * JSON patch. The strategic merge patch lives in smp.c. */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "xalloc.h"

/* A dotted segment of digits used on an array: its index, or -1. */
static long path_index(const char *seg, size_t len)
{
	if (len == 0 || len > 9)
		return -1;
	long idx = 0;
	for (size_t i = 0; i < len; i++) {
		if (seg[i] < '0' || seg[i] > '9')
			return -1;
		idx = idx * 10 + (seg[i] - '0');
	}
	return idx;
}

static json_t *path_step(const json_t *cur, const char *seg, size_t len)
{
	if (json_is_object(cur))
		return json_object_getn(cur, seg, len);
	if (json_is_array(cur)) {
		long idx = path_index(seg, len);
		return idx < 0 ? NULL : json_array_get(cur, (size_t)idx);
	}
	return NULL;
}

json_t *json_path_get(const json_t *root, const char *dotted)
{
	const json_t *cur = root;
	const char *p = dotted;

	if (!cur || !dotted)
		return NULL;
	if (*p == '\0')
		return (json_t *)cur;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		cur = path_step(cur, p, len);
		if (!cur || !dot)
			return (json_t *)cur;
		p = dot + 1;
	}
}

const char *json_path_str(const json_t *root, const char *dotted)
{
	return json_string_value(json_path_get(root, dotted));
}

int json_path_set(json_t *root, const char *dotted, json_t *value)
{
	cleanup_json json_t *val = value;
	json_t *cur = root;
	const char *p = dotted;

	if (!json_is_object(root) || !dotted || !*dotted || !value)
		return -1;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0)
			return -1;
		if (!dot)
			return json_object_setn_new(cur, p, len, steal_pointer(&val)) ? -1 : 0;
		json_t *next = json_object_getn(cur, p, len);
		if (!next) {
			next = json_object();
			if (json_object_setn_new(cur, p, len, next))
				return -1;
		} else if (!json_is_object(next)) {
			return -1;
		}
		cur = next;
		p = dot + 1;
	}
}

char *json_dump_compact(const json_t *v)
{
	if (!v)
		return NULL;
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		abort(); /* only allocation failure: jansson reals are always finite */
	return s;
}

const char *json_kind_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	default:
		return "null";
	}
}

json_t *json_array_find_named(const json_t *arr, const char *name)
{
	size_t i;
	json_t *e;
	if (!name)
		return NULL;
	json_array_foreach(arr, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && !strcmp(n, name))
			return e;
	}
	return NULL;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **json_object_sorted_keys(const json_t *obj, size_t *n)
{
	*n = json_object_size(obj);
	const char **keys = xcalloc(*n ? *n : 1, sizeof(*keys));
	size_t i = 0;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val) keys[i++] = key;
	qsort(keys, *n, sizeof(*keys), cmp_keys);
	return keys;
}

json_t *json_copy_deep(const json_t *v)
{
	if (!v)
		return NULL;
	json_t *c = json_deep_copy(v);
	if (!c)
		abort();
	return c;
}

bool json_value_equal(const json_t *a, const json_t *b)
{
	if (a == b)
		return true;
	if (!a || !b)
		return false;
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_OBJECT: {
		const char *k;
		size_t klen;
		json_t *va;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_keylen_foreach((json_t *)a, k, klen, va)
		{
			if (!json_value_equal(va, json_object_getn(b, k, klen)))
				return false;
		}
		return true;
	}
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!json_value_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) ==
			       0;
	default:
		return true; /* true, false, null: same type is same value */
	}
}

/* ---- encoded size ----
 *
 * Mirrors Go's encoding/json, the encoder upstream's JSON patch library
 * measures copied values with, so that the accumulated copy size (and the
 * number in its error message) comes out as upstream's. */

/* A string's encoded bytes, quotes included. jansson strings are valid UTF-8. */
static size_t string_encoded_size(const char *s, size_t len)
{
	size_t n = 2;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
		    c == '\f')
			n += 2;
		else if (c < 0x20 || c == '<' || c == '>' || c == '&')
			n += 6; /* \u00XX */
		else if (c == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
			 ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			n += 6; /* U+2028, U+2029: \u2028 */
			i += 2;
		} else
			n++;
	}
	return n;
}

static size_t digits(unsigned long long v)
{
	size_t n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Go writes a float64 with the fewest digits that read back the same, in
 * 'f' form for 1e-6 <= |x| < 1e21 and in 'e' form (exponent without a
 * leading zero when negative) otherwise. */
static size_t real_encoded_size(double x)
{
	if (x == 0)
		return signbit(x) ? 2 : 1;
	size_t sign = x < 0 ? 1 : 0;
	double ax = fabs(x);
	char text[40];
	int prec = 1;
	for (; prec < 17; prec++) {
		snprintf(text, sizeof(text), "%.*e", prec - 1, ax);
		if (strtod(text, NULL) == ax)
			break;
	}
	snprintf(text, sizeof(text), "%.*e", prec - 1, ax);
	long exp10 = strtol(strchr(text, 'e') + 1, NULL, 10);
	size_t p = (size_t)prec;
	if (ax >= 1e-6 && ax < 1e21) {
		if (exp10 >= (long)p - 1)
			return sign + (size_t)exp10 + 1;
		if (exp10 >= 0)
			return sign + p + 1;
		return sign + 2 + (size_t)(-exp10 - 1) + p;
	}
	size_t mant = p == 1 ? 1 : p + 1;
	unsigned long aexp = (unsigned long)(exp10 < 0 ? -exp10 : exp10);
	size_t edigits = digits(aexp);
	if (exp10 > 0 && edigits < 2)
		edigits = 2;
	return sign + mant + 2 + edigits;
}

size_t json_encoded_size(const json_t *v)
{
	const char *k;
	size_t klen, i, n;
	json_t *x;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		n = 2;
		json_object_keylen_foreach((json_t *)v, k, klen, x)
		{
			n += string_encoded_size(k, klen) + 1 + json_encoded_size(x);
		}
		if (json_object_size(v) > 1)
			n += json_object_size(v) - 1;
		return n;
	case JSON_ARRAY:
		n = 2;
		json_array_foreach(v, i, x)
		{
			n += json_encoded_size(x);
		}
		if (json_array_size(v) > 1)
			n += json_array_size(v) - 1;
		return n;
	case JSON_STRING:
		return string_encoded_size(json_string_value(v), json_string_length(v));
	case JSON_INTEGER: {
		json_int_t iv = json_integer_value(v);
		return iv < 0 ? 1 + digits(0ULL - (unsigned long long)iv)
			      : digits((unsigned long long)iv);
	}
	case JSON_REAL:
		return real_encoded_size(json_real_value(v));
	case JSON_TRUE:
	case JSON_NULL:
		return 4;
	case JSON_FALSE:
		return 5;
	}
	return 0;
}

/* ---- JSON pointer (RFC 6901) ---- */

/* A parsed pointer: unescaped reference tokens. */
struct pointer {
	char **tok;
	size_t n;
};

static void pointer_free(struct pointer *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->tok[i]);
	free(p->tok);
	p->tok = NULL;
	p->n = 0;
}

static int pointer_parse(const char *s, struct pointer *out, struct mk_err **err)
{
	struct pointer p = {0};

	if (!s)
		return mk_err_set(err, MK_EINVAL, "missing JSON pointer");
	if (*s == '\0') {
		*out = p;
		return 0;
	}
	if (*s != '/')
		return mk_err_set(err, MK_EINVAL, "JSON pointer \"%s\" does not start with '/'", s);
	size_t cap = 0;
	const char *c = s;
	while (*c == '/') {
		c++;
		struct buf b = BUF_INIT;
		buf_append(&b, "", 0);
		while (*c && *c != '/') {
			if (*c == '~') {
				if (c[1] == '0') {
					buf_append_char(&b, '~');
				} else if (c[1] == '1') {
					buf_append_char(&b, '/');
				} else {
					buf_free(&b);
					pointer_free(&p);
					return mk_err_set(
						err, MK_EINVAL,
						"JSON pointer \"%s\": invalid escape '~%c'", s,
						c[1] ? c[1] : ' ');
				}
				c += 2;
				continue;
			}
			buf_append_char(&b, *c++);
		}
		if (p.n == cap) {
			cap = cap ? cap * 2 : 8;
			p.tok = xrealloc(p.tok, cap * sizeof(*p.tok));
		}
		p.tok[p.n++] = buf_steal(&b);
	}
	*out = p;
	return 0;
}

/* Array index token: digits without leading zeros. -1 if malformed. */
static long long pointer_index(const char *tok)
{
	if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 18)
		return -1;
	for (const char *c = tok; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	return strtoll(tok, NULL, 10);
}

/* Follows tokens [0, upto) from doc; NULL if any is missing. */
static json_t *pointer_walk(json_t *doc, const struct pointer *p, size_t upto)
{
	json_t *cur = doc;
	for (size_t i = 0; i < upto && cur; i++) {
		if (json_is_object(cur)) {
			cur = json_object_get(cur, p->tok[i]);
		} else if (json_is_array(cur)) {
			long long idx = pointer_index(p->tok[i]);
			cur = idx < 0 ? NULL : json_array_get(cur, (size_t)idx);
		} else {
			cur = NULL;
		}
	}
	return cur;
}

json_t *json_pointer_get(const json_t *doc, const char *pointer, struct mk_err **err)
{
	struct pointer p;
	if (pointer_parse(pointer, &p, err) < 0)
		return NULL;
	json_t *v = pointer_walk((json_t *)doc, &p, p.n);
	pointer_free(&p);
	if (!v)
		mk_err_set(err, MK_ENOTFOUND, "JSON pointer \"%s\": no such value", pointer);
	return v;
}

/* ---- JSON merge patch (RFC 7386) ----
 *
 * As the merge patch library of upstream's API server does, a patch value
 * that is stored rather than merged has its null members removed, also in
 * objects inside arrays (RFC 7386 would keep those); a value replacing a
 * live object is stored as sent. */

/* Copy of v without null object members, at any depth. */
static json_t *prune_nulls(const json_t *v)
{
	const char *k;
	size_t klen;
	json_t *x;

	if (json_is_object(v)) {
		json_t *o = json_object();
		json_object_keylen_foreach((json_t *)v, k, klen, x)
		{
			if (!json_is_null(x))
				json_object_setn_new(o, k, klen, prune_nulls(x));
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_array_foreach(v, i, x)
		{
			json_array_append_new(a, prune_nulls(x));
		}
		return a;
	}
	return json_copy_deep(v);
}

/* Merges patch (an object) into dst (an object) in place. */
static void merge_patch_into(json_t *dst, const json_t *patch)
{
	const char *k;
	size_t klen;
	json_t *pv;

	json_object_keylen_foreach((json_t *)patch, k, klen, pv)
	{
		json_t *cur = json_object_getn(dst, k, klen);
		if (json_is_null(pv))
			json_object_deln(dst, k, klen);
		else if (!json_is_object(cur))
			json_object_setn_new(dst, k, klen, prune_nulls(pv));
		else if (json_is_object(pv))
			merge_patch_into(cur, pv);
		else
			json_object_setn_new(dst, k, klen, json_copy_deep(pv));
	}
}

json_t *json_merge_patch(const json_t *target, const json_t *patch)
{
	if (!patch)
		return json_null();
	if (!json_is_object(patch))
		return prune_nulls(patch);
	if (!json_is_object(target))
		return prune_nulls(patch);
	json_t *res = json_copy_deep(target);
	merge_patch_into(res, patch);
	return res;
}

/* ---- JSON patch (RFC 6902) ----
 *
 * Semantics follow the RFC. Error texts are those of the JSON patch library
 * the upstream API server and kubectl use, so clients see the same message;
 * where that library accepts what the RFC forbids (a pointer without a
 * leading '/', "01" as an index, a missing "value"), the error is ours and
 * names the operation. */

struct patch_op {
	size_t n;	/* index in the ops array */
	const char *op; /* borrowed */
	const char *path;
};

static int op_fail(struct mk_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int op_fail(struct mk_err **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	return mk_err_set(err, MK_EINVAL, "%s", msg);
}

/* Detaches the value at p (the pointer text ptr) from *doc and returns it
 * (new reference). op names the operation for messages ("remove", "move"). */
static json_t *patch_take(json_t **doc, const struct pointer *p, const char *ptr, const char *op,
			  struct mk_err **err)
{
	if (p->n == 0)
		return steal_pointer(doc);
	json_t *parent = pointer_walk(*doc, p, p->n - 1);
	const char *last = p->tok[p->n - 1];
	if (json_is_object(parent)) {
		json_t *v = json_object_get(parent, last);
		if (!v) {
			op_fail(err,
				"error in %s for path: '%s': Unable to remove nonexistent key: %s: "
				"missing value",
				op, ptr, last);
			return NULL;
		}
		json_incref(v);
		json_object_del(parent, last);
		return v;
	}
	if (json_is_array(parent)) {
		long long idx = pointer_index(last);
		if (idx < 0 || (size_t)idx >= json_array_size(parent)) {
			op_fail(err,
				"error in %s for path: '%s': Unable to access invalid index: %s: "
				"invalid index referenced",
				op, ptr, last);
			return NULL;
		}
		json_t *v = json_incref(json_array_get(parent, (size_t)idx));
		json_array_remove(parent, (size_t)idx);
		return v;
	}
	if (!strcmp(op, "move"))
		op_fail(err,
			"move operation does not apply: doc is missing from path: %s: missing "
			"value",
			ptr);
	else
		op_fail(err,
			"%s operation does not apply: doc is missing path: \"%s\": missing value",
			op, ptr);
	return NULL;
}

/* Puts value (stolen) at p; replace=true requires the target to exist. */
static int patch_put(json_t **doc, const struct pointer *p, json_t *value, bool replace,
		     const struct patch_op *o, struct mk_err **err)
{
	cleanup_json json_t *val = value;

	if (p->n == 0) {
		json_decref(*doc);
		*doc = steal_pointer(&val);
		return 0;
	}
	json_t *parent = pointer_walk(*doc, p, p->n - 1);
	const char *last = p->tok[p->n - 1];
	if (json_is_object(parent)) {
		if (replace && !json_object_get(parent, last))
			return op_fail(err,
				       "replace operation does not apply: doc is missing key: %s: "
				       "missing value",
				       o->path);
		json_object_set_new(parent, last, steal_pointer(&val));
		return 0;
	}
	if (json_is_array(parent)) {
		size_t size = json_array_size(parent);
		if (!replace && strcmp(last, "-") == 0) {
			json_array_append_new(parent, steal_pointer(&val));
			return 0;
		}
		long long idx = pointer_index(last);
		if (idx < 0 && strspn(last, "0123456789") == strlen(last) && *last)
			return op_fail(
				err, "json patch operation %zu (%s %s): invalid array index \"%s\"",
				o->n, o->op, o->path, last);
		if (idx < 0 || (replace ? (size_t)idx >= size : (size_t)idx > size)) {
			if (replace)
				return op_fail(
					err,
					"replace operation does not apply: doc is missing key: "
					"%s: missing value",
					o->path);
			return op_fail(
				err,
				"error in %s for path: '%s': Unable to access invalid index: "
				"%s: invalid index referenced",
				o->op, o->path, last);
		}
		if (replace)
			json_array_set_new(parent, (size_t)idx, steal_pointer(&val));
		else
			json_array_insert_new(parent, (size_t)idx, steal_pointer(&val));
		return 0;
	}
	if (replace)
		return op_fail(err,
			       "replace operation does not apply: doc is missing path: %s: missing "
			       "value",
			       o->path);
	return op_fail(err,
		       "%s operation does not apply: doc is missing path: \"%s\": missing value",
		       o->op, o->path);
}

/* Parses a pointer member of an operation; the library's message when it
 * cannot apply at all, ours for what only the RFC forbids. */
static int op_pointer(const struct patch_op *o, const char *member, const char *text,
		      struct pointer *out, struct mk_err **err)
{
	if (!text)
		return op_fail(err, "%s operation failed to decode %s%s: missing value", o->op,
			       member,
			       strcmp(member, "from") ? "" : ": operation, missing from field");
	if (*text && *text != '/')
		return op_fail(
			err,
			"%s operation does not apply: doc is missing %s: \"%s\": missing value",
			o->op, strcmp(member, "from") ? "path" : "from path", text);
	if (pointer_parse(text, out, err) < 0)
		return mk_err_wrap(err, "json patch operation %zu (%s)", o->n, o->op);
	return 0;
}

static int patch_one(json_t **doc, const json_t *opj, size_t n, size_t *copied, struct mk_err **err)
{
	struct patch_op o = {.n = n};
	struct pointer path = {0}, from = {0};
	int rc = -1;

	if (!json_is_object(opj))
		return mk_err_set(err, MK_EINVAL, "json patch operation %zu is not an object", n);
	o.op = json_string_value(json_object_get(opj, "op"));
	o.path = json_string_value(json_object_get(opj, "path"));
	if (!o.op)
		return op_fail(err, "Unexpected kind: unknown");
	if (strcmp(o.op, "add") && strcmp(o.op, "remove") && strcmp(o.op, "replace") &&
	    strcmp(o.op, "move") && strcmp(o.op, "copy") && strcmp(o.op, "test"))
		return op_fail(err, "Unexpected kind: %s", o.op);
	if (op_pointer(&o, "path", o.path, &path, err) < 0)
		return -1;

	json_t *value = json_object_get(opj, "value");
	bool needs_value =
		!strcmp(o.op, "add") || !strcmp(o.op, "replace") || !strcmp(o.op, "test");
	bool needs_from = !strcmp(o.op, "move") || !strcmp(o.op, "copy");
	if (needs_value && !value) {
		op_fail(err, "json patch operation %zu (%s %s): missing \"value\"", n, o.op,
			o.path);
		goto out;
	}
	if (needs_from &&
	    op_pointer(&o, "from", json_string_value(json_object_get(opj, "from")), &from, err) < 0)
		goto out;

	if (!strcmp(o.op, "add")) {
		rc = patch_put(doc, &path, json_copy_deep(value), false, &o, err);
	} else if (!strcmp(o.op, "replace")) {
		rc = patch_put(doc, &path, json_copy_deep(value), true, &o, err);
	} else if (!strcmp(o.op, "remove")) {
		json_t *old = patch_take(doc, &path, o.path, "remove", err);
		if (old) {
			json_decref(old);
			if (!*doc)
				*doc = json_null();
			rc = 0;
		}
	} else if (!strcmp(o.op, "test")) {
		json_t *cur = pointer_walk(*doc, &path, path.n);
		if (!cur || !json_value_equal(cur, value))
			op_fail(err, "testing value %s failed: test failed", o.path);
		else
			rc = 0;
	} else if (!strcmp(o.op, "copy")) {
		const char *f = json_string_value(json_object_get(opj, "from"));
		json_t *src = pointer_walk(*doc, &from, from.n);
		if (!src) {
			op_fail(err,
				"copy operation does not apply: doc is missing from path: %s: "
				"missing "
				"value",
				f);
			goto out;
		}
		/* Counted before the value is copied, so that a refused copy
		 * costs nothing. */
		*copied += json_encoded_size(src);
		if (*copied > JSON_PATCH_MAX_COPY_BYTES) {
			op_fail(err,
				"Unable to complete the copy, the accumulated size increase of "
				"copy is %zu, exceeding the limit %d",
				*copied, JSON_PATCH_MAX_COPY_BYTES);
			goto out;
		}
		rc = patch_put(doc, &path, json_copy_deep(src), false, &o, err);
	} else {
		const char *f = json_string_value(json_object_get(opj, "from"));
		bool inside = from.n < path.n;
		for (size_t i = 0; inside && i < from.n; i++)
			inside = strcmp(from.tok[i], path.tok[i]) == 0;
		if (inside) {
			op_fail(err,
				"move operation does not apply: %s is a child of %s: a value "
				"cannot "
				"move into itself",
				o.path, f);
		} else {
			json_t *v = patch_take(doc, &from, f, "move", err);
			if (v) {
				if (!*doc)
					*doc = json_null();
				rc = patch_put(doc, &path, v, false, &o, err);
			}
		}
	}
out:
	pointer_free(&path);
	pointer_free(&from);
	return rc;
}

json_t *json_patch_apply(const json_t *doc, const json_t *ops, struct mk_err **err)
{
	if (!json_is_array(ops)) {
		mk_err_set(err, MK_EINVAL, "json patch must be an array of operations");
		return NULL;
	}
	if (json_array_size(ops) > JSON_PATCH_MAX_OPS) {
		mk_err_set(err, MK_ETOOLARGE,
			   "The allowed maximum operations in a JSON patch is %d, got %zu",
			   JSON_PATCH_MAX_OPS, json_array_size(ops));
		return NULL;
	}
	json_t *res = doc ? json_copy_deep(doc) : json_null();
	size_t copied = 0;
	for (size_t i = 0; i < json_array_size(ops); i++) {
		if (patch_one(&res, json_array_get(ops, i), i, &copied, err) < 0) {
			json_decref(res);
			return NULL;
		}
	}
	return res;
}

/* --- duplicate keys ------------------------------------------------------------ */

struct dup_scan {
	const char *p, *end;
	struct buf path;
	json_t *out;
};

static void dup_ws(struct dup_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static void utf8_put(struct buf *b, unsigned long c)
{
	if (c < 0x80) {
		buf_append_char(b, (char)c);
	} else if (c < 0x800) {
		buf_append_char(b, (char)(0xc0 | (c >> 6)));
		buf_append_char(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_append_char(b, (char)(0xe0 | (c >> 12)));
		buf_append_char(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_append_char(b, (char)(0x80 | (c & 0x3f)));
	} else {
		buf_append_char(b, (char)(0xf0 | (c >> 18)));
		buf_append_char(b, (char)(0x80 | ((c >> 12) & 0x3f)));
		buf_append_char(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_append_char(b, (char)(0x80 | (c & 0x3f)));
	}
}

static unsigned long hex4(const char *p)
{
	char tmp[5] = {p[0], p[1], p[2], p[3], '\0'};
	return strtoul(tmp, NULL, 16);
}

/* A string at s->p (on its opening quote), decoded into out when non-NULL;
 * s->p ends after the closing quote. */
static void dup_string(struct dup_scan *s, struct buf *out)
{
	s->p++;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p != '\\') {
			if (out)
				buf_append_char(out, *s->p);
			s->p++;
			continue;
		}
		s->p++;
		if (s->p >= s->end)
			return;
		char c = *s->p++;
		if (c != 'u') {
			if (out)
				buf_append_char(out, c == 'n'	? '\n'
						     : c == 't' ? '\t'
						     : c == 'r' ? '\r'
						     : c == 'b' ? '\b'
						     : c == 'f' ? '\f'
								: c);
			continue;
		}
		if (s->end - s->p < 4)
			return;
		unsigned long cp = hex4(s->p);
		s->p += 4;
		if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 && s->p[0] == '\\' &&
		    s->p[1] == 'u') {
			unsigned long lo = hex4(s->p + 2);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s->p += 6;
			}
		}
		if (out)
			utf8_put(out, cp);
	}
	if (s->p < s->end)
		s->p++;
}

static void dup_value(struct dup_scan *s);

static void dup_path_cut(struct dup_scan *s, size_t len)
{
	s->path.len = len;
	if (s->path.data)
		s->path.data[len] = '\0';
}

static void dup_object(struct dup_scan *s)
{
	size_t base = s->path.len;
	cleanup_json json_t *seen = json_object();
	s->p++;
	for (;;) {
		dup_ws(s);
		if (s->p >= s->end || *s->p == '}')
			break;
		cleanup_buf struct buf key = BUF_INIT;
		dup_string(s, &key);
		dup_path_cut(s, base);
		if (base)
			buf_append_char(&s->path, '.');
		buf_append(&s->path, key.data ? key.data : "", key.len);
		const char *k = buf_str(&key);
		if (json_object_get(seen, k)) {
			bool listed = false;
			size_t i;
			json_t *d;
			json_array_foreach(s->out, i, d) listed |=
				!strcmp(json_string_value(d), buf_str(&s->path));
			if (!listed)
				json_array_append_new(s->out, json_string(buf_str(&s->path)));
		} else {
			json_object_set_new(seen, k, json_true());
		}
		dup_ws(s);
		if (s->p < s->end && *s->p == ':')
			s->p++;
		dup_value(s);
		dup_ws(s);
		if (s->p < s->end && *s->p == ',')
			s->p++;
	}
	if (s->p < s->end)
		s->p++;
	dup_path_cut(s, base);
}

static void dup_array(struct dup_scan *s)
{
	size_t base = s->path.len;
	s->p++;
	for (size_t i = 0;; i++) {
		dup_ws(s);
		if (s->p >= s->end || *s->p == ']')
			break;
		dup_path_cut(s, base);
		buf_printf(&s->path, "[%zu]", i);
		dup_value(s);
		dup_ws(s);
		if (s->p < s->end && *s->p == ',')
			s->p++;
	}
	if (s->p < s->end)
		s->p++;
	dup_path_cut(s, base);
}

static void dup_value(struct dup_scan *s)
{
	dup_ws(s);
	if (s->p >= s->end)
		return;
	switch (*s->p) {
	case '{':
		dup_object(s);
		return;
	case '[':
		dup_array(s);
		return;
	case '"':
		dup_string(s, NULL);
		return;
	default:
		/* numbers, true, false, null */
		while (s->p < s->end && !strchr(",}] \t\n\r", *s->p))
			s->p++;
	}
}

json_t *json_duplicate_keys(const char *text, size_t len)
{
	struct dup_scan s = {.p = text, .end = text + len, .path = BUF_INIT, .out = json_array()};
	if (text)
		dup_value(&s);
	buf_free(&s.path);
	return s.out;
}
