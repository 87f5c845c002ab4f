/* WebSocket (RFC 6455), server and client side, without extensions.
 *
 * Three layers, each usable alone:
 *   - the opening handshake: checking a client's upgrade request and
 *     computing Sec-WebSocket-Accept (server), or sending a request and
 *     checking the 101 answer (client);
 *   - the frame codec: ws_frame_encode() appends one frame to a buffer,
 *     struct ws_conn decodes bytes fed to it into messages (reassembling
 *     fragments, checking every rule of RFC 6455 §5 and a size limit);
 *   - blocking send/receive on a socket, for a thread that owns a
 *     connection (ws_conn_recv answers pings and closes by itself).
 * An event loop uses ws_conn_feed + ws_conn_parse on a non-blocking socket
 * and ws_frame_encode into its own output buffer instead.
 *
 * Threads: ws_conn_send*, ws_conn_close may be called from several threads
 * at once (one lock per connection); feeding and parsing belong to one
 * reader thread at a time. */
#ifndef MK_WEBSOCKET_H
#define MK_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "buf.h"
#include "err.h"

/* "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", RFC 6455 §1.3 */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* Close status codes (RFC 6455 §7.4.1) */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005, /* never on the wire: a close frame without code */
	WS_CLOSE_ABNORMAL = 1006,  /* never on the wire: the connection dropped */
	WS_CLOSE_INVALID_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

/* Largest frame header: 2 + 8 (64-bit length) + 4 (mask key). */
#define WS_MAX_HEADER 14

/* ---- handshake ---- */

/* base64(SHA-1(key + WS_GUID)), the Sec-WebSocket-Accept value for the
 * client's Sec-WebSocket-Key. New string. */
char *ws_accept_key(const char *key);

/* Looks up a request header by name (compared without case); NULL when
 * absent. The string is borrowed for the duration of the call. */
typedef const char *(*ws_header_fn)(void *arg, const char *name);

struct ws_handshake {
	char *accept;	      /* new: Sec-WebSocket-Accept to answer */
	const char *protocol; /* borrowed from `supported`: the subprotocol to
			       * echo in Sec-WebSocket-Protocol; NULL when the
			       * client asked for none */
};

/* Checks a client's opening handshake (RFC 6455 §4.2.1): GET, an Upgrade
 * header holding "websocket", a Connection header holding "upgrade",
 * Sec-WebSocket-Version 13 and a Sec-WebSocket-Key of 16 base64-encoded
 * bytes. The subprotocol is the first one the client lists that is in
 * `supported` (NULL-terminated; the client's order wins, as upstream's
 * wsstream does). Errors: MK_EUNSUPPORTED for a version other than 13 (the
 * caller answers 426 with "Sec-WebSocket-Version: 13"); MK_EINVAL for
 * anything else, including a client whose subprotocols are all unknown
 * ("requested protocol(s) are not supported: [a b]; supports [c d]").
 * Clear hs with ws_handshake_clear(). */
int ws_handshake_check(const char *method, ws_header_fn header, void *arg,
		       const char *const *supported, struct ws_handshake *hs, struct mk_err **err);
void ws_handshake_clear(struct ws_handshake *hs);

/* True when the header value (a comma-separated list, as Connection and
 * Upgrade are) holds token, compared without case. value may be NULL. */
bool ws_header_has_token(const char *value, const char *token);

/* Whether a request asks for a WebSocket upgrade at all (Upgrade: websocket
 * and Connection: upgrade), before any other check. */
bool ws_is_upgrade_request(ws_header_fn header, void *arg);

struct ws_client_opts {
	const char *host;	      /* Host header ("10.0.0.2:10250") */
	const char *target;	      /* request target: path and query */
	const char *const *protocols; /* NULL-terminated, in preference order; NULL: none */
	const char *const *headers;   /* extra "Name: value" lines, NULL-terminated; or NULL */
	int timeout_ms;		      /* for the whole handshake; 0: 30 s */
	size_t max_answer;	      /* largest answer (head + body) read; 0: 1 MiB */
};

struct ws_client_result {
	int status;	/* the answer's HTTP status */
	char *protocol; /* new: the Sec-WebSocket-Protocol answered, or NULL */
	char *head;	/* new: the answer's status line and headers, CRLFs kept */
	char *body;	/* new: when not 101, the answer's body (up to max_answer) */
	size_t body_len;
	/* bytes the server sent after its 101 answer (the first frames):
	 * feed them to the ws_conn with ws_conn_feed. */
	struct buf extra;
};

/* The client side of the opening handshake on a connected socket fd
 * (blocking or not): sends the GET upgrade request with a fresh random key,
 * reads the answer. Returns 0 with r->status 101 when the server accepted
 * (Sec-WebSocket-Accept checked, and the protocol, if any, one of those
 * asked for); returns 0 with another status and r->body otherwise (the
 * caller decides what a 400 means); -1 on I/O errors, a malformed answer,
 * a wrong accept value (MK_EIO) or the deadline (MK_ETIMEOUT). Clear r with
 * ws_client_result_clear() in every case. */
