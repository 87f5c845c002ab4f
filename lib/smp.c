/* Strategic merge patch (json_smp_apply) and its merge-key table.
 *
 * The document is deep-copied once and patched in place. Keyed lists are
 * indexed by a hash of their merge-key values so a patch touching a list of
 * n elements costs O(n + patch), not O(n * patch). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "smp.h"
#include "xalloc.h"

#define DIRECTIVE_PATCH	 "$patch"
#define DIRECTIVE_RETAIN "$retainKeys"
#define PREFIX_ORDER	 "$setElementOrder/"
#define PREFIX_DELPRIM	 "$deleteFromPrimitiveList/"

static const struct smp_rule {
	const char *suffix; /* matched at the end of the path */
	int anchored;	    /* the whole path must equal suffix */
	enum smp_list_kind kind;
	const char *key;
} smp_rules[] = {
	{"/containers/[]/ports", 0, SMP_LIST_KEYED, "containerPort"},
	{"/initContainers/[]/ports", 0, SMP_LIST_KEYED, "containerPort"},
	{"/ephemeralContainers/[]/ports", 0, SMP_LIST_KEYED, "containerPort"},
	{"/spec/ports", 1, SMP_LIST_KEYED, "port"}, /* Service */
	{"/containers", 0, SMP_LIST_KEYED, "name"},
	{"/initContainers", 0, SMP_LIST_KEYED, "name"},
	{"/ephemeralContainers", 0, SMP_LIST_KEYED, "name"},
	{"/env", 0, SMP_LIST_KEYED, "name"},
	{"/volumeMounts", 0, SMP_LIST_KEYED, "mountPath"},
	{"/volumeDevices", 0, SMP_LIST_KEYED, "devicePath"},
	{"/spec/volumes", 0, SMP_LIST_KEYED, "name"},
	{"/spec/imagePullSecrets", 0, SMP_LIST_KEYED, "name"}, /* PodSpec only */
	{"/hostAliases", 0, SMP_LIST_KEYED, "ip"},
	{"/topologySpreadConstraints", 0, SMP_LIST_KEYED, "topologyKey"},
	{"/schedulingGates", 0, SMP_LIST_KEYED, "name"},
	{"/spec/resourceClaims", 0, SMP_LIST_KEYED, "name"},
	{"/resources/claims", 0, SMP_LIST_KEYED, "name"},
	{"/conditions", 0, SMP_LIST_KEYED, "type"},
	{"/status/addresses", 0, SMP_LIST_KEYED, "type"}, /* Node */
	{"/podIPs", 0, SMP_LIST_KEYED, "ip"},
	{"/hostIPs", 0, SMP_LIST_KEYED, "ip"},
	{"/metadata/ownerReferences", 0, SMP_LIST_KEYED, "uid"},
	{"/secrets", 1, SMP_LIST_KEYED, "name"}, /* ServiceAccount */
	{"/metadata/finalizers", 0, SMP_LIST_PRIMITIVE, NULL},
	{"/spec/podCIDRs", 0, SMP_LIST_PRIMITIVE, NULL},
};

enum smp_list_kind smp_list_kind_for_path(const char *path, const char **merge_key)
{
	size_t plen = strlen(path);

	for (size_t i = 0; i < sizeof(smp_rules) / sizeof(smp_rules[0]); i++) {
		const struct smp_rule *r = &smp_rules[i];
		size_t slen = strlen(r->suffix);
		if (slen > plen || (r->anchored && slen != plen))
			continue;
		if (memcmp(path + plen - slen, r->suffix, slen) != 0)
			continue;
		if (merge_key)
			*merge_key = r->key;
		return r->kind;
	}
	return SMP_LIST_REPLACE;
}

struct smp {
	struct buf path;
	struct buf key; /* scratch for key_string */
	json_t *fresh;	/* addresses of list elements the patch added */
};

static void fresh_mark(struct smp *s, const json_t *e)
{
	char a[32];
	snprintf(a, sizeof(a), "%p", (const void *)e);
	json_object_set_new(s->fresh, a, json_true());
}

