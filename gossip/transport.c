// SPDX-License-Identifier: MIT
/*
 * transport: UDP and TCP for swim on the reactor.
 *
 * A TCP connection carries one exchange.  Incoming: read until gw_stream
 * yields a whole message, let swim answer, write the framed reply, close.
 * Outgoing: connect, write, read one reply, report to swim, close.  Every
 * connection has a deadline (memberlist's TCPTimeout); at most
 * GX_CONN_MAX run at once, further accepts are closed at once (as
 * memberlist 0.2.2 does above 128 push/pulls).
 */
#include "gossip/transport.h"

#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/reactor.h"
#include "gossip/swim.h"
#include "gossip/wire.h"

#define GX_CONN_MAX	  128
#define GX_TCP_TIMEOUT_MS 10000
#define GX_UDP_BATCH	  64 /* datagrams read per wakeup before yielding */

struct gx_conn {
	struct gx *gx;
	struct gx_conn *next;
	int fd;
	int outgoing;
	int connecting;
	uint64_t id; /* outgoing: swim's exchange id */
	struct gw_stream *rd;
	uint8_t *wbuf;
	size_t wlen, woff;
	int close_after_write; /* incoming: reply sent, then close */
	struct rx_timer *timer;
};

struct failed_stream {
	struct gx *gx; /* NULL once the transport is closed */
	struct failed_stream *next;
	uint64_t id;
};

struct gx {
	struct rx_loop *loop;
	struct swim *swim;
	const struct gw_keyring *kr;
	int udp_fd, tcp_fd;
	uint16_t port;
	struct rx_timer *tick;
	struct gx_conn *conns;
	unsigned nconns;
	struct failed_stream *failed; /* deferred failure reports not yet run */
	struct gx_stats st;
};

static const struct gw_keyring *keys(const struct gx *gx)
{
	return gx->kr && gx->kr->n ? gx->kr : NULL;
}

static void tick_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct gx *gx = arg;

	if (gx->swim)
		swim_tick(gx->swim, rx_now_ms(loop));
	gx_kick(gx);
}

void gx_kick(struct gx *gx)
{
	uint64_t now = rx_now_ms(gx->loop), next;

	if (!gx->swim)
		return;
	next = swim_next_deadline(gx->swim);
	rx_timer_arm(gx->tick, next > now ? next - now : 0, 0);
}

/* ---- UDP ---- */

void gx_send_packet(struct gx *gx, struct in_addr dst, uint16_t port, const uint8_t *buf,
		    size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = dst, .sin_port = htons(port)};
	uint8_t enc[GW_UDP_MAX];
	const uint8_t *out = buf;
	size_t olen = len;

	if (keys(gx)) {
		if (gw_encrypt_packet(gx->kr, buf, len, enc, sizeof(enc), &olen)) {
			log_warn("gossip: cannot encrypt a %zu-byte packet; not sent", len);
			return;
		}
		out = enc;
	}
	if (sendto(gx->udp_fd, out, olen, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		static struct log_ratelimit rl;

		if (log_ratelimit_ok(&rl))
			log_dbg("gossip: sendto %s:%u: %s", ADDR_IP4_STR(dst), port,
				strerror(errno));
		return;
	}
	gx->st.udp_out++;
	gx->st.udp_bytes_out += olen;
}

static void udp_cb(struct rx_loop *loop, int fd, uint32_t events, void *arg)
{
	static uint8_t buf[GW_UDP_MAX], plain[GW_UDP_MAX];
	struct gx *gx = arg;

	for (int i = 0; i < GX_UDP_BATCH; i++) {
		struct sockaddr_in sa;
		socklen_t salen = sizeof(sa);
		const uint8_t *p = buf;
		size_t plen;
		ssize_t n;

		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&sa, &salen);
		if (n < 0)
			break;
		gx->st.udp_in++;
		gx->st.udp_bytes_in += (size_t)n;
		if (sa.sin_family != AF_INET || n == 0)
			continue;
		plen = (size_t)n;
		if (keys(gx)) {
			/* An encrypted cluster drops plaintext, like Serf's
			 * GossipVerifyIncoming. */
			if (gw_decrypt_packet(gx->kr, buf, (size_t)n, plain, sizeof(plain),
					      &plen)) {
				static struct log_ratelimit rl;

				gx->st.decrypt_failures++;
				if (log_ratelimit_ok(&rl))
					log_warn("gossip: dropped a packet from %s:%u that no "
						 "installed key opens",
						 ADDR_IP4_STR(sa.sin_addr), ntohs(sa.sin_port));
				continue;
			}
			p = plain;
		}
		if (gx->swim)
			swim_handle_packet(gx->swim, rx_now_ms(loop), sa.sin_addr,
					   ntohs(sa.sin_port), p, plen);
	}
	gx_kick(gx);
}

/* ---- TCP ---- */