int ws_client_handshake(int fd, const struct ws_client_opts *o, struct ws_client_result *r,
			struct mk_err **err);
void ws_client_result_clear(struct ws_client_result *r);

/* Value of header name in an answer head as ws_client_result.head holds it,
 * without surrounding blanks; new string or NULL. */
char *ws_head_header(const char *head, const char *name);

/* ---- frames ---- */

/* Appends one frame to out: opcode (with fin set unless more is true), the
 * payload gathered from iov[0..n) and, when mask is not NULL (a client's
 * frame), masked with the 4-byte key. Control frames must have fin and at
 * most 125 bytes (the caller's duty). */
void ws_frame_encode(struct buf *out, enum ws_opcode opcode, bool more, const uint8_t *mask,
		     const struct iovec *iov, int n);

/* XORs data with the mask key, starting at byte `offset` of the payload. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

/* Close frame payload: code (big-endian) and reason (at most 123 bytes of
 * it are kept). Writes into out (125 bytes), returns the length. */
size_t ws_close_payload(uint8_t out[125], int code, const char *reason);

/* ---- connections ---- */

enum ws_role {
	WS_SERVER, /* expects masked frames, sends unmasked ones */
	WS_CLIENT, /* expects unmasked frames, sends masked ones */
};

/* One message: a complete data message (fragments joined) or a control
 * frame. data is borrowed from the connection until the next parse/recv. */
struct ws_msg {
	enum ws_opcode opcode; /* TEXT, BINARY, CLOSE, PING or PONG */
	const uint8_t *data;
	size_t len;
	int close_code;		  /* CLOSE: the code, or WS_CLOSE_NO_STATUS */
	const char *close_reason; /* CLOSE: the reason (NUL-terminated, maybe ""), borrowed */
};

struct ws_conn;

/* A connection on fd (borrowed: never closed here) in role; data messages
 * larger than max_message (0: 32 MiB) are refused with WS_CLOSE_TOO_BIG.
 * extra (copied) holds bytes already read from fd after the handshake.
 * New, ws_conn_free(). */
struct ws_conn *ws_conn_new(int fd, enum ws_role role, size_t max_message, const void *extra,
			    size_t extra_len);
/* Accepts NULL. */
void ws_conn_free(struct ws_conn *c);

/* Adds bytes read from the peer (copied). */
void ws_conn_feed(struct ws_conn *c, const void *data, size_t len);

/* Decodes the next message from the bytes fed so far: 1 with *m filled, 0
 * when more bytes are needed, -1 on a protocol violation (MK_EINVAL; the
 * close code to send is in *close_code: 1002, 1007 or 1009). After a close
 * frame was returned, nothing more is parsed (0). */
int ws_conn_parse(struct ws_conn *c, struct ws_msg *m, int *close_code, struct mk_err **err);

/* Blocking: parses, reading fd whenever more bytes are needed (waiting at
 * most timeout_ms for each read, -1: forever), until a data message, a pong
 * or a close. Pings are answered with pongs and not returned. A close is
 * answered with a close echoing its code (unless one was sent already) and
 * returned. A violation is answered with a close carrying its code before
 * -1 is returned. The peer closing the socket without a close frame: 0
 * (and m->opcode WS_OP_CLOSE, close_code WS_CLOSE_ABNORMAL); 1 otherwise. */
int ws_conn_recv(struct ws_conn *c, struct ws_msg *m, int timeout_ms, struct mk_err **err);

/* Sends one unfragmented message (or control frame) made of iov[0..n),
 * writing all of it before returning (fd may be non-blocking: then it
 * waits with poll). Thread-safe. MK_EIO when the socket fails; MK_EINVAL
 * after a close was sent. */
int ws_conn_sendv(struct ws_conn *c, enum ws_opcode opcode, const struct iovec *iov, int n,
		  struct mk_err **err);
int ws_conn_send(struct ws_conn *c, enum ws_opcode opcode, const void *data, size_t len,
		 struct mk_err **err);

/* Sends a close frame with code and reason (once; later calls return 0). */
int ws_conn_close(struct ws_conn *c, int code, const char *reason, struct mk_err **err);

/* Whether a close frame was sent / received on c. */
bool ws_conn_close_sent(const struct ws_conn *c);
bool ws_conn_close_received(const struct ws_conn *c);

/* The connection's socket (borrowed). */
int ws_conn_fd(const struct ws_conn *c);

/* Writes all of len bytes to fd, waiting with poll when it is
 * non-blocking; MK_EIO on failure. */
int ws_write_all(int fd, const void *data, size_t len, struct mk_err **err);

#endif
