/* The Kubernetes streaming protocols, server side, without I/O: what a
 * kubelet speaks to kubectl (directly or through the API server) for exec,
 * attach and port-forward.
 *
 * Transports and subprotocols, chosen by kstream_handshake():
 *   - WebSocket with a channel protocol (exec/attach: v5.channel.k8s.io,
 *     v4.channel.k8s.io, channel.k8s.io or none; port-forward:
 *     v4.channel.k8s.io or none). Every binary message starts with its
 *     channel byte. Exec: 0 stdin, 1 stdout, 2 stderr, 3 error/status,
 *     4 resize ({"Width":W,"Height":H}); v5 adds 255 close ([255, 0] ends
 *     stdin). Port-forward: channels 2i (data) and 2i+1 (error) for the i-th
 *     `ports` query value, each opened by the server with the port as two
 *     little-endian bytes.
 *   - SPDY/3.1 (Upgrade: SPDY/3.1, X-Stream-Protocol-Version): exec/attach
 *     v4.channel.k8s.io down to channel.k8s.io, one SPDY stream per
 *     "streamType" (error, stdin, stdout, stderr, resize); port-forward
 *     portforward.k8s.io, one data and one error stream per forwarded
 *     connection, paired by their "requestID" header, with a "port" header.
 *   - SPDY/3.1 tunneled in WebSocket binary messages (subprotocol
 *     "SPDY/3.1+portforward.k8s.io"), how kubectl 1.31+ port-forwards first.
 * The base64 channel variants are not offered.
 *
 * A session (struct kstream) turns the client's bytes into events (stdin
 * data, resize, a new forwarded connection...) and the server's output and
 * final status into bytes for the client, kept in one output buffer the
 * caller drains into the socket. The caller applies back-pressure by not
 * feeding more input while its own writes are pending, and by not reading
 * from the container while kstream_out_len() is large.
 *
 * Not thread-safe: one thread drives a session. */
#ifndef MK_KSTREAM_H
#define MK_KSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "err.h"
#include "websocket.h"

enum kstream_kind {
	KSTREAM_EXEC, /* exec and attach */
	KSTREAM_PORTFORWARD,
};

enum kstream_transport {
	KSTREAM_WEBSOCKET,
	KSTREAM_SPDY,
	KSTREAM_SPDY_OVER_WEBSOCKET,
};

#define KSTREAM_MAX_HEADERS 6

struct kstream_answer {
	int code; /* 101, or the HTTP status of a refusal */
	enum kstream_transport transport;
	const char *protocol; /* the negotiated subprotocol (static), "" for none */
	int version;	      /* exec: 1 to 5 (channel.k8s.io is 1) */
	struct {
		char *name, *value;	/* new */
	} headers[KSTREAM_MAX_HEADERS]; /* for the 101 answer, or the refusal */
	size_t n_headers;
};

/* Decides from a request's method and headers how to upgrade it (see the
 * list above). On success fills *a with code 101 and the headers the 101
 * answer must carry, and returns 0. Otherwise returns -1 with *err holding
 * upstream's message and a->code the status to answer with: 400 ("unable
 * to upgrade: X-Stream-Protocol-Version is required", a bad WebSocket
 * request, "unable to upgrade: missing upgrade headers in request: ..."),
 * 403 ("unable to upgrade: unable to negotiate protocol: client supports
 * [...], server accepts [...]" with X-Accepted-Stream-Protocol-Versions
 * headers) or 426 (a WebSocket version other than 13). Clear *a with
 * kstream_answer_clear() either way. */
int kstream_handshake(enum kstream_kind kind, const char *method, ws_header_fn header, void *arg,
		      struct kstream_answer *a, struct mk_err **err);
void kstream_answer_clear(struct kstream_answer *a);

/* True when the request asks for a protocol upgrade at all (Connection:
 * upgrade), WebSocket or SPDY. */
bool kstream_is_upgrade(ws_header_fn header, void *arg);

struct kstream_exec_opts {
	bool in, out, err, tty; /* the stdin/stdout/stderr/tty query flags */
};

struct kstream;

