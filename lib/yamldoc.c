/* YAML <-> JSON with libyaml's event API. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "yamldoc.h"

/* Deepest nesting accepted; keeps recursion bounded on hostile input. */
#define YAMLDOC_MAX_DEPTH 256
/* Alias expansion ("billion laughs") is bounded twice. As Kubernetes' YAML
 * library (yaml.v2's decoder) does, by the share of a document's values
 * that come from aliases: once more than 100 of its more than 1000 values
 * do, that share may not pass 99% up to 400,000 values, falling to 10% at
 * 4,000,000. And, since a copy here costs what the copied value holds
 * (Go shares its strings), by the bytes aliases create in one stream. */
#define ALIAS_MIN_ALIASES 100
#define ALIAS_MIN_VALUES 1000
#define ALIAS_RATIO_LOW 400000
#define ALIAS_RATIO_HIGH 4000000
#define ALIAS_MAX_BYTES (8u * 1024 * 1024)
/* What one copied value is counted as, besides its string bytes. */
#define ALIAS_NODE_BYTES 64

#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---- scalar resolution ---- */

static bool str_in(const char *s, size_t len, const char *const *set)
{
	for (; *set; set++)
		if (strlen(*set) == len && memcmp(*set, s, len) == 0)
			return true;
	return false;
}

static const char *const null_words[] = {"~", "null", "Null", "NULL", NULL};
static const char *const true_words[] = {"y",	 "Y",	 "yes", "Yes", "YES", "true",
					 "True", "TRUE", "on",	"On",  "ON",  NULL};
static const char *const false_words[] = {"n",	   "N",	    "no",  "No",  "NO",	 "false",
					  "False", "FALSE", "off", "Off", "OFF", NULL};
static const char *const special_floats[] = {".nan",  ".NaN",  ".NAN",	".inf",	 ".Inf",
					     ".INF",  "+.inf", "+.Inf", "+.INF", "-.inf",
					     "-.Inf", "-.INF", NULL};

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Integer in Go's base-0 syntax (sign, 0x / 0o / 0b / leading-0 octal);
 * false if malformed or out of int64 range. */
static bool parse_int(const char *s, long long *out)
{
	bool neg = false;
	unsigned base = 10;
	unsigned long long v = 0;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		base = 8;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
		s++;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d = (unsigned)digit_value(*s);
		if (d >= base)
			return false;
		if (v > (ULLONG_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (neg ? v > (unsigned long long)LLONG_MAX + 1 : v > (unsigned long long)LLONG_MAX)
		return false;
	*out = neg ? (long long)(0 - v) : (long long)v;
	return true;
}

/* YAML 1.1 float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float_syntax(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	size_t ip = strspn(s, "0123456789");
	s += ip;
	if (*s == '.') {
		s++;
		size_t fp = strspn(s, "0123456789");
		if (ip == 0 && fp == 0)
			return false;
		s += fp;
	} else if (ip == 0) {
		return false;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		size_t ep = strspn(s, "0123456789");
		if (ep == 0)
			return false;
		s += ep;
	}
	return *s == '\0';
}

/* Number as JSON: integral values become integers, as Go's encoder prints them. */
static json_t *number_json(double d)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		return json_integer((json_int_t)d);
	return json_real(d);
}

/* Typed value of a plain scalar; NULL if it is a string. */
static json_t *resolve_plain(const char *s, size_t len)
{
	if (len == 0 || str_in(s, len, null_words))
		return json_null();
	if (str_in(s, len, true_words))
		return json_true();
	if (str_in(s, len, false_words))
		return json_false();
	if (memchr(s, '\0', len) || !strchr("0123456789+-.", s[0]) || len > 128)
		return NULL;

	char tmp[130];
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '_')
			tmp[n++] = s[i];
	tmp[n] = '\0';
	long long iv;
	if (parse_int(tmp, &iv))
		return json_integer(iv);
	if (is_float_syntax(tmp)) {
		double d = strtod(tmp, NULL);
		if (isfinite(d))
			return number_json(d);
	}
	return NULL;
}

