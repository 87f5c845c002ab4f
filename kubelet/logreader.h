/* Reading a container's CRI log files back as the text `kubectl logs`
 * shows: every line `<RFC3339Nano time> <stdout|stderr> <P|F> <text>` gives
 * its text, followed by a newline for F (a full line) and nothing for P (a
 * piece of a longer line). Lines that do not parse are skipped, as
 * upstream's kubelet does.
 *
 * A container's log is its live file `<dir>/<name>/<attempt>.log` and the
 * files the kubelet rotated away from it, `<attempt>.log.<suffix>`; they
 * are read oldest first (suffixes in name order), then the live file. With
 * follow, the reader waits at the end of the live file: when it grows, the
 * new lines are read; when it is rotated (the path names a new file), the
 * old file is finished and the new one read from its start; when the
 * caller says the container stopped, what is left is read and the reader
 * ends.
 *
 * Not thread-safe: one reader per request, used by one thread at a time. */
#ifndef MK_KUBELET_LOGREADER_H
#define MK_KUBELET_LOGREADER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct logreader_opts {
	bool follow;
	bool timestamps;       /* prefix each line with its time (RFC3339Nano, UTC as Z) */
	long long tail_lines;  /* only the last N lines (of all files); -1: all */
	long long limit_bytes; /* stop after N bytes of output; -1: no limit */
	long long since_ns;    /* skip lines older than this (Unix ns); 0: none */
};

struct logreader;

/* A reader of the log whose live file is path (copied); opts copied. The
 * live file may be missing (nothing to read yet). MK_EIO when a file that
 * exists cannot be read. New, logreader_free(). */
struct logreader *logreader_open(const char *path, const struct logreader_opts *o,
				 struct mk_err **err);

/* Accepts NULL. */
void logreader_free(struct logreader *l);

/* Writes up to max bytes of text into out and returns how many; 0 when a
 * follow has nothing more yet; -1 at the end: everything read (without
 * follow), limit_bytes reached, or a follow whose container stopped
 * (`stopped`, evaluated by the caller before the call, so that every line
 * the container wrote before it stopped is in the file). */
long logreader_read(struct logreader *l, char *out, size_t max, bool stopped);

/* The directory of the live file (borrowed), for an inotify watch. */
const char *logreader_dir(const struct logreader *l);

/* Parses an RFC 3339 time with an optional fraction and Z or ±hh:mm into
 * Unix nanoseconds; -1 when malformed. len: bytes of s to read. */
long long logreader_parse_time(const char *s, size_t len);

#endif
