// SPDX-License-Identifier: MIT
/*
 * api: libmicrohttpd on the reactor.  MHD runs in "external epoll" mode
 * (MHD_USE_EPOLL without an internal thread): its epoll fd is registered in
 * our loop and MHD_run() is called when it is readable or when MHD's own
 * timeout, mirrored in an rx_timer, expires.  Handlers run synchronously
 * on the loop thread.
 *
 * A handler that cannot answer yet defers: its connection is suspended and
 * put on the parked list.  A retry (or the request's own deadline timer)
 * resumes it, and MHD calls on_request again, which runs the whole final
 * step again (route, body parse, handler) from the request's saved bytes.
 * MHD does not watch a suspended connection, so a client that hangs up is
 * only noticed after the resume; the request state lives until MHD reports
 * completion, whichever way it ends.
 */
#include "driver/api.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/reactor.h"

#define CT_JSON	  "application/json"
#define CT_DOCKER "application/vnd.docker.plugins.v1.1+json"
/* Suspended connections count against this: room for many parked requests. */
#define API_CONN_MAX 512

/* One request: its upload, and its parking state once a handler deferred. */
struct req_state {
	char *buf;
	size_t len;
	int too_large;
	int expired;
	int parked;
	struct drv_api *api;
	struct MHD_Connection *conn;
	struct rx_timer *deadline;     /* created at the first deferral */
	struct req_state *prev, *next; /* on api->parked while parked */
};

struct drv_api {
	struct rx_loop *loop;
	struct MHD_Daemon *mhd;
	struct rx_timer *timer;
	int listen_fd;
	int epoll_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const struct api_route *routes;
	size_t nroutes;
	void *arg;
	unsigned long long requests[6]; /* by status class 1xx..5xx */
	enum api_style style;
	int closing;
	struct req_state *parked; /* suspended connections */
	size_t nparked;
	struct rx_timer *retry; /* armed at 0 by drv_api_retry() */
};

static json_t *error_body(enum api_style style, const char *code, const char *msg)
{
	if (style == API_STYLE_DOCKER)
		return json_pack("{s:s}", "Err", msg);
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
}

void api_error(struct api_resp *resp, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(resp->body);
	/* Docker's plugin clients take any error as 500 + {"Err"}. */
	resp->status = resp->style == API_STYLE_DOCKER ? 500 : status;
	resp->body = error_body(resp->style, code, msg);
	if (!resp->body) {
		/* msg may quote bytes from outside that are not UTF-8 (a percent-decoded
		 * path), which jansson refuses: keep the error, mask those bytes. */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		resp->body = error_body(resp->style, code, msg);
	}
}

unsigned api_status_of(int err)
{
	switch (err) {
	case -EINVAL:
	case -EDOM:
	case -EADDRNOTAVAIL:
	case -ERANGE:
	case -ENAMETOOLONG:
		return 400;
	case -ENOENT:
	case -ESRCH:
		return 404;
	case -EEXIST:
	case -EADDRINUSE:
	case -EBUSY:
	case -ENOSPC:
	case -EPERM:
	case -EOPNOTSUPP: /* this host cannot (encrypted networks without a key) */
		return 409;
	case -EAGAIN:
	case -EHOSTUNREACH:
	case -EHOSTDOWN:
	case -ENOTCONN:
	case -ETIMEDOUT:
		return 503;
	default:
		return 500;
	}
}

void api_error_errno(struct api_resp *resp, int err, const char *code500, const char *fmt, ...)
{
	static const struct {
		unsigned status;
		const char *code;
	} codes[] = {
		{400, "invalid_argument"}, {404, "not_found"}, {409, "conflict"},
		{503, "unavailable"},	   {500, NULL},
	};
	unsigned status = api_status_of(err);
	const char *code = code500;
	char msg[512];
	va_list ap;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].status == status && codes[i].code)
			code = codes[i].code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_error(resp, status, code, "%s", msg);
}

int api_body_why(const json_t *body, const struct api_field *f, size_t n, char *why, size_t len)
{
	static const char *const tname[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
		[JSON_STRING] = "a string",  [JSON_INTEGER] = "an integer",
		[JSON_REAL] = "a number",    [JSON_TRUE] = "a boolean",
		[JSON_FALSE] = "a boolean",  [JSON_NULL] = "null",
	};

	for (size_t i = 0; i < n; i++) {
		json_t *v = body ? json_object_get(body, f[i].key) : NULL;

		if (!v || json_is_null(v)) {
			if (!f[i].required)
				continue;
			snprintf(why, len, "missing field \"%s\"", f[i].key);
			return -EINVAL;
		}
		/* Booleans come as two JSON types. */
		if (json_typeof(v) != f[i].type &&
		    !(f[i].type == JSON_TRUE && json_is_boolean(v))) {
			snprintf(why, len, "field \"%s\" must be %s", f[i].key, tname[f[i].type]);
			return -EINVAL;
		}
	}
	return 0;
}

