/* lib/cni's pure parts: configuration lists (parsing, .conf up-conversion,
 * loading a directory), what each plugin of a list receives (runtimeConfig
 * from capabilities, prevResult), results between versions, the pod IP of a
 * result, the cache file format, and how a failed plugin's output reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <resolv.h>

#include "cleanup.h"
#include "cni.h"
#include "xalloc.h"

static char *compact(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	assert_non_null(j);
	return j;
}

static struct cni_netconf *nc_of(const char *s)
{
	struct mk_err *err = NULL;
	struct cni_netconf *nc = cni_netconf_parse(s, strlen(s), NULL, &err);
	if (!nc)
		fail_msg("%s: %s", s, mk_err_msg(err));
	return nc;
}

static void expect_parse_err(const char *s, const char *msg)
{
	struct mk_err *err = NULL;
	assert_null(cni_netconf_parse(s, strlen(s), NULL, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), msg);
	mk_err_free(err);
}

static char *tmpdir(void)
{
	char t[] = "/tmp/cnilibunit.XXXXXX";
	assert_non_null(mkdtemp(t));
	return xstrdup(t);
}

static void rmrf(const char *d)
{
	cleanup_free char *cmd = xasprintf("rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	cleanup_free char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ---- versions and names ---- */

static void test_versions_and_names(void **state)
{
	(void)state;
	assert_true(cni_version_supported("0.3.1"));
	assert_true(cni_version_supported("1.1.0"));
	assert_false(cni_version_supported("1.0"));
	assert_false(cni_version_supported("2.0.0"));
	assert_true(cni_version_cmp("0.4.0", "0.10.0") < 0);
	assert_true(cni_version_cmp("1.0.0", "0.4.0") > 0);
	assert_int_equal(cni_version_cmp("1.1.0", "1.1.0"), 0);
	assert_true(cni_name_valid("k8s-pod_network.1"));
	assert_false(cni_name_valid("-x"));
	assert_false(cni_name_valid("a/b"));
	assert_false(cni_name_valid(""));
	const char *details;
	assert_null(cni_ifname_check("eth0", &details));
	assert_string_equal(cni_ifname_check("0123456789abcdef", &details),
			    "interface name is too long");
	assert_string_equal(details, "interface name should be less than 16 characters");
	assert_string_equal(cni_ifname_check("..", &details), "interface name is . or ..");
	assert_string_equal(cni_ifname_check("a b", &details),
			    "interface name contains / or : or whitespace characters");
	assert_string_equal(cni_ifname_check("", &details), "interface name is empty");
}

/* ---- configuration lists ---- */

