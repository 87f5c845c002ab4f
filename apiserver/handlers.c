/* Resource verbs: get, list, watch, create, update, patch, delete and
 * deletecollection on every row of the resource table, plus the status, scale,
 * binding and finalize subresources.
 *
 * Stored values carry no metadata.resourceVersion: it is the key's mod_rev,
 * set on every read (as upstream does with etcd). Updates are optimistic:
 * read, compute the new object, compare-and-swap on the read's mod_rev, retry
 * on a lost race unless the client named a resourceVersion itself. */
#include "apiserver/handlers.h"
#include "apiserver/nodeproxy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "labels.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"
#include "yamldoc.h"
#include "apiserver/admission.h"
#include "apiserver/apply.h"
#include "apiserver/crd.h"
#include "apiserver/schema.h"
#include "apiserver/apiserver-internal.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/objects.h"
#include "apiserver/status.h"
#include "apiserver/typecheck.h"
#include "apiserver/watch.h"

#include "names.h"
#include "protobuf.h"
#include "apiserver/printer.h"

#define UPDATE_RETRIES 32

/* --- small helpers ------------------------------------------------------------ */


/* The stored text of obj, an object of row r: compact, without
 * metadata.resourceVersion, in the stored form. New string. */
static char *object_to_store(const struct api_resource *r, const json_t *obj)
{
	json_t *copy = r->to_stored ? json_copy_deep(obj) : json_copy((json_t *)obj);
	if (r->to_stored)
		r->to_stored(r, copy);
	json_t *md = json_object_get(copy, "metadata");
	if (json_is_object(md)) {
		json_t *mdc = json_copy(md);
		json_object_del(mdc, "resourceVersion");
		json_object_del(mdc, "selfLink");
		json_object_set_new(copy, "metadata", mdc);
	}
	char *s = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(copy);
	return s;
}

static void set_rv(json_t *obj, int64_t rev)
{
	char rv[32];
	snprintf(rv, sizeof(rv), "%lld", (long long)rev);
	json_path_set(obj, "metadata.resourceVersion", json_string(rv));
}

static const char *obj_rv(const json_t *obj)
{
	return json_path_str(obj, "metadata.resourceVersion");
}

static const char *obj_name(const json_t *obj)
{
	return json_path_str(obj, "metadata.name");
}

static bool query_dry_run(const struct api_request *rq)
{
	const char *d = req_query(rq, "dryRun");
	return d && !strcmp(d, "All");
}

/* fieldValidation: Strict refuses unknown and duplicated fields, Warn (the
 * default, as upstream's) drops unknown ones and says so in Warning headers,
 * Ignore drops them silently. */
enum field_validation { FV_WARN, FV_STRICT, FV_IGNORE };

static enum field_validation query_field_validation(const struct api_request *rq)
{
	const char *v = req_query(rq, "fieldValidation");
	if (v && !strcmp(v, "Strict"))
		return FV_STRICT;
	if (v && !strcmp(v, "Ignore"))
		return FV_IGNORE;
	return FV_WARN;
}

/* Strict decoding of obj as kind under the request's fieldValidation:
 * unknown fields are pruned from obj; pre (borrowed, may be NULL) are
 * findings made before (a patch's duplicated keys), dups (borrowed, may be
 * NULL) the body's duplicated key paths. Returns 0 and appends the findings
 * to *warnings (created when needed) under Warn; -1 with *why (new:
 * "strict decoding error: ...") under Strict when there are findings. */
static int strict_decode(const struct api_request *rq, const struct api_resource *r,
			 const char *kind, json_t *obj, const json_t *pre, const json_t *dups,
			 bool patched, json_t **warnings, char **why)
{
	enum field_validation fv = query_field_validation(rq);
	/* a custom resource is pruned to its CRD's schema instead */
	cleanup_json json_t *found =
		r->prune && !strcmp(kind, r->kind)
			? r->prune(r, obj)
			: typecheck_strict(kind, obj, fv == FV_IGNORE ? NULL : dups,
					   TYPECHECK_PRUNE | (patched ? TYPECHECK_SORTED : 0));
	if (fv == FV_IGNORE)
		return 0;
	cleanup_json json_t *all = json_array();
	if (pre)
		json_array_extend(all, (json_t *)pre);
	if (found)
		json_array_extend(all, found);
	if (!json_array_size(all))
		return 0;
	if (fv == FV_WARN) {
		if (!*warnings)
			*warnings = json_array();
		json_array_extend(*warnings, all);
		return 0;
	}
	struct buf b = BUF_INIT;
	buf_append_str(&b, "strict decoding error: ");
	size_t i;
	json_t *f;
	json_array_foreach(all, i, f)
	{
		if (i)
			buf_append_str(&b, ", ");
		buf_append_str(&b, json_string_value(f));
	}
	*why = buf_steal(&b);
	return -1;
}

static void add_warnings(struct api_request *rq, const json_t *warnings)
{
	size_t i;
	json_t *w;
	json_array_foreach(warnings, i, w) req_add_warning(rq, json_string_value(w));
}

/* Whether a body of this media type is JSON text (whose repeated keys
 * json_duplicate_keys can name). */
static bool media_is_json(const char *mt)
{
	return !strcmp(mt, "application/json") || !mt[0] || !strcmp(mt, "*/*") ||
	       !strcmp(mt, "application/merge-patch+json") ||
	       !strcmp(mt, "application/strategic-merge-patch+json");
}

static const char *media_type(const char *ctype, char *out, size_t len)
{
	out[0] = '\0';
	if (!ctype)
		return out;
	size_t n = strcspn(ctype, ";");
	while (n && ctype[n - 1] == ' ')
		n--;
	while (n && *ctype == ' ') {
		ctype++;
		n--;
	}
	if (n >= len)
		n = len - 1;
	memcpy(out, ctype, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return out;
}

static bool has_verb(const struct api_resource *r, const char *verb)
{
	for (const char *const *v = r->verbs; v && *v; v++)
		if (!strcmp(*v, verb))
			return true;
	return false;
}

static bool has_status_sub(const struct api_resource *r)
{
	return api_resource_sub(r, "status") != NULL;
}

/* --- body decoding ---------------------------------------------------------- */

static const char unknown_format[] =
	"the body of the request was in an unknown format - accepted media types include: "
	"application/json, application/yaml, application/vnd.kubernetes.protobuf";

/* Upstream's summary of a body in decode errors: up to 30 bytes, as text
 * when it looks like JSON, else in hex, " ..." when cut. New string. */
static char *summarize_body(const char *body, size_t len)
{
	if (len == 0)
		return xstrdup("<empty>");
	size_t n = len > 30 ? 30 : len;
	struct buf b = BUF_INIT;
	if (body[0] == '{') {
		buf_append(&b, body, n);
	} else {
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, "%02x", (unsigned char)body[i]);
	}
	if (len > n)
		buf_append_str(&b, " ...");
	return buf_steal(&b);
}

/* Decodes the request body as an object of kind (NULL: a patch). NULL with
 * a Status in *status. */
json_t *handlers_decode_body(const struct api_request *rq, const char *kind, json_t **status)
{
	char mt[128];
	media_type(req_header(rq, "Content-Type"), mt, sizeof(mt));
	size_t len;
	const char *body = req_body(rq, &len);
	json_t *obj = NULL;
	if (!strcmp(mt, "application/vnd.kubernetes.protobuf")) {
		cleanup_err struct mk_err *err = NULL;
		obj = k8s_protobuf_decode(body, len, &err);
		if (!obj) {
			if (mk_err_code(err) == MK_EUNSUPPORTED)
				*status = status_failure(415, "UnsupportedMediaType", mk_err_msg(err),
							 NULL);
			else
				*status = status_bad_request(mk_err_msg(err));
			return NULL;
		}
	} else if (!strcmp(mt, "application/yaml") || !strcmp(mt, "application/apply-patch+yaml")) {
		cleanup_err struct mk_err *err = NULL;
		obj = yamldoc_parse(body, len, &err);
		if (!obj) {
			/* as upstream words YAML that does not convert to JSON */
			cleanup_free char *sum = summarize_body(body, len);
			cleanup_free char *msg =
				kind ? xasprintf("the object provided is unrecognized (must be of "
						 "type %s): %s (%s)",
						 kind, mk_err_msg(err), sum)
				     : xasprintf("error decoding YAML: error converting YAML to JSON: "
						 "%s",
						 mk_err_msg(err));
			*status = status_bad_request(msg);
			return NULL;
		}
	} else if (!strcmp(mt, "application/json") || !mt[0] || !strcmp(mt, "*/*") ||
		   !strcmp(mt, "application/merge-patch+json") ||
		   !strcmp(mt, "application/strategic-merge-patch+json") ||
		   !strcmp(mt, "application/json-patch+json")) {
		json_error_t jerr;
		if (len == 0) {
			*status = status_bad_request("the request body is empty");
			return NULL;
		}
		obj = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
		if (!obj) {
			cleanup_free char *msg = xasprintf(
				"the object provided is unrecognized: json parse error at line %d, "
				"column %d: %s",
				jerr.line, jerr.column, jerr.text);
			*status = status_bad_request(msg);
			return NULL;
		}
	} else {
		*status = status_failure(415, "UnsupportedMediaType", unknown_format, NULL);
		return NULL;
	}
	return obj;
}

/* Decodes the body as an object of row r (apiVersion/kind checked and set). */
static json_t *decode_object(struct api_request *rq, const struct api_resource *r,
			     const char *want_api_version, const char *want_kind, json_t **status)
{
	json_t *obj = handlers_decode_body(rq, want_kind, status);
	if (!obj)
		return NULL;
	if (!json_is_object(obj)) {
		json_decref(obj);
		*status = status_bad_request("the body of the request must be a JSON object");
		return NULL;
	}
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	if (kind && kind[0] && strcmp(kind, want_kind)) {
		cleanup_free char *msg = xasprintf(
			"%s in version \"%s\" cannot be handled as a %s: the kind in the data (%s) "
			"does not match the expected kind (%s)",
			kind, av ? av : "", want_kind, kind, want_kind);
		json_decref(obj);
		*status = status_bad_request(msg);
		return NULL;
	}
	if (av && av[0] && strcmp(av, want_api_version)) {
		cleanup_free char *msg = xasprintf(
			"the API version in the data (%s) does not match the expected API version (%s)",
			av, want_api_version);
		json_decref(obj);
		*status = status_bad_request(msg);
		return NULL;
	}
	/* Fields of the wrong JSON type never reach the store: upstream's
	 * decoder refuses them, and so would every reader of the object. */
	cleanup_free char *bad = typecheck_body(want_kind, obj);
	if (bad) {
		const char *slash = strrchr(want_api_version, '/');
		cleanup_free char *msg = xasprintf(
			"%s in version \"%s\" cannot be handled as a %s: %s",
			kind && kind[0] ? kind : want_kind, slash ? slash + 1 : want_api_version,
			want_kind, bad);
		json_decref(obj);
		*status = status_bad_request(msg);
		return NULL;
	}
	{
		char mt[128];
		media_type(req_header(rq, "Content-Type"), mt, sizeof(mt));
		size_t len;
		const char *body = req_body(rq, &len);
		cleanup_json json_t *dups = NULL;
		if (media_is_json(mt) && query_field_validation(rq) != FV_IGNORE)
			dups = json_duplicate_keys(body, len);
		cleanup_json json_t *warnings = NULL;
		cleanup_free char *why = NULL;
		if (strict_decode(rq, r, want_kind, obj, NULL, dups, false, &warnings, &why) < 0) {
			const char *slash = strrchr(want_api_version, '/');
			cleanup_free char *msg = xasprintf(
				"%s in version \"%s\" cannot be handled as a %s: %s",
				kind && kind[0] ? kind : want_kind,
				slash ? slash + 1 : want_api_version, want_kind, why);
			json_decref(obj);
			*status = status_bad_request(msg);
			return NULL;
		}
		add_warnings(rq, warnings);
	}
	json_object_set_new(obj, "kind", json_string(want_kind));
	json_object_set_new(obj, "apiVersion", json_string(want_api_version));
	if (!json_is_object(json_object_get(obj, "metadata")))
		json_object_set_new(obj, "metadata", json_object());
	return obj;
}

/* Answers obj (stolen) as JSON or, when asked, as a one-row Table. */
static void reply_object(struct api_request *rq, const struct api_resource *r, int code,
			 json_t *obj)
{
	if (req_wants_table(rq)) {
		json_t *arr = json_pack("[O]", obj);
		json_t *t = api_table_of(r, arr, req_query(rq, "includeObject"), true);
		json_decref(arr);
		if (t) {
			const char *rv = obj_rv(obj);
			json_path_set(t, "metadata.resourceVersion", json_string(rv ? rv : ""));
			json_decref(obj);
			req_reply_json(rq, code, t, NULL);
			return;
		}
	}
	req_reply_json(rq, code, obj, NULL);
}

