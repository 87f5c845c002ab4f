/* libFuzzer entry point for image layer blobs: the input, as a plain tar,
 * as a gzip-sniffed blob and as declared tar+gzip, is unpacked into a fresh
 * directory. It unpacks or fails with a described error and leaves nothing
 * behind; nothing is ever written outside the directory (the parent holds
 * only it). */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "layer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tmpdir.h"

static const char *parent(void)
{
	static char dir[] = "/tmp/fuzz-layer-XXXXXX";
	static int made;
	if (!made++) {
		if (!mkdtemp(dir))
			abort();
		tmpdir_remove_at_exit(dir);
	}
	return dir;
}

/* The number of entries of dir besides "." and "..". */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		abort();
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void unpack(const uint8_t *data, size_t size, const char *media_type)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	char *dest;
	if (asprintf(&dest, "%s/rootfs", parent()) < 0)
		abort();
	struct mk_err *err = NULL;
	struct layer_result res;
	if (layer_unpack(fd, media_type, dest, NULL, &res, &err) < 0) {
		if (!err || !*mk_err_msg(err))
			abort();
		mk_err_free(err);
		if (access(dest, F_OK) == 0)
			abort(); /* a failure removes what it wrote */
	} else {
		if (strncmp(res.diff_id, "sha256:", 7))
			abort();
		if (layer_remove_tree(dest, NULL) < 0)
			abort();
	}
	if (entries(parent()) != 0)
		abort(); /* something escaped the layer's directory */
	close(fd);
	free(dest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unpack(data, size, "application/vnd.oci.image.layer.v1.tar");
	unpack(data, size, NULL);
	unpack(data, size, "application/vnd.docker.image.rootfs.diff.tar.gzip");
	return 0;
}
