/* The kubelet's side of images: upstream's pull policies, pull secrets,
 * the waiting reasons and events a pull produces, pull back-off, the
 * Node's status.images, and image garbage collection. */
#include <string.h>

#include "base64.h"
#include "cleanup.h"
#include "imageref.h"
#include "imagestore.h"
#include "json.h"
#include "log.h"
#include "podspec.h"
#include "registries.h"
#include "xalloc.h"
#include "kubelet/kubelet-internal.h"

#define IMAGE_BACKOFF_INITIAL_MS 10000
#define IMAGE_BACKOFF_MAX_MS	 300000

/* The auths of every kubernetes.io/dockerconfigjson secret the pod names in
 * imagePullSecrets, merged into one .dockerconfigjson document (new string)
 * or NULL when there are none. Secrets that cannot be read are skipped, as
 * upstream does (with a warning event). */
static char *pull_auths(struct kubelet *k, const json_t *pod)
{
	if (!k->c)
		return NULL;
	json_t *list = json_path_get(pod, "spec.imagePullSecrets");
	if (!json_array_size(list))
		return NULL;
	const char *ns = json_string_value(json_path_get(pod, "metadata.namespace"));
	cleanup_json json_t *auths = json_object();
	size_t i;
	json_t *ref;
	json_array_foreach(list, i, ref)
	{
		const char *name = json_string_value(json_object_get(ref, "name"));
		if (!name)
			continue;
		cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/secrets/%s", ns, name);
		cleanup_err struct mk_err *err = NULL;
		cleanup_json json_t *sec = client_get(k->c, path, &err);
		if (!sec) {
			kubelet_event(
				k, pod, NULL, "Warning", "FailedToRetrieveImagePullSecret",
				"Unable to retrieve some image pull secrets (%s); attempting to "
				"pull the image may not succeed.",
				name);
			continue;
		}
		const char *data = json_string_value(
			json_object_get(json_object_get(sec, "data"), ".dockerconfigjson"));
		if (!data)
			continue;
		cleanup_free char *text = base64_decode(data, NULL);
		if (!text)
			continue;
		cleanup_json json_t *doc = json_loads(text, 0, NULL);
		json_t *a = json_object_get(doc, "auths");
		if (json_is_object(a))
			json_object_update(auths, a);
	}
	if (!json_object_size(auths))
		return NULL;
	cleanup_json json_t *out = json_pack("{s:O}", "auths", auths);
	return json_dump_compact(out);
}

static char *format_duration(int64_t ms)
{
	if (ms < 1000)
		return xasprintf("%lldms", (long long)ms);
	return xasprintf("%.3fs", (double)ms / 1000);
}

int images_ensure(struct kubelet *k, struct kpod *kp, const json_t *pod, const json_t *cspec,
		  struct kctr *c, struct imagestore_image **out, int64_t *requeue_ms,
		  struct mk_err **err)
{
	const char *image = json_string_value(json_object_get(cspec, "image"));
	const char *policy = json_string_value(json_object_get(cspec, "imagePullPolicy"));
	if (!policy)
		policy = podspec_default_pull_policy(image);
	struct imageref ref = {0};
	cleanup_err struct mk_err *perr = NULL;
	if (!image || imageref_parse(image, &ref, &perr) < 0) {
		cleanup_free char *msg =
			xasprintf("Failed to apply default image tag \"%s\": couldn't parse image "
				  "name \"%s\": %s",
				  image ? image : "", image ? image : "", mk_err_msg(perr));
		kctr_set_waiting(k, c, "InvalidImageName", msg);
		kubelet_event(k, pod, NULL, "Warning", "InspectFailed", "%s", msg);
		return mk_err_set(err, MK_EINVAL, "%s", msg);
	}
	cleanup_free char *full = imageref_string(&ref);
	imageref_clear(&ref);

	struct imagestore_image *img = NULL;
	cleanup_err struct mk_err *lerr = NULL;
	bool present = imagestore_lookup(k->images, full, &img, &lerr) == 0;
	if (present && strcmp(policy, "Always")) {
		if (!c->created_event_sent)
			kubelet_event(k, pod, NULL, "Normal", "Pulled",
				      "Container image \"%s\" already present on machine", image);
		*out = img;
		return 0;
	}
	if (!strcmp(policy, "Never")) {
		imagestore_image_free(img);
		cleanup_free char *msg = xasprintf(
			"Container image \"%s\" is not present with pull policy of Never", image);
		kctr_set_waiting(k, c, "ErrImageNeverPull", msg);
		kubelet_event(k, pod, NULL, "Warning", "ErrImageNeverPull", "%s", msg);
		*requeue_ms = 10000;
		return mk_err_set(err, MK_ENOTFOUND, "%s", msg);
	}
	imagestore_image_free(img);
	img = NULL;

