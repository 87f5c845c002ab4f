#include "events.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static json_t *queue;             /* array of [path, event], NULL until started */
static struct client *async_client;

/* Upstream's event correlation: an event repeating one seen before (same
 * source, object, type, reason and message) is not posted again; the first
 * one's count and lastTimestamp are patched instead. Keyed by those fields;
 * each entry is [namespace, name, count]. Bounded: cleared when full, as a
 * missed repeat only costs a new Event. */
#define EVENTS_CACHE_MAX 4096
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *seen;

static char *event_key(const json_t *ev)
{
	const json_t *io = json_object_get(ev, "involvedObject");
	const json_t *src = json_object_get(ev, "source");
	cleanup_json json_t *k = json_pack(
		"[s?,s?,s?,s?,s?,s?,s?,s?,s?,s?,s?]",
		json_string_value(json_object_get(src, "component")),
		json_string_value(json_object_get(src, "host")),
		json_string_value(json_object_get(io, "kind")),
		json_string_value(json_object_get(io, "namespace")),
		json_string_value(json_object_get(io, "name")),
		json_string_value(json_object_get(io, "uid")),
		json_string_value(json_object_get(io, "apiVersion")),
		json_string_value(json_object_get(io, "fieldPath")),
		json_string_value(json_object_get(ev, "type")),
		json_string_value(json_object_get(ev, "reason")),
		json_string_value(json_object_get(ev, "message")));
	return json_dumps(k, JSON_COMPACT);
}

/* Patches the earlier event of ev's key, if any: 1 done, 0 none to patch. */
static int post_repeat(struct client *c, const char *key, const json_t *ev)
{
	pthread_mutex_lock(&cache_lock);
	json_t *entry = json_incref(json_object_get(seen, key));
	pthread_mutex_unlock(&cache_lock);
	if (!entry)
		return 0;
	const char *ns = json_string_value(json_array_get(entry, 0));
	const char *name = json_string_value(json_array_get(entry, 1));
	json_int_t count = json_integer_value(json_array_get(entry, 2)) + 1;
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/events/%s", ns, name);
	cleanup_json json_t *patch = json_pack("{s:I, s:O}", "count", count, "lastTimestamp",
					       json_object_get(ev, "lastTimestamp"));
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *done = client_patch(c, path, "strategic", patch, &err);
	pthread_mutex_lock(&cache_lock);
	if (done)
		json_array_set_new(entry, 2, json_integer(count));
	else
		json_object_del(seen, key); /* expired or gone: post it anew */
	pthread_mutex_unlock(&cache_lock);
	json_decref(entry);
	if (done)
		log_v(2, "Event %s/%s: count %lld", ns, name, (long long)count);
	return done ? 1 : 0;
}

static void remember(const char *key, const json_t *made)
{
	const json_t *md = json_object_get(made, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	if (!ns || !name)
		return;
	pthread_mutex_lock(&cache_lock);
	if (!seen || json_object_size(seen) >= EVENTS_CACHE_MAX) {
		json_decref(seen);
		seen = json_object();
	}
	json_object_set_new(seen, key, json_pack("[s,s,I]", ns, name, (json_int_t)1));
	pthread_mutex_unlock(&cache_lock);
}

static void post(struct client *c, const char *path, const json_t *ev)
{
	cleanup_free char *key = event_key(ev);
	if (post_repeat(c, key, ev))
		return;
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *made = client_create(c, path, ev, &err);
	if (made)
		remember(key, made);
	json_t *io = json_object_get(ev, "involvedObject");
	if (!made)
		log_v(1, "Event(%s %s/%s) %s %s: not recorded: %s",
		      json_string_value(json_object_get(io, "kind")),
		      json_string_value(json_object_get(json_object_get(ev, "metadata"), "namespace")),
		      json_string_value(json_object_get(io, "name")),
		      json_string_value(json_object_get(ev, "reason")),
		      json_string_value(json_object_get(ev, "message")), mk_err_msg(err));
	else
		log_v(2, "Event(%s %s/%s) type: '%s' reason: '%s' %s",
		      json_string_value(json_object_get(io, "kind")),
		      json_string_value(json_object_get(json_object_get(ev, "metadata"), "namespace")),
		      json_string_value(json_object_get(io, "name")),
		      json_string_value(json_object_get(ev, "type")),
		      json_string_value(json_object_get(ev, "reason")),
		      json_string_value(json_object_get(ev, "message")));
}

static void *poster_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&queue_lock);
		while (!json_array_size(queue))
			pthread_cond_wait(&queue_cond, &queue_lock);
		json_t *item = json_incref(json_array_get(queue, 0));
		json_array_remove(queue, 0);
		pthread_mutex_unlock(&queue_lock);
		post(async_client, json_string_value(json_array_get(item, 0)),
		     json_array_get(item, 1));
		json_decref(item);
	}
	return NULL;
}