int api_body_check(const json_t *body, const struct api_field *f, size_t n, struct api_resp *resp)
{
	char why[160];
	int ret = api_body_why(body, f, n, why, sizeof(why));

	if (ret)
		api_error(resp, 400, "invalid_argument", "%s", why);
	return ret;
}

const char *api_body_str(const json_t *body, const char *key)
{
	return body ? json_string_value(json_object_get(body, key)) : NULL;
}

int api_body_int(const json_t *body, const char *key, json_int_t min, json_int_t max,
		 json_int_t *out, struct api_resp *resp)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	if (!v || json_is_null(v))
		return 0;
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		api_error(resp, 400, "invalid_argument",
			  "%s %" JSON_INTEGER_FORMAT " is out of range (%" JSON_INTEGER_FORMAT
			  "..%" JSON_INTEGER_FORMAT ")",
			  key, json_integer_value(v), min, max);
		return -ERANGE;
	}
	*out = json_integer_value(v);
	return 1;
}

void api_defer(struct api_resp *resp, unsigned timeout_ms)
{
	resp->deferred = 1;
	resp->defer_ms = timeout_ms;
}

const char *api_req_query(const struct api_req *req, const char *key)
{
	/* No connection: a request made in-process (unit tests) has no query. */
	return req->conn ? MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key)
			 : NULL;
}

static enum MHD_Result send_resp(struct drv_api *api, struct MHD_Connection *conn,
				 struct api_resp *r)
{
	const char *json_type = api->style == API_STYLE_DOCKER ? CT_DOCKER : CT_JSON;
	struct MHD_Response *mr;
	enum MHD_Result ret;
	char *text = r->text;

	if (!text) {
		if (!r->body)
			r->body = json_object();
		text = json_dumps(r->body, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!text) {
			r->status = 500;
			text = strdup(api->style == API_STYLE_DOCKER
					      ? "{\"Err\": \"out of memory\"}"
					      : "{\"error\": {\"code\": \"internal\", \"message\": "
						"\"out of memory\"}}");
		}
		r->content_type = json_type;
	}
	json_decref(r->body);
	r->body = NULL;
	if (text && r->content_type &&
	    (!strcmp(r->content_type, CT_JSON) || !strcmp(r->content_type, CT_DOCKER))) {
		size_t n = strlen(text);
		char *t = realloc(text, n + 2);

		if (t) {
			t[n] = '\n';
			t[n + 1] = '\0';
			text = t;
		}
	}
	mr = MHD_create_response_from_buffer(text ? strlen(text) : 0, text, MHD_RESPMEM_MUST_FREE);
	if (!mr) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(mr, "Content-Type", r->content_type ? r->content_type : json_type);
	ret = MHD_queue_response(conn, r->status, mr);
	MHD_destroy_response(mr);
	if (r->status >= 100 && r->status < 600)
		api->requests[r->status / 100]++;
	return ret;
}

static const struct api_route *route_find(struct drv_api *api, const char *method, const char *url,
					  const char **param, int *path_known)
{
	*path_known = 0;
	for (size_t i = 0; i < api->nroutes; i++) {
		const struct api_route *r = &api->routes[i];
		size_t len = strlen(r->path);
		const char *p;

		if (r->path[len - 1] == '/') {
			if (strncmp(url, r->path, len) || !url[len] || strchr(url + len, '/'))
				continue;
			p = url + len;
		} else {
			if (strcmp(url, r->path))
				continue;
			p = "";
		}
		*path_known = 1;
		if (!strcmp(method, r->method)) {
			*param = p;
			return r;
		}
	}
	return NULL;
}

static void api_kick(struct drv_api *api);

static void parked_del(struct req_state *st)
{
	struct drv_api *api = st->api;

	if (st->prev)
		st->prev->next = st->next;
	else
		api->parked = st->next;
	if (st->next)
		st->next->prev = st->prev;
	st->prev = st->next = NULL;
	st->parked = 0;
	api->nparked--;
}

/* The caller runs MHD next (api_kick), which re-runs the request. */
static void unpark(struct req_state *st)
{
	if (!st->parked)
		return;
	parked_del(st);
	MHD_resume_connection(st->conn);
}

