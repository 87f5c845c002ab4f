/* host-local IPAM plugin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cni/host-local/alloc.h"
#include "cni/skel/skel.h"
#include "xalloc.h"

static const char *const known_args[] = {"IP", NULL};

static int load(struct cni_ctx *ctx, bool allow_no_ranges, struct hl_config **c,
		struct mk_err **err)
{
	cleanup_json json_t *args = NULL;
	if (cni_args_parse(ctx, known_args, &args, err) < 0)
		return -1;
	return hl_config_parse(ctx->conf, ctx->args, allow_no_ranges, c, err);
}

static void release_all(struct hl_store *st, struct cni_ctx *ctx)
{
	struct mk_err *e = NULL;
	hl_release(st, ctx->container_id, ctx->ifname, &e);
	mk_err_free(e);
}

static int hl_add(struct cni_ctx *ctx, struct mk_err **err)
{
	struct hl_config *c;
	if (load(ctx, false, &c, err) < 0)
		return -1;
	int rc = -1;
	struct hl_store *st = NULL;
	json_t *res = json_pack("{s:s,s:[],s:[]}", "cniVersion", "1.1.0", "ips", "routes");
	bool *used = xcalloc(c->nreq + 1, sizeof(bool));
	if (c->resolv_conf) {
		json_t *dns = hl_resolv_parse(c->resolv_conf, err);
		if (!dns)
			goto out;
		json_object_set_new(res, "dns", dns);
	}
	st = hl_store_open(c->data_dir, c->name, err);
	if (!st)
		goto out;
	for (size_t i = 0; i < c->nsets; i++) {
		const struct ipaddr *req = NULL;
		for (size_t k = 0; k < c->nreq && !req; k++) {
			if (!used[k] && hl_rangeset_contains(&c->sets[i], &c->req[k])) {
				req = &c->req[k];
				used[k] = true;
			}
		}
		struct ipaddr_net addr;
		struct ipaddr gw;
		if (hl_alloc_get(st, &c->sets[i], (int)i, ctx->container_id, ctx->ifname, req, &addr,
				 &gw, err) < 0) {
			if (i > 0)
				release_all(st, ctx);
			mk_err_wrap(err, "failed to allocate for range %zu", i);
			goto out;
		}
		char b[IPADDR_STRLEN];
		cleanup_free char *a = ipaddr_net_str(&addr);
		json_array_append_new(json_object_get(res, "ips"),
				      json_pack("{s:s,s:s}", "address", a, "gateway",
						ipaddr_str(&gw, b)));
	}
	bool left = false;
	for (size_t k = 0; k < c->nreq; k++)
		left |= !used[k];
	if (left) {
		release_all(st, ctx);
		char *msg = xstrdup("failed to allocate all requested IPs:");
		for (size_t k = 0; k < c->nreq; k++) {
			if (used[k])
				continue;
			char b[IPADDR_STRLEN];
			char *n = xasprintf("%s %s", msg, ipaddr_str(&c->req[k], b));
			free(msg);
			msg = n;
		}
		mk_err_set(err, MK_EINVAL, "%s", msg);
		free(msg);
		goto out;
	}
	if (c->routes)
		json_object_set(res, "routes", c->routes);
	json_t *out = cni_result_convert(res, ctx->version, err);
	if (!out) {
		release_all(st, ctx);
		goto out;
	}
	cni_print_json(out);
	json_decref(out);
	rc = 0;
out:
	free(used);
	json_decref(res);
	hl_store_close(st);
	hl_config_free(c);
	return rc;
}

static int hl_del(struct cni_ctx *ctx, struct mk_err **err)
{
	struct hl_config *c;
	/* DEL releases by (id, ifname) over the whole network directory, so it works
	 * even when the runtime no longer sends the ranges (ipRanges). */
	if (load(ctx, true, &c, err) < 0)
		return -1;
	struct hl_store *st = hl_store_open(c->data_dir, c->name, err);
	int rc = -1;
	if (st)
		rc = hl_release(st, ctx->container_id, ctx->ifname, err);
	hl_store_close(st);
	hl_config_free(c);
	return rc;
}

static int hl_check(struct cni_ctx *ctx, struct mk_err **err)
{
	struct hl_config *c;
	if (load(ctx, false, &c, err) < 0)
		return -1;
	struct hl_store *st = hl_store_open(c->data_dir, c->name, err);
	int rc = -1;
	if (st) {
		if (hl_find(st, ctx->container_id, ctx->ifname))
			rc = 0;
		else
			mk_err_set(err, MK_ENOTFOUND,
				   "host-local: Failed to find address added by container %s",
				   ctx->container_id);
	}
	hl_store_close(st);
	hl_config_free(c);
	return rc;
}

static int hl_gc_verb(struct cni_ctx *ctx, struct mk_err **err)
{
	/* A list that cannot be read frees nothing. */
	const json_t *valid;
	if (cni_gc_valid_attachments(ctx, &valid, err) < 0)
		return -1;
	struct hl_config *c;
	if (hl_config_parse(ctx->conf, NULL, true, &c, err) < 0)
		return -1;
	cleanup_json json_t *empty = json_array();
	struct hl_store *st = hl_store_open(c->data_dir, c->name, err);
	int rc = -1;
	if (st)
		rc = hl_gc(st, valid ? valid : empty, err);
	hl_store_close(st);
	hl_config_free(c);
	return rc;
}

static int hl_status(struct cni_ctx *ctx, struct mk_err **err)
{
	struct hl_config *c;
	if (hl_config_parse(ctx->conf, NULL, true, &c, err) < 0)
		return cni_fail(ctx, err, CNI_ERR_NOT_AVAILABLE, NULL, "%s", "invalid configuration");
	struct hl_store *st = hl_store_open(c->data_dir, c->name, err);
	int rc = st ? 0 : -1;
	bool all_full = st && c->nsets > 0;
	for (size_t i = 0; st && i < c->nsets; i++)
		if (!hl_rangeset_full(st, &c->sets[i]))
			all_full = false;
	if (all_full)
		rc = cni_fail(ctx, err, CNI_ERR_NOT_AVAILABLE, NULL,
			      "no IP addresses available in any range set");
	hl_store_close(st);
	hl_config_free(c);
	return rc;
}

int main(void)
{
	static const struct cni_plugin plugin = {
		.name = "host-local",
		.add = hl_add,
		.del = hl_del,
		.check = hl_check,
		.gc = hl_gc_verb,
		.status = hl_status,
	};
	return cni_skel_main(&plugin);
}