/* Whether a string must be quoted to read back as the same string. */
static bool string_needs_quotes(const char *s, size_t len)
{
	json_t *r = resolve_plain(s, len);
	if (r) {
		json_decref(r);
		return true;
	}
	if (str_in(s, len, special_floats) || (len == 2 && !memcmp(s, "<<", 2)))
		return true;
	/* timestamps (2024-01-02, 2024-01-02T03:04:05Z) and base-60 numbers (1:30)
	 * read back as other types in some YAML 1.1 libraries */
	if (len >= 8 && strspn(s, "0123456789") == 4 && s[4] == '-')
		return true;
	size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
	return i < len && s[i] >= '0' && s[i] <= '9' && memchr(s, ':', len) &&
	       strspn(s + i, "0123456789_:.") == len - i;
}

/* ---- parsing ---- */

struct yparser {
	yaml_parser_t p;
	json_t *anchors; /* name -> value */
	long values;	 /* values of the current document, aliased ones included */
	long aliased;	 /* values of the current document made by aliases */
	size_t alias_bytes; /* bytes made by aliases in the whole stream */
	struct mk_err **err;
};

static const char excessive_aliasing[] = "yaml: document contains excessive aliasing";

/* The share of a document's values aliases may make, as yaml.v2 allows it. */
static double allowed_alias_ratio(long values)
{
	if (values <= ALIAS_RATIO_LOW)
		return 0.99;
	if (values >= ALIAS_RATIO_HIGH)
		return 0.10;
	return 0.99 - 0.89 * ((double)(values - ALIAS_RATIO_LOW) /
			      (double)(ALIAS_RATIO_HIGH - ALIAS_RATIO_LOW));
}

/* Counts one value (a mapping key included) of len string bytes, made by an
 * alias or not. -1 with the error set once aliases went too far. */
static int count_value(struct yparser *y, bool by_alias, size_t len)
{
	y->values++;
	if (by_alias) {
		y->aliased++;
		y->alias_bytes += ALIAS_NODE_BYTES + len;
	}
	if (y->alias_bytes > ALIAS_MAX_BYTES ||
	    (y->aliased > ALIAS_MIN_ALIASES && y->values > ALIAS_MIN_VALUES &&
	     (double)y->aliased / (double)y->values > allowed_alias_ratio(y->values)))
		return mk_err_set(y->err, MK_EINVAL, "%s", excessive_aliasing);
	return 0;
}

static int yp_fail_at(struct yparser *y, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int yp_fail_at(struct yparser *y, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	return mk_err_set(y->err, MK_EINVAL, "yaml: line %zu, column %zu: %s", m->line + 1,
			  m->column + 1, msg);
}

static int yp_parser_error(struct yparser *y)
{
	const yaml_parser_t *p = &y->p;
	const char *problem = p->problem ? p->problem : "malformed YAML";

	if (p->error == YAML_READER_ERROR)
		return mk_err_set(y->err, MK_EINVAL, "yaml: byte %zu: %s", p->problem_offset,
				  problem);
	if (p->error == YAML_MEMORY_ERROR)
		abort();
	if (p->context)
		return mk_err_set(y->err, MK_EINVAL,
				  "yaml: line %zu, column %zu: %s at line %zu: %s",
				  p->problem_mark.line + 1, p->problem_mark.column + 1, p->context,
				  p->context_mark.line + 1, problem);
	return yp_fail_at(y, &p->problem_mark, "%s", problem);
}

static int yp_next(struct yparser *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev))
		return yp_parser_error(y);
	return 0;
}

/* Copy of an anchored value for an alias, each value counted; NULL with the
 * error set when aliases went too far. */
static json_t *alias_copy(struct yparser *y, const json_t *v)
{
	if (json_is_object(v)) {
		if (count_value(y, true, 0) < 0)
			return NULL;
		json_t *o = json_object();
		const char *k;
		size_t klen;
		json_t *x;
		json_object_keylen_foreach((json_t *)v, k, klen, x)
		{
			json_t *c = count_value(y, true, klen) < 0 ? NULL : alias_copy(y, x);
			if (!c) {
				json_decref(o);
				return NULL;
			}
			json_object_setn_new(o, k, klen, c);
		}
		return o;
	}
	if (json_is_array(v)) {
		if (count_value(y, true, 0) < 0)
			return NULL;
		json_t *a = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			json_t *c = alias_copy(y, x);
			if (!c) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, c);
		}
		return a;
	}
	if (count_value(y, true, json_is_string(v) ? json_string_length(v) : 0) < 0)
		return NULL;
	return json_copy_deep(v);
}

