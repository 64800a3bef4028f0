/* SPDX-License-Identifier: MIT */
/*
 * encc: the agent's side of the encrypted datapath.  Holds what the
 * datapath process (`vxmesh encd`, vxlan/encd.c) should have (keys,
 * encrypted networks, hosts, remote endpoints), starts that process when
 * none answers on its control socket, adopts a running one (an agent
 * restart interrupts no encrypted flow), and replays the whole desired
 * state whenever it (re)connects.  vx_dp calls it for encrypted networks;
 * the core sets keys and hosts.
 */
#ifndef VXMESH_ENCC_H
#define VXMESH_ENCC_H

#include <jansson.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "vxlan/enc.h"

struct vx_encc;
struct vx_remote;

struct vx_encc_config {
	char ctl[108];	      /* control socket path */
	uint16_t port;	      /* UDP port to bind */
	struct in_addr bind;  /* 0 = all */
	char exe[256];	      /* the vxmesh binary; "" = /proc/self/exe */
	const char *extra[4]; /* more encd options (--no-gso, ...), NULL-terminated */
};

/* A client.  It connects to (or starts) the datapath when it gets its
 * first key (vx_encc_keys_set): a cluster without a key runs none.  When
 * that fails the agent runs on, refusing encrypted networks with the
 * reason, and vx_encc_check() tries again.  0 or -ENOMEM. */
int vx_encc_open(struct vx_encc **out, const struct vx_encc_config *cfg)
	__attribute__((warn_unused_result));
/* The desired state is complete (the agent loaded it all): sync the
 * datapath now and on every reconnect.  Until then nothing is sent, so a
 * restarting agent never makes the datapath drop what it is still
 * loading. */
void vx_encc_prime(struct vx_encc *c);
/* Disconnects; the datapath keeps running.  Accepts NULL. */
void vx_encc_close(struct vx_encc *c);
/* Ask the datapath to exit (its TAPs go with it), then close. */
void vx_encc_shutdown(struct vx_encc *c);

/* Ask the datapath answering on ctl to exit (vxmesh cleanup).  0, -ENOENT
 * (none runs there), -errno. */
int vx_encc_stop_at(const char *ctl);
/* Connected and able to seal (a key installed)?  0, or -errno with why. */
int vx_encc_ready(const struct vx_encc *c, char *why, size_t len);
/* The datapath's session (0 while not connected) and bound port. */
uint64_t vx_encc_session(const struct vx_encc *c);
uint16_t vx_encc_port(const struct vx_encc *c);
/* Reconnect (restarting the datapath when none answers) and resync when
 * the connection was lost.  Returns 1 when the session changed (a new
 * process: advertise it), else 0. */
int vx_encc_check(struct vx_encc *c);

/* Desired state.  Each is sent at once when connected (a failed send
 * drops the connection; the next vx_encc_check() resyncs).  0 or -ENOMEM. */
int vx_encc_keys_set(struct vx_encc *c, const uint8_t (*keys)[ENC_KEY_LEN], unsigned n)
	__attribute__((warn_unused_result));
/* 1 when new or changed, 0 when it was known as it is, -ENOMEM. */
int vx_encc_net_put(struct vx_encc *c, uint32_t vni, unsigned mtu, const char *bridge,
		    const char *tap) __attribute__((warn_unused_result));
void vx_encc_net_del(struct vx_encc *c, uint32_t vni);
/* A host: vtep/vport as its endpoints carry them; enc_port 0 = it has no
 * encrypted datapath. */
struct vx_encc_node {
	struct in_addr vtep;
	uint16_t vport;
	uint16_t enc_port;
	uint64_t session;
};
/* The whole set of hosts (diffed).  0 or -ENOMEM. */
int vx_encc_nodes_set(struct vx_encc *c, const struct vx_encc_node *nodes, size_t n)
	__attribute__((warn_unused_result));
int vx_encc_peer_put(struct vx_encc *c, const struct vx_remote *r)
	__attribute__((warn_unused_result));
void vx_encc_peer_del(struct vx_encc *c, uint32_t vni, const uint8_t mac[6]);

/* The datapath's counters and tables (its STATS answer), a new reference;
 * NULL when not connected or it did not answer within 1 s. */
json_t *vx_encc_stats(struct vx_encc *c);

#endif
