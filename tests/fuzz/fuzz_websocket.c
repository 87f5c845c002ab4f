/* libFuzzer entry point for the WebSocket frame decoder (both roles, fed in
 * pieces whose sizes come from the input) and the answer-header lookup.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/websocket/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(enum ws_role role, size_t max, size_t chunk, const uint8_t *data, size_t size)
{
	struct ws_conn *c = ws_conn_new(-1, role, max, NULL, 0);
	size_t off = 0;
	int r = 0;
	while (off < size && r >= 0) {
		size_t n = size - off < chunk ? size - off : chunk;
		ws_conn_feed(c, data + off, n);
		off += n;
		struct ws_msg m;
		int code = 0;
		struct mk_err *err = NULL;
		while ((r = ws_conn_parse(c, &m, &code, &err)) == 1) {
			/* every byte handed out must be readable */
			volatile uint8_t sum = 0;
			for (size_t i = 0; i < m.len; i++)
				sum ^= m.data[i];
			(void)sum;
			if (m.opcode == WS_OP_CLOSE && strlen(m.close_reason) > 123)
				abort();
			if (m.len > max && m.opcode != WS_OP_CLOSE && m.opcode != WS_OP_PING &&
			    m.opcode != WS_OP_PONG)
				abort();
		}
		if (r < 0 && code != WS_CLOSE_PROTOCOL && code != WS_CLOSE_TOO_BIG &&
		    code != WS_CLOSE_INVALID_DATA)
			abort();
		mk_err_free(err);
	}
	ws_conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	size_t max = (size_t)data[1] * 64 + 1;
	decode(WS_SERVER, max, chunk, data + 2, size - 2);
	decode(WS_CLIENT, max, chunk, data + 2, size - 2);

	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	free(ws_head_header(s, "Sec-WebSocket-Protocol"));
	(void)ws_header_has_token(s, "upgrade");
	free(s);
	return 0;
}
