/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for driver/dockerc.c against a fake dockerd: a thread that
 * accepts on a unix socket in a temporary directory, records each request
 * and answers from routes[] (or never answers /slow).  The client runs on a
 * real reactor driven by rx_loop_run_once() with bounded waits.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/reactor.h"
#include "driver/dockerc.h"

#define SEEN_MAX   512
#define HELD_MAX   16
#define REQ_MAX	   (64 * 1024)
#define IO_WAIT_MS 5000
#define BIG_LEN	   (DKC_BODY_MAX + 4096u)

struct seen {
	char method[8];
	char target[DKC_PATH_MAX + 16];
	char ctype[64];
	char *body; /* NULL when the request had none */
};

struct fake {
	char dir[64], path[96];
	int lfd, stop_pipe[2];
	pthread_t thread;
	pthread_mutex_t lock;
	struct seen seen[SEEN_MAX]; /* under lock */
	int nseen;		    /* under lock */
	int held[HELD_MAX];	    /* connections never answered; server thread only */
	int nheld;
};

struct route {
	const char *target; /* exact, or prefix when it ends in '*' */
	int status;
	const char *ctype;
	const char *body; /* NULL: BIG_LEN bytes */
};

static const struct route routes[] = {
	{"/v1.41/networks", 200, "application/json", "[{\"Name\":\"bridge\",\"Id\":\"abc\"}]"},
	{"/v1.41/networks/create", 201, "application/json", "{\"Id\":\"n1id\",\"Warning\":\"\"}"},
	{"/v1.41/networks/missing", 404, "application/json",
	 "{\"message\":\"network missing not found\"}"},
	{"/v1.41/networks/abc", 204, NULL, ""},
	{"/v1.41/oops", 500, "text/plain", "boom"},
	{"/v1.41/text", 200, "text/plain", "OK"},
	{"/v1.41/big", 200, "application/json", NULL},
	{"/v1.41/ok*", 200, "application/json", "{\"ok\":true}"},
};

static struct rx_loop *loop;
static struct dkc *dc;
static struct fake fk;

/* ---- the fake dockerd ---- */

/* Waits until fd is readable or the server is told to stop: 1, 0 on stop or timeout. */
static int wait_in(struct fake *f, int fd)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
			      {.fd = f->stop_pipe[0], .events = POLLIN}};

	if (poll(p, 2, IO_WAIT_MS) <= 0 || p[1].revents)
		return 0;
	return 1;
}

static void send_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return; /* the client hung up: fine for /big */
		p += n;
		len -= (size_t)n;
	}
}

static void reply(int fd, const struct route *rt)
{
	char head[256];
	size_t len = rt->body ? strlen(rt->body) : BIG_LEN;
	char *big = NULL;
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d X\r\n%s%s%sContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     rt->status, rt->ctype ? "Content-Type: " : "", rt->ctype ? rt->ctype : "",
		     rt->ctype ? "\r\n" : "", len);
	send_all(fd, head, (size_t)n);
	if (!rt->body) {
		big = malloc(len);
		if (!big)
			return;
		memset(big, ' ', len);
		big[0] = '[';
	}
	send_all(fd, rt->body ? rt->body : big, len);
	free(big);
}

static const struct route *route_find(const char *target)
{
	static const struct route not_found = {"", 404, "application/json",
					       "{\"message\":\"page not found\"}"};
	size_t i, n;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		n = strlen(routes[i].target);
		if (routes[i].target[n - 1] == '*' ? !strncmp(target, routes[i].target, n - 1)
						   : !strcmp(target, routes[i].target))
			return &routes[i];
	}
	return &not_found;
}

