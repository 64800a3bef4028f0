// SPDX-License-Identifier: MIT
/*
 * api: libmicrohttpd on the reactor.  MHD runs in "external epoll" mode
 * (MHD_USE_EPOLL without an internal thread): its epoll fd is registered in
 * our loop and MHD_run() is called when it is readable or when MHD's own
 * timeout, mirrored in an rx_timer, expires.  Handlers run synchronously
 * on the loop thread.
 */
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
#include "driver/api.h"

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
};

/* Per-request upload buffer. */
struct upload {
	char *buf;
	size_t len;
	int too_large;
};

void api_error(struct api_resp *resp, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(resp->body);
	resp->status = status;
	resp->body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	if (!resp->body) {
		/* msg may quote bytes from outside that are not UTF-8 (a percent-decoded
		 * path), which jansson refuses: keep the error, mask those bytes. */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		resp->body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	}
}

const char *api_req_query(const struct api_req *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_resp(struct drv_api *api, struct MHD_Connection *conn,
				 struct api_resp *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	char *text = r->text;

	if (!text) {
		if (!r->body)
			r->body = json_object();
		text = json_dumps(r->body, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!text) {
			r->status = 500;
			text = strdup("{\"error\": {\"code\": \"internal\", \"message\": \"out of "
				      "memory\"}}");
		}
		r->content_type = "application/json";
	}
	json_decref(r->body);
	r->body = NULL;
	if (text && r->content_type && !strcmp(r->content_type, "application/json")) {
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
	MHD_add_response_header(mr, "Content-Type",
				r->content_type ? r->content_type : "application/json");
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct drv_api *api = cls;
	struct upload *up = *con_cls;
	struct api_resp resp = {.status = 200};
	struct api_req req = {.method = method, .path = url, .conn = conn};
	const struct api_route *route;
	json_error_t jerr;
	enum MHD_Result ret;
	int known;

	if (!up) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*con_cls = up;
		/* Refuse an announced oversized body before reading any of it. */
		if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX) {
			api_error(&resp, 413, "too_large", "request body over %d bytes",
				  API_BODY_MAX);
			up->too_large = 2;
			return send_resp(api, conn, &resp);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!up->too_large && up->len + *upload_data_size <= API_BODY_MAX) {
			char *b = realloc(up->buf, up->len + *upload_data_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + up->len, upload_data, *upload_data_size);
			up->buf = b;
			up->len += *upload_data_size;
			up->buf[up->len] = '\0';
		} else {
			up->too_large = 1;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (up->too_large == 2)
		return MHD_YES;
	if (up->too_large) {
		api_error(&resp, 413, "too_large", "request body over %d bytes", API_BODY_MAX);
		return send_resp(api, conn, &resp);
	}

	route = route_find(api, method, url, &req.param, &known);
	if (!route) {
		if (known)
			api_error(&resp, 405, "method_not_allowed", "%s is not allowed on %s",
				  method, url);
		else
			api_error(&resp, 404, "not_found", "no such path: %s", url);
		return send_resp(api, conn, &resp);
	}
	if (up->len) {
		req.body = json_loadb(up->buf, up->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
				      &jerr);
		if (!req.body) {
			api_error(&resp, 400, "invalid_argument",
				  "malformed JSON body: %s (line %d, column %d)", jerr.text,
				  jerr.line, jerr.column);
			return send_resp(api, conn, &resp);
		}
		if (!json_is_object(req.body)) {
			json_decref(req.body);
			api_error(&resp, 400, "invalid_argument", "JSON body must be an object");
			return send_resp(api, conn, &resp);
		}
	}
	route->cb(api->arg, &req, &resp);
	json_decref(req.body);
	ret = send_resp(api, conn, &resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	if (up) {
		free(up->buf);
		free(up);
		*con_cls = NULL;
	}
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
	api->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request,
				    api, MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, api,
				    MHD_OPTION_LISTEN_SOCKET, api->listen_fd,
				    MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
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
	ret = rx_io_add(loop, api->epoll_fd, EPOLLIN, api_io_cb, api);
	if (ret)
		goto err_timer;
	api_kick(api);
	*out = api;
	return 0;

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
	rx_io_del(api->loop, api->epoll_fd);
	rx_timer_destroy(api->timer);
	MHD_stop_daemon(api->mhd); /* closes listen_fd */
	unlink(api->path);
	free(api);
}

unsigned long long drv_api_requests(const struct drv_api *api, unsigned status_class)
{
	return status_class < 6 ? api->requests[status_class] : 0;
}