static void test_netconf_parse(void **state)
{
	(void)state;
	struct cni_netconf *nc =
		nc_of("{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"disableCheck\":\"TRUE\","
		      "\"plugins\":[{\"type\":\"bridge\"},{\"type\":\"portmap\",\"capabilities\":{"
		      "\"portMappings\":true}}]}");
	assert_string_equal(nc->name, "k8s");
	assert_string_equal(nc->version, "1.0.0");
	assert_true(nc->disable_check);
	assert_int_equal(json_array_size(json_object_get(nc->list, "plugins")), 2);
	assert_null(nc->file);
	cni_netconf_free(nc);

	/* the highest of cniVersion and cniVersions that we speak */
	nc = nc_of("{\"cniVersion\":\"1.0.0\",\"cniVersions\":[\"0.4.0\",\"1.1.0\",\"9.9.9\"],"
		   "\"name\":\"n\",\"plugins\":[{\"type\":\"x\"}]}");
	assert_string_equal(nc->version, "1.1.0");
	assert_false(nc->disable_check);
	cni_netconf_free(nc);
	nc = nc_of("{\"cniVersion\":\"7.0.0\",\"cniVersions\":[\"0.4.0\"],\"name\":\"n\","
		   "\"plugins\":[{\"type\":\"x\"}]}");
	assert_string_equal(nc->version, "0.4.0");
	cni_netconf_free(nc);
	/* no version at all is the spec's 0.1.0 */
	nc = nc_of("{\"name\":\"n\",\"plugins\":[{\"type\":\"x\"}]}");
	assert_string_equal(nc->version, "0.1.0");
	cni_netconf_free(nc);

	expect_parse_err("{\"plugins\":[{\"type\":\"x\"}]}",
			 "error parsing configuration list: no name");
	expect_parse_err("{\"name\":5,\"plugins\":[{\"type\":\"x\"}]}",
			 "error parsing configuration list: invalid name type number");
	expect_parse_err("{\"name\":\"a b\",\"plugins\":[{\"type\":\"x\"}]}",
			 "invalid characters found in network name \"a b\"");
	expect_parse_err("{\"name\":\"n\",\"plugins\":[]}",
			 "error parsing configuration list: no plugins in list");
	expect_parse_err("{\"name\":\"n\",\"plugins\":{}}",
			 "error parsing configuration list: invalid 'plugins' type object");
	expect_parse_err(
		"{\"name\":\"n\",\"plugins\":[{\"type\":\"x\"},{\"bridge\":\"cni0\"}]}",
		"failed to parse plugin config 1: error parsing configuration: missing 'type'");
	expect_parse_err("{\"name\":\"n\",\"plugins\":[{\"type\":\"../x\"}]}",
			 "failed to parse plugin config 0: invalid plugin name: ../x");
	expect_parse_err(
		"{\"name\":\"n\",\"plugins\":[{\"type\":\"x\",\"capabilities\":{\"a\":1}}]}",
		"failed to parse plugin config 0: capability a is a number, not a bool");
	expect_parse_err("{\"cniVersion\":\"2.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"x\"}]}",
			 "unsupported cniVersion \"2.0.0\" (we speak 0.1.0 to 1.1.0)");
	expect_parse_err(
		"{\"name\":\"n\",\"disableCheck\":\"yes\",\"plugins\":[{\"type\":\"x\"}]}",
		"error parsing configuration list: invalid value \"yes\" for disableCheck");
	expect_parse_err("[1]", "error parsing configuration: a array, not an object");
	expect_parse_err("{\"name\":",
			 "error parsing configuration: unexpected token near end of file (line 1)");
}

static void test_netconf_conf_to_list(void **state)
{
	(void)state;
	/* a single-plugin .conf becomes the list libcni makes of it, keys sorted
	 * as Go writes a map */
	const char *conf = "{\"type\":\"bridge\",\"name\":\"mynet\",\"cniVersion\":\"0.3.1\","
			   "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.1.0.0/16\"}}";
	struct cni_netconf *nc = nc_of(conf);
	assert_string_equal(nc->name, "mynet");
	assert_string_equal(nc->version, "0.3.1");
	assert_string_equal(
		nc->bytes,
		"{\"cniVersion\":\"0.3.1\",\"name\":\"mynet\",\"plugins\":[{\"cniVersion\":"
		"\"0.3.1\",\"ipam\":{\"subnet\":\"10.1.0.0/16\",\"type\":\"host-local\"},"
		"\"name\":\"mynet\",\"type\":\"bridge\"}]}");
	assert_int_equal(nc->len, strlen(nc->bytes));
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(nc->list, "plugins"), 0), "type")),
		"bridge");
	cni_netconf_free(nc);
	/* a .conf without a version: "" in the list, 0.1.0 for the plugins */
	nc = nc_of("{\"type\":\"loopback\",\"name\":\"lo\"}");
	assert_string_equal(nc->bytes,
			    "{\"cniVersion\":\"\",\"name\":\"lo\",\"plugins\":[{\"name\":\"lo\","
			    "\"type\":\"loopback\"}]}");
	assert_string_equal(nc->version, "0.1.0");
	cni_netconf_free(nc);
	expect_parse_err("{\"type\":\"bridge\"}", "error parsing configuration: no name");
}