static void deadline_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct req_state *st = arg;
	struct drv_api *api = st->api;

	st->expired = 1;
	unpark(st);
	api_kick(api); /* may complete the request and free st */
}

static void retry_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct drv_api *api = arg;

	/* Handlers that defer again re-park during api_kick(), after this loop. */
	while (api->parked)
		unpark(api->parked);
	api_kick(api);
}

/* Only from on_request(): MHD allows suspending nowhere else. */
static int park(struct drv_api *api, struct req_state *st, unsigned timeout_ms)
{
	if (!st->deadline) {
		st->deadline = rx_timer_create(api->loop, deadline_cb, st);
		if (!st->deadline)
			return -ENOMEM;
		rx_timer_arm(st->deadline, timeout_ms, 0);
	}
	MHD_suspend_connection(st->conn);
	st->parked = 1;
	st->prev = NULL;
	st->next = api->parked;
	if (st->next)
		st->next->prev = st;
	api->parked = st;
	api->nparked++;
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct drv_api *api = cls;
	struct req_state *st = *con_cls;
	struct api_resp resp = {.status = 200, .style = api->style};
	struct api_req req = {.method = method, .path = url, .conn = conn};
	const struct api_route *route;
	json_error_t jerr;
	int known;

	if (!st) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		st->api = api;
		st->conn = conn;
		*con_cls = st;
		/* Refuse an announced oversized body before reading any of it. */
		if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX) {
			api_error(&resp, 413, "too_large", "request body over %d bytes",
				  API_BODY_MAX);
			st->too_large = 2;
			return send_resp(api, conn, &resp);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!st->too_large && st->len + *upload_data_size <= API_BODY_MAX) {
			char *b = realloc(st->buf, st->len + *upload_data_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + st->len, upload_data, *upload_data_size);
			st->buf = b;
			st->len += *upload_data_size;
			st->buf[st->len] = '\0';
		} else {
			st->too_large = 1;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* The final call: also every re-run of a parked request, after its resume. */
	if (st->too_large == 2)
		return MHD_YES;
	if (st->too_large) {
		api_error(&resp, 413, "too_large", "request body over %d bytes", API_BODY_MAX);
		return send_resp(api, conn, &resp);
	}
	if (api->closing) {
		api_error(&resp, 503, "unavailable", "shutting down");
		return send_resp(api, conn, &resp);
	}

	route = route_find(api, method, url, &req.param, &known);
	if (!route) {
		if (known) {
			api_error(&resp, 405, "method_not_allowed", "%s is not allowed on %s",
				  method, url);
		} else {
			api_error(&resp, 404, "not_found", "no such path: %s", url);
			resp.status = 404; /* Docker too: it reads 404 as "not implemented" */
		}
		return send_resp(api, conn, &resp);
	}
	if (st->len) {
		req.body = json_loadb(st->buf, st->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
				      &jerr);
		if (!req.body) {
			api_error(&resp, 400, "invalid_argument",
				  "malformed JSON body: %s (line %d, column %d)", jerr.text,
				  jerr.line, jerr.column);
			return send_resp(api, conn, &resp);
		}
		if (!json_is_object(req.body)) {
			json_decref(req.body);
			if (api->style == API_STYLE_DOCKER)
				api_error(&resp, 400, "invalid_argument",
					  "malformed JSON body: not an object");
			else
				api_error(&resp, 400, "invalid_argument",
					  "JSON body must be an object");
			return send_resp(api, conn, &resp);
		}
	}
	req.expired = st->expired;
	route->cb(route->arg ? route->arg : api->arg, &req, &resp);
	json_decref(req.body);
	if (resp.deferred) {
		unsigned timeout_ms = resp.defer_ms;

		json_decref(resp.body);
		free(resp.text);
		resp = (struct api_resp){.status = 200, .style = api->style};
		if (st->expired)
			api_error(&resp, 503, "unavailable", "timed out waiting");
		else if (park(api, st, timeout_ms))
			api_error(&resp, 500, "internal", "out of memory");
		else
			return MHD_YES;
	}
	return send_resp(api, conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req_state *st = *con_cls;

	if (!st)
		return;
	/* MHD reports no suspended connection, but never leave a dangling entry. */
	if (st->parked)
		parked_del(st);
	rx_timer_destroy(st->deadline);
	free(st->buf);
	free(st);
	*con_cls = NULL;
}

/* Run MHD and mirror its next timeout into our timer. */
static void api_kick(struct drv_api *api)
{
	MHD_UNSIGNED_LONG_LONG to;

	MHD_run(api->mhd);
	if (MHD_get_timeout(api->mhd, &to) == MHD_YES)
		rx_timer_arm(api->timer, to, 0);
	else
		rx_timer_cancel(api->timer);
}

static void api_io_cb(struct rx_loop *loop, int fd, uint32_t events, void *arg)
{
	api_kick(arg);
}

static void api_timer_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	api_kick(arg);
}