/* A session after a successful handshake a (borrowed for the call). For
 * exec, o says which streams the client asked for (stderr is dropped with
 * a tty, as upstream does). For port-forward over WebSocket channels,
 * ports[0..n) are the `ports` query values (ignored otherwise). The
 * WebSocket transports put their greeting in the output at once. New,
 * kstream_free(). */
struct kstream *kstream_new(enum kstream_kind kind, const struct kstream_answer *a,
			    const struct kstream_exec_opts *o, const uint16_t *ports, size_t n);
/* Accepts NULL. */
void kstream_free(struct kstream *ks);

/* Adds bytes read from the client (copied). */
void kstream_feed(struct kstream *ks, const void *data, size_t len);

enum kstream_event_type {
	KSTREAM_EV_READY,     /* exec: the client's streams are all open: start */
	KSTREAM_EV_STDIN,     /* data for the process's stdin */
	KSTREAM_EV_STDIN_EOF, /* the client closed stdin */
	KSTREAM_EV_RESIZE,    /* width, height */
	KSTREAM_EV_PF_OPEN,   /* a forwarded connection `stream` to `port` */
	KSTREAM_EV_PF_DATA,   /* data from the client for `stream` */
	KSTREAM_EV_PF_EOF,    /* the client sends nothing more on `stream` */
	KSTREAM_EV_PF_RESET,  /* the client dropped `stream` */
	KSTREAM_EV_CLOSED,    /* the client ended the session (close, GOAWAY) */
};

struct kstream_event {
	enum kstream_event_type type;
	uint32_t stream; /* PF_*: the connection's handle */
	uint16_t port;	 /* PF_OPEN */
	uint16_t width, height;
	const uint8_t *data; /* STDIN, PF_DATA; borrowed until the next call on ks */
	size_t len;
};

/* The next event from the bytes fed so far: 1 with *ev, 0 when more bytes
 * are needed, -1 on a protocol violation (MK_EINVAL), after which the
 * output holds the close frame / GOAWAY to send before closing. Answers to
 * pings and stream replies go to the output by themselves. */
int kstream_next(struct kstream *ks, struct kstream_event *ev, struct mk_err **err);

/* Output pending for the client: its bytes and length; the caller writes
 * some and then consumes that many. */
const void *kstream_out_data(const struct kstream *ks);
size_t kstream_out_len(const struct kstream *ks);
void kstream_out_consume(struct kstream *ks, size_t n);

/* Exec output: channel 1 (stdout) or 2 (stderr). Output on a stream the
 * client did not ask for is dropped. */
void kstream_exec_write(struct kstream *ks, int channel, const void *data, size_t len);

/* Ends an exec session with status (borrowed; see kstream_status_*): the
 * status on the error channel as the protocol version writes it (v4+: the
 * JSON; older: the message of a failure only), then the streams' ends and
 * a close frame / GOAWAY. */
void kstream_exec_finish(struct kstream *ks, const json_t *status);

/* Port-forward output for connection `stream`. */
void kstream_pf_write(struct kstream *ks, uint32_t stream, const void *data, size_t len);
/* The pod side of `stream` ended: an error message (NULL if none) on its
 * error stream, then its end. A WebSocket channel session ends once every
 * port is closed. */
void kstream_pf_close(struct kstream *ks, uint32_t stream, const char *error);

/* True once the session ended from this side (after the output drains,
 * close the socket). */
bool kstream_finished(const struct kstream *ks);

/* ---- the final status of an exec, as upstream's kubelet writes it ---- */

/* {"metadata":{},"status":"Success"}; new reference. */
json_t *kstream_status_success(void);
/* The NonZeroExitCode failure for argv (NULL-terminated) and exit code:
 * message "command terminated with non-zero exit code: error executing
 * command [a b], exit code N", details.causes [{"reason":"ExitCode",
 * "message":"N"}]. New reference. */
json_t *kstream_status_exit(const char *const *argv, int exit_code);
/* An InternalError (500) with message "Internal error occurred: <msg>" and
 * one cause holding msg. New reference. */
json_t *kstream_status_internal(const char *msg);

#endif