static void test_netconf_load_dir(void **state)
{
	(void)state;
	cleanup_free char *d = tmpdir();
	struct mk_err *err = NULL;
	assert_null(cni_netconf_load_dir(d, &err));
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	cleanup_free char *none = xasprintf("no networks found in %s", d);
	assert_string_equal(mk_err_msg(err), none);
	mk_err_free(err);
	err = NULL;

	/* sorted by name; what does not parse is skipped; other names ignored */
	write_file(d, "05-notes.txt", "{\"name\":\"txt\",\"type\":\"x\"}");
	write_file(d, "10-broken.conflist", "{\"name\":\"b\",");
	write_file(d, "20-second.conf",
		   "{\"cniVersion\":\"1.0.0\",\"name\":\"second\",\"type\":\"bridge\"}");
	write_file(
		d, "30-third.conflist",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"third\",\"plugins\":[{\"type\":\"ptp\"}]}");
	struct cni_netconf *nc = cni_netconf_load_dir(d, &err);
	assert_non_null(nc);
	assert_string_equal(nc->name, "second");
	cleanup_free char *f2 = xasprintf("%s/20-second.conf", d);
	assert_string_equal(nc->file, f2);
	cni_netconf_free(nc);

	/* a list with its plugins in <dir>/<name>/ *.conf, after the inlined ones */
	write_file(d, "01-split.conflist", "{\"cniVersion\":\"1.1.0\",\"name\":\"split\"}");
	cleanup_free char *sub = xasprintf("%s/split", d);
	assert_int_equal(mkdir(sub, 0755), 0);
	write_file(sub, "b.conf", "{\"type\":\"portmap\"}");
	write_file(sub, "a.conf", "{\"type\":\"bridge\"}");
	nc = cni_netconf_load_dir(d, &err);
	assert_non_null(nc);
	assert_string_equal(nc->name, "split");
	json_t *plugins = json_object_get(nc->list, "plugins");
	assert_int_equal(json_array_size(plugins), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(plugins, 0), "type")),
			    "bridge");
	assert_string_equal(json_string_value(json_object_get(json_array_get(plugins, 1), "type")),
			    "portmap");
	/* the cache keeps the list file's own bytes */
	assert_string_equal(nc->bytes, "{\"cniVersion\":\"1.1.0\",\"name\":\"split\"}");
	cni_netconf_free(nc);
	/* ... unless it loads only inlined plugins: then it has none, and is skipped */
	write_file(d, "01-split.conflist",
		   "{\"cniVersion\":\"1.1.0\",\"name\":\"split\",\"loadOnlyInlinedPlugins\":true}");
	nc = cni_netconf_load_dir(d, &err);
	assert_non_null(nc);
	assert_string_equal(nc->name, "second");
	cni_netconf_free(nc);
	rmrf(d);

	assert_null(cni_netconf_load_dir("/nonexistent/cni/net.d", &err));
	assert_string_equal(mk_err_msg(err), "no networks found in /nonexistent/cni/net.d");
	mk_err_free(err);
}

