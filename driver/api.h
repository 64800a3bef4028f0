/* SPDX-License-Identifier: MIT */
/*
 * api: an HTTP/1.1 + JSON server on a unix socket, driven by the reactor
 * (libmicrohttpd in external-epoll mode: its epoll fd sits in our loop, its
 * timeout in one of our timers).  It knows nothing of networks: the agent
 * hands it a table of routes.  Bodies are collected up to API_BODY_MAX and
 * parsed with jansson before a handler sees them.
 */
#ifndef VXMESH_API_H
#define VXMESH_API_H

#include <jansson.h>
#include <stddef.h>

struct rx_loop;
struct drv_api;

#define API_BODY_MAX (64 * 1024)

/* How errors look: ours ({"error": {"code", "message"}}), or what Docker's
 * plugin clients expect ({"Err": message}, status 500). */
enum api_style { API_STYLE_VXMESH = 0, API_STYLE_DOCKER };

struct api_req {
	const char *method;
	const char *path;
	const char *param; /* path tail after the route's prefix ("" when none) */
	json_t *body;	   /* parsed JSON object, or NULL when the body was empty */
	void *conn;	   /* for api_req_query() */
	int expired;	   /* 1 on the last call after the deferral deadline */
};

struct api_resp {
	unsigned status;
	json_t *body; /* JSON reply (reference taken by the server) */
	char *text;   /* or a malloc()ed plain-text reply (metrics) */
	const char *content_type;
	enum api_style style; /* set by the server before the handler runs */
	int deferred;	      /* set by api_defer() */
	unsigned defer_ms;
};

typedef void (*api_handler_cb)(void *arg, const struct api_req *req, struct api_resp *resp);

struct api_route {
	const char *method;
	const char *path; /* exact path, or prefix ending in '/' that takes a param */
	api_handler_cb cb;
	void *arg; /* the handler's arg; NULL: the server's */
};

/* Listen on path (unlinking a stale socket; refusing when another server
 * answers there), mode 0600.  routes must outlive the server.  0 or -errno. */
int drv_api_open(struct drv_api **out, struct rx_loop *loop, const char *path,
		 const struct api_route *routes, size_t nroutes, void *arg)
	__attribute__((warn_unused_result));
/* Stops serving and removes the socket file.  Parked requests get a 503 (or
 * a closed connection) without their handlers running.  Accepts NULL. */
void drv_api_close(struct drv_api *api);
/* Error shape for every later request (default API_STYLE_VXMESH).  Docker
 * style also types JSON replies application/vnd.docker.plugins.v1.1+json;
 * unknown paths stay 404, which Docker reads as "not implemented". */
void drv_api_set_style(struct drv_api *api, enum api_style style);

/* Called by a handler that cannot answer yet.  The request is parked (its
 * connection suspended) and the handler is called again, with an equal
 * api_req (method, path, param, body, query), at every drv_api_retry() until
 * it answers without deferring.  timeout_ms counts from the first deferral
 * (later calls do not extend it); then the handler is called one last time
 * with req->expired = 1, and if it defers anyway the server answers 503
 * "unavailable".  Anything else put in resp is dropped. */
void api_defer(struct api_resp *resp, unsigned timeout_ms);
/* Re-run the handlers of every parked request, from the loop shortly after
 * (never on the caller's stack), so it is safe to call from a handler. */
void drv_api_retry(struct drv_api *api);
size_t drv_api_parked(const struct drv_api *api);

/* A query-string argument, or NULL. */
const char *api_req_query(const struct api_req *req, const char *key);

/* Fill resp with {"error": {"code": code, "message": ...}} and status; in
 * API_STYLE_DOCKER with {"Err": message} and status 500 (code ignored). */
void api_error(struct api_resp *resp, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The one errno -> HTTP status mapping of the product (core.h lists what
 * each errno means): 400 bad argument, 404 not found, 409 conflict, 503
 * a peer or the cluster is unreachable, 500 the rest. */
unsigned api_status_of(int err);
/* api_error() with the status of err; code500 names what failed when the
 * status is 500 ("kernel", "internal"). */
void api_error_errno(struct api_resp *resp, int err, const char *code500, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A request body's want-table: every listed field's type is checked before
 * any is read (unknown fields are ignored).  JSON_TRUE stands for either
 * boolean. */
struct api_field {
	const char *key;
	json_type type;
	int required;
};
/* 0, or -EINVAL with what is wrong in why (for an error of another shape). */
int api_body_why(const json_t *body, const struct api_field *f, size_t n, char *why, size_t len)
	__attribute__((warn_unused_result));
/* 0, or -EINVAL with a 400 "invalid_argument" error in resp. */
int api_body_check(const json_t *body, const struct api_field *f, size_t n, struct api_resp *resp)
	__attribute__((warn_unused_result));
#define API_BODY_CHECK(body, fields, resp)                                                         \
	api_body_check(body, fields, sizeof(fields) / sizeof((fields)[0]), resp)
/* A string field of a checked body, or NULL (absent, null or of another
 * type). */
const char *api_body_str(const json_t *body, const char *key);
/* An integer field within min..max: 1 with *out set, 0 when absent, or
 * -ERANGE with a 400 error in resp. */
int api_body_int(const json_t *body, const char *key, json_int_t min, json_int_t max,
		 json_int_t *out, struct api_resp *resp) __attribute__((warn_unused_result));

unsigned long long drv_api_requests(const struct drv_api *api, unsigned status_class);

#endif
