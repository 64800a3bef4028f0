/* SPDX-License-Identifier: MIT */
/*
 * encd's tables, shared by its control side (encd.c) and its packet paths
 * (encd_pkt.c).  Not a public header.
 */
#ifndef VXMESH_ENCD_INT_H
#define VXMESH_ENCD_INT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "vxlan/enc.h"
#include "vxlan/encproto.h"

struct rx_loop;

#define EN_RXKEYS    4	   /* packet keys cached per sending host */
#define EN_SEGS_MAX  128   /* segments of one TAP read */
#define EN_FRAME_MAX 65550 /* a TSO frame read from the TAP */

/* Counters, per network and per host; names as in the metrics. */
struct en_ctr {
	unsigned long long tx_packets, tx_bytes, rx_packets, rx_bytes;
	unsigned long long auth_failures, replay_drops, unknown_session, no_key_drops;
	unsigned long long bad_source, no_peer, bum_dropped, arp_answered, malformed, send_errors;
};

struct en_key {
	struct enc_aead_ctx *ctx; /* NULL = empty slot */
	uint32_t vni;
	uint64_t epoch;
	uint8_t root; /* index into encd.roots */
	uint8_t type;
	uint64_t used; /* for replacement */
};

struct en_node {
	struct in_addr vtep; /* identity: vtep + vport */
	uint16_t vport;
	uint16_t enc_port;
	uint64_t session;
	struct sockaddr_in to;
	struct enc_replay replay;
	struct en_key rx[EN_RXKEYS];
	struct en_ctr c;
	int seen; /* during a sync */
};

struct en_peer {
	uint8_t mac[6];
	struct in_addr ip;
	struct in_addr vtep;
	uint16_t vport;
	size_t node; /* index into encd.nodes, EN_NONE when its host is not known */
	int seen;
};

#define EN_NONE ((size_t)-1)

struct en_net {
	uint32_t vni;
	unsigned mtu;
	char bridge[16], tap[16];
	int fd, ifindex;
	struct en_peer *peers; /* sorted by MAC */
	size_t npeers, cappeers;
	struct en_key tx;
	struct enc_gro gro;
	uint8_t *grobuf;
	struct en_ctr c;
	int seen;
	struct encd *owner;
};

struct encd {
	struct rx_loop *loop;
	int lfd, cfd, ufd, sfd, sigfd; /* listener, agent, UDP, ioctl socket, signals */
	char ctl[108];
	uint16_t port;
	struct in_addr bind;
	uint64_t session, ctr;
	enum enc_aead aead;
	struct enc_root roots[ENCP_KEYS_MAX];
	unsigned nroots; /* roots[0] is the primary */
	struct en_net **nets;
	size_t nnets, capnets;
	struct en_node *nodes;
	size_t nnodes, capnodes;
	int syncing;
	/* offloads: probed at start, switched off for good on a runtime failure */
	int tap_tso, udp_gso, udp_gro;
	unsigned long long gso_fallbacks, gro_fallbacks, tso_fallbacks;
	struct en_ctr c; /* what belongs to no network: malformed, unknown VNI */
	uint64_t use;
	/* buffers */
	uint8_t *rbuf; /* TAP read: vnet header + frame */
	uint8_t *sbuf; /* sealed datagrams back to back */
	size_t sbuf_cap;
	uint8_t *ubuf; /* UDP receive */
	size_t ubuf_cap;
	struct enc_seg segs[EN_SEGS_MAX];
	int stop;
};

/* encd_pkt.c */
void en_tap_readable(struct encd *d, struct en_net *n);
void en_udp_readable(struct encd *d);
void en_key_drop(struct en_key *k);
struct en_net *en_net_find(const struct encd *d, uint32_t vni);
struct en_peer *en_peer_find(const struct en_net *n, const uint8_t mac[6]);
size_t en_peer_lower(const struct en_net *n, const uint8_t mac[6]);
void en_gro_emit_cb(void *arg, const struct enc_vnet *vh, const uint8_t *frame, size_t len);

#endif