/* Reads one request into s; 0, or -1 on a short or malformed one. */
static int read_request(struct fake *f, int fd, struct seen *s)
{
	char *buf = malloc(REQ_MAX + 1), *end, *h;
	size_t len = 0, clen = 0, hlen;
	ssize_t n;
	int ret = -1;

	if (!buf)
		return -1;
	memset(s, 0, sizeof(*s));
	for (;;) {
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			hlen = (size_t)(end + 4 - buf);
			h = strcasestr(buf, "\r\nContent-Length:");
			if (h && h < end)
				clen = strtoul(h + 17, NULL, 10);
			if (len >= hlen + clen)
				break;
		}
		if (len == REQ_MAX || !wait_in(f, fd))
			goto out_free;
		n = read(fd, buf + len, REQ_MAX - len);
		if (n <= 0)
			goto out_free;
		len += (size_t)n;
	}
	if (sscanf(buf, "%7s %1039s HTTP/1.1", s->method, s->target) != 2)
		goto out_free;
	h = strcasestr(buf, "\r\nContent-Type:");
	if (h && h < end)
		sscanf(h + 15, " %63[^\r]", s->ctype);
	if (clen)
		s->body = strndup(end + 4, clen);
	ret = 0;
out_free:
	free(buf);
	return ret;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd p[2] = {{.fd = f->lfd, .events = POLLIN},
			      {.fd = f->stop_pipe[0], .events = POLLIN}};
	struct seen s;
	int fd;

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno == EINTR)
			continue;
		if (p[1].revents)
			break;
		fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (read_request(f, fd, &s)) {
			close(fd);
			continue;
		}
		pthread_mutex_lock(&f->lock);
		if (f->nseen < SEEN_MAX)
			f->seen[f->nseen++] = s;
		else
			free(s.body);
		pthread_mutex_unlock(&f->lock);
		if (!strncmp(s.target, "/v1.41/slow", 11) && f->nheld < HELD_MAX) {
			f->held[f->nheld++] = fd;
			continue;
		}
		reply(fd, route_find(s.target));
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/dkc-test-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/docker.sock", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(f->lfd, 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->lfd, 64), 0);
	cr_assert_eq(pipe2(f->stop_pipe, O_CLOEXEC), 0);
	pthread_mutex_init(&f->lock, NULL);
	cr_assert_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	int i;

	if (!f->lfd)
		return;
	cr_assert_eq(write(f->stop_pipe[1], "x", 1), 1);
	pthread_join(f->thread, NULL);
	for (i = 0; i < f->nheld; i++)
		close(f->held[i]);
	for (i = 0; i < f->nseen; i++)
		free(f->seen[i].body);
	close(f->lfd);
	close(f->stop_pipe[0]);
	close(f->stop_pipe[1]);
	pthread_mutex_destroy(&f->lock);
	unlink(f->path);
	rmdir(f->dir);
	f->lfd = 0;
}

static int fake_nseen(struct fake *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->nseen;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* A copy of request i, taken under the lock (the server thread appends). */
static struct seen fake_seen(struct fake *f, int i)
{
	struct seen s;

	pthread_mutex_lock(&f->lock);
	cr_assert_lt(i, f->nseen);
	s = f->seen[i];
	pthread_mutex_unlock(&f->lock);
	return s;
}

/* ---- client side ---- */

struct res {
	int called;
	int err;
	long status;
	json_t *body;
	char msg[256];
};

static void res_cb(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct res *r = arg;

	r->called++;
	r->err = err;
	r->status = status;
	json_decref(r->body);
	r->body = json_incref(body);
	cr_assert_not_null(msg);
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the loop until *count reaches want or max_ms pass; returns *count >= want. */
static bool run_until(const int *count, int want, unsigned max_ms)
{
	uint64_t end = now_ms() + max_ms;

	while (*count < want && now_ms() < end)
		cr_assert_eq(rx_loop_run_once(loop, 20), 0);
	return *count >= want;
}

static void run_for(unsigned ms)
{
	int never = 0;

	run_until(&never, 1, ms);
}

static void setup(void)
{
	char err[256] = "";

	cr_assert_eq(rx_loop_create(&loop), 0);
	fake_start(&fk);
	cr_assert_eq(dkc_open(&dc, loop, fk.path, err, sizeof(err)), 0, "dkc_open: %s", err);
}

static void teardown(void)
{
	dkc_close(dc);
	dc = NULL;
	fake_stop(&fk);
	rx_loop_destroy(loop);
	loop = NULL;
}

TestSuite(dockerc, .init = setup, .fini = teardown, .timeout = 30);

Test(dockerc, get_json)
{
	struct res r = {0};
	struct seen s;

	cr_assert_eq(dkc_request(dc, "GET", "/networks", NULL, 2000, res_cb, &r), 0);
	cr_assert_eq(dkc_pending(dc), 1);
	cr_assert(run_until(&r.called, 1, 5000));
	cr_assert_eq(r.called, 1);
	cr_assert_eq(r.err, 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_empty(r.msg);
	cr_assert(json_is_array(r.body));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(r.body, 0), "Name")),
			 "bridge");
	cr_assert_eq(dkc_pending(dc), 0);
	s = fake_seen(&fk, 0);
	cr_assert_str_eq(s.method, "GET");
	cr_assert_str_eq(s.target, "/v1.41/networks");
	cr_assert_null(s.body);
	json_decref(r.body);
}