/* --- query parameters ---------------------------------------------------------- */

/* The ListOptions of a list or watch that this server reads. */
struct list_options {
	int64_t resource_version;
	int64_t limit;
	bool has_timeout;
	int64_t timeout_seconds;
};

/* Reads the ListOptions parameters as upstream decodes them: integers as
 * Go's ParseInt, the resourceVersion as its storage parses it. 0, or -1
 * with a 400 Status. */
static int list_options_parse(const struct api_request *rq, struct list_options *lo,
			      json_t **status)
{
	memset(lo, 0, sizeof(*lo));
	bool has_limit;
	if (req_query_rv(rq, &lo->resource_version, status) < 0 ||
	    req_query_int64(rq, "limit", &has_limit, &lo->limit, status) < 0 ||
	    req_query_int64(rq, "timeoutSeconds", &lo->has_timeout, &lo->timeout_seconds,
			    status) < 0)
		return -1;
	return 0;
}

/* Every value of a repeated query parameter, as a JSON array of strings. */
static void collect_values(const char *key, const char *value, void *arg)
{
	json_t **a = arg;
	if (!strcmp(key, json_string_value(json_array_get(*a, 0))))
		json_array_append_new(*a, json_string(value ? value : ""));
}

static json_t *query_values(const struct api_request *rq, const char *key)
{
	json_t *a = json_pack("[s]", key); /* the key rides in front while collecting */
	httpd_req_query_each(rq->hr, collect_values, &a);
	json_array_remove(a, 0);
	return a;
}

/* dryRun values (an array, borrowed) as upstream's ValidateDryRun takes
 * them: "All" only. */
static void check_dry_run(const json_t *values, json_t *causes)
{
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), "All"))
			continue;
		cleanup_free char *go = kinds_go_value(values);
		api_cause_add(causes, "FieldValueNotSupported", "dryRun",
			      "Unsupported value: %s: supported values: \"All\"", go);
		return;
	}
}

/* The options of a write checked as upstream checks CreateOptions,
 * UpdateOptions and PatchOptions (kind): dryRun, fieldValidation, and for
 * apply patches a fieldManager; patch options also refuse force outside
 * apply. NULL, or the 422 Status. */
static json_t *write_options_check(const struct api_request *rq, const char *kind, bool patch,
				   bool apply)
{
	cleanup_json json_t *causes = json_array();
	if (patch && !apply && req_query(rq, "force"))
		api_cause_add(causes, "FieldValueForbidden", "force",
			      "Forbidden: may not be specified for non-apply patch");
	const char *fm = req_query(rq, "fieldManager");
	if (apply && (!fm || !fm[0]))
		api_cause_add(causes, "FieldValueRequired", "fieldManager",
			      "Required value: is required for apply patch");
	cleanup_json json_t *dry = query_values(rq, "dryRun");
	check_dry_run(dry, causes);
	const char *fv = req_query(rq, "fieldValidation");
	if (fv && strcmp(fv, "Ignore") && strcmp(fv, "Warn") && strcmp(fv, "Strict") && fv[0])
		api_cause_add(causes, "FieldValueNotSupported", "fieldValidation",
			      "Unsupported value: \"%s\": supported values: \"\", \"Ignore\", "
			      "\"Strict\", \"Warn\"",
			      fv);
	if (!json_array_size(causes))
		return NULL;
	return status_invalid_options(kind, causes);
}

/* --- request target ---------------------------------------------------------- */

struct target {
	const struct api_resource *r;
	const char *ns;
	const char *name;
	const char *sub;
	bool applied; /* a server-side apply: managedFields are already computed */
};

/* --- field managers ------------------------------------------------------- */

/* Whether writes to r track managedFields and serve server-side apply; *st
 * gets the schema they go by: a built-in kind's, or NULL (deduced) for a
 * custom resource, whose kind may share a built-in's name. */
static bool kind_tracked(const struct api_resource *r, const struct schema_type **st)
{
	bool custom = crd_resource_is_custom(r);
	*st = custom ? NULL : schema_kind_find(r->kind);
	return custom || *st;
}

/* What apply.c needs to know of this write (see apply.h); the strings it
 * points to live in *hold until write_free. */
struct write_info {
	struct apply_write w;
	char *manager, *time;
	json_t *reset;
};

static void write_info_init(struct api_request *rq, const struct target *t, struct write_info *wi)
{
	memset(wi, 0, sizeof(*wi));
	wi->manager = apply_manager_name(req_query(rq, "fieldManager"),
					 req_header(rq, "User-Agent"));
	wi->time = time_now_rfc3339();
	/* the status of a kind with a status subresource is out of reach of
	 * writes to the object itself */
	if (!t->sub && has_status_sub(t->r))
		wi->reset = json_pack("{s:{s:{}}}", "f:status", ".");
	wi->w = (struct apply_write){.manager = wi->manager,
				     .api_version = api_resource_api_version(t->r),
				     .subresource = t->sub,
				     .time = wi->time,
				     .reset = wi->reset};
}

static void write_info_free(struct write_info *wi)
{
	free(wi->manager);
	free(wi->time);
	json_decref(wi->reset);
}

static int parse_target(const char *group, const char *version, char **segs, size_t n,
			struct target *t)
{
	memset(t, 0, sizeof(*t));
	const char *resource;
	if (n >= 3 && !strcmp(segs[0], "namespaces") &&
	    !(n == 3 && (!strcmp(segs[2], "status") || !strcmp(segs[2], "finalize")))) {
		if (n > 5)
			return -1;
		t->ns = segs[1];
		resource = segs[2];
		t->name = n > 3 ? segs[3] : NULL;
		t->sub = n > 4 ? segs[4] : NULL;
	} else {
		if (n > 3)
			return -1;
		resource = segs[0];
		t->name = n > 1 ? segs[1] : NULL;
		t->sub = n > 2 ? segs[2] : NULL;
	}
	t->r = api_resource_find(group, version, resource);
	if (!t->r)
		return -1;
	if (t->ns && !t->r->namespaced)
		return -1;
	if (t->r->namespaced && !t->ns && t->name)
		return -1;
	if (t->sub && !api_resource_sub(t->r, t->sub) && strcmp(t->sub, "finalize"))
		return -1;
	if (t->sub && !strcmp(t->sub, "finalize") && strcmp(t->r->resource, "namespaces"))
		return -1;
	return 0;
}

/* --- reads ---------------------------------------------------------------------- */

/* Whether a served-not-stored object is in ns (any when ns is NULL). */
static bool in_namespace(const json_t *obj, const char *ns)
{
	const char *ons =
		json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
	return !ns || (ons && !strcmp(ons, ns));
}

/* Seconds a written object of r lives: Events expire (--event-ttl, renewed
 * by every write, as upstream's TTLFunc), everything else stays. */
static int64_t object_ttl(const struct api_request *rq, const struct api_resource *r)
{
	return r->storage && !strcmp(r->storage, "events") ? rq->srv->event_ttl_s : 0;
}

/* Reads the object of t into *obj (new, with resourceVersion) and *rev.
 * Returns 0, or -1 with a Status in *status. */
static int read_object(struct api_request *rq, const struct target *t, json_t **obj,
		       int64_t *rev, json_t **status)
{
	if (t->r->virtual_list) {
		cleanup_json json_t *items = t->r->virtual_list(rq->srv->st);
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
		{
			const char *n = obj_name(it);
			if (n && !strcmp(n, t->name) && in_namespace(it, t->ns)) {
				*obj = json_incref(it);
				*rev = 0;
				return 0;
			}
		}
		*status = status_not_found(t->r, t->name);
		return -1;
	}
	cleanup_free char *key = api_key(t->r, t->ns, t->name);
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_get(rq->srv->st, key, &kv, &err) < 0) {
		*status = status_from_err(err, t->r, t->name);
		return -1;
	}
	*obj = api_object_from_store(kv.value, kv.mod_rev);
	*rev = kv.mod_rev;
	store_kv_free(&kv);
	if (!*obj) {
		*status = status_internal("stored object is not valid JSON");
		return -1;
	}
	if (t->r->from_stored)
		t->r->from_stored(t->r, *obj);
	return 0;
}

/* The Scale of obj, a row r object: its replicas and selector where r's
 * scale subresource says (custom resources) or where the built-in kinds
 * have them. New reference. */
static json_t *scale_of(const struct api_resource *r, const json_t *obj)
{
	const struct api_subresource *ss = api_resource_sub(r, "scale");
	const char *spec_path = ss && ss->spec_replicas_path ? ss->spec_replicas_path
							     : "spec.replicas";
	const char *status_path = ss && ss->status_replicas_path ? ss->status_replicas_path
								 : "status.replicas";
	json_t *md = json_object_get(obj, "metadata");
	json_t *smd = json_object();
	static const char *const keep[] = {"name", "namespace", "uid", "resourceVersion",
					   "creationTimestamp"};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(md, keep[i]);
		if (v)
			json_object_set(smd, keep[i], v);
	}
	json_t *replicas = json_path_get(obj, spec_path);
	json_t *sreplicas = json_path_get(obj, status_path);
	json_t *scale = json_pack("{s:s, s:s, s:o, s:{s:I}, s:{s:I}}", "kind", "Scale",
				  "apiVersion", "autoscaling/v1", "metadata", smd, "spec",
				  "replicas", (json_int_t)(replicas ? json_integer_value(replicas) : 1),
				  "status", "replicas",
				  (json_int_t)(sreplicas ? json_integer_value(sreplicas) : 0));
	if (ss && ss->spec_replicas_path) {
		/* a custom resource: its selector is a string already, and an
		 * absent spec replicas count is 0 */
		const char *sel = ss->selector_path ? json_path_str(obj, ss->selector_path) : NULL;
		if (sel && sel[0])
			json_path_set(scale, "status.selector", json_string(sel));
		if (!replicas)
			json_path_set(scale, "spec.replicas", json_integer(0));
		return scale;
	}
	json_t *sel = json_path_get(obj, "spec.selector");
	if (sel) {
		char *s = printer_label_selector(sel);
		if (s && s[0])
			json_path_set(scale, "status.selector", json_string(s));
		free(s);
	}
	return scale;
}

/* --- read consistency ------------------------------------------------------------ */

/* How long a read of a resourceVersion newer than the store's waits for it
 * to appear, and the retry upstream's watch cache then advises. */
#define RV_WAIT_MS 3000
#define RV_TOO_LARGE_RETRY_S 1

/* Waits until the store's revision reaches rev (bounded by RV_WAIT_MS, as
 * upstream's watch cache waits to be fresh enough). 0, or -1 with the 504
 * Timeout Status upstream answers: "Timeout: Too large resource version:
 * <rev>, current: <cur>". */
static int wait_for_rev(struct api_request *rq, int64_t rev, json_t **status)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int64_t cur = store_current_rev(rq->srv->st);
		if (cur >= rev)
			return 0;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (ms >= RV_WAIT_MS) {
			cleanup_free char *msg = xasprintf(
				"Timeout: Too large resource version: %lld, current: %lld",
				(long long)rev, (long long)cur);
			*status = status_failure(
				504, "Timeout", msg,
				json_pack("{s:[{s:s, s:s}], s:i}", "causes", "reason",
					  "ResourceVersionTooLarge", "message",
					  "Too large resource version", "retryAfterSeconds",
					  RV_TOO_LARGE_RETRY_S));
			return -1;
		}
		struct timespec nap = {.tv_nsec = 20 * 1000000};
		nanosleep(&nap, NULL);
	}
}

/* What a list reads, from resourceVersion, resourceVersionMatch, limit and
 * continue as upstream's ListOptions have them: *exact_rev > 0 = the state
 * at exactly that revision (resourceVersionMatch=Exact, or a limit with a
 * resourceVersion other than "0" and no match: upstream's legacy exact
 * read), else the most recent state, which must not be older than
 * resourceVersion. 0, or -1 with the 422/504 Status. */