int events_start_async(struct client *c, struct mk_err **err)
{
	pthread_mutex_lock(&queue_lock);
	if (queue) {
		pthread_mutex_unlock(&queue_lock);
		client_free(c);
		return 0;
	}
	async_client = c;
	queue = json_array();
	pthread_mutex_unlock(&queue_lock);
	pthread_t t;
	int rc = pthread_create(&t, NULL, poster_main, NULL);
	if (rc != 0)
		return mk_err_errno(err, MK_EIO, rc, "starting the event poster");
	pthread_detach(t);
	return 0;
}

void events_post(struct client *c, const char *component, const char *kind,
		 const char *api_version, const json_t *obj, const char *type, const char *reason,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	events_post_from(c, component, NULL, kind, api_version, obj, NULL, type, reason, "%s", msg);
}

void events_post_from(struct client *c, const char *component, const char *host, const char *kind,
		      const char *api_version, const json_t *obj, const char *field_path,
		      const char *type, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	if (!name)
		return;
	/* Events of cluster-scoped objects live in "default", as upstream. */
	const char *event_ns = ns && *ns ? ns : "default";
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	cleanup_free char *stamp = time_rfc3339(now.tv_sec);
	cleanup_free char *micro = time_rfc3339_micro(&now);
	/* upstream names events "<object>.<unix nanoseconds in hex>" */
	cleanup_free char *ev_name = xasprintf(
		"%s.%llx", name, (unsigned long long)now.tv_sec * 1000000000ull + now.tv_nsec);

	json_t *involved = json_pack("{s:s,s:s,s:s}", "kind", kind, "apiVersion", api_version,
				     "name", name);
	if (field_path)
		json_object_set_new(involved, "fieldPath", json_string(field_path));
	const char *keys[] = {"namespace", "uid", "resourceVersion"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(meta, keys[i]);
		if (json_is_string(v))
			json_object_set(involved, keys[i], v);
	}
	cleanup_json json_t *ev = json_pack(
		"{s:s,s:s,s:{s:s,s:s},s:o,s:s,s:s,s:{s:s},s:s,s:s,s:i,s:s,s:s,s:s,s:s}",
		"apiVersion", "v1", "kind", "Event", "metadata", "name", ev_name, "namespace",
		event_ns, "involvedObject", involved, "reason", reason, "message", msg, "source",
		"component", component, "firstTimestamp", stamp, "lastTimestamp", stamp, "count", 1,
		"type", type, "eventTime", micro, "reportingComponent", component,
		"reportingInstance", component);
	if (host)
		json_object_set_new(json_object_get(ev, "source"), "host", json_string(host));
	/* eventTime is for events.k8s.io; core/v1 writers leave it null */
	json_object_set_new(ev, "eventTime", json_null());
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/events", event_ns);
	pthread_mutex_lock(&queue_lock);
	if (queue) {
		if (json_array_size(queue) < EVENTS_QUEUE_MAX) {
			json_array_append_new(queue, json_pack("[s,O]", path, ev));
			pthread_cond_signal(&queue_cond);
		} else {
			log_v(1, "Event(%s %s/%s) %s %s: dropped, too many pending", kind, event_ns,
			      name, reason, msg);
		}
		pthread_mutex_unlock(&queue_lock);
		return;
	}
	pthread_mutex_unlock(&queue_lock);
	post(c, path, ev);
}
