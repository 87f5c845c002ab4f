/* Event loop: epoll for descriptors, a sorted list of timers turned into the
 * epoll timeout, signalfd, pidfds for children, an eventfd for wakeups. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "timefmt.h"
#include "xalloc.h"

enum source_kind { SRC_FD, SRC_WAKE, SRC_SIGNAL, SRC_CHILD };

struct source {
	enum source_kind kind;
	int fd;
	pid_t pid;
	loop_fd_fn fd_fn;
	loop_child_fn child_fn;
	void *arg;
	bool dead; /* removed; freed after the current batch of events */
	struct source *next;
};

struct timer {
	uint64_t id;
	long long due_ns;
	uint64_t every_ms;
	loop_timer_fn fn;
	void *arg;
	struct timer *next;
};

struct call {
	loop_call_fn fn;
	void *arg;
	struct call *next;
};

#define LOOP_MAX_SIGNAL 65

struct loop {
	int epfd;
	struct source *sources;	  /* live */
	struct source *graveyard; /* dead, waiting for the batch to end */
	struct source *wake;
	struct source *sig;
	sigset_t sigmask;
	struct {
		loop_signal_fn fn;
		void *arg;
	} handlers[LOOP_MAX_SIGNAL];
	struct timer *timers; /* sorted by due_ns, then id */
	uint64_t next_timer_id;
	pthread_mutex_t calls_lock;
	struct call *calls, *calls_tail;
	atomic_bool stop;
};

static uint32_t to_epoll(unsigned events)
{
	return (events & LOOP_READ ? EPOLLIN : 0u) | (events & LOOP_WRITE ? EPOLLOUT : 0u);
}

static int source_add(struct loop *l, struct source *s, unsigned events, struct mk_err **err)
{
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = s};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		int e = errno, fd = s->fd;
		free(s);
		return mk_err_errno(err, e == EEXIST ? MK_EEXISTS : MK_EIO, e,
				    "adding fd %d to the loop", fd);
	}
	s->next = l->sources;
	l->sources = s;
	return 0;
}

static void source_kill(struct loop *l, struct source *s)
{
	struct source **pp = &l->sources;
	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
	/* Failure means the fd is already closed: it left the epoll set then. */
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->dead = true;
	s->next = l->graveyard;
	l->graveyard = s;
}

static struct source *find_fd(struct loop *l, int fd)
{
	for (struct source *s = l->sources; s; s = s->next)
		if (s->kind == SRC_FD && s->fd == fd)
			return s;
	return NULL;
}

struct loop *loop_new(struct mk_err **err)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		mk_err_errno(err, MK_EIO, errno, "epoll_create1");
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->calls_lock, NULL);
	sigemptyset(&l->sigmask);
	atomic_init(&l->stop, false);
	struct source *w = xcalloc(1, sizeof(*w));
	w->kind = SRC_WAKE;
	w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->fd < 0) {
		mk_err_errno(err, MK_EIO, errno, "eventfd");
		free(w);
		loop_free(l);
		return NULL;
	}
	int fd = w->fd;
	if (source_add(l, w, LOOP_READ, err) < 0) {
		close(fd);
		loop_free(l);
		return NULL;
	}
	l->wake = w;
	return l;
}

int loop_fd_add(struct loop *l, int fd, unsigned events, loop_fd_fn fn, void *arg,
		struct mk_err **err)
{
	if (find_fd(l, fd))
		return mk_err_set(err, MK_EEXISTS, "fd %d is already in the loop", fd);
	struct source *s = xcalloc(1, sizeof(*s));
	*s = (struct source){.kind = SRC_FD, .fd = fd, .fd_fn = fn, .arg = arg};
	return source_add(l, s, events, err);
}

int loop_fd_mod(struct loop *l, int fd, unsigned events, struct mk_err **err)
{
	struct source *s = find_fd(l, fd);
	if (!s)
		return mk_err_set(err, MK_ENOTFOUND, "fd %d is not in the loop", fd);
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = s};
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return mk_err_errno(err, MK_EIO, errno, "changing fd %d in the loop", fd);
	return 0;
}

