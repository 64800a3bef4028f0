// SPDX-License-Identifier: MIT
/*
 * DOC: dockerc
 * Asynchronous Docker Engine API client.  The loop thread validates a request,
 * serialises its body and queues it; one worker thread pops requests in
 * order, runs them with a blocking libcurl easy handle (kept across requests
 * so the connection to dockerd is reused), parses the reply and moves the
 * request to the done list; an eventfd in the reactor wakes the loop thread,
 * which runs the callbacks.  A request belongs to exactly one thread at a time
 * (queue: loop, in flight: worker, done: loop after the handover), so the
 * jansson values in it are never shared; the lists change hands under c->lock.
 *
 * dkc_close() must not wait out a 30 s timeout on the loop thread: the worker
 * creates its sockets through sock_open_cb(), and close shuts the live one
 * down under c->lock (sock_close_cb() closes under the same lock, so the fd
 * cannot be reused in between), which ends the transfer at once.
 */
#include "driver/dockerc.h"

#include "common/errmsg.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/curl_dl.h"
#include "common/log.h"
#include "common/reactor.h"

struct dkc_req {
	struct dkc_req *next;
	char method[8];
	char *url;
	char *data; /* serialised body, or NULL */
	unsigned timeout_ms;
	dkc_done_cb cb;
	void *arg;
	/* outcome, written by the worker */
	int err;
	long status;
	json_t *body;
	char msg[CURL_ERROR_SIZE];
};

struct dkc_list {
	struct dkc_req *head, **tail;
};

struct dkc {
	struct rx_loop *loop;
	const struct curl_dl *cu; /* loaded before the worker starts */
	char *sock;
	CURL *h; /* worker's once the thread runs */
	struct curl_slist *hdr_json, *hdr_none;
	int efd;
	size_t pending; /* loop thread only */
	bool *dead;	/* set by dkc_close() while callbacks run */
	pthread_t thread;
	atomic_bool stop;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dkc_list queue, done; /* under lock */
	int sock_fd;		     /* under lock: the worker's socket, -1 when none */
};

/* reply accumulator for the write callback */
struct rbuf {
	char *p;
	size_t len, cap;
	bool too_big;
};

static const char *const methods[] = {"GET", "POST", "DELETE"};

static void list_init(struct dkc_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void list_push(struct dkc_list *l, struct dkc_req *r)
{
	r->next = NULL;
	*l->tail = r;
	l->tail = &r->next;
}

static struct dkc_req *list_take(struct dkc_list *l)
{
	struct dkc_req *head = l->head;

	list_init(l);
	return head;
}

static void req_free(struct dkc_req *r)
{
	json_decref(r->body);
	free(r->data);
	free(r->url);
	free(r);
}

static void req_free_all(struct dkc_req *r)
{
	struct dkc_req *next;

	for (; r; r = next) {
		next = r->next;
		req_free(r);
	}
}

/* ---- worker thread ---- */

static curl_socket_t sock_open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct dkc *c = arg;
	curl_socket_t fd = CURL_SOCKET_BAD;

	pthread_mutex_lock(&c->lock);
	if (!atomic_load(&c->stop)) {
		fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
		if (fd >= 0)
			c->sock_fd = fd;
	}
	pthread_mutex_unlock(&c->lock);
	return fd;
}