Test(dockerc, post_body_intact)
{
	struct res r = {0};
	json_t *body, *got;
	struct seen s;

	body = json_pack("{s:s, s:s, s:b, s:{s:s, s:[{s:s}]}, s:{s:s}}", "Name", "n1", "Driver",
			 "vxmesh", "CheckDuplicate", 1, "IPAM", "Driver", "vxmesh", "Config",
			 "Subnet", "10.10.0.0/24", "Labels", "quote\"d \xc3\xa9", "back\\slash\n");
	cr_assert_not_null(body);
	cr_assert_eq(dkc_request(dc, "POST", "/networks/create", body, 2000, res_cb, &r), 0);
	cr_assert(run_until(&r.called, 1, 5000));
	cr_assert_eq(r.err, 0);
	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(json_string_value(json_object_get(r.body, "Id")), "n1id");

	s = fake_seen(&fk, 0);
	cr_assert_str_eq(s.method, "POST");
	cr_assert_str_eq(s.target, "/v1.41/networks/create");
	cr_assert_str_eq(s.ctype, "application/json");
	cr_assert_not_null(s.body);
	got = json_loads(s.body, 0, NULL);
	cr_assert(json_equal(got, body), "server got %s", s.body);
	json_decref(got);
	json_decref(body);
	json_decref(r.body);
}

/* Each row: one request and what its callback must see. */
struct reply_case {
	const char *method, *path;
	long status;
	int err;
	bool json;	 /* body parsed */
	const char *msg; /* expected msg */
};

Test(dockerc, replies)
{
	static const struct reply_case cases[] = {
		{"GET", "/networks/missing", 404, 0, true, "network missing not found"},
		{"GET", "/nowhere", 404, 0, true, "page not found"},
		{"POST", "/oops", 500, 0, false, "HTTP 500"},
		{"GET", "/text", 200, 0, false, ""},
		{"DELETE", "/networks/abc", 204, 0, false, ""},
		{"POST", "/ok/empty-post", 200, 0, true, ""},
		{"GET", "/big", 0, -EMSGSIZE, false, NULL},
	};
	size_t i, n = sizeof(cases) / sizeof(cases[0]);
	struct res r[sizeof(cases) / sizeof(cases[0])] = {0};
	struct seen s;

	for (i = 0; i < n; i++)
		cr_assert_eq(
			dkc_request(dc, cases[i].method, cases[i].path, NULL, 5000, res_cb, &r[i]),
			0);
	cr_assert(run_until(&r[n - 1].called, 1, 10000));
	for (i = 0; i < n; i++) {
		cr_assert_eq(r[i].called, 1, "%s", cases[i].path);
		cr_assert_eq(r[i].err, cases[i].err, "%s: err %d", cases[i].path, r[i].err);
		cr_assert_eq(r[i].status, cases[i].status, "%s: %ld", cases[i].path, r[i].status);
		cr_assert_eq(r[i].body != NULL, cases[i].json, "%s", cases[i].path);
		if (cases[i].msg)
			cr_assert_str_eq(r[i].msg, cases[i].msg, "%s", cases[i].path);
		else
			cr_assert_str_not_empty(r[i].msg);
		s = fake_seen(&fk, (int)i);
		cr_assert_str_eq(s.method, cases[i].method);
		json_decref(r[i].body);
	}
	/* an empty POST carries no form Content-Type */
	s = fake_seen(&fk, 5);
	cr_assert_str_empty(s.ctype);
	cr_assert_null(s.body);
}