int loop_fd_del(struct loop *l, int fd)
{
	struct source *s = find_fd(l, fd);
	if (!s)
		return -1;
	source_kill(l, s);
	return 0;
}

static void timer_insert(struct loop *l, struct timer *t)
{
	struct timer **pp = &l->timers;
	while (*pp &&
	       ((*pp)->due_ns < t->due_ns || ((*pp)->due_ns == t->due_ns && (*pp)->id < t->id)))
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
}

uint64_t loop_timer_add(struct loop *l, uint64_t after_ms, uint64_t every_ms, loop_timer_fn fn,
			void *arg)
{
	struct timer *t = xcalloc(1, sizeof(*t));
	*t = (struct timer){.id = ++l->next_timer_id,
			    .due_ns = time_mono_ns() + (long long)after_ms * 1000000LL,
			    .every_ms = every_ms,
			    .fn = fn,
			    .arg = arg};
	timer_insert(l, t);
	return t->id;
}

void loop_timer_cancel(struct loop *l, uint64_t id)
{
	for (struct timer **pp = &l->timers; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct timer *t = *pp;
			*pp = t->next;
			free(t);
			return;
		}
	}
}

int loop_signal_add(struct loop *l, int signo, loop_signal_fn fn, void *arg, struct mk_err **err)
{
	if (signo <= 0 || signo >= LOOP_MAX_SIGNAL)
		return mk_err_set(err, MK_EINVAL, "signal %d out of range", signo);
	if (l->handlers[signo].fn)
		return mk_err_set(err, MK_EEXISTS, "signal %d already has a handler", signo);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, signo);
	int rc = pthread_sigmask(SIG_BLOCK, &one, NULL);
	if (rc != 0)
		return mk_err_errno(err, MK_EIO, rc, "blocking signal %d", signo);
	sigaddset(&l->sigmask, signo);
	int fd = signalfd(l->sig ? l->sig->fd : -1, &l->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "signalfd");
	if (!l->sig) {
		struct source *s = xcalloc(1, sizeof(*s));
		*s = (struct source){.kind = SRC_SIGNAL, .fd = fd};
		if (source_add(l, s, LOOP_READ, err) < 0) {
			close(fd);
			return -1;
		}
		l->sig = s;
	}
	l->handlers[signo].fn = fn;
	l->handlers[signo].arg = arg;
	return 0;
}

