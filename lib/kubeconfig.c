/* kubeconfig loading: YAML/JSON files merged, then the selected context resolved. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "kubeconfig.h"
#include "xalloc.h"
#include "yamldoc.h"

struct kubeconfig {
	char *context;
	char *server;
	char *namespace;
	char *token;
	bool insecure;
	char *ca_file;
	char *cert_file;
	char *key_file;
	struct buf ca_data;
	struct buf cert_data;
	struct buf key_data;
};

/* Fields holding file paths, resolved against the file's directory. */
static const char *const cluster_path_fields[] = {"certificate-authority", NULL};
static const char *const user_path_fields[] = {"client-certificate", "client-key", "tokenFile",
					       NULL};

/* A kubeconfig or token file: far below this in practice. */
#define FILE_MAX (16u << 20)

static int read_file(const char *path, struct buf *out, struct mk_err **err)
{
	size_t len;
	cleanup_free char *text = fs_read_file(path, FILE_MAX, &len, err);
	if (!text)
		return -1;
	buf_append(out, text, len);
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Standard base64 into out; Go's error names the first byte that is not
 * base64. */
static int b64_decode(const char *s, struct buf *out, const char *field, struct mk_err **err)
{
	size_t n;
	cleanup_free char *raw = base64_decode(s, &n);
	if (!raw)
		return mk_err_set(err, MK_EINVAL, "%s: illegal base64 data at input byte %zu",
				  field,
				  strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789+/\r\n"));
	buf_append(out, raw, n);
	return 0;
}

/* Rewrites relative paths of the fields of entry[inner] against dir. */
static void absolutize(json_t *entries, const char *inner, const char *const *fields,
		       const char *dir)
{
	size_t i;
	json_t *e;
	if (!json_is_array(entries) || !dir)
		return;
	json_array_foreach(entries, i, e)
	{
		json_t *o = json_object_get(e, inner);
		if (!json_is_object(o))
			continue;
		for (const char *const *f = fields; *f; f++) {
			const char *v = json_string_value(json_object_get(o, *f));
			if (!v || !*v || v[0] == '/')
				continue;
			cleanup_free char *abs = xasprintf("%s/%s", dir, v);
			json_object_set_new(o, *f, json_string(abs));
		}
	}
}

/* Adds the entries of one file to the merged configuration. */
static int merge_doc(json_t *merged, json_t *doc, const char *dir, const char *origin,
		     struct mk_err **err)
{
	if (json_is_null(doc))
		return 0;
	if (!json_is_object(doc))
		return mk_err_set(err, MK_EINVAL, "%s: kubeconfig is not a mapping", origin);
	static const char *const lists[] = {"clusters", "users", "contexts"};
	absolutize(json_object_get(doc, "clusters"), "cluster", cluster_path_fields, dir);
	absolutize(json_object_get(doc, "users"), "user", user_path_fields, dir);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		json_t *src = json_object_get(doc, lists[i]);
		if (json_is_null(src) || !src)
			continue;
		if (!json_is_array(src))
			return mk_err_set(err, MK_EINVAL, "%s: %s is not a list", origin, lists[i]);
		json_array_extend(json_object_get(merged, lists[i]), src);
	}
	const char *cur = json_string_value(json_object_get(doc, "current-context"));
	if (cur && *cur && !json_object_get(merged, "current-context"))
		json_object_set_new(merged, "current-context", json_string(cur));
	return 0;
}

/* The inner object of the first entry named name in list, or NULL. */
static json_t *find_named(json_t *merged, const char *list, const char *inner, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(merged, list), i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && strcmp(n, name) == 0) {
			json_t *o = json_object_get(e, inner);
			return json_is_object(o) ? o : NULL;
		}
	}
	return NULL;
}

static char *dup_field(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v && *v ? xstrdup(v) : NULL;
}

static int resolve(struct kubeconfig *kc, json_t *merged, const char *context, struct mk_err **err)
{
	if (!context)
		context = json_string_value(json_object_get(merged, "current-context"));
	json_t *ctx = NULL, *cluster = NULL, *user = NULL;
	if (context && *context) {
		ctx = find_named(merged, "contexts", "context", context);
		if (!ctx)
			return mk_err_set(err, MK_EINVAL,
					  "context was not found for specified context: %s",
					  context);
		kc->context = xstrdup(context);
		kc->namespace = dup_field(ctx, "namespace");
		const char *cname = json_string_value(json_object_get(ctx, "cluster"));
		const char *uname = json_string_value(json_object_get(ctx, "user"));
		if (cname && *cname) {
			cluster = find_named(merged, "clusters", "cluster", cname);
			if (!cluster)
				return mk_err_set(err, MK_EINVAL,
						  "cluster \"%s\" of context \"%s\" not found",
						  cname, context);
		}
		if (uname && *uname) {
			user = find_named(merged, "users", "user", uname);
			if (!user)
				return mk_err_set(err, MK_EINVAL,
						  "user \"%s\" of context \"%s\" not found", uname,
						  context);
		}
	}
	if (cluster) {
		kc->server = dup_field(cluster, "server");
		kc->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
		kc->ca_file = dup_field(cluster, "certificate-authority");
		const char *d =
			json_string_value(json_object_get(cluster, "certificate-authority-data"));
		if (d && b64_decode(d, &kc->ca_data, "certificate-authority-data", err) < 0)
			return -1;
	}
	if (user) {
		kc->token = dup_field(user, "token");
		kc->cert_file = dup_field(user, "client-certificate");
		kc->key_file = dup_field(user, "client-key");
		const char *d = json_string_value(json_object_get(user, "client-certificate-data"));
		if (d && b64_decode(d, &kc->cert_data, "client-certificate-data", err) < 0)
			return -1;
		d = json_string_value(json_object_get(user, "client-key-data"));
		if (d && b64_decode(d, &kc->key_data, "client-key-data", err) < 0)
			return -1;
		const char *tf = json_string_value(json_object_get(user, "tokenFile"));
		if (!kc->token && tf && *tf) {
			cleanup_buf struct buf tok = BUF_INIT;
			cleanup_err struct mk_err *terr = NULL;
			if (read_file(tf, &tok, &terr) < 0)
				return mk_err_set(err, MK_EINVAL, "tokenFile: %s",
						  mk_err_msg(terr));
			while (tok.len && strchr(" \t\r\n", tok.data[tok.len - 1]))
				tok.data[--tok.len] = '\0';
			kc->token = buf_steal(&tok);
		}
	}
	if (!kc->server) {
		kc->server = xstrdup(KUBECONFIG_DEFAULT_SERVER);
	} else {
		size_t n = strlen(kc->server);
		while (n > 0 && kc->server[n - 1] == '/')
			kc->server[--n] = '\0';
	}
	return 0;
}

