/* SPDX-License-Identifier: MIT */
/*
 * values: what the cluster puts on the wire besides memberlist itself, and
 * reads back from peers: node meta (Serf's tag format, 0xff + a msgpack map
 * with our tags id, vtep, vxmesh, so `serf members` shows them), the
 * replicated table's network and endpoint values (compact JSON, readable in
 * a capture), and the Serf push/pull state and leave intent that carry or
 * accompany them.  Pure codecs: every decoder validates each field before
 * use and never trusts a length.
 */
#ifndef VXMESH_VALUES_H
#define VXMESH_VALUES_H

#include <jansson.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/state.h"
#include "gossip/table.h"

/* What a member's meta says about it. */
struct drv_peer_info {
	int vxmesh; /* a vxmesh agent (id and vtep tags present and valid) */
	char id[GT_ID_MAX];
	struct in_addr vtep;
	uint16_t vtep_port;
	uint16_t enc_port;    /* its encrypted datapath's port, 0 = none ("enc" tag) */
	uint64_t enc_session; /* ... and that process's session */
	json_t *tags;	      /* every tag, for `members` (NULL unless asked) */
};

/* Our meta into out (GW_META_MAX bytes); enc_port 0 = no "enc" tag.  0 or
 * -E2BIG. */
int drv_meta_encode(const char *id, struct in_addr vtep, uint16_t vtep_port, uint16_t enc_port,
		    uint64_t enc_session, uint8_t *out, size_t *len)
	__attribute__((warn_unused_result));
/* Never fails: what cannot be read is left out (pi->vxmesh 0). */
void drv_meta_decode(const uint8_t *meta, size_t len, struct drv_peer_info *pi, int want_tags);

/* A network's table value (malloc()ed, *len set), NULL when out of memory. */
uint8_t *drv_net_value(const struct drv_net_rec *r, size_t *len);
/* A network entry (key = name) back into r, validated field by field
 * (created is set to now).  0 or -EINVAL. */
int drv_net_parse(const struct gt_entry *e, struct drv_net_rec *r)
	__attribute__((warn_unused_result));

/* An endpoint's table value. */
struct drv_ep_val {
	char net[VX_NET_NAME_MAX];
	struct in_addr ip;
	uint8_t mac[6];
	struct in_addr vtep;
	uint16_t vtep_port;
};
uint8_t *drv_ep_value(const struct drv_ep_rec *r, struct in_addr vtep, uint16_t vtep_port,
		      const char *host, size_t *len);
int drv_ep_parse(const struct gt_entry *e, struct drv_ep_val *v)
	__attribute__((warn_unused_result));

/* A valid Serf push/pull state (type 2, all clocks 1, nothing left, no
 * events) carrying tab under an extra "Vxmesh" key that Serf's decoder
 * skips.  0 with *buf malloc()ed, or -ENOMEM. */
int drv_pushpull_encode(const uint8_t *tab, size_t tlen, uint8_t **buf, size_t *len)
	__attribute__((warn_unused_result));
/* Calls cb for every "Vxmesh" value of a peer's push/pull state.  0, or
 * -EBADMSG when it is not a well-formed Serf push/pull state, or the
 * number of values that were not raw strings (counted as bad input). */
int drv_pushpull_decode(const uint8_t *buf, size_t len,
			void (*cb)(void *arg, const uint8_t *tab, size_t tlen), void *arg);
/* Serf's leave intent 00 {LTime, Node, Prune}: Serf shows a member as
 * "left" (not "failed") only after it.  0 with *buf malloc()ed, -ENOMEM. */
int drv_serf_leave_encode(const char *node, uint8_t **buf, size_t *len)
	__attribute__((warn_unused_result));

#endif
