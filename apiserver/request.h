/* One API request while a handler works on it: the HTTP request (lib/httpd)
 * with what the API server keeps beside it (its metrics labels), and the
 * answer helpers every handler uses (JSON, Status, text). */
#ifndef MK_APISERVER_REQUEST_H
#define MK_APISERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "httpd.h"

struct apiserver;

struct api_request {
	struct apiserver *srv; /* borrowed: the server handling it */
	struct httpd_req *hr;  /* borrowed until the answer is complete */
	const char *method;    /* "GET"...; borrowed from hr */
	const char *url;       /* the decoded path without the query; borrowed from hr */
	/* metrics labels: verb a static string ("LIST"; NULL: the method),
	 * resource owned ("pods"; NULL: none) */
	const char *m_verb;
	char *m_resource;
};

/* Query parameter (percent-decoded) or NULL; borrowed from the request. */
const char *req_query(const struct api_request *rq, const char *key);
/* Request header or NULL; borrowed from the request. */
const char *req_header(const struct api_request *rq, const char *name);
/* True if the query parameter is "1" or "true". */
bool req_query_bool(const struct api_request *rq, const char *key);
/* The request body (NUL-terminated; "" and 0 when none); borrowed. */
const char *req_body(const struct api_request *rq, size_t *len);
/* The Accept header asks for a Table (as=Table). */
bool req_wants_table(const struct api_request *rq);

/* Answers with body as JSON (stolen). warning, if non-NULL, becomes a
 * `Warning: 299 - "<warning>"` header. */
void req_reply_json(struct api_request *rq, int code, json_t *body, const char *warning);
/* Answers with a Status object (stolen), its code taken from the object. */
void req_reply_status(struct api_request *rq, json_t *status);
/* Answers with data (taken, len bytes, free()d by the server). */
void req_reply_raw(struct api_request *rq, int code, const char *content_type, char *data,
		   size_t len);
/* Answers with a text body (copied) and content type. */
void req_reply_text(struct api_request *rq, int code, const char *content_type, const char *text);

#endif
