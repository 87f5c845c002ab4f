/* libFuzzer entry point for the SPDY/3.1 frame decoder and the Kubernetes
 * stream sessions on top of it (exec and port-forward, every transport).
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/kstream/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kstream.h"
#include "spdy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void session(enum kstream_kind kind, enum kstream_transport t, int version,
		    const uint8_t *data, size_t size)
{
	struct kstream_answer a = {.code = 101, .transport = t, .version = version};
	struct kstream_exec_opts o = {.in = true, .out = true, .err = true, .tty = version == 4};
	static const uint16_t ports[] = {80, 443};
	struct kstream *ks = kstream_new(kind, &a, &o, ports, 2);
	kstream_feed(ks, data, size);
	struct kstream_event ev;
	struct mk_err *err = NULL;
	int r, n = 0;
	while ((r = kstream_next(ks, &ev, &err)) == 1 && n++ < 100000) {
		/* answer the way a server would, so output paths run too */
		if (ev.type == KSTREAM_EV_STDIN)
			kstream_exec_write(ks, 1, ev.data, ev.len);
		else if (ev.type == KSTREAM_EV_PF_DATA)
			kstream_pf_write(ks, ev.stream, ev.data, ev.len);
		else if (ev.type == KSTREAM_EV_PF_EOF || ev.type == KSTREAM_EV_PF_RESET)
			kstream_pf_close(ks, ev.stream, "done");
	}
	mk_err_free(err);
	kstream_out_consume(ks, kstream_out_len(ks) / 2);
	if (kind == KSTREAM_EXEC) {
		json_t *st = kstream_status_success();
		kstream_exec_finish(ks, st);
		json_decref(st);
	}
	kstream_free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spdy *s = spdy_new();
	spdy_feed(s, data, size);
	struct spdy_frame f;
	struct mk_err *err = NULL;
	while (spdy_next(s, &f, &err) == 1)
		for (size_t i = 0; i < f.n_headers; i++)
			if (strlen(f.headers[i].name) == 0)
				abort();
	mk_err_free(err);
	spdy_free(s);

	session(KSTREAM_EXEC, KSTREAM_SPDY, 4, data, size);
	session(KSTREAM_EXEC, KSTREAM_WEBSOCKET, 5, data, size);
	session(KSTREAM_PORTFORWARD, KSTREAM_SPDY, 0, data, size);
	session(KSTREAM_PORTFORWARD, KSTREAM_SPDY_OVER_WEBSOCKET, 0, data, size);
	session(KSTREAM_PORTFORWARD, KSTREAM_WEBSOCKET, 0, data, size);
	return 0;
}