static json_t *scalar_json(struct yparser *y, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

	if (tag && !strcmp(tag, "!"))
		plain = false; /* the non-specific tag forces a string */
	if (tag && !strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX))) {
		const char *t = tag + strlen(TAG_PREFIX);
		if (!strcmp(t, "str") || !strcmp(t, "binary") || !strcmp(t, "timestamp")) {
			plain = false;
		} else if (!strcmp(t, "int") || !strcmp(t, "float") || !strcmp(t, "bool") ||
			   !strcmp(t, "null")) {
			json_t *r = resolve_plain(s, len);
			bool ok = r && ((!strcmp(t, "null") && json_is_null(r)) ||
					(!strcmp(t, "bool") && json_is_boolean(r)) ||
					(!strcmp(t, "int") && json_is_integer(r)) ||
					(!strcmp(t, "float") && json_is_number(r)));
			if (!ok) {
				json_decref(r);
				yp_fail_at(y, &ev->start_mark, "cannot decode %.*s as !!%s",
					   (int)(len > 64 ? 64 : len), s, t);
				return NULL;
			}
			return r;
		}
	}
	if (plain) {
		json_t *r = resolve_plain(s, len);
		if (r)
			return r;
	}
	json_t *str = json_stringn(s, len);
	if (!str)
		yp_fail_at(y, &ev->start_mark, "string is not valid UTF-8");
	return str;
}

static void anchor_set(struct yparser *y, const yaml_char_t *anchor, json_t *v)
{
	if (anchor)
		json_object_set(y->anchors, (const char *)anchor, v);
}

static json_t *parse_node(struct yparser *y, yaml_event_t *ev, unsigned depth);

/* Copies the keys of src (an object) missing from dst: a "<<" merge. */
static void merge_keys_from(json_t *dst, const json_t *src)
{
	const char *k;
	size_t klen;
	json_t *x;
	json_object_keylen_foreach((json_t *)src, k, klen, x)
	{
		if (!json_object_getn(dst, k, klen))
			json_object_setn_new(dst, k, klen, json_copy_deep(x));
	}
}

/* Text of a mapping key. Kubernetes' YAML reader types plain keys like
 * values and then prints them back: "y" and "on" become "true", "0x1F"
 * becomes "31", "1.0" becomes "1"; a null key is refused. New string (may
 * hold NUL bytes: *len is its length), or NULL on error. */
static char *key_text(struct yparser *y, const yaml_event_t *kev, size_t *len)
{
	const char *s = (const char *)kev->data.scalar.value;
	size_t n = kev->data.scalar.length;
	cleanup_json json_t *typed = NULL;

	if (kev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !kev->data.scalar.tag &&
	    !(n == 2 && !memcmp(s, "<<", 2)))
		typed = resolve_plain(s, n);
	if (json_is_null(typed)) {
		yp_fail_at(y, &kev->start_mark, "unsupported map key: %.*s is null",
			   (int)(n > 64 ? 64 : n), s);
		return NULL;
	}
	char *text;
	if (json_is_boolean(typed)) {
		text = xstrdup(json_is_true(typed) ? "true" : "false");
	} else if (json_is_integer(typed)) {
		text = xasprintf("%lld", (long long)json_integer_value(typed));
	} else if (json_is_real(typed)) {
		/* shortest text of the value as a 32-bit float, as Go's
		 * FormatFloat(v, 'g', -1, 32) */
		float f = (float)json_real_value(typed);
		char tmp[64];
		for (int prec = 1; prec <= 9; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
			if ((float)strtod(tmp, NULL) == f)
				break;
		}
		text = xstrdup(tmp);
	} else {
		text = xmalloc(n + 1);
		memcpy(text, s, n);
		text[n] = '\0';
		*len = n;
		return text;
	}
	*len = strlen(text);
	return text;
}