static json_t *merged_new(void)
{
	return json_pack("{s:[],s:[],s:[]}", "clusters", "users", "contexts");
}

static int parse_into(json_t *merged, const char *text, size_t len, const char *dir,
		      const char *origin, struct mk_err **err)
{
	cleanup_json json_t *doc = yamldoc_parse(text, len, err);
	if (!doc)
		return mk_err_wrap(err, "%s", origin);
	return merge_doc(merged, doc, dir, origin, err);
}

struct kubeconfig *kubeconfig_parse(const char *text, size_t len, const char *dir,
				    const char *context, struct mk_err **err)
{
	cleanup_json json_t *merged = merged_new();
	if (parse_into(merged, text, len, dir, "kubeconfig", err) < 0)
		return NULL;
	struct kubeconfig *kc = xcalloc(1, sizeof(*kc));
	if (resolve(kc, merged, context, err) < 0) {
		kubeconfig_free(kc);
		return NULL;
	}
	return kc;
}

static int load_file(json_t *merged, const char *path, bool missing_ok, bool *found,
		     struct mk_err **err)
{
	cleanup_buf struct buf text = BUF_INIT;
	cleanup_err struct mk_err *rerr = NULL;
	if (read_file(path, &text, &rerr) < 0) {
		if (missing_ok && mk_err_code(rerr) == MK_ENOTFOUND)
			return 0;
		*err = steal_pointer(&rerr);
		return -1;
	}
	*found = true;
	cleanup_free char *rel = dir_of(path);
	cleanup_free char *dir = realpath(rel, NULL);
	return parse_into(merged, buf_str(&text), text.len, dir ? dir : rel, path, err);
}

struct kubeconfig *kubeconfig_load(const char *path, struct mk_err **err)
{
	cleanup_json json_t *merged = merged_new();
	bool found = false;
	if (path) {
		if (load_file(merged, path, false, &found, err) < 0)
			return NULL;
	} else {
		const char *env = getenv("KUBECONFIG");
		if (env && *env) {
			cleanup_free char *list = xstrdup(env);
			char *save = NULL;
			for (char *p = strtok_r(list, ":", &save); p;
			     p = strtok_r(NULL, ":", &save))
				if (load_file(merged, p, true, &found, err) < 0)
					return NULL;
		}
		/* As upstream: with $KUBECONFIG set, ~/.kube/config is not read,
		 * even when none of the listed files exists. */
		const char *home = getenv("HOME");
		if (!(env && *env) && home && *home) {
			cleanup_free char *def = xasprintf("%s/.kube/config", home);
			if (load_file(merged, def, true, &found, err) < 0)
				return NULL;
		}
	}
	struct kubeconfig *kc = xcalloc(1, sizeof(*kc));
	if (resolve(kc, merged, NULL, err) < 0) {
		kubeconfig_free(kc);
		return NULL;
	}
	return kc;
}

const char *kubeconfig_server(const struct kubeconfig *kc)
{
	return kc->server;
}

const char *kubeconfig_context(const struct kubeconfig *kc)
{
	return kc->context;
}

const char *kubeconfig_namespace(const struct kubeconfig *kc)
{
	return kc->namespace ? kc->namespace : "default";
}

const char *kubeconfig_token(const struct kubeconfig *kc)
{
	return kc->token;
}

bool kubeconfig_insecure(const struct kubeconfig *kc)
{
	return kc->insecure;
}

const char *kubeconfig_ca_file(const struct kubeconfig *kc)
{
	return kc->ca_file;
}

const char *kubeconfig_client_cert_file(const struct kubeconfig *kc)
{
	return kc->cert_file;
}

const char *kubeconfig_client_key_file(const struct kubeconfig *kc)
{
	return kc->key_file;
}

static const char *data_of(const struct buf *b, size_t *len)
{
	if (len)
		*len = b->len;
	return b->len ? b->data : NULL;
}

const char *kubeconfig_ca_data(const struct kubeconfig *kc, size_t *len)
{
	return data_of(&kc->ca_data, len);
}

const char *kubeconfig_client_cert_data(const struct kubeconfig *kc, size_t *len)
{
	return data_of(&kc->cert_data, len);
}

const char *kubeconfig_client_key_data(const struct kubeconfig *kc, size_t *len)
{
	return data_of(&kc->key_data, len);
}

void kubeconfig_free(struct kubeconfig *kc)
{
	if (!kc)
		return;
	free(kc->context);
	free(kc->server);
	free(kc->namespace);
	free(kc->token);
	free(kc->ca_file);
	free(kc->cert_file);
	free(kc->key_file);
	buf_free(&kc->ca_data);
	buf_free(&kc->cert_data);
	buf_free(&kc->key_data);
	free(kc);
}