static void test_plugin_build(void **state)
{
	(void)state;
	struct cni_netconf *nc = nc_of(
		"{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"plugins\":["
		"{\"type\":\"bridge\",\"name\":\"other\",\"cniVersion\":\"0.3.1\","
		"\"capabilities\":{\"portMappings\":true,\"ipRanges\":false,\"bandwidth\":true},"
		"\"runtimeConfig\":{\"stale\":1}},"
		"{\"type\":\"tuning\",\"runtimeConfig\":{\"mine\":2}}]}");
	cleanup_json json_t *caps = parse(
		"{\"portMappings\":[{\"hostPort\":80,\"containerPort\":8080}],"
		"\"ipRanges\":[[{\"subnet\":\"10.0.0.0/24\"}]],\"mac\":\"c2:00:00:00:00:01\"}");
	cleanup_json json_t *prev =
		parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}]}");
	/* name and version from the list; runtimeConfig = the declared-true
	 * capabilities the runtime has, replacing the file's */
	cleanup_json json_t *c0 = cni_netconf_plugin_build(nc, 0, caps, NULL);
	cleanup_free char *s0 = compact(c0);
	assert_string_equal(
		s0,
		"{\"type\":\"bridge\",\"name\":\"net\",\"cniVersion\":\"1.0.0\","
		"\"capabilities\":{\"portMappings\":true,\"ipRanges\":false,\"bandwidth\":true},"
		"\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":8080}]}}");
	/* a plugin that declares nothing keeps its own runtimeConfig; prevResult given */
	cleanup_json json_t *c1 = cni_netconf_plugin_build(nc, 1, caps, prev);
	cleanup_free char *s1 = compact(c1);
	assert_string_equal(s1,
			    "{\"type\":\"tuning\",\"runtimeConfig\":{\"mine\":2},\"name\":\"net\","
			    "\"cniVersion\":\"1.0.0\",\"prevResult\":{\"cniVersion\":\"1.0.0\","
			    "\"ips\":[{\"address\":\"10.0.0.2/24\"}]}}");
	/* no capability arguments: the file's runtimeConfig stays */
	cleanup_json json_t *c2 = cni_netconf_plugin_build(nc, 0, NULL, NULL);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(c2, "runtimeConfig"), "stale")),
		1);
	assert_null(cni_netconf_plugin_build(nc, 2, caps, NULL));
	/* the list itself is unchanged */
	assert_null(json_object_get(json_array_get(json_object_get(nc->list, "plugins"), 1),
				    "prevResult"));
	cni_netconf_free(nc);
}

/* ---- results ---- */

static const char *full =
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:aa:aa:aa:aa:"
	"aa\"},"
	"{\"name\":\"veth01234567\",\"mac\":\"bb:bb:bb:bb:bb:bb\"},{\"name\":\"eth0\",\"mac\":"
	"\"cc:cc:cc:cc:cc:cc\",\"sandbox\":\"/var/run/netns/x\"}],\"ips\":[{\"interface\":2,"
	"\"address\":\"10.99.0.2/24\",\"gateway\":\"10.99.0.1\"},{\"interface\":2,\"address\":"
	"\"fd00::2/64\",\"gateway\":\"fd00::1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":"
	"\"::/0\",\"gw\":\"fd00::1\"}],\"dns\":{\"nameservers\":[\"10.99.0.1\"]}}";

