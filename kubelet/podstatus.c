#include "podstatus.h"

#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "podspec.h"
#include "timefmt.h"
#include "xalloc.h"
#include "kubelet/kubelet-internal.h"

static json_t *time_json(time_t t)
{
	if (!t)
		return json_null();
	char *s = time_rfc3339(t);
	json_t *v = json_string(s);
	free(s);
	return v;
}

static const struct kctr *find_ctr(const struct kpod *kp, const char *name, bool init)
{
	for (size_t i = 0; i < kp->nctrs; i++)
		if (kp->ctrs[i].init == init && !strcmp(kp->ctrs[i].name, name))
			return &kp->ctrs[i];
	return NULL;
}

static json_t *terminated_json(const struct kexit *x)
{
	json_t *t = json_pack("{s:i}", "exitCode", x->exit_code);
	if (x->reason)
		json_object_set_new(t, "reason", json_string(x->reason));
	if (x->message && *x->message)
		json_object_set_new(t, "message", json_string(x->message));
	json_object_set_new(t, "startedAt", time_json(x->started));
	json_object_set_new(t, "finishedAt", time_json(x->finished));
	if (x->container_id)
		json_object_set_new(t, "containerID", json_string(x->container_id));
	return t;
}

static json_t *container_status(const json_t *cspec, const struct kctr *c)
{
	const char *name = json_string_value(json_object_get(cspec, "name"));
	const char *image = json_string_value(json_object_get(cspec, "image"));
	json_t *st = json_object();
	json_object_set_new(st, "name", json_string(name ? name : ""));
	json_t *state = json_object();
	json_t *last = json_object();
	bool ready = false, started = false;
	int restarts = 0;
	/* the most recent termination: lastState while waiting to restart */
	const struct kexit *prev = c ? &c->last : NULL;
	if (c && c->state == KCTR_RUNNING) {
		json_object_set_new(state, "running",
				    json_pack("{s:o}", "startedAt", time_json(c->started_at)));
		ready = c->ready;
		started = c->started;
	} else if (c && c->waiting_reason) {
		json_t *w = json_pack("{s:s}", "reason", c->waiting_reason);
		if (c->waiting_message && *c->waiting_message)
			json_object_set_new(w, "message", json_string(c->waiting_message));
		json_object_set_new(state, "waiting", w);
		if (c->cur.valid)
			prev = &c->cur;
	} else if (c && c->state == KCTR_TERMINATED) {
		json_object_set_new(state, "terminated", terminated_json(&c->cur));
	} else {
		json_object_set_new(state, "waiting", json_pack("{s:s}", "reason", "ContainerCreating"));
	}
	if (c) {
		restarts = c->attempt;
		if (prev && prev->valid)
			json_object_set_new(last, "terminated", terminated_json(prev));
	}
	json_object_set_new(st, "state", state);
	json_object_set_new(st, "lastState", last);
	json_object_set_new(st, "ready", json_boolean(ready));
	json_object_set_new(st, "restartCount", json_integer(restarts));
	json_object_set_new(st, "image", json_string(c && c->image_ref && *c->image_ref
							 ? c->image_ref
							 : image ? image : ""));
	json_object_set_new(st, "imageID", json_string(c && c->image_id ? c->image_id : ""));
	if (c && c->id && c->state == KCTR_RUNNING) {
		cleanup_free char *cid = xasprintf("runc://%s", c->id);
		json_object_set_new(st, "containerID", json_string(cid));
	} else if (prev && prev->valid && prev->container_id) {
		json_object_set_new(st, "containerID", json_string(prev->container_id));
	} else if (c && c->state == KCTR_TERMINATED && c->cur.container_id) {
		json_object_set_new(st, "containerID", json_string(c->cur.container_id));
	}
	json_object_set_new(st, "started", json_boolean(started));
	return st;
}

