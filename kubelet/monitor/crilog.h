/* The CRI container log format, written the way containerd writes it:
 *
 *   <RFC3339Nano UTC timestamp, Z> <stdout|stderr> <F|P> <text>\n
 *
 * F ends a line (the container's "\n", and a "\r" before it, are not kept);
 * a line that does not fit, with its "\n", in the maximum (containerd's
 * max_container_log_line_size, 16 KiB) goes out as P pieces of that size
 * followed by the rest as F. Text still pending when a stream ends is written
 * as F, as containerd does at EOF. Every line is one writev(2) on an O_APPEND descriptor, so lines of the
 * two streams never interleave within a line. The timestamp is the time the
 * bytes were read, trailing zeros of the fraction dropped as Go's
 * RFC3339Nano does ("2026-12-07T13:11:26.7489932Z").
 *
 * Not thread-safe: one writer per log (the monitor's single thread). */
#ifndef MK_MONITOR_CRILOG_H
#define MK_MONITOR_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "err.h"

#define CRILOG_MAX_LINE 16384

enum crilog_stream {
	CRILOG_STDOUT = 0,
	CRILOG_STDERR = 1,
};

struct crilog {
	int fd;			    /* the log file, or -1 */
	char *path;		    /* owned */
	size_t max_line;	    /* CRILOG_MAX_LINE unless a test changes it */
	struct buf pending[2];	    /* text of an unfinished line per stream */
	unsigned long write_errors; /* lines lost to failed writes (disk full...) */
};

/* Opens (creating, mode 0640, O_APPEND) the log at path. l is filled; free
 * with crilog_close(). MK_EIO/MK_ENOTFOUND with the path on failure. */
int crilog_open(struct crilog *l, const char *path, struct mk_err **err);

/* Opens the path again (after the file was renamed for rotation) and
 * switches to the new file; on failure keeps writing to the old one. */
int crilog_reopen(struct crilog *l, struct mk_err **err);

/* Takes len bytes read from a stream at time now: writes every complete line
 * and pieces of overlong lines, keeps the rest pending. */
void crilog_feed(struct crilog *l, enum crilog_stream s, const char *data, size_t len,
		 const struct timespec *now);

/* Writes the pending text of a stream (if any) as a final F line. */
void crilog_flush(struct crilog *l, enum crilog_stream s, const struct timespec *now);

/* Closes the file and frees the buffers; accepts a closed log. */
void crilog_close(struct crilog *l);

/* Writes the RFC3339Nano UTC text of ts into out (at least 40 bytes) and
 * returns its length. */
size_t crilog_timestamp(const struct timespec *ts, char *out, size_t size);

#endif