	int64_t now = kubelet_now_ms();
	if (c->image_backoff_until > now) {
		cleanup_free char *msg = xasprintf("Back-off pulling image \"%s\"", image);
		kctr_set_waiting(k, c, "ImagePullBackOff", msg);
		kubelet_event(k, pod, NULL, "Normal", "BackOff", "%s", msg);
		*requeue_ms = c->image_backoff_until - now;
		return mk_err_set(err, MK_EUNAVAILABLE, "%s", msg);
	}
	kubelet_event(k, pod, NULL, "Normal", "Pulling", "Pulling image \"%s\"", image);
	cleanup_free char *auths = pull_auths(k, pod);
	struct registries *regs = NULL;
	cleanup_err struct mk_err *rerr = NULL;
	regs = registries_load(k->cfg.registry_config, &rerr);
	if (!regs && mk_err_code(rerr) != MK_ENOTFOUND)
		log_warn("reading %s: %s", k->cfg.registry_config, mk_err_msg(rerr));
	struct imagestore_pull_opts o = {.registries = regs, .pull_auths = auths};
	int64_t t0 = kubelet_now_ms();
	cleanup_err struct mk_err *pull_err = NULL;
	if (k->cfg.serialize_image_pulls)
		pthread_mutex_lock(&k->pull_mu);
	int r = imagestore_pull(k->images, full, &o, &img, &pull_err);
	if (k->cfg.serialize_image_pulls)
		pthread_mutex_unlock(&k->pull_mu);
	registries_free(regs);
	int64_t took = kubelet_now_ms() - t0;
	if (r < 0) {
		cleanup_free char *msg = xasprintf("failed to pull and unpack image \"%s\": %s",
						   full, mk_err_msg(pull_err));
		kctr_set_waiting(k, c, "ErrImagePull", msg);
		kubelet_event(k, pod, NULL, "Warning", "Failed", "Failed to pull image \"%s\": %s",
			      image, msg);
		kubelet_event(k, pod, NULL, "Warning", "Failed", "Error: ErrImagePull");
		c->image_backoff_ms =
			c->image_backoff_ms ? c->image_backoff_ms * 2 : IMAGE_BACKOFF_INITIAL_MS;
		if (c->image_backoff_ms > IMAGE_BACKOFF_MAX_MS)
			c->image_backoff_ms = IMAGE_BACKOFF_MAX_MS;
		c->image_backoff_until = kubelet_now_ms() + c->image_backoff_ms;
		*requeue_ms = c->image_backoff_ms;
		return mk_err_set(err, mk_err_code(pull_err), "%s", msg);
	}
	c->image_backoff_ms = 0;
	c->image_backoff_until = 0;
	cleanup_free char *dur = format_duration(took);
	kubelet_event(k, pod, NULL, "Normal", "Pulled",
		      "Successfully pulled image \"%s\" in %s (%s including waiting). Image size: "
		      "%llu bytes.",
		      image, dur, dur, (unsigned long long)img->size);
	(void)kp;
	*out = img;
	return 0;
}

json_t *node_images(struct kubelet *k)
{
	struct imagestore_image **imgs = NULL;
	size_t n = 0;
	cleanup_err struct mk_err *err = NULL;
	if (!k->images || imagestore_list(k->images, &imgs, &n, &err) < 0)
		return NULL;
	json_t *out = json_array();
	for (size_t i = 0; i < n && i < 50; i++) {
		json_t *names = json_array();
		for (size_t j = 0; j < imgs[i]->n_digests; j++)
			json_array_append_new(names, json_string(imgs[i]->repo_digests[j]));
		for (size_t j = 0; j < imgs[i]->n_tags; j++)
			json_array_append_new(names, json_string(imgs[i]->repo_tags[j]));
		json_array_append_new(out, json_pack("{s:o, s:I}", "names", names, "sizeBytes",
						     (json_int_t)imgs[i]->size));
	}
	imagestore_images_free(imgs, n);
	return out;
}

/* Periodic: upstream's image garbage collection by disk use. */
void images_gc_tick(void *arg)
{
	struct kubelet *k = arg;
	struct imagestore_gc_result res = {0};
	cleanup_err struct mk_err *err = NULL;
	if (imagestore_gc(k->images, (int)k->cfg.image_gc_high_percent,
			  (int)k->cfg.image_gc_low_percent, k->cfg.image_minimum_gc_age_ms / 1000,
			  &res, &err) < 0) {
		log_warn("Image garbage collection failed: %s", mk_err_msg(err));
		return;
	}
	if (res.removed)
		log_info("Image garbage collection removed %zu images (%llu bytes)", res.removed,
			 (unsigned long long)res.freed);
}