static const char *state_kind(const json_t *st)
{
	json_t *s = json_object_get(st, "state");
	if (json_object_get(s, "running"))
		return "running";
	if (json_object_get(s, "terminated"))
		return "terminated";
	return "waiting";
}

const char *podstatus_phase(const json_t *spec, const json_t *init_statuses,
			    const json_t *statuses)
{
	const char *policy = json_string_value(json_object_get(spec, "restartPolicy"));
	if (!policy)
		policy = "Always";
	bool pending_init = false, failed_init = false;
	size_t i;
	json_t *st;
	json_array_foreach(init_statuses, i, st)
	{
		const char *k = state_kind(st);
		json_t *term = json_path_get(st, "state.terminated");
		if (!strcmp(k, "terminated") &&
		    json_integer_value(json_object_get(term, "exitCode")) == 0)
			continue;
		if (!strcmp(k, "terminated") || (!strcmp(k, "waiting") &&
						 json_path_get(st, "lastState.terminated")))
			failed_init = true;
		pending_init = true;
	}
	if (failed_init && !strcmp(policy, "Never"))
		return "Failed";
	int running = 0, stopped = 0, succeeded = 0, waiting = 0;
	json_array_foreach(statuses, i, st)
	{
		const char *k = state_kind(st);
		if (!strcmp(k, "running")) {
			running++;
		} else if (!strcmp(k, "terminated")) {
			stopped++;
			if (json_integer_value(json_path_get(st, "state.terminated.exitCode")) == 0)
				succeeded++;
		} else if (json_path_get(st, "lastState.terminated")) {
			stopped++;
		} else {
			waiting++;
		}
	}
	if (pending_init || waiting > 0)
		return "Pending";
	if (running > 0)
		return "Running";
	if (stopped > 0) {
		if (!strcmp(policy, "Always"))
			return "Running";
		if (stopped == succeeded)
			return "Succeeded";
		if (!strcmp(policy, "Never"))
			return "Failed";
		return "Running";
	}
	return "Pending";
}

bool podstatus_terminal(const json_t *status)
{
	const char *p = json_string_value(json_object_get(status, "phase"));
	return p && (!strcmp(p, "Succeeded") || !strcmp(p, "Failed"));
}

/* A condition, keeping lastTransitionTime from old while status is the same. */
static json_t *condition(const json_t *old, const char *type, bool ok, const char *reason,
			 const char *message, time_t now)
{
	const char *status = ok ? "True" : "False";
	json_t *c = json_pack("{s:s, s:s, s:n}", "type", type, "status", status, "lastProbeTime");
	json_t *prev = NULL;
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(old, "conditions"), i, o)
	{
		const char *t = json_string_value(json_object_get(o, "type"));
		if (t && !strcmp(t, type))
			prev = o;
	}
	const char *ps = json_string_value(json_object_get(prev, "status"));
	json_t *ltt = json_object_get(prev, "lastTransitionTime");
	if (ps && !strcmp(ps, status) && json_is_string(ltt))
		json_object_set(c, "lastTransitionTime", ltt);
	else
		json_object_set_new(c, "lastTransitionTime", time_json(now));
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (message)
		json_object_set_new(c, "message", json_string(message));
	return c;
}

/* "containers with unready status: [a b]" over statuses whose predicate fails. */
static char *unready_names(const json_t *statuses, bool init)
{
	cleanup_buf struct buf b = BUF_INIT;
	size_t i;
	json_t *st;
	json_array_foreach(statuses, i, st)
	{
		bool ok;
		if (init)
			ok = !strcmp(state_kind(st), "terminated") &&
			     json_integer_value(json_path_get(st, "state.terminated.exitCode")) == 0;
		else
			ok = json_is_true(json_object_get(st, "ready"));
		if (ok)
			continue;
		buf_printf(&b, "%s%s", b.len ? " " : "",
			   json_string_value(json_object_get(st, "name")));
	}
	return b.len ? buf_steal(&b) : NULL;
}

