// SPDX-License-Identifier: MIT
/*
 * Unit tests for driver/api.c: a real server on a temporary unix socket,
 * driven by rx_loop_run_once() in the test thread while a client thread
 * talks HTTP to it (libcurl, or a raw socket where curl would be too polite).
 * Both sides are time-bounded, so a broken server fails a test instead of
 * hanging the suite.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/reactor.h"
#include "driver/api.h"

#define CLIENT_TIMEOUT_MS  5000
#define SERVER_DEADLINE_MS 8000 /* longer than the client's, so the client gives up first */

/* What the handlers saw, checked by the tests (handlers run on the test thread). */
struct seen {
	unsigned calls;
	int body_null;
	void *arg;
	char param[256];
};

static struct seen seen;

struct srv {
	char dir[64];
	char path[100];
	struct rx_loop *loop;
	struct drv_api *api;
};

static struct srv srv;

/* Deferral control and what the deferring handler saw on each call. */
#define WAIT_LOG 8

struct wait_call {
	char method[16];
	char path[64];
	char param[64];
	char q[64];
	int has_q;
	json_t *body;
	int expired;
};

static struct {
	int ready;	    /* answer instead of deferring */
	int answer_expired; /* answer on the expired call (else defer again) */
	unsigned timeout_ms;
	int in_kick; /* h_kick is on the stack */
	unsigned calls, calls_in_kick;
	struct wait_call log[WAIT_LOG];
} wait;

/* ---- test routes ---- */

static void h_echo(void *arg, const struct api_req *req, struct api_resp *resp)
{
	seen.calls++;
	seen.arg = arg;
	resp->body = json_pack("{s:s?}", "q", api_req_query(req, "q"));
}

static void h_items_post(void *arg, const struct api_req *req, struct api_resp *resp)
{
	seen.calls++;
	seen.arg = arg;
	seen.body_null = req->body == NULL;
	resp->status = 201;
	resp->body = json_pack("{s:O?}", "body", req->body);
}

static void h_items_get(void *arg, const struct api_req *req, struct api_resp *resp)
{
	seen.calls++;
	snprintf(seen.param, sizeof(seen.param), "%s", req->param);
	resp->body = json_pack("{s:s,s:s}", "param", req->param, "path", req->path);
}

static void h_items_delete(void *arg, const struct api_req *req, struct api_resp *resp)
{
	seen.calls++;
	snprintf(seen.param, sizeof(seen.param), "%s", req->param);
	resp->status = 204;
}

static void h_conflict(void *arg, const struct api_req *req, struct api_resp *resp)
{
	seen.calls++;
	api_error(resp, 409, "conflict", "item \"%s\" already exists", "x");
}

static void h_boom(void *arg, const struct api_req *req, struct api_resp *resp)
{
	seen.calls++;
	resp->body = json_pack("{s:i}", "partial", 1);
	api_error(resp, 500, "internal", "boom %d", 42); /* replaces the body */
}

static void h_metrics(void *arg, const struct api_req *req, struct api_resp *resp)
{
	seen.calls++;
	resp->text = strdup("vxmesh_up 1\n");
	resp->content_type = "text/plain; version=0.0.4";
}

static void h_wait(void *arg, const struct api_req *req, struct api_resp *resp)
{
	unsigned n = wait.calls++;
	const char *q = api_req_query(req, "q");

	if (wait.in_kick)
		wait.calls_in_kick++;
	if (n < WAIT_LOG) {
		struct wait_call *w = &wait.log[n];

		snprintf(w->method, sizeof(w->method), "%s", req->method);
		snprintf(w->path, sizeof(w->path), "%s", req->path);
		snprintf(w->param, sizeof(w->param), "%s", req->param);
		snprintf(w->q, sizeof(w->q), "%s", q ? q : "");
		w->has_q = q != NULL;
		w->body = req->body ? json_deep_copy(req->body) : NULL;
		w->expired = req->expired;
	}
	if (wait.ready || (req->expired && wait.answer_expired)) {
		resp->body = json_pack("{s:s,s:b,s:i}", "param", req->param, "expired",
				       req->expired, "calls", (int)wait.calls);
		return;
	}
	/* Whatever else a deferring handler put in resp is dropped (ASan checks the free). */
	resp->body = json_pack("{s:s}", "dropped", "yes");
	resp->status = 418;
	api_defer(resp, wait.timeout_ms);
}

/* Unblocks the waiters, from inside a handler. */
static void h_kick(void *arg, const struct api_req *req, struct api_resp *resp)
{
	wait.in_kick = 1;
	wait.ready = 1;
	drv_api_retry(srv.api);
	wait.in_kick = 0;
	resp->body = json_pack("{s:b}", "kicked", 1);
}

