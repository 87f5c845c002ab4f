/* Static pod manifests: what the kubelet makes of a file, and its errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "kubelet/staticpods.h"

static const char nginx_yaml[] = "apiVersion: v1\n"
				 "kind: Pod\n"
				 "metadata:\n"
				 "  name: nginx\n"
				 "spec:\n"
				 "  containers:\n"
				 "  - name: nginx\n"
				 "    image: nginx\n"
				 "    ports:\n"
				 "    - containerPort: 80\n";

static json_t *parse_ok(const char *text, const char *node)
{
	cleanup_err struct mk_err *err = NULL;
	json_t *pod = staticpod_parse(text, strlen(text), node, &err);
	if (!pod)
		fail_msg("%s", mk_err_msg(err));
	return pod;
}

static void expect_error(const char *text, const char *want)
{
	cleanup_err struct mk_err *err = NULL;
	json_t *pod = staticpod_parse(text, strlen(text), "node1", &err);
	if (pod)
		fail_msg("accepted: %s", text);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	if (!strstr(mk_err_msg(err), want))
		fail_msg("got \"%s\", want it to contain \"%s\"", mk_err_msg(err), want);
}

static void test_as_upstream(void **state)
{
	(void)state;
	cleanup_json json_t *pod = parse_ok(nginx_yaml, "Node1");
	assert_string_equal(json_path_str(pod, "metadata.name"), "nginx-node1");
	assert_string_equal(json_path_str(pod, "metadata.namespace"), "default");
	assert_string_equal(json_path_str(pod, "spec.nodeName"), "Node1");
	const char *uid = json_path_str(pod, "metadata.uid");
	assert_non_null(uid);
	assert_int_equal(strlen(uid), 32);
	json_t *ann = json_path_get(pod, "metadata.annotations");
	assert_string_equal(json_string_value(json_object_get(ann, "kubernetes.io/config.hash")), uid);
	assert_string_equal(json_string_value(json_object_get(ann, "kubernetes.io/config.source")),
			    "file");
	assert_non_null(json_object_get(ann, "kubernetes.io/config.seen"));
	/* API defaults, as a created pod gets them */
	assert_string_equal(json_path_str(pod, "spec.restartPolicy"), "Always");
	assert_string_equal(json_path_str(pod, "spec.dnsPolicy"), "ClusterFirst");
	assert_int_equal(json_integer_value(json_path_get(pod, "spec.terminationGracePeriodSeconds")),
			 30);
	assert_string_equal(json_path_str(pod, "spec.containers.0.imagePullPolicy"), "Always");
	assert_string_equal(json_path_str(pod, "spec.containers.0.ports.0.protocol"), "TCP");
}

static void test_uid_stable(void **state)
{
	(void)state;
	cleanup_json json_t *a = parse_ok(nginx_yaml, "node1");
	cleanup_json json_t *b = parse_ok(nginx_yaml, "node1");
	cleanup_json json_t *other_node = parse_ok(nginx_yaml, "node2");
	assert_string_equal(json_path_str(a, "metadata.uid"), json_path_str(b, "metadata.uid"));
	assert_string_not_equal(json_path_str(a, "metadata.uid"),
				json_path_str(other_node, "metadata.uid"));
	/* a changed manifest is another pod */
	char changed[sizeof(nginx_yaml) + 16];
	snprintf(changed, sizeof(changed), "%s", nginx_yaml);
	char *p = strstr(changed, "image: nginx");
	memcpy(p, "image: nginy", 12);
	cleanup_json json_t *c = parse_ok(changed, "node1");
	assert_string_not_equal(json_path_str(a, "metadata.uid"), json_path_str(c, "metadata.uid"));
	/* a uid in the manifest is kept */
	cleanup_json json_t *d = parse_ok("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
					  "{\"name\":\"x\",\"namespace\":\"kube-system\","
					  "\"uid\":\"fixed\"},\"spec\":{\"containers\":[{\"name\":"
					  "\"c\",\"image\":\"busybox:1.36\"}]}}",
					  "n");
	assert_string_equal(json_path_str(d, "metadata.uid"), "fixed");
	assert_string_equal(json_path_str(d, "metadata.namespace"), "kube-system");
	assert_string_equal(json_path_str(d, "spec.containers.0.imagePullPolicy"), "IfNotPresent");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("kind: Pod\nmetadata: {name: x}\n", "Object 'apiVersion' is missing");
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n", "is not a v1 Pod");
	expect_error("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a, image: b}]}\n",
		     "metadata.name: Required value");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n",
		     "spec.containers: Required value");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a}]}\n",
		     "spec.containers[0].image: Required value");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: A_, image: b}]}\n",
		     "spec.containers[0].name: Invalid value: \"A_\"");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", "invalid pod: yaml");
	expect_error("- a\n- b\n", "not an object");
	/* the message names the value of a pod that is already freed */
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: Bad_NS}\n"
		     "spec: {containers: [{name: a, image: b}]}\n",
		     "metadata.namespace: Invalid value: \"Bad_NS\"");
}

