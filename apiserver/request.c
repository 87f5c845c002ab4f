#include "apiserver/request.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"
#include "apiserver/status.h"

const char *req_query(const struct api_request *rq, const char *key)
{
	return httpd_req_query(rq->hr, key);
}

const char *req_header(const struct api_request *rq, const char *name)
{
	return httpd_req_header(rq->hr, name);
}

struct first_value {
	const char *key;
	bool found;
	const char *value; /* "" for a key without '=' */
};

static void find_first(const char *key, const char *value, void *arg)
{
	struct first_value *fv = arg;
	if (!fv->found && !strcmp(key, fv->key)) {
		fv->found = true;
		fv->value = value ? value : "";
	}
}

/* The first value of key ("" for "?key"), or NULL when absent. */
static const char *query_first(const struct api_request *rq, const char *key)
{
	struct first_value fv = {.key = key};
	httpd_req_query_each(rq->hr, find_first, &fv);
	return fv.found ? fv.value : NULL;
}

bool req_query_bool(const struct api_request *rq, const char *key)
{
	const char *v = query_first(rq, key);
	return v && strcmp(v, "0") && strcasecmp(v, "false");
}

/* Go's strconv syntax error texts, which upstream answers as they are. */
static json_t *strconv_error(const char *fn, const char *v, bool range)
{
	cleanup_free char *msg = xasprintf("strconv.%s: parsing \"%s\": %s", fn, v,
					   range ? "value out of range" : "invalid syntax");
	return status_bad_request(msg);
}

int req_parse_int64(const char *v, int64_t *out, json_t **status)
{
	const char *p = v;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p || strspn(p, "0123456789") != strlen(p)) {
		*status = strconv_error("ParseInt", v, false);
		return -1;
	}
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t n = 0;
	for (; *p; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (limit - d) / 10) {
			*status = strconv_error("ParseInt", v, true);
			return -1;
		}
		n = n * 10 + d;
	}
	*out = neg ? (int64_t)(0 - n) : (int64_t)n;
	return 0;
}

int req_query_int64(const struct api_request *rq, const char *key, bool *present, int64_t *out,
		    json_t **status)
{
	const char *v = query_first(rq, key);
	*present = v != NULL;
	*out = 0;
	if (!v)
		return 0;
	return req_parse_int64(v, out, status);
}

int req_query_rv(const struct api_request *rq, int64_t *out, json_t **status)
{
	const char *v = query_first(rq, "resourceVersion");
	*out = 0;
	if (!v || !v[0])
		return 0;
	/* As upstream's versioner: strconv.ParseUint(v, 10, 64). */
	const char *why = NULL;
	uint64_t n = 0;
	if (strspn(v, "0123456789") != strlen(v)) {
		why = "invalid syntax";
	} else {
		for (const char *p = v; *p; p++) {
			unsigned d = (unsigned)(*p - '0');
			if (n > (UINT64_MAX - d) / 10) {
				why = "value out of range";
				break;
			}
			n = n * 10 + d;
		}
	}
	/* revisions of this store are int64 */
	if (!why && n > (uint64_t)INT64_MAX)
		why = "value out of range";
	if (why) {
		cleanup_free char *msg = xasprintf(
			"invalid resource version: resourceVersion: Invalid value: \"%s\": "
			"strconv.ParseUint: parsing \"%s\": %s",
			v, v, why);
		*status = status_bad_request(msg);
		return -1;
	}
	*out = (int64_t)n;
	return 0;
}

const char *req_body(const struct api_request *rq, size_t *len)
{
	return httpd_req_body(rq->hr, len);
}

bool req_wants_table(const struct api_request *rq)
{
	const char *accept = req_header(rq, "Accept");
	return accept && strstr(accept, "as=Table");
}

void req_add_warning(struct api_request *rq, const char *text)
{
	if (!rq->warnings)
		rq->warnings = json_array();
	json_array_append_new(rq->warnings, json_string(text));
}

/* A Warning header's value: RFC 7234's quoted text, as upstream writes it. */
static void warning_header(struct api_request *rq, const char *text)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, "299 - \"");
	for (const char *p = text; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_append_char(&b, '\\');
		buf_append_char(&b, *p);
	}
	buf_append_char(&b, '"');
	httpd_reply_header(rq->hr, "Warning", buf_str(&b));
	buf_free(&b);
}

void req_reply_json(struct api_request *rq, int code, json_t *body, const char *warning)
{
	size_t i;
	json_t *w;
	json_array_foreach(rq->warnings, i, w) warning_header(rq, json_string_value(w));
	if (warning)
		warning_header(rq, warning);
	httpd_reply_json(rq->hr, code, body);
}

void req_reply_status(struct api_request *rq, json_t *status)
{
	req_reply_json(rq, status_code(status), status, NULL);
}

void req_reply_raw(struct api_request *rq, int code, const char *content_type, char *data,
		   size_t len)
{
	httpd_reply_raw(rq->hr, code, content_type, data, len);
}

void req_reply_text(struct api_request *rq, int code, const char *content_type, const char *text)
{
	httpd_reply_text(rq->hr, code, content_type, text);
}
