/* SPDX-License-Identifier: MIT */
/*
 * state: the agent's persistent state in SQLite (STATE_DIR/state.db, WAL,
 * synchronous=FULL).  Node identity, networks, endpoints and address leases.
 * The schema carries a version (PRAGMA user_version) and is migrated forward
 * step by step at open; a database newer than this binary is refused.
 * Every write is committed before the call returns; callers that must change
 * several rows atomically wrap them in drv_state_begin()/commit().
 */
#ifndef VXMESH_STATE_H
#define VXMESH_STATE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "gossip/table.h"
#include "vxlan/vxlan.h"

#define DRV_NODE_ID_LEN	 32 /* hex characters */
#define DRV_STATE_SCHEMA 4
#define DRV_RING_ID_LEN	 16 /* hex characters */

struct drv_state;

struct drv_node_rec {
	char id[DRV_NODE_ID_LEN + 1]; /* random, made once at first start */
	char name[64];		      /* hostname at first start */
	int64_t created;	      /* unix seconds */
};

struct drv_net_rec {
	char name[VX_NET_NAME_MAX];
	uint32_t vni;
	struct addr_prefix subnet;
	struct in_addr gw; /* 0 = none */
	unsigned mtu;	   /* 0 = derive from the underlay */
	uint16_t port;	   /* VXLAN UDP port */
	int64_t created;
	char ring[DRV_RING_ID_LEN + 1]; /* address-ownership ring (docs/ipam.md); "" = none */
	int encrypted; /* frames cross the underlay only sealed (docs/encryption.md) */
};

struct drv_ep_rec {
	char id[VX_EP_ID_LEN + 1];
	char net[VX_NET_NAME_MAX];
	char netns[VX_PATH_MAX];
	char ifname[IFNAMSIZ];
	struct in_addr ip;
	uint8_t mac[6];
	int64_t created;
};

struct drv_lease_rec {
	char net[VX_NET_NAME_MAX];
	struct in_addr ip;
	char owner[64]; /* endpoint id, or another holder's tag */
	int64_t created;
};

/* Opens (creating dir 0700 and the database 0600 when missing) and migrates.
 * 0 or -errno; on failure err gets SQLite's message.  Release with
 * drv_state_close(). */
int drv_state_open(struct drv_state **out, const char *dir, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void drv_state_close(struct drv_state *st);
int drv_state_schema_version(struct drv_state *st);

int drv_state_begin(struct drv_state *st) __attribute__((warn_unused_result));
int drv_state_commit(struct drv_state *st) __attribute__((warn_unused_result));
void drv_state_rollback(struct drv_state *st);

/* The node's identity; made and stored on first call.  0 or -errno. */
int drv_state_node_get(struct drv_state *st, struct drv_node_rec *out)
	__attribute__((warn_unused_result));

/* 0, -EEXIST (name taken), -EADDRINUSE (VNI taken), -EIO. */
int drv_state_net_insert(struct drv_state *st, const struct drv_net_rec *n)
	__attribute__((warn_unused_result));
/* 0, -ENOENT, or -EBUSY while endpoints still use it.  Also deletes its leases. */
int drv_state_net_delete(struct drv_state *st, const char *name);
int drv_state_net_get(struct drv_state *st, const char *name, struct drv_net_rec *out);
/* Sorted by name.  *out is malloc()ed; free() it. */
int drv_state_net_list(struct drv_state *st, struct drv_net_rec **out, size_t *n)
	__attribute__((warn_unused_result));

/* 0, -EEXIST (id taken), -EIO. */
int drv_state_ep_insert(struct drv_state *st, const struct drv_ep_rec *e)
	__attribute__((warn_unused_result));
int drv_state_ep_delete(struct drv_state *st, const char *id);
int drv_state_ep_get(struct drv_state *st, const char *id, struct drv_ep_rec *out);
/* net NULL = every network.  Sorted by network, then id. */
int drv_state_ep_list(struct drv_state *st, const char *net, struct drv_ep_rec **out, size_t *n)
	__attribute__((warn_unused_result));

/* 0, -EADDRINUSE (already leased in that network), -EIO. */
int drv_state_lease_insert(struct drv_state *st, const struct drv_lease_rec *l)
	__attribute__((warn_unused_result));
int drv_state_lease_delete(struct drv_state *st, const char *net, struct in_addr ip);
int drv_state_lease_list(struct drv_state *st, const char *net, struct drv_lease_rec **out,
			 size_t *n) __attribute__((warn_unused_result));

/* Replicated-table entries (gossip), stored as the table holds them so a
 * restarted agent starts from what it knew.  put is an upsert. */
int drv_state_gossip_put(struct drv_state *st, const struct gt_entry *e)
	__attribute__((warn_unused_result));
int drv_state_gossip_delete(struct drv_state *st, uint8_t kind, const char *key);
/* Every stored entry, in (kind, key) order; e->value points into SQLite's
 * memory and is valid during the call only. */
typedef void (*drv_gossip_row_cb)(void *arg, const struct gt_entry *e);
int drv_state_gossip_foreach(struct drv_state *st, drv_gossip_row_cb cb, void *arg)
	__attribute__((warn_unused_result));

/* Small integration records (Docker network and endpoint ids), JSON text
 * values in a namespace.  put is an upsert; delete of a missing key is 0. */
int drv_state_kv_put(struct drv_state *st, const char *ns, const char *key, const char *value)
	__attribute__((warn_unused_result));
int drv_state_kv_delete(struct drv_state *st, const char *ns, const char *key);
typedef void (*drv_kv_row_cb)(void *arg, const char *key, const char *value);
int drv_state_kv_foreach(struct drv_state *st, const char *ns, drv_kv_row_cb cb, void *arg)
	__attribute__((warn_unused_result));

/* The network-name rule (it ends up in kernel aliases, interface names,
 * logs and metric labels): 1 when s is 1..VX_NET_NAME_MAX-1 letters, digits,
 * '_', '.' or '-', starting with a letter or digit. */
int drv_net_name_ok(const char *s);
/* 0, or -EINVAL with the rule in why. */
int drv_net_name_check(const char *s, char *why, size_t len);
/* The same rule for other names of at most max bytes (namespaces,
 * interfaces). */
int drv_name_ok(const char *s, size_t max);

#endif