static int list_read_at(struct api_request *rq, const struct list_options *lo,
			int64_t *exact_rev, json_t **status)
{
	*exact_rev = 0;
	const char *rv = req_query(rq, "resourceVersion");
	const char *match = req_query(rq, "resourceVersionMatch");
	const char *cont = req_query(rq, "continue");
	bool has_rv = rv && rv[0];
	if (match && match[0]) {
		cleanup_json json_t *causes = json_array();
		if (!has_rv)
			api_cause_add(causes, "FieldValueForbidden", "resourceVersionMatch",
				      "Forbidden: resourceVersionMatch is forbidden unless "
				      "resourceVersion is provided");
		if (cont && cont[0])
			api_cause_add(causes, "FieldValueForbidden", "resourceVersionMatch",
				      "Forbidden: resourceVersionMatch is forbidden when continue is "
				      "provided");
		if (strcmp(match, "Exact") && strcmp(match, "NotOlderThan"))
			api_cause_add(causes, "FieldValueNotSupported", "resourceVersionMatch",
				      "Unsupported value: \"%s\": supported values: \"Exact\", "
				      "\"NotOlderThan\", \"\"",
				      match);
		if (!strcmp(match, "Exact") && has_rv && !strcmp(rv, "0"))
			api_cause_add(causes, "FieldValueForbidden", "resourceVersionMatch",
				      "Forbidden: resourceVersionMatch \"exact\" is forbidden for "
				      "resourceVersion \"0\"");
		if (json_array_size(causes)) {
			*status = status_invalid_options("ListOptions", causes);
			return -1;
		}
	}
	if (!has_rv || !strcmp(rv, "0") || (cont && cont[0]))
		return 0;
	bool exact = (match && !strcmp(match, "Exact")) || (!(match && match[0]) && lo->limit > 0);
	if (wait_for_rev(rq, lo->resource_version, status) < 0)
		return -1;
	if (exact)
		*exact_rev = lo->resource_version;
	return 0;
}

static void handle_get(struct api_request *rq, const struct target *t)
{
	rq->m_verb = "GET";
	json_t *obj = NULL, *status = NULL;
	int64_t rev;
	/* GetOptions: "" the most recent, "0" any, else not older than it */
	int64_t want_rv;
	if (req_query_rv(rq, &want_rv, &status) < 0 ||
	    (want_rv > 0 && wait_for_rev(rq, want_rv, &status) < 0)) {
		req_reply_status(rq, status);
		return;
	}
	if (read_object(rq, t, &obj, &rev, &status) < 0) {
		req_reply_status(rq, status);
		return;
	}
	if (t->sub && !strcmp(t->sub, "scale")) {
		json_t *scale = scale_of(t->r, obj);
		json_decref(obj);
		req_reply_json(rq, 200, scale, NULL);
		return;
	}
	if (t->sub && (!strcmp(t->sub, "binding") || !strcmp(t->sub, "eviction"))) {
		json_decref(obj);
		req_reply_status(rq, status_method_not_allowed());
		return;
	}
	reply_object(rq, t->r, 200, obj);
}

static const char base64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64url_encode(const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		buf_append_char(&b, base64url[(v >> 18) & 63]);
		buf_append_char(&b, base64url[(v >> 12) & 63]);
		if (i + 1 < len)
			buf_append_char(&b, base64url[(v >> 6) & 63]);
		if (i + 2 < len)
			buf_append_char(&b, base64url[v & 63]);
	}
	return buf_steal(&b);
}

static char *b64url_decode(const char *s, size_t *out_len)
{
	struct buf b = BUF_INIT;
	unsigned v = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		const char *p = strchr(base64url, *s);
		if (*s == '+')
			p = base64url + 62;
		else if (*s == '/')
			p = base64url + 63;
		if (!p || !*p) {
			buf_free(&b);
			return NULL;
		}
		v = (v << 6) | (unsigned)(p - base64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_append_char(&b, (char)((v >> bits) & 0xff));
		}
	}
	*out_len = b.len;
	return buf_steal(&b);
}

static const char continue_expired[] =
	"The provided continue parameter is too old to display a consistent list result. You "
	"can start a new list without the continue parameter, or use the continue token in this "
	"response to retrieve the remainder of the results. Continuing with the provided token "
	"results in an inconsistent list - objects that were created, modified, or deleted "
	"between the time the first chunk was returned and now may show up in the list.";

static char *list_kind(const struct api_resource *r)
{
	return xasprintf("%sList", r->kind);
}

/* Lists the objects of t matching f. Returns a new array of objects and sets
 * *rev, *cont (new or NULL) and *remaining (-1 unknown); NULL with *status. */
static json_t *collect(struct api_request *rq, const struct target *t, const struct api_filter *f,
		       int64_t limit, const char *cont_token, int64_t exact_rev, int64_t *rev,
		       char **cont, int64_t *remaining, json_t **status, struct buf *raw)
{
	*cont = NULL;
	*remaining = -1;
	json_t *items = json_array();
	if (t->r->virtual_list) {
		cleanup_json json_t *all = t->r->virtual_list(rq->srv->st);
		size_t i;
		json_t *it;
		json_array_foreach(all, i, it) if (in_namespace(it, t->ns) &&
						   api_filter_matches(f, t->r, it))
			json_array_append(items, it);
		*rev = store_current_rev(rq->srv->st);
		return items;
	}
	cleanup_free char *prefix = api_prefix(t->r, t->ns);
	cleanup_free char *start = NULL;
	int64_t at_rev = exact_rev;
	if (cont_token && cont_token[0]) {
		size_t len = 0;
		cleanup_free char *tok_text = b64url_decode(cont_token, &len);
		cleanup_json json_t *tok = tok_text ? json_loadb(tok_text, len, 0, NULL) : NULL;
		const char *st = json_string_value(json_object_get(tok, "start"));
		json_t *trv = json_object_get(tok, "rv");
		if (!st || !json_is_integer(trv)) {
			json_decref(items);
			*status = status_bad_request("invalid continue token");
			return NULL;
		}
		start = xasprintf("%s%s", prefix, st);
		at_rev = json_integer_value(trv);
		if (at_rev < 0)
			at_rev = 0;
	}
	bool filtered = !api_filter_empty(f);
	int64_t page = limit > 0 ? limit : 0;
	int64_t got = 0;
	char *last_key = NULL;
	bool more = false;
	for (;;) {
		struct store_list l = {0};
		cleanup_err struct mk_err *err = NULL;
		if (store_list(rq->srv->st, prefix, start, page, at_rev, &l, &err) < 0) {
			free(last_key);
			json_decref(items);
			if (mk_err_code(err) == MK_EEXPIRED) {
				json_t *s = status_failure(
					410, "Expired",
					start ? continue_expired
					      : "The resourceVersion for the provided list is too old.",
					NULL);
				*status = s;
			} else {
				*status = status_from_err(err, t->r, NULL);
			}
			return NULL;
		}
		at_rev = l.rev;
		size_t i;
		bool stopped = false;
		for (i = 0; i < l.n; i++) {
			if (limit > 0 && got == limit) {
				stopped = true;
				break;
			}
			if (raw) {
				if (got)
					buf_append_char(raw, ',');
				api_append_with_rv(raw, l.items[i].value, l.items[i].mod_rev);
				got++;
				free(last_key);
				last_key = xstrdup(l.items[i].key);
				if (limit > 0 && got == limit && i + 1 == l.n && !l.more) {
					i++;
					break;
				}
				continue;
			}
			json_t *obj = api_object_from_store(l.items[i].value, l.items[i].mod_rev);
			if (!obj)
				continue;
			if (api_filter_matches(f, t->r, obj)) {
				if (t->r->from_stored)
					t->r->from_stored(t->r, obj);
				json_array_append_new(items, obj);
				got++;
				free(last_key);
				last_key = xstrdup(l.items[i].key);
			} else {
				json_decref(obj);
			}
			if (limit > 0 && got == limit && i + 1 == l.n && !l.more) {
				i++;
				break;
			}
		}
		if (stopped || (limit > 0 && got == limit && l.more)) {
			more = true;
			if (!filtered)
				*remaining = l.remaining + (int64_t)(l.n - i);
		}
		bool page_more = l.more;
		const char *lk = l.n ? l.items[l.n - 1].key : NULL;
		if (!stopped && !(limit > 0 && got == limit) && page_more && lk) {
			free(start);
			start = xasprintf("%s\x01", lk);
			if (page && page < 10000)
				page *= 2;
			store_list_free(&l);
			continue;
		}
		store_list_free(&l);
		break;
	}
	*rev = at_rev;
	if (more && last_key) {
		cleanup_json json_t *tok =
			json_pack("{s:s, s:I, s:s+}", "v", "meta.k8s.io/v1", "rv", (json_int_t)at_rev,
				  "start", last_key + strlen(prefix), "\x01");
		cleanup_free char *tok_text = json_dumps(tok, JSON_COMPACT | JSON_PRESERVE_ORDER);
		*cont = b64url_encode(tok_text, strlen(tok_text));
	}
	free(last_key);
	return items;
}

static void handle_list(struct api_request *rq, const struct target *t)
{
	rq->m_verb = "LIST";
	json_t *status = NULL;
	struct api_filter *f = api_filter_new(req_query(rq, "labelSelector"),
					      req_query(rq, "fieldSelector"), t->r, &status);
	if (!f) {
		req_reply_status(rq, status);
		return;
	}
	struct list_options lo;
	if (list_options_parse(rq, &lo, &status) < 0) {
		api_filter_free(f);
		req_reply_status(rq, status);
		return;
	}
	/* as upstream's storage: a limit of 0 or less is no limit */
	int64_t limit = lo.limit > 0 ? lo.limit : 0;
	const char *cont_in = req_query(rq, "continue");
	const char *rv = req_query(rq, "resourceVersion");
	if (cont_in && cont_in[0] && rv && rv[0] && strcmp(rv, "0")) {
		api_filter_free(f);
		req_reply_status(rq, status_bad_request("specifying resource version is not "
							"allowed when using continue"));
		return;
	}
	int64_t exact_rev;
	if (list_read_at(rq, &lo, &exact_rev, &status) < 0) {
		api_filter_free(f);
		req_reply_status(rq, status);
		return;
	}
	int64_t rev = 0, remaining = -1;
	cleanup_free char *cont = NULL;
	bool table = req_wants_table(rq);
	/* Plain lists of everything are spliced as text: no parse, no dump. */
	bool fast = !table && api_filter_empty(f) && !t->r->virtual_list && !t->r->from_stored;
	struct buf raw = BUF_INIT;
	json_t *items = collect(rq, t, f, limit, cont_in, exact_rev, &rev, &cont, &remaining,
				&status, fast ? &raw : NULL);
	api_filter_free(f);
	if (items && fast) {
		json_decref(items);
		cleanup_free char *lkind = list_kind(t->r);
		struct buf out = BUF_INIT;
		buf_printf(&out,
			   "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{"
			   "\"resourceVersion\":\"%lld\"",
			   lkind, api_resource_api_version(t->r), (long long)rev);
		if (cont)
			buf_printf(&out, ",\"continue\":\"%s\"", cont);
		if (remaining >= 0)
			buf_printf(&out, ",\"remainingItemCount\":%lld", (long long)remaining);
		buf_append_str(&out, "},\"items\":[");
		buf_append(&out, raw.data ? raw.data : "", raw.len);
		buf_append_str(&out, "]}\n");
		buf_free(&raw);
		size_t len = out.len;
		req_reply_raw(rq, 200, "application/json", buf_steal(&out), len);
		return;
	}
	buf_free(&raw);
	if (!items) {
		req_reply_status(rq, status);
		return;
	}
	char rvs[32];
	snprintf(rvs, sizeof(rvs), "%lld", (long long)rev);
	const char *warning = NULL;
	if (!strcmp(t->r->resource, "componentstatuses"))
		warning = "v1 ComponentStatus is deprecated in v1.19+";
	if (table) {
		json_t *tbl = api_table_of(t->r, items, req_query(rq, "includeObject"), true);
		if (tbl) {
			json_decref(items);
			json_path_set(tbl, "metadata.resourceVersion", json_string(rvs));
			if (cont)
				json_path_set(tbl, "metadata.continue", json_string(cont));
			if (remaining >= 0)
				json_path_set(tbl, "metadata.remainingItemCount",
					      json_integer(remaining));
			req_reply_json(rq, 200, tbl, warning);
			return;
		}
	}
	cleanup_free char *lk = list_kind(t->r);
	json_t *md = json_pack("{s:s}", "resourceVersion", rvs);
	if (cont)
		json_object_set_new(md, "continue", json_string(cont));
	if (remaining >= 0)
		json_object_set_new(md, "remainingItemCount", json_integer(remaining));
	json_t *list = json_pack("{s:s, s:s, s:o, s:o}", "kind", lk, "apiVersion",
				 api_resource_api_version(t->r), "metadata", md, "items", items);
	req_reply_json(rq, 200, list, warning);
}