static const struct api_route routes[] = {
	{"GET", "/v1/echo", h_echo, NULL},	   {"POST", "/v1/items", h_items_post, NULL},
	{"GET", "/v1/items/", h_items_get, NULL},  {"DELETE", "/v1/items/", h_items_delete, NULL},
	{"GET", "/v1/conflict", h_conflict, NULL}, {"GET", "/v1/boom", h_boom, NULL},
	{"GET", "/metrics", h_metrics, NULL},	   {"POST", "/v1/wait/", h_wait, NULL},
	{"GET", "/v1/wait/", h_wait, NULL},	   {"POST", "/v1/kick", h_kick, NULL},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* ---- server fixture ---- */

static void srv_setup(void)
{
	memset(&seen, 0, sizeof(seen));
	memset(&wait, 0, sizeof(wait));
	wait.timeout_ms = 60000;
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/vxmesh-test-api-XXXXXX");
	cr_assert_not_null(mkdtemp(srv.dir));
	snprintf(srv.path, sizeof(srv.path), "%s/api.sock", srv.dir);
	cr_assert_eq(rx_loop_create(&srv.loop), 0);
	srv.api = NULL;
}

static void srv_start(void)
{
	cr_assert_eq(drv_api_open(&srv.api, srv.loop, srv.path, routes, NROUTES, &seen), 0);
}

static void srv_teardown(void)
{
	drv_api_close(srv.api);
	srv.api = NULL;
	rx_loop_destroy(srv.loop);
	srv.loop = NULL;
	unlink(srv.path);
	rmdir(srv.dir);
	curl_global_cleanup();
	for (unsigned i = 0; i < WAIT_LOG; i++)
		json_decref(wait.log[i].body);
}

static void srv_setup_start(void)
{
	srv_setup();
	srv_start();
}

static void srv_setup_docker(void)
{
	srv_setup_start();
	drv_api_set_style(srv.api, API_STYLE_DOCKER);
}

TestSuite(api, .init = srv_setup_start, .fini = srv_teardown);
TestSuite(api_sock, .init = srv_setup, .fini = srv_teardown);
TestSuite(api_defer, .init = srv_setup_start, .fini = srv_teardown);
TestSuite(api_docker, .init = srv_setup_docker, .fini = srv_teardown);

/* ---- client ---- */

struct call {
	/* in */
	const char *method;
	const char *path; /* with query string */
	const char *body; /* NULL: no body */
	size_t body_len;
	int chunked; /* send the body with Transfer-Encoding: chunked */
	const char
		*req_ctype; /* Content-Type header line for the body ("Content-Type:" drops it) */
	const char *raw;    /* raw request bytes instead of curl */
	/* out */
	CURLcode rc;
	long status;
	char ctype[128];
	char *resp;
	size_t resp_len;
	size_t sent;
	atomic_int done;
};

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
	struct call *c = arg;
	char *b = realloc(c->resp, c->resp_len + size * n + 1);

	if (!b)
		return 0;
	memcpy(b + c->resp_len, p, size * n);
	c->resp = b;
	c->resp_len += size * n;
	c->resp[c->resp_len] = '\0';
	return size * n;
}

/* Feeds the body in small pieces, so a chunked upload has many chunks. */
static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
	struct call *c = arg;
	size_t left = c->body_len - c->sent, k = size * n;

	if (k > 1000)
		k = 1000;
	if (k > left)
		k = left;
	memcpy(p, c->body + c->sent, k);
	c->sent += k;
	return k;
}

static void call_curl(struct call *c)
{
	struct curl_slist *hdrs = NULL;
	char url[1024];
	char *ct = NULL;
	CURL *h = curl_easy_init();

	if (!h) {
		c->rc = CURLE_FAILED_INIT;
		return;
	}
	snprintf(url, sizeof(url), "http://localhost%s", c->path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, srv.path);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CLIENT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CLIENT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	if (c->body) {
		hdrs = curl_slist_append(hdrs, c->req_ctype ? c->req_ctype
							    : "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		/* Wait for the server's verdict on an announced body however long a
		 * loaded machine takes (curl's default is 1 s, then it sends the
		 * body into a server that has already refused it: EPIPE). */
		curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, (long)CLIENT_TIMEOUT_MS);
		if (c->chunked) {
			hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, c);
		} else {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
		}
	}
	if (c->method)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	c->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(c->ctype, sizeof(c->ctype), "%s", ct);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
}

/* Write c->raw, read until EOF or the timeout; status from the status line. */
static void call_raw(struct call *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_MS / 1000};
	size_t len = strlen(c->raw), off = 0;
	char buf[4096];
	int fd;

	c->rc = CURLE_COULDNT_CONNECT;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv.path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	c->rc = CURLE_SEND_ERROR;
	while (off < len) {
		ssize_t n = send(fd, c->raw + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	c->rc = CURLE_OK;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		on_write(buf, 1, (size_t)n, c);
		/* One response is all we want; stop once it is complete. */
		if (c->resp && strstr(c->resp, "\r\n\r\n")) {
			const char *cl = strcasestr(c->resp, "\r\ncontent-length:");
			const char *hdr_end = strstr(c->resp, "\r\n\r\n") + 4;

			if (cl &&
			    (size_t)(c->resp + c->resp_len - hdr_end) >= strtoul(cl + 17, NULL, 10))
				break;
		}
	}
	if (c->resp && sscanf(c->resp, "HTTP/1.%*d %ld", &c->status) != 1)
		c->status = 0;
out:
	close(fd);
}