static void test_result_versions(void **state)
{
	(void)state;
	cleanup_json json_t *in = parse(full);
	struct mk_err *err = NULL;
	cleanup_json json_t *n = cni_result_normalize(in, &err);
	assert_non_null(n);

	cleanup_json json_t *v1 = cni_result_convert(n, "1.0.0", &err);
	cleanup_free char *s1 = compact(v1);
	assert_string_equal(s1, full);

	cleanup_json json_t *v04 = cni_result_convert(n, "0.4.0", &err);
	cleanup_free char *s04 = compact(v04);
	assert_non_null(
		strstr(s04, "{\"version\":\"4\",\"interface\":2,\"address\":\"10.99.0.2/24\""));
	assert_non_null(
		strstr(s04, "{\"version\":\"6\",\"interface\":2,\"address\":\"fd00::2/64\""));
	assert_non_null(strstr(s04, "\"cniVersion\":\"0.4.0\""));

	cleanup_json json_t *v02 = cni_result_convert(n, "0.2.0", &err);
	cleanup_free char *s02 = compact(v02);
	assert_string_equal(
		s02, "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.99.0.2/24\",\"gateway\":"
		     "\"10.99.0.1\",\"routes\":[{\"dst\":\"0.0.0.0/0\"}]},\"ip6\":{\"ip\":"
		     "\"fd00::2/64\",\"gateway\":\"fd00::1\",\"routes\":[{\"dst\":\"::/0\","
		     "\"gw\":\"fd00::1\"}]},\"dns\":{\"nameservers\":[\"10.99.0.1\"]}}");

	/* up-conversion from the old shapes gives the same 1.x result */
	cleanup_json json_t *back = cni_result_normalize(v02, &err);
	cleanup_json json_t *back1 = cni_result_convert(back, "1.0.0", &err);
	cleanup_free char *sb = compact(back1);
	assert_non_null(
		strstr(sb, "\"ips\":[{\"address\":\"10.99.0.2/24\",\"gateway\":\"10.99.0.1\"}"));
	cleanup_json json_t *back04 = cni_result_normalize(v04, &err);
	cleanup_json json_t *again = cni_result_convert(back04, "1.0.0", &err);
	cleanup_free char *sa = compact(again);
	assert_string_equal(sa, full);

	/* 1.1.0 keeps the fields 1.0.0 drops */
	cleanup_json json_t *r11 = parse("{\"interfaces\":[{\"name\":\"eth0\",\"mtu\":1400}],"
					 "\"routes\":[{\"dst\":\"10.0.0.0/8\",\"table\":100}]}");
	cleanup_json json_t *n11 = cni_result_normalize(r11, &err);
	cleanup_json json_t *o11 = cni_result_convert(n11, "1.1.0", &err);
	cleanup_json json_t *o10 = cni_result_convert(n11, "1.0.0", &err);
	cleanup_free char *s11 = compact(o11);
	cleanup_free char *s10 = compact(o10);
	assert_string_equal(
		s11, "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"mtu\":1400}],"
		     "\"routes\":[{\"dst\":\"10.0.0.0/8\",\"table\":100}],\"dns\":{}}");
	assert_string_equal(s10, "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}],"
				 "\"routes\":[{\"dst\":\"10.0.0.0/8\"}],\"dns\":{}}");

	/* two addresses of one family do not fit 0.2.0 */
	cleanup_json json_t *two =
		parse("{\"ips\":[{\"address\":\"10.0.0.2/24\"},{\"address\":\"10.1.0.2/24\"}]}");
	cleanup_json json_t *tn = cni_result_normalize(two, &err);
	assert_null(cni_result_convert(tn, "0.2.0", &err));
	assert_string_equal(mk_err_msg(err),
			    "CNI version 0.2.0 does not support more than 1 address per family");
	mk_err_free(err);
}

static void test_result_empty_lists_and_dns(void **state)
{
	(void)state;
	struct mk_err *err = NULL;
	cleanup_json json_t *in =
		parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}]}");
	cleanup_json json_t *n = cni_result_normalize(in, &err);
	cleanup_json json_t *out = cni_result_convert(n, "1.1.0", &err);
	cleanup_free char *s = compact(out);
	assert_string_equal(
		s, "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}],\"dns\":{}}");
}

static void expect_bad_result(const char *text, const char *msg)
{
	struct mk_err *err = NULL;
	cleanup_json json_t *r = json_loads(text, JSON_DECODE_ANY, NULL);
	assert_non_null(r);
	assert_null(cni_result_normalize(r, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), msg);
	mk_err_free(err);
}

static void test_result_malformed(void **state)
{
	(void)state;
	expect_bad_result("[]", "result is not a JSON object");
	expect_bad_result("{\"ips\":{}}", "invalid result: ips is not a list");
	expect_bad_result("{\"ips\":[{\"address\":\"10.0.0.300/24\"}]}",
			  "invalid result: ips[0].address is not an address/prefix");
	expect_bad_result("{\"ips\":[{\"gateway\":\"10.0.0.1\"}]}",
			  "invalid result: ips[0].address is missing");
	expect_bad_result("{\"interfaces\":[{\"mac\":\"x\"}]}",
			  "invalid result: interfaces[0].name is missing");
	expect_bad_result("{\"routes\":[{\"dst\":\"default\"}]}",
			  "invalid result: routes[0].dst is not an address/prefix");
	expect_bad_result("{\"dns\":[]}", "invalid result: dns is not an object");
	expect_bad_result("{\"ip4\":{\"ip\":\"10.0.0.2\"}}",
			  "invalid result: ip4.ip is not an address/prefix");
	/* found by tests/fuzz/fuzz_cni.c: an old shape's routes are checked too */
	expect_bad_result(
		"{\"ip4\":{\"ip\":\"10.0.0.2/24\",\"routes\":[{\"dst\":\"0.0.0.0/z0\"}]}}",
		"invalid result: routes[0].dst is not an address/prefix");
}