static void conn_free(struct gx_conn *c)
{
	struct gx *gx = c->gx;

	for (struct gx_conn **pp = &gx->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	gx->nconns--;
	rx_io_del(gx->loop, c->fd);
	close(c->fd);
	rx_timer_destroy(c->timer);
	gw_stream_free(c->rd);
	free(c->wbuf);
	free(c);
}

/* End an exchange; an outgoing one that did not get its reply is reported
 * as failed. */
static void conn_fail(struct gx_conn *c, const char *why)
{
	struct gx *gx = c->gx;
	uint64_t id = c->id;
	int outgoing = c->outgoing;

	gx->st.stream_errors++;
	log_dbg("gossip: stream %s: %s", outgoing ? "out" : "in", why);
	conn_free(c);
	if (outgoing && gx->swim) {
		swim_stream_failed(gx->swim, rx_now_ms(gx->loop), id);
		gx_kick(gx);
	}
}

static void conn_timer_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	conn_fail(arg, "timed out");
}

static int conn_queue(struct gx_conn *c, const uint8_t *msg, size_t len)
{
	uint8_t *framed;
	size_t flen;
	int ret;

	ret = gw_stream_frame(keys(c->gx), msg, len, &framed, &flen);
	if (ret)
		return ret;
	free(c->wbuf);
	c->wbuf = framed;
	c->wlen = flen;
	c->woff = 0;
	return rx_io_mod(c->gx->loop, c->fd, EPOLLOUT);
}

/* Send memberlist's err reply (type 13) and close. */
static void conn_reply_err(struct gx_conn *c, const char *text)
{
	struct gw_msg m = {.type = GW_ERR};
	uint8_t buf[512];
	size_t len;

	snprintf(m.u.err.error, sizeof(m.u.err.error), "%s", text);
	c->close_after_write = 1;
	if (gw_msg_encode(&m, buf, sizeof(buf), &len) || conn_queue(c, buf, len))
		conn_fail(c, text);
}

static void conn_got_msg(struct gx_conn *c, struct gw_stream_msg *m)
{
	struct gx *gx = c->gx;
	uint8_t *reply = NULL;
	size_t rlen = 0;

	if (c->outgoing) {
		uint64_t id = c->id;

		/* m lives in c's reader: report first, then free. */
		c->outgoing = 0;
		if (gx->swim)
			swim_stream_done(gx->swim, rx_now_ms(gx->loop), id, m);
		conn_free(c);
		gx_kick(gx);
		return;
	}
	if (!gx->swim || swim_handle_stream(gx->swim, rx_now_ms(gx->loop), m, &reply, &rlen) ||
	    !reply) {
		free(reply);
		conn_free(c);
		gx_kick(gx);
		return;
	}
	c->close_after_write = 1;
	if (conn_queue(c, reply, rlen))
		conn_fail(c, "cannot frame the reply");
	free(reply);
	gx_kick(gx);
}

static void conn_read(struct gx_conn *c)
{
	uint8_t buf[16384];
	struct gw_stream_msg m;
	const char *errmsg = NULL;
	ssize_t n;
	int ret;

	n = read(c->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_fail(c, n ? strerror(errno) : "closed before a whole message");
		return;
	}
	c->gx->st.tcp_bytes_in += (size_t)n;
	ret = gw_stream_feed(c->rd, buf, (size_t)n, &m, &errmsg);
	if (ret == 1)
		conn_got_msg(c, &m);
	else if (ret == -EKEYREJECTED && !c->outgoing)
		conn_reply_err(c, errmsg ? errmsg : "decryption failed");
	else if (ret < 0)
		conn_fail(c, strerror(-ret));
}

static void conn_write(struct gx_conn *c)
{
	ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(c, strerror(errno));
		return;
	}
	c->gx->st.tcp_bytes_out += (size_t)n;
	c->woff += (size_t)n;
	if (c->woff < c->wlen)
		return;
	if (c->close_after_write) {
		conn_free(c);
		return;
	}
	/* Request written: now wait for the reply. */
	if (rx_io_mod(c->gx->loop, c->fd, EPOLLIN))
		conn_fail(c, "epoll");
}

static void conn_cb(struct rx_loop *loop, int fd, uint32_t events, void *arg)
{
	struct gx_conn *c = arg;

	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_fail(c, strerror(err));
			return;
		}
		c->connecting = 0;
	}
	if (events & EPOLLOUT)
		conn_write(c);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
}

static struct gx_conn *conn_new(struct gx *gx, int fd, uint32_t events)
{
	struct gx_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->gx = gx;
	c->fd = fd;
	c->timer = rx_timer_create(gx->loop, conn_timer_cb, c);
	if (!c->timer || gw_stream_create(&c->rd, gx->kr) ||
	    rx_io_add(gx->loop, fd, events, conn_cb, c)) {
		rx_timer_destroy(c->timer);
		gw_stream_free(c->rd);
		free(c);
		return NULL;
	}
	rx_timer_arm(c->timer, GX_TCP_TIMEOUT_MS, 0);
	c->next = gx->conns;
	gx->conns = c;
	gx->nconns++;
	return c;
}

