/* libFuzzer entry point for host-local's store files: the input is a set of
 * files of <dataDir>/<network>/ (records separated by "\n==\n", each its
 * file name, a newline and its contents), which a crashed or older plugin, or
 * a careless hand, may have left in any shape. Looking up, allocating,
 * releasing and GC over them must answer or fail with a described error, and
 * an allocation never hands out an address a file already holds. */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cni/host-local/alloc.h"
#include "err.h"
#include "ipaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tmpdir.h"

static const char *data_dir(void)
{
	static char dir[] = "/tmp/fuzz-hostlocal-XXXXXX";
	static int made;
	if (!made++) {
		if (!mkdtemp(dir))
			abort();
		tmpdir_remove_at_exit(dir);
	}
	return dir;
}

static void wipe(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *p;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
			abort();
		if (unlink(p) < 0)
			abort();
		free(p);
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hl_config *conf;
	if (!conf) {
		json_t *nc = json_pack("{s:s,s:s,s:{s:s,s:[[{s:s}],[{s:s}]]}}", "cniVersion",
				       "1.0.0", "name", "net", "ipam", "type", "host-local",
				       "ranges", "subnet", "10.9.0.0/29", "subnet", "fd00::/125");
		if (hl_config_parse(nc, "", false, &conf, NULL) < 0)
			abort();
		json_decref(nc);
	}
	struct hl_store *st = hl_store_open(data_dir(), "net", NULL);
	if (!st)
		abort();
	char *dir;
	if (asprintf(&dir, "%s/net", data_dir()) < 0)
		abort();
	const char *s = (const char *)data, *end = s + size;
	while (s < end) {
		const char *sep = memmem(s, (size_t)(end - s), "\n==\n", 4);
		const char *rec_end = sep ? sep : end;
		const char *nl = memchr(s, '\n', (size_t)(rec_end - s));
		const char *body = nl ? nl + 1 : rec_end;
		char *name = strndup(s, (size_t)((nl ? nl : rec_end) - s));
		for (char *c = name; *c; c++)
			if (*c == '/')
				*c = '_';
		if (*name && strcmp(name, ".") && strcmp(name, "..") && strcmp(name, "lock")) {
			char *p;
			if (asprintf(&p, "%s/%s", dir, name) < 0)
				abort();
			int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			size_t bl = (size_t)(rec_end - body);
			if (fd < 0 || (bl && write(fd, body, bl) != (ssize_t)bl))
				abort();
			close(fd);
			free(p);
		}
		free(name);
		s = sep ? sep + 4 : end;
	}

	(void)hl_find(st, "ctr1", "eth0");
	for (size_t i = 0; i < conf->nsets; i++) {
		(void)hl_rangeset_full(st, &conf->sets[i]);
		struct ipaddr_net addr;
		struct ipaddr gw;
		struct mk_err *err = NULL;
		if (hl_alloc_get(st, &conf->sets[i], (int)i, "new1", "eth0", NULL, &addr, &gw,
				 &err) < 0) {
			if (!err || !*mk_err_msg(err))
				abort();
			mk_err_free(err);
		} else if (!hl_find(st, "new1", "eth0")) {
			abort(); /* what was allocated is on disk */
		}
	}
	struct mk_err *err = NULL;
	if (hl_release(st, "ctr1", "eth0", &err) < 0)
		mk_err_free(err);
	err = NULL;
	json_t *valid = json_pack("[{s:s,s:s}]", "containerID", "new1", "ifname", "eth0");
	if (hl_gc(st, valid, &err) < 0)
		mk_err_free(err);
	json_decref(valid);
	hl_store_close(st);
	wipe(dir);
	free(dir);
	return 0;
}