static void *client_main(void *arg)
{
	struct call *c = arg;

	if (c->raw)
		call_raw(c);
	else
		call_curl(c);
	atomic_store(&c->done, 1);
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Serve on this thread until the client thread is done (or the deadline). */
static void run(struct call *c)
{
	uint64_t deadline = now_ms() + SERVER_DEADLINE_MS;
	pthread_t th;

	atomic_store(&c->done, 0);
	cr_assert_eq(pthread_create(&th, NULL, client_main, c), 0);
	while (!atomic_load(&c->done) && now_ms() < deadline)
		cr_assert_eq(rx_loop_run_once(srv.loop, 20), 0);
	pthread_join(th, NULL);
	/* A few more iterations let the server see the close and free the connection. */
	for (int i = 0; i < 5; i++)
		rx_loop_run_once(srv.loop, 0);
}

static void call_free(struct call *c)
{
	free(c->resp);
	c->resp = NULL;
}

/* The reply's JSON (new reference); fails the test when it is not JSON. */
static json_t *call_json(const struct call *c)
{
	json_error_t jerr;
	json_t *j;

	cr_assert_not_null(c->resp, "no reply body (curl %d)", c->rc);
	j = json_loadb(c->resp, c->resp_len, 0, &jerr);
	cr_assert_not_null(j, "reply is not JSON (%s): %s", jerr.text, c->resp);
	return j;
}

static void assert_json_reply(const struct call *c, long status)
{
	cr_assert_eq(c->rc, CURLE_OK, "curl: %s", curl_easy_strerror(c->rc));
	cr_assert_eq(c->status, status, "status %ld, want %ld: %s", c->status, status,
		     c->resp ? c->resp : "");
	cr_expect_str_eq(c->ctype, "application/json");
	cr_expect(c->resp_len && c->resp[c->resp_len - 1] == '\n', "reply ends in a newline");
}

/* Asserts an {"error": {"code": code, "message": "<prefix>..."}} reply. */
static void assert_error(const struct call *c, long status, const char *code,
			 const char *msg_prefix)
{
	const char *got_code = NULL, *got_msg = NULL;
	json_error_t jerr;
	json_t *j;

	assert_json_reply(c, status);
	j = call_json(c);
	cr_assert_eq(json_unpack_ex(j, &jerr, JSON_STRICT, "{s:{s:s,s:s}}", "error", "code",
				    &got_code, "message", &got_msg),
		     0, "%s: %s", jerr.text, c->resp);
	cr_expect_str_eq(got_code, code);
	cr_expect(!strncmp(got_msg, msg_prefix, strlen(msg_prefix)),
		  "message \"%s\", want \"%s...\"", got_msg, msg_prefix);
	json_decref(j);
}

/* ---- routing ---- */

Test(api, get_json_with_query)
{
	struct call c = {.path = "/v1/echo?q=hello%20world&other=1"};
	json_t *j;

	run(&c);
	assert_json_reply(&c, 200);
	j = call_json(&c);
	cr_expect_str_eq(json_string_value(json_object_get(j, "q")), "hello world");
	cr_expect_eq(seen.calls, 1);
	cr_expect_eq(seen.arg, &seen, "handler gets the arg given to drv_api_open");
	json_decref(j);
	call_free(&c);
}

Test(api, missing_query_arg_is_null)
{
	struct call c = {.path = "/v1/echo?other=1"};
	json_t *j;

	run(&c);
	assert_json_reply(&c, 200);
	j = call_json(&c);
	cr_expect(json_is_null(json_object_get(j, "q")), "%s", c.resp);
	json_decref(j);
	call_free(&c);
}

struct route_case {
	const char *method;
	const char *path;
	long status;
	const char *param; /* for 2xx param routes */
	const char *code;  /* for errors */
};

static const struct route_case route_cases[] = {
	{"GET", "/v1/items/abc", 200, "abc", NULL},
	{"GET", "/v1/items/blue-net_1.x", 200, "blue-net_1.x", NULL},
	{"GET", "/v1/items/a%20b", 200, "a b", NULL},
	{"DELETE", "/v1/items/e1", 204, "e1", NULL},
	{"GET", "/v1/items/a/b", 404, NULL, "not_found"},
	{"GET", "/v1/items/", 404, NULL, "not_found"},
	{"GET", "/v1/itemsx", 404, NULL, "not_found"},
	{"GET", "/v1/echo/", 404, NULL, "not_found"},
	{"GET", "/v1/nope", 404, NULL, "not_found"},
	{"GET", "/", 404, NULL, "not_found"},
	{"DELETE", "/v1/echo", 405, NULL, "method_not_allowed"},
	{"POST", "/v1/echo", 405, NULL, "method_not_allowed"},
	{"GET", "/v1/items", 405, NULL, "method_not_allowed"},
	{"PUT", "/v1/items/abc", 405, NULL, "method_not_allowed"},
	{"get", "/v1/echo", 405, NULL, "method_not_allowed"}, /* methods are case-sensitive */
};

Test(api, routes_params_404_405)
{
	for (size_t i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]); i++) {
		const struct route_case *t = &route_cases[i];
		struct call c = {.method = t->method, .path = t->path};
		unsigned calls = seen.calls;

		cr_log_info("case %zu: %s %s", i, t->method, t->path);
		seen.param[0] = '\0';
		run(&c);
		cr_assert_eq(c.rc, CURLE_OK, "case %zu: %s", i, curl_easy_strerror(c.rc));
		cr_expect_eq(c.status, t->status, "case %zu: %s %s: %ld, want %ld", i, t->method,
			     t->path, c.status, t->status);
		if (t->code) {
			assert_error(&c, t->status, t->code,
				     t->status == 404 ? "no such path: " : "");
			cr_expect_eq(seen.calls, calls, "case %zu: no handler runs", i);
		} else {
			cr_expect_eq(seen.calls, calls + 1, "case %zu", i);
			cr_expect_str_eq(seen.param, t->param, "case %zu", i);
		}
		call_free(&c);
	}
}

Test(api, error_route)
{
	struct call c = {.path = "/v1/conflict"};

	run(&c);
	assert_error(&c, 409, "conflict", "item \"x\" already exists");
	call_free(&c);
}

Test(api, plain_text_reply)
{
	struct call c = {.path = "/metrics"};

	run(&c);
	cr_assert_eq(c.rc, CURLE_OK);
	cr_expect_eq(c.status, 200);
	cr_expect_str_eq(c.ctype, "text/plain; version=0.0.4");
	cr_expect_str_eq(c.resp, "vxmesh_up 1\n");
	call_free(&c);
}

/* An error message built from a path that is not UTF-8 still yields an error body. */
Test(api, not_found_with_binary_path)
{
	struct call c = {.path = "/v1/%FF%FE"};

	run(&c);
	assert_error(&c, 404, "not_found", "no such path: ");
	call_free(&c);
}

/* ---- bodies ---- */

Test(api, post_echoes_parsed_body)
{
	static const char body[] = "{\"name\": \"blue\", \"vni\": 42, \"tags\": [\"a\", \"b\"]}";
	struct call c = {.path = "/v1/items", .body = body, .body_len = sizeof(body) - 1};
	json_t *j, *want = json_loads(body, 0, NULL);

	run(&c);
	assert_json_reply(&c, 201);
	j = call_json(&c);
	cr_expect(json_equal(json_object_get(j, "body"), want), "%s", c.resp);
	cr_expect_eq(seen.calls, 1);
	cr_expect_eq(seen.body_null, 0);
	json_decref(j);
	json_decref(want);
	call_free(&c);
}