static void test_result_pod_ip(void **state)
{
	(void)state;
	cleanup_json json_t *in = parse(full);
	cleanup_free char *any = cni_result_pod_ip(in, 0);
	cleanup_free char *v6 = cni_result_pod_ip(in, AF_INET6);
	assert_string_equal(any, "10.99.0.2");
	assert_string_equal(v6, "fd00::2");
	/* an address on a host interface is not the pod's */
	cleanup_json json_t *host = parse("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":"
					  "\"cni0\"},{\"name\":\"eth0\",\"sandbox\":\"/n\"}],"
					  "\"ips\":[{\"interface\":0,\"address\":\"10.0.0.1/"
					  "24\"},{\"address\":\"10.0.0.9/24\"},"
					  "{\"interface\":1,\"address\":\"10.0.0.3/24\"}]}");
	cleanup_free char *h = cni_result_pod_ip(host, AF_INET);
	assert_string_equal(h, "10.0.0.3");
	/* old and IPAM shapes name no sandbox: their addresses are the pod's */
	cleanup_json json_t *old =
		parse("{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.5.0.4/16\"}}");
	cleanup_free char *o = cni_result_pod_ip(old, 0);
	assert_string_equal(o, "10.5.0.4");
	assert_null(cni_result_pod_ip(old, AF_INET6));
	cleanup_json json_t *none = parse(
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"lo\",\"sandbox\":\"/n\"}]}");
	assert_null(cni_result_pod_ip(none, 0));
}

/* ---- the cache ---- */

static char *unbase64(const char *s)
{
	size_t n = strlen(s);
	char *out = xcalloc(1, n + 1);
	int len = b64_pton(s, (unsigned char *)out, n);
	assert_true(len >= 0);
	out[len] = 0;
	return out;
}

