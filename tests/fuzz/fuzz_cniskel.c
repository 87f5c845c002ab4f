/* libFuzzer entry point for what a CNI plugin reads from its caller: the
 * network configuration on stdin (with its prevResult, runtimeConfig and
 * cni.dev/valid-attachments) and CNI_ARGS, through the plugin skeleton's own
 * entry point with the bridge and host-local configuration parsers behind
 * it. Input: one byte picking the verb (ADD, DEL, CHECK, GC, STATUS), CNI_ARGS
 * up to the first newline, then stdin. Nothing touches the kernel: the verbs
 * here only parse; GC runs host-local's GC on a store of its own and checks
 * that a refused attachment list frees nothing. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cni.h"
#include "cni/bridge/conf.h"
#include "cni/host-local/alloc.h"
#include "cni/skel/skel.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tmpdir.h"

static int prev_result(struct cni_ctx *ctx, struct mk_err **err)
{
	json_t *prev = json_object_get(ctx->conf, "prevResult");
	if (!prev)
		return 0;
	json_t *res = cni_result_normalize(prev, err);
	if (!res)
		return -1;
	for (int i = 0; cni_versions[i]; i++)
		json_decref(cni_result_convert(res, cni_versions[i], NULL));
	json_decref(res);
	return 0;
}

static int hostlocal(struct cni_ctx *ctx, bool allow_no_ranges, struct mk_err **err)
{
	static const char *const known[] = {"IP", NULL};
	json_t *args = NULL;
	if (cni_args_parse(ctx, known, &args, err) < 0)
		return -1;
	json_decref(args);
	struct hl_config *c = NULL;
	if (hl_config_parse(ctx->conf, ctx->args,
			    allow_no_ranges, &c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->nsets; i++)
		free(hl_rangeset_str(&c->sets[i]));
	hl_config_free(c);
	return 0;
}

static int verb_add(struct cni_ctx *ctx, struct mk_err **err)
{
	struct br_conf c;
	if (br_conf_parse(ctx, &c, err) < 0)
		return -1;
	if (hostlocal(ctx, false, err) < 0)
		return -1;
	return prev_result(ctx, err);
}

static int verb_del(struct cni_ctx *ctx, struct mk_err **err)
{
	return hostlocal(ctx, true, err);
}

static int verb_check(struct cni_ctx *ctx, struct mk_err **err)
{
	struct br_conf c;
	if (br_conf_parse(ctx, &c, err) < 0)
		return -1;
	return prev_result(ctx, err);
}

static const char *store_dir(void)
{
	static char dir[] = "/tmp/fuzz-cniskel-XXXXXX";
	static int made;
	if (!made++) {
		if (!mkdtemp(dir))
			abort();
		tmpdir_remove_at_exit(dir);
	}
	return dir;
}

static int verb_gc(struct cni_ctx *ctx, struct mk_err **err)
{
	const json_t *valid = NULL;
	int rc = cni_gc_valid_attachments(ctx, &valid, err);
	struct hl_store *st = hl_store_open(store_dir(), "net", NULL);
	if (!st)
		abort();
	/* one attachment in use: "ctr1"/"eth0" holds 10.9.0.2 */
	static const char entry[] = "ctr1\r\neth0";
	char *p;
	if (asprintf(&p, "%s/net/10.9.0.2", store_dir()) < 0)
		abort();
	FILE *f = fopen(p, "w");
	if (!f || fwrite(entry, 1, sizeof(entry) - 1, f) != sizeof(entry) - 1 || fclose(f))
		abort();
	if (rc == 0) {
		struct mk_err *e = NULL;
		if (hl_gc(st, valid, &e) < 0) {
			if (!hl_find(st, "ctr1", "eth0"))
				abort(); /* a refused list freed an address */
			mk_err_free(e);
		}
	} else if (!hl_find(st, "ctr1", "eth0")) {
		abort();
	}
	unlink(p);
	free(p);
	hl_store_close(st);
	return rc;
}

static const struct cni_plugin plugin = {
	.name = "fuzz",
	.add = verb_add,
	.del = verb_del,
	.check = verb_check,
	.gc = verb_gc,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cmds[] = {"ADD", "DEL", "CHECK", "GC", "STATUS"};
	if (size < 1)
		return 0;
	const char *rest = (const char *)data + 1;
	size_t n = size - 1;
	const char *nl = memchr(rest, '\n', n);
	size_t args_len = nl ? (size_t)(nl - rest) : 0;
	char *args = strndup(rest, args_len);
	const char *in = nl ? nl + 1 : rest;
	size_t in_len = n - (size_t)(in - rest);

	setenv("CNI_COMMAND", cmds[data[0] % 5], 1);
	setenv("CNI_CONTAINERID", "ctr1", 1);
	setenv("CNI_NETNS", "/var/run/netns/fuzz-none", 1);
	setenv("CNI_IFNAME", "eth0", 1);
	setenv("CNI_PATH", "/nonexistent", 1);
	setenv("CNI_ARGS", args, 1);

	int fd = memfd_create("stdin", MFD_CLOEXEC);
	if (fd < 0 || (in_len && write(fd, in, in_len) != (ssize_t)in_len) ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	/* the plugin reads fd 0 and prints its answer on fd 1 */
	fflush(stdout);
	int saved_in = dup(0), saved_out = dup(1);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved_in < 0 || saved_out < 0 || null < 0 || dup2(fd, 0) < 0 || dup2(null, 1) < 0)
		abort();
	int rc = cni_skel_main(&plugin);
	fflush(stdout);
	if (dup2(saved_in, 0) < 0 || dup2(saved_out, 1) < 0)
		abort();
	close(saved_in);
	close(saved_out);
	close(null);
	close(fd);
	free(args);
	if (rc < 0)
		abort();
	return 0;
}