Test(api, empty_body_is_null)
{
	struct call c = {.path = "/v1/items", .body = "", .body_len = 0};
	json_t *j;

	run(&c);
	assert_json_reply(&c, 201);
	cr_expect_eq(seen.calls, 1);
	cr_expect_eq(seen.body_null, 1, "handler must see body NULL");
	j = call_json(&c);
	cr_expect(json_is_null(json_object_get(j, "body")), "%s", c.resp);
	json_decref(j);
	call_free(&c);
}

struct body_case {
	const char *body;
	const char *msg_prefix;
};

static const struct body_case bad_bodies[] = {
	{"{\"name\": ", "malformed JSON"},
	{"{bad}", "malformed JSON"},
	{"{\"a\": 1} trailing", "malformed JSON"},
	{"{\"a\": 1, \"a\": 2}", "malformed JSON"}, /* duplicate keys are refused */
	{"   ", "malformed JSON"},
	{"\xff\xfe", "malformed JSON"},
	{"[1, 2]", "JSON body must be an object"},
	{"\"blue\"", "JSON body must be an object"},
	{"42", "JSON body must be an object"},
	{"null", "JSON body must be an object"},
};

Test(api, bad_bodies_400)
{
	for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
		const struct body_case *t = &bad_bodies[i];
		struct call c = {.path = "/v1/items", .body = t->body, .body_len = strlen(t->body)};

		cr_log_info("case %zu: %s", i, t->body);
		run(&c);
		assert_error(&c, 400, "invalid_argument", t->msg_prefix);
		call_free(&c);
	}
	cr_expect_eq(seen.calls, 0, "no handler runs for a bad body");
}

/* A JSON object of exactly len bytes: {"k":"aaa...a"}. */
static char *body_of_len(size_t len)
{
	char *b = malloc(len + 1);

	cr_assert_not_null(b);
	cr_assert_geq(len, 8);
	memcpy(b, "{\"k\":\"", 6);
	memset(b + 6, 'a', len - 8);
	memcpy(b + len - 2, "\"}", 3);
	return b;
}

static void size_case(size_t len, int chunked, long want)
{
	char *body = body_of_len(len);
	struct call c = {.path = "/v1/items", .body = body, .body_len = len, .chunked = chunked};
	unsigned calls = seen.calls;

	run(&c);
	if (want == 201) {
		const char *k;
		json_t *j;

		assert_json_reply(&c, 201);
		j = call_json(&c);
		k = json_string_value(json_object_get(json_object_get(j, "body"), "k"));
		cr_assert_not_null(k, "reply lacks body.k: %.200s", c.resp);
		cr_expect_eq(strlen(k), len - 8);
		json_decref(j);
		cr_expect_eq(seen.calls, calls + 1);
	} else {
		assert_error(&c, 413, "too_large", "request body over");
		cr_expect_eq(seen.calls, calls, "no handler runs for an oversized body");
	}
	call_free(&c);
	free(body);
}

Test(api, body_limit_content_length)
{
	size_case(API_BODY_MAX, 0, 201);
	size_case(API_BODY_MAX + 1, 0, 413);
	size_case(4 * API_BODY_MAX, 0, 413);
}

Test(api, body_limit_chunked)
{
	size_case(API_BODY_MAX, 1, 201);
	size_case(API_BODY_MAX + 1, 1, 413);
	size_case(4 * API_BODY_MAX, 1, 413);
}

/* An announced oversized body is refused from the headers, before any of it is sent. */
Test(api, oversized_content_length_refused_before_body)
{
	struct call c = {.raw = "POST /v1/items HTTP/1.1\r\n"
				"Host: localhost\r\n"
				"Content-Type: application/json\r\n"
				"Content-Length: 100000000\r\n"
				"\r\n"};

	run(&c);
	cr_assert_eq(c.rc, CURLE_OK);
	cr_expect_eq(c.status, 413, "%s", c.resp ? c.resp : "(no reply)");
	cr_expect_eq(seen.calls, 0);
	call_free(&c);
}

/* ---- counters ---- */

Test(api, request_counters_by_class)
{
	static const struct {
		const char *method, *path;
	} reqs[] = {
		{NULL, "/v1/echo"}, {NULL, "/v1/items/a"}, {"DELETE", "/v1/items/b"},
		{NULL, "/v1/nope"}, {"PUT", "/v1/echo"},   {NULL, "/v1/conflict"},
		{NULL, "/v1/boom"},
	};

	for (unsigned cls = 0; cls < 8; cls++)
		cr_expect_eq(drv_api_requests(srv.api, cls), 0);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct call c = {.method = reqs[i].method, .path = reqs[i].path};

		run(&c);
		cr_expect_eq(c.rc, CURLE_OK);
		call_free(&c);
	}
	cr_expect_eq(drv_api_requests(srv.api, 1), 0);
	cr_expect_eq(drv_api_requests(srv.api, 2), 3);
	cr_expect_eq(drv_api_requests(srv.api, 3), 0);
	cr_expect_eq(drv_api_requests(srv.api, 4), 3);
	cr_expect_eq(drv_api_requests(srv.api, 5), 1);
	cr_expect_eq(drv_api_requests(srv.api, 6), 0);
	cr_expect_eq(drv_api_requests(srv.api, 1000), 0);
}

Test(api, boom_is_500)
{
	struct call c = {.path = "/v1/boom"};

	run(&c);
	assert_error(&c, 500, "internal", "boom 42");
	call_free(&c);
}

/* ---- the socket file ---- */