static json_t *parse_mapping(struct yparser *y, yaml_event_t *start, unsigned depth)
{
	cleanup_json json_t *obj = json_object();
	cleanup_json json_t *merges = json_array(); /* "<<" values, applied at the end */
	cleanup_json json_t *key_line = json_object();

	for (;;) {
		yaml_event_t kev, vev;
		if (yp_next(y, &kev) < 0)
			return NULL;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		if (kev.type != YAML_SCALAR_EVENT) {
			yp_fail_at(y, &kev.start_mark, "mapping keys must be strings");
			yaml_event_delete(&kev);
			return NULL;
		}
		size_t klen;
		cleanup_free char *key = key_text(y, &kev, &klen);
		if (!key || count_value(y, false, 0) < 0) {
			yaml_event_delete(&kev);
			return NULL;
		}
		bool is_merge = kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && klen == 2 &&
				!memcmp(key, "<<", 2);
		yaml_mark_t kmark = kev.start_mark;
		yaml_event_delete(&kev);

		if (yp_next(y, &vev) < 0)
			return NULL;
		json_t *val = parse_node(y, &vev, depth + 1);
		if (!val)
			return NULL;
		if (is_merge) {
			if (!json_is_object(val) && !json_is_array(val)) {
				json_decref(val);
				yp_fail_at(y, &kmark, "map merge requires a map or a list of maps");
				return NULL;
			}
			json_array_append_new(merges, val);
			continue;
		}
		json_t *seen = json_object_getn(key_line, key, klen);
		if (seen) {
			json_decref(val);
			yp_fail_at(y, &kmark, "mapping key \"%s\" already defined at line %lld",
				   key, (long long)json_integer_value(seen));
			return NULL;
		}
		json_object_setn_new(key_line, key, klen, json_integer((json_int_t)kmark.line + 1));
		if (json_object_setn_new(obj, key, klen, val)) {
			yp_fail_at(y, &kmark, "invalid mapping key");
			return NULL;
		}
	}
	/* later keys of the mapping win over merged ones; earlier merges win
	 * over later ones */
	size_t i;
	json_t *m;
	json_array_foreach(merges, i, m)
	{
		if (json_is_object(m)) {
			merge_keys_from(obj, m);
			continue;
		}
		size_t j;
		json_t *x;
		json_array_foreach(m, j, x)
		{
			if (!json_is_object(x)) {
				yp_fail_at(y, &start->start_mark,
					   "map merge requires a map or a list of maps");
				return NULL;
			}
			merge_keys_from(obj, x);
		}
	}
	return steal_pointer(&obj);
}

static json_t *parse_sequence(struct yparser *y, unsigned depth)
{
	cleanup_json json_t *arr = json_array();
	for (;;) {
		yaml_event_t ev;
		if (yp_next(y, &ev) < 0)
			return NULL;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return steal_pointer(&arr);
		}
		json_t *v = parse_node(y, &ev, depth + 1);
		if (!v)
			return NULL;
		json_array_append_new(arr, v);
	}
}

/* Parses the node starting with ev (consumed and freed here). */
static json_t *parse_node(struct yparser *y, yaml_event_t *ev, unsigned depth)
{
	json_t *v = NULL;

	if (depth > YAMLDOC_MAX_DEPTH) {
		yp_fail_at(y, &ev->start_mark, "nesting deeper than %d levels", YAMLDOC_MAX_DEPTH);
		yaml_event_delete(ev);
		return NULL;
	}
	/* an alias counts as a value of its own too, as in yaml.v2 */
	if (count_value(y, false, 0) < 0) {
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		v = scalar_json(y, ev);
		if (v)
			anchor_set(y, ev->data.scalar.anchor, v);
		break;
	case YAML_SEQUENCE_START_EVENT:
		v = parse_sequence(y, depth);
		if (v)
			anchor_set(y, ev->data.sequence_start.anchor, v);
		break;
	case YAML_MAPPING_START_EVENT:
		v = parse_mapping(y, ev, depth);
		if (v)
			anchor_set(y, ev->data.mapping_start.anchor, v);
		break;
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		json_t *target = json_object_get(y->anchors, name);
		if (!target)
			yp_fail_at(y, &ev->start_mark, "unknown anchor \"%s\" referenced", name);
		else
			v = alias_copy(y, target);
		break;
	}
	default:
		yp_fail_at(y, &ev->start_mark, "unexpected YAML event %d", ev->type);
	}
	yaml_event_delete(ev);
	return v;
}

