/* SPDY/3.1 framing, as kubectl's SPDY transport (moby/spdystream) speaks
 * it for exec, attach and port-forward: a codec without I/O. Bytes from the
 * peer go in with spdy_feed() and come out of spdy_next() as frames; frames
 * to send are appended to a caller's buffer by the spdy_put_* functions.
 *
 * Header blocks are compressed with zlib and the SPDY/3 dictionary, one
 * compression context per direction for the whole session, as the protocol
 * requires: encode and decode every header block of a session in order.
 *
 * Flow control: SPDY/3.1 defines per-stream and session windows, but
 * spdystream neither sends WINDOW_UPDATE nor honours it; a sender that
 * respected the 64 KiB initial window would stall forever. So windows are
 * not enforced here: SETTINGS and WINDOW_UPDATE are decoded and handed out,
 * never required, and back-pressure is left to the transport (the peer
 * stops reading its socket).
 *
 * Not thread-safe: one reader feeds and parses, one writer (or a writer
 * lock) encodes. */
#ifndef MK_SPDY_H
#define MK_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define SPDY_VERSION  3
#define SPDY_MAX_DATA 0xffffff /* 24-bit length */
/* largest decompressed header block accepted */
#define SPDY_MAX_HEADERS (256 * 1024)

enum spdy_type {
	SPDY_DATA = 0, /* not a control type: a data frame */
	SPDY_SYN_STREAM = 1,
	SPDY_SYN_REPLY = 2,
	SPDY_RST_STREAM = 3,
	SPDY_SETTINGS = 4,
	SPDY_PING = 6,
	SPDY_GOAWAY = 7,
	SPDY_HEADERS = 8,
	SPDY_WINDOW_UPDATE = 9,
};

#define SPDY_FLAG_FIN		 0x01
#define SPDY_FLAG_UNIDIRECTIONAL 0x02

enum spdy_rst_status {
	SPDY_RST_PROTOCOL_ERROR = 1,
	SPDY_RST_INVALID_STREAM = 2,
	SPDY_RST_REFUSED_STREAM = 3,
	SPDY_RST_UNSUPPORTED_VERSION = 4,
	SPDY_RST_CANCEL = 5,
	SPDY_RST_INTERNAL_ERROR = 6,
	SPDY_RST_FLOW_CONTROL_ERROR = 7,
	SPDY_RST_STREAM_IN_USE = 8,
	SPDY_RST_STREAM_ALREADY_CLOSED = 9,
	SPDY_RST_FRAME_TOO_LARGE = 11,
};

enum spdy_goaway_status {
	SPDY_GOAWAY_OK = 0,
	SPDY_GOAWAY_PROTOCOL_ERROR = 1,
	SPDY_GOAWAY_INTERNAL_ERROR = 2,
};

/* One header: name (lower case on the wire) and value (several values are
 * joined with NUL bytes, hence the explicit length). */
struct spdy_header {
	const char *name;
	const char *value;
	size_t value_len;
};

/* A decoded frame. Pointers are borrowed from the session until the next
 * spdy_feed/spdy_next call. */
struct spdy_frame {
	enum spdy_type type;
	uint8_t flags;
	uint32_t stream_id;    /* DATA, SYN_*, RST, HEADERS, WINDOW_UPDATE */
	uint32_t assoc_id;     /* SYN_STREAM */
	uint8_t priority;      /* SYN_STREAM, 0 (highest) to 7 */
	uint32_t status;       /* RST_STREAM, GOAWAY */
	uint32_t ping_id;      /* PING */
	uint32_t last_good_id; /* GOAWAY */
	uint32_t delta;	       /* WINDOW_UPDATE */
	const uint8_t *data;   /* DATA */
	size_t len;
	const struct spdy_header *headers; /* SYN_STREAM, SYN_REPLY, HEADERS */
	size_t n_headers;
};

struct spdy;

/* A codec for one session. New, spdy_free(). */
struct spdy *spdy_new(void);
/* Accepts NULL. */
void spdy_free(struct spdy *s);

/* Adds bytes received from the peer (copied). */
void spdy_feed(struct spdy *s, const void *data, size_t len);

/* Decodes the next frame: 1 with *f filled, 0 when more bytes are needed,
 * -1 (MK_EINVAL) on a session error: a version other than 3, a stream id 0
 * where one is required, a header block that does not decompress, holds
 * upper-case or duplicate names or is larger than SPDY_MAX_HEADERS, a
 * control frame of the wrong length. The caller then sends GOAWAY with
 * SPDY_GOAWAY_PROTOCOL_ERROR and closes. Control frames of unknown types
 * are skipped, as the protocol asks. */
int spdy_next(struct spdy *s, struct spdy_frame *f, struct mk_err **err);

/* The value of header name in f (names compared without case), or NULL;
 * with several values, the first. Borrowed from f. */
const char *spdy_frame_header(const struct spdy_frame *f, const char *name);

/* ---- encoding (appending to out) ---- */

/* SYN_STREAM / SYN_REPLY / HEADERS with headers[0..n) (names are sent in
 * lower case); these advance the session's compression context. */
void spdy_put_syn_stream(struct spdy *s, struct buf *out, uint32_t stream_id, uint8_t flags,
			 const struct spdy_header *headers, size_t n);
void spdy_put_syn_reply(struct spdy *s, struct buf *out, uint32_t stream_id, uint8_t flags,
			const struct spdy_header *headers, size_t n);

/* The 8-byte header of a data frame; the caller appends len bytes of
 * payload (len <= SPDY_MAX_DATA). Does not touch the session. */
void spdy_put_data_header(struct buf *out, uint32_t stream_id, uint8_t flags, size_t len);
/* Header and payload at once. */
void spdy_put_data(struct buf *out, uint32_t stream_id, uint8_t flags, const void *data,
		   size_t len);
void spdy_put_rst_stream(struct buf *out, uint32_t stream_id, uint32_t status);
void spdy_put_ping(struct buf *out, uint32_t id);
void spdy_put_goaway(struct buf *out, uint32_t last_good_id, uint32_t status);
void spdy_put_window_update(struct buf *out, uint32_t stream_id, uint32_t delta);

/* The SPDY/3 header compression dictionary (1423 bytes); borrowed, static. */
const uint8_t *spdy_dictionary(size_t *len);

#endif