static bool fresh_is(const struct smp *s, const json_t *e)
{
	char a[32];
	snprintf(a, sizeof(a), "%p", (const void *)e);
	return json_object_get(s->fresh, a) != NULL;
}

static size_t path_push(struct smp *s, const char *k, size_t klen)
{
	size_t old = s->path.len;
	buf_append_char(&s->path, '/');
	buf_append(&s->path, k, klen);
	return old;
}

static void path_pop(struct smp *s, size_t old)
{
	s->path.len = old;
	s->path.data[old] = '\0';
}

static const char *path_str(const struct smp *s)
{
	return s->path.len ? s->path.data : "/";
}

static int smp_fail(struct smp *s, struct mk_err **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int smp_fail(struct smp *s, struct mk_err **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	return mk_err_set(err, MK_EINVAL, "strategic merge patch at %s: %s", path_str(s), msg);
}

static bool is_directive(const char *k, size_t klen)
{
	if (klen == 0 || k[0] != '$')
		return false;
	return (klen == strlen(DIRECTIVE_PATCH) && !memcmp(k, DIRECTIVE_PATCH, klen)) ||
	       (klen == strlen(DIRECTIVE_RETAIN) && !memcmp(k, DIRECTIVE_RETAIN, klen)) ||
	       (klen > strlen(PREFIX_ORDER) && !memcmp(k, PREFIX_ORDER, strlen(PREFIX_ORDER))) ||
	       (klen > strlen(PREFIX_DELPRIM) &&
		!memcmp(k, PREFIX_DELPRIM, strlen(PREFIX_DELPRIM)));
}

/* An object made only of directives ({"$patch": "replace"}): a marker, not data. */
static bool is_marker(const json_t *v)
{
	const char *k;
	size_t klen;
	json_t *x;

	if (!json_is_object(v) || json_object_size(v) == 0)
		return false;
	json_object_keylen_foreach((json_t *)v, k, klen, x)
	{
		if (!is_directive(k, klen))
			return false;
	}
	return true;
}

/* Deep copy of patch data with every directive removed. */
static json_t *strip_copy(const json_t *v)
{
	const char *k;
	size_t klen;
	json_t *x;

	if (json_is_object(v)) {
		json_t *o = json_object();
		json_object_keylen_foreach((json_t *)v, k, klen, x)
		{
			if (!is_directive(k, klen))
				json_object_setn_new(o, k, klen, strip_copy(x));
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_array_foreach(v, i, x)
		{
			if (!is_marker(x))
				json_array_append_new(a, strip_copy(x));
		}
		return a;
	}
	json_t *c = json_copy((json_t *)v);
	if (!c)
		abort();
	return c;
}

/* Hash key of a merge-key value in s->key: numbers by value, strings by bytes. */
static void key_string(struct smp *s, const json_t *v)
{
	struct buf *b = &s->key;

	buf_reset(b);
	switch (json_typeof(v)) {
	case JSON_STRING:
		buf_append_char(b, 's');
		buf_append(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_printf(b, "i%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL: {
		double d = json_real_value(v);
		if (d >= -9e15 && d <= 9e15 && d == (double)(long long)d)
			buf_printf(b, "i%lld", (long long)d);
		else
			buf_printf(b, "r%.17g", d);
		break;
	}
	default: {
		cleanup_free char *j = json_dump_compact(v);
		buf_append_char(b, 'j');
		buf_append_str(b, j);
	}
	}
}

/* Merge-key value of a list element, or NULL (primitive lists: the element). */
static const json_t *elem_key(const json_t *e, const char *mkey)
{
	if (!mkey)
		return e;
	return json_is_object(e) ? json_object_get(e, mkey) : NULL;
}

/* Replaces the contents of dst by those of src (stolen). */
static void array_swap_in(json_t *dst, json_t *src)
{
	json_array_clear(dst);
	json_array_extend(dst, src);
	json_decref(src);
}

/* Drops from dst every element whose key is in the set del. */
static void list_remove_keys(struct smp *s, json_t *dst, const json_t *del, const char *mkey)
{
	json_t *keep = json_array();
	size_t i;
	json_t *e;

	json_array_foreach(dst, i, e)
	{
		const json_t *kv = elem_key(e, mkey);
		if (kv) {
			key_string(s, kv);
			if (json_object_getn(del, s->key.data, s->key.len))
				continue;
		}
		json_array_append(keep, e);
	}
	array_swap_in(dst, keep);
}

struct order_item {
	json_t *v;
	long pos;    /* position in $setElementOrder, -1 if absent */
	size_t orig; /* position in the merged list */
	bool fresh;  /* added by the patch: not in the live order */
};

static int order_cmp(const void *a, const void *b)
{
	const struct order_item *x = a, *y = b;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->orig < y->orig ? -1 : x->orig > y->orig;
}

/* Orders a merged list as upstream does (normalizeElementOrder): elements
 * named in order (the patch list, or a $setElementOrder) take that order; the
 * others, which come from the live list, keep theirs and are interleaved:
 * one goes before a listed element only if both were in the live list and it
 * came first there (mergeSortedSlice). */
static void list_reorder(struct smp *s, json_t *dst, const json_t *order, const char *mkey)
{
	size_t n = json_array_size(dst);
	if (n < 2 || !json_is_array(order))
		return;

	cleanup_json json_t *pos = json_object();
	size_t j;
	json_t *oe;
	json_array_foreach(order, j, oe)
	{
		const json_t *kv = elem_key(oe, mkey);
		if (!kv)
			continue;
		key_string(s, kv);
		if (!json_object_getn(pos, s->key.data, s->key.len))
			json_object_setn_new(pos, s->key.data, s->key.len,
					     json_integer((json_int_t)j));
	}

	cleanup_free struct order_item *listed = xcalloc(n, sizeof(*listed));
	cleanup_free struct order_item *others = xcalloc(n, sizeof(*others));
	size_t nl = 0, no = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(dst, i);
		const json_t *kv = elem_key(e, mkey);
		json_t *p = NULL;
		if (kv) {
			key_string(s, kv);
			p = json_object_getn(pos, s->key.data, s->key.len);
		}
		if (p)
			listed[nl++] = (struct order_item){e, (long)json_integer_value(p), i,
							   fresh_is(s, e)};
		else
			others[no++] = (struct order_item){e, -1, i, fresh_is(s, e)};
	}
	if (nl == 0)
		return;
	qsort(listed, nl, sizeof(*listed), order_cmp);

	json_t *out = json_array();
	size_t a = 0, b = 0;
	while (a < nl || b < no) {
		if (b < no && (a == nl || (!others[b].fresh && !listed[a].fresh &&
					   others[b].orig < listed[a].orig)))
			json_array_append(out, others[b++].v);
		else
			json_array_append(out, listed[a++].v);
	}
	array_swap_in(dst, out);
}

static int merge_object(struct smp *s, json_t *dst, const json_t *patch, struct mk_err **err);

/* Merges the keyed list patch into dst in place. As upstream does, elements
 * carrying "$patch" are directives, not data: "delete" removes every live
 * element with that key (before anything is merged, so a patch may delete and
 * re-add), "replace" makes the patch's other elements the whole list. */
static int merge_keyed_list(struct smp *s, json_t *dst, const json_t *patch, const char *mkey,
			    struct mk_err **err)
{
	cleanup_json json_t *idx = json_object(); /* key -> index of first element */
	cleanup_json json_t *del = json_object(); /* keys to delete */
	bool replace = false;
	size_t i;
	json_t *e;

	json_array_foreach(patch, i, e)
	{
		if (!json_is_object(e))
			return smp_fail(s, err, "list element %zu is not an object", i);
		const char *dir = json_string_value(json_object_get(e, DIRECTIVE_PATCH));
		if (!dir)
			continue;
		if (!strcmp(dir, "merge")) {
			return smp_fail(s, err,
					"merging lists cannot yet be specified in the patch");
		} else if (!strcmp(dir, "replace")) {
			replace = true;
		} else if (!strcmp(dir, "delete")) {
			const json_t *kv = json_object_get(e, mkey);
			if (!kv)
				return smp_fail(
					s, err,
					"delete directive %zu does not contain merge key \"%s\"", i,
					mkey);
			key_string(s, kv);
			json_object_setn_new(del, s->key.data, s->key.len, json_true());
		} else {
			return smp_fail(s, err,
					"unknown $patch directive \"%s\" in list element %zu", dir,
					i);
		}
	}
	if (replace) {
		json_t *list = json_array();
		json_array_foreach(patch, i, e)
		{
			if (!json_object_get(e, DIRECTIVE_PATCH))
				json_array_append_new(list, strip_copy(e));
		}
		array_swap_in(dst, list);
		return 0;
	}
	if (json_object_size(del))
		list_remove_keys(s, dst, del, mkey);

	json_array_foreach(dst, i, e)
	{
		const json_t *kv = elem_key(e, mkey);
		if (!kv)
			continue;
		key_string(s, kv);
		if (!json_object_getn(idx, s->key.data, s->key.len))
			json_object_setn_new(idx, s->key.data, s->key.len,
					     json_integer((json_int_t)i));
	}

	size_t old = path_push(s, "[]", 2);
	json_array_foreach(patch, i, e)
	{
		if (json_object_get(e, DIRECTIVE_PATCH))
			continue;
		const json_t *kv = json_object_get(e, mkey);
		if (!kv) {
			path_pop(s, old);
			return smp_fail(s, err,
					"list element %zu does not contain merge key \"%s\"", i,
					mkey);
		}
		key_string(s, kv);
		json_t *at = json_object_getn(idx, s->key.data, s->key.len);
		json_t *target;
		if (at) {
			target = json_array_get(dst, (size_t)json_integer_value(at));
			if (!json_is_object(target)) {
				target = json_object();
				json_array_set_new(dst, (size_t)json_integer_value(at), target);
			}
		} else {
			json_object_setn_new(idx, s->key.data, s->key.len,
					     json_integer((json_int_t)json_array_size(dst)));
			target = json_object();
			json_array_append_new(dst, target);
			fresh_mark(s, target);
		}
		if (merge_object(s, target, e, err) < 0) {
			path_pop(s, old);
			return -1;
		}
	}
	path_pop(s, old);
	return 0;
}

static void merge_primitive_list(struct smp *s, json_t *dst, const json_t *patch)
{
	cleanup_json json_t *seen = json_object();
	size_t i;
	json_t *e;

	json_array_foreach(dst, i, e)
	{
		key_string(s, e);
		json_object_setn_new(seen, s->key.data, s->key.len, json_true());
	}
	json_array_foreach(patch, i, e)
	{
		if (is_marker(e))
			continue;
		key_string(s, e);
		if (json_object_getn(seen, s->key.data, s->key.len))
			continue;
		json_object_setn_new(seen, s->key.data, s->key.len, json_true());
		json_t *c = strip_copy(e);
		json_array_append_new(dst, c);
		fresh_mark(s, c);
	}
}

static bool list_has_replace_marker(const json_t *patch)
{
	size_t i;
	json_t *e;
	json_array_foreach(patch, i, e)
	{
		const char *dir = json_string_value(json_object_get(e, DIRECTIVE_PATCH));
		if (dir && !strcmp(dir, "replace") && is_marker(e))
			return true;
	}
	return false;
}

/* Directive "<prefix><list>" of patch for list k, or NULL. */
static json_t *list_directive(const json_t *patch, const char *prefix, const char *k, size_t klen)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, prefix);
	buf_append(&b, k, klen);
	json_t *v = json_object_getn(patch, b.data, b.len);
	buf_free(&b);
	return v;
}