Test(api_sock, mode_0600_even_with_open_umask)
{
	mode_t old = umask(0);
	struct stat st;

	srv_start();
	umask(old);
	cr_assert_eq(stat(srv.path, &st), 0);
	cr_expect(S_ISSOCK(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", (unsigned)(st.st_mode & 07777));
}

Test(api_sock, second_server_refused)
{
	struct drv_api *other = NULL;
	struct call c = {.path = "/v1/echo?q=still"};
	json_t *j;

	srv_start();
	cr_expect_eq(drv_api_open(&other, srv.loop, srv.path, routes, NROUTES, NULL), -EADDRINUSE);
	cr_expect_null(other);
	cr_assert_eq(access(srv.path, F_OK), 0, "the socket file must survive");
	run(&c);
	assert_json_reply(&c, 200);
	j = call_json(&c);
	cr_expect_str_eq(json_string_value(json_object_get(j, "q")), "still");
	json_decref(j);
	call_free(&c);
}

Test(api_sock, stale_socket_replaced)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct call c = {.path = "/v1/echo?q=new"};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* A bound socket file with nobody listening: what a crashed agent leaves. */
	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv.path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cr_assert_eq(access(srv.path, F_OK), 0);

	srv_start();
	run(&c);
	assert_json_reply(&c, 200);
	call_free(&c);
}

Test(api_sock, regular_file_not_removed)
{
	struct drv_api *api = NULL;
	struct stat st;
	FILE *f = fopen(srv.path, "w");

	cr_assert_not_null(f);
	fputs("precious\n", f);
	fclose(f);
	cr_expect_eq(drv_api_open(&api, srv.loop, srv.path, routes, NROUTES, NULL), -EEXIST);
	cr_expect_null(api);
	drv_api_close(api);
	cr_assert_eq(stat(srv.path, &st), 0, "a file that is not a socket must not be unlinked");
	cr_expect(S_ISREG(st.st_mode));
}

Test(api_sock, close_removes_socket)
{
	struct call c = {.path = "/v1/echo"};

	srv_start();
	run(&c);
	cr_expect_eq(c.status, 200);
	call_free(&c);
	drv_api_close(srv.api);
	srv.api = NULL;
	cr_expect_eq(access(srv.path, F_OK), -1);
	cr_expect_eq(errno, ENOENT);
	drv_api_close(NULL);
}

Test(api_sock, reopen_after_close)
{
	struct call c = {.path = "/v1/echo?q=again"};

	srv_start();
	drv_api_close(srv.api);
	srv.api = NULL;
	srv_start();
	run(&c);
	assert_json_reply(&c, 200);
	call_free(&c);
}

Test(api_sock, path_too_long)
{
	struct drv_api *api = NULL;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	cr_expect_eq(drv_api_open(&api, srv.loop, path, routes, NROUTES, NULL), -ENAMETOOLONG);
	cr_expect_null(api);
}

Test(api_sock, missing_directory)
{
	struct drv_api *api = NULL;
	char path[200];

	snprintf(path, sizeof(path), "%s/no/such/dir.sock", srv.dir);
	cr_expect_eq(drv_api_open(&api, srv.loop, path, routes, NROUTES, NULL), -ENOENT);
	cr_expect_null(api);
}

/* ---- deferred answers ---- */

#define serve_until(cond)                                                                          \
	do {                                                                                       \
		uint64_t dl_ = now_ms() + SERVER_DEADLINE_MS;                                      \
		while (!(cond) && now_ms() < dl_)                                                  \
			cr_assert_eq(rx_loop_run_once(srv.loop, 10), 0);                           \
		cr_assert(cond, "timed out waiting for " #cond);                                   \
	} while (0)

static void call_start(struct call *c, pthread_t *th)
{
	atomic_store(&c->done, 0);
	cr_assert_eq(pthread_create(th, NULL, client_main, c), 0);
}

static void call_finish(struct call *c, pthread_t th)
{
	serve_until(atomic_load(&c->done));
	pthread_join(th, NULL);
	for (int i = 0; i < 5; i++)
		rx_loop_run_once(srv.loop, 0);
}

/* A few loop iterations without waiting for anything in particular. */
static void serve_for(unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		cr_assert_eq(rx_loop_run_once(srv.loop, 5), 0);
}

/* Connect and send req from this thread (it fits the socket buffer); the fd. */
static int raw_send(const char *req)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_MS / 1000};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv.path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	cr_assert_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	return fd;
}

static const char wait_body[] = "{\"net\": \"blue\", \"n\": [1, 2, {\"x\": null}]}\n";

Test(api_defer, answered_after_retry_with_identical_request)
{
	struct call c = {.path = "/v1/wait/blue-1?q=a%20b&z=1",
			 .body = wait_body,
			 .body_len = sizeof(wait_body) - 1};
	json_t *want = json_loads(wait_body, 0, NULL), *j;
	pthread_t th;

	call_start(&c, &th);
	serve_until(drv_api_parked(srv.api) == 1);
	cr_expect_eq(wait.calls, 1);

	/* A retry while the handler still cannot answer: called again, parked again. */
	drv_api_retry(srv.api);
	serve_until(wait.calls == 2);
	serve_for(20);
	cr_expect_eq(drv_api_parked(srv.api), 1);
	cr_expect_eq(atomic_load(&c.done), 0, "no answer while deferred");

	wait.ready = 1;
	drv_api_retry(srv.api);
	call_finish(&c, th);
	assert_json_reply(&c, 200);
	j = call_json(&c);
	cr_expect_eq(json_integer_value(json_object_get(j, "calls")), 3, "%s", c.resp);
	cr_expect(json_is_false(json_object_get(j, "expired")));
	cr_expect_eq(drv_api_parked(srv.api), 0);
	cr_expect_eq(wait.calls, 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct wait_call *w = &wait.log[i];

		cr_expect_str_eq(w->method, "POST", "call %u", i);
		cr_expect_str_eq(w->path, "/v1/wait/blue-1", "call %u", i);
		cr_expect_str_eq(w->param, "blue-1", "call %u", i);
		cr_expect(w->has_q, "call %u: query arg readable", i);
		cr_expect_str_eq(w->q, "a b", "call %u", i);
		cr_expect(json_equal(w->body, want), "call %u: body", i);
		cr_expect_eq(w->expired, 0, "call %u", i);
	}
	cr_expect_eq(drv_api_requests(srv.api, 2), 1, "one answer counted");
	cr_expect_eq(drv_api_requests(srv.api, 4), 0, "the dropped 418 is never sent");
	json_decref(j);
	json_decref(want);
	call_free(&c);
}

