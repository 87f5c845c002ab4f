/* Table-driven protobuf decoder for Kubernetes objects.
 *
 * The wire format is plain protobuf (proto2, as generated for k8s.io/api):
 * each field is a varint key (number << 3 | wire type) followed by a varint
 * (type 0), 8 bytes (1), a length-prefixed payload (2) or 4 bytes (5).
 * Which field number means what comes from the static tables at the end of
 * this file: one row per field with its JSON name, type and flags, in the
 * field order of the JSON form. Every length is checked against the bytes
 * left, so any input is safe. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "protobuf.h"
#include "xalloc.h"

enum pb_type {
	PB_STRING,
	PB_BYTES, /* base64 in JSON */
	PB_BOOL,
	PB_INT32,
	PB_INT64,
	PB_DOUBLE,
	PB_MSG,	      /* nested message, described by .msg */
	PB_TIME,      /* meta.v1.Time {1 seconds, 2 nanos} -> RFC 3339 */
	PB_MICROTIME, /* meta.v1.MicroTime -> RFC 3339 with microseconds */
	PB_INTORSTR,  /* intstr.IntOrString {1 type, 2 intVal, 3 strVal} */
	PB_QUANTITY,  /* resource.Quantity {1 string} */
	PB_RAW,	      /* runtime.RawExtension / meta.v1.FieldsV1 {1 raw JSON} */
};

enum pb_flags {
	PB_REPEATED = 1 << 0,
	PB_MAP = 1 << 1,    /* map<string, type>: repeated {1 key, 2 value} entries */
	PB_PTR = 1 << 2,    /* a pointer in the Go type: kept even when zero */
	PB_INLINE = 1 << 3, /* Go ",inline": the message's fields join the parent's */
};

struct pb_msg;

struct pb_field {
	uint32_t num;
	const char *json;
	uint8_t type;  /* enum pb_type */
	uint8_t flags; /* enum pb_flags */
	const struct pb_msg *msg;
};

struct pb_msg {
	const char *name;
	const struct pb_field *fields;
	size_t n;
};

struct pb_kind {
	const char *api_version;
	const char *kind;
	const struct pb_msg *msg;
};

static const struct pb_kind *kind_lookup(const char *api_version, const char *kind);

/* Defines m_<pkg>_<Name> from its field table f_<pkg>_<Name>. */
#define PB_NFIELDS(f) (sizeof(f) / sizeof((f)[0]))
#define PB_DEFINE(pkg, name)                                                                       \
	static const struct pb_msg m_##pkg##_##name = {#name, f_##pkg##_##name,                    \
						       PB_NFIELDS(f_##pkg##_##name)}

/* Deeper than any Kubernetes object; bounds the recursion on hostile input. */
#define PB_MAX_DEPTH 64

enum wire { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

struct reader {
	const uint8_t *p;
	const uint8_t *end;
};

static int rd_varint(struct reader *r, uint64_t *out, struct mk_err **err)
{
	uint64_t v = 0;
	for (int i = 0; i < 10; i++) {
		if (r->p >= r->end)
			return mk_err_set(err, MK_EINVAL, "protobuf: truncated varint");
		uint8_t b = *r->p++;
		if (i == 9 && b > 1)
			return mk_err_set(err, MK_EINVAL, "protobuf: varint overflows 64 bits");
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return mk_err_set(err, MK_EINVAL, "protobuf: varint longer than 10 bytes");
}

/* A length-delimited payload: *p and *n point into the reader's bytes. */
static int rd_bytes(struct reader *r, const uint8_t **p, size_t *n, struct mk_err **err)
{
	uint64_t len;
	if (rd_varint(r, &len, err) < 0)
		return -1;
	if (len > (uint64_t)(r->end - r->p))
		return mk_err_set(err, MK_EINVAL,
				  "protobuf: length %llu exceeds the %zu bytes left",
				  (unsigned long long)len, (size_t)(r->end - r->p));
	*p = r->p;
	*n = (size_t)len;
	r->p += len;
	return 0;
}

static int rd_fixed(struct reader *r, size_t n, uint64_t *out, struct mk_err **err)
{
	if ((size_t)(r->end - r->p) < n)
		return mk_err_set(err, MK_EINVAL, "protobuf: truncated fixed-size field");
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	*out = v;
	return 0;
}

static int rd_key(struct reader *r, uint32_t *num, int *wt, struct mk_err **err)
{
	uint64_t key;
	if (rd_varint(r, &key, err) < 0)
		return -1;
	uint64_t n = key >> 3;
	if (n == 0 || n > 0x1fffffff)
		return mk_err_set(err, MK_EINVAL, "protobuf: invalid field number %llu",
				  (unsigned long long)n);
	*num = (uint32_t)n;
	*wt = (int)(key & 7);
	return 0;
}

static int skip_field(struct reader *r, int wt, struct mk_err **err)
{
	uint64_t v = 0;
	const uint8_t *p;
	size_t n;
	switch (wt) {
	case WT_VARINT:
		return rd_varint(r, &v, err);
	case WT_FIXED64:
		return rd_fixed(r, 8, &v, err);
	case WT_LEN:
		return rd_bytes(r, &p, &n, err);
	case WT_FIXED32:
		return rd_fixed(r, 4, &v, err);
	default:
		/* groups (3, 4) are not used by Kubernetes; 6 and 7 do not exist */
		return mk_err_set(err, MK_EINVAL, "protobuf: unsupported wire type %d", wt);
	}
}

/* The fields 1..3 of a small message (Time, IntOrString, Quantity, map
 * entries, TypeMeta): varints and payloads by number; others skipped. */
struct small {
	bool has_int[4], has_buf[4];
	uint64_t ints[4];
	const uint8_t *bufs[4];
	size_t lens[4];
};

static int scan_small(const uint8_t *p, size_t n, struct small *s, struct mk_err **err)
{
	struct reader r = {.p = p, .end = p + n};
	memset(s, 0, sizeof(*s));
	while (r.p < r.end) {
		uint32_t num = 0;
		int wt = 0;
		if (rd_key(&r, &num, &wt, err) < 0)
			return -1;
		if (num <= 3 && wt == WT_VARINT) {
			if (rd_varint(&r, &s->ints[num], err) < 0)
				return -1;
			s->has_int[num] = true;
		} else if (num <= 3 && wt == WT_LEN) {
			if (rd_bytes(&r, &s->bufs[num], &s->lens[num], err) < 0)
				return -1;
			s->has_buf[num] = true;
		} else if (skip_field(&r, wt, err) < 0) {
			return -1;
		}
	}
	return 0;
}

static json_t *str_value(const uint8_t *p, size_t n, const char *what, struct mk_err **err)
{
	json_t *s = json_stringn(n ? (const char *)p : "", n);
	if (!s)
		mk_err_set(err, MK_EINVAL, "protobuf: %s is not valid UTF-8", what);
	return s;
}

static json_t *base64_value(const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	cleanup_free char *out = xmalloc(n / 3 * 4 + 5);
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	return json_stringn(out, o);
}

/* Time and MicroTime; the zero time is JSON null, which callers drop. */
static json_t *time_value(const uint8_t *p, size_t n, bool micro, struct mk_err **err)
{
	struct small s;
	if (scan_small(p, n, &s, err) < 0)
		return NULL;
	int64_t secs = (int64_t)s.ints[1];
	int32_t nanos = (int32_t)s.ints[2];
	if (secs == 0 && nanos == 0)
		return json_null();
	if (nanos < 0 || nanos > 999999999)
		return mk_err_set(err, MK_EINVAL, "protobuf: time nanos %d out of range", nanos),
		       NULL;
	/* RFC 3339 years are 0000..9999, as Go's time marshalling insists. */
	if (secs < -62167219200LL || secs > 253402300799LL)
		return mk_err_set(err, MK_EINVAL, "protobuf: time %lld out of range",
				  (long long)secs),
		       NULL;
	time_t t = (time_t)secs;
	struct tm tm;
	char buf[64];
	if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm))
		return mk_err_set(err, MK_EINVAL, "protobuf: time %lld out of range",
				  (long long)secs),
		       NULL;
	if (micro)
		return json_sprintf("%s.%06dZ", buf, nanos / 1000);
	return json_sprintf("%sZ", buf);
}

static json_t *intorstr_value(const uint8_t *p, size_t n, struct mk_err **err)
{
	struct small s;
	if (scan_small(p, n, &s, err) < 0)
		return NULL;
	if (s.ints[1] == 1)
		return str_value(s.bufs[3], s.lens[3], "IntOrString", err);
	return json_integer((int32_t)s.ints[2]);
}

static json_t *quantity_value(const uint8_t *p, size_t n, struct mk_err **err)
{
	struct small s;
	if (scan_small(p, n, &s, err) < 0)
		return NULL;
	if (!s.has_buf[1])
		return json_string("0");
	return str_value(s.bufs[1], s.lens[1], "quantity", err);
}

static json_t *raw_value(const uint8_t *p, size_t n, struct mk_err **err)
{
	struct small s;
	if (scan_small(p, n, &s, err) < 0)
		return NULL;
	if (!s.has_buf[1] || s.lens[1] == 0)
		return json_null();
	json_error_t jerr;
	json_t *v = json_loadb((const char *)s.bufs[1], s.lens[1], JSON_DECODE_ANY, &jerr);
	if (!v)
		mk_err_set(err, MK_EINVAL, "protobuf: embedded raw object is not JSON: %s",
			   jerr.text);
	return v;
}

static json_t *decode_msg(const struct pb_msg *m, const uint8_t *p, size_t n, int depth,
			  struct mk_err **err);

static bool wire_ok(int type, int wt)
{
	switch (type) {
	case PB_BOOL:
	case PB_INT32:
	case PB_INT64:
		return wt == WT_VARINT;
	case PB_DOUBLE:
		return wt == WT_FIXED64;
	default:
		return wt == WT_LEN;
	}
}

/* One value of type `type` whose key has been read. */
static json_t *decode_value(const struct pb_field *f, int type, struct reader *r, int wt, int depth,
			    struct mk_err **err)
{
	uint64_t v = 0;
	const uint8_t *p;
	size_t n;
	if (!wire_ok(type, wt))
		return mk_err_set(err, MK_EINVAL, "protobuf: field %s has wire type %d", f->json,
				  wt),
		       NULL;
	switch (type) {
	case PB_BOOL:
		return rd_varint(r, &v, err) < 0 ? NULL : json_boolean(v != 0);
	case PB_INT32:
		return rd_varint(r, &v, err) < 0 ? NULL : json_integer((int32_t)v);
	case PB_INT64:
		return rd_varint(r, &v, err) < 0 ? NULL : json_integer((json_int_t)(int64_t)v);
	case PB_DOUBLE: {
		if (rd_fixed(r, 8, &v, err) < 0)
			return NULL;
		double d;
		memcpy(&d, &v, sizeof(d));
		return json_real(d);
	}
	default:
		break;
	}
	if (rd_bytes(r, &p, &n, err) < 0)
		return NULL;
	switch (type) {
	case PB_STRING:
		return str_value(p, n, f->json, err);
	case PB_BYTES:
		return base64_value(p, n);
	case PB_MSG:
		return decode_msg(f->msg, p, n, depth + 1, err);
	case PB_TIME:
	case PB_MICROTIME:
		return time_value(p, n, type == PB_MICROTIME, err);
	case PB_INTORSTR:
		return intorstr_value(p, n, err);
	case PB_QUANTITY:
		return quantity_value(p, n, err);
	case PB_RAW:
		return raw_value(p, n, err);
	}
	return mk_err_set(err, MK_EINTERNAL, "protobuf: bad table type %d", type), NULL;
}

/* The zero value for a map entry without a value. */
static json_t *map_default(const struct pb_field *f)
{
	switch (f->type) {
	case PB_MSG:
		return json_object();
	case PB_QUANTITY:
		return json_string("0");
	case PB_BOOL:
		return json_false();
	case PB_INT32:
	case PB_INT64:
		return json_integer(0);
	default:
		return json_string("");
	}
}

static int decode_map_entry(const struct pb_field *f, struct reader *r, json_t **slot, int depth,
			    struct mk_err **err)
{
	const uint8_t *p;
	size_t n;
	if (rd_bytes(r, &p, &n, err) < 0)
		return -1;
	struct reader er = {.p = p, .end = p + n};
	cleanup_json json_t *key = NULL;
	cleanup_json json_t *val = NULL;
	while (er.p < er.end) {
		uint32_t num = 0;
		int wt = 0;
		if (rd_key(&er, &num, &wt, err) < 0)
			return -1;
		if (num == 1) {
			const uint8_t *kp;
			size_t kn;
			if (wt != WT_LEN)
				return mk_err_set(err, MK_EINVAL,
						  "protobuf: map key of %s has wire "
						  "type %d",
						  f->json, wt);
			if (rd_bytes(&er, &kp, &kn, err) < 0)
				return -1;
			if (memchr(kp, 0, kn))
				return mk_err_set(err, MK_EINVAL,
						  "protobuf: map key of %s holds NUL", f->json);
			json_decref(key);
			if (!(key = str_value(kp, kn, f->json, err)))
				return -1;
		} else if (num == 2) {
			json_decref(val);
			if (!(val = decode_value(f, f->type, &er, wt, depth, err)))
				return -1;
		} else if (skip_field(&er, wt, err) < 0) {
			return -1;
		}
	}
	if (!*slot)
		*slot = json_object();
	if (!val)
		val = map_default(f);
	else if (json_is_null(val)) {
		json_decref(val);
		val = map_default(f);
	}
	json_object_set(*slot, key ? json_string_value(key) : "", val);
	return 0;
}

static bool is_packable(int type)
{
	return type == PB_BOOL || type == PB_INT32 || type == PB_INT64 || type == PB_DOUBLE;
}

static int decode_field(const struct pb_field *f, struct reader *r, int wt, json_t **slot,
			int depth, struct mk_err **err)
{
	if (f->flags & PB_MAP) {
		if (wt != WT_LEN)
			return mk_err_set(err, MK_EINVAL, "protobuf: map %s has wire type %d",
					  f->json, wt);
		return decode_map_entry(f, r, slot, depth, err);
	}
	if (f->flags & PB_REPEATED) {
		if (wt == WT_LEN && is_packable(f->type)) {
			/* packed scalars: one payload holding consecutive values */
			const uint8_t *p;
			size_t n;
			if (rd_bytes(r, &p, &n, err) < 0)
				return -1;
			struct reader pr = {.p = p, .end = p + n};
			int ewt = f->type == PB_DOUBLE ? WT_FIXED64 : WT_VARINT;
			while (pr.p < pr.end) {
				json_t *v = decode_value(f, f->type, &pr, ewt, depth, err);
				if (!v)
					return -1;
				if (!*slot)
					*slot = json_array();
				json_array_append_new(*slot, v);
			}
			return 0;
		}
		json_t *v = decode_value(f, f->type, r, wt, depth, err);
		if (!v)
			return -1;
		if (!*slot)
			*slot = json_array();
		json_array_append_new(*slot, v);
		return 0;
	}
	json_t *v = decode_value(f, f->type, r, wt, depth, err);
	if (!v)
		return -1;
	json_decref(*slot);
	*slot = v;
	return 0;
}

/* Go's omitempty, plus empty structs, which Go prints as {} but mean nothing. */
static bool is_zero(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return true;
	case JSON_STRING:
		return json_string_length(v) == 0;
	case JSON_INTEGER:
		return json_integer_value(v) == 0;
	case JSON_REAL:
		return json_real_value(v) == 0.0;
	case JSON_OBJECT:
		return json_object_size(v) == 0;
	case JSON_ARRAY:
		return json_array_size(v) == 0;
	default:
		return false;
	}
}

static void free_slots(json_t **slots, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(slots[i]);
	free(slots);
}