static void accept_cb(struct rx_loop *loop, int fd, uint32_t events, void *arg)
{
	struct gx *gx = arg;

	for (int i = 0; i < 16; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			return;
		gx->st.tcp_in++;
		if (gx->nconns >= GX_CONN_MAX || !conn_new(gx, cfd, EPOLLIN)) {
			close(cfd);
			gx->st.stream_errors++;
		}
	}
}

static void failed_stream_cb(struct rx_loop *loop, void *arg)
{
	struct failed_stream *f = arg;
	struct gx *gx = f->gx;

	if (gx) {
		for (struct failed_stream **pp = &gx->failed; *pp; pp = &(*pp)->next)
			if (*pp == f) {
				*pp = f->next;
				break;
			}
		if (gx->swim) {
			swim_stream_failed(gx->swim, rx_now_ms(loop), f->id);
			gx_kick(gx);
		}
	}
	free(f);
}

void gx_send_stream(struct gx *gx, uint64_t id, struct in_addr dst, uint16_t port,
		    const uint8_t *msg, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = dst, .sin_port = htons(port)};
	struct gx_conn *c;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		close(fd);
		goto err;
	}
	c = conn_new(gx, fd, EPOLLOUT);
	if (!c) {
		close(fd);
		goto err;
	}
	c->outgoing = 1;
	c->connecting = 1;
	c->id = id;
	gx->st.tcp_out++;
	if (conn_queue(c, msg, len)) {
		/* Not conn_fail(): that would call swim back synchronously. */
		log_dbg("gossip: stream out: cannot frame the request");
		conn_free(c);
		goto err;
	}
	return;
err:
	/* swim must not be called back synchronously: report from the loop. */
	gx->st.stream_errors++;
	{
		struct failed_stream *f = malloc(sizeof(*f));

		if (f) {
			f->gx = gx;
			f->id = id;
			if (rx_defer(gx->loop, failed_stream_cb, f) == 0) {
				f->next = gx->failed;
				gx->failed = f;
				return;
			}
			free(f);
		}
		log_err("gossip: out of memory; a stream to %s:%u is lost", ADDR_IP4_STR(dst),
			port);
	}
}

/* ---- setup ---- */

static int bind_socket(int type, struct in_addr addr, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = addr, .sin_port = htons(port)};
	int fd, one = 1, ret;

	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		/* memberlist asks for 2 MiB and halves until the kernel agrees. */
		for (int sz = 2 << 20; sz >= 65536; sz /= 2)
			if (!setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)))
				break;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, 128))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int gx_open(struct gx **out, struct rx_loop *loop, struct in_addr bind_addr, uint16_t port,
	    const struct gw_keyring *kr)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct gx *gx;
	int ret;

	gx = calloc(1, sizeof(*gx));
	if (!gx)
		return -ENOMEM;
	gx->loop = loop;
	gx->kr = kr;
	gx->tcp_fd = bind_socket(SOCK_STREAM, bind_addr, port);
	if (gx->tcp_fd < 0) {
		ret = gx->tcp_fd;
		goto err_free;
	}
	/* Port 0: use the TCP listener's port for UDP too. */
	if (getsockname(gx->tcp_fd, (struct sockaddr *)&sa, &salen)) {
		ret = -errno;
		goto err_close_tcp;
	}
	gx->port = ntohs(sa.sin_port);
	gx->udp_fd = bind_socket(SOCK_DGRAM, bind_addr, gx->port);
	if (gx->udp_fd < 0) {
		ret = gx->udp_fd;
		goto err_close_tcp;
	}
	gx->tick = rx_timer_create(loop, tick_cb, gx);
	if (!gx->tick) {
		ret = -ENOMEM;
		goto err_close_udp;
	}
	if ((ret = rx_io_add(loop, gx->udp_fd, EPOLLIN, udp_cb, gx)))
		goto err_timer;
	if ((ret = rx_io_add(loop, gx->tcp_fd, EPOLLIN, accept_cb, gx)))
		goto err_del_udp;
	*out = gx;
	return 0;

err_del_udp:
	rx_io_del(loop, gx->udp_fd);
err_timer:
	rx_timer_destroy(gx->tick);
err_close_udp:
	close(gx->udp_fd);
err_close_tcp:
	close(gx->tcp_fd);
err_free:
	free(gx);
	return ret;
}

void gx_close(struct gx *gx)
{
	if (!gx)
		return;
	while (gx->conns)
		conn_free(gx->conns);
	/* Deferred reports still queued on the loop run without us. */
	for (struct failed_stream *f = gx->failed; f; f = f->next)
		f->gx = NULL;
	rx_io_del(gx->loop, gx->udp_fd);
	rx_io_del(gx->loop, gx->tcp_fd);
	close(gx->udp_fd);
	close(gx->tcp_fd);
	rx_timer_destroy(gx->tick);
	free(gx);
}

uint16_t gx_port(const struct gx *gx)
{
	return gx->port;
}

void gx_attach(struct gx *gx, struct swim *s)
{
	gx->swim = s;
	gx_kick(gx);
}

void gx_stats_get(const struct gx *gx, struct gx_stats *st)
{
	*st = gx->st;
}