Test(api_defer, get_without_body)
{
	struct call c = {.path = "/v1/wait/x"};
	pthread_t th;

	call_start(&c, &th);
	serve_until(drv_api_parked(srv.api) == 1);
	wait.ready = 1;
	drv_api_retry(srv.api);
	call_finish(&c, th);
	assert_json_reply(&c, 200);
	cr_expect_eq(wait.calls, 2);
	cr_expect_null(wait.log[0].body);
	cr_expect_null(wait.log[1].body);
	cr_expect_str_eq(wait.log[1].method, "GET");
	cr_expect_eq(wait.log[1].has_q, 0);
	call_free(&c);
}

Test(api_defer, expiry_calls_handler_once_more)
{
	struct call c = {.path = "/v1/wait/late"};
	uint64_t t0 = now_ms();
	pthread_t th;
	json_t *j;

	wait.timeout_ms = 150;
	wait.answer_expired = 1;
	call_start(&c, &th);
	call_finish(&c, th);
	assert_json_reply(&c, 200);
	cr_expect_geq(now_ms() - t0, 150, "answered before the deadline");
	j = call_json(&c);
	cr_expect(json_is_true(json_object_get(j, "expired")), "%s", c.resp);
	cr_expect_eq(wait.calls, 2);
	cr_expect_eq(wait.log[0].expired, 0);
	cr_expect_eq(wait.log[1].expired, 1);
	cr_expect_eq(drv_api_parked(srv.api), 0);
	json_decref(j);
	call_free(&c);
}

/* Retries do not extend the deadline, which counts from the first deferral. */
Test(api_defer, expiry_not_extended_by_retries)
{
	struct call c = {.path = "/v1/wait/late"};
	uint64_t t0 = now_ms();
	pthread_t th;

	wait.timeout_ms = 200;
	wait.answer_expired = 1;
	call_start(&c, &th);
	while (!atomic_load(&c.done) && now_ms() - t0 < 2000) {
		drv_api_retry(srv.api);
		cr_assert_eq(rx_loop_run_once(srv.loop, 20), 0);
	}
	call_finish(&c, th);
	assert_json_reply(&c, 200);
	cr_expect_lt(now_ms() - t0, 1500);
	cr_expect_gt(wait.calls, 2);
	call_free(&c);
}

/* Answered by a retry: its deadline passing afterwards must be a no-op. */
Test(api_defer, deadline_after_answer_is_harmless)
{
	struct call c = {.path = "/v1/wait/quick"};
	pthread_t th;

	wait.timeout_ms = 100;
	call_start(&c, &th);
	serve_until(drv_api_parked(srv.api) == 1);
	wait.ready = 1;
	drv_api_retry(srv.api);
	call_finish(&c, th);
	assert_json_reply(&c, 200);
	serve_for(200);
	cr_expect_eq(wait.calls, 2);
	call_free(&c);
}

Test(api_defer, deferring_after_expiry_is_503)
{
	struct call c = {.path = "/v1/wait/late"};
	pthread_t th;

	wait.timeout_ms = 50;
	call_start(&c, &th);
	call_finish(&c, th);
	assert_error(&c, 503, "unavailable", "timed out waiting");
	cr_expect_eq(wait.calls, 2);
	cr_expect_eq(wait.log[1].expired, 1);
	cr_expect_eq(drv_api_parked(srv.api), 0);
	cr_expect_eq(drv_api_requests(srv.api, 5), 1);
	call_free(&c);
}

static const char wait_raw[] = "POST /v1/wait/gone HTTP/1.1\r\n"
			       "Host: localhost\r\n"
			       "Content-Length: 9\r\n"
			       "\r\n"
			       "{\"a\": 1}\n";

/* The client hangs up while parked; then a retry finds the connection dead. */
Test(api_defer, client_hangup_then_retry)
{
	int fd = raw_send(wait_raw);
	struct call c = {.path = "/v1/echo?q=alive"};

	serve_until(drv_api_parked(srv.api) == 1);
	close(fd);
	serve_for(20);
	wait.ready = 1;
	drv_api_retry(srv.api);
	serve_until(drv_api_parked(srv.api) == 0);
	serve_for(50);
	/* The server still serves. */
	run(&c);
	assert_json_reply(&c, 200);
	call_free(&c);
}

/* Hung up, then deferred again at every retry: the deadline ends it. */
Test(api_defer, client_hangup_then_expiry)
{
	int fd = raw_send(wait_raw);
	unsigned calls;

	wait.timeout_ms = 100;
	serve_until(drv_api_parked(srv.api) == 1);
	close(fd);
	drv_api_retry(srv.api);
	serve_until(wait.calls >= 2);
	serve_until(wait.calls >= 3 || drv_api_parked(srv.api) == 0);
	serve_for(300);
	cr_expect_eq(drv_api_parked(srv.api), 0);
	calls = wait.calls;
	drv_api_retry(srv.api);
	serve_for(50);
	cr_expect_eq(wait.calls, calls, "nothing left to re-run");
}

/* Reads what the server sent until EOF; 0 when nothing came. */
static long raw_read_status(int fd)
{
	char buf[4096];
	size_t off = 0;
	long status = 0;
	ssize_t n;

	while (off < sizeof(buf) - 1 && (n = recv(fd, buf + off, sizeof(buf) - 1 - off, 0)) > 0)
		off += (size_t)n;
	cr_assert_geq(n, 0, "recv: %s (the server must close, not hang)", strerror(errno));
	buf[off] = '\0';
	if (off && sscanf(buf, "HTTP/1.%*d %ld", &status) != 1)
		status = -1;
	return status;
}