__attribute__((format(printf, 2, 0))) static void mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warn("api: %s", msg);
}

/* Is something answering on path?  Then another agent owns it. */
static int socket_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), busy;

	if (fd < 0)
		return 0;
	busy = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return busy;
}

int drv_api_open(struct drv_api **out, struct rx_loop *loop, const char *path,
		 const struct api_route *routes, size_t nroutes, void *arg)
{
	const unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const union MHD_DaemonInfo *info;
	struct drv_api *api;
	struct stat st;
	mode_t old;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (socket_in_use(&sa))
		return -EADDRINUSE;
	/* Only a stale socket is ours to remove, never a file the path names by mistake. */
	if (!lstat(path, &st) && !S_ISSOCK(st.st_mode))
		return -EEXIST;

	api = calloc(1, sizeof(*api));
	if (!api)
		return -ENOMEM;
	api->loop = loop;
	api->routes = routes;
	api->nroutes = nroutes;
	api->arg = arg;
	memcpy(api->path, sa.sun_path, sizeof(api->path));

	api->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (api->listen_fd < 0) {
		ret = -errno;
		goto err_free;
	}
	unlink(path);
	/* Bind under a tight umask so the socket is never briefly world-writable. */
	old = umask(0177);
	ret = bind(api->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (ret)
		goto err_close_sock;
	if (chmod(path, 0600) || listen(api->listen_fd, 64)) {
		ret = -errno;
		goto err_unlink;
	}

	/* The logger goes first: MHD warns about every start when options precede it. */
	api->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, api,
		MHD_OPTION_LISTEN_SOCKET, api->listen_fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		api, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)API_CONN_MAX, MHD_OPTION_END);
	if (!api->mhd) {
		ret = -EIO;
		goto err_unlink;
	}
	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		ret = -EIO;
		goto err_stop;
	}
	api->epoll_fd = info->epoll_fd;
	api->timer = rx_timer_create(loop, api_timer_cb, api);
	if (!api->timer) {
		ret = -ENOMEM;
		goto err_stop;
	}
	api->retry = rx_timer_create(loop, retry_cb, api);
	if (!api->retry) {
		ret = -ENOMEM;
		goto err_timer;
	}
	ret = rx_io_add(loop, api->epoll_fd, EPOLLIN, api_io_cb, api);
	if (ret)
		goto err_retry;
	api_kick(api);
	*out = api;
	return 0;

err_retry:
	rx_timer_destroy(api->retry);
err_timer:
	rx_timer_destroy(api->timer);
err_stop:
	MHD_stop_daemon(api->mhd); /* closes listen_fd */
	unlink(path);
	free(api);
	return ret;
err_unlink:
	unlink(path);
err_close_sock:
	close(api->listen_fd);
err_free:
	free(api);
	return ret;
}

void drv_api_close(struct drv_api *api)
{
	if (!api)
		return;
	/* MHD must not be stopped with suspended connections: resume them and
	 * let one MHD_run() take them back (answering 503, since closing is set);
	 * MHD_stop_daemon() then completes them all, freeing their state. */
	api->closing = 1;
	while (api->parked)
		unpark(api->parked);
	MHD_run(api->mhd);
	rx_io_del(api->loop, api->epoll_fd);
	MHD_stop_daemon(api->mhd); /* closes listen_fd */
	rx_timer_destroy(api->retry);
	rx_timer_destroy(api->timer);
	unlink(api->path);
	free(api);
}

void drv_api_set_style(struct drv_api *api, enum api_style style)
{
	api->style = style;
}

void drv_api_retry(struct drv_api *api)
{
	/* A timer rather than rx_defer(), because drv_api_close() can cancel a
	 * timer.  Armed even with nothing parked: the caller's own handler, or
	 * one in a retry pass, may be about to park. */
	rx_timer_arm(api->retry, 0, 0);
}

size_t drv_api_parked(const struct drv_api *api)
{
	return api->nparked;
}

unsigned long long drv_api_requests(const struct drv_api *api, unsigned status_class)
{
	return status_class < 6 ? api->requests[status_class] : 0;
}