/* How the list k of patch merges: the table first; failing that, a
 * $setElementOrder of one-key objects names the merge key. */
static enum smp_list_kind list_kind(struct smp *s, const json_t *patch, const char *k, size_t klen,
				    const char **mkey)
{
	enum smp_list_kind kind = smp_list_kind_for_path(s->path.data, mkey);
	if (kind != SMP_LIST_REPLACE)
		return kind;
	const json_t *first = json_array_get(list_directive(patch, PREFIX_ORDER, k, klen), 0);
	if (json_is_object(first) && json_object_size(first) == 1) {
		*mkey = json_object_iter_key(json_object_iter((json_t *)first));
		return SMP_LIST_KEYED;
	}
	return SMP_LIST_REPLACE;
}

static int merge_list_field(struct smp *s, json_t *dst, const char *k, size_t klen,
			    const json_t *patch, const json_t *pv, struct mk_err **err)
{
	const char *mkey = NULL;
	enum smp_list_kind kind = list_kind(s, patch, k, klen, &mkey);

	if (kind == SMP_LIST_REPLACE ||
	    (kind == SMP_LIST_PRIMITIVE && list_has_replace_marker(pv))) {
		json_object_setn_new(dst, k, klen, strip_copy(pv));
		return 0;
	}
	json_t *cur = json_object_getn(dst, k, klen);
	if (!json_is_array(cur)) {
		cur = json_array();
		json_object_setn_new(dst, k, klen, cur);
	}
	if (kind == SMP_LIST_PRIMITIVE) {
		merge_primitive_list(s, cur, pv);
		mkey = NULL;
	} else if (merge_keyed_list(s, cur, pv, mkey, err) < 0) {
		return -1;
	}
	/* upstream orders the merged list by the patch's own order, then by any
	 * $setElementOrder (applied by the caller) */
	list_reorder(s, cur, pv, mkey);
	return 0;
}