Test(api_defer, close_with_parked_requests)
{
	int fd1 = raw_send(wait_raw), fd2, fd3;
	long st;

	fd2 = raw_send(wait_raw);
	fd3 = raw_send(wait_raw);
	serve_until(drv_api_parked(srv.api) == 3);
	close(fd3); /* one client already gone */
	drv_api_close(srv.api);
	srv.api = NULL;
	cr_expect_eq(access(srv.path, F_OK), -1, "socket removed");
	/* Each client gets the 503 or at least a closed connection. */
	st = raw_read_status(fd1);
	cr_log_info("close: client 1 got %ld", st);
	cr_expect(st == 503 || st == 0, "status %ld", st);
	st = raw_read_status(fd2);
	cr_log_info("close: client 2 got %ld", st);
	cr_expect(st == 503 || st == 0, "status %ld", st);
	cr_expect_eq(wait.calls, 3, "no handler runs at close");
	close(fd1);
	close(fd2);
	/* The loop has nothing of the server left to run. */
	for (int i = 0; i < 5; i++)
		cr_assert_eq(rx_loop_run_once(srv.loop, 0), 0);
}

/* A retry pending when the server closes must not run. */
Test(api_defer, close_with_retry_pending)
{
	int fd = raw_send(wait_raw);

	serve_until(drv_api_parked(srv.api) == 1);
	drv_api_retry(srv.api);
	drv_api_close(srv.api);
	srv.api = NULL;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(rx_loop_run_once(srv.loop, 0), 0);
	cr_expect_eq(wait.calls, 1);
	close(fd);
}

#define MANY 200

struct many {
	long status[MANY];
	int fd[MANY];
	atomic_int done;
};

/* MANY raw clients at once; waits for every answer (bounded). */
static void *many_main(void *arg)
{
	struct many *m = arg;
	char req[256], buf[MANY][1024];
	size_t len[MANY] = {0};
	uint64_t deadline = now_ms() + CLIENT_TIMEOUT_MS;
	int left = MANY;

	for (int i = 0; i < MANY; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		m->fd[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv.path);
		snprintf(
			req, sizeof(req),
			"GET /v1/wait/n%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
			i);
		if (m->fd[i] < 0 || connect(m->fd[i], (struct sockaddr *)&sa, sizeof(sa)) ||
		    send(m->fd[i], req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
			m->status[i] = -1;
			left--;
		}
	}
	while (left > 0 && now_ms() < deadline) {
		struct pollfd pfd[MANY];
		int idx[MANY], n = 0;

		for (int i = 0; i < MANY; i++)
			if (!m->status[i]) {
				pfd[n] = (struct pollfd){.fd = m->fd[i], .events = POLLIN};
				idx[n++] = i;
			}
		if (poll(pfd, (nfds_t)n, 50) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			int i = idx[k];
			ssize_t r;

			if (!pfd[k].revents)
				continue;
			r = recv(m->fd[i], buf[i] + len[i], sizeof(buf[i]) - 1 - len[i], 0);
			if (r > 0) {
				len[i] += (size_t)r;
				continue;
			}
			/* EOF (Connection: close) ends the answer. */
			buf[i][len[i]] = '\0';
			if (sscanf(buf[i], "HTTP/1.%*d %ld", &m->status[i]) != 1)
				m->status[i] = -2;
			left--;
		}
	}
	for (int i = 0; i < MANY; i++)
		if (m->fd[i] >= 0)
			close(m->fd[i]);
	atomic_store(&m->done, 1);
	return NULL;
}

Test(api_defer, many_parked_answered_by_one_retry)
{
	static struct many m;
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, many_main, &m), 0);
	serve_until(drv_api_parked(srv.api) == MANY || atomic_load(&m.done));
	cr_assert_eq(drv_api_parked(srv.api), MANY);
	cr_expect_eq(wait.calls, MANY);
	wait.ready = 1;
	drv_api_retry(srv.api);
	serve_until(atomic_load(&m.done));
	pthread_join(th, NULL);
	for (int i = 0; i < MANY; i++)
		cr_expect_eq(m.status[i], 200, "client %d: %ld", i, m.status[i]);
	cr_expect_eq(wait.calls, 2 * MANY);
	cr_expect_eq(drv_api_parked(srv.api), 0);
	cr_expect_eq(drv_api_requests(srv.api, 2), MANY);
}

/* A handler calls drv_api_retry(); the re-runs happen later, not on its stack. */
Test(api_defer, retry_from_inside_a_handler)
{
	struct call a = {.path = "/v1/wait/a"};
	struct call k = {.method = "POST", .path = "/v1/kick"};
	pthread_t tha, thk;

	call_start(&a, &tha);
	serve_until(drv_api_parked(srv.api) == 1);
	call_start(&k, &thk);
	call_finish(&k, thk);
	call_finish(&a, tha);
	assert_json_reply(&k, 200);
	assert_json_reply(&a, 200);
	cr_expect_eq(wait.calls, 2);
	cr_expect_eq(wait.calls_in_kick, 0, "re-run on the caller's stack");
	cr_expect_eq(drv_api_parked(srv.api), 0);
	call_free(&a);
	call_free(&k);
}

/* drv_api_retry() with nothing parked is harmless. */
Test(api_defer, retry_with_nothing_parked)
{
	struct call c = {.path = "/v1/echo?q=x"};

	drv_api_retry(srv.api);
	drv_api_retry(srv.api);
	serve_for(20);
	cr_expect_eq(drv_api_parked(srv.api), 0);
	run(&c);
	assert_json_reply(&c, 200);
	call_free(&c);
}

/* ---- Docker plugin style ---- */

#define CT_DOCKER "application/vnd.docker.plugins.v1.1+json"