/* --- writes: shared pieces ------------------------------------------------------ */

/* True if anything but the spec-like parts (everything except metadata and
 * status) differs between a and b. */
static bool spec_changed(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v)
	{
		if (!strcmp(k, "metadata") || !strcmp(k, "status"))
			continue;
		if (!json_value_equal(v, json_object_get(b, k)))
			return true;
	}
	json_object_foreach((json_t *)b, k, v)
	{
		if (!strcmp(k, "metadata") || !strcmp(k, "status"))
			continue;
		if (!json_object_get(a, k))
			return true;
	}
	return false;
}

static json_t *name_causes(const struct api_resource *r, const char *name)
{
	json_t *causes = json_array();
	const char *msg;
	bool label = !strcmp(r->resource, "namespaces") || !strcmp(r->resource, "services");
	if (!strcmp(r->group, "rbac.authorization.k8s.io"))
		msg = kinds_rbac_check_name(name);
	else
		msg = label ? names_check_dns1123_label(name) : names_check_dns1123_subdomain(name);
	if (msg)
		api_cause_add(causes, "FieldValueInvalid", "metadata.name", "Invalid value: \"%s\": %s",
			      name, msg);
	return causes;
}

/* Labels and annotations of the metadata at path ("metadata",
 * "spec.template.metadata"), as upstream's ValidateObjectMeta checks them. */
static void validate_meta_maps(const json_t *md, const char *path, json_t *causes)
{
	cleanup_free char *lpath = xasprintf("%s.labels", path);
	cleanup_free char *apath = xasprintf("%s.annotations", path);
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(md, "labels"), k, v)
	{
		cleanup_free char *kerr = names_check_qualified_name(k);
		if (kerr)
			api_cause_add(causes, "FieldValueInvalid", lpath, "Invalid value: \"%s\": %s", k,
				      kerr);
		const char *val = json_string_value(v);
		cleanup_free char *verr = val ? names_check_label_value(val) : NULL;
		if (verr)
			api_cause_add(causes, "FieldValueInvalid", lpath, "Invalid value: \"%s\": %s",
				      val, verr);
	}
	size_t total = 0;
	json_object_foreach(json_object_get(md, "annotations"), k, v)
	{
		/* the rule is a qualified name, in any case */
		cleanup_free char *lower = xstrdup(k);
		for (char *c = lower; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		cleanup_free char *kerr = names_check_qualified_name(lower);
		if (kerr)
			api_cause_add(causes, "FieldValueInvalid", apath, "Invalid value: \"%s\": %s", k,
				      kerr);
		total += strlen(k) + json_string_length(v);
	}
	if (total > 256 * 1024)
		api_cause_add(causes, "FieldValueTooLong", apath,
			      "Too long: may not be more than 262144 bytes");
}

static json_t *validate(const struct api_resource *r, const json_t *obj, const json_t *old)
{
	json_t *causes = json_array();
	validate_meta_maps(json_object_get(obj, "metadata"), "metadata", causes);
	json_t *tmd = json_path_get(obj, "spec.template.metadata");
	if (json_is_object(tmd))
		validate_meta_maps(tmd, "spec.template.metadata", causes);
	if (r->validate)
		r->validate(obj, old, causes);
	if (json_array_size(causes) == 0) {
		json_decref(causes);
		return NULL;
	}
	return causes;
}

static bool list_empty(const json_t *a)
{
	return !json_is_array(a) || json_array_size(a) == 0;
}

/* --- create ------------------------------------------------------------------- */

/* Creates obj (stolen) in t->ns; answers the request. */
static void create_object(struct api_request *rq, const struct target *t, json_t *obj)
{
	const struct schema_type *st;
	bool tracked = kind_tracked(t->r, &st);
	const struct api_resource *r = t->r;
	json_t *md = json_object_get(obj, "metadata");
	const char *body_ns = json_string_value(json_object_get(md, "namespace"));
	if (r->namespaced) {
		if (body_ns && body_ns[0] && strcmp(body_ns, t->ns)) {
			json_decref(obj);
			req_reply_status(rq, status_bad_request(
						     "the namespace of the provided object does not "
						     "match the namespace sent on the request"));
			return;
		}
		json_object_set_new(md, "namespace", json_string(t->ns));
	} else {
		json_object_del(md, "namespace");
	}
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *gen = json_string_value(json_object_get(md, "generateName"));
	if ((!name || !name[0]) && gen && gen[0]) {
		char *n = names_generate(gen);
		json_object_set_new(md, "name", json_string(n));
		free(n);
		name = json_string_value(json_object_get(md, "name"));
	}
	if (!name || !name[0]) {
		cleanup_json json_t *causes = json_array();
		api_cause_add(causes, "FieldValueRequired", "metadata.name",
			      "Required value: name or generateName is required");
		json_decref(obj);
		req_reply_status(rq, status_invalid(r, "", causes));
		return;
	}
	cleanup_free char *name_copy = xstrdup(name);
	name = name_copy;
	{
		cleanup_json json_t *causes = name_causes(r, name);
		if (json_array_size(causes)) {
			json_decref(obj);
			req_reply_status(rq, status_invalid(r, name, causes));
			return;
		}
	}
	/* Server-owned metadata. */
	cleanup_free char *uid = names_uid_new();
	cleanup_free char *now = time_now_rfc3339();
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp", json_string(now));
	json_object_set_new(md, "generation", json_integer(1));
	json_object_del(md, "resourceVersion");
	json_object_del(md, "selfLink");
	json_object_del(md, "deletionTimestamp");
	json_object_del(md, "deletionGracePeriodSeconds");
	if (!tracked)
		json_object_del(md, "managedFields");
	if (r->prepare_create)
		r->prepare_create(obj);
	if (r->defaults)
		r->defaults(obj);
	if (tracked && !t->applied) {
		struct write_info wi;
		write_info_init(rq, t, &wi);
		apply_update(st, NULL, obj, &wi.w);
		write_info_free(&wi);
	}
	bool dry = query_dry_run(rq);
	struct admission_attrs adm __attribute__((cleanup(admission_attrs_clear))) = {
		.op = ADMISSION_CREATE, .r = r, .ns = t->ns, .name = name, .obj = obj, .dry_run = dry,
		.user = rq->user};
	cleanup_free char *warning = NULL;
	json_t *astatus = NULL;
	if (admission_mutate(rq->srv->admission, rq->srv->st, &adm, &astatus) < 0) {
		json_decref(obj);
		req_reply_status(rq, astatus);
		return;
	}
	{
		cleanup_json json_t *causes = validate(r, obj, NULL);
		if (causes) {
			json_decref(obj);
			req_reply_status(rq, status_invalid(r, name, causes));
			return;
		}
	}
	if (rq->user && !strcmp(r->group, "rbac.authorization.k8s.io") &&
	    (astatus = authz_escalation_check(rq->srv->authz, rq->user, r, obj))) {
		json_decref(obj);
		req_reply_status(rq, astatus);
		return;
	}
	if (admission_validate(rq->srv->admission, rq->srv->st, &adm, &astatus, &warning) < 0) {
		json_decref(obj);
		req_reply_status(rq, astatus);
		return;
	}
	if (dry) {
		/* Refuse what a real create would refuse. */
		cleanup_free char *key = api_key(r, t->ns, name);
		struct store_kv kv = {0};
		cleanup_err struct mk_err *err = NULL;
		if (store_get(rq->srv->st, key, &kv, &err) == 0) {
			store_kv_free(&kv);
			json_decref(obj);
			req_reply_status(rq, status_already_exists(r, name));
			return;
		}
		/* The answer shows what the create would allocate (a Service's
		 * clusterIP, nodePorts, healthCheckNodePort), and gives it back. */
		if (r->on_create) {
			cleanup_err struct mk_err *aerr = NULL;
			if (r->on_create(obj, &aerr) < 0) {
				json_decref(obj);
				req_reply_status(rq, status_from_err(aerr, r, name));
				return;
			}
			if (r->on_delete)
				r->on_delete(obj);
		}
		req_reply_json(rq, 201, obj, warning);
		return;
	}
	if (r->on_create) {
		cleanup_err struct mk_err *err = NULL;
		if (r->on_create(obj, &err) < 0) {
			json_decref(obj);
			req_reply_status(rq, status_from_err(err, r, name));
			return;
		}
	}
	cleanup_free char *key = api_key(r, t->ns, name);
	cleanup_free char *value = object_to_store(r, obj);
	cleanup_err struct mk_err *err = NULL;
	int64_t rev = store_create_ttl(rq->srv->st, key, value, object_ttl(rq, r), &err);
	if (rev < 0) {
		if (r->on_delete)
			r->on_delete(obj);
		json_decref(obj);
		req_reply_status(rq, status_from_err(err, r, name));
		return;
	}
	set_rv(obj, rev);
	req_reply_json(rq, 201, obj, warning);
}

/* --- update loop ------------------------------------------------------------ */

enum update_mode {
	UPDATE_MAIN,
	UPDATE_STATUS,
	UPDATE_FINALIZE,
	UPDATE_BINDING, /* the mutated object as is: no strategy hooks, no validation */
};

/* Computes the wanted object from the current one (borrowed). Returns a new
 * object or NULL with *status; *created may be set by apply for a missing object. */
typedef json_t *(*mutate_fn)(const json_t *cur, void *arg, json_t **status);

struct update_result {
	json_t *obj;    /* new reference: the object as stored (or deleted) */
	json_t *status; /* new reference: the error */
};

static int delete_stored(struct api_request *rq, const struct api_resource *r, const char *key,
			 int64_t rev, json_t *obj, json_t **status);

/* The 422 upstream answers when a patched object does not decode: the
 * patched object quoted, then the decoder's error. */
