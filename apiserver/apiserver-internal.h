/* Declarations shared by the kube-apiserver's own files (server.c, handlers.c,
 * watch.c, bootstrap.c, main.c). Not a public interface. */
#ifndef MK_APISERVER_INTERNAL_H
#define MK_APISERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"
#include "err.h"
#include "apiserver/resource.h"
#include "apiserver/store.h"

/* Request bodies larger than this are refused with 413. */
#define API_MAX_BODY (3u * 1024 * 1024)

struct watch_hub;

struct apiserver {
	struct store *st;             /* borrowed from main */
	struct MHD_Daemon *mhd;
	char *bind_address;           /* owned */
	int port;
	char *server_address;         /* "advertise:port", owned */
	struct watch_hub *hub;        /* owned, watch.c */
	unsigned bookmark_seconds;    /* interval of watch BOOKMARK events */
};

/* One HTTP request while it is handled. Lives from the first access-handler
 * call to MHD's request-completed callback. */
struct api_request {
	struct apiserver *srv;
	struct MHD_Connection *conn;
	const char *method; /* borrowed from MHD */
	const char *url;    /* borrowed from MHD: path without the query */
	struct buf body;
	bool too_large;
	bool answered;
	long long start_ns;
	/* metrics labels (static strings or owned copies below) */
	const char *m_verb;
	char *m_resource;
	int code; /* answer's HTTP code, for metrics and logs */
};

/* Query parameter (unescaped) or NULL; borrowed from MHD. */
const char *req_query(const struct api_request *rq, const char *key);
/* Request header or NULL; borrowed from MHD. */
const char *req_header(const struct api_request *rq, const char *name);
/* True if the query parameter is "1" or "true". */
bool req_query_bool(const struct api_request *rq, const char *key);

/* Answers with body as JSON (stolen). warning, if non-NULL, becomes a
 * `Warning: 299 - "<warning>"` header. */
void req_reply_json(struct api_request *rq, int code, json_t *body, const char *warning);
/* Answers with a Status object (stolen), its code taken from the object. */
void req_reply_status(struct api_request *rq, json_t *status);
/* Answers with data (taken, len bytes, free()d by the server). */
void req_reply_raw(struct api_request *rq, int code, const char *content_type, char *data,
		   size_t len);
/* Answers with a text body (copied) and content type. */
void req_reply_text(struct api_request *rq, int code, const char *content_type,
		    const char *text);
/* Answers with a response built by the caller (taken). */
void req_reply_response(struct api_request *rq, int code, struct MHD_Response *resp);

/* handlers.c: everything under /api/<v>/... and /apis/<g>/<v>/... once the
 * group version is known; segs are the path segments after the version. */
void handlers_resource(struct api_request *rq, const char *group, const char *version,
		       char **segs, size_t nsegs);

/* Selection of objects for lists and watches (handlers.c). */
struct api_filter;
/* Parses labelSelector and fieldSelector of the request for r. NULL with a
 * Status in *status (new reference) on a bad selector. Free with api_filter_free. */
struct api_filter *api_filter_new(const struct api_request *rq, const struct api_resource *r,
				  json_t **status);
bool api_filter_matches(const struct api_filter *f, const struct api_resource *r,
			const json_t *obj);
void api_filter_free(struct api_filter *f);
/* True if f selects everything (no label or field selector). */
bool api_filter_empty(const struct api_filter *f);
/* Appends a stored value (borrowed) with metadata.resourceVersion set to rev,
 * splicing the text instead of parsing it when its layout allows. */
void api_append_with_rv(struct buf *raw, const char *value, int64_t rev);

/* Table answer wanted: the Accept header asks for as=Table. */
bool api_wants_table(const struct api_request *rq);
/* obj (borrowed) as a Table (one row) or itself (new reference) for watch events. */
json_t *api_table_of(const struct api_resource *r, const json_t *objects,
		     const char *include_object, bool with_columns);

/* Parses a stored value and sets metadata.resourceVersion to rev. New reference
 * or NULL if the value is not a JSON object. */
json_t *api_object_from_store(const char *value, int64_t rev);
/* Storage key of an object: "/registry/<storage>/[<ns>/]<name>". New string. */
char *api_key(const struct api_resource *r, const char *ns, const char *name);
/* Prefix of a collection: "/registry/<storage>/" or ".../<ns>/". New string. */
char *api_prefix(const struct api_resource *r, const char *ns);

/* watch.c */
struct watch_hub *watch_hub_new(struct apiserver *srv);
/* Ends every stream (resuming suspended connections) before the daemon stops. */
void watch_hub_shutdown(struct watch_hub *hub);
void watch_hub_free(struct watch_hub *hub);
/* Starts a watch answer for r in ns (NULL: all) with filter (taken). */
void watch_serve(struct api_request *rq, const struct api_resource *r, const char *ns,
		 struct api_filter *filter);
/* Number of open watch streams (metrics). */
long watch_hub_count(struct watch_hub *hub);

#endif
