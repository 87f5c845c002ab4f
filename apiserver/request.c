#include "apiserver/request.h"

#include <string.h>
#include <strings.h>

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

bool req_query_bool(const struct api_request *rq, const char *key)
{
	const char *v = req_query(rq, key);
	return v && (!strcmp(v, "1") || !strcasecmp(v, "true"));
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

void req_reply_json(struct api_request *rq, int code, json_t *body, const char *warning)
{
	if (warning) {
		cleanup_free char *w = xasprintf("299 - \"%s\"", warning);
		httpd_reply_header(rq->hr, "Warning", w);
	}
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
