/* SPDX-License-Identifier: MIT */
/*
 * transport: the gossip state machine's sockets.  One UDP socket and one
 * TCP listener on the gossip port (7946 by default), all on the reactor.
 * UDP packets are decrypted (when the keyring has keys) and handed to
 * swim; TCP streams are read incrementally, answered through swim and
 * closed, one exchange per connection as memberlist does.  Outgoing
 * streams (push/pull, fallback pings) are connected, written, read and
 * reported back to swim.  Encryption mismatches are answered with
 * memberlist's err reply.  swim's timers run on one reactor timer.
 */
#ifndef VXMESH_GOSSIP_TRANSPORT_H
#define VXMESH_GOSSIP_TRANSPORT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct rx_loop;
struct swim;
struct gw_keyring;
struct gx;

struct gx_stats {
	unsigned long long udp_in, udp_out, udp_bytes_in, udp_bytes_out;
	unsigned long long tcp_in, tcp_out, tcp_bytes_in, tcp_bytes_out;
	unsigned long long decrypt_failures; /* UDP packets no key opened */
	unsigned long long stream_errors;    /* malformed, refused or timed-out streams */
};

/* Bind UDP and TCP on bind_addr:port (port 0 = pick one; gx_port() tells).
 * kr (may be NULL) is read on every packet, so keyring changes take effect
 * at once; it must outlive the transport.  0 or -errno. */
int gx_open(struct gx **out, struct rx_loop *loop, struct in_addr bind_addr, uint16_t port,
	    const struct gw_keyring *kr) __attribute__((warn_unused_result));
/* Closes sockets and connections; pending outgoing streams are not reported. */
void gx_close(struct gx *gx);
uint16_t gx_port(const struct gx *gx);

/* Start feeding s: packets and streams go to it, its timers run. */
void gx_attach(struct gx *gx, struct swim *s);
/* Re-arm the tick timer after the caller drove swim directly. */
void gx_kick(struct gx *gx);

/* swim_ops.send_packet and send_stream, for the caller to forward to. */
void gx_send_packet(struct gx *gx, struct in_addr dst, uint16_t port, const uint8_t *buf,
		    size_t len);
void gx_send_stream(struct gx *gx, uint64_t id, struct in_addr dst, uint16_t port,
		    const uint8_t *msg, size_t len);

void gx_stats_get(const struct gx *gx, struct gx_stats *st);

#endif