static json_t *decode_msg(const struct pb_msg *m, const uint8_t *p, size_t n, int depth,
			  struct mk_err **err)
{
	if (depth > PB_MAX_DEPTH)
		return mk_err_set(err, MK_EINVAL, "protobuf: messages nested too deeply"), NULL;
	json_t **slots = xcalloc(m->n ? m->n : 1, sizeof(*slots));
	struct reader r = {.p = p, .end = p + n};
	while (r.p < r.end) {
		uint32_t num = 0;
		int wt = 0;
		if (rd_key(&r, &num, &wt, err) < 0)
			goto fail;
		size_t i = 0;
		while (i < m->n && m->fields[i].num != num)
			i++;
		int rc = i < m->n ? decode_field(&m->fields[i], &r, wt, &slots[i], depth, err)
				  : skip_field(&r, wt, err);
		if (rc < 0)
			goto fail;
	}
	json_t *obj = json_object();
	for (size_t i = 0; i < m->n; i++) {
		const struct pb_field *f = &m->fields[i];
		json_t *v = slots[i];
		if (!v || json_is_null(v))
			continue;
		if (f->flags & PB_INLINE) {
			json_object_update(obj, v);
			continue;
		}
		if (!(f->flags & PB_PTR) && is_zero(v))
			continue;
		if ((f->flags & (PB_REPEATED | PB_MAP)) && is_zero(v))
			continue;
		json_object_set(obj, f->json, v);
	}
	free_slots(slots, m->n);
	return obj;
fail:
	free_slots(slots, m->n);
	return mk_err_wrap(err, "%s", m->name), NULL;
}

bool k8s_protobuf_is(const void *body, size_t len)
{
	return body && len >= 4 && memcmp(body, "k8s\0", 4) == 0;
}

bool k8s_protobuf_supports(const char *api_version, const char *kind)
{
	return kind_lookup(api_version, kind) != NULL;
}

json_t *k8s_protobuf_decode_object(const char *api_version, const char *kind, const void *raw,
				   size_t len, struct mk_err **err)
{
	const struct pb_kind *k = kind_lookup(api_version, kind);
	if (!k)
		return mk_err_set(err, MK_EUNSUPPORTED,
				  "no protobuf schema for %s, Kind=%s; send JSON instead",
				  api_version, kind),
		       NULL;
	return decode_msg(k->msg, raw, len, 0, err);
}

static char *small_str(const struct small *s, int num, struct mk_err **err)
{
	if (!s->has_buf[num])
		return xstrdup("");
	if (memchr(s->bufs[num], 0, s->lens[num])) {
		mk_err_set(err, MK_EINVAL, "protobuf: NUL in type metadata");
		return NULL;
	}
	return xstrndup((const char *)s->bufs[num], s->lens[num]);
}

json_t *k8s_protobuf_decode(const void *body, size_t len, struct mk_err **err)
{
	if (!k8s_protobuf_is(body, len))
		return mk_err_set(err, MK_EINVAL,
				  "protobuf: body does not start with the "
				  "\"k8s\\0\" magic"),
		       NULL;
	/* runtime.Unknown {1 typeMeta, 2 raw, 3 contentEncoding, 4 contentType} */
	struct reader r = {.p = (const uint8_t *)body + 4, .end = (const uint8_t *)body + len};
	const uint8_t *tm = NULL, *raw = NULL, *enc = NULL;
	size_t tm_len = 0, raw_len = 0, enc_len = 0;
	while (r.p < r.end) {
		uint32_t num = 0;
		int wt = 0;
		if (rd_key(&r, &num, &wt, err) < 0)
			return NULL;
		if (num >= 1 && num <= 3) {
			const uint8_t *p;
			size_t n;
			if (wt != WT_LEN)
				return mk_err_set(err, MK_EINVAL,
						  "protobuf: Unknown field %u has "
						  "wire type %d",
						  num, wt),
				       NULL;
			if (rd_bytes(&r, &p, &n, err) < 0)
				return NULL;
			if (num == 1)
				tm = p, tm_len = n;
			else if (num == 2)
				raw = p, raw_len = n;
			else
				enc = p, enc_len = n;
		} else if (skip_field(&r, wt, err) < 0) {
			return NULL;
		}
	}
	if (enc_len)
		return mk_err_set(err, MK_EUNSUPPORTED,
				  "protobuf: content encoding %.*s is not "
				  "supported",
				  (int)enc_len, (const char *)enc),
		       NULL;
	struct small s;
	if (!tm || scan_small(tm, tm_len, &s, err) < 0)
		return mk_err_set(err, MK_EINVAL, "protobuf: object has no type metadata"), NULL;
	cleanup_free char *api_version = small_str(&s, 1, err);
	cleanup_free char *kind = api_version ? small_str(&s, 2, err) : NULL;
	if (!kind)
		return NULL;
	if (!*api_version || !*kind)
		return mk_err_set(err, MK_EINVAL, "protobuf: object has no apiVersion or kind"),
		       NULL;
	if (!raw)
		return mk_err_set(err, MK_EINVAL, "protobuf: %s %s body has no object", api_version,
				  kind),
		       NULL;
	cleanup_json json_t *obj = k8s_protobuf_decode_object(api_version, kind, raw, raw_len, err);
	if (!obj)
		return NULL;
	json_t *out = json_pack("{s:s, s:s}", "apiVersion", api_version, "kind", kind);
	if (!out)
		return mk_err_set(err, MK_EINVAL, "protobuf: apiVersion or kind is not UTF-8"),
		       NULL;
	json_object_update(out, obj);
	return out;
}

/* Schemas of the built-in kinds: field numbers, JSON names and Go pointer-ness
 * of k8s.io/api core, apps, batch, policy, rbac, scheduling, networking,
 * autoscaling and authentication v1, and meta/v1 (v0.32). Rows are in the
 * field order of the JSON form; one row per line. */