static json_t *status_patch_invalid(const json_t *patched, const char *why)
{
	cleanup_free char *text = json_dumps(patched, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cleanup_json json_t *str = json_string(text ? text : "");
	cleanup_free char *quoted = kinds_go_value(str);
	cleanup_json json_t *causes = json_array();
	api_cause_add(causes, "FieldValueInvalid", "patch", "Invalid value: %s: %s", quoted, why);
	cleanup_free char *what = api_causes_message(causes);
	cleanup_free char *msg = xasprintf(" \"\" is invalid: %s", what);
	return status_failure(422, "Invalid", msg, json_pack("{s:O}", "causes", causes));
}

/* Runs the read/mutate/compare-and-swap loop on t. On success *out holds the
 * stored object. mode picks what the write may change. */
static int update_attempts(struct api_request *rq, const struct target *t, enum update_mode mode,
			   mutate_fn mutate, void *arg, const json_t *pre, json_t **warnings,
			   json_t **out, json_t **status);

/* pre: findings of strict decoding made on the request body before (a
 * patch's duplicated keys; borrowed, may be NULL). */
static int update_loop(struct api_request *rq, const struct target *t, enum update_mode mode,
		       mutate_fn mutate, void *arg, const json_t *pre, json_t **out,
		       json_t **status)
{
	cleanup_json json_t *warnings = NULL;
	int rc = update_attempts(rq, t, mode, mutate, arg, pre, &warnings, out, status);
	if (rc == 0)
		add_warnings(rq, warnings);
	return rc;
}

/* The loop of update_loop; *warnings holds the last attempt's. */
static int update_attempts(struct api_request *rq, const struct target *t, enum update_mode mode,
			   mutate_fn mutate, void *arg, const json_t *pre, json_t **warnings,
			   json_t **out, json_t **status)
{
	const struct api_resource *r = t->r;
	cleanup_free char *key = api_key(r, t->ns, t->name);
	bool dry = query_dry_run(rq);
	const struct schema_type *schema;
	bool tracked = kind_tracked(r, &schema);
	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		cleanup_json json_t *cur = NULL;
		int64_t rev;
		if (read_object(rq, t, &cur, &rev, status) < 0)
			return -1;
		if (mode != UPDATE_BINDING) {
			/* as upstream decodes the stored object: what its Go types
			 * lack is gone before the change is applied */
			json_decref(r->prune ? r->prune(r, cur)
					     : typecheck_strict(r->kind, cur, NULL, TYPECHECK_PRUNE));
		}
		json_t *want = mutate(cur, arg, status);
		if (!want)
			return -1;
		cleanup_json json_t *next = want;
		if (mode != UPDATE_BINDING) {
			/* a patch may give a field a type upstream's decoder refuses */
			cleanup_free char *bad = typecheck_body(r->kind, next);
			if (bad) {
				*status = status_patch_invalid(next, bad);
				return -1;
			}
			/* or a field it does not know */
			json_decref(*warnings);
			*warnings = NULL;
			cleanup_free char *why = NULL;
			if (strict_decode(rq, r, r->kind, next, pre, NULL, true, warnings, &why) <
			    0) {
				*status = status_patch_invalid(next, why);
				return -1;
			}
		}
		const char *want_rv = obj_rv(next);
		const char *cur_rv = obj_rv(cur);
		if (want_rv && want_rv[0] && strcmp(want_rv, cur_rv ? cur_rv : "")) {
			*status = status_conflict(r, t->name, NULL);
			return -1;
		}
		const char *nname = obj_name(next);
		if (nname && strcmp(nname, t->name)) {
			cleanup_free char *msg = xasprintf(
				"the name of the object (%s) does not match the name on the URL (%s)",
				nname, t->name);
			*status = status_bad_request(msg);
			return -1;
		}
		json_t *cmd = json_object_get(cur, "metadata");
		if (mode == UPDATE_BINDING) {
			/* next is already the current object with spec.nodeName set */
		} else if (mode != UPDATE_MAIN) {
			/* Only status (or spec.finalizers) changes through a subresource. */
			json_t *n = json_copy_deep(cur);
			if (mode == UPDATE_STATUS) {
				json_t *st = json_object_get(next, "status");
				if (st)
					json_object_set(n, "status", st);
				else
					json_object_del(n, "status");
			} else {
				json_t *fin = json_path_get(next, "spec.finalizers");
				json_path_set(n, "spec.finalizers",
					      fin ? json_incref(fin) : json_array());
			}
			json_t *mf = json_path_get(next, "metadata.managedFields");
			if (t->applied && mf && json_is_object(json_object_get(n, "metadata")))
				json_object_set(json_object_get(n, "metadata"), "managedFields", mf);
			json_decref(next);
			next = n;
		} else {
			if (!json_is_object(json_object_get(next, "metadata")))
				json_object_set_new(next, "metadata", json_object());
			json_t *nmd = json_object_get(next, "metadata");
			static const char *const fixed[] = {"name", "namespace", "uid",
							    "creationTimestamp",
							    "deletionTimestamp",
							    "deletionGracePeriodSeconds", "generation"};
			for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
				json_t *v = json_object_get(cmd, fixed[i]);
				if (v)
					json_object_set(nmd, fixed[i], v);
				else
					json_object_del(nmd, fixed[i]);
			}
			if (!tracked)
				json_object_del(nmd, "managedFields");
			json_object_set_new(next, "kind", json_string(r->kind));
			json_object_set_new(next, "apiVersion",
					    json_string(api_resource_api_version(r)));
			if (has_status_sub(r)) {
				json_t *st = json_object_get(cur, "status");
				if (st)
					json_object_set(next, "status", st);
				else
					json_object_del(next, "status");
			}
			if (r->prepare_update)
				r->prepare_update(next, cur);
			if (r->defaults)
				r->defaults(next);
			json_int_t gen = json_integer_value(json_object_get(cmd, "generation"));
			if (gen < 1)
				gen = 1;
			if (spec_changed(cur, next))
				gen++;
			json_object_set_new(nmd, "generation", json_integer(gen));
		}
		if (tracked && mode != UPDATE_BINDING && !t->applied) {
			struct write_info wi;
			write_info_init(rq, t, &wi);
			apply_update(schema, cur, next, &wi.w);
			write_info_free(&wi);
		}
		json_path_set(next, "metadata.resourceVersion", json_string(cur_rv ? cur_rv : ""));
		if (mode != UPDATE_BINDING) {
			json_t *causes = validate(r, next, cur);
			if (causes) {
				*status = status_invalid(r, t->name, causes);
				json_decref(causes);
				return -1;
			}
		}
		if (json_value_equal(next, cur)) {
			*out = json_incref(cur);
			return 0;
		}
		if (rq->user && mode == UPDATE_MAIN && !strcmp(r->group, "rbac.authorization.k8s.io") &&
		    (*status = authz_escalation_check(rq->srv->authz, rq->user, r, next)))
			return -1;
		if (rq->user) {
			struct admission_attrs adm __attribute__((cleanup(admission_attrs_clear))) = {
				.op = ADMISSION_UPDATE, .r = r, .ns = t->ns, .name = t->name,
				.sub = t->sub, .obj = next, .old = cur, .dry_run = dry, .user = rq->user};
			if (admission_validate(rq->srv->admission, rq->srv->st, &adm, status,
					       NULL) < 0)
				return -1;
		}
		/* The last finalizer of an object being deleted is gone: delete it. */
		json_t *nmd = json_object_get(next, "metadata");
		bool deleting = json_object_get(nmd, "deletionTimestamp") != NULL;
		bool fin_gone = !list_empty(json_object_get(cmd, "finalizers")) &&
				list_empty(json_object_get(nmd, "finalizers"));
		bool ns_done = !strcmp(r->resource, "namespaces") && deleting &&
			       list_empty(json_path_get(next, "spec.finalizers")) &&
			       list_empty(json_object_get(nmd, "finalizers"));
		if (deleting && (fin_gone || ns_done)) {
			if (dry) {
				*out = json_incref(next);
				return 0;
			}
			int rc = delete_stored(rq, r, key, rev, next, status);
			if (rc == 1)
				continue;
			if (rc < 0)
				return -1;
			*out = json_incref(next);
			return 0;
		}
		if (dry) {
			/* as for a dry-run create: what the update would allocate is
			 * shown, then given back (and what it would free kept) */
			if (r->on_update) {
				cleanup_err struct mk_err *err = NULL;
				if (r->on_update(next, cur, &err) < 0) {
					*status = status_from_err(err, r, t->name);
					return -1;
				}
				if (r->on_update_abort)
					r->on_update_abort(next, cur);
			}
			*out = json_incref(next);
			return 0;
		}
		if (r->on_update) {
			cleanup_err struct mk_err *err = NULL;
			if (r->on_update(next, cur, &err) < 0) {
				*status = status_from_err(err, r, t->name);
				return -1;
			}
		}
		cleanup_free char *value = object_to_store(r, next);
		cleanup_err struct mk_err *err = NULL;
		int64_t nrev = store_update_ttl(rq->srv->st, key, value, rev, object_ttl(rq, r),
						NULL, &err);
		if (nrev < 0) {
			/* give back what on_update allocated or take back what it released */
			if (r->on_update && r->on_update_abort)
				r->on_update_abort(next, cur);
			if (mk_err_code(err) == MK_ECONFLICT)
				continue;
			*status = status_from_err(err, r, t->name);
			return -1;
		}
		set_rv(next, nrev);
		*out = json_incref(next);
		return 0;
	}
	*status = status_conflict(r, t->name, NULL);
	return -1;
}

/* --- PUT ------------------------------------------------------------------ */

static json_t *mutate_replace(const json_t *cur, void *arg, json_t **status)
{
	(void)cur;
	(void)status;
	return json_copy_deep(arg);
}

static enum update_mode mode_of(const struct target *t)
{
	if (t->sub && !strcmp(t->sub, "status"))
		return UPDATE_STATUS;
	if (t->sub && !strcmp(t->sub, "finalize"))
		return UPDATE_FINALIZE;
	return UPDATE_MAIN;
}

struct scale_arg {
	const struct api_resource *r;
	const json_t *body; /* PUT: the Scale; PATCH: NULL */
	const json_t *patch;
	char ptype[128];
};

static json_t *apply_patch(const json_t *doc, const char *ptype, const json_t *patch,
			   json_t **status);

static json_t *mutate_scale(const json_t *cur, void *arg, json_t **status)
{
	struct scale_arg *sa = arg;
	cleanup_json json_t *scale = scale_of(sa->r, cur);
	cleanup_json json_t *next_scale = NULL;
	if (sa->body)
		next_scale = json_copy_deep(sa->body);
	else
		next_scale = apply_patch(scale, sa->ptype, sa->patch, status);
	if (!next_scale)
		return NULL;
	json_t *rep = json_path_get(next_scale, "spec.replicas");
	if (rep && !json_is_integer(rep)) {
		*status = status_bad_request("spec.replicas must be an integer");
		return NULL;
	}
	json_t *n = json_copy_deep(cur);
	const struct api_subresource *ss = api_resource_sub(sa->r, "scale");
	json_path_set(n, ss && ss->spec_replicas_path ? ss->spec_replicas_path : "spec.replicas",
		      json_integer(rep ? json_integer_value(rep) : 0));
	const char *rv = obj_rv(next_scale);
	json_path_set(n, "metadata.resourceVersion", json_string(rv ? rv : ""));
	if (!rv || !rv[0])
		json_path_set(n, "metadata.resourceVersion", json_string(obj_rv(cur)));
	return n;
}

static void reply_scale_or_object(struct api_request *rq, const struct target *t, json_t *obj)
{
	if (t->sub && !strcmp(t->sub, "scale")) {
		json_t *scale = scale_of(t->r, obj);
		json_decref(obj);
		req_reply_json(rq, 200, scale, NULL);
		return;
	}
	reply_object(rq, t->r, 200, obj);
}

static void handle_put(struct api_request *rq, const struct target *t)
{
	rq->m_verb = "PUT";
	json_t *status = write_options_check(rq, "UpdateOptions", false, false);
	if (status) {
		req_reply_status(rq, status);
		return;
	}
	bool scale = t->sub && !strcmp(t->sub, "scale");
	cleanup_json json_t *body =
		scale ? decode_object(rq, t->r, "autoscaling/v1", "Scale", &status)
		      : decode_object(rq, t->r, api_resource_api_version(t->r), t->r->kind, &status);
	if (!body) {
		req_reply_status(rq, status);
		return;
	}
	const char *body_ns = json_path_str(body, "metadata.namespace");
	if (t->r->namespaced && body_ns && body_ns[0] && strcmp(body_ns, t->ns)) {
		req_reply_status(rq, status_bad_request("the namespace of the provided object does "
							"not match the namespace sent on the "
							"request"));
		return;
	}
	json_t *out = NULL;
	int rc;
	if (scale) {
		struct scale_arg sa = {.r = t->r, .body = body};
		rc = update_loop(rq, t, UPDATE_MAIN, mutate_scale, &sa, NULL, &out, &status);
	} else {
		rc = update_loop(rq, t, mode_of(t), mutate_replace, body, NULL, &out, &status);
	}
	if (rc < 0) {
		req_reply_status(rq, status);
		return;
	}
	reply_scale_or_object(rq, t, out);
}

/* --- PATCH ---------------------------------------------------------------- */

static json_t *apply_patch(const json_t *doc, const char *ptype, const json_t *patch,
			   json_t **status)
{
	cleanup_err struct mk_err *err = NULL;
	json_t *out = NULL;
	if (!strcmp(ptype, "application/json-patch+json")) {
		if (!json_is_array(patch)) {
			*status = status_bad_request("json patch must be a JSON array of operations");
			return NULL;
		}
		out = json_patch_apply(doc, patch, &err);
		if (!out && mk_err_code(err) == MK_ETOOLARGE) {
			*status = status_failure(413, "RequestEntityTooLarge", mk_err_msg(err), NULL);
			return NULL;
		}
		if (!out) {
			cleanup_free char *msg = xasprintf("the server rejected our request due to an "
							   "error in our request: %s",
							   mk_err_msg(err));
			*status = status_failure(422, "Invalid", msg, NULL);
			return NULL;
		}
	} else {
		if (!json_is_object(patch)) {
			*status = status_bad_request("the patch must be a JSON object");
			return NULL;
		}
		if (!strcmp(ptype, "application/merge-patch+json"))
			out = json_merge_patch(doc, patch);
		else
			out = json_smp_apply(doc, patch, &err);
		if (!out) {
			*status = status_bad_request(mk_err_msg(err));
			return NULL;
		}
	}
	if (!json_is_object(out)) {
		json_decref(out);
		*status = status_bad_request("the patch did not produce an object");
		return NULL;
	}
	return out;
}

struct patch_arg {
	const json_t *patch;
	const char *ptype;
};

static json_t *mutate_patch(const json_t *cur, void *arg, json_t **status)
{
	struct patch_arg *pa = arg;
	json_t *n = apply_patch(cur, pa->ptype, pa->patch, status);
	if (!n)
		return NULL;
	/* A patch that does not name a resourceVersion is unconditional. */
	const char *prv = json_is_object(pa->patch) ? json_path_str(pa->patch,
								    "metadata.resourceVersion")
						    : NULL;
	if (!prv)
		json_path_set(n, "metadata.resourceVersion", json_string(obj_rv(cur)));
	return n;
}

/* --- server-side apply -------------------------------------------------- */

/* The object an apply creates from its configuration (borrowed), checked as
 * a create body is; NULL when the request was answered. New reference. */
