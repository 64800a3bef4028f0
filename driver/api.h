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

struct api_req {
	const char *method;
	const char *path;
	const char *param; /* path tail after the route's prefix ("" when none) */
	json_t *body;	   /* parsed JSON object, or NULL when the body was empty */
	void *conn;	   /* for api_req_query() */
};

struct api_resp {
	unsigned status;
	json_t *body; /* JSON reply (reference taken by the server) */
	char *text;   /* or a malloc()ed plain-text reply (metrics) */
	const char *content_type;
};

typedef void (*api_handler_cb)(void *arg, const struct api_req *req, struct api_resp *resp);

struct api_route {
	const char *method;
	const char *path; /* exact path, or prefix ending in '/' that takes a param */
	api_handler_cb cb;
};

/* Listen on path (unlinking a stale socket; refusing when another server
 * answers there), mode 0600.  routes must outlive the server.  0 or -errno. */
int drv_api_open(struct drv_api **out, struct rx_loop *loop, const char *path,
		 const struct api_route *routes, size_t nroutes, void *arg)
	__attribute__((warn_unused_result));
/* Stops serving and removes the socket file.  Accepts NULL. */
void drv_api_close(struct drv_api *api);

/* A query-string argument, or NULL. */
const char *api_req_query(const struct api_req *req, const char *key);

/* Fill resp with {"error": {"code": code, "message": ...}}. */
void api_error(struct api_resp *resp, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

unsigned long long drv_api_requests(const struct drv_api *api, unsigned status_class);

#endif