static void test_cache_round_trip(void **state)
{
	(void)state;
	cleanup_free char *d = tmpdir();
	cleanup_free char *cache = xasprintf("%s/var/lib/cni", d);
	const char *list =
		"{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"plugins\":[{\"type\":\"bridge\"}]}\n";
	struct cni_netconf *nc = nc_of(list);
	const char *const args[] = {"IgnoreUnknown", "1", "K8S_POD_NAME", "web-0", NULL};
	cleanup_json json_t *caps =
		parse("{\"portMappings\":[{\"protocol\":\"tcp\",\"hostPort\":80}]}");
	struct cni_runtime rt = {.container_id = "abc123",
				 .netns = "/var/run/netns/p",
				 .ifname = "eth0",
				 .args = args,
				 .capability_args = caps};
	cleanup_json json_t *res = parse(full);
	struct mk_err *err = NULL;
	assert_int_equal(cni_cache_put(cache, nc, &rt, res, &err), 0);

	/* the file as libcni writes it: fields in its order, maps sorted */
	cleanup_free char *path = xasprintf("%s/results/k8s-abc123-eth0", cache);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	cleanup_free char *rdir = xasprintf("%s/results", cache);
	assert_int_equal(stat(rdir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(cache, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	json_error_t je;
	cleanup_json json_t *file = json_load_file(path, 0, &je);
	assert_non_null(file);
	const char *order[] = {"kind",	"containerId", "config",	 "ifName", "networkName",
			       "netns", "cniArgs",     "capabilityArgs", "result"};
	size_t k = 0;
	const char *key;
	json_t *v;
	json_object_foreach(file, key, v)
	{
		assert_true(k < 9);
		assert_string_equal(key, order[k++]);
	}
	assert_int_equal(k, 9);
	assert_string_equal(json_string_value(json_object_get(file, "kind")), "cniCacheV1");
	cleanup_free char *cfg = unbase64(json_string_value(json_object_get(file, "config")));
	assert_string_equal(cfg, list);
	cleanup_free char *a = compact(json_object_get(file, "cniArgs"));
	assert_string_equal(a, "[[\"IgnoreUnknown\",\"1\"],[\"K8S_POD_NAME\",\"web-0\"]]");
	cleanup_free char *c = compact(json_object_get(file, "capabilityArgs"));
	assert_string_equal(c, "{\"portMappings\":[{\"hostPort\":80,\"protocol\":\"tcp\"}]}");
	cleanup_free char *r = compact(json_object_get(file, "result"));
	assert_non_null(strstr(r, "{\"cniVersion\":\"1.0.0\",\"dns\":{\"nameservers\":"));
	assert_true(json_equal(json_object_get(file, "result"), res));

	/* read back */
	cleanup_json json_t *got = cni_cache_get(cache, "k8s", "abc123", "eth0", &err);
	assert_non_null(got);
	assert_true(json_equal(got, res));

	/* an entry of old libcni holds just the result */
	write_file(rdir, "k8s-old-eth0",
		   "{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":\"10.1.1.2/"
		   "24\"}]}");
	cleanup_json json_t *old = cni_cache_get(cache, "k8s", "old", "eth0", &err);
	assert_non_null(old);
	assert_string_equal(json_string_value(json_object_get(old, "cniVersion")), "0.3.1");
	/* a kind we do not know, a file that does not parse, none at all */
	write_file(rdir, "k8s-odd-eth0", "{\"kind\":\"cniCacheV9\",\"result\":{}}");
	assert_null(cni_cache_get(cache, "k8s", "odd", "eth0", &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err);
	err = NULL;
	write_file(rdir, "k8s-cut-eth0", "{\"kind\":\"cniCache");
	assert_null(cni_cache_get(cache, "k8s", "cut", "eth0", &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err);
	err = NULL;
	assert_null(cni_cache_get(cache, "k8s", "gone", "eth0", &err));
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err);
	err = NULL;
	/* names that would leave the directory are refused */
	assert_null(cni_cache_get(cache, "k8s", "../../etc", "eth0", &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err);
	err = NULL;
	struct cni_runtime bad = {.container_id = "x", .ifname = "a/b"};
	assert_int_equal(cni_cache_put(cache, nc, &bad, res, &err), -1);
	mk_err_free(err);
	err = NULL;

	/* without netns, args and capabilities those fields are left out */
	struct cni_runtime bare = {.container_id = "bare", .ifname = "net1"};
	assert_int_equal(cni_cache_put(cache, nc, &bare, res, &err), 0);
	cleanup_free char *bpath = xasprintf("%s/results/k8s-bare-net1", cache);
	cleanup_json json_t *bfile = json_load_file(bpath, 0, &je);
	assert_null(json_object_get(bfile, "netns"));
	assert_null(json_object_get(bfile, "cniArgs"));
	assert_null(json_object_get(bfile, "capabilityArgs"));
	/* no temporary file is left beside the entries */
	cleanup_free char *cmd = xasprintf("test -z \"$(ls -A '%s' | grep '^\\.')\"", rdir);
	assert_int_equal(system(cmd), 0);
	cni_netconf_free(nc);
	rmrf(d);
}

/* ---- a failed plugin's output ---- */

static void expect_plugin_err(const char *out, const char *errtext, int status, int code,
			      const char *msg, const char *details)
{
	struct cni_plugin_err pe = {0};
	cni_plugin_err_parse(out, strlen(out), errtext, status, &pe);
	assert_int_equal(pe.code, code);
	assert_string_equal(pe.msg, msg);
	if (details)
		assert_string_equal(pe.details, details);
	else
		assert_null(pe.details);
	cni_plugin_err_clear(&pe);
	assert_null(pe.msg);
}

static void test_plugin_err_parse(void **state)
{
	(void)state;
	int exit1 = 1 << 8, exit3 = 3 << 8, killed = SIGKILL;
	assert_true(WIFEXITED(exit3) && WEXITSTATUS(exit3) == 3);
	expect_plugin_err("{\"code\":7,\"msg\":\"Invalid Configuration\",\"details\":\"Network "
			  "192.168.0.0/31 too small\"}",
			  "", exit1, 7, "Invalid Configuration",
			  "Network 192.168.0.0/31 too small");
	expect_plugin_err(
		"{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"busy\",\"details\":\"\"}", NULL,
		exit1, 11, "busy", NULL);
	expect_plugin_err("{\"msg\":\"no code\"}", NULL, exit1, 0, "no code", NULL);
	expect_plugin_err("", "oops: \"x\"\n\tmore", exit3, 0,
			  "netplugin failed: \"oops: \\\"x\\\"\\n\\tmore\": exit status 3", NULL);
	expect_plugin_err("", "", exit1, 0, "netplugin failed with no error message: exit status 1",
			  NULL);
	expect_plugin_err("", NULL, killed, 0,
			  "netplugin failed with no error message: signal: killed", NULL);
	expect_plugin_err(
		"panic: boom\n", "", exit1, 0,
		"netplugin failed but error parsing its diagnostic message \"panic: boom\\n\": "
		"invalid token near 'panic'",
		NULL);
	expect_plugin_err(
		"{\"code\":\"7\",\"msg\":\"x\"}", "", exit1, 0,
		"netplugin failed but error parsing its diagnostic message "
		"\"{\\\"code\\\":\\\"7\\\",\\\"msg\\\":\\\"x\\\"}\": code is not a number",
		NULL);
}

/* ---- what is refused before any plugin runs ---- */

static void test_list_refuses_bad_runtime(void **state)
{
	(void)state;
	struct cni_netconf *nc =
		nc_of("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"x\"}]}");
	const char *const dirs[] = {"/nonexistent", NULL};
	struct cni_exec_opts o = {.bin_dirs = dirs, .cache_dir = "/nonexistent"};
	static const struct {
		const char *id, *ifname, *msg;
		int code;
	} cases[] = {
		{"", "eth0", "missing containerID", CNI_ERR_UNKNOWN_CONTAINER},
		{"a;b", "eth0", "invalid characters in containerID; a;b", CNI_ERR_INVALID_ENV},
		{"ok", "", "interface name is empty", CNI_ERR_INVALID_ENV},
		{"ok", "eth0:1", "interface name contains / or : or whitespace characters",
		 CNI_ERR_INVALID_ENV},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cni_runtime rt = {.container_id = cases[i].id, .ifname = cases[i].ifname};
		struct mk_err *err = NULL;
		json_t *res = NULL;
		assert_int_equal(cni_list_add(nc, &rt, &o, &res, &err), -1);
		assert_null(res);
		assert_string_equal(mk_err_msg(err), cases[i].msg);
		assert_int_equal(cni_err_code(err), cases[i].code);
		mk_err_free(err);
		err = NULL;
		assert_int_equal(cni_list_del(nc, &rt, &o, &err), -1);
		assert_int_equal(cni_err_code(err), cases[i].code);
		mk_err_free(err);
	}
	/* a plugin that is not there: libcni's message, no CNI code */
	struct cni_runtime rt = {.container_id = "ok", .ifname = "eth0"};
	struct mk_err *err = NULL;
	json_t *res = NULL;
	assert_int_equal(cni_list_add(nc, &rt, &o, &res, &err), -1);
	assert_string_equal(mk_err_msg(err),
			    "plugin type=\"x\" failed (add): failed to find plugin "
			    "\"x\" in path [/nonexistent]");
	assert_int_equal(cni_err_code(err), 0);
	mk_err_free(err);
	assert_int_equal(cni_err_code(NULL), 0);
	cni_netconf_free(nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_and_names),
		cmocka_unit_test(test_netconf_parse),
		cmocka_unit_test(test_netconf_conf_to_list),
		cmocka_unit_test(test_netconf_load_dir),
		cmocka_unit_test(test_plugin_build),
		cmocka_unit_test(test_result_versions),
		cmocka_unit_test(test_result_empty_lists_and_dns),
		cmocka_unit_test(test_result_malformed),
		cmocka_unit_test(test_result_pod_ip),
		cmocka_unit_test(test_cache_round_trip),
		cmocka_unit_test(test_plugin_err_parse),
		cmocka_unit_test(test_list_refuses_bad_runtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
