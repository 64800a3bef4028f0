/* SPDX-License-Identifier: MIT */
/*
 * dockerc: an asynchronous client for the Docker Engine API over its unix
 * socket.  dockerd calls our network plugin while it handles our requests, so
 * the reactor thread never waits on it: one worker thread runs the blocking
 * libcurl transfers and hands each result back through an eventfd in the loop.
 * libcurl is dlopen()ed by the first dkc_open(), so an agent that never talks
 * to Docker never maps it.  Every function below runs on the loop thread.
 */
#ifndef VXMESH_DOCKERC_H
#define VXMESH_DOCKERC_H

#include <jansson.h>
#include <stddef.h>

struct rx_loop;
struct dkc;

#define DKC_API_PREFIX "/v1.41"
#define DKC_QUEUE_MAX  256u	  /* requests accepted and not yet called back */
#define DKC_BODY_MAX   (4u << 20) /* larger replies fail with -EMSGSIZE */
#define DKC_PATH_MAX   1024u

/* Requests go to the Engine API on the unix socket sock_path, under
 * DKC_API_PREFIX.  0, -ENOENT (libcurl missing, err says why), -ENOMEM,
 * -EINVAL, -ENAMETOOLONG (sock_path), -errno.  Release with dkc_close(). */
int dkc_open(struct dkc **out, struct rx_loop *loop, const char *sock_path, char *err, size_t len)
	__attribute__((warn_unused_result));
/* Drops queued requests and aborts the one in flight (dockerd may still carry
 * it out); none of their callbacks run.  Joins the worker.  Accepts NULL and
 * may be called from inside one of c's callbacks. */
void dkc_close(struct dkc *c);

/* Runs on the loop thread, in request order.  status: the HTTP status with
 * err 0, or 0 with err -errno: -ENOENT (no socket), -ECONNREFUSED, -EACCES
 * (other connect() errnos pass through), -ETIMEDOUT, -EMSGSIZE (reply over
 * DKC_BODY_MAX), -ENOMEM, -EIO (anything else).  body: the reply parsed as
 * JSON, NULL if empty or not JSON; borrowed, released after the callback.
 * msg is never NULL: "" on 2xx, Docker's "message" (or "HTTP n") on other
 * statuses, curl's text on errors. */
typedef void (*dkc_done_cb)(void *arg, int err, long status, json_t *body, const char *msg);

/* method: "GET", "POST" or "DELETE".  path: "/networks/create", made of
 * [A-Za-z0-9/_.?=&%-] only, starting with '/', no "." or ".." segment, '%'
 * followed by two hex digits.  body: NULL for none; serialised now (the
 * caller keeps its reference).  timeout_ms covers connect to last byte and
 * must not be 0.  cb may be NULL.  0 when queued; -EINVAL, -EAGAIN
 * (DKC_QUEUE_MAX pending), -ENOMEM. */
int dkc_request(struct dkc *c, const char *method, const char *path, const json_t *body,
		unsigned timeout_ms, dkc_done_cb cb, void *arg) __attribute__((warn_unused_result));
/* Requests accepted and not yet called back (queued, in flight or done). */
size_t dkc_pending(const struct dkc *c);

#endif
