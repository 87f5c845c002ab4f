#include "leaderelect.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cleanup.h"
#include "timefmt.h"
#include "names.h"
#include "xalloc.h"

struct leader_elector {
	struct client *c;
	char *ns, *name, *identity, *path, *collection;
	int lease_seconds;
};

struct leader_elector *leader_elector_new(struct client *c, const char *ns, const char *name,
					  const char *identity, int lease_seconds)
{
	struct leader_elector *le = xcalloc(1, sizeof(*le));
	le->c = c;
	le->ns = xstrdup(ns);
	le->name = xstrdup(name);
	le->identity = xstrdup(identity);
	le->lease_seconds = lease_seconds;
	le->collection = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns);
	le->path = xasprintf("%s/%s", le->collection, name);
	return le;
}

void leader_elector_free(struct leader_elector *le)
{
	if (!le)
		return;
	free(le->ns);
	free(le->name);
	free(le->identity);
	free(le->path);
	free(le->collection);
	free(le);
}

char *leader_identity_new(void)
{
	char host[256] = "localhost";
	if (gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "localhost");
	cleanup_free char *uid = names_uid_new();
	return xasprintf("%s_%s", host, uid);
}

static char *micro_now(time_t now)
{
	struct timespec ts = {.tv_sec = now, .tv_nsec = 0};
	struct timespec real;
	if (clock_gettime(CLOCK_REALTIME, &real) == 0 && real.tv_sec == now)
		ts.tv_nsec = real.tv_nsec;
	return time_rfc3339_micro(&ts);
}

int leader_elector_try(struct leader_elector *le, time_t now, struct mk_err **err)
{
	cleanup_free char *stamp = micro_now(now);
	cleanup_err struct mk_err *gerr = NULL;
	cleanup_json json_t *lease = client_get(le->c, le->path, &gerr);
	if (!lease && mk_err_code(gerr) != MK_ENOTFOUND) {
		mk_err_set(err, mk_err_code(gerr), "%s", mk_err_msg(gerr));
		return mk_err_wrap(err, "reading lease %s/%s", le->ns, le->name);
	}
	if (!lease) {
		cleanup_json json_t *fresh = json_pack(
			"{s:s,s:s,s:{s:s,s:s},s:{s:s,s:i,s:s,s:s,s:i}}", "apiVersion",
			"coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", le->name,
			"namespace", le->ns, "spec", "holderIdentity", le->identity,
			"leaseDurationSeconds", le->lease_seconds, "acquireTime", stamp, "renewTime",
			stamp, "leaseTransitions", 0);
		cleanup_err struct mk_err *cerr = NULL;
		cleanup_json json_t *made = client_create(le->c, le->collection, fresh, &cerr);
		if (made)
			return 1;
		if (mk_err_code(cerr) == MK_EEXISTS)
			return 0; /* someone else was faster */
		mk_err_set(err, mk_err_code(cerr), "%s", mk_err_msg(cerr));
		return mk_err_wrap(err, "creating lease %s/%s", le->ns, le->name);
	}

	json_t *spec = json_object_get(lease, "spec");
	if (!json_is_object(spec)) {
		spec = json_object();
		json_object_set_new(lease, "spec", spec);
	}
	const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
	bool mine = holder && !strcmp(holder, le->identity);
	if (!mine && holder && *holder) {
		const char *renew = json_string_value(json_object_get(spec, "renewTime"));
		json_int_t dur = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
		time_t t;
		if (renew && time_parse_rfc3339(renew, &t, NULL) == 0 && t + dur > now)
			return 0; /* held and alive */
	}
	if (!mine) {
		json_int_t tr = json_integer_value(json_object_get(spec, "leaseTransitions"));
		json_object_set_new(spec, "leaseTransitions", json_integer(tr + 1));
		json_object_set_new(spec, "holderIdentity", json_string(le->identity));
		json_object_set_new(spec, "acquireTime", json_string(stamp));
	}
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(le->lease_seconds));
	json_object_set_new(spec, "renewTime", json_string(stamp));
	cleanup_err struct mk_err *uerr = NULL;
	cleanup_json json_t *updated = client_update(le->c, le->path, lease, &uerr);
	if (updated)
		return 1;
	if (mk_err_code(uerr) == MK_ECONFLICT)
		return 0; /* another candidate renewed or took it first */
	mk_err_set(err, mk_err_code(uerr), "%s", mk_err_msg(uerr));
	return mk_err_wrap(err, "updating lease %s/%s", le->ns, le->name);
}