Test(dockerc, connect_errors)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dead[100], missing[100], err[256];
	struct dkc *c;
	struct res r = {0};
	int fd;

	/* a socket file nobody listens on */
	snprintf(dead, sizeof(dead), "%s/dead.sock", fk.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", dead);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	snprintf(missing, sizeof(missing), "%s/missing.sock", fk.dir);

	const struct {
		const char *path;
		int err;
	} cases[] = {{missing, -ENOENT}, {dead, -ECONNREFUSED}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		cr_assert_eq(dkc_open(&c, loop, cases[i].path, err, sizeof(err)), 0);
		cr_assert_eq(dkc_request(c, "GET", "/networks", NULL, 2000, res_cb, &r), 0);
		cr_assert(run_until(&r.called, 1, 5000));
		cr_assert_eq(r.err, cases[i].err, "%s: %d", cases[i].path, r.err);
		cr_assert_eq(r.status, 0);
		cr_assert_null(r.body);
		cr_assert_str_not_empty(r.msg);
		dkc_close(c);
	}
	unlink(dead);
}

Test(dockerc, timeout_honoured)
{
	struct res r = {0};
	uint64_t t0 = now_ms(), dt;

	cr_assert_eq(dkc_request(dc, "GET", "/slow", NULL, 300, res_cb, &r), 0);
	cr_assert(run_until(&r.called, 1, 5000));
	dt = now_ms() - t0;
	cr_assert_eq(r.err, -ETIMEDOUT);
	cr_assert_eq(r.status, 0);
	cr_assert_null(r.body);
	cr_assert_str_not_empty(r.msg);
	cr_assert_geq(dt, 290);
	cr_assert_lt(dt, 3000);
	cr_assert_eq(fake_nseen(&fk), 1);
}

static void tick_cb(struct rx_loop *l, struct rx_timer *t, void *arg)
{
	*(int *)arg = 1;
}

/* The whole point: a request dockerd sits on leaves the loop running. */
Test(dockerc, loop_never_blocks)
{
	struct rx_timer *t;
	struct res r = {0};
	uint64_t t0;
	int fired = 0;

	t = rx_timer_create(loop, tick_cb, &fired);
	cr_assert_not_null(t);
	cr_assert_eq(dkc_request(dc, "GET", "/slow", NULL, 2000, res_cb, &r), 0);
	t0 = now_ms();
	rx_timer_arm(t, 50, 0);
	cr_assert(run_until(&fired, 1, 1500));
	cr_assert_lt(now_ms() - t0, 500);
	cr_assert_eq(r.called, 0);
	cr_assert_eq(dkc_pending(dc), 1);
	cr_assert(run_until(&r.called, 1, 5000));
	cr_assert_eq(r.err, -ETIMEDOUT);
	rx_timer_destroy(t);
}

#define NSEQ 100

struct seq {
	int next;
	int bad;
};

struct seq_arg {
	struct seq *sq;
	int i;
};

static void seq_cb(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct seq_arg *a = arg;

	if (err || status != 200 || a->i != a->sq->next)
		a->sq->bad++;
	a->sq->next++;
}

Test(dockerc, many_in_order)
{
	static struct seq_arg args[NSEQ];
	struct seq sq = {0};
	char path[64];
	int i;

	for (i = 0; i < NSEQ; i++) {
		args[i] = (struct seq_arg){&sq, i};
		snprintf(path, sizeof(path), "/ok?n=%d", i);
		cr_assert_eq(
			dkc_request(dc, i % 2 ? "POST" : "GET", path, NULL, 5000, seq_cb, &args[i]),
			0);
	}
	cr_assert(run_until(&sq.next, NSEQ, 20000));
	cr_assert_eq(sq.bad, 0);
	cr_assert_eq(dkc_pending(dc), 0);
	for (i = 0; i < NSEQ; i++) {
		snprintf(path, sizeof(path), "/v1.41/ok?n=%d", i);
		cr_assert_str_eq(fake_seen(&fk, i).target, path);
	}
}