static int sock_close_cb(void *arg, curl_socket_t fd)
{
	struct dkc *c = arg;

	pthread_mutex_lock(&c->lock);
	if (c->sock_fd == fd)
		c->sock_fd = -1;
	close(fd);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* A fallback for the moments the socket is not ours to shut down. */
static int progress_cb(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	const struct dkc *c = arg;

	return atomic_load(&c->stop) ? 1 : 0;
}

static size_t rbuf_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct rbuf *b = arg;
	size_t len = size * n, cap;
	char *p;

	if (len > DKC_BODY_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		if (cap > DKC_BODY_MAX)
			cap = DKC_BODY_MAX;
		p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return len;
}

static int errno_of(const struct curl_dl *cu, CURL *h, CURLcode rc, const struct rbuf *b)
{
	long os_errno = 0;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		cu->easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
		return os_errno > 0 && os_errno < 4096 ? -(int)os_errno : -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_WRITE_ERROR:
		return b->too_big ? -EMSGSIZE : -ENOMEM;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

/* Fills r's outcome from the reply; r->body is the worker's until handed over. */
static void req_got_reply(struct dkc_req *r, const struct rbuf *b)
{
	const json_t *m;

	if (b->len)
		r->body = json_loadb(b->p, b->len, 0, NULL);
	if (r->status >= 200 && r->status < 300)
		return;
	m = json_is_object(r->body) ? json_object_get(r->body, "message") : NULL;
	if (json_is_string(m))
		snprintf(r->msg, sizeof(r->msg), "%s", json_string_value(m));
	else
		snprintf(r->msg, sizeof(r->msg), "HTTP %ld", r->status);
}

static void req_perform(struct dkc *c, struct dkc_req *r)
{
	const struct curl_dl *cu = c->cu;
	CURL *h = c->h;
	struct rbuf b = {0};
	CURLcode rc;

	cu->easy_reset(h);
	cu->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
	cu->easy_setopt(h, CURLOPT_URL, r->url);
	cu->easy_setopt(h, CURLOPT_NOPROXY, "*");
	cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, r->msg);
	cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, rbuf_write_cb);
	cu->easy_setopt(h, CURLOPT_WRITEDATA, &b);
	cu->easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, sock_open_cb);
	cu->easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
	cu->easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, sock_close_cb);
	cu->easy_setopt(h, CURLOPT_CLOSESOCKETDATA, c);
	cu->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	cu->easy_setopt(h, CURLOPT_XFERINFODATA, c);
	cu->easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	cu->easy_setopt(h, CURLOPT_HTTPHEADER, r->data ? c->hdr_json : c->hdr_none);
	if (r->data || !strcmp(r->method, "POST")) {
		cu->easy_setopt(h, CURLOPT_POST, 1L);
		cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE, r->data ? (long)strlen(r->data) : 0L);
		cu->easy_setopt(h, CURLOPT_POSTFIELDS, r->data ? r->data : "");
	}
	if (strcmp(r->method, "POST") && (r->data || strcmp(r->method, "GET")))
		cu->easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);

	r->msg[0] = '\0';
	rc = cu->easy_perform(h);
	if (rc == CURLE_OK) {
		cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		r->msg[0] = '\0';
		req_got_reply(r, &b);
	} else {
		r->err = errno_of(cu, h, rc, &b);
		if (r->err == -EMSGSIZE)
			snprintf(r->msg, sizeof(r->msg), "reply larger than %u bytes",
				 DKC_BODY_MAX);
		else if (!r->msg[0])
			snprintf(r->msg, sizeof(r->msg), "%s", cu->easy_strerror(rc));
	}
	free(b.p);
	/* the error buffer must not outlive r, and the URL is freed with it */
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
}

static void *worker_main(void *arg)
{
	struct dkc *c = arg;
	static const uint64_t one = 1;
	struct dkc_req *r;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!atomic_load(&c->stop) && !c->queue.head)
			pthread_cond_wait(&c->cond, &c->lock);
		if (atomic_load(&c->stop))
			break;
		r = c->queue.head;
		c->queue.head = r->next;
		if (!c->queue.head)
			c->queue.tail = &c->queue.head;
		pthread_mutex_unlock(&c->lock);

		req_perform(c, r);

		pthread_mutex_lock(&c->lock);
		list_push(&c->done, r);
		/* eventfd counters only fail to grow at 2^64 - 1 */
		if (write(c->efd, &one, sizeof(one)) < 0)
			log_warn("dockerc: eventfd write: %s", strerror(errno));
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- loop thread ---- */