json_t *podstatus_compute(const struct kpod *kp, const json_t *pod, const char *host_ip,
			  const json_t *old, time_t now)
{
	const json_t *spec = json_object_get(pod, "spec");
	json_t *st = json_object();
	json_t *init_statuses = json_array(), *statuses = json_array();
	size_t i;
	json_t *cs;
	json_array_foreach(json_object_get(spec, "initContainers"), i, cs)
	{
		const char *name = json_string_value(json_object_get(cs, "name"));
		json_array_append_new(init_statuses,
				      container_status(cs, name ? find_ctr(kp, name, true) : NULL));
	}
	json_array_foreach(json_object_get(spec, "containers"), i, cs)
	{
		const char *name = json_string_value(json_object_get(cs, "name"));
		json_array_append_new(statuses,
				      container_status(cs, name ? find_ctr(kp, name, false) : NULL));
	}
	const char *phase = podstatus_phase(spec, init_statuses, statuses);
	/* A pod that was terminal stays so (upstream never leaves a terminal phase). */
	if (podstatus_terminal(old))
		phase = json_string_value(json_object_get(old, "phase"));
	bool terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
	json_object_set_new(st, "phase", json_string(phase));

	json_t *conds = json_array();
	json_array_append_new(conds, condition(old, "PodReadyToStartContainers",
					       kp->sandbox_ready && !terminal, NULL, NULL, now));
	cleanup_free char *init_unready = unready_names(init_statuses, true);
	cleanup_free char *unready = unready_names(statuses, false);
	cleanup_free char *init_msg =
		init_unready ? xasprintf("containers with incomplete status: [%s]", init_unready)
			     : NULL;
	bool initialized = !init_unready;
	json_array_append_new(conds, condition(old, "Initialized", initialized,
					       initialized ? NULL : "ContainersNotInitialized",
					       init_msg, now));
	const char *ready_reason = NULL;
	cleanup_free char *ready_msg = NULL;
	bool ready = !unready && initialized && !terminal;
	if (terminal) {
		ready_reason = "PodCompleted";
	} else if (!initialized) {
		ready_reason = "ContainersNotInitialized";
		ready_msg = xstrdup(init_msg);
	} else if (unready) {
		ready_reason = "ContainersNotReady";
		ready_msg = xasprintf("containers with unready status: [%s]", unready);
	}
	json_array_append_new(conds, condition(old, "ContainersReady", ready, ready_reason,
					       ready_msg, now));
	json_array_append_new(conds, condition(old, "Ready", ready, ready_reason, ready_msg, now));
	json_array_append_new(conds, condition(old, "PodScheduled", true, NULL, NULL, now));
	json_object_set_new(st, "conditions", conds);

	if (host_ip) {
		json_object_set_new(st, "hostIP", json_string(host_ip));
		json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", host_ip));
	}
	bool host_network = json_is_true(json_object_get(spec, "hostNetwork"));
	const char *ip = host_network ? host_ip : kp->pod_ip;
	if (ip) {
		json_object_set_new(st, "podIP", json_string(ip));
		json_t *ips = json_array();
		if (!host_network && json_array_size(kp->pod_ips)) {
			json_t *v;
			json_array_foreach(kp->pod_ips, i, v)
				json_array_append_new(ips, json_pack("{s:O}", "ip", v));
		} else {
			json_array_append_new(ips, json_pack("{s:s}", "ip", ip));
		}
		json_object_set_new(st, "podIPs", ips);
	}
	if (kp->start_time)
		json_object_set_new(st, "startTime", time_json(kp->start_time));
	if (json_array_size(init_statuses))
		json_object_set_new(st, "initContainerStatuses", init_statuses);
	else
		json_decref(init_statuses);
	json_object_set_new(st, "containerStatuses", statuses);
	json_object_set_new(st, "qosClass", json_string(podspec_qos_class(spec)));
	return st;
}