static int merge_field(struct smp *s, json_t *dst, const char *k, size_t klen, const json_t *patch,
		       const json_t *pv, struct mk_err **err)
{
	if (json_is_null(pv)) {
		json_object_deln(dst, k, klen);
		return 0;
	}
	if (json_is_array(pv))
		return merge_list_field(s, dst, k, klen, patch, pv, err);
	if (!json_is_object(pv)) {
		json_object_setn_new(dst, k, klen, strip_copy(pv));
		return 0;
	}

	const char *dir = json_string_value(json_object_get(pv, DIRECTIVE_PATCH));
	if (dir && !strcmp(dir, "delete")) {
		/* upstream leaves an empty map, not a missing key */
		json_object_setn_new(dst, k, klen, json_object());
		return 0;
	}
	if (dir && !strcmp(dir, "replace")) {
		json_object_setn_new(dst, k, klen, strip_copy(pv));
		return 0;
	}
	if (dir && strcmp(dir, "merge"))
		return smp_fail(s, err, "unknown $patch directive \"%s\"", dir);
	json_t *cur = json_object_getn(dst, k, klen);
	if (!json_is_object(cur)) {
		cur = json_object();
		json_object_setn_new(dst, k, klen, cur);
	}
	return merge_object(s, cur, pv, err);
}