struct seen {
	json_t *events; /* [path, name or null] */
};

static void on_change(const char *path, json_t *pod, void *arg)
{
	struct seen *s = arg;
	const char *base = strrchr(path, '/');
	json_array_append_new(s->events,
			      json_pack("[s,s?]", base ? base + 1 : path,
					pod ? json_path_str(pod, "metadata.name") : NULL));
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Waits (bounded) until the watcher reported n events. */
static void wait_events(struct seen *s, size_t n)
{
	for (int i = 0; i < 500 && json_array_size(s->events) < n; i++)
		usleep(10000);
	assert_int_equal(json_array_size(s->events), n);
}

static void test_watch(void **state)
{
	(void)state;
	char dir[] = "/tmp/mk-staticpods.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], hidden[256], bad[256];
	snprintf(path, sizeof(path), "%s/nginx.yaml", dir);
	snprintf(hidden, sizeof(hidden), "%s/.nginx.yaml.swp", dir);
	snprintf(bad, sizeof(bad), "%s/bad.yaml", dir);
	write_text(path, nginx_yaml);
	write_text(hidden, nginx_yaml);
	write_text(bad, "apiVersion: v1\nkind: Pod\n");
	struct seen s = {.events = json_array()};
	struct staticpods *sp = staticpods_new(dir, "n1", on_change, &s);
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(staticpods_start(sp, 60000, &err), 0);
	/* the initial read: the good file only */
	wait_events(&s, 1);
	assert_string_equal(json_string_value(json_array_get(json_array_get(s.events, 0), 1)),
			    "nginx-n1");
	/* a new file appears (no rescan period involved: inotify) */
	char other[256];
	snprintf(other, sizeof(other), "%s/hello.yaml", dir);
	write_text(other, "apiVersion: v1\nkind: Pod\nmetadata: {name: hello}\nspec:\n  containers:\n"
			  "  - {name: hello, image: busybox, command: [echo, hi]}\n");
	wait_events(&s, 2);
	assert_string_equal(json_string_value(json_array_get(json_array_get(s.events, 1), 1)),
			    "hello-n1");
	/* it goes */
	unlink(other);
	wait_events(&s, 3);
	assert_string_equal(json_string_value(json_array_get(json_array_get(s.events, 2), 0)),
			    "hello.yaml");
	assert_true(json_is_null(json_array_get(json_array_get(s.events, 2), 1)));
	/* the good file turns bad: reported gone */
	write_text(path, "apiVersion: v1\nkind: Pod\nmetadata: {name: nginx}\n");
	wait_events(&s, 4);
	assert_true(json_is_null(json_array_get(json_array_get(s.events, 3), 1)));
	staticpods_free(sp);
	unlink(path);
	unlink(hidden);
	unlink(bad);
	rmdir(dir);
	json_decref(s.events);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_as_upstream),
		cmocka_unit_test(test_uid_stable),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_watch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