/* Asserts a Docker error reply: status, content type, exactly {"Err": "<prefix>..."}. */
static void assert_docker_err(const struct call *c, long status, const char *msg_prefix)
{
	const char *msg = NULL;
	json_error_t jerr;
	json_t *j;

	cr_assert_eq(c->rc, CURLE_OK, "curl: %s", curl_easy_strerror(c->rc));
	cr_assert_eq(c->status, status, "status %ld, want %ld: %s", c->status, status,
		     c->resp ? c->resp : "");
	cr_expect_str_eq(c->ctype, CT_DOCKER);
	j = call_json(c);
	cr_assert_eq(json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s}", "Err", &msg), 0, "%s: %s",
		     jerr.text, c->resp);
	cr_expect(!strncmp(msg, msg_prefix, strlen(msg_prefix)), "Err \"%s\", want \"%s...\"", msg,
		  msg_prefix);
	json_decref(j);
}

Test(api_docker, success_has_docker_content_type)
{
	struct call c = {.path = "/v1/echo?q=hi"};
	json_t *j;

	run(&c);
	cr_assert_eq(c.status, 200);
	cr_expect_str_eq(c.ctype, CT_DOCKER);
	cr_expect(c.resp_len && c.resp[c.resp_len - 1] == '\n');
	j = call_json(&c);
	cr_expect_str_eq(json_string_value(json_object_get(j, "q")), "hi");
	json_decref(j);
	call_free(&c);
}

Test(api_docker, handler_error_is_500_err)
{
	struct call c = {.path = "/v1/conflict"};

	run(&c);
	assert_docker_err(&c, 500, "item \"x\" already exists");
	call_free(&c);
	c = (struct call){.path = "/v1/boom"};
	run(&c);
	assert_docker_err(&c, 500, "boom 42");
	call_free(&c);
}

Test(api_docker, unknown_path_404)
{
	struct call c = {.method = "POST", .path = "/NetworkDriver.ProgramExternalConnectivity"};

	run(&c);
	assert_docker_err(&c, 404, "no such path: /NetworkDriver.ProgramExternalConnectivity");
	cr_expect_eq(seen.calls, 0);
	call_free(&c);
}

Test(api_docker, wrong_method_is_500)
{
	struct call c = {.method = "DELETE", .path = "/v1/echo"};

	run(&c);
	assert_docker_err(&c, 500, "DELETE is not allowed on /v1/echo");
	call_free(&c);
}

Test(api_docker, bad_bodies_500)
{
	static const char *const bodies[] = {"{\"a\": ", "{bad}\n", "[1]\n", "null\n", "42"};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct call c = {
			.path = "/v1/items", .body = bodies[i], .body_len = strlen(bodies[i])};

		cr_log_info("case %zu: %s", i, bodies[i]);
		run(&c);
		assert_docker_err(&c, 500, "malformed JSON body: ");
		call_free(&c);
	}
	cr_expect_eq(seen.calls, 0);
}

struct docker_body_case {
	const char *ctype; /* request Content-Type header line */
	const char *body;
	int body_null;
};

static const struct docker_body_case docker_bodies[] = {
	{"Content-Type:", "", 1}, /* Plugin.Activate: no body, no type */
	{"Content-Type: application/vnd.docker.plugins.v1.2+json", "", 1},
	{"Content-Type: application/vnd.docker.plugins.v1.2+json", "{\"NetworkID\": \"n1\"}\n", 0},
	{"Content-Type: text/plain", "{\"NetworkID\": \"n1\"}\n", 0},
	{"Content-Type: application/x-www-form-urlencoded", "{\"NetworkID\": \"n1\"}\n", 0},
	{"Content-Type:", "{\"NetworkID\": \"n1\"}\n", 0},
};

Test(api_docker, bodies_with_any_content_type)
{
	for (size_t i = 0; i < sizeof(docker_bodies) / sizeof(docker_bodies[0]); i++) {
		const struct docker_body_case *t = &docker_bodies[i];
		struct call c = {.path = "/v1/items",
				 .body = t->body,
				 .body_len = strlen(t->body),
				 .req_ctype = t->ctype};
		unsigned calls = seen.calls;
		json_t *j;

		cr_log_info("case %zu: %s", i, t->ctype);
		run(&c);
		cr_assert_eq(c.status, 201, "case %zu: %s", i, c.resp ? c.resp : "");
		cr_expect_str_eq(c.ctype, CT_DOCKER);
		cr_expect_eq(seen.calls, calls + 1);
		cr_expect_eq(seen.body_null, t->body_null, "case %zu", i);
		j = call_json(&c);
		if (t->body_null)
			cr_expect(json_is_null(json_object_get(j, "body")), "%s", c.resp);
		else
			cr_expect_str_eq(json_string_value(json_object_get(
						 json_object_get(j, "body"), "NetworkID")),
					 "n1");
		json_decref(j);
		call_free(&c);
	}
}

Test(api_docker, deferral_timeout_is_500_err)
{
	struct call c = {.path = "/v1/wait/late"};
	pthread_t th;

	wait.timeout_ms = 30;
	call_start(&c, &th);
	call_finish(&c, th);
	assert_docker_err(&c, 500, "timed out waiting");
	call_free(&c);
}

Test(api_docker, plain_text_keeps_its_type)
{
	struct call c = {.path = "/metrics"};

	run(&c);
	cr_expect_eq(c.status, 200);
	cr_expect_str_eq(c.ctype, "text/plain; version=0.0.4");
	call_free(&c);
}

/* Every errno driver/core.h lists (its own and the allocator's), as the edge
 * turns it into an HTTP status. */
Test(api_status, every_errno_of_the_core_contract_has_its_status)
{
	static const struct {
		int err;
		unsigned status;
	} cases[] = {
		{-EINVAL, 400}, {-EDOM, 400},	    {-EADDRNOTAVAIL, 400}, {-ENOENT, 404},
		{-EEXIST, 409}, {-EADDRINUSE, 409}, {-EBUSY, 409},	   {-ENOSPC, 409},
		{-EPERM, 409},	{-EAGAIN, 503},	    {-EHOSTUNREACH, 503},  {-EIO, 500},
		{-ENOMEM, 500},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(api_status_of(cases[i].err), cases[i].status, "%s: %u, not %u",
			     strerror(-cases[i].err), api_status_of(cases[i].err), cases[i].status);
}
