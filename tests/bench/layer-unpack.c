/* Times lib/layer's unpack of one layer blob, for tests/bench/images.sh:
 *   layer-unpack BLOB MEDIA-TYPE DEST-PARENT N
 * unpacks BLOB N times into fresh directories under DEST-PARENT (left for
 * the caller to remove: a removal just before the next run would slow its
 * file creation) and prints each run's seconds, one a line. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "layer.h"

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: layer-unpack BLOB MEDIA-TYPE DEST-PARENT N\n");
		return 2;
	}
	int n = atoi(argv[4]);
	for (int i = 0; i < n; i++) {
		char dest[4096];
		snprintf(dest, sizeof(dest), "%s/run%d", argv[3], i);
		int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(argv[1]);
			return 1;
		}
		struct timespec a, b;
		struct mk_err *e = NULL;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = layer_unpack(fd, argv[2], dest, NULL, NULL, &e);
		clock_gettime(CLOCK_MONOTONIC, &b);
		close(fd);
		if (rc < 0) {
			fprintf(stderr, "layer-unpack: %s\n", mk_err_msg(e));
			return 1;
		}
		printf("%.6f\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
		fflush(stdout);
	}
	return 0;
}
