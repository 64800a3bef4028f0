/* SPDX-License-Identifier: MIT */
/*
 * encproto: the messages between the agent (vxlan/encc.c) and its
 * encrypted-datapath process (vxlan/encd.c) on a SOCK_SEQPACKET unix
 * socket, mode 0600, peers checked by SO_PEERCRED.  One message per
 * packet, fixed structs in host byte order: both ends are the same binary
 * on the same host (HELLO compares versions; on a mismatch the agent
 * replaces the datapath).
 *
 * After connecting, the agent sends HELLO (answered with encp_hello_reply),
 * then SYNC_BEGIN, its whole desired state, SYNC_END: the datapath keeps
 * forwarding with what it has until SYNC_END, then drops what the agent
 * did not name.  Later changes come one message at a time.  STATS is
 * answered with one JSON document.
 */
#ifndef VXMESH_ENCPROTO_H
#define VXMESH_ENCPROTO_H

#include <netinet/in.h>
#include <net/if.h>
#include <stdint.h>

#include "vxlan/enc.h"

#define ENCP_VERSION  1
#define ENCP_KEYS_MAX 8
#define ENCP_MSG_MAX  (64 * 1024)

enum encp_type {
	ENCP_HELLO = 1,
	ENCP_SYNC_BEGIN,
	ENCP_SYNC_END,
	ENCP_KEYS,
	ENCP_NET_PUT,
	ENCP_NET_DEL,
	ENCP_NODE_PUT,
	ENCP_NODE_DEL,
	ENCP_PEER_PUT,
	ENCP_PEER_DEL,
	ENCP_STATS,
	ENCP_EXIT,
};

struct encp_hdr {
	uint16_t type;
	uint16_t version;
	uint32_t len; /* of the whole message */
};

struct encp_hello_reply {
	struct encp_hdr h;
	uint64_t session;
	uint32_t pid;
	uint16_t port; /* bound UDP port */
	uint8_t aead;  /* enum enc_aead it sends with */
	uint8_t pad;
	char err[128]; /* "" when ready */
};

/* Every installed gossip key, the primary (the one to send with) first;
 * n == 0: no key (everything is dropped, nothing sent). */
struct encp_keys {
	struct encp_hdr h;
	uint32_t n;
	uint32_t pad;
	uint8_t keys[ENCP_KEYS_MAX][ENC_KEY_LEN];
};

struct encp_net {
	struct encp_hdr h;
	uint32_t vni;
	uint32_t mtu;
	char bridge[IFNAMSIZ]; /* the TAP joins it */
	char tap[IFNAMSIZ];
};

/* A host: identified by its VXLAN vtep:port (what its endpoints carry),
 * reached at vtep:enc_port, sending with session. */
struct encp_node {
	struct encp_hdr h;
	struct in_addr vtep;
	uint16_t vport;
	uint16_t enc_port;
	uint64_t session;
};

struct encp_peer {
	struct encp_hdr h;
	uint32_t vni;
	uint8_t mac[6];
	uint16_t vport;
	struct in_addr ip;
	struct in_addr vtep;
};

#endif
