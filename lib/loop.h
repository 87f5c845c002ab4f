/* Event loop on epoll: file descriptors, timers, signals (signalfd), child
 * exits (pidfd) and calls posted from other threads.
 *
 * One thread runs loop_run; every callback runs on that thread. Only
 * loop_call and loop_stop may be used from other threads. Callbacks may add
 * and remove any source, their own included. */
#ifndef MK_LOOP_H
#define MK_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct loop;

#define LOOP_READ  0x1u
#define LOOP_WRITE 0x2u
#define LOOP_HUP   0x4u /* reported only: hang-up or error on the fd */

typedef void (*loop_fd_fn)(struct loop *l, int fd, unsigned events, void *arg);
typedef void (*loop_timer_fn)(struct loop *l, uint64_t id, void *arg);
typedef void (*loop_signal_fn)(struct loop *l, int signo, void *arg);
/* status as from waitpid (WIFEXITED/WEXITSTATUS...). */
typedef void (*loop_child_fn)(struct loop *l, pid_t pid, int status, void *arg);
typedef void (*loop_call_fn)(struct loop *l, void *arg);

/* New loop, loop_free(). NULL with MK_EIO if epoll/eventfd fail. */
struct loop *loop_new(struct mk_err **err);

/* Watches fd (borrowed: the caller closes it, after loop_fd_del) for events
 * (LOOP_READ | LOOP_WRITE). One registration per fd (MK_EEXISTS otherwise). */
int loop_fd_add(struct loop *l, int fd, unsigned events, loop_fd_fn fn, void *arg,
		struct mk_err **err);
int loop_fd_mod(struct loop *l, int fd, unsigned events, struct mk_err **err);
/* Returns 0, or -1 if fd was not registered. */
int loop_fd_del(struct loop *l, int fd);

/* A timer firing after after_ms, then every every_ms (0: once). Returns its
 * id (never 0). Timers due at the same time fire in the order added. */
uint64_t loop_timer_add(struct loop *l, uint64_t after_ms, uint64_t every_ms, loop_timer_fn fn,
			void *arg);
/* Cancels a timer; a no-op for an id that already fired (once) or is unknown. */
void loop_timer_cancel(struct loop *l, uint64_t id);

/* Delivers signo through the loop: blocks it in the calling thread (call
 * before starting other threads so they inherit the mask). One handler per
 * signal (MK_EEXISTS otherwise). */
int loop_signal_add(struct loop *l, int signo, loop_signal_fn fn, void *arg, struct mk_err **err);

/* Calls fn once child pid (a child of this process) exits, after reaping it. */
int loop_child_add(struct loop *l, pid_t pid, loop_child_fn fn, void *arg, struct mk_err **err);

/* From any thread: runs fn(l, arg) on the loop thread soon, in call order. */
void loop_call(struct loop *l, loop_call_fn fn, void *arg);

/* Runs until loop_stop; returns 0, or -1 (MK_EIO) if epoll fails. */
int loop_run(struct loop *l, struct mk_err **err);
/* From any thread: makes loop_run return after the current callback. */
void loop_stop(struct loop *l);

/* Accepts NULL. Calls still queued are dropped; children are not reaped. */
void loop_free(struct loop *l);

#endif
