/* SPDX-License-Identifier: MIT */
/*
 * DOC: reactor
 * The agent's only event loop: fd readiness from epoll, one-shot timers in a
 * binary min-heap, and a FIFO of deferred work.  A loop iteration dispatches
 * ready fds, then expired timers, then deferred work.
 *
 * Callbacks may add/modify/delete any fd and arm/cancel/destroy any timer,
 * including their own.  Two rules make that safe:
 *  - epoll data carries the fd and a registration generation, so an event
 *    still pending in the current batch for an fd deleted (or deleted and
 *    re-added) by an earlier callback is dropped, not dispatched;
 *  - a timer leaves the heap before its callback runs, and the heap always
 *    has room for every timer of the loop, so arming never allocates.
 * Timers expiring at the same millisecond fire in arming order (a sequence
 * number breaks ties), which keeps fake-clock tests deterministic.
 */
#include "common/reactor.h"

#include "common/heap.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define EVENTS_MAX 64

struct io_reg {
	rx_io_cb cb;
	void *arg;
	uint32_t gen; /* 0: slot free */
};

struct rx_timer {
	struct rx_loop *loop;
	struct rx_timer *prev, *next; /* every timer of the loop, for rx_loop_destroy() */
	rx_timer_cb cb;
	void *arg;
	struct heap_node hn; /* key: expiry; not queued when disarmed */
};

struct defer_item {
	struct defer_item *next;
	rx_defer_cb cb;
	void *arg;
};

struct rx_loop {
	int epfd;
	bool stop;

	struct io_reg *io; /* indexed by fd */
	size_t io_cap;
	uint32_t io_gen;

	struct heap heap; /* heap.cap >= ntimers */
	size_t ntimers;
	struct rx_timer *timers;

	struct defer_item *defer_head, **defer_tail;

	rx_clock_cb clock;
	void *clock_arg;
	uint64_t rng;
};

static uint64_t rng_next(struct rx_loop *loop)
{
	/* splitmix64: plenty for jitter, and any seed is a good seed */
	uint64_t z = (loop->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, max], by rejection so there is no modulo bias. */
static uint64_t rng_upto(struct rx_loop *loop, uint64_t max)
{
	uint64_t bound = max + 1, threshold, r;

	if (bound == 0)
		return rng_next(loop);
	threshold = -bound % bound;
	do
		r = rng_next(loop);
	while (r < threshold);
	return r % bound;
}

static void rng_seed(struct rx_loop *loop)
{
	struct timespec ts;

	if (getrandom(&loop->rng, sizeof(loop->rng), GRND_NONBLOCK) == sizeof(loop->rng))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	loop->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t rx_now_ms(struct rx_loop *loop)
{
	return loop->clock ? loop->clock(loop->clock_arg) : monotonic_ms();
}

void rx_loop_set_clock(struct rx_loop *loop, rx_clock_cb cb, void *arg)
{
	loop->clock = cb;
	loop->clock_arg = cb ? arg : NULL;
}

int rx_loop_create(struct rx_loop **out)
{
	struct rx_loop *loop;
	int err;

	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		err = -errno;
		goto err_free_loop;
	}
	loop->defer_tail = &loop->defer_head;
	rng_seed(loop);
	*out = loop;
	return 0;

err_free_loop:
	free(loop);
	return err;
}

void rx_loop_destroy(struct rx_loop *loop)
{
	struct defer_item *d, *dnext;
	struct rx_timer *t, *tnext;

	if (!loop)
		return;
	for (t = loop->timers; t; t = tnext) {
		tnext = t->next;
		free(t);
	}
	for (d = loop->defer_head; d; d = dnext) {
		dnext = d->next;
		free(d);
	}
	heap_fini(&loop->heap);
	free(loop->io);
	close(loop->epfd);
	free(loop);
}

/* ---- fds ---- */

static int io_reserve(struct rx_loop *loop, int fd)
{
	size_t cap = loop->io_cap ? loop->io_cap : 16;
	struct io_reg *io;

	if ((size_t)fd < loop->io_cap)
		return 0;
	while (cap <= (size_t)fd)
		cap *= 2;
	io = realloc(loop->io, cap * sizeof(*io));
	if (!io)
		return -ENOMEM;
	memset(io + loop->io_cap, 0, (cap - loop->io_cap) * sizeof(*io));
	loop->io = io;
	loop->io_cap = cap;
	return 0;
}

static struct io_reg *io_lookup(struct rx_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->io_cap || !loop->io[fd].gen)
		return NULL;
	return &loop->io[fd];
}