static int apply_delete_from_primitive(struct smp *s, json_t *dst, const char *list, size_t llen,
				       const json_t *values, struct mk_err **err)
{
	if (!json_is_array(values))
		return smp_fail(s, err, "%s%.*s must be a list", PREFIX_DELPRIM, (int)llen, list);
	json_t *cur = json_object_getn(dst, list, llen);
	if (!json_is_array(cur))
		return 0;
	cleanup_json json_t *del = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v)
	{
		key_string(s, v);
		json_object_setn_new(del, s->key.data, s->key.len, json_true());
	}
	list_remove_keys(s, cur, del, NULL);
	return 0;
}

/* The set of keys a "$retainKeys" directive keeps (new object), checked as
 * upstream checks it: a list, naming every key the patch sets to a value. */
static json_t *retain_set(struct smp *s, const json_t *patch, const json_t *retain,
			  struct mk_err **err)
{
	if (!json_is_array(retain)) {
		smp_fail(s, err, "invalid patch format of retainKeys");
		return NULL;
	}
	json_t *keep = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(retain, i, v)
	{
		if (json_is_string(v))
			json_object_setn_new(keep, json_string_value(v), json_string_length(v),
					     json_true());
	}
	const char *k;
	size_t klen;
	json_object_keylen_foreach((json_t *)patch, k, klen, v)
	{
		if (!is_directive(k, klen) && !json_is_null(v) &&
		    !json_object_getn(keep, k, klen)) {
			json_decref(keep);
			smp_fail(s, err, "invalid patch format of retainKeys");
			return NULL;
		}
	}
	return keep;
}

