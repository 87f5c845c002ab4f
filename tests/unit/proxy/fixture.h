/* Loading kube-proxy test fixtures: {"config": {...}, "services": [...],
 * "slices": [...]} from tests/fixtures/proxy, and golden-file comparison. */
#ifndef TEST_PROXY_FIXTURE_H
#define TEST_PROXY_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "proxy/model.h"
#include "xalloc.h"

struct fixture {
	json_t *root;
	struct proxy_config cfg;
	struct proxy_state st;
	struct proxy_model *model;
	char *node_ips[8];
};

static inline char *fixture_path(const char *name)
{
	const char *root = getenv("MK_ROOT");
	return xasprintf("%s/tests/fixtures/proxy/%s", root ? root : ".", name);
}

static inline char *fixture_read(const char *name)
{
	char *path = fixture_path(name);
	FILE *f = fopen(path, "r");
	if (!f) {
		free(path);
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *s = xmalloc(cap);
	size_t r;
	while ((r = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n - 1 == 0)
			s = xrealloc(s, cap *= 2);
	}
	s[n] = '\0';
	fclose(f);
	free(path);
	return s;
}

static inline void fixture_load(struct fixture *fx, const char *name)
{
	memset(fx, 0, sizeof(*fx));
	char *path = fixture_path(name);
	json_error_t jerr;
	fx->root = json_load_file(path, 0, &jerr);
	if (!fx->root)
		fail_msg("%s: %s", path, jerr.text);
	free(path);
	proxy_config_init(&fx->cfg);
	json_t *c = json_object_get(fx->root, "config");
	fx->cfg.node_name = json_string_value(json_object_get(c, "nodeName"));
	fx->cfg.cluster_cidr = json_string_value(json_object_get(c, "clusterCIDR"));
	fx->cfg.service_cidr = json_string_value(json_object_get(c, "serviceCIDR"));
	fx->cfg.node_ip = json_string_value(json_object_get(c, "nodeIP"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c, "nodeIPs"), i, v)
		if (i < 8)
			fx->node_ips[fx->cfg.n_node_ips++] = (char *)json_string_value(v);
	fx->cfg.node_ips = fx->node_ips;
	if (json_is_boolean(json_object_get(c, "randomFully")))
		fx->cfg.random_fully = json_is_true(json_object_get(c, "randomFully"));
	if (json_is_boolean(json_object_get(c, "masqueradeAll")))
		fx->cfg.masquerade_all = json_is_true(json_object_get(c, "masqueradeAll"));
	proxy_state_init(&fx->st);
	json_array_foreach(json_object_get(fx->root, "services"), i, v) {
		char *key = xasprintf("%s", json_string_value(json_object_get(
						      json_object_get(v, "metadata"), "namespace")));
		char *k2 = xasprintf("%s/%s", key,
				     json_string_value(json_object_get(json_object_get(v, "metadata"),
								       "name")));
		proxy_state_set_service(&fx->st, k2, v);
		free(key);
		free(k2);
	}
	json_array_foreach(json_object_get(fx->root, "slices"), i, v)
		proxy_state_set_slice(&fx->st, v, false);
	fx->model = proxy_model_build(&fx->st, &fx->cfg);
}

static inline void fixture_free(struct fixture *fx)
{
	proxy_model_free(fx->model);
	proxy_state_free(&fx->st);
	json_decref(fx->root);
}

/* Compares text with the golden file; UPDATE_GOLDEN=1 rewrites it instead. */
static inline void golden_check(const char *name, const char *text)
{
	if (getenv("UPDATE_GOLDEN")) {
		char *path = fixture_path(name);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
		free(path);
		return;
	}
	char *want = fixture_read(name);
	if (!want)
		fail_msg("golden file %s missing (UPDATE_GOLDEN=1 writes it)", name);
	if (strcmp(want, text)) {
		/* print the first differing line */
		const char *a = want, *b = text;
		int line = 1;
		while (*a && *a == *b) {
			if (*a == '\n')
				line++;
			a++;
			b++;
		}
		fail_msg("%s differs at line %d:\nwant: %.120s\ngot:  %.120s", name, line, a, b);
	}
	free(want);
}

/* Equal strings, or a failure showing the diff. */
static inline void assert_same_text(const char *got, const char *want)
{
	if (!strcmp(got, want))
		return;
	char a[] = "/tmp/ipt-got-XXXXXX", b[] = "/tmp/ipt-want-XXXXXX";
	int fa = mkstemp(a), fb = mkstemp(b);
	assert_true(fa >= 0 && fb >= 0);
	assert_true(write(fa, got, strlen(got)) >= 0 && write(fb, want, strlen(want)) >= 0);
	close(fa);
	close(fb);
	char *cmd = xasprintf("diff -u %s %s >&2", b, a);
	if (system(cmd) < 0)
		perror("diff");
	free(cmd);
	unlink(a);
	unlink(b);
	fail_msg("texts differ");
}

#endif
