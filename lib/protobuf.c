/* Table-driven protobuf decoder for Kubernetes objects.
 *
 * The wire format is plain protobuf (proto2, as generated for k8s.io/api):
 * each field is a varint key (number << 3 | wire type) followed by a varint
 * (type 0), 8 bytes (1), a length-prefixed payload (2) or 4 bytes (5).
 * Which field number means what comes from static tables generated from
 * tools/protobuf-fields.txt (protobuf-tables.inc): one row per field with its
 * JSON name, type and flags, in the field order of the JSON form. Every
 * length is checked against the bytes left, so any input is safe. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
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

/* Defines m_<pkg>_<Name> from its field table f_<pkg>_<Name>. */
#define PB_NFIELDS(f) (sizeof(f) / sizeof((f)[0]))
#define PB_DEFINE(pkg, name)                                                                       \
	static const struct pb_msg m_##pkg##_##name = {#name, f_##pkg##_##name,                    \
						       PB_NFIELDS(f_##pkg##_##name)}

/* The field tables f_<pkg>_<Name>, their messages m_<pkg>_<Name> and kinds[],
 * written by tools/gen-protobuf from tools/protobuf-fields.txt. */
#include "protobuf-tables.inc"

static const struct pb_kind *kind_lookup(const char *api_version, const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].api_version, api_version) == 0 &&
		    strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return NULL;
}

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
	cleanup_free char *out = base64_encode(p, n);
	return json_string(out);
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