static void efd_cb(struct rx_loop *loop, int fd, uint32_t events, void *arg)
{
	struct dkc *c = arg;
	struct dkc_req *r, *next;
	bool dead = false;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("dockerc: eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&c->lock);
	r = list_take(&c->done);
	pthread_mutex_unlock(&c->lock);

	c->dead = &dead;
	for (; r; r = next) {
		next = r->next;
		c->pending--;
		if (r->cb)
			r->cb(r->arg, r->err, r->status, r->body, r->msg);
		req_free(r);
		if (dead) {
			req_free_all(next);
			return;
		}
	}
	c->dead = NULL;
}

int dkc_open(struct dkc **out, struct rx_loop *loop, const char *sock_path, char *err, size_t len)
{
	const struct curl_dl *cu;
	char why[256];
	sigset_t all, old;
	struct dkc *c;
	int ret;

	*out = NULL;
	if (!loop || !sock_path || !*sock_path) {
		errmsg_set(err, len, "no loop or socket path");
		return -EINVAL;
	}
	if (strlen(sock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		errmsg_set(err, len, "socket path too long");
		return -ENAMETOOLONG;
	}
	ret = curl_dl_load(&cu, why, sizeof(why));
	if (ret) {
		errmsg_set(err, len, "cannot load libcurl: %s", why);
		return ret;
	}

	c = calloc(1, sizeof(*c));
	if (!c) {
		errmsg_set(err, len, "out of memory");
		return -ENOMEM;
	}
	c->loop = loop;
	c->cu = cu;
	c->sock_fd = -1;
	c->efd = -1;
	atomic_init(&c->stop, false);
	list_init(&c->queue);
	list_init(&c->done);
	c->sock = strdup(sock_path);
	if (!c->sock) {
		ret = -ENOMEM;
		errmsg_set(err, len, "out of memory");
		goto err_free;
	}
	/* reference counted inside libcurl; dkc_close() pairs it */
	if (cu->global_init(CURL_GLOBAL_DEFAULT)) {
		ret = -ENOMEM;
		errmsg_set(err, len, "cannot initialise libcurl");
		goto err_free_sock;
	}
	c->h = cu->easy_init();
	/* no "Expect: 100-continue", and no form Content-Type on an empty POST */
	c->hdr_json = cu->slist_append(NULL, "Expect:");
	if (c->hdr_json)
		c->hdr_json = cu->slist_append(c->hdr_json, "Content-Type: application/json");
	c->hdr_none = cu->slist_append(NULL, "Expect:");
	if (c->hdr_none)
		c->hdr_none = cu->slist_append(c->hdr_none, "Content-Type:");
	if (!c->h || !c->hdr_json || !c->hdr_none) {
		ret = -ENOMEM;
		errmsg_set(err, len, "out of memory");
		goto err_curl_cleanup;
	}
	ret = -pthread_mutex_init(&c->lock, NULL);
	if (ret) {
		errmsg_set(err, len, "mutex: %s", strerror(-ret));
		goto err_curl_cleanup;
	}
	ret = -pthread_cond_init(&c->cond, NULL);
	if (ret) {
		errmsg_set(err, len, "condvar: %s", strerror(-ret));
		goto err_mutex_destroy;
	}
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		ret = -errno;
		errmsg_set(err, len, "eventfd: %s", strerror(errno));
		goto err_cond_destroy;
	}
	ret = rx_io_add(loop, c->efd, EPOLLIN, efd_cb, c);
	if (ret) {
		errmsg_set(err, len, "reactor: %s", strerror(-ret));
		goto err_close_efd;
	}
	/* The worker parses replies: seed jansson's hash here, before it runs. */
	json_object_seed(0);
	/* Signals stay with the loop thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&c->thread, NULL, worker_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		errmsg_set(err, len, "thread: %s", strerror(-ret));
		goto err_io_del;
	}
	*out = c;
	return 0;

err_io_del:
	rx_io_del(loop, c->efd);
err_close_efd:
	close(c->efd);
err_cond_destroy:
	pthread_cond_destroy(&c->cond);
err_mutex_destroy:
	pthread_mutex_destroy(&c->lock);
err_curl_cleanup:
	cu->slist_free_all(c->hdr_none);
	cu->slist_free_all(c->hdr_json);
	if (c->h)
		cu->easy_cleanup(c->h);
	cu->global_cleanup();
err_free_sock:
	free(c->sock);
err_free:
	free(c);
	return ret;
}

void dkc_close(struct dkc *c)
{
	struct dkc_req *queued;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->stop, true);
	queued = list_take(&c->queue);
	if (c->sock_fd >= 0)
		shutdown(c->sock_fd, SHUT_RDWR);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);

	req_free_all(queued);
	req_free_all(c->done.head);
	if (c->dead)
		*c->dead = true;
	rx_io_del(c->loop, c->efd);
	close(c->efd);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	c->cu->easy_cleanup(c->h); /* closes a cached connection through sock_close_cb() */
	c->cu->slist_free_all(c->hdr_none);
	c->cu->slist_free_all(c->hdr_json);
	c->cu->global_cleanup();
	free(c->sock);
	free(c);
}

static bool hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* The URL-safe subset described in dockerc.h. */
static bool path_ok(const char *p)
{
	static const char extra[] = "/_.?=&%-";
	const char *seg = p;
	bool in_query = false;
	size_t i, n;

	if (!p || p[0] != '/')
		return false;
	n = strnlen(p, DKC_PATH_MAX + 1);
	if (n > DKC_PATH_MAX)
		return false;
	for (i = 0; i <= n; i++) {
		char ch = p[i];

		if (!in_query && (ch == '/' || ch == '?' || ch == '\0')) {
			size_t sl = (size_t)(p + i - seg);

			if ((sl == 1 && seg[0] == '.') || (sl == 2 && !strncmp(seg, "..", 2)))
				return false;
			seg = p + i + 1;
			in_query = ch == '?';
			continue;
		}
		if (ch == '\0')
			break;
		if (ch == '%') {
			if (!hex(p[i + 1]) || !hex(p[i + 2]))
				return false;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr(extra, ch)))
			return false;
	}
	return true;
}

static bool method_ok(const char *m)
{
	size_t i;

	for (i = 0; m && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(m, methods[i]))
			return true;
	return false;
}

int dkc_request(struct dkc *c, const char *method, const char *path, const json_t *body,
		unsigned timeout_ms, dkc_done_cb cb, void *arg)
{
	struct dkc_req *r;

	if (!c || !method_ok(method) || !path_ok(path) || !timeout_ms)
		return -EINVAL;
	/* json_dumps() encodes nothing else without JSON_ENCODE_ANY */
	if (body && !json_is_object(body) && !json_is_array(body))
		return -EINVAL;
	if (c->pending >= DKC_QUEUE_MAX)
		return -EAGAIN;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->method, sizeof(r->method), "%s", method);
	r->timeout_ms = timeout_ms;
	r->cb = cb;
	r->arg = arg;
	if (asprintf(&r->url, "http://docker" DKC_API_PREFIX "%s", path) < 0) {
		r->url = NULL;
		goto err_free;
	}
	if (body && !(r->data = json_dumps(body, JSON_COMPACT)))
		goto err_free;

	pthread_mutex_lock(&c->lock);
	list_push(&c->queue, r);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	c->pending++;
	return 0;

err_free:
	req_free(r);
	return -ENOMEM;
}

size_t dkc_pending(const struct dkc *c)
{
	return c ? c->pending : 0;
}