static json_t *apply_create_body(struct api_request *rq, const struct target *t,
				 const json_t *config, const json_t *pre)
{
	const char *n = json_path_str(config, "metadata.name");
	if (!n || strcmp(n, t->name)) {
		req_reply_status(rq, status_bad_request("metadata.name must match the name on the URL"));
		return NULL;
	}
	json_t *obj = json_copy_deep(config);
	json_object_set_new(obj, "kind", json_string(t->r->kind));
	json_object_set_new(obj, "apiVersion", json_string(api_resource_api_version(t->r)));
	cleanup_json json_t *warnings = NULL;
	cleanup_free char *why = NULL;
	if (strict_decode(rq, t->r, t->r->kind, obj, pre, NULL, false, &warnings, &why) < 0) {
		json_decref(obj);
		req_reply_status(rq, status_bad_request(why));
		return NULL;
	}
	add_warnings(rq, warnings);
	return obj;
}

struct apply_arg {
	const struct schema_type *st;
	const json_t *config;
	const struct apply_write *w;
	bool force;
};

/* The 409 of an apply's conflicts (conflict: apply_object's, borrowed). */
static json_t *status_apply_conflict(const json_t *conflict)
{
	return status_failure(409, "Conflict",
			      json_string_value(json_object_get(conflict, "message")),
			      json_pack("{s:O}", "causes", json_object_get(conflict, "causes")));
}

static json_t *mutate_apply(const json_t *cur, void *arg, json_t **status)
{
	struct apply_arg *aa = arg;
	json_t *out = NULL;
	cleanup_json json_t *conflict = NULL;
	cleanup_err struct mk_err *err = NULL;
	if (apply_object(aa->st, cur, aa->config, aa->w, aa->force, &out, &conflict, &err) < 0) {
		*status = conflict ? status_apply_conflict(conflict)
				   : status_bad_request(mk_err_msg(err));
		return NULL;
	}
	return out;
}

/* PATCH application/apply-patch+yaml on a kind with a schema: the object is
 * created when absent, else the configuration is merged into it. */
static void server_side_apply(struct api_request *rq, const struct target *t0,
			      const struct schema_type *st, const json_t *config,
			      const json_t *pre)
{
	struct target t = *t0;
	t.applied = true;
	struct write_info wi;
	write_info_init(rq, &t, &wi);
	const char *force = req_query(rq, "force");
	struct apply_arg aa = {.st = st, .config = config, .w = &wi.w,
			       .force = force && !strcmp(force, "true")};
	json_t *status = NULL;
	if (!t.sub) {
		json_t *cur = NULL;
		int64_t rev;
		if (read_object(rq, &t, &cur, &rev, &status) < 0) {
			if (status_code(status) != 404) {
				req_reply_status(rq, status);
				write_info_free(&wi);
				return;
			}
			json_decref(status);
			status = NULL;
			cleanup_json json_t *body = apply_create_body(rq, &t, config, pre);
			if (!body) {
				write_info_free(&wi);
				return;
			}
			aa.config = body;
			json_t *obj = mutate_apply(NULL, &aa, &status);
			write_info_free(&wi);
			if (!obj) {
				req_reply_status(rq, status);
				return;
			}
			json_object_set_new(obj, "kind", json_string(t.r->kind));
			json_object_set_new(obj, "apiVersion",
					    json_string(api_resource_api_version(t.r)));
			create_object(rq, &t, obj);
			return;
		}
		json_decref(cur);
	}
	json_t *out = NULL;
	int rc = update_loop(rq, &t, mode_of(&t), mutate_apply, &aa, pre, &out, &status);
	write_info_free(&wi);
	if (rc < 0) {
		req_reply_status(rq, status);
		return;
	}
	reply_scale_or_object(rq, &t, out);
}

static const char *const patch_types[] = {
	"application/json-patch+json",
	"application/merge-patch+json",
	"application/strategic-merge-patch+json",
	"application/apply-patch+yaml",
	NULL,
};

static void handle_patch(struct api_request *rq, const struct target *t)
{
	char mt[128];
	media_type(req_header(rq, "Content-Type"), mt, sizeof(mt));
	bool known = false;
	for (const char *const *p = patch_types; *p; p++)
		known |= !strcmp(mt, *p);
	rq->m_verb = !strcmp(mt, "application/apply-patch+yaml") ? "APPLY" : "PATCH";
	if (!known) {
		cleanup_free char *msg = xasprintf(
			"the body of the request was in an unknown format - accepted media types "
			"include: application/json-patch+json, application/merge-patch+json, "
			"application/apply-patch+yaml, application/strategic-merge-patch+json");
		req_reply_status(rq, status_failure(415, "UnsupportedMediaType", msg, NULL));
		return;
	}
	json_t *status = write_options_check(rq, "PatchOptions", true,
					     !strcmp(mt, "application/apply-patch+yaml"));
	if (status) {
		req_reply_status(rq, status);
		return;
	}
	cleanup_json json_t *patch = handlers_decode_body(rq, NULL, &status);
	if (!patch) {
		req_reply_status(rq, status);
		return;
	}
	/* keys the patch repeats: Go's decoder of the patch reports them */
	cleanup_json json_t *pre = NULL;
	if (media_is_json(mt) && query_field_validation(rq) != FV_IGNORE) {
		size_t len;
		const char *body = req_body(rq, &len);
		cleanup_json json_t *dups = json_duplicate_keys(body, len);
		size_t i;
		json_t *d;
		json_array_foreach(dups, i, d)
		{
			if (!pre)
				pre = json_array();
			json_array_append_new(pre, json_sprintf("duplicate field \"%s\"",
								json_string_value(d)));
		}
	}
	bool scale = t->sub && !strcmp(t->sub, "scale");
	json_t *out = NULL;
	int rc;
	if (!strcmp(mt, "application/apply-patch+yaml")) {
		if (!json_is_object(patch)) {
			req_reply_status(rq, status_bad_request("the applied configuration must be "
								"an object"));
			return;
		}
		const struct schema_type *st;
		if (kind_tracked(t->r, &st) && (!t->sub || !strcmp(t->sub, "status"))) {
			server_side_apply(rq, t, st, patch, pre);
			return;
		}
		/* a kind without a schema: create-or-merge */
		if (!t->sub) {
			json_t *cur = NULL;
			int64_t rev;
			json_t *st2 = NULL;
			if (read_object(rq, t, &cur, &rev, &st2) < 0) {
				if (status_code(st2) != 404) {
					req_reply_status(rq, st2);
					return;
				}
				json_decref(st2);
				json_t *obj = apply_create_body(rq, t, patch, pre);
				if (obj)
					create_object(rq, t, obj);
				return;
			}
			json_decref(cur);
		}
		struct patch_arg pa = {.patch = patch,
				       .ptype = "application/strategic-merge-patch+json"};
		rc = update_loop(rq, t, mode_of(t), mutate_patch, &pa, pre, &out, &status);
	} else if (scale) {
		struct scale_arg sa = {.r = t->r, .patch = patch};
		snprintf(sa.ptype, sizeof(sa.ptype), "%s", mt);
		rc = update_loop(rq, t, UPDATE_MAIN, mutate_scale, &sa, pre, &out, &status);
	} else {
		struct patch_arg pa = {.patch = patch, .ptype = mt};
		rc = update_loop(rq, t, mode_of(t), mutate_patch, &pa, pre, &out, &status);
	}
	if (rc < 0) {
		req_reply_status(rq, status);
		return;
	}
	reply_scale_or_object(rq, t, out);
}

/* --- POST ----------------------------------------------------------------- */

static json_t *mutate_bind(const json_t *cur, void *arg, json_t **status)
{
	const char *node = arg;
	const char *have = json_path_str(cur, "spec.nodeName");
	if (have && have[0]) {
		cleanup_free char *msg = xasprintf(
			"Operation cannot be fulfilled on pods/binding \"%s\": pod %s is already "
			"assigned to node \"%s\"",
			obj_name(cur), obj_name(cur), have);
		*status = status_failure(409, "Conflict", msg,
					 json_pack("{s:s, s:s}", "name", obj_name(cur), "kind",
						   "pods/binding"));
		return NULL;
	}
	if (json_path_get(cur, "metadata.deletionTimestamp")) {
		*status = status_conflict(NULL, obj_name(cur), "pod is being deleted, cannot be "
							       "assigned to a host");
		return NULL;
	}
	json_t *n = json_copy_deep(cur);
	json_path_set(n, "spec.nodeName", json_string(node));
	return n;
}

static void handle_binding(struct api_request *rq, const struct target *t)
{
	json_t *status = write_options_check(rq, "CreateOptions", false, false);
	if (status) {
		req_reply_status(rq, status);
		return;
	}
	cleanup_json json_t *b = decode_object(rq, t->r, "v1", "Binding", &status);
	if (!b) {
		req_reply_status(rq, status);
		return;
	}
	const char *node = json_path_str(b, "target.name");
	if (!node || !node[0]) {
		cleanup_json json_t *causes = json_array();
		api_cause_add(causes, "FieldValueRequired", "target.name", "Required value");
		json_t *s = status_invalid(NULL, t->name, causes);
		req_reply_status(rq, s);
		return;
	}
	struct target pt = *t;
	pt.sub = NULL;
	json_t *out = NULL;
	/* The binding goes to the main object: spec.nodeName is not a status field. */
	if (update_loop(rq, &pt, UPDATE_BINDING, mutate_bind, (void *)node, NULL, &out, &status) <
	    0) {
		req_reply_status(rq, status);
		return;
	}
	json_decref(out);
	json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:I}", "kind", "Status", "apiVersion", "v1",
			      "metadata", "status", "Success", "code", (json_int_t)201);
	req_reply_json(rq, 201, s, NULL);
}

static void handle_eviction(struct api_request *rq, const struct target *t);

static void handle_post(struct api_request *rq, const struct target *t)
{
	rq->m_verb = "POST";
	if (t->name && t->sub && !strcmp(t->sub, "binding")) {
		handle_binding(rq, t);
		return;
	}
	if (t->name && t->sub && !strcmp(t->sub, "eviction")) {
		handle_eviction(rq, t);
		return;
	}
	if (t->name) {
		req_reply_status(rq, status_method_not_allowed());
		return;
	}
	json_t *status = write_options_check(rq, "CreateOptions", false, false);
	if (status) {
		req_reply_status(rq, status);
		return;
	}
	json_t *obj = decode_object(rq, t->r, api_resource_api_version(t->r), t->r->kind, &status);
	if (!obj) {
		req_reply_status(rq, status);
		return;
	}
	create_object(rq, t, obj);
}

/* --- DELETE --------------------------------------------------------------- */

struct delete_opts {
	bool has_grace;
	long long grace;
	char *propagation;
	char *pre_uid;
	char *pre_rv;
	bool dry;
};

static void delete_opts_free(struct delete_opts *o)
{
	free(o->propagation);
	free(o->pre_uid);
	free(o->pre_rv);
}

static int delete_opts_parse(struct api_request *rq, struct delete_opts *o, json_t **status)
{
	memset(o, 0, sizeof(*o));
	o->dry = query_dry_run(rq);
	int64_t grace;
	bool has_grace;
	if (req_query_int64(rq, "gracePeriodSeconds", &has_grace, &grace, status) < 0)
		return -1;
	if (has_grace) {
		o->has_grace = true;
		o->grace = grace;
	}
	const char *pp = req_query(rq, "propagationPolicy");
	if (pp)
		o->propagation = xstrdup(pp);
	size_t len;
	const char *data = req_body(rq, &len);
	if (len == 0) {
		cleanup_json json_t *causes = json_array();
		cleanup_json json_t *dry = query_values(rq, "dryRun");
		check_dry_run(dry, causes);
		if (json_array_size(causes)) {
			*status = status_invalid_options("DeleteOptions", causes);
			return -1;
		}
		return 0;
	}
	json_t *body = NULL;
	if (k8s_protobuf_is(data, len)) {
		cleanup_err struct mk_err *err = NULL;
		body = k8s_protobuf_decode(data, len, &err);
		if (!body)
			return 0; /* options we cannot read are the defaults */
	}
	if (!body) {
		json_error_t jerr;
		body = json_loadb(data, len, 0, &jerr);
		if (!json_is_object(body)) {
			json_decref(body);
			cleanup_free char *msg =
				xasprintf("the body of the request is not valid DeleteOptions: %s",
					  jerr.text);
			*status = status_bad_request(msg);
			return -1;
		}
	}
	json_t *v = json_object_get(body, "gracePeriodSeconds");
	if (json_is_integer(v)) {
		o->has_grace = true;
		o->grace = json_integer_value(v);
	}
	const char *p = json_string_value(json_object_get(body, "propagationPolicy"));
	if (p) {
		free(o->propagation);
		o->propagation = xstrdup(p);
	}
	json_t *orphan = json_object_get(body, "orphanDependents");
	if (json_is_true(orphan) && !o->propagation)
		o->propagation = xstrdup("Orphan");
	const char *u = json_path_str(body, "preconditions.uid");
	if (u)
		o->pre_uid = xstrdup(u);
	const char *r = json_path_str(body, "preconditions.resourceVersion");
	if (r)
		o->pre_rv = xstrdup(r);
	json_t *dry = json_object_get(body, "dryRun");
	size_t i;
	json_t *d;
	json_array_foreach(dry, i, d) if (json_is_string(d) && !strcmp(json_string_value(d), "All"))
		o->dry = true;
	{
		cleanup_json json_t *causes = json_array();
		check_dry_run(json_is_array(dry) ? dry : NULL, causes);
		if (json_array_size(causes)) {
			json_decref(body);
			*status = status_invalid_options("DeleteOptions", causes);
			return -1;
		}
	}
	json_decref(body);
	if (o->propagation && strcmp(o->propagation, "Orphan") &&
	    strcmp(o->propagation, "Background") && strcmp(o->propagation, "Foreground")) {
		cleanup_free char *msg = xasprintf(
			"DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported "
			"value: \"%s\": supported values: \"Foreground\", \"Background\", \"Orphan\"",
			o->propagation);
		*status = status_failure(422, "Invalid", msg, NULL);
		return -1;
	}
	return 0;
}