int loop_child_add(struct loop *l, pid_t pid, loop_child_fn fn, void *arg, struct mk_err **err)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return mk_err_errno(err, errno == ESRCH ? MK_ENOTFOUND : MK_EIO, errno,
				    "pidfd_open %d", (int)pid);
	struct source *s = xcalloc(1, sizeof(*s));
	*s = (struct source){.kind = SRC_CHILD, .fd = fd, .pid = pid, .child_fn = fn, .arg = arg};
	if (source_add(l, s, LOOP_READ, err) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

static void wake(struct loop *l)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is already non-zero: the loop will wake. */
	while (write(l->wake->fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void loop_call(struct loop *l, loop_call_fn fn, void *arg)
{
	struct call *c = xcalloc(1, sizeof(*c));
	c->fn = fn;
	c->arg = arg;
	pthread_mutex_lock(&l->calls_lock);
	if (l->calls_tail)
		l->calls_tail->next = c;
	else
		l->calls = c;
	l->calls_tail = c;
	pthread_mutex_unlock(&l->calls_lock);
	wake(l);
}

void loop_stop(struct loop *l)
{
	atomic_store(&l->stop, true);
	wake(l);
}

static void run_calls(struct loop *l)
{
	uint64_t n;
	while (read(l->wake->fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&l->calls_lock);
	struct call *c = l->calls;
	l->calls = l->calls_tail = NULL;
	pthread_mutex_unlock(&l->calls_lock);
	while (c) {
		struct call *next = c->next;
		c->fn(l, c->arg);
		free(c);
		c = next;
	}
}

static void run_signals(struct loop *l)
{
	struct signalfd_siginfo si;
	for (;;) {
		ssize_t n = read(l->sig->fd, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		int signo = (int)si.ssi_signo;
		if (signo > 0 && signo < LOOP_MAX_SIGNAL && l->handlers[signo].fn)
			l->handlers[signo].fn(l, signo, l->handlers[signo].arg);
	}
}

static void run_child(struct loop *l, struct source *s)
{
	int status = 0;
	pid_t r = waitpid(s->pid, &status, WNOHANG);
	if (r == 0)
		return; /* not exited yet (a stopped child, for one) */
	pid_t pid = s->pid;
	loop_child_fn fn = s->child_fn;
	void *arg = s->arg;
	source_kill(l, s);
	close(s->fd);
	/* r < 0: reaped elsewhere (ECHILD); report an unknown status. */
	fn(l, pid, r < 0 ? -1 : status, arg);
}

static void run_timers(struct loop *l)
{
	long long now = time_mono_ns();
	/* Only timers due now; ones re-armed or added by callbacks wait a turn. */
	uint64_t last_id = l->next_timer_id;
	while (l->timers && l->timers->due_ns <= now && !atomic_load(&l->stop)) {
		struct timer *t = l->timers;
		if (t->id > last_id)
			break;
		l->timers = t->next;
		loop_timer_fn fn = t->fn;
		void *arg = t->arg;
		uint64_t id = t->id;
		if (t->every_ms) {
			t->due_ns += (long long)t->every_ms * 1000000LL;
			if (t->due_ns <= now)
				t->due_ns = now + (long long)t->every_ms * 1000000LL;
			timer_insert(l, t);
		} else {
			free(t);
		}
		fn(l, id, arg);
	}
}

static int next_timeout_ms(struct loop *l)
{
	if (!l->timers)
		return -1;
	long long d = l->timers->due_ns - time_mono_ns();
	if (d <= 0)
		return 0;
	long long ms = (d + 999999LL) / 1000000LL;
	return ms > 60000 ? 60000 : (int)ms;
}

static void bury(struct loop *l)
{
	while (l->graveyard) {
		struct source *s = l->graveyard;
		l->graveyard = s->next;
		free(s);
	}
}

int loop_run(struct loop *l, struct mk_err **err)
{
	struct epoll_event evs[32];
	while (!atomic_load(&l->stop)) {
		int n = epoll_wait(l->epfd, evs, 32, next_timeout_ms(l));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mk_err_errno(err, MK_EIO, errno, "epoll_wait");
		}
		for (int i = 0; i < n && !atomic_load(&l->stop); i++) {
			struct source *s = evs[i].data.ptr;
			if (s->dead)
				continue;
			unsigned events = (evs[i].events & EPOLLIN ? LOOP_READ : 0u) |
					  (evs[i].events & EPOLLOUT ? LOOP_WRITE : 0u) |
					  (evs[i].events & (EPOLLHUP | EPOLLERR) ? LOOP_HUP : 0u);
			switch (s->kind) {
			case SRC_FD:
				s->fd_fn(l, s->fd, events, s->arg);
				break;
			case SRC_WAKE:
				run_calls(l);
				break;
			case SRC_SIGNAL:
				run_signals(l);
				break;
			case SRC_CHILD:
				run_child(l, s);
				break;
			}
		}
		bury(l);
		run_timers(l);
	}
	atomic_store(&l->stop, false);
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	while (l->sources) {
		struct source *s = l->sources;
		source_kill(l, s);
		if (s->kind != SRC_FD)
			close(s->fd);
	}
	bury(l);
	while (l->timers) {
		struct timer *t = l->timers;
		l->timers = t->next;
		free(t);
	}
	while (l->calls) {
		struct call *c = l->calls;
		l->calls = c->next;
		free(c);
	}
	if (l->epfd >= 0)
		close(l->epfd);
	pthread_mutex_destroy(&l->calls_lock);
	free(l);
}
