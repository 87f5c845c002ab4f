/* protobuf-probe: decodes one Kubernetes protobuf request body with
 * lib/protobuf, for tests/integration/gen-protobuf.bats.
 *
 *   protobuf-probe FILE
 *
 * Prints the decoded object as one line of compact JSON and exits 0, or
 * prints "error <code>: <message>" (enum mk_err_code) to stderr and exits 1. */
#include <stdio.h>

#include "buf.h"
#include "cleanup.h"
#include "err.h"
#include "protobuf.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: protobuf-probe FILE\n");
		return 2;
	}
	cleanup_fclose FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	cleanup_buf struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(f)) {
		perror(argv[1]);
		return 1;
	}
	struct mk_err *err = NULL;
	cleanup_json json_t *obj = k8s_protobuf_decode(b.data, b.len, &err);
	if (!obj) {
		fprintf(stderr, "error %d: %s\n", mk_err_code(err), mk_err_msg(err));
		mk_err_free(err);
		return 1;
	}
	cleanup_free char *s = json_dumps(obj, JSON_COMPACT);
	if (!s) {
		fprintf(stderr, "error: cannot print the object\n");
		return 1;
	}
	printf("%s\n", s);
	return 0;
}