/* Deletes key at rev. Returns 0, 1 when the object changed meanwhile (retry),
 * -1 with *status. Releases the object's allocations on success. */
static int delete_stored(struct api_request *rq, const struct api_resource *r, const char *key,
			 int64_t rev, json_t *obj, json_t **status)
{
	cleanup_err struct mk_err *err = NULL;
	int64_t drev = store_delete(rq->srv->st, key, rev, NULL, &err);
	if (drev < 0) {
		if (mk_err_code(err) == MK_ECONFLICT)
			return 1;
		*status = status_from_err(err, r, obj_name(obj));
		return -1;
	}
	if (r->on_delete)
		r->on_delete(obj);
	return 0;
}

static bool namespace_has_content(struct api_request *rq, const char *ns)
{
	size_t nrows;
	cleanup_free const struct api_resource **rows = api_resource_all(&nrows);
	for (size_t i = 0; i < nrows; i++) {
		const struct api_resource *r = rows[i];
		if (!r->namespaced || !r->storage)
			continue;
		cleanup_free char *prefix = api_prefix(r, ns);
		struct store_list l = {0};
		cleanup_err struct mk_err *err = NULL;
		if (store_list(rq->srv->st, prefix, NULL, 1, 0, &l, &err) < 0)
			return true;
		size_t n = l.n;
		store_list_free(&l);
		if (n)
			return true;
	}
	return false;
}

static bool has_string(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), s))
		return true;
	return false;
}

/* Deletes (or starts deleting) one object. *out: the object as answered. */
static int delete_one(struct api_request *rq, const struct target *t, const struct delete_opts *o,
		      json_t **out, json_t **status)
{
	const struct api_resource *r = t->r;
	struct admission_attrs adm __attribute__((cleanup(admission_attrs_clear))) = {
		.op = ADMISSION_DELETE, .r = r, .ns = t->ns, .name = t->name,
		.dry_run = query_dry_run(rq), .user = rq->user};
	if (admission_mutate(rq->srv->admission, rq->srv->st, &adm, status) < 0 ||
	    admission_validate(rq->srv->admission, rq->srv->st, &adm, status, NULL) < 0)
		return -1;
	cleanup_free char *key = api_key(r, t->ns, t->name);
	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		json_t *cur = NULL;
		int64_t rev;
		if (read_object(rq, t, &cur, &rev, status) < 0)
			return -1;
		cleanup_json json_t *obj = cur;
		json_t *md = json_object_get(obj, "metadata");
		const char *uid = json_string_value(json_object_get(md, "uid"));
		const char *rv = obj_rv(obj);
		if (o->pre_uid && strcmp(o->pre_uid, uid ? uid : "")) {
			cleanup_free char *why = xasprintf("Precondition failed: UID in precondition: "
							   "%s, UID in object meta: %s",
							   o->pre_uid, uid ? uid : "");
			*status = status_conflict(r, t->name, why);
			return -1;
		}
		if (o->pre_rv && strcmp(o->pre_rv, rv ? rv : "")) {
			cleanup_free char *why = xasprintf(
				"Precondition failed: ResourceVersion in precondition: %s, "
				"ResourceVersion in object meta: %s",
				o->pre_rv, rv ? rv : "");
			*status = status_conflict(r, t->name, why);
			return -1;
		}
		json_t *fins = json_object_get(md, "finalizers");
		bool foreground = o->propagation && !strcmp(o->propagation, "Foreground");
		/* batch/v1 Jobs orphan their pods by default, as upstream keeps it
		 * for compatibility */
		bool orphan = o->propagation ? !strcmp(o->propagation, "Orphan")
					     : !strcmp(r->group, "batch") && !strcmp(r->resource, "jobs");
		bool already = json_object_get(md, "deletionTimestamp") != NULL;
		cleanup_json json_t *next = json_copy_deep(obj);
		json_t *nmd = json_object_get(next, "metadata");
		bool keep = false;

		if (!strcmp(r->resource, "namespaces")) {
			if (namespace_has_content(rq, t->name) || !list_empty(fins)) {
				keep = true;
				json_path_set(next, "status.phase", json_string("Terminating"));
				if (!already) {
					char *now = time_now_rfc3339();
					json_object_set_new(nmd, "deletionTimestamp", json_string(now));
					free(now);
					json_object_set_new(nmd, "deletionGracePeriodSeconds",
							    json_integer(0));
				}
			}
		} else {
			bool pod_graceful = false;
			long long grace = 0;
			if (!strcmp(r->resource, "pods")) {
				const char *node = json_path_str(obj, "spec.nodeName");
				const char *phase = json_path_str(obj, "status.phase");
				json_t *tg = json_path_get(obj, "spec.terminationGracePeriodSeconds");
				grace = o->has_grace ? o->grace
						     : (json_is_integer(tg) ? json_integer_value(tg) : 30);
				if (!node || !node[0] ||
				    (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
					grace = 0;
				if (grace < 0)
					grace = 0;
				pod_graceful = grace > 0;
				if (already && pod_graceful) {
					json_t *eg = json_object_get(md, "deletionGracePeriodSeconds");
					long long have = json_is_integer(eg) ? json_integer_value(eg) : 0;
					if (grace >= have) {
						/* Already terminating with a shorter or equal grace. */
						*out = json_incref(obj);
						return 0;
					}
				}
			}
			/* As upstream: the garbage collector acts on these finalizers. */
			const char *gc_fin = foreground ? "foregroundDeletion" : orphan ? "orphan" : NULL;
			if (gc_fin && !has_string(fins, gc_fin)) {
				json_t *nf = json_object_get(nmd, "finalizers");
				if (!json_is_array(nf)) {
					nf = json_array();
					json_object_set_new(nmd, "finalizers", nf);
				}
				json_array_append_new(nf, json_string(gc_fin));
			}
			bool has_fins = !list_empty(json_object_get(nmd, "finalizers"));
			if (pod_graceful || has_fins) {
				keep = true;
				time_t when = time(NULL) + (pod_graceful ? grace : 0);
				if (!already || pod_graceful) {
					char *ts = time_rfc3339(when);
					json_object_set_new(nmd, "deletionTimestamp", json_string(ts));
					free(ts);
					json_object_set_new(nmd, "deletionGracePeriodSeconds",
							    json_integer(pod_graceful ? grace : 0));
				}
			}
		}
		if (keep) {
			if (json_value_equal(next, obj)) {
				*out = json_incref(obj);
				return 0;
			}
			if (o->dry) {
				*out = json_incref(next);
				return 0;
			}
			cleanup_free char *value = object_to_store(r, next);
			cleanup_err struct mk_err *err = NULL;
			int64_t nrev = store_update_ttl(rq->srv->st, key, value, rev,
							object_ttl(rq, r), NULL, &err);
			if (nrev < 0) {
				if (mk_err_code(err) == MK_ECONFLICT)
					continue;
				*status = status_from_err(err, r, t->name);
				return -1;
			}
			set_rv(next, nrev);
			*out = json_incref(next);
			return 0;
		}
		if (o->dry) {
			*out = json_incref(obj);
			return 0;
		}
		int rc = delete_stored(rq, r, key, rev, obj, status);
		if (rc == 1)
			continue;
		if (rc < 0)
			return -1;
		*out = json_incref(obj);
		return 0;
	}
	*status = status_conflict(r, t->name, NULL);
	return -1;
}

static void handle_delete(struct api_request *rq, const struct target *t)
{
	rq->m_verb = "DELETE";
	struct delete_opts o;
	json_t *status = NULL;
	if (delete_opts_parse(rq, &o, &status) < 0) {
		req_reply_status(rq, status);
		return;
	}
	json_t *out = NULL;
	int rc = delete_one(rq, t, &o, &out, &status);
	delete_opts_free(&o);
	if (rc < 0) {
		req_reply_status(rq, status);
		return;
	}
	req_reply_json(rq, 200, out, NULL);
}

static void handle_deletecollection(struct api_request *rq, const struct target *t)
{
	rq->m_verb = "DELETECOLLECTION";
	struct delete_opts o;
	json_t *status = NULL;
	if (delete_opts_parse(rq, &o, &status) < 0) {
		req_reply_status(rq, status);
		return;
	}
	struct api_filter *f = api_filter_new(req_query(rq, "labelSelector"),
					      req_query(rq, "fieldSelector"), t->r, &status);
	if (!f) {
		delete_opts_free(&o);
		req_reply_status(rq, status);
		return;
	}
	int64_t rev, remaining;
	cleanup_free char *cont = NULL;
	cleanup_json json_t *items =
		collect(rq, t, f, 0, NULL, 0, &rev, &cont, &remaining, &status, NULL);
	api_filter_free(f);
	if (!items) {
		delete_opts_free(&o);
		req_reply_status(rq, status);
		return;
	}
	json_t *deleted = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		struct target one = *t;
		one.name = obj_name(it);
		one.ns = json_path_str(it, "metadata.namespace");
		if (!one.name)
			continue;
		json_t *out = NULL, *st = NULL;
		if (delete_one(rq, &one, &o, &out, &st) < 0) {
			json_decref(st);
			continue;
		}
		json_array_append_new(deleted, out);
	}
	delete_opts_free(&o);
	cleanup_free char *lk = list_kind(t->r);
	json_t *list = json_pack("{s:s, s:s, s:{}, s:o}", "kind", lk, "apiVersion",
				 api_resource_api_version(t->r), "metadata", "items", deleted);
	req_reply_json(rq, 200, list, NULL);
}

/* --- eviction (policy/v1) ------------------------------------------------- */

static const char evict_violation[] =
	"Cannot evict pod as it would violate the pod's disruption budget.";

static json_t *too_many_requests(const char *cause, int retry_after)
{
	json_t *details = json_pack("{s:[{s:s, s:s}]}", "causes", "reason", "DisruptionBudget",
				    "message", cause);
	if (retry_after > 0)
		json_object_set_new(details, "retryAfterSeconds", json_integer(retry_after));
	return status_failure(429, "TooManyRequests", evict_violation, details);
}

/* As upstream's canIgnorePDB: a pod that is going, gone or not started yet
 * costs no budget. */
static bool eviction_ignores_budget(const json_t *pod)
{
	const char *phase = json_path_str(pod, "status.phase");
	return json_path_get(pod, "metadata.deletionTimestamp") ||
	       (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") ||
			  !strcmp(phase, "Pending")));
}

static bool pod_ready(const json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path_get(pod, "status.conditions"), i, c)
	{
		const char *type = json_string_value(json_object_get(c, "type"));
		if (type && !strcmp(type, "Ready"))
			return !strcmp(json_path_str(c, "status") ? json_path_str(c, "status") : "",
				       "True");
	}
	return false;
}

/* The PodDisruptionBudgets of pod's namespace whose selector selects it
 * (an empty selector selects nothing here, as upstream): new array of
 * {"obj": pdb, "rev": n}, or NULL with *status. */
