/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/reactor.c: timer heap order and FIFO ties on a fake
 * clock, callbacks that re-arm/cancel/destroy timers, jitter bounds, deferred
 * work order, fd dispatch through pipes, and real-clock wait bounds.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/reactor.h"

static struct rx_loop *loop;
static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	return *(const uint64_t *)arg;
}

static void setup_fake(void)
{
	cr_assert_eq(rx_loop_create(&loop), 0);
	fake_now = 1000;
	rx_loop_set_clock(loop, fake_clock, &fake_now);
}

static void setup_real(void)
{
	cr_assert_eq(rx_loop_create(&loop), 0);
}

static void teardown(void)
{
	rx_loop_destroy(loop);
	loop = NULL;
}

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- timers on a fake clock ---- */

#define NT 2000

struct rec_timer {
	struct rx_timer *t;
	int id;
	uint64_t expiry; /* expected */
	uint64_t order;	 /* last arming order */
	int armed, fired;
	uint64_t fired_at;
};

static struct rec_timer recs[NT];
static int fire_log[NT];
static int nfired;

static void rec_cb(struct rx_loop *l, struct rx_timer *t, void *arg)
{
	struct rec_timer *r = arg;

	cr_assert_eq(l, loop);
	cr_assert_eq(t, r->t);
	cr_assert_not(rx_timer_armed(t), "timer must be disarmed in its callback");
	r->fired++;
	r->fired_at = fake_now;
	fire_log[nfired++] = r->id;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec_timer *x = *(struct rec_timer *const *)a,
			       *y = *(struct rec_timer *const *)b;

	if (x->expiry != y->expiry)
		return x->expiry < y->expiry ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

Test(reactor_timer, random_order_with_moves_and_cancels, .init = setup_fake, .fini = teardown)
{
	static struct rec_timer *sorted[NT];
	unsigned seed = 12345;
	uint64_t order = 0, start = fake_now;
	int i, k, nexp = 0;

	nfired = 0;
	for (i = 0; i < NT; i++) {
		recs[i] = (struct rec_timer){.id = i};
		recs[i].t = rx_timer_create(loop, rec_cb, &recs[i]);
		cr_assert_not_null(recs[i].t);
	}
	/* Arm everything, then move a third and cancel a sixth, in random order. */
	for (k = 0; k < NT + NT / 3 + NT / 6; k++) {
		struct rec_timer *r = &recs[k < NT ? k : rand_r(&seed) % NT];

		if (k >= NT + NT / 3) {
			rx_timer_cancel(r->t);
			r->armed = 0;
			continue;
		}
		/* Few distinct delays, so many ties. */
		uint64_t delay = (uint64_t)(rand_r(&seed) % 300);

		rx_timer_arm(r->t, delay, 0);
		r->expiry = start + delay;
		r->order = order++;
		r->armed = 1;
		cr_assert(rx_timer_armed(r->t));
		cr_assert_eq(rx_timer_expiry(r->t), r->expiry);
	}
	for (i = 0; i < NT; i++)
		if (recs[i].armed)
			sorted[nexp++] = &recs[i];
	qsort(sorted, (size_t)nexp, sizeof(sorted[0]), rec_cmp);

	/* Advance in uneven steps; each step fires exactly the due timers. */
	while (fake_now < start + 320) {
		int before = nfired, due = 0;

		fake_now += 1 + (uint64_t)(rand_r(&seed) % 7);
		for (i = 0; i < nexp; i++)
			due += sorted[i]->expiry <= fake_now;
		cr_assert_eq(rx_timers_run(loop), (unsigned)(due - before));
		cr_assert_eq(nfired, due);
	}
	cr_assert_eq(nfired, nexp);
	for (i = 0; i < nexp; i++) {
		cr_assert_eq(fire_log[i], sorted[i]->id, "position %d: fired %d, expected %d", i,
			     fire_log[i], sorted[i]->id);
		cr_assert_eq(sorted[i]->fired, 1);
		cr_assert_geq(sorted[i]->fired_at, sorted[i]->expiry);
	}
	for (i = 0; i < NT; i++)
		if (!recs[i].armed)
			cr_assert_eq(recs[i].fired, 0, "cancelled timer %d fired", i);
	cr_assert_eq(rx_timers_run(loop), 0);
	for (i = 0; i < NT; i++)
		rx_timer_destroy(recs[i].t);
}

Test(reactor_timer, ties_fire_in_arming_order, .init = setup_fake, .fini = teardown)
{
	static const int arm_order[] = {3, 1, 4, 0, 2};
	static const int expect[] = {3, 4, 0, 2, 1}; /* 1 is re-armed last */
	size_t i;

	nfired = 0;
	for (i = 0; i < 5; i++) {
		recs[i] = (struct rec_timer){.id = (int)i};
		recs[i].t = rx_timer_create(loop, rec_cb, &recs[i]);
	}
	for (i = 0; i < 5; i++)
		rx_timer_arm(recs[arm_order[i]].t, 10, 0);
	rx_timer_arm(recs[1].t, 10, 0); /* a move counts as a new arming */

	fake_now += 9;
	cr_assert_eq(rx_timers_run(loop), 0);
	fake_now += 1;
	cr_assert_eq(rx_timers_run(loop), 5);
	for (i = 0; i < 5; i++)
		cr_assert_eq(fire_log[i], expect[i], "position %zu", i);
}

Test(reactor_timer, basics, .init = setup_fake, .fini = teardown)
{
	struct rec_timer r = {.id = 0};

	nfired = 0;
	r.t = rx_timer_create(loop, rec_cb, &r);
	cr_assert_not_null(r.t);
	cr_assert_not(rx_timer_armed(r.t));
	cr_assert_eq(rx_now_ms(loop), 1000);
	rx_timer_cancel(r.t); /* cancel of a disarmed timer is a no-op */
	rx_timer_arm(r.t, 5, 0);
	rx_timer_arm(r.t, 50, 0); /* move later */
	cr_assert_eq(rx_timer_expiry(r.t), 1050);
	fake_now = 1049;
	cr_assert_eq(rx_timers_run(loop), 0);
	fake_now = 1050;
	cr_assert_eq(rx_timers_run(loop), 1);
	cr_assert_not(rx_timer_armed(r.t));
	cr_assert_eq(rx_timers_run(loop), 0, "one-shot");

	rx_timer_arm(r.t, UINT64_MAX, UINT64_MAX); /* saturates instead of wrapping */
	cr_assert_eq(rx_timer_expiry(r.t), UINT64_MAX);
	rx_timer_destroy(r.t);
	rx_timer_destroy(NULL);
	rx_loop_destroy(NULL);
}

/* A scripted callback: each firing of timer `self` performs its ops. */
enum op { OP_NONE, OP_REARM_SELF, OP_CANCEL, OP_MOVE, OP_DESTROY_SELF, OP_DESTROY };

struct actor {
	struct rx_timer *t;
	int id, fired;
	enum op op;
	struct actor *other;
	uint64_t delay;
	int rearm_times;
};

static void actor_cb(struct rx_loop *l, struct rx_timer *t, void *arg)
{
	struct actor *a = arg;

	a->fired++;
	fire_log[nfired++] = a->id;
	switch (a->op) {
	case OP_NONE:
		break;
	case OP_REARM_SELF:
		if (a->rearm_times-- > 0)
			rx_timer_arm(t, a->delay, 0);
		break;
	case OP_CANCEL:
		rx_timer_cancel(a->other->t);
		break;
	case OP_MOVE:
		rx_timer_arm(a->other->t, a->delay, 0);
		break;
	case OP_DESTROY_SELF:
		rx_timer_destroy(t);
		a->t = NULL;
		break;
	case OP_DESTROY:
		rx_timer_destroy(a->other->t);
		a->other->t = NULL;
		break;
	}
}

static void actors_init(struct actor *a, int n)
{
	int i;

	nfired = 0;
	for (i = 0; i < n; i++) {
		a[i].id = i;
		a[i].t = rx_timer_create(loop, actor_cb, &a[i]);
		cr_assert_not_null(a[i].t);
	}
}

Test(reactor_timer, callback_cancels_and_moves_others, .init = setup_fake, .fini = teardown)
{
	struct actor a[4] = {
		{.op = OP_CANCEL, .other = &a[1]},
		{.op = OP_NONE},
		{.op = OP_MOVE, .other = &a[3], .delay = 20},
		{.op = OP_NONE},
	};
	int i;

	actors_init(a, 4);
	for (i = 0; i < 4; i++)
		rx_timer_arm(a[i].t, 10, 0); /* all due together: 0, 1, 2, 3 */
	fake_now += 10;
	cr_assert_eq(rx_timers_run(loop), 2, "0 cancels 1, 2 moves 3 out of this run");
	cr_assert_eq(a[1].fired, 0);
	cr_assert_eq(a[3].fired, 0);
	cr_assert(rx_timer_armed(a[3].t));
	cr_assert_eq(rx_timer_expiry(a[3].t), fake_now + 20);
	fake_now += 20;
	cr_assert_eq(rx_timers_run(loop), 1);
	cr_assert_eq(a[3].fired, 1);
	for (i = 0; i < 4; i++)
		rx_timer_destroy(a[i].t);
}

Test(reactor_timer, callback_rearms_self, .init = setup_fake, .fini = teardown)
{
	struct actor a[2] = {
		{.op = OP_REARM_SELF, .delay = 0, .rearm_times = 3},
		{.op = OP_REARM_SELF, .delay = 5, .rearm_times = 2},
	};

	actors_init(a, 2);
	rx_timer_arm(a[0].t, 1, 0);
	rx_timer_arm(a[1].t, 1, 0);
	fake_now += 1;
	/* A delay-0 re-arm waits for the next run instead of spinning here. */
	cr_assert_eq(rx_timers_run(loop), 2);
	cr_assert(rx_timer_armed(a[0].t));
	cr_assert_eq(rx_timer_expiry(a[0].t), fake_now);
	cr_assert_eq(rx_timer_expiry(a[1].t), fake_now + 5);
	cr_assert_eq(rx_timers_run(loop), 1);
	cr_assert_eq(rx_timers_run(loop), 1);
	cr_assert_eq(rx_timers_run(loop), 1);
	cr_assert_eq(rx_timers_run(loop), 0, "a[0] re-armed 3 times, then stops");
	cr_assert_eq(a[0].fired, 4);
	fake_now += 5;
	cr_assert_eq(rx_timers_run(loop), 1);
	fake_now += 5;
	cr_assert_eq(rx_timers_run(loop), 1);
	fake_now += 5;
	cr_assert_eq(rx_timers_run(loop), 0);
	cr_assert_eq(a[1].fired, 3);
	rx_timer_destroy(a[0].t);
	rx_timer_destroy(a[1].t);
}

Test(reactor_timer, callback_destroys_self_and_others, .init = setup_fake, .fini = teardown)
{
	struct actor a[4] = {
		{.op = OP_DESTROY_SELF},
		{.op = OP_DESTROY, .other = &a[2]}, /* a[2] is due in this same run */
		{.op = OP_NONE},
		{.op = OP_DESTROY_SELF},
	};
	int i;

	actors_init(a, 4);
	for (i = 0; i < 4; i++)
		rx_timer_arm(a[i].t, 3, 0);
	fake_now += 3;
	cr_assert_eq(rx_timers_run(loop), 3);
	cr_assert_eq(a[2].fired, 0);
	cr_assert_null(a[0].t);
	cr_assert_null(a[2].t);
	cr_assert_null(a[3].t);
	cr_assert_not(rx_timer_armed(a[1].t));
	rx_timer_destroy(a[1].t);
}

Test(reactor_timer, jitter_within_bounds, .init = setup_fake, .fini = teardown)
{
	struct rx_timer *t = rx_timer_create(loop, rec_cb, NULL);
	int seen[8] = {0};
	int i;

	cr_assert_not_null(t);
	for (i = 0; i < 4000; i++) {
		uint64_t e;

		rx_timer_arm(t, 100, 7);
		e = rx_timer_expiry(t);
		cr_assert(e >= fake_now + 100 && e <= fake_now + 107, "expiry %llu",
			  (unsigned long long)e);
		seen[e - fake_now - 100]++;
	}
	/* Uniform over 8 values: each expected 500 times; 300 is far in the tail. */
	for (i = 0; i < 8; i++)
		cr_assert_gt(seen[i], 300, "jitter %d seen %d times", i, seen[i]);
	rx_timer_arm(t, 100, 0);
	cr_assert_eq(rx_timer_expiry(t), fake_now + 100);
	rx_timer_destroy(t);
}

/* ---- deferred work ---- */

static int defer_log[64];
static int ndefer;

static void defer_rec_cb(struct rx_loop *l, void *arg)
{
	defer_log[ndefer++] = (int)(intptr_t)arg;
}

static void defer_again_cb(struct rx_loop *l, void *arg)
{
	defer_log[ndefer++] = (int)(intptr_t)arg;
	cr_assert_eq(rx_defer(l, defer_again_cb, (void *)((intptr_t)arg + 1)), 0);
}

Test(reactor_defer, fifo_order, .init = setup_fake, .fini = teardown, .timeout = 5)
{
	int i;

	ndefer = 0;
	for (i = 0; i < 10; i++)
		cr_assert_eq(rx_defer(loop, defer_rec_cb, (void *)(intptr_t)i), 0);
	cr_assert_eq(ndefer, 0, "deferred work waits for the loop");
	/* max_wait -1 with nothing to wait for would block forever: pending work must not. */
	cr_assert_eq(rx_loop_run_once(loop, -1), 0);
	cr_assert_eq(ndefer, 10);
	for (i = 0; i < 10; i++)
		cr_assert_eq(defer_log[i], i);
	cr_assert_eq(rx_loop_run_once(loop, 0), 0);
	cr_assert_eq(ndefer, 10, "each item runs once");
}

Test(reactor_defer, self_requeue_does_not_starve, .init = setup_fake, .fini = teardown,
     .timeout = 5)
{
	ndefer = 0;
	cr_assert_eq(rx_defer(loop, defer_again_cb, (void *)100), 0);
	cr_assert_eq(rx_defer(loop, defer_rec_cb, (void *)1), 0);
	cr_assert_eq(rx_loop_run_once(loop, -1), 0);
	cr_assert_eq(ndefer, 2);
	cr_assert_eq(defer_log[0], 100);
	cr_assert_eq(defer_log[1], 1);
	cr_assert_eq(rx_loop_run_once(loop, -1), 0);
	cr_assert_eq(ndefer, 3, "requeued item runs on the next iteration only");
	cr_assert_eq(defer_log[2], 101);
	/* Pending item is freed by rx_loop_destroy() without running. */
}

static void timer_defers_cb(struct rx_loop *l, struct rx_timer *t, void *arg)
{
	defer_log[ndefer++] = -1;
	cr_assert_eq(rx_defer(l, defer_rec_cb, (void *)7), 0);
}

Test(reactor_defer, timer_work_before_deferred, .init = setup_fake, .fini = teardown, .timeout = 5)
{
	struct rx_timer *t = rx_timer_create(loop, timer_defers_cb, NULL);

	ndefer = 0;
	rx_timer_arm(t, 0, 0);
	cr_assert_eq(rx_defer(loop, defer_rec_cb, (void *)3), 0);
	cr_assert_eq(rx_loop_run_once(loop, 0), 0);
	/* timers, then deferred work, including what the timer deferred */
	cr_assert_eq(ndefer, 3);
	cr_assert_eq(defer_log[0], -1);
	cr_assert_eq(defer_log[1], 3);
	cr_assert_eq(defer_log[2], 7);
	rx_timer_destroy(t);
}

/* ---- fds ---- */

struct pipe_ctx {
	int rfd, wfd;
	int calls;
	uint32_t events;
	struct pipe_ctx *victim; /* deleted (and maybe re-added) by our callback */
	int readd;
};

static int cb2_calls;

static void pipe_open(struct pipe_ctx *p)
{
	int fds[2];

	cr_assert_eq(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	p->rfd = fds[0];
	p->wfd = fds[1];
}

static void pipe_close(struct pipe_ctx *p)
{
	close(p->rfd);
	close(p->wfd);
}

static void cb2(struct rx_loop *l, int fd, uint32_t events, void *arg)
{
	cb2_calls++;
}

static void pipe_cb(struct rx_loop *l, int fd, uint32_t events, void *arg)
{
	struct pipe_ctx *p = arg;

	cr_assert_eq(l, loop);
	cr_assert_eq(fd, p->rfd);
	p->calls++;
	p->events = events;
	if (p->victim) {
		rx_io_del(l, p->victim->rfd);
		if (p->readd)
			cr_assert_eq(rx_io_add(l, p->victim->rfd, EPOLLIN, cb2, NULL), 0);
	}
}

Test(reactor_io, pipe_readable, .init = setup_real, .fini = teardown, .timeout = 5)
{
	struct pipe_ctx p = {0};
	char c = 'x';

	pipe_open(&p);
	cr_assert_eq(rx_io_add(loop, p.rfd, EPOLLIN, pipe_cb, &p), 0);
	cr_assert_eq(rx_loop_run_once(loop, 0), 0);
	cr_assert_eq(p.calls, 0, "nothing to read yet");
	cr_assert_eq(write(p.wfd, &c, 1), 1);
	cr_assert_eq(rx_loop_run_once(loop, 1000), 0);
	cr_assert_eq(p.calls, 1);
	cr_assert(p.events & EPOLLIN);
	/* Level-triggered: still readable.  Then switch the interest off. */
	cr_assert_eq(rx_loop_run_once(loop, 0), 0);
	cr_assert_eq(p.calls, 2);
	cr_assert_eq(rx_io_mod(loop, p.rfd, 0), 0);
	cr_assert_eq(rx_loop_run_once(loop, 0), 0);
	cr_assert_eq(p.calls, 2);
	cr_assert_eq(rx_io_mod(loop, p.rfd, EPOLLIN), 0);
	cr_assert_eq(rx_loop_run_once(loop, 0), 0);
	cr_assert_eq(p.calls, 3);
	rx_io_del(loop, p.rfd);
	cr_assert_eq(rx_loop_run_once(loop, 0), 0);
	cr_assert_eq(p.calls, 3);
	rx_io_del(loop, p.rfd); /* twice is harmless */
	pipe_close(&p);
}

Test(reactor_io, add_mod_errors, .init = setup_real, .fini = teardown)
{
	struct pipe_ctx p = {0};
	int closed;

	pipe_open(&p);
	cr_assert_eq(rx_io_add(loop, -1, EPOLLIN, pipe_cb, &p), -EBADF);
	cr_assert_eq(rx_io_add(loop, p.rfd, EPOLLIN, NULL, &p), -EINVAL);
	cr_assert_eq(rx_io_mod(loop, p.rfd, EPOLLIN), -ENOENT);
	cr_assert_eq(rx_io_add(loop, p.rfd, EPOLLIN, pipe_cb, &p), 0);
	cr_assert_eq(rx_io_add(loop, p.rfd, EPOLLIN, pipe_cb, &p), -EEXIST);
	closed = dup(p.wfd);
	close(closed);
	cr_assert_eq(rx_io_add(loop, closed, EPOLLIN, pipe_cb, &p), -EBADF);
	/* A failed add leaves no registration behind. */
	cr_assert_eq(rx_io_mod(loop, closed, EPOLLIN), -ENOENT);
	/* Regular files cannot be polled. */
	int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(f, 0);
	cr_assert_eq(rx_io_add(loop, f, EPOLLIN, pipe_cb, &p), -EPERM);
	close(f);
	/* Large fd numbers grow the table. */
	int big = fcntl(p.rfd, F_DUPFD_CLOEXEC, 900);
	cr_assert_geq(big, 900);
	cr_assert_eq(rx_io_add(loop, big, EPOLLIN, pipe_cb, &p), 0);
	rx_io_del(loop, big);
	close(big);
	rx_io_del(loop, p.rfd);
	pipe_close(&p);
}

/*
 * Both pipes are readable, so both events arrive in one epoll_wait batch.
 * Whichever callback runs first deletes the other fd; the other's pending
 * event must be dropped.
 */
Test(reactor_io, del_other_fd_pending_in_same_batch, .init = setup_real, .fini = teardown,
     .timeout = 5)
{
	struct pipe_ctx a = {0}, b = {0};
	char c = 'x';

	pipe_open(&a);
	pipe_open(&b);
	a.victim = &b;
	b.victim = &a;
	cr_assert_eq(rx_io_add(loop, a.rfd, EPOLLIN, pipe_cb, &a), 0);
	cr_assert_eq(rx_io_add(loop, b.rfd, EPOLLIN, pipe_cb, &b), 0);
	cr_assert_eq(write(a.wfd, &c, 1), 1);
	cr_assert_eq(write(b.wfd, &c, 1), 1);
	cr_assert_eq(rx_loop_run_once(loop, 1000), 0);
	cr_assert_eq(a.calls + b.calls, 1, "a=%d b=%d", a.calls, b.calls);
	pipe_close(&a);
	pipe_close(&b);
}

/* Delete and re-add the other fd: its stale event must not reach the new callback. */
Test(reactor_io, readd_other_fd_pending_in_same_batch, .init = setup_real, .fini = teardown,
     .timeout = 5)
{
	struct pipe_ctx a = {0}, b = {0};
	char c = 'x';

	pipe_open(&a);
	pipe_open(&b);
	a.victim = &b;
	b.victim = &a;
	a.readd = b.readd = 1;
	cb2_calls = 0;
	cr_assert_eq(rx_io_add(loop, a.rfd, EPOLLIN, pipe_cb, &a), 0);
	cr_assert_eq(rx_io_add(loop, b.rfd, EPOLLIN, pipe_cb, &b), 0);
	cr_assert_eq(write(a.wfd, &c, 1), 1);
	cr_assert_eq(write(b.wfd, &c, 1), 1);
	cr_assert_eq(rx_loop_run_once(loop, 1000), 0);
	cr_assert_eq(a.calls + b.calls, 1);
	cr_assert_eq(cb2_calls, 0);
	/* The new registration works from the next wait on. */
	a.victim = b.victim = NULL;
	cr_assert_eq(rx_loop_run_once(loop, 1000), 0);
	cr_assert_eq(cb2_calls + a.calls + b.calls, 3, "new cb and the survivor each fire once");
	cr_assert_eq(cb2_calls, 1);
	rx_io_del(loop, a.rfd);
	rx_io_del(loop, b.rfd);
	pipe_close(&a);
	pipe_close(&b);
}

static void del_self_cb(struct rx_loop *l, int fd, uint32_t events, void *arg)
{
	struct pipe_ctx *p = arg;

	p->calls++;
	rx_io_del(l, fd);
	close(fd);
	p->rfd = -1;
}

Test(reactor_io, del_and_close_own_fd_in_callback, .init = setup_real, .fini = teardown,
     .timeout = 5)
{
	struct pipe_ctx p = {0};
	char c = 'x';

	pipe_open(&p);
	cr_assert_eq(rx_io_add(loop, p.rfd, EPOLLIN, del_self_cb, &p), 0);
	cr_assert_eq(write(p.wfd, &c, 1), 1);
	cr_assert_eq(rx_loop_run_once(loop, 1000), 0);
	cr_assert_eq(rx_loop_run_once(loop, 0), 0);
	cr_assert_eq(p.calls, 1);
	close(p.wfd);
}

/* ---- real-clock waits ---- */

static void count_cb(struct rx_loop *l, struct rx_timer *t, void *arg)
{
	(*(int *)arg)++;
}

Test(reactor_wait, max_wait_respected, .init = setup_real, .fini = teardown, .timeout = 5)
{
	uint64_t t0 = real_ms(), dt;

	cr_assert_eq(rx_loop_run_once(loop, 50), 0);
	dt = real_ms() - t0;
	cr_assert(dt >= 49 && dt < 1000, "waited %llu ms", (unsigned long long)dt);
}

Test(reactor_wait, nearest_timer_bounds_wait, .init = setup_real, .fini = teardown, .timeout = 5)
{
	int fired = 0;
	struct rx_timer *near = rx_timer_create(loop, count_cb, &fired);
	struct rx_timer *far = rx_timer_create(loop, count_cb, &fired);
	uint64_t t0, dt;

	rx_timer_arm(far, 60000, 0);
	rx_timer_arm(near, 30, 0);
	t0 = real_ms();
	/* Might wake a hair early on ms rounding: loop until the timer fires. */
	while (!fired && real_ms() - t0 < 2000)
		cr_assert_eq(rx_loop_run_once(loop, -1), 0);
	dt = real_ms() - t0;
	cr_assert_eq(fired, 1);
	cr_assert(dt >= 30 && dt < 1000, "fired after %llu ms", (unsigned long long)dt);

	/* max_wait shorter than the next timer wins, and the timer does not fire. */
	t0 = real_ms();
	cr_assert_eq(rx_loop_run_once(loop, 20), 0);
	dt = real_ms() - t0;
	cr_assert(dt >= 19 && dt < 1000, "waited %llu ms", (unsigned long long)dt);
	cr_assert_eq(fired, 1);
	cr_assert(rx_timer_armed(far));
	/* Timers and pending work are freed by rx_loop_destroy(). */
}

static void on_alarm(int sig)
{
}

Test(reactor_wait, eintr_is_not_an_error, .init = setup_real, .fini = teardown, .timeout = 5)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval it = {.it_value = {.tv_usec = 20000}};
	uint64_t t0 = real_ms();

	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
	cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	cr_assert_eq(rx_loop_run_once(loop, 2000), 0);
	cr_assert_lt(real_ms() - t0, 1500, "the signal should have cut the wait short");
}

static void stop_cb(struct rx_loop *l, struct rx_timer *t, void *arg)
{
	(*(int *)arg)++;
	rx_loop_stop(l);
}

Test(reactor_wait, run_until_stop, .init = setup_real, .fini = teardown, .timeout = 5)
{
	int n = 0;
	struct rx_timer *t = rx_timer_create(loop, stop_cb, &n);

	rx_timer_arm(t, 10, 0);
	cr_assert_eq(rx_loop_run(loop), 0);
	cr_assert_eq(n, 1);
	/* A stop requested before run is honoured, not lost. */
	rx_loop_stop(loop);
	cr_assert_eq(rx_loop_run(loop), 0);
	cr_assert_eq(n, 1);
	rx_timer_destroy(t);
}

Test(reactor_wait, default_clock_is_monotonic_ms, .init = setup_real, .fini = teardown)
{
	uint64_t a = real_ms(), b = rx_now_ms(loop), c = real_ms();

	cr_assert(a <= b && b <= c);
	rx_loop_set_clock(loop, fake_clock, &fake_now);
	fake_now = 42;
	cr_assert_eq(rx_now_ms(loop), 42);
	rx_loop_set_clock(loop, NULL, NULL);
	cr_assert_geq(rx_now_ms(loop), c);
}