/* Parses documents until the stream ends or max documents are read. */
static json_t *parse_stream(const char *text, size_t len, size_t max, struct mk_err **err)
{
	struct yparser y = {.err = err};
	cleanup_json json_t *docs = json_array();
	json_t *ret = NULL;

	if (!yaml_parser_initialize(&y.p))
		abort();
	yaml_parser_set_input_string(&y.p, (const unsigned char *)(text ? text : ""),
				     text ? len : 0);
	yaml_parser_set_encoding(&y.p, YAML_UTF8_ENCODING);
	y.anchors = json_object();

	for (;;) {
		yaml_event_t ev;
		if (yp_next(&y, &ev) < 0)
			goto out;
		yaml_event_type_t t = ev.type;
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
		if (t != YAML_DOCUMENT_START_EVENT)
			continue; /* stream start */
		if (yp_next(&y, &ev) < 0)
			goto out;
		json_t *doc = parse_node(&y, &ev, 0);
		if (!doc)
			goto out;
		if (yp_next(&y, &ev) < 0) { /* document end */
			json_decref(doc);
			goto out;
		}
		yaml_event_delete(&ev);
		json_object_clear(y.anchors); /* anchors do not cross documents */
		y.values = y.aliased = 0;
		if (json_is_null(doc)) {
			json_decref(doc);
			continue;
		}
		json_array_append_new(docs, doc);
		if (json_array_size(docs) >= max)
			break;
	}
	ret = steal_pointer(&docs);
out:
	json_decref(y.anchors);
	yaml_parser_delete(&y.p);
	return ret;
}

json_t *yamldoc_parse(const char *text, size_t len, struct mk_err **err)
{
	cleanup_json json_t *docs = parse_stream(text, len, 1, err);
	if (!docs)
		return NULL;
	json_t *first = json_array_get(docs, 0);
	return first ? json_incref(first) : json_null();
}

json_t *yamldoc_parse_all(const char *text, size_t len, struct mk_err **err)
{
	return parse_stream(text, len, SIZE_MAX, err);
}

/* ---- emitting ---- */

static int emit_write(void *data, unsigned char *buffer, size_t size)
{
	buf_append(data, buffer, size);
	return 1;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, size_t len, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style))
		return -1;
	return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

static int emit_string(yaml_emitter_t *e, const char *s, size_t len)
{
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	if (memchr(s, '\n', len))
		style = YAML_LITERAL_SCALAR_STYLE;
	else if (string_needs_quotes(s, len))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return emit_scalar(e, s, len, style);
}

static int emit_real(yaml_emitter_t *e, double d)
{
	char tmp[64];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	return emit_scalar(e, tmp, strlen(tmp), YAML_PLAIN_SCALAR_STYLE);
}

static int emit_value(yaml_emitter_t *e, const json_t *v)
{
	yaml_event_t ev;
	char tmp[32];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		size_t klen;
		json_t *x;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 json_object_size(v)
								 ? YAML_BLOCK_MAPPING_STYLE
								 : YAML_FLOW_MAPPING_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return -1;
		json_object_keylen_foreach((json_t *)v, k, klen, x)
		{
			if (emit_string(e, k, klen) < 0 || emit_value(e, x) < 0)
				return -1;
		}
		if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
			return -1;
		return 0;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  json_array_size(v)
								  ? YAML_BLOCK_SEQUENCE_STYLE
								  : YAML_FLOW_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return -1;
		json_array_foreach(v, i, x)
		{
			if (emit_value(e, x) < 0)
				return -1;
		}
		if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
			return -1;
		return 0;
	}
	case JSON_STRING:
		return emit_string(e, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
		return emit_scalar(e, tmp, strlen(tmp), YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		return emit_real(e, json_real_value(v));
	case JSON_TRUE:
		return emit_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	default:
		return emit_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	}
}

static char *emit_docs(const json_t *const *docs, size_t n)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	struct buf out = BUF_INIT;
	bool ok = false;

	if (!yaml_emitter_initialize(&e))
		abort();
	yaml_emitter_set_output(&e, emit_write, &out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_emitter_set_indent(&e, 2);

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&e, &ev))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, i == 0) ||
		    !yaml_emitter_emit(&e, &ev) || emit_value(&e, docs[i]) < 0 ||
		    !yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev))
			goto out;
	}
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev) ||
	    !yaml_emitter_flush(&e))
		goto out;
	ok = true;
out:
	yaml_emitter_delete(&e);
	if (!ok) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

char *yamldoc_emit(const json_t *v)
{
	if (!v)
		return NULL;
	return emit_docs(&v, 1);
}

char *yamldoc_emit_all(const json_t *docs)
{
	if (!json_is_array(docs))
		return NULL;
	size_t n = json_array_size(docs);
	cleanup_free const json_t **list = xcalloc(n ? n : 1, sizeof(*list));
	for (size_t i = 0; i < n; i++)
		list[i] = json_array_get(docs, i);
	return emit_docs(list, n);
}