static void apply_retain_keys(json_t *dst, const json_t *keep)
{
	const char *k;
	size_t klen;
	void *tmp;
	json_t *v;
	json_object_keylen_foreach_safe(dst, tmp, k, klen, v)
	{
		if (!json_object_getn(keep, k, klen))
			json_object_deln(dst, k, klen);
	}
}

/* Merges patch (an object, its own $patch already handled) into dst in place. */
static int merge_object(struct smp *s, json_t *dst, const json_t *patch, struct mk_err **err)
{
	const char *k;
	size_t klen;
	json_t *pv;
	const size_t np = strlen(PREFIX_DELPRIM), no = strlen(PREFIX_ORDER);
	const json_t *retain = json_object_get(patch, DIRECTIVE_RETAIN);
	cleanup_json json_t *keep = retain ? retain_set(s, patch, retain, err) : NULL;

	if (retain && !keep)
		return -1;
	json_object_keylen_foreach((json_t *)patch, k, klen, pv)
	{
		if (klen > np && !memcmp(k, PREFIX_DELPRIM, np) &&
		    apply_delete_from_primitive(s, dst, k + np, klen - np, pv, err) < 0)
			return -1;
	}
	json_object_keylen_foreach((json_t *)patch, k, klen, pv)
	{
		if (is_directive(k, klen))
			continue;
		size_t old = path_push(s, k, klen);
		int rc = merge_field(s, dst, k, klen, patch, pv, err);
		path_pop(s, old);
		if (rc < 0)
			return -1;
	}
	json_object_keylen_foreach((json_t *)patch, k, klen, pv)
	{
		if (klen <= no || memcmp(k, PREFIX_ORDER, no) != 0)
			continue;
		json_t *list = json_object_getn(dst, k + no, klen - no);
		if (!json_is_array(list))
			continue;
		size_t old = path_push(s, k + no, klen - no);
		const char *mkey = NULL;
		enum smp_list_kind kind = list_kind(s, patch, k + no, klen - no, &mkey);
		if (kind != SMP_LIST_REPLACE)
			list_reorder(s, list, pv, kind == SMP_LIST_KEYED ? mkey : NULL);
		path_pop(s, old);
	}
	if (keep)
		apply_retain_keys(dst, keep);
	return 0;
}

json_t *json_smp_apply(const json_t *doc, const json_t *patch, struct mk_err **err)
{
	if (!json_is_object(patch)) {
		mk_err_set(err, MK_EINVAL, "strategic merge patch must be a JSON object");
		return NULL;
	}
	struct smp s = {.path = BUF_INIT, .key = BUF_INIT, .fresh = json_object()};
	buf_append(&s.path, "", 0);
	const char *dir = json_string_value(json_object_get(patch, DIRECTIVE_PATCH));
	json_t *res = NULL;
	if (dir && !strcmp(dir, "replace")) {
		res = strip_copy(patch);
	} else if (dir && !strcmp(dir, "delete")) {
		res = json_object();
	} else if (dir && strcmp(dir, "merge")) {
		smp_fail(&s, err, "unknown $patch directive \"%s\"", dir);
	} else {
		res = json_is_object(doc) ? json_copy_deep(doc) : json_object();
		if (merge_object(&s, res, patch, err) < 0) {
			json_decref(res);
			res = NULL;
		}
	}
	buf_free(&s.path);
	buf_free(&s.key);
	json_decref(s.fresh);
	return res;
}
