/* One API request while a handler works on it: the HTTP request (lib/httpd)
 * with what the API server keeps beside it (its metrics labels), and the
 * answer helpers every handler uses (JSON, Status, text). */
#ifndef MK_APISERVER_REQUEST_H
#define MK_APISERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "httpd.h"

struct apiserver;
struct authn_user;

struct api_request {
	struct apiserver *srv; /* borrowed: the server handling it */
	struct httpd_req *hr;  /* borrowed until the answer is complete */
	const char *method;    /* "GET"...; borrowed from hr */
	const char *url;       /* the decoded path without the query; borrowed from hr */
	/* metrics labels: verb a static string ("LIST"; NULL: the method),
	 * resource owned ("pods"; NULL: none) */
	const char *m_verb;
	char *m_resource;
	/* who asks (owned); NULL on the insecure port, whose requests act as
	 * the superuser system:unsecured */
	struct authn_user *user;
	/* Warning headers for the answer (strings), owned; NULL: none yet */
	json_t *warnings;
};

/* Query parameter (percent-decoded) or NULL; borrowed from the request. */
const char *req_query(const struct api_request *rq, const char *key);
/* Request header or NULL; borrowed from the request. */
const char *req_header(const struct api_request *rq, const char *name);
/* A bool query parameter as upstream's parameter decoding reads it: true
 * when present with any value but "0" or "false" (any case), "?key" alone
 * included; false when absent. */
bool req_query_bool(const struct api_request *rq, const char *key);
/* v as Go's strconv.ParseInt(v, 10, 64). 0, or -1 with a 400 Status in
 * *status carrying Go's text: `strconv.ParseInt: parsing "abc": invalid
 * syntax` (or `value out of range`), which upstream answers as it is. */
int req_parse_int64(const char *v, int64_t *out, json_t **status);
/* An integer query parameter (the first if repeated) parsed as above;
 * *present false and *out 0 when absent. */
int req_query_int64(const struct api_request *rq, const char *key, bool *present, int64_t *out,
		    json_t **status);
/* The resourceVersion query parameter as upstream's storage reads it (an
 * unsigned decimal; absent or "" is 0). -1 with a 400 Status `invalid
 * resource version: resourceVersion: Invalid value: "abc":
 * strconv.ParseUint: parsing "abc": invalid syntax`. */
int req_query_rv(const struct api_request *rq, int64_t *out, json_t **status);
/* The request body (NUL-terminated; "" and 0 when none); borrowed. */
const char *req_body(const struct api_request *rq, size_t *len);
/* The Accept header asks for a Table (as=Table). */
bool req_wants_table(const struct api_request *rq);

/* Adds a warning (copied) that the JSON answer carries as a
 * `Warning: 299 - "<text>"` header (quotes and backslashes escaped). */
void req_add_warning(struct api_request *rq, const char *text);
/* Answers with body as JSON (stolen). warning, if non-NULL, becomes a
 * `Warning: 299 - "<warning>"` header, after those of req_add_warning. */
void req_reply_json(struct api_request *rq, int code, json_t *body, const char *warning);
/* Answers with a Status object (stolen), its code taken from the object. */
void req_reply_status(struct api_request *rq, json_t *status);
/* Answers with data (taken, len bytes, free()d by the server). */
void req_reply_raw(struct api_request *rq, int code, const char *content_type, char *data,
		   size_t len);
/* Answers with a text body (copied) and content type. */
void req_reply_text(struct api_request *rq, int code, const char *content_type, const char *text);

#endif
