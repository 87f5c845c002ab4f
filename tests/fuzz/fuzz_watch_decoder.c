/* libFuzzer entry point for the watch-stream decoder of lib/client: any byte
 * stream either decodes or fails with a described EINVAL, and the result does
 * not depend on how the stream is cut into chunks.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/watch_decoder/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int record(const char *type, json_t *obj, void *arg)
{
	struct buf *log = arg;
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	buf_printf(log, "%s %s\n", type, s ? s : "?");
	free(s);
	return 0;
}

/* Feeds data in pieces of at most step bytes; returns the decoder result. */
static int run(const char *data, size_t size, size_t step, struct buf *log)
{
	struct client_watch_decoder d;
	struct mk_err *err = NULL;
	int r = 0;
	client_watch_decoder_init(&d, record, log);
	for (size_t off = 0; off < size && r == 0; off += step) {
		size_t n = size - off < step ? size - off : step;
		r = client_watch_decoder_feed(&d, data + off, n, &err);
	}
	if (r < 0 &&
	    (mk_err_code(err) != MK_EINVAL || strncmp(mk_err_msg(err), "watch stream: ", 14) != 0))
		abort(); /* every failure is a described EINVAL */
	mk_err_free(err);
	client_watch_decoder_free(&d);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] % 17 + 1;
	struct buf whole = BUF_INIT, pieces = BUF_INIT;
	int a = run((const char *)data + 1, size - 1, size, &whole);
	int b = run((const char *)data + 1, size - 1, step, &pieces);
	if (a != b || strcmp(buf_str(&whole), buf_str(&pieces)) != 0)
		abort();
	buf_free(&whole);
	buf_free(&pieces);
	return 0;
}