Test(dockerc, queue_full)
{
	struct seq sq = {0};
	static struct seq_arg args[DKC_QUEUE_MAX];
	struct res slow = {0}, late = {0};
	unsigned i;

	/* the first holds the worker, so the rest stay queued */
	cr_assert_eq(dkc_request(dc, "GET", "/slow", NULL, 500, res_cb, &slow), 0);
	for (i = 1; i < DKC_QUEUE_MAX; i++) {
		args[i] = (struct seq_arg){&sq, (int)i - 1};
		cr_assert_eq(dkc_request(dc, "GET", "/ok", NULL, 5000, seq_cb, &args[i]), 0);
	}
	cr_assert_eq(dkc_pending(dc), DKC_QUEUE_MAX);
	cr_assert_eq(dkc_request(dc, "GET", "/ok", NULL, 5000, res_cb, &late), -EAGAIN);
	cr_assert_eq(dkc_request(dc, "POST", "/ok", NULL, 5000, NULL, NULL), -EAGAIN);

	cr_assert(run_until(&slow.called, 1, 5000));
	cr_assert_eq(slow.err, -ETIMEDOUT);
	cr_assert_eq(dkc_request(dc, "GET", "/ok", NULL, 5000, res_cb, &late), 0);
	cr_assert(run_until(&late.called, 1, 20000));
	cr_assert_eq(late.status, 200);
	cr_assert_eq(sq.next, DKC_QUEUE_MAX - 1);
	cr_assert_eq(sq.bad, 0);
	cr_assert_eq(dkc_pending(dc), 0);
	json_decref(late.body);
}

Test(dockerc, invalid_requests)
{
	static const struct {
		const char *method, *path;
		unsigned timeout_ms;
	} bad[] = {
		{"GET", NULL, 1000},
		{"GET", "", 1000},
		{"GET", "networks", 1000},
		{"GET", "/networks/a b", 1000},
		{"GET", "/networks/a\r\nX-Evil: 1", 1000},
		{"GET", "/networks/a#frag", 1000},
		{"GET", "/networks/\"q\"", 1000},
		{"GET", "/networks/a;b", 1000},
		{"GET", "/networks/@host", 1000},
		{"GET", "/networks/..", 1000},
		{"GET", "/networks/../containers/json", 1000},
		{"GET", "/./networks", 1000},
		{"GET", "/networks/%zz", 1000},
		{"GET", "/networks/%4", 1000},
		{"GET", "/networks/\xc3\xa9", 1000},
		{"PUT", "/networks", 1000},
		{"get", "/networks", 1000},
		{"GET\r\n", "/networks", 1000},
		{NULL, "/networks", 1000},
		{"GET", "/networks", 0},
	};
	char longp[DKC_PATH_MAX + 2];
	json_t *num = json_integer(3);
	struct res r = {0};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(dkc_request(dc, bad[i].method, bad[i].path, NULL, bad[i].timeout_ms,
					 res_cb, &r),
			     -EINVAL, "row %zu", i);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	cr_assert_eq(dkc_request(dc, "GET", longp, NULL, 1000, res_cb, &r), -EINVAL);
	cr_assert_eq(dkc_request(dc, "POST", "/ok", num, 1000, res_cb, &r), -EINVAL);
	cr_assert_eq(dkc_request(NULL, "GET", "/ok", NULL, 1000, res_cb, &r), -EINVAL);
	cr_assert_eq(dkc_pending(dc), 0);
	json_decref(num);

	/* the whole allowed alphabet, with dots that are not segments */
	cr_assert_eq(dkc_request(dc, "GET",
				 "/ok/a.b/..c/-_.Z9?filters=%7B%22name%22%3A%5B%22a%22%5D%7D&x=..",
				 NULL, 2000, res_cb, &r),
		     0);
	cr_assert(run_until(&r.called, 1, 5000));
	cr_assert_eq(r.status, 200);
	cr_assert_eq(fake_nseen(&fk), 1);
	cr_assert_str_eq(fake_seen(&fk, 0).target,
			 "/v1.41/ok/a.b/..c/-_.Z9?filters=%7B%22name%22%3A%5B%22a%22%5D%7D&x=..");
	json_decref(r.body);
}