/* clang-format off */
static const struct pb_msg m_core_Pod;
static const struct pb_msg m_meta_ObjectMeta;
static const struct pb_msg m_meta_OwnerReference;
static const struct pb_msg m_meta_ManagedFieldsEntry;
static const struct pb_msg m_core_PodSpec;
static const struct pb_msg m_core_Volume;
static const struct pb_msg m_core_VolumeSource;
static const struct pb_msg m_core_HostPathVolumeSource;
static const struct pb_msg m_core_EmptyDirVolumeSource;
static const struct pb_msg m_core_GCEPersistentDiskVolumeSource;
static const struct pb_msg m_core_AWSElasticBlockStoreVolumeSource;
static const struct pb_msg m_core_GitRepoVolumeSource;
static const struct pb_msg m_core_SecretVolumeSource;
static const struct pb_msg m_core_KeyToPath;
static const struct pb_msg m_core_NFSVolumeSource;
static const struct pb_msg m_core_ISCSIVolumeSource;
static const struct pb_msg m_core_LocalObjectReference;
static const struct pb_msg m_core_GlusterfsVolumeSource;
static const struct pb_msg m_core_PersistentVolumeClaimVolumeSource;
static const struct pb_msg m_core_RBDVolumeSource;
static const struct pb_msg m_core_FlexVolumeSource;
static const struct pb_msg m_core_CinderVolumeSource;
static const struct pb_msg m_core_CephFSVolumeSource;
static const struct pb_msg m_core_FlockerVolumeSource;
static const struct pb_msg m_core_DownwardAPIVolumeSource;
static const struct pb_msg m_core_DownwardAPIVolumeFile;
static const struct pb_msg m_core_ObjectFieldSelector;
static const struct pb_msg m_core_ResourceFieldSelector;
static const struct pb_msg m_core_FCVolumeSource;
static const struct pb_msg m_core_AzureFileVolumeSource;
static const struct pb_msg m_core_ConfigMapVolumeSource;
static const struct pb_msg m_core_VsphereVirtualDiskVolumeSource;
static const struct pb_msg m_core_QuobyteVolumeSource;
static const struct pb_msg m_core_AzureDiskVolumeSource;
static const struct pb_msg m_core_PhotonPersistentDiskVolumeSource;
static const struct pb_msg m_core_ProjectedVolumeSource;
static const struct pb_msg m_core_VolumeProjection;
static const struct pb_msg m_core_SecretProjection;
static const struct pb_msg m_core_DownwardAPIProjection;
static const struct pb_msg m_core_ConfigMapProjection;
static const struct pb_msg m_core_ServiceAccountTokenProjection;
static const struct pb_msg m_core_ClusterTrustBundleProjection;
static const struct pb_msg m_meta_LabelSelector;
static const struct pb_msg m_meta_LabelSelectorRequirement;
static const struct pb_msg m_core_PortworxVolumeSource;
static const struct pb_msg m_core_ScaleIOVolumeSource;
static const struct pb_msg m_core_StorageOSVolumeSource;
static const struct pb_msg m_core_CSIVolumeSource;
static const struct pb_msg m_core_EphemeralVolumeSource;
static const struct pb_msg m_core_PersistentVolumeClaimTemplate;
static const struct pb_msg m_core_PersistentVolumeClaimSpec;
static const struct pb_msg m_core_VolumeResourceRequirements;
static const struct pb_msg m_core_TypedLocalObjectReference;
static const struct pb_msg m_core_TypedObjectReference;
static const struct pb_msg m_core_ImageVolumeSource;
static const struct pb_msg m_core_Container;
static const struct pb_msg m_core_ContainerPort;
static const struct pb_msg m_core_EnvFromSource;
static const struct pb_msg m_core_ConfigMapEnvSource;
static const struct pb_msg m_core_SecretEnvSource;
static const struct pb_msg m_core_EnvVar;
static const struct pb_msg m_core_EnvVarSource;
static const struct pb_msg m_core_ConfigMapKeySelector;
static const struct pb_msg m_core_SecretKeySelector;
static const struct pb_msg m_core_ResourceRequirements;
static const struct pb_msg m_core_ResourceClaim;
static const struct pb_msg m_core_ContainerResizePolicy;
static const struct pb_msg m_core_VolumeMount;
static const struct pb_msg m_core_VolumeDevice;
static const struct pb_msg m_core_Probe;
static const struct pb_msg m_core_ProbeHandler;
static const struct pb_msg m_core_ExecAction;
static const struct pb_msg m_core_HTTPGetAction;
static const struct pb_msg m_core_HTTPHeader;
static const struct pb_msg m_core_TCPSocketAction;
static const struct pb_msg m_core_GRPCAction;
static const struct pb_msg m_core_Lifecycle;
static const struct pb_msg m_core_LifecycleHandler;
static const struct pb_msg m_core_SleepAction;
static const struct pb_msg m_core_SecurityContext;
static const struct pb_msg m_core_Capabilities;
static const struct pb_msg m_core_SELinuxOptions;
static const struct pb_msg m_core_WindowsSecurityContextOptions;
static const struct pb_msg m_core_SeccompProfile;
static const struct pb_msg m_core_AppArmorProfile;
static const struct pb_msg m_core_EphemeralContainer;
static const struct pb_msg m_core_EphemeralContainerCommon;
static const struct pb_msg m_core_PodSecurityContext;
static const struct pb_msg m_core_Sysctl;
static const struct pb_msg m_core_Affinity;
static const struct pb_msg m_core_NodeAffinity;
static const struct pb_msg m_core_NodeSelector;
static const struct pb_msg m_core_NodeSelectorTerm;
static const struct pb_msg m_core_NodeSelectorRequirement;
static const struct pb_msg m_core_PreferredSchedulingTerm;
static const struct pb_msg m_core_PodAffinity;
static const struct pb_msg m_core_PodAffinityTerm;
static const struct pb_msg m_core_WeightedPodAffinityTerm;
static const struct pb_msg m_core_PodAntiAffinity;
static const struct pb_msg m_core_Toleration;
static const struct pb_msg m_core_HostAlias;
static const struct pb_msg m_core_PodDNSConfig;
static const struct pb_msg m_core_PodDNSConfigOption;
static const struct pb_msg m_core_PodReadinessGate;
static const struct pb_msg m_core_TopologySpreadConstraint;
static const struct pb_msg m_core_PodOS;
static const struct pb_msg m_core_PodSchedulingGate;
static const struct pb_msg m_core_PodResourceClaim;
static const struct pb_msg m_core_PodStatus;
static const struct pb_msg m_core_PodCondition;
static const struct pb_msg m_core_HostIP;
static const struct pb_msg m_core_PodIP;
static const struct pb_msg m_core_ContainerStatus;
static const struct pb_msg m_core_ContainerState;
static const struct pb_msg m_core_ContainerStateWaiting;
static const struct pb_msg m_core_ContainerStateRunning;
static const struct pb_msg m_core_ContainerStateTerminated;
static const struct pb_msg m_core_VolumeMountStatus;
static const struct pb_msg m_core_ContainerUser;
static const struct pb_msg m_core_LinuxContainerUser;
static const struct pb_msg m_core_ResourceStatus;
static const struct pb_msg m_core_ResourceHealth;
static const struct pb_msg m_core_PodResourceClaimStatus;
static const struct pb_msg m_core_Service;
static const struct pb_msg m_core_ServiceSpec;
static const struct pb_msg m_core_ServicePort;
static const struct pb_msg m_core_SessionAffinityConfig;
static const struct pb_msg m_core_ClientIPConfig;
static const struct pb_msg m_core_ServiceStatus;
static const struct pb_msg m_core_LoadBalancerStatus;
static const struct pb_msg m_core_LoadBalancerIngress;
static const struct pb_msg m_core_PortStatus;
static const struct pb_msg m_meta_Condition;
static const struct pb_msg m_core_Namespace;
static const struct pb_msg m_core_NamespaceSpec;
static const struct pb_msg m_core_NamespaceStatus;
static const struct pb_msg m_core_NamespaceCondition;
static const struct pb_msg m_core_ConfigMap;
static const struct pb_msg m_core_Secret;
static const struct pb_msg m_core_ServiceAccount;
static const struct pb_msg m_core_ObjectReference;
static const struct pb_msg m_core_ResourceQuota;
static const struct pb_msg m_core_ResourceQuotaSpec;
static const struct pb_msg m_core_ScopeSelector;
static const struct pb_msg m_core_ScopedResourceSelectorRequirement;
static const struct pb_msg m_core_ResourceQuotaStatus;
static const struct pb_msg m_core_PersistentVolumeClaim;
static const struct pb_msg m_core_PersistentVolumeClaimStatus;
static const struct pb_msg m_core_PersistentVolumeClaimCondition;
static const struct pb_msg m_core_ModifyVolumeStatus;
static const struct pb_msg m_core_Endpoints;
static const struct pb_msg m_core_EndpointSubset;
static const struct pb_msg m_core_EndpointAddress;
static const struct pb_msg m_core_EndpointPort;
static const struct pb_msg m_core_LimitRange;
static const struct pb_msg m_core_LimitRangeSpec;
static const struct pb_msg m_core_LimitRangeItem;
static const struct pb_msg m_apps_Deployment;
static const struct pb_msg m_apps_DeploymentSpec;
static const struct pb_msg m_core_PodTemplateSpec;
static const struct pb_msg m_apps_DeploymentStrategy;
static const struct pb_msg m_apps_RollingUpdateDeployment;
static const struct pb_msg m_apps_DeploymentStatus;
static const struct pb_msg m_apps_DeploymentCondition;
static const struct pb_msg m_apps_ReplicaSet;
static const struct pb_msg m_apps_ReplicaSetSpec;
static const struct pb_msg m_apps_ReplicaSetStatus;
static const struct pb_msg m_apps_ReplicaSetCondition;
static const struct pb_msg m_apps_StatefulSet;
static const struct pb_msg m_apps_StatefulSetSpec;
static const struct pb_msg m_apps_StatefulSetUpdateStrategy;
static const struct pb_msg m_apps_RollingUpdateStatefulSetStrategy;
static const struct pb_msg m_apps_StatefulSetPersistentVolumeClaimRetentionPolicy;
static const struct pb_msg m_apps_StatefulSetOrdinals;
static const struct pb_msg m_apps_StatefulSetStatus;
static const struct pb_msg m_apps_StatefulSetCondition;
static const struct pb_msg m_apps_DaemonSet;
static const struct pb_msg m_apps_DaemonSetSpec;
static const struct pb_msg m_apps_DaemonSetUpdateStrategy;
static const struct pb_msg m_apps_RollingUpdateDaemonSet;
static const struct pb_msg m_apps_DaemonSetStatus;
static const struct pb_msg m_apps_DaemonSetCondition;
static const struct pb_msg m_batch_Job;
static const struct pb_msg m_batch_JobSpec;
static const struct pb_msg m_batch_PodFailurePolicy;
static const struct pb_msg m_batch_PodFailurePolicyRule;
static const struct pb_msg m_batch_PodFailurePolicyOnExitCodesRequirement;
static const struct pb_msg m_batch_PodFailurePolicyOnPodConditionsPattern;
static const struct pb_msg m_batch_SuccessPolicy;
static const struct pb_msg m_batch_SuccessPolicyRule;
static const struct pb_msg m_batch_JobStatus;
static const struct pb_msg m_batch_JobCondition;
static const struct pb_msg m_batch_UncountedTerminatedPods;
static const struct pb_msg m_batch_CronJob;
static const struct pb_msg m_batch_CronJobSpec;
static const struct pb_msg m_batch_JobTemplateSpec;
static const struct pb_msg m_batch_CronJobStatus;
static const struct pb_msg m_policy_Eviction;
static const struct pb_msg m_meta_DeleteOptions;
static const struct pb_msg m_meta_Preconditions;
static const struct pb_msg m_policy_PodDisruptionBudget;
static const struct pb_msg m_policy_PodDisruptionBudgetSpec;
static const struct pb_msg m_policy_PodDisruptionBudgetStatus;
static const struct pb_msg m_rbac_Role;
static const struct pb_msg m_rbac_PolicyRule;
static const struct pb_msg m_rbac_ClusterRole;
static const struct pb_msg m_rbac_AggregationRule;
static const struct pb_msg m_rbac_RoleBinding;
static const struct pb_msg m_rbac_Subject;
static const struct pb_msg m_rbac_RoleRef;
static const struct pb_msg m_rbac_ClusterRoleBinding;
static const struct pb_msg m_scheduling_PriorityClass;
static const struct pb_msg m_networking_Ingress;
static const struct pb_msg m_networking_IngressSpec;
static const struct pb_msg m_networking_IngressBackend;
static const struct pb_msg m_networking_IngressServiceBackend;
static const struct pb_msg m_networking_ServiceBackendPort;
static const struct pb_msg m_networking_IngressTLS;
static const struct pb_msg m_networking_IngressRule;
static const struct pb_msg m_networking_IngressRuleValue;
static const struct pb_msg m_networking_HTTPIngressRuleValue;
static const struct pb_msg m_networking_HTTPIngressPath;
static const struct pb_msg m_networking_IngressStatus;
static const struct pb_msg m_networking_IngressLoadBalancerStatus;
static const struct pb_msg m_networking_IngressLoadBalancerIngress;
static const struct pb_msg m_networking_IngressPortStatus;
static const struct pb_msg m_autoscaling_HorizontalPodAutoscaler;
static const struct pb_msg m_autoscaling_HorizontalPodAutoscalerSpec;
static const struct pb_msg m_autoscaling_CrossVersionObjectReference;
static const struct pb_msg m_autoscaling_HorizontalPodAutoscalerStatus;
static const struct pb_msg m_autoscaling_Scale;
static const struct pb_msg m_autoscaling_ScaleSpec;
static const struct pb_msg m_autoscaling_ScaleStatus;
static const struct pb_msg m_authentication_TokenRequest;
static const struct pb_msg m_authentication_TokenRequestSpec;
static const struct pb_msg m_authentication_BoundObjectReference;
static const struct pb_msg m_authentication_TokenRequestStatus;
static const struct pb_field f_core_Pod[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_core_PodSpec},
	{3, "status", PB_MSG, 0, &m_core_PodStatus},
};
PB_DEFINE(core, Pod);
static const struct pb_field f_meta_ObjectMeta[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "generateName", PB_STRING, 0, NULL},
	{3, "namespace", PB_STRING, 0, NULL},
	{4, "selfLink", PB_STRING, 0, NULL},
	{5, "uid", PB_STRING, 0, NULL},
	{6, "resourceVersion", PB_STRING, 0, NULL},
	{7, "generation", PB_INT64, 0, NULL},
	{8, "creationTimestamp", PB_TIME, 0, NULL},
	{9, "deletionTimestamp", PB_TIME, PB_PTR, NULL},
	{10, "deletionGracePeriodSeconds", PB_INT64, PB_PTR, NULL},
	{11, "labels", PB_STRING, PB_MAP, NULL},
	{12, "annotations", PB_STRING, PB_MAP, NULL},
	{13, "ownerReferences", PB_MSG, PB_REPEATED, &m_meta_OwnerReference},
	{14, "finalizers", PB_STRING, PB_REPEATED, NULL},
	{17, "managedFields", PB_MSG, PB_REPEATED, &m_meta_ManagedFieldsEntry},
};
PB_DEFINE(meta, ObjectMeta);
static const struct pb_field f_meta_OwnerReference[] = {
	{5, "apiVersion", PB_STRING, 0, NULL},
	{1, "kind", PB_STRING, 0, NULL},
	{3, "name", PB_STRING, 0, NULL},
	{4, "uid", PB_STRING, 0, NULL},
	{6, "controller", PB_BOOL, PB_PTR, NULL},
	{7, "blockOwnerDeletion", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(meta, OwnerReference);
static const struct pb_field f_meta_ManagedFieldsEntry[] = {
	{1, "manager", PB_STRING, 0, NULL},
	{2, "operation", PB_STRING, 0, NULL},
	{3, "apiVersion", PB_STRING, 0, NULL},
	{4, "time", PB_TIME, PB_PTR, NULL},
	{6, "fieldsType", PB_STRING, 0, NULL},
	{7, "fieldsV1", PB_RAW, PB_PTR, NULL},
	{8, "subresource", PB_STRING, 0, NULL},
};
PB_DEFINE(meta, ManagedFieldsEntry);
static const struct pb_field f_core_PodSpec[] = {
	{1, "volumes", PB_MSG, PB_REPEATED, &m_core_Volume},
	{20, "initContainers", PB_MSG, PB_REPEATED, &m_core_Container},
	{2, "containers", PB_MSG, PB_REPEATED, &m_core_Container},
	{34, "ephemeralContainers", PB_MSG, PB_REPEATED, &m_core_EphemeralContainer},
	{3, "restartPolicy", PB_STRING, 0, NULL},
	{4, "terminationGracePeriodSeconds", PB_INT64, PB_PTR, NULL},
	{5, "activeDeadlineSeconds", PB_INT64, PB_PTR, NULL},
	{6, "dnsPolicy", PB_STRING, 0, NULL},
	{7, "nodeSelector", PB_STRING, PB_MAP, NULL},
	{8, "serviceAccountName", PB_STRING, 0, NULL},
	{9, "serviceAccount", PB_STRING, 0, NULL},
	{21, "automountServiceAccountToken", PB_BOOL, PB_PTR, NULL},
	{10, "nodeName", PB_STRING, 0, NULL},
	{11, "hostNetwork", PB_BOOL, 0, NULL},
	{12, "hostPID", PB_BOOL, 0, NULL},
	{13, "hostIPC", PB_BOOL, 0, NULL},
	{27, "shareProcessNamespace", PB_BOOL, PB_PTR, NULL},
	{14, "securityContext", PB_MSG, PB_PTR, &m_core_PodSecurityContext},
	{15, "imagePullSecrets", PB_MSG, PB_REPEATED, &m_core_LocalObjectReference},
	{16, "hostname", PB_STRING, 0, NULL},
	{17, "subdomain", PB_STRING, 0, NULL},
	{18, "affinity", PB_MSG, PB_PTR, &m_core_Affinity},
	{19, "schedulerName", PB_STRING, 0, NULL},
	{22, "tolerations", PB_MSG, PB_REPEATED, &m_core_Toleration},
	{23, "hostAliases", PB_MSG, PB_REPEATED, &m_core_HostAlias},
	{24, "priorityClassName", PB_STRING, 0, NULL},
	{25, "priority", PB_INT32, PB_PTR, NULL},
	{26, "dnsConfig", PB_MSG, PB_PTR, &m_core_PodDNSConfig},
	{28, "readinessGates", PB_MSG, PB_REPEATED, &m_core_PodReadinessGate},
	{29, "runtimeClassName", PB_STRING, PB_PTR, NULL},
	{30, "enableServiceLinks", PB_BOOL, PB_PTR, NULL},
	{31, "preemptionPolicy", PB_STRING, PB_PTR, NULL},
	{32, "overhead", PB_QUANTITY, PB_MAP, NULL},
	{33, "topologySpreadConstraints", PB_MSG, PB_REPEATED, &m_core_TopologySpreadConstraint},
	{35, "setHostnameAsFQDN", PB_BOOL, PB_PTR, NULL},
	{36, "os", PB_MSG, PB_PTR, &m_core_PodOS},
	{37, "hostUsers", PB_BOOL, PB_PTR, NULL},
	{38, "schedulingGates", PB_MSG, PB_REPEATED, &m_core_PodSchedulingGate},
	{39, "resourceClaims", PB_MSG, PB_REPEATED, &m_core_PodResourceClaim},
	{40, "resources", PB_MSG, PB_PTR, &m_core_ResourceRequirements},
};
PB_DEFINE(core, PodSpec);
static const struct pb_field f_core_Volume[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "volumeSource", PB_MSG, PB_INLINE, &m_core_VolumeSource},
};
PB_DEFINE(core, Volume);
static const struct pb_field f_core_VolumeSource[] = {
	{1, "hostPath", PB_MSG, PB_PTR, &m_core_HostPathVolumeSource},
	{2, "emptyDir", PB_MSG, PB_PTR, &m_core_EmptyDirVolumeSource},
	{3, "gcePersistentDisk", PB_MSG, PB_PTR, &m_core_GCEPersistentDiskVolumeSource},
	{4, "awsElasticBlockStore", PB_MSG, PB_PTR, &m_core_AWSElasticBlockStoreVolumeSource},
	{5, "gitRepo", PB_MSG, PB_PTR, &m_core_GitRepoVolumeSource},
	{6, "secret", PB_MSG, PB_PTR, &m_core_SecretVolumeSource},
	{7, "nfs", PB_MSG, PB_PTR, &m_core_NFSVolumeSource},
	{8, "iscsi", PB_MSG, PB_PTR, &m_core_ISCSIVolumeSource},
	{9, "glusterfs", PB_MSG, PB_PTR, &m_core_GlusterfsVolumeSource},
	{10, "persistentVolumeClaim", PB_MSG, PB_PTR, &m_core_PersistentVolumeClaimVolumeSource},
	{11, "rbd", PB_MSG, PB_PTR, &m_core_RBDVolumeSource},
	{12, "flexVolume", PB_MSG, PB_PTR, &m_core_FlexVolumeSource},
	{13, "cinder", PB_MSG, PB_PTR, &m_core_CinderVolumeSource},
	{14, "cephfs", PB_MSG, PB_PTR, &m_core_CephFSVolumeSource},
	{15, "flocker", PB_MSG, PB_PTR, &m_core_FlockerVolumeSource},
	{16, "downwardAPI", PB_MSG, PB_PTR, &m_core_DownwardAPIVolumeSource},
	{17, "fc", PB_MSG, PB_PTR, &m_core_FCVolumeSource},
	{18, "azureFile", PB_MSG, PB_PTR, &m_core_AzureFileVolumeSource},
	{19, "configMap", PB_MSG, PB_PTR, &m_core_ConfigMapVolumeSource},
	{20, "vsphereVolume", PB_MSG, PB_PTR, &m_core_VsphereVirtualDiskVolumeSource},
	{21, "quobyte", PB_MSG, PB_PTR, &m_core_QuobyteVolumeSource},
	{22, "azureDisk", PB_MSG, PB_PTR, &m_core_AzureDiskVolumeSource},
	{23, "photonPersistentDisk", PB_MSG, PB_PTR, &m_core_PhotonPersistentDiskVolumeSource},
	{26, "projected", PB_MSG, PB_PTR, &m_core_ProjectedVolumeSource},
	{24, "portworxVolume", PB_MSG, PB_PTR, &m_core_PortworxVolumeSource},
	{25, "scaleIO", PB_MSG, PB_PTR, &m_core_ScaleIOVolumeSource},
	{27, "storageos", PB_MSG, PB_PTR, &m_core_StorageOSVolumeSource},
	{28, "csi", PB_MSG, PB_PTR, &m_core_CSIVolumeSource},
	{29, "ephemeral", PB_MSG, PB_PTR, &m_core_EphemeralVolumeSource},
	{30, "image", PB_MSG, PB_PTR, &m_core_ImageVolumeSource},
};
PB_DEFINE(core, VolumeSource);
static const struct pb_field f_core_HostPathVolumeSource[] = {
	{1, "path", PB_STRING, 0, NULL},
	{2, "type", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, HostPathVolumeSource);
static const struct pb_field f_core_EmptyDirVolumeSource[] = {
	{1, "medium", PB_STRING, 0, NULL},
	{2, "sizeLimit", PB_QUANTITY, PB_PTR, NULL},
};
PB_DEFINE(core, EmptyDirVolumeSource);
static const struct pb_field f_core_GCEPersistentDiskVolumeSource[] = {
	{1, "pdName", PB_STRING, 0, NULL},
	{2, "fsType", PB_STRING, 0, NULL},
	{3, "partition", PB_INT32, 0, NULL},
	{4, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, GCEPersistentDiskVolumeSource);
static const struct pb_field f_core_AWSElasticBlockStoreVolumeSource[] = {
	{1, "volumeID", PB_STRING, 0, NULL},
	{2, "fsType", PB_STRING, 0, NULL},
	{3, "partition", PB_INT32, 0, NULL},
	{4, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, AWSElasticBlockStoreVolumeSource);
static const struct pb_field f_core_GitRepoVolumeSource[] = {
	{1, "repository", PB_STRING, 0, NULL},
	{2, "revision", PB_STRING, 0, NULL},
	{3, "directory", PB_STRING, 0, NULL},
};
PB_DEFINE(core, GitRepoVolumeSource);
static const struct pb_field f_core_SecretVolumeSource[] = {
	{1, "secretName", PB_STRING, 0, NULL},
	{2, "items", PB_MSG, PB_REPEATED, &m_core_KeyToPath},
	{3, "defaultMode", PB_INT32, PB_PTR, NULL},
	{4, "optional", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, SecretVolumeSource);
static const struct pb_field f_core_KeyToPath[] = {
	{1, "key", PB_STRING, 0, NULL},
	{2, "path", PB_STRING, 0, NULL},
	{3, "mode", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(core, KeyToPath);
static const struct pb_field f_core_NFSVolumeSource[] = {
	{1, "server", PB_STRING, 0, NULL},
	{2, "path", PB_STRING, 0, NULL},
	{3, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, NFSVolumeSource);
static const struct pb_field f_core_ISCSIVolumeSource[] = {
	{1, "targetPortal", PB_STRING, 0, NULL},
	{2, "iqn", PB_STRING, 0, NULL},
	{3, "lun", PB_INT32, 0, NULL},
	{4, "iscsiInterface", PB_STRING, 0, NULL},
	{5, "fsType", PB_STRING, 0, NULL},
	{6, "readOnly", PB_BOOL, 0, NULL},
	{7, "portals", PB_STRING, PB_REPEATED, NULL},
	{8, "chapAuthDiscovery", PB_BOOL, 0, NULL},
	{11, "chapAuthSession", PB_BOOL, 0, NULL},
	{10, "secretRef", PB_MSG, PB_PTR, &m_core_LocalObjectReference},
	{12, "initiatorName", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, ISCSIVolumeSource);
static const struct pb_field f_core_LocalObjectReference[] = {
	{1, "name", PB_STRING, 0, NULL},
};
PB_DEFINE(core, LocalObjectReference);
static const struct pb_field f_core_GlusterfsVolumeSource[] = {
	{1, "endpoints", PB_STRING, 0, NULL},
	{2, "path", PB_STRING, 0, NULL},
	{3, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, GlusterfsVolumeSource);
static const struct pb_field f_core_PersistentVolumeClaimVolumeSource[] = {
	{1, "claimName", PB_STRING, 0, NULL},
	{2, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, PersistentVolumeClaimVolumeSource);
static const struct pb_field f_core_RBDVolumeSource[] = {
	{1, "monitors", PB_STRING, PB_REPEATED, NULL},
	{2, "image", PB_STRING, 0, NULL},
	{3, "fsType", PB_STRING, 0, NULL},
	{4, "pool", PB_STRING, 0, NULL},
	{5, "user", PB_STRING, 0, NULL},
	{6, "keyring", PB_STRING, 0, NULL},
	{7, "secretRef", PB_MSG, PB_PTR, &m_core_LocalObjectReference},
	{8, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, RBDVolumeSource);
static const struct pb_field f_core_FlexVolumeSource[] = {
	{1, "driver", PB_STRING, 0, NULL},
	{2, "fsType", PB_STRING, 0, NULL},
	{3, "secretRef", PB_MSG, PB_PTR, &m_core_LocalObjectReference},
	{4, "readOnly", PB_BOOL, 0, NULL},
	{5, "options", PB_STRING, PB_MAP, NULL},
};
PB_DEFINE(core, FlexVolumeSource);
static const struct pb_field f_core_CinderVolumeSource[] = {
	{1, "volumeID", PB_STRING, 0, NULL},
	{2, "fsType", PB_STRING, 0, NULL},
	{3, "readOnly", PB_BOOL, 0, NULL},
	{4, "secretRef", PB_MSG, PB_PTR, &m_core_LocalObjectReference},
};
PB_DEFINE(core, CinderVolumeSource);
static const struct pb_field f_core_CephFSVolumeSource[] = {
	{1, "monitors", PB_STRING, PB_REPEATED, NULL},
	{2, "path", PB_STRING, 0, NULL},
	{3, "user", PB_STRING, 0, NULL},
	{4, "secretFile", PB_STRING, 0, NULL},
	{5, "secretRef", PB_MSG, PB_PTR, &m_core_LocalObjectReference},
	{6, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, CephFSVolumeSource);
static const struct pb_field f_core_FlockerVolumeSource[] = {
	{1, "datasetName", PB_STRING, 0, NULL},
	{2, "datasetUUID", PB_STRING, 0, NULL},
};
PB_DEFINE(core, FlockerVolumeSource);
static const struct pb_field f_core_DownwardAPIVolumeSource[] = {
	{1, "items", PB_MSG, PB_REPEATED, &m_core_DownwardAPIVolumeFile},
	{2, "defaultMode", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(core, DownwardAPIVolumeSource);
static const struct pb_field f_core_DownwardAPIVolumeFile[] = {
	{1, "path", PB_STRING, 0, NULL},
	{2, "fieldRef", PB_MSG, PB_PTR, &m_core_ObjectFieldSelector},
	{3, "resourceFieldRef", PB_MSG, PB_PTR, &m_core_ResourceFieldSelector},
	{4, "mode", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(core, DownwardAPIVolumeFile);
static const struct pb_field f_core_ObjectFieldSelector[] = {
	{1, "apiVersion", PB_STRING, 0, NULL},
	{2, "fieldPath", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ObjectFieldSelector);
static const struct pb_field f_core_ResourceFieldSelector[] = {
	{1, "containerName", PB_STRING, 0, NULL},
	{2, "resource", PB_STRING, 0, NULL},
	{3, "divisor", PB_QUANTITY, 0, NULL},
};
PB_DEFINE(core, ResourceFieldSelector);
static const struct pb_field f_core_FCVolumeSource[] = {
	{1, "targetWWNs", PB_STRING, PB_REPEATED, NULL},
	{2, "lun", PB_INT32, PB_PTR, NULL},
	{3, "fsType", PB_STRING, 0, NULL},
	{4, "readOnly", PB_BOOL, 0, NULL},
	{5, "wwids", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(core, FCVolumeSource);
static const struct pb_field f_core_AzureFileVolumeSource[] = {
	{1, "secretName", PB_STRING, 0, NULL},
	{2, "shareName", PB_STRING, 0, NULL},
	{3, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, AzureFileVolumeSource);
static const struct pb_field f_core_ConfigMapVolumeSource[] = {
	{1, "localObjectReference", PB_MSG, PB_INLINE, &m_core_LocalObjectReference},
	{2, "items", PB_MSG, PB_REPEATED, &m_core_KeyToPath},
	{3, "defaultMode", PB_INT32, PB_PTR, NULL},
	{4, "optional", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, ConfigMapVolumeSource);
static const struct pb_field f_core_VsphereVirtualDiskVolumeSource[] = {
	{1, "volumePath", PB_STRING, 0, NULL},
	{2, "fsType", PB_STRING, 0, NULL},
	{3, "storagePolicyName", PB_STRING, 0, NULL},
	{4, "storagePolicyID", PB_STRING, 0, NULL},
};
PB_DEFINE(core, VsphereVirtualDiskVolumeSource);
static const struct pb_field f_core_QuobyteVolumeSource[] = {
	{1, "registry", PB_STRING, 0, NULL},
	{2, "volume", PB_STRING, 0, NULL},
	{3, "readOnly", PB_BOOL, 0, NULL},
	{4, "user", PB_STRING, 0, NULL},
	{5, "group", PB_STRING, 0, NULL},
	{6, "tenant", PB_STRING, 0, NULL},
};
PB_DEFINE(core, QuobyteVolumeSource);
static const struct pb_field f_core_AzureDiskVolumeSource[] = {
	{1, "diskName", PB_STRING, 0, NULL},
	{2, "diskURI", PB_STRING, 0, NULL},
	{3, "cachingMode", PB_STRING, PB_PTR, NULL},
	{4, "fsType", PB_STRING, PB_PTR, NULL},
	{5, "readOnly", PB_BOOL, PB_PTR, NULL},
	{6, "kind", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, AzureDiskVolumeSource);
static const struct pb_field f_core_PhotonPersistentDiskVolumeSource[] = {
	{1, "pdID", PB_STRING, 0, NULL},
	{2, "fsType", PB_STRING, 0, NULL},
};
PB_DEFINE(core, PhotonPersistentDiskVolumeSource);
static const struct pb_field f_core_ProjectedVolumeSource[] = {
	{1, "sources", PB_MSG, PB_REPEATED, &m_core_VolumeProjection},
	{2, "defaultMode", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(core, ProjectedVolumeSource);
static const struct pb_field f_core_VolumeProjection[] = {
	{1, "secret", PB_MSG, PB_PTR, &m_core_SecretProjection},
	{2, "downwardAPI", PB_MSG, PB_PTR, &m_core_DownwardAPIProjection},
	{3, "configMap", PB_MSG, PB_PTR, &m_core_ConfigMapProjection},
	{4, "serviceAccountToken", PB_MSG, PB_PTR, &m_core_ServiceAccountTokenProjection},
	{5, "clusterTrustBundle", PB_MSG, PB_PTR, &m_core_ClusterTrustBundleProjection},
};
PB_DEFINE(core, VolumeProjection);
static const struct pb_field f_core_SecretProjection[] = {
	{1, "localObjectReference", PB_MSG, PB_INLINE, &m_core_LocalObjectReference},
	{2, "items", PB_MSG, PB_REPEATED, &m_core_KeyToPath},
	{4, "optional", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, SecretProjection);
static const struct pb_field f_core_DownwardAPIProjection[] = {
	{1, "items", PB_MSG, PB_REPEATED, &m_core_DownwardAPIVolumeFile},
};
PB_DEFINE(core, DownwardAPIProjection);
static const struct pb_field f_core_ConfigMapProjection[] = {
	{1, "localObjectReference", PB_MSG, PB_INLINE, &m_core_LocalObjectReference},
	{2, "items", PB_MSG, PB_REPEATED, &m_core_KeyToPath},
	{4, "optional", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, ConfigMapProjection);
static const struct pb_field f_core_ServiceAccountTokenProjection[] = {
	{1, "audience", PB_STRING, 0, NULL},
	{2, "expirationSeconds", PB_INT64, PB_PTR, NULL},
	{3, "path", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ServiceAccountTokenProjection);
static const struct pb_field f_core_ClusterTrustBundleProjection[] = {
	{1, "name", PB_STRING, PB_PTR, NULL},
	{2, "signerName", PB_STRING, PB_PTR, NULL},
	{3, "labelSelector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{5, "optional", PB_BOOL, PB_PTR, NULL},
	{4, "path", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ClusterTrustBundleProjection);
static const struct pb_field f_meta_LabelSelector[] = {
	{1, "matchLabels", PB_STRING, PB_MAP, NULL},
	{2, "matchExpressions", PB_MSG, PB_REPEATED, &m_meta_LabelSelectorRequirement},
};
PB_DEFINE(meta, LabelSelector);
static const struct pb_field f_meta_LabelSelectorRequirement[] = {
	{1, "key", PB_STRING, 0, NULL},
	{2, "operator", PB_STRING, 0, NULL},
	{3, "values", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(meta, LabelSelectorRequirement);
static const struct pb_field f_core_PortworxVolumeSource[] = {
	{1, "volumeID", PB_STRING, 0, NULL},
	{2, "fsType", PB_STRING, 0, NULL},
	{3, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, PortworxVolumeSource);
static const struct pb_field f_core_ScaleIOVolumeSource[] = {
	{1, "gateway", PB_STRING, 0, NULL},
	{2, "system", PB_STRING, 0, NULL},
	{3, "secretRef", PB_MSG, PB_PTR, &m_core_LocalObjectReference},
	{4, "sslEnabled", PB_BOOL, 0, NULL},
	{5, "protectionDomain", PB_STRING, 0, NULL},
	{6, "storagePool", PB_STRING, 0, NULL},
	{7, "storageMode", PB_STRING, 0, NULL},
	{8, "volumeName", PB_STRING, 0, NULL},
	{9, "fsType", PB_STRING, 0, NULL},
	{10, "readOnly", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, ScaleIOVolumeSource);
static const struct pb_field f_core_StorageOSVolumeSource[] = {
	{1, "volumeName", PB_STRING, 0, NULL},
	{2, "volumeNamespace", PB_STRING, 0, NULL},
	{3, "fsType", PB_STRING, 0, NULL},
	{4, "readOnly", PB_BOOL, 0, NULL},
	{5, "secretRef", PB_MSG, PB_PTR, &m_core_LocalObjectReference},
};
PB_DEFINE(core, StorageOSVolumeSource);
static const struct pb_field f_core_CSIVolumeSource[] = {
	{1, "driver", PB_STRING, 0, NULL},
	{2, "readOnly", PB_BOOL, PB_PTR, NULL},
	{3, "fsType", PB_STRING, PB_PTR, NULL},
	{4, "volumeAttributes", PB_STRING, PB_MAP, NULL},
	{5, "nodePublishSecretRef", PB_MSG, PB_PTR, &m_core_LocalObjectReference},
};
PB_DEFINE(core, CSIVolumeSource);
static const struct pb_field f_core_EphemeralVolumeSource[] = {
	{1, "volumeClaimTemplate", PB_MSG, PB_PTR, &m_core_PersistentVolumeClaimTemplate},
};
PB_DEFINE(core, EphemeralVolumeSource);
static const struct pb_field f_core_PersistentVolumeClaimTemplate[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_core_PersistentVolumeClaimSpec},
};
PB_DEFINE(core, PersistentVolumeClaimTemplate);
static const struct pb_field f_core_PersistentVolumeClaimSpec[] = {
	{1, "accessModes", PB_STRING, PB_REPEATED, NULL},
	{4, "selector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{2, "resources", PB_MSG, 0, &m_core_VolumeResourceRequirements},
	{3, "volumeName", PB_STRING, 0, NULL},
	{5, "storageClassName", PB_STRING, PB_PTR, NULL},
	{6, "volumeMode", PB_STRING, PB_PTR, NULL},
	{7, "dataSource", PB_MSG, PB_PTR, &m_core_TypedLocalObjectReference},
	{8, "dataSourceRef", PB_MSG, PB_PTR, &m_core_TypedObjectReference},
	{9, "volumeAttributesClassName", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, PersistentVolumeClaimSpec);
static const struct pb_field f_core_VolumeResourceRequirements[] = {
	{1, "limits", PB_QUANTITY, PB_MAP, NULL},
	{2, "requests", PB_QUANTITY, PB_MAP, NULL},
};
PB_DEFINE(core, VolumeResourceRequirements);
static const struct pb_field f_core_TypedLocalObjectReference[] = {
	{1, "apiGroup", PB_STRING, PB_PTR, NULL},
	{2, "kind", PB_STRING, 0, NULL},
	{3, "name", PB_STRING, 0, NULL},
};
PB_DEFINE(core, TypedLocalObjectReference);
static const struct pb_field f_core_TypedObjectReference[] = {
	{1, "apiGroup", PB_STRING, PB_PTR, NULL},
	{2, "kind", PB_STRING, 0, NULL},
	{3, "name", PB_STRING, 0, NULL},
	{4, "namespace", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, TypedObjectReference);
static const struct pb_field f_core_ImageVolumeSource[] = {
	{1, "reference", PB_STRING, 0, NULL},
	{2, "pullPolicy", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ImageVolumeSource);
static const struct pb_field f_core_Container[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "image", PB_STRING, 0, NULL},
	{3, "command", PB_STRING, PB_REPEATED, NULL},
	{4, "args", PB_STRING, PB_REPEATED, NULL},
	{5, "workingDir", PB_STRING, 0, NULL},
	{6, "ports", PB_MSG, PB_REPEATED, &m_core_ContainerPort},
	{19, "envFrom", PB_MSG, PB_REPEATED, &m_core_EnvFromSource},
	{7, "env", PB_MSG, PB_REPEATED, &m_core_EnvVar},
	{8, "resources", PB_MSG, 0, &m_core_ResourceRequirements},
	{23, "resizePolicy", PB_MSG, PB_REPEATED, &m_core_ContainerResizePolicy},
	{24, "restartPolicy", PB_STRING, PB_PTR, NULL},
	{9, "volumeMounts", PB_MSG, PB_REPEATED, &m_core_VolumeMount},
	{21, "volumeDevices", PB_MSG, PB_REPEATED, &m_core_VolumeDevice},
	{10, "livenessProbe", PB_MSG, PB_PTR, &m_core_Probe},
	{11, "readinessProbe", PB_MSG, PB_PTR, &m_core_Probe},
	{22, "startupProbe", PB_MSG, PB_PTR, &m_core_Probe},
	{12, "lifecycle", PB_MSG, PB_PTR, &m_core_Lifecycle},
	{13, "terminationMessagePath", PB_STRING, 0, NULL},
	{20, "terminationMessagePolicy", PB_STRING, 0, NULL},
	{14, "imagePullPolicy", PB_STRING, 0, NULL},
	{15, "securityContext", PB_MSG, PB_PTR, &m_core_SecurityContext},
	{16, "stdin", PB_BOOL, 0, NULL},
	{17, "stdinOnce", PB_BOOL, 0, NULL},
	{18, "tty", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, Container);
static const struct pb_field f_core_ContainerPort[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "hostPort", PB_INT32, 0, NULL},
	{3, "containerPort", PB_INT32, 0, NULL},
	{4, "protocol", PB_STRING, 0, NULL},
	{5, "hostIP", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ContainerPort);
static const struct pb_field f_core_EnvFromSource[] = {
	{1, "prefix", PB_STRING, 0, NULL},
	{2, "configMapRef", PB_MSG, PB_PTR, &m_core_ConfigMapEnvSource},
	{3, "secretRef", PB_MSG, PB_PTR, &m_core_SecretEnvSource},
};
PB_DEFINE(core, EnvFromSource);
static const struct pb_field f_core_ConfigMapEnvSource[] = {
	{1, "localObjectReference", PB_MSG, PB_INLINE, &m_core_LocalObjectReference},
	{2, "optional", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, ConfigMapEnvSource);
static const struct pb_field f_core_SecretEnvSource[] = {
	{1, "localObjectReference", PB_MSG, PB_INLINE, &m_core_LocalObjectReference},
	{2, "optional", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, SecretEnvSource);
static const struct pb_field f_core_EnvVar[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "value", PB_STRING, 0, NULL},
	{3, "valueFrom", PB_MSG, PB_PTR, &m_core_EnvVarSource},
};
PB_DEFINE(core, EnvVar);
static const struct pb_field f_core_EnvVarSource[] = {
	{1, "fieldRef", PB_MSG, PB_PTR, &m_core_ObjectFieldSelector},
	{2, "resourceFieldRef", PB_MSG, PB_PTR, &m_core_ResourceFieldSelector},
	{3, "configMapKeyRef", PB_MSG, PB_PTR, &m_core_ConfigMapKeySelector},
	{4, "secretKeyRef", PB_MSG, PB_PTR, &m_core_SecretKeySelector},
};
PB_DEFINE(core, EnvVarSource);
static const struct pb_field f_core_ConfigMapKeySelector[] = {
	{1, "localObjectReference", PB_MSG, PB_INLINE, &m_core_LocalObjectReference},
	{2, "key", PB_STRING, 0, NULL},
	{3, "optional", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, ConfigMapKeySelector);
static const struct pb_field f_core_SecretKeySelector[] = {
	{1, "localObjectReference", PB_MSG, PB_INLINE, &m_core_LocalObjectReference},
	{2, "key", PB_STRING, 0, NULL},
	{3, "optional", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, SecretKeySelector);
static const struct pb_field f_core_ResourceRequirements[] = {
	{1, "limits", PB_QUANTITY, PB_MAP, NULL},
	{2, "requests", PB_QUANTITY, PB_MAP, NULL},
	{3, "claims", PB_MSG, PB_REPEATED, &m_core_ResourceClaim},
};
PB_DEFINE(core, ResourceRequirements);
static const struct pb_field f_core_ResourceClaim[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "request", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ResourceClaim);
static const struct pb_field f_core_ContainerResizePolicy[] = {
	{1, "resourceName", PB_STRING, 0, NULL},
	{2, "restartPolicy", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ContainerResizePolicy);
static const struct pb_field f_core_VolumeMount[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "readOnly", PB_BOOL, 0, NULL},
	{7, "recursiveReadOnly", PB_STRING, PB_PTR, NULL},
	{3, "mountPath", PB_STRING, 0, NULL},
	{4, "subPath", PB_STRING, 0, NULL},
	{5, "mountPropagation", PB_STRING, PB_PTR, NULL},
	{6, "subPathExpr", PB_STRING, 0, NULL},
};
PB_DEFINE(core, VolumeMount);
static const struct pb_field f_core_VolumeDevice[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "devicePath", PB_STRING, 0, NULL},
};
PB_DEFINE(core, VolumeDevice);
static const struct pb_field f_core_Probe[] = {
	{1, "handler", PB_MSG, PB_INLINE, &m_core_ProbeHandler},
	{2, "initialDelaySeconds", PB_INT32, 0, NULL},
	{3, "timeoutSeconds", PB_INT32, 0, NULL},
	{4, "periodSeconds", PB_INT32, 0, NULL},
	{5, "successThreshold", PB_INT32, 0, NULL},
	{6, "failureThreshold", PB_INT32, 0, NULL},
	{7, "terminationGracePeriodSeconds", PB_INT64, PB_PTR, NULL},
};
PB_DEFINE(core, Probe);
static const struct pb_field f_core_ProbeHandler[] = {
	{1, "exec", PB_MSG, PB_PTR, &m_core_ExecAction},
	{2, "httpGet", PB_MSG, PB_PTR, &m_core_HTTPGetAction},
	{3, "tcpSocket", PB_MSG, PB_PTR, &m_core_TCPSocketAction},
	{4, "grpc", PB_MSG, PB_PTR, &m_core_GRPCAction},
};
PB_DEFINE(core, ProbeHandler);
static const struct pb_field f_core_ExecAction[] = {
	{1, "command", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(core, ExecAction);
static const struct pb_field f_core_HTTPGetAction[] = {
	{1, "path", PB_STRING, 0, NULL},
	{2, "port", PB_INTORSTR, 0, NULL},
	{3, "host", PB_STRING, 0, NULL},
	{4, "scheme", PB_STRING, 0, NULL},
	{5, "httpHeaders", PB_MSG, PB_REPEATED, &m_core_HTTPHeader},
};
PB_DEFINE(core, HTTPGetAction);
static const struct pb_field f_core_HTTPHeader[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "value", PB_STRING, 0, NULL},
};
PB_DEFINE(core, HTTPHeader);
static const struct pb_field f_core_TCPSocketAction[] = {
	{1, "port", PB_INTORSTR, 0, NULL},
	{2, "host", PB_STRING, 0, NULL},
};
PB_DEFINE(core, TCPSocketAction);
static const struct pb_field f_core_GRPCAction[] = {
	{1, "port", PB_INT32, 0, NULL},
	{2, "service", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, GRPCAction);
static const struct pb_field f_core_Lifecycle[] = {
	{1, "postStart", PB_MSG, PB_PTR, &m_core_LifecycleHandler},
	{2, "preStop", PB_MSG, PB_PTR, &m_core_LifecycleHandler},
};
PB_DEFINE(core, Lifecycle);
static const struct pb_field f_core_LifecycleHandler[] = {
	{1, "exec", PB_MSG, PB_PTR, &m_core_ExecAction},
	{2, "httpGet", PB_MSG, PB_PTR, &m_core_HTTPGetAction},
	{3, "tcpSocket", PB_MSG, PB_PTR, &m_core_TCPSocketAction},
	{4, "sleep", PB_MSG, PB_PTR, &m_core_SleepAction},
};
PB_DEFINE(core, LifecycleHandler);
static const struct pb_field f_core_SleepAction[] = {
	{1, "seconds", PB_INT64, 0, NULL},
};
PB_DEFINE(core, SleepAction);
static const struct pb_field f_core_SecurityContext[] = {
	{1, "capabilities", PB_MSG, PB_PTR, &m_core_Capabilities},
	{2, "privileged", PB_BOOL, PB_PTR, NULL},
	{3, "seLinuxOptions", PB_MSG, PB_PTR, &m_core_SELinuxOptions},
	{10, "windowsOptions", PB_MSG, PB_PTR, &m_core_WindowsSecurityContextOptions},
	{4, "runAsUser", PB_INT64, PB_PTR, NULL},
	{8, "runAsGroup", PB_INT64, PB_PTR, NULL},
	{5, "runAsNonRoot", PB_BOOL, PB_PTR, NULL},
	{6, "readOnlyRootFilesystem", PB_BOOL, PB_PTR, NULL},
	{7, "allowPrivilegeEscalation", PB_BOOL, PB_PTR, NULL},
	{9, "procMount", PB_STRING, PB_PTR, NULL},
	{11, "seccompProfile", PB_MSG, PB_PTR, &m_core_SeccompProfile},
	{12, "appArmorProfile", PB_MSG, PB_PTR, &m_core_AppArmorProfile},
};
PB_DEFINE(core, SecurityContext);
static const struct pb_field f_core_Capabilities[] = {
	{1, "add", PB_STRING, PB_REPEATED, NULL},
	{2, "drop", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(core, Capabilities);
static const struct pb_field f_core_SELinuxOptions[] = {
	{1, "user", PB_STRING, 0, NULL},
	{2, "role", PB_STRING, 0, NULL},
	{3, "type", PB_STRING, 0, NULL},
	{4, "level", PB_STRING, 0, NULL},
};
PB_DEFINE(core, SELinuxOptions);
static const struct pb_field f_core_WindowsSecurityContextOptions[] = {
	{1, "gmsaCredentialSpecName", PB_STRING, PB_PTR, NULL},
	{2, "gmsaCredentialSpec", PB_STRING, PB_PTR, NULL},
	{3, "runAsUserName", PB_STRING, PB_PTR, NULL},
	{4, "hostProcess", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, WindowsSecurityContextOptions);
static const struct pb_field f_core_SeccompProfile[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "localhostProfile", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, SeccompProfile);
static const struct pb_field f_core_AppArmorProfile[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "localhostProfile", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, AppArmorProfile);
static const struct pb_field f_core_EphemeralContainer[] = {
	{1, "ephemeralContainerCommon", PB_MSG, PB_INLINE, &m_core_EphemeralContainerCommon},
	{2, "targetContainerName", PB_STRING, 0, NULL},
};
PB_DEFINE(core, EphemeralContainer);
static const struct pb_field f_core_EphemeralContainerCommon[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "image", PB_STRING, 0, NULL},
	{3, "command", PB_STRING, PB_REPEATED, NULL},
	{4, "args", PB_STRING, PB_REPEATED, NULL},
	{5, "workingDir", PB_STRING, 0, NULL},
	{6, "ports", PB_MSG, PB_REPEATED, &m_core_ContainerPort},
	{19, "envFrom", PB_MSG, PB_REPEATED, &m_core_EnvFromSource},
	{7, "env", PB_MSG, PB_REPEATED, &m_core_EnvVar},
	{8, "resources", PB_MSG, 0, &m_core_ResourceRequirements},
	{23, "resizePolicy", PB_MSG, PB_REPEATED, &m_core_ContainerResizePolicy},
	{24, "restartPolicy", PB_STRING, PB_PTR, NULL},
	{9, "volumeMounts", PB_MSG, PB_REPEATED, &m_core_VolumeMount},
	{21, "volumeDevices", PB_MSG, PB_REPEATED, &m_core_VolumeDevice},
	{10, "livenessProbe", PB_MSG, PB_PTR, &m_core_Probe},
	{11, "readinessProbe", PB_MSG, PB_PTR, &m_core_Probe},
	{22, "startupProbe", PB_MSG, PB_PTR, &m_core_Probe},
	{12, "lifecycle", PB_MSG, PB_PTR, &m_core_Lifecycle},
	{13, "terminationMessagePath", PB_STRING, 0, NULL},
	{20, "terminationMessagePolicy", PB_STRING, 0, NULL},
	{14, "imagePullPolicy", PB_STRING, 0, NULL},
	{15, "securityContext", PB_MSG, PB_PTR, &m_core_SecurityContext},
	{16, "stdin", PB_BOOL, 0, NULL},
	{17, "stdinOnce", PB_BOOL, 0, NULL},
	{18, "tty", PB_BOOL, 0, NULL},
};
PB_DEFINE(core, EphemeralContainerCommon);
static const struct pb_field f_core_PodSecurityContext[] = {
	{1, "seLinuxOptions", PB_MSG, PB_PTR, &m_core_SELinuxOptions},
	{8, "windowsOptions", PB_MSG, PB_PTR, &m_core_WindowsSecurityContextOptions},
	{2, "runAsUser", PB_INT64, PB_PTR, NULL},
	{6, "runAsGroup", PB_INT64, PB_PTR, NULL},
	{3, "runAsNonRoot", PB_BOOL, PB_PTR, NULL},
	{4, "supplementalGroups", PB_INT64, PB_REPEATED, NULL},
	{12, "supplementalGroupsPolicy", PB_STRING, PB_PTR, NULL},
	{5, "fsGroup", PB_INT64, PB_PTR, NULL},
	{7, "sysctls", PB_MSG, PB_REPEATED, &m_core_Sysctl},
	{9, "fsGroupChangePolicy", PB_STRING, PB_PTR, NULL},
	{10, "seccompProfile", PB_MSG, PB_PTR, &m_core_SeccompProfile},
	{11, "appArmorProfile", PB_MSG, PB_PTR, &m_core_AppArmorProfile},
	{13, "seLinuxChangePolicy", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, PodSecurityContext);
static const struct pb_field f_core_Sysctl[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "value", PB_STRING, 0, NULL},
};
PB_DEFINE(core, Sysctl);
static const struct pb_field f_core_Affinity[] = {
	{1, "nodeAffinity", PB_MSG, PB_PTR, &m_core_NodeAffinity},
	{2, "podAffinity", PB_MSG, PB_PTR, &m_core_PodAffinity},
	{3, "podAntiAffinity", PB_MSG, PB_PTR, &m_core_PodAntiAffinity},
};
PB_DEFINE(core, Affinity);
static const struct pb_field f_core_NodeAffinity[] = {
	{1, "requiredDuringSchedulingIgnoredDuringExecution", PB_MSG, PB_PTR, &m_core_NodeSelector},
	{2, "preferredDuringSchedulingIgnoredDuringExecution", PB_MSG, PB_REPEATED,
	 &m_core_PreferredSchedulingTerm},
};
PB_DEFINE(core, NodeAffinity);
static const struct pb_field f_core_NodeSelector[] = {
	{1, "nodeSelectorTerms", PB_MSG, PB_REPEATED, &m_core_NodeSelectorTerm},
};
PB_DEFINE(core, NodeSelector);
static const struct pb_field f_core_NodeSelectorTerm[] = {
	{1, "matchExpressions", PB_MSG, PB_REPEATED, &m_core_NodeSelectorRequirement},
	{2, "matchFields", PB_MSG, PB_REPEATED, &m_core_NodeSelectorRequirement},
};
PB_DEFINE(core, NodeSelectorTerm);
static const struct pb_field f_core_NodeSelectorRequirement[] = {
	{1, "key", PB_STRING, 0, NULL},
	{2, "operator", PB_STRING, 0, NULL},
	{3, "values", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(core, NodeSelectorRequirement);
static const struct pb_field f_core_PreferredSchedulingTerm[] = {
	{1, "weight", PB_INT32, 0, NULL},
	{2, "preference", PB_MSG, 0, &m_core_NodeSelectorTerm},
};
PB_DEFINE(core, PreferredSchedulingTerm);
static const struct pb_field f_core_PodAffinity[] = {
	{1, "requiredDuringSchedulingIgnoredDuringExecution", PB_MSG, PB_REPEATED,
	 &m_core_PodAffinityTerm},
	{2, "preferredDuringSchedulingIgnoredDuringExecution", PB_MSG, PB_REPEATED,
	 &m_core_WeightedPodAffinityTerm},
};
PB_DEFINE(core, PodAffinity);
static const struct pb_field f_core_PodAffinityTerm[] = {
	{1, "labelSelector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{2, "namespaces", PB_STRING, PB_REPEATED, NULL},
	{3, "topologyKey", PB_STRING, 0, NULL},
	{4, "namespaceSelector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{5, "matchLabelKeys", PB_STRING, PB_REPEATED, NULL},
	{6, "mismatchLabelKeys", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(core, PodAffinityTerm);
static const struct pb_field f_core_WeightedPodAffinityTerm[] = {
	{1, "weight", PB_INT32, 0, NULL},
	{2, "podAffinityTerm", PB_MSG, 0, &m_core_PodAffinityTerm},
};
PB_DEFINE(core, WeightedPodAffinityTerm);
static const struct pb_field f_core_PodAntiAffinity[] = {
	{1, "requiredDuringSchedulingIgnoredDuringExecution", PB_MSG, PB_REPEATED,
	 &m_core_PodAffinityTerm},
	{2, "preferredDuringSchedulingIgnoredDuringExecution", PB_MSG, PB_REPEATED,
	 &m_core_WeightedPodAffinityTerm},
};
PB_DEFINE(core, PodAntiAffinity);
static const struct pb_field f_core_Toleration[] = {
	{1, "key", PB_STRING, 0, NULL},
	{2, "operator", PB_STRING, 0, NULL},
	{3, "value", PB_STRING, 0, NULL},
	{4, "effect", PB_STRING, 0, NULL},
	{5, "tolerationSeconds", PB_INT64, PB_PTR, NULL},
};
PB_DEFINE(core, Toleration);
static const struct pb_field f_core_HostAlias[] = {
	{1, "ip", PB_STRING, 0, NULL},
	{2, "hostnames", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(core, HostAlias);
static const struct pb_field f_core_PodDNSConfig[] = {
	{1, "nameservers", PB_STRING, PB_REPEATED, NULL},
	{2, "searches", PB_STRING, PB_REPEATED, NULL},
	{3, "options", PB_MSG, PB_REPEATED, &m_core_PodDNSConfigOption},
};
PB_DEFINE(core, PodDNSConfig);
static const struct pb_field f_core_PodDNSConfigOption[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "value", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, PodDNSConfigOption);
static const struct pb_field f_core_PodReadinessGate[] = {
	{1, "conditionType", PB_STRING, 0, NULL},
};
PB_DEFINE(core, PodReadinessGate);
static const struct pb_field f_core_TopologySpreadConstraint[] = {
	{1, "maxSkew", PB_INT32, 0, NULL},
	{2, "topologyKey", PB_STRING, 0, NULL},
	{3, "whenUnsatisfiable", PB_STRING, 0, NULL},
	{4, "labelSelector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{5, "minDomains", PB_INT32, PB_PTR, NULL},
	{6, "nodeAffinityPolicy", PB_STRING, PB_PTR, NULL},
	{7, "nodeTaintsPolicy", PB_STRING, PB_PTR, NULL},
	{8, "matchLabelKeys", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(core, TopologySpreadConstraint);
static const struct pb_field f_core_PodOS[] = {
	{1, "name", PB_STRING, 0, NULL},
};
PB_DEFINE(core, PodOS);
static const struct pb_field f_core_PodSchedulingGate[] = {
	{1, "name", PB_STRING, 0, NULL},
};
PB_DEFINE(core, PodSchedulingGate);
static const struct pb_field f_core_PodResourceClaim[] = {
	{1, "name", PB_STRING, 0, NULL},
	{3, "resourceClaimName", PB_STRING, PB_PTR, NULL},
	{4, "resourceClaimTemplateName", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, PodResourceClaim);
static const struct pb_field f_core_PodStatus[] = {
	{1, "phase", PB_STRING, 0, NULL},
	{2, "conditions", PB_MSG, PB_REPEATED, &m_core_PodCondition},
	{3, "message", PB_STRING, 0, NULL},
	{4, "reason", PB_STRING, 0, NULL},
	{11, "nominatedNodeName", PB_STRING, 0, NULL},
	{5, "hostIP", PB_STRING, 0, NULL},
	{16, "hostIPs", PB_MSG, PB_REPEATED, &m_core_HostIP},
	{6, "podIP", PB_STRING, 0, NULL},
	{12, "podIPs", PB_MSG, PB_REPEATED, &m_core_PodIP},
	{7, "startTime", PB_TIME, PB_PTR, NULL},
	{10, "initContainerStatuses", PB_MSG, PB_REPEATED, &m_core_ContainerStatus},
	{8, "containerStatuses", PB_MSG, PB_REPEATED, &m_core_ContainerStatus},
	{9, "qosClass", PB_STRING, 0, NULL},
	{13, "ephemeralContainerStatuses", PB_MSG, PB_REPEATED, &m_core_ContainerStatus},
	{14, "resize", PB_STRING, 0, NULL},
	{15, "resourceClaimStatuses", PB_MSG, PB_REPEATED, &m_core_PodResourceClaimStatus},
};
PB_DEFINE(core, PodStatus);
static const struct pb_field f_core_PodCondition[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
	{3, "lastProbeTime", PB_TIME, 0, NULL},
	{4, "lastTransitionTime", PB_TIME, 0, NULL},
	{5, "reason", PB_STRING, 0, NULL},
	{6, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(core, PodCondition);
static const struct pb_field f_core_HostIP[] = {
	{1, "ip", PB_STRING, 0, NULL},
};
PB_DEFINE(core, HostIP);
static const struct pb_field f_core_PodIP[] = {
	{1, "ip", PB_STRING, 0, NULL},
};
PB_DEFINE(core, PodIP);
static const struct pb_field f_core_ContainerStatus[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "state", PB_MSG, 0, &m_core_ContainerState},
	{3, "lastState", PB_MSG, 0, &m_core_ContainerState},
	{4, "ready", PB_BOOL, 0, NULL},
	{5, "restartCount", PB_INT32, 0, NULL},
	{6, "image", PB_STRING, 0, NULL},
	{7, "imageID", PB_STRING, 0, NULL},
	{8, "containerID", PB_STRING, 0, NULL},
	{9, "started", PB_BOOL, PB_PTR, NULL},
	{10, "allocatedResources", PB_QUANTITY, PB_MAP, NULL},
	{11, "resources", PB_MSG, PB_PTR, &m_core_ResourceRequirements},
	{12, "volumeMounts", PB_MSG, PB_REPEATED, &m_core_VolumeMountStatus},
	{13, "user", PB_MSG, PB_PTR, &m_core_ContainerUser},
	{14, "allocatedResourcesStatus", PB_MSG, PB_REPEATED, &m_core_ResourceStatus},
};
PB_DEFINE(core, ContainerStatus);
static const struct pb_field f_core_ContainerState[] = {
	{1, "waiting", PB_MSG, PB_PTR, &m_core_ContainerStateWaiting},
	{2, "running", PB_MSG, PB_PTR, &m_core_ContainerStateRunning},
	{3, "terminated", PB_MSG, PB_PTR, &m_core_ContainerStateTerminated},
};
PB_DEFINE(core, ContainerState);
static const struct pb_field f_core_ContainerStateWaiting[] = {
	{1, "reason", PB_STRING, 0, NULL},
	{2, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ContainerStateWaiting);
static const struct pb_field f_core_ContainerStateRunning[] = {
	{1, "startedAt", PB_TIME, 0, NULL},
};
PB_DEFINE(core, ContainerStateRunning);
static const struct pb_field f_core_ContainerStateTerminated[] = {
	{1, "exitCode", PB_INT32, 0, NULL},
	{2, "signal", PB_INT32, 0, NULL},
	{3, "reason", PB_STRING, 0, NULL},
	{4, "message", PB_STRING, 0, NULL},
	{5, "startedAt", PB_TIME, 0, NULL},
	{6, "finishedAt", PB_TIME, 0, NULL},
	{7, "containerID", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ContainerStateTerminated);
static const struct pb_field f_core_VolumeMountStatus[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "mountPath", PB_STRING, 0, NULL},
	{3, "readOnly", PB_BOOL, 0, NULL},
	{4, "recursiveReadOnly", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, VolumeMountStatus);
static const struct pb_field f_core_ContainerUser[] = {
	{1, "linux", PB_MSG, PB_PTR, &m_core_LinuxContainerUser},
};
PB_DEFINE(core, ContainerUser);
static const struct pb_field f_core_LinuxContainerUser[] = {
	{1, "uid", PB_INT64, 0, NULL},
	{2, "gid", PB_INT64, 0, NULL},
	{3, "supplementalGroups", PB_INT64, PB_REPEATED, NULL},
};
PB_DEFINE(core, LinuxContainerUser);
static const struct pb_field f_core_ResourceStatus[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "resources", PB_MSG, PB_REPEATED, &m_core_ResourceHealth},
};
PB_DEFINE(core, ResourceStatus);
static const struct pb_field f_core_ResourceHealth[] = {
	{1, "resourceID", PB_STRING, 0, NULL},
	{2, "health", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ResourceHealth);
static const struct pb_field f_core_PodResourceClaimStatus[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "resourceClaimName", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, PodResourceClaimStatus);
static const struct pb_field f_core_Service[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_core_ServiceSpec},
	{3, "status", PB_MSG, 0, &m_core_ServiceStatus},
};
PB_DEFINE(core, Service);
static const struct pb_field f_core_ServiceSpec[] = {
	{1, "ports", PB_MSG, PB_REPEATED, &m_core_ServicePort},
	{2, "selector", PB_STRING, PB_MAP, NULL},
	{3, "clusterIP", PB_STRING, 0, NULL},
	{18, "clusterIPs", PB_STRING, PB_REPEATED, NULL},
	{4, "type", PB_STRING, 0, NULL},
	{5, "externalIPs", PB_STRING, PB_REPEATED, NULL},
	{7, "sessionAffinity", PB_STRING, 0, NULL},
	{8, "loadBalancerIP", PB_STRING, 0, NULL},
	{9, "loadBalancerSourceRanges", PB_STRING, PB_REPEATED, NULL},
	{10, "externalName", PB_STRING, 0, NULL},
	{11, "externalTrafficPolicy", PB_STRING, 0, NULL},
	{12, "healthCheckNodePort", PB_INT32, 0, NULL},
	{13, "publishNotReadyAddresses", PB_BOOL, 0, NULL},
	{14, "sessionAffinityConfig", PB_MSG, PB_PTR, &m_core_SessionAffinityConfig},
	{19, "ipFamilies", PB_STRING, PB_REPEATED, NULL},
	{17, "ipFamilyPolicy", PB_STRING, PB_PTR, NULL},
	{20, "allocateLoadBalancerNodePorts", PB_BOOL, PB_PTR, NULL},
	{21, "loadBalancerClass", PB_STRING, PB_PTR, NULL},
	{22, "internalTrafficPolicy", PB_STRING, PB_PTR, NULL},
	{23, "trafficDistribution", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, ServiceSpec);
static const struct pb_field f_core_ServicePort[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "protocol", PB_STRING, 0, NULL},
	{6, "appProtocol", PB_STRING, PB_PTR, NULL},
	{3, "port", PB_INT32, 0, NULL},
	{4, "targetPort", PB_INTORSTR, 0, NULL},
	{5, "nodePort", PB_INT32, 0, NULL},
};
PB_DEFINE(core, ServicePort);
static const struct pb_field f_core_SessionAffinityConfig[] = {
	{1, "clientIP", PB_MSG, PB_PTR, &m_core_ClientIPConfig},
};
PB_DEFINE(core, SessionAffinityConfig);
static const struct pb_field f_core_ClientIPConfig[] = {
	{1, "timeoutSeconds", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(core, ClientIPConfig);
static const struct pb_field f_core_ServiceStatus[] = {
	{1, "loadBalancer", PB_MSG, 0, &m_core_LoadBalancerStatus},
	{2, "conditions", PB_MSG, PB_REPEATED, &m_meta_Condition},
};
PB_DEFINE(core, ServiceStatus);
static const struct pb_field f_core_LoadBalancerStatus[] = {
	{1, "ingress", PB_MSG, PB_REPEATED, &m_core_LoadBalancerIngress},
};
PB_DEFINE(core, LoadBalancerStatus);
static const struct pb_field f_core_LoadBalancerIngress[] = {
	{1, "ip", PB_STRING, 0, NULL},
	{2, "hostname", PB_STRING, 0, NULL},
	{3, "ipMode", PB_STRING, PB_PTR, NULL},
	{4, "ports", PB_MSG, PB_REPEATED, &m_core_PortStatus},
};
PB_DEFINE(core, LoadBalancerIngress);
static const struct pb_field f_core_PortStatus[] = {
	{1, "port", PB_INT32, 0, NULL},
	{2, "protocol", PB_STRING, 0, NULL},
	{3, "error", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, PortStatus);
static const struct pb_field f_meta_Condition[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
	{3, "observedGeneration", PB_INT64, 0, NULL},
	{4, "lastTransitionTime", PB_TIME, 0, NULL},
	{5, "reason", PB_STRING, 0, NULL},
	{6, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(meta, Condition);
static const struct pb_field f_core_Namespace[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_core_NamespaceSpec},
	{3, "status", PB_MSG, 0, &m_core_NamespaceStatus},
};
PB_DEFINE(core, Namespace);
static const struct pb_field f_core_NamespaceSpec[] = {
	{1, "finalizers", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(core, NamespaceSpec);
static const struct pb_field f_core_NamespaceStatus[] = {
	{1, "phase", PB_STRING, 0, NULL},
	{2, "conditions", PB_MSG, PB_REPEATED, &m_core_NamespaceCondition},
};
PB_DEFINE(core, NamespaceStatus);
static const struct pb_field f_core_NamespaceCondition[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
	{4, "lastTransitionTime", PB_TIME, 0, NULL},
	{5, "reason", PB_STRING, 0, NULL},
	{6, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(core, NamespaceCondition);
static const struct pb_field f_core_ConfigMap[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{4, "immutable", PB_BOOL, PB_PTR, NULL},
	{2, "data", PB_STRING, PB_MAP, NULL},
	{3, "binaryData", PB_BYTES, PB_MAP, NULL},
};
PB_DEFINE(core, ConfigMap);
static const struct pb_field f_core_Secret[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{5, "immutable", PB_BOOL, PB_PTR, NULL},
	{2, "data", PB_BYTES, PB_MAP, NULL},
	{4, "stringData", PB_STRING, PB_MAP, NULL},
	{3, "type", PB_STRING, 0, NULL},
};
PB_DEFINE(core, Secret);
static const struct pb_field f_core_ServiceAccount[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "secrets", PB_MSG, PB_REPEATED, &m_core_ObjectReference},
	{3, "imagePullSecrets", PB_MSG, PB_REPEATED, &m_core_LocalObjectReference},
	{4, "automountServiceAccountToken", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(core, ServiceAccount);
static const struct pb_field f_core_ObjectReference[] = {
	{1, "kind", PB_STRING, 0, NULL},
	{2, "namespace", PB_STRING, 0, NULL},
	{3, "name", PB_STRING, 0, NULL},
	{4, "uid", PB_STRING, 0, NULL},
	{5, "apiVersion", PB_STRING, 0, NULL},
	{6, "resourceVersion", PB_STRING, 0, NULL},
	{7, "fieldPath", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ObjectReference);
static const struct pb_field f_core_ResourceQuota[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_core_ResourceQuotaSpec},
	{3, "status", PB_MSG, 0, &m_core_ResourceQuotaStatus},
};
PB_DEFINE(core, ResourceQuota);
static const struct pb_field f_core_ResourceQuotaSpec[] = {
	{1, "hard", PB_QUANTITY, PB_MAP, NULL},
	{2, "scopes", PB_STRING, PB_REPEATED, NULL},
	{3, "scopeSelector", PB_MSG, PB_PTR, &m_core_ScopeSelector},
};
PB_DEFINE(core, ResourceQuotaSpec);
static const struct pb_field f_core_ScopeSelector[] = {
	{1, "matchExpressions", PB_MSG, PB_REPEATED, &m_core_ScopedResourceSelectorRequirement},
};
PB_DEFINE(core, ScopeSelector);
static const struct pb_field f_core_ScopedResourceSelectorRequirement[] = {
	{1, "scopeName", PB_STRING, 0, NULL},
	{2, "operator", PB_STRING, 0, NULL},
	{3, "values", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(core, ScopedResourceSelectorRequirement);
static const struct pb_field f_core_ResourceQuotaStatus[] = {
	{1, "hard", PB_QUANTITY, PB_MAP, NULL},
	{2, "used", PB_QUANTITY, PB_MAP, NULL},
};
PB_DEFINE(core, ResourceQuotaStatus);
static const struct pb_field f_core_PersistentVolumeClaim[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_core_PersistentVolumeClaimSpec},
	{3, "status", PB_MSG, 0, &m_core_PersistentVolumeClaimStatus},
};
PB_DEFINE(core, PersistentVolumeClaim);
static const struct pb_field f_core_PersistentVolumeClaimStatus[] = {
	{1, "phase", PB_STRING, 0, NULL},
	{2, "accessModes", PB_STRING, PB_REPEATED, NULL},
	{3, "capacity", PB_QUANTITY, PB_MAP, NULL},
	{4, "conditions", PB_MSG, PB_REPEATED, &m_core_PersistentVolumeClaimCondition},
	{5, "allocatedResources", PB_QUANTITY, PB_MAP, NULL},
	{7, "allocatedResourceStatuses", PB_STRING, PB_MAP, NULL},
	{8, "currentVolumeAttributesClassName", PB_STRING, PB_PTR, NULL},
	{9, "modifyVolumeStatus", PB_MSG, PB_PTR, &m_core_ModifyVolumeStatus},
};
PB_DEFINE(core, PersistentVolumeClaimStatus);
static const struct pb_field f_core_PersistentVolumeClaimCondition[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
	{3, "lastProbeTime", PB_TIME, 0, NULL},
	{4, "lastTransitionTime", PB_TIME, 0, NULL},
	{5, "reason", PB_STRING, 0, NULL},
	{6, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(core, PersistentVolumeClaimCondition);
static const struct pb_field f_core_ModifyVolumeStatus[] = {
	{1, "targetVolumeAttributesClassName", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
};
PB_DEFINE(core, ModifyVolumeStatus);
static const struct pb_field f_core_Endpoints[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "subsets", PB_MSG, PB_REPEATED, &m_core_EndpointSubset},
};
PB_DEFINE(core, Endpoints);
static const struct pb_field f_core_EndpointSubset[] = {
	{1, "addresses", PB_MSG, PB_REPEATED, &m_core_EndpointAddress},
	{2, "notReadyAddresses", PB_MSG, PB_REPEATED, &m_core_EndpointAddress},
	{3, "ports", PB_MSG, PB_REPEATED, &m_core_EndpointPort},
};
PB_DEFINE(core, EndpointSubset);
static const struct pb_field f_core_EndpointAddress[] = {
	{1, "ip", PB_STRING, 0, NULL},
	{3, "hostname", PB_STRING, 0, NULL},
	{4, "nodeName", PB_STRING, PB_PTR, NULL},
	{2, "targetRef", PB_MSG, PB_PTR, &m_core_ObjectReference},
};
PB_DEFINE(core, EndpointAddress);
static const struct pb_field f_core_EndpointPort[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "port", PB_INT32, 0, NULL},
	{3, "protocol", PB_STRING, 0, NULL},
	{4, "appProtocol", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(core, EndpointPort);
static const struct pb_field f_core_LimitRange[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_core_LimitRangeSpec},
};
PB_DEFINE(core, LimitRange);
static const struct pb_field f_core_LimitRangeSpec[] = {
	{1, "limits", PB_MSG, PB_REPEATED, &m_core_LimitRangeItem},
};
PB_DEFINE(core, LimitRangeSpec);
static const struct pb_field f_core_LimitRangeItem[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "max", PB_QUANTITY, PB_MAP, NULL},
	{3, "min", PB_QUANTITY, PB_MAP, NULL},
	{4, "default", PB_QUANTITY, PB_MAP, NULL},
	{5, "defaultRequest", PB_QUANTITY, PB_MAP, NULL},
	{6, "maxLimitRequestRatio", PB_QUANTITY, PB_MAP, NULL},
};
PB_DEFINE(core, LimitRangeItem);
static const struct pb_field f_apps_Deployment[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_apps_DeploymentSpec},
	{3, "status", PB_MSG, 0, &m_apps_DeploymentStatus},
};
PB_DEFINE(apps, Deployment);
static const struct pb_field f_apps_DeploymentSpec[] = {
	{1, "replicas", PB_INT32, PB_PTR, NULL},
	{2, "selector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{3, "template", PB_MSG, 0, &m_core_PodTemplateSpec},
	{4, "strategy", PB_MSG, 0, &m_apps_DeploymentStrategy},
	{5, "minReadySeconds", PB_INT32, 0, NULL},
	{6, "revisionHistoryLimit", PB_INT32, PB_PTR, NULL},
	{7, "paused", PB_BOOL, 0, NULL},
	{9, "progressDeadlineSeconds", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(apps, DeploymentSpec);
static const struct pb_field f_core_PodTemplateSpec[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_core_PodSpec},
};
PB_DEFINE(core, PodTemplateSpec);
static const struct pb_field f_apps_DeploymentStrategy[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "rollingUpdate", PB_MSG, PB_PTR, &m_apps_RollingUpdateDeployment},
};
PB_DEFINE(apps, DeploymentStrategy);
static const struct pb_field f_apps_RollingUpdateDeployment[] = {
	{1, "maxUnavailable", PB_INTORSTR, PB_PTR, NULL},
	{2, "maxSurge", PB_INTORSTR, PB_PTR, NULL},
};
PB_DEFINE(apps, RollingUpdateDeployment);
static const struct pb_field f_apps_DeploymentStatus[] = {
	{1, "observedGeneration", PB_INT64, 0, NULL},
	{2, "replicas", PB_INT32, 0, NULL},
	{3, "updatedReplicas", PB_INT32, 0, NULL},
	{7, "readyReplicas", PB_INT32, 0, NULL},
	{4, "availableReplicas", PB_INT32, 0, NULL},
	{5, "unavailableReplicas", PB_INT32, 0, NULL},
	{6, "conditions", PB_MSG, PB_REPEATED, &m_apps_DeploymentCondition},
	{8, "collisionCount", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(apps, DeploymentStatus);
static const struct pb_field f_apps_DeploymentCondition[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
	{6, "lastUpdateTime", PB_TIME, 0, NULL},
	{7, "lastTransitionTime", PB_TIME, 0, NULL},
	{4, "reason", PB_STRING, 0, NULL},
	{5, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(apps, DeploymentCondition);
static const struct pb_field f_apps_ReplicaSet[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_apps_ReplicaSetSpec},
	{3, "status", PB_MSG, 0, &m_apps_ReplicaSetStatus},
};
PB_DEFINE(apps, ReplicaSet);
static const struct pb_field f_apps_ReplicaSetSpec[] = {
	{1, "replicas", PB_INT32, PB_PTR, NULL},
	{4, "minReadySeconds", PB_INT32, 0, NULL},
	{2, "selector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{3, "template", PB_MSG, 0, &m_core_PodTemplateSpec},
};
PB_DEFINE(apps, ReplicaSetSpec);
static const struct pb_field f_apps_ReplicaSetStatus[] = {
	{1, "replicas", PB_INT32, 0, NULL},
	{2, "fullyLabeledReplicas", PB_INT32, 0, NULL},
	{4, "readyReplicas", PB_INT32, 0, NULL},
	{5, "availableReplicas", PB_INT32, 0, NULL},
	{3, "observedGeneration", PB_INT64, 0, NULL},
	{6, "conditions", PB_MSG, PB_REPEATED, &m_apps_ReplicaSetCondition},
};
PB_DEFINE(apps, ReplicaSetStatus);
static const struct pb_field f_apps_ReplicaSetCondition[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
	{3, "lastTransitionTime", PB_TIME, 0, NULL},
	{4, "reason", PB_STRING, 0, NULL},
	{5, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(apps, ReplicaSetCondition);
static const struct pb_field f_apps_StatefulSet[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_apps_StatefulSetSpec},
	{3, "status", PB_MSG, 0, &m_apps_StatefulSetStatus},
};
PB_DEFINE(apps, StatefulSet);
static const struct pb_field f_apps_StatefulSetSpec[] = {
	{1, "replicas", PB_INT32, PB_PTR, NULL},
	{2, "selector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{3, "template", PB_MSG, 0, &m_core_PodTemplateSpec},
	{4, "volumeClaimTemplates", PB_MSG, PB_REPEATED, &m_core_PersistentVolumeClaim},
	{5, "serviceName", PB_STRING, 0, NULL},
	{6, "podManagementPolicy", PB_STRING, 0, NULL},
	{7, "updateStrategy", PB_MSG, 0, &m_apps_StatefulSetUpdateStrategy},
	{8, "revisionHistoryLimit", PB_INT32, PB_PTR, NULL},
	{9, "minReadySeconds", PB_INT32, 0, NULL},
	{10, "persistentVolumeClaimRetentionPolicy", PB_MSG, PB_PTR,
	 &m_apps_StatefulSetPersistentVolumeClaimRetentionPolicy},
	{11, "ordinals", PB_MSG, PB_PTR, &m_apps_StatefulSetOrdinals},
};
PB_DEFINE(apps, StatefulSetSpec);
static const struct pb_field f_apps_StatefulSetUpdateStrategy[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "rollingUpdate", PB_MSG, PB_PTR, &m_apps_RollingUpdateStatefulSetStrategy},
};
PB_DEFINE(apps, StatefulSetUpdateStrategy);
static const struct pb_field f_apps_RollingUpdateStatefulSetStrategy[] = {
	{1, "partition", PB_INT32, PB_PTR, NULL},
	{2, "maxUnavailable", PB_INTORSTR, PB_PTR, NULL},
};
PB_DEFINE(apps, RollingUpdateStatefulSetStrategy);
static const struct pb_field f_apps_StatefulSetPersistentVolumeClaimRetentionPolicy[] = {
	{1, "whenDeleted", PB_STRING, 0, NULL},
	{2, "whenScaled", PB_STRING, 0, NULL},
};
PB_DEFINE(apps, StatefulSetPersistentVolumeClaimRetentionPolicy);
static const struct pb_field f_apps_StatefulSetOrdinals[] = {
	{1, "start", PB_INT32, 0, NULL},
};
PB_DEFINE(apps, StatefulSetOrdinals);
static const struct pb_field f_apps_StatefulSetStatus[] = {
	{1, "observedGeneration", PB_INT64, 0, NULL},
	{2, "replicas", PB_INT32, 0, NULL},
	{3, "readyReplicas", PB_INT32, 0, NULL},
	{4, "currentReplicas", PB_INT32, 0, NULL},
	{5, "updatedReplicas", PB_INT32, 0, NULL},
	{6, "currentRevision", PB_STRING, 0, NULL},
	{7, "updateRevision", PB_STRING, 0, NULL},
	{9, "collisionCount", PB_INT32, PB_PTR, NULL},
	{10, "conditions", PB_MSG, PB_REPEATED, &m_apps_StatefulSetCondition},
	{11, "availableReplicas", PB_INT32, 0, NULL},
};
PB_DEFINE(apps, StatefulSetStatus);
static const struct pb_field f_apps_StatefulSetCondition[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
	{3, "lastTransitionTime", PB_TIME, 0, NULL},
	{4, "reason", PB_STRING, 0, NULL},
	{5, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(apps, StatefulSetCondition);
static const struct pb_field f_apps_DaemonSet[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_apps_DaemonSetSpec},
	{3, "status", PB_MSG, 0, &m_apps_DaemonSetStatus},
};
PB_DEFINE(apps, DaemonSet);
static const struct pb_field f_apps_DaemonSetSpec[] = {
	{1, "selector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{2, "template", PB_MSG, 0, &m_core_PodTemplateSpec},
	{3, "updateStrategy", PB_MSG, 0, &m_apps_DaemonSetUpdateStrategy},
	{4, "minReadySeconds", PB_INT32, 0, NULL},
	{6, "revisionHistoryLimit", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(apps, DaemonSetSpec);
static const struct pb_field f_apps_DaemonSetUpdateStrategy[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "rollingUpdate", PB_MSG, PB_PTR, &m_apps_RollingUpdateDaemonSet},
};
PB_DEFINE(apps, DaemonSetUpdateStrategy);
static const struct pb_field f_apps_RollingUpdateDaemonSet[] = {
	{1, "maxUnavailable", PB_INTORSTR, PB_PTR, NULL},
	{2, "maxSurge", PB_INTORSTR, PB_PTR, NULL},
};
PB_DEFINE(apps, RollingUpdateDaemonSet);
static const struct pb_field f_apps_DaemonSetStatus[] = {
	{1, "currentNumberScheduled", PB_INT32, 0, NULL},
	{2, "numberMisscheduled", PB_INT32, 0, NULL},
	{3, "desiredNumberScheduled", PB_INT32, 0, NULL},
	{4, "numberReady", PB_INT32, 0, NULL},
	{5, "observedGeneration", PB_INT64, 0, NULL},
	{6, "updatedNumberScheduled", PB_INT32, 0, NULL},
	{7, "numberAvailable", PB_INT32, 0, NULL},
	{8, "numberUnavailable", PB_INT32, 0, NULL},
	{9, "collisionCount", PB_INT32, PB_PTR, NULL},
	{10, "conditions", PB_MSG, PB_REPEATED, &m_apps_DaemonSetCondition},
};
PB_DEFINE(apps, DaemonSetStatus);
static const struct pb_field f_apps_DaemonSetCondition[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
	{3, "lastTransitionTime", PB_TIME, 0, NULL},
	{4, "reason", PB_STRING, 0, NULL},
	{5, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(apps, DaemonSetCondition);
static const struct pb_field f_batch_Job[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_batch_JobSpec},
	{3, "status", PB_MSG, 0, &m_batch_JobStatus},
};
PB_DEFINE(batch, Job);
static const struct pb_field f_batch_JobSpec[] = {
	{1, "parallelism", PB_INT32, PB_PTR, NULL},
	{2, "completions", PB_INT32, PB_PTR, NULL},
	{3, "activeDeadlineSeconds", PB_INT64, PB_PTR, NULL},
	{11, "podFailurePolicy", PB_MSG, PB_PTR, &m_batch_PodFailurePolicy},
	{16, "successPolicy", PB_MSG, PB_PTR, &m_batch_SuccessPolicy},
	{7, "backoffLimit", PB_INT32, PB_PTR, NULL},
	{12, "backoffLimitPerIndex", PB_INT32, PB_PTR, NULL},
	{13, "maxFailedIndexes", PB_INT32, PB_PTR, NULL},
	{4, "selector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{5, "manualSelector", PB_BOOL, PB_PTR, NULL},
	{6, "template", PB_MSG, 0, &m_core_PodTemplateSpec},
	{8, "ttlSecondsAfterFinished", PB_INT32, PB_PTR, NULL},
	{9, "completionMode", PB_STRING, PB_PTR, NULL},
	{10, "suspend", PB_BOOL, PB_PTR, NULL},
	{14, "podReplacementPolicy", PB_STRING, PB_PTR, NULL},
	{15, "managedBy", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(batch, JobSpec);
static const struct pb_field f_batch_PodFailurePolicy[] = {
	{1, "rules", PB_MSG, PB_REPEATED, &m_batch_PodFailurePolicyRule},
};
PB_DEFINE(batch, PodFailurePolicy);
static const struct pb_field f_batch_PodFailurePolicyRule[] = {
	{1, "action", PB_STRING, 0, NULL},
	{2, "onExitCodes", PB_MSG, PB_PTR, &m_batch_PodFailurePolicyOnExitCodesRequirement},
	{3, "onPodConditions", PB_MSG, PB_REPEATED,
	 &m_batch_PodFailurePolicyOnPodConditionsPattern},
};
PB_DEFINE(batch, PodFailurePolicyRule);
static const struct pb_field f_batch_PodFailurePolicyOnExitCodesRequirement[] = {
	{1, "containerName", PB_STRING, PB_PTR, NULL},
	{2, "operator", PB_STRING, 0, NULL},
	{3, "values", PB_INT32, PB_REPEATED, NULL},
};
PB_DEFINE(batch, PodFailurePolicyOnExitCodesRequirement);
static const struct pb_field f_batch_PodFailurePolicyOnPodConditionsPattern[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
};
PB_DEFINE(batch, PodFailurePolicyOnPodConditionsPattern);
static const struct pb_field f_batch_SuccessPolicy[] = {
	{1, "rules", PB_MSG, PB_REPEATED, &m_batch_SuccessPolicyRule},
};
PB_DEFINE(batch, SuccessPolicy);
static const struct pb_field f_batch_SuccessPolicyRule[] = {
	{1, "succeededIndexes", PB_STRING, PB_PTR, NULL},
	{2, "succeededCount", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(batch, SuccessPolicyRule);
static const struct pb_field f_batch_JobStatus[] = {
	{1, "conditions", PB_MSG, PB_REPEATED, &m_batch_JobCondition},
	{2, "startTime", PB_TIME, PB_PTR, NULL},
	{3, "completionTime", PB_TIME, PB_PTR, NULL},
	{4, "active", PB_INT32, 0, NULL},
	{5, "succeeded", PB_INT32, 0, NULL},
	{6, "failed", PB_INT32, 0, NULL},
	{11, "terminating", PB_INT32, PB_PTR, NULL},
	{7, "completedIndexes", PB_STRING, 0, NULL},
	{10, "failedIndexes", PB_STRING, PB_PTR, NULL},
	{8, "uncountedTerminatedPods", PB_MSG, PB_PTR, &m_batch_UncountedTerminatedPods},
	{9, "ready", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(batch, JobStatus);
static const struct pb_field f_batch_JobCondition[] = {
	{1, "type", PB_STRING, 0, NULL},
	{2, "status", PB_STRING, 0, NULL},
	{3, "lastProbeTime", PB_TIME, 0, NULL},
	{4, "lastTransitionTime", PB_TIME, 0, NULL},
	{5, "reason", PB_STRING, 0, NULL},
	{6, "message", PB_STRING, 0, NULL},
};
PB_DEFINE(batch, JobCondition);
static const struct pb_field f_batch_UncountedTerminatedPods[] = {
	{1, "succeeded", PB_STRING, PB_REPEATED, NULL},
	{2, "failed", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(batch, UncountedTerminatedPods);
static const struct pb_field f_batch_CronJob[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_batch_CronJobSpec},
	{3, "status", PB_MSG, 0, &m_batch_CronJobStatus},
};
PB_DEFINE(batch, CronJob);
static const struct pb_field f_batch_CronJobSpec[] = {
	{1, "schedule", PB_STRING, 0, NULL},
	{8, "timeZone", PB_STRING, PB_PTR, NULL},
	{2, "startingDeadlineSeconds", PB_INT64, PB_PTR, NULL},
	{3, "concurrencyPolicy", PB_STRING, 0, NULL},
	{4, "suspend", PB_BOOL, PB_PTR, NULL},
	{5, "jobTemplate", PB_MSG, 0, &m_batch_JobTemplateSpec},
	{6, "successfulJobsHistoryLimit", PB_INT32, PB_PTR, NULL},
	{7, "failedJobsHistoryLimit", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(batch, CronJobSpec);
static const struct pb_field f_batch_JobTemplateSpec[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_batch_JobSpec},
};
PB_DEFINE(batch, JobTemplateSpec);
static const struct pb_field f_batch_CronJobStatus[] = {
	{1, "active", PB_MSG, PB_REPEATED, &m_core_ObjectReference},
	{4, "lastScheduleTime", PB_TIME, PB_PTR, NULL},
	{5, "lastSuccessfulTime", PB_TIME, PB_PTR, NULL},
};
PB_DEFINE(batch, CronJobStatus);
static const struct pb_field f_policy_Eviction[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "deleteOptions", PB_MSG, PB_PTR, &m_meta_DeleteOptions},
};
PB_DEFINE(policy, Eviction);
static const struct pb_field f_meta_DeleteOptions[] = {
	{1, "gracePeriodSeconds", PB_INT64, PB_PTR, NULL},
	{2, "preconditions", PB_MSG, PB_PTR, &m_meta_Preconditions},
	{3, "orphanDependents", PB_BOOL, PB_PTR, NULL},
	{4, "propagationPolicy", PB_STRING, PB_PTR, NULL},
	{5, "dryRun", PB_STRING, PB_REPEATED, NULL},
	{6, "ignoreStoreReadErrorWithClusterBreakingPotential", PB_BOOL, PB_PTR, NULL},
};
PB_DEFINE(meta, DeleteOptions);
static const struct pb_field f_meta_Preconditions[] = {
	{1, "uid", PB_STRING, PB_PTR, NULL},
	{2, "resourceVersion", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(meta, Preconditions);
static const struct pb_field f_policy_PodDisruptionBudget[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_policy_PodDisruptionBudgetSpec},
	{3, "status", PB_MSG, 0, &m_policy_PodDisruptionBudgetStatus},
};
PB_DEFINE(policy, PodDisruptionBudget);
static const struct pb_field f_policy_PodDisruptionBudgetSpec[] = {
	{1, "minAvailable", PB_INTORSTR, PB_PTR, NULL},
	{2, "selector", PB_MSG, PB_PTR, &m_meta_LabelSelector},
	{3, "maxUnavailable", PB_INTORSTR, PB_PTR, NULL},
	{4, "unhealthyPodEvictionPolicy", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(policy, PodDisruptionBudgetSpec);
static const struct pb_field f_policy_PodDisruptionBudgetStatus[] = {
	{1, "observedGeneration", PB_INT64, 0, NULL},
	{2, "disruptedPods", PB_TIME, PB_MAP, NULL},
	{3, "disruptionsAllowed", PB_INT32, 0, NULL},
	{4, "currentHealthy", PB_INT32, 0, NULL},
	{5, "desiredHealthy", PB_INT32, 0, NULL},
	{6, "expectedPods", PB_INT32, 0, NULL},
	{7, "conditions", PB_MSG, PB_REPEATED, &m_meta_Condition},
};
PB_DEFINE(policy, PodDisruptionBudgetStatus);
static const struct pb_field f_rbac_Role[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "rules", PB_MSG, PB_REPEATED, &m_rbac_PolicyRule},
};
PB_DEFINE(rbac, Role);
static const struct pb_field f_rbac_PolicyRule[] = {
	{1, "verbs", PB_STRING, PB_REPEATED, NULL},
	{2, "apiGroups", PB_STRING, PB_REPEATED, NULL},
	{3, "resources", PB_STRING, PB_REPEATED, NULL},
	{4, "resourceNames", PB_STRING, PB_REPEATED, NULL},
	{5, "nonResourceURLs", PB_STRING, PB_REPEATED, NULL},
};
PB_DEFINE(rbac, PolicyRule);
static const struct pb_field f_rbac_ClusterRole[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "rules", PB_MSG, PB_REPEATED, &m_rbac_PolicyRule},
	{3, "aggregationRule", PB_MSG, PB_PTR, &m_rbac_AggregationRule},
};
PB_DEFINE(rbac, ClusterRole);
static const struct pb_field f_rbac_AggregationRule[] = {
	{1, "clusterRoleSelectors", PB_MSG, PB_REPEATED, &m_meta_LabelSelector},
};
PB_DEFINE(rbac, AggregationRule);
static const struct pb_field f_rbac_RoleBinding[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "subjects", PB_MSG, PB_REPEATED, &m_rbac_Subject},
	{3, "roleRef", PB_MSG, 0, &m_rbac_RoleRef},
};
PB_DEFINE(rbac, RoleBinding);
static const struct pb_field f_rbac_Subject[] = {
	{1, "kind", PB_STRING, 0, NULL},
	{2, "apiGroup", PB_STRING, 0, NULL},
	{3, "name", PB_STRING, 0, NULL},
	{4, "namespace", PB_STRING, 0, NULL},
};
PB_DEFINE(rbac, Subject);
static const struct pb_field f_rbac_RoleRef[] = {
	{1, "apiGroup", PB_STRING, 0, NULL},
	{2, "kind", PB_STRING, 0, NULL},
	{3, "name", PB_STRING, 0, NULL},
};
PB_DEFINE(rbac, RoleRef);
static const struct pb_field f_rbac_ClusterRoleBinding[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "subjects", PB_MSG, PB_REPEATED, &m_rbac_Subject},
	{3, "roleRef", PB_MSG, 0, &m_rbac_RoleRef},
};
PB_DEFINE(rbac, ClusterRoleBinding);
static const struct pb_field f_scheduling_PriorityClass[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "value", PB_INT32, 0, NULL},
	{3, "globalDefault", PB_BOOL, 0, NULL},
	{4, "description", PB_STRING, 0, NULL},
	{5, "preemptionPolicy", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(scheduling, PriorityClass);
static const struct pb_field f_networking_Ingress[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_networking_IngressSpec},
	{3, "status", PB_MSG, 0, &m_networking_IngressStatus},
};
PB_DEFINE(networking, Ingress);
static const struct pb_field f_networking_IngressSpec[] = {
	{4, "ingressClassName", PB_STRING, PB_PTR, NULL},
	{1, "defaultBackend", PB_MSG, PB_PTR, &m_networking_IngressBackend},
	{2, "tls", PB_MSG, PB_REPEATED, &m_networking_IngressTLS},
	{3, "rules", PB_MSG, PB_REPEATED, &m_networking_IngressRule},
};
PB_DEFINE(networking, IngressSpec);
static const struct pb_field f_networking_IngressBackend[] = {
	{4, "service", PB_MSG, PB_PTR, &m_networking_IngressServiceBackend},
	{3, "resource", PB_MSG, PB_PTR, &m_core_TypedLocalObjectReference},
};
PB_DEFINE(networking, IngressBackend);
static const struct pb_field f_networking_IngressServiceBackend[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "port", PB_MSG, 0, &m_networking_ServiceBackendPort},
};
PB_DEFINE(networking, IngressServiceBackend);
static const struct pb_field f_networking_ServiceBackendPort[] = {
	{1, "name", PB_STRING, 0, NULL},
	{2, "number", PB_INT32, 0, NULL},
};
PB_DEFINE(networking, ServiceBackendPort);
static const struct pb_field f_networking_IngressTLS[] = {
	{1, "hosts", PB_STRING, PB_REPEATED, NULL},
	{2, "secretName", PB_STRING, 0, NULL},
};
PB_DEFINE(networking, IngressTLS);
static const struct pb_field f_networking_IngressRule[] = {
	{1, "host", PB_STRING, 0, NULL},
	{2, "ingressRuleValue", PB_MSG, PB_INLINE, &m_networking_IngressRuleValue},
};
PB_DEFINE(networking, IngressRule);
static const struct pb_field f_networking_IngressRuleValue[] = {
	{1, "http", PB_MSG, PB_PTR, &m_networking_HTTPIngressRuleValue},
};
PB_DEFINE(networking, IngressRuleValue);
static const struct pb_field f_networking_HTTPIngressRuleValue[] = {
	{1, "paths", PB_MSG, PB_REPEATED, &m_networking_HTTPIngressPath},
};
PB_DEFINE(networking, HTTPIngressRuleValue);
static const struct pb_field f_networking_HTTPIngressPath[] = {
	{1, "path", PB_STRING, 0, NULL},
	{3, "pathType", PB_STRING, PB_PTR, NULL},
	{2, "backend", PB_MSG, 0, &m_networking_IngressBackend},
};
PB_DEFINE(networking, HTTPIngressPath);
static const struct pb_field f_networking_IngressStatus[] = {
	{1, "loadBalancer", PB_MSG, 0, &m_networking_IngressLoadBalancerStatus},
};
PB_DEFINE(networking, IngressStatus);
static const struct pb_field f_networking_IngressLoadBalancerStatus[] = {
	{1, "ingress", PB_MSG, PB_REPEATED, &m_networking_IngressLoadBalancerIngress},
};
PB_DEFINE(networking, IngressLoadBalancerStatus);
static const struct pb_field f_networking_IngressLoadBalancerIngress[] = {
	{1, "ip", PB_STRING, 0, NULL},
	{2, "hostname", PB_STRING, 0, NULL},
	{4, "ports", PB_MSG, PB_REPEATED, &m_networking_IngressPortStatus},
};
PB_DEFINE(networking, IngressLoadBalancerIngress);
static const struct pb_field f_networking_IngressPortStatus[] = {
	{1, "port", PB_INT32, 0, NULL},
	{2, "protocol", PB_STRING, 0, NULL},
	{3, "error", PB_STRING, PB_PTR, NULL},
};
PB_DEFINE(networking, IngressPortStatus);
static const struct pb_field f_autoscaling_HorizontalPodAutoscaler[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_autoscaling_HorizontalPodAutoscalerSpec},
	{3, "status", PB_MSG, 0, &m_autoscaling_HorizontalPodAutoscalerStatus},
};
PB_DEFINE(autoscaling, HorizontalPodAutoscaler);
static const struct pb_field f_autoscaling_HorizontalPodAutoscalerSpec[] = {
	{1, "scaleTargetRef", PB_MSG, 0, &m_autoscaling_CrossVersionObjectReference},
	{2, "minReplicas", PB_INT32, PB_PTR, NULL},
	{3, "maxReplicas", PB_INT32, 0, NULL},
	{4, "targetCPUUtilizationPercentage", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(autoscaling, HorizontalPodAutoscalerSpec);
static const struct pb_field f_autoscaling_CrossVersionObjectReference[] = {
	{1, "kind", PB_STRING, 0, NULL},
	{2, "name", PB_STRING, 0, NULL},
	{3, "apiVersion", PB_STRING, 0, NULL},
};
PB_DEFINE(autoscaling, CrossVersionObjectReference);
static const struct pb_field f_autoscaling_HorizontalPodAutoscalerStatus[] = {
	{1, "observedGeneration", PB_INT64, PB_PTR, NULL},
	{2, "lastScaleTime", PB_TIME, PB_PTR, NULL},
	{3, "currentReplicas", PB_INT32, 0, NULL},
	{4, "desiredReplicas", PB_INT32, 0, NULL},
	{5, "currentCPUUtilizationPercentage", PB_INT32, PB_PTR, NULL},
};
PB_DEFINE(autoscaling, HorizontalPodAutoscalerStatus);
static const struct pb_field f_autoscaling_Scale[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_autoscaling_ScaleSpec},
	{3, "status", PB_MSG, 0, &m_autoscaling_ScaleStatus},
};
PB_DEFINE(autoscaling, Scale);
static const struct pb_field f_autoscaling_ScaleSpec[] = {
	{1, "replicas", PB_INT32, 0, NULL},
};
PB_DEFINE(autoscaling, ScaleSpec);
static const struct pb_field f_autoscaling_ScaleStatus[] = {
	{1, "replicas", PB_INT32, 0, NULL},
	{2, "selector", PB_STRING, 0, NULL},
};
PB_DEFINE(autoscaling, ScaleStatus);
static const struct pb_field f_authentication_TokenRequest[] = {
	{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},
	{2, "spec", PB_MSG, 0, &m_authentication_TokenRequestSpec},
	{3, "status", PB_MSG, 0, &m_authentication_TokenRequestStatus},
};
PB_DEFINE(authentication, TokenRequest);
static const struct pb_field f_authentication_TokenRequestSpec[] = {
	{1, "audiences", PB_STRING, PB_REPEATED, NULL},
	{4, "expirationSeconds", PB_INT64, PB_PTR, NULL},
	{3, "boundObjectRef", PB_MSG, PB_PTR, &m_authentication_BoundObjectReference},
};
PB_DEFINE(authentication, TokenRequestSpec);
static const struct pb_field f_authentication_BoundObjectReference[] = {
	{1, "kind", PB_STRING, 0, NULL},
	{2, "apiVersion", PB_STRING, 0, NULL},
	{3, "name", PB_STRING, 0, NULL},
	{4, "uid", PB_STRING, 0, NULL},
};
PB_DEFINE(authentication, BoundObjectReference);
static const struct pb_field f_authentication_TokenRequestStatus[] = {
	{1, "token", PB_STRING, 0, NULL},
	{2, "expirationTimestamp", PB_TIME, 0, NULL},
};
PB_DEFINE(authentication, TokenRequestStatus);

/* The kinds a body may carry, by apiVersion and kind. */
static const struct pb_kind kinds[] = {
	{"v1", "Pod", &m_core_Pod},
	{"v1", "Service", &m_core_Service},
	{"v1", "Namespace", &m_core_Namespace},
	{"v1", "ConfigMap", &m_core_ConfigMap},
	{"v1", "Secret", &m_core_Secret},
	{"v1", "ServiceAccount", &m_core_ServiceAccount},
	{"v1", "ResourceQuota", &m_core_ResourceQuota},
	{"v1", "PersistentVolumeClaim", &m_core_PersistentVolumeClaim},
	{"v1", "Endpoints", &m_core_Endpoints},
	{"v1", "LimitRange", &m_core_LimitRange},
	{"apps/v1", "Deployment", &m_apps_Deployment},
	{"apps/v1", "ReplicaSet", &m_apps_ReplicaSet},
	{"apps/v1", "StatefulSet", &m_apps_StatefulSet},
	{"apps/v1", "DaemonSet", &m_apps_DaemonSet},
	{"batch/v1", "Job", &m_batch_Job},
	{"batch/v1", "CronJob", &m_batch_CronJob},
	{"policy/v1", "Eviction", &m_policy_Eviction},
	{"policy/v1", "PodDisruptionBudget", &m_policy_PodDisruptionBudget},
	{"rbac.authorization.k8s.io/v1", "Role", &m_rbac_Role},
	{"rbac.authorization.k8s.io/v1", "ClusterRole", &m_rbac_ClusterRole},
	{"rbac.authorization.k8s.io/v1", "RoleBinding", &m_rbac_RoleBinding},
	{"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &m_rbac_ClusterRoleBinding},
	{"scheduling.k8s.io/v1", "PriorityClass", &m_scheduling_PriorityClass},
	{"networking.k8s.io/v1", "Ingress", &m_networking_Ingress},
	{"autoscaling/v1", "HorizontalPodAutoscaler", &m_autoscaling_HorizontalPodAutoscaler},
	{"autoscaling/v1", "Scale", &m_autoscaling_Scale},
	{"authentication.k8s.io/v1", "TokenRequest", &m_authentication_TokenRequest},
	{"meta.k8s.io/v1", "DeleteOptions", &m_meta_DeleteOptions},
	{"v1", "DeleteOptions", &m_meta_DeleteOptions},
	{"apps/v1", "DeleteOptions", &m_meta_DeleteOptions},
	{"batch/v1", "DeleteOptions", &m_meta_DeleteOptions},
	{"policy/v1", "DeleteOptions", &m_meta_DeleteOptions},
	{"rbac.authorization.k8s.io/v1", "DeleteOptions", &m_meta_DeleteOptions},
	{"scheduling.k8s.io/v1", "DeleteOptions", &m_meta_DeleteOptions},
	{"networking.k8s.io/v1", "DeleteOptions", &m_meta_DeleteOptions},
	{"autoscaling/v1", "DeleteOptions", &m_meta_DeleteOptions},
	{"authentication.k8s.io/v1", "DeleteOptions", &m_meta_DeleteOptions},
};
/* clang-format on */

static const struct pb_kind *kind_lookup(const char *api_version, const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].api_version, api_version) == 0 &&
		    strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return NULL;
}
