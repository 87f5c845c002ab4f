/* A client of etcd's v3 API through its JSON gateway (grpc-gateway, served
 * on the client URL itself) over libcurl: unary calls (POST /v3/<service>/
 * <method> with a JSON body) and long-lived streams (POST /v3/watch, one JSON
 * message per line).
 *
 * Why the gateway and not gRPC: Debian ships no well-kept C gRPC library
 * that fits (grpc's C core has no stable C API for applications, and a
 * hand-made HTTP/2 + protobuf stack would be our own code), while the gateway
 * speaks the same v3 API with libcurl and jansson, which every binary here
 * already links. Keys and values travel base64-encoded, int64 fields as JSON
 * strings, and fields equal to their zero value are omitted (see the
 * helpers below).
 *
 * Several endpoints ("http://a:2379,http://b:2379") are members of one
 * cluster: a call goes to the current member and moves on to the next when
 * the member cannot be reached, has no leader, or (for idempotent calls) the
 * connection fails mid-way. Every request carries the gRPC metadata
 * "hasleader" so that a member cut off from the quorum refuses at once
 * instead of timing out.
 *
 * Thread-safe: calls may run concurrently from any thread (each takes a
 * keep-alive handle from a pool). Streams run on one thread per client
 * (curl multi), started with the first stream. */
#ifndef MK_ETCD_H
#define MK_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "err.h"

struct etcd_client;
struct etcd_stream;

struct etcd_config {
	const char *endpoints;	 /* comma-separated URLs, http:// or https:// */
	const char *ca_file;	 /* TLS: CA bundle to verify members; NULL: system default */
	const char *cert_file;	 /* TLS client certificate, NULL for none */
	const char *key_file;	 /* its key */
	long connect_timeout_ms; /* per member; 0: 1000 */
	long stall_timeout_ms;	 /* a unary call receiving nothing this long fails; 0: 5000;
				  * no new try of a call after twice this */
};

/* Parses the endpoints and prepares the client; does not connect. New
 * handle, free with etcd_client_free. MK_EINVAL for a malformed endpoint. */
struct etcd_client *etcd_client_new(const struct etcd_config *cfg, struct mk_err **err);
/* Closes every stream (their callbacks have returned when this returns) and
 * frees c; accepts NULL. */
void etcd_client_free(struct etcd_client *c);

/* The member calls go to now ("http://127.0.0.1:2379"); borrowed, valid
 * until etcd_client_free. */
const char *etcd_client_endpoint(struct etcd_client *c);

/* A unary call may be sent again to another member after a failure that
 * leaves unknown whether it was applied (reads, or writes that are safe to
 * repeat). Without the flag a call is only resent when it never left. */
#define ETCD_IDEMPOTENT 1u

/* POST /v3/<method> ("kv/range", "kv/txn", "lease/grant"...) with body
 * (borrowed). Returns the response object (new reference), or NULL with
 * *err: the gateway's error mapped onto our codes, with its gRPC code in
 * domain_code and its text in the message:
 *   11 "...has been compacted"       MK_EEXPIRED
 *   11 "...future revision"          MK_ETIMEOUT
 *   3  "...request is too large"     MK_ETOOLARGE (over --max-request-bytes)
 *   8  "...larger than max"          MK_ETOOLARGE (over its gRPC limit: that + 512 KiB)
 *   3  otherwise                     MK_EINVAL
 *   5  (lease not found)             MK_ENOTFOUND
 *   14, 4, unreachable, timed out    MK_EUNAVAILABLE
 *   anything else                    MK_EIO */
json_t *etcd_call(struct etcd_client *c, const char *method, const json_t *body, unsigned flags,
		  struct mk_err **err);

/* Standard base64 with padding, as the gateway wants bytes. New string. */
char *etcd_b64(const void *data, size_t len);
/* Decodes base64; new NUL-terminated buffer (free()) with its length in *len,
 * or NULL if text is not valid base64. */
char *etcd_unb64(const char *text, size_t *len);
/* An int64 field sent as a JSON string (or number); 0 when absent, as the
 * gateway omits zero values. */
int64_t etcd_int(const json_t *obj, const char *field);
/* The end of the key range holding every key that starts with prefix: the
 * prefix with its last byte incremented (after dropping trailing 0xff bytes);
 * "\0" (every key) when nothing is left. New string. */
char *etcd_prefix_end(const char *prefix);

/* What a stream's message callback asks for next. */
enum etcd_stream_next {
	ETCD_STREAM_CONTINUE,  /* keep reading */
	ETCD_STREAM_RECONNECT, /* drop the connection; reconnect at once (request() again) */
	ETCD_STREAM_RETRY,     /* as if the connection was lost: back off, next member */
	ETCD_STREAM_STOP,      /* drop it for good: no more callbacks; close it later */
};

/* Callbacks of a stream, all run on the client's stream thread, one at a
 * time for a given stream. They may call etcd_call and etcd_stream_close (of
 * their own stream too: no callback runs after the current one returns, so
 * the callback may free arg itself), but must not wait for locks held by a
 * thread that calls etcd_stream_close. */
struct etcd_stream_ops {
	/* The request body of each (re)connection; new reference. NULL stops the
	 * stream as ETCD_STREAM_STOP does. */
	json_t *(*request)(void *arg);
	/* One message of the stream: the object under "result" (borrowed for
	 * the call). A message holding an error ends the connection instead. */
	enum etcd_stream_next (*message)(json_t *result, void *arg);
	/* The connection ended (member gone, error answer, stall); err borrowed.
	 * The stream reconnects, to the next member if this one was unreachable,
	 * after a back-off (100 ms doubling to 2 s, reset by a message). May be
	 * NULL. */
	void (*lost)(const struct mk_err *err, void *arg);
};

/* Opens a stream POST /v3/<method> (e.g. "watch"); ops and arg are borrowed
 * until etcd_stream_close returns. The first connection is attempted at
 * once, on the stream thread. New handle. */
struct etcd_stream *etcd_stream_open(struct etcd_client *c, const char *method,
				     const struct etcd_stream_ops *ops, void *arg,
				     struct mk_err **err);
/* Ends a stream and frees it; when it returns (from another thread), no
 * callback of it runs any more. From one of its own callbacks it takes effect
 * when that callback returns. Accepts NULL. */
void etcd_stream_close(struct etcd_stream *s);

#endif