static uint64_t io_token(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

int rx_io_add(struct rx_loop *loop, int fd, uint32_t events, rx_io_cb cb, void *arg)
{
	struct epoll_event ev = {.events = events};
	uint32_t gen;
	int err;

	if (fd < 0)
		return -EBADF;
	if (!cb)
		return -EINVAL;
	err = io_reserve(loop, fd);
	if (err)
		return err;
	if (loop->io[fd].gen)
		return -EEXIST;
	gen = ++loop->io_gen;
	if (!gen)
		gen = ++loop->io_gen;
	ev.data.u64 = io_token(fd, gen);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->io[fd] = (struct io_reg){.cb = cb, .arg = arg, .gen = gen};
	return 0;
}

int rx_io_mod(struct rx_loop *loop, int fd, uint32_t events)
{
	struct io_reg *reg = io_lookup(loop, fd);
	struct epoll_event ev = {.events = events};

	if (!reg)
		return -ENOENT;
	ev.data.u64 = io_token(fd, reg->gen);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void rx_io_del(struct rx_loop *loop, int fd)
{
	struct io_reg *reg = io_lookup(loop, fd);

	if (!reg)
		return;
	/* Fails harmlessly if the caller closed fd first: epoll already forgot it. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	*reg = (struct io_reg){0};
}

/* ---- timers ---- */

struct rx_timer *rx_timer_create(struct rx_loop *loop, rx_timer_cb cb, void *arg)
{
	struct rx_timer *t;

	if (heap_reserve(&loop->heap, loop->ntimers + 1))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->loop = loop;
	t->cb = cb;
	t->arg = arg;
	heap_node_init(&t->hn);
	t->next = loop->timers;
	if (t->next)
		t->next->prev = t;
	loop->timers = t;
	loop->ntimers++;
	return t;
}

void rx_timer_destroy(struct rx_timer *t)
{
	struct rx_loop *loop;

	if (!t)
		return;
	loop = t->loop;
	rx_timer_cancel(t);
	if (t->prev)
		t->prev->next = t->next;
	else
		loop->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	loop->ntimers--;
	free(t);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void rx_timer_arm(struct rx_timer *t, uint64_t delay_ms, uint64_t jitter_ms)
{
	struct rx_loop *loop = t->loop;
	uint64_t jitter = jitter_ms ? rng_upto(loop, jitter_ms) : 0;

	rx_timer_cancel(t);
	t->hn.key = add_sat(add_sat(rx_now_ms(loop), delay_ms), jitter);
	heap_push(&loop->heap, &t->hn);
}

void rx_timer_cancel(struct rx_timer *t)
{
	if (t)
		heap_remove(&t->loop->heap, &t->hn);
}

int rx_timer_armed(const struct rx_timer *t)
{
	return heap_node_queued(&t->hn);
}

uint64_t rx_timer_expiry(const struct rx_timer *t)
{
	return t->hn.key;
}

/*
 * Timers armed by callbacks during this call (seq >= first_new) wait for the
 * next call, so a callback re-arming with delay 0 cannot spin here.  Such a
 * timer expires no earlier than now, so when one reaches the top of the heap
 * every older expired timer has already fired.
 */
unsigned rx_timers_run(struct rx_loop *loop)
{
	uint64_t now = rx_now_ms(loop), first_new = loop->heap.next_seq;
	struct heap_node *n;
	unsigned fired = 0;

	while ((n = heap_min(&loop->heap)) && n->key <= now && n->seq < first_new) {
		struct rx_timer *t = heap_entry(n, struct rx_timer, hn);

		heap_remove(&loop->heap, n);
		fired++;
		t->cb(loop, t, t->arg);
	}
	return fired;
}

/* ---- deferred work and the loop ---- */

int rx_defer(struct rx_loop *loop, rx_defer_cb cb, void *arg)
{
	struct defer_item *d = malloc(sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->next = NULL;
	d->cb = cb;
	d->arg = arg;
	*loop->defer_tail = d;
	loop->defer_tail = &d->next;
	return 0;
}

/* Runs what was queued before the call; newer work waits an iteration. */
static void defer_run(struct rx_loop *loop)
{
	struct defer_item *d = loop->defer_head;

	loop->defer_head = NULL;
	loop->defer_tail = &loop->defer_head;
	while (d) {
		struct defer_item *next = d->next;
		rx_defer_cb cb = d->cb;
		void *arg = d->arg;

		free(d);
		cb(loop, arg);
		d = next;
	}
}

static int wait_timeout(struct rx_loop *loop, int max_wait_ms)
{
	struct heap_node *next = heap_min(&loop->heap);
	uint64_t now, until;

	if (loop->defer_head)
		return 0;
	if (!next)
		return max_wait_ms < 0 ? -1 : max_wait_ms;
	now = rx_now_ms(loop);
	until = next->key > now ? next->key - now : 0;
	if (max_wait_ms >= 0 && (uint64_t)max_wait_ms < until)
		return max_wait_ms;
	return until > INT_MAX ? INT_MAX : (int)until;
}

int rx_loop_run_once(struct rx_loop *loop, int max_wait_ms)
{
	struct epoll_event evs[EVENTS_MAX];
	int n, i;

	n = epoll_wait(loop->epfd, evs, EVENTS_MAX, wait_timeout(loop, max_wait_ms));
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	for (i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		struct io_reg *reg = io_lookup(loop, fd);

		if (!reg || reg->gen != (uint32_t)(evs[i].data.u64 >> 32))
			continue; /* deleted by an earlier callback in this batch */
		reg->cb(loop, fd, evs[i].events, reg->arg);
	}
	rx_timers_run(loop);
	defer_run(loop);
	return 0;
}

int rx_loop_run(struct rx_loop *loop)
{
	int err = 0;

	while (!loop->stop && !err)
		err = rx_loop_run_once(loop, -1);
	/* Cleared on the way out, so a stop requested before run is not lost. */
	loop->stop = false;
	return err;
}

void rx_loop_stop(struct rx_loop *loop)
{
	loop->stop = true;
}