Test(dockerc, close_drops_queued)
{
	struct res r[8] = {0};
	uint64_t t0;
	int i, total = 0;

	cr_assert_eq(dkc_request(dc, "POST", "/slow", NULL, 10000, res_cb, &r[0]), 0);
	for (i = 1; i < 8; i++)
		cr_assert_eq(dkc_request(dc, "GET", "/ok", NULL, 10000, res_cb, &r[i]), 0);
	/* wait until the slow one is in flight */
	for (t0 = now_ms(); fake_nseen(&fk) < 1 && now_ms() - t0 < 5000;)
		run_for(10);
	cr_assert_eq(fake_nseen(&fk), 1);

	t0 = now_ms();
	dkc_close(dc);
	dc = NULL;
	cr_assert_lt(now_ms() - t0, 1000, "close waited for the in-flight timeout");
	run_for(200);
	for (i = 0; i < 8; i++)
		total += r[i].called;
	cr_assert_eq(total, 0);
	cr_assert_eq(fake_nseen(&fk), 1);
}

struct chain {
	int steps, closed_after;
	struct res last;
};

static void chain_cb(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct chain *ch = arg;

	cr_assert_eq(status, 200);
	if (++ch->steps < 5) {
		cr_assert_eq(dkc_request(dc, "GET", "/ok/chain", NULL, 2000, chain_cb, ch), 0);
		return;
	}
	/* the last one closes the client with another request behind it */
	cr_assert_eq(dkc_pending(dc), 1);
	dkc_close(dc);
	dc = NULL;
	ch->closed_after = ch->steps;
}

Test(dockerc, callbacks_reenter)
{
	struct chain ch = {0};

	cr_assert_eq(dkc_request(dc, "GET", "/ok/chain", NULL, 2000, chain_cb, &ch), 0);
	cr_assert(run_until(&ch.steps, 4, 5000));
	/* queued right behind the last link, it must never be called back */
	cr_assert_eq(dkc_request(dc, "GET", "/ok/after", NULL, 2000, res_cb, &ch.last), 0);
	cr_assert(run_until(&ch.closed_after, 5, 5000));
	run_for(300);
	cr_assert_eq(ch.last.called, 0);
}

Test(dockerc, open_args)
{
	char err[256] = "", longp[200];
	struct dkc *c = (struct dkc *)1;

	cr_assert_eq(dkc_open(&c, loop, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_null(c);
	cr_assert_str_not_empty(err);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	cr_assert_eq(dkc_open(&c, loop, longp, NULL, 0), -ENAMETOOLONG);
	dkc_close(NULL);
	cr_assert_eq(dkc_pending(NULL), 0);
}

static void close_cb(void *arg, int err, long status, json_t *body, const char *msg)
{
	(*(int *)arg)++;
	dkc_close(dc);
	dc = NULL;
}

/* Both replies reach the loop in one eventfd wake-up; the first closes. */
Test(dockerc, close_inside_batch)
{
	struct res r = {0};
	int closed = 0;
	uint64_t t0;

	cr_assert_eq(dkc_request(dc, "GET", "/ok/a", NULL, 2000, close_cb, &closed), 0);
	cr_assert_eq(dkc_request(dc, "GET", "/ok/b", NULL, 2000, res_cb, &r), 0);
	/* no loop iteration yet: let the worker finish both */
	for (t0 = now_ms(); fake_nseen(&fk) < 2 && now_ms() - t0 < 5000;)
		usleep(1000);
	cr_assert_eq(fake_nseen(&fk), 2);
	usleep(200 * 1000);
	cr_assert_eq(rx_loop_run_once(loop, 100), 0);
	cr_assert_eq(closed, 1);
	run_for(200);
	cr_assert_eq(r.called, 0);
}