static json_t *budgets_of(struct api_request *rq, const json_t *pod, json_t **status)
{
	const struct api_resource *r = api_resource_find("policy", "v1", "poddisruptionbudgets");
	cleanup_free char *prefix = api_prefix(r, json_path_str(pod, "metadata.namespace"));
	struct store_list l = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_list(rq->srv->st, prefix, NULL, 0, 0, &l, &err) < 0) {
		*status = status_from_err(err, r, NULL);
		return NULL;
	}
	json_t *labels = json_path_get(pod, "metadata.labels");
	json_t *out = json_array();
	for (size_t i = 0; i < l.n; i++) {
		json_t *pdb = api_object_from_store(l.items[i].value, l.items[i].mod_rev);
		struct label_selector *sel =
			labels_selector_from_json(json_path_get(pdb, "spec.selector"), NULL);
		if (sel && !labels_selector_empty(sel) && labels_selector_matches(sel, labels))
			json_array_append_new(out, json_pack("{s:o, s:I}", "obj", pdb, "rev",
							     (json_int_t)l.items[i].mod_rev));
		else
			json_decref(pdb);
		labels_selector_free(sel);
	}
	store_list_free(&l);
	return out;
}

/* Takes one disruption from pdb (stored at rev) for pod as upstream's
 * checkAndDecrement. Returns 0, 1 when the budget changed meanwhile
 * (retry), -1 with *status. */
static int budget_take(struct api_request *rq, const json_t *pdb, int64_t rev, const char *pod,
		       bool dry, json_t **status)
{
	const char *name = obj_name(pdb);
	const struct api_resource *r = api_resource_find("policy", "v1", "poddisruptionbudgets");
	long long gen = json_integer_value(json_path_get(pdb, "metadata.generation"));
	long long seen = json_integer_value(json_path_get(pdb, "status.observedGeneration"));
	long long allowed = json_integer_value(json_path_get(pdb, "status.disruptionsAllowed"));
	if (seen < gen) {
		cleanup_free char *c = xasprintf(
			"The disruption budget %s is still being processed by the server.", name);
		*status = too_many_requests(c, 10);
		return -1;
	}
	if (allowed < 0) {
		*status = status_forbidden(r, name, "pdb disruptions allowed is negative");
		return -1;
	}
	json_t *disrupted = json_path_get(pdb, "status.disruptedPods");
	if (json_object_size(disrupted) > 2000) {
		*status = status_forbidden(r, name,
					   "DisruptedPods map too big - too many evictions not "
					   "confirmed by PDB controller");
		return -1;
	}
	if (allowed == 0) {
		cleanup_free char *c = xasprintf(
			"The disruption budget %s needs %lld healthy pods and has %lld currently",
			name, json_integer_value(json_path_get(pdb, "status.desiredHealthy")),
			json_integer_value(json_path_get(pdb, "status.currentHealthy")));
		*status = too_many_requests(c, 0);
		return -1;
	}
	if (dry)
		return 0;
	cleanup_json json_t *next = json_copy_deep(pdb);
	json_path_set(next, "status.disruptionsAllowed", json_integer(allowed - 1));
	if (!json_is_object(json_path_get(next, "status.disruptedPods")))
		json_path_set(next, "status.disruptedPods", json_object());
	char *now = time_now_rfc3339();
	json_object_set_new(json_path_get(next, "status.disruptedPods"), pod, json_string(now));
	if (allowed - 1 == 0) {
		size_t i;
		json_t *c;
		json_array_foreach(json_path_get(next, "status.conditions"), i, c)
		{
			const char *type = json_string_value(json_object_get(c, "type"));
			if (!type || strcmp(type, "DisruptionAllowed"))
				continue;
			json_object_set_new(c, "status", json_string("False"));
			json_object_set_new(c, "reason", json_string("InsufficientPods"));
			json_object_set_new(c, "lastTransitionTime", json_string(now));
		}
	}
	free(now);
	cleanup_free char *key = api_key(r, json_path_str(pdb, "metadata.namespace"), name);
	cleanup_free char *value = object_to_store(r, next);
	cleanup_err struct mk_err *err = NULL;
	if (store_update_ttl(rq->srv->st, key, value, rev, 0, NULL, &err) < 0) {
		if (mk_err_code(err) == MK_ECONFLICT)
			return 1;
		*status = status_from_err(err, r, name);
		return -1;
	}
	return 0;
}

static void handle_eviction(struct api_request *rq, const struct target *t)
{
	json_t *status = write_options_check(rq, "CreateOptions", false, false);
	if (status) {
		req_reply_status(rq, status);
		return;
	}
	cleanup_json json_t *ev = decode_object(rq, t->r, "policy/v1", "Eviction", &status);
	if (!ev) {
		req_reply_status(rq, status);
		return;
	}
	const char *ev_name = obj_name(ev);
	if (ev_name && ev_name[0] && strcmp(ev_name, t->name)) {
		req_reply_status(rq, status_bad_request("name in URL does not match name in "
							"Eviction object"));
		return;
	}
	struct delete_opts o = {.dry = query_dry_run(rq)};
	json_t *dopts = json_object_get(ev, "deleteOptions");
	json_t *grace = json_object_get(dopts, "gracePeriodSeconds");
	if (json_is_integer(grace)) {
		o.has_grace = true;
		o.grace = json_integer_value(grace);
	}
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(dopts, "dryRun"), i, d) if (json_is_string(d) &&
								       !strcmp(json_string_value(d),
									       "All")) o.dry = true;
	struct target pt = *t;
	pt.sub = NULL;
	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		json_t *cur = NULL;
		int64_t rev;
		if (read_object(rq, &pt, &cur, &rev, &status) < 0) {
			req_reply_status(rq, status);
			return;
		}
		cleanup_json json_t *pod = cur;
		if (!eviction_ignores_budget(pod)) {
			cleanup_json json_t *pdbs = budgets_of(rq, pod, &status);
			if (!pdbs) {
				req_reply_status(rq, status);
				return;
			}
			if (json_array_size(pdbs) > 1) {
				req_reply_status(rq, status_internal(
							     "This pod has more than one "
							     "PodDisruptionBudget, which the eviction "
							     "subresource does not support."));
				return;
			}
			json_t *one = json_array_get(pdbs, 0);
			json_t *pdb = json_object_get(one, "obj");
			const char *policy = json_path_str(pdb, "spec.unhealthyPodEvictionPolicy");
			long long healthy =
				json_integer_value(json_path_get(pdb, "status.currentHealthy"));
			long long desired =
				json_integer_value(json_path_get(pdb, "status.desiredHealthy"));
			/* An unready pod adds nothing to the budget: upstream lets it go
			 * when the budget is met (IfHealthyBudget) or always (AlwaysAllow). */
			bool unhealthy_free =
				!pod_ready(pod) &&
				((policy && !strcmp(policy, "AlwaysAllow")) ||
				 (healthy >= desired && desired > 0));
			if (pdb && !unhealthy_free) {
				int rc = budget_take(rq, pdb,
						     json_integer_value(json_object_get(one, "rev")),
						     t->name, o.dry, &status);
				if (rc == 1)
					continue;
				if (rc < 0) {
					req_reply_status(rq, status);
					return;
				}
			}
		}
		json_t *out = NULL;
		if (delete_one(rq, &pt, &o, &out, &status) < 0) {
			req_reply_status(rq, status);
			return;
		}
		json_decref(out);
		json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:I}", "kind", "Status", "apiVersion",
				      "v1", "metadata", "status", "Success", "code",
				      (json_int_t)201);
		req_reply_json(rq, 201, s, NULL);
		return;
	}
	req_reply_status(rq, status_conflict(t->r, t->name, NULL));
}

/* --- the kubelets' subresources ---------------------------------------------- */

static bool to_kubelet(const struct target *t)
{
	return t->sub && t->name && !strcmp(t->r->resource, "pods") &&
	       (!strcmp(t->sub, "log") || !strcmp(t->sub, "exec") || !strcmp(t->sub, "attach") ||
		!strcmp(t->sub, "portforward"));
}

/* The node object named name, or NULL. */
static json_t *node_object(struct api_request *rq, const char *name)
{
	struct target nt = {.r = api_resource_find("", "v1", "nodes"), .name = name};
	json_t *node = NULL, *status = NULL;
	int64_t rev;
	if (!name || !*name || !nt.r || read_object(rq, &nt, &node, &rev, &status) < 0) {
		json_decref(status);
		return NULL;
	}
	return node;
}

static void handle_pod_stream(struct api_request *rq, const struct target *t)
{
	/* upstream counts these as CONNECT (log as GET) */
	rq->m_verb = strcmp(t->sub, "log") ? "CONNECT" : "GET";
	json_t *pod = NULL, *status = NULL;
	int64_t rev;
	if (read_object(rq, t, &pod, &rev, &status) < 0) {
		req_reply_status(rq, status);
		return;
	}
	const char *node_name = json_string_value(json_path_get(pod, "spec.nodeName"));
	json_t *node = node_object(rq, node_name);
	nodeproxy_pod(rq->srv->proxy, rq, t->sub, pod, node);
	json_decref(node);
	json_decref(pod);
}

void handlers_node_proxy(struct api_request *rq, const char *name, const char *path)
{
	rq->m_verb = "CONNECT";
	rq->m_resource = xstrdup("nodes");
	const struct api_resource *r = api_resource_find("", "v1", "nodes");
	json_t *node = node_object(rq, name);
	if (!node) {
		req_reply_status(rq, status_not_found(r, name));
		return;
	}
	nodeproxy_node(rq->srv->proxy, rq, node, path);
	json_decref(node);
}

/* --- dispatch ------------------------------------------------------------- */

void handlers_resource(struct api_request *rq, const char *group, const char *version,
		       char **segs, size_t nsegs)
{
	struct target t;
	if (parse_target(group, version, segs, nsegs, &t) < 0) {
		req_reply_status(rq, status_no_route());
		return;
	}
	rq->m_resource = xstrdup(t.r->resource);
	const char *m = rq->method;
	if (to_kubelet(&t)) {
		bool log = !strcmp(t.sub, "log");
		if (!(!strcmp(m, "GET") || (!log && !strcmp(m, "POST")))) {
			rq->m_verb = m;
			req_reply_status(rq, status_method_not_allowed());
			return;
		}
		handle_pod_stream(rq, &t);
		return;
	}
	const char *verb;
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
		verb = t.name ? "get" : (req_query_bool(rq, "watch") ? "watch" : "list");
	else if (!strcmp(m, "POST"))
		verb = "create";
	else if (!strcmp(m, "PUT"))
		verb = "update";
	else if (!strcmp(m, "PATCH"))
		verb = "patch";
	else if (!strcmp(m, "DELETE"))
		verb = t.name ? "delete" : "deletecollection";
	else
		verb = NULL;
	bool allowed = verb && (t.sub ? true : has_verb(t.r, verb));
	if (t.sub && verb) {
		const struct api_subresource *s = api_resource_sub(t.r, t.sub);
		if (s) {
			allowed = false;
			for (const char *const *v = s->verbs; v && *v; v++)
				allowed |= !strcmp(*v, verb);
		} else {
			allowed = !strcmp(verb, "update") || !strcmp(verb, "patch");
		}
	}
	if (!allowed) {
		rq->m_verb = m;
		req_reply_status(rq, status_method_not_allowed());
		return;
	}
	if (!strcmp(verb, "get"))
		handle_get(rq, &t);
	else if (!strcmp(verb, "list"))
		handle_list(rq, &t);
	else if (!strcmp(verb, "watch")) {
		rq->m_verb = "WATCH";
		json_t *status = NULL;
		struct api_filter *f = api_filter_new(req_query(rq, "labelSelector"),
						      req_query(rq, "fieldSelector"), t.r, &status);
		if (!f) {
			req_reply_status(rq, status);
			return;
		}
		struct list_options lo;
		if (list_options_parse(rq, &lo, &status) < 0) {
			api_filter_free(f);
			req_reply_status(rq, status);
			return;
		}
		struct watch_options wo = {
			.resource_version = lo.resource_version,
			.has_timeout = lo.has_timeout,
			.timeout_seconds = lo.timeout_seconds,
			.bookmarks = req_query_bool(rq, "allowWatchBookmarks"),
		};
		watch_serve(rq->srv->hub, rq, t.r, t.ns, f, &wo);
	} else if (!strcmp(verb, "create"))
		handle_post(rq, &t);
	else if (!strcmp(verb, "update"))
		handle_put(rq, &t);
	else if (!strcmp(verb, "patch"))
		handle_patch(rq, &t);
	else if (!strcmp(verb, "delete"))
		handle_delete(rq, &t);
	else
		handle_deletecollection(rq, &t);
}
