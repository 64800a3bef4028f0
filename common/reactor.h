/* SPDX-License-Identifier: MIT */
/*
 * reactor: one epoll loop per process, a binary min-heap of timers and a
 * queue of deferred work.  Everything in the agent runs on this loop; no
 * threads.  Time is CLOCK_MONOTONIC in milliseconds unless a test installs
 * its own clock with rx_loop_set_clock().
 */
#ifndef VXMESH_REACTOR_H
#define VXMESH_REACTOR_H

#include <stdint.h>

struct rx_loop;
struct rx_timer;

typedef void (*rx_io_cb)(struct rx_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*rx_timer_cb)(struct rx_loop *loop, struct rx_timer *t, void *arg);
typedef void (*rx_defer_cb)(struct rx_loop *loop, void *arg);
typedef uint64_t (*rx_clock_cb)(void *arg);

/* Returns 0 or -errno.  Release with rx_loop_destroy(). */
int rx_loop_create(struct rx_loop **out) __attribute__((warn_unused_result));
/* Frees the loop, its timers and pending deferred work.  Accepts NULL.
 * Does not close registered fds. */
void rx_loop_destroy(struct rx_loop *loop);

/* Replace the clock (for tests).  NULL restores CLOCK_MONOTONIC. */
void rx_loop_set_clock(struct rx_loop *loop, rx_clock_cb cb, void *arg);
uint64_t rx_now_ms(struct rx_loop *loop);

/* Watch fd for EPOLLIN/EPOLLOUT/...  One registration per fd. 0 or -errno. */
int rx_io_add(struct rx_loop *loop, int fd, uint32_t events, rx_io_cb cb, void *arg)
	__attribute__((warn_unused_result));
int rx_io_mod(struct rx_loop *loop, int fd, uint32_t events) __attribute__((warn_unused_result));
/* Stop watching fd; safe to call from inside that fd's callback. */
void rx_io_del(struct rx_loop *loop, int fd);

/* A timer is created disarmed.  Returns NULL on ENOMEM.  rx_timer_destroy()
 * accepts NULL and may be called from inside the timer's own callback. */
struct rx_timer *rx_timer_create(struct rx_loop *loop, rx_timer_cb cb, void *arg);
void rx_timer_destroy(struct rx_timer *t);
/* Fire once, after delay_ms plus a uniform random 0..jitter_ms.  Re-arming an
 * armed timer moves it.  Callbacks may re-arm their own timer. */
void rx_timer_arm(struct rx_timer *t, uint64_t delay_ms, uint64_t jitter_ms);
void rx_timer_cancel(struct rx_timer *t);
int rx_timer_armed(const struct rx_timer *t);
/* Absolute expiry (ms on the loop clock); meaningful only when armed. */
uint64_t rx_timer_expiry(const struct rx_timer *t);

/* Run cb once on the next loop iteration, before blocking again.  0 or -ENOMEM. */
int rx_defer(struct rx_loop *loop, rx_defer_cb cb, void *arg) __attribute__((warn_unused_result));

/* One iteration: wait at most max_wait_ms (-1: until the next timer), dispatch
 * ready fds, expired timers and deferred work.  Returns 0 or -errno. */
int rx_loop_run_once(struct rx_loop *loop, int max_wait_ms);
/* Iterate until rx_loop_stop().  Returns 0, or -errno from epoll. */
int rx_loop_run(struct rx_loop *loop);
void rx_loop_stop(struct rx_loop *loop);

/* Fire every timer whose expiry is <= now without waiting for fds (tests with
 * a fake clock).  Returns the number of timers fired. */
unsigned rx_timers_run(struct rx_loop *loop);

#endif
