/* libFuzzer entry point for CRI log files as `kubectl logs` reads them: the
 * input is written as a container's live log file and read back whole, with
 * timestamps, a tail, a byte limit and a since time; and the input is parsed
 * as an RFC 3339 time. No read may return more than asked or crash. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "kubelet/logreader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tmpdir.h"

static char *log_path(void)
{
	static char *path;
	if (!path) {
		static char dir[] = "/tmp/fuzz-logreader-XXXXXX";
		if (!mkdtemp(dir))
			abort();
		tmpdir_remove_at_exit(dir);
		if (asprintf(&path, "%s/0.log", dir) < 0)
			abort();
	}
	return path;
}

static void read_all(const char *path, const struct logreader_opts *o, size_t chunk)
{
	struct mk_err *err = NULL;
	struct logreader *l = logreader_open(path, o, &err);
	if (!l)
		abort(); /* a readable file always opens */
	char *out = malloc(chunk);
	long n;
	long long total = 0;
	while ((n = logreader_read(l, out, chunk, true)) > 0) {
		if ((size_t)n > chunk)
			abort();
		total += n;
	}
	if (n != -1 || (o->limit_bytes >= 0 && total > o->limit_bytes))
		abort();
	free(out);
	logreader_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)logreader_parse_time((const char *)data, size);

	const char *path = log_path();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	struct logreader_opts all = {.tail_lines = -1, .limit_bytes = -1};
	read_all(path, &all, 4096);
	struct logreader_opts some = {.timestamps = true, .tail_lines = 2, .limit_bytes = 17,
				      .since_ns = 1700000000000000000LL};
	read_all(path, &some, 5);
	struct logreader_opts tail0 = {.tail_lines = 0, .limit_bytes = -1};
	read_all(path, &tail0, 1);
	return 0;
}
