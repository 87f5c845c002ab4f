/* loop: descriptors, timers, signals, child exits, cross-thread calls. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "loop.h"
#include "timefmt.h"

struct rec {
	struct buf log;
	int count;
	uint64_t cancel_id;
};

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct rec *r = arg;
	char c;
	assert_true(events & LOOP_READ);
	assert_int_equal(read(fd, &c, 1), 1);
	buf_printf(&r->log, "read %c;", c);
	if (c == 'q') {
		assert_int_equal(loop_fd_del(l, fd), 0);
		loop_stop(l);
	}
}

static void on_timer(struct loop *l, uint64_t id, void *arg)
{
	(void)id;
	struct rec *r = arg;
	r->count++;
	buf_printf(&r->log, "tick;");
	if (r->count == 3) {
		loop_timer_cancel(l, id);
		loop_stop(l);
	}
}

static void on_named(struct loop *l, uint64_t id, void *arg)
{
	(void)l;
	struct rec *r = arg;
	buf_printf(&r->log, "timer %llu;", (unsigned long long)id);
	if (r->cancel_id)
		loop_timer_cancel(l, r->cancel_id);
}

static void stop_timer(struct loop *l, uint64_t id, void *arg)
{
	(void)id, (void)arg;
	loop_stop(l);
}

static void test_fd_and_timers(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	struct loop *l = loop_new(&err);
	assert_non_null(l);
	struct rec r = {.log = BUF_INIT};
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_fd_add(l, p[0], LOOP_READ, on_readable, &r, &err), 0);
	assert_int_equal(loop_fd_add(l, p[0], LOOP_READ, on_readable, &r, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EEXISTS);
	mk_err_free(steal_pointer(&err));
	assert_int_equal(write(p[1], "aq", 2), 2);
	assert_int_equal(loop_run(l, &err), 0);
	assert_string_equal(buf_str(&r.log), "read a;read q;");
	assert_int_equal(loop_fd_del(l, p[0]), -1);
	close(p[0]);
	close(p[1]);

	/* a periodic timer fires three times, about 20 ms apart */
	buf_reset(&r.log);
	long long t0 = time_mono_ns();
	loop_timer_add(l, 20, 20, on_timer, &r);
	assert_int_equal(loop_run(l, &err), 0);
	long long took = (time_mono_ns() - t0) / 1000000;
	assert_string_equal(buf_str(&r.log), "tick;tick;tick;");
	assert_true(took >= 60);

	/* order by due time; same time by order added; a cancelled one never fires */
	buf_reset(&r.log);
	uint64_t a = loop_timer_add(l, 30, 0, on_named, &r);
	uint64_t b = loop_timer_add(l, 10, 0, on_named, &r);
	uint64_t c = loop_timer_add(l, 10, 0, on_named, &r);
	uint64_t d = loop_timer_add(l, 20, 0, on_named, &r);
	loop_timer_cancel(l, d);
	loop_timer_add(l, 50, 0, stop_timer, NULL);
	assert_int_equal(loop_run(l, &err), 0);
	char want[128];
	snprintf(want, sizeof(want), "timer %llu;timer %llu;timer %llu;", (unsigned long long)b,
		 (unsigned long long)c, (unsigned long long)a);
	assert_string_equal(buf_str(&r.log), want);
	loop_free(l);
	buf_free(&r.log);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	struct rec *r = arg;
	buf_printf(&r->log, "signal %d;", signo);
	if (signo == SIGUSR1)
		assert_int_equal(kill(getpid(), SIGUSR2), 0);
	else
		loop_stop(l);
}

static void on_child(struct loop *l, pid_t pid, int status, void *arg)
{
	struct rec *r = arg;
	assert_true(pid > 0);
	assert_true(WIFEXITED(status));
	buf_printf(&r->log, "child exit %d;", WEXITSTATUS(status));
	r->count++;
	if (r->count == 1)
		assert_int_equal(kill(getpid(), SIGUSR1), 0);
	(void)l;
}

static void test_signals_and_children(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	struct loop *l = loop_new(&err);
	struct rec r = {.log = BUF_INIT};
	assert_int_equal(loop_signal_add(l, SIGUSR1, on_signal, &r, &err), 0);
	assert_int_equal(loop_signal_add(l, SIGUSR2, on_signal, &r, &err), 0);
	assert_int_equal(loop_signal_add(l, SIGUSR2, on_signal, &r, &err), -1);
	mk_err_free(steal_pointer(&err));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(20000);
		_exit(7);
	}
	assert_int_equal(loop_child_add(l, pid, on_child, &r, &err), 0);
	/* the child's exit raises SIGUSR1, whose handler raises SIGUSR2, which stops */
	uint64_t guard = loop_timer_add(l, 5000, 0, stop_timer, NULL);
	assert_int_equal(loop_run(l, &err), 0);
	loop_timer_cancel(l, guard);
	char want[128];
	snprintf(want, sizeof(want), "child exit 7;signal %d;signal %d;", SIGUSR1, SIGUSR2);
	assert_string_equal(buf_str(&r.log), want);
	/* the child was reaped by the loop */
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	/* a pid that is not running */
	assert_int_equal(loop_child_add(l, pid, on_child, &r, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	loop_free(l);
	buf_free(&r.log);
}

struct poster {
	struct loop *l;
	struct rec *r;
};

static void posted(struct loop *l, void *arg)
{
	struct rec *r = arg;
	r->count++;
	if (r->count == 100)
		loop_stop(l);
}

static void *post_many(void *arg)
{
	struct poster *p = arg;
	for (int i = 0; i < 100; i++)
		loop_call(p->l, posted, p->r);
	return NULL;
}

static void test_calls_from_threads(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	struct loop *l = loop_new(&err);
	struct rec r = {.log = BUF_INIT};
	struct poster p = {.l = l, .r = &r};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, post_many, &p), 0);
	assert_int_equal(loop_run(l, &err), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.count, 100);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_and_timers),
		cmocka_unit_test(test_signals_and_children),
		cmocka_unit_test(test_calls_from_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
